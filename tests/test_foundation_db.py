"""The database layer: migrations match the models, both engines upgrade from empty, SQLite is tuned."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import db.models  # noqa: F401
from db.engine import get_engine, read_session
from db.setup import prepare, upgrade_to_head


def test_upgrading_an_empty_database_reaches_head_and_matches_the_models(empty_db_url):
    upgrade_to_head()
    with get_engine().connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert context.get_current_revision() is not None
        differences = compare_metadata(context, SQLModel.metadata)
    assert differences == []


def test_every_table_of_the_models_exists_after_migration(empty_db_url):
    upgrade_to_head()
    tables = set(sa.inspect(get_engine()).get_table_names())
    assert set(SQLModel.metadata.tables) <= tables


def test_prepare_is_idempotent_and_loads_demo_only_on_the_first_start(empty_db_url):
    first = prepare(demo=True, quiet=True)
    second = prepare(demo=True, quiet=True)
    assert first == {"first_start": True, "demo_loaded": True}
    assert second == {"first_start": False, "demo_loaded": False}
    with read_session() as session:
        n_clusters = session.execute(sa.text("SELECT count(*) FROM cluster")).scalar_one()
        n_governments = session.execute(sa.text("SELECT count(*) FROM government")).scalar_one()
    assert n_clusters == 7
    assert n_governments == 25 + 196 + (1893 - 196)


def test_one_engine_per_process(db_url):
    assert get_engine() is get_engine()


def test_sqlite_runs_with_wal_foreign_keys_and_a_busy_timeout(db_url):
    engine = get_engine()
    if engine.dialect.name != "sqlite":
        assert engine.dialect.name == "postgresql"
        assert engine.dialect.driver == "psycopg"
        return
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
