"""FOCAS workshop services on a real database (SQLite, or PostgreSQL with DATABASE_URL)."""

from __future__ import annotations

from assessments.access import LOCAL_USER
import json
import uuid

import pytest
import sqlalchemy as sa

from assessments import focas
from assessments.access import Actor
from assessments.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from db.engine import read_session, write_session
from db.models import (
    Assessment,
    AuditEvent,
    Cluster,
    ClusterMember,
    ConsensusScore,
    Government,
    Indicator,
    Instrument,
    Participant,
    ParticipantScore,
)


@pytest.fixture
def lamas(db_url):
    """The demo cluster "Lamas" (regional, provincial and two district governments), nothing else."""
    from db.demo import load_demo_clusters

    with write_session() as session:
        load_demo_clusters(session)
    with read_session() as session:
        cluster = session.execute(sa.select(Cluster).where(Cluster.name == "Lamas")).scalars().one()
        members = session.execute(
            sa.select(Government).join(ClusterMember, ClusterMember.government_id == Government.id)
            .where(ClusterMember.cluster_id == cluster.id).order_by(Government.ubigeo)
        ).scalars().all()
    return {"cluster_id": cluster.id, "governments": [g.id for g in members]}


def start(lamas, actor, round_name="baseline", government=1, **kwargs):
    with write_session() as session:
        assessment, created = focas.start_assessment(
            session=session, actor=actor, government_id=lamas["governments"][government],
            cluster_id=lamas["cluster_id"], round=round_name, **kwargs)
        return assessment.id, created


def people(assessment_id, actor, n=3):
    ids = []
    with write_session() as session:
        for i in range(n):
            ids.append(focas.add_participant(
                session=session, actor=actor, assessment_id=assessment_id,
                data=focas.ParticipantInput(full_name=f"Persona {i + 1}", sex=("female", "male")[i % 2],
                                            indigenous=("yes", "no")[i % 2],
                                            role=("official", "civil_society", "manager")[i % 3])).id)
    return ids


def scores_of(assessment_id) -> dict[tuple[str, str], int]:
    with read_session() as session:
        rows = session.execute(
            sa.select(Participant.code, Indicator.code, ParticipantScore.score)
            .join(Participant, Participant.id == ParticipantScore.participant_id)
            .join(Indicator, Indicator.id == ParticipantScore.indicator_id)
            .where(ParticipantScore.assessment_id == assessment_id)
        ).all()
    return {(p, i): s for p, i, s in rows}


def audit(entity: str) -> list[AuditEvent]:
    with read_session() as session:
        return session.execute(
            sa.select(AuditEvent).where(AuditEvent.entity == entity).order_by(AuditEvent.at)
        ).scalars().all()


# --- start or resume ------------------------------------------------------------------------


def test_start_creates_a_draft_on_the_default_instrument_and_resumes_it(lamas, actor):
    from datetime import date

    first, created = start(lamas, actor, workshop_date=date(2013, 3, 5), place="Lamas", facilitator="Ana")
    again, created_again = start(lamas, actor, place="otro lugar")
    assert created and not created_again
    assert again == first
    with read_session() as session:
        rows = session.execute(sa.select(Assessment)).scalars().all()
        instrument = session.get(Instrument, rows[0].instrument_id)
    assert len(rows) == 1
    assert (rows[0].status, rows[0].round, rows[0].place, rows[0].facilitator) == ("draft", "baseline", "Lamas", "Ana")
    assert rows[0].workshop_date == date(2013, 3, 5)
    assert instrument.is_default and instrument.version == 1
    assert [e.action for e in audit("assessment")] == ["create"]


def test_midpoint_needs_a_baseline_and_then_reuses_its_instrument(lamas, actor):
    with pytest.raises(ValidationFailed) as error:
        start(lamas, actor, "midpoint")
    assert error.value.key == "focas.baseline_first"
    baseline, _ = start(lamas, actor)
    with write_session() as session:
        custom = focas.customise_instrument(session=session, actor=actor, assessment_id=baseline,
                                            area_codes=["ADM", "LEGALPART", "DIVERSITY"])
    midpoint, _ = start(lamas, actor, "midpoint")
    with read_session() as session:
        assert session.get(Assessment, midpoint).instrument_id == custom.id


