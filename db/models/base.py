"""Shared column types and the identity mixin every user-created row carries."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(sa.types.TypeDecorator):
    """Timezone-aware UTC timestamps on both engines (SQLite hands back naive values)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


# Controlled vocabularies: stored as plain strings and enforced by CHECK constraints on both engines.
LEVELS = ("regional", "provincial", "district")
SECTORS = ("health", "education", "environment")
ROUNDS = ("baseline", "midpoint", "end")
SEXES = ("female", "male", "other", "undisclosed")
INDIGENOUS = ("yes", "no", "undisclosed")
PARTICIPANT_ROLES = ("official", "manager", "civil_society", "other")
RESPONDENT_TYPES = ("user", "provider", "manager")
ROLES = ("admin", "manager", "facilitator", "evaluator")
ITEM_STATUSES = ("planned", "in_progress", "done", "dropped")


def one_of(column: str, values: tuple[str, ...], name: str) -> sa.CheckConstraint:
    """A CHECK that ``column`` holds one of ``values`` (NULL passes; NOT NULL is the column's job)."""
    quoted = ", ".join(f"'{v}'" for v in values)
    return sa.CheckConstraint(f"{column} IN ({quoted})", name=name)


# Identity for merging laptops: a UUID and UTC created/updated stamps on every user-created row.
class Tracked(SQLModel):
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(
        default_factory=utcnow,
        sa_type=UTCDateTime,
        nullable=False,
        sa_column_kwargs={"onupdate": utcnow},
    )
