"""Administration: accounts and facilitator clusters, the audit log (filters, CSV export), backups."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from assessments import access, accounts
from assessments import formatting as fmt
from assessments.access_audit import (AuditFilter, audit_count, audit_events, export_audit_csv, filter_options,
                                      label, labelled)
from assessments.errors import DomainError
from assessments.text import LIMITS
from db import backup
from db.config import load_settings
from db.engine import write_session
from pages import _access_gate as gate
from pages import ui

t = ui.t
actor = ui.actor()
ROLES = access.ROLE_ORDER

st.title(t("nav.admin"))


def write(work, *, success: str) -> None:
    """One account change in its own transaction; the translated error or ``success`` is shown."""
    def unit() -> None:
        with write_session() as session:
            work(session)

    ui.attempt(unit, success=success)


def own_password() -> None:
    if actor.user_id is None:
        return
    with st.form("own_password_form", clear_on_submit=True):
        st.subheader(t("access.own_password.title"))
        current = st.text_input(t("access.own_password.current"), type="password", key="own_password.current")
        new = st.text_input(t("access.own_password.new"), type="password", key="own_password.new")
        confirm = st.text_input(t("access.password_confirm"), type="password", key="own_password.confirm")
        if st.form_submit_button(t("common.save")):
            if new != confirm:
                st.error(t("access.password_mismatch"), icon=":material/error:")
            else:
                write(lambda s: accounts.change_own_password(session=s, actor=actor, current=current, new=new,
                                                          keep_saved_login=gate.saved_login_id()),
                      success="access.own_password.changed")


def users_tab() -> None:
    role_labels = {role: t(f"access.role.{role}") for role in ROLES}
    users = ui.read(accounts.users_table)
    clusters = dict(ui.read(accounts.cluster_choices))
    with st.expander(t("access.create_user"), icon=":material/person_add:"):
        with st.form("create_user_form", clear_on_submit=False):
            username = st.text_input(t("access.username"), key="create_user.username", max_chars=80,
                                     help=t("access.username_help"))
            full_name = st.text_input(t("access.full_name"), key="create_user.full_name",
                                      max_chars=LIMITS["account.full_name"])
            role = st.selectbox(t("access.role"), ROLES, format_func=role_labels.get,
                                key="create_user.role")
            chosen = st.multiselect(t("access.clusters_for_facilitator"), list(clusters), format_func=clusters.get,
                                    key="create_user.clusters", placeholder=t("selection.choose"))
            password = st.text_input(t("access.password"), type="password", key="create_user.password")
            if st.form_submit_button(t("access.create_user"), type="primary"):
                write(lambda s: accounts.create_user(session=s, actor=actor, username=username, password=password,
                                                     role=role, full_name=full_name, cluster_ids=chosen),
                      success="access.user_created")

    locked_notice = st.container()
    if not users.empty:
        edit_user(users, clusters, role_labels)
    users_list()
    locked = accounts.locked_accounts()  # after any unlock above; not cached: locks end with time, not a write
    if locked:
        locked_notice.warning(t("login_abuse.locked_accounts", names=ui.plain(", ".join(locked))), icon=":material/lock_clock:")


def edit_user(users, clusters, role_labels) -> None:
    with st.expander(t("access.edit_user"), icon=":material/manage_accounts:"):
        by_id = {row.id: row for row in users.itertuples()}
        user_id = st.selectbox(t("access.username"), list(by_id), format_func=lambda i: by_id[i].username,
                               key="edit_user.id")
        user = by_id[user_id]
        with st.form(f"edit_user_form_{user_id}"):
            full_name = st.text_input(t("access.full_name"), value=user.full_name,
                                      max_chars=LIMITS["account.full_name"])
            role = st.selectbox(t("access.role"), ROLES, index=ROLES.index(user.role),
                                format_func=role_labels.get)
            chosen = st.multiselect(t("access.clusters_for_facilitator"), list(clusters), format_func=clusters.get,
                                    default=[c for c in user.cluster_ids if c in clusters],
                                    placeholder=t("selection.choose"))
            active = st.checkbox(t("access.active"), value=bool(user.active))
            if st.form_submit_button(t("common.save"), type="primary"):
                write(lambda s: accounts.update_user(session=s, actor=actor, user_id=user_id, full_name=full_name,
                                                     role=role, active=active, cluster_ids=chosen),
                      success="common.saved")
        with st.form(f"reset_password_form_{user_id}", clear_on_submit=True):
            password = st.text_input(t("access.new_password"), type="password")
            if st.form_submit_button(t("access.set_password")):
                write(lambda s: accounts.set_password(session=s, actor=actor, user_id=user_id, password=password),
                      success="access.password_set")
        login_locks(user_id)


def login_locks(user_id) -> None:
    """The account's login locks in force (from which client, until when) and the button that lifts them."""
    shown_locks = st.container()
    if accounts.login_locks(user_id).locked and st.button(t("login_abuse.unlock"), key=f"unlock_{user_id}",
                                                          icon=":material/lock_open:"):
        write(lambda s: accounts.unlock_user(session=s, actor=actor, user_id=user_id), success="login_abuse.unlocked")
    locks = accounts.login_locks(user_id)  # read again: after an unlock just made
    with shown_locks:
        if not locks.locked:
            st.caption(t("login_abuse.not_locked"))
        for client, until in locks.clients:
            where = t("login_abuse.local") if client == accounts.LOCAL_CLIENT else client
            st.warning(t("login_abuse.locked_from", client=ui.plain(where), until=fmt.time(until, ui.lang())),
                       icon=":material/lock_clock:")
        if locks.new_clients_until is not None:
            st.warning(t("login_abuse.locked_new_clients", until=fmt.time(locks.new_clients_until, ui.lang())),
                       icon=":material/lock_clock:")


