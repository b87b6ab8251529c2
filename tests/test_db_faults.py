"""Database faults never crash a page (issue 13, item 8), on the real database of this run (SQLite or PostgreSQL).

- PostgreSQL app connections carry lock, statement and idle-transaction timeouts;
- a save blocked by another transaction's lock gets the translated "busy" message within the lock
  timeout, writes nothing, keeps what was typed, and saves once the lock is gone;
- a save that meets a locked database once is retried and saved;
- a read-only database: the login page and a write page say so, translated, without a traceback;
- a full disk (the embedded database on a small tmpfs filled to the last byte): the write page says so;
- a page whose read fails shows the translated message, and renders again once the database answers.

Faults are real: another connection holds the lock (SQLite's write lock or an exclusive lock that
also stops readers; PostgreSQL row and table locks), or the database file is made read-only
(chmod, plus the immutable flag because the tests run as root) / the PostgreSQL database is set
``default_transaction_read_only``.
"""

from __future__ import annotations

import os
import subprocess
import types
from pathlib import Path

import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from assessments import accounts
from assessments.access import LOCAL_USER
from assessments.i18n import translate
from db import faults
from db.audit import DATA_VERSION_KEY
from db.config import normalise_url
from db.engine import dispose_engine, get_engine, read_session, write_session
from db.models import AuditEvent, Cluster

ROOT = Path(__file__).resolve().parent.parent
POSTGRES = os.environ.get("DATABASE_URL", "").startswith("postgres")
NAME = "Tahuamanu"


@pytest.fixture
def short_timeouts(db_url, monkeypatch):
    """Lock and busy timeouts of about a second, so a blocked save answers quickly."""
    monkeypatch.setenv("FOCAS_SQLITE_BUSY_TIMEOUT_MS", "700")
    monkeypatch.setenv("FOCAS_PG_LOCK_TIMEOUT_MS", "1000")
    dispose_engine(db_url)
    yield db_url
    dispose_engine(db_url)


class Holder:
    """Another program holding a lock: ``writes`` blocks writers only; ``everything`` blocks readers too."""

    def __init__(self, db_url: str, blocks: str = "writes") -> None:
        self.db_url, self.blocks, self.open = db_url, blocks, False

    def __enter__(self) -> Holder:
        if self.db_url.startswith("sqlite"):
            import sqlite3

            dispose_engine(self.db_url)  # an exclusive lock needs every other connection closed
            self.conn = sqlite3.connect(self.db_url.split("///", 1)[1], isolation_level=None, check_same_thread=False)
            if self.blocks == "everything":
                self.conn.execute("PRAGMA locking_mode=EXCLUSIVE")
            self.conn.execute("BEGIN IMMEDIATE")
            self.conn.execute("UPDATE app_meta SET value = value WHERE key = ?", (DATA_VERSION_KEY,))
        else:
            self.engine = sa.create_engine(normalise_url(self.db_url))
            self.conn = self.engine.connect()
            self.conn.begin()
            if self.blocks == "everything":
                self.conn.exec_driver_sql("LOCK TABLE cluster_sector IN ACCESS EXCLUSIVE MODE")
            else:  # every save bumps the data version: its row is what a save waits for
                self.conn.execute(sa.text("SELECT value FROM app_meta WHERE key = :k FOR UPDATE"),
                                  {"k": DATA_VERSION_KEY})
        self.open = True
        return self

    def release(self) -> None:
        if not self.open:
            return
        self.open = False
        if self.db_url.startswith("sqlite"):
            self.conn.execute("ROLLBACK")
            self.conn.close()
        else:
            self.conn.rollback()
            self.conn.close()
            self.engine.dispose()

    def __exit__(self, *exc) -> None:
        self.release()


@pytest.fixture
def read_only(db_url):
    """Make this test's database read-only (call it); undone afterwards so the test folder can go."""
    undo = []

    def make() -> None:
        dispose_engine(db_url)
        if db_url.startswith("sqlite"):
            path = Path(db_url.split("///", 1)[1])
            assert not Path(f"{path}-wal").exists(), "the WAL was checkpointed when the engine closed"
            os.chmod(path, 0o444)
            undo.append(lambda: os.chmod(path, 0o644))
            if os.geteuid() == 0:  # root writes to a 0444 file; the immutable flag stops root too
                subprocess.run(["chattr", "+i", str(path)], check=True)
                undo.append(lambda: subprocess.run(["chattr", "-i", str(path)], check=True))
        else:
            name = sa.engine.make_url(db_url).database
            admin = sa.create_engine(normalise_url(db_url), isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.exec_driver_sql(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
            admin.dispose()

    yield make
    for step in reversed(undo):
        step()


def clusters_page(lang: str = "en") -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / "clusters.py"), default_timeout=120)
    at.session_state["lang"] = lang
    at.session_state["actor"] = LOCAL_USER
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    at.selectbox(key="clusters.department").set_value("17").run()
    form = "cluster_create_form_0"
    at.text_input(key=f"{form}.name").set_value(NAME)
    at.multiselect(key=f"{form}.sectors").set_value(["health"])
    at.multiselect(key=f"{form}.members").set_value(["17"])
    return at


