"""Tables of FOCAS workshops: assessments, participants, scores, targets and capacity-building plans."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field

from db.models.base import (
    INDIGENOUS,
    ITEM_STATUSES,
    PARTICIPANT_ROLES,
    ROUNDS,
    SEXES,
    Tracked,
    UTCDateTime,
    one_of,
)


# One government's FOCAS workshop in one round; a draft until the facilitator validates it.
class Assessment(Tracked, table=True):
    __table_args__ = (
        one_of("round", ROUNDS, "ck_assessment_round"),
        one_of("status", ("draft", "validated"), "ck_assessment_status"),
        sa.UniqueConstraint("government_id", "round", name="uq_assessment_government_round"),
    )
    government_id: uuid.UUID = Field(foreign_key="government.id", nullable=False, index=True)
    cluster_id: uuid.UUID | None = Field(default=None, foreign_key="cluster.id", index=True)
    round: str = Field(nullable=False, max_length=10)
    instrument_id: uuid.UUID = Field(foreign_key="instrument.id", nullable=False, index=True)
    status: str = Field(default="draft", nullable=False, max_length=10)
    workshop_date: date | None = Field(default=None)
    place: str = Field(default="", nullable=False)
    facilitator: str = Field(default="", nullable=False)
    notes: str = Field(default="", nullable=False)
    validated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    validated_by: str | None = Field(default=None)
    is_demo: bool = Field(default=False, nullable=False)


# A person in the workshop room (a name or an anonymous code).
class Participant(Tracked, table=True):
    __table_args__ = (
        one_of("sex", SEXES, "ck_participant_sex"),
        one_of("indigenous", INDIGENOUS, "ck_participant_indigenous"),
        one_of("role", PARTICIPANT_ROLES, "ck_participant_role"),
        sa.UniqueConstraint("assessment_id", "code", name="uq_participant_code"),
        sa.CheckConstraint("length(trim(code)) > 0", name="ck_participant_code_not_blank"),
    )
    assessment_id: uuid.UUID = Field(foreign_key="assessment.id", nullable=False, index=True, ondelete="CASCADE")
    code: str = Field(nullable=False)
    full_name: str = Field(default="", nullable=False)
    sex: str = Field(default="undisclosed", nullable=False, max_length=12)
    indigenous: str = Field(default="undisclosed", nullable=False, max_length=12)
    role: str = Field(default="other", nullable=False, max_length=16)
    organisation: str = Field(default="", nullable=False)
    position: int = Field(default=0, nullable=False)


# One participant's score for one indicator.
class ParticipantScore(Tracked, table=True):
    __tablename__ = "participant_score"
    __table_args__ = (
        sa.UniqueConstraint("participant_id", "indicator_id", name="uq_participant_score"),
        sa.CheckConstraint("score BETWEEN 0 AND 10", name="ck_participant_score_range"),
        sa.Index("ix_participant_score_assessment_indicator", "assessment_id", "indicator_id"),
    )
    assessment_id: uuid.UUID = Field(foreign_key="assessment.id", nullable=False, ondelete="CASCADE")
    participant_id: uuid.UUID = Field(foreign_key="participant.id", nullable=False, index=True, ondelete="CASCADE")
    indicator_id: uuid.UUID = Field(foreign_key="indicator.id", nullable=False)
    score: int = Field(nullable=False)


# The score the room agreed on for one indicator, with the evidence behind it.
class ConsensusScore(Tracked, table=True):
    __tablename__ = "consensus_score"
    __table_args__ = (
        sa.UniqueConstraint("assessment_id", "indicator_id", name="uq_consensus_score"),
        sa.CheckConstraint("score IS NULL OR score BETWEEN 0 AND 10", name="ck_consensus_score_range"),
    )
    assessment_id: uuid.UUID = Field(foreign_key="assessment.id", nullable=False, index=True, ondelete="CASCADE")
    indicator_id: uuid.UUID = Field(foreign_key="indicator.id", nullable=False, index=True)
    score: int | None = Field(default=None)
    evidence: str = Field(default="", nullable=False)


# A performance target for one area of one government at midpoint or end (area codes are stable).
class PerformanceTarget(Tracked, table=True):
    __tablename__ = "performance_target"
    __table_args__ = (
        one_of("round", ("midpoint", "end"), "ck_performance_target_round"),
        sa.UniqueConstraint("government_id", "area_code", "round", name="uq_performance_target"),
    )
    government_id: uuid.UUID = Field(foreign_key="government.id", nullable=False, index=True)
    area_code: str = Field(nullable=False)
    round: str = Field(nullable=False, max_length=10)
    target: float = Field(nullable=False)


# One intervention of a government's capacity-building plan.
class CapacityPlanItem(Tracked, table=True):
    __tablename__ = "capacity_plan_item"
    __table_args__ = (
        one_of(
            "intervention_type",
            ("training", "technical_assistance", "onsite_assistance"),
            "ck_capacity_plan_item_type",
        ),
        one_of("status", ITEM_STATUSES, "ck_capacity_plan_item_status"),
    )
    government_id: uuid.UUID = Field(foreign_key="government.id", nullable=False, index=True)
    area_code: str = Field(nullable=False)
    intervention_type: str = Field(nullable=False, max_length=24)
    what: str = Field(nullable=False)
    who_staff: str = Field(default="", nullable=False)
    where_place: str = Field(default="", nullable=False)
    sequence: int = Field(default=1, nullable=False)
    resources: str = Field(default="", nullable=False)
    other_support: str = Field(default="", nullable=False)
    planned_start: date | None = Field(default=None)
    planned_end: date | None = Field(default=None)
    status: str = Field(default="planned", nullable=False, max_length=12)