def test_a_government_outside_the_cluster_is_refused(lamas, actor):
    with read_session() as session:
        outsider = session.execute(sa.select(Government.id).where(Government.ubigeo == "0101")).scalar_one()
    with pytest.raises(ValidationFailed, match="focas.not_member"):
        with write_session() as session:
            focas.start_assessment(session=session, actor=actor, government_id=outsider,
                                   cluster_id=lamas["cluster_id"], round="baseline")


def test_a_facilitator_of_another_cluster_may_not_start(lamas):
    stranger = Actor(username="f", role="facilitator", cluster_ids=frozenset({uuid.uuid4()}))
    with pytest.raises(PermissionDenied):
        start(lamas, stranger)
    assigned = Actor(username="g", role="facilitator", cluster_ids=frozenset({lamas["cluster_id"]}))
    assert start(lamas, assigned)[1] is True


# --- the government's own instrument ----------------------------------------------------------


def test_customising_makes_a_new_version_with_custom_indicators_and_keeps_mandatory_areas(lamas, actor):
    assessment_id, _ = start(lamas, actor)
    with pytest.raises(ValidationFailed) as error:
        with write_session() as session:
            focas.customise_instrument(session=session, actor=actor, assessment_id=assessment_id,
                                       area_codes=["ADM", "LEGALPART"])
    assert error.value.key == "focas.mandatory_area"
    with write_session() as session:
        row = focas.customise_instrument(
            session=session, actor=actor, assessment_id=assessment_id, area_codes=["DIVERSITY", "ADM", "LEGALPART"],
            new_indicators=[focas.CustomIndicator(area_code="ADM", name_es="Archivo municipal ordenado",
                                                  descriptors={1: "No existe archivo"})])
        new_id, default_id = row.id, row.based_on_id
    with read_session() as session:
        from db.instruments import read_focas

        version = read_focas(session, new_id)
        stored = session.get(Instrument, new_id)
        custom = session.execute(
            sa.select(Indicator.code).where(Indicator.is_custom.is_(True))).scalars().all()
        assert session.get(Assessment, assessment_id).instrument_id == new_id
        assert session.get(Instrument, default_id).is_default
    assert version.area_codes() == ["ADM", "LEGALPART", "DIVERSITY"]  # instrument order, not click order
    assert version.area("ADM").indicator_codes()[-1] == "ADM-C1"
    assert version.indicator("ADM-C1").descriptor(1).es == "No existe archivo"
    assert version.indicator("ADM-C1").descriptor(2).es == "En desarrollo"  # the level name by default
    assert (stored.version, stored.government_id) == (2, lamas["governments"][1])
    assert custom == ["ADM-C1"]


def test_customising_moves_scores_to_the_new_version_and_refuses_dropping_a_scored_area(lamas, actor):
    assessment_id, _ = start(lamas, actor)
    (p1,) = people(assessment_id, actor, 1)
    with write_session() as session:
        focas.apply_grid_edits(session=session, actor=actor, assessment_id=assessment_id, area_code="HR",
                               edited_rows={p1: {"HR-01": 3}}, expected={})
    with pytest.raises(ValidationFailed) as error:
        with write_session() as session:
            focas.customise_instrument(session=session, actor=actor, assessment_id=assessment_id,
                                       area_codes=["ADM", "LEGALPART", "DIVERSITY"])
    assert (error.value.key, error.value.params["area"]) == ("focas.area_has_scores", "HR")
    with write_session() as session:
        row = focas.customise_instrument(session=session, actor=actor, assessment_id=assessment_id,
                                         area_codes=["HR", "LEGALPART", "DIVERSITY"])
    with read_session() as session:
        indicator = session.execute(
            sa.select(Indicator).join(ParticipantScore, ParticipantScore.indicator_id == Indicator.id)).scalars().one()
        from db.models import FunctionalArea

        assert session.get(FunctionalArea, indicator.area_id).instrument_id == row.id
    assert scores_of(assessment_id) == {("P01", "HR-01"): 3}


# --- participants ---------------------------------------------------------------------------


