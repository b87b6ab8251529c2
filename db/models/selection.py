"""Tables of cluster selection (criteria, candidates, scores), the plan per wave, and the GCD."""

from __future__ import annotations

import uuid
from datetime import date

import sqlalchemy as sa
from sqlmodel import Field

from db.models.base import INDIGENOUS, SEXES, Tracked, one_of

GCD_INSTITUTIONS = (
    "regional_government",
    "provincial_municipality",
    "district_municipality",
    "civil_society",
    "private_sector",
)


# How many clusters the plan foresees for one department in one wave.
class ClusterPlan(Tracked, table=True):
    __tablename__ = "cluster_plan"
    __table_args__ = (
        sa.UniqueConstraint("department_code", "wave", name="uq_cluster_plan"),
        sa.CheckConstraint("planned >= 0", name="ck_cluster_plan_planned"),
    )
    department_code: str = Field(foreign_key="department.code", nullable=False, index=True)
    wave: int = Field(nullable=False)
    planned: int = Field(nullable=False)


# A selection exercise: provinces of a department (or districts of one province) for one wave.
class SelectionRecord(Tracked, table=True):
    __tablename__ = "selection_record"
    __table_args__ = (one_of("scope", ("province", "district"), "ck_selection_record_scope"),)
    department_code: str = Field(foreign_key="department.code", nullable=False, index=True)
    wave: int = Field(nullable=False)
    scope: str = Field(nullable=False, max_length=10)
    province_code: str | None = Field(default=None, foreign_key="province.code")
    parent_id: uuid.UUID | None = Field(default=None, foreign_key="selection_record.id")
    scale_min: int = Field(default=1, nullable=False)
    scale_max: int = Field(default=5, nullable=False)
    cluster_id: uuid.UUID | None = Field(default=None, foreign_key="cluster.id")
    notes: str = Field(default="", nullable=False)


# A criterion of a selection record, with its weight.
class SelectionCriterion(Tracked, table=True):
    __tablename__ = "selection_criterion"
    __table_args__ = (
        sa.UniqueConstraint("record_id", "code", name="uq_selection_criterion"),
        sa.CheckConstraint("weight >= 0", name="ck_selection_criterion_weight"),
    )
    record_id: uuid.UUID = Field(foreign_key="selection_record.id", nullable=False, index=True, ondelete="CASCADE")
    code: str = Field(nullable=False)
    name_es: str = Field(nullable=False)
    name_en: str = Field(nullable=False)
    weight: float = Field(default=1.0, nullable=False)
    position: int = Field(default=0, nullable=False)


# A candidate province or district of a selection record.
class SelectionCandidate(Tracked, table=True):
    __tablename__ = "selection_candidate"
    __table_args__ = (sa.UniqueConstraint("record_id", "ubigeo", name="uq_selection_candidate"),)
    record_id: uuid.UUID = Field(foreign_key="selection_record.id", nullable=False, index=True, ondelete="CASCADE")
    ubigeo: str = Field(nullable=False, max_length=6)
    name: str = Field(nullable=False)
    chosen: bool = Field(default=False, nullable=False)


# One candidate's score on one criterion, with the evidence note behind it.
class SelectionScore(Tracked, table=True):
    __tablename__ = "selection_score"
    __table_args__ = (sa.UniqueConstraint("candidate_id", "criterion_id", name="uq_selection_score"),)
    candidate_id: uuid.UUID = Field(foreign_key="selection_candidate.id", nullable=False, index=True, ondelete="CASCADE")
    criterion_id: uuid.UUID = Field(foreign_key="selection_criterion.id", nullable=False, index=True, ondelete="CASCADE")
    score: float = Field(nullable=False)
    evidence: str = Field(default="", nullable=False)


# An accredited member of a department's consultative group (GCD) for one period.
class GcdMember(Tracked, table=True):
    __tablename__ = "gcd_member"
    __table_args__ = (
        one_of("institution", GCD_INSTITUTIONS, "ck_gcd_member_institution"),
        one_of("sex", SEXES, "ck_gcd_member_sex"),
        one_of("indigenous", INDIGENOUS, "ck_gcd_member_indigenous"),
        sa.UniqueConstraint("department_code", "period", "full_name", name="uq_gcd_member"),
    )
    department_code: str = Field(foreign_key="department.code", nullable=False, index=True)
    period: str = Field(nullable=False)
    full_name: str = Field(nullable=False)
    institution: str = Field(nullable=False, max_length=24)
    organisation: str = Field(default="", nullable=False)
    cluster_id: uuid.UUID | None = Field(default=None, foreign_key="cluster.id")
    sex: str = Field(default="undisclosed", nullable=False, max_length=12)
    indigenous: str = Field(default="undisclosed", nullable=False, max_length=12)
    accredited_on: date | None = Field(default=None)


# A GCD meeting (plan, progress or annual results).
class GcdMeeting(Tracked, table=True):
    __tablename__ = "gcd_meeting"
    __table_args__ = (one_of("kind", ("plan", "progress", "annual_results"), "ck_gcd_meeting_kind"),)
    department_code: str = Field(foreign_key="department.code", nullable=False, index=True)
    period: str = Field(nullable=False)
    kind: str = Field(nullable=False, max_length=16)
    meeting_date: date = Field(nullable=False)
    agenda: str = Field(default="", nullable=False)
    agreements: str = Field(default="", nullable=False)
    next_agenda: str = Field(default="", nullable=False)


# A member's attendance at a meeting.
class GcdAttendance(Tracked, table=True):
    __tablename__ = "gcd_attendance"
    __table_args__ = (sa.UniqueConstraint("meeting_id", "member_id", name="uq_gcd_attendance"),)
    meeting_id: uuid.UUID = Field(foreign_key="gcd_meeting.id", nullable=False, index=True, ondelete="CASCADE")
    member_id: uuid.UUID = Field(foreign_key="gcd_member.id", nullable=False, index=True, ondelete="CASCADE")
