"""Progress: baseline versus midpoint (or end) per government, cluster, department and level; targets; QSIP."""

from __future__ import annotations

import streamlit as st

from assessments import charts, progress
from assessments import formatting as fmt
from assessments.i18n import translate_plural
from pages import _progress_filters as filters_widget
from pages import ui
from pages._figures import drawn, vega_chart

t = ui.t
lang = ui.lang()
st.title(t("progress.title"))
st.caption(t("progress.caption"))

filters = filters_widget.show()
# The landing tab needs only the governments' changes; the other tabs read the full view when opened.
government_changes = ui.read(progress.governments_view, filters)
areas_named = progress.area_label(ui.read(filters_widget.queries.area_names), lang)
before, after = t(f"round.{filters.from_round}"), t(f"round.{filters.to_round}")
level_names = {v: t(f"level.{v}") for v in progress.LEVELS}
round_names = {r: t(f"round.{r}") for r in ("baseline", "midpoint", "end")}

COLUMNS = {
    "government": t("common.government"), "ubigeo": t("common.ubigeo"), "level": t("common.level"),
    "department": t("common.department"), "area": t("progress.col.area"),
    "capacity_index_from": t("progress.col.index_round", round=before),
    "capacity_index_to": t("progress.col.index_round", round=after),
    "area_score_from": t("progress.col.score_round", round=before),
    "area_score_to": t("progress.col.score_round", round=after),
    "change": t("progress.col.change"), "n_areas": t("progress.col.n_areas"),
    "n_areas_not_comparable": t("progress.col.n_areas_not_comparable"),
    "n_comparable": t("progress.col.n_comparable"), "n_not_comparable": t("progress.col.n_not_comparable"),
    "governments": t("progress.col.governments"), "mean_from": t("progress.col.mean_round", round=before),
    "mean_to": t("progress.col.mean_round", round=after), "mean_change": t("progress.col.mean_change"),
    "area_score": t("progress.col.score_round", round=after), "target": t("progress.col.target"),
    "gap": t("progress.col.gap"), "met": t("progress.col.met"), "targets": t("progress.col.targets"),
    "scored": t("progress.col.scored"), "share_met": t("progress.col.share_met"),
    "mean_gap": t("progress.col.mean_gap"), "round": t("common.round"), "mean_score": t("progress.col.mean_score"),
    "n_scores": t("progress.col.n_scores"), "participant": t("progress.col.participant"),
}


def labelled(frame, columns):
    return frame.loc[:, columns].rename(columns=COLUMNS)


# Count columns (by their raw name or their shown label) are integers: "10", never "10.0".
COUNT_KEYS = ("n_comparable", "n_not_comparable", "governments", "n_scores", "n_areas", "n_areas_not_comparable",
              "targets", "scored", "areas", "n_respondents", "n_provider", "n_user", "count")
COUNT_COLUMNS = set(COUNT_KEYS) | {COLUMNS[k] for k in COUNT_KEYS if k in COLUMNS}


def rounded(frame):
    """Numbers rounded half away from zero at 2 decimals (3.125 → 3.13); count columns as integers."""
    out = fmt.round_frame(frame, 2)
    for column in out.columns:
        if column in COUNT_COLUMNS:
            out[column] = fmt.counts(out[column])
    return out


if government_changes.empty:
    st.info(t("progress.empty"))
    st.stop()

governments = government_changes.assign(level=lambda f: f["level"].map(level_names))
has_change = government_changes["change"].notna()
compared = int(has_change.sum())
# "partial" counts only governments that are compared: one without a validated second round is "missing".
not_comparable = int(((government_changes["n_areas_not_comparable"].fillna(0) > 0) & has_change).sum())
missing = len(governments) - compared
note = [translate_plural("progress_format.note_compared", compared, lang,
                         total=fmt.integer(len(governments), lang), before=before, after=after)]
if missing:
    note.append(translate_plural("progress_format.note_missing", missing, lang, after=after))
if not_comparable:
    note.append(translate_plural("progress_format.note_partial", not_comparable, lang))
st.caption(" ".join(note))
with st.expander(t("progress_format.explain.title")):
    example = f"{fmt.number(3.125, lang, 3)} → {fmt.number(3.125, lang)}"
    st.markdown(t("progress_format.explain.body", before=before, after=after, example=example,
                  participants_chart=t("progress.chart.participants"), cluster_tab=t("progress.tab.clusters")))

