"""One engine per process and one session per unit of work; never a cached session.

SQLite runs in WAL mode with foreign keys on and a busy timeout, and a write unit of work takes
the write lock up front (``BEGIN IMMEDIATE``) so concurrent writers queue instead of failing on a
lock upgrade. PostgreSQL write units retry on serialization failures and deadlocks.
"""

from __future__ import annotations

import functools
import os
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlmodel import Session

from db.config import load_settings

# how long a write waits for another writer's lock before it gives up (FOCAS_SQLITE_BUSY_TIMEOUT_MS)
SQLITE_BUSY_TIMEOUT_MS = int(os.environ.get("FOCAS_SQLITE_BUSY_TIMEOUT_MS", "15000") or 15000)
T = TypeVar("T")


@functools.lru_cache(maxsize=8)
def _engine_for(url: str) -> sa.Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            # pysqlite's own transaction handling is turned off so BEGIN is ours to issue
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection):
            immediate = connection.get_execution_options().get("sqlite_immediate", False)
            connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    return sa.create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


def get_engine() -> sa.Engine:
    """The process's engine for the configured database (cached per URL)."""
    return _engine_for(load_settings().database_url)


def dispose_engine(url: str | None = None) -> None:
    """Close pooled connections (tests switching databases, backups, restores)."""
    url = url or load_settings().database_url
    _engine_for(url).dispose()
    _engine_for.cache_clear()


@contextmanager
def read_session() -> Iterator[Session]:
    """A short read-only unit of work."""
    with Session(get_engine(), expire_on_commit=False) as session:
        yield session


@contextmanager
def write_session() -> Iterator[Session]:
    """One write unit of work: commits everything at the end, or nothing on any error."""
    engine = get_engine()
    with Session(engine, expire_on_commit=False) as session:
        if engine.dialect.name == "sqlite":
            session.connection(execution_options={"sqlite_immediate": True})
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def _is_retryable(error: BaseException) -> bool:
    original = getattr(error, "orig", None)
    sqlstate = getattr(original, "sqlstate", None)
    if sqlstate in ("40001", "40P01"):  # serialization failure, deadlock detected
        return True
    return isinstance(error, OperationalError) and "database is locked" in str(error)


def run_write(work: Callable[[Session], T], *, attempts: int = 5) -> T:
    """Run ``work(session)`` in a write unit of work, retrying transient conflicts."""
    for attempt in range(1, attempts + 1):
        try:
            with write_session() as session:
                return work(session)
        except DBAPIError as error:
            if attempt == attempts or not _is_retryable(error):
                raise
            # capped exponential backoff with jitter, so writers that collided do not collide again
            time.sleep(random.uniform(0, min(2.0, 0.05 * 2**attempt)))
    raise AssertionError("unreachable")
