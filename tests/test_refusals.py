"""Honest refusals, audited: a facilitator outside their clusters is told the place is not theirs (a role
refusal keeps the role message); every refused attempt is in the audit log, written in a transaction of its
own (the refused work still is not), rate-limited, and shown to administrators with a translated label."""

from __future__ import annotations

import json
import uuid
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from assessments import access, entry, focas, qsip
from assessments.access import LOCAL_USER, Actor
from assessments.access_audit import AuditFilter, audit_events, label, labelled
from assessments.errors import PermissionDenied
from db.engine import read_session, run_write, write_session
from db.models import AuditEvent, Barrier, ClusterMember, ServiceAudit
from pages import ui

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def clusters(db_url):
    from db.demo import load_demo_clusters

    with write_session() as session:
        return {c.name: c.id for c in load_demo_clusters(session)}


@pytest.fixture
def audit_id(clusters):
    with write_session() as session:
        return qsip.create_audit(session=session, actor=LOCAL_USER, data=qsip.AuditInput(
            cluster_id=clusters["Lamas"], service_name="Acompañamiento pedagógico", sector="education",
            cycle_year=2013)).id


def outsider(clusters, name="ana") -> Actor:
    """A facilitator of Tambopata only."""
    return Actor(username=name, role="facilitator", cluster_ids=frozenset({clusters["Tambopata"]}))


def barrier(session, actor, audit_id, description="Personal insuficiente"):
    return qsip.add_barrier(session=session, actor=actor, audit_id=audit_id, data=qsip.BarrierInput(
        description=description, category="resources", government_level="regional"))


def refused_rows(**where) -> list[AuditEvent]:
    with read_session() as session:
        query = sa.select(AuditEvent).where(AuditEvent.action == "refused").order_by(AuditEvent.at)
        for column, value in where.items():
            query = query.where(getattr(AuditEvent, column) == value)
        return list(session.execute(query).scalars())


def barriers() -> int:
    with read_session() as session:
        return session.execute(sa.select(sa.func.count()).select_from(Barrier)).scalar_one()


# ---------------------------------------------------------------------------------------------- the message
def test_a_facilitator_outside_their_clusters_is_told_the_cluster_is_not_theirs(clusters, audit_id):
    with pytest.raises(PermissionDenied) as refused, write_session() as session:
        barrier(session, outsider(clusters), audit_id)
    assert refused.value.message("es") == (
        "«Lamas» no está entre sus clústeres: solo puede cambiar datos de los clústeres que le asignaron.")
    assert refused.value.message("en") == (
        "“Lamas” is not in your clusters: you may change data only in the clusters assigned to you.")
    assert "rol" not in refused.value.message("es")
    assert barriers() == 0


def test_a_focas_workshop_in_another_cluster_names_that_cluster(clusters):
    with read_session() as session:
        government_id = session.execute(sa.select(ClusterMember.government_id).where(
            ClusterMember.cluster_id == clusters["Lamas"])).scalars().first()
    with pytest.raises(PermissionDenied) as refused, write_session() as session:
        focas.start_assessment(session=session, actor=outsider(clusters), government_id=government_id,
                               cluster_id=clusters["Lamas"], round="baseline", workshop_date=date(2013, 5, 2))
    assert refused.value.message("es").startswith("«Lamas» no está entre sus clústeres")


def test_the_entry_surface_says_the_cluster_is_not_theirs(clusters, audit_id):
    edits = [entry.CellEdit(f"r|{uuid.uuid4()}", {"respondent_type": "user", "ratings": {"EFT-01": 4}})]
    answer = entry.run_batch(run_write, batch_id=uuid.uuid4(), edits=edits, lang="es", apply=lambda s: (
        entry.apply_questionnaire_batch(session=s, actor=outsider(clusters), audit_id=audit_id,
                                        batch_id=uuid.uuid4(), edits=edits)))
    [cell] = answer["cells"].values()
    assert cell["reason"] == entry.LOCKED and cell["message"].startswith("«Lamas» no está entre sus clústeres")
    assert [row.reason for row in refused_rows(actor="ana")] == ["audit.write"]


# ---------------------------------------------------------------------------------------------- the audit log
def test_a_refused_attempt_is_logged_in_its_own_transaction_and_the_refused_work_is_not(clusters, audit_id):
    with pytest.raises(PermissionDenied), write_session() as session:
        barrier(session, LOCAL_USER, audit_id, "Escrita antes del rechazo")  # allowed, in the same unit of work
        barrier(session, outsider(clusters), audit_id)
    assert barriers() == 0  # the whole unit was rolled back
    [row] = refused_rows()
    assert (row.actor, row.actor_role, row.action, row.entity, row.entity_id, row.reason) == (
        "ana", "facilitator", "refused", "access", str(clusters["Lamas"]), "audit.write")
    assert json.loads(row.after_json) == {"attempted": "audit.write", "cluster_id": str(clusters["Lamas"]),
                                          "why": "other_cluster"}


