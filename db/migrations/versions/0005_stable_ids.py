"""stable ids: reference rows get ids derived from their natural keys, the same in every installation

Revision ID: 0005
Revises: 0003
Create Date: 2026-12-02 15:20:00

Every government, instrument version, functional area, indicator, level descriptor, QSIP stage,
dimension and item, and planned-clusters row gets the UUIDv5 of its natural key (db/identity.py, frozen
here), and every foreign key pointing at one of them follows, in one transaction:

- SQLite enforces foreign keys: ``PRAGMA defer_foreign_keys`` postpones their checks to the commit, and
  ``PRAGMA foreign_key_check`` must be empty before it (else the migration fails and nothing changes);
- PostgreSQL's foreign keys are not deferrable: the ones pointing at these tables are dropped and
  re-created with their exact definitions (``pg_get_constraintdef``), which validates every row again.

The audit log is append-only and keeps the old ids; ``reference_id_map`` records old → new for each
rewritten row (undoing a removal recorded before this migration reads it), and one audit event
summarises the migration. Rows the loaders shipped (registry, default instruments, default plan) get
the fixed reference timestamp, like a new installation's.
"""
from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timezone

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (column types rendered as sqlmodel.sql.sqltypes.*)
from alembic import op

import db.models.base  # noqa: F401  (UTCDateTime)
from db.models.base import UTCDateTime

revision = '0005'
down_revision = '0003'
branch_labels = None
depends_on = None

# Frozen copies (a migration must not change when the app does): see db/identity.py.
NAMESPACE = uuid.UUID("6f1c1f6e-3b0a-4c52-9a55-2d6e0c6a9b17")
REFERENCE_STAMP = datetime(2000, 1, 1, tzinfo=timezone.utc)
NATURAL_KEY_SQL = {
    "government": "SELECT id, ubigeo FROM government",
    "instrument": "SELECT id, kind, code, version FROM instrument",
    "functional_area": (
        "SELECT a.id, i.kind, i.code, i.version, a.code FROM functional_area a"
        " JOIN instrument i ON i.id = a.instrument_id"),
    "indicator": (
        "SELECT n.id, i.kind, i.code, i.version, a.code, n.code FROM indicator n"
        " JOIN functional_area a ON a.id = n.area_id JOIN instrument i ON i.id = a.instrument_id"),
    "level_descriptor": (
        "SELECT d.id, i.kind, i.code, i.version, a.code, n.code, d.level FROM level_descriptor d"
        " JOIN indicator n ON n.id = d.indicator_id JOIN functional_area a ON a.id = n.area_id"
        " JOIN instrument i ON i.id = a.instrument_id"),
    "stage_template": (
        "SELECT s.id, i.kind, i.code, i.version, s.number FROM stage_template s"
        " JOIN instrument i ON i.id = s.instrument_id"),
    "feedback_dimension": (
        "SELECT d.id, i.kind, i.code, i.version, d.code FROM feedback_dimension d"
        " JOIN instrument i ON i.id = d.instrument_id"),
    "feedback_item": (
        "SELECT t.id, i.kind, i.code, i.version, d.code, t.code FROM feedback_item t"
        " JOIN feedback_dimension d ON d.id = t.dimension_id JOIN instrument i ON i.id = d.instrument_id"),
    "cluster_plan": "SELECT id, department_code, wave FROM cluster_plan",
}
# the default plan db/plan.py loaded (department → planned clusters in waves 1, 2, 3)
DEFAULT_PLAN = {"01": (1, 1, 1), "16": (1, 1, 1), "22": (2, 1, 1), "25": (1, 1, 1), "17": (1, 1, 1)}
INSTRUMENT_CHILDREN = {
    "functional_area": "instrument_id IN (SELECT id FROM instrument WHERE {shipped})",
    "indicator": "area_id IN (SELECT a.id FROM functional_area a JOIN instrument i ON i.id = a.instrument_id"
                 " WHERE {shipped_i})",
    "level_descriptor": "indicator_id IN (SELECT n.id FROM indicator n JOIN functional_area a ON a.id = n.area_id"
                        " JOIN instrument i ON i.id = a.instrument_id WHERE {shipped_i})",
    "stage_template": "instrument_id IN (SELECT id FROM instrument WHERE {shipped})",
    "feedback_dimension": "instrument_id IN (SELECT id FROM instrument WHERE {shipped})",
    "feedback_item": "dimension_id IN (SELECT d.id FROM feedback_dimension d JOIN instrument i"
                     " ON i.id = d.instrument_id WHERE {shipped_i})",
}

id_map = sa.table(
    "reference_id_map",
    sa.column("entity", sa.String()), sa.column("old_id", sa.Uuid()), sa.column("new_id", sa.Uuid()),
    sa.column("remapped_at", UTCDateTime()),
)


def _uuid(value) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _derived(connection, table: str) -> dict[uuid.UUID, uuid.UUID]:
    rows = connection.exec_driver_sql(NATURAL_KEY_SQL[table]).all()
    return {_uuid(r[0]): uuid.uuid5(NAMESPACE, ":".join([table, *(str(p) for p in r[1:])])) for r in rows}


def _references(connection) -> list[tuple[str, str, str]]:
    """(table, column, referenced reference table) for every foreign key column holding a reference id."""
    inspector = sa.inspect(connection)
    found = []
    for table in inspector.get_table_names():
        for fk in inspector.get_foreign_keys(table):
            if fk["referred_table"] not in NATURAL_KEY_SQL:
                continue
            for column, referred in zip(fk["constrained_columns"], fk["referred_columns"]):
                if referred == "id":
                    found.append((table, column, fk["referred_table"]))
    return sorted(set(found))


