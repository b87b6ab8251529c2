"""A real browser: the demo evaluator opens QSIP, GCD and Selection and finds them read-only, with one line why."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import wait_for_app

pytestmark = pytest.mark.e2e

# start_app opens account-less databases to the local user (FOCAS_AUTH=off); these apps need login.
LOGIN_ON = {"FOCAS_AUTH": "on"}
SHOTS = Path("/tmp/shots")
NOTICE = "Solo lectura: su rol de evaluador(a) permite ver y descargar."
# every enabled primary button in the main area (plain and form submit): the write controls of these pages
PRIMARY = ("[data-testid='stMain'] [data-testid='stBaseButton-primary']:enabled,"
           " [data-testid='stMain'] [data-testid='stBaseButton-primaryFormSubmit']:enabled")


def mark_demo(db_url: str) -> None:
    from db.engine import dispose_engine, write_session
    from db.models import AppMeta

    with write_session() as session:
        session.merge(AppMeta(key="demo_database", value="1"))
    dispose_engine(db_url)


def log_in(page, url: str, username: str, password: str) -> None:
    page.goto(url)
    wait_for_app(page)
    page.get_by_label("Usuario").fill(username)
    page.get_by_label("Contraseña", exact=True).fill(password)
    page.get_by_role("button", name="Ingresar").click()
    page.wait_for_timeout(1500)  # the login reruns the script once more (st.rerun)
    wait_for_app(page)


PAGES = (("Auditorías QSIP", "Auditorías de servicios (QSIP)"), ("Grupo consultivo (GCD)", "Grupos consultivos"),
         ("Selección de clústeres", "Selección de clústeres"))


def test_evaluator_sees_read_only_pages_with_the_reason(demo_db_url, app_factory, page):
    mark_demo(demo_db_url)
    app = app_factory(demo_db_url, env=LOGIN_ON)
    log_in(page, app.url, "evaluator", "demo-evaluator")
    page.get_by_text("Evaluador demo · Evaluador(a)").wait_for()
    SHOTS.mkdir(parents=True, exist_ok=True)

    for link, heading in PAGES:
        page.locator("[data-testid='stSidebarNav'] a", has_text=link).first.click()
        wait_for_app(page)
        expect(page.locator("[data-testid='stMain'] h1").first).to_contain_text(heading)
        notice = page.locator("[data-testid='stMain'] [data-testid='stAlert']", has_text=NOTICE)
        expect(notice, link).to_have_count(1)
        expect(notice, link).to_be_visible()
        expect(page.locator(PRIMARY), link).to_have_count(0)
        expect(page.locator("[data-testid='stMain'] [data-testid='stFileUploader']"), link).to_have_count(0)
        # the data and their downloads stay
        expect(page.locator("[data-testid='stMain'] [data-testid='stDownloadButton']:visible").first, link).to_be_visible()
        expect(page.locator("[data-testid='stException']"), link).to_have_count(0)
        page.screenshot(path=str(SHOTS / f"roles-evaluator-{link.split()[0].lower()}.png"), full_page=True)
