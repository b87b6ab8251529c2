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
            yield (path, column, f"{type_label(kind, 'es')} / {type_label(kind, 'en')}", allowed,
                   describe(stem, column, "es") or "", describe(stem, column, "en") or "")


def undocumented(files: Mapping[str, list[str]]) -> list[tuple[str, str]]:
    """(file, column) pairs lacking a meaning in either language: a test keeps this empty."""
    return [(row[0], row[1]) for row in dictionary_rows(files) if not row[4] or not row[5]]
