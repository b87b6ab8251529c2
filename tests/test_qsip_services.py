"""QSIP audit services on a real database (SQLite, or PostgreSQL with DATABASE_URL): saves, refusals, cycles."""

from __future__ import annotations

from assessments.access import LOCAL_USER
import json
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from assessments import qsip
from assessments.access import Actor
from assessments.errors import Conflict, PermissionDenied, ValidationFailed
from db.engine import write_session
from db.models import (
    AuditEvent,
    AuditStage,
    Barrier,
    FeedbackRating,
    Government,
    ImprovementAction,
    Respondent,
    ServiceAudit,
)
from db.queries import qsip as queries

TODAY = date(2026, 6, 15)
ALL_ITEMS = ("EFT-01", "EFT-02", "EFT-03", "EFC-01", "EFC-02", "EFC-03",
             "COV-01", "COV-02", "COV-03", "SAT-01", "SAT-02", "SAT-03")


@pytest.fixture
def clusters(db_url):
    """The seven demo cluster proposals (no QSIP data), by name."""
    from db.demo import load_demo_clusters

    with write_session() as session:
        made = load_demo_clusters(session)
        return {c.name: c.id for c in made}


@pytest.fixture
def audit_id(clusters, actor):
    with write_session() as session:
        audit = qsip.create_audit(session=session, actor=actor, data=qsip.AuditInput(
            cluster_id=clusters["Lamas"], service_name="Acompañamiento pedagógico", sector="education",
            cycle_year=2013))
        return audit.id


def count(session, model, *where) -> int:
    session.rollback()  # end the test session's read snapshot so it sees what the services committed
    return session.execute(sa.select(sa.func.count()).select_from(model).where(*where)).scalar_one()


def add_barrier(audit_id, actor, **overrides):
    data = qsip.BarrierInput(description="Personal insuficiente", category="resources", government_level="regional",
                             within_control=False, priority="high")
    for key, value in overrides.items():
        setattr(data, key, value)
    with write_session() as session:
        return qsip.add_barrier(session=session, actor=actor, audit_id=audit_id, data=data).id


def add_action(audit_id, actor, barrier_id, *, deadline=TODAY + timedelta(days=30), status="planned", **more):
    with write_session() as session:
        return qsip.add_action(session=session, actor=actor, audit_id=audit_id, today=TODAY, data=qsip.ActionInput(
            barrier_id=barrier_id, description=more.pop("description", "Rotación de turnos"), deadline=deadline,
            status=status, **more)).id


# ------------------------------------------------------------------------------------------- audits
def test_a_new_audit_copies_the_five_default_stages_and_is_logged(session, audit_id):
    stages = session.execute(sa.select(AuditStage).where(AuditStage.audit_id == audit_id)
                             .order_by(AuditStage.number)).scalars().all()
    assert [s.number for s in stages] == [1, 2, 3, 4, 5]
    assert stages[0].name_es == "Preparación y selección del servicio"
    assert stages[4].name_en == "Validation of results"
    assert {s.status for s in stages} == {"pending"}
    event = session.execute(sa.select(AuditEvent).where(AuditEvent.entity == "service_audit")).scalar_one()
    assert event.action == "create" and event.entity_id == str(audit_id)
    assert json.loads(event.after_json)["service_name"] == "Acompañamiento pedagógico"


@pytest.mark.parametrize(("service", "sector", "year", "key"), [
    ("   ", "education", 2013, "qsip.audit.service_blank"),
    ("Escuelas", "health", 2013, "qsip.audit.sector_not_in_cluster"),
    ("Escuelas", None, 2013, "qsip.audit.sector_missing"),
    ("Escuelas", "education", "dos mil", "qsip.audit.bad_year"),
    ("Escuelas", "education", 1850, "qsip.audit.bad_year"),
])
def test_bad_audit_input_is_refused_and_nothing_saved(session, clusters, actor, service, sector, year, key):
    with pytest.raises(ValidationFailed) as error, write_session() as s:
        qsip.create_audit(session=s, actor=actor, data=qsip.AuditInput(
            cluster_id=clusters["Lamas"], service_name=service, sector=sector, cycle_year=year))
    assert error.value.key == key
    assert count(session, ServiceAudit) == 0
    assert count(session, AuditStage) == 0


def test_the_same_service_and_year_cannot_be_opened_twice(session, clusters, audit_id, actor):
    with pytest.raises(Conflict, match="qsip.audit.exists"), write_session() as s:
        qsip.create_audit(session=s, actor=actor, data=qsip.AuditInput(
            cluster_id=clusters["Lamas"], service_name=" Acompañamiento pedagógico ", sector="education",
            cycle_year=2013))
    assert count(session, ServiceAudit) == 1


