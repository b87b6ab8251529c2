"""The entry surface's batches (assessments/entry.py): applied once, each cell answered on its own."""

from __future__ import annotations

from assessments.access import LOCAL_USER
import json
import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

from assessments import entry, focas
from assessments.access import Actor
from db.engine import read_session, run_write, write_session
from db.models import AuditEvent, ConsensusScore, Participant
from db.models.entry import EntryBatch
from tests.test_focas_services import lamas, people, scores_of, start  # noqa: F401  (fixture)


def apply(assessment_id, actor, edits, *, batch=None, reason=None, lang="es"):
    batch = batch or str(uuid.uuid4())
    parsed = entry.parse_edits(edits)
    return entry.run_batch(run_write, batch_id=batch, edits=parsed, lang=lang, apply=lambda s: entry.apply_batch(
        session=s, actor=actor, assessment_id=assessment_id, batch_id=batch, edits=parsed, reason=reason, lang=lang))


def audit_count() -> int:
    with read_session() as session:
        return session.execute(sa.select(sa.func.count()).select_from(AuditEvent)).scalar_one()


@pytest.fixture
def room(lamas, actor):  # noqa: F811
    assessment_id, _ = start(lamas, actor)
    return assessment_id, people(assessment_id, actor)


def test_a_batch_writes_its_cells_with_audit_rows_and_answers_each_saved(room, actor):
    assessment_id, (p1, p2, _) = room
    before = audit_count()
    answer = apply(assessment_id, actor, [{"c": f"s|{p1}|ADM-01", "v": 3, "x": None},
                                          {"c": f"s|{p2}|ADM-02", "v": 1, "x": None},
                                          {"c": "a|ADM-01", "v": 3, "x": None},
                                          {"c": "e|ADM-01", "v": "Actas del taller", "x": ""}])
    assert {c: a["status"] for c, a in answer["cells"].items()} == {
        f"s|{p1}|ADM-01": "saved", f"s|{p2}|ADM-02": "saved", "a|ADM-01": "saved", "e|ADM-01": "saved"}
    assert scores_of(assessment_id) == {("P01", "ADM-01"): 3, ("P02", "ADM-02"): 1}
    with read_session() as session:
        agreed = session.execute(sa.select(ConsensusScore.score, ConsensusScore.evidence)).one()
    assert tuple(agreed) == (3, "Actas del taller")
    assert audit_count() - before == 3  # two scores, one consensus row (score and evidence together)


def test_the_same_batch_twice_changes_nothing_and_gets_the_first_answer(room, actor):
    assessment_id, (p1, *_rest) = room
    batch = str(uuid.uuid4())
    first = apply(assessment_id, actor, [{"c": f"s|{p1}|ADM-01", "v": 2, "x": None}], batch=batch)
    audits = audit_count()
    # meanwhile someone else changes the cell; the replayed batch must not overwrite it nor conflict
    apply(assessment_id, actor, [{"c": f"s|{p1}|ADM-01", "v": 4, "x": 2}])
    again = apply(assessment_id, actor, [{"c": f"s|{p1}|ADM-01", "v": 2, "x": None}], batch=batch)
    assert again["replayed"] is True and again["cells"] == first["cells"]
    assert scores_of(assessment_id) == {("P01", "ADM-01"): 4}
    assert audit_count() == audits + 1
    with read_session() as session:
        assert session.execute(sa.select(sa.func.count()).select_from(EntryBatch)).scalar_one() == 2


