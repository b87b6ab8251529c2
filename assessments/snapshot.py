"""CSV snapshots: export evaluators can trust, and merging a field laptop's snapshot into another installation.

A snapshot is a ZIP holding tidy analyst tables (``tables/``), a wide table (``wide/``), a bilingual
data dictionary (``dictionary/``), an optional XLSX workbook (``workbook/``), and, for unfiltered
exports, one raw table per model (``raw/``, UUID-keyed) that another installation merges from. The
``manifest.json`` lists every file with its row count and SHA-256; ``datapackage.json`` (Frictionless
Data Package) gives every CSV column's type, the missing value (only the empty cell) and, for coded
columns, the allowed values with their labels in Spanish and English.

Every text cell is neutralised against spreadsheet formula injection (OWASP): a text starting with
``=``, ``+``, ``-``, ``@``, tab, carriage return, or the escape character ``'`` itself gets a leading
``'``; numbers stay numbers. The importer removes exactly one leading ``'`` from text, so a round
trip gives back the very same text.

Command line::

    python -m assessments.snapshot export OUT.zip [--department 22] [--cluster UUID] [--round baseline] [--bom] [--xlsx]
        [--pseudonymise]
    python -m assessments.snapshot import IN.zip [--take-incoming TABLE:UUID ...]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import itertools
import json
import math
import re
import sys
import tempfile
import uuid
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, BinaryIO

import pandas as pd
import sqlalchemy as sa
from sqlmodel import Session

from assessments import scoring
from assessments.access import Actor, require
from assessments.errors import PermissionDenied, ValidationFailed
from db.queries import scope as read_scope
from db.queries import snapshot as q

ROOT = Path(__file__).resolve().parent.parent
FORMAT = "focas-snapshot"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DICTIONARY_FILE = "dictionary/data_dictionary.csv"
WIDE_FILE = "wide/area_scores_by_round.csv"
WORKBOOK_FILE = "workbook/snapshot.xlsx"

# Limits against hostile archives: entry count, sizes and compression ratio (zip bombs).
MAX_ENTRIES = 200
MAX_ENTRY_BYTES = 1 << 30
MAX_TOTAL_BYTES = 2 << 30
MAX_RATIO = 200
RATIO_CHECK_FROM = 1 << 20
MAX_MANIFEST_BYTES = 1 << 20
SAFE_NAME = re.compile(r"^(manifest\.json|datapackage\.json|(tables|wide|dictionary|raw)/[a-z0-9_]+\.csv|workbook/[a-z0-9_]+\.xlsx)$")
DANGEROUS_START = ("=", "+", "-", "@", "\t", "\r", "'")
csv.field_size_limit(16 * 1024 * 1024)

# Tables matched by a natural key instead of their UUID: reference data every installation loads itself
# (random UUIDs per installation) and instrument versions, which are unique by kind, code and version.
NATURAL_KEYS: dict[str, tuple[str, ...]] = {
    "government": ("ubigeo",),
    "instrument": ("kind", "code", "version"),
    "functional_area": ("instrument_id", "code"),
    "indicator": ("area_id", "code"),
    "level_descriptor": ("indicator_id", "level"),
    "stage_template": ("instrument_id", "number"),
    "feedback_dimension": ("instrument_id", "code"),
    "feedback_item": ("dimension_id", "code"),
    "cluster_plan": ("department_code", "wave"),
}
# Reference rows that are never compared: each installation's registry is its own.
NEVER_CONFLICT = frozenset({"government"})
TIMESTAMPS = ("created_at", "updated_at")
IMPORT_CHUNK = 500
SQLITE_IMPORT_CACHE_KB = 131_072


def app_version() -> str:
    path = ROOT / "VERSION"
    return path.read_text(encoding="utf-8").strip() if path.exists() else "0.0.0"


# --- cells ----------------------------------------------------------------------------------


def neutralise(text: str) -> str:
    """A text a spreadsheet will not run as a formula (OWASP CSV injection), reversibly."""
    return "'" + text if text.startswith(DANGEROUS_START) else text


def restore(text: str) -> str:
    """The exact text :func:`neutralise` was given."""
    return text[1:] if text.startswith("'") else text


def format_cell(value: Any) -> str:
    """One CSV cell: numbers as numbers, dates ISO 8601, booleans true/false, text neutralised."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if hasattr(value, "item"):  # numpy scalars from pandas
        return format_cell(value.item())
    return neutralise(str(value))


_ILLEGAL_XLSX = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")


def xlsx_cell(value: Any) -> Any:
    """One workbook cell: numbers stay numbers, text neutralised (openpyxl would make "=…" a formula)."""
    if value is None or isinstance(value, (bool, int, date)):
        return value
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).replace(tzinfo=None)
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if hasattr(value, "item"):
        return xlsx_cell(value.item())
    return _ILLEGAL_XLSX.sub("", neutralise(str(value)))[:32767]


def _neutralise_any(value: Any) -> Any:
    return neutralise(value) if isinstance(value, str) else value


def formula_safe_csv(frame: pd.DataFrame) -> bytes:
    """Any table a user downloads as CSV (UTF-8 with BOM for Excel), every text cell and header
    neutralised like a snapshot's (:func:`neutralise`); numbers, dates and empty cells as pandas writes them."""
    safe = frame.rename(columns=_neutralise_any)
    for position, column in enumerate(safe.columns):
        series = safe.iloc[:, position]
        if not (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_datetime64_any_dtype(series)
                or pd.api.types.is_bool_dtype(series)):
            safe.isetitem(position, series.map(_neutralise_any))
    # CRLF rows like the snapshots': a cell holding a lone CR is then quoted instead of splitting its row
    return safe.to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig")


# --- export ---------------------------------------------------------------------------------


class _HashingSink(io.RawIOBase):
    """Pass bytes through to a zip entry while counting them and hashing them."""

    def __init__(self, target: BinaryIO) -> None:
        self.target = target
        self.sha = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        chunk = bytes(data)
        self.sha.update(chunk)
        self.size += len(chunk)
        self.target.write(chunk)
        return len(chunk)


ProgressFn = Callable[[float, str], None]
WRITE_BUFFER = 1 << 20
PROGRESS_ROWS = 50_000  # a large table reports its rows this often, so the page's bar label keeps moving