def test_a_facilitator_writes_only_in_assigned_clusters(session, clusters, audit_id):
    outsider = Actor(username="ana", role="facilitator", cluster_ids=frozenset({clusters["Tambopata"]}))
    with pytest.raises(PermissionDenied), write_session() as s:
        qsip.add_barrier(session=s, actor=outsider, audit_id=audit_id, data=qsip.BarrierInput(
            description="x", category="other", government_level="district"))
    insider = Actor(username="eva", role="facilitator", cluster_ids=frozenset({clusters["Lamas"]}))
    add_barrier(audit_id, insider)
    assert count(session, Barrier) == 1
    evaluator = Actor(username="ed", role="evaluator")
    with pytest.raises(PermissionDenied), write_session() as s:
        qsip.add_respondent(session=s, actor=evaluator, audit_id=audit_id,
                            data=qsip.RespondentInput(respondent_type="user", ratings={"EFT-01": 3}))


# ------------------------------------------------------------------------------------------- stages
def test_stage_table_saves_names_dates_and_status(session, audit_id, actor):
    rows = queries.stages(LOCAL_USER, audit_id).to_dict("records")
    rows[0].update(name_es="Preparación", status="done", actual_start=date(2013, 2, 4), actual_end=date(2013, 3, 30))
    rows[1].update(status="in_progress", planned_start="2013-04-01", planned_end="2013-04-30")
    with write_session() as s:
        changed = qsip.apply_stage_rows(session=s, actor=actor, audit_id=audit_id, rows=rows)
    assert changed == 2
    saved = queries.stages(LOCAL_USER, audit_id)
    assert saved.loc[0, "name_es"] == "Preparación"
    assert saved.loc[1, "planned_end"] == date(2013, 4, 30)
    assert qsip.current_stage(saved.to_dict("records")) == (2, "in_progress")
    assert count(session, AuditEvent, AuditEvent.entity == "audit_stage") == 2


def test_one_bad_stage_row_refuses_the_whole_table(session, audit_id, actor):
    rows = queries.stages(LOCAL_USER, audit_id).to_dict("records")
    rows[0].update(status="done")
    rows[2].update(planned_start=date(2013, 6, 1), planned_end=date(2013, 5, 1))
    with pytest.raises(ValidationFailed) as error, write_session() as s:
        qsip.apply_stage_rows(session=s, actor=actor, audit_id=audit_id, rows=rows)
    assert error.value.key == "qsip.stage.dates_reversed" and error.value.params["number"] == 3
    assert set(queries.stages(LOCAL_USER, audit_id)["status"]) == {"pending"}  # row 1 was rolled back too
    rows = queries.stages(LOCAL_USER, audit_id).to_dict("records")
    rows[3].update(name_en="  ")
    with pytest.raises(ValidationFailed, match="qsip.stage.name_blank"), write_session() as s:
        qsip.apply_stage_rows(session=s, actor=actor, audit_id=audit_id, rows=rows)


def test_current_stage_is_the_first_not_done():
    assert qsip.current_stage([]) == (1, "pending")
    stages = [{"number": n, "status": s} for n, s in ((2, "pending"), (1, "done"), (3, "in_progress"))]
    assert qsip.current_stage(stages) == (2, "pending")
    assert qsip.current_stage([{"number": n, "status": "done"} for n in (1, 2, 3, 4, 5)]) == (5, "done")


# ------------------------------------------------------------------------------------------- feedback
def test_a_questionnaire_saves_the_respondent_and_every_rating(session, audit_id, actor):
    with write_session() as s:
        respondent = qsip.add_respondent(session=s, actor=actor, audit_id=audit_id, data=qsip.RespondentInput(
            respondent_type="user", sex="female", indigenous="yes", locality=" Tabalosos ", code="001",
            ratings={"EFT-01": "4", "EFT-02": 5, "EFC-01": " 2 ", "SAT-03": "", "COV-01": None}))
    saved = session.get(Respondent, respondent.id)
    assert (saved.respondent_type, saved.sex, saved.indigenous, saved.locality) == ("user", "female", "yes", "Tabalosos")
    ratings = queries.ratings(LOCAL_USER, audit_id)
    assert sorted(zip(ratings["item_code"], ratings["rating"])) == [("EFC-01", 2), ("EFT-01", 4), ("EFT-02", 5)]
    assert queries.respondent_counts(LOCAL_USER, audit_id) == {"user": 1, "provider": 0, "manager": 0, "total": 1}
    listed = queries.respondents(LOCAL_USER, audit_id)
    assert listed.loc[0, "n_ratings"] == 3 and listed.loc[0, "mean_rating"] == pytest.approx(3.67)


