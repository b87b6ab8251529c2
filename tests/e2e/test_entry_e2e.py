"""The workshop entry surface in a real browser: nothing typed is lost, whatever happens to the connection.

Keys are typed with no delay between them; the database must end up holding every score in the right
cell, after a reload, a server kill and restart, a paste from a spreadsheet, and two tabs on one cell.
"""

from __future__ import annotations

from assessments.access import LOCAL_USER
import random
import time

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tests.e2e.conftest import eventually, start_app, wait_for_app

pytestmark = pytest.mark.e2e
NAMES = ["Rosa Sangama", "Wilson Tuesta", "Nelly Ampam", "Jorge Pinedo", "Lidia Tapullima", "Edwin Shapiama",
         "Marleni Huaymacari", "Ruth Chota", "Segundo Cachique", "Teresa Panduro"]


def make_workshop(n_people: int) -> tuple:
    """A draft baseline of the first demo cluster's regional government with ``n_people`` participants."""
    from assessments import focas
    from assessments.access import LOCAL_USER
    from db.demo import load_demo_clusters
    from db.engine import write_session
    from db.models import ClusterMember, Government

    with write_session() as session:
        cluster = load_demo_clusters(session)[0]
        government = session.execute(
            sa.select(Government.id).join(ClusterMember, ClusterMember.government_id == Government.id)
            .where(ClusterMember.cluster_id == cluster.id, Government.level == "regional")).scalar_one()
        assessment, _ = focas.start_assessment(session=session, actor=LOCAL_USER, government_id=government,
                                               cluster_id=cluster.id, round="baseline")
        for i in range(n_people):
            focas.add_participant(session=session, actor=LOCAL_USER, assessment_id=assessment.id,
                                  data=focas.ParticipantInput(full_name=f"{NAMES[i % len(NAMES)]} {i + 1}", sex="female"))
        return assessment.id


@pytest.fixture
def workshop(db_url):
    from db.engine import dispose_engine

    assessment_id = make_workshop(6)
    dispose_engine(db_url)
    return db_url, assessment_id


def stored(assessment_id) -> dict:
    """{"<participant code>|<indicator>": score} as the database holds it now."""
    from db.engine import dispose_engine, read_session
    from db.models import Indicator, Participant, ParticipantScore

    dispose_engine()
    with read_session() as session:
        rows = session.execute(
            sa.select(Participant.code, Indicator.code, ParticipantScore.score)
            .join(Participant, Participant.id == ParticipantScore.participant_id)
            .join(Indicator, Indicator.id == ParticipantScore.indicator_id)
            .where(ParticipantScore.assessment_id == assessment_id)).all()
    return {f"{p}|{i}": s for p, i, s in rows}


def area_layout(assessment_id) -> tuple[list[str], dict[str, list[str]]]:
    """Participant codes in screen order and each area's indicator codes in screen order."""
    from db.queries import focas as queries

    header = queries.assessment_header(LOCAL_USER, assessment_id)
    instrument = queries.instrument(header["instrument_id"])
    people = list(queries.participants(LOCAL_USER, assessment_id)["code"])
    return people, {area.code: area.indicator_codes() for area in instrument.areas}


def open_section(page, url: str, section: str) -> None:
    page.goto(url)
    wait_for_app(page)
    page.get_by_role("link", name="Taller FOCAS").click()
    wait_for_app(page)
    page.get_by_text(section).click()
    wait_for_app(page)


def open_scores(page, url: str):
    open_section(page, url, "2. Puntajes y consenso")
    grid = page.locator(".fe-grid")
    expect(grid).to_be_visible()
    return grid


SURFACE = {"grid": ".fe-wrap:has(.fe-grid)", "register": ".fe-wrap:has(form.fe-register)"}


def status(page, surface: str = "grid"):
    """The status line of one entry surface (the page may still show another one for a moment)."""
    return page.locator(f"{SURFACE[surface]} .fe-status")


def all_saved(page, timeout: int = 60_000, surface: str = "grid") -> None:
    expect(status(page, surface)).to_have_text("Todo guardado", timeout=timeout)


def cell(page, participant_index: int, column: int):
    return page.locator(f".fe-cell[data-row='{participant_index}'][data-col='{column}']")


def type_area(page, digits: str) -> None:
    """Click the area's first cell and type its digits along the participants' sheets, no delay."""
    cell(page, 0, 0).click()
    page.keyboard.type(digits, delay=0)


