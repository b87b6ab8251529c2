"""The login gate dashboard.py runs before navigation: who is logged in, expiry, logout, optional SSO.

Rule (tested in tests/test_access_gate.py and tests/test_auth_sessions.py):
- a database with accounts (real ones, or demo ones on the demo database) requires login on every page;
- a database without real accounts asks for the first administrator;
- ``FOCAS_AUTH=off`` in the environment opens the app to the local user, but only while the database
  holds no real account, so it can never open an installation that has users;
- a login survives a browser reload and a server restart through a saved-login cookie
  (assessments/auth_sessions.py): a new browser session with a valid token signs in silently.

The cookie is written by a small Custom Component v2 (inline JS in the app's own document; Streamlit has
no cookie setter) and read back from ``st.context.cookies`` when the next browser session connects.
JavaScript cannot set HttpOnly, so the cookie is ``SameSite=Strict; Path=/`` (``Secure`` on https) and
lives no longer than the inactivity timeout; the database keeps only the token's SHA-256.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone

import streamlit as st
from sqlalchemy.exc import DBAPIError

from assessments import accounts, auth_sessions
from assessments.access import LOCAL_USER, Actor
from db.config import load_settings
from db.engine import run_page_write
from db.faults import is_retryable
from pages import ui

_LOG = logging.getLogger("focas.db_faults")
LAST_SEEN_KEY = "auth_last_seen"
NOTICE_KEY = "auth_notice"
MODE_KEY = "auth_mode"
SAVED_ID_KEY = "auth_saved_login"      # id of this browser session's auth_session row
TOKEN_KEY = "auth_token"               # its token, kept only to (re)write the cookie
COOKIE_KEY = "auth_cookie"             # what the cookie writer does on this run
TRIED_KEY = "auth_cookie_tried"        # hashes of cookie tokens this session already tried
COOKIE_WRITER_KEY = "auth_cookie_writer"

# Sets or clears the saved-login cookie in the app's document (no iframe); runs when its data change.
_COOKIE_JS = """
export default function ({ data }) {
  if (!data || !data.name) return;
  const secure = window.location.protocol === "https:" ? "; Secure" : "";
  const attributes = "; Path=/; SameSite=Strict" + secure;
  if (data.action === "set") {
    document.cookie = data.name + "=" + data.token + "; Max-Age=" + data.max_age + attributes;
  } else if (data.action === "clear") {
    document.cookie = data.name + "=; Max-Age=0" + attributes;
  }
}
"""
_cookie_writer = st.components.v2.component("focas_saved_login_cookie", js=_COOKIE_JS)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def sso_configured() -> bool:
    """Streamlit's OIDC login is offered only where the deployment put an [auth] section in secrets."""
    try:
        return "auth" in st.secrets
    except Exception:  # noqa: BLE001 - no secrets file at all
        return False


def user_agent() -> str | None:
    """The browser's User-Agent, kept with a saved login so an administrator can tell devices apart."""
    try:
        agent = st.context.headers.get("User-Agent")
    except Exception:  # noqa: BLE001 - no browser behind this run
        return None
    return agent if isinstance(agent, str) else None  # AppTest's client answers with a mock


def client_ip() -> str | None:
    """The browser's address, ``None`` for this machine (Streamlit reports loopback clients so; tests replace this)."""
    try:
        address = st.context.ip_address
    except Exception:  # noqa: BLE001 - no browser behind this run
        return None
    return address if isinstance(address, str) else None


def saved_token() -> str | None:
    """The saved-login token the browser sent when this session connected (tests replace this)."""
    try:
        token = st.context.cookies.get(auth_sessions.COOKIE_NAME)
    except Exception:  # noqa: BLE001 - no browser behind this run
        return None
    return token if isinstance(token, str) else None  # AppTest's client answers with a mock


def _timeout_minutes() -> int:
    return load_settings().session_timeout_minutes


