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
from db.models import AuditEvent, ReferenceIdMap
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
    return _current_reference_ids(session, image)


def _current_reference_ids(session: Session, image: Any) -> Any:
    """The image with reference ids recorded before they became derived (migration 0005) replaced by
    today's (``reference_id_map``), nested lists and objects included."""
    if not session.execute(sa.select(ReferenceIdMap.old_id).limit(1)).first():
        return image
    found: set[str] = set()

    def collect(value: Any) -> None:
        if isinstance(value, dict):
            for item in value.values():
                collect(item)
        elif isinstance(value, list):
            for item in value:
                collect(item)
        elif isinstance(value, str) and len(value) in (32, 36):
            found.add(value)

    collect(image)
    candidates = {}
    for text in found:
        try:
            candidates[uuid.UUID(text)] = text
        except ValueError:
            continue
    if not candidates:
        return image
    mapping = {candidates[old]: str(new) for old, new in session.execute(
        sa.select(ReferenceIdMap.old_id, ReferenceIdMap.new_id).where(ReferenceIdMap.old_id.in_(list(candidates))))}
    if not mapping:
        return image

    def swap(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: swap(item) for key, item in value.items()}
        if isinstance(value, list):
            return [swap(item) for item in value]
        return mapping.get(value, value) if isinstance(value, str) else value

    return swap(image)


def rebuild(model: type[SQLModel], image: dict[str, Any], **overrides: Any) -> SQLModel:
    """A new ``model`` row from a before-image (JSON strings back to UUIDs and dates); stamped as updated now."""
    values = {name: image[name] for name in model.model_fields if name in image}
    values.update(overrides)
    values["updated_at"] = utcnow()
    return model.model_validate(values)
