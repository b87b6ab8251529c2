"""A validated QSIP audit is locked like a validated FOCAS assessment: every change needs a reason and is
audited with it; without one it is refused and nothing is stored (services, entry batches and the page)."""

from __future__ import annotations

import inspect
import json
import uuid
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from assessments import entry, qsip
from assessments.access import LOCAL_USER, Actor
from assessments.errors import ValidationFailed
from db.engine import read_session, write_session
from db.models import (
    AuditEvent,
    AuditStage,
    Barrier,
    FeedbackRating,
    ImprovementAction,
    Respondent,
    ServiceAudit,
)
from pages import ui

ROOT = Path(__file__).resolve().parent.parent
TODAY = date(2026, 6, 15)
REASON = "Corrección acordada con el comité de gestión"


@pytest.fixture
def clusters(db_url):
    from db.demo import load_demo_clusters

    with write_session() as session:
        return {c.name: c.id for c in load_demo_clusters(session)}


def _barrier(session, audit_id, description):
    return qsip.add_barrier(session=session, actor=LOCAL_USER, audit_id=audit_id, data=qsip.BarrierInput(
        description=description, category="resources", government_level="regional")).id


def _action(session, audit_id, barrier_id, description):
    return qsip.add_action(session=session, actor=LOCAL_USER, audit_id=audit_id, today=TODAY, data=qsip.ActionInput(
        barrier_id=barrier_id, description=description, deadline=TODAY + timedelta(days=30))).id


def _respondent(session, audit_id, code):
    return qsip.add_respondent(session=session, actor=LOCAL_USER, audit_id=audit_id, data=qsip.RespondentInput(
        respondent_type="user", code=code, ratings={"EFT-01": 4, "EFT-02": 3})).id


@pytest.fixture
def world(clusters):
    """An audit of Lamas with a questionnaire, barriers and actions, three rows removed (undoable), then validated."""
    ids: dict = {"cluster": clusters["Lamas"], "other_cluster": clusters["Tambopata"]}
    with write_session() as session:
        audit = qsip.create_audit(session=session, actor=LOCAL_USER, data=qsip.AuditInput(
            cluster_id=clusters["Lamas"], service_name="Acompañamiento pedagógico", sector="education",
            cycle_year=2013))
        ids["audit"] = audit.id
        ids["stage"] = session.execute(sa.select(AuditStage.id).where(
            AuditStage.audit_id == audit.id, AuditStage.number == 1)).scalar_one()
        ids["respondent"] = _respondent(session, audit.id, "U-01")
        ids["gone_respondent"] = _respondent(session, audit.id, "U-02")
        ids["barrier"] = _barrier(session, audit.id, "Personal insuficiente")
        ids["lone_barrier"] = _barrier(session, audit.id, "Horarios cortos")
        ids["gone_barrier"] = _barrier(session, audit.id, "Sin movilidad")
        ids["action"] = _action(session, audit.id, ids["barrier"], "Rotación de turnos")
        ids["gone_action"] = _action(session, audit.id, ids["barrier"], "Convenio con la UGEL")
    with write_session() as session:
        qsip.delete_respondent(session=session, actor=LOCAL_USER, respondent_id=ids["gone_respondent"])
        qsip.delete_barrier(session=session, actor=LOCAL_USER, barrier_id=ids["gone_barrier"])
        qsip.delete_action(session=session, actor=LOCAL_USER, action_id=ids["gone_action"])
    with write_session() as session:
        qsip.validate_results(session=session, actor=LOCAL_USER, audit_id=ids["audit"],
                              validated_on=date(2013, 11, 28), validated_by="Comité de gestión")
    return ids


def _batch(session, actor, ids, reason, edits):
    return entry.apply_questionnaire_batch(session=session, actor=actor, audit_id=ids["audit"],
                                           batch_id=uuid.uuid4(), edits=edits, reason=reason)


