"""What the browser entry surface sent: one row per applied batch, so a batch re-sent after a reload,
a dropped connection or a server restart is answered with its first result and changes nothing."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Field, SQLModel

from db.models.base import UTCDateTime, utcnow


# One batch of typed cells the server applied (the id is the browser's own batch id).
class EntryBatch(SQLModel, table=True):
    __tablename__ = "entry_batch"
    id: uuid.UUID = Field(primary_key=True)
    scope_id: uuid.UUID = Field(nullable=False, index=True)  # the assessment (or audit) typed into
    actor: str = Field(nullable=False)
    applied_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    n_cells: int = Field(default=0, nullable=False)
    result_json: str = Field(nullable=False)  # {cell: {"status": ..., "reason": ..., "current": ...}}