def _write_cookie(token: str, stamp: datetime) -> None:
    # the stamp changes whenever last_seen is written, so the browser's Max-Age slides with activity
    st.session_state[COOKIE_KEY] = {"action": "set", "name": auth_sessions.COOKIE_NAME, "token": token,
                                    "max_age": _timeout_minutes() * 60, "stamp": stamp.isoformat()}


def _clear_cookie() -> None:
    st.session_state[COOKIE_KEY] = {"action": "clear", "name": auth_sessions.COOKIE_NAME}


def saved_login_id():
    """The id of this browser's saved login (auth_session row), or None in open mode or without one."""
    return st.session_state.get(SAVED_ID_KEY)


def sign_in(actor: Actor, *, saved: auth_sessions.IssuedSession | None = None) -> None:
    """Put the actor in this browser session; ``saved`` (a fresh login) also goes into the cookie."""
    st.session_state[ui.ACTOR_KEY] = actor
    st.session_state[LAST_SEEN_KEY] = _now()
    if saved is not None:
        st.session_state[SAVED_ID_KEY] = saved.id
        st.session_state[TOKEN_KEY] = saved.token
        _write_cookie(saved.token, _now())


def _forget_saved_login() -> None:
    for key in (SAVED_ID_KEY, TOKEN_KEY):
        st.session_state.pop(key, None)
    _clear_cookie()
    # the cookie this session connected with must not sign it back in
    token = saved_token()
    if token:
        st.session_state.setdefault(TRIED_KEY, set()).add(auth_sessions.hash_token(token))


# What a logout keeps of the browser session: the language and the gate's own bookkeeping.
KEPT_ON_SIGN_OUT = frozenset({ui.LANG_KEY, "lang_switch", NOTICE_KEY, MODE_KEY, COOKIE_KEY, TRIED_KEY})


def _forget_choices() -> None:
    """The next person at this browser starts afresh: every remembered choice (filters, government, round,
    section; session state and the URL's query parameters) goes with the login, only the language stays."""
    for key in list(st.session_state.keys()):
        if key not in KEPT_ON_SIGN_OUT:
            del st.session_state[key]
    language = st.query_params.get(ui.LANG_KEY)
    st.query_params.clear()
    if language:
        st.query_params[ui.LANG_KEY] = language


def sign_out(*, reason: str = "logout", notice: str | None = None) -> None:
    """End the login: revoke its saved login server-side, clear the cookie, audit the logout, and forget
    the choices made during it (ui.remember, the progress filters: a shared laptop's next user must not
    open Avance filtered on the previous user's cluster)."""
    current = st.session_state.get(ui.ACTOR_KEY)
    saved_id = st.session_state.get(SAVED_ID_KEY)
    if (current is not None and current.user_id is not None) or saved_id is not None:
        def revoke(session) -> None:
            auth_sessions.revoke(session=session, session_id=saved_id, reason=reason)
            if current is not None and current.user_id is not None:
                accounts.record_logout(session=session, actor=current, reason=reason)

        try:
            run_page_write(revoke)
        except DBAPIError as error:  # a read-only or full database: this browser is signed out all the same
            _LOG.warning("logout not recorded (database fault): %s", error)
    for key in (ui.ACTOR_KEY, LAST_SEEN_KEY):
        st.session_state.pop(key, None)
    _forget_saved_login()
    _forget_choices()
    if notice:
        st.session_state[NOTICE_KEY] = notice


def _try_saved_login() -> None:
    """A new browser session (reload, reconnect, server restart): sign in from the cookie, once per token."""
    token = saved_token()
    if not token:
        return
    tried = st.session_state.setdefault(TRIED_KEY, set())
    token_hash = auth_sessions.hash_token(token)
    if token_hash in tried:
        return
    tried.add(token_hash)
    result = run_page_write(lambda session: auth_sessions.resume(session=session, token=token,
                                                                 timeout_minutes=_timeout_minutes()))
    if result.actor is None:
        _clear_cookie()
        if result.refused == "expired":
            st.session_state[NOTICE_KEY] = "access.expired"
        return
    sign_in(result.actor)
    st.session_state[SAVED_ID_KEY] = result.session_id
    st.session_state[TOKEN_KEY] = token
    _write_cookie(token, _now())