def test_a_thousand_scores_typed_without_delay_all_land_in_the_right_cells(workshop, app_factory, page):
    db_url, assessment_id = workshop
    from db.engine import dispose_engine, write_session
    from assessments import focas
    from assessments.access import LOCAL_USER

    with write_session() as session:  # 28 people × 37 indicators = 1,036 scores
        for i in range(6, 28):
            focas.add_participant(session=session, actor=LOCAL_USER, assessment_id=assessment_id,
                                  data=focas.ParticipantInput(code=f"X{i:02d}", sex="male"))
    dispose_engine(db_url)
    people, areas = area_layout(assessment_id)
    rng = random.Random(12)
    expected = {}
    app = app_factory(db_url)
    open_scores(page, app.url)
    for n, (area, codes) in enumerate(areas.items()):
        if n:
            page.keyboard.press("PageDown")
            expect(page.locator(f"[role='grid'][data-area='{area}']")).to_be_visible()
        digits = []
        for person in people:
            for code in codes:
                value = rng.randint(1, 4)
                expected[f"{person}|{code}"] = value
                digits.append(str(value))
        type_area(page, "".join(digits))
    assert len(expected) >= 1000
    all_saved(page, timeout=120_000)
    assert eventually(lambda: stored(assessment_id), expected) == expected


def test_killing_the_server_mid_typing_loses_nothing(workshop, app_factory, page, tmp_path):
    db_url, assessment_id = workshop
    people, areas = area_layout(assessment_id)
    area, codes = next(iter(areas.items()))
    app = app_factory(db_url)
    open_scores(page, app.url)
    expected = {}
    values = [(p, c, (i % 4) + 1) for i, (p, c) in enumerate((p, c) for p in people for c in codes)]
    third = len(values) // 3
    before, during, after = values[:third], values[third:2 * third], values[2 * third:]
    type_area(page, "".join(str(v) for _, _, v in before))
    all_saved(page)
    # the server dies while the facilitator goes on typing
    app.process.kill()
    app.process.wait()
    page.keyboard.type("".join(str(v) for _, _, v in during), delay=0)
    expect(status(page)).to_contain_text("pendiente")
    assert stored(assessment_id) == {f"{p}|{c}": v for p, c, v in before}
    # a new server on the same port: the tab reconnects by itself; the facilitator keeps typing meanwhile
    restarted = start_app(db_url, tmp_path / "restarted.log", port=app.port)
    try:
        page.keyboard.type("".join(str(v) for _, _, v in after), delay=0)
        all_saved(page, timeout=90_000)
        expected = {f"{p}|{c}": v for p, c, v in values}
        assert eventually(lambda: stored(assessment_id), expected) == expected
    finally:
        restarted.stop()


def test_a_reload_mid_typing_sends_the_rest_from_the_journal(workshop, app_factory, page):
    db_url, assessment_id = workshop
    people, areas = area_layout(assessment_id)
    codes = next(iter(areas.values()))
    app = app_factory(db_url)
    open_scores(page, app.url)
    values = {f"{p}|{c}": ((i * 7) % 4) + 1 for i, (p, c) in enumerate((p, c) for p in people for c in codes)}
    # typed, then reloaded at once: whatever had not reached the server is still in the browser's journal
    type_area(page, "".join(str(v) for v in values.values()))
    page.reload()
    wait_for_app(page)
    expect(page.locator(".fe-grid")).to_be_visible()
    all_saved(page)
    assert eventually(lambda: stored(assessment_id), values) == values
    # and the grid shows what is stored
    assert cell(page, 0, 0).get_attribute("data-value") == str(values[f"{people[0]}|{codes[0]}"])


