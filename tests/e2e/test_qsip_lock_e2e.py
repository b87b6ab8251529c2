"""In a browser: a barrier added to a validated QSIP audit is refused until the reason is given; what was
typed stays in the form, and the barrier is then saved and audited with the reason."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from tests.e2e.conftest import eventually, wait_for_app

pytestmark = pytest.mark.e2e

DESCRIPTION = "Falta de intérpretes en awajún en el CRED"
REASON = "Barrera omitida en el taller de validación; acordado con el comité"


def pick(page, box, option_text: str) -> None:
    """Open a select box and click the option holding ``option_text`` (retried while the page still draws)."""
    for _ in range(4):
        box.click()
        try:
            page.get_by_role("option").filter(has_text=option_text).first.wait_for(timeout=5_000)
            break
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
    page.get_by_role("option").filter(has_text=option_text).first.click()
    wait_for_app(page)


def test_a_barrier_on_a_validated_audit_waits_for_the_reason_and_keeps_the_typing(demo_db_url, app_factory, page,
                                                                                  tmp_path):
    from db.engine import dispose_engine, read_session
    from db.models import AuditEvent, Barrier, ServiceAudit

    app = app_factory(demo_db_url)
    page.goto(f"{app.url}/qsip")
    wait_for_app(page)
    # the page opens on Condorcanqui's latest cycle (2014); the 2013 cycle is the validated one
    pick(page, page.get_by_label("Auditoría (servicio y ciclo)", exact=True), "ciclo 2013")
    page.get_by_role("tab", name="Barreras").click()
    wait_for_app(page)
    panel = page.get_by_role("tabpanel", name="Barreras")
    reason_box = panel.get_by_label("Motivo del cambio (auditoría validada)", exact=True)
    expect(reason_box).to_be_visible()
    expect(panel.get_by_text("Auditoría validada: para cambiarla escriba el motivo del cambio")).to_be_visible()

    panel.get_by_text("Registrar una barrera", exact=True).click()
    wait_for_app(page)
    form = page.get_by_test_id("stForm").filter(has=page.get_by_role("button", name="Registrar barrera"))
    form.get_by_label("Descripción de la barrera", exact=True).fill(DESCRIPTION)
    pick(page, form.get_by_label("Categoría", exact=True), "Información")
    pick(page, form.get_by_label("Nivel de gobierno involucrado", exact=True), "Municipalidad distrital")
    form.get_by_role("button", name="Registrar barrera").click()
    wait_for_app(page)
    expect(page.get_by_text("está validada: cada cambio necesita un motivo")).to_be_visible()
    page.screenshot(path=str(tmp_path / "qsip_lock_refused.png"), full_page=True)
    # nothing stored, the typing kept
    expect(form.get_by_label("Descripción de la barrera", exact=True)).to_have_value(DESCRIPTION)
    dispose_engine(demo_db_url)
    with read_session() as session:
        assert session.execute(sa.select(Barrier).where(Barrier.description == DESCRIPTION)).first() is None

    reason_box.fill(REASON)
    reason_box.press("Enter")
    wait_for_app(page)
    expect(form.get_by_label("Descripción de la barrera", exact=True)).to_have_value(DESCRIPTION)
    form.get_by_role("button", name="Registrar barrera").click()
    wait_for_app(page)
    expect(page.get_by_text("Barrera registrada.")).to_be_visible()
    page.screenshot(path=str(tmp_path / "qsip_lock_saved.png"), full_page=True)

    def stored():
        dispose_engine(demo_db_url)
        with read_session() as session:
            barrier = session.execute(sa.select(Barrier).where(Barrier.description == DESCRIPTION)).scalar_one_or_none()
            if barrier is None:
                return None
            audit = session.get(ServiceAudit, barrier.audit_id)
            event = session.execute(sa.select(AuditEvent).where(AuditEvent.entity_id == str(barrier.id))).scalar_one()
            return audit.cycle_year, audit.validated_at is not None, event.action, event.reason

    assert eventually(stored, (2013, True, "create", REASON)) == (2013, True, "create", REASON)


def test_a_rating_corrected_on_a_validated_audit_is_kept_until_the_reason_then_saved_with_it(demo_db_url, app_factory,
                                                                                              page):
    from db.engine import dispose_engine, read_session
    from db.models import AuditEvent, FeedbackRating

    app = app_factory(demo_db_url)
    page.goto(f"{app.url}/qsip")
    wait_for_app(page)
    pick(page, page.get_by_label("Auditoría (servicio y ciclo)", exact=True), "ciclo 2013")
    page.get_by_role("tab", name="Cuestionarios").click()
    wait_for_app(page)
    panel = page.get_by_role("tabpanel", name="Cuestionarios")
    panel.get_by_text("Corregir calificaciones ya ingresadas").click()
    grid = page.locator(".fe-grid")
    expect(grid).to_be_visible()
    first = grid.locator(".fe-cell[data-row='0'][data-col='0']")
    before = first.get_attribute("data-value")
    new = "1" if before != "1" else "2"
    first.click()
    page.keyboard.type(new)
    status = page.locator(".fe-wrap:has(.fe-grid) .fe-status")
    expect(status).to_have_text("1 rechazado: vea la celda marcada")  # kept in the browser, marked, not sent

    def corrections():
        dispose_engine(demo_db_url)
        with read_session() as session:
            return [e.reason for e in session.execute(sa.select(AuditEvent).where(
                AuditEvent.entity == "respondent", AuditEvent.action == "update")).scalars()]

    assert corrections() == []
    reason_box = panel.get_by_label("Motivo del cambio (auditoría validada)", exact=True)
    reason_box.fill(REASON)
    reason_box.press("Enter")
    wait_for_app(page)
    expect(status).to_have_text("Todo guardado")
    assert eventually(corrections, [REASON]) == [REASON]
    with read_session() as session:
        ratings = {r.rating for r in session.execute(sa.select(FeedbackRating)).scalars()}
    assert int(new) in ratings
