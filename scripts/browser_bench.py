"""What a person waits for: the progress pages driven in headless Chromium against the bench database.

Used by ``scripts/bench.py`` (``--browser-only`` runs this part alone). The app is started the way the
browser tests start it (``tests/e2e/conftest.py``: ``python -m scripts.serve`` on a free port), and each
page is opened in Chromium until it is *settled*: the script finished, nothing stale, no skeleton, every
plotly chart drawn and the same elements on screen for a quiet period (the time reported is when that
quiet period began, not its end).

- **cold**: the read cache is invalidated first (the database's data version is bumped, as every save
  does), then the page is opened in a new browser tab (a new Streamlit session);
- **warm**: the same page opened again in a new tab, nothing changed in between (median of a few);
- **rerun**: the page run again in its open tab (Streamlit's "r" shortcut), which is what changing a
  filter or switching a tab costs once the browser holds the app's scripts.

For every page the bytes the server sent over the websocket (``framereceived``) are counted, and how
many plotly points (the length of every ``x``/``y``/``z``/``r`` array in the figures) the page drew
(Portafolio draws Vega-Lite charts, whose rows are inline in the bytes sent: no plotly points).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

# The settled check of the browser tests, plus "every chart drawn" (plotly and Vega-Lite draw after their
# element arrives; a page whose charts are still blank is not usable).
SETTLED = """(quiet) => {
  const app = document.querySelector("[data-testid='stApp']");
  const now = Date.now();
  // every chart element holds its drawing (a plotly chart has several .main-svg layers: count charts)
  const undrawn = [...document.querySelectorAll("[data-testid='stPlotlyChart'], [data-testid='stVegaLiteChart']")]
    .filter((chart) => !chart.querySelector(".main-svg, .vega-embed svg, .vega-embed canvas")).length;
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning'
      || document.querySelector("[data-stale='true']")
      || document.querySelector("[data-testid='stAppSkeleton'], [data-testid='stSkeleton']")
      || undrawn > 0) {
    window.__benchSettled = null;
    return false;
  }
  const shape = document.querySelectorAll("[data-testid='stElementContainer']").length;
  const seen = window.__benchSettled;
  if (!seen || seen.shape !== shape) { window.__benchSettled = {shape: shape, since: now}; return false; }
  return now - seen.since >= quiet ? seen.since : false;
}"""

POINTS = """() => {
  let points = 0;

  for (const plot of document.querySelectorAll('.js-plotly-plot')) {
    for (const trace of (plot.data || [])) {
      for (const axis of ['x', 'y', 'z', 'r']) {
        const v = trace[axis];
        if (v && typeof v.length === 'number') points += Array.isArray(v[0]) ? v.length * v[0].length : v.length;
      }
    }
  }
  return points;
}"""

# A rerun in an open tab (the "r" shortcut: what a filter change or a tab switch costs once the
# browser has the app): wait for the script to run again, then for the page to settle.
RERUN_WATCH = """() => {
  window.__benchRan = false;
  window.__benchSettled = null;
  const app = document.querySelector("[data-testid='stApp']");
  new MutationObserver(() => {
    if (app.getAttribute('data-test-script-state') === 'running') window.__benchRan = true;
  }).observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
}"""

PROGRESS_TABS = ("governments", "clusters", "distributions", "targets", "plans", "qsip")
QUIET_MS = 400
WARM_RUNS = 3


def pages() -> list[tuple[str, str]]:
    """(name, path) of every page measured: Portafolio, each Avance tab, and Avance with a filter set."""
    # Portafolio is the default page: it lives at "/" ("/overview" would open a "page not found" dialog)
    return [("overview", "/?lang=es"),
            *((f"progress_{tab}", f"/progress?lang=es&view={tab}") for tab in PROGRESS_TABS),
            ("progress_filtered", "/progress?lang=es&dept=16"),
            ("overview_filtered", "/?lang=es&dept=16")]


def bump_data_version(database_url: str) -> None:
    """What every save does: the read cache's key changes, so the next run reads the database again."""
    import os

    from db.audit import bump_data_version as bump
    from db.engine import write_session

    os.environ["DATABASE_URL"] = database_url
    with write_session() as session:
        bump(session)


