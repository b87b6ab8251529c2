"""The bilingual data dictionary of a snapshot: every column of every file, its meaning, type and allowed values."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from collections.abc import Iterator, Mapping

import sqlalchemy as sa
from sqlmodel import SQLModel

from assessments.i18n import catalog
from db.models.base import INDIGENOUS, ITEM_STATUSES, LEVELS, PARTICIPANT_ROLES, RESPONDENT_TYPES, ROUNDS, SECTORS, SEXES
from db.models.selection import GCD_INSTITUTIONS

DICTIONARY_COLUMNS = ("file", "column", "type", "allowed_values", "description_es", "description_en")

INTEGER = {"cluster_wave", "instrument_version", "n_indicators", "n_areas", "sequence", "cycle_year", "stage_number",
           "rating", "wave", "n_attended"}
DECIMAL = {"area_score", "area_pct", "capacity_index", "capacity_pct", "target", "weight", "area_score_baseline",
           "area_score_midpoint", "area_score_end", "target_midpoint", "target_end"}
BOOLEAN = {"within_control", "quick_win", "chosen"}
DATES = {"workshop_date", "planned_start", "planned_end", "actual_start", "actual_end", "deadline", "completed_on",
         "meeting_date", "accredited_on"}
UUIDS = {"assessment_id", "participant_id", "target_id", "item_id", "audit_id", "respondent_id", "barrier_id",
         "action_id", "record_id", "member_id", "meeting_id"}


def _values(values) -> str:
    return " | ".join(values)


# Allowed values of analyst-table columns (raw tables read theirs from the CHECK constraints).
TIDY_ALLOWED: dict[str, str] = {
    "round": _values(ROUNDS),
    "level": _values(LEVELS),
    "government_level": _values(LEVELS),
    "sex": _values(SEXES),
    "indigenous": _values(INDIGENOUS),
    "participant_role": _values(PARTICIPANT_ROLES),
    "respondent_type": _values(RESPONDENT_TYPES),
    "sector": _values(SECTORS),
    "sectors": _values(SECTORS) + " (;)",
    "assessment_status": "draft | validated",
    "intervention_type": "training | technical_assistance | onsite_assistance",
    "category": "management | resources | coordination | information | other",
    "priority": "high | medium | low",
    "institution": _values(GCD_INSTITUTIONS),
    "kind": "plan | progress | annual_results",
    "scope": "province | district",
    "dimension": "effectiveness | efficiency | coverage | satisfaction",
    "rating": "1-5",
    "ubigeo": "INEI: 2 / 4 / 6",
    "within_control": "true | false",
    "quick_win": "true | false",
    "chosen": "true | false",
}
FILE_ALLOWED: dict[tuple[str, str], str] = {
    ("targets", "round"): "midpoint | end",
    ("capacity_plan_items", "status"): _values(ITEM_STATUSES),
    ("qsip_actions", "status"): _values(ITEM_STATUSES),
    ("qsip_stages", "status"): "pending | in_progress | done",
    ("consensus_scores", "score"): "instrument scale (default 1-4)",
    ("participant_scores", "score"): "instrument scale (default 1-4)",
    ("area_indexes", "area_pct"): "0-100",
    ("area_scores_by_round", "status_baseline"): "draft | validated",
    ("area_scores_by_round", "status_midpoint"): "draft | validated",
    ("area_scores_by_round", "status_end"): "draft | validated",
    ("government_indexes", "capacity_pct"): "0-100",
}
_IN_LIST = re.compile(r"^\s*(\w+)\s+IN\s*\((.*)\)\s*$", re.S)


def _stem(path: str) -> str:
    return path.rsplit("/", 1)[-1].removesuffix(".csv")


def _tidy_type(column: str) -> str:
    if column in INTEGER:
        return "integer"
    if column in DECIMAL:
        return "decimal"
    if column in BOOLEAN:
        return "boolean"
    if column in DATES:
        return "date"
    if column in UUIDS:
        return "uuid"
    return "text"


def _raw_type(column: sa.Column) -> str:
    from assessments.snapshot import column_kind

    return {int: "integer", float: "decimal", bool: "boolean", str: "text", uuid.UUID: "uuid",
            datetime: "timestamp", date: "date"}[column_kind(column)]


def _checked_values(table: sa.Table) -> dict[str, str]:
    allowed = {}
    for constraint in table.constraints:
        if isinstance(constraint, sa.CheckConstraint):
            match = _IN_LIST.match(str(constraint.sqltext))
            if match:
                allowed[match.group(1)] = _values(v.strip().strip("'") for v in match.group(2).split(","))
    return allowed


def describe(file_stem: str, column: str, lang: str) -> str | None:
    """The column's meaning in ``lang``: a file-specific entry first, then the shared one."""
    messages = catalog(lang)
    return messages.get(f"snapshot.col.{file_stem}.{column}") or messages.get(f"snapshot.col.{column}")