tab_names = {
    "governments": t("progress.tab.governments"), "clusters": t("progress.tab.clusters"),
    "distributions": t("progress.tab.distributions"), "targets": t("progress.tab.targets"),
    "plans": t("progress.tab.plans"), "qsip": t("progress.tab.qsip"),
}
requested = st.query_params.get("view")
# Lazy tabs: only the open tab's content runs (and reads), so each view costs what it shows.
tabs = st.tabs(list(tab_names.values()), default=tab_names.get(requested, tab_names["governments"]),
               on_change="rerun", key="progress.view")
tab = dict(zip(tab_names, tabs))


def showing(name: str) -> bool:
    """Whether a tab's content should run (``open`` is None when tabs do not track state)."""
    return tab[name].open is not False


# --- one government -----------------------------------------------------------------------------
with tab["governments"]:
    if showing("governments"):
        options = list(government_changes["government_id"].astype(str))
        names = dict(zip(options, [f"{u} · {n}" for u, n in zip(government_changes["ubigeo"],
                                                                 government_changes["government"])]))
        wanted = st.query_params.get("gov")
        compared_ids = government_changes.loc[government_changes["change"].notna(), "government_id"].astype(str)
        default = wanted if wanted in options else (compared_ids.iloc[0] if len(compared_ids) else options[0])
        chosen = st.selectbox(t("common.government"), options=options, format_func=names.get,
                              index=options.index(default), key="progress.government")
        one = ui.read(progress.government_view, filters, chosen)
        if one is not None and one.areas["change"].notna().sum() == 0:
            st.info(t("progress.government_not_comparable", before=before, after=after))
        elif one is not None:
            areas = one.areas.assign(area=lambda f: f["area_code"].map(lambda c: areas_named.get(c, c)))
            capacity = one.capacity
            cols = st.columns(3)
            def shown(value):
                return fmt.number(value, lang)

            change = capacity.get("change")
            cols[0].metric(t("progress.col.index_round", round=before), shown(capacity.get("capacity_index_from")))
            cols[1].metric(t("progress.col.index_round", round=after), shown(capacity.get("capacity_index_to")),
                           delta=None if fmt.is_missing(change) else fmt.signed(change, lang))
            cols[2].metric(t("progress.col.n_not_comparable"), fmt.integer(areas["n_not_comparable"].sum(), lang))
            left, right = st.columns(2)
            table = rounded(labelled(areas, ["area", "area_score_from", "area_score_to", "change", "n_comparable",
                                             "n_not_comparable"]))
            with left:
                ui.chart(drawn(charts.dumbbell, areas, lang=lang, from_round=filters.from_round, to_round=filters.to_round),
                         table, file_name="government_areas_change", key="progress.dumbbell", lazy_table=True)
            with right:
                ui.chart(drawn(charts.radar, areas, lang=lang, from_round=filters.from_round, to_round=filters.to_round),
                         table, file_name="government_areas_radar", key="progress.radar", lazy_table=True)
            filters_widget.link("pages/result_sheets.py", "result-sheets", t("progress.link.sheet_government"),
                                filters_widget.query_params(filters, gov=chosen), icon=":material/print:")
        st.subheader(t("progress.governments_table"))
        ui.table(rounded(labelled(governments, ["ubigeo", "government", "level", "department", "capacity_index_from",
                                                "capacity_index_to", "change", "n_areas", "n_areas_not_comparable"])),
                 file_name="governments_change.csv", key="progress.all_governments", page_rows=ui.TABLE_PAGE_ROWS)