def create(at: AppTest, lang: str = "en") -> None:
    label = translate("clusters.form.submit_create", lang)
    [b for b in at.button if b.label == label][0].click().run()


def saved_clusters() -> list[str]:
    with read_session() as session:
        return list(session.execute(sa.select(Cluster.name).where(Cluster.name == NAME)).scalars())


def cluster_audits() -> int:
    with read_session() as session:
        return session.execute(sa.select(sa.func.count()).select_from(AuditEvent)
                               .where(AuditEvent.entity == "cluster")).scalar_one()


def test_postgres_app_connections_wait_for_locks_and_statements_only_so_long(db_url, monkeypatch):
    if not POSTGRES:
        pytest.skip("lock_timeout, statement_timeout and idle_in_transaction_session_timeout are PostgreSQL's")

    def shown() -> dict[str, str]:
        with get_engine().connect() as conn:
            return {name: conn.exec_driver_sql(f"SHOW {name}").scalar()
                    for name in ("lock_timeout", "statement_timeout", "idle_in_transaction_session_timeout")}

    dispose_engine(db_url)
    assert shown() == {"lock_timeout": "5s", "statement_timeout": "30s", "idle_in_transaction_session_timeout": "5min"}
    monkeypatch.setenv("FOCAS_PG_LOCK_TIMEOUT_MS", "1500")
    monkeypatch.setenv("FOCAS_PG_STATEMENT_TIMEOUT_MS", "60000")
    monkeypatch.setenv("FOCAS_PG_IDLE_TX_TIMEOUT_MS", "0")
    dispose_engine(db_url)
    assert shown() == {"lock_timeout": "1500ms", "statement_timeout": "1min", "idle_in_transaction_session_timeout": "0"}
    # a write unit holds them too (the pool hands out the same connections)
    with write_session() as session:
        assert session.execute(sa.text("SHOW lock_timeout")).scalar() == "1500ms"


def test_a_statement_longer_than_the_statement_timeout_is_stopped_and_named(db_url, monkeypatch):
    if not POSTGRES:
        pytest.skip("statement_timeout is PostgreSQL's; SQLite statements are bounded by its busy timeout")
    monkeypatch.setenv("FOCAS_PG_STATEMENT_TIMEOUT_MS", "200")
    dispose_engine(db_url)
    with pytest.raises(sa.exc.DBAPIError) as raised:
        with read_session() as session:
            session.execute(sa.text("SELECT pg_sleep(30)"))
    assert faults.kind(raised.value) == "timeout"
    assert faults.DatabaseFault.of(raised.value, "read").message("en").startswith("The database took too long")


def test_a_save_behind_another_transactions_lock_says_busy_saves_nothing_and_keeps_the_typing(short_timeouts):
    at = clusters_page("en")
    audits = cluster_audits()
    with Holder(short_timeouts):
        create(at)  # the page's run is bounded by AppTest's timeout: without a lock timeout it waits for ever
        assert not at.exception, [e.value for e in at.exception]
        assert [e.value for e in at.error] == [translate("db_faults.save.locked", "en")]
        assert at.text_input(key="cluster_create_form_0.name").value == NAME
        assert at.multiselect(key="cluster_create_form_0.members").value == ["17"]
    assert saved_clusters() == [] and cluster_audits() == audits, "nothing of the blocked save was written"
    create(at)  # the same form, as the user left it, once the other transaction is gone
    assert not at.exception and [e.value for e in at.error] == []
    assert saved_clusters() == [NAME] and cluster_audits() == audits + 1


def test_a_save_that_meets_a_locked_database_once_is_tried_again_and_saved(short_timeouts):
    at = clusters_page("es")
    holder = Holder(short_timeouts).__enter__()
    met = []

    def release_on_first_lock(context) -> None:
        # the first attempt ran into the lock (busy or lock timeout): the other program finishes now
        if faults.kind(context.sqlalchemy_exception) == "locked" and not met:
            met.append(context.sqlalchemy_exception)
            holder.release()

    engine = get_engine()
    sa.event.listen(engine, "handle_error", release_on_first_lock)
    try:
        create(at, "es")
    finally:
        sa.event.remove(engine, "handle_error", release_on_first_lock)
        holder.release()
    assert len(met) == 1, "the save did meet the lock"
    assert not at.exception, [e.value for e in at.exception]
    assert [e.value for e in at.error] == []
    assert saved_clusters() == [NAME]
    assert any(NAME in s.value for s in at.success)


def test_a_read_only_database_is_named_on_a_write_page_and_the_typing_stays(db_url, read_only):
    at = clusters_page("es")
    read_only()
    engine = get_engine()
    refused = []

    def count(context) -> None:
        refused.append(faults.kind(context.sqlalchemy_exception))

    sa.event.listen(engine, "handle_error", count)
    try:
        create(at, "es")
    finally:
        sa.event.remove(engine, "handle_error", count)
    assert not at.exception, [e.value for e in at.exception]
    assert [e.value for e in at.error] == [translate("db_faults.save.read_only", "es")]
    assert at.text_input(key="cluster_create_form_0.name").value == NAME
    assert refused == ["read_only"], "a read-only database is not tried again: the answer would be the same"