# Every write to an existing audit, by service name (entry batches under "entry.*"): the same call is made
# without a reason (refused) and with one (stored, audited with it).
CASES = {
    "update_stage": lambda s, a, ids, r: qsip.update_stage(
        session=s, actor=a, stage_id=ids["stage"], changes={"notes": "Reprogramada"}, reason=r),
    "apply_stage_rows": lambda s, a, ids, r: qsip.apply_stage_rows(
        session=s, actor=a, audit_id=ids["audit"], rows=[{"id": ids["stage"], "status": "in_progress"}], reason=r),
    "add_respondent": lambda s, a, ids, r: qsip.add_respondent(
        session=s, actor=a, audit_id=ids["audit"], reason=r,
        data=qsip.RespondentInput(respondent_type="provider", code="P-09", ratings={"COV-01": 5, "SAT-02": 2})),
    "delete_respondent": lambda s, a, ids, r: qsip.delete_respondent(
        session=s, actor=a, respondent_id=ids["respondent"], reason=r),
    "restore_respondent": lambda s, a, ids, r: qsip.restore_respondent(
        session=s, actor=a, respondent_id=ids["gone_respondent"], reason=r),
    "add_barrier": lambda s, a, ids, r: qsip.add_barrier(
        session=s, actor=a, audit_id=ids["audit"], reason=r, data=qsip.BarrierInput(
            description="Falta de intérpretes", category="information", government_level="district")),
    "update_barrier": lambda s, a, ids, r: qsip.update_barrier(
        session=s, actor=a, barrier_id=ids["barrier"], reason=r, data=qsip.BarrierInput(
            description="Personal insuficiente en los puestos", category="resources", government_level="regional")),
    "delete_barrier": lambda s, a, ids, r: qsip.delete_barrier(
        session=s, actor=a, barrier_id=ids["lone_barrier"], reason=r),
    "restore_barrier": lambda s, a, ids, r: qsip.restore_barrier(
        session=s, actor=a, barrier_id=ids["gone_barrier"], reason=r),
    "add_action": lambda s, a, ids, r: qsip.add_action(
        session=s, actor=a, audit_id=ids["audit"], today=TODAY, reason=r, data=qsip.ActionInput(
            barrier_id=ids["barrier"], description="Concurso de plazas", deadline=TODAY + timedelta(days=60))),
    "update_action": lambda s, a, ids, r: qsip.update_action(
        session=s, actor=a, action_id=ids["action"], today=TODAY, reason=r, data=qsip.ActionInput(
            barrier_id=ids["barrier"], description="Rotación de turnos", deadline=TODAY + timedelta(days=30),
            status="in_progress")),
    "delete_action": lambda s, a, ids, r: qsip.delete_action(session=s, actor=a, action_id=ids["action"], reason=r),
    "restore_action": lambda s, a, ids, r: qsip.restore_action(
        session=s, actor=a, action_id=ids["gone_action"], today=TODAY, reason=r),
    "validate_results": lambda s, a, ids, r: qsip.validate_results(
        session=s, actor=a, audit_id=ids["audit"], validated_on=date(2013, 12, 2), validated_by="Comité ampliado",
        today=TODAY, reason=r),
    # the entry surface: a questionnaire typed in, a rating corrected in the grid
    "entry.questionnaire": lambda s, a, ids, r: _batch(s, a, ids, r, [entry.CellEdit(
        f"r|{uuid.uuid4()}", {"respondent_type": "manager", "code": "G-01", "ratings": {"EFT-03": 4}})]),
    "entry.rating_correction": lambda s, a, ids, r: _batch(s, a, ids, r, [entry.CellEdit(
        f"q|{ids['respondent']}|EFT-01", 2, 4)]),
}


def picture() -> dict:
    """Everything a QSIP write can change, and the audit log."""
    with read_session() as session:
        def rows(model):
            return sorted(json.dumps(r.model_dump(), default=str, sort_keys=True)
                          for r in session.execute(sa.select(model)).scalars())
        return {model.__name__: rows(model) for model in
                (ServiceAudit, AuditStage, Respondent, FeedbackRating, Barrier, ImprovementAction, AuditEvent)}


def events_since(count: int) -> list[AuditEvent]:
    with read_session() as session:
        return list(session.execute(sa.select(AuditEvent).order_by(AuditEvent.at)).scalars())[count:]


def test_every_write_service_is_locked_or_only_opens_a_new_audit():
    """Enumerates assessments/qsip.py: a write service (session + actor) is in exactly one list, and each
    locked one takes a reason and has a case here."""
    writes = {name for name, fn in inspect.getmembers(qsip, inspect.isfunction)
              if fn.__module__ == qsip.__name__ and not name.startswith("_")
              and {"session", "actor"} <= set(inspect.signature(fn).parameters)}
    # require_change is the lock itself, not a write
    assert writes - {"require_change"} == set(qsip.LOCKED_WRITES) | set(qsip.UNLOCKED_WRITES)
    assert not set(qsip.LOCKED_WRITES) & set(qsip.UNLOCKED_WRITES)
    for name in qsip.LOCKED_WRITES:
        assert "reason" in inspect.signature(getattr(qsip, name)).parameters, name
    assert set(qsip.LOCKED_WRITES) <= set(CASES)
    assert "reason" in inspect.signature(entry.apply_questionnaire_batch).parameters


