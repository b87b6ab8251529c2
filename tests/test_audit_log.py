"""The audit trail: append-only in the database, written by every write path, browsable and exportable."""

from __future__ import annotations

import ast
import csv
import io
import json
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from assessments import accounts, clusters
from assessments.access import LOCAL_USER, Actor
from assessments.access_audit import AuditFilter, audit_count, audit_events, export_audit_csv, filter_options
from assessments.errors import PermissionDenied, ValidationFailed
from db.engine import get_engine, read_session, write_session
from db.models import AuditEvent

ROOT = Path(__file__).resolve().parent.parent


def events(**where) -> list[AuditEvent]:
    with read_session() as session:
        query = sa.select(AuditEvent).order_by(AuditEvent.at)
        for column, value in where.items():
            query = query.where(getattr(AuditEvent, column) == value)
        return list(session.execute(query).scalars())


def new_cluster(name="Lamas") -> tuple:
    data = clusters.ClusterInput(name=name, department_code="22", wave=1, sectors=["education"],
                                 government_ubigeos=["22", "2205", "220510"])
    with write_session() as session:
        cluster, _ = clusters.create_cluster(session=session, actor=LOCAL_USER, data=data)
    return cluster, data


def test_update_and_delete_of_audit_events_are_refused_by_the_database(db_url):
    new_cluster()
    before = len(events())
    assert before >= 1
    with pytest.raises(DBAPIError, match="append-only"), get_engine().begin() as connection:
        connection.execute(sa.update(AuditEvent).values(actor="someone-else"))
    with pytest.raises(DBAPIError, match="append-only"), get_engine().begin() as connection:
        connection.execute(sa.delete(AuditEvent))
    remaining = events()
    assert len(remaining) == before and {e.actor for e in remaining} == {"local"}


def test_truncate_is_refused_on_postgresql(db_url):
    if get_engine().dialect.name != "postgresql":
        pytest.skip("SQLite has no TRUNCATE; DELETE is refused above")
    with pytest.raises(DBAPIError, match="append-only"), get_engine().begin() as connection:
        connection.exec_driver_sql("TRUNCATE audit_event")


def test_a_cluster_edit_records_who_what_and_old_and_new_values(db_url):
    cluster, data = new_cluster()
    data.name = "Lamas (ajustado)"
    editor = Actor("rosa", "manager")
    with write_session() as session:
        clusters.update_cluster(session=session, actor=editor, cluster_id=cluster.id, data=data)
    update = [e for e in events(entity="cluster", entity_id=str(cluster.id)) if e.action == "update"][-1]
    assert (update.actor, update.actor_role) == ("rosa", "manager")
    assert json.loads(update.before_json)["name"] == "Lamas"
    assert json.loads(update.after_json)["name"] == "Lamas (ajustado)"
    assert update.at is not None and update.at.tzinfo is not None


def test_a_failed_write_leaves_no_audit_event(db_url):
    before = len(events())
    with pytest.raises(ValidationFailed), write_session() as session:
        clusters.create_cluster(session=session, actor=LOCAL_USER,
                                data=clusters.ClusterInput(name=" ", department_code="22", wave=1, sectors=["health"]))
    assert len(events()) == before


def test_login_logout_and_account_changes_are_in_the_trail(db_url):
    with write_session() as session:
        admin = accounts.create_first_admin(session=session, username="jefa", password="clave-segura-1")
    with write_session() as session:
        user = accounts.create_user(session=session, actor=admin, username="eva", password="clave-segura-1",
                                    role="evaluator")
    with write_session() as session:
        accounts.update_user(session=session, actor=admin, user_id=user.id, role="manager")
    with write_session() as session:
        accounts.authenticate(session=session, username="eva", password="mala-clave")
    with write_session() as session:
        actor = accounts.authenticate(session=session, username="eva", password="clave-segura-1").actor
    with write_session() as session:
        accounts.record_logout(session=session, actor=actor)
    trail = [(e.actor, e.action, e.entity) for e in events()]
    assert trail == [
        ("jefa", "create", "user_account"),
        ("jefa", "create", "user_account"),
        ("jefa", "update", "user_account"),
        ("eva", "login_failed", "user_account"),
        ("eva", "login", "user_account"),
        ("eva", "logout", "user_account"),
    ]
    role_change = events(action="update")[0]
    assert json.loads(role_change.before_json)["role"] == "evaluator"
    assert json.loads(role_change.after_json)["role"] == "manager"


