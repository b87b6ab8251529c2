"""The audit trail and the data version: every write service calls ``record`` inside its transaction."""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, SQLModel

from assessments.access import Actor
from db.models import AppMeta, AuditEvent
from db.models.base import utcnow

DATA_VERSION_KEY = "data_version"


def _default(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return str(value)


def snapshot_of(row: SQLModel | dict | None) -> dict | None:
    """A JSON-ready copy of a row's columns (for before/after values)."""
    if row is None:
        return None
    if isinstance(row, dict):
        return row
    return {column: getattr(row, column) for column in row.__class__.model_fields}


def record(
    session: Session,
    actor: Actor,
    action: str,
    entity: str,
    entity_id: Any = None,
    *,
    before: SQLModel | dict | None = None,
    after: SQLModel | dict | None = None,
    reason: str | None = None,
) -> AuditEvent:
    """Append one audit event and bump the data version, in the caller's transaction."""
    event = AuditEvent(
        actor=actor.username,
        actor_role=actor.role,
        action=action,
        entity=entity,
        entity_id=None if entity_id is None else str(entity_id),
        before_json=None if before is None else json.dumps(snapshot_of(before), default=_default, ensure_ascii=False),
        after_json=None if after is None else json.dumps(snapshot_of(after), default=_default, ensure_ascii=False),
        reason=reason,
    )
    session.add(event)
    bump_data_version(session)
    return event


def record_many(session: Session, actor: Actor, events: list[dict]) -> None:
    """Append several audit events (``record``'s keyword arguments each) and bump the data version once.

    The rows go in as one multi-row insert (no ORM object per event): a workshop sheet's 1,500 audit
    rows cost what the database takes to store them.
    """
    if not events:
        return
    encode = json.JSONEncoder(default=_default, ensure_ascii=False).encode  # = json.dumps(…, default, ensure_ascii)
    rows = []
    for event in events:
        before, after = event.get("before"), event.get("after")
        rows.append({
            "id": uuid.uuid4(), "at": utcnow(), "actor": actor.username, "actor_role": actor.role,
            "action": event["action"], "entity": event["entity"],
            "entity_id": None if event.get("entity_id") is None else str(event["entity_id"]),
            "before_json": None if before is None else encode(snapshot_of(before)),
            "after_json": None if after is None else encode(snapshot_of(after)),
            "reason": event.get("reason"),
        })
    session.execute(sa.insert(AuditEvent.__table__), rows)
    bump_data_version(session)


def bump_data_version(session: Session) -> None:
    updated = session.execute(
        sa.update(AppMeta)
        .where(AppMeta.key == DATA_VERSION_KEY)
        .values(value=sa.cast(sa.cast(AppMeta.value, sa.Integer) + 1, sa.String))
    )
    if updated.rowcount == 0:
        session.add(AppMeta(key=DATA_VERSION_KEY, value="1"))
        session.flush()


def data_version(session: Session) -> int:
    """A number that changes with every committed write: read caches key on it."""
    value = session.execute(sa.select(AppMeta.value).where(AppMeta.key == DATA_VERSION_KEY)).scalar()
    return int(value) if value else 0
