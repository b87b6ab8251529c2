"""Real-browser harness: the app started the way `make run` starts it, driven by headless Chromium."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import expect

expect.set_options(timeout=30_000)

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class RunningApp:
    url: str
    port: int
    database_url: str
    process: subprocess.Popen
    log_path: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def start_app(database_url: str, log_path: Path, *, port: int | None = None, env: dict | None = None) -> RunningApp:
    """Start the app with make run's command (`python -m scripts.serve`) on a free port and wait until healthy."""
    port = port or free_port()
    # no file watcher (a source edit must not reload the models mid-test); FOCAS_AUTH=off opens a database
    # without real accounts to the local user (tests that log in pass FOCAS_AUTH=on)
    environment = {**os.environ, "DATABASE_URL": database_url, "FOCAS_AUTH": "off",
                   "STREAMLIT_SERVER_FILE_WATCHER_TYPE": "none", **(env or {})}
    log = log_path.open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "scripts.serve", "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1"],
        cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT,
    )
    app = RunningApp(f"http://127.0.0.1:{port}", port, database_url, process, log_path)
    deadline = time.time() + 60
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited early:\n{app.log()}")
        try:
            with urllib.request.urlopen(f"{app.url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return app
        except OSError:
            time.sleep(0.3)
    app.stop()
    raise RuntimeError(f"streamlit did not become healthy:\n{app.log()}")


@pytest.fixture
def demo_db_url(db_url) -> str:
    """This test's database with the demo data loaded (as a first embedded start would)."""
    from db.demo import load_demo
    from db.engine import dispose_engine

    load_demo()
    dispose_engine(db_url)
    return db_url


@pytest.fixture
def app_factory(tmp_path) -> Iterator:
    started: list[RunningApp] = []

    def factory(database_url: str, **kwargs) -> RunningApp:
        app = start_app(database_url, tmp_path / f"streamlit-{len(started)}.log", **kwargs)
        started.append(app)
        return app

    yield factory
    for app in started:
        app.stop()


@pytest.fixture
def demo_app(demo_db_url, app_factory) -> RunningApp:
    return app_factory(demo_db_url)


@pytest.fixture(scope="session")
def browser() -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, tmp_path) -> Iterator:
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="es-PE")
    context.set_default_timeout(30_000)
    page = context.new_page()
    yield page
    context.close()


# Streamlit marks the app root "initial" before the first run, "running" while the script runs and
# "notRunning" once it finished. Between two runs (st.rerun, a widget's rerun, a fragment) the root
# can read "notRunning" for a moment, and on a slow machine the elements of the finished run may
# still be arriving; so "ready" means: not running, nothing stale, and the same elements on screen
# for a short quiet period.
_SETTLED = """(quiet) => {
  const app = document.querySelector("[data-testid='stApp']");
  const now = Date.now();
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning'
      || document.querySelector("[data-stale='true']")
      || document.querySelector("[data-testid='stAppSkeleton'], [data-testid='stSkeleton']")) {
    window.__focasSettled = null;
    return false;
  }
  const shape = document.querySelectorAll("[data-testid='stElementContainer']").length;
  const seen = window.__focasSettled;
  if (!seen || seen.shape !== shape) { window.__focasSettled = {shape: shape, since: now}; return false; }
  return now - seen.since >= quiet;
}"""


def wait_for_app(page, *, quiet_ms: int = 400) -> None:
    """Wait until Streamlit has finished running the script for what is on screen, and it has settled."""
    page.wait_for_selector("[data-testid='stApp']", state="attached")
    page.wait_for_function(_SETTLED, arg=quiet_ms, timeout=60_000, polling=100)


def eventually(read, expected, *, timeout: float = 20.0, interval: float = 0.25):
    """``read()`` once it equals ``expected`` (a save from the browser lands after its rerun), else its last value.

    The caller still asserts on the returned value, so a wrong result fails with the real difference.
    """
    deadline = time.monotonic() + timeout
    value = read()
    while value != expected and time.monotonic() < deadline:
        time.sleep(interval)
        value = read()
    return value