def test_pasting_a_10_by_8_block_from_a_spreadsheet_fills_the_cells_it_covers(workshop, app_factory, page):
    db_url, assessment_id = workshop
    from db.engine import dispose_engine, write_session
    from assessments import focas
    from assessments.access import LOCAL_USER

    with write_session() as session:
        for i in range(6, 10):
            focas.add_participant(session=session, actor=LOCAL_USER, assessment_id=assessment_id,
                                  data=focas.ParticipantInput(code=f"X{i:02d}", sex="male"))
        # the counterpart's own version: two indicators of their own make an area of six (the most allowed)
        current = [a.code for a in focas.read_focas(session, focas._assessment(session, assessment_id).instrument_id).areas]
        focas.customise_instrument(session=session, actor=LOCAL_USER, assessment_id=assessment_id, area_codes=current,
                                   new_indicators=[focas.CustomIndicator(area_code="HR", name_es=f"Propio {i}",
                                                                         name_en=f"Own {i}", descriptors={})
                                                   for i in range(2)])
    dispose_engine(db_url)
    people, areas = area_layout(assessment_id)
    area, codes = next((a, c) for a, c in areas.items() if len(c) == 6)
    app = app_factory(db_url)
    open_scores(page, app.url)
    page.locator(f".fe-area:text-is('{area}')").click()
    expect(page.locator(f"[role='grid'][data-area='{area}']")).to_be_visible()
    block = [[((r + c) % 4) + 1 for c in range(8)] for r in range(10)]
    tsv = "\r\n".join("\t".join(str(v) for v in row) for row in block) + "\r\n"  # as Excel copies it
    cell(page, 0, 0).click()
    page.locator(".fe-grid").evaluate("""(grid, text) => {
        const data = new DataTransfer(); data.setData('text/plain', text);
        grid.dispatchEvent(new ClipboardEvent('paste', {clipboardData: data, bubbles: true, cancelable: true}));
    }""", tsv)
    # the block is two columns wider than the area: those cells are reported, not put elsewhere
    expect(page.locator(f"{SURFACE['grid']} .fe-say")).to_have_text("60 celdas pegadas; 20 quedaban fuera de la tabla y no se pegaron.")
    all_saved(page)
    expected = {f"{people[r]}|{codes[c]}": block[r][c] for r in range(10) for c in range(6)}
    assert eventually(lambda: stored(assessment_id), expected) == expected


def test_two_tabs_on_one_cell_the_second_is_refused_on_that_cell_with_both_values(workshop, app_factory, browser):
    db_url, assessment_id = workshop
    people, areas = area_layout(assessment_id)
    codes = next(iter(areas.values()))
    app = app_factory(db_url)
    first = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="es-PE").new_page()
    second = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="es-PE").new_page()
    try:
        open_scores(first, app.url)
        open_scores(second, app.url)  # both tabs show the cell empty
        cell(first, 0, 0).click()
        first.keyboard.type("3")
        all_saved(first)
        cell(second, 0, 0).click()
        second.keyboard.type("1")
        refused = cell(second, 0, 0)
        expect(refused).to_have_attribute("data-state", "refused")
        expect(refused).to_contain_text("3")  # theirs, beside mine
        expect(refused).to_have_attribute("data-value", "1")
        assert stored(assessment_id)[f"{people[0]}|{codes[0]}"] == 3
        # typing again over the refusal replaces theirs knowingly
        cell(second, 0, 0).click()
        second.keyboard.type("2")
        all_saved(second)
        assert eventually(lambda: stored(assessment_id)[f"{people[0]}|{codes[0]}"], 2) == 2
    finally:
        first.context.close()
        second.context.close()


def test_off_scale_digit_is_refused_on_the_cell_and_not_saved(workshop, app_factory, page):
    db_url, assessment_id = workshop
    app = app_factory(db_url)
    open_scores(page, app.url)
    cell(page, 0, 0).click()
    page.keyboard.type("93")
    bad = cell(page, 0, 0)
    expect(bad).to_have_attribute("data-state", "refused")
    expect(bad).to_contain_text("fuera de escala")
    expect(status(page)).to_contain_text("1 rechazado")
    expect(cell(page, 0, 1)).to_have_attribute("data-state", "saved")
    people, areas = area_layout(assessment_id)
    codes = next(iter(areas.values()))
    assert eventually(lambda: stored(assessment_id), {f"{people[0]}|{codes[1]}": 3}) == {f"{people[0]}|{codes[1]}": 3}


def test_twelve_participants_typed_back_to_back_are_all_registered(db_url, app_factory, page):
    from db.engine import dispose_engine
    from db.queries import focas as queries

    assessment_id = make_workshop(0)
    dispose_engine(db_url)
    app = app_factory(db_url)
    open_section(page, app.url, "1. Participantes")
    form = page.locator("form.fe-register")
    expect(form).to_be_visible()
    form.locator("[data-field='code']").click()
    for i in range(12):
        # code, name, sex by its first letter (M = Mujer, H = Hombre), Enter: no pause between people
        page.keyboard.type(f"R{i:02d}", delay=0)
        page.keyboard.press("Tab")
        page.keyboard.type(f"Persona {i}", delay=0)
        page.keyboard.press("Tab")
        page.keyboard.type("M" if i % 2 else "H", delay=0)
        page.keyboard.press("Enter")
    # one with neither name nor code is refused in place, and nothing empty is added
    page.keyboard.press("Enter")
    expect(page.locator(f"{SURFACE['register']} .fe-say")).to_contain_text("nombre o un código")
    all_saved(page, surface="register")
    people = eventually(lambda: sorted(queries.participants(LOCAL_USER, assessment_id)["code"]), [f"R{i:02d}" for i in range(12)])
    assert people == [f"R{i:02d}" for i in range(12)]
    sexes = dict(zip(queries.participants(LOCAL_USER, assessment_id)["code"], queries.participants(LOCAL_USER, assessment_id)["sex"]))
    assert sexes["R01"] == "female" and sexes["R00"] == "male"


