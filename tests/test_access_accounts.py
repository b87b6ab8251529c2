"""Accounts: argon2 hashes, login and lockout, the first administrator, demo accounts, expiry."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from assessments import accounts
from assessments.access import LOCAL_USER, Actor
from assessments.errors import Conflict, PermissionDenied, ValidationFailed
from db.demo import load_demo
from db.engine import read_session, write_session
from db.models import AppMeta, AuditEvent, Cluster, UserAccount


def make_user(username="ana", password="clave-segura-1", role="evaluator", **kwargs) -> UserAccount:
    with write_session() as session:
        return accounts.create_user(session=session, actor=LOCAL_USER, username=username, password=password,
                                    role=role, **kwargs)


def login(username, password, now=None) -> accounts.LoginResult:
    with write_session() as session:
        return accounts.authenticate(session=session, username=username, password=password, now=now)


def audit_rows(action=None) -> list[AuditEvent]:
    with read_session() as session:
        query = sa.select(AuditEvent).order_by(AuditEvent.at)
        if action:
            query = query.where(AuditEvent.action == action)
        return list(session.execute(query).scalars())


def test_password_is_stored_as_argon2id_and_never_in_clear_or_in_the_audit_trail(db_url):
    user = make_user(password="mi-clave-secreta")
    with read_session() as session:
        stored = session.get(UserAccount, user.id).password_hash
    assert stored.startswith("$argon2id$")
    assert "mi-clave-secreta" not in stored
    trail = " ".join(f"{e.before_json} {e.after_json} {e.reason}" for e in audit_rows())
    assert "mi-clave-secreta" not in trail and "$argon2" not in trail
    created = json.loads(audit_rows("create")[-1].after_json)
    assert created["username"] == "ana" and created["role"] == "evaluator" and "password_hash" not in created


def test_login_with_the_right_password_returns_the_actor_and_is_audited(db_url):
    make_user(username="ana", password="clave-segura-1", role="manager", full_name="Ana Quispe")
    result = login("  ANA ", "clave-segura-1")
    assert result.error_key is None
    assert (result.actor.username, result.actor.role, result.actor.full_name) == ("ana", "manager", "Ana Quispe")
    assert [e.actor for e in audit_rows("login")] == ["ana"]


@pytest.mark.parametrize("username,password", [("ana", "wrong-password"), ("nobody", "clave-segura-1"), ("", "")])
def test_wrong_password_or_unknown_user_gets_the_same_refusal(db_url, username, password):
    make_user()
    result = login(username, password)
    assert result.actor is None and result.error_key == "access.login_failed"
    assert len(audit_rows("login_failed")) == 1


def test_unknown_user_costs_about_as_much_time_as_a_wrong_password(db_url):
    make_user()

    def timed(name):
        start = time.perf_counter()
        login(name, "wrong-password")
        return time.perf_counter() - start

    known = min(timed("ana") for _ in range(3))
    unknown = min(timed("nobody") for _ in range(3))
    # both verify an argon2 hash (tens of ms); a shortcut for unknown users would be ~100x faster
    assert unknown > known * 0.5


def test_five_failures_lock_the_account_even_for_the_right_password_then_it_unlocks(db_url):
    make_user()
    now = datetime.now(timezone.utc)
    for _ in range(accounts.MAX_FAILED_LOGINS):
        assert login("ana", "wrong-password", now=now).error_key == "access.login_failed"
    locked = login("ana", "clave-segura-1", now=now)
    # refused with the very answer a wrong password or an unknown name gets (tests/test_login_abuse.py)
    assert locked.actor is None and locked.error_key == "access.login_failed"
    assert audit_rows("login_failed")[-1].reason == "locked"
    later = now + accounts.LOCKOUT + timedelta(seconds=1)
    assert login("ana", "clave-segura-1", now=later).actor is not None


def test_a_successful_login_resets_the_failure_count(db_url):
    make_user()
    for _ in range(accounts.MAX_FAILED_LOGINS - 1):
        login("ana", "wrong-password")
    assert login("ana", "clave-segura-1").actor is not None
    for _ in range(accounts.MAX_FAILED_LOGINS - 1):
        login("ana", "wrong-password")
    assert login("ana", "clave-segura-1").actor is not None


def test_a_deactivated_account_cannot_log_in_and_its_session_ends(db_url):
    user = make_user()
    actor = login("ana", "clave-segura-1").actor
    with write_session() as session:
        accounts.update_user(session=session, actor=LOCAL_USER, user_id=user.id, active=False)
    assert login("ana", "clave-segura-1").actor is None
    assert accounts.refresh_actor(actor) is None


def test_facilitator_actor_carries_exactly_the_assigned_clusters(db_url):
    load_demo()
    with read_session() as session:
        ids = list(session.execute(sa.select(Cluster.id).order_by(Cluster.name)).scalars())
    user = make_user(username="fabi", role="facilitator", cluster_ids=ids[:3])
    assert login("fabi", "clave-segura-1").actor.cluster_ids == frozenset(ids[:3])
    with write_session() as session:
        accounts.update_user(session=session, actor=LOCAL_USER, user_id=user.id, cluster_ids=[ids[4]])
    actor = login("fabi", "clave-segura-1").actor
    assert actor.cluster_ids == frozenset({ids[4]})
    assert accounts.refresh_actor(actor).cluster_ids == frozenset({ids[4]})


def test_a_non_facilitator_keeps_no_clusters(db_url):
    load_demo()
    with read_session() as session:
        first = session.execute(sa.select(Cluster.id)).scalars().first()
    make_user(role="manager", cluster_ids=[first])
    assert login("ana", "clave-segura-1").actor.cluster_ids == frozenset()


@pytest.mark.parametrize("username,password,key", [
    ("a", "clave-segura-1", "access.bad_username"),
    ("ana maría", "clave-segura-1", "access.bad_username"),
    ("<script>", "clave-segura-1", "access.bad_username"),
    ("ana", "corta", "access.password_too_short"),
    ("anamaria1", "AnaMaria1", "access.password_is_username"),
])
def test_bad_usernames_and_passwords_are_refused_and_nothing_is_saved(db_url, username, password, key):
    with pytest.raises(ValidationFailed) as refused:
        make_user(username=username, password=password)
    assert refused.value.key == key
    with read_session() as session:
        assert session.execute(sa.select(sa.func.count()).select_from(UserAccount)).scalar_one() == 0


def test_usernames_are_unique(db_url):
    make_user()
    with pytest.raises(ValidationFailed, match="access.username_taken"):
        make_user(username="Ana")


def test_the_last_active_administrator_cannot_be_removed(db_url):
    with write_session() as session:
        admin = accounts.create_first_admin(session=session, username="jefa", password="clave-segura-1")
    with pytest.raises(ValidationFailed, match="access.last_admin"), write_session() as session:
        accounts.update_user(session=session, actor=admin, user_id=admin.user_id, active=False)
    make_user(username="otra", role="admin")
    with write_session() as session:
        accounts.update_user(session=session, actor=admin, user_id=admin.user_id, role="manager")
    assert login("jefa", "clave-segura-1").actor.role == "manager"


def test_first_admin_only_once(db_url):
    assert accounts.login_mode() == "first_admin"
    with write_session() as session:
        admin = accounts.create_first_admin(session=session, username="jefa", password="clave-segura-1",
                                            full_name="Jefa de programa")
    assert admin.role == "admin" and admin.user_id is not None
    assert accounts.login_mode() == "login"
    with pytest.raises(Conflict, match="access.first_admin_exists"), write_session() as session:
        accounts.create_first_admin(session=session, username="intrusa", password="clave-segura-1")
    with read_session() as session:
        assert list(session.execute(sa.select(UserAccount.username)).scalars()) == ["jefa"]


def test_only_an_administrator_manages_accounts(db_url):
    user = make_user()
    for role in ("manager", "facilitator", "evaluator"):
        someone = Actor(username="x", role=role)
        with pytest.raises(PermissionDenied), write_session() as session:
            accounts.create_user(session=session, actor=someone, username="nueva", password="clave-segura-1",
                                 role="admin")
        with pytest.raises(PermissionDenied), write_session() as session:
            accounts.set_password(session=session, actor=someone, user_id=user.id, password="otra-clave-123")
        with pytest.raises(PermissionDenied), write_session() as session:
            accounts.update_user(session=session, actor=someone, user_id=user.id, role="admin")
    assert login("ana", "clave-segura-1").actor.role == "evaluator"


def test_admin_password_reset_and_own_password_change(db_url):
    user = make_user()
    with write_session() as session:
        accounts.set_password(session=session, actor=LOCAL_USER, user_id=user.id, password="nueva-clave-22")
    assert login("ana", "clave-segura-1").actor is None
    actor = login("ana", "nueva-clave-22").actor
    with pytest.raises(ValidationFailed, match="access.wrong_current_password"), write_session() as session:
        accounts.change_own_password(session=session, actor=actor, current="mala", new="otra-clave-33")
    with write_session() as session:
        accounts.change_own_password(session=session, actor=actor, current="nueva-clave-22", new="otra-clave-33")
    assert login("ana", "otra-clave-33").actor is not None


def test_demo_accounts_log_in_on_the_demo_database_only(db_url):
    load_demo()  # the demo steps, without marking the database as the demo database
    assert accounts.login_mode() == "first_admin"
    refused = login("evaluator", "demo-evaluator")
    assert refused.actor is None and refused.error_key == "access.login_failed"
    assert audit_rows("login_failed")[-1].reason == "demo_account_on_real_database"
    with write_session() as session:
        session.merge(AppMeta(key="demo_database", value="1"))
    assert accounts.login_mode() == "login"
    roles = {}
    from db.demo_accounts import DEMO_ACCOUNTS

    for username, password, role, _ in DEMO_ACCOUNTS:
        roles[username] = login(username, password).actor.role
    assert roles == {"admin": "admin", "manager": "manager", "facilitator": "facilitator", "evaluator": "evaluator"}
    assert len(login("facilitator", "demo-facilitator").actor.cluster_ids) == 2


def test_auth_off_opens_only_a_database_without_real_accounts(db_url, monkeypatch):
    monkeypatch.setenv("FOCAS_AUTH", "off")
    assert accounts.login_mode() == "open"
    make_user()
    assert accounts.login_mode() == "login"


@pytest.mark.parametrize("idle_minutes,expired", [(0, False), (59, False), (61, True)])
def test_session_expires_after_inactivity(idle_minutes, expired):
    now = datetime(2026, 5, 1, 12, 0, tzinfo=timezone.utc)
    assert accounts.session_expired(now - timedelta(minutes=idle_minutes), now, 60) is expired
    assert accounts.session_expired(None, now, 60) is True


def test_single_sign_on_maps_the_email_to_an_active_account(db_url):
    make_user(username="rosa.quispe@mef.gob.pe", role="manager")
    with write_session() as session:
        result = accounts.login_sso(session=session, email="Rosa.Quispe@mef.gob.pe")
    assert result.actor.role == "manager"
    with write_session() as session:
        refused = accounts.login_sso(session=session, email="otra@mef.gob.pe")
    assert refused.actor is None and refused.error_key == "access.sso_no_account"
    assert [e.reason for e in audit_rows("login")] == ["sso"]
