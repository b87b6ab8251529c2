"""QSIP service audits: stages, fast entry of paper questionnaires, results, barriers, roadmap, validation."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from assessments import formatting as fmt
from assessments import qsip as service
from assessments import qsip_charts as charts
from assessments.access import can
from assessments.i18n import translator
from db.engine import write_session
from db.queries import qsip as queries
from db.queries import registry
from pages import _entry as entry_ui
from pages import _removals as removals
from pages import ui

lang = ui.lang()
# bound to this run's language: format functions of widgets are also called outside the script run
t = translator(lang)
st.title(t("qsip.title"))
st.caption(t("qsip.caption"))

STATUS_ICON = {"pending": ":material/radio_button_unchecked:", "in_progress": ":material/autorenew:",
               "done": ":material/check_circle:"}


def save(work, *, success: str | None = None, place: str = "top", **params):
    """Run one write unit of work through ``ui.attempt``; on success remember a message for ``place``.

    The message shows where the user is working (top of the page, or inside a tab), after the rerun.
    """

    def unit():
        with write_session() as session:
            return work(session)

    result = ui.attempt(unit)
    if result is not None:
        if success:
            st.session_state["qsip.flash"] = (place, t(success, **params))
        return result
    return None


plain = ui.plain  # user-typed text made inert for Streamlit's markdown (one helper for every page)


def show_flash(place: str) -> None:
    flash = st.session_state.get("qsip.flash")
    if flash and flash[0] == place:
        del st.session_state["qsip.flash"]
        st.success(flash[1], icon=":material/check:")


def short(text: object, limit: int = 60) -> str:
    """User text cut to ``limit`` characters and made inert, for a question or a message about it."""
    text = str(text)
    return plain(text if len(text) <= limit else text[:limit - 1] + "…")


def select_audit(audit_id) -> None:
    """Show ``audit_id`` after the rerun (the picker's own state would otherwise keep the old one)."""
    st.session_state["qsip.audit_value"] = audit_id
    st.session_state.pop("qsip.audit", None)


def stage_name(row) -> str:
    return row["name_es"] if lang == "es" else row["name_en"]


# ------------------------------------------------------------------------------------ cluster and audit
clusters = ui.read(registry.clusters, ui.actor())
if clusters.empty:
    st.info(t("qsip.no_clusters"))
    st.stop()
cluster_ids = list(clusters["id"])
cluster_names = dict(zip(clusters["id"], clusters["name"] + " · " + clusters["department"]))
remembered = st.session_state.get("qsip.cluster_value")
cluster_id = st.selectbox(t("common.cluster"), options=cluster_ids, format_func=cluster_names.get,
                          index=cluster_ids.index(remembered) if remembered in cluster_ids else 0, key="qsip.cluster")
st.session_state["qsip.cluster_value"] = cluster_id
cluster_sectors = list(clusters.loc[clusters["id"] == cluster_id, "sectors"].iloc[0])
# an actor who may not write in this cluster sees the audits read-only (one line says why)
writable = ui.can_write("audit.write", cluster_id=cluster_id)
can_validate = can(ui.actor(), "audit.validate", cluster_id=cluster_id)

show_flash("top")

today = fmt.today()  # part of the cache key: overdue flags turn over at midnight even without a write
audits = ui.read(queries.audits, ui.actor(), cluster_id, today)


def audit_label(audit_id) -> str:
    row = audits.loc[audits["id"] == audit_id].iloc[0]
    return t("qsip.audit_label", service=row["service_name"], year=row["cycle_year"],
             done=row["n_stages_done"])


if writable:
    with st.expander(t("qsip.create.title"), expanded=audits.empty):
        with st.form("qsip.create_form"):
            service_name = st.text_input(t("qsip.create.service"), placeholder=t("qsip.create.service_hint"))
            left, right = st.columns(2)
            sector = left.selectbox(t("common.sector"), options=cluster_sectors or ["health", "education", "environment"],
                                    format_func=lambda s: t(f"sector.{s}"))
            year = right.number_input(t("qsip.create.year"), min_value=2000, max_value=2100, step=1,
                                      value=fmt.today().year)
            notes = st.text_area(t("common.notes"))
            if st.form_submit_button(t("qsip.create.submit"), type="primary"):
                data = service.AuditInput(cluster_id=cluster_id, service_name=service_name, sector=sector,
                                          cycle_year=year, notes=notes)
                audit_id = save(lambda s: service.create_audit(session=s, actor=ui.actor(), data=data).id,
                                success="qsip.create.done", service=service_name.strip(), year=year)
                if audit_id:
                    select_audit(audit_id)
                    st.rerun()

if audits.empty:
    st.info(t("qsip.no_audits"))
    st.stop()

audit_ids = list(audits["id"])
remembered_audit = st.session_state.get("qsip.audit_value")
audit_id = st.selectbox(t("qsip.pick_audit"), options=audit_ids, format_func=audit_label,
                        index=audit_ids.index(remembered_audit) if remembered_audit in audit_ids else 0,
                        key="qsip.audit")
st.session_state["qsip.audit_value"] = audit_id
audit = audits.loc[audits["id"] == audit_id].iloc[0]
stages = ui.read(queries.stages, ui.actor(), audit_id)

# ------------------------------------------------------------------------------------ at a glance
number, status = service.current_stage(stages.to_dict("records"))
current = stages.loc[stages["number"] == number].iloc[0] if not stages.empty else None
st.subheader(f"{plain(audit['service_name'])} · {audit['cycle_year']}", anchor=False)
metrics = st.columns(5)
metrics[0].metric(t("qsip.metric.stage"), t("qsip.stage_of", number=number, total=len(stages)),
                  help=stage_name(current) if current is not None else None)
metrics[1].metric(t("qsip.metric.respondents"), int(audit["n_respondents"]))
metrics[2].metric(t("qsip.metric.barriers"), int(audit["n_barriers"]))
metrics[3].metric(t("qsip.metric.actions"), int(audit["n_actions"]))
metrics[4].metric(t("qsip.metric.overdue"), int(audit["n_overdue"]))
steps = st.columns(max(len(stages), 1))
for column, row in zip(steps, stages.to_dict("records")):
    marker = ":material/arrow_forward: " if row["number"] == number and row["status"] != "done" else ""
    column.markdown(f"{marker}{STATUS_ICON[row['status']]} **{row['number']}.** {t('qsip.stage_status.' + row['status'])}")
    column.caption(plain(stage_name(row)))
validated = pd.notna(audit["validated_at"])
if validated:
    st.success(t("qsip.validated_banner", date=fmt.date(audit["validated_at"], lang),
                 who=plain(audit["validated_by"])), icon=":material/lock:")
if int(audit["n_overdue"]):
    st.warning(ui.tp("formatting.overdue", int(audit["n_overdue"])), icon=":material/alarm:")

# A validated audit is locked: each tab where changes are made asks for the reason, which every change made
# there is saved and audited with (the services refuse a change without it, and what was typed stays).
reasons: dict[str, str | None] = {}


def change_reason(place: str) -> str | None:
    """On a validated audit this person may change, the reason field of one tab (None elsewhere)."""
    if not (writable and validated):
        return None
    st.info(t("qsip_lock.locked"), icon=":material/lock:")
    typed = st.text_input(t("qsip_lock.reason"), key=f"qsip_lock.reason.{place}.{audit_id}",
                          max_chars=service.REASON_LIMIT, help=t("qsip_lock.reason_help"))
    reasons[place] = (typed or "").strip() or None
    return reasons[place]


(tab_stages, tab_feedback, tab_results, tab_barriers, tab_roadmap, tab_cycle) = st.tabs([
    t("qsip.tab.stages"), t("qsip.tab.feedback"), t("qsip.tab.results"), t("qsip.tab.barriers"),
    t("qsip.tab.roadmap"), t("qsip.tab.cycle"),
], key="qsip.tab", on_change="rerun")  # keyed: a save and rerun stays on the tab the facilitator is using

# ------------------------------------------------------------------------------------ stages
with tab_stages:
    show_flash("stages")
    if writable:
        change_reason("stages")
        st.caption(t("qsip.stages.caption"))  # how to edit: only for those who may
        date_columns = ["planned_start", "planned_end", "actual_start", "actual_end"]
        edited = st.data_editor(
            # real dates (NaT when empty) so empty cells show blank rather than "None"
            stages.drop(columns=["id"]).assign(**{c: pd.to_datetime(stages[c]) for c in date_columns}),
            hide_index=True, placeholder="", width="stretch", key=f"qsip.stages_editor_{audit_id}",
            disabled=["number"],
            column_config={
                "number": st.column_config.NumberColumn("#", width="small"),
                "name_es": st.column_config.TextColumn(t("qsip.stages.name_es"), required=True),
                "name_en": st.column_config.TextColumn(t("qsip.stages.name_en"), required=True),
                "planned_start": st.column_config.DateColumn(t("qsip.stages.planned_start"), format=fmt.input_date_format(lang)),
                "planned_end": st.column_config.DateColumn(t("qsip.stages.planned_end"), format=fmt.input_date_format(lang)),
                "actual_start": st.column_config.DateColumn(t("qsip.stages.actual_start"), format=fmt.input_date_format(lang)),
                "actual_end": st.column_config.DateColumn(t("qsip.stages.actual_end"), format=fmt.input_date_format(lang)),
                "status": st.column_config.SelectboxColumn(
                    t("qsip.stages.status"), options=list(service.STAGE_STATUSES), required=True,
                    format_func=lambda s: t(f"qsip.stage_status.{s}")),
                "notes": st.column_config.TextColumn(t("common.notes")),
            },
        )
        if st.button(t("qsip.stages.save"), type="primary", key="qsip.stages_save"):
            rows = edited.assign(id=stages["id"].values).to_dict("records")
            changed = save(lambda s: service.apply_stage_rows(session=s, actor=ui.actor(), audit_id=audit_id, rows=rows,
                                                              reason=reasons.get("stages")))
            if changed is not None:
                st.session_state["qsip.flash"] = ("stages", t("qsip.stages.saved", count=changed))
                st.rerun()
    else:
        shown = stages.drop(columns=["id"]).assign(status=stages["status"].map(lambda v: t(f"qsip.stage_status.{v}")))
        ui.table(shown, file_name=f"qsip_stages_{audit['cycle_year']}.csv", key="qsip.stages_table",
                 column_labels={"number": "#", "name_es": t("qsip.stages.name_es"), "name_en": t("qsip.stages.name_en"),
                                **{c: t(f"qsip.stages.{c}") for c in ("planned_start", "planned_end", "actual_start",
                                                                      "actual_end", "status")},
                                "notes": t("common.notes")})

# ------------------------------------------------------------------------------------ feedback entry
items = ui.read(queries.feedback_items, ui.actor(), audit_id)
with tab_feedback:
    with st.expander(t("print.download.questionnaire_title"), icon=":material/print:"):  # paper first, typed later
        import functools

        from assessments import pdf_forms

        for column, kind in zip(st.columns(2), pdf_forms.RESPONDENT_TYPES):
            column.download_button(
                t(f"print.download.questionnaire.{kind}"), key=f"qsip.print.{kind}", mime="application/pdf",
                file_name=f"{t('print.file.questionnaire')}_{t('qsip.type.' + kind).lower()}_{lang}.pdf",
                data=functools.partial(pdf_forms.questionnaire_pdf, str(audit_id), kind, lang))
    counts = ui.read(queries.respondent_counts, ui.actor(), audit_id)
    st.markdown(t("qsip.feedback.count", total=counts["total"], users=counts["user"], providers=counts["provider"],
                  managers=counts["manager"]))
    show_flash("feedback")
    feedback_reason = change_reason("feedback")
    # a validated audit takes typing only once the reason is given (the grid keeps what is typed meanwhile)
    entry_open = not validated or bool(feedback_reason)
    if writable:
        removals.undo_offer(f"qsip.respondent.{audit_id}", reason=feedback_reason)
        # one caption either way: the surfaces below keep their place on the page (a surface drawn anew would
        # forget that what was typed before the reason may now be sent)
        st.caption(t("qsip.feedback.caption") + ("" if entry_open else " " + t("qsip_lock.entry_locked")))
        # the questionnaire owns the keyboard in the browser: the next one can be typed at once, nothing is lost
        entry_ui.surface(key=f"qsip.entry.{audit_id}", assessment_id=audit_id, editable=entry_open,
                         reason=feedback_reason, can_unlock=validated, kind="qsip",
                         data=entry_ui.questionnaire_data(items))

    entered = ui.read(queries.respondents, ui.actor(), audit_id)
    if not entered.empty:
        st.markdown(f"**{t('qsip.feedback.entered')}**")
        shown = entered.assign(
            respondent_type=entered["respondent_type"].map(lambda v: t(f"qsip.type.{v}")),
            sex=entered["sex"].map(lambda v: t(f"sex.{v}")),
            indigenous=entered["indigenous"].map(lambda v: t(f"indigenous.{v}")),
        )[["code", "respondent_type", "sex", "indigenous", "locality", "n_ratings", "mean_rating"]]
        ui.table(shown, file_name=f"qsip_respondents_{audit['cycle_year']}.csv", key="qsip.respondents_table",
                 column_labels={"code": t("qsip.respondent.code"), "respondent_type": t("qsip.respondent.type"),
                                "sex": t("qsip.respondent.sex"), "indigenous": t("qsip.respondent.indigenous"),
                                "locality": t("qsip.respondent.locality"), "n_ratings": t("qsip.col.n_ratings"),
                                "mean_rating": t("qsip.col.mean_rating")})
        if writable:
            with st.expander(t("qsip.feedback.correct")):
                st.caption(t("qsip.feedback.correct_help"))
                entry_ui.surface(key=f"qsip.grid.{audit_id}", assessment_id=audit_id, editable=entry_open,
                                 reason=feedback_reason, can_unlock=validated, kind="qsip",
                                 data=entry_ui.questionnaire_grid_data(
                                     items, entered, ui.read(queries.ratings, ui.actor(), audit_id, with_previous_cycles=False)))
            with st.expander(t("qsip.feedback.delete")):
                labels = {r["id"]: f"{r['code'] or '—'} · {t('qsip.type.' + r['respondent_type'])} · {r['locality']}"
                          for r in entered.to_dict("records")}
                doomed = st.selectbox(t("qsip.feedback.delete_pick"), options=list(labels), format_func=labels.get,
                                      key="qsip.delete_respondent")
                n_ratings = int(entered.loc[entered["id"] == doomed, "n_ratings"].iloc[0])
                removals.confirm_removal(
                    scope=f"qsip.respondent.{audit_id}", key="qsip.delete_respondent_button", entity="respondent",
                    entity_id=doomed, what=t("removals.respondent", label=short(labels[doomed])),
                    label=t("removals.respondent_short", label=short(labels[doomed])),
                    losses=ui.tp("formatting.n_ratings", n_ratings) if n_ratings else None,
                    pressed=st.button(t("common.delete"), key="qsip.delete_respondent_button"),
                    removed=t("qsip.feedback.deleted"),
                    remove=lambda s: service.delete_respondent(session=s, actor=ui.actor(), respondent_id=doomed,
                                                               reason=feedback_reason))

# ------------------------------------------------------------------------------------ results
with tab_results:
    results = ui.read(queries.feedback_results, ui.actor(), audit_id)
    ratings = results["ratings"]
    if not results["n_this_cycle"]:
        st.info(t("qsip.results.empty"))
    else:
        year_now = int(audit["cycle_year"])

        def labelled(frame: pd.DataFrame) -> pd.DataFrame:
            """The chart's numbers with values and headers in the chosen language (for the table and CSV)."""
            out = frame.copy()
            if "dimension" in out:
                out["dimension"] = out["dimension"].map(lambda v: t(f"qsip.dimension.{v}"))
            for column, prefix in (("respondent_type", "qsip.type"), ("sex", "sex"), ("indigenous", "indigenous")):
                if column in out:
                    out[column] = out[column].map(lambda v, p=prefix: t(f"{p}.{v}"))
            for column in out.columns:
                if out[column].dtype == "float64":
                    out[column] = fmt.round_frame(out[column], 3)
            return out.rename(columns=lambda c: t(f"qsip.col.{c}"))

        by_type = results["by_type"]
        st.markdown(f"#### {t('qsip.results.means')}")
        ui.chart(charts.dimension_means_chart(by_type, lang=lang), labelled(by_type),
                 file_name=f"qsip_means_{year_now}", key="qsip.chart_means")

        st.markdown(f"#### {t('qsip.results.distribution')}")
        type_choice = st.segmented_control(t("qsip.respondent.type"), options=["user", "provider", "manager"],
                                           default="user", format_func=lambda v: t(f"qsip.type.{v}"),
                                           key="qsip.distribution_type") or "user"
        ui.chart(charts.distribution_chart(by_type, respondent_type=type_choice, lang=lang),
                 labelled(by_type.loc[by_type["respondent_type"] == type_choice]),
                 file_name=f"qsip_distribution_{type_choice}_{year_now}", key="qsip.chart_distribution")

        gap = results["gap"]
        st.markdown(f"#### {t('qsip.results.gap')}")
        st.caption(t("qsip.results.gap_caption"))
        ui.chart(charts.gap_chart(gap, cycle_year=year_now, lang=lang), labelled(gap),
                 file_name=f"qsip_gap_{year_now}", key="qsip.chart_gap")

        st.markdown(f"#### {t('qsip.results.cycles')}")
        change = results["change"]
        if ratings["cycle_year"].nunique() < 2:
            st.info(t("qsip.results.one_cycle"))
        else:
            cycle_type = st.segmented_control(t("qsip.respondent.type"), options=["user", "provider", "manager"],
                                              default="user", format_func=lambda v: t(f"qsip.type.{v}"),
                                              key="qsip.cycle_type") or "user"
            ui.chart(charts.cycle_change_chart(change, respondent_type=cycle_type, lang=lang),
                     labelled(change.loc[change["respondent_type"] == cycle_type]),
                     file_name=f"qsip_cycles_{cycle_type}", key="qsip.chart_cycles")

        st.markdown(f"#### {t('qsip.results.breakdowns')}")
        group_choice = st.segmented_control(t("qsip.results.who"), options=["all", "user", "provider", "manager"],
                                            default="user",
                                            format_func=lambda v: t("common.all") if v == "all" else t(f"qsip.type.{v}"),
                                            key="qsip.breakdown_type") or "all"
        if results["breakdowns"][(group_choice, "sex")].empty:
            st.info(t("qsip.results.no_group"))
        else:
            left, right = st.columns(2)
            for column, by in ((left, "sex"), (right, "indigenous")):
                table = results["breakdowns"][(group_choice, by)]
                with column:
                    ui.chart(charts.disaggregation_chart(table, by=by, lang=lang), labelled(table),
                             file_name=f"qsip_by_{by}_{year_now}", key=f"qsip.chart_by_{by}")

# ------------------------------------------------------------------------------------ barriers and roadmap
def save_form(kind: str, existing: dict, *, update, add, updated: str, added: str, place: str) -> None:
    """A submitted barrier or action form: update ``existing`` or add a new row (then a fresh, empty add form)."""
    if existing:
        done = save(lambda s: update(s, existing["id"]).id, success=updated, place=place)
    else:
        done = save(lambda s: add(s).id, success=added, place=place)
        if done:
            st.session_state[f"qsip.{kind}_form_number"] += 1
    if done:
        st.rerun()


def edit_section(kind: str, rows: pd.DataFrame, form, *, title: str, pick: str, delete, deleted: str,
                 entity: str) -> None:
    """Pick one barrier or action to edit in its form, or delete it (after a yes; undone from the tab's top)."""
    with st.expander(t(title)):
        texts = dict(zip(rows["id"], rows["description"]))
        chosen = st.selectbox(t(pick), options=list(texts), format_func=texts.get, key=f"qsip.{kind}_pick")
        form(f"qsip.{kind}_edit_form_{chosen}", rows.loc[rows["id"] == chosen].iloc[0].to_dict())
        removals.confirm_removal(
            scope=f"qsip.{kind}.{audit_id}", key=f"qsip.{kind}_delete", entity=entity, entity_id=chosen,
            what=t(f"removals.{kind}", what=short(texts[chosen])), label=t(f"removals.{kind}_short", what=short(texts[chosen])),
            pressed=st.button(t("common.delete"), key=f"qsip.{kind}_delete"), removed=t(deleted),
            remove=lambda s: delete(s, chosen))


barriers = ui.read(queries.barriers, ui.actor(), audit_id)


def barrier_form(key: str, existing: dict | None) -> None:
    existing = existing or {}
    if not existing:  # a new key after each save gives an empty form; after an error the typing stays
        key = f"{key}_{st.session_state.setdefault('qsip.barrier_form_number', 0)}"
    with st.form(key):
        description = st.text_area(t("qsip.barrier.description"), value=existing.get("description", ""))
        cols = st.columns(4)
        categories = list(service.BARRIER_CATEGORIES)
        category = cols[0].selectbox(t("qsip.barrier.category"), options=categories,
                                     index=categories.index(existing["category"]) if existing else None,
                                     placeholder=t("qsip.choose"), format_func=lambda v: t(f"qsip.category.{v}"))
        levels = ["regional", "provincial", "district"]
        level = cols[1].selectbox(t("qsip.barrier.level"), options=levels,
                                  index=levels.index(existing["government_level"]) if existing else None,
                                  placeholder=t("qsip.choose"), format_func=lambda v: t(f"level.{v}"))
        priorities = list(service.PRIORITIES)
        priority = cols[2].selectbox(t("qsip.barrier.priority"), options=priorities,
                                     index=priorities.index(existing.get("priority", "medium")),
                                     format_func=lambda v: t(f"qsip.priority.{v}"))
        within = cols[3].checkbox(t("qsip.barrier.within_control"), value=existing.get("within_control", True))
        submitted = st.form_submit_button(t("qsip.barrier.update" if existing else "qsip.barrier.add"), type="primary")
    if submitted:
        data = service.BarrierInput(description=description, category=category, government_level=level,
                                    within_control=within, priority=priority)
        reason = reasons.get("barriers")
        save_form("barrier", existing, place="barriers", updated="qsip.barrier.updated", added="qsip.barrier.added",
                  update=lambda s, i: service.update_barrier(session=s, actor=ui.actor(), barrier_id=i, data=data,
                                                             reason=reason),
                  add=lambda s: service.add_barrier(session=s, actor=ui.actor(), audit_id=audit_id, data=data,
                                                    reason=reason))


with tab_barriers:
    show_flash("barriers")
    if writable:
        removals.undo_offer(f"qsip.barrier.{audit_id}", reason=change_reason("barriers"))
    if barriers.empty:
        st.info(t("qsip.barrier.none"))
    else:
        shown = barriers.assign(
            category=barriers["category"].map(lambda v: t(f"qsip.category.{v}")),
            government_level=barriers["government_level"].map(lambda v: t(f"level.{v}")),
            within_control=barriers["within_control"].map(lambda v: t("qsip.yes") if v else t("qsip.no")),
            priority=barriers["priority"].map(lambda v: t(f"qsip.priority.{v}")),
        ).drop(columns=["id"])
        ui.table(shown, file_name=f"qsip_barriers_{audit['cycle_year']}.csv", key="qsip.barriers_table",
                 column_labels={c: t(f"qsip.col.{c}") for c in shown.columns})
    if writable:
        with st.expander(t("qsip.barrier.add_title"), expanded=barriers.empty):
            barrier_form("qsip.barrier_add_form", None)
    if writable and not barriers.empty:
        edit_section("barrier", barriers, barrier_form, title="qsip.barrier.edit_title", pick="qsip.barrier.pick",
                     delete=lambda s, i: service.delete_barrier(session=s, actor=ui.actor(), barrier_id=i,
                                                                reason=reasons.get("barriers")),
                     deleted="qsip.barrier.deleted", entity="barrier")

# ------------------------------------------------------------------------------------ roadmap
actions = ui.read(queries.actions, ui.actor(), audit_id, today)
members = ui.read(registry.cluster_members, cluster_id)
government_names = dict(zip(members["id"], members["name"] + " (" + members["level"].map(lambda v: t(f"level.{v}")) + ")"))
barrier_names = dict(zip(barriers["id"], barriers["description"]))


def action_form(key: str, existing: dict | None) -> None:
    existing = existing or {}
    barrier_options = list(barrier_names)
    statuses = list(service.ACTION_STATUSES)
    government_options = list(government_names)
    if not existing:  # a new key after each save gives an empty form; after an error the typing stays
        key = f"{key}_{st.session_state.setdefault('qsip.action_form_number', 0)}"
    with st.form(key):
        barrier_id = st.selectbox(t("qsip.action.barrier"), options=barrier_options,
                                  index=barrier_options.index(existing["barrier_id"]) if existing else None,
                                  placeholder=t("qsip.choose"), format_func=barrier_names.get)
        description = st.text_area(t("qsip.action.description"), value=existing.get("description", ""))
        cols = st.columns(4)
        government = cols[0].selectbox(
            t("qsip.action.government"), options=government_options, format_func=government_names.get,
            index=government_options.index(existing["responsible_government_id"])
            if existing.get("responsible_government_id") in government_options else None,
            placeholder=t("qsip.choose"))
        deadline = cols[1].date_input(t("qsip.action.deadline"), value=existing.get("deadline"), format=fmt.input_date_format(lang))
        status = cols[2].selectbox(t("qsip.action.status"), options=statuses,
                                   index=statuses.index(existing.get("status", "planned")),
                                   format_func=lambda v: t(f"qsip.action_status.{v}"))
        quick_win = cols[3].checkbox(t("qsip.action.quick_win"), value=bool(existing.get("quick_win", False)))
        evidence = st.text_area(t("qsip.action.evidence"), value=existing.get("evidence", ""),
                                placeholder=t("qsip.action.evidence_hint"))
        submitted = st.form_submit_button(t("qsip.action.update" if existing else "qsip.action.add"), type="primary")
    if submitted:
        data = service.ActionInput(barrier_id=barrier_id, description=description, deadline=deadline,
                                   responsible_government_id=government, status=status, quick_win=quick_win,
                                   evidence=evidence)
        reason = reasons.get("roadmap")
        save_form("action", existing, place="roadmap", updated="qsip.action.updated", added="qsip.action.added",
                  update=lambda s, i: service.update_action(session=s, actor=ui.actor(), action_id=i, data=data,
                                                            reason=reason),
                  add=lambda s: service.add_action(session=s, actor=ui.actor(), audit_id=audit_id, data=data,
                                                   reason=reason))


with tab_roadmap:
    show_flash("roadmap")
    if writable:
        removals.undo_offer(f"qsip.action.{audit_id}", reason=change_reason("roadmap"))
    if actions.empty:
        st.info(t("qsip.action.none"))
    else:
        n_overdue = int(actions["overdue"].sum())
        n_quick = int((actions["quick_win"] & (actions["status"] == "done")).sum())
        st.caption(t("qsip.action.summary", total=len(actions), overdue=n_overdue, quick=n_quick))
        shown = pd.DataFrame({
            "overdue": actions["overdue"].map(lambda v: t("qsip.action.overdue") if v else ""),
            "description": actions["description"],
            "barrier": actions["barrier"],
            "government": actions["government"].fillna(""),
            "deadline": actions["deadline"],
            "status": actions["status"].map(lambda v: t(f"qsip.action_status.{v}")),
            "quick_win": actions["quick_win"].map(lambda v: t("qsip.yes") if v else ""),
            "evidence": actions["evidence"],
            "completed_on": actions["completed_on"],
        })
        labels = {c: t(f"qsip.col.{c}") for c in shown.columns}
        styled = shown.rename(columns=labels).style.apply(
            lambda row: ["background-color: #fde2e1; color: #8a1c1c" if flag else "" for flag in
                         [bool(actions.loc[row.name, "overdue"])] * len(row)], axis=1)
        st.dataframe(styled, hide_index=True, placeholder="—", width="stretch", key="qsip.actions_table")
        st.download_button(t("common.download_csv"), data=ui.formula_safe_csv(shown.rename(columns=labels)),
                           file_name=f"qsip_roadmap_{audit['cycle_year']}.csv",
                           mime="text/csv", key="qsip.actions_csv")
    if writable and barriers.empty:
        st.info(t("qsip.action.need_barrier"))
    elif writable:
        with st.expander(t("qsip.action.add_title"), expanded=actions.empty):
            action_form("qsip.action_add_form", None)
    if writable and not actions.empty:
        edit_section("action", actions, action_form, title="qsip.action.edit_title", pick="qsip.action.pick",
                     delete=lambda s, i: service.delete_action(session=s, actor=ui.actor(), action_id=i,
                                                               reason=reasons.get("roadmap")),
                     deleted="qsip.action.deleted", entity="improvement_action")

# ------------------------------------------------------------------------------------ validation and next cycle
def validation_form() -> None:
    with st.form("qsip.validation_form"):
        cols = st.columns(2)
        validated_on = cols[0].date_input(t("qsip.validation.date"), value=today, max_value=today, format=fmt.input_date_format(lang))
        validated_by = cols[1].text_input(t("qsip.validation.by"), value=audit["validated_by"] if isinstance(audit["validated_by"], str)
                                        else ui.actor().full_name)
        # validating again (another date or committee) changes a validated audit: it takes the tab's reason
        reason = reasons.get("cycle")
        if st.form_submit_button(t("qsip.validation.submit"), type="primary"):
            if save(lambda s: service.validate_results(session=s, actor=ui.actor(), audit_id=audit_id,
                                                       validated_on=validated_on, validated_by=validated_by,
                                                       reason=reason).id,
                    success="qsip.validation.done", place="cycle"):
                st.rerun()


def next_cycle_form() -> None:
    with st.form("qsip.cycle_form"):
        next_year = st.number_input(t("qsip.create.year"), min_value=2000, max_value=2100, step=1,
                                    value=int(audit["cycle_year"]) + 1)
        if st.form_submit_button(t("qsip.cycle.submit")):
            new_id = save(lambda s: service.start_next_cycle(session=s, actor=ui.actor(), audit_id=audit_id,
                                                             cycle_year=next_year).id,
                          success="qsip.cycle.done", year=next_year)
            if new_id:
                select_audit(new_id)
                st.rerun()


with tab_cycle:
    show_flash("cycle")
    st.markdown(f"#### {t('qsip.validation.title')}")
    if can_validate:
        change_reason("cycle")
        st.caption(t("qsip.validation.caption"))
        validation_form()
    elif validated:
        st.success(t("qsip.validated_banner", date=fmt.date(audit["validated_at"], lang),
                     who=plain(audit["validated_by"])))
    if writable:
        st.markdown(f"#### {t('qsip.cycle.title')}")
        st.caption(t("qsip.cycle.caption"))
        next_cycle_form()
