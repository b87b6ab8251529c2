"""The login gate in dashboard.py and the admin page, under AppTest."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from assessments import accounts
from assessments.access import LOCAL_USER, Actor
from db.engine import read_session, write_session
from db.models import AuditEvent

ROOT = Path(__file__).resolve().parent.parent


def dashboard(lang="es") -> AppTest:
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    at.session_state["lang"] = lang
    return at


def carried_over(at: AppTest, lang="es") -> AppTest:
    """A new run of dashboard.py with the same session: AppTest replays the page a run finished on
    (the login page) instead of the entry script, which a browser does not."""
    fresh = dashboard(lang)
    for key in ("actor", "auth_last_seen"):
        if key in at.session_state:
            fresh.session_state[key] = at.session_state[key]
    fresh.run()
    assert not fresh.exception, [e.value for e in fresh.exception]
    return fresh


def submit(at: AppTest, label: str) -> None:
    [button for button in at.button if button.label == label][0].click().run()


def make_admin(username="jefa", password="clave-segura-1"):
    with write_session() as session:
        return accounts.create_first_admin(session=session, username=username, password=password,
                                           full_name="Jefa de programa")


def actions() -> list[str]:
    with read_session() as session:
        return list(session.execute(sa.select(AuditEvent.action).order_by(AuditEvent.at)).scalars())


def test_a_new_installation_asks_for_the_first_administrator_and_logs_them_in(db_url):
    at = dashboard()
    at.run()
    assert not at.exception
    assert at.title[0].value == "Primera cuenta de administrador"
    at.text_input(key="first_admin.username").set_value("jefa")
    at.text_input(key="first_admin.full_name").set_value("Jefa de programa")
    at.text_input(key="first_admin.password").set_value("clave-segura-1")
    at.text_input(key="first_admin.confirm").set_value("otra-cosa-distinta")
    submit(at, "Crear administrador e ingresar")
    assert [e.value for e in at.error] == ["Las dos contraseñas no coinciden."]
    at.text_input(key="first_admin.confirm").set_value("clave-segura-1")
    submit(at, "Crear administrador e ingresar")
    assert not at.exception
    assert at.session_state["actor"].username == "jefa"
    assert accounts.login_mode() == "login"
    inside = carried_over(at)
    assert inside.title[0].value == "Resumen del programa"
    assert "Cerrar sesión" in [b.label for b in inside.sidebar.button]


def test_accounts_mean_login_on_every_page_and_wrong_passwords_are_refused(db_url):
    make_admin()
    at = dashboard()
    at.run()
    assert at.title[0].value == "Ingresar a FOCAS · QSIP"
    at.text_input(key="login.username").set_value("jefa")
    at.text_input(key="login.password").set_value("incorrecta")
    submit(at, "Ingresar")
    assert [e.value for e in at.error] == ["Usuario o contraseña incorrectos."]
    assert "actor" not in at.session_state
    at.text_input(key="login.password").set_value("clave-segura-1")
    submit(at, "Ingresar")
    assert not at.exception
    assert at.session_state["actor"].role == "admin"
    inside = carried_over(at)
    assert inside.title[0].value == "Resumen del programa"
    # logging out is clicked in the browser test (AppTest replays the page, not dashboard.py, on a click)
    assert "Cerrar sesión" in [b.label for b in inside.sidebar.button]
    assert actions()[-2:] == ["login_failed", "login"]


def test_an_idle_session_expires(db_url):
    admin = make_admin()
    at = dashboard("en")
    at.session_state["actor"] = admin
    at.session_state["auth_last_seen"] = datetime.now(timezone.utc) - timedelta(minutes=61)
    at.run()
    assert at.title[0].value == "Log in to FOCAS · QSIP"
    assert "Your session was closed after inactivity. Please log in again." in [i.value for i in at.info]
    assert actions()[-1] == "logout"


def test_a_recent_session_stays_and_a_deactivated_account_is_logged_out(db_url):
    admin = make_admin()
    with write_session() as session:
        user = accounts.create_user(session=session, actor=admin, username="eva", password="clave-segura-1",
                                    role="evaluator")
        eva = accounts.actor_for(session, user)
    at = dashboard("en")
    at.session_state["actor"] = eva
    at.session_state["auth_last_seen"] = datetime.now(timezone.utc) - timedelta(minutes=5)
    at.run()
    assert at.title[0].value == "Programme overview" or at.title[0].value != "Log in to FOCAS · QSIP"
    with write_session() as session:
        accounts.update_user(session=session, actor=admin, user_id=user.id, active=False)
    at = carried_over(at, "en")
    assert at.title[0].value == "Log in to FOCAS · QSIP"
    assert "Your account was deactivated." in [i.value for i in at.info]


def test_a_local_user_session_does_not_survive_accounts_appearing(db_url):
    make_admin()
    at = dashboard()
    at.session_state["actor"] = LOCAL_USER
    at.session_state["auth_last_seen"] = datetime.now(timezone.utc)
    at.run()
    assert at.title[0].value == "Ingresar a FOCAS · QSIP"


def test_auth_off_opens_an_installation_without_accounts_only(db_url, monkeypatch):
    monkeypatch.setenv("FOCAS_AUTH", "off")
    at = dashboard()
    at.run()
    assert at.title[0].value != "Primera cuenta de administrador"
    assert at.session_state["actor"] == LOCAL_USER
    make_admin()
    at = carried_over(at)
    assert at.title[0].value == "Ingresar a FOCAS · QSIP"


def admin_page(actor: Actor, lang="es") -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / "admin.py"), default_timeout=60)
    at.session_state["lang"] = lang
    at.session_state["actor"] = actor
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.parametrize("role", ["manager", "facilitator", "evaluator"])
def test_the_admin_page_offers_nothing_to_other_roles(db_url, role):
    at = admin_page(Actor("x", role, user_id=None))
    assert [i.value for i in at.info] == [
        "Solo un administrador gestiona cuentas, el registro de auditoría y las copias de seguridad."]
    assert len(at.tabs) == 0 and len(at.button) == 0 and len(at.dataframe) == 0


def test_the_admin_page_creates_an_account_and_shows_it(db_url):
    admin = make_admin()
    at = admin_page(admin, "en")
    assert [t.label for t in at.tabs] == ["Accounts", "Audit log", "Backups", "My password"]
    at.text_input(key="create_user.username").set_value("fabi")
    at.text_input(key="create_user.full_name").set_value("<b>Fabiola</b>")
    at.selectbox(key="create_user.role").set_value("facilitator")
    at.text_input(key="create_user.password").set_value("clave-segura-9")
    submit(at, "Create account")
    assert not at.exception
    assert [s.value for s in at.success] == ["Account created."]
    users = at.dataframe[0].value
    assert list(users["Username"]) == ["fabi", "jefa"]
    assert list(users["Full name"]) == ["<b>Fabiola</b>", "Jefa de programa"]  # shown as text, never HTML
    assert list(users["Role"]) == ["Facilitator", "Administrator"]


def test_the_admin_page_audit_tab_filters(db_url):
    admin = make_admin()
    at = admin_page(admin, "en")
    at.selectbox(key="audit.action").set_value("create").run()
    events = at.dataframe[1].value
    assert list(events["Action"]) == ["Create"] and list(events["User"]) == ["jefa"]  # the code "create", translated
    assert "Showing 1 of 1 events (newest first)." in [c.value for c in at.caption]
    submit(at, "Prepare a CSV of every filtered event")
    assert not at.exception
    assert "export" in actions()


def test_the_backup_button(db_url, tmp_path, monkeypatch):
    from db import backup
    from db.config import load_settings

    if not load_settings().is_sqlite:
        pytest.skip("the backup button copies the embedded SQLite database")
    monkeypatch.setattr(backup, "BACKUP_DIR", tmp_path / "backups")
    at = admin_page(make_admin(), "en")
    submit(at, "Back up now")
    assert not at.exception
    assert len(at.success) == 1 and "integrity: ok" in at.success[0].value
    assert len(list((tmp_path / "backups").glob("focas-*.db"))) == 1
    assert actions()[-1] == "backup"


def test_the_demo_login_page_lists_the_demo_accounts_and_a_real_one_does_not(db_url):
    from db.demo import load_demo
    from db.models import AppMeta

    load_demo()
    at = dashboard()
    at.run()
    assert at.title[0].value == "Primera cuenta de administrador"  # demo accounts do not count here
    with write_session() as session:
        session.merge(AppMeta(key="demo_database", value="1"))
    at = dashboard("en")
    at.run()
    assert at.title[0].value == "Log in to FOCAS · QSIP"
    assert any("evaluator / demo-evaluator" in c.value for c in at.caption)


def test_a_page_run_alone_under_apptest_acts_as_the_local_user_and_the_served_app_as_nobody(db_url):
    from pages import ui

    assert ui.actor().username == "anonymous"  # outside AppTest and without a login: nobody
    probe = ROOT / "tests" / "_access_actor_probe.py"
    probe.write_text("import streamlit as st\nfrom pages import ui\nst.title(ui.actor().username)\n")
    try:
        at = AppTest.from_file(str(probe), default_timeout=60)
        at.run()
        assert at.title[0].value == "local"
    finally:
        probe.unlink()