def _try_sso() -> None:
    if not sso_configured() or not getattr(st.user, "is_logged_in", False):
        return
    def log_in(session):
        result = accounts.login_sso(session=session, email=st.user.get("email"))
        return result, (auth_sessions.issue(session=session, account=result.actor, user_agent=user_agent())
                        if result.actor is not None else None)

    result, saved = run_page_write(log_in)
    if result.actor is not None:
        sign_in(result.actor, saved=saved)
    else:
        st.session_state[NOTICE_KEY] = result.error_key


def _saved_login_holds() -> bool:
    """For a signed-in session with a saved login: still unrevoked? Writes last_seen at most once a minute."""
    saved_id = st.session_state.get(SAVED_ID_KEY)
    if saved_id is None:
        return True  # a login from before saved logins existed, or set up by a test
    now = _now()
    current = auth_sessions.state(saved_id, now=now)
    if not current.valid:
        return False
    if current.last_seen_at is None or now - current.last_seen_at >= auth_sessions.TOUCH_EVERY:
        try:
            run_page_write(lambda session: auth_sessions.touch(session=session, session_id=saved_id, now=now))
        except DBAPIError as error:
            if is_retryable(error):
                raise
            # a read-only or full database still shows its pages: the saved login is only not extended
            _LOG.warning("saved login not touched (database fault): %s", error)
            return True
        token = st.session_state.get(TOKEN_KEY)
        if token:
            _write_cookie(token, now)
    return True


def _render_cookie_writer() -> None:
    data = st.session_state.get(COOKIE_KEY)
    if data is None:
        return
    # the writer draws nothing; hide its empty container so it adds no gap to the layout
    st.html(f"<style>.st-key-{COOKIE_WRITER_KEY} {{ display: none; }}</style>")
    _cookie_writer(key=COOKIE_WRITER_KEY, data=data, height=0)
    if data.get("action") == "clear":
        # written once: a later run of this tab must not clear a cookie another tab has set since
        st.session_state.pop(COOKIE_KEY, None)


def authenticated_actor() -> Actor | None:
    """The logged-in actor after expiry and deactivation checks, or None (then show the login page)."""
    actor = _decide()
    if st.session_state.get(MODE_KEY) != "open":
        _render_cookie_writer()
    return actor


def _decide() -> Actor | None:
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
        _try_saved_login()
        current = st.session_state.get(ui.ACTOR_KEY)
    if current is None:
        _try_sso()
        current = st.session_state.get(ui.ACTOR_KEY)
        if current is None:
            return None
    if accounts.session_expired(st.session_state.get(LAST_SEEN_KEY), _now(), _timeout_minutes()):
        sign_out(reason="expired", notice="access.expired")
        return None
    fresh = accounts.refresh_actor(current)
    if fresh is None:
        sign_out(reason="deactivated", notice="access.deactivated")
        return None
    if not _saved_login_holds():
        sign_out(reason="revoked", notice="access.session_revoked")
        return None
    sign_in(fresh)
    return fresh


def sidebar(actor: Actor) -> None:
    """Who is logged in, and the logout button."""
    if st.session_state.get(MODE_KEY) == "open":
        st.sidebar.caption(ui.t("access.open_mode"))
        return
    role = ui.t(f"access.role.{actor.role}")
    st.sidebar.caption(ui.t("access.signed_in_as", name=ui.plain(actor.full_name or actor.username), role=role))
    if st.sidebar.button(ui.t("access.logout"), key="auth_logout", icon=":material/logout:"):
        sign_out(notice="access.logged_out")
        if sso_configured() and getattr(st.user, "is_logged_in", False):
            st.logout()
        st.rerun()