def test_participants_get_anonymous_codes_and_duplicates_are_refused(lamas, actor):
    assessment_id, _ = start(lamas, actor)
    people(assessment_id, actor, 2)
    with write_session() as session:
        named = focas.add_participant(session=session, actor=actor, assessment_id=assessment_id,
                                      data=focas.ParticipantInput(code="ANA", sex="female"))
        assert named.code == "ANA"
    with pytest.raises(ValidationFailed, match="focas.participant.duplicate_code"):
        with write_session() as session:
            focas.add_participant(session=session, actor=actor, assessment_id=assessment_id,
                                  data=focas.ParticipantInput(code="p01"))
    with pytest.raises(ValidationFailed, match="focas.participant.bad_role"):
        with write_session() as session:
            focas.add_participant(session=session, actor=actor, assessment_id=assessment_id,
                                  data=focas.ParticipantInput(role="mayor"))
    from db.queries import focas as queries

    frame = queries.participants(LOCAL_USER, assessment_id)
    assert list(frame["code"]) == ["P01", "P02", "ANA"]
    assert queries.attendance(LOCAL_USER, assessment_id)["sex"] == {"female": 2, "male": 1, "other": 0, "undisclosed": 0}


def test_removing_a_participant_removes_their_scores_and_keeps_them_in_the_audit(lamas, actor):
    assessment_id, _ = start(lamas, actor)
    p1, p2 = people(assessment_id, actor, 2)
    with write_session() as session:
        focas.apply_grid_edits(session=session, actor=actor, assessment_id=assessment_id, area_code="ADM",
                               edited_rows={p1: {"ADM-01": 2}, p2: {"ADM-01": 4}}, expected={})
    with write_session() as session:
        focas.remove_participant(session=session, actor=actor, participant_id=p1)
    assert scores_of(assessment_id) == {("P02", "ADM-01"): 4}
    removed = [e for e in audit("participant") if e.action == "delete"][0]
    assert json.loads(removed.before_json)["scores"] == {"ADM-01": 2}


def test_attendance_warnings_name_who_is_missing():
    counts = {"sex": {"female": 0, "male": 3}, "indigenous": {"yes": 1, "no": 2}, "role": {"civil_society": 0}}
    assert focas.attendance_warnings(counts) == ["focas.attendance.no_women", "focas.attendance.no_civil_society"]
    assert focas.attendance_warnings({"sex": {"female": 0}, "indigenous": {}, "role": {}}) == []


# --- the grid -------------------------------------------------------------------------------


def test_grid_edits_write_every_cell_and_record_each_change(lamas, actor):
    assessment_id, _ = start(lamas, actor)
    p1, p2, p3 = people(assessment_id, actor)
    with write_session() as session:
        result = focas.apply_grid_edits(
            session=session, actor=actor, assessment_id=assessment_id, area_code="ADM",
            edited_rows={p1: {"ADM-01": 3, "ADM-02": "2"}, p2: {"ADM-01": 4.0}, p3: {"ADM-01": " 1 "}},
            expected={p1: {"ADM-01": None, "ADM-02": None}, p2: {"ADM-01": None}, p3: {"ADM-01": None}})
    assert result == focas.EditResult(written=4, unchanged=0)
    assert scores_of(assessment_id) == {("P01", "ADM-01"): 3, ("P01", "ADM-02"): 2, ("P02", "ADM-01"): 4,
                                        ("P03", "ADM-01"): 1}
    events = audit("participant_score")
    assert len(events) == 4 and {e.action for e in events} == {"create"}
    # change one, clear one, and send one again unchanged
    with write_session() as session:
        result = focas.apply_grid_edits(
            session=session, actor=actor, assessment_id=assessment_id, area_code="ADM",
            edited_rows={p1: {"ADM-01": 2, "ADM-02": None}, p2: {"ADM-01": 4}},
            expected={p1: {"ADM-01": "3", "ADM-02": "2"}, p2: {"ADM-01": "4"}})
    assert result == focas.EditResult(written=2, unchanged=1)
    assert scores_of(assessment_id) == {("P01", "ADM-01"): 2, ("P02", "ADM-01"): 4, ("P03", "ADM-01"): 1}
    update = [e for e in audit("participant_score") if e.action == "update"][0]
    assert (json.loads(update.before_json)["score"], json.loads(update.after_json)["score"]) == (3, 2)
    assert [e.action for e in audit("participant_score")].count("delete") == 1