# --- one cluster --------------------------------------------------------------------------------
with tab["clusters"]:
    if showing("clusters"):
        cluster_id = filters.cluster_id
        if not cluster_id:
            choices = ui.read(filters_widget.queries.filter_choices)["clusters"]
            if filters.department:
                choices = choices.loc[choices["department_code"] == filters.department]
            if filters.wave:
                choices = choices.loc[choices["wave"] == filters.wave]
            cluster_names = dict(zip(choices["id"], choices["name"]))
            if cluster_names:
                cluster_id = st.selectbox(t("common.cluster"), options=list(cluster_names),
                                          format_func=cluster_names.get, key="progress.cluster")
        if not cluster_id:
            st.info(t("progress.no_clusters"))
        else:
            cluster = ui.read(progress.cluster_view, filters._replace(cluster_id=cluster_id))
            heat = cluster.heatmap.assign(area=lambda f: f["area_code"].map(lambda c: areas_named.get(c, c)))
            ui.chart(drawn(charts.change_heatmap, heat, lang=lang, from_round=filters.from_round, to_round=filters.to_round),
                     rounded(labelled(heat, ["government", "area", "area_score_from", "area_score_to", "change"])),
                     file_name="cluster_heatmap", key="progress.heatmap", lazy_table=True)
            spread = cluster.participants.assign(round=lambda f: f["round"].map(round_names))
            ui.chart(drawn(charts.distribution, spread, lang=lang, x="government", y="mean_score", color="round", kind="strip",
                                         title=t("progress.chart.participants"), x_label=t("common.government"),
                                         y_label=t("progress.axis.participant_mean")),
                     rounded(labelled(spread, ["government", "round", "mean_score", "n_scores"])),
                     file_name="cluster_participant_spread", key="progress.participants", lazy_table=True)
            filters_widget.link("pages/result_sheets.py", "result-sheets", t("progress.link.sheet_cluster"),
                                filters_widget.query_params(filters._replace(cluster_id=cluster_id)), icon=":material/print:")

# --- departments and levels ---------------------------------------------------------------------
with tab["distributions"]:
    if showing("distributions"):
        view = ui.read(progress.progress_view, filters)
        kind_names = {k: t(f"progress.kind_chart.{k}") for k in ("box", "violin", "strip")}
        kind = st.segmented_control(t("progress.distribution_kind"), options=list(kind_names),
                                    format_func=kind_names.get, default="box",
                                    key="progress.distribution_kind") or "box"
        table = rounded(labelled(governments, ["department", "level", "government", "capacity_index_from",
                                               "capacity_index_to", "change"]))
        ui.chart(drawn(charts.distribution, governments, lang=lang, x="department", y="change", color="level", kind=kind,
                                     title=t("progress.chart.by_department", before=before, after=after),
                                     x_label=t("common.department"), y_label=t("progress.axis.change")),
                 table, file_name="change_by_department", key="progress.by_department", lazy_table=True)
        long = governments.melt(id_vars=["level"], value_vars=["capacity_index_from", "capacity_index_to"],
                                var_name="round", value_name="index")
        long["round"] = long["round"].map({"capacity_index_from": before, "capacity_index_to": after})
        ui.chart(drawn(charts.distribution, long, lang=lang, x="level", y="index", color="round", kind=kind,
                                     title=t("progress.chart.by_level"), x_label=t("common.level"),
                                     y_label=t("progress.axis.index")),
                 table, file_name="index_by_level", key="progress.by_level", lazy_table=True)
        summary = view.area_summary.assign(area=lambda f: f["area_code"].map(lambda c: areas_named.get(c, c)))
        ui.chart(drawn(charts.dumbbell, summary.rename(columns={"mean_from": "area_score_from", "mean_to": "area_score_to"}),
                                 lang=lang, from_round=filters.from_round, to_round=filters.to_round,
                                 title=t("progress.chart.areas_mean", before=before, after=after)),
                 rounded(labelled(summary, ["area", "governments", "mean_from", "mean_to", "mean_change"])),
                 file_name="areas_mean_change", key="progress.areas_mean", lazy_table=True)

# --- targets ------------------------------------------------------------------------------------
with tab["targets"]:
    if showing("targets"):
        view = ui.read(progress.progress_view, filters)
        if view.target_summary.empty:
            st.info(t("progress.no_targets", round=after))
        else:
            target_summary = view.target_summary.assign(area=lambda f: f["area_code"].map(lambda c: areas_named.get(c, c)))
            vega_chart(charts.vl_target_bars(target_summary, lang=lang, to_round=filters.to_round),
                       rounded(labelled(target_summary, ["area", "targets", "scored", "met", "share_met", "mean_gap"])),
                       file_name="targets_met", key="progress.targets")
            detail = view.targets.merge(government_changes[["government_id", "government", "ubigeo"]],
                                        on="government_id")
            detail = detail.assign(area=lambda f: f["area_code"].map(lambda c: areas_named.get(c, c)),
                                   met=lambda f: f["met"].map({True: t("progress.yes"), False: t("progress.no")}))
            st.subheader(t("progress.targets_table"))
            ui.table(rounded(labelled(detail, ["ubigeo", "government", "area", "area_score", "target", "gap", "met"])),
                     file_name="targets_by_government.csv", key="progress.targets_by_government",
                     page_rows=ui.TABLE_PAGE_ROWS)

