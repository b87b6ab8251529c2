"""Snapshot export at national scale beside a raw dump of the same queries (part of `make bench`).

    python -m scripts.bench_snapshot            # the national dataset of scripts.bench (generated or reused)
    python -m scripts.bench_snapshot --small    # three departments, for a quick run
    python -m scripts.bench_snapshot --profile  # also cProfile the export (top functions to stderr)
    BENCH_DATABASE_URL=postgresql+psycopg://… python -m scripts.bench_snapshot

Two child processes, so each peak memory is its own:
- ``export``: ``assessments.snapshot.export_snapshot`` of everything (tidy tables, wide table, raw merge
  tables, dictionary) to a file, as an administrator would from the page; every SELECT it sends is
  recorded;
- ``raw``: the naive baseline: the very same SELECT statements sent through the bare driver (``sqlite3`` /
  psycopg with a server-side cursor), each result written with ``csv.writer`` into one entry of a ZIP with
  the same compression. No ORM, no per-cell formatting, no index computation.

Output: ``name: value`` lines, the two side by side and the ratio (target: export within 2× of raw).
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import pickle
import re
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.bench import _child as dataset_child  # noqa: E402
from scripts.bench import bench_url, emit  # noqa: E402


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure_export(work: Path, profile: bool) -> None:
    import sqlalchemy as sa

    from assessments import snapshot  # noqa: F401  (imports are not what is measured)
    from assessments.access import LOCAL_USER
    from db.engine import get_engine

    statements: list[tuple[str, object]] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT") and not executemany:
            statements.append((statement, parameters))

    engine = get_engine()
    sa.event.listen(engine, "before_cursor_execute", record)
    before = peak_rss_mb()
    out = work / "export.zip"
    started, cpu = time.perf_counter(), time.process_time()
    if profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        manifest = profiler.runcall(snapshot.export_snapshot, out, actor=LOCAL_USER)
        stats = pstats.Stats(profiler, stream=sys.stderr)
        stats.sort_stats("tottime").print_stats(25)
    else:
        manifest = snapshot.export_snapshot(out, actor=LOCAL_USER)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    sa.event.remove(engine, "before_cursor_execute", record)
    emit("snapshot_export_s", elapsed)
    emit("snapshot_export_cpu_s", cpu)
    emit("snapshot_export_rows", sum(info["rows"] or 0 for info in manifest["files"].values()))
    emit("snapshot_export_files", len(manifest["files"]))
    emit("snapshot_export_zip_mb", out.stat().st_size / 1_048_576)
    emit("snapshot_export_peak_rss_mb", peak_rss_mb())
    emit("snapshot_export_rss_delta_mb", peak_rss_mb() - before)
    emit("snapshot_export_statements", len(statements))
    with (work / "statements.pickle").open("wb") as handle:
        pickle.dump(statements, handle)


_UUID_TEXT = (re.compile(r"\(CASE WHEN length\(([^()]+)\) = 32 THEN lower\(.*?\) ELSE \1 END\)"),
              re.compile(r"CAST\(([^()]+) AS VARCHAR\)"))


def _as_stored(statement: str) -> str:
    for pattern in _UUID_TEXT:
        statement = pattern.sub(r"\1", statement)
    return statement


def measure_raw(work: Path, url: str) -> None:
    """The same statements through the bare driver, each result csv.writer'd into a ZIP entry."""
    with (work / "statements.pickle").open("rb") as handle:
        # the columns as stored: the export's UUID-as-text expression (db.queries.snapshot.UuidText) is
        # work the export asks of the database, not part of a naive dump
        statements = [(_as_stored(statement), parameters) for statement, parameters in pickle.load(handle)]
    before = peak_rss_mb()
    started, cpu = time.perf_counter(), time.process_time()
    if url.startswith("sqlite"):
        import sqlite3

        connection = sqlite3.connect(url.split("///", 1)[1])

        def run(number, statement, parameters):
            return connection.execute(statement, parameters or ())
    else:
        import psycopg

        connection = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))

        def run(number, statement, parameters):
            cursor = connection.cursor(name=f"bench_raw_{number}")  # server-side: streamed
            cursor.itersize = 10_000
            cursor.execute(statement, parameters or None)
            return cursor
    rows = 0
    out = work / "raw.zip"
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for number, (statement, parameters) in enumerate(statements):
            cursor = run(number, statement, parameters)
            with archive.open(f"q{number}.csv", "w", force_zip64=True) as entry:
                text = io.TextIOWrapper(entry, encoding="utf-8", newline="", write_through=False)
                writer = csv.writer(text, lineterminator="\r\n")
                writer.writerow([d[0] for d in cursor.description])
                for row in cursor:
                    writer.writerow(row)
                    rows += 1
                text.flush()
                text.detach()
            cursor.close()
    connection.close()
    emit("snapshot_raw_s", time.perf_counter() - started)
    emit("snapshot_raw_cpu_s", time.process_time() - cpu)
    emit("snapshot_raw_rows", rows)
    emit("snapshot_raw_zip_mb", out.stat().st_size / 1_048_576)
    emit("snapshot_raw_peak_rss_mb", peak_rss_mb())
    emit("snapshot_raw_rss_delta_mb", peak_rss_mb() - before)


def _step(step: str, work: Path, profile: bool) -> dict[str, str]:
    environment = {**os.environ, "DATABASE_URL": bench_url()}
    command = [sys.executable, "-m", "scripts.bench_snapshot", "--step", step, "--work", str(work)]
    if profile:
        command.append("--profile")
    done = subprocess.run(command, cwd=ROOT, env=environment, stdout=subprocess.PIPE, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stdout)
        raise SystemExit(f"bench_snapshot step {step} failed")
    figures = {}
    for line in done.stdout.splitlines():
        if ": " in line:
            name, value = line.split(": ", 1)
            figures[name.strip()] = value.strip()
            print(line, flush=True)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--step", choices=("export", "raw"), help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    parser.add_argument("--small", action="store_true", help="the small dataset of scripts.bench --small")
    parser.add_argument("--profile", action="store_true", help="cProfile the export, top functions to stderr")
    parser.add_argument("--skip-generate", action="store_true", help="assume the bench dataset exists")
    args = parser.parse_args(argv)
    if args.small:
        os.environ["BENCH_SMALL"] = "1"
    if args.step:
        os.environ["DATABASE_URL"] = bench_url()
        if args.step == "export":
            measure_export(Path(args.work), args.profile)
        else:
            measure_raw(Path(args.work), bench_url())
        return 0
    url = bench_url()
    print(f"database: {url.split('@')[-1]}", flush=True)
    emit("load_average_1m_start", os.getloadavg()[0])
    if not args.skip_generate:
        dataset_child("generate")
    with tempfile.TemporaryDirectory(dir=ROOT / "bench-data") as folder:
        work = Path(folder)
        export = _step("export", work, args.profile)
        raw = _step("raw", work, False)
    emit("load_average_1m_end", os.getloadavg()[0])
    ratio = float(export["snapshot_export_s"]) / max(float(raw["snapshot_raw_s"]), 1e-9)
    emit("snapshot_export_vs_raw_ratio", ratio)
    emit("snapshot_export_vs_raw_cpu_ratio",
         float(export["snapshot_export_cpu_s"]) / max(float(raw["snapshot_raw_cpu_s"]), 1e-9))
    emit("target snapshot_export_vs_raw_ratio <= 2", "met" if ratio <= 2 else "MISSED")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
