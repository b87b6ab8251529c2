"""The login gate dashboard.py runs before navigation: who is logged in, expiry, logout, optional SSO.

Rule (tested in tests/test_access_gate.py):
- a database with accounts (real ones, or demo ones on the demo database) requires login on every page;
- a database without real accounts asks for the first administrator;
- ``FOCAS_AUTH=off`` in the environment opens the app to the local user, but only while the database
  holds no real account, so it can never open an installation that has users.
"""

from __future__ import annotations

from datetime import datetime, timezone

import streamlit as st

from assessments import accounts
from assessments.access import LOCAL_USER, Actor
from db.config import load_settings
from db.engine import write_session
from pages import ui

LAST_SEEN_KEY = "auth_last_seen"
NOTICE_KEY = "auth_notice"
MODE_KEY = "auth_mode"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def sso_configured() -> bool:
    """Streamlit's OIDC login is offered only where the deployment put an [auth] section in secrets."""
    try:
        return "auth" in st.secrets
    except Exception:  # noqa: BLE001 - no secrets file at all
        return False


def sign_in(actor: Actor) -> None:
    st.session_state[ui.ACTOR_KEY] = actor
    st.session_state[LAST_SEEN_KEY] = _now()


def sign_out(*, reason: str = "logout", notice: str | None = None) -> None:
    current = st.session_state.get(ui.ACTOR_KEY)
    if current is not None and current.user_id is not None:
        with write_session() as session:
            accounts.record_logout(session=session, actor=current, reason=reason)
    for key in (ui.ACTOR_KEY, LAST_SEEN_KEY):
        st.session_state.pop(key, None)
    if notice:
        st.session_state[NOTICE_KEY] = notice


def _try_sso() -> None:
    if not sso_configured() or not getattr(st.user, "is_logged_in", False):
        return
    with write_session() as session:
        result = accounts.login_sso(session=session, email=st.user.get("email"))
    if result.actor is not None:
        sign_in(result.actor)
    else:
        st.session_state[NOTICE_KEY] = result.error_key


def authenticated_actor() -> Actor | None:
    """The logged-in actor after expiry and deactivation checks, or None (then show the login page)."""
    mode = accounts.login_mode()
    st.session_state[MODE_KEY] = mode
    if mode == "open":
        st.session_state[ui.ACTOR_KEY] = LOCAL_USER
        return LOCAL_USER
    current: Actor | None = st.session_state.get(ui.ACTOR_KEY)
    if current is not None and current.user_id is None:
        # the local user of an open session does not survive accounts appearing
        st.session_state.pop(ui.ACTOR_KEY, None)
        current = None
    if current is None:
        _try_sso()
        current = st.session_state.get(ui.ACTOR_KEY)
        if current is None:
            return None
    timeout = load_settings().session_timeout_minutes
    if accounts.session_expired(st.session_state.get(LAST_SEEN_KEY), _now(), timeout):
        sign_out(reason="expired", notice="access.expired")
        return None
    fresh = accounts.refresh_actor(current)
    if fresh is None:
        sign_out(reason="deactivated", notice="access.deactivated")
        return None
    sign_in(fresh)
    return fresh


def sidebar(actor: Actor) -> None:
    """Who is logged in, and the logout button."""
    if st.session_state.get(MODE_KEY) == "open":
        st.sidebar.caption(ui.t("access.open_mode"))
        return
    role = ui.t(f"access.role.{actor.role}")
    st.sidebar.caption(ui.t("access.signed_in_as", name=actor.full_name or actor.username, role=role))
    if st.sidebar.button(ui.t("access.logout"), key="auth_logout", icon=":material/logout:"):
        sign_out(notice="access.logged_out")
        if sso_configured() and getattr(st.user, "is_logged_in", False):
            st.logout()
        st.rerun()