def test_the_consensus_column_takes_agreed_scores_and_evidence_from_the_keyboard(workshop, app_factory, page):
    db_url, assessment_id = workshop
    from db.queries import focas as queries

    people, areas = area_layout(assessment_id)
    app = app_factory(db_url)
    open_scores(page, app.url)
    type_area(page, "4" * len(people) * len(areas["ADM"]))  # everyone said 4 on every ADM indicator
    page.locator(".fe-view").nth(1).click()
    consensus = page.locator("[role='grid'][data-view='consensus']")
    expect(consensus).to_be_visible()
    expect(consensus.locator(".fe-c-median").nth(1)).to_have_text("4.0")  # the median beside the agreed score
    cell(page, 0, 0).click()
    for n in range(len(areas["ADM"])):
        page.keyboard.type(str(n + 1), delay=0)   # agreed, and down to the next indicator
    cell(page, 0, 1).click()
    page.keyboard.type("Actas firmadas", delay=0)  # typing opens the evidence
    page.keyboard.press("Enter")
    page.keyboard.type("Informe", delay=0)
    page.keyboard.press("Enter")
    all_saved(page)
    table = eventually(lambda: queries.consensus_table(LOCAL_USER, assessment_id, "ADM")[["agreed", "evidence"]]
                       .astype(object).values.tolist(), [[1, "Actas firmadas"], [2, "Informe"], [3, ""], [4, ""]])
    assert table == [[1, "Actas firmadas"], [2, "Informe"], [3, ""], [4, ""]]
    # the last area's agreed score is one PageDown away... and Page Up comes back
    page.keyboard.press("PageDown")
    expect(page.locator("[role='grid'][data-area='HR'][data-view='consensus']")).to_be_visible()
    page.keyboard.press("PageUp")
    expect(page.locator("[role='grid'][data-area='ADM'] .fe-cell.fe-c-agreed").first).to_have_attribute("data-value", "1")


class LockHolder:
    """Another program holding the lock a save needs: SQLite's write lock, or PostgreSQL's row lock on the assessment."""

    def __init__(self, db_url: str, assessment_id) -> None:
        self.db_url, self.assessment_id = db_url, assessment_id

    def __enter__(self):
        if self.db_url.startswith("sqlite"):
            import sqlite3

            self.conn = sqlite3.connect(self.db_url.split("///", 1)[1], isolation_level=None)
            self.conn.execute("BEGIN IMMEDIATE")
        else:
            from db.config import normalise_url

            self.engine = sa.create_engine(normalise_url(self.db_url))
            self.conn = self.engine.connect()
            self.conn.begin()
            self.conn.execute(sa.text("SELECT id FROM assessment WHERE id = :id FOR UPDATE"),
                              {"id": self.assessment_id})
        return self

    def __exit__(self, *exc) -> None:
        if self.db_url.startswith("sqlite"):
            self.conn.execute("ROLLBACK")
            self.conn.close()
        else:
            self.conn.rollback()
            self.conn.close()
            self.engine.dispose()


def test_a_locked_database_keeps_the_typing_waiting_with_a_message_then_saves_it(workshop, app_factory, page):
    db_url, assessment_id = workshop
    people, areas = area_layout(assessment_id)
    codes = next(iter(areas.values()))
    app = app_factory(db_url, env={"FOCAS_SQLITE_BUSY_TIMEOUT_MS": "500"})
    open_scores(page, app.url)
    with LockHolder(db_url, assessment_id):
        type_area(page, "1234")
        expect(page.locator(f"{SURFACE['grid']} .fe-say")).to_contain_text("La base de datos está ocupada")
        expect(status(page)).to_contain_text("4 pendientes")
        expect(cell(page, 0, 3)).to_have_attribute("data-state", "waiting")
        assert stored(assessment_id) == {}
    all_saved(page)
    expected = {f"{people[0]}|{c}": v for c, v in zip(codes, (1, 2, 3, 4))}
    assert eventually(lambda: stored(assessment_id), expected) == expected
    expect(page.locator(f"{SURFACE['grid']} .fe-say")).to_have_text("")
