"""Backups of the embedded database: a consistent copy under load, verify, and a tested restore."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from db import backup
from db.engine import dispose_engine, read_session
from db.models import Cluster
from tests.test_faults import _no_writer_outlives_its_test, complete, fault_clusters, logged, spawn, wait_ready  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def sqlite_url(db_url):
    if not db_url.startswith("sqlite"):
        pytest.skip("db.backup copies the embedded SQLite database; PostgreSQL is backed up with pg_dump")
    return db_url


def names_in(path: Path) -> set[str]:
    with sqlite3.connect(path) as connection:
        return {r[0] for r in connection.execute("SELECT name FROM cluster WHERE notes = 'fault test'")}


def test_backup_under_load_holds_every_save_committed_before_it_and_restores(sqlite_url, tmp_path):
    dispose_engine(sqlite_url)
    writers = []
    for number in range(4):
        log = tmp_path / f"writer-{number}.log"
        process = spawn(sqlite_url, f"b{number}", log)
        writers.append((process, log))
    for process, log in writers:
        wait_ready(log, process)
    while min(len(logged(log)) for _, log in writers) < 20:
        time.sleep(0.05)
    committed_before = {name for _, log in writers for name, _, _ in logged(log)}
    copy = backup.create_backup(tmp_path / "copy.db", database_url=sqlite_url)
    committed_after = {name for _, log in writers for name, _, _ in logged(log)}
    time.sleep(0.3)  # writers keep going after the copy
    for process, _ in writers:
        process.send_signal(signal.SIGKILL)
        process.wait()
    committed_total = {name for _, log in writers for name, _, _ in logged(log)}

    check = backup.verify_backup(copy)
    assert check.ok and check.integrity == "ok"
    in_copy = names_in(copy)
    assert committed_before <= in_copy, "a save committed before the backup started is missing"
    assert len(in_copy - committed_after) <= len(writers)  # at most the saves in flight (not yet logged)
    assert len(committed_total) > len(in_copy), "writers went on while and after copying"

    # restore the copy over the live database (writers stopped), then the app reads exactly the copy
    safety = backup.restore_backup(copy, database_url=sqlite_url)
    assert safety is not None and backup.verify_backup(safety).ok
    assert names_in(Path(safety)) >= committed_total
    dispose_engine(sqlite_url)
    restored = fault_clusters()
    assert set(restored) == in_copy
    assert all(complete(save) for save in restored.values())
    live = Path(sqlite_url.split("///", 1)[-1])
    restored_tables = backup.verify_backup(live).tables
    assert restored_tables["audit_event"] == check.tables["audit_event"] + 1  # the restore itself, audited
    assert {k: v for k, v in restored_tables.items() if k != "audit_event"} == \
        {k: v for k, v in check.tables.items() if k != "audit_event"}
    print(f"\n[backup] under load: writers=4 saves committed before backup={len(committed_before)} "
          f"in backup={len(in_copy)} committed in total={len(committed_total)} restored={len(restored)} integrity=ok")


def test_command_line_create_verify_restore(sqlite_url, tmp_path):
    env = {**os.environ, "DATABASE_URL": sqlite_url, "LANG": "C.UTF-8", "LC_ALL": "", "LC_MESSAGES": ""}
    run = lambda *args: subprocess.run([sys.executable, "-m", "db.backup", *args], cwd=ROOT, env=env,  # noqa: E731
                                       capture_output=True, text=True, timeout=120)
    made = run("create", str(tmp_path / "cli.db"))
    assert made.returncode == 0, made.stderr
    assert "integridad ok" in made.stdout
    verified = run("verify", str(tmp_path / "cli.db"))
    assert verified.returncode == 0 and "cluster:" in verified.stdout
    with read_session() as session:
        departments = session.execute(sa.select(sa.func.count()).select_from(sa.text("department"))).scalar_one()
    assert f"department: {departments}" in verified.stdout
    dispose_engine(sqlite_url)
    restored = run("restore", str(tmp_path / "cli.db"))
    assert restored.returncode == 0, restored.stderr
    assert "Restaurado" in restored.stdout and "La base de datos anterior se guardó en" in restored.stdout


def test_a_damaged_or_foreign_file_is_refused_and_the_database_untouched(sqlite_url, tmp_path):
    bogus = tmp_path / "bogus.db"
    bogus.write_bytes(b"<html>not a database</html>")
    assert not backup.verify_backup(bogus).ok
    with pytest.raises(backup.RestoreRefused, match="restore.refused.not_sqlite"):
        backup.restore_backup(bogus, database_url=sqlite_url)
    good = backup.create_backup(tmp_path / "good.db", database_url=sqlite_url)
    damaged = tmp_path / "damaged.db"
    content = bytearray(good.read_bytes())
    for offset in range(4096 * 3, min(len(content), 4096 * 40), 997):
        content[offset] ^= 0xFF
    damaged.write_bytes(bytes(content))
    assert not backup.verify_backup(damaged).ok
    with pytest.raises(backup.RestoreRefused, match="restore.refused.damaged"):
        backup.restore_backup(damaged, database_url=sqlite_url)
    with read_session() as session:
        assert session.execute(sa.select(sa.func.count()).select_from(Cluster)).scalar_one() == 0
    assert backup.verify_backup(Path(sqlite_url.split("///", 1)[-1])).ok


def test_postgresql_is_not_copied_by_db_backup():
    with pytest.raises(RuntimeError, match="pg_dump"):
        backup.sqlite_path("postgresql+psycopg://app@127.0.0.1:5432/focas")
