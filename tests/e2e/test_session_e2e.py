"""A real browser: the demo facilitator stays logged in across a reload and a server restart, until logging out."""

from __future__ import annotations

import hashlib
import re
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tests.e2e.conftest import wait_for_app

pytestmark = pytest.mark.e2e

# start_app opens account-less databases to the local user (FOCAS_AUTH=off); this app needs login.
LOGIN_ON = {"FOCAS_AUTH": "on"}
SHOTS = Path("/tmp/shots")
COOKIE = "focas_session"
LOGIN_HEADING = "Ingresar a FOCAS · QSIP"
SIGNED_IN = "Facilitadora demo · Facilitador(a)"


def mark_demo(db_url: str) -> None:
    from db.engine import dispose_engine, write_session
    from db.models import AppMeta

    with write_session() as session:
        session.merge(AppMeta(key="demo_database", value="1"))
    dispose_engine(db_url)


def rows(db_url: str, sql: str) -> list[tuple]:
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as connection:
            return [tuple(r) for r in connection.execute(sa.text(sql)).all()]
    finally:
        engine.dispose()


def saved_cookie(page) -> dict | None:
    return next((c for c in page.context.cookies() if c["name"] == COOKIE), None)


def wait_for_cookie(page, present: bool) -> None:
    test = "document.cookie.split('; ').some(c => c.startsWith('focas_session='))"
    page.wait_for_function(f"() => {test}" if present else f"() => !({test})", timeout=30_000)


def expect_inside_focas(page) -> None:
    expect(page.get_by_role("heading", name="Taller FOCAS", exact=True)).to_be_visible()
    expect(page.get_by_text(SIGNED_IN)).to_be_visible()
    expect(page.get_by_role("button", name="Cerrar sesión")).to_be_visible()
    expect(page.get_by_role("heading", name=LOGIN_HEADING)).to_have_count(0)


def test_login_survives_reload_and_server_restart_until_logout(demo_db_url, app_factory, page):
    SHOTS.mkdir(parents=True, exist_ok=True)
    mark_demo(demo_db_url)
    app = app_factory(demo_db_url, env=LOGIN_ON)

    page.goto(app.url)
    wait_for_app(page)
    expect(page.get_by_role("heading", name=LOGIN_HEADING)).to_be_visible()
    expect(page.get_by_text("Este navegador mantiene su sesión")).to_be_visible()
    assert saved_cookie(page) is None
    page.screenshot(path=str(SHOTS / "session-login.png"), full_page=True)

    page.get_by_label("Usuario").fill("facilitator")
    page.get_by_label("Contraseña", exact=True).fill("demo-facilitator")
    page.get_by_role("button", name="Ingresar").click()
    expect(page.get_by_text(SIGNED_IN)).to_be_visible()
    page.locator("[data-testid='stSidebarNav'] a", has_text="Taller FOCAS").first.click()
    wait_for_app(page)
    expect(page).to_have_url(re.compile(rf"^{re.escape(app.url)}/focas(\?|$)"))
    expect_inside_focas(page)

    # the cookie: the token (never in the database), SameSite=Strict, whole site, no longer than the timeout
    wait_for_cookie(page, present=True)
    cookie = saved_cookie(page)
    assert (cookie["sameSite"], cookie["path"], cookie["httpOnly"], cookie["secure"]) == ("Strict", "/", False, False)
    assert 55 * 60 < cookie["expires"] - time.time() <= 60 * 60
    token = cookie["value"]
    stored = rows(demo_db_url, "SELECT token_hash, revoked_at FROM auth_session")
    assert stored == [(hashlib.sha256(token.encode()).hexdigest(), None)]

    # F5: a new Streamlit session, still logged in, on the same page
    page.reload()
    wait_for_app(page)
    expect(page).to_have_url(re.compile(rf"^{re.escape(app.url)}/focas(\?|$)"))
    expect_inside_focas(page)

    # the server restarts (same port, same database): the next reload is still logged in
    app.stop()
    restarted = app_factory(demo_db_url, env=LOGIN_ON, port=app.port)
    page.reload()
    wait_for_app(page)
    expect(page).to_have_url(re.compile(rf"^{re.escape(restarted.url)}/focas(\?|$)"))
    expect_inside_focas(page)
    page.screenshot(path=str(SHOTS / "session-resumed.png"), full_page=True)

    # logging out revokes the token and clears the cookie: a reload shows the login page
    page.get_by_role("button", name="Cerrar sesión").click()
    expect(page.get_by_role("heading", name=LOGIN_HEADING)).to_be_visible()
    wait_for_cookie(page, present=False)
    page.reload()
    wait_for_app(page)
    expect(page.get_by_role("heading", name=LOGIN_HEADING)).to_be_visible()
    expect(page.get_by_text(SIGNED_IN)).to_have_count(0)

    assert rows(demo_db_url, "SELECT revoked_reason FROM auth_session") == [("logout",)]
    trail = rows(demo_db_url, "SELECT action, reason FROM audit_event WHERE actor = 'facilitator' ORDER BY at")
    assert trail == [("login", None), ("login", "resume"), ("login", "resume"), ("logout", "logout")]
    assert not any(token in str(r) for r in rows(demo_db_url, "SELECT * FROM audit_event"))
