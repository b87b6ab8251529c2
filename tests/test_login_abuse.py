"""Login abuse (issue 13, item 5): one answer for unknown, wrong and locked; locks that attempts do not extend;
limits keyed on the client as well as the account; an administrator's unlock; common passwords refused."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from assessments import accounts
from assessments.access import LOCAL_USER, Actor
from assessments.errors import PermissionDenied, ValidationFailed
from assessments.i18n import translate
from db.engine import get_engine, read_session, write_session
from db.models import AuditEvent

ROOT = Path(__file__).resolve().parent.parent
GOOD = "clave-segura-1"
A, B, C = "192.0.2.10", "198.51.100.20", "203.0.113.30"


def make_user(username="ana", password=GOOD, role="evaluator", **kwargs):
    with write_session() as session:
        return accounts.create_user(session=session, actor=LOCAL_USER, username=username, password=password,
                                    role=role, **kwargs)


def make_admin(username="jefa", password=GOOD):
    with write_session() as session:
        return accounts.create_first_admin(session=session, username=username, password=password,
                                           full_name="Jefa de programa")


def login(username, password, *, client=None, now=None) -> accounts.LoginResult:
    with write_session() as session:
        return accounts.authenticate(session=session, username=username, password=password, client_ip=client,
                                     now=now)


def fail(username, times, *, client=None, now=None) -> None:
    for _ in range(times):
        assert login(username, "no-es-la-clave", client=client, now=now).actor is None


def reasons(username) -> list[str]:
    with read_session() as session:
        return list(session.execute(
            sa.select(AuditEvent.reason).where(AuditEvent.action == "login_failed", AuditEvent.actor == username)
            .order_by(AuditEvent.at)).scalars())


# ---------------------------------------------------------------------------------------------
# One answer, the same work


def test_an_unknown_name_gets_exactly_what_an_existing_locked_account_gets(db_url):
    make_user("ana")
    answers = {}
    for name in ("ana", "nadie"):
        seen = [login(name, "no-es-la-clave") for _ in range(accounts.MAX_FAILED_LOGINS)]
        seen.append(login(name, GOOD))  # the right password of ana, now locked
        answers[name] = [(r.actor, r.error_key, r.params) for r in seen]
    assert answers["ana"] == answers["nadie"] == [(None, "access.login_failed", ())] * 6
    # the unknown name locks too: the audit trail (for administrators) says which is which
    assert reasons("ana")[-1] == reasons("nadie")[-1] == "locked"
    assert reasons("nadie")[0] == "unknown_user" and reasons("ana")[0] == "wrong_password"


def test_unknown_wrong_and_locked_cost_the_same_database_work(db_url):
    make_user("ana")
    make_user("beto")
    fail("beto", accounts.MAX_FAILED_LOGINS)
    fail("zoila", accounts.MAX_FAILED_LOGINS)
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement.split()[0])

    engine = get_engine()
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        work = {}
        for label, name in (("wrong", "ana"), ("unknown", "nadie"), ("locked", "beto"), ("locked_unknown", "zoila")):
            statements.clear()
            login(name, "no-es-la-clave")
            work[label] = list(statements)
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    assert work["wrong"] == work["unknown"] == work["locked"] == work["locked_unknown"]
    assert len(work["wrong"]) >= 5  # the user, the unlock, the failures, the logins, the client; then the record


def test_the_login_page_shows_one_message_for_unknown_locked_and_wrong(db_url, monkeypatch):
    make_admin()
    fail("jefa", accounts.MAX_FAILED_LOGINS)
    shown = {}
    for label, name, password in (("locked", "jefa", GOOD), ("unknown", "nadie", GOOD), ("wrong", "jefa", "x")):
        at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
        at.session_state["lang"] = "es"
        at.run()
        at.text_input(key="login.username").set_value(name)
        at.text_input(key="login.password").set_value(password)
        [b for b in at.button if b.label == "Ingresar"][0].click().run()
        assert not at.exception
        assert "actor" not in at.session_state
        shown[label] = ([e.value for e in at.error], [c.value for c in at.caption])
    assert shown["locked"] == shown["unknown"] == shown["wrong"]
    errors, captions = shown["locked"]
    assert errors == ["Usuario o contraseña incorrectos."]
    assert any("intentos fallidos" in c and "administrador" in c for c in captions)


# ---------------------------------------------------------------------------------------------
# Attempts while locked do not extend the lock


def test_attempts_while_locked_neither_count_nor_push_the_end_of_the_lock(db_url):
    make_user("ana")
    start = datetime.now(timezone.utc) - timedelta(hours=1)
    fail("ana", accounts.MAX_FAILED_LOGINS, now=start)  # locked until start + 15 min
    for minutes in (1, 5, 10, 14):  # an attacker (or the owner) keeps trying, the right password too
        assert login("ana", GOOD, now=start + timedelta(minutes=minutes)).actor is None
        assert login("ana", "otra-vez-mal", now=start + timedelta(minutes=minutes, seconds=30)).actor is None
    assert reasons("ana")[-8:] == ["locked"] * 8
    assert login("ana", GOOD, now=start + accounts.LOCKOUT + timedelta(seconds=1)).actor is not None


def test_after_a_lock_ends_it_takes_a_full_new_series_to_lock_again(db_url):
    make_user("ana")
    start = datetime.now(timezone.utc) - timedelta(hours=1)
    fail("ana", accounts.MAX_FAILED_LOGINS, now=start)
    after = start + accounts.LOCKOUT + timedelta(seconds=1)
    fail("ana", accounts.MAX_FAILED_LOGINS - 1, now=after)
    assert reasons("ana")[-1] == "wrong_password"
    assert login("ana", GOOD, now=after + timedelta(seconds=1)).actor is not None


# ---------------------------------------------------------------------------------------------
# Limits keyed on the client


def test_failures_from_one_client_lock_the_account_there_only(db_url):
    make_admin()
    fail("jefa", accounts.MAX_FAILED_LOGINS, client=A)
    assert login("jefa", GOOD, client=A).actor is None          # the client that guessed is stopped
    assert reasons("jefa")[-1] == "locked"
    assert login("jefa", GOOD, client=B).actor is not None      # the administrator elsewhere gets in
    assert login("jefa", GOOD).actor is not None                # and on this machine
    assert login("jefa", GOOD, client=A).actor is None          # A stays locked until the lock ends
    with read_session() as session:
        clients = [json.loads(after)["client"] for after in session.execute(
            sa.select(AuditEvent.after_json).where(AuditEvent.action.in_(["login", "login_failed"]))
            .order_by(AuditEvent.at)).scalars()]
    assert clients == [A] * 6 + [B, "local", A]


def test_a_client_guessing_many_names_is_stopped_for_every_name(db_url):
    make_user("ana")
    make_user("beto")
    for index in range(accounts.CLIENT_MAX_FAILURES):  # under the limit for each name, known or not
        name = ("ana", "beto", f"nombre{index}", f"otro{index}", f"mas{index}")[index % 5]
        assert login(name, "no-es-la-clave", client=A).actor is None
    assert login("beto", GOOD, client=A).actor is None
    assert reasons("beto")[-1] == "client_throttled"
    assert login("beto", GOOD, client=B).actor is not None
    assert login("ana", GOOD).actor is not None


def test_guessing_from_many_clients_cannot_shut_out_this_machine_or_a_familiar_client(db_url):
    make_admin()
    assert login("jefa", GOOD, client=C).actor is not None  # the administrator's usual computer
    botnet = [f"10.0.{n}.1" for n in range(accounts.ACCOUNT_MAX_FAILURES)]
    for client in botnet:  # one failure each: no client reaches its own limit
        fail("jefa", 1, client=client)
    assert login("jefa", GOOD, client="10.9.9.9").actor is None   # a computer new to this account: locked
    assert reasons("jefa")[-1] == "locked_new_client"
    assert login("jefa", GOOD, client=C).actor is not None        # the usual one is not
    assert login("jefa", GOOD).actor is not None                  # nor this machine
    locks = accounts.login_locks(accounts.users_table().set_index("username").loc["jefa", "id"])
    assert locks.new_clients_until is not None and locks.clients == ()


def test_ipv6_clients_are_counted_per_64_network(db_url):
    make_user("ana")
    for host in range(1, accounts.MAX_FAILED_LOGINS + 1):
        fail("ana", 1, client=f"2001:db8:0:1::{host}")
    assert login("ana", GOOD, client="2001:db8:0:1::99").actor is None
    assert login("ana", GOOD, client="2001:db8:0:2::1").actor is not None
    assert accounts.client_key("::ffff:192.0.2.10") == A and accounts.client_key("::1") == "local"


# ---------------------------------------------------------------------------------------------
# An administrator unlocks


def test_an_administrator_unlocks_an_account_and_it_is_audited(db_url):
    admin = make_admin()
    ana = make_user("ana")
    fail("ana", accounts.MAX_FAILED_LOGINS, client=A)
    fail("ana", accounts.MAX_FAILED_LOGINS)
    locks = accounts.login_locks(ana.id)
    assert [client for client, _ in locks.clients] == [A, "local"]
    assert list(accounts.locked_accounts()) == ["ana"]
    with pytest.raises(PermissionDenied), write_session() as session:
        accounts.unlock_user(session=session, actor=Actor("gerente", "manager"), user_id=ana.id)
    with write_session() as session:
        accounts.unlock_user(session=session, actor=admin, user_id=ana.id)
    assert not accounts.login_locks(ana.id).locked and accounts.locked_accounts() == {}
    assert login("ana", GOOD, client=A).actor is not None
    assert login("ana", GOOD).actor is not None
    with read_session() as session:
        event = session.execute(sa.select(AuditEvent).where(AuditEvent.action == "unlock")).scalar_one()
    assert (event.actor, event.entity_id) == ("jefa", str(ana.id))
    assert [c["client"] for c in json.loads(event.before_json)["locked_from"]] == [A, "local"]
    assert translate("audit.action.unlock", "es") == "Desbloqueo de cuenta"


def test_the_admin_page_shows_the_lock_and_unlocks(db_url):
    admin = make_admin()
    make_user("ana")
    fail("ana", accounts.MAX_FAILED_LOGINS, client=A)
    at = AppTest.from_file(str(ROOT / "pages" / "admin.py"), default_timeout=60)
    at.session_state["lang"] = "es"
    at.session_state["actor"] = admin
    at.run()
    at.selectbox(key="edit_user.id").select_index(0).run()  # "ana" (usernames in order)
    warnings = [w.value.replace("\\", "") for w in at.warning]  # user text is escaped for Markdown
    assert any("ana" in w and "suspendido" in w for w in warnings)
    assert any(w.startswith(f"Ingreso suspendido desde {A} hasta las ") for w in warnings)
    [b for b in at.button if b.label == "Desbloquear la cuenta"][0].click().run()
    assert not at.exception
    assert "Cuenta desbloqueada: puede volver a ingresar desde cualquier equipo." in [s.value for s in at.success]
    assert not [w.value for w in at.warning if "suspendido" in w.value]
    assert login("ana", GOOD, client=A).actor is not None


# ---------------------------------------------------------------------------------------------
# Common and trivial passwords


REFUSED = [
    ("12345678", "login_abuse.password_weak"),
    ("password", "login_abuse.password_weak"),
    (" " * 12, "login_abuse.password_weak"),
    ("contraseña", "login_abuse.password_weak"),
    ("qwertyuiop", "login_abuse.password_weak"),
    ("Password1!", "login_abuse.password_weak"),
    ("quispe2024", "login_abuse.password_weak"),  # the person's own name and a year
    ("clave\x00segura-1x", "login_abuse.password_control"),
    ("clave\tsegura-1x", "login_abuse.password_control"),
    ("clave\u202esegura-1x", "login_abuse.password_control"),
]


def refusal(call) -> str:
    with pytest.raises(ValidationFailed) as caught, write_session() as session:
        call(session)
    return caught.value.key


@pytest.mark.parametrize("password,key", REFUSED)
def test_common_trivial_and_control_character_passwords_are_refused_everywhere(db_url, password, key):
    assert refusal(lambda s: accounts.create_first_admin(session=s, username="ana", password=password,
                                                         full_name="Ana Quispe")) == key
    admin = make_admin()
    assert refusal(lambda s: accounts.create_user(session=s, actor=admin, username="ana", password=password,
                                                  role="evaluator", full_name="Ana Quispe")) == key
    ana = make_user("ana", full_name="Ana Quispe")
    assert refusal(lambda s: accounts.set_password(session=s, actor=admin, user_id=ana.id, password=password)) == key
    ana_actor = login("ana", GOOD).actor
    assert refusal(lambda s: accounts.change_own_password(session=s, actor=ana_actor, current=GOOD,
                                                          new=password)) == key
    assert login("ana", GOOD).actor is not None  # nothing changed


def test_a_strong_passphrase_is_taken_and_the_messages_are_translated(db_url):
    admin = make_admin()
    ana = make_user("ana", password="río-verde-lluvia-7", full_name="Ana Quispe")
    with write_session() as session:
        accounts.set_password(session=session, actor=admin, user_id=ana.id, password="puente-de-madera-en-Iquitos")
    assert login("ana", "puente-de-madera-en-Iquitos").actor is not None
    assert translate("login_abuse.password_weak", "es").startswith("Esa contraseña es demasiado común")
    assert translate("login_abuse.password_weak", "en").startswith("That password is too common")
    assert "control" in translate("login_abuse.password_control", "en")
    with pytest.raises(ValidationFailed) as caught, write_session() as session:
        accounts.set_password(session=session, actor=admin, user_id=ana.id, password="x" * 300 + "-Aa1")
    assert caught.value.key == "login_abuse.password_too_long"


def test_the_admin_page_says_why_a_password_is_refused(db_url):
    admin = make_admin()
    at = AppTest.from_file(str(ROOT / "pages" / "admin.py"), default_timeout=60)
    at.session_state["lang"] = "en"
    at.session_state["actor"] = admin
    at.run()
    at.text_input(key="create_user.username").set_value("ana")
    at.text_input(key="create_user.password").set_value("12345678")
    [b for b in at.button if b.label == "Create account"][0].click().run()
    assert not at.exception
    assert [e.value for e in at.error] == [translate("login_abuse.password_weak", "en")]
    assert list(accounts.users_table()["username"]) == ["jefa"]
