"""Benchmark of the workshop entry surface in headless Chromium: what a facilitator waits for.

Prints ``name: value`` lines:
- keystroke-to-acknowledged latency (p50, p95): from the key that wrote a cell to the moment the
  cell shows "saved" (the server answered its batch), read by a MutationObserver in the page;
- scores per minute typed with no delay between keys, and how many of them the database lacks (lost);
- a scripted facilitator's whole 25 × 40 workshop (register 25 people, 1,000 scores, 40 agreed scores
  with evidence) until everything is saved;
each for the entry surface as shipped (batches of up to 200 cells) and, in the same run, for the naive
baseline of one round trip per keystroke (``FOCAS_ENTRY_BATCH_MAX=1``, how the retired grid sent cells).

Usage: python -m scripts.bench_entry [--engine-url postgresql+psycopg://…]   (SQLite in a temp dir otherwise)
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

    assessment_id = prepare_database(url)
    instrument = queries.instrument(queries.assessment_header(assessment_id)["instrument_id"])
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engine-url", default=os.environ.get("BENCH_DATABASE_URL", ""))
    parser.add_argument("--skip-naive", action="store_true", help="only the shipped surface")
    args = parser.parse_args()
    results = {}
    for label, batch in (("entry", 200), ("naive_per_key", 1))[: 1 if args.skip_naive else 2]:
        if args.engine_url:
            import sqlalchemy as sa

            base = sa.engine.make_url(args.engine_url)
            name = f"bench_entry_{label}_{os.getpid()}"
            admin = sa.create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
            url = base.set(database=name).render_as_string(hide_password=False)
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
