"""Undoing a removal: the before-image the audit log kept of a deleted row, and the row rebuilt from it.

Every delete service records the complete row (id and stamps included) and the rows that depended on it;
the restore services read that image back with :func:`removed_image` and rebuild rows with :func:`rebuild`.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, SQLModel

from assessments.errors import Conflict, NotFound
from db.models import AuditEvent
from db.models.base import utcnow


def full_image(row: SQLModel) -> dict[str, Any]:
    """Every column of ``row`` (id, created_at and updated_at included), for a before-image."""
    return {column: getattr(row, column) for column in row.__class__.model_fields}


def removed_image(session: Session, model: type[SQLModel], entity: str, entity_id: uuid.UUID) -> dict[str, Any]:
    """The before-image of the latest removal of ``entity`` ``entity_id``.

    Refused when the row is there (nothing to undo: already restored) or the log has no removal of it.
    """
    if session.get(model, entity_id) is not None:
        raise Conflict("removals.already_there")
    before = session.execute(
        sa.select(AuditEvent.before_json)
        .where(AuditEvent.entity == entity, AuditEvent.entity_id == str(entity_id), AuditEvent.action == "delete")
        .order_by(AuditEvent.at.desc())
        .limit(1)
    ).scalar()
    if not before:
        raise NotFound("removals.nothing_to_restore")
    image = json.loads(before)
    image.setdefault("id", str(entity_id))  # images recorded before they held the id
    return image


def rebuild(model: type[SQLModel], image: dict[str, Any], **overrides: Any) -> SQLModel:
    """A new ``model`` row from a before-image (JSON strings back to UUIDs and dates); stamped as updated now."""
    values = {name: image[name] for name in model.model_fields if name in image}
    values.update(overrides)
    values["updated_at"] = utcnow()
    return model.model_validate(values)