def users_list() -> None:
    """The accounts as they are after any change made above (read again: the data version moved)."""
    role_labels = {role: t(f"access.role.{role}") for role in ROLES}
    users = ui.read(accounts.users_table)
    shown = users.assign(
        role=users["role"].map(lambda r: role_labels[r]),
        active=users["active"].map(lambda a: t("access.yes") if a else t("access.no")),
        last_login_at=users["last_login_at"].map(lambda v: fmt.datetime(v, ui.lang(), with_zone=False) if pd.notna(v) else ""),
    )[["username", "full_name", "role", "active", "clusters", "last_login_at"]]
    ui.table(shown, file_name="usuarios.csv", key="admin_users", column_labels={
        "username": t("access.username"), "full_name": t("access.full_name"), "role": t("access.role"),
        "active": t("access.active"), "clusters": t("access.clusters"), "last_login_at": f"{t('access.last_login')} ({fmt.zone_label(ui.lang())})",
    })


def audit_tab() -> None:
    options = ui.read(filter_options, actor)
    lang = ui.lang()
    every = t("common.all")
    # labels built now, in the run's language (Streamlit may call format_func outside the run); values stay codes
    actions = {"": every, **{code: label("action", code, lang) for code in options["action"]}}
    entities = {"": every, **{code: label("entity", code, lang) for code in options["entity"]}}
    columns = st.columns(3)
    who = columns[0].selectbox(t("access.audit.actor"), ["", *options["actor"]], key="audit.actor",
                               format_func=lambda v: v or every)
    action = columns[1].selectbox(t("access.audit.action"), list(actions), key="audit.action",
                                  format_func=actions.get)
    entity = columns[2].selectbox(t("access.audit.entity"), list(entities), key="audit.entity",
                                  format_func=entities.get)
    columns = st.columns(3)
    entity_id = columns[0].text_input(t("access.audit.entity_id"), key="audit.entity_id", max_chars=64)
    date_from = columns[1].date_input(t("access.audit.from"), value=None, key="audit.from",
                                      format=fmt.input_date_format(lang))
    date_to = columns[2].date_input(t("access.audit.to"), value=None, key="audit.to",
                                    format=fmt.input_date_format(lang))
    filters = AuditFilter(actor=who, action=action, entity=entity, entity_id=entity_id,
                          date_from=date_from, date_to=date_to)
    try:
        total = ui.read(audit_count, actor, filters)
        events = ui.read(audit_events, actor, filters)
    except DomainError as error:
        ui.show_error(error)
        return
    st.caption(t("access.audit.count", shown=len(events), total=total))
    headers = {column: t(f"access.audit.col.{column}") for column in events.columns}
    shown = labelled(events, lang)
    if "at" in shown:  # on screen in the display zone (the CSV export keeps the stored UTC time, ISO 8601)
        shown["at"] = shown["at"].map(lambda v: fmt.datetime(v, lang, with_zone=False, seconds=True))
    screen_headers = {**headers, "at": f"{headers.get('at', 'at')} ({fmt.zone_label(lang)})"}
    st.dataframe(shown.rename(columns=screen_headers), hide_index=True, placeholder="—", width="stretch")
    if st.button(t("access.audit.prepare_export"), key="audit.prepare_export", icon=":material/download:"):
        def export() -> bytes:
            with write_session() as session:
                return export_audit_csv(session=session, actor=actor, filters=filters, headers=headers, lang=lang)

        st.session_state["audit.export"] = ui.attempt(export)
    if st.session_state.get("audit.export"):
        st.download_button(t("common.download_csv"), data=st.session_state["audit.export"],
                           file_name="registro_auditoria.csv", mime="text/csv", key="audit.download")


def backup_tab() -> None:
    if not load_settings().is_sqlite:
        st.info(t("access.backup.postgres"), icon=":material/info:")
        return
    st.write(t("access.backup.intro"))
    if st.button(t("access.backup.create"), key="backup.create", type="primary", icon=":material/backup:"):
        path = ui.attempt(lambda: backup.backup_as(actor=actor))
        if path is not None:
            st.session_state["backup.last"] = str(path)
    last = st.session_state.get("backup.last")
    if last:
        check = backup.verify_backup(last)
        st.success(t("access.backup.done", file=last, integrity=check.integrity,
                     rows=sum(check.tables.values())), icon=":material/check_circle:")
        with open(last, "rb") as handle:
            st.download_button(t("access.backup.download"), data=handle.read(), file_name=last.rsplit("/", 1)[-1],
                               mime="application/vnd.sqlite3", key="backup.download")
    st.caption(t("access.backup.restore_help"))


if not access.can(actor, "user.write"):
    st.info(t("access.admin_only"), icon=":material/lock:")
    own_password()
else:
    users, audit, backups, mine = st.tabs([t("access.tab.users"), t("access.tab.audit"), t("access.tab.backup"),
                                           t("access.tab.own")])
    with users:
        users_tab()
    with audit:
        audit_tab()
    with backups:
        backup_tab()
    with mine:
        own_password()
