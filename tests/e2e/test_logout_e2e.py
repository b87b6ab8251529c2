"""A real browser on a shared laptop: the next user after a logout does not get the last user's filters."""

from __future__ import annotations

import pytest
from tests.e2e.conftest import wait_for_app
from tests.e2e.test_access_e2e import LOGIN_ON, mark_demo

pytestmark = pytest.mark.e2e


def fill_login(page, username: str, password: str) -> None:
    page.get_by_label("Usuario").fill(username)
    page.get_by_label("Contraseña", exact=True).fill(password)
    page.get_by_role("button", name="Ingresar").click()
    page.get_by_role("button", name="Cerrar sesión").wait_for()
    wait_for_app(page)


def test_the_next_user_after_a_logout_opens_avance_unfiltered(demo_db_url, app_factory, page):
    mark_demo(demo_db_url)
    app = app_factory(demo_db_url, env=LOGIN_ON)
    page.goto(app.url)
    wait_for_app(page)
    fill_login(page, "manager", "demo-manager")
    page.goto(f"{app.url}/progress?dept=22&wave=1")  # the manager's filtered view (a link, a bookmark)
    wait_for_app(page)
    assert "dept=22" in page.url
    page.get_by_role("button", name="Cerrar sesión").click()
    page.get_by_role("heading", name="Ingresar a FOCAS · QSIP").wait_for()
    wait_for_app(page)
    assert "dept=" not in page.url and "wave=" not in page.url
    # the next person logs in on the same tab and opens Avance
    fill_login(page, "evaluator", "demo-evaluator")
    page.locator("[data-testid='stSidebarNav'] a", has_text="Avance").first.click()
    wait_for_app(page)
    page.wait_for_timeout(500)  # the filters write the URL on the page's run
    assert "/progress" in page.url and "dept=" not in page.url and "wave=" not in page.url
