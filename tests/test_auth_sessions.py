"""Saved logins: a reload or a server restart keeps a user signed in, safely (assessments/auth_sessions.py)."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from assessments import accounts, auth_sessions
from assessments.access import LOCAL_USER
from db.engine import read_session, write_session
from db.models import AppMeta, AuditEvent, AuthSession
from pages import _access_gate as gate

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 60


def make_user(username="fabi", password="clave-segura-1", role="facilitator", **kwargs):
    with write_session() as session:
        return accounts.create_user(session=session, actor=LOCAL_USER, username=username, password=password,
                                    role=role, **kwargs)


def log_in(username="fabi", password="clave-segura-1", now=None):
    """A password login as pages/login.py does it: the login and its saved login in one transaction."""
    with write_session() as session:
        result = accounts.authenticate(session=session, username=username, password=password, now=now)
        assert result.actor is not None, result.error_key
        return result.actor, auth_sessions.issue(session=session, account=result.actor, user_agent="Test/1.0", now=now)


def resume(token, now=None):
    with write_session() as session:
        return auth_sessions.resume(session=session, token=token, timeout_minutes=TIMEOUT, now=now)


def saved_row(session_id) -> AuthSession:
    with read_session() as session:
        return session.get(AuthSession, session_id)


def audit(action=None) -> list[AuditEvent]:
    with read_session() as session:
        query = sa.select(AuditEvent).order_by(AuditEvent.at)
        if action:
            query = query.where(AuditEvent.action == action)
        return list(session.execute(query).scalars())


def tamper(token: str) -> str:
    return ("A" if token[0] != "A" else "B") + token[1:]


# ---------------------------------------------------------------------------------------------
# The service


def test_the_database_keeps_only_the_sha256_of_the_token(db_url):
    make_user()
    _, saved = log_in()
    assert len(saved.token) == 43  # secrets.token_urlsafe(32)
    row = saved_row(saved.id)
    assert row.token_hash == hashlib.sha256(saved.token.encode()).hexdigest()
    assert row.user_agent == "Test/1.0" and row.revoked_at is None
    assert row.expires_at - row.created_at == auth_sessions.ABSOLUTE_LIFETIME
    with read_session() as session:
        every_value = " ".join(str(v) for r in session.execute(sa.select(AuthSession)).all() for v in r[0].__dict__.values())
        trail = " ".join(f"{e.before_json} {e.after_json} {e.reason}" for e in audit())
    assert saved.token not in every_value and saved.token not in trail


def test_a_valid_token_resumes_the_login_and_is_audited_once_without_the_token(db_url):
    make_user(full_name="Fabiola Ríos")
    actor, saved = log_in()
    later = datetime.now(timezone.utc) + timedelta(minutes=30)
    result = resume(saved.token, now=later)
    assert result.refused is None and result.session_id == saved.id
    assert (result.actor.username, result.actor.role, result.actor.full_name) == ("fabi", "facilitator", "Fabiola Ríos")
    assert result.actor.user_id == actor.user_id
    assert saved_row(saved.id).last_seen_at == later
    resumed = [e for e in audit("login") if e.reason == "resume"]
    assert len(resumed) == 1 and resumed[0].actor == "fabi"
    assert saved.token not in f"{resumed[0].before_json} {resumed[0].after_json}"


@pytest.mark.parametrize("make_token", [
    tamper,                                   # one character changed
    lambda t: t + "x",                        # longer
    lambda t: t[:-1],                         # shorter
    lambda t: "' OR 1=1 --" + t[11:],         # not URL-safe base64
    lambda t: hashlib.sha256(t.encode()).hexdigest(),  # the stored hash itself is not a token
    lambda t: "",
    lambda t: None,
])
def test_a_tampered_or_unknown_token_is_refused_and_nothing_is_recorded(db_url, make_token):
    make_user()
    _, saved = log_in()
    events_before = len(audit())
    result = resume(make_token(saved.token))
    assert result.actor is None and result.refused == "unknown"
    assert len(audit()) == events_before
    assert resume(saved.token).actor is not None  # the real one still works


def test_an_idle_token_expires_and_is_revoked(db_url):
    make_user()
    start = datetime.now(timezone.utc)
    _, saved = log_in(now=start)
    idle = start + timedelta(minutes=TIMEOUT, seconds=1)
    assert resume(saved.token, now=idle).refused == "expired"
    assert saved_row(saved.id).revoked_reason == "expired"
    assert resume(saved.token, now=start + timedelta(minutes=1)).refused == "revoked"  # never again


def test_activity_moves_the_idle_limit_but_not_the_absolute_lifetime(db_url):
    make_user()
    start = datetime.now(timezone.utc)
    _, saved = log_in(now=start)
    moment = start
    while moment + timedelta(minutes=50) < start + auth_sessions.ABSOLUTE_LIFETIME:
        moment += timedelta(minutes=50)
        assert resume(saved.token, now=moment).actor is not None
    assert resume(saved.token, now=start + auth_sessions.ABSOLUTE_LIFETIME).refused == "expired"


def test_logout_revokes_the_token(db_url):
    make_user()
    _, saved = log_in()
    with write_session() as session:
        auth_sessions.revoke(session=session, session_id=saved.id, reason="logout")
    assert resume(saved.token).refused == "revoked"
    assert auth_sessions.state(saved.id) == auth_sessions.SessionState(False, saved_row(saved.id).last_seen_at,
                                                                       "logout")


def test_deactivating_an_account_revokes_all_its_saved_logins_for_good(db_url):
    user = make_user()
    other = make_user("otra", role="evaluator")
    _, first = log_in()
    _, second = log_in()
    _, theirs = log_in("otra")
    with write_session() as session:
        accounts.update_user(session=session, actor=LOCAL_USER, user_id=user.id, active=False)
    assert [saved_row(s.id).revoked_reason for s in (first, second)] == ["deactivated", "deactivated"]
    assert resume(first.token).refused == "revoked"
    with write_session() as session:
        accounts.update_user(session=session, actor=LOCAL_USER, user_id=user.id, active=True)
    assert resume(second.token).refused == "revoked"  # reactivation does not bring old cookies back
    assert resume(theirs.token).actor.username == other.username


def test_an_admin_password_reset_revokes_the_accounts_saved_logins(db_url):
    user = make_user()
    _, saved = log_in()
    with write_session() as session:
        accounts.set_password(session=session, actor=LOCAL_USER, user_id=user.id, password="nueva-clave-22")
    assert saved_row(saved.id).revoked_reason == "password_reset"
    assert resume(saved.token).refused == "revoked"
    assert auth_sessions.state(saved.id).valid is False


def test_changing_ones_own_password_logs_out_the_other_browsers_but_not_this_one(db_url):
    make_user()
    actor, here = log_in()
    _, laptop = log_in()
    _, phone = log_in()
    with write_session() as session:
        accounts.change_own_password(session=session, actor=actor, current="clave-segura-1", new="otra-clave-33",
                                     keep_saved_login=here.id)
    assert resume(here.token).actor is not None
    for other in (laptop, phone):
        assert saved_row(other.id).revoked_reason == "own_password"
        assert resume(other.token).refused == "revoked"


def test_a_resumed_login_carries_the_role_and_clusters_of_now(db_url):
    from db.demo import load_demo

    load_demo()
    with read_session() as session:
        from db.models import Cluster

        cluster_ids = list(session.execute(sa.select(Cluster.id).order_by(Cluster.name)).scalars())
    user = make_user(cluster_ids=cluster_ids[:1])
    actor, saved = log_in()
    assert len(actor.cluster_ids) == 1
    with write_session() as session:
        accounts.update_user(session=session, actor=LOCAL_USER, user_id=user.id, cluster_ids=cluster_ids[:3])
    assert len(resume(saved.token).actor.cluster_ids) == 3
    with write_session() as session:
        accounts.update_user(session=session, actor=LOCAL_USER, user_id=user.id, role="evaluator")
    resumed = resume(saved.token).actor
    assert resumed.role == "evaluator" and resumed.cluster_ids == frozenset()


def test_a_demo_accounts_token_opens_only_the_demo_database(db_url):
    from db.demo import load_demo

    load_demo()
    with write_session() as session:
        session.merge(AppMeta(key="demo_database", value="1"))
    _, saved = log_in("facilitator", "demo-facilitator")
    with write_session() as session:
        session.merge(AppMeta(key="demo_database", value="0"))
    assert resume(saved.token).refused == "inactive"
    assert saved_row(saved.id).revoked_reason == "inactive"


def test_a_resumed_login_does_not_reset_the_failed_password_count(db_url):
    make_user()
    _, saved = log_in()
    for _ in range(accounts.MAX_FAILED_LOGINS - 1):
        with write_session() as session:
            accounts.authenticate(session=session, username="fabi", password="adivinanza")
    assert resume(saved.token).actor is not None  # the owner reloads the page meanwhile
    with write_session() as session:
        accounts.authenticate(session=session, username="fabi", password="adivinanza")
    with write_session() as session:
        locked = accounts.authenticate(session=session, username="fabi", password="clave-segura-1")
    assert locked.actor is None and locked.error_key == "access.login_failed"  # the right password, refused


def test_state_and_touch_keep_a_live_session_honest(db_url):
    make_user()
    start = datetime.now(timezone.utc)
    _, saved = log_in(now=start)
    assert auth_sessions.state(saved.id, now=start) == auth_sessions.SessionState(True, start)
    with write_session() as session:
        auth_sessions.touch(session=session, session_id=saved.id, now=start + timedelta(minutes=5))
    assert auth_sessions.state(saved.id).last_seen_at == start + timedelta(minutes=5)
    assert auth_sessions.state(saved.id, now=start + auth_sessions.ABSOLUTE_LIFETIME).valid is False


def test_a_saved_login_needs_an_account():
    with pytest.raises(ValueError):
        auth_sessions.issue(session=None, account=LOCAL_USER)


# ---------------------------------------------------------------------------------------------
# The gate under AppTest (AppTest cannot send cookies: the cookie the browser sent is patched in)


def dashboard(lang="en") -> AppTest:
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    at.session_state["lang"] = lang
    return at


def browser_sends(monkeypatch, token):
    monkeypatch.setattr(gate, "saved_token", lambda: token)


LOGIN_TITLE = "Log in to FOCAS · QSIP"


def test_a_password_login_puts_a_fresh_token_in_the_cookie(db_url, monkeypatch):
    make_user("jefa", role="admin")
    browser_sends(monkeypatch, None)
    at = dashboard()
    at.run()
    assert at.title[0].value == LOGIN_TITLE
    assert "This browser keeps you logged in, also across page reloads, until you log out or after 60 minutes" \
        " without use. On a shared computer, log out when you are done." in [c.value for c in at.caption]
    at.text_input(key="login.username").set_value("jefa")
    at.text_input(key="login.password").set_value("clave-segura-1")
    [b for b in at.button if b.label == "Log in"][0].click().run()
    assert not at.exception
    cookie = at.session_state[gate.COOKIE_KEY]
    assert cookie["action"] == "set" and cookie["name"] == "focas_session" and cookie["max_age"] == 60 * 60
    row = saved_row(at.session_state[gate.SAVED_ID_KEY])
    assert row.token_hash == auth_sessions.hash_token(cookie["token"]) and row.revoked_at is None


def test_a_new_browser_session_with_a_valid_cookie_skips_the_login_page(db_url, monkeypatch):
    make_user("jefa", role="admin", full_name="Jefa de programa")
    _, saved = log_in("jefa")
    browser_sends(monkeypatch, saved.token)
    at = dashboard()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Programme overview"
    assert "Log out" in [b.label for b in at.sidebar.button]
    assert at.session_state["actor"].username == "jefa"
    assert [e.reason for e in audit("login")] == [None, "resume"]
    at.run()  # more runs of the same browser session: no second "resume" event
    assert [e.reason for e in audit("login")] == [None, "resume"]


def test_a_tampered_cookie_shows_the_login_page_and_is_cleared(db_url, monkeypatch):
    make_user("jefa", role="admin")
    _, saved = log_in("jefa")
    browser_sends(monkeypatch, tamper(saved.token))
    at = dashboard()
    at.run()
    assert at.title[0].value == LOGIN_TITLE
    assert "actor" not in at.session_state
    assert "auth_cookie" not in at.session_state  # the clearing was written once, then forgotten
    assert len(at.info) == 0


def test_an_expired_cookie_says_so_and_a_revoked_one_does_not(db_url, monkeypatch):
    make_user("jefa", role="admin")
    _, stale = log_in("jefa", now=datetime.now(timezone.utc) - timedelta(minutes=TIMEOUT + 5))
    browser_sends(monkeypatch, stale.token)
    at = dashboard()
    at.run()
    assert at.title[0].value == LOGIN_TITLE
    assert [i.value for i in at.info] == ["Your session was closed after inactivity. Please log in again."]
    _, revoked = log_in("jefa")
    with write_session() as session:
        auth_sessions.revoke(session=session, session_id=revoked.id, reason="logout")
    browser_sends(monkeypatch, revoked.token)
    at = dashboard()
    at.run()
    assert at.title[0].value == LOGIN_TITLE and len(at.info) == 0


def test_a_live_session_ends_when_its_saved_login_is_revoked_elsewhere(db_url, monkeypatch):
    user = make_user("fabi", role="evaluator")
    make_user("jefa", role="admin")
    _, saved = log_in("fabi")
    browser_sends(monkeypatch, saved.token)
    at = dashboard()
    at.run()
    assert at.title[0].value == "Programme overview"
    with write_session() as session:
        accounts.set_password(session=session, actor=LOCAL_USER, user_id=user.id, password="nueva-clave-22")
    fresh = dashboard()  # the same browser session's next run (see tests/test_access_gate.py carried_over)
    for key in ("actor", gate.LAST_SEEN_KEY, gate.SAVED_ID_KEY, gate.TOKEN_KEY, gate.TRIED_KEY):
        fresh.session_state[key] = at.session_state[key]
    fresh.run()
    assert fresh.title[0].value == LOGIN_TITLE
    assert [i.value for i in fresh.info] == [
        "Your session was closed (password changed, account changed or logged out in another tab). Please log in again."]
    assert audit()[-1].action == "logout" and audit()[-1].reason == "revoked"


def test_logging_out_revokes_the_saved_login_and_the_same_cookie_cannot_sign_back_in(db_url, monkeypatch):
    make_user("jefa", role="admin")
    _, saved = log_in("jefa")
    browser_sends(monkeypatch, saved.token)
    at = dashboard()
    at.run()
    assert at.title[0].value == "Programme overview"
    # the Log out button itself is clicked in tests/e2e/test_session_e2e.py (an AppTest click replays the
    # page, not dashboard.py); here the same browser session runs what the button runs
    logout = AppTest.from_string("from pages import _access_gate as gate\ngate.sign_out(notice='access.logged_out')\n",
                                 default_timeout=60)
    for key in ("lang", "actor", gate.LAST_SEEN_KEY, gate.SAVED_ID_KEY, gate.TOKEN_KEY, gate.TRIED_KEY):
        logout.session_state[key] = at.session_state[key]
    logout.run()
    assert not logout.exception, [e.value for e in logout.exception]
    at = logout
    assert at.session_state[gate.COOKIE_KEY] == {"action": "clear", "name": "focas_session"}
    assert saved_row(saved.id).revoked_reason == "logout"
    assert "actor" not in at.session_state and gate.SAVED_ID_KEY not in at.session_state
    assert resume(saved.token).refused == "revoked"
    assert [(e.action, e.reason) for e in audit()[-2:]] == [("login", "resume"), ("logout", "logout")]
    again = dashboard()  # a reload before the browser dropped the cookie
    again.run()
    assert again.title[0].value == LOGIN_TITLE


def test_auth_off_ignores_cookies_and_writes_none(db_url, monkeypatch):
    monkeypatch.setenv("FOCAS_AUTH", "off")
    browser_sends(monkeypatch, "x" * 43)
    at = dashboard()
    at.run()
    assert at.session_state["actor"] == LOCAL_USER
    assert gate.COOKIE_KEY not in at.session_state and gate.TRIED_KEY not in at.session_state


def test_an_active_session_writes_last_seen_once_a_minute_and_slides_the_cookie(db_url, monkeypatch):
    make_user("jefa", role="admin")
    _, saved = log_in("jefa")
    browser_sends(monkeypatch, saved.token)
    at = dashboard()
    at.run()
    assert at.title[0].value == "Programme overview"
    first_stamp = at.session_state[gate.COOKIE_KEY]["stamp"]
    two_minutes_ago = datetime.now(timezone.utc) - timedelta(minutes=2)
    with write_session() as session:
        auth_sessions.touch(session=session, session_id=saved.id, now=two_minutes_ago)
    next_run = dashboard()
    for key in ("actor", gate.LAST_SEEN_KEY, gate.SAVED_ID_KEY, gate.TOKEN_KEY, gate.TRIED_KEY, gate.COOKIE_KEY):
        next_run.session_state[key] = at.session_state[key]
    next_run.run()
    assert next_run.title[0].value == "Programme overview"
    seen = saved_row(saved.id).last_seen_at
    assert datetime.now(timezone.utc) - seen < timedelta(seconds=30)
    cookie = next_run.session_state[gate.COOKIE_KEY]
    assert cookie["stamp"] == seen.isoformat() != first_stamp and cookie["token"] == saved.token
    again = dashboard()  # within the minute: nothing written
    for key in ("actor", gate.LAST_SEEN_KEY, gate.SAVED_ID_KEY, gate.TOKEN_KEY, gate.TRIED_KEY, gate.COOKIE_KEY):
        again.session_state[key] = next_run.session_state[key]
    again.run()
    assert saved_row(saved.id).last_seen_at == seen