@pytest.mark.parametrize("reason", [None, "", "   "])
@pytest.mark.parametrize("name", sorted(CASES))
def test_without_a_reason_a_validated_audit_refuses_and_stores_nothing(world, name, reason):
    before = picture()
    with pytest.raises(ValidationFailed) as refused, write_session() as session:
        CASES[name](session, LOCAL_USER, world, reason)
    assert refused.value.key == "qsip_lock.reason_required"
    assert refused.value.message("es").startswith("Esta auditoría (Acompañamiento pedagógico, 2013) está validada")
    assert refused.value.message("en").startswith("This audit (Acompañamiento pedagógico, 2013) is validated")
    assert picture() == before


@pytest.mark.parametrize("name", sorted(CASES))
def test_with_a_reason_the_change_is_stored_and_audited_with_it(world, name):
    before = picture()
    with write_session() as session:
        result = CASES[name](session, LOCAL_USER, world, f"  {REASON}  ")
    if name.startswith("entry."):
        assert [cell["status"] for cell in result["cells"].values()] == [entry.SAVED], result
    after = picture()
    changed = [table for table in after if table != "AuditEvent" and after[table] != before[table]]
    assert changed, "the change was not stored"
    new = events_since(len(before["AuditEvent"]))
    assert new and {event.reason for event in new} == {REASON}
    assert {event.actor for event in new} == {"local"}


def test_a_facilitator_of_the_cluster_also_needs_the_reason(world):
    facilitator = Actor(username="eva", role="facilitator", cluster_ids=frozenset({world["cluster"]}))
    with pytest.raises(ValidationFailed, match="qsip_lock.reason_required"), write_session() as session:
        CASES["add_barrier"](session, facilitator, world, None)
    with write_session() as session:
        CASES["add_barrier"](session, facilitator, world, REASON)
    with read_session() as session:
        event = session.execute(sa.select(AuditEvent).where(AuditEvent.actor == "eva")).scalar_one()
    assert (event.action, event.entity, event.reason) == ("create", "barrier", REASON)


def test_only_validation_locks_an_audit_and_the_next_cycle_is_open(clusters):
    with write_session() as session:
        audit = qsip.create_audit(session=session, actor=LOCAL_USER, data=qsip.AuditInput(
            cluster_id=clusters["Lamas"], service_name="Escuelas", sector="education", cycle_year=2013))
        _barrier(session, audit.id, "Aulas sin techo")  # a draft takes changes without a reason
        qsip.validate_results(session=session, actor=LOCAL_USER, audit_id=audit.id, validated_on=date(2013, 11, 28),
                              validated_by="Comité")  # the first validation needs none either
    with pytest.raises(ValidationFailed, match="qsip_lock.reason_required"), write_session() as session:
        _barrier(session, audit.id, "Sin agua")
    with write_session() as session:  # the next cycle is a new audit: open, its own changes need no reason
        new = qsip.start_next_cycle(session=session, actor=LOCAL_USER, audit_id=audit.id, cycle_year=2014)
        _barrier(session, new.id, "Sin agua")
    with read_session() as session:
        where = sa.select(Barrier.audit_id, Barrier.description).order_by(Barrier.created_at)
        assert session.execute(where).all() == [(audit.id, "Aulas sin techo"), (new.id, "Aulas sin techo"),
                                                (new.id, "Sin agua")]


def test_a_reason_with_control_characters_or_too_long_is_refused(world):
    before = picture()
    for bad in ("motivo\x00", "x" * (qsip.REASON_LIMIT + 1)):
        with pytest.raises(ValidationFailed), write_session() as session:
            CASES["add_barrier"](session, LOCAL_USER, world, bad)
    assert picture() == before


def test_the_entry_surface_answers_a_locked_batch_with_the_translated_reason_and_keeps_nothing(world):
    from db.engine import run_write

    edits = [entry.CellEdit(f"r|{uuid.uuid4()}", {"respondent_type": "user", "ratings": {"EFT-01": 5}})]
    before = picture()
    answer = entry.run_batch(run_write, batch_id=uuid.uuid4(), edits=edits, lang="en",
                             apply=lambda s: _batch(s, LOCAL_USER, world, None, edits))
    [cell] = answer["cells"].values()
    assert cell["status"] == entry.REFUSED and cell["reason"] == entry.LOCKED
    assert cell["message"].startswith("This audit (Acompañamiento pedagógico, 2013) is validated")
    assert picture() == before