def _pg_foreign_keys(connection, tables) -> list[tuple[str, str, str]]:
    """(table, constraint, definition) of every PostgreSQL foreign key on or to ``tables``."""
    return [tuple(r) for r in connection.execute(sa.text(
        "SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c"
        " WHERE c.contype = 'f' AND c.confrelid::regclass::text = ANY(:tables) ORDER BY 1, 2"),
        {"tables": list(tables)}).all()]


def upgrade() -> None:
    started = time.perf_counter()
    op.create_table(
        'reference_id_map',
        sa.Column('entity', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column('old_id', sa.Uuid(), nullable=False),
        sa.Column('new_id', sa.Uuid(), nullable=False),
        sa.Column('remapped_at', db.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('entity', 'old_id'),
    )
    with op.batch_alter_table('reference_id_map', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reference_id_map_new_id'), ['new_id'], unique=False)

    connection = op.get_bind()
    sqlite = connection.dialect.name == "sqlite"
    now = datetime.now(timezone.utc)
    # every mapping is computed from the natural keys as they are, before a single id changes
    changes = {table: {old: new for old, new in _derived(connection, table).items() if old != new}
               for table in NATURAL_KEY_SQL}
    rows = [{"entity": table, "old_id": old, "new_id": new, "remapped_at": now}
            for table, mapping in changes.items() for old, new in mapping.items()]
    if rows:
        connection.execute(sa.insert(id_map), rows)
        references = _references(connection)
        if sqlite:
            connection.exec_driver_sql("PRAGMA defer_foreign_keys = ON")
            dropped = []
        else:
            connection.exec_driver_sql("SET LOCAL statement_timeout = 0")
            dropped = _pg_foreign_keys(connection, [t for t, mapping in changes.items() if mapping])
            for table, name, _definition in dropped:
                connection.exec_driver_sql(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        targets = [(table, column, target) for table, column, target in references if changes[target]]
        targets += [(table, "id", table) for table, mapping in changes.items() if mapping]
        for table, column, target in targets:
            connection.execute(sa.text(
                f"UPDATE {table} SET {column} = (SELECT m.new_id FROM reference_id_map m"
                f" WHERE m.entity = :entity AND m.old_id = {table}.{column})"
                f" WHERE {column} IN (SELECT old_id FROM reference_id_map WHERE entity = :entity)"),
                {"entity": target})
        if sqlite:
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
            if broken:
                raise RuntimeError(f"stable ids: {len(broken)} foreign keys would not resolve, e.g. {broken[:3]}")
        for table, name, definition in dropped:
            connection.exec_driver_sql(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
    _stamp_shipped_rows(connection)
    if rows:
        counts = {table: len(mapping) for table, mapping in changes.items() if mapping}
        connection.execute(sa.insert(sa.table(
            "audit_event", sa.column("id", sa.Uuid()), sa.column("at", UTCDateTime()), sa.column("actor"),
            sa.column("actor_role"), sa.column("action"), sa.column("entity"), sa.column("entity_id"),
            sa.column("before_json"), sa.column("after_json"), sa.column("reason"))), [{
                "id": uuid.uuid4(), "at": now, "actor": "system", "actor_role": "admin", "action": "reidentify",
                "entity": "reference_id_map", "entity_id": None, "before_json": None,
                "after_json": json.dumps({"rewritten": counts, "seconds": round(time.perf_counter() - started, 2)}),
                "reason": "migration 0005: reference ids derived from natural keys (old → new in reference_id_map)",
            }])
        version = connection.exec_driver_sql("SELECT value FROM app_meta WHERE key = 'data_version'").scalar()
        if version is not None:
            connection.execute(sa.text("UPDATE app_meta SET value = :v WHERE key = 'data_version'"),
                               {"v": str(int(version) + 1)})


def _stamp_shipped_rows(connection) -> None:
    """The loaders' rows carry the fixed reference timestamp, as in a new installation."""
    stamp = {"stamp": REFERENCE_STAMP}
    bind = sa.bindparam("stamp", type_=UTCDateTime())

    def update(table: str, where: str, columns=("created_at", "updated_at")) -> None:
        values = ", ".join(f"{c} = :stamp" for c in columns)
        connection.execute(sa.text(f"UPDATE {table} SET {values} WHERE {where}").bindparams(bind), stamp)

    update("government", "1 = 1")
    shipped = "is_default = :yes AND government_id IS NULL"
    shipped_i = "i.is_default = :yes AND i.government_id IS NULL"
    yes = sa.bindparam("yes", type_=sa.Boolean())
    connection.execute(sa.text(f"UPDATE instrument SET created_at = :stamp, updated_at = :stamp WHERE {shipped}")
                       .bindparams(bind, yes), {**stamp, "yes": True})
    for table, where in INSTRUMENT_CHILDREN.items():
        connection.execute(sa.text(f"UPDATE {table} SET created_at = :stamp, updated_at = :stamp WHERE "
                                   + where.format(shipped=shipped, shipped_i=shipped_i)).bindparams(bind, yes),
                           {**stamp, "yes": True})
    for department, per_wave in DEFAULT_PLAN.items():
        for wave, planned in enumerate(per_wave, start=1):
            key = f"department_code = '{department}' AND wave = {wave}"
            update("cluster_plan", key, ("created_at",))
            update("cluster_plan", f"{key} AND planned = {planned}", ("updated_at",))


def downgrade() -> None:
    # the derived ids stay (any id is valid for the older schema); only the map goes
    with op.batch_alter_table('reference_id_map', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reference_id_map_new_id'))
    op.drop_table('reference_id_map')
