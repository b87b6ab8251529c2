"""Test harness: a real database per test, on SQLite by default or PostgreSQL when DATABASE_URL says so.

A template database is built once per run through the real Alembic migrations and reference loaders;
each test gets its own copy (a file copy on SQLite, ``CREATE DATABASE … TEMPLATE`` on PostgreSQL).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session

SERVER_URL = os.environ.get("DATABASE_URL", "")
ENGINE = "postgresql" if SERVER_URL.startswith("postgres") else "sqlite"
TEMPLATE_DB = f"focas_template_{os.getpid()}"


def _pg_url(database: str) -> str:
    from db.config import normalise_url

    return str(sa.engine.make_url(normalise_url(SERVER_URL)).set(database=database).render_as_string(hide_password=False))


def _admin_engine() -> sa.Engine:
    return sa.create_engine(_pg_url("postgres"), isolation_level="AUTOCOMMIT")


def _prepare(url: str) -> None:
    from db.engine import dispose_engine
    from db.setup import prepare

    os.environ["DATABASE_URL"] = url
    prepare(demo=False, quiet=True)
    dispose_engine(url)


@pytest.fixture(scope="session")
def template_database(tmp_path_factory) -> Iterator[str]:
    """The migrated database with reference data that every test copies (path or database name)."""
    saved = os.environ.get("DATABASE_URL")
    if ENGINE == "sqlite":
        path = tmp_path_factory.mktemp("template") / "template.db"
        url = f"sqlite:///{path}"
        _prepare(url)
        with sa.create_engine(url).connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        yield str(path)
    else:
        admin = _admin_engine()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{TEMPLATE_DB}"')
            conn.exec_driver_sql(f'CREATE DATABASE "{TEMPLATE_DB}"')
        _prepare(_pg_url(TEMPLATE_DB))
        yield TEMPLATE_DB
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{TEMPLATE_DB}" WITH (FORCE)')
        admin.dispose()
    if saved is None:
        os.environ.pop("DATABASE_URL", None)
    else:
        os.environ["DATABASE_URL"] = saved


@pytest.fixture
def db_url(template_database, tmp_path, monkeypatch) -> Iterator[str]:
    """A fresh database for this test (reference data loaded, no demo), set as DATABASE_URL."""
    from db.engine import dispose_engine

    if ENGINE == "sqlite":
        path = tmp_path / "test.db"
        shutil.copy(template_database, path)
        url = f"sqlite:///{path}"
    else:
        name = f"t_{uuid.uuid4().hex[:12]}"
        admin = _admin_engine()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"')
        url = _pg_url(name)
    monkeypatch.setenv("DATABASE_URL", url)
    yield url
    dispose_engine(url)
    if ENGINE != "sqlite":
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture
def session(db_url) -> Iterator[Session]:
    """A plain session on this test's database, for arranging rows and checking what was saved."""
    from db.engine import get_engine

    with Session(get_engine(), expire_on_commit=False) as s:
        yield s


@pytest.fixture
def actor():
    """The local administrator every service accepts until login exists."""
    from assessments.access import LOCAL_USER

    return LOCAL_USER


@pytest.fixture
def empty_db_url(tmp_path, monkeypatch) -> Iterator[str]:
    """A database with nothing in it (not even the schema), for migration and import tests."""
    from db.engine import dispose_engine

    if ENGINE == "sqlite":
        url = f"sqlite:///{tmp_path / 'empty.db'}"
    else:
        name = f"e_{uuid.uuid4().hex[:12]}"
        admin = _admin_engine()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        url = _pg_url(name)
    monkeypatch.setenv("DATABASE_URL", url)
    yield url
    dispose_engine(url)
    if ENGINE != "sqlite":
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


REPO_ROOT = Path(__file__).resolve().parent.parent