# ---------------------------------------------------------------------------------------------- the page
PAGE = str(ROOT / "pages" / "qsip.py")


def open_page(**state) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=90)
    at.session_state["lang"] = "es"
    at.session_state[ui.ACTOR_KEY] = LOCAL_USER
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_the_page_asks_for_the_reason_keeps_what_was_typed_and_saves_with_it(world):
    at = open_page(**{"qsip.cluster_value": world["cluster"]})
    reason_key = f"qsip_lock.reason.barriers.{world['audit']}"
    assert at.text_input(key=reason_key).label == "Motivo del cambio (auditoría validada)"
    assert any(i.value.startswith("Auditoría validada: para cambiarla escriba el motivo") for i in at.info)
    description = [a for a in at.text_area if a.label == "Descripción de la barrera"][0]
    description.set_value("Falta de intérpretes en awajún")
    [s for s in at.selectbox if s.label == "Categoría"][0].set_value("information")
    [s for s in at.selectbox if s.label == "Nivel de gobierno involucrado"][0].set_value("district")
    next(b for b in at.button if b.label == "Registrar barrera").click().run()
    assert [e.value for e in at.error] == [
        "Esta auditoría (Acompañamiento pedagógico, 2013) está validada: cada cambio necesita un motivo. "
        "Escríbalo en «Motivo del cambio», al inicio de la pestaña, y guarde de nuevo; no se guardó nada."]
    # the typing stays
    assert [a for a in at.text_area if a.label == "Descripción de la barrera"][0].value == "Falta de intérpretes en awajún"
    with read_session() as session:
        assert not session.execute(sa.select(Barrier).where(Barrier.description.like("Falta%"))).first()

    at.text_input(key=reason_key).set_value(REASON).run()
    next(b for b in at.button if b.label == "Registrar barrera").click().run()
    assert not at.error, [e.value for e in at.error]
    with read_session() as session:
        barrier = session.execute(sa.select(Barrier).where(Barrier.description.like("Falta%"))).scalar_one()
        event = session.execute(sa.select(AuditEvent).where(AuditEvent.entity_id == str(barrier.id))).scalar_one()
    assert event.reason == REASON

    # the next cycle, not validated, has no reason field
    next(b for b in at.button if b.label == "Abrir el siguiente ciclo").click().run()
    assert not at.exception
    assert not [t for t in at.text_input if t.key and t.key.startswith("qsip_lock.reason")]


# ---------------------------------------------------------------------------------------------- QSIP texts
@pytest.mark.parametrize(("name", "call"), [
    ("service name with NUL", lambda s, ids: qsip.create_audit(session=s, actor=LOCAL_USER, data=qsip.AuditInput(
        cluster_id=ids["cluster"], service_name="Escuelas\x00", sector="education", cycle_year=2015))),
    ("notes too long", lambda s, ids: qsip.create_audit(session=s, actor=LOCAL_USER, data=qsip.AuditInput(
        cluster_id=ids["cluster"], service_name="Escuelas", sector="education", cycle_year=2015, notes="n" * 2001))),
    ("barrier too long", lambda s, ids: qsip.add_barrier(
        session=s, actor=LOCAL_USER, audit_id=ids["audit"], reason=REASON, data=qsip.BarrierInput(
            description="b" * 1001, category="other", government_level="district"))),
    ("action evidence with a direction override", lambda s, ids: qsip.add_action(
        session=s, actor=LOCAL_USER, audit_id=ids["audit"], today=TODAY, reason=REASON, data=qsip.ActionInput(
            barrier_id=ids["barrier"], description="Concurso", deadline=TODAY + timedelta(days=9),
            evidence="acta \u202efdp.exe"))),
    ("respondent locality with a control character", lambda s, ids: qsip.add_respondent(
        session=s, actor=LOCAL_USER, audit_id=ids["audit"], reason=REASON, data=qsip.RespondentInput(
            respondent_type="user", locality="Yurimaguas\x07", ratings={"EFT-01": 3}))),
])
def test_qsip_texts_have_limits_and_refuse_control_characters(world, name, call):
    before = picture()
    with pytest.raises(ValidationFailed) as refused, write_session() as session:
        call(session, world)
    assert refused.value.key.startswith("text_limits."), name
    assert picture() == before