def test_logging_in_to_a_read_only_database_says_so_instead_of_crashing(db_url, read_only, monkeypatch):
    with write_session() as session:
        accounts.create_first_admin(session=session, username="jefa", password="clave-segura-1",
                                    full_name="Jefa de programa")
    read_only()
    at = dashboard(monkeypatch, "es")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    at.text_input(key="login.username").set_value("jefa")
    at.text_input(key="login.password").set_value("clave-segura-1")
    [b for b in at.button if b.label == translate("access.login.submit", "es")][0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert [e.value for e in at.error] == [translate("db_faults.login.read_only", "es")]
    assert at.text_input(key="login.username").value == "jefa"
    assert "actor" not in at.session_state


def _entry_script_every_run(main_script_path: str) -> None:
    code = compile(Path(main_script_path).read_text(), main_script_path, "exec")
    module = types.ModuleType("__main__")
    module.__dict__["__file__"] = main_script_path
    exec(code, module.__dict__)  # noqa: S102


def dashboard(monkeypatch, lang: str = "en") -> AppTest:
    """dashboard.py under AppTest, run as scripts/serve.py serves it (no legacy pages/ mode): every run is
    dashboard.py's, whose st.navigation runs the chosen page (AppTest otherwise replays, alone, the page
    a run finished on, outside the page guard)."""
    from streamlit.runtime.scriptrunner import script_runner

    monkeypatch.setattr(script_runner, "_mpa_v1", _entry_script_every_run)
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120)
    at.session_state["lang"] = lang
    return at


def open_dashboard(monkeypatch, lang: str = "en") -> AppTest:
    monkeypatch.setenv("FOCAS_AUTH", "off")  # no accounts: the local user, every page
    at = dashboard(monkeypatch, lang)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_a_page_whose_read_fails_shows_the_message_and_renders_again_once_the_database_answers(
        short_timeouts, monkeypatch):
    at = open_dashboard(monkeypatch)
    with Holder(short_timeouts, blocks="everything"):
        at.switch_page("pages/clusters.py").run()
        assert not at.exception, [e.value for e in at.exception]
        assert [e.value for e in at.error] == [translate("db_faults.read.locked", "en")]
        assert at.sidebar.segmented_control, "the language switch outlives the page's fault"
    at.run()
    assert not at.exception and [e.value for e in at.error] == []
    assert at.title[0].value == translate("clusters.title", "en")


def test_one_pages_fault_leaves_the_other_pages_working(short_timeouts, monkeypatch):
    if not POSTGRES:
        pytest.skip("SQLite locks the whole file, so every page waits alike; PostgreSQL locks one table")
    at = open_dashboard(monkeypatch)
    with Holder(short_timeouts, blocks="everything"):  # cluster_sector: the clusters page reads it
        at.switch_page("pages/clusters.py").run()
        assert not at.exception, [e.value for e in at.exception]
        assert [e.value for e in at.error] == [translate("db_faults.read.locked", "en")]
        at.switch_page("pages/instrument.py").run()
        assert not at.exception and [e.value for e in at.error] == []
        assert at.title[0].value == translate("instrument.title", "en")



@pytest.fixture
def small_disk(db_url, tmp_path, monkeypatch):
    """This test's database on a disk of its own (a small tmpfs) that ``fill()`` fills to the last byte."""
    if POSTGRES:
        pytest.skip("the embedded database's disk; a PostgreSQL server's disk is the server's")
    if os.geteuid() != 0:
        pytest.skip("mounting a small disk needs root")
    disk = tmp_path / "disk"
    disk.mkdir()
    source = Path(db_url.split("///", 1)[1])
    dispose_engine(db_url)
    size = source.stat().st_size + 8 * 1024 * 1024
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(disk)], check=True)
    url = f"sqlite:///{disk / 'test.db'}"
    try:
        (disk / "test.db").write_bytes(source.read_bytes())
        monkeypatch.setenv("DATABASE_URL", url)

        def fill() -> None:
            with open(disk / "filler", "wb") as filler:
                try:
                    while True:
                        filler.write(b"\0" * 65536)
                        filler.flush()
                except OSError:
                    pass
            assert os.statvfs(disk).f_bavail == 0

        yield fill
    finally:
        dispose_engine(url)
        subprocess.run(["umount", str(disk)], check=True)


def test_a_full_disk_is_named_on_a_write_page_nothing_is_saved_and_the_typing_stays(small_disk):
    at = clusters_page("en")  # the page is open (its database files exist) when the disk fills up
    small_disk()
    create(at)
    assert not at.exception, [e.value for e in at.exception]
    assert [e.value for e in at.error] == [translate("db_faults.save.full", "en")]
    assert at.text_input(key="cluster_create_form_0.name").value == NAME
    assert saved_clusters() == []
