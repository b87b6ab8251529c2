"""One engine per process and one session per unit of work; never a cached session.

SQLite runs in WAL mode with foreign keys on and a busy timeout, and a write unit of work takes
the write lock up front (``BEGIN IMMEDIATE``) so concurrent writers queue instead of failing on a
lock upgrade. PostgreSQL connections carry a ``lock_timeout``, a ``statement_timeout`` and an
``idle_in_transaction_session_timeout``, so a save never waits without end behind another
transaction. Write units retry transient conflicts (db/faults.py: a lock that timed out, a
serialization failure, a deadlock) with capped, jittered backoff; read-only and full databases are
not retried.

Timeouts (environment, milliseconds; 0 switches one off):
- ``FOCAS_SQLITE_BUSY_TIMEOUT_MS`` (15000): how long a SQLite write waits for another writer's lock;
- ``FOCAS_PG_LOCK_TIMEOUT_MS`` (5000): how long a PostgreSQL statement waits for a lock;
- ``FOCAS_PG_STATEMENT_TIMEOUT_MS`` (30000): how long one PostgreSQL statement may run;
- ``FOCAS_PG_IDLE_TX_TIMEOUT_MS`` (300000): how long a PostgreSQL transaction may sit idle, holding
  its locks, before the server ends it.
"""

from __future__ import annotations

import functools
import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from db import faults
from db.config import load_settings

T = TypeVar("T")
TIMEOUT_DEFAULTS_MS = {
    "FOCAS_SQLITE_BUSY_TIMEOUT_MS": 15000,
    "FOCAS_PG_LOCK_TIMEOUT_MS": 5000,
    "FOCAS_PG_STATEMENT_TIMEOUT_MS": 30000,
    "FOCAS_PG_IDLE_TX_TIMEOUT_MS": 300000,
}
# a lock or busy timeout already made the save wait that long: try it once more, not five times
WAITED_RETRIES = 1
# a user's save from a page (pages/ui.py attempt, run_save): fewer tries than a background writer
SAVE_ATTEMPTS = 3


def timeout_ms(name: str) -> int:
    """One of the timeouts above, from the environment (read when an engine is created)."""
    raw = os.environ.get(name, "").strip()
    try:
        value = int(raw) if raw else TIMEOUT_DEFAULTS_MS[name]
    except ValueError:
        raise RuntimeError(f"{name} must be a whole number of milliseconds, not {raw!r}") from None
    if value < 0:
        raise RuntimeError(f"{name} must not be negative")
    return value


# how long a write waits for another writer's lock before it gives up (FOCAS_SQLITE_BUSY_TIMEOUT_MS)
SQLITE_BUSY_TIMEOUT_MS = timeout_ms("FOCAS_SQLITE_BUSY_TIMEOUT_MS")


def postgres_options() -> str:
    """The libpq ``options`` every app connection to PostgreSQL starts with: its three timeouts."""
    settings = {
        "lock_timeout": timeout_ms("FOCAS_PG_LOCK_TIMEOUT_MS"),
        "statement_timeout": timeout_ms("FOCAS_PG_STATEMENT_TIMEOUT_MS"),
        "idle_in_transaction_session_timeout": timeout_ms("FOCAS_PG_IDLE_TX_TIMEOUT_MS"),
    }
    return " ".join(f"-c {name}={value}" for name, value in settings.items())


@functools.lru_cache(maxsize=8)
def _engine_for(url: str) -> sa.Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        busy_ms = timeout_ms("FOCAS_SQLITE_BUSY_TIMEOUT_MS")
        engine = sa.create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": busy_ms / 1000},
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            # pysqlite's own transaction handling is turned off so BEGIN is ours to issue
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection):
            immediate = connection.get_execution_options().get("sqlite_immediate", False)
            connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    if url.startswith("postgresql"):
        # the options go with the connection, so they hold for every transaction, the pool's included
        return sa.create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10,
                                connect_args={"options": postgres_options()})
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


_units = threading.local()  # per thread (each Streamlit session runs its script in its own): commits so far


def committed_units() -> int:
    """How many write units this thread has committed; ``retrying`` never repeats work that committed one."""
    return getattr(_units, "committed", 0)


@contextmanager
def write_session() -> Iterator[Session]:
    """One write unit of work: commits everything at the end, or nothing on any error.

    A database error raised inside is marked as a write's (db.faults.in_write_unit), so the message
    says "nothing was saved" rather than "the page could not be read".
    """
    engine = get_engine()
    with Session(engine, expire_on_commit=False) as session:
        try:
            if engine.dialect.name == "sqlite":
                session.connection(execution_options={"sqlite_immediate": True})
            yield session
            session.commit()
        except BaseException as error:
            if isinstance(error, DBAPIError):
                setattr(error, faults.WROTE, True)
            session.rollback()
            raise
    _units.committed = committed_units() + 1


def _is_retryable(error: BaseException) -> bool:
    """A transient conflict (db/faults.py): locked, lock timeout, serialization failure, deadlock."""
    return faults.is_retryable(error)


_GAVE_UP = "_focas_retries_done"  # set on an error a retry loop already retried: an outer loop does not


def _backoff(attempt: int) -> None:
    # capped exponential backoff with jitter, so writers that collided do not collide again
    time.sleep(random.uniform(0, min(2.0, 0.05 * 2**attempt)))


def retrying(call: Callable[[], T], *, attempts: int = SAVE_ATTEMPTS, waited_retries: int = WAITED_RETRIES) -> T:
    """``call()``, called again after a transient database conflict, with backoff.

    ``call`` opens its own write unit(s). It is never repeated once one of its write units committed
    (the conflict came later: repeating would save the first part twice), nor for a fault that is not
    transient (read-only, full, statement timeout...), nor more than ``waited_retries`` times for a
    conflict that already waited out the whole lock timeout. The defaults are a user's save on a page
    (pages/ui.py attempt): at most about twice the lock timeout before the message.
    """
    waited = 0
    for attempt in range(1, attempts + 1):
        committed = committed_units()
        try:
            return call()
        except DBAPIError as error:
            if (attempt == attempts or getattr(error, _GAVE_UP, False) or not faults.is_retryable(error)
                    or committed_units() != committed or (faults.waited(error) and waited >= waited_retries)):
                setattr(error, _GAVE_UP, True)
                raise
            waited += faults.waited(error)
            _backoff(attempt)
    raise AssertionError("unreachable")


def run_write(work: Callable[[Session], T], *, attempts: int = 5, waited_retries: int | None = None) -> T:
    """Run ``work(session)`` in a write unit of work, retrying transient conflicts (see ``retrying``).

    By default every attempt may wait out a lock (a background writer or the command line waits its
    turn); a page passes ``waited_retries=WAITED_RETRIES`` (``run_page_write``) so the user hears soon.
    """
    def unit() -> T:
        with write_session() as session:
            return work(session)

    return retrying(unit, attempts=attempts, waited_retries=attempts - 1 if waited_retries is None else waited_retries)


def run_page_write(work: Callable[[Session], T]) -> T:
    """``run_write`` for a user waiting on a page: ``SAVE_ATTEMPTS`` tries, a timed-out lock tried once more."""
    return run_write(work, attempts=SAVE_ATTEMPTS, waited_retries=WAITED_RETRIES)


def run_save(work: Callable[[Session], T]) -> T:
    """``run_page_write`` for a user's save: a fault that remains is raised as a ``db.faults.DatabaseFault``,
    a DomainError whose translated message the page shows like any other refusal (nothing was saved)."""
    try:
        return run_page_write(work)
    except DBAPIError as error:
        raise faults.DatabaseFault.of(error, "save") from error