# --- plans and interventions --------------------------------------------------------------------
with tab["plans"]:
    if showing("plans"):
        view = ui.read(progress.progress_view, filters)
        status = view.plan_status.assign(
            kind_label=lambda f: f["kind"].map(lambda k: t(f"progress.kind.{k}")),
            status_label=lambda f: f["status"].map(lambda s: t(f"progress.status.{s}")),
        )
        ui.chart(drawn(charts.done_vs_planned, view.plan_status, lang=lang),
                 status[["kind_label", "status_label", "count"]].rename(columns={
                     "kind_label": t("progress.col.kind"), "status_label": t("progress.col.status"),
                     "count": t("progress.col.count")}),
                 file_name="done_vs_planned", key="progress.done_vs_planned", lazy_table=True)
        effect = view.intervention_summary.assign(group=lambda f: f["intervened"].map(
            {True: t("progress.intervened.yes"), False: t("progress.intervened.no")}))
        ui.chart(drawn(charts.intervention_effect, view.interventions, lang=lang),
                 rounded(effect[["group", "areas", "mean_change", "median_change"]].rename(columns={
                     "group": t("progress.axis.intervention"), "areas": t("progress.col.areas"),
                     "mean_change": t("progress.col.mean_change"), "median_change": t("progress.col.median_change")})),
                 file_name="interventions_vs_change", key="progress.interventions", lazy_table=True)
        st.caption(t("progress.interventions_note"))

# --- QSIP ---------------------------------------------------------------------------------------
with tab["qsip"]:
    if showing("qsip"):
        qsip = ui.read(progress.qsip_view, filters)
        if qsip.trend.empty:
            st.info(t("progress.no_qsip"))
        else:
            prefixes = {"dimension": "progress.dimension", "respondent_type": "progress.respondent", "sex": "sex",
                        "indigenous": "indigenous"}

            def named(frame):
                out = frame.copy()
                for column, prefix in prefixes.items():
                    if column in out:
                        names = {v: t(f"{prefix}.{v}") for v in out[column].dropna().unique()}
                        out[column] = out[column].map(names)
                return out

            qsip_columns = {"cycle_year": t("progress.col.cycle"), "dimension": t("progress.col.dimension"),
                            "respondent_type": t("progress.col.respondent_type"), "n_respondents": t("progress.col.n"),
                            "mean": t("progress.col.mean"), "mean_provider": t("progress.col.mean_provider"),
                            "n_provider": t("progress.col.n_provider"), "mean_user": t("progress.col.mean_user"),
                            "n_user": t("progress.col.n_user"), "gap": t("progress.col.gap"),
                            "sex": t("progress.col.sex"), "indigenous": t("progress.col.indigenous")}
            trend = named(qsip.trend)
            ui.chart(drawn(charts.qsip_trend, trend, lang=lang), rounded(trend).rename(columns=qsip_columns),
                     file_name="qsip_trend", key="progress.qsip_trend", lazy_table=True)
            gap = named(qsip.gap)
            ui.chart(drawn(charts.qsip_gap, gap, lang=lang), rounded(gap).rename(columns=qsip_columns),
                     file_name="qsip_provider_user_gap", key="progress.qsip_gap", lazy_table=True)
            left, right = st.columns(2)
            for column, by, frame in ((left, "sex", qsip.by_sex), (right, "indigenous", qsip.by_indigenous)):
                latest = named(frame.loc[frame["cycle_year"] == qsip.latest_cycle])
                with column:
                    ui.chart(drawn(charts.qsip_groups, latest, lang=lang, by=by, cycle=qsip.latest_cycle),
                             rounded(named(frame)).rename(columns=qsip_columns),
                             file_name=f"qsip_by_{by}", key=f"progress.qsip_{by}", lazy_table=True)