@pytest.mark.parametrize(("data", "key"), [
    (dict(respondent_type=None, ratings={"EFT-01": 3}), "qsip.respondent.type_missing"),
    (dict(respondent_type="  ", ratings={"EFT-01": 3}), "qsip.respondent.type_missing"),
    (dict(respondent_type="citizen", ratings={"EFT-01": 3}), "qsip.respondent.type_unknown"),
    (dict(respondent_type="user", ratings={"EFT-01": 3, "EFT-02": 6}), "qsip.rating.off_scale_item"),
    (dict(respondent_type="user", ratings={"EFT-01": 0}), "qsip.rating.off_scale_item"),
    (dict(respondent_type="user", ratings={"EFT-01": "3.5"}), "qsip.rating.not_number_item"),
    (dict(respondent_type="user", ratings={"EFT-01": "x"}), "qsip.rating.not_number_item"),
    (dict(respondent_type="user", ratings={"NOPE-1": 3}), "qsip.rating.unknown_item"),
    (dict(respondent_type="user", ratings={"EFT-01": ""}), "qsip.respondent.no_ratings"),
    (dict(respondent_type="user", sex="f", ratings={"EFT-01": 3}), "qsip.respondent.sex_unknown"),
])
def test_a_bad_questionnaire_saves_nothing(session, audit_id, actor, data, key):
    with pytest.raises(ValidationFailed) as error, write_session() as s:
        qsip.add_respondent(session=s, actor=actor, audit_id=audit_id, data=qsip.RespondentInput(**data))
    assert error.value.key == key
    assert count(session, Respondent) == 0
    assert count(session, FeedbackRating) == 0
    assert count(session, AuditEvent, AuditEvent.entity == "respondent") == 0


def test_off_scale_message_names_the_question(audit_id, actor):
    with pytest.raises(ValidationFailed) as error, write_session() as s:
        qsip.add_respondent(session=s, actor=actor, audit_id=audit_id,
                            data=qsip.RespondentInput(respondent_type="provider", ratings={"COV-02": 7}))
    assert error.value.message("es") == (
        "Pregunta COV-02: la calificación 7 está fuera de la escala (1 a 5). No se guardó nada.")


def test_deleting_a_questionnaire_removes_its_ratings(session, audit_id, actor):
    with write_session() as s:
        respondent_id = qsip.add_respondent(session=s, actor=actor, audit_id=audit_id, data=qsip.RespondentInput(
            respondent_type="manager", ratings={code: 3 for code in ALL_ITEMS})).id
    with write_session() as s:
        qsip.delete_respondent(session=s, actor=actor, respondent_id=respondent_id)
    assert count(session, Respondent) == 0 and count(session, FeedbackRating) == 0


# ------------------------------------------------------------------------------------------- barriers and roadmap
@pytest.mark.parametrize(("overrides", "key"), [
    ({"description": " "}, "qsip.barrier.description_blank"),
    ({"category": None}, "qsip.barrier.category_missing"),
    ({"category": "money"}, "qsip.barrier.category_unknown"),
    ({"government_level": "national"}, "qsip.barrier.level_unknown"),
    ({"priority": "urgent"}, "qsip.barrier.priority_unknown"),
])
def test_bad_barrier_is_refused(session, audit_id, actor, overrides, key):
    with pytest.raises(ValidationFailed) as error:
        add_barrier(audit_id, actor, **overrides)
    assert error.value.key == key
    assert count(session, Barrier) == 0


def test_an_action_needs_a_barrier_of_the_audit_and_a_deadline_not_past(session, clusters, audit_id, actor):
    barrier_id = add_barrier(audit_id, actor)
    with pytest.raises(ValidationFailed, match="qsip.action.barrier_missing"):
        add_action(audit_id, actor, None)
    with pytest.raises(ValidationFailed, match="qsip.action.deadline_missing"):
        add_action(audit_id, actor, barrier_id, deadline=None)
    with pytest.raises(ValidationFailed) as error:
        add_action(audit_id, actor, barrier_id, deadline=TODAY - timedelta(days=1))
    assert error.value.key == "qsip.action.deadline_past"
    assert error.value.params == {"deadline": "2026-06-14", "today": "2026-06-15"}
    with write_session() as s:
        other = qsip.create_audit(session=s, actor=actor, data=qsip.AuditInput(
            cluster_id=clusters["Tambopata"], service_name="CRED", sector="health", cycle_year=2013)).id
    with pytest.raises(ValidationFailed, match="qsip.action.barrier_other_audit"):
        add_action(other, actor, barrier_id)
    foreign_government = session.execute(sa.select(Government.id).where(Government.ubigeo == "1701")).scalar_one()
    with pytest.raises(ValidationFailed, match="qsip.action.government_not_member"):
        add_action(audit_id, actor, barrier_id, responsible_government_id=foreign_government)
    assert count(session, ImprovementAction) == 0
    add_action(audit_id, actor, barrier_id, deadline=TODAY)  # today itself is allowed
    assert count(session, ImprovementAction) == 1


