"""Benchmark of the workshop entry surface in headless Chromium: what a facilitator waits for.

Prints ``name: value`` lines:
- keystroke-to-acknowledged latency (p50, p95): from the key that wrote a cell to the moment the
  cell shows "saved" (the server answered its batch), read by a MutationObserver in the page;
- scores per minute typed with no delay between keys, and how many of them the database lacks (lost);
- a scripted facilitator's whole 25 × 40 workshop (register 25 people, 1,000 scores, 40 agreed scores
  with evidence) until everything is saved;
each for the entry surface as shipped (batches of up to 200 cells) and, in the same run, for the naive
baseline of one round trip per keystroke (``FOCAS_ENTRY_BATCH_MAX=1``, how the retired grid sent cells);
- first, without a browser (``--save-only`` runs only this part), one workshop sheet of 30 participants ×
  50 indicators (1,500 scores) saved through the services beside a raw ``executemany`` of the same rows
  (the scores and their audit rows, plus the data-version bump) in one transaction: the entry surface's
  ``apply_batch`` as the page calls it (batches of 200, each its own transaction), and
  ``focas.apply_grid_edits`` (one call per area in one transaction); first the sheet typed into an
  empty assessment (inserts), then every score changed (updates with the values the screen showed).

Usage: python -m scripts.bench_entry [--engine-url postgresql+psycopg://…]   (SQLite in a temp dir otherwise)
       python -m scripts.bench_entry --save-only [--engine-url …]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

N_PEOPLE = 25
OBSERVE = """(grid) => {
  const root = grid.getRootNode();
  window.__feLat = []; const started = new Map();
  new MutationObserver((changes) => {
    const now = performance.now();
    for (const m of changes) {
      const node = m.target; const cell = node.dataset && node.dataset.cell;
      if (!cell) continue;
      if (node.dataset.state === 'waiting' && !started.has(cell)) started.set(cell, now);
      if (node.dataset.state === 'saved' && started.has(cell)) { window.__feLat.push(now - started.get(cell)); started.delete(cell); }
    }
  }).observe(root, {subtree: true, attributes: true, attributeFilter: ['data-state']});
}"""


def prepare_database(url: str) -> object:
    """A migrated database with one draft baseline of 25 people and an instrument of 40 indicators."""
    import sqlalchemy as sa

    os.environ["DATABASE_URL"] = url
    from assessments import focas
    from assessments.access import LOCAL_USER
    from db.demo import load_demo_clusters
    from db.engine import dispose_engine, write_session
    from db.models import ClusterMember, Government
    from db.setup import prepare

    prepare(demo=False, quiet=True)
    with write_session() as session:
        cluster = load_demo_clusters(session)[0]
        government = session.execute(
            sa.select(Government.id).join(ClusterMember, ClusterMember.government_id == Government.id)
            .where(ClusterMember.cluster_id == cluster.id, Government.level == "regional")).scalar_one()
        assessment, _ = focas.start_assessment(session=session, actor=LOCAL_USER, government_id=government,
                                               cluster_id=cluster.id, round="baseline")
        areas = [a.code for a in focas.read_focas(session, assessment.instrument_id).areas]
        focas.customise_instrument(session=session, actor=LOCAL_USER, assessment_id=assessment.id, area_codes=areas,
                                   new_indicators=[focas.CustomIndicator(area_code=code, name_es=f"Propio {code}",
                                                                         name_en=f"Own {code}", descriptors={})
                                                   for code in ("REV", "BUDG", "CPART")])
        assessment_id = assessment.id
    dispose_engine(url)
    return assessment_id


SHEET_PEOPLE = 30
SHEET_INDICATORS = 50
SHEET_BATCH = 200   # what the browser sends at most in one batch
SAVE_REPEATS = 5


def prepare_sheet(url: str) -> object:
    """A migrated database with a draft baseline of 30 people and an instrument of 50 indicators."""
    import sqlalchemy as sa

    os.environ["DATABASE_URL"] = url
    from assessments import focas
    from assessments.access import LOCAL_USER
    from db.demo import load_demo_clusters
    from db.engine import dispose_engine, write_session
    from db.models import ClusterMember, Government
    from db.setup import prepare

    prepare(demo=False, quiet=True)
    with write_session() as session:
        cluster = load_demo_clusters(session)[0]
        government = session.execute(
            sa.select(Government.id).join(ClusterMember, ClusterMember.government_id == Government.id)
            .where(ClusterMember.cluster_id == cluster.id, Government.level == "regional")).scalar_one()
        assessment, _ = focas.start_assessment(session=session, actor=LOCAL_USER, government_id=government,
                                               cluster_id=cluster.id, round="baseline")
        areas = [a.code for a in focas.read_focas(session, assessment.instrument_id).areas]
        have = sum(len(a.indicator_codes()) for a in focas.read_focas(session, assessment.instrument_id).areas)
        focas.customise_instrument(
            session=session, actor=LOCAL_USER, assessment_id=assessment.id, area_codes=areas,
            new_indicators=[focas.CustomIndicator(area_code=areas[i % len(areas)], name_es=f"Propio {i + 1}")
                            for i in range(SHEET_INDICATORS - have)])
        for i in range(SHEET_PEOPLE):
            focas.add_participant(session=session, actor=LOCAL_USER, assessment_id=assessment.id,
                                  data=focas.ParticipantInput(code=f"P{i + 1:02d}", full_name=f"Persona {i + 1}",
                                                              sex=("female", "male")[i % 2]))
        assessment_id = assessment.id
    dispose_engine(url)
    return assessment_id


def measure_save(url: str, emit, *, repeats: int = SAVE_REPEATS) -> dict[str, float]:
    """One workshop sheet through the services and as a raw executemany, medians of ``repeats`` runs."""
    import functools
    import json
    import uuid

    import sqlalchemy as sa

    assessment_id = prepare_sheet(url)
    from assessments import entry, focas
    from assessments.access import LOCAL_USER
    from db.audit import DATA_VERSION_KEY
    from db.engine import get_engine, run_write, write_session
    from db.models import AppMeta, Assessment, AuditEvent, FunctionalArea, Indicator, Participant, ParticipantScore
    from db.models.base import utcnow

    engine = get_engine()
    with engine.connect() as connection:
        instrument_id = connection.execute(sa.select(Assessment.instrument_id)
                                           .where(Assessment.id == assessment_id)).scalar_one()
        indicators = connection.execute(
            sa.select(Indicator.code, Indicator.id, FunctionalArea.code)
            .join(FunctionalArea, FunctionalArea.id == Indicator.area_id)
            .where(FunctionalArea.instrument_id == instrument_id)
            .order_by(FunctionalArea.position, Indicator.position)).all()
        people = connection.execute(sa.select(Participant.id, Participant.code)
                                    .where(Participant.assessment_id == assessment_id)
                                    .order_by(Participant.position)).all()
    assert len(indicators) == SHEET_INDICATORS and len(people) == SHEET_PEOPLE, (len(indicators), len(people))
    rng = random.Random(11)
    first = {(pid, code): rng.randint(1, 4) for pid, _ in people for code, _, _ in indicators}
    second = {cell: 1 + value % 4 for cell, value in first.items()}   # every score changed
    cells = len(first)

    def reset() -> int:
        """No scores again; the audit log is append-only, so how many score audit rows it holds now."""
        with engine.begin() as connection:
            connection.execute(sa.delete(ParticipantScore.__table__)
                               .where(ParticipantScore.__table__.c.assessment_id == assessment_id))
        return stored()[1]

    def stored() -> tuple[int, int]:
        with engine.connect() as connection:
            return (connection.execute(sa.select(sa.func.count()).select_from(ParticipantScore.__table__)
                                       .where(ParticipantScore.__table__.c.assessment_id == assessment_id)).scalar_one(),
                    connection.execute(sa.select(sa.func.count()).select_from(AuditEvent.__table__)
                                       .where(AuditEvent.__table__.c.entity == "participant_score")).scalar_one())

    code_of = dict(people)
    area_of = {code: area for code, _, area in indicators}
    id_of = {code: iid for code, iid, _ in indicators}

    def audit_row(action: str, entity_id, participant, code, before, after) -> dict:
        snapshot = {"assessment_id": str(assessment_id), "area": area_of[code], "participant": code_of[participant],
                    "indicator": code}
        return {"id": uuid.uuid4(), "at": utcnow(), "actor": LOCAL_USER.username, "actor_role": LOCAL_USER.role,
                "action": action, "entity": "participant_score", "entity_id": str(entity_id),
                "before_json": None if before is None else json.dumps({**snapshot, "score": before}),
                "after_json": json.dumps({**snapshot, "score": after}), "reason": None}

    bump = (sa.update(AppMeta.__table__).where(AppMeta.__table__.c.key == DATA_VERSION_KEY)
            .values(value=sa.cast(sa.cast(AppMeta.__table__.c.value, sa.Integer) + 1, sa.String)))

    def raw_insert() -> float:
        now = utcnow()
        scores, audits = [], []
        for (participant, code), value in first.items():
            row_id = uuid.uuid4()
            scores.append({"id": row_id, "assessment_id": assessment_id, "participant_id": participant,
                           "indicator_id": id_of[code], "score": value, "created_at": now, "updated_at": now})
            audits.append(audit_row("create", row_id, participant, code, None, value))
        started = time.perf_counter()
        with engine.begin() as connection:
            connection.execute(sa.insert(ParticipantScore.__table__), scores)
            connection.execute(sa.insert(AuditEvent.__table__), audits)
            connection.execute(bump)
        return time.perf_counter() - started

    def raw_update() -> float:
        table = ParticipantScore.__table__
        with engine.connect() as connection:
            ids = {(p, i): row_id for row_id, p, i in connection.execute(
                sa.select(table.c.id, table.c.participant_id, table.c.indicator_id)
                .where(table.c.assessment_id == assessment_id)).all()}
        now = utcnow()
        changes, audits = [], []
        for (participant, code), value in second.items():
            row_id = ids[(participant, id_of[code])]
            changes.append({"row_id": row_id, "new_score": value, "stamp": now})
            audits.append(audit_row("update", row_id, participant, code, first[(participant, code)], value))
        statement = (sa.update(table).where(table.c.id == sa.bindparam("row_id"))
                     .values(score=sa.bindparam("new_score"), updated_at=sa.bindparam("stamp")))
        started = time.perf_counter()
        with engine.begin() as connection:
            connection.execute(statement, changes)
            connection.execute(sa.insert(AuditEvent.__table__), audits)
            connection.execute(bump)
        return time.perf_counter() - started

    def through_batches(values: dict, expected: dict | None) -> float:
        edits = [entry.CellEdit(cell=f"s|{participant}|{code}", value=value,
                                expected=None if expected is None else expected[(participant, code)])
                 for (participant, code), value in values.items()]
        started = time.perf_counter()
        for start in range(0, len(edits), SHEET_BATCH):
            chunk = edits[start:start + SHEET_BATCH]
            batch = str(uuid.uuid4())
            answer = entry.run_batch(functools.partial(run_write, attempts=2), batch_id=batch, edits=chunk,
                                     lang="es", apply=lambda session, chunk=chunk, batch=batch: entry.apply_batch(
                                         session=session, actor=LOCAL_USER, assessment_id=assessment_id,
                                         batch_id=batch, edits=chunk, lang="es"))
            refused = [c for c, a in answer["cells"].items() if a["status"] != "saved"]
            assert not refused, answer["cells"][refused[0]]
        return time.perf_counter() - started

    def through_grid(values: dict, expected: dict | None) -> float:
        by_area: dict[str, dict] = {}
        shown: dict[str, dict] = {}
        for (participant, code), value in values.items():
            by_area.setdefault(area_of[code], {}).setdefault(participant, {})[code] = value
            if expected is not None:
                shown.setdefault(area_of[code], {}).setdefault(participant, {})[code] = expected[(participant, code)]
        started = time.perf_counter()
        with write_session() as session:
            for area, rows in by_area.items():
                focas.apply_grid_edits(session=session, actor=LOCAL_USER, assessment_id=assessment_id,
                                       area_code=area, edited_rows=rows, expected=shown.get(area, {}))
        return time.perf_counter() - started

    timings: dict[str, list[float]] = {}
    for _ in range(repeats):
        # interleaved, so a busy moment of the machine falls on every path alike
        for name, insert, update in (("raw_executemany", raw_insert, raw_update),
                                     ("entry_batches", lambda: through_batches(first, None),
                                      lambda: through_batches(second, first)),
                                     ("grid_edits", lambda: through_grid(first, None),
                                      lambda: through_grid(second, first))):
            audited = reset()
            timings.setdefault(f"{name}_insert", []).append(insert())
            assert stored() == (cells, audited + cells), (name, stored())
            timings.setdefault(f"{name}_update", []).append(update())
            assert stored() == (cells, audited + 2 * cells), (name, stored())
    figures = {name: statistics.median(values) for name, values in timings.items()}
    emit("save_sheet_cells", cells)
    for phase in ("insert", "update"):
        raw = figures[f"raw_executemany_{phase}"]
        emit(f"save_{phase}_raw_executemany_s", raw)
        for name in ("entry_batches", "grid_edits"):
            emit(f"save_{phase}_{name}_s", figures[f"{name}_{phase}"])
            emit(f"save_{phase}_{name}_vs_raw", figures[f"{name}_{phase}"] / raw)
            emit(f"save_{phase}_{name}_spread_s", "{:.3f}–{:.3f}".format(min(timings[f"{name}_{phase}"]),
                                                                         max(timings[f"{name}_{phase}"])))
    return figures


def counts(url: str, assessment_id) -> tuple[int, int, int]:
    import sqlalchemy as sa

    from db.engine import dispose_engine, read_session
    from db.models import ConsensusScore, Participant, ParticipantScore

    os.environ["DATABASE_URL"] = url
    dispose_engine(url)
    with read_session() as session:
        def n(model):
            return session.execute(sa.select(sa.func.count()).select_from(model)
                                   .where(model.assessment_id == assessment_id)).scalar_one()
        return n(Participant), n(ParticipantScore), n(ConsensusScore)


def run(label: str, url: str, batch_max: int) -> dict:
    from playwright.sync_api import expect, sync_playwright

    from db.queries import focas as queries
    from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, start_app, wait_for_app

    from assessments.access import LOCAL_USER

    assessment_id = prepare_database(url)
    instrument = queries.instrument(queries.assessment_header(LOCAL_USER, assessment_id)["instrument_id"])
    areas = {a.code: a.indicator_codes() for a in instrument.areas}
    n_indicators = sum(len(c) for c in areas.values())
    log = Path(tempfile.mkdtemp()) / "app.log"
    app = start_app(url, log, env={"FOCAS_ENTRY_BATCH_MAX": str(batch_max)})
    rng = random.Random(7)
    out = {}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="es-PE")
            page.set_default_timeout(600_000)
            page.goto(app.url)
            wait_for_app(page)
            page.get_by_role("link", name="Taller FOCAS").click()
            wait_for_app(page)
            workshop_started = time.perf_counter()
            page.get_by_text("1. Participantes").click()
            wait_for_app(page)
            page.locator("form.fe-register [data-field='code']").click()
            for i in range(N_PEOPLE):
                page.keyboard.type(f"B{i:02d}", delay=0)
                page.keyboard.press("Tab")
                page.keyboard.type(f"Persona {i}", delay=0)
                page.keyboard.press("Tab")
                page.keyboard.type("MH"[i % 2], delay=0)
                page.keyboard.press("Enter")
            expect(page.locator(".fe-wrap:has(form.fe-register) .fe-status")).to_have_text("Todo guardado",
                                                                                          timeout=600_000)
            register_s = time.perf_counter() - workshop_started
            page.get_by_text("2. Puntajes y consenso").click()
            wait_for_app(page)
            grid = page.locator(".fe-grid")
            expect(page.locator(".fe-cell[data-row='24']").first).to_be_visible()
            grid.evaluate(OBSERVE)
            typed = 0
            scores_started = time.perf_counter()
            for n, (area, codes) in enumerate(areas.items()):
                if n:
                    page.keyboard.press("PageDown")
                    expect(page.locator(f"[role='grid'][data-area='{area}']")).to_be_visible()
                page.locator(".fe-cell[data-row='0'][data-col='0']").click()
                digits = "".join(str(rng.randint(1, 4)) for _ in range(N_PEOPLE * len(codes)))
                typed += len(digits)
                page.keyboard.type(digits, delay=0)
            typing_s = time.perf_counter() - scores_started
            expect(page.locator(".fe-wrap:has(.fe-grid) .fe-status")).to_have_text("Todo guardado", timeout=600_000)
            scores_s = time.perf_counter() - scores_started
            latencies = sorted(page.evaluate("() => window.__feLat"))
            # consensus: an agreed score and a line of evidence per indicator
            page.locator(".fe-view").nth(1).click()
            for n, (area, codes) in enumerate(areas.items()):
                page.locator(f".fe-area:text-is('{area}')").click()
                expect(page.locator(f"[role='grid'][data-area='{area}'][data-view='consensus']")).to_be_visible()
                page.locator(".fe-cell[data-row='0'][data-col='0']").click()
                for _ in codes:
                    page.keyboard.type("3", delay=0)
                    page.keyboard.press("ArrowUp")
                    page.keyboard.press("ArrowRight")
                    page.keyboard.type("Acta del taller", delay=0)
                    page.keyboard.press("Enter")
                    page.keyboard.press("ArrowLeft")
            expect(page.locator(".fe-wrap:has(.fe-grid) .fe-status")).to_have_text("Todo guardado", timeout=600_000)
            workshop_s = time.perf_counter() - workshop_started
            browser.close()
    finally:
        app.stop()
    people, scores, agreed = counts(url, assessment_id)
    expected = N_PEOPLE * n_indicators
    q = statistics.quantiles(latencies, n=20) if len(latencies) >= 20 else [float("nan")] * 19
    out.update({
        f"{label}_ack_latency_p50_ms": statistics.median(latencies) if latencies else float("nan"),
        f"{label}_ack_latency_p95_ms": q[18],
        f"{label}_scores_typed": typed,
        f"{label}_typing_s": typing_s,
        f"{label}_scores_saved_s": scores_s,
        f"{label}_scores_per_minute": typed / scores_s * 60,
        f"{label}_lost_scores": expected - scores,
        f"{label}_lost_people": N_PEOPLE - people,
        f"{label}_lost_consensus": n_indicators - agreed,
        f"{label}_register_25_people_s": register_s,
        f"{label}_workshop_25x{n_indicators}_s": workshop_s,
    })
    return out


def emit(name: str, value: object) -> None:
    print(f"{name}: {value:.3f}" if isinstance(value, float) else f"{name}: {value}", flush=True)


def fresh_database(engine_url: str, name: str) -> str:
    """An empty PostgreSQL database of its own beside ``engine_url``'s; its URL."""
    import sqlalchemy as sa

    base = sa.engine.make_url(engine_url)
    admin = sa.create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engine-url", default=os.environ.get("BENCH_DATABASE_URL", ""))
    parser.add_argument("--skip-naive", action="store_true", help="only the shipped surface")
    parser.add_argument("--save-only", action="store_true",
                        help="only the sheet saved through the services beside a raw executemany (no browser)")
    args = parser.parse_args()
    save_url = (fresh_database(args.engine_url, f"bench_save_{os.getpid()}") if args.engine_url
                else f"sqlite:///{tempfile.mkdtemp()}/bench_save.db")
    measure_save(save_url, emit)
    if args.save_only:
        return
    results = {}
    for label, batch in (("entry", 200), ("naive_per_key", 1))[: 1 if args.skip_naive else 2]:
        if args.engine_url:
            url = fresh_database(args.engine_url, f"bench_entry_{label}_{os.getpid()}")
        else:
            url = f"sqlite:///{tempfile.mkdtemp()}/bench_entry.db"
        results.update(run(label, url, batch))
        for key, value in results.items():
            if key.startswith(label):
                print(f"{key}: {value:.3f}" if isinstance(value, float) else f"{key}: {value}", flush=True)
    if not args.skip_naive:
        a, b = results["entry_workshop_25x40_s"], results["naive_per_key_workshop_25x40_s"]
        print(f"workshop_speedup_vs_naive: {b / a:.2f}")


if __name__ == "__main__":
    main()
