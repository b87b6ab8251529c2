"""Performance targets and the capacity-building plan: validation, conflicts, audit, weakest areas first."""

from __future__ import annotations

from assessments.access import LOCAL_USER
import json
from datetime import date

import pandas as pd
import pytest
import sqlalchemy as sa

from assessments import capacity_plan
from assessments.access import Actor
from assessments.errors import Conflict, PermissionDenied, ValidationFailed
from db.engine import read_session, write_session
from db.models import AuditEvent, CapacityPlanItem, PerformanceTarget
from db.queries import focas as queries
from tests.test_focas_queries import baseline  # noqa: F401  (fixture)
from tests.test_focas_services import lamas  # noqa: F401  (fixture)


def item(**changes) -> capacity_plan.PlanItemInput:
    values = dict(area_code="HR", intervention_type="training", what="Curso de gestión de personas",
                  who_staff="Jefes de oficina", where_place="Lamas", sequence=1, resources="Especialista",
                  other_support="SERVIR 2012", planned_start=date(2013, 5, 1), planned_end=date(2013, 5, 3))
    return capacity_plan.PlanItemInput(**{**values, **changes})


def test_targets_are_set_changed_and_removed_with_audit(lamas, actor):  # noqa: F811
    government = lamas["governments"][1]
    with write_session() as session:
        n = capacity_plan.set_targets(session=session, actor=actor, government_id=government,
                                      targets={("ADM", "midpoint"): 2.5, ("ADM", "end"): "3,25", ("HR", "end"): None})
    assert n == 2
    with write_session() as session:
        capacity_plan.set_targets(session=session, actor=actor, government_id=government,
                                  targets={("ADM", "midpoint"): 3, ("ADM", "end"): None},
                                  expected={("ADM", "midpoint"): 2.5, ("ADM", "end"): 3.25})
    with read_session() as session:
        rows = session.execute(sa.select(PerformanceTarget.area_code, PerformanceTarget.round,
                                         PerformanceTarget.target)).all()
        actions = session.execute(sa.select(AuditEvent.action).where(AuditEvent.entity == "performance_target")
                                  .order_by(AuditEvent.at)).scalars().all()
    assert rows == [("ADM", "midpoint", 3.0)]
    assert sorted(actions) == ["create", "create", "delete", "update"]


@pytest.mark.parametrize("targets, key", [
    ({("ADM", "midpoint"): 4.5}, "capplan.target.off_scale"),
    ({("ADM", "midpoint"): "alto"}, "capplan.target.not_number"),
    ({("ADM", "baseline"): 2}, "capplan.target.bad_round"),
    ({("NOPE", "end"): 2}, "capplan.unknown_area"),
])
def test_bad_targets_are_refused_and_nothing_is_saved(lamas, actor, targets, key):  # noqa: F811
    with pytest.raises(ValidationFailed) as error:
        with write_session() as session:
            capacity_plan.set_targets(session=session, actor=actor, government_id=lamas["governments"][1],
                                      targets={("HR", "end"): 3, **targets})
    assert error.value.key == key
    assert queries.targets(LOCAL_USER, lamas["governments"][1]).empty


def test_a_target_changed_by_someone_else_is_a_conflict(lamas, actor):  # noqa: F811
    government = lamas["governments"][1]
    with write_session() as session:
        capacity_plan.set_targets(session=session, actor=actor, government_id=government,
                                  targets={("ADM", "end"): 3})
    with pytest.raises(Conflict):
        with write_session() as session:
            capacity_plan.set_targets(session=session, actor=actor, government_id=government,
                                      targets={("ADM", "end"): 2}, expected={("ADM", "end"): None})
    assert queries.targets(LOCAL_USER, government)["target"].tolist() == [3.0]


