"""A real browser: a save that meets a locked database says so, translated, keeps what was typed, and saves later."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from db.engine import read_session
from db.models import Cluster
from tests.e2e.conftest import eventually, wait_for_app
from tests.test_db_faults import Holder

pytestmark = pytest.mark.e2e
NAME = "Tahuamanu"


def saved() -> list[str]:
    with read_session() as session:
        return list(session.execute(sa.select(Cluster.name).where(Cluster.name == NAME)).scalars())


def test_a_locked_database_while_saving_shows_the_message_and_keeps_the_input(db_url, app_factory, page):
    # about a second of waiting for the lock (SQLite's busy timeout, PostgreSQL's lock_timeout), tried twice
    app = app_factory(db_url, env={"FOCAS_SQLITE_BUSY_TIMEOUT_MS": "700", "FOCAS_PG_LOCK_TIMEOUT_MS": "1000"})
    page.goto(f"{app.url}/clusters")
    wait_for_app(page)
    name = page.get_by_label("Nombre del clúster")
    name.fill(NAME)
    page.get_by_role("combobox", name="Servicios priorizados (uno o dos)").click()
    page.get_by_role("option", name="Salud").click()
    page.keyboard.press("Escape")
    members = page.get_by_role("combobox", name="Gobiernos miembros")
    members.click()
    members.fill("Gobierno Regional")
    page.get_by_role("option").first.click()
    page.keyboard.press("Escape")
    create = page.get_by_role("button", name="Crear clúster")

    with Holder(db_url):  # another program holds the lock every save needs
        create.click()
        wait_for_app(page)
        expect(page.get_by_test_id("stAlertContentError")).to_contain_text(
            "La base de datos está ocupada con otro guardado y no se guardó nada")
        expect(page.get_by_test_id("stException")).to_have_count(0)
        expect(name).to_have_value(NAME)  # what was typed is still in the form
        assert saved() == []

    create.click()  # the same form, unchanged, once the lock is gone
    wait_for_app(page)
    expect(page.get_by_test_id("stAlertContentSuccess").first).to_contain_text(f"Clúster «{NAME}» creado.")
    assert eventually(saved, [NAME]) == [NAME]
