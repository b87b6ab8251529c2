"""The page's <html lang> follows the language switch, and Streamlit's own few texts are the ones the README lists."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import eventually, wait_for_app

pytestmark = pytest.mark.e2e

# What Streamlit 1.67 draws itself in this app, in English whatever the language (README, "Languages, numbers, dates and times")
STREAMLIT_OWN = ("Upload", "MB per file")


def document_lang(page) -> str:
    return page.evaluate("document.documentElement.lang")


def test_html_lang_follows_the_switch(demo_app, page):
    page.goto(f"{demo_app.url}/snapshots")
    wait_for_app(page)
    expect(page.get_by_role("heading", name="Instantáneas de datos e intercambio")).to_be_visible()
    assert eventually(lambda: document_lang(page), "es") == "es"

    page.get_by_role("tab", name="Fusionar laptops").click()
    for text in STREAMLIT_OWN:  # the uploader's own words stay English: Streamlit offers no way to change them
        expect(page.get_by_text(text).first).to_be_visible()

    page.get_by_role("radio", name="English").click()
    wait_for_app(page)
    expect(page.get_by_role("heading", name="Data snapshots and exchange")).to_be_visible()
    assert eventually(lambda: document_lang(page), "en") == "en"

    page.get_by_role("radio", name="Español").click()
    wait_for_app(page)
    assert eventually(lambda: document_lang(page), "es") == "es"

    page.reload()  # a reload keeps the language (?lang=) and sets the attribute again
    wait_for_app(page)
    assert eventually(lambda: document_lang(page), "es") == "es"
