"""A real browser: a locked account and an unknown name get the same answer; an administrator unlocks."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tests.e2e.conftest import wait_for_app

pytestmark = pytest.mark.e2e

LOGIN_ON = {"FOCAS_AUTH": "on"}
GOOD = "clave-segura-1"


def prepare(db_url: str) -> None:
    """An administrator and an evaluator whose account this machine has locked by guessing."""
    from assessments import accounts
    from db.engine import dispose_engine, write_session

    with write_session() as session:
        admin = accounts.create_first_admin(session=session, username="jefa", password=GOOD,
                                            full_name="Jefa de programa")
        accounts.create_user(session=session, actor=admin, username="ana", password=GOOD, role="evaluator")
    for _ in range(accounts.MAX_FAILED_LOGINS):
        with write_session() as session:
            accounts.authenticate(session=session, username="ana", password="no-es-la-clave")
    dispose_engine(db_url)


def try_login(page, username: str, password: str) -> None:
    page.get_by_label("Usuario").fill(username)
    page.get_by_label("Contraseña", exact=True).fill(password)
    page.get_by_role("button", name="Ingresar").click()
    page.wait_for_timeout(1500)  # a login reruns the script once more (st.rerun)
    wait_for_app(page)


def answer(page) -> tuple[str, str]:
    error = page.locator("[data-testid='stAlertContentError']")
    expect(error).to_have_count(1)
    help_line = page.locator("[data-testid='stCaptionContainer']", has_text="intentos fallidos")
    expect(help_line).to_have_count(1)
    return error.inner_text().strip(), help_line.inner_text().strip()


def test_locked_and_unknown_look_the_same_and_an_administrator_unlocks(db_url, app_factory, page):
    prepare(db_url)
    app = app_factory(db_url, env=LOGIN_ON)
    page.goto(app.url)
    wait_for_app(page)
    expect(page.get_by_role("heading", name="Ingresar a FOCAS · QSIP")).to_be_visible()

    try_login(page, "ana", GOOD)                   # the right password of a locked account
    locked = answer(page)
    try_login(page, "nadie-existe", GOOD)          # a name that does not exist
    unknown = answer(page)
    try_login(page, "jefa", "no-es-la-clave")      # a real name, wrong password
    wrong = answer(page)
    assert locked == unknown == wrong
    assert locked[0].splitlines()[-1] == "Usuario o contraseña incorrectos."  # after the icon's name
    print(f"\n[login abuse e2e] every refusal shows: {locked[0].splitlines()[-1]} | {locked[1]}")

    try_login(page, "jefa", GOOD)
    page.get_by_role("button", name="Cerrar sesión").wait_for()
    page.locator("[data-testid='stSidebarNav'] a", has_text="Administración").first.click()
    wait_for_app(page)
    expect(page.get_by_text("Cuentas con el ingreso suspendido por intentos fallidos: ana.")).to_be_visible()
    page.get_by_text("Editar o desactivar una cuenta", exact=True).click()
    editor = page.locator("[data-testid='stExpander']", has_text="Editar o desactivar una cuenta")
    expect(editor.get_by_text("Ingreso suspendido desde este servidor hasta las")).to_be_visible()
    editor.get_by_role("button", name="Desbloquear la cuenta").click()
    wait_for_app(page)
    expect(page.get_by_text("Cuenta desbloqueada: puede volver a ingresar desde cualquier equipo.")).to_be_visible()
    expect(page.get_by_text("Cuentas con el ingreso suspendido por intentos fallidos")).to_have_count(0)

    page.get_by_role("button", name="Cerrar sesión").click()
    page.get_by_role("heading", name="Ingresar a FOCAS · QSIP").wait_for()
    wait_for_app(page)
    try_login(page, "ana", GOOD)
    page.get_by_role("button", name="Cerrar sesión").wait_for()

    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(sa.text(
                "SELECT actor, action, reason FROM audit_event WHERE action IN ('unlock', 'login', 'login_failed') "
                "ORDER BY at")).all()
    finally:
        engine.dispose()
    trail = [tuple(r) for r in rows]
    assert ("jefa", "unlock", "unlock") in trail
    assert trail[-1] == ("ana", "login", None)
    assert [r for r in trail if r[0] == "nadie-existe"] == [("nadie-existe", "login_failed", "unknown_user")]
    assert ("ana", "login_failed", "locked") in trail
