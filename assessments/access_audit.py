"""The audit trail as administrators see it: filtered browsing and an audited CSV export."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

import pandas as pd
import sqlalchemy as sa
from sqlmodel import Session

from assessments import formatting
from assessments.access import Actor, require
from assessments.errors import ValidationFailed
from assessments.i18n import translate
from assessments.snapshot import formula_safe_csv
from db.audit import record
from db.engine import read_session
from db.models import AuditEvent

PAGE_LIMIT = 2_000
COLUMNS = ["at", "actor", "actor_role", "action", "entity", "entity_id", "before_json", "after_json", "reason"]


def label(kind: str, code: str | None, lang: str) -> str:
    """An action (``kind="action"``), entity or role code in ``lang``; an unknown code is shown as stored."""
    if not code:
        return ""
    key = f"access.role.{code}" if kind == "role" else f"audit.{kind}.{code}"
    text = translate(key, lang)
    return code if text == key else text


def labelled(frame: pd.DataFrame, lang: str) -> pd.DataFrame:
    """The events with actions, entities and roles in ``lang`` (the stored codes stay unchanged)."""
    out = frame.copy()
    for column, kind in (("action", "action"), ("entity", "entity"), ("actor_role", "role")):
        if column in out:
            out[column] = out[column].map(lambda code, k=kind: label(k, code, lang))
    return out


# What an administrator filters the log by (every field optional).
@dataclass(frozen=True)
class AuditFilter:
    actor: str = ""
    action: str = ""
    entity: str = ""
    entity_id: str = ""
    date_from: date | None = None
    date_to: date | None = None


def _where(filters: AuditFilter) -> list:
    if filters.date_from and filters.date_to and filters.date_from > filters.date_to:
        raise ValidationFailed("access.audit_bad_dates")
    conditions = []
    if filters.actor:
        conditions.append(AuditEvent.actor == filters.actor)
    if filters.action:
        conditions.append(AuditEvent.action == filters.action)
    if filters.entity:
        conditions.append(AuditEvent.entity == filters.entity)
    if filters.entity_id.strip():
        conditions.append(AuditEvent.entity_id == filters.entity_id.strip())
    # the days are the days of the time zone the times are shown in (America/Lima), not UTC days
    zone = formatting.timezone()
    if filters.date_from:
        start = datetime.combine(filters.date_from, time.min, tzinfo=zone).astimezone(timezone.utc)
        conditions.append(AuditEvent.at >= start)
    if filters.date_to:
        end = datetime.combine(filters.date_to + timedelta(days=1), time.min, tzinfo=zone).astimezone(timezone.utc)
        conditions.append(AuditEvent.at < end)
    return conditions


def _events(session: Session, filters: AuditFilter, limit: int | None) -> pd.DataFrame:
    query = (sa.select(*(getattr(AuditEvent, c) for c in COLUMNS)).where(*_where(filters))
             .order_by(AuditEvent.at.desc(), AuditEvent.id))
    if limit:
        query = query.limit(limit)
    return pd.DataFrame([tuple(r) for r in session.execute(query).all()], columns=COLUMNS)


def audit_events(actor: Actor, filters: AuditFilter = AuditFilter(), limit: int = PAGE_LIMIT) -> pd.DataFrame:
    """The newest events matching ``filters`` (administrators only)."""
    require(actor, "auditlog.read")
    with read_session() as session:
        return _events(session, filters, limit)


def audit_count(actor: Actor, filters: AuditFilter = AuditFilter()) -> int:
    require(actor, "auditlog.read")
    with read_session() as session:
        return session.execute(
            sa.select(sa.func.count()).select_from(AuditEvent).where(*_where(filters))
        ).scalar_one()


def filter_options(actor: Actor) -> dict[str, list[str]]:
    """Distinct actors, actions and entities present in the log, for the filter pickers."""
    require(actor, "auditlog.read")
    with read_session() as session:
        return {
            column: sorted(session.execute(sa.select(getattr(AuditEvent, column)).distinct()).scalars())
            for column in ("actor", "action", "entity")
        }


def export_audit_csv(*, session: Session, actor: Actor, filters: AuditFilter, headers: dict[str, str],
                     lang: str | None = None) -> bytes:
    """Every matching event as CSV (UTF-8 with BOM for Excel); the export itself is audited.

    With ``lang``, actions, entities and roles are written in that language, as the page shows them.
    """
    require(actor, "auditlog.read")
    frame = _events(session, filters, None)
    if lang:
        frame = labelled(frame, lang)
    frame["at"] = frame["at"].map(lambda v: v.isoformat() if v is not None else "")
    content = formula_safe_csv(frame.rename(columns=headers))
    record(session, actor, "export", "audit_event", None,
           after={"rows": len(frame), "filters": {k: str(v) for k, v in filters.__dict__.items() if v}})
    return content
