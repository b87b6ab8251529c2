"""The fast snapshot export writes exactly what the former one wrote, and streams its rows.

The former implementation (assessments/snapshot.py and db/queries/snapshot.py as of BEFORE_FAST_EXPORT)
is loaded from git into modules of its own and exports the same database; every file of both
archives must be byte-identical (only the manifest's export time differs).
"""

from __future__ import annotations

import importlib.util
import io
import json
import subprocess
import sys
import uuid
import zipfile
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from assessments import snapshot
from db.demo import load_demo
from db.engine import write_session
from db.queries import snapshot as q
from tests.test_snapshot_factories import seed_cluster

ROOT = Path(__file__).resolve().parent.parent
BEFORE_FAST_EXPORT = "9271959"  # the last commit with the per-cell format_cell export


def _old_module(path: str, name: str, tmp_path: Path):
    try:
        source = subprocess.run(["git", "show", f"{BEFORE_FAST_EXPORT}:{path}"], cwd=ROOT, check=True,
                                capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError) as error:  # pragma: no cover - a checkout without history
        pytest.fail(f"the former implementation is read from git history: {error}")
    file = tmp_path / f"{name}.py"
    file.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(name, file)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def former(tmp_path):
    """The former export: its snapshot module reading through the former row queries."""
    old_q = _old_module("db/queries/snapshot.py", "_former_snapshot_queries", tmp_path)
    old = _old_module("assessments/snapshot.py", "_former_snapshot", tmp_path)
    old.q = old_q
    old.ROOT = snapshot.ROOT  # the same VERSION file
    yield old
    sys.modules.pop("_former_snapshot", None)
    sys.modules.pop("_former_snapshot_queries", None)


HOSTILE = ["=1+1", "-5", "NA", "ñandú \"quoted\"\nnew line", "@x", "+1", "\tt", "'q", "plain", "", " ", "Área",
           "a,b", "\r\nx", "-", "'"]


@pytest.fixture
def demo_and_hostile(db_url):
    load_demo()
    with write_session() as session:
        seed_cluster(session, HOSTILE, index=0)
    return db_url


def _entries(data: bytes) -> dict[str, bytes]:
    archive = zipfile.ZipFile(io.BytesIO(data))
    return {name: archive.read(name) for name in archive.namelist()}


OPTIONS = [
    {},
    {"bom": True},
    {"names": False},
    {"filters": q.Filters(department_code="22")},
    {"filters": q.Filters(round="midpoint")},
]


# Intended since BEFORE_FAST_EXPORT (issue 17 item 2): the wide table holds validated assessments only unless
# drafts are asked for, then with a status column per round; its dictionary entries and the manifest say so.
# The new export is asked for drafts, and the wide table compared without its status columns.
CHANGED_SINCE = (snapshot.WIDE_FILE, snapshot.DICTIONARY_FILE)


def _without_wide_changes(name: str, data: bytes) -> bytes:
    import csv

    if name not in CHANGED_SINCE:
        return data
    encoding = "utf-8-sig" if data.startswith(b"\xef\xbb\xbf") else "utf-8"
    rows = list(csv.reader(io.StringIO(data.decode(encoding), newline="")))
    if name == snapshot.WIDE_FILE:
        rows = [row[:len(q.WIDE_COLUMNS)] for row in rows]
    else:
        rows = [row for row in rows if row[0] != snapshot.WIDE_FILE]
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode(encoding)


