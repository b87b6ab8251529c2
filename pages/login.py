"""Login: username and password, the first administrator of a new installation, optional SSO."""

from __future__ import annotations

import streamlit as st

from assessments import accounts, auth_sessions
from assessments.errors import DomainError
from db.config import load_settings
from db.engine import run_page_write, run_save
from pages import _access_gate as gate
from pages import ui

t = ui.t
mode = st.session_state.get(gate.MODE_KEY) or accounts.login_mode()

notice = st.session_state.pop(gate.NOTICE_KEY, None)
if notice:
    st.info(t(notice), icon=":material/info:")

if mode == "first_admin":
    st.title(t("access.first_admin.title"))
    st.write(t("access.first_admin.intro"))
    client = gate.client_ip()
    local = accounts.is_local_client(client)
    if not local:
        # from another computer: the one-time code printed on the server's console proves who sets it up
        accounts.first_admin_setup_code(client)
        st.info(t("access.first_admin.remote"), icon=":material/lock:")
    with st.form("first_admin_form"):
        setup_code = None if local else st.text_input(t("access.first_admin.setup_code"),
                                                       key="first_admin.setup_code", max_chars=20)
        username = st.text_input(t("access.username"), key="first_admin.username", max_chars=80)
        full_name = st.text_input(t("access.full_name"), key="first_admin.full_name", max_chars=120)
        password = st.text_input(t("access.password"), type="password", key="first_admin.password")
        confirm = st.text_input(t("access.password_confirm"), type="password", key="first_admin.confirm")
        submitted = st.form_submit_button(t("access.first_admin.create"), type="primary")
    if submitted:
        if password != confirm:
            st.error(t("access.password_mismatch"), icon=":material/error:")
        else:
            def create(session):
                actor = accounts.create_first_admin(session=session, username=username, password=password,
                                                    full_name=full_name, client_ip=client, setup_code=setup_code)
                return actor, auth_sessions.issue(session=session, account=actor, user_agent=gate.user_agent())

            try:
                actor, saved = run_save(create)  # a database fault is a DomainError (db/faults.py) too
            except DomainError as error:
                ui.show_error(error)
            else:
                gate.sign_in(actor, saved=saved)
                st.rerun()
else:
    st.title(t("access.login.title"))
    with st.form("login_form"):
        username = st.text_input(t("access.username"), key="login.username", max_chars=64)
        password = st.text_input(t("access.password"), type="password", key="login.password")
        submitted = st.form_submit_button(t("access.login.submit"), type="primary")
    if submitted:
        def log_in(session):
            result = accounts.authenticate(session=session, username=username, password=password,
                                           client_ip=gate.client_ip())
            return result, (auth_sessions.issue(session=session, account=result.actor, user_agent=gate.user_agent())
                            if result.actor is not None else None)

        # a transient conflict is retried; a read-only or full database: dashboard.py's page guard says so
        result, saved = run_page_write(log_in)
        if result.actor is None:
            st.error(t(result.error_key, **dict(result.params)), icon=":material/error:")
            # the same for every refusal: a name that does not exist cannot be told from a locked one
            st.caption(t("login_abuse.refused_help", attempts=accounts.MAX_FAILED_LOGINS,
                         minutes=int(accounts.LOCKOUT.total_seconds() // 60)))
        else:
            gate.sign_in(result.actor, saved=saved)
            st.rerun()
    if gate.sso_configured():
        st.divider()
        if st.button(t("access.login.sso"), key="login.sso", icon=":material/key:"):
            st.login()
    st.caption(t("access.login.help"))
    st.caption(t("access.login.remember", minutes=load_settings().session_timeout_minutes))
    from db.setup import is_demo_database

    if is_demo_database():  # not cached: the flag changes without a data-version bump
        from db.demo_accounts import DEMO_ACCOUNTS

        st.caption(t("access.login.demo_accounts", accounts=" · ".join(
            f"{username} / {password}" for username, password, _, _ in DEMO_ACCOUNTS)))