@pytest.mark.parametrize("value, key", [
    (5, "focas.grid.off_scale"), (0, "focas.grid.off_scale"), ("x", "focas.grid.not_number"),
    ("2,5", "focas.grid.not_integer"), (True, "focas.grid.not_number"),
])
def test_a_bad_cell_refuses_the_whole_edit_and_names_participant_and_indicator(lamas, actor, value, key):
    assessment_id, _ = start(lamas, actor)
    p1, p2, _ = people(assessment_id, actor)
    with pytest.raises(ValidationFailed) as error:
        with write_session() as session:
            focas.apply_grid_edits(session=session, actor=actor, assessment_id=assessment_id, area_code="ADM",
                                   edited_rows={p1: {"ADM-01": 3}, p2: {"ADM-03": value}}, expected={})
    assert error.value.key == key
    message = error.value.message("es")
    assert "P02" in message and "ADM-03" in message and "1" in message and "4" in message
    assert scores_of(assessment_id) == {}


def test_an_indicator_of_another_area_is_refused(lamas, actor):
    assessment_id, _ = start(lamas, actor)
    (p1,) = people(assessment_id, actor, 1)
    with pytest.raises(ValidationFailed, match="focas.grid.unknown_indicator"):
        with write_session() as session:
            focas.apply_grid_edits(session=session, actor=actor, assessment_id=assessment_id, area_code="ADM",
                                   edited_rows={p1: {"HR-01": 3}}, expected={})


def test_a_second_editor_with_a_stale_value_gets_a_conflict_and_nothing_is_written(lamas, actor):
    assessment_id, _ = start(lamas, actor)
    p1, p2, _ = people(assessment_id, actor)
    # both facilitators' screens show empty cells; the first one saves 3
    with write_session() as session:
        focas.apply_grid_edits(session=session, actor=actor, assessment_id=assessment_id, area_code="ADM",
                               edited_rows={p1: {"ADM-01": 3}}, expected={p1: {"ADM-01": None}})
    with pytest.raises(Conflict) as error:
        with write_session() as session:
            focas.apply_grid_edits(session=session, actor=actor, assessment_id=assessment_id, area_code="ADM",
                                   edited_rows={p1: {"ADM-01": 2}, p2: {"ADM-01": 1}},
                                   expected={p1: {"ADM-01": None}, p2: {"ADM-01": None}})
    assert error.value.key == "focas.conflict"
    assert "P01 · ADM-01 = 3" in error.value.message("es")
    assert scores_of(assessment_id) == {("P01", "ADM-01"): 3}
    # the same value typed by both is no conflict
    with write_session() as session:
        result = focas.apply_grid_edits(session=session, actor=actor, assessment_id=assessment_id, area_code="ADM",
                                        edited_rows={p1: {"ADM-01": 3}}, expected={p1: {"ADM-01": None}})
    assert result == focas.EditResult(written=0, unchanged=1)


def test_a_failure_after_some_writes_rolls_the_whole_save_back(lamas, actor, monkeypatch):
    assessment_id, _ = start(lamas, actor)
    p1, p2, _ = people(assessment_id, actor)
    written = {}

    def failing_record_many(session, *args, **kwargs):
        # the scores are already in the transaction when their audit rows fail to be written
        written["n"] = session.execute(sa.select(sa.func.count()).select_from(ParticipantScore)
                                       .where(ParticipantScore.assessment_id == assessment_id)).scalar_one()
        raise RuntimeError("disk full")

    monkeypatch.setattr(focas, "record_many", failing_record_many)
    with pytest.raises(RuntimeError):
        with write_session() as session:
            focas.apply_grid_edits(session=session, actor=actor, assessment_id=assessment_id, area_code="ADM",
                                   edited_rows={p1: {"ADM-01": 3}, p2: {"ADM-01": 2}}, expected={})
    assert written["n"] == 2
    assert scores_of(assessment_id) == {}
    assert audit("participant_score") == []


# --- consensus and validation ---------------------------------------------------------------


def fill_consensus(assessment_id, actor, value=3):
    from db.queries import focas as queries

    header = queries.assessment_header(LOCAL_USER, assessment_id)
    codes = queries.instrument(header["instrument_id"]).indicator_codes()
    with write_session() as session:
        focas.apply_consensus_edits(session=session, actor=actor, assessment_id=assessment_id,
                                    edits={c: {"score": value, "evidence": "acta"} for c in codes}, expected={})
    return codes


