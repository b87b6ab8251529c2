"""Undo of a removal (participant with scores, plan item, QSIP respondent, barrier, action): same ids, one audited
restore, refused when something conflicting was created meanwhile."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from assessments import capacity_plan, focas, qsip
from assessments.access import Actor
from assessments.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from db.engine import read_session, write_session
from db.models import (
    Assessment,
    AuditEvent,
    Barrier,
    CapacityPlanItem,
    FeedbackRating,
    ImprovementAction,
    Participant,
    ParticipantScore,
    Respondent,
)
from tests.test_focas_plan import item
from tests.test_focas_services import lamas, people, scores_of, start  # noqa: F401  (fixture)
from tests.test_qsip_services import ALL_ITEMS, TODAY, add_action, add_barrier, audit_id, clusters  # noqa: F401


def events(entity: str, action: str) -> list[AuditEvent]:
    with read_session() as session:
        return session.execute(sa.select(AuditEvent).where(AuditEvent.entity == entity, AuditEvent.action == action)
                               .order_by(AuditEvent.at)).scalars().all()


def score_rows(participant_id) -> dict:
    with read_session() as session:
        return {row.id: (row.indicator_id, row.score, row.created_at) for row in session.execute(
            sa.select(ParticipantScore).where(ParticipantScore.participant_id == participant_id)).scalars()}


@pytest.fixture
def scored(lamas, actor):  # noqa: F811
    """A draft baseline with three participants; P01 and P02 have scores in ADM."""
    assessment_id, _ = start(lamas, actor)
    p1, p2, p3 = people(assessment_id, actor, 3)
    with write_session() as session:
        focas.apply_grid_edits(session=session, actor=actor, assessment_id=assessment_id, area_code="ADM",
                               edited_rows={p1: {"ADM-01": 2, "ADM-02": 3, "ADM-03": 1}, p2: {"ADM-01": 4}},
                               expected={})
    return assessment_id, p1, p2, p3


def remove(participant_id, actor, reason=None):
    with write_session() as session:
        focas.remove_participant(session=session, actor=actor, participant_id=participant_id, reason=reason)


def restore(participant_id, actor, reason=None):
    with write_session() as session:
        return focas.restore_participant(session=session, actor=actor, participant_id=participant_id,
                                         reason=reason).id


# --- FOCAS participant ----------------------------------------------------------------------------


def test_undo_brings_a_participant_back_with_the_same_ids_and_scores(scored, actor):
    assessment_id, p1, _, _ = scored
    with read_session() as session:
        person = session.get(Participant, p1)
        original = {k: getattr(person, k) for k in ("code", "full_name", "sex", "indigenous", "role", "position",
                                                    "created_at")}
    scores_before, all_before = score_rows(p1), scores_of(assessment_id)
    assert len(scores_before) == 3
    remove(p1, actor)
    assert score_rows(p1) == {} and ("P01", "ADM-01") not in scores_of(assessment_id)

    assert restore(p1, actor) == p1
    with read_session() as session:
        person = session.get(Participant, p1)
        assert {k: getattr(person, k) for k in original} == original
    assert score_rows(p1) == scores_before  # the same score rows: ids, indicators, values, created stamps
    assert scores_of(assessment_id) == all_before
    restored = events("participant", "restore")
    assert len(restored) == 1 and restored[0].entity_id == str(p1)
    assert json.loads(restored[0].after_json)["scores"] == {"ADM-01": 2, "ADM-02": 3, "ADM-03": 1}


def test_the_removal_keeps_a_complete_before_image(scored, actor):
    _, p1, _, _ = scored
    ids = set(score_rows(p1))
    remove(p1, actor)
    before = json.loads(events("participant", "delete")[0].before_json)
    assert before["id"] == str(p1) and before["code"] == "P01"
    assert {row["id"] for row in before["score_rows"]} == {str(i) for i in ids}
    assert before["scores"] == {"ADM-01": 2, "ADM-02": 3, "ADM-03": 1}


def test_undo_is_refused_when_someone_took_the_code_meanwhile(scored, actor):
    assessment_id, p1, _, _ = scored
    remove(p1, actor)
    with write_session() as session:
        focas.add_participant(session=session, actor=actor, assessment_id=assessment_id,
                              data=focas.ParticipantInput(full_name="Otra persona", code="p01", sex="female"))
    with pytest.raises(Conflict) as error:
        restore(p1, actor)
    assert error.value.key == "removals.participant.code_taken"
    assert "P01" in error.value.message("es") and "otro(a) participante" in error.value.message("es")
    assert "another participant" in error.value.message("en")
    assert score_rows(p1) == {} and events("participant", "restore") == []
    with read_session() as session:
        assert session.get(Participant, p1) is None


def test_undo_twice_or_of_something_never_removed_is_refused(scored, actor):
    _, p1, p2, _ = scored
    remove(p1, actor)
    restore(p1, actor)
    with pytest.raises(Conflict, match="removals.already_there"):
        restore(p1, actor)
    with pytest.raises(Conflict, match="removals.already_there"):
        restore(p2, actor)  # never removed: it is there
    with pytest.raises(NotFound, match="removals.nothing_to_restore"):
        restore("00000000-0000-0000-0000-000000000001", actor)


def test_on_a_validated_assessment_undo_needs_a_reason_like_the_removal(scored, actor):
    assessment_id, p1, _, _ = scored
    with write_session() as session:
        session.get(Assessment, assessment_id).status = "validated"
    with pytest.raises(ValidationFailed, match="focas.reason_required"):
        remove(p1, actor)
    remove(p1, actor, reason="Registrado por error")
    with pytest.raises(ValidationFailed, match="focas.reason_required"):
        restore(p1, actor)
    restore(p1, actor, reason="Sí estuvo en el taller")
    assert events("participant", "restore")[0].reason == "Sí estuvo en el taller"
    assert len(score_rows(p1)) == 3


def test_only_those_who_may_remove_may_undo(scored, actor):
    _, p1, _, _ = scored
    remove(p1, actor)
    with pytest.raises(PermissionDenied):
        restore(p1, Actor("e", "evaluator"))
    with read_session() as session:
        assert session.get(Participant, p1) is None


# --- capacity plan ---------------------------------------------------------------------------------


def test_a_plan_item_comes_back_with_its_id_and_fields(lamas, actor):  # noqa: F811
    government = lamas["governments"][1]
    with write_session() as session:
        made = capacity_plan.add_plan_item(session=session, actor=actor, government_id=government,
                                           data=item(status="in_progress"))
        item_id, created = made.id, made.created_at
    with write_session() as session:
        capacity_plan.delete_plan_item(session=session, actor=actor, item_id=item_id)
    with write_session() as session:
        capacity_plan.restore_plan_item(session=session, actor=actor, item_id=item_id)
    with read_session() as session:
        row = session.get(CapacityPlanItem, item_id)
    assert (row.what, row.status, row.who_staff, row.planned_start.isoformat(), row.created_at) == (
        "Curso de gestión de personas", "in_progress", "Jefes de oficina", "2013-05-01", created)
    assert [e.entity_id for e in events("capacity_plan_item", "restore")] == [str(item_id)]


def test_a_plan_item_typed_again_meanwhile_is_not_restored_twice(lamas, actor):  # noqa: F811
    government = lamas["governments"][1]
    with write_session() as session:
        item_id = capacity_plan.add_plan_item(session=session, actor=actor, government_id=government, data=item()).id
    with write_session() as session:
        capacity_plan.delete_plan_item(session=session, actor=actor, item_id=item_id)
    with write_session() as session:
        capacity_plan.add_plan_item(session=session, actor=actor, government_id=government, data=item())
    with pytest.raises(Conflict) as error, write_session() as session:
        capacity_plan.restore_plan_item(session=session, actor=actor, item_id=item_id)
    assert "se volvió a registrar" in error.value.message("es")
    with read_session() as session:
        assert session.get(CapacityPlanItem, item_id) is None


# --- QSIP ------------------------------------------------------------------------------------------


def test_a_questionnaire_comes_back_with_its_ratings_and_their_ids(audit_id, actor):  # noqa: F811
    with write_session() as s:
        respondent_id = qsip.add_respondent(session=s, actor=actor, audit_id=audit_id, data=qsip.RespondentInput(
            respondent_type="user", sex="female", code="U07", ratings={code: 4 for code in ALL_ITEMS})).id
    with read_session() as s:
        ratings = {r.id: (r.item_id, r.rating) for r in s.execute(
            sa.select(FeedbackRating).where(FeedbackRating.respondent_id == respondent_id)).scalars()}
    with write_session() as s:
        qsip.delete_respondent(session=s, actor=actor, respondent_id=respondent_id)
    with write_session() as s:
        qsip.restore_respondent(session=s, actor=actor, respondent_id=respondent_id)
    with read_session() as s:
        back = s.get(Respondent, respondent_id)
        assert (back.code, back.sex, back.respondent_type) == ("U07", "female", "user")
        assert {r.id: (r.item_id, r.rating) for r in s.execute(
            sa.select(FeedbackRating).where(FeedbackRating.respondent_id == respondent_id)).scalars()} == ratings
    after = json.loads(events("respondent", "restore")[0].after_json)
    assert after["ratings"] == {code: 4 for code in ALL_ITEMS}


def test_a_questionnaire_is_not_restored_over_one_typed_again_with_its_code(audit_id, actor):  # noqa: F811
    data = qsip.RespondentInput(respondent_type="user", code="U07", ratings={"EFT-01": 3})
    with write_session() as s:
        respondent_id = qsip.add_respondent(session=s, actor=actor, audit_id=audit_id, data=data).id
    with write_session() as s:
        qsip.delete_respondent(session=s, actor=actor, respondent_id=respondent_id)
    with write_session() as s:
        qsip.add_respondent(session=s, actor=actor, audit_id=audit_id, data=data)
    with pytest.raises(Conflict, match="removals.respondent.code_taken"), write_session() as s:
        qsip.restore_respondent(session=s, actor=actor, respondent_id=respondent_id)


def test_barrier_and_action_come_back_and_an_action_needs_its_barrier(audit_id, actor):  # noqa: F811
    barrier_id = add_barrier(audit_id, actor)
    action_id = add_action(audit_id, actor, barrier_id, status="done")
    with read_session() as s:
        completed = s.get(ImprovementAction, action_id).completed_on
    with write_session() as s:
        qsip.delete_action(session=s, actor=actor, action_id=action_id)
    with write_session() as s:
        qsip.delete_barrier(session=s, actor=actor, barrier_id=barrier_id)
    with pytest.raises(Conflict, match="removals.action.barrier_gone"), write_session() as s:
        qsip.restore_action(session=s, actor=actor, action_id=action_id, today=TODAY)
    with write_session() as s:
        qsip.restore_barrier(session=s, actor=actor, barrier_id=barrier_id)
    with write_session() as s:
        qsip.restore_action(session=s, actor=actor, action_id=action_id, today=TODAY)
    with read_session() as s:
        barrier, action = s.get(Barrier, barrier_id), s.get(ImprovementAction, action_id)
        assert (barrier.description, barrier.priority, barrier.within_control) == ("Personal insuficiente", "high",
                                                                                  False)
        assert (action.barrier_id, action.status, action.completed_on) == (barrier_id, "done", completed)
    assert len(events("barrier", "restore")) == 1 and len(events("improvement_action", "restore")) == 1


def test_a_barrier_typed_again_meanwhile_is_not_restored_twice(audit_id, actor):  # noqa: F811
    barrier_id = add_barrier(audit_id, actor)
    with write_session() as s:
        qsip.delete_barrier(session=s, actor=actor, barrier_id=barrier_id)
    add_barrier(audit_id, actor)
    with pytest.raises(Conflict, match="removals.barrier.duplicate"), write_session() as s:
        qsip.restore_barrier(session=s, actor=actor, barrier_id=barrier_id)
    with pytest.raises(PermissionDenied), write_session() as s:
        qsip.restore_barrier(session=s, actor=Actor("e", "evaluator"), barrier_id=barrier_id)