def type_label(kind: str, lang: str) -> str:
    return catalog(lang).get(f"snapshot.type.{kind}", kind)


def dictionary_rows(files: Mapping[str, list[str]], *, pseudonymised: list[str] | None = None,
                    withheld: list[str] | None = None) -> Iterator[tuple]:
    """One row per file × column: file, column, type, allowed values, meaning in Spanish and English.

    ``pseudonymised`` and ``withheld`` ("file:column") mark the columns of a pseudonymised snapshot: the
    meaning then says the column holds the person's pseudonym, or is left empty.
    """
    notes = {**{k: "pseudonymised" for k in pseudonymised or ()}, **{k: "withheld" for k in withheld or ()}}
    for row in _dictionary_rows(files):
        note = notes.get(f"{row[0]}:{row[1]}")
        if note:
            row = (*row[:2], "text / text" if note == "pseudonymised" else row[2], row[3],
                   f"{row[4]} {catalog('es')[f'read_scope.dictionary.{note}']}".strip(),
                   f"{row[5]} {catalog('en')[f'read_scope.dictionary.{note}']}".strip())
        yield row


def _dictionary_rows(files: Mapping[str, list[str]]) -> Iterator[tuple]:
    for path, column, kind, allowed in column_specs(files):
        stem = _stem(path)
        yield (path, column, f"{type_label(kind, 'es')} / {type_label(kind, 'en')}", allowed,
               describe(stem, column, "es") or "", describe(stem, column, "en") or "")


def column_specs(files: Mapping[str, list[str]]) -> Iterator[tuple[str, str, str, str]]:
    """(file, column, kind, allowed values) of every column: kind is integer, decimal, boolean, date,
    timestamp, uuid or text."""
    for path, columns in files.items():
        stem = _stem(path)
        table = SQLModel.metadata.tables.get(stem) if path.startswith("raw/") else None
        checked = _checked_values(table) if table is not None else {}
        for column in columns:
            if table is not None:
                kind = _raw_type(table.c[column])
                allowed = checked.get(column, "")
                if column == "ubigeo":
                    allowed = TIDY_ALLOWED["ubigeo"]
            else:
                kind = _tidy_type(column)
                if stem == "selection_scores" and column == "score":
                    kind = "decimal"
                elif column == "score":
                    kind = "integer"
                allowed = FILE_ALLOWED.get((stem, column)) or TIDY_ALLOWED.get(column, "")
            yield path, column, kind, allowed


def undocumented(files: Mapping[str, list[str]]) -> list[tuple[str, str]]:
    """(file, column) pairs lacking a meaning in either language: a test keeps this empty."""
    return [(row[0], row[1]) for row in dictionary_rows(files) if not row[4] or not row[5]]


# --- Frictionless Data Package (datapackage.json) -------------------------------------------------

DATAPACKAGE_FILE = "datapackage.json"
_FRICTIONLESS = {"integer": {"type": "integer", "bareNumber": True}, "decimal": {"type": "number", "decimalChar": "."},
                 "boolean": {"type": "boolean", "trueValues": ["true"], "falseValues": ["false"]},
                 "date": {"type": "date", "format": "default"}, "timestamp": {"type": "datetime", "format": "any"},
                 "uuid": {"type": "string", "format": "uuid"}, "text": {"type": "string"}}
