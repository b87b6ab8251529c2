"""Backups of the embedded database: a consistent copy while the app is in use, verify, and a safe restore.

``python -m db.backup create [DEST]``   copy the configured SQLite database with SQLite's online
                                         backup API (``sqlite3.Connection.backup``) into data/backups/,
                                         and record it in the audit trail (actor ``cli:<OS user>``)
``python -m db.backup verify FILE``     integrity, schema revision, this app's tables, row counts
``python -m db.backup restore FILE``    replace the embedded database with FILE, safely (below)

Add ``--lang en`` (or run with ``LANG=en…``) for English messages; Spanish is the default.

The online backup reads one consistent snapshot even while other processes write: it runs in a
single step inside a read transaction, so writers committing meanwhile are simply not in the copy
(WAL lets them go on). PostgreSQL installations back up with ``pg_dump`` / ``pg_restore`` instead.

A restore changes nothing unless every check passes:
- nothing may hold the database open: the running app holds a shared advisory lock on
  ``<db>.lock`` (taken by scripts/serve.py at start, see ``hold_app_lock``), and on Linux every
  process's open files (``/proc/*/fd``) are scanned for the database, its -wal/-shm and the lock;
- the file must be this app's database: an SQLite file, not truncated, ``PRAGMA integrity_check``
  ok, one ``alembic_version`` row naming a revision this code's migrations know, and after bringing
  the copy to the latest revision, every table this app defines;
- the checks run on a copy staged next to the database (fsynced); the current database is kept as
  ``<db>.before-restore-<UTC time>`` (online backup, so it holds its WAL too), then the staged copy
  replaces it with one atomic ``os.replace``; the restore is then recorded in the restored audit trail.
"""

from __future__ import annotations

import argparse
import getpass
import os
import shutil
import socket
import sqlite3
import sys
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from assessments.errors import DomainError
from db.config import ROOT, load_settings

BACKUP_DIR = ROOT / "data" / "backups"
PROC = Path("/proc")  # where the open files of other processes are looked up (Linux)
SQLITE_MAGIC = b"SQLite format 3\x00"
LOCK_SUFFIX = ".lock"

_app_lock = None  # the running app's open lock file (kept for the life of the process)


class RestoreRefused(DomainError, RuntimeError):
    """A backup, verification or restore that was refused; nothing was changed. ``key`` is in domain restore."""


@dataclass(frozen=True)
class BackupCheck:
    """What a verification found; ``problem`` is None when the file is a sound database of this app."""

    path: Path
    integrity: str
    tables: dict[str, int]
    revision: str | None = None
    problem: RestoreRefused | None = field(default=None, compare=False)

    @property
    def ok(self) -> bool:
        return self.problem is None


# ---------------------------------------------------------------------------------------------- paths

def sqlite_path(database_url: str | None = None) -> Path:
    url = database_url or load_settings().database_url
    if not url.startswith("sqlite"):
        raise RestoreRefused("restore.postgres")
    path = url.split("///", 1)[-1]
    if not path or path == ":memory:":
        raise RestoreRefused("restore.memory")
    return Path(path)


def lock_path(database: Path | str) -> Path:
    return Path(f"{database}{LOCK_SUFFIX}")


def _companions(database: Path) -> list[Path]:
    return [database, Path(f"{database}-wal"), Path(f"{database}-shm"), Path(f"{database}-journal")]


# ------------------------------------------------------------------------------------- who holds it

def hold_app_lock(database_url: str | None = None):
    """The running app's shared advisory lock on ``<db>.lock`` (no-op on PostgreSQL or without fcntl).

    Several app processes may hold it at once; a restore needs it exclusively, so it refuses while
    any app runs, even where other processes' /proc entries cannot be read. Returns the open file.
    """
    global _app_lock
    try:
        import fcntl
    except ImportError:  # not a POSIX system
        return None
    url = database_url or load_settings().database_url
    if not url.startswith("sqlite"):
        return None
    path = url.split("///", 1)[-1]
    if not path or path == ":memory:":
        return None
    lock = lock_path(Path(path))
    lock.parent.mkdir(parents=True, exist_ok=True)
    handle = open(lock, "a+")  # noqa: SIM115 - held open for the life of the process
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:  # a restore is replacing the database right now: wait for it
        print(f"FOCAS: {lock} is held by a restore; waiting for it to finish", file=sys.stderr, flush=True)
        fcntl.flock(handle.fileno(), fcntl.LOCK_SH)
    _app_lock = handle
    return handle


