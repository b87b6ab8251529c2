"""A facilitator types two paper questionnaires and one roadmap action from the keyboard; after a reload they are there."""

from __future__ import annotations

from assessments.access import LOCAL_USER
import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect, TimeoutError as PlaywrightTimeout

from tests.e2e.conftest import eventually, wait_for_app

pytestmark = pytest.mark.e2e

ITEMS = ("EFT-01", "EFT-02", "EFT-03", "EFC-01", "EFC-02", "EFC-03",
         "COV-01", "COV-02", "COV-03", "SAT-01", "SAT-02", "SAT-03")


def choose(page, label: str, option: str) -> None:
    """Pick from a select box the keyboard way: focus it, type the option, Enter."""
    box = page.get_by_label(label, exact=True).first
    box.scroll_into_view_if_needed()
    box.click()
    page.keyboard.type(option)
    page.keyboard.press("Enter")


def type_questionnaire(page, *, respondent_type: str, code: str, ratings: str) -> None:
    """The fast path: the type by its first letter, the code, then one digit per question (each moves on), Enter."""
    form = page.locator("form.fe-questionnaire")
    form.locator("[data-field='respondent_type']").focus()
    page.keyboard.type(respondent_type[0])
    form.locator("[data-field='code']").focus()
    page.keyboard.type(code)
    form.locator("[data-field='item:EFT-01']").focus()
    page.keyboard.type(ratings, delay=0)
    page.keyboard.press("Enter")


def shown_table_text(page) -> str:
    """The cells of the table in the open tab (only the open tab's panel holds its tables)."""
    wait_for_app(page)
    cells = page.locator("[role='tabpanel'] [data-testid='stDataFrame'] [role='gridcell']")
    cells.first.wait_for(state="attached")
    return " | ".join(cells.all_text_contents())


