"""A real browser runs a small FOCAS workshop: three people, one area, typed from the keyboard, then reloads.

Everything typed must be in the database at once (no save button) and still on screen after a reload.
"""

from __future__ import annotations

import sqlalchemy as sa
import pytest
from playwright.sync_api import expect, TimeoutError as PlaywrightTimeout

from tests.e2e.conftest import eventually, wait_for_app

pytestmark = pytest.mark.e2e

WHO_WIDTH = 240  # pages/focas_workshop.py GRID_WHO_WIDTH
CELL_WIDTH = 90  # pages/focas_workshop.py GRID_CELL_WIDTH
ROW_HEIGHT = 35
KEY_DELAY_MS = 150
# participant -> ADM-01..ADM-04, as a facilitator would read them from three paper sheets
SHEETS = {"P01": [3, 2, 4, 1], "P02": [2, 2, 3, 1], "P03": [4, 1, 3, 2]}


@pytest.fixture
def workshop(db_url):
    """One draft baseline (Amazonas regional government, first cluster) with three participants."""
    from assessments import focas
    from assessments.access import LOCAL_USER
    from db.demo import load_demo_clusters
    from db.engine import dispose_engine, write_session
    from db.models import ClusterMember, Government

    with write_session() as session:
        cluster = load_demo_clusters(session)[0]
        government = session.execute(
            sa.select(Government.id).join(ClusterMember, ClusterMember.government_id == Government.id)
            .where(ClusterMember.cluster_id == cluster.id, Government.level == "regional")).scalar_one()
        assessment, _ = focas.start_assessment(session=session, actor=LOCAL_USER, government_id=government,
                                               cluster_id=cluster.id, round="baseline")
        for name in ("Rosa Sangama", "Wilson Tuesta", "Nelly Ampam"):
            focas.add_participant(session=session, actor=LOCAL_USER, assessment_id=assessment.id,
                                  data=focas.ParticipantInput(full_name=name))
        assessment_id = assessment.id
    dispose_engine(db_url)
    return db_url, assessment_id


def saved_scores(assessment_id) -> dict[str, list[int | None]]:
    from db.queries import focas as queries

    grid = queries.score_grid(assessment_id, "ADM")
    return {code: [None if v is None else int(v) for v in row]
            for code, row in zip(grid["code"], grid[["ADM-01", "ADM-02", "ADM-03", "ADM-04"]].astype(object)
                                 .where(grid[["ADM-01", "ADM-02", "ADM-03", "ADM-04"]].notna(), None).values.tolist())}


def open_scores(page, url: str) -> None:
    # through the navigation: a deep link on a fresh server shows Streamlit's "Page not found" dialog once
    page.goto(url)
    wait_for_app(page)
    page.get_by_role("link", name="Taller FOCAS").click()
    wait_for_app(page)
    page.get_by_text("2. Puntajes y consenso").click()
    wait_for_app(page)


def grid_box(page):
    grid = page.locator("[data-testid='stDataFrame']:visible").first
    grid.wait_for()
    return grid.bounding_box()


def click_cell(page, row: int, column: int) -> None:
    box = grid_box(page)
    page.mouse.click(box["x"] + WHO_WIDTH + CELL_WIDTH * column + CELL_WIDTH / 2,
                     box["y"] + ROW_HEIGHT * (row + 1) + ROW_HEIGHT / 2)


def cell_texts(page) -> list[str]:
    """What the grid shows, read from its accessibility table (rows of participant and four scores)."""
    cells = page.locator("[data-testid='stDataFrame']:visible").first.locator("td[role='gridcell']")
    return [cells.nth(i).inner_text().strip() for i in range(cells.count())]


def test_typed_scores_are_saved_at_once_and_survive_a_reload(workshop, app_factory, page, tmp_path):
    db_url, assessment_id = workshop
    # no file watcher: a source file saved meanwhile must not restart the page under the typist
    app = app_factory(db_url, env={"FOCAS_AUTH": "off", "STREAMLIT_SERVER_FILE_WATCHER_TYPE": "none"})
    open_scores(page, app.url)
    # column by column, as the room calls out one indicator at a time: digit, Enter (moves down)
    # at a brisk human pace (a score every 0.3 s), faster than anyone reads a sheet aloud
    for column in range(4):
        wait_for_app(page)
        click_cell(page, 0, column)
        page.wait_for_timeout(300)
        for code in SHEETS:
            page.keyboard.type(str(SHEETS[code][column]), delay=KEY_DELAY_MS)
            page.wait_for_timeout(KEY_DELAY_MS)
            page.keyboard.press("Enter")
            page.wait_for_timeout(KEY_DELAY_MS)
    wait_for_app(page)
    page.wait_for_timeout(500)
    wait_for_app(page)
    page.screenshot(path=str(tmp_path / "typed.png"), full_page=True)
    assert eventually(lambda: saved_scores(assessment_id), SHEETS) == SHEETS, app.log()[-2000:]

    # a bad value is refused with a message naming the cell, and nothing changes in the database
    error = page.get_by_text("P02 · ADM-03: 7 está fuera de la escala (1 a 4)")
    for _ in range(3):  # a click that lands while the grid redraws opens no editor: type the cell again
        wait_for_app(page)
        click_cell(page, 1, 2)
        page.wait_for_timeout(300)
        page.keyboard.type("7")
        page.wait_for_timeout(KEY_DELAY_MS)
        page.keyboard.press("Enter")
        wait_for_app(page)
        try:
            error.wait_for(timeout=8_000)
            break
        except PlaywrightTimeout:
            continue
    error.wait_for()
    assert saved_scores(assessment_id) == SHEETS

    page.reload()
    open_scores(page, app.url)
    # the count under the grid, then the grid's own cells once its last participant's row is drawn
    expect(page.get_by_text("12 de 12 puntajes ingresados")).to_be_visible()
    grid_cells = page.locator("[data-testid='stDataFrame']:visible").first.locator("td[role='gridcell']")
    grid_cells.filter(has_text="P03").first.wait_for(state="attached")
    page.screenshot(path=str(tmp_path / "reloaded.png"), full_page=True)
    texts = cell_texts(page)
    for code, scores in SHEETS.items():
        row = texts.index(next(t for t in texts if t.startswith(code)))
        assert texts[row + 1:row + 5] == [str(s) for s in scores]
    assert saved_scores(assessment_id) == SHEETS
