"""Which database fault stopped a unit of work, whether trying again may help, and what the user reads.

One classifier for every caller (db.engine's retries, pages/ui.py, dashboard.py's page guard, the entry
batches of assessments/entry.py), for both engines:

- ``locked``: another transaction holds the lock this one waited for, until SQLite's busy timeout
  ("database is locked", SQLITE_BUSY/SQLITE_LOCKED) or PostgreSQL's ``lock_timeout`` (55P03) ran out;
- ``conflict``: PostgreSQL gave up on this transaction to let another one win (serialization failure
  40001, deadlock 40P01);
- ``timeout``: a statement ran longer than ``statement_timeout`` (57014) or an idle transaction was
  ended (25P03);
- ``read_only``: the database does not accept changes (a read-only SQLite file, SQLITE_READONLY; a
  read-only PostgreSQL transaction or standby, 25006);
- ``full``: no space left (SQLITE_FULL, PostgreSQL 53100);
- ``unavailable``: the database cannot be opened or reached (SQLITE_CANTOPEN, PostgreSQL class 08,
  shutdown 57P01–57P03);
- ``other``: any other error of the database driver.

``locked`` and ``conflict`` are transient and retried (db.engine.run_write); the rest are not: trying a
read-only or full database again only makes the user wait longer for the same answer.
A fault reaches the user as a ``DatabaseFault``: a DomainError whose catalog key (domain ``db_faults``)
says what happened, that nothing was saved, and that what they typed is still on the page.
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError

from assessments.errors import DomainError

KINDS = ("locked", "conflict", "timeout", "read_only", "full", "unavailable", "other")
RETRYABLE = frozenset({"locked", "conflict"})
# a ``locked`` fault already waited the whole lock/busy timeout; a ``conflict`` failed at once
WAITED = frozenset({"locked"})

_SQLSTATE = {
    "55P03": "locked",       # lock_not_available: lock_timeout (or NOWAIT)
    "40001": "conflict",     # serialization_failure
    "40P01": "conflict",     # deadlock_detected
    "57014": "timeout",      # query_canceled: statement_timeout
    "25P03": "timeout",      # idle_in_transaction_session_timeout
    "25006": "read_only",    # read_only_sql_transaction
    "53100": "full",         # disk_full
    "57P01": "unavailable",  # admin_shutdown
    "57P02": "unavailable",  # crash_shutdown
    "57P03": "unavailable",  # cannot_connect_now
}
_SQLITE_NAMES = {
    "SQLITE_BUSY": "locked",
    "SQLITE_LOCKED": "locked",
    "SQLITE_READONLY": "read_only",
    "SQLITE_FULL": "full",
    "SQLITE_CANTOPEN": "unavailable",
}
# the driver's text, for errors that carry neither a SQLSTATE nor a SQLite error name
_TEXTS = (
    ("lock timeout", "locked"),
    ("database is locked", "locked"),
    ("database table is locked", "locked"),
    ("database schema is locked", "locked"),
    ("could not serialize access", "conflict"),
    ("deadlock detected", "conflict"),
    ("statement timeout", "timeout"),
    ("idle-in-transaction timeout", "timeout"),
    ("readonly database", "read_only"),
    ("read-only transaction", "read_only"),
    ("disk is full", "full"),
    ("no space left", "full"),
    ("unable to open database", "unavailable"),
    ("connection refused", "unavailable"),
    ("server closed the connection", "unavailable"),
    ("connection failed", "unavailable"),
)


def _original(error: BaseException) -> BaseException:
    return getattr(error, "orig", None) or error


def kind(error: BaseException) -> str | None:
    """The fault's kind (see the module's docstring), or None for an error that is not the database's."""
    if not isinstance(error, DBAPIError):
        return None
    original = _original(error)
    sqlstate = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    if sqlstate in _SQLSTATE:
        return _SQLSTATE[sqlstate]
    if sqlstate and sqlstate.startswith("08"):
        return "unavailable"
    name = getattr(original, "sqlite_errorname", None) or ""
    for prefix, found in _SQLITE_NAMES.items():
        if name == prefix or name.startswith(prefix + "_"):
            return found
    text = str(original).lower()
    for needle, found in _TEXTS:
        if needle in text:
            return found
    return "other"


def is_retryable(error: BaseException) -> bool:
    """A transient conflict: the same unit of work may well succeed if run again."""
    return kind(error) in RETRYABLE


def waited(error: BaseException) -> bool:
    """A conflict that already waited the whole lock or busy timeout before it failed."""
    return kind(error) in WAITED


WROTE = "_focas_in_write_unit"  # set on an error raised inside db.engine.write_session


def in_write_unit(error: BaseException) -> bool:
    return bool(getattr(error, WROTE, False))


class DatabaseFault(DomainError):
    """A database fault as the user reads it; ``kind`` says which, the cause is the driver's error."""

    def __init__(self, key: str, /, *, kind: str = "other", **params: object) -> None:
        super().__init__(key, **params)
        self.kind = kind

    @classmethod
    def of(cls, error: BaseException, action: str | None = None) -> DatabaseFault:
        """The fault for ``error`` while the user was saving (``save``), reading a page (``read``) or
        logging in (``login``); without ``action``: ``save`` if it failed inside a write unit, else ``read``."""
        if isinstance(error, DatabaseFault):
            return error
        found = kind(error) or "other"
        if action is None:
            action = "save" if in_write_unit(error) else "read"
        message = "locked" if found == "conflict" else found
        if action == "login" and message not in ("read_only", "full"):
            action = "save"
        fault = cls(f"db_faults.{action}.{message}", kind=found)
        fault.__cause__ = error
        return fault


def fault_of(error: BaseException, action: str | None = None) -> DatabaseFault | None:
    """``DatabaseFault.of(error)`` for a database error (or a fault already), else None."""
    if isinstance(error, DatabaseFault):
        return error
    return DatabaseFault.of(error, action) if isinstance(error, DBAPIError) else None
