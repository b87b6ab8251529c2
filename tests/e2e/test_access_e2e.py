"""A real browser: an evaluator logs in, visits every page, presses every button, and changes nothing."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
import sqlalchemy as sa

from tests.e2e.conftest import wait_for_app

pytestmark = pytest.mark.e2e

# start_app opens account-less databases to the local user (FOCAS_AUTH=off); these apps need login.
LOGIN_ON = {"FOCAS_AUTH": "on"}

SKIP_BUTTONS = ("Cerrar sesión", "Log out")


def mark_demo(db_url: str) -> None:
    from db.engine import dispose_engine, write_session
    from db.models import AppMeta

    with write_session() as session:
        session.merge(AppMeta(key="demo_database", value="1"))
    dispose_engine(db_url)


def table_counts(db_url: str) -> dict[str, int]:
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as connection:
            names = [n for n in sa.inspect(connection).get_table_names() if n not in ("audit_event", "app_meta", "auth_session")]
            return {n: connection.execute(sa.text(f'SELECT count(*) FROM "{n}"')).scalar_one() for n in names}
    finally:
        engine.dispose()


def audit_actions(db_url: str, actor: str) -> list[str]:
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as connection:
            return list(connection.execute(
                sa.text("SELECT action FROM audit_event WHERE actor = :a ORDER BY at"), {"a": actor}).scalars())
    finally:
        engine.dispose()


def log_in(page, url: str, username: str, password: str) -> None:
    page.goto(url)
    wait_for_app(page)
    page.get_by_label("Usuario").fill(username)
    page.get_by_label("Contraseña", exact=True).fill(password)
    page.get_by_role("button", name="Ingresar").click()
    page.wait_for_timeout(1500)  # the login reruns the script once more (st.rerun)
    wait_for_app(page)


def test_evaluator_finds_no_way_to_change_data(demo_db_url, app_factory, page, tmp_path):
    mark_demo(demo_db_url)
    app = app_factory(demo_db_url, env=LOGIN_ON)
    before = table_counts(demo_db_url)

    page.goto(app.url)
    wait_for_app(page)
    expect(page.get_by_role("heading", name="Ingresar a FOCAS · QSIP")).to_be_visible()
    log_in(page, app.url, "evaluator", "mala-clave")
    expect(page.get_by_text("Usuario o contraseña incorrectos.")).to_be_visible()
    log_in(page, app.url, "evaluator", "demo-evaluator")
    page.get_by_text("Evaluador demo · Evaluador(a)").wait_for()

    links = page.locator("[data-testid='stSidebarNav'] a")
    links.first.wait_for()
    names = [links.nth(i).inner_text().strip().splitlines()[-1] for i in range(links.count())]
    assert len(names) >= 10
    pressed: dict[str, list[str]] = {}
    for position, name in enumerate(names):
        links.nth(position).click()
        wait_for_app(page)
        page.screenshot(path=str(tmp_path / f"evaluator-{len(pressed):02d}.png"), full_page=True)
        labels = []
        buttons = page.locator("[data-testid='stMain'] [data-testid='stBaseButton-primary']:enabled,"
                               " [data-testid='stMain'] [data-testid='stBaseButton-secondary']:enabled,"
                               " [data-testid='stMain'] [data-testid='stBaseButton-primaryFormSubmit']:enabled,"
                               " [data-testid='stMain'] [data-testid='stBaseButton-secondaryFormSubmit']:enabled")
        for index in range(min(buttons.count(), 15)):
            button = buttons.nth(index)
            if not button.is_visible():
                continue
            label = button.inner_text().strip()
            if label in SKIP_BUTTONS:
                continue
            labels.append(label)
            button.click()
            wait_for_app(page)
        pressed[name] = labels
        expect(page.locator("[data-testid='stException']"), name).to_have_count(0)

    # every button pressed, and not one row changed; the only trail the evaluator left is logging in
    assert table_counts(demo_db_url) == before
    assert set(audit_actions(demo_db_url, "evaluator")) <= {"login", "login_failed", "export"}
    page.locator("[data-testid='stSidebarNav'] a", has_text="Administración").first.click()
    wait_for_app(page)
    expect(page.get_by_text("Solo un administrador gestiona cuentas")).to_be_visible()
    print(f"\n[access e2e] pages visited={len(names)} buttons pressed="
          f"{sum(len(v) for v in pressed.values())} rows changed=0 :: {pressed}")

    # a direct service call as this evaluator is refused too
    from assessments import clusters
    from assessments.access import Actor
    from assessments.errors import PermissionDenied
    from db.engine import write_session

    with pytest.raises(PermissionDenied), write_session() as session:
        clusters.create_cluster(session=session, actor=Actor("evaluator", "evaluator"),
                                data=clusters.ClusterInput(name="X", department_code="22", wave=1,
                                                           sectors=["health"]))

    page.get_by_role("button", name="Cerrar sesión").click()
    page.get_by_role("heading", name="Ingresar a FOCAS · QSIP").wait_for()
    assert audit_actions(demo_db_url, "evaluator")[-1] == "logout"


def test_first_administrator_on_a_new_installation(db_url, app_factory, page):
    app = app_factory(db_url, env=LOGIN_ON)
    page.goto(app.url)
    wait_for_app(page)
    expect(page.get_by_role("heading", name="Primera cuenta de administrador")).to_be_visible()
    page.get_by_label("Usuario").fill("jefa")
    page.get_by_label("Contraseña", exact=True).fill("clave-segura-1")
    page.get_by_label("Repita la contraseña").fill("clave-segura-1")
    page.get_by_role("button", name="Crear administrador e ingresar").click()
    page.get_by_role("button", name="Cerrar sesión").wait_for()
    # demo passwords never open a real installation
    page.get_by_role("button", name="Cerrar sesión").click()
    page.get_by_role("heading", name="Ingresar a FOCAS · QSIP").wait_for()
    log_in(page, app.url, "admin", "demo-admin")
    expect(page.get_by_text("Usuario o contraseña incorrectos.")).to_be_visible()
