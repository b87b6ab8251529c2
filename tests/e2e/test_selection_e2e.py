"""A real browser scores two candidate provinces in the grid and creates the cluster from the winner."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tests.e2e.conftest import eventually, wait_for_app

pytestmark = pytest.mark.e2e


def type_into_cell(page, grid, *, row: int, column: int, text: str) -> None:
    """Select row ``row``'s first cell (0 = first data row), move right ``column`` cells, Enter, type, Enter."""
    grid.scroll_into_view_if_needed()
    box = grid.locator("canvas").first.bounding_box()
    row_height = 35  # header row, then data rows, all 35 px high at the default density
    page.mouse.click(box["x"] + 20, box["y"] + row_height * (row + 1) + row_height / 2)
    page.wait_for_timeout(300)  # the grid takes focus and selects the cell before keys arrive
    for _ in range(column):
        page.keyboard.press("ArrowRight")
        page.wait_for_timeout(100)
    page.keyboard.press("Enter")
    page.locator("input.gdg-input, textarea.gdg-input").first.fill(text)
    page.keyboard.press("Enter")
    wait_for_app(page)


def test_score_two_provinces_and_create_the_cluster_from_the_winner(db_url, app_factory, page, tmp_path):
    app = app_factory(db_url, env={"FOCAS_AUTH": "off"})
    page.goto(f"{app.url}/selection")
    wait_for_app(page)
    expect(page.get_by_role("heading", name="Selección de clústeres")).to_be_visible()

    page.get_by_test_id("stSelectbox").first.click()
    page.get_by_role("option", name="Madre de Dios (17)").click()
    wait_for_app(page)
    page.get_by_role("button", name="Crear selección").click()
    wait_for_app(page)
    expect(page.get_by_text("Selección creada.")).to_be_visible()
    wait_for_app(page)

    # the score grid: rows 1701 Tambopata, 1702 Manu, 1703 Tahuamanu; column 2 = population density
    page.wait_for_timeout(1000)
    grid = page.get_by_test_id("stDataFrame").nth(2)
    type_into_cell(page, grid, row=1, column=2, text="5")
    page.screenshot(path=str(tmp_path / "first.png"), full_page=True)
    page.wait_for_timeout(1000)
    grid = page.get_by_test_id("stDataFrame").nth(2)
    type_into_cell(page, grid, row=2, column=2, text="2")
    page.screenshot(path=str(tmp_path / "scored.png"), full_page=True)

    from assessments import selection
    from db.engine import read_session
    from db.models import SelectionScore

    # Manu (5 + 1) / 2 = 3, Tahuamanu (2 + 1) / 2 = 1.5, Tambopata 1 (only the P20 fact)
    record_id = selection.records("17")["id"].iloc[0]

    def saved_scores() -> list[float]:
        with read_session() as session:
            return sorted(session.execute(sa.select(SelectionScore.score)).scalars())

    assert eventually(saved_scores, [1.0, 1.0, 1.0, 2.0, 5.0]) == [1.0, 1.0, 1.0, 2.0, 5.0]
    ranking = selection.ranking(record_id)
    assert list(ranking["name"]) == ["Manu", "Tahuamanu", "Tambopata"]
    assert ranking["total"].tolist() == [3.0, 1.5, 1.0]

    # the winner is offered first; give the cluster a sector and create it
    winner = page.get_by_test_id("stSelectbox").filter(has_text="Provincia ganadora")
    page.screenshot(path=str(tmp_path / "before_create.png"), full_page=True)
    expect(winner.locator("input")).to_have_value("Manu (1702)")
    page.get_by_role("combobox", name="Servicios priorizados").click()
    page.keyboard.type("Salud")
    page.get_by_role("option", name="Salud").click()
    page.keyboard.press("Escape")
    page.get_by_role("button", name="Crear clúster").click()
    wait_for_app(page)
    page.screenshot(path=str(tmp_path / "created.png"), full_page=True)
    expect(page.get_by_text("Clúster «Manu» creado y vinculado a esta selección.")).to_be_visible()

    from db.models import Cluster, SelectionRecord

    with read_session() as session:
        cluster = session.execute(sa.select(Cluster)).scalar_one()
        record = session.execute(sa.select(SelectionRecord)).scalar_one()
    assert (cluster.name, cluster.department_code, cluster.wave) == ("Manu", "17", 1)
    assert record.cluster_id == cluster.id