# Cells csv.writer already writes exactly as format_cell would (str() of an int, a UUID, a date; "" for
# None; repr() of a float), so a row is handed over as it is except for the few cells that need work.
_AS_IS = frozenset({int, type(None), uuid.UUID, date})
_DANGEROUS_FIRST = frozenset(DANGEROUS_START)
_MEMO_LIMIT = 65_536


def _cells_formatter() -> Callable[[Iterable[Any]], list]:
    """``row -> cells``, each cell what :func:`format_cell` gives, without a Python call for the common
    cells: text that cannot start a formula, integers, UUIDs, dates, empty cells and finite floats pass
    through by exact type; timestamps are formatted once per distinct value; anything else (booleans,
    numpy scalars, text to neutralise, NaN, other types) goes through :func:`format_cell` itself."""
    stamps: dict[datetime, str] = {}

    def other(value: Any) -> str:
        if value.__class__ is datetime:
            text = stamps.get(value)
            if text is None:
                if len(stamps) >= _MEMO_LIMIT:
                    stamps.clear()
                text = stamps[value] = format_cell(value)
            return text
        return format_cell(value)

    as_is, dangerous = _AS_IS, _DANGEROUS_FIRST

    def cells(row: Iterable[Any]) -> list:
        return [v if ((c := v.__class__) is str and v[:1] not in dangerous) or c in as_is
                or (c is float and v == v) else other(v) for v in row]

    return cells


@dataclass
class _Writer:
    archive: zipfile.ZipFile
    encoding: str
    workbook: Any = None
    files: dict[str, dict] = field(default_factory=dict)
    stamp: tuple = (1980, 1, 1, 0, 0, 0)
    tick: Callable[[str, int], None] | None = None  # (file, rows written so far) every PROGRESS_ROWS rows

    def _info(self, name: str) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, date_time=self.stamp)
        info.compress_type = zipfile.ZIP_DEFLATED
        return info

    def table(self, name: str, columns: Iterable[str], rows: Iterable[Iterable[Any]], *, sheet: str | None = None) -> int:
        columns = list(columns)
        worksheet = self.workbook.create_sheet(sheet) if (self.workbook is not None and sheet) else None
        if worksheet is not None:
            worksheet.append([xlsx_cell(c) for c in columns])
        count = 0
        cells = _cells_formatter()
        with self.archive.open(self._info(name), "w", force_zip64=True) as entry:
            sink = _HashingSink(entry)
            text = io.TextIOWrapper(io.BufferedWriter(sink, WRITE_BUFFER), encoding=self.encoding, newline="")
            text._CHUNK_SIZE = WRITE_BUFFER  # encoded text reaches the compressor in large pieces
            writer = csv.writer(text, lineterminator="\r\n")
            writer.writerow([format_cell(c) for c in columns])
            writerow = writer.writerow
            tick, every = self.tick, PROGRESS_ROWS
            if worksheet is None and tick is None:
                for count, row in enumerate(rows, 1):
                    writerow(cells(row))
            elif worksheet is None:
                for count, row in enumerate(rows, 1):
                    writerow(cells(row))
                    if not count % every:
                        tick(name, count)
            else:
                for row in rows:
                    row = list(row)
                    writerow(cells(row))
                    worksheet.append([xlsx_cell(v) for v in row])
                    count += 1
                    if tick is not None and not count % every:
                        tick(name, count)
            text.flush()
            text.detach().flush()
        self.files[name] = {"rows": count, "bytes": sink.size, "sha256": sink.sha.hexdigest()}
        return count

    def binary(self, name: str, path: Path) -> None:
        sha, size = hashlib.sha256(), 0
        with path.open("rb") as source, self.archive.open(self._info(name), "w", force_zip64=True) as entry:
            for chunk in iter(lambda: source.read(1 << 16), b""):
                sha.update(chunk)
                size += len(chunk)
                entry.write(chunk)
        self.files[name] = {"rows": None, "bytes": size, "sha256": sha.hexdigest()}


INDEX_BATCH_ROWS = 20_000


def _index_groups(session: Session, filters: q.Filters) -> Iterator[tuple[tuple, pd.DataFrame, pd.DataFrame]]:
    """Per assessment: its context columns, area indexes and capacity index (scoring.indexes).

    Assessments are scored in batches of up to INDEX_BATCH_ROWS consensus rows sharing one scale, so
    the pandas work stays fast while memory stays bounded.
    """
    width = len(q.ASSESSMENT_CONTEXT)
    batch: list[tuple[tuple, list]] = []
    batch_rows, batch_scale = 0, None

    def flush():
        frame = pd.DataFrame(
            [(context[2], context[9], r[width], r[width + 1], r[width + 2]) for context, rows in batch for r in rows],
            columns=list(scoring.CONSENSUS_COLUMNS),
        )
        areas, governments = scoring.indexes(frame, scale_min=batch_scale[0], scale_max=batch_scale[1])
        area_groups = dict(tuple(areas.groupby(["government_id", "round"], sort=False)))
        government_groups = dict(tuple(governments.groupby(["government_id", "round"], sort=False)))
        empty_areas, empty_governments = areas.iloc[0:0], governments.iloc[0:0]
        for context, _ in batch:
            key = (context[2], context[9])
            yield context, area_groups.get(key, empty_areas), government_groups.get(key, empty_governments)

    rows = q.consensus_rows_with_scale(session, filters)
    for _, group in itertools.groupby(rows, key=lambda row: row[12]):
        group = list(group)
        scale = (group[0][-2], group[0][-1])
        if batch and (scale != batch_scale or batch_rows + len(group) > INDEX_BATCH_ROWS):
            yield from flush()
            batch, batch_rows = [], 0
        batch.append((group[0][:width], group))
        batch_rows += len(group)
        batch_scale = scale
    if batch:
        yield from flush()


def _area_index_rows(session, filters) -> Iterator[tuple]:
    for context, areas, _ in _index_groups(session, filters):
        for area in areas.itertuples(index=False):
            yield (*context, area.area_code, area.area_score, area.area_pct, area.n_indicators)


def _government_index_rows(session, filters) -> Iterator[tuple]:
    for context, _, governments in _index_groups(session, filters):
        for government in governments.itertuples(index=False):
            yield (*context, government.capacity_index, government.capacity_pct, government.n_areas)


WIDE_STATUS_COLUMNS = ("status_baseline", "status_midpoint", "status_end")
_STATUS_AT = q.ASSESSMENT_CONTEXT.index("assessment_status")


