"""Logging out forgets the last user's choices: the URL's query parameters and the remembered values
(pages/_access_gate.py sign_out), so the next user's Avance is not filtered on the previous user's cluster."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from streamlit.testing.v1 import AppTest

from assessments import accounts
from db.engine import write_session

ROOT = Path(__file__).resolve().parent.parent
CLUSTER = "8f14e45f-ceea-4e67-9c3a-000000000001"
LEFT_BEHIND = {
    "progress_filter_value.cluster_id": CLUSTER,   # pages/_progress_filters.py
    "progress_filter_url.cluster_id": CLUSTER,
    "progress_filter.cluster_id": CLUSTER,
    "focas.section_value": "scores",               # ui.remember (FOCAS workshop)
    "focas.gov_value": "220101",
}


def signed_in_dashboard(actor) -> AppTest:
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    at.session_state["lang"] = "es"
    at.session_state["actor"] = actor
    at.session_state["auth_last_seen"] = datetime.now(timezone.utc)
    for key, value in LEFT_BEHIND.items():
        at.session_state[key] = value
    at.query_params.update({"lang": "es", "cluster": CLUSTER, "dept": "22", "gov": "220101", "section": "scores"})
    return at


def test_logging_out_clears_the_urls_filters_and_the_remembered_choices(db_url):
    with write_session() as session:
        actor = accounts.create_first_admin(session=session, username="jefa", password="clave-segura-1")
    at = signed_in_dashboard(actor)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.query_params.get("gov") == "220101"  # the signed-in user's choice stays while signed in
    assert "Cerrar sesión" in [b.label for b in at.sidebar.button]
    # what the Log out button runs, in the same browser session (an AppTest click replays the page, not
    # dashboard.py; the button itself is clicked in tests/e2e/test_access_e2e.py)
    logout = AppTest.from_string("from pages import _access_gate as gate\ngate.sign_out(notice='access.logged_out')\n",
                                 default_timeout=60)
    for key in at.session_state:
        logout.session_state[key] = at.session_state[key]
    logout.query_params.update(at.query_params)
    logout.run()
    assert not logout.exception, [e.value for e in logout.exception]
    assert "actor" not in logout.session_state
    assert logout.query_params == {"lang": "es"}
    assert [key for key in LEFT_BEHIND if key in logout.session_state] == []
    assert not [key for key in logout.session_state if key.startswith("progress_filter")]
    assert logout.session_state["lang"] == "es"  # the language is not personal: the login page keeps it
    assert logout.session_state["auth_notice"] == "access.logged_out"
    # the next person logs in on this browser session: the overview opens unfiltered
    after = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    for key in logout.session_state:
        after.session_state[key] = logout.session_state[key]
    after.query_params.update(logout.query_params)
    after.session_state["actor"] = actor
    after.session_state["auth_last_seen"] = datetime.now(timezone.utc)
    after.run()
    assert not after.exception, [e.value for e in after.exception]
    assert set(after.query_params) <= {"lang"}
    assert after.selectbox(key="progress_filter.department").value == ""