def test_follow_up_marks_completion_and_overdue_actions_stand_out(session, audit_id, actor):
    barrier_id = add_barrier(audit_id, actor)
    late = add_action(audit_id, actor, barrier_id, deadline=date(2026, 7, 1), description="Tarde")
    finished = add_action(audit_id, actor, barrier_id, deadline=date(2026, 7, 1), description="Hecha",
                          quick_win=True)
    dropped = add_action(audit_id, actor, barrier_id, deadline=date(2026, 7, 1), description="Descartada")
    add_action(audit_id, actor, barrier_id, deadline=date(2026, 9, 1), description="A tiempo")
    for action_id, status, text in ((finished, "done", "Hecha"), (dropped, "dropped", "Descartada")):
        with write_session() as s:
            qsip.update_action(session=s, actor=actor, action_id=action_id, today=date(2026, 7, 20),
                               data=qsip.ActionInput(barrier_id=barrier_id, description=text,
                                                     deadline=date(2026, 7, 1), status=status, quick_win=True,
                                                     evidence="Acta del taller"))
    roadmap = queries.actions(LOCAL_USER, audit_id, today=date(2026, 8, 1)).set_index("description")
    assert roadmap.loc["Tarde", "overdue"]
    assert not roadmap.loc["Hecha", "overdue"] and not roadmap.loc["Descartada", "overdue"]
    assert not roadmap.loc["A tiempo", "overdue"]
    assert roadmap.loc["Hecha", "completed_on"] == date(2026, 7, 20)
    assert roadmap.loc["Hecha", "evidence"] == "Acta del taller"
    assert session.get(ImprovementAction, late).status == "planned"
    audits = queries.audits(LOCAL_USER, today=date(2026, 8, 1)).set_index("id")
    assert audits.loc[audit_id, "n_overdue"] == 1 and audits.loc[audit_id, "n_actions"] == 4
    barrier = queries.barriers(LOCAL_USER, audit_id).iloc[0]
    assert (barrier["n_actions"], barrier["n_open"]) == (4, 2)


def test_a_barrier_with_actions_cannot_be_deleted(session, audit_id, actor):
    barrier_id = add_barrier(audit_id, actor)
    add_action(audit_id, actor, barrier_id)
    with pytest.raises(Conflict, match="qsip.barrier.has_actions"), write_session() as s:
        qsip.delete_barrier(session=s, actor=actor, barrier_id=barrier_id)
    assert count(session, Barrier) == 1


# ------------------------------------------------------------------------------------------- validation and cycles
def test_validation_records_date_and_who_and_closes_stage_five(session, audit_id, actor):
    with pytest.raises(ValidationFailed, match="qsip.validation.by_blank"), write_session() as s:
        qsip.validate_results(session=s, actor=actor, audit_id=audit_id, validated_on=date(2013, 11, 28),
                              validated_by=" ")
    with pytest.raises(ValidationFailed, match="qsip.validation.future_date"), write_session() as s:
        qsip.validate_results(session=s, actor=actor, audit_id=audit_id, validated_on=date(2030, 1, 1),
                              validated_by="Comité", today=TODAY)
    with write_session() as s:
        qsip.validate_results(session=s, actor=actor, audit_id=audit_id, validated_on=date(2013, 11, 28),
                              validated_by="Comité de gestión")
    audit = session.get(ServiceAudit, audit_id)
    assert audit.validated_by == "Comité de gestión" and qsip.validation_date(audit) == date(2013, 11, 28)
    stage = queries.stages(LOCAL_USER, audit_id).iloc[4]
    assert (stage["status"], stage["actual_end"]) == ("done", date(2013, 11, 28))
    assert count(session, AuditEvent, AuditEvent.action == "validate") == 1


