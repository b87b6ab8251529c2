"""Portfolio overview (landing): clusters, assessments, improvement plans and QSIP audits against the plan."""

from __future__ import annotations

import streamlit as st

from assessments import charts, progress
from assessments import formatting as fmt
from pages import _progress_filters as filters_widget
from pages import ui
from pages._figures import vega_chart

t = ui.t
lang = ui.lang()
st.title(t("progress.overview.title"))
st.caption(t("progress.overview.caption"))

filters = filters_widget.show(with_rounds=False)
view = ui.read(progress.portfolio, filters)
totals = view.totals



def count(name: str) -> str:
    """A total as the language writes a count ("1,918", never "1918.0")."""
    return fmt.integer(totals[name], lang)


metrics = st.columns(5)
metrics[0].metric(t("progress.metric.clusters"), f"{count('clusters_formed')} / {count('clusters_planned')}")
metrics[1].metric(t("progress.metric.baseline"), count("baseline"))
metrics[2].metric(t("progress.metric.midpoint"), count("midpoint"))
metrics[3].metric(t("progress.metric.end_round"), count("end"))
metrics[4].metric(t("progress.metric.with_plan"), f"{count('with_plan')} / {count('target_year2_q1')}")


def to_progress(view_name: str, label_key: str) -> None:
    filters_widget.link("pages/progress.py", "progress", t(label_key),
                        filters_widget.query_params(filters, view=view_name))


left, right = st.columns(2)
with left:
    by_wave = view.clusters_by_wave.assign(wave_label=lambda f: f["wave"].map(lambda w: t("progress.wave_n", n=w)))
    vega_chart(
        charts.vl_planned_vs_actual(by_wave, lang=lang, x="wave_label", x_label=t("common.wave"),
                                 title=t("progress.chart.clusters_by_wave")),
        by_wave[["wave", "planned", "formed"]].assign(planned=lambda f: fmt.counts(f["planned"]),
                                                      formed=lambda f: fmt.counts(f["formed"])).rename(columns={
            "wave": t("common.wave"), "planned": t("progress.col.planned"), "formed": t("progress.col.formed")}),
        file_name="clusters_by_wave", key="overview.clusters_wave",
    )
    filters_widget.link("pages/clusters.py", "clusters", t("progress.link.clusters"), {ui.LANG_KEY: lang})
with right:
    by_department = view.clusters.groupby(["department_code", "department"], as_index=False)[
        ["planned", "formed"]].sum()
    vega_chart(
        charts.vl_planned_vs_actual(by_department, lang=lang, x="department", x_label=t("common.department"),
                                 title=t("progress.chart.clusters_by_department")),
        view.clusters.drop(columns="department_code").assign(
            planned=lambda f: fmt.counts(f["planned"]), formed=lambda f: fmt.counts(f["formed"])).rename(columns={
            "department": t("common.department"), "wave": t("common.wave"),
            "planned": t("progress.col.planned"), "formed": t("progress.col.formed")}),
        file_name="clusters_by_department", key="overview.clusters_department",
    )

left, right = st.columns(2)
with left:
    assessed = view.assessed.assign(
        round_label=lambda f: f["round"].map(lambda r: t(f"round.{r}")),
        level_label=lambda f: f["level"].map(lambda v: t(f"level.{v}")),
    )
    figure = charts.vl_stacked_bars(assessed, lang=lang, x="round_label", color="level_label", y="governments",
                                 title=t("progress.chart.assessed"), y_label=t("progress.axis.governments"))
    vega_chart(figure, assessed[["round_label", "level_label", "governments"]].assign(
        governments=lambda f: fmt.counts(f["governments"])).rename(columns={
        "round_label": t("common.round"), "level_label": t("common.level"),
        "governments": t("progress.col.governments")}), file_name="validated_assessments", key="overview.assessed")
    to_progress("governments", "progress.link.progress")
with right:
    plans = view.improvement_plans.assign(level=lambda f: f["level"].map(lambda v: t(f"level.{v}")))
    milestones = {m: t(f"progress.milestone.{m}") for m in progress.MILESTONES}
    vega_chart(charts.vl_improvement_plans(plans, lang=lang, milestones=milestones),
             plans.assign(governments=lambda f: fmt.counts(f["governments"])).rename(columns={
                 "level": t("common.level"), "governments": t("progress.col.with_plan"),
                                   **milestones}),
             file_name="improvement_plans", key="overview.plans")
    to_progress("plans", "progress.link.plans")

left, right = st.columns(2)
with left:
    stages = view.audits.assign(stage_name=lambda f: f["stage"].map(lambda s: t(f"progress.stage.{s}")))
    vega_chart(charts.vl_audit_stages(stages, lang=lang),
             stages[["stage_name", "audits"]].assign(audits=lambda f: fmt.counts(f["audits"])).rename(columns={"stage_name": t("progress.col.stage"),
                                                              "audits": t("progress.col.audits")}),
             file_name="qsip_audits_by_stage", key="overview.audits")
    to_progress("qsip", "progress.link.qsip")
with right:
    st.subheader(t("progress.overview.targets"))
    st.markdown(t("progress.overview.targets_text", year1=count("target_year1"),
                  wave2=count("target_year1_wave2"), all=count("target_year2_q1"), now=count("with_plan")))
    to_progress("targets", "progress.link.targets")
    filters_widget.link("pages/result_sheets.py", "result-sheets", t("progress.link.sheets"),
                        filters_widget.query_params(filters), icon=":material/print:")