def test_a_role_refusal_keeps_the_role_message_and_is_logged_as_such(clusters, audit_id):
    with pytest.raises(PermissionDenied) as refused, write_session() as session:
        barrier(session, Actor(username="ed", role="evaluator"), audit_id)
    assert refused.value.key == "access.denied"
    assert refused.value.message("es") == "Su rol (evaluator) no permite esta acción (audit.write)."
    [row] = refused_rows()
    assert (row.actor, row.actor_role, row.reason) == ("ed", "evaluator", "audit.write")
    assert json.loads(row.after_json)["why"] == "role"


def test_probing_is_rate_limited(clusters, audit_id):
    ana = outsider(clusters)
    for _ in range(25):  # the same attempt again and again: one row a minute
        with pytest.raises(PermissionDenied), write_session() as session:
            barrier(session, ana, audit_id)
    assert len(refused_rows(actor="ana")) == 1
    # another process (or a restart) forgets what it counted: the database still holds the line
    access._last_by_key.clear()
    access._by_actor.clear()
    with pytest.raises(PermissionDenied), write_session() as session:
        barrier(session, ana, audit_id)
    assert len(refused_rows(actor="ana")) == 1
    # many different attempts: at most the cap per actor and minute
    for _ in range(3 * access.REFUSALS_PER_ACTOR_PER_MINUTE):
        with pytest.raises(PermissionDenied):
            access.require(ana, "audit.write", cluster_id=uuid.uuid4())
    assert len(refused_rows(actor="ana")) == access.REFUSALS_PER_ACTOR_PER_MINUTE
    # someone else is still logged
    with pytest.raises(PermissionDenied), write_session() as session:
        barrier(session, outsider(clusters, "beto"), audit_id)
    assert len(refused_rows(actor="beto")) == 1


def test_administrators_see_refusals_with_a_translated_label(clusters, audit_id):
    with pytest.raises(PermissionDenied), write_session() as session:
        barrier(session, outsider(clusters), audit_id)
    assert label("action", "refused", "es") == "Intento rechazado"
    assert label("action", "refused", "en") == "Refused attempt"
    events = audit_events(LOCAL_USER, AuditFilter(action="refused"))
    shown = labelled(events, "es")
    assert list(shown["action"]) == ["Intento rechazado"] and list(shown["entity"]) == ["Permiso"]
    assert list(shown["actor"]) == ["ana"]

    at = AppTest.from_file(str(ROOT / "pages" / "admin.py"), default_timeout=90)
    at.session_state["lang"] = "es"
    at.session_state[ui.ACTOR_KEY] = LOCAL_USER
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    action_filter = at.selectbox(key="audit.action")
    assert "Intento rechazado" in action_filter.options
    action_filter.set_value("refused").run()
    tables = [frame.value for frame in at.dataframe]
    assert any("Intento rechazado" in frame.to_string() and "ana" in frame.to_string() for frame in tables)


def test_a_refusal_outside_any_unit_of_work_is_logged_at_once(clusters):
    with pytest.raises(PermissionDenied):
        access.require(outsider(clusters), "audit.write", cluster_id=clusters["Lamas"])
    assert [row.entity_id for row in refused_rows()] == [str(clusters["Lamas"])]


def test_the_validated_state_of_an_audit_is_untouched_by_a_refused_attempt(clusters, audit_id):
    with pytest.raises(PermissionDenied), write_session() as session:
        qsip.validate_results(session=session, actor=outsider(clusters), audit_id=audit_id,
                              validated_on=date(2013, 11, 28), validated_by="Alguien")
    with read_session() as session:
        assert session.get(ServiceAudit, audit_id).validated_at is None
    assert [row.reason for row in refused_rows()] == ["audit.validate"]


def test_a_read_outside_the_facilitators_clusters_is_refused_and_logged(clusters, audit_id):
    from db.queries import scope

    with pytest.raises(PermissionDenied) as refused, read_session() as session:
        scope.require_audit(session, outsider(clusters), audit_id)
    assert refused.value.key == "read_scope.not_in_your_clusters.audit"
    [row] = refused_rows(actor="ana")
    assert (row.entity_id, row.reason) == (str(clusters["Lamas"]), "read.audit")
    with pytest.raises(PermissionDenied), read_session() as session:  # probing again within the minute: one row
        scope.require_audit(session, outsider(clusters), audit_id)
    assert len(refused_rows(actor="ana")) == 1