def test_next_cycle_carries_the_open_roadmap_and_edited_stage_names(session, audit_id, actor):
    rows = queries.stages(LOCAL_USER, audit_id).to_dict("records")
    rows[1]["name_es"] = "Auditoría con la comunidad"
    with write_session() as s:
        qsip.apply_stage_rows(session=s, actor=actor, audit_id=audit_id, rows=rows)
    open_barrier = add_barrier(audit_id, actor, description="Abierta")
    closed_barrier = add_barrier(audit_id, actor, description="Cerrada")
    add_barrier(audit_id, actor, description="Sin acciones")
    add_action(audit_id, actor, open_barrier, description="Pendiente", status="in_progress")
    add_action(audit_id, actor, open_barrier, description="Lista", status="done")
    add_action(audit_id, actor, closed_barrier, description="Descartada", status="dropped")
    with write_session() as s:
        new = qsip.start_next_cycle(session=s, actor=actor, audit_id=audit_id)
    assert (new.cycle_year, new.previous_audit_id, new.service_name) == (2014, audit_id, "Acompañamiento pedagógico")
    assert queries.stages(LOCAL_USER, new.id).loc[1, "name_es"] == "Auditoría con la comunidad"
    assert set(queries.stages(LOCAL_USER, new.id)["status"]) == {"pending"}
    assert sorted(queries.barriers(LOCAL_USER, new.id)["description"]) == ["Abierta", "Sin acciones"]
    carried = queries.actions(LOCAL_USER, new.id)
    assert list(carried["description"]) == ["Pendiente"] and list(carried["status"]) == ["in_progress"]
    assert queries.audit_chain(new.id) == [new.id, audit_id]
    with pytest.raises(Conflict, match="qsip.audit.exists"), write_session() as s:
        qsip.start_next_cycle(session=s, actor=actor, audit_id=audit_id, cycle_year=2014)
    with pytest.raises(ValidationFailed, match="qsip.cycle.year_not_after"), write_session() as s:
        qsip.start_next_cycle(session=s, actor=actor, audit_id=new.id, cycle_year=2013)


# ------------------------------------------------------------------------------------------- demo
def test_demo_gives_each_cluster_two_cycles_of_audits(session, clusters):
    from db import demo_qsip
    from db.models import Cluster

    with write_session() as s:
        demo_qsip.load_demo(s, [s.get(Cluster, cid) for cid in clusters.values()], today=TODAY)
    audits = queries.audits(LOCAL_USER, today=TODAY)
    assert len(audits) == 2 * len(clusters)
    assert sorted(audits.groupby("cluster_id")["cycle_year"].apply(sorted).map(tuple).unique()) == [(2013, 2014)]
    assert audits["n_respondents"].between(20, 40).all()
    assert audits["n_barriers"].between(3, 5).all()
    assert audits["n_actions"].between(4, 8).all()
    assert audits["is_demo"].all()
    assert (audits["n_overdue"] > 0).any()
    first = audits.loc[audits["cycle_year"] == 2013]
    assert first["validated_by"].notna().all() and (first["n_stages_done"] == 5).all()
    latest = audits.loc[audits["cycle_year"] == 2014]
    assert latest["previous_audit_id"].notna().all() and (latest["n_stages_done"] == 3).all()
    ratings = queries.ratings(LOCAL_USER, latest.iloc[0]["id"])
    assert set(ratings["respondent_type"]) == {"user", "provider", "manager"}
    assert set(ratings["cycle_year"]) == {2013, 2014}
    # every respondent rated every item
    per_respondent = ratings.groupby("respondent_id")["item_code"].nunique()
    assert (per_respondent == 12).all()
    quick_done = session.execute(sa.select(sa.func.count()).select_from(ImprovementAction).where(
        ImprovementAction.quick_win.is_(True), ImprovementAction.status == "done")).scalar_one()
    assert quick_done > 0


def test_stage_rows_as_the_data_editor_returns_them(session, audit_id, actor):
    """The editor hands back pandas Timestamps, NaT for empty cells, and whatever text was typed."""
    import pandas as pd

    rows = queries.stages(LOCAL_USER, audit_id).to_dict("records")
    rows[0].update(planned_start=pd.Timestamp("2013-02-01"), planned_end=pd.NaT, actual_start=None)
    with write_session() as s:
        assert qsip.apply_stage_rows(session=s, actor=actor, audit_id=audit_id, rows=rows) == 1
    saved = queries.stages(LOCAL_USER, audit_id).iloc[0]
    assert saved["planned_start"] == date(2013, 2, 1) and saved["planned_end"] is None
    rows = queries.stages(LOCAL_USER, audit_id).to_dict("records")
    rows[1]["actual_end"] = "31/02/2013"
    with pytest.raises(ValidationFailed, match="qsip.stage.bad_date"), write_session() as s:
        qsip.apply_stage_rows(session=s, actor=actor, audit_id=audit_id, rows=rows)