def test_a_cell_changed_by_someone_else_is_refused_alone_with_their_value(room, actor):
    assessment_id, (p1, p2, _) = room
    apply(assessment_id, actor, [{"c": f"s|{p1}|ADM-01", "v": 3, "x": None}])
    # a second tab still showed the cell empty
    answer = apply(assessment_id, actor, [{"c": f"s|{p1}|ADM-01", "v": 1, "x": None},
                                          {"c": f"s|{p2}|ADM-01", "v": 2, "x": None}], lang="en")
    refused = answer["cells"][f"s|{p1}|ADM-01"]
    assert (refused["status"], refused["reason"], refused["current"]) == ("refused", "conflict", 3)
    assert "it now says 3; you typed 1" in refused["message"]
    assert answer["cells"][f"s|{p2}|ADM-01"]["status"] == "saved"
    assert scores_of(assessment_id) == {("P01", "ADM-01"): 3, ("P02", "ADM-01"): 2}
    # typed again knowing their value: replaced
    answer = apply(assessment_id, actor, [{"c": f"s|{p1}|ADM-01", "v": 1, "x": 3}])
    assert answer["cells"][f"s|{p1}|ADM-01"]["status"] == "saved"
    assert scores_of(assessment_id)[("P01", "ADM-01")] == 1


def test_bad_values_are_refused_per_cell_in_the_callers_language(room, actor):
    assessment_id, (p1, *_rest) = room
    answer = apply(assessment_id, actor, [
        {"c": f"s|{p1}|ADM-01", "v": 9, "x": None}, {"c": "a|ADM-02", "v": 0, "x": None},
        {"c": f"s|{p1}|NOPE-01", "v": 2, "x": None}, {"c": f"s|{uuid.uuid4()}|ADM-01", "v": 2, "x": None},
        {"c": "z|what", "v": 1}, {"c": f"s|{p1}|ADM-03", "v": 2, "x": None}])
    reasons = {c: (a["status"], a.get("reason")) for c, a in answer["cells"].items()}
    assert reasons == {
        f"s|{p1}|ADM-01": ("refused", "scale"), "a|ADM-02": ("refused", "scale"),
        f"s|{p1}|NOPE-01": ("refused", "invalid"), next(c for c in reasons if c.endswith("|ADM-01") and str(p1) not in c): ("refused", "gone"),
        "z|what": ("refused", "invalid"), f"s|{p1}|ADM-03": ("saved", None)}
    assert answer["cells"][f"s|{p1}|ADM-01"]["message"] == "«9» está fuera de la escala (1 a 4)."
    assert scores_of(assessment_id) == {("P01", "ADM-03"): 2}


def test_a_locked_assessment_refuses_the_whole_batch_and_keeps_no_record_of_it(room, actor):
    assessment_id, (p1, *_rest) = room
    from db.queries import focas as queries

    all_codes = queries.instrument(queries.assessment_header(LOCAL_USER, assessment_id)["instrument_id"]).indicator_codes()
    with write_session() as session:
        focas.apply_consensus_edits(session=session, actor=actor, assessment_id=assessment_id,
                                    edits={c: {"score": 2} for c in all_codes}, expected={})
        focas.validate_assessment(session=session, actor=actor, assessment_id=assessment_id)
    batch = str(uuid.uuid4())
    answer = apply(assessment_id, actor, [{"c": f"s|{p1}|ADM-01", "v": 3, "x": None}], batch=batch, lang="en")
    cell = answer["cells"][f"s|{p1}|ADM-01"]
    assert (cell["status"], cell["reason"]) == ("refused", "locked")
    assert scores_of(assessment_id) == {}
    # with a reason the same batch goes through (the refusal was not stored as its answer)
    answer = apply(assessment_id, actor, [{"c": f"s|{p1}|ADM-01", "v": 3, "x": None}], batch=batch,
                   reason="Corrección acordada")
    assert answer["cells"][f"s|{p1}|ADM-01"]["status"] == "saved"
    with read_session() as session:
        reason = session.execute(sa.select(AuditEvent.reason).where(AuditEvent.entity == "participant_score")).scalar_one()
    assert reason == "Corrección acordada"


def test_a_wrong_role_refuses_the_batch(room):
    assessment_id, (p1, *_rest) = room
    evaluator = Actor(username="eva", role="evaluator", full_name="Eva")
    answer = apply(assessment_id, evaluator, [{"c": f"s|{p1}|ADM-01", "v": 3, "x": None}])
    assert answer["cells"][f"s|{p1}|ADM-01"]["reason"] == "locked"
    assert scores_of(assessment_id) == {}