def _take_restore_lock(database: Path):
    """The exclusive lock on ``<db>.lock``, or None when an app holds it (shared)."""
    try:
        import fcntl
    except ImportError:
        return open(lock_path(database), "a+")  # noqa: SIM115
    handle = open(lock_path(database), "a+")  # noqa: SIM115
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


def _process_name(pid: str) -> str:
    try:
        raw = (PROC / pid / "cmdline").read_bytes()
    except OSError:
        return "?"
    words = [part.decode(errors="replace") for part in raw.split(b"\0") if part]
    return " ".join(" ".join(words).split())[:100] or "?"


def processes_holding(database: Path) -> list[tuple[int, str, str]]:
    """Processes (pid, command line, file) with the database, its -wal/-shm/-journal or its lock file open.

    Reads /proc/<pid>/fd (Linux); processes whose entries cannot be read are not listed (the advisory
    lock covers the app there). This process counts too, except for its own handle on the lock file.
    """
    wanted: dict[tuple[int, int], str] = {}
    names: dict[str, str] = {}
    for path in [*_companions(database), lock_path(database)]:
        names[os.path.realpath(path)] = path.name
        try:
            info = os.stat(path)
        except OSError:
            continue
        wanted[(info.st_dev, info.st_ino)] = path.name
    if not wanted or not PROC.is_dir():
        return []
    lock_name = lock_path(database).name
    own = str(os.getpid())
    found: dict[int, tuple[int, str, str]] = {}
    try:
        entries = list(PROC.iterdir())
    except OSError:
        return []
    for entry in entries:
        if not entry.name.isdigit():
            continue
        try:
            fds = list((entry / "fd").iterdir())
        except OSError:  # gone, or another user's process
            continue
        for fd in fds:
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if not target.startswith("/"):
                continue  # sockets, pipes, anonymous inodes
            name = names.get(target.removesuffix(" (deleted)"))
            if name is None:
                try:
                    info = os.stat(fd)
                except OSError:
                    continue
                name = wanted.get((info.st_dev, info.st_ino))
            if name is None or (entry.name == own and name == lock_name):
                continue
            found.setdefault(int(entry.name), (int(entry.name), _process_name(entry.name), name))
    return sorted(found.values())


def _refuse_if_in_use(database: Path) -> None:
    holders = processes_holding(database)
    if holders:
        listed = "; ".join(f"{pid} ({command}: {name})" for pid, command, name in holders)
        raise RestoreRefused("restore.refused.in_use", db=str(database), processes=listed)


# ------------------------------------------------------------------------------------------ checks

def _known_revisions() -> tuple[set[str], str]:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(Config(str(ROOT / "alembic.ini")))
    return {revision.revision for revision in script.walk_revisions()}, script.get_current_head()


def _expected_tables() -> set[str]:
    import db.models  # noqa: F401  registers every table
    from sqlmodel import SQLModel

    return set(SQLModel.metadata.tables)


def _header_problem(path: Path, shown: Path | None = None) -> RestoreRefused | None:
    """Not SQLite at all, or shorter than the database its header describes (``shown``: the name to report)."""
    shown = shown or path
    size = path.stat().st_size
    with open(path, "rb") as handle:
        header = handle.read(100)
    if len(header) < 100 or header[:16] != SQLITE_MAGIC:
        return RestoreRefused("restore.refused.not_sqlite", file=str(shown))
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    header_size_valid = pages > 0 and header[24:28] == header[92:96]
    if page_size < 512 or size % page_size or (header_size_valid and size < pages * page_size):
        expected = pages * page_size if header_size_valid else "?"
        return RestoreRefused("restore.refused.truncated", file=str(shown), size=size, expected=expected)
    return None


