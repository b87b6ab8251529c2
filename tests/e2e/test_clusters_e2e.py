"""A real browser opens the app started with make run's command and finds the demo clusters."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import eventually, wait_for_app

pytestmark = pytest.mark.e2e


def test_clusters_page_shows_the_demo_clusters(demo_app, page, tmp_path):
    page.goto(f"{demo_app.url}/clusters")
    wait_for_app(page)
    expect(page.get_by_role("heading", name="Clústeres de gobiernos subnacionales")).to_be_visible()
    # department picker: choose San Martín, which holds three of the seven proposals
    page.get_by_test_id("stSelectbox").first.click()
    page.get_by_role("option", name="San Martín (22)").click()
    wait_for_app(page)
    cells = page.locator("[data-testid='stDataFrame'] [role='gridcell']")
    expected = ("Lamas", "Moyobamba – Rioja", "Mariscal Cáceres")

    def shown() -> tuple[bool, ...]:
        # the grid redraws its cells after the rerun (later under load); read until the department's rows are in
        text = " | ".join(cells.all_text_contents())
        return tuple(name in text for name in expected) + ("Condorcanqui" not in text,)

    assert eventually(shown, (True,) * (len(expected) + 1), timeout=30) == (True,) * (len(expected) + 1)
    page.screenshot(path=str(tmp_path / "clusters.png"), full_page=True)


def test_language_switch_persists_across_pages(demo_app, page):
    page.goto(f"{demo_app.url}/clusters")
    wait_for_app(page)
    page.get_by_role("radio", name="English").click()
    wait_for_app(page)
    expect(page.get_by_role("heading", name="Clusters of subnational governments")).to_be_visible()
    page.get_by_role("link", name="Instruments").click()
    wait_for_app(page)
    expect(page.get_by_role("heading", name="FOCAS and QSIP instruments")).to_be_visible()
    page.reload()
    wait_for_app(page)
    expect(page.get_by_role("heading", name="FOCAS and QSIP instruments")).to_be_visible()


def test_choices_made_before_a_language_switch_show_in_the_new_language(demo_app, page):
    page.goto(demo_app.url)
    wait_for_app(page)
    page.get_by_role("link", name="Taller FOCAS").click()
    wait_for_app(page)
    page.get_by_role("combobox", name="Ronda").click()
    page.get_by_role("option", name="Medio término").click()
    wait_for_app(page)
    expect(page.get_by_role("combobox", name="Ronda")).to_have_value("Medio término")
    expect(page.get_by_role("combobox", name="Gobierno")).to_have_value(
        "Gobierno Regional de Amazonas (Gobierno regional)")

    page.get_by_role("radio", name="English").click()
    wait_for_app(page)
    expect(page.get_by_role("heading", name="FOCAS workshop")).to_be_visible()
    # the same choices, now labelled in English (the browser would otherwise keep the Spanish labels)
    expect(page.get_by_role("combobox", name="Round")).to_have_value("Midpoint")
    expect(page.get_by_role("combobox", name="Government")).to_have_value(
        "Gobierno Regional de Amazonas (Regional government)")
