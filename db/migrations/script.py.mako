"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (column types rendered as sqlmodel.sql.sqltypes.*)
from alembic import op

import db.models.base  # noqa: F401  (UTCDateTime)
% if up_revision == "0001":
from db.migrations.triggers import create_audit_triggers, drop_audit_triggers
% endif
${imports if imports else ""}
revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = ${repr(branch_labels)}
depends_on = ${repr(depends_on)}


def upgrade() -> None:
    ${upgrades if upgrades else "pass"}
% if up_revision == "0001":
    create_audit_triggers(op.get_bind())
% endif


def downgrade() -> None:
% if up_revision == "0001":
    drop_audit_triggers(op.get_bind())
% endif
    ${downgrades if downgrades else "pass"}