def _inspect(path: Path, connection: sqlite3.Connection) -> BackupCheck:
    connection.text_factory = lambda raw: raw.decode("utf-8", errors="replace")
    try:
        integrity = "; ".join(str(row[0]) for row in connection.execute("PRAGMA integrity_check"))
        if integrity != "ok":
            return BackupCheck(path, integrity, {},
                               problem=RestoreRefused("restore.refused.damaged", file=str(path), detail=integrity[:300]))
        names = [r[0] for r in connection.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        tables = {name: connection.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name in names}
        revisions = ([str(r[0]) for r in connection.execute("SELECT version_num FROM alembic_version")]
                     if "alembic_version" in tables else [])
    except (sqlite3.DatabaseError, UnicodeDecodeError) as error:  # a damaged file may hold garbage text
        return BackupCheck(path, f"damaged: {error}", {},
                           problem=RestoreRefused("restore.refused.damaged", file=str(path), detail=str(error)[:300]))
    known, head = _known_revisions()
    revision = revisions[0] if len(revisions) == 1 else None
    expected = _expected_tables()
    missing = sorted(expected - set(tables))
    problem = None
    if not revisions and missing:
        problem = RestoreRefused("restore.refused.foreign", file=str(path), missing=_short(missing), n=len(missing))
    elif len(revisions) != 1:
        problem = RestoreRefused("restore.refused.no_revision", file=str(path))
    elif revision not in known:
        problem = RestoreRefused("restore.refused.unknown_revision", file=str(path), revision=revision,
                                 known=", ".join(sorted(known)), head=head)
    elif revision == head and missing:
        problem = RestoreRefused("restore.refused.foreign", file=str(path), missing=_short(missing), n=len(missing))
    return BackupCheck(path, integrity, tables, revision, problem)


def _short(names: list[str], limit: int = 8) -> str:
    return ", ".join(names[:limit]) + (f" (+{len(names) - limit})" if len(names) > limit else "")


def verify_backup(path: Path | str) -> BackupCheck:
    """Read-only checks of a backup: SQLite, whole, integrity ok, a known revision, this app's tables."""
    path = Path(path)
    if not path.is_file():
        raise RestoreRefused("restore.refused.missing", file=str(path))
    problem = _header_problem(path)
    if problem is not None:
        return BackupCheck(path, problem.message("en"), {}, problem=problem)
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.DatabaseError as error:
        return BackupCheck(path, f"damaged: {error}", {},
                           problem=RestoreRefused("restore.refused.damaged", file=str(path), detail=str(error)))
    try:
        return _inspect(path, connection)
    finally:
        connection.close()


def _fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _stage(backup: Path, target: Path) -> tuple[Path, BackupCheck, str | None]:
    """Copy ``backup`` next to ``target``, check it and bring it to the latest revision; fsynced.

    Returns the staged file, its check, and the revision it was upgraded from (None if it was current).
    The staged file is removed when it is refused.
    """
    staged = target.with_name(f".{target.name}.restoring-{uuid.uuid4().hex[:8]}")
    try:
        shutil.copyfile(backup, staged)
        problem = _header_problem(staged, backup)
        if problem is not None:
            raise problem
        try:
            connection = sqlite3.connect(staged, isolation_level=None)
        except sqlite3.DatabaseError as error:
            raise RestoreRefused("restore.refused.damaged", file=str(backup), detail=str(error)) from error
        try:
            check = _inspect(backup, connection)
            if check.problem is not None:
                raise check.problem
            connection.execute("PRAGMA journal_mode=DELETE")  # a WAL-mode file: its WAL is not part of it
        except sqlite3.DatabaseError as error:
            raise RestoreRefused("restore.refused.damaged", file=str(backup), detail=str(error)) from error
        finally:
            connection.close()
        upgraded_from = None
        _, head = _known_revisions()
        if check.revision != head:
            upgraded_from = check.revision
            _upgrade(staged, backup)
            connection = sqlite3.connect(staged)
            try:
                check = _inspect(backup, connection)
            finally:
                connection.close()
            if check.problem is not None:
                raise check.problem
        for companion in _companions(staged)[1:]:
            companion.unlink(missing_ok=True)
        _fsync(staged)
        return staged, check, upgraded_from
    except BaseException:
        for companion in _companions(staged):
            companion.unlink(missing_ok=True)
        raise


def _upgrade(staged: Path, backup: Path) -> None:
    import sqlalchemy as sa
    from alembic import command
    from alembic.config import Config
    from sqlalchemy.pool import NullPool

    config = Config(str(ROOT / "alembic.ini"))
    engine = sa.create_engine(f"sqlite:///{staged}", poolclass=NullPool)
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except Exception as error:  # noqa: BLE001 - a migration that does not fit this file: not this app's
        raise RestoreRefused("restore.refused.migration", file=str(backup), detail=str(error)[:300]) from error
    finally:
        engine.dispose()


# --------------------------------------------------------------------------------- backup, restore

def command_line_actor():
    """Who runs a backup or restore from a shell: ``cli:<OS user>@<host>``, acting as an administrator."""
    from assessments.access import Actor

    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name in this environment
        user = str(os.getuid()) if hasattr(os, "getuid") else "?"
    return Actor(username=f"cli:{user}@{socket.gethostname()}", role="admin", full_name=f"{user} (command line)")


def _record(database: Path, actor, action: str, entity_id: str, after: dict) -> None:
    """One audit row written straight into ``database`` (the configured one or a restored file)."""
    import sqlalchemy as sa
    from sqlalchemy.pool import NullPool
    from sqlmodel import Session

    from db.audit import record

    engine = sa.create_engine(f"sqlite:///{database}", poolclass=NullPool,
                              connect_args={"timeout": 30, "isolation_level": None})

    @sa.event.listens_for(engine, "begin")
    def _immediate(connection):  # take the write lock up front, as db.engine's write units do
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    try:
        with Session(engine) as session:
            record(session, actor, action, "database", entity_id, after=after)
            session.commit()
    finally:
        engine.dispose()


def create_backup(destination: Path | str | None = None, *, database_url: str | None = None) -> Path:
    """Copy the live database into ``destination`` (default: data/backups/focas-<UTC time>.db)."""
    source_path = sqlite_path(database_url)
    if not source_path.exists():
        raise RestoreRefused("restore.refused.missing", file=str(source_path))
    if destination is None:
        BACKUP_DIR.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        destination = BACKUP_DIR / f"focas-{stamp}.db"
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".partial")
    partial.unlink(missing_ok=True)
    source = sqlite3.connect(source_path, timeout=30)
    target = sqlite3.connect(partial)
    try:
        source.execute("PRAGMA busy_timeout=30000")
        # pages=-1: the whole database in one step, i.e. one read transaction, one consistent state
        source.backup(target, pages=-1)
        target.execute("PRAGMA journal_mode=DELETE")
        target.commit()
    finally:
        target.close()
        source.close()
    check = verify_backup(partial)
    if not check.ok:
        partial.unlink(missing_ok=True)
        raise RestoreRefused("restore.backup_failed", detail=check.problem)
    _fsync(partial)
    partial.replace(destination)  # only a verified copy ever carries the final name
    return destination