def open_page(context, url: str, *, timeout_s: float = 180.0, rerun: int = 0) -> dict:
    """Open ``url`` in a new tab; seconds until settled, websocket bytes received, plotly points drawn.

    Tabs share ``context`` (one browser profile): its HTTP cache holds the app's scripts after the first
    visit, as a person's browser does; every tab is a new Streamlit session.
    """
    page = context.new_page()
    received = {"bytes": 0, "frames": 0}

    def on_socket(socket) -> None:
        def on_frame(payload) -> None:
            received["bytes"] += len(payload)
            received["frames"] += 1
        socket.on("framereceived", on_frame)

    page.on("websocket", on_socket)
    started_ms = time.time() * 1000
    page.goto(url)
    handle = page.wait_for_function(SETTLED, arg=QUIET_MS, timeout=timeout_s * 1000, polling=100)
    settled_ms = handle.json_value()
    points = page.evaluate(POINTS)
    # frames still in flight after settling belong to this page too
    page.wait_for_timeout(200)
    result = {"s": (settled_ms - started_ms) / 1000, "bytes": received["bytes"], "points": points}
    reruns = []
    for _ in range(rerun):
        received["bytes"] = 0
        page.evaluate(RERUN_WATCH)
        started_ms = time.time() * 1000
        ran = False
        for _attempt in range(3):  # a key pressed while the browser is busy can be lost: press it again
            page.locator("body").press("r")
            try:
                page.wait_for_function("() => window.__benchRan", timeout=timeout_s * 1000 / 3, polling=50)
                ran = True
                break
            except Exception:  # noqa: BLE001  (Playwright's TimeoutError)
                continue
        if not ran:  # the shortcut never reran the page: no rerun figure rather than a failed benchmark
            reruns.append((float("nan"), 0))
            break
        handle = page.wait_for_function(SETTLED, arg=QUIET_MS, timeout=timeout_s * 1000, polling=100)
        reruns.append(((handle.json_value() - started_ms) / 1000, received["bytes"]))
    if reruns:
        result["rerun_s"] = statistics.median(r for r, _ in reruns)
        result["rerun_bytes"] = reruns[-1][1]
    page.close()
    return result


def measure(database_url: str, emit, *, warm_runs: int = WARM_RUNS) -> dict[str, float]:
    """Start the app on ``database_url``, open every page cold then warm; emit ``browser_*`` lines."""
    from playwright.sync_api import sync_playwright

    from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, start_app

    figures: dict[str, float] = {}
    log = Path(tempfile.mkdtemp(prefix="focas-bench-")) / "streamlit.log"
    app = start_app(database_url, log)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="es-PE")
            try:
                # the server's first run imports pandas, plotly and the pages: not what a person waits
                # for after the first visit of the day, so it is done (and reported) before measuring
                first = open_page(context, f"{app.url}/instrument?lang=es")
                emit("browser_server_first_run_s", first["s"])
                # the floor: a page of this app with no chart (Streamlit's own start in a new tab)
                floor = statistics.median(open_page(context, f"{app.url}/instrument?lang=es")["s"]
                                          for _ in range(warm_runs))
                emit("browser_reference_page_without_charts_warm_s", floor)
                for name, path in pages():
                    bump_data_version(database_url)
                    cold = open_page(context, app.url + path)
                    warm = [open_page(context, app.url + path, rerun=warm_runs if not i else 0)
                            for i in range(warm_runs)]
                    figures[f"{name}_cold_s"] = cold["s"]
                    figures[f"{name}_warm_s"] = statistics.median(w["s"] for w in warm)
                    emit(f"browser_{name}_cold_s", cold["s"])
                    emit(f"browser_{name}_warm_s", figures[f"{name}_warm_s"])
                    emit(f"browser_{name}_rerun_s", warm[0]["rerun_s"])
                    emit(f"browser_{name}_ws_kb", warm[-1]["bytes"] / 1024)
                    emit(f"browser_{name}_rerun_ws_kb", warm[0]["rerun_bytes"] / 1024)
                    emit(f"browser_{name}_plot_points", warm[-1]["points"])
            finally:
                context.close()
                browser.close()
    finally:
        app.stop()
        if "Traceback" in app.log():
            print(app.log()[-4000:])
    return figures