def test_two_questionnaires_and_an_action_survive_a_reload(demo_db_url, app_factory, page, tmp_path):
    from db.engine import dispose_engine
    from db.queries import qsip as queries

    # no accounts needed (FOCAS_AUTH=off opens a database without real accounts); no file watcher, so edits
    # elsewhere in the working tree cannot reload the models under the running app mid-test
    app = app_factory(demo_db_url, env={"FOCAS_AUTH": "off", "STREAMLIT_SERVER_FILE_WATCHER_TYPE": "none"})
    page.goto(f"{app.url}/qsip")
    wait_for_app(page)
    page.get_by_role("tab", name="Cuestionarios").click()
    type_questionnaire(page, respondent_type="Usuario", code="E2E-001", ratings="454332215545")
    # the form is empty for the next questionnaire at once, while the first is still on its way
    expect(page.locator("form.fe-questionnaire [data-field='item:EFT-01']")).to_have_value("")
    type_questionnaire(page, respondent_type="Proveedor", code="E2E-002", ratings="555544443333")
    expect(page.locator(".fe-wrap:has(form.fe-questionnaire) .fe-status")).to_have_text("Todo guardado")
    page.screenshot(path=str(tmp_path / "qsip_feedback.png"), full_page=True)

    page.get_by_role("tab", name="Hoja de ruta").click()
    wait_for_app(page)
    page.get_by_text("Agregar una acción a la hoja de ruta").click()
    wait_for_app(page)
    form = page.get_by_test_id("stForm").filter(has=page.get_by_role("button", name="Agregar acción"))
    # on a loaded machine the first click can land while the expander is still drawing: retry the opening
    for _ in range(4):
        form.get_by_label("Barrera que atiende", exact=True).click()
        try:
            page.get_by_role("option").first.wait_for(timeout=5_000)
            break
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
    page.get_by_role("option").first.click()
    form.get_by_label("Acción", exact=True).fill("Aviso radial en awajún con los horarios del CRED")
    deadline = date.today() + timedelta(days=40)
    # the date field is a group of day/month/year segments in Spanish (DD/MM/YYYY): type the digits into the first
    form.get_by_label("Plazo", exact=True).get_by_role("spinbutton").first.click()
    page.keyboard.type(deadline.strftime("%d%m%Y"))
    page.keyboard.press("Escape")
    form.get_by_text("Logro temprano", exact=True).click()
    page.get_by_role("button", name="Agregar acción").click()
    wait_for_app(page)
    page.get_by_text("Acción agregada a la hoja de ruta.").wait_for()

    page.reload()
    wait_for_app(page)
    page.get_by_role("tab", name="Cuestionarios").click()
    panel_cells = page.locator("[role='tabpanel'] [data-testid='stDataFrame'] [role='gridcell']")
    panel_cells.filter(has_text="E2E-002").first.wait_for(state="attached")

    def both_shown() -> tuple[bool, bool]:
        respondents = shown_table_text(page)
        return "E2E-001" in respondents, "E2E-002" in respondents

    assert eventually(both_shown, (True, True)) == (True, True)
    page.get_by_role("tab", name="Hoja de ruta").click()
    panel_cells.filter(has_text="Aviso radial en awajún").first.wait_for(state="attached")
    page.screenshot(path=str(tmp_path / "qsip_roadmap.png"), full_page=True)
    assert eventually(lambda: "Aviso radial en awajún con los horarios del CRED" in shown_table_text(page), True)

    dispose_engine(demo_db_url)
    audits = queries.audits(LOCAL_USER)
    # the page opens on the first cluster of the first department (Amazonas: Condorcanqui), latest cycle
    audit_id = audits.loc[(audits["cluster"] == "Condorcanqui") & (audits["cycle_year"] == 2014), "id"].item()
    entered = queries.respondents(LOCAL_USER, audit_id).set_index("code")
    assert entered.loc["E2E-001", "respondent_type"] == "user" and entered.loc["E2E-001", "n_ratings"] == 12
    assert entered.loc["E2E-001", "mean_rating"] == pytest.approx(round(43 / 12, 2))
    assert entered.loc["E2E-002", "respondent_type"] == "provider"
    action = queries.actions(LOCAL_USER, audit_id).set_index("description").loc["Aviso radial en awajún con los horarios del CRED"]
    assert action["deadline"] == deadline and bool(action["quick_win"])


def test_a_rating_is_corrected_from_the_keyboard_in_the_questionnaire_grid(demo_db_url, app_factory, page):
    from db.engine import dispose_engine
    from db.queries import qsip as queries

    app = app_factory(demo_db_url)
    page.goto(f"{app.url}/qsip")
    wait_for_app(page)
    page.get_by_role("tab", name="Cuestionarios").click()
    page.get_by_text("Corregir calificaciones ya ingresadas").click()
    grid = page.locator(".fe-grid")
    expect(grid).to_be_visible()
    first = grid.locator(".fe-cell[data-row='0'][data-col='0']")
    before = first.get_attribute("data-value")
    new = "1" if before != "1" else "2"
    first.click()
    page.keyboard.type(new)
    expect(page.locator(".fe-wrap:has(.fe-grid) .fe-status")).to_have_text("Todo guardado")
    dispose_engine(demo_db_url)
    audits = queries.audits(LOCAL_USER)
    audit_id = audits.loc[(audits["cluster"] == "Condorcanqui") & (audits["cycle_year"] == 2014), "id"].item()
    oldest = queries.respondents(LOCAL_USER, audit_id).sort_values("created_at").iloc[0]["id"]
    ratings = queries.ratings(LOCAL_USER, audit_id, with_previous_cycles=False)
    item = ratings.loc[ratings["respondent_id"] == oldest].sort_values("item_code")
    first_item = queries.feedback_items(LOCAL_USER, audit_id).iloc[0]["item_code"]
    value = eventually(lambda: int(queries.ratings(LOCAL_USER, audit_id, with_previous_cycles=False).set_index(
        ["respondent_id", "item_code"]).loc[(oldest, first_item), "rating"]), int(new))
    assert value == int(new) and len(item) > 0