def _audit_facts(path: Path, check: BackupCheck) -> dict:
    return {"file": path.name, "integrity": check.integrity, "revision": check.revision,
            "rows": sum(check.tables.values())}


def backup_as(*, actor, database_url: str | None = None, destination: Path | str | None = None) -> Path:
    """A backup by ``actor`` (the page's button, or the command line): checks the role, copies, audits."""
    from assessments.access import require

    require(actor, "backup.create")
    path = create_backup(destination, database_url=database_url)
    _record(sqlite_path(database_url), actor, "backup", path.name, _audit_facts(path, verify_backup(path)))
    return path


@dataclass(frozen=True)
class Restored:
    database: Path
    safety_copy: Path | None
    check: BackupCheck
    upgraded_from: str | None


def restore(backup: Path | str, *, database_url: str | None = None, actor=None) -> Restored:
    """Replace the configured SQLite database with ``backup`` if, and only if, that is safe (module doc)."""
    backup = Path(backup)
    target = sqlite_path(database_url)
    if not backup.is_file():
        raise RestoreRefused("restore.refused.missing", file=str(backup))
    if target.exists() and os.path.samefile(backup, target):
        raise RestoreRefused("restore.refused.same_file", file=str(backup))
    from db.engine import dispose_engine

    try:
        dispose_engine(database_url)  # this process's own pooled connections
    except Exception:  # noqa: BLE001 - no engine yet is fine
        pass
    target.parent.mkdir(parents=True, exist_ok=True)
    _refuse_if_in_use(target)  # names the processes, where /proc tells
    lock = _take_restore_lock(target)
    if lock is None:  # an app holds it, though /proc did not show it
        raise RestoreRefused("restore.refused.app_running", db=str(target), lock=str(lock_path(target)))
    try:
        staged, check, upgraded_from = _stage(backup, target)
        try:
            _refuse_if_in_use(target)  # again: nothing may have opened it while the copy was checked
            safety = None
            if target.exists():
                safety = target.with_name(f"{target.name}.before-restore-{datetime.now(timezone.utc):%Y%m%dT%H%M%S%fZ}")
                create_backup(safety, database_url=f"sqlite:///{target}")
                try:
                    _refuse_if_in_use(target)
                except RestoreRefused:
                    safety.unlink(missing_ok=True)  # refused: leave nothing behind
                    raise
            # the old WAL belongs to the old file (the safety copy holds what it had): never pair it with the new one
            for companion in _companions(target)[1:]:
                companion.unlink(missing_ok=True)
            os.replace(staged, target)
        except BaseException:
            staged.unlink(missing_ok=True)
            raise
        _fsync(target.parent)
        _record(target, actor or command_line_actor(), "restore", backup.name,
                {**_audit_facts(backup, check), "previous_database_kept_as": safety.name if safety else None,
                 "upgraded_from_revision": upgraded_from})
    finally:
        lock.close()
    return Restored(target, safety, check, upgraded_from)