def wide_columns(drafts: bool = False) -> tuple[str, ...]:
    """The wide table's columns: with drafts, one assessment status column per round."""
    return (*q.WIDE_COLUMNS, *WIDE_STATUS_COLUMNS) if drafts else tuple(q.WIDE_COLUMNS)


def _wide_rows(session, filters, drafts: bool = False) -> Iterator[tuple]:
    """Government × area with one column per round, grouped while streaming (rows arrive by UBIGEO).

    Validated assessments only, like Avance; with ``drafts`` draft ones too, each round's status in its column.
    """
    targets = q.target_lookup(session, filters)

    def emit(head: tuple, scores: dict, statuses: dict) -> Iterator[tuple]:
        for area_code in sorted(scores):
            by_round = scores[area_code]
            row = (*head, area_code, by_round.get("baseline"), by_round.get("midpoint"), by_round.get("end"),
                   targets.get((head[2], area_code, "midpoint")), targets.get((head[2], area_code, "end")))
            if drafts:
                row = (*row, *(statuses.get(r) if r in by_round else None for r in scoring.ROUNDS))
            yield row

    head, scores, statuses = None, {}, {}
    for context, areas, _ in _index_groups(session, filters):
        if not drafts and context[_STATUS_AT] != "validated":
            continue
        current = (context[0], context[1], context[2], context[3], context[4])
        if head is not None and current[2] != head[2]:
            yield from emit(head, scores, statuses)
            scores, statuses = {}, {}
        head = current
        statuses[context[9]] = context[_STATUS_AT]
        for area in areas.itertuples(index=False):
            scores.setdefault(area.area_code, {})[context[9]] = area.area_score
    if head is not None:
        yield from emit(head, scores, statuses)


def _raw_columns(table: sa.Table) -> list[str]:
    return [column.name for column in table.columns]


def export_snapshot(
    target: str | Path | BinaryIO,
    *,
    actor: Actor,
    filters: q.Filters | None = None,
    bom: bool = False,
    xlsx: bool = False,
    progress: ProgressFn | None = None,
    names: bool | None = None,
    drafts: bool = False,
) -> dict:
    """Write a snapshot ZIP to ``target`` (a path or a binary file); returns its manifest.

    Rows are streamed from the database in chunks straight into the ZIP, so memory stays bounded
    however large the export (the XLSX workbook is written in openpyxl's write-only mode).

    What ``actor`` reads is what is exported (``db.queries.scope``): a facilitator's snapshot holds
    their own clusters only. People's names and typed codes are in it only when ``names`` (default:
    the actor's role allows it, administrators and managers); otherwise every person is a stable
    pseudonym, their record id is withheld, the raw tables (for merging, which needs the people) are
    left out and the manifest's ``personal_data`` says so. Every export is audited ("export",
    "snapshot", with what was included). The wide table holds validated assessments only unless ``drafts``
    (then a status column per round); the manifest's ``wide`` says which.
    """
    from assessments.snapshot_dictionary import dictionary_rows, DICTIONARY_COLUMNS
    from db.engine import read_session

    require(actor, "snapshot.export")
    if names is None:
        names = read_scope.exports_names(actor)
    elif names and not read_scope.exports_names(actor):
        raise PermissionDenied("read_scope.names_refused", role=actor.role)
    filters = replace(filters or q.Filters(), clusters=read_scope.readable_clusters(actor))
    progress = progress or (lambda fraction, label: None)
    encoding = "utf-8-sig" if bom else "utf-8"
    raw = filters.is_empty() and names
    secret = None if names else read_scope.pseudonym_secret()
    tidy_sources: list[tuple[str, tuple[str, ...], Callable]] = []
    for name, spec in q.TIDY_TABLES.items():
        source = {"area_indexes": _area_index_rows, "government_indexes": _government_index_rows}.get(name) \
            or q.ROW_SOURCES[name]
        if secret is not None and name in q.PERSONAL_COLUMNS:
            source = _pseudonymised_source(name, source, secret)
        tidy_sources.append((f"tables/{name}.csv", spec.columns, source, name))
    raw_list = q.raw_tables() if raw else []
    steps = len(tidy_sources) + 2 + len(raw_list) + (1 if xlsx else 0)
    done = 0

    def step(label: str) -> None:
        nonlocal done
        progress(min(done / steps, 1.0), label)
        done += 1

    def tick(name: str, rows: int) -> None:
        progress(min((done - 1) / steps, 1.0), f"{name} ({rows:,})")

    workbook = None
    if xlsx:
        from openpyxl import Workbook

        workbook = Workbook(write_only=True)
    exported_at = datetime.now(timezone.utc)
    with read_session() as session, zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED,
                                                    compresslevel=6) as archive:
        writer = _Writer(archive, encoding, workbook, stamp=exported_at.timetuple()[:6], tick=tick)
        described: dict[str, list[str]] = {}
        for path, columns, source, name in tidy_sources:
            step(path)
            writer.table(path, columns, source(session, filters), sheet=name[:31])
            described[path] = list(columns)
        step(WIDE_FILE)
        writer.table(WIDE_FILE, wide_columns(drafts), _wide_rows(session, filters, drafts),
                     sheet="area_scores_by_round")
        described[WIDE_FILE] = list(wide_columns(drafts))
        for table in raw_list:
            path = f"raw/{table.name}.csv"
            step(path)
            writer.table(path, _raw_columns(table), q.raw_rows(session, table))
            described[path] = _raw_columns(table)
        step(DICTIONARY_FILE)
        described[DICTIONARY_FILE] = list(DICTIONARY_COLUMNS)
        personal = personal_data(names, raw_requested=filters.is_empty())
        writer.table(DICTIONARY_FILE, DICTIONARY_COLUMNS,
                     dictionary_rows(described, pseudonymised=None if names else personal["pseudonymised"],
                                     withheld=None if names else personal["withheld"]), sheet="dictionary")
        _write_datapackage(writer, described, encoding, personal, names)
        if workbook is not None:
            step(WORKBOOK_FILE)
            with tempfile.TemporaryDirectory() as folder:
                book_path = Path(folder) / "snapshot.xlsx"
                workbook.save(book_path)
                writer.binary(WORKBOOK_FILE, book_path)
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "app_version": app_version(),
            "exported_at": exported_at.isoformat(),
            "exported_by": actor.username,
            "filters": filters.as_dict(),
            "scope": {"clusters": None if filters.clusters is None else sorted(str(c) for c in filters.clusters)},
            "personal_data": personal,
            "wide": wide_manifest(drafts),
            "mergeable": raw,
            "schema_revision": q.schema_revision(session),
            "encoding": encoding,
            "formula_escape": "'",
            "instrument_versions": q.instrument_versions(session),
            "files": writer.files,
        }
        archive.writestr(MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=2, default=str))
    _audit_export(actor, manifest)
    progress(1.0, MANIFEST)
    return manifest


