"""The progress dashboard in a real browser: overview → filtered detail, printing, offline sheet download."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect, TimeoutError as PlaywrightTimeout

from tests.e2e.conftest import wait_for_app
from tests.test_progress_views import build_dataset

pytestmark = pytest.mark.e2e


@pytest.fixture
def progress_app(session, db_url, app_factory):
    dataset = build_dataset(session)
    session.close()
    # no account in this database: FOCAS_AUTH=off opens it to the local user (see pages/_access_gate.py)
    return app_factory(db_url, env={"FOCAS_AUTH": "off"}), dataset


def test_overview_figures_link_to_their_filtered_detail(progress_app, page):
    app, _ = progress_app
    page.goto(f"{app.url}/?lang=en&dept=22")
    wait_for_app(page)
    metrics = page.get_by_test_id("stMetricValue")
    # San Martín: 1 cluster formed of 4 planned; G1, G2, G3 with a validated baseline
    expect(metrics.nth(0)).to_have_text("1 / 4")
    expect(metrics.nth(1)).to_have_text("3")
    page.get_by_role("link", name="See progress against area targets").click()
    wait_for_app(page)
    assert re.search(r"/progress\?.*dept=22", page.url) and "view=targets" in page.url
    expect(page.get_by_role("tab", selected=True)).to_have_text("Area targets")
    # the filter survived the link: still San Martín, and the note counts its three governments
    expect(page.get_by_text(re.compile(r"2 of 3 governments have validated .Baseline. and .Midpoint. rounds "
                                       r"with comparable indicators"))).to_be_visible()
    # tabs are lazy: opening another one reruns the page and draws its charts
    page.get_by_role("tab", name="QSIP trends").click()
    wait_for_app(page)
    page.get_by_text("Provider − user gap per dimension").first.wait_for()


def test_progress_charts_render_offline_and_export_their_table(progress_app, page):
    app, dataset = progress_app
    external = []
    page.on("request", lambda r: external.append(r.url) if not r.url.startswith((app.url, "data:", "blob:")) else None)
    page.goto(f"{app.url}/progress?lang=es&gov={dataset['gov']['2205']}")
    wait_for_app(page)
    page.locator(".js-plotly-plot").nth(1).wait_for()
    expect(page.get_by_test_id("stMetricValue").first).to_have_text("1.75")
    # nothing the app, its charts or its icons draw may leave the machine
    assert external == [], external
    page.get_by_text("Ver los datos del gráfico").first.click()
    wait_for_app(page)
    button = page.get_by_role("button", name="Descargar CSV").first
    button.wait_for()
    for attempt in range(3):  # a click during a rerun can be swallowed: click again
        try:
            with page.expect_download(timeout=10_000) as download:
                button.click()
            break
        except PlaywrightTimeout:
            if attempt == 2:
                raise
            wait_for_app(page)
    text = open(download.value.path(), encoding="utf-8-sig").read()
    assert text.splitlines()[0].startswith("Área funcional,Puntaje Línea de base,Puntaje Medio término,Cambio")


def test_result_sheet_prints_only_the_sheet_and_downloads_offline_html(progress_app, page, tmp_path):
    app, dataset = progress_app
    page.goto(f"{app.url}/result-sheets?lang=en&cluster={dataset['c1']}")
    wait_for_app(page)
    expect(page.get_by_role("heading", name="Lamas")).to_be_visible()
    page.emulate_media(media="print")
    expect(page.get_by_test_id("stSidebar")).to_be_hidden()
    expect(page.get_by_test_id("stDownloadButton").first).to_be_hidden()
    page.emulate_media(media="screen")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download sheet (HTML, works offline)").click()
    saved = tmp_path / "sheet.html"
    download.value.save_as(saved)
    html_text = open(saved, encoding="utf-8").read()
    assert "<script src=" not in html_text and "Governments of the cluster" in html_text
    # the downloaded sheet opens with the network cut off and draws its chart
    offline = page.context.browser.new_context()
    offline.set_offline(True)
    sheet = offline.new_page()
    sheet.goto(f"file://{saved}")
    sheet.wait_for_selector(".js-plotly-plot .main-svg", timeout=15_000)
    assert sheet.locator("h1").inner_text() == "Lamas"
    offline.close()