def test_a_database_fault_writes_nothing_and_answers_busy_in_the_users_language(room, actor):
    assessment_id, (p1, *_rest) = room
    edits = entry.parse_edits([{"c": f"s|{p1}|ADM-01", "v": 3, "x": None}])

    def locked(_work):
        raise OperationalError("INSERT …", {}, Exception("database is locked"))

    answer = entry.run_batch(locked, batch_id=str(uuid.uuid4()), edits=edits, lang="en", apply=None)
    cell = answer["cells"][f"s|{p1}|ADM-01"]
    assert (cell["status"], cell["reason"]) == ("refused", "busy")
    assert cell["message"].startswith("The database is busy")
    for text, kind in (("attempt to write a readonly database", "read_only"),
                       ("database or disk is full", "full"), ("canceling statement due to lock timeout", "locked")):
        assert entry.fault_kind(OperationalError("x", {}, Exception(text))) == kind


def test_a_failure_in_the_middle_of_a_batch_leaves_nothing_of_it(room, actor, monkeypatch):
    assessment_id, (p1, p2, _) = room
    real = entry._write_consensus

    def boom(*args, **kwargs):
        real(*args, **kwargs)
        raise OperationalError("UPDATE …", {}, Exception("disk I/O error"))

    monkeypatch.setattr(entry, "_write_consensus", boom)
    answer = apply(assessment_id, actor, [{"c": f"s|{p1}|ADM-01", "v": 3, "x": None}, {"c": "a|ADM-01", "v": 2}])
    assert {a["reason"] for a in answer["cells"].values()} == {"busy"}
    assert scores_of(assessment_id) == {}
    with read_session() as session:
        assert session.execute(sa.select(sa.func.count()).select_from(EntryBatch)).scalar_one() == 0


def test_people_typed_into_the_register_are_added_once_with_their_own_id(lamas, actor):  # noqa: F811
    assessment_id, _ = start(lamas, actor)
    ana, blank, nosex = (str(uuid.uuid4()) for _ in range(3))
    edits = [{"c": f"p|{ana}", "v": {"full_name": "Ana Tuanama", "sex": "female", "indigenous": "yes",
                                      "role": "civil_society", "organisation": "Ronda campesina"}},
             {"c": f"p|{blank}", "v": {"full_name": " ", "code": "", "sex": "male"}},
             {"c": f"p|{nosex}", "v": {"full_name": "Sin sexo"}}]
    answer = apply(assessment_id, actor, edits, lang="en")
    assert answer["cells"][f"p|{ana}"] == {"status": "saved", "current": {"code": "P01"}}
    assert answer["cells"][f"p|{blank}"]["message"] == "Type a name or a code for the participant."
    assert "Choose the participant's sex" in answer["cells"][f"p|{nosex}"]["message"]
    # sent again in a new batch (the first answer was lost): still one person
    again = apply(assessment_id, actor, edits[:1])
    assert again["cells"][f"p|{ana}"]["status"] == "saved"
    with read_session() as session:
        rows = session.execute(sa.select(Participant.id, Participant.code, Participant.indigenous)).all()
    assert [(str(i), c, ind) for i, c, ind in rows] == [(ana, "P01", "yes")]


def test_a_malformed_batch_is_refused_with_a_message():
    for raw in ("not a list", [{"v": 1}], [1, 2]):
        with pytest.raises(Exception) as caught:
            entry.parse_edits(raw)
        assert caught.value.key == "entry.bad_batch"
    with pytest.raises(Exception) as caught:
        entry.parse_edits([{"c": f"s|x|{i}", "v": 1} for i in range(entry.MAX_CELLS + 1)])
    assert caught.value.key == "entry.too_many"
    assert json.dumps(entry.busy_answer("b", [], OperationalError("x", {}, Exception("locked")), "es"))
