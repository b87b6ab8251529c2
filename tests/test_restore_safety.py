"""`make restore` is safe: refused while anything holds the database, refused for a file that is not this
app's database, atomic with the previous database kept, audited; `make backup` from a shell is audited too."""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import urllib.request
from contextlib import closing
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from assessments.i18n import catalog
from db import backup
from db.engine import dispose_engine
from tests.e2e.conftest import start_app

ROOT = Path(__file__).resolve().parent.parent
SPANISH = {"LANG": "C.UTF-8", "LC_ALL": "", "LC_MESSAGES": ""}


@pytest.fixture
def live(db_url) -> Path:
    """This test's embedded database file (nothing in this process holds it open)."""
    if not db_url.startswith("sqlite"):
        pytest.skip("make restore restores the embedded SQLite database; PostgreSQL uses pg_dump/pg_restore")
    dispose_engine(db_url)
    return Path(db_url.split("///", 1)[-1])


def cli(database: Path | str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    url = database if isinstance(database, str) else f"sqlite:///{database}"
    environment = {**os.environ, "DATABASE_URL": url, **SPANISH, **(env or {})}
    return subprocess.run([sys.executable, "-m", "db.backup", *args], cwd=ROOT, env=environment,
                          capture_output=True, text=True, timeout=300)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def save(database: Path, key: str) -> None:
    """A save confirmed to its user (committed) after the backup was made."""
    with closing(sqlite3.connect(database)) as connection, connection:
        connection.execute("INSERT INTO app_meta (key, value) VALUES (?, 'saved')", (key,))


def saved(database: Path, key: str) -> bool:
    with closing(sqlite3.connect(database)) as connection, connection:
        return connection.execute("SELECT count(*) FROM app_meta WHERE key = ?", (key,)).fetchone()[0] == 1


def siblings(database: Path) -> set[str]:
    """Files next to the database apart from its lock, WAL and shared-memory files."""
    return {p.name for p in database.parent.iterdir()
            if p.name.startswith(database.name) or p.name.startswith(f".{database.name}")} - {
        f"{database.name}{suffix}" for suffix in (".lock", "-wal", "-shm")}


def audit_rows(database: Path, action: str) -> list[tuple]:
    with closing(sqlite3.connect(database)) as connection, connection:
        return connection.execute("SELECT actor, actor_role, entity, entity_id, after_json FROM audit_event "
                                  "WHERE action = ? ORDER BY at", (action,)).fetchall()


def assert_untouched(database: Path, before_digest: str, before_files: set[str], key: str) -> None:
    assert digest(database) == before_digest, "a refused restore changed the database"
    assert siblings(database) == before_files, "a refused restore left files behind (safety copy, staged copy)"
    assert saved(database, key), "a save confirmed before the refused restore is gone"


def good_backup(live: Path, tmp_path: Path) -> Path:
    return backup.create_backup(tmp_path / "backup.db", database_url=f"sqlite:///{live}")


# ---------------------------------------------------------------------------------- something holds it

def test_restore_while_the_app_runs_is_refused_and_the_database_is_unchanged(live, tmp_path, monkeypatch):
    copy = good_backup(live, tmp_path)
    save(live, "after-backup")
    app = start_app(f"sqlite:///{live}", tmp_path / "app.log")
    try:
        before, files = digest(live), siblings(live)
        refused = cli(live, "restore", str(copy))
        assert refused.returncode == 1, refused.stdout + refused.stderr
        assert "No se restauró nada" in refused.stderr and "No se cambió nada" in refused.stderr
        assert str(app.process.pid) in refused.stderr  # names the process that holds it
        assert_untouched(live, before, files, "after-backup")

        # where other processes' open files cannot be read, the app's advisory lock still refuses
        monkeypatch.setattr(backup, "PROC", tmp_path / "no-proc-here")
        assert backup.processes_holding(live) == []
        with pytest.raises(backup.RestoreRefused) as refusal:
            backup.restore(copy, database_url=f"sqlite:///{live}")
        assert refusal.value.key == "restore.refused.app_running"
        assert "la aplicación está en ejecución" in refusal.value.message("es")
        assert_untouched(live, before, files, "after-backup")
        with urllib.request.urlopen(f"{app.url}/_stcore/health", timeout=10) as response:
            assert response.status == 200  # the app went on serving
    finally:
        app.stop()


def test_restore_while_any_process_holds_a_connection_is_refused(live, tmp_path):
    copy = good_backup(live, tmp_path)
    save(live, "after-backup")
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sqlite3, sys\n"
         f"c = sqlite3.connect({str(live)!r}); c.execute('SELECT count(*) FROM cluster').fetchall()\n"
         "print('ready', flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        before, files = digest(live), siblings(live)
        refused = cli(live, "restore", str(copy), "--lang", "en")
        assert refused.returncode == 1
        assert "is open in other processes" in refused.stderr and f"{holder.pid} (" in refused.stderr
        assert_untouched(live, before, files, "after-backup")
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    # once it is closed, the same restore goes through
    done = cli(live, "restore", str(copy))
    assert done.returncode == 0, done.stderr
    assert not saved(live, "after-backup")


# ------------------------------------------------------------------------------ not this app's database

def foreign_sqlite(tmp_path: Path) -> Path:
    path = tmp_path / "other-app.db"
    with closing(sqlite3.connect(path)) as connection, connection:
        connection.execute("CREATE TABLE invoice (id INTEGER PRIMARY KEY, total REAL)")
        connection.execute("INSERT INTO invoice (total) VALUES (12.5)")
    return path


def unknown_revision(live: Path, tmp_path: Path) -> Path:
    path = shutil.copy(good_backup(live, tmp_path), tmp_path / "from-the-future.db")
    with closing(sqlite3.connect(path)) as connection, connection:
        connection.execute("UPDATE alembic_version SET version_num = '0099_newer_app'")
    return Path(path)


def truncated(live: Path, tmp_path: Path) -> Path:
    content = good_backup(live, tmp_path).read_bytes()
    path = tmp_path / "cut-short.db"
    path.write_bytes(content[: len(content) // 2])
    return path


@pytest.mark.parametrize("make, words_es, words_en", [
    (lambda live, tmp: foreign_sqlite(tmp), "no de esta aplicación", "not this app's"),
    (unknown_revision, "revisión de esquema 0099_newer_app, que esta versión de la aplicación no conoce",
     "schema revision 0099_newer_app, which this version of the app does not know"),
    (truncated, "está incompleto", "is incomplete"),
], ids=["foreign-sqlite", "unknown-revision", "truncated"])
def test_a_file_that_is_not_this_apps_database_is_refused(live, tmp_path, make, words_es, words_en):
    bad = make(live, tmp_path)
    save(live, "kept")
    before, files = digest(live), siblings(live)
    spanish = cli(live, "restore", str(bad))
    assert spanish.returncode == 1, spanish.stdout
    assert words_es in spanish.stderr and str(bad) in spanish.stderr and "No se cambió nada" in spanish.stderr
    english = cli(live, "restore", str(bad), env={"LANG": "en_US.UTF-8"})
    assert english.returncode == 1 and words_en in english.stderr and "Nothing was changed" in english.stderr
    assert_untouched(live, before, files, "kept")
    assert cli(live, "verify", str(bad)).returncode == 1


def test_a_file_at_an_older_known_revision_is_brought_up_to_date_and_the_app_starts(live, tmp_path):
    old = tmp_path / "at-0002.db"
    config = Config(str(ROOT / "alembic.ini"))
    engine = sa.create_engine(f"sqlite:///{old}")
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0002")
    engine.dispose()
    result = backup.restore(old, database_url=f"sqlite:///{live}")
    assert result.upgraded_from == "0002" and result.check.revision == backup._known_revisions()[1]
    assert backup.verify_backup(live).ok and "entry_batch" in backup.verify_backup(live).tables


# ------------------------------------------------------------------------------------------- good path

def test_a_good_restore_keeps_the_previous_database_is_audited_and_the_app_starts(live, tmp_path):
    copy = good_backup(live, tmp_path)
    save(live, "after-backup")
    done = cli(live, "restore", str(copy))
    assert done.returncode == 0, done.stderr
    assert f"Restaurado {copy} sobre {live}" in done.stdout and "make run" in done.stdout
    kept = Path(re.search(r"se guardó en (\S+)\.$", done.stdout, re.M).group(1))
    assert kept.parent == live.parent and backup.verify_backup(kept).ok
    assert saved(kept, "after-backup") and not saved(live, "after-backup")
    assert not [p for p in live.parent.iterdir() if ".restoring-" in p.name]
    [(actor, role, entity, entity_id, after)] = audit_rows(live, "restore")
    assert actor.startswith(f"cli:{getpass.getuser()}@") and role == "admin"
    assert (entity, entity_id) == ("database", copy.name)
    facts = json.loads(after)
    assert facts["previous_database_kept_as"] == kept.name and facts["revision"] == backup._known_revisions()[1]
    app = start_app(f"sqlite:///{live}", tmp_path / "app.log")
    try:
        with urllib.request.urlopen(f"{app.url}/_stcore/health", timeout=10) as response:
            assert response.status == 200
        assert "Traceback" not in app.log()
    finally:
        app.stop()


def test_command_line_backup_is_audited_like_the_page_button(live, tmp_path):
    made = cli(live, "create", str(tmp_path / "cli.db"))
    assert made.returncode == 0, made.stderr
    assert "Copia de respaldo escrita" in made.stdout and "registrada en la auditoría" in made.stdout
    [(actor, role, entity, entity_id, after)] = audit_rows(live, "backup")
    assert actor == f"cli:{getpass.getuser()}@{os.uname().nodename}" and role == "admin"
    assert (entity, entity_id) == ("database", "cli.db")
    assert json.loads(after)["integrity"] == "ok"
    english = cli(live, "create", str(tmp_path / "cli2.db"), "--lang", "en")
    assert english.returncode == 0 and "Backup written" in english.stdout
    assert len(audit_rows(live, "backup")) == 2


# ------------------------------------------------------------------------------------ PostgreSQL, catalog

def test_on_postgresql_the_command_line_points_to_pg_dump_and_pg_restore(tmp_path):
    url = "postgresql+psycopg://app@127.0.0.1:55442/focas"
    for args in (("restore", str(tmp_path / "x.db")), ("create",)):
        spanish = cli(url, *args)
        assert spanish.returncode == 2
        assert "PostgreSQL" in spanish.stderr and "pg_dump" in spanish.stderr and "pg_restore" in spanish.stderr
        assert "use las herramientas del servidor" in spanish.stderr
    english = cli(url, "restore", str(tmp_path / "x.db"), "--lang", "en")
    assert english.returncode == 2 and "use the server's tools" in english.stderr


def test_every_restore_message_is_in_both_languages():
    source = (ROOT / "db" / "backup.py").read_text(encoding="utf-8")
    keys = set(re.findall(r"""(?:RestoreRefused|say)\(\s*["'](restore\.[a-z_.]+)["']""", source))
    assert len(keys) >= 15
    assert keys <= set(catalog("es")) and keys <= set(catalog("en"))
