"""auth session: a browser's saved login (only the SHA-256 of its cookie token)

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 09:24:24.248209
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (column types rendered as sqlmodel.sql.sqltypes.*)
from alembic import op

import db.models.base  # noqa: F401  (UTCDateTime)

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('auth_session',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', db.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', db.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('last_seen_at', db.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', db.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', db.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_reason', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=True),
    sa.Column('user_agent', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash', name='uq_auth_session_token_hash')
    )
    with op.batch_alter_table('auth_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_auth_session_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('auth_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_auth_session_user_id'))

    op.drop_table('auth_session')
