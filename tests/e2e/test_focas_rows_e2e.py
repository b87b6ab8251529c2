"""A real browser types ten participants' sheets into the quick row entry as fast as keys go, then reloads.

Every typed score must be in the database and in the grid after a reload; a bad line saves nothing,
keeps what was typed and says which line, position and range.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tests.e2e.conftest import wait_for_app
from tests.e2e.test_focas_workshop_e2e import open_scores

pytestmark = pytest.mark.e2e

SHOTS = Path("/tmp/shots")
CODES = ["ADM-01", "ADM-02", "ADM-03", "ADM-04"]
# participant -> ADM-01..ADM-04 as read aloud from ten paper sheets; None is a "no sabe" typed as - or .
SHEETS = {
    "P01": [3, 2, 4, 1], "P02": [2, 2, 3, 1], "P03": [4, 1, 3, 2], "P04": [1, None, 2, 2], "P05": [4, 4, 4, 4],
    "P06": [2, 3, None, 1], "P07": [1, 1, 1, 1], "P08": [3, 3, 2, 4], "P09": [2, 4, 1, 3], "P10": [4, 2, 2, None],
}
# the ways people type a row: spaced, packed, commas, "." or "-" for a blank
STYLES = ("spaced", "packed", "commas")


def typed(scores: list[int | None], style: str, blank: str) -> str:
    symbols = [blank if s is None else str(s) for s in scores]
    return {"spaced": " ".join, "packed": "".join, "commas": ",".join}[style](symbols)


@pytest.fixture
def workshop(db_url):
    """One draft baseline (the first demo cluster's regional government) with ten participants, no scores."""
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
        for n in range(1, 11):
            focas.add_participant(session=session, actor=LOCAL_USER, assessment_id=assessment.id,
                                  data=focas.ParticipantInput(full_name=f"Participante {n}"))
        assessment_id = assessment.id
    dispose_engine(db_url)
    return db_url, assessment_id


def saved_scores(assessment_id) -> dict[str, list[int | None]]:
    from db.queries import focas as queries

    grid = queries.score_grid(assessment_id, "ADM")
    values = grid[CODES].astype(object).where(grid[CODES].notna(), None).values.tolist()
    return {code: [None if v is None else int(v) for v in row] for code, row in zip(grid["code"], values)}


def row_field(page, app_factory, db_url: str):
    """Start the app, open the FOCAS scores on the quick row entry, and put the cursor in its field."""
    app = app_factory(db_url)
    open_scores(page, app.url)
    page.get_by_text("Ingreso rápido por filas", exact=True).click()
    field = page.get_by_label("Puntajes, una línea por participante")
    expect(field).to_be_visible()
    wait_for_app(page)
    field.click()
    return app, field


def test_ten_rows_typed_at_full_speed_are_all_saved_and_survive_a_reload(workshop, app_factory, page):
    db_url, assessment_id = workshop
    app, field = row_field(page, app_factory, db_url)
    lines = [typed(scores, STYLES[i % 3], "-.".__getitem__(i % 2)) for i, scores in enumerate(SHEETS.values())]
    started = time.perf_counter()
    for line in lines:  # no waits between keys or rows: Enter goes to the next participant's line
        page.keyboard.type(line, delay=0)
        page.keyboard.press("Enter")
    page.keyboard.press("Control+Enter")
    saved = page.get_by_text(re.compile(r"10 fila\(s\) guardada\(s\)"))
    expect(saved).to_be_visible()
    elapsed = time.perf_counter() - started
    n_scores = sum(s is not None for scores in SHEETS.values() for s in scores)
    print(f"\nrow entry: {len(lines)} rows, {n_scores} scores in {elapsed:.2f} s "
          f"= {n_scores / elapsed * 60:.0f} scores/min ({len(lines) / elapsed * 60:.0f} rows/min), typed+saved")
    expect(field).to_have_value("")  # the field is clear for the next pile of sheets
    expect(page.get_by_text("Todos los participantes tienen puntajes en esta área")).to_be_visible()
    assert saved_scores(assessment_id) == SHEETS, app.log()[-2000:]

    page.reload()
    open_scores(page, app.url)
    expect(page.get_by_text(f"{n_scores} de 40 puntajes ingresados")).to_be_visible()
    cells = page.locator("[data-testid='stDataFrame']:visible").first.locator("td[role='gridcell']")
    expect(cells).to_have_count(10 * 5)
    texts = [text.strip() for text in cells.all_inner_texts()]
    for code, scores in SHEETS.items():
        row = texts.index(next(t for t in texts if t.startswith(code)))
        assert texts[row + 1:row + 5] == ["" if s is None else str(s) for s in scores]
    assert saved_scores(assessment_id) == SHEETS


def test_a_bad_line_saves_nothing_keeps_the_text_and_names_the_position(workshop, app_factory, page):
    db_url, assessment_id = workshop
    app, field = row_field(page, app_factory, db_url)
    page.keyboard.type("3 2 4 1", delay=0)
    page.keyboard.press("Enter")
    page.keyboard.type("2 2 7 1", delay=0)
    page.keyboard.press("Control+Enter")
    error = page.get_by_text("Línea 2 (P02), posición 3 (ADM-03): 7 está fuera de la escala (1 a 4)")
    expect(error).to_be_visible()
    expect(field).to_have_value("3 2 4 1\n2 2 7 1")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "focas_rows_bad_input.png"), full_page=True)
    assert all(v is None for scores in saved_scores(assessment_id).values() for v in scores)

    # corrected in place, the same two lines go to the same two people
    wait_for_app(page)  # the error's run has finished drawing: the correction is typed into the live field
    field.fill("3 2 4 1\n2 2 3 1")
    expect(field).to_have_value("3 2 4 1\n2 2 3 1")
    started = time.perf_counter()
    page.keyboard.press("Control+Enter")
    expect(page.get_by_text("2 fila(s) guardada(s): P01 · Participante 1, P02 · Participante 2.")).to_be_visible()
    print(f"\none save (Ctrl+Enter to confirmation): {time.perf_counter() - started:.2f} s")
    scores = saved_scores(assessment_id)
    assert (scores["P01"], scores["P02"], scores["P03"]) == ([3, 2, 4, 1], [2, 2, 3, 1], [None] * 4)
    # the form moved on to the next participant without scores
    expect(page.get_by_role("combobox", name="Empezar por")).to_have_value("P03 · Participante 3")


def test_a_reload_comes_back_to_the_same_government_round_area_and_entry(workshop, app_factory, page):
    db_url, _ = workshop
    app = app_factory(db_url)
    open_scores(page, app.url)
    page.get_by_text("HR", exact=True).first.click()
    expect(page.get_by_text("HR · Recursos humanos y desarrollo profesional")).to_be_visible()
    wait_for_app(page)
    page.get_by_text("Ingreso rápido por filas", exact=True).click()
    expect(page.get_by_label("Puntajes, una línea por participante")).to_be_visible()
    wait_for_app(page)

    page.reload()  # the facilitator's browser reloads mid-workshop
    wait_for_app(page)
    # straight back to HR's row entry of the same draft, not to the first government's participants
    expect(page.get_by_text("HR · Recursos humanos y desarrollo profesional")).to_be_visible()
    expect(page.get_by_label("Puntajes, una línea por participante")).to_be_visible()
    expect(page.get_by_role("combobox", name="Ronda")).to_have_value("Línea de base")
    assert "round=baseline" in page.url and "area=HR" in page.url and "entry=rows" in page.url