def test_fast_export_is_byte_identical_to_the_former_one(demo_and_hostile, actor, former):
    for options in OPTIONS:
        old_filters = options.get("filters")
        old_options = dict(options)
        if old_filters is not None:  # the former module's own Filters class
            old_options["filters"] = former.q.Filters(department_code=old_filters.department_code,
                                                      round=old_filters.round)
        new_data, new_manifest = snapshot.export_bytes(actor=actor, drafts=True, **options)
        old_data, old_manifest = former.export_bytes(actor=actor, **old_options)
        new, old = _entries(new_data), _entries(old_data)
        # every file the former export wrote is there (later features may add files, e.g. datapackage.json)
        assert set(old) <= set(new), options
        for name in old:
            if name != snapshot.MANIFEST:
                assert _without_wide_changes(name, new[name]) == _without_wide_changes(name, old[name]), \
                    (options, name)
        assert {k: new_manifest["files"][k] for k in old_manifest["files"] if k not in CHANGED_SINCE} == \
            {k: v for k, v in old_manifest["files"].items() if k not in CHANGED_SINCE}
        assert sum(info["rows"] or 0 for info in new_manifest["files"].values()) > 100
        parsed = json.loads(new[snapshot.MANIFEST])
        assert parsed.pop("wide")["assessments"] == "validated_and_draft"
        former_manifest = json.loads(old[snapshot.MANIFEST])
        parsed["files"] = {k: v for k, v in parsed["files"].items()
                           if k not in CHANGED_SINCE and k in former_manifest["files"]}
        parsed = {k: v for k, v in parsed.items() if k in former_manifest}  # keys later features add
        former_manifest["files"] = {k: v for k, v in former_manifest["files"].items() if k not in CHANGED_SINCE}
        assert {k: v for k, v in parsed.items() if k != "exported_at"} == \
            {k: v for k, v in former_manifest.items() if k != "exported_at"}


def test_every_kind_of_cell_is_written_as_the_former_format_cell_wrote_it(former, tmp_path):
    """Cells of every type the database or pandas hands over, through the table writer."""
    import numpy as np

    lima = timezone(timedelta(hours=-5))
    values = [None, True, False, 0, -7, 2**63, 1.5, -0.0, float("nan"), float("inf"), 1e-20, "plain", "=x", "-1",
              "+", "@", "\tq", "\rq", "'q", "", "a\"b", "x\ny", date(2013, 1, 15),
              datetime(2014, 6, 30, 12, 1, 2, 345, tzinfo=timezone.utc), datetime(2014, 6, 30, 7, tzinfo=lima),
              uuid.UUID(int=12345), np.float64(2.5), np.float64("nan"), np.int64(4), np.bool_(True), b"bytes",
              ("t",)]
    rows = [values, list(reversed(values)), [None] * len(values), [values[11]] * len(values)]
    columns = [f"c{i}" for i in range(len(values))]

    def written(module) -> bytes:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            writer = module._Writer(archive, "utf-8")
            writer.table("t.csv", columns, iter(rows))
        return zipfile.ZipFile(io.BytesIO(buffer.getvalue())).read("t.csv")

    assert written(snapshot) == written(former)


def test_the_writer_streams_rows_without_holding_them(tmp_path):
    """Rows come from a generator and are written as they come: the first rows are already in the
    entry (compressed bytes reached the file) while later rows have not been produced yet."""
    target = tmp_path / "out.zip"
    produced = 0
    sizes_seen: list[int] = []

    def rows():
        nonlocal produced
        for i in range(300_000):
            produced += 1
            if i % 100_000 == 99_999:
                sizes_seen.append(target.stat().st_size)
            yield (i, f"text {i}", None, 1.5, "=danger")

    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        writer = snapshot._Writer(archive, "utf-8")
        count = writer.table("tables/x.csv", ["n", "text", "empty", "f", "t"], rows())
    assert count == produced == 300_000
    # the file grew while the generator was still producing: nothing was collected before writing
    assert sizes_seen[0] > 0 and sizes_seen[0] < sizes_seen[1] < sizes_seen[2]
    data = zipfile.ZipFile(target).read("tables/x.csv").decode()
    assert data.startswith("n,text,empty,f,t\r\n0,text 0,,1.5,'=danger\r\n")


def test_a_large_table_keeps_the_progress_label_moving(db_url, actor, monkeypatch):
    """While one table is written (the national participant scores take most of an export), the page's
    progress bar hears of the rows written so far, not only of the next file."""
    with write_session() as session:
        seed_cluster(session, HOSTILE, index=0)
    monkeypatch.setattr(snapshot, "PROGRESS_ROWS", 2)
    heard: list[tuple[float, str]] = []
    manifest = snapshot.export_bytes(actor=actor, progress=lambda fraction, label: heard.append((fraction, label)))[1]
    rows = manifest["files"]["tables/participant_scores.csv"]["rows"]
    assert rows >= 4
    during = [label for _, label in heard if label.startswith("tables/participant_scores.csv (")]
    assert during == [f"tables/participant_scores.csv ({n:,})" for n in range(2, rows + 1, 2)]
    fractions = [fraction for fraction, _ in heard]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