# Catalog prefixes naming a coded column's values, by column (file-specific first).
_LABEL_PREFIXES: dict[str, tuple[str, ...]] = {
    "round": ("round.",), "sex": ("sex.",), "indigenous": ("indigenous.",), "level": ("level.",),
    "government_level": ("level.",), "sector": ("sector.",), "participant_role": ("focas.role.",),
    "role": ("focas.role.",), "respondent_type": ("xlsform.respondent_type.",),
    "assessment_status": ("focas.status.",), "status_baseline": ("focas.status.",),
    "status_midpoint": ("focas.status.",), "status_end": ("focas.status.",), "category": ("qsip.category.",),
    "priority": ("qsip.priority.",), "institution": ("gcd.institution.",), "kind": ("gcd.kind.",),
    "scope": ("selection.scope.",), "dimension": ("progress.dimension.",),
    "status": ("capplan.status.", "qsip.stage_status.", "focas.status."),
}
_CODE = re.compile(r"^[a-z0-9_]+$")
# INEI codes: digits kept as text (regional 2, provincial 4, district 6)
_CODE_PATTERNS = {"ubigeo": "^[0-9]{2}([0-9]{2}){0,2}$", "department_code": "^[0-9]{2}$",
                  "province_code": "^[0-9]{4}$"}


def _enum(allowed: str) -> list[str] | None:
    values = [v.strip() for v in allowed.split("|")] if "|" in allowed else []
    return values if values and all(_CODE.match(v) for v in values) else None


def _labels(column: str, values: list[str], lang: str) -> dict[str, str]:
    messages = catalog(lang)
    labels = {}
    for value in values:
        found = next((messages[f"{prefix}{value}"] for prefix in _LABEL_PREFIXES.get(column, ())
                      if f"{prefix}{value}" in messages), None)
        labels[value] = found or value
    return labels


def datapackage(files: Mapping[str, list[str]], *, encoding: str, title: str,
                pseudonymised: list[str] | None = None, withheld: list[str] | None = None) -> dict:
    """A Frictionless Data Package describing every CSV file: field types (codes such as UBIGEO are
    strings, so their leading zeros stay), only the empty cell is missing (text "NA" stays text),
    allowed values as ``enum`` with their labels in Spanish and English (``valueLabels``)."""
    text_only = set(pseudonymised or ()) | set(withheld or ())
    resources: dict[str, dict] = {}
    for path, column, kind, allowed in column_specs(files):
        resource = resources.setdefault(path, {
            "name": _stem(path) if not path.startswith("raw/") else f"raw_{_stem(path)}",
            "path": path, "profile": "tabular-data-resource", "format": "csv", "mediatype": "text/csv",
            "encoding": encoding, "dialect": {"delimiter": ",", "lineTerminator": "\r\n", "quoteChar": '"',
                                              "doubleQuote": True, "header": True},
            "schema": {"fields": [], "missingValues": [""]}})
        field = {"name": column, **_FRICTIONLESS["text" if f"{path}:{column}" in text_only else kind]}
        description = {lang: describe(_stem(path), column, lang) for lang in ("es", "en")}
        field["description"] = description["en"] or ""
        field["description_es"] = description["es"] or ""
        if column in _CODE_PATTERNS and field["type"] == "string":
            field["constraints"] = {"pattern": _CODE_PATTERNS[column]}
        values = _enum(allowed) if field["type"] == "string" else None
        if values:
            field["constraints"] = {"enum": values}
            field["valueLabels"] = {lang: _labels(column, values, lang) for lang in ("es", "en")}
        elif allowed:
            field["allowed_values"] = allowed
        resource["schema"]["fields"].append(field)
    if DATAPACKAGE_FILE in resources:  # pragma: no cover - never a CSV
        resources.pop(DATAPACKAGE_FILE)
    return {"profile": "tabular-data-package", "name": "focas-snapshot", "title": title,
            "resources": [r for p, r in resources.items() if p.endswith(".csv")]}
