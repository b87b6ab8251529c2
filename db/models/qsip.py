"""Tables of QSIP service audits: stages, respondents and ratings, barriers, roadmap actions."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field

from db.models.base import (
    INDIGENOUS,
    ITEM_STATUSES,
    LEVELS,
    RESPONDENT_TYPES,
    SECTORS,
    SEXES,
    Tracked,
    UTCDateTime,
    one_of,
)


# One yearly cycle of a participatory audit of one service of a cluster.
class ServiceAudit(Tracked, table=True):
    __tablename__ = "service_audit"
    __table_args__ = (
        one_of("sector", SECTORS, "ck_service_audit_sector"),
        sa.UniqueConstraint("cluster_id", "service_name", "cycle_year", name="uq_service_audit_cycle"),
        sa.CheckConstraint("length(trim(service_name)) > 0", name="ck_service_audit_name_not_blank"),
    )
    cluster_id: uuid.UUID = Field(foreign_key="cluster.id", nullable=False, index=True)
    service_name: str = Field(nullable=False)
    sector: str = Field(nullable=False, max_length=12)
    cycle_year: int = Field(nullable=False)
    instrument_id: uuid.UUID = Field(foreign_key="instrument.id", nullable=False)
    previous_audit_id: uuid.UUID | None = Field(default=None, foreign_key="service_audit.id")
    notes: str = Field(default="", nullable=False)
    validated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    validated_by: str | None = Field(default=None)
    is_demo: bool = Field(default=False, nullable=False)


# One of the five stages of an audit cycle, with its dates and status.
class AuditStage(Tracked, table=True):
    __tablename__ = "audit_stage"
    __table_args__ = (
        one_of("status", ("pending", "in_progress", "done"), "ck_audit_stage_status"),
        sa.UniqueConstraint("audit_id", "number", name="uq_audit_stage"),
        sa.CheckConstraint("number BETWEEN 1 AND 5", name="ck_audit_stage_number"),
    )
    audit_id: uuid.UUID = Field(foreign_key="service_audit.id", nullable=False, index=True, ondelete="CASCADE")
    number: int = Field(nullable=False)
    name_es: str = Field(nullable=False)
    name_en: str = Field(nullable=False)
    planned_start: date | None = Field(default=None)
    planned_end: date | None = Field(default=None)
    actual_start: date | None = Field(default=None)
    actual_end: date | None = Field(default=None)
    status: str = Field(default="pending", nullable=False, max_length=12)
    notes: str = Field(default="", nullable=False)


# A person who answered the feedback questionnaire: a user, a provider or a manager of the service.
class Respondent(Tracked, table=True):
    __table_args__ = (
        one_of("respondent_type", RESPONDENT_TYPES, "ck_respondent_type"),
        one_of("sex", SEXES, "ck_respondent_sex"),
        one_of("indigenous", INDIGENOUS, "ck_respondent_indigenous"),
    )
    audit_id: uuid.UUID = Field(foreign_key="service_audit.id", nullable=False, index=True, ondelete="CASCADE")
    respondent_type: str = Field(nullable=False, max_length=10)
    sex: str = Field(default="undisclosed", nullable=False, max_length=12)
    indigenous: str = Field(default="undisclosed", nullable=False, max_length=12)
    locality: str = Field(default="", nullable=False)
    code: str = Field(default="", nullable=False)


# One respondent's 1-5 rating of one questionnaire item.
class FeedbackRating(Tracked, table=True):
    __tablename__ = "feedback_rating"
    __table_args__ = (
        sa.UniqueConstraint("respondent_id", "item_id", name="uq_feedback_rating"),
        sa.CheckConstraint("rating BETWEEN 1 AND 5", name="ck_feedback_rating_range"),
    )
    respondent_id: uuid.UUID = Field(foreign_key="respondent.id", nullable=False, index=True, ondelete="CASCADE")
    item_id: uuid.UUID = Field(foreign_key="feedback_item.id", nullable=False, index=True)
    rating: int = Field(nullable=False)


# A barrier to good service management found by the audit.
class Barrier(Tracked, table=True):
    __table_args__ = (
        one_of(
            "category",
            ("management", "resources", "coordination", "information", "other"),
            "ck_barrier_category",
        ),
        one_of("government_level", LEVELS, "ck_barrier_government_level"),
        one_of("priority", ("high", "medium", "low"), "ck_barrier_priority"),
        sa.CheckConstraint("length(trim(description)) > 0", name="ck_barrier_description_not_blank"),
    )
    audit_id: uuid.UUID = Field(foreign_key="service_audit.id", nullable=False, index=True, ondelete="CASCADE")
    description: str = Field(nullable=False)
    category: str = Field(nullable=False, max_length=16)
    government_level: str = Field(nullable=False, max_length=12)
    within_control: bool = Field(default=True, nullable=False)
    priority: str = Field(default="medium", nullable=False, max_length=8)


# An action of the improvement roadmap, answering one barrier.
class ImprovementAction(Tracked, table=True):
    __tablename__ = "improvement_action"
    __table_args__ = (
        one_of("status", ITEM_STATUSES, "ck_improvement_action_status"),
        sa.CheckConstraint("length(trim(description)) > 0", name="ck_improvement_action_description_not_blank"),
    )
    audit_id: uuid.UUID = Field(foreign_key="service_audit.id", nullable=False, index=True, ondelete="CASCADE")
    barrier_id: uuid.UUID = Field(foreign_key="barrier.id", nullable=False, index=True)
    description: str = Field(nullable=False)
    responsible_government_id: uuid.UUID | None = Field(default=None, foreign_key="government.id")
    deadline: date = Field(nullable=False)
    status: str = Field(default="planned", nullable=False, max_length=12)
    quick_win: bool = Field(default=False, nullable=False)
    evidence: str = Field(default="", nullable=False)
    completed_on: date | None = Field(default=None)