def restore_backup(backup: Path | str, *, database_url: str | None = None) -> Path | None:
    """``restore`` returning only the safety copy of the previous database (None if there was none)."""
    return restore(backup, database_url=database_url).safety_copy


# ------------------------------------------------------------------------------------ command line

def cli_language(argument: str | None, env=os.environ) -> str:
    """``--lang`` first, then LC_ALL / LC_MESSAGES / LANG when they name English or Spanish; Spanish by default."""
    if argument in ("es", "en"):
        return argument
    for variable in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(variable, "").lower()
        if value.startswith("en"):
            return "en"
        if value.startswith("es"):
            return "es"
    return "es"


def main(argv: list[str] | None = None) -> int:
    from assessments.i18n import translate

    language = argparse.ArgumentParser(add_help=False)
    language.add_argument("--lang", choices=("es", "en"), default=argparse.SUPPRESS,
                          help="language of the messages (default: es, or en when LANG=en…)")
    parser = argparse.ArgumentParser(prog="python -m db.backup", description=__doc__, parents=[language],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create", parents=[language], help="consistent online copy, audited")
    create.add_argument("destination", nargs="?")
    verify = commands.add_parser("verify", parents=[language], help="integrity, revision, tables, row counts")
    verify.add_argument("file", nargs="?")
    restore_command = commands.add_parser("restore", parents=[language],
                                          help="replace the embedded database with a verified backup")
    restore_command.add_argument("file", nargs="?")
    args = parser.parse_args(argv)
    lang = cli_language(getattr(args, "lang", None))

    def say(key: str, **params) -> str:
        return translate(key, lang, **params)

    try:
        if args.command in ("verify", "restore") and not args.file:
            raise RestoreRefused("restore.no_file")
        if args.command == "create":
            actor = command_line_actor()
            path = backup_as(actor=actor, destination=args.destination)
            check = verify_backup(path)
            print(say("restore.backup_done", file=str(path), integrity=check.integrity,
                      rows=sum(check.tables.values()), revision=check.revision, actor=actor.username))
            return 0
        if args.command == "verify":
            check = verify_backup(args.file)
            print(say("restore.verify_line", file=str(check.path), integrity=check.integrity,
                      revision=check.revision or "-"))
            for name, count in check.tables.items():
                print(f"  {name}: {count}")
            if check.problem is not None:
                print(check.problem.message(lang), file=sys.stderr)
                return 1
            return 0
        result = restore(args.file)
    except RestoreRefused as refusal:
        print(refusal.message(lang), file=sys.stderr)
        return 2 if refusal.key in ("restore.postgres", "restore.memory", "restore.no_file") else 1
    print(say("restore.done", file=args.file, db=str(result.database), revision=result.check.revision,
              rows=sum(result.check.tables.values())))
    if result.upgraded_from:
        print(say("restore.upgraded", old=result.upgraded_from, new=result.check.revision))
    if result.safety_copy:
        print(say("restore.kept", file=str(result.safety_copy)))
    print(say("restore.next"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