def test_consensus_edits_store_score_and_evidence_and_detect_conflicts(lamas, actor):
    assessment_id, _ = start(lamas, actor)
    with write_session() as session:
        focas.apply_consensus_edits(session=session, actor=actor, assessment_id=assessment_id,
                                    edits={"ADM-01": {"score": "3", "evidence": "  ROF aprobado  "}},
                                    expected={"ADM-01": {"score": None, "evidence": ""}})
    with read_session() as session:
        row = session.execute(sa.select(ConsensusScore)).scalars().one()
    assert (row.score, row.evidence) == (3, "ROF aprobado")
    with pytest.raises(ValidationFailed) as error:
        with write_session() as session:
            focas.apply_consensus_edits(session=session, actor=actor, assessment_id=assessment_id,
                                        edits={"ADM-02": {"score": 7}}, expected={})
    assert error.value.key == "focas.consensus.off_scale" and "ADM-02" in error.value.message("en")
    with pytest.raises(Conflict):
        with write_session() as session:
            focas.apply_consensus_edits(session=session, actor=actor, assessment_id=assessment_id,
                                        edits={"ADM-01": {"score": 2}}, expected={"ADM-01": {"score": None}})
    with read_session() as session:
        assert session.execute(sa.select(ConsensusScore.score)).scalar_one() == 3


def test_validation_needs_every_consensus_then_locks_and_changes_need_a_reason(lamas, actor):
    assessment_id, _ = start(lamas, actor)
    with pytest.raises(ValidationFailed, match="focas.validate.no_participants"):
        with write_session() as session:
            focas.validate_assessment(session=session, actor=actor, assessment_id=assessment_id)
    (p1,) = people(assessment_id, actor, 1)
    with write_session() as session:
        focas.apply_consensus_edits(session=session, actor=actor, assessment_id=assessment_id,
                                    edits={"ADM-01": {"score": 2}}, expected={})
    with pytest.raises(ValidationFailed) as error:
        with write_session() as session:
            focas.validate_assessment(session=session, actor=actor, assessment_id=assessment_id)
    assert error.value.key == "focas.validate.missing_consensus" and error.value.params["n"] == 36
    fill_consensus(assessment_id, actor)
    with write_session() as session:
        focas.validate_assessment(session=session, actor=actor, assessment_id=assessment_id)
    with read_session() as session:
        row = session.get(Assessment, assessment_id)
    assert (row.status, row.validated_by) == ("validated", "local") and row.validated_at is not None

    with pytest.raises(ValidationFailed, match="focas.reason_required"):
        with write_session() as session:
            focas.apply_grid_edits(session=session, actor=actor, assessment_id=assessment_id, area_code="ADM",
                                   edited_rows={p1: {"ADM-01": 3}}, expected={})
    with pytest.raises(ValidationFailed, match="focas.instrument_locked"):
        with write_session() as session:
            focas.customise_instrument(session=session, actor=actor, assessment_id=assessment_id,
                                       area_codes=["ADM", "LEGALPART", "DIVERSITY"])
    with write_session() as session:
        focas.apply_consensus_edits(session=session, actor=actor, assessment_id=assessment_id,
                                    edits={"ADM-01": {"score": 4}}, expected={"ADM-01": {"score": 3}},
                                    reason="Se encontró el ROF aprobado")
    event = [e for e in audit("consensus_score") if e.action == "update"][-1]
    assert event.reason == "Se encontró el ROF aprobado"
    assert (json.loads(event.before_json)["score"], json.loads(event.after_json)["score"]) == (3, 4)
    assert event.actor == "local"
    with pytest.raises(ValidationFailed, match="focas.already_validated"):
        with write_session() as session:
            focas.validate_assessment(session=session, actor=actor, assessment_id=assessment_id)


def test_unknown_assessment_is_not_found(db_url, actor):
    with pytest.raises(NotFound):
        with write_session() as session:
            focas.apply_grid_edits(session=session, actor=actor, assessment_id=uuid.uuid4(), area_code="ADM",
                                   edited_rows={}, expected={})
