"""`make bench`: the progress views at national scale, cold, warm and computed the naive way.

It lives in scripts/, not assessments/, because it drives the pages under AppTest (so it imports streamlit).

    python -m scripts.bench            # generate (or reuse) the dataset, then measure
    BENCH_DATABASE_URL=postgresql+psycopg://… python -m scripts.bench
    python -m scripts.bench --regenerate
    python -m scripts.bench --browser-only         # only the headless-Chromium part
    python -m scripts.bench --small --browser-only # three departments, for a quick run

The dataset (its own database, default ``bench-data/bench.db``): every regional, provincial and
district government of Peru, baseline, midpoint and end validated with the default FOCAS instrument,
25 participants per assessment, consensus scores, midpoint and end targets, capacity-building plans, and
QSIP audits (two yearly cycles) for 200 clusters. It is written with SQLAlchemy core ``insert()``
executemany in large batches and reused by later runs.

Each measurement runs in its own child process so that its peak memory is its own: the app views
(AppTest over pages/progress.py and pages/overview.py, cold then warm) and the naive path (every
score row loaded into pandas, then aggregated), and the browser part (``scripts/browser_bench.py``:
the app served, each page opened in headless Chromium until settled, websocket bytes counted).
Output: one ``name: value`` line per figure.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
import uuid
from datetime import date, datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = f"sqlite:///{ROOT / 'bench-data' / 'bench.db'}"
# --small (BENCH_SMALL=1): three departments only, into a database of its own, for quick runs
SMALL_URL = f"sqlite:///{ROOT / 'bench-data' / 'bench-small.db'}"
SMALL_DEPARTMENTS = ("01", "15", "16")
DATASET_KEY = "bench_dataset"
DATASET_ROUNDS = ("baseline", "midpoint", "end")
PARTICIPANTS = 25
CLUSTERS = 200
CYCLES = (2013, 2014)
RESPONDENTS = (("user", 20), ("provider", 7), ("manager", 3))
BATCH = 50_000
WARM_RUNS = 5
VIEWS = ("governments", "clusters", "distributions", "targets", "plans", "qsip")


def bench_url() -> str:
    from db.config import normalise_url

    return normalise_url(os.environ.get("BENCH_DATABASE_URL") or (SMALL_URL if small() else DEFAULT_URL))


def small() -> bool:
    return os.environ.get("BENCH_SMALL") == "1"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def emit(name: str, value: object) -> None:
    if isinstance(value, float):
        value = f"{value:.3f}"
    print(f"{name}: {value}", flush=True)


# --- dataset --------------------------------------------------------------------------------


def _existing_dataset() -> dict | None:
    import sqlalchemy as sa

    from db.engine import read_session
    from db.models import AppMeta

    try:
        with read_session() as session:
            value = session.execute(sa.select(AppMeta.value).where(AppMeta.key == DATASET_KEY)).scalar()
    except Exception:  # no schema yet
        return None
    return json.loads(value) if value else None


class _Writer:
    """Rows per table, inserted with core ``insert()`` executemany whenever a batch fills up."""

    def __init__(self, connection) -> None:
        self.connection = connection
        self.pending: dict = {}
        self.counts: dict[str, int] = {}

    def add(self, model, row: dict) -> None:
        rows = self.pending.setdefault(model, [])
        rows.append(row)
        if len(rows) >= BATCH:
            self.flush()  # every table, in first-seen order: parents before children

    def flush(self) -> None:
        import sqlalchemy as sa

        for each in list(self.pending):
            rows = self.pending.get(each) or []
            if rows:
                self.connection.execute(sa.insert(each.__table__), rows)
                name = each.__tablename__
                self.counts[name] = self.counts.get(name, 0) + len(rows)
                self.pending[each] = []


def generate() -> dict:
    """Write the national dataset into the bench database (schema and reference data first)."""
    import sqlalchemy as sa

    from db import models as m
    from db.engine import get_engine
    from db.setup import prepare

    prepare(demo=False, quiet=True)
    rng = random.Random(20130115)
    started = time.perf_counter()
    now = datetime(2014, 6, 30, tzinfo=timezone.utc)
    stamp = {"created_at": now, "updated_at": now}
    engine = get_engine()

    with engine.connect() as connection:
        governments = connection.execute(
            sa.select(m.Government.id, m.Government.level, m.Government.department_code,
                      m.Government.province_code)
        ).all()
        focas = connection.execute(
            sa.select(m.Instrument.id).where(m.Instrument.kind == "focas", m.Instrument.is_default == sa.true())
        ).scalar_one()
        qsip = connection.execute(
            sa.select(m.Instrument.id).where(m.Instrument.kind == "qsip", m.Instrument.is_default == sa.true())
        ).scalar_one()
        indicators = connection.execute(
            sa.select(m.Indicator.id, m.FunctionalArea.code)
            .join(m.FunctionalArea, m.FunctionalArea.id == m.Indicator.area_id)
            .where(m.FunctionalArea.instrument_id == focas)
            .order_by(m.FunctionalArea.position, m.Indicator.position)
        ).all()
        items = connection.execute(
            sa.select(m.FeedbackItem.id)
            .join(m.FeedbackDimension, m.FeedbackDimension.id == m.FeedbackItem.dimension_id)
            .where(m.FeedbackDimension.instrument_id == qsip)
        ).scalars().all()
        stage_names = connection.execute(
            sa.select(m.StageTemplate.number, m.StageTemplate.name_es, m.StageTemplate.name_en)
            .where(m.StageTemplate.instrument_id == qsip).order_by(m.StageTemplate.number)
        ).all()

    if small():
        governments = [g for g in governments if g.department_code in SMALL_DEPARTMENTS]
    regional = {g.department_code: g.id for g in governments if g.level == "regional"}
    by_province: dict[str, list] = {}
    for g in governments:
        if g.level != "regional":
            by_province.setdefault(g.province_code, []).append(g)
    # One cluster per province; the provinces with most districts are split until there are 200.
    groups = [(code, members) for code, members in sorted(by_province.items())]
    while len(groups) < (len(by_province) if small() else CLUSTERS):
        groups.sort(key=lambda item: len(item[1]), reverse=True)
        code, members = groups.pop(0)
        provincial = [g for g in members if g.level == "provincial"]
        districts = [g for g in members if g.level == "district"]
        half = len(districts) // 2
        groups += [(code, provincial + districts[:half]), (code, provincial + districts[half:])]
    groups.sort(key=lambda item: item[0])

    first_cluster: dict = {}
    cluster_rows: list[dict] = []
    connection = engine.connect()
    transaction = connection.begin()
    w = _Writer(connection)
    for index, (province, group) in enumerate(groups):
        department = province[:2]
        cluster_id = uuid.uuid4()
        wave = 1 + index % 3
        cluster_rows.append({"id": cluster_id, "sector": ("health", "education", "environment")[index % 3]})
        w.add(m.Cluster, {"id": cluster_id, "name": f"Clúster {province}-{index + 1:03d}", "department_code": department,
                         "wave": wave, "wave_date": date(2013, (1, 9, 12)[wave - 1], 15), "notes": "",
                         "is_demo": False, **stamp})
        w.add(m.ClusterSector, {"id": uuid.uuid4(), "cluster_id": cluster_id, "sector": ("health", "education",
                        "environment")[index % 3], "position": 1, **stamp})
        for government_id in {regional[department], *(g.id for g in group)}:
            w.add(m.ClusterMember, {"id": uuid.uuid4(), "cluster_id": cluster_id, "government_id": government_id,
                            "department_code": department, **stamp})
            first_cluster.setdefault(government_id, cluster_id)

    area_codes = sorted({code for _, code in indicators})
    for g in governments:
        level = {code: rng.choice((1, 1, 2, 2, 3)) for code in area_codes}
        gain = {code: rng.choice((0, 0, 1, 1, 1, 2)) for code in area_codes}
        late = {code: rng.choice((0, 0, 0, 1, 1)) for code in area_codes}
        for round_name in DATASET_ROUNDS:
            assessment_id = uuid.uuid4()
            w.add(m.Assessment, {"id": assessment_id, "government_id": g.id, "cluster_id": first_cluster.get(g.id),
                                "round": round_name, "instrument_id": focas, "status": "validated",
                                "workshop_date": date({"baseline": 2013, "midpoint": 2014, "end": 2015}[round_name], 3, 1),
                                "place": "", "facilitator": "bench", "notes": "", "validated_at": now,
                                "validated_by": "bench", "is_demo": False, **stamp})
            truth = {code: min(4, level[code] + (0 if round_name == "baseline" else gain[code])
                               + (late[code] if round_name == "end" else 0))
                     for code in area_codes}
            people = []
            for position in range(PARTICIPANTS):
                person = uuid.uuid4()
                people.append(person)
                w.add(m.Participant, {"id": person, "assessment_id": assessment_id, "code": f"P{position + 1:02d}",
                                     "full_name": "", "sex": ("female", "male")[position % 2],
                                     "indigenous": ("yes", "no", "no")[position % 3], "role": "official",
                                     "organisation": "", "position": position, **stamp})
            for indicator_id, code in indicators:
                base = truth[code]
                w.add(m.ConsensusScore, {"id": uuid.uuid4(), "assessment_id": assessment_id, "indicator_id": indicator_id,
                                  "score": base, "evidence": "", **stamp})
                for person in people:
                    w.add(m.ParticipantScore, {"id": uuid.uuid4(), "assessment_id": assessment_id, "participant_id": person,
                                   "indicator_id": indicator_id,
                                   "score": min(4, max(1, base + rng.choice((-1, 0, 0, 0, 1)))), **stamp})
        for code in area_codes:
            for round_name, step in (("midpoint", 1), ("end", 2)):
                w.add(m.PerformanceTarget, {"id": uuid.uuid4(), "government_id": g.id, "area_code": code,
                                            "round": round_name, "target": float(min(4, level[code] + step)), **stamp})
        for sequence, code in enumerate(rng.sample(area_codes, 3), start=1):
            w.add(m.CapacityPlanItem, {"id": uuid.uuid4(), "government_id": g.id, "area_code": code,
                               "intervention_type": "training", "what": "Capacitación", "who_staff": "",
                               "where_place": "", "sequence": sequence, "resources": "", "other_support": "",
                               "planned_start": None, "planned_end": None,
                               "status": rng.choice(("planned", "in_progress", "done", "done")), **stamp})

    for index, cluster in enumerate(cluster_rows):
        previous = None
        for cycle in CYCLES:
            audit_id = uuid.uuid4()
            w.add(m.ServiceAudit, {"id": audit_id, "cluster_id": cluster["id"], "service_name": "Servicio priorizado",
                           "sector": cluster["sector"], "cycle_year": cycle, "instrument_id": qsip,
                           "previous_audit_id": previous, "notes": "", "validated_at": None, "validated_by": None,
                           "is_demo": False, **stamp})
            previous = audit_id
            reached = 6 if cycle == CYCLES[0] else rng.randint(1, 6)
            for number, name_es, name_en in stage_names:
                status = "done" if number < reached else ("in_progress" if number == reached else "pending")
                w.add(m.AuditStage, {"id": uuid.uuid4(), "audit_id": audit_id, "number": number, "name_es": name_es,
                               "name_en": name_en, "planned_start": None, "planned_end": None, "actual_start": None,
                               "actual_end": None, "status": status, "notes": "", **stamp})
            for kind, how_many in RESPONDENTS:
                for position in range(how_many):
                    respondent_id = uuid.uuid4()
                    w.add(m.Respondent, {"id": respondent_id, "audit_id": audit_id, "respondent_type": kind,
                                        "sex": ("female", "male")[position % 2],
                                        "indigenous": ("yes", "no")[position % 2], "locality": "",
                                        "code": f"R{position}", **stamp})
                    bias = {"user": 0, "provider": 1, "manager": 1}[kind] + (cycle - CYCLES[0])
                    for item_id in items:
                        w.add(m.FeedbackRating, {"id": uuid.uuid4(), "respondent_id": respondent_id, "item_id": item_id,
                                        "rating": min(5, max(1, rng.randint(1, 4) + bias)), **stamp})
            for _ in range(3):
                barrier_id = uuid.uuid4()
                w.add(m.Barrier, {"id": barrier_id, "audit_id": audit_id, "description": "Barrera",
                                 "category": "resources", "government_level": "district", "within_control": True,
                                 "priority": "medium", **stamp})
                for quick in (True, False):
                    w.add(m.ImprovementAction, {"id": uuid.uuid4(), "audit_id": audit_id, "barrier_id": barrier_id,
                                    "description": "Acción", "responsible_government_id": None,
                                    "deadline": date(cycle, 12, 1), "status": rng.choice(ITEM_STATUSES_FOR_BENCH),
                                    "quick_win": quick, "evidence": "", "completed_on": None, **stamp})

    w.flush()
    elapsed = time.perf_counter() - started
    summary = {"governments": len(governments), "generation_s": round(elapsed, 2), **w.counts}
    connection.execute(sa.insert(m.AppMeta.__table__), [{"key": DATASET_KEY, "value": json.dumps(summary)}])
    connection.execute(sa.delete(m.AppMeta.__table__).where(m.AppMeta.key == "data_version"))
    connection.execute(sa.insert(m.AppMeta.__table__), [{"key": "data_version", "value": "1"}])
    transaction.commit()
    connection.close()
    if engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            connection.exec_driver_sql("ANALYZE")
    else:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("ANALYZE")
    summary["generation_s"] = round(time.perf_counter() - started, 2)
    return summary


ITEM_STATUSES_FOR_BENCH = ("planned", "in_progress", "done", "done")


# --- measurements (each in a child process) ---------------------------------------------------


def measure_views() -> None:
    """AppTest over the progress and overview pages: cold (empty read cache), then warm re-runs."""
    import pandas  # noqa: F401  (imports are not what is measured)
    import plotly.graph_objects  # noqa: F401
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    import assessments.charts  # noqa: F401
    import assessments.progress  # noqa: F401

    def timed(app) -> tuple[float, float]:
        started, cpu = time.perf_counter(), time.process_time()
        app.run()
        if app.exception:
            raise SystemExit(f"page failed: {[e.value for e in app.exception]}")
        return time.perf_counter() - started, time.process_time() - cpu

    def page(path: str, **query: str):
        app = AppTest.from_file(str(ROOT / path), default_timeout=300)
        app.session_state["lang"] = "es"
        for key, value in query.items():
            app.query_params[key] = value
        return app

    # The landing view of each page: cold (empty read cache), then the median of warm re-runs.
    for name, path in (("progress", "pages/progress.py"), ("overview", "pages/overview.py")):
        st.cache_data.clear()
        app = page(path)
        cold, cold_cpu = timed(app)
        warm = [timed(app) for _ in range(WARM_RUNS)]
        emit(f"{name}_cold_s", cold)
        emit(f"{name}_warm_s", statistics.median(w for w, _ in warm))
        # CPU seconds of this process: what the views cost, whatever else the machine is running
        emit(f"{name}_cold_cpu_s", cold_cpu)
        emit(f"{name}_warm_cpu_s", statistics.median(c for _, c in warm))
        del app  # each AppTest keeps its last element tree; a server keeps one per open browser tab
        gc.collect()

    # Every tab of the progress page (tabs are lazy: each runs only its own reads), as a manager
    # opening them one after the other from an empty cache, then again warm.
    st.cache_data.clear()
    all_cold, all_warm = 0.0, 0.0
    for view in VIEWS:
        app = page("pages/progress.py", view=view)
        cold, _ = timed(app)
        warm = statistics.median(timed(app)[0] for _ in range(WARM_RUNS))
        emit(f"progress_{view}_cold_s", cold)
        emit(f"progress_{view}_warm_s", warm)
        all_cold += cold
        all_warm += warm
        del app
        gc.collect()
    emit("progress_all_views_cold_s", all_cold)
    emit("progress_all_views_warm_s", all_warm)
    # one filtered, uncached view: a department chosen (a manager's first click)
    app = AppTest.from_file(str(ROOT / "pages" / "progress.py"), default_timeout=300)
    app.session_state["lang"] = "es"
    app.query_params["dept"] = "16"
    started = time.perf_counter()
    app.run()
    emit("progress_filtered_cold_s", time.perf_counter() - started)
    emit("progress_elements_checked", "tables={} charts={}".format(
        len(app.dataframe), len(app.get("plotly_chart"))))
    emit("peak_rss_mb", peak_rss_mb())


def measure_naive() -> None:
    """The naive path: every score row into pandas, then the same figures aggregated in pandas."""
    import pandas as pd
    import sqlalchemy as sa

    from assessments import scoring
    from db import models as m
    from db.engine import get_engine

    started, cpu = time.perf_counter(), time.process_time()
    engine = get_engine()
    with engine.connect() as connection:
        participant_scores = pd.read_sql(
            sa.select(m.Assessment.government_id, m.Assessment.round, m.FunctionalArea.code.label("area_code"),
                      m.Indicator.code.label("indicator_code"), m.ParticipantScore.participant_id,
                      m.ParticipantScore.score, m.Government.level, m.Government.department_code)
            .join(m.Assessment, m.Assessment.id == m.ParticipantScore.assessment_id)
            .join(m.Government, m.Government.id == m.Assessment.government_id)
            .join(m.Indicator, m.Indicator.id == m.ParticipantScore.indicator_id)
            .join(m.FunctionalArea, m.FunctionalArea.id == m.Indicator.area_id),
            connection,
        )
        consensus = pd.read_sql(
            sa.select(m.Assessment.government_id, m.Assessment.round, m.FunctionalArea.code.label("area_code"),
                      m.Indicator.code.label("indicator_code"), m.ConsensusScore.score)
            .join(m.Assessment, m.Assessment.id == m.ConsensusScore.assessment_id)
            .join(m.Indicator, m.Indicator.id == m.ConsensusScore.indicator_id)
            .join(m.FunctionalArea, m.FunctionalArea.id == m.Indicator.area_id)
            .where(m.Assessment.status == "validated"),
            connection,
        )
        targets = pd.read_sql(sa.select(m.PerformanceTarget.government_id, m.PerformanceTarget.round,
                                        m.PerformanceTarget.area_code, m.PerformanceTarget.target), connection)
    loaded = time.perf_counter() - started
    result = scoring.progress(consensus)
    areas, _governments = scoring.indexes(consensus)
    scoring.target_gap(areas.loc[areas["round"] == "midpoint"], targets)
    participant_scores.groupby(["government_id", "round", "participant_id"])["score"].mean()
    participant_scores.groupby(["department_code", "level", "round"])["score"].describe()
    result.governments["change"].describe()
    emit("naive_load_s", loaded)
    emit("progress_naive_s", time.perf_counter() - started)
    emit("progress_naive_cpu_s", time.process_time() - cpu)
    emit("naive_rows_loaded", len(participant_scores) + len(consensus))
    emit("naive_peak_rss_mb", peak_rss_mb())


def _child(step: str) -> dict[str, str]:
    environment = {**os.environ, "DATABASE_URL": bench_url()}
    done = subprocess.run([sys.executable, "-m", "scripts.bench", "--step", step], cwd=ROOT, env=environment,
                          capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"bench step {step} failed")
    figures = {}
    for line in done.stdout.splitlines():
        if ": " in line:
            name, value = line.split(": ", 1)
            figures[name.strip()] = value.strip()
            print(line, flush=True)
    return figures


def browser_bench_pages() -> list[str]:
    from scripts.browser_bench import pages

    return [name for name, _ in pages()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--step", choices=("generate", "views", "naive", "browser"), help=argparse.SUPPRESS)
    parser.add_argument("--browser-only", action="store_true",
                        help="only the headless-Chromium part (time to settled, websocket bytes)")
    parser.add_argument("--small", action="store_true",
                        help=f"a small dataset (departments {', '.join(SMALL_DEPARTMENTS)}) in its own database")
    parser.add_argument("--regenerate", action="store_true", help="drop the bench database and generate it again")
    args = parser.parse_args(argv)
    if args.small:
        os.environ["BENCH_SMALL"] = "1"  # inherited by the child steps

    if args.step:
        os.environ["DATABASE_URL"] = bench_url()
        if args.step == "generate":
            existing = _existing_dataset()
            emit("dataset_reused", "yes" if existing else "no")
            summary = existing or generate()
            for name, value in summary.items():
                emit(f"rows_{name}" if name not in ("governments", "generation_s") else name, value)
            emit("generation_peak_rss_mb", peak_rss_mb())
        elif args.step == "views":
            measure_views()
        elif args.step == "browser":
            from scripts import browser_bench

            browser_bench.measure(bench_url(), emit)
        else:
            measure_naive()
        return 0

    url = bench_url()
    print(f"database: {url.split('@')[-1]}", flush=True)
    emit("cpu_count", os.cpu_count())
    emit("load_average_1m_start", os.getloadavg()[0])
    if args.regenerate and url.startswith("sqlite"):
        path = Path(url.split("///", 1)[1])
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    elif args.regenerate:
        raise SystemExit("--regenerate only drops SQLite files; point BENCH_DATABASE_URL at an empty database")
    _child("generate")
    if args.browser_only:
        _child("browser")
        emit("load_average_1m_end", os.getloadavg()[0])
        return 0
    views = _child("views")
    naive = _child("naive")
    browser = _child("browser")
    emit("load_average_1m_end", os.getloadavg()[0])
    warm = float(views["progress_warm_s"])
    naive_s = float(naive["progress_naive_s"])
    emit("speedup_vs_naive", naive_s / warm if warm else float("inf"))
    # the stricter comparison: the naive path computes every figure, so against all six tabs warm
    emit("speedup_vs_naive_all_views", naive_s / float(views["progress_all_views_warm_s"]))
    targets = {
        "progress_warm_s <= 1": warm <= 1,
        "progress_cold_s <= 3": float(views["progress_cold_s"]) <= 3,
        "speedup_vs_naive >= 10": naive_s / warm >= 10 if warm else True,
        "peak_rss_mb <= 500": float(views["peak_rss_mb"]) <= 500,
    }
    for name in browser_bench_pages():
        targets[f"browser_{name}_warm_s <= 1"] = float(browser[f"browser_{name}_warm_s"]) <= 1
        targets[f"browser_{name}_cold_s <= 3"] = float(browser[f"browser_{name}_cold_s"]) <= 3
    for name, met in targets.items():
        emit(f"target {name}", "met" if met else "MISSED")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