def _write_datapackage(writer: _Writer, described: Mapping[str, list[str]], encoding: str, personal: dict,
                       names: bool) -> None:
    """datapackage.json (Frictionless): every CSV's field types, missing values and value labels."""
    from assessments.snapshot_dictionary import DATAPACKAGE_FILE, datapackage

    package = datapackage(described, encoding=encoding, title="FOCAS / QSIP snapshot",
                          pseudonymised=None if names else personal["pseudonymised"],
                          withheld=None if names else personal["withheld"])
    data = json.dumps(package, ensure_ascii=False, indent=1).encode("utf-8")
    with writer.archive.open(writer._info(DATAPACKAGE_FILE), "w") as entry:
        entry.write(data)
    writer.files[DATAPACKAGE_FILE] = {"rows": None, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def wide_manifest(drafts: bool) -> dict:
    """The manifest's account of which assessments the wide table holds."""
    return {"file": WIDE_FILE, "assessments": "validated_and_draft" if drafts else "validated",
            "status_columns": list(WIDE_STATUS_COLUMNS) if drafts else [],
            "note": "draft assessments included, each round's status in status_<round>" if drafts else
                    "validated assessments only (as on Avance); the tables/ files hold drafts too, with assessment_status"}


def _pseudonymised_source(name: str, source: Callable, secret: bytes) -> Callable:
    def rows(session, filters):
        return q.pseudonymised_rows(name, source(session, filters), secret)
    return rows


def personal_data(names: bool, *, raw_requested: bool) -> dict:
    """The manifest's account of people's data: included, or which columns were pseudonymised or withheld."""
    if names:
        return {"names": "included", "pseudonymised": [], "withheld": []}
    pseudonymised = [f"tables/{table}.csv:{text}" for table, (_, _, text) in q.PERSONAL_COLUMNS.items()]
    withheld = [f"tables/{table}.csv:{record}" for table, (record, _, _) in q.PERSONAL_COLUMNS.items()]
    if raw_requested:
        withheld.append("raw/")
    return {
        "names": "withheld",
        "pseudonymised": pseudonymised,
        "withheld": withheld,
        "pseudonym": "P-/R-/G- + first 12 hex digits of HMAC-SHA256(installation secret, '<kind>:<record id>'); "
                     "the same person has the same code in every export of this installation",
    }


def _audit_export(actor: Actor, manifest: Mapping) -> None:
    """One audit event per snapshot: who, which filters and scope, and whether it carried names."""
    from db.audit import record
    from db.engine import write_session

    with write_session() as session:
        record(session, actor, "export", "snapshot", None, after={
            "names": manifest["personal_data"]["names"], "filters": manifest["filters"],
            "clusters": manifest["scope"]["clusters"], "mergeable": manifest["mergeable"],
            "files": len(manifest["files"]), "rows": sum(info["rows"] or 0 for info in manifest["files"].values()),
            "exported_at": manifest["exported_at"]})


def export_bytes(*, actor: Actor, filters: q.Filters | None = None, bom: bool = False, xlsx: bool = False,
                 progress: ProgressFn | None = None, names: bool | None = None,
                 drafts: bool = False) -> tuple[bytes, dict]:
    """The snapshot as bytes (for a download button), built in a temporary file first."""
    with tempfile.TemporaryFile() as handle:
        manifest = export_snapshot(handle, actor=actor, filters=filters, bom=bom, xlsx=xlsx, progress=progress,
                                   names=names, drafts=drafts)
        handle.seek(0)
        return handle.read(), manifest


def file_name(manifest: Mapping) -> str:
    stamp = manifest["exported_at"][:19].replace(":", "").replace("-", "")
    return f"focas_snapshot_{stamp}.zip"


# --- reading an archive safely --------------------------------------------------------------


def _fail(key: str, **params: Any) -> ValidationFailed:
    return ValidationFailed(f"snapshot.error.{key}", **params)


class SnapshotArchive:
    """An opened snapshot ZIP whose names, sizes and SHA-256 sums were all checked."""

    def __init__(self, source: bytes | str | Path | BinaryIO, *, max_bytes: int | None = None) -> None:
        if isinstance(source, (bytes, bytearray)):
            size = len(source)
            source = io.BytesIO(source)
        elif isinstance(source, (str, Path)):
            size = Path(source).stat().st_size
        else:
            source.seek(0, io.SEEK_END)
            size = source.tell()
            source.seek(0)
        if max_bytes is not None and size > max_bytes:
            raise _fail("too_large", mb=round(size / 1_048_576, 1), limit=round(max_bytes / 1_048_576, 1))
        try:
            self.zip = zipfile.ZipFile(source)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError):
            raise _fail("not_zip") from None
        self._check_entries()
        self.manifest = self._read_manifest()
        self._check_files()

    def _check_entries(self) -> None:
        infos = self.zip.infolist()
        if len(infos) > MAX_ENTRIES:
            raise _fail("too_many_entries", count=len(infos), limit=MAX_ENTRIES)
        seen, total = set(), 0
        for info in infos:
            name = info.filename
            if name.startswith(("/", "\\")) or "\\" in name or ".." in name.split("/") or ":" in name:
                raise _fail("unsafe_path", name=name[:120])
            if not SAFE_NAME.match(name):
                raise _fail("unexpected_file", name=name[:120])
            if name in seen:
                raise _fail("duplicate_entry", name=name)
            seen.add(name)
            if info.flag_bits & 0x1:
                raise _fail("encrypted", name=name)
            if info.file_size > MAX_ENTRY_BYTES:
                raise _fail("bomb", name=name)
            if info.file_size > RATIO_CHECK_FROM and info.file_size > MAX_RATIO * max(info.compress_size, 1):
                raise _fail("bomb", name=name)
            total += info.file_size
        if total > MAX_TOTAL_BYTES:
            raise _fail("bomb", name="*")
        if MANIFEST not in seen:
            raise _fail("missing_manifest")

    def _stream(self, name: str) -> Iterator[bytes]:
        """An entry's bytes in chunks, refusing it the moment it outgrows its declared size."""
        info = self.zip.getinfo(name)
        produced = 0
        try:
            with self.zip.open(info) as entry:
                for chunk in iter(lambda: entry.read(1 << 16), b""):
                    produced += len(chunk)
                    if produced > info.file_size:
                        raise _fail("bomb", name=name)
                    yield chunk
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError,
                RuntimeError) as error:  # a corrupted deflate stream is a zlib.error, a bad CRC a BadZipFile
            if isinstance(error, ValidationFailed):
                raise
            raise _fail("truncated", name=name) from None

    def _read_manifest(self) -> dict:
        if self.zip.getinfo(MANIFEST).file_size > MAX_MANIFEST_BYTES:
            raise _fail("bad_manifest")
        data = b"".join(self._stream(MANIFEST))
        try:
            manifest = json.loads(data.decode("utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise _fail("bad_manifest") from None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT or not isinstance(
                manifest.get("files"), dict):
            raise _fail("bad_manifest")
        if manifest.get("format_version") != FORMAT_VERSION:
            raise _fail("unsupported_format", version=str(manifest.get("format_version"))[:20])
        return manifest

    def _check_files(self) -> None:
        listed = self.manifest["files"]
        present = {info.filename for info in self.zip.infolist()} - {MANIFEST}
        for name in sorted(present - set(listed)):
            raise _fail("unexpected_file", name=name)
        for name in sorted(set(listed) - present):
            raise _fail("missing_file", name=str(name)[:120])
        for name in sorted(present):
            expected = listed[name]
            if not isinstance(expected, dict) or not isinstance(expected.get("sha256"), str):
                raise _fail("bad_manifest")
            sha = hashlib.sha256()
            for chunk in self._stream(name):
                sha.update(chunk)
            if sha.hexdigest() != expected["sha256"].lower():
                raise _fail("hash_mismatch", name=name)

    def rows(self, name: str) -> Iterator[tuple[int, list[str]]]:
        """(line, cells) of one CSV entry, header first (line 1); bad encodings and broken CSV refused."""
        raw = _ChunkReader(self._stream(name))
        text = io.TextIOWrapper(io.BufferedReader(raw), encoding="utf-8-sig", newline="")
        reader = csv.reader(text, strict=True)
        try:
            for cells in reader:
                yield reader.line_num, cells
        except UnicodeDecodeError:
            raise _fail("bad_encoding", name=name) from None
        except csv.Error:
            raise _fail("bad_csv", name=name, line=reader.line_num) from None


class _ChunkReader(io.RawIOBase):
    """A readable stream over an iterator of byte chunks."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self.chunks = chunks
        self.pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self.pending:
            try:
                self.pending = next(self.chunks)
            except StopIteration:
                return 0
        size = min(len(buffer), len(self.pending))
        buffer[:size] = self.pending[:size]
        self.pending = self.pending[size:]
        return size


# --- import ---------------------------------------------------------------------------------


# One record whose content differs between the snapshot and this installation.
@dataclass(frozen=True)
class ConflictRecord:
    table: str
    record_id: str
    kind: str  # "changed": same UUID, different content; "duplicate": another record holds its unique key
    columns: tuple[str, ...]
    local: dict
    incoming: dict

    @property
    def key(self) -> str:
        return f"{self.table}:{self.record_id}"


@dataclass
class TableCounts:
    added: int = 0
    skipped: int = 0
    updated: int = 0
    conflicts: int = 0
    blocked: int = 0
    refused: int = 0


# One incoming row the methodology's rules refuse (the pages' and the Kobo import's): never written.
@dataclass(frozen=True)
class RefusedRow:
    table: str
    record_id: str
    key: str  # catalog key of the reason
    params: dict

    def message(self, lang: str = "es") -> str:
        from assessments.i18n import translate

        return translate(self.key, lang, **self.params)


# What an import did, per table, and the conflicts left for a person to resolve.
@dataclass
class ImportReport:
    tables: dict[str, TableCounts] = field(default_factory=dict)
    conflicts: list[ConflictRecord] = field(default_factory=list)
    manifest: dict = field(default_factory=dict)
    refused: list[RefusedRow] = field(default_factory=list)

    def total(self, what: str) -> int:
        return sum(getattr(counts, what) for counts in self.tables.values())

    def as_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [{"table": name, **vars(counts)} for name, counts in self.tables.items()],
            columns=["table", "added", "skipped", "updated", "conflicts", "blocked", "refused"],
        )

    def refused_frame(self, lang: str = "es") -> pd.DataFrame:
        return pd.DataFrame([{"table": r.table, "record_id": r.record_id, "reason": r.message(lang)}
                             for r in self.refused], columns=["table", "record_id", "reason"])

    def conflicts_frame(self) -> pd.DataFrame:
        rows = []
        for c in self.conflicts:
            for column in c.columns:
                rows.append({"key": c.key, "table": c.table, "record_id": c.record_id, "kind": c.kind,
                             "column": column, "local": _shown(c.local.get(column)),
                             "incoming": _shown(c.incoming.get(column))})
        return pd.DataFrame(rows, columns=["key", "table", "record_id", "kind", "column", "local", "incoming"])


def _shown(value: Any) -> str:
    text = format_cell(value)
    return restore(text) if isinstance(value, str) else text


def column_kind(column: sa.Column) -> type:
    """The Python type a column holds (SQLModel's AutoString and our UTCDateTime report ``object``)."""
    kind = column.type
    if isinstance(kind, sa.types.TypeDecorator):
        kind = kind.impl if isinstance(kind.impl, sa.types.TypeEngine) else kind.impl_instance
    for sa_type, python_type in ((sa.Uuid, uuid.UUID), (sa.Boolean, bool), (sa.Integer, int), (sa.Float, float),
                                 (sa.DateTime, datetime), (sa.Date, date)):
        if isinstance(kind, sa_type):
            return python_type
    return str


def _parser(column: sa.Column) -> Callable[[str], Any]:
    python_type = column_kind(column)
    if python_type is bool:
        def parse(text):
            if text not in ("true", "false"):
                raise ValueError(text)
            return text == "true"
        return parse
    if python_type is int:
        def parse(text):
            if not re.fullmatch(r"-?[0-9]{1,18}", text):
                raise ValueError(text)
            return int(text)
        return parse
    if python_type is float:
        def parse(text):
            value = float(text)
            if not math.isfinite(value):
                raise ValueError(text)
            return value
        return parse
    if python_type is uuid.UUID:
        return uuid.UUID
    if python_type is datetime:
        def parse(text):
            value = datetime.fromisoformat(text)
            return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
        return parse
    if python_type is date:
        return date.fromisoformat
    return restore


def _typed_rows(archive: SnapshotArchive, table: sa.Table) -> Iterator[dict]:
    name = f"raw/{table.name}.csv"
    columns = list(table.columns)
    expected = [c.name for c in columns]
    parsers = [_parser(c) for c in columns]
    rows = archive.rows(name)
    try:
        _, header = next(rows)
    except StopIteration:
        raise _fail("wrong_columns", name=name, expected=", ".join(expected), found="") from None
    if [restore(h) for h in header] != expected:
        raise _fail("wrong_columns", name=name, expected=", ".join(expected), found=", ".join(header)[:300])
    for line, cells in rows:
        if len(cells) != len(columns):
            raise _fail("bad_row", name=name, line=line)
        row = {}
        for column, parse, text in zip(columns, parsers, cells):
            if text == "":
                if column_kind(column) is str:
                    row[column.name] = None if column.nullable else ""
                    continue
                if not column.nullable:
                    raise _fail("bad_value", name=name, line=line, column=column.name, value="")
                row[column.name] = None
                continue
            try:
                row[column.name] = parse(text)
            except (ValueError, TypeError, OverflowError):
                raise _fail("bad_value", name=name, line=line, column=column.name, value=text[:40]) from None
        yield row


def _fk_targets(table: sa.Table, merged: set[str]) -> dict[str, str]:
    """Columns of ``table`` holding the UUID of a merged table's row: column → referenced table."""
    targets = {}
    for fk in table.foreign_keys:
        if fk.column.name == "id" and fk.column.table.name in merged:
            targets[fk.parent.name] = fk.column.table.name
    return targets


def _parents_first(rows: list[dict], column: str) -> list[dict]:
    """Order rows of a self-referencing table so a parent is inserted before its children."""
    ids = {row["id"] for row in rows}
    placed: set = set()
    ordered: list[dict] = []
    pending = rows
    while pending:
        ready, still = [], []
        for row in pending:
            parent = row.get(column)
            waits = parent in ids and parent not in placed and parent != row["id"]
            (still if waits else ready).append(row)
        if not ready:  # a cycle: let the database refuse it
            ordered.extend(still)
            break
        ordered.extend(ready)
        placed.update(row["id"] for row in ready)
        pending = still
    return ordered


def _unique_keys(table: sa.Table) -> list[tuple[str, ...]]:
    keys = []
    for constraint in table.constraints:
        if isinstance(constraint, sa.UniqueConstraint):
            columns = tuple(c.name for c in constraint.columns)
            if columns and "id" not in columns:
                keys.append(columns)
    return keys


def _lookup(session: Session, table: sa.Table, columns: tuple[str, ...], keys: list[tuple]) -> dict[tuple, dict]:
    if not keys:
        return {}
    # Filter on the key's first column only (an indexed IN that both engines plan well; SQLite scans
    # on a row-value IN) and match the whole key here.
    wanted = set(keys)
    firsts = sorted({k[0] for k in keys}, key=str)
    found = {}
    for start in range(0, len(firsts), IMPORT_CHUNK):
        condition = table.c[columns[0]].in_(firsts[start:start + IMPORT_CHUNK])
        for row in session.execute(sa.select(table).where(condition)).mappings():
            key = tuple(row[c] for c in columns)
            if key in wanted:
                found[key] = dict(row)
    return found


def _compare_columns(table: sa.Table) -> list[str]:
    return [c.name for c in table.columns if c.name not in ("id", *TIMESTAMPS)]


def _audit_payload(row: Mapping) -> dict:
    return {k: (format_cell(v) if not isinstance(v, str) else v) for k, v in row.items()}


class _MethodRules:
    """The pages' and the Kobo import's rules for the rows a snapshot brings: a score (participant or
    consensus) on its instrument's scale, and nothing added to an assessment validated in this installation
    (there a change needs a reason on the assessment's page). A refused row is reported, not written, and the
    rows depending on it are held back."""

    SCORED = {"participant_score": False, "consensus_score": True}  # table -> may the score be empty
    LOCKED = ("participant", "participant_score", "consensus_score")

    def __init__(self) -> None:
        self.assessments: dict[Any, tuple[bool, int, int]] = {}  # id -> (validated before, scale min, max)
        self.added: set = set()

    def _load(self, session: Session, ids: Iterable) -> None:
        wanted = sorted({i for i in ids if i not in self.assessments}, key=str)
        from sqlmodel import SQLModel

        assessment = SQLModel.metadata.tables["assessment"]
        instrument = SQLModel.metadata.tables["instrument"]
        for start in range(0, len(wanted), IMPORT_CHUNK):
            for row in session.execute(
                    sa.select(assessment.c.id, assessment.c.status, instrument.c.scale_min, instrument.c.scale_max)
                    .join(instrument, instrument.c.id == assessment.c.instrument_id)
                    .where(assessment.c.id.in_(wanted[start:start + IMPORT_CHUNK]))):
                self.assessments[row[0]] = (row[1] == "validated" and row[0] not in self.added, row[2], row[3])

    def off_scale(self, session: Session, name: str, rows: list[dict]) -> dict[Any, tuple[str, dict]]:
        """Rows (by incoming id) whose score is off their instrument's scale, with the reason."""
        if name not in self.SCORED:
            return {}
        self._load(session, (r["assessment_id"] for r in rows))
        refused = {}
        for row in rows:
            known = self.assessments.get(row["assessment_id"])
            score = row.get("score")
            if known is None or (score is None and self.SCORED[name]):
                continue  # an unknown assessment: the database refuses the whole file
            _, low, high = known
            if score is None or not low <= score <= high:
                refused[row["id"]] = ("snapshot_traps.refused.off_scale",
                                      {"value": "" if score is None else score, "min": low, "max": high})
        return refused

    def locked(self, session: Session, name: str, row: dict) -> tuple[str, dict] | None:
        """The reason a new row may not join its assessment (validated here before this import), or None."""
        if name not in self.LOCKED:
            return None
        self._load(session, [row["assessment_id"]])
        known = self.assessments.get(row["assessment_id"])
        return ("snapshot_traps.refused.validated", {}) if known is not None and known[0] else None


def import_snapshot(
    source: bytes | str | Path | BinaryIO,
    *,
    session: Session,
    actor: Actor,
    take_incoming: Iterable[str] = (),
    max_bytes: int | None = None,
) -> ImportReport:
    """Merge a snapshot into this installation, in the caller's transaction.

    Records are matched by UUID (reference rows and instrument versions by their natural key):
    new ones are added, identical ones skipped; one whose content differs is reported as a
    conflict and left as it is, unless its key ("table:uuid") is in ``take_incoming`` (a person's
    decision), which replaces the local values. A record holding another record's unique key (the
    same government's baseline entered on two laptops) is a "duplicate" conflict, and the rows that
    depend on it are held back. A row the methodology refuses (a score off its instrument's scale, a row
    added to an assessment validated here) is reported in ``report.refused`` with its reason and not
    written, its dependants held back; the rest lands. Anything malformed raises before a single row is written.
    """
    from db.audit import record

    require(actor, "snapshot.import")
    archive = SnapshotArchive(source, max_bytes=max_bytes)
    manifest = archive.manifest
    if not manifest.get("mergeable"):
        raise _fail("not_mergeable")
    ours = q.schema_revision(session)
    if manifest.get("schema_revision") != ours:
        raise _fail("schema_mismatch", theirs=str(manifest.get("schema_revision"))[:40], ours=str(ours))
    take_incoming = set(take_incoming)
    if session.get_bind().dialect.name == "sqlite":
        # one transaction inserts every row: a larger page cache keeps random UUID index inserts off the disk
        session.execute(sa.text(f"PRAGMA cache_size=-{SQLITE_IMPORT_CACHE_KB}"))
    tables = q.raw_tables()
    merged = {t.name for t in tables}
    for table in tables:
        if f"raw/{table.name}.csv" not in manifest["files"]:
            raise _fail("missing_file", name=f"raw/{table.name}.csv")
    report = ImportReport(manifest=manifest)
    rules = _MethodRules()
    id_map: dict[str, dict] = {name: {} for name in merged}
    blocked: dict[str, set] = {name: set() for name in merged}
    reason = f"snapshot {manifest.get('exported_at', '')} ({manifest.get('exported_by', '')})"[:200]
    table = tables[0]
    try:
        for table in tables:
            counts = report.tables.setdefault(table.name, TableCounts())
            fks = _fk_targets(table, merged)
            self_refs = [c for c, target in fks.items() if target == table.name]
            rows: Iterable[dict] = _typed_rows(archive, table)
            if self_refs:
                rows = _parents_first(list(rows), self_refs[0])
            iterator = iter(rows)
            while chunk := list(itertools.islice(iterator, IMPORT_CHUNK)):
                _merge_chunk(session, actor, table, chunk, fks, id_map, blocked, counts, report, take_incoming,
                             reason, record, rules)
    except sa.exc.IntegrityError as error:
        detail = f"{table.name}: {str(error.orig).splitlines()[0]}"[:240]
        raise _fail("rejected", detail=detail) from None
    changed = report.total("added") + report.total("updated")
    if changed:
        record(session, actor, "import", "snapshot", None, reason=reason,
               after={name: vars(c) for name, c in report.tables.items() if c.added or c.updated})
    report.tables = {name: report.tables[name] for name in q.RAW_TABLE_NAMES if name in report.tables}
    return report


def _merge_chunk(session, actor, table, chunk, fks, id_map, blocked, counts, report, take_incoming, reason,
                 record, rules: _MethodRules) -> None:
    name = table.name
    natural = NATURAL_KEYS.get(name)
    ready = []
    for row in chunk:
        incoming_id = row["id"]
        held = False
        for column, target in fks.items():
            value = row.get(column)
            if value is None:
                continue
            if value in blocked[target]:
                held = True
                break
            row[column] = id_map[target].get(value, value)
        if held:
            blocked[name].add(incoming_id)
            counts.blocked += 1
            continue
        ready.append(row)

    def refuse(row: dict, why: tuple[str, dict]) -> None:
        blocked[name].add(row["id"])
        counts.refused += 1
        report.refused.append(RefusedRow(name, str(row["id"]), why[0], why[1]))

    off_scale = rules.off_scale(session, name, ready)
    for row in ready:
        if row["id"] in off_scale:
            refuse(row, off_scale[row["id"]])
    ready = [row for row in ready if row["id"] not in off_scale]
    if not ready:
        return
    local_by_id = {row["id"]: dict(row) for row in session.execute(
        sa.select(table).where(table.c.id.in_([r["id"] for r in ready]))).mappings()}
    by_natural = _lookup(session, table, natural, [tuple(r[c] for c in natural) for r in ready
                                                   if r["id"] not in local_by_id]) if natural else {}
    unique_keys = [] if natural else _unique_keys(table)
    by_unique = {key: _lookup(session, table, key, [tuple(r[c] for c in key) for r in ready
                                                    if r["id"] not in local_by_id]) for key in unique_keys}
    compare = _compare_columns(table)
    inserts = []
    self_refs = [column for column, target in fks.items() if target == name]
    for row in ready:
        incoming_id = row["id"]
        for column in self_refs:
            if row.get(column) is not None:
                row[column] = id_map[name].get(row[column], row[column])
        local = local_by_id.get(incoming_id)
        if local is None and natural:
            local = by_natural.get(tuple(row[c] for c in natural))
            if local is not None:
                id_map[name][incoming_id] = local["id"]
                row = {**row, "id": local["id"]}
        if local is not None:
            if name in NEVER_CONFLICT:
                counts.skipped += 1
                continue
            differing = tuple(c for c in compare if local[c] != row[c])
            if not differing:
                counts.skipped += 1
            elif f"{name}:{incoming_id}" in take_incoming:
                values = {c: row[c] for c in compare}
                values["updated_at"] = row["updated_at"]
                session.execute(sa.update(table).where(table.c.id == local["id"]).values(**values))
                record(session, actor, "import_update", name, local["id"], before=_audit_payload(local),
                       after=_audit_payload({**local, **values}), reason=reason)
                counts.updated += 1
            else:
                report.conflicts.append(ConflictRecord(name, str(incoming_id), "changed", differing,
                                                       {c: local[c] for c in differing},
                                                       {c: row[c] for c in differing}))
                counts.conflicts += 1
            continue
        duplicate = None
        for key in unique_keys:
            duplicate = by_unique[key].get(tuple(row[c] for c in key))
            if duplicate is not None:
                report.conflicts.append(ConflictRecord(name, str(incoming_id), "duplicate", key,
                                                       {c: duplicate[c] for c in key}, {c: row[c] for c in key}))
                break
        if duplicate is not None:
            blocked[name].add(incoming_id)
            counts.conflicts += 1
            continue
        lock = rules.locked(session, name, row)
        if lock is not None:
            refuse(row, lock)
            continue
        inserts.append(row)
    if inserts:
        # a parent matched by its natural key in this same chunk (self-referencing tables)
        for column, target in fks.items():
            if target == name:
                for row in inserts:
                    if row.get(column) is not None:
                        row[column] = id_map[name].get(row[column], row[column])
        session.execute(sa.insert(table), inserts)
        if name == "assessment":
            rules.added.update(row["id"] for row in inserts)
        _audit_inserts(session, actor, name, inserts, reason)
        counts.added += len(inserts)


def _audit_inserts(session: Session, actor: Actor, entity: str, rows: list[dict], reason: str) -> None:
    """One audit event per added record, written in bulk (the summary event bumps the data version)."""
    from db.models import AuditEvent
    from db.models.base import utcnow

    now = utcnow()
    session.execute(sa.insert(AuditEvent.__table__), [
        {"id": uuid.uuid4(), "at": now, "actor": actor.username, "actor_role": actor.role, "action": "import",
         "entity": entity, "entity_id": str(row["id"]), "before_json": None,
         "after_json": json.dumps(_audit_payload(row), ensure_ascii=False), "reason": reason}
        for row in rows
    ])


def run_import(source: bytes | str | Path | BinaryIO, *, actor: Actor, take_incoming: Iterable[str] = (),
               max_bytes: int | None = None, page: bool = True) -> ImportReport:
    """:func:`import_snapshot` in one write unit of work (tried again after a transient conflict); a refused
    file (``ValidationFailed``: broken, hostile, not mergeable) is written to the audit log as
    ``import_refused`` in a short transaction of its own once the import is rolled back, then raised.
    Role refusals are audited by ``assessments.access`` as ``refused``."""
    from db.engine import run_page_write, run_write

    def work(session: Session) -> ImportReport:
        return import_snapshot(source, session=session, actor=actor, take_incoming=take_incoming,
                               max_bytes=max_bytes)

    try:
        return (run_page_write if page else run_write)(work)
    except ValidationFailed as error:
        _audit_refused_import(actor, error, source)
        raise


def _audit_refused_import(actor: Actor, error: ValidationFailed, source: Any) -> None:
    from db.audit import record
    from db.engine import write_session

    if isinstance(source, (bytes, bytearray)):
        size = len(source)
    elif isinstance(source, (str, Path)):
        size = Path(source).stat().st_size if Path(source).exists() else None
    else:
        size = None
    params = {k: (v if isinstance(v, (int, float)) else str(v)[:200]) for k, v in error.params.items()}
    with write_session() as session:
        record(session, actor, "import_refused", "snapshot", None, reason=error.message("en")[:200],
               after={"error": error.key, "params": params, "bytes": size})


def take_incoming_choices(report: ImportReport) -> list[str]:
    """Conflict keys a person can resolve by taking the snapshot's version (changed records)."""
    return [c.key for c in report.conflicts if c.kind == "changed"]


# --- command line ---------------------------------------------------------------------------


def _cli_progress(fraction: float, label: str) -> None:
    print(f"\r{fraction * 100:5.1f}%  {label[:60]:<60}", end="", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    from assessments.access import LOCAL_USER
    from assessments.errors import DomainError
    from db.config import load_settings

    parser = argparse.ArgumentParser(prog="python -m assessments.snapshot", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    export = commands.add_parser("export", help="write a snapshot ZIP")
    export.add_argument("out")
    export.add_argument("--department", help="INEI department code, e.g. 22")
    export.add_argument("--cluster", help="cluster UUID")
    export.add_argument("--round", choices=scoring.ROUNDS)
    export.add_argument("--bom", action="store_true", help="UTF-8 with byte-order mark (Excel)")
    export.add_argument("--xlsx", action="store_true", help="add an XLSX workbook of the tables")
    export.add_argument("--pseudonymise", action="store_true",
                        help="people as stable pseudonyms, no names, typed codes or record ids (not mergeable)")
    export.add_argument("--drafts", action="store_true",
                        help="draft assessments in the wide table too, with a status column per round")
    export.add_argument("--lang", default="en", choices=("es", "en"))
    imp = commands.add_parser("import", help="merge a snapshot ZIP into this database")
    imp.add_argument("source")
    imp.add_argument("--take-incoming", nargs="*", default=[], metavar="TABLE:UUID",
                     help="conflicts to resolve with the snapshot's version")
    imp.add_argument("--lang", default="en", choices=("es", "en"))
    args = parser.parse_args(argv)
    try:
        if args.command == "export":
            try:
                cluster = uuid.UUID(args.cluster) if args.cluster else None
            except ValueError:
                raise _fail("bad_cluster", value=args.cluster[:40]) from None
            filters = q.Filters(department_code=args.department, cluster_id=cluster, round=args.round)
            manifest = export_snapshot(args.out, actor=LOCAL_USER, filters=filters, bom=args.bom, xlsx=args.xlsx,
                                       progress=_cli_progress, names=False if args.pseudonymise else None,
                                       drafts=args.drafts)
            print(file=sys.stderr)
            for name, info in manifest["files"].items():
                print(f"{name}\t{info['rows'] if info['rows'] is not None else '-'}\t{info['sha256']}")
            return 0
        from db.setup import prepare

        prepare(demo=False, quiet=True)
        # one transaction, tried again after a transient conflict (the app saving at the same time); a refused
        # file is audited
        report = run_import(args.source, actor=LOCAL_USER, take_incoming=args.take_incoming,
                            max_bytes=load_settings().max_upload_mb * 1_048_576, page=False)
        print(report.as_frame().to_string(index=False))
        for conflict in report.conflicts:
            print(f"CONFLICT {conflict.kind} {conflict.key} {', '.join(conflict.columns)}")
        return 0
    except DomainError as error:
        print(error.message(args.lang), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
