"""Backups of the embedded database: a consistent copy while the app is in use, verify, and restore.

``python -m db.backup create [DEST]``   copy the configured SQLite database with SQLite's online
                                         backup API (``sqlite3.Connection.backup``) into data/backups/
``python -m db.backup verify FILE``     ``PRAGMA integrity_check`` and row counts of a backup
``python -m db.backup restore FILE``    verify FILE, keep a safety copy of the current database,
                                         then copy FILE over it (stop the app first)

The online backup reads one consistent snapshot even while other processes write: it runs in a
single step inside a read transaction, so writers committing meanwhile are simply not in the copy
(WAL lets them go on). PostgreSQL installations back up with ``pg_dump`` instead (see the README).
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from db.config import ROOT, load_settings

BACKUP_DIR = ROOT / "data" / "backups"


# What a verification found.
@dataclass(frozen=True)
class BackupCheck:
    path: Path
    integrity: str
    tables: dict[str, int]

    @property
    def ok(self) -> bool:
        return self.integrity == "ok" and "alembic_version" in self.tables


def sqlite_path(database_url: str | None = None) -> Path:
    url = database_url or load_settings().database_url
    if not url.startswith("sqlite"):
        raise RuntimeError("db.backup copies the embedded SQLite database; back up PostgreSQL with pg_dump")
    path = url.split("///", 1)[-1]
    if not path or path == ":memory:":
        raise RuntimeError("an in-memory database cannot be backed up")
    return Path(path)


def create_backup(destination: Path | str | None = None, *, database_url: str | None = None) -> Path:
    """Copy the live database into ``destination`` (default: data/backups/focas-<UTC time>.db)."""
    source_path = sqlite_path(database_url)
    if not source_path.exists():
        raise FileNotFoundError(source_path)
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
        raise RuntimeError(f"backup failed its integrity check: {check.integrity}")
    partial.replace(destination)  # only a verified copy ever carries the final name
    return destination


def verify_backup(path: Path | str) -> BackupCheck:
    """``PRAGMA integrity_check`` and the row count of every table."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(path)
    with open(path, "rb") as handle:
        if handle.read(16) != b"SQLite format 3\x00":
            return BackupCheck(path, "not an SQLite database", {})
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    connection.text_factory = lambda raw: raw.decode("utf-8", errors="replace")
    try:
        integrity = "; ".join(row[0] for row in connection.execute("PRAGMA integrity_check"))
        names = [r[0] for r in connection.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        tables = {name: connection.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name in names}
    except (sqlite3.DatabaseError, UnicodeDecodeError) as error:  # a damaged file may hold garbage text
        return BackupCheck(path, f"damaged: {error}", {})
    finally:
        connection.close()
    return BackupCheck(path, integrity, tables)


def restore_backup(backup: Path | str, *, database_url: str | None = None) -> Path | None:
    """Replace the configured database with ``backup`` (verified first); returns the safety copy.

    Stop the app (and every writer) before restoring: the live file and its WAL are replaced.
    """
    backup = Path(backup)
    check = verify_backup(backup)
    if not check.ok:
        raise RuntimeError(f"refusing to restore {backup}: {check.integrity}")
    target = sqlite_path(database_url)
    from db.engine import dispose_engine

    try:
        dispose_engine(database_url)
    except Exception:  # noqa: BLE001 - no engine yet is fine
        pass
    safety = None
    if target.exists():
        safety = target.with_name(f"{target.name}.before-restore-{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}")
        create_backup(safety, database_url=f"sqlite:///{target}")
    target.parent.mkdir(parents=True, exist_ok=True)
    staged = target.with_name(target.name + ".restoring")
    shutil.copyfile(backup, staged)
    for suffix in ("-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    staged.replace(target)
    return safety


def backup_as(*, actor) -> Path:
    """The administrator's backup button: checks the role, copies, and records it in the audit trail."""
    from assessments.access import require
    from db.audit import record
    from db.engine import write_session

    require(actor, "backup.create")
    path = create_backup()
    check = verify_backup(path)
    with write_session() as session:
        record(session, actor, "backup", "database", path.name,
               after={"file": path.name, "integrity": check.integrity, "rows": sum(check.tables.values())})
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m db.backup", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create", help="consistent online copy of the embedded database")
    create.add_argument("destination", nargs="?")
    verify = commands.add_parser("verify", help="integrity check and row counts of a backup")
    verify.add_argument("file")
    restore = commands.add_parser("restore", help="replace the embedded database with a verified backup")
    restore.add_argument("file")
    args = parser.parse_args(argv)
    if args.command == "create":
        path = create_backup(args.destination)
        check = verify_backup(path)
        print(f"backup written: {path} (integrity {check.integrity}, {sum(check.tables.values())} rows)")
        return 0
    if args.command == "verify":
        check = verify_backup(args.file)
        print(f"{check.path}: integrity {check.integrity}")
        for name, count in check.tables.items():
            print(f"  {name}: {count}")
        return 0 if check.ok else 1
    safety = restore_backup(args.file)
    print(f"restored {args.file} over {sqlite_path()}" + (f" (previous database kept in {safety})" if safety else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
