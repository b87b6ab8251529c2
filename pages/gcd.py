"""Departmental consultative groups (GCD): accredited members, composition rules, meetings and attendance."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from assessments import formatting as fmt
from assessments import gcd, rules
from assessments.errors import DomainError
from db.engine import run_save
from db.models.base import INDIGENOUS, SEXES
from db.plan import PROGRAM_DEPARTMENTS
from db.queries import registry
from assessments.i18n import translator
from assessments.text import LIMITS
from pages import ui

lang = ui.lang()
t = translator(lang)  # bound to this run's language, also inside widgets' format functions
st.title(t("gcd.title"))
st.caption(t("gcd.caption"))


def save(work, success: str | None = None, **params) -> object:
    try:
        result = run_save(work)  # a transient conflict is retried; a database fault is a DomainError too
    except DomainError as error:
        ui.show_error(error)
        return None
    if success:
        st.session_state["gcd.flash"] = t(success, **{k: ui.plain(v) for k, v in params.items()})  # names as typed
    # a new form key empties the forms after a save; a refused save keeps what the user typed
    st.session_state["gcd.form_version"] = st.session_state.get("gcd.form_version", 0) + 1
    return True if result is None else result


departments = ui.read(registry.departments)
codes = list(departments["code"])
names = dict(zip(departments["code"], departments["name"]))
remembered = st.session_state.get("gcd.department_value")
left, right = st.columns([2, 1])
department = left.selectbox(t("common.department"), options=codes,
                            index=codes.index(remembered) if remembered in codes else 0,
                            format_func=lambda c: f"{names[c]} ({c})", key="gcd.department")
st.session_state["gcd.department_value"] = department
period_options = ui.read(gcd.periods, department)
period = right.selectbox(t("gcd.period"), options=period_options, format_func=gcd.period_label, key="gcd.period")

if message := st.session_state.pop("gcd.flash", None):
    st.success(message)
writable = ui.can_write("gcd.write")  # otherwise the GCD is shown read-only, with one line saying why

members = ui.read(gcd.members, department, period)
report = ui.read(gcd.composition, department, period)
clusters = ui.read(registry.clusters, ui.actor(), department)
cluster_names = dict(zip(clusters["id"], clusters["name"]))

# --- composition --------------------------------------------------------------------------------
st.subheader(t("gcd.composition"))
cells = st.columns(5)
cells[0].metric(t("gcd.metric.members"), report.total, help=t("gcd.metric.members_help"))
cells[1].metric(t("gcd.metric.government"), report.government)
cells[2].metric(t("gcd.metric.civil_society"), report.non_government)
cells[3].metric(t("gcd.metric.women"), report.women,
                help=t("gcd.metric.share", share=f"{report.women / report.total:.0%}") if report.total else None)
cells[4].metric(t("gcd.metric.indigenous"), report.indigenous,
                help=t("gcd.metric.share", share=f"{report.indigenous / report.total:.0%}") if report.total else None)
by_institution = [{"institution": t(f"gcd.institution.{k}"), "count": v} for k, v in report.counts.items()]
with st.expander(t("gcd.by_institution")):
    ui.table(pd.DataFrame(by_institution), file_name=f"gcd_{department}_{period}_institutions.csv",
             key="gcd.institutions", column_labels={"institution": t("gcd.col.institution"),
                                                    "count": t("gcd.col.count")})
if report.warnings:
    for warning in report.warnings:
        st.warning(ui.message_of(warning))
else:
    st.success(t("gcd.composition_ok"))

# --- members ------------------------------------------------------------------------------------
st.subheader(t("gcd.members"))
if members.empty:
    st.info(t("gcd.no_members"))
else:
    shown = members.assign(
        institution=[t(f"gcd.institution.{i}") for i in members["institution"]],
        sex=[t(f"sex.{s}") for s in members["sex"]],
        indigenous=[t(f"indigenous.{i}") for i in members["indigenous"]],
        cluster=members["cluster"].fillna(""),
        accredited_on=fmt.date_column(members["accredited_on"], lang),
    )[["full_name", "institution", "organisation", "cluster", "sex", "indigenous", "accredited_on", "n_attended"]]
    ui.table(shown, file_name=f"gcd_{department}_{period}_members.csv", key="gcd.members_table", column_labels={
        "full_name": t("gcd.col.name"), "institution": t("gcd.col.institution"),
        "organisation": t("gcd.col.organisation"), "cluster": t("common.cluster"), "sex": t("gcd.col.sex"),
        "indigenous": t("gcd.col.indigenous"), "accredited_on": t("gcd.col.accredited_on"),
        "n_attended": t("gcd.col.attended"),
    })


def member_form(key: str, existing: dict | None) -> None:
    existing = existing or {}
    cluster_options = [None, *cluster_names]
    with st.form(key):
        full_name = st.text_input(t("gcd.col.name"), value=existing.get("full_name", ""),
                                  max_chars=LIMITS["gcd.member.full_name"])
        left, right = st.columns(2)
        institution = left.selectbox(t("gcd.col.institution"), options=list(rules.INSTITUTIONS),
                                     index=list(rules.INSTITUTIONS).index(existing.get("institution", "civil_society")),
                                     format_func=lambda i: t(f"gcd.institution.{i}"))
        organisation = right.text_input(t("gcd.col.organisation"), value=existing.get("organisation", ""),
                                        max_chars=LIMITS["gcd.member.organisation"])
        left, middle, right = st.columns(3)
        cluster = left.selectbox(t("gcd.col.cluster"), options=cluster_options,
                                 index=cluster_options.index(existing.get("cluster_id"))
                                 if existing.get("cluster_id") in cluster_options else 0,
                                 format_func=lambda c: t("common.none") if c is None else cluster_names[c])
        sex = middle.selectbox(t("gcd.col.sex"), options=list(SEXES),
                               index=list(SEXES).index(existing.get("sex", "undisclosed")),
                               format_func=lambda s: t(f"sex.{s}"))
        indigenous = right.selectbox(t("gcd.col.indigenous"), options=list(INDIGENOUS),
                                     index=list(INDIGENOUS).index(existing.get("indigenous", "undisclosed")),
                                     format_func=lambda i: t(f"indigenous.{i}"))
        accredited_on = st.date_input(t("gcd.col.accredited_on"), value=existing.get("accredited_on"),
                                      format="DD/MM/YYYY")
        submitted = st.form_submit_button(t("gcd.member_update") if existing else t("gcd.member_add"), type="primary")
    if not submitted:
        return
    data = gcd.MemberInput(full_name=full_name, institution=institution, organisation=organisation,
                           cluster_id=cluster, sex=sex, indigenous=indigenous, accredited_on=accredited_on)
    if existing:
        done = save(lambda s: gcd.update_member(session=s, actor=ui.actor(), member_id=existing["id"], data=data),
                    "gcd.member_updated", name=full_name)
    else:
        done = save(lambda s: gcd.add_member(session=s, actor=ui.actor(), department_code=department, period=period,
                                             data=data), "gcd.member_added", name=full_name)
    if done is not None:
        st.rerun()


if writable:
    with st.expander(t("gcd.member_add"), expanded=members.empty):
        member_form(f"gcd.add_member_form.{st.session_state.get('gcd.form_version', 0)}", None)
if writable and not members.empty:
    with st.expander(t("gcd.member_edit")):
        member_rows = {r["id"]: r for r in members.to_dict("records")}
        chosen = st.selectbox(t("gcd.pick_member"), options=list(member_rows),
                              format_func=lambda m: member_rows[m]["full_name"], key=f"gcd.pick_member.{department}.{period}")
        member_form(f"gcd.edit_member_form.{chosen}", member_rows[chosen])
        confirm = st.checkbox(t("gcd.confirm_remove"), key=f"gcd.confirm_remove.{chosen}")
        if st.button(t("gcd.member_remove"), key=f"gcd.remove.{chosen}", disabled=not confirm):
            removed = save(lambda s: gcd.remove_member(session=s, actor=ui.actor(), member_id=chosen),
                           "gcd.member_removed", name=member_rows[chosen]["full_name"])
            if removed is not None:
                st.rerun()

# --- meetings -----------------------------------------------------------------------------------
st.subheader(t("gcd.meetings"))
st.caption(t("gcd.meetings_help"))
with st.expander(t("print.download.minutes_title"), icon=":material/print:"):  # minutes to fill in the room
    import functools

    from assessments import pdf_forms

    minutes_kind = st.selectbox(t("gcd.col.kind"), options=list(rules.MEETING_KINDS), key="gcd.print.kind",
                                format_func=lambda k: t(f"gcd.kind.{k}"))
    st.download_button(t("print.download.minutes"), key="gcd.print.minutes", mime="application/pdf",
                       file_name=f"{t('print.file.minutes')}_{department}_{period}_{minutes_kind}_{lang}.pdf",
                       data=functools.partial(pdf_forms.minutes_pdf, department, period, lang, minutes_kind))
meetings = ui.read(gcd.meetings, department, period)
missing = ui.read(gcd.missing_meetings, department, period)
if missing:
    st.warning(t("gcd.missing", meetings="; ".join(f"{year} · {t('gcd.kind.' + kind)}" for year, kind in missing)))
elif not meetings.empty:
    st.success(t("gcd.none_missing"))
if meetings.empty:
    st.info(t("gcd.no_meetings"))
else:
    shown = meetings.assign(kind=[t(f"gcd.kind.{k}") for k in meetings["kind"]],
                            meeting_date=fmt.date_column(meetings["meeting_date"], lang))[
        ["meeting_date", "kind", "n_attendees", "n_women", "n_indigenous", "agenda", "agreements", "next_agenda"]]
    ui.table(shown, file_name=f"gcd_{department}_{period}_meetings.csv", key="gcd.meetings_table", column_labels={
        "meeting_date": t("gcd.col.date"), "kind": t("gcd.col.kind"), "n_attendees": t("gcd.col.attendees"),
        "n_women": t("gcd.col.women"), "n_indigenous": t("gcd.col.indigenous_attendees"),
        "agenda": t("gcd.col.agenda"), "agreements": t("gcd.col.agreements"), "next_agenda": t("gcd.col.next_agenda"),
    })

member_names = dict(zip(members["id"], members["full_name"]))


def meeting_form(key: str, existing: dict | None) -> None:
    existing = existing or {}
    kinds = list(rules.MEETING_KINDS)
    attended = ui.read(gcd.attendance, existing["id"]) if existing else []
    with st.form(key):
        left, right = st.columns(2)
        kind = left.selectbox(t("gcd.col.kind"), options=kinds, index=kinds.index(existing.get("kind", "plan")),
                              format_func=lambda k: t(f"gcd.kind.{k}"))
        meeting_date = right.date_input(t("gcd.col.date"), value=existing.get("meeting_date"), format="DD/MM/YYYY")
        attendees = st.multiselect(t("gcd.col.attendees"), options=list(member_names), default=attended,
                                   format_func=member_names.get, placeholder=t("selection.choose"))
        agenda = st.text_area(t("gcd.col.agenda"), value=existing.get("agenda", ""),
                              max_chars=LIMITS["gcd.meeting.agenda"])
        agreements = st.text_area(t("gcd.col.agreements"), value=existing.get("agreements", ""),
                                  max_chars=LIMITS["gcd.meeting.agreements"])
        next_agenda = st.text_area(t("gcd.col.next_agenda"), value=existing.get("next_agenda", ""),
                                   max_chars=LIMITS["gcd.meeting.next_agenda"])
        submitted = st.form_submit_button(t("gcd.meeting_update") if existing else t("gcd.meeting_add"),
                                          type="primary")
    if not submitted:
        return
    data = gcd.MeetingInput(kind=kind, meeting_date=meeting_date, agenda=agenda, agreements=agreements,
                            next_agenda=next_agenda, attendee_ids=attendees)
    if existing:
        done = save(lambda s: gcd.update_meeting(session=s, actor=ui.actor(), meeting_id=existing["id"], data=data),
                    "gcd.meeting_updated")
    else:
        done = save(lambda s: gcd.record_meeting(session=s, actor=ui.actor(), department_code=department,
                                                 period=period, data=data), "gcd.meeting_added")
    if done is not None:
        st.rerun()


if writable:
    with st.expander(t("gcd.meeting_add"), expanded=meetings.empty and not members.empty):
        meeting_form(f"gcd.add_meeting_form.{st.session_state.get('gcd.form_version', 0)}", None)
if writable and not meetings.empty:
    with st.expander(t("gcd.meeting_edit")):
        meeting_rows = {r["id"]: r for r in meetings.to_dict("records")}
        chosen_meeting = st.selectbox(
            t("gcd.pick_meeting"), options=list(meeting_rows), key=f"gcd.pick_meeting.{department}.{period}",
            format_func=lambda m: f"{fmt.date(meeting_rows[m]['meeting_date'], lang)} · {t('gcd.kind.' + meeting_rows[m]['kind'])}")
        meeting_form(f"gcd.edit_meeting_form.{chosen_meeting}", meeting_rows[chosen_meeting])
        confirm_meeting = st.checkbox(t("gcd.confirm_delete_meeting"), key=f"gcd.confirm_meeting.{chosen_meeting}")
        if st.button(t("gcd.meeting_delete"), key=f"gcd.delete_meeting.{chosen_meeting}", disabled=not confirm_meeting):
            if save(lambda s: gcd.delete_meeting(session=s, actor=ui.actor(), meeting_id=chosen_meeting),
                    "gcd.meeting_deleted") is not None:
                st.rerun()

# --- the program's five GCDs --------------------------------------------------------------------
st.subheader(t("gcd.program"))
overview = ui.read(gcd.overview, PROGRAM_DEPARTMENTS)
ui.table(
    overview.assign(department=overview["department_code"].map(names),
                    # a GCD not formed yet has nothing to warn about: an empty cell, not "None"
                    warnings=[("" if pd.isna(w) else str(int(w))) for w in overview["warnings"]],
                    period=overview["period"].map(gcd.period_label))[
        ["department", "period", "members", "women", "indigenous", "warnings", "meetings", "missing"]],
    file_name="gcd_program.csv", key="gcd.program_table",
    column_labels={"department": t("common.department"), "period": t("gcd.period"),
                   "members": t("gcd.metric.members"), "women": t("gcd.metric.women"),
                   "indigenous": t("gcd.metric.indigenous"), "warnings": t("gcd.col.warnings"),
                   "meetings": t("gcd.col.meetings_held"), "missing": t("gcd.col.meetings_missing")},
)