def test_facilitators_cannot_set_targets_but_can_plan_in_their_cluster(lamas):  # noqa: F811
    facilitator = Actor(username="f", role="facilitator", cluster_ids=frozenset({lamas["cluster_id"]}))
    with pytest.raises(PermissionDenied):
        with write_session() as session:
            capacity_plan.set_targets(session=session, actor=facilitator, government_id=lamas["governments"][1],
                                      targets={("ADM", "end"): 3})
    with write_session() as session:
        capacity_plan.add_plan_item(session=session, actor=facilitator, government_id=lamas["governments"][1],
                                    data=item())
    assert len(queries.plan_items(LOCAL_USER, lamas["governments"][1])) == 1


def test_plan_items_are_added_updated_deleted_and_audited(lamas, actor):  # noqa: F811
    government = lamas["governments"][1]
    with write_session() as session:
        first = capacity_plan.add_plan_item(session=session, actor=actor, government_id=government, data=item())
        capacity_plan.add_plan_item(session=session, actor=actor, government_id=government,
                                    data=item(area_code="ADM", intervention_type="onsite_assistance", sequence=2,
                                              what="Asistencia en sitio para el archivo"))
        first_id, stamp = first.id, first.updated_at
    frame = queries.plan_items(LOCAL_USER, government)
    assert frame["sequence"].tolist() == [1, 2]
    assert frame.iloc[0][["area_code", "intervention_type", "who_staff", "other_support"]].tolist() == [
        "HR", "training", "Jefes de oficina", "SERVIR 2012"]
    with write_session() as session:
        capacity_plan.update_plan_item(session=session, actor=actor, item_id=first_id,
                                       data=item(status="done", sequence=3), expected_updated_at=stamp)
    with pytest.raises(Conflict):
        with write_session() as session:
            capacity_plan.update_plan_item(session=session, actor=actor, item_id=first_id,
                                           data=item(status="dropped"), expected_updated_at=stamp)
    frame = queries.plan_items(LOCAL_USER, government)
    assert frame["status"].tolist() == ["planned", "done"] and frame["sequence"].tolist() == [2, 3]
    with write_session() as session:
        capacity_plan.delete_plan_item(session=session, actor=actor, item_id=first_id)
    with read_session() as session:
        assert session.execute(sa.select(sa.func.count()).select_from(CapacityPlanItem)).scalar_one() == 1
        deleted = session.execute(sa.select(AuditEvent).where(AuditEvent.entity == "capacity_plan_item",
                                                              AuditEvent.action == "delete")).scalars().one()
    assert json.loads(deleted.before_json)["status"] == "done"


@pytest.mark.parametrize("changes, key", [
    ({"what": "   "}, "capplan.what_blank"),
    ({"intervention_type": "seminar"}, "capplan.bad_type"),
    ({"status": "finished"}, "capplan.bad_status"),
    ({"sequence": 0}, "capplan.bad_sequence"),
    ({"sequence": "dos"}, "capplan.bad_sequence"),
    ({"planned_end": date(2013, 4, 1)}, "capplan.dates_reversed"),
    ({"area_code": "XYZ"}, "capplan.unknown_area"),
])
def test_bad_plan_items_are_refused(lamas, actor, changes, key):  # noqa: F811
    with pytest.raises(ValidationFailed) as error:
        with write_session() as session:
            capacity_plan.add_plan_item(session=session, actor=actor, government_id=lamas["governments"][1],
                                        data=item(**changes))
    assert error.value.key == key
    assert queries.plan_items(LOCAL_USER, lamas["governments"][1]).empty


def test_plan_areas_rank_the_latest_round_weakest_first(baseline, lamas):  # noqa: F811
    from assessments.scoring import rank_areas_for_plan

    context = queries.plan_areas(LOCAL_USER, lamas["governments"][1])
    assert context["round"] == "baseline"
    scores = context["area_scores"].set_index("area_code")["area_score"]
    assert scores.to_dict() == pytest.approx({"ADM": 2.0, "LEGALPART": 2.0, "DIVERSITY": 3.0})
    assert rank_areas_for_plan(context["area_scores"]) == ["ADM", "LEGALPART", "DIVERSITY"]
    assert isinstance(context["area_scores"], pd.DataFrame)