def _write_functions():
    """Every public function in assessments/ and db/ with keyword-only ``session`` and ``actor``."""
    found = []
    for path in sorted((ROOT / "assessments").glob("*.py")) + sorted((ROOT / "db").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}

        def called(node):
            return {c.func.id if isinstance(c.func, ast.Name) else getattr(c.func, "attr", None)
                    for c in ast.walk(node) if isinstance(c, ast.Call)}

        for name, function in functions.items():
            keywords = [a.arg for a in function.args.kwonlyargs]
            if name.startswith("_") or "session" not in keywords or "actor" not in keywords:
                continue
            seen, todo, records = set(), [name], False
            while todo and not records:
                current = todo.pop()
                if current in seen or current not in functions:
                    continue
                seen.add(current)
                calls = called(functions[current])
                records = bool(calls & {"record", "record_many", "record_logout"})
                todo += [c for c in calls if c in functions]
            found.append((f"{path.relative_to(ROOT)}:{name}", records))
    return found


def test_every_write_service_records_an_audit_event():
    functions = _write_functions()
    assert len(functions) >= 10, "the scan found the write services"
    assert [name for name, records in functions if not records] == []


def test_browsing_filters_and_counts(db_url):
    new_cluster("Lamas")
    new_cluster("Otro")
    with write_session() as session:
        accounts.create_user(session=session, actor=Actor("jefa", "admin"), username="eva",
                             password="clave-segura-1", role="evaluator")
    assert audit_count(LOCAL_USER) == 3
    assert list(audit_events(LOCAL_USER, AuditFilter(entity="cluster"))["action"]) == ["create", "create"]
    assert list(audit_events(LOCAL_USER, AuditFilter(actor="jefa"))["entity"]) == ["user_account"]
    today = date.today()
    assert audit_count(LOCAL_USER, AuditFilter(date_from=today - timedelta(days=1), date_to=today + timedelta(days=1))) == 3
    assert audit_count(LOCAL_USER, AuditFilter(date_to=today - timedelta(days=1))) == 0
    newest_first = audit_events(LOCAL_USER)
    assert list(newest_first["at"]) == sorted(newest_first["at"], reverse=True)
    assert filter_options(LOCAL_USER) == {"actor": ["jefa", "local"], "action": ["create"],
                                          "entity": ["cluster", "user_account"]}
    with pytest.raises(ValidationFailed, match="access.audit_bad_dates"):
        audit_events(LOCAL_USER, AuditFilter(date_from=today, date_to=today - timedelta(days=2)))


@pytest.mark.parametrize("role", ["manager", "facilitator", "evaluator"])
def test_only_administrators_read_the_log(db_url, role):
    with pytest.raises(PermissionDenied):
        audit_events(Actor("x", role))


def test_export_is_a_csv_of_every_matching_event_and_is_itself_audited(db_url):
    new_cluster()
    headers = {"at": "Fecha", "actor": "Usuario", "action": "Acción", "entity": "Tipo", "entity_id": "Id",
               "actor_role": "Rol", "before_json": "Antes", "after_json": "Después", "reason": "Motivo"}
    with write_session() as session:
        content = export_audit_csv(session=session, actor=LOCAL_USER, filters=AuditFilter(entity="cluster"),
                                   headers=headers)
    assert content.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))
    assert [(r["Usuario"], r["Acción"], r["Tipo"]) for r in rows] == [("local", "create", "cluster")]
    assert json.loads(rows[0]["Después"])["name"] == "Lamas"
    export = events(action="export")
    assert len(export) == 1 and json.loads(export[0].after_json) == {"rows": 1, "filters": {"entity": "cluster"}}


def test_the_date_filter_counts_days_in_the_time_zone_the_times_are_shown_in(db_url, monkeypatch):
    from datetime import datetime, timezone

    monkeypatch.delenv("FOCAS_TIMEZONE", raising=False)
    with write_session() as session:  # 03:00 UTC on 3 May is 22:00 on 2 May in Lima
        session.add(AuditEvent(at=datetime(2026, 5, 3, 3, 0, tzinfo=timezone.utc), actor="ana", actor_role="admin",
                               action="create", entity="cluster"))
    assert audit_count(LOCAL_USER, AuditFilter(actor="ana", date_from=date(2026, 5, 2), date_to=date(2026, 5, 2))) == 1
    assert audit_count(LOCAL_USER, AuditFilter(actor="ana", date_from=date(2026, 5, 3))) == 0
