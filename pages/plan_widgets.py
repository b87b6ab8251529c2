"""Plan versus formed: the clusters planned per department and wave against those formed (Clusters page, overview)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from assessments import cluster_plan
from assessments.access import can
from db.engine import write_session
from pages import ui


def _labels(frame: pd.DataFrame) -> dict[str, str]:
    t = ui.t
    labels = {"department": t("common.department"), "total": t("clusterplan.total"), "gap": t("clusterplan.gap")}
    for column in frame.columns:
        if column.startswith("wave_"):
            labels[column] = t("clusterplan.wave_n", wave=column.removeprefix("wave_"))
    return labels


def show_plan_vs_formed(*, key: str = "plan", editable: bool = True, chart: bool = True) -> None:
    """Formed / planned clusters per department and wave, with a chart and (for managers) the planned numbers."""
    t = ui.t
    frame = ui.read(cluster_plan.plan_vs_formed)
    st.subheader(t("clusterplan.title"))
    if frame.empty:
        st.info(t("clusterplan.empty"))
        return
    totals = cluster_plan.plan_totals(frame)
    columns = st.columns(len(totals))
    for column, row in zip(columns, totals.to_dict("records")):
        label = t("clusterplan.program_total") if row["wave"] == 0 else t("clusterplan.wave_n", wave=row["wave"])
        column.metric(label, f"{row['formed']} / {row['planned']}",
                      delta=int(row["formed"] - row["planned"]) or None, delta_color="off")
    st.caption(t("clusterplan.caption"))
    table = cluster_plan.plan_table(frame).drop(columns=["department_code"])
    ui.table(table, file_name="plan_vs_formed.csv", key=f"{key}_table", column_labels=_labels(table))
    if chart:
        ui.chart(cluster_plan.plan_vs_formed_chart(frame, lang=ui.lang()),
                 frame.rename(columns={"department": t("common.department"), "wave": t("common.wave"),
                                       "planned": t("clusterplan.planned"), "formed": t("clusterplan.formed"),
                                       "gap": t("clusterplan.gap")}).drop(columns=["department_code"]),
                 file_name="plan_vs_formed", key=f"{key}_chart")
    if editable and can(ui.actor(), "cluster.write"):
        _edit_planned(frame, key=key)


def _edit_planned(frame: pd.DataFrame, *, key: str) -> None:
    t = ui.t
    with st.expander(t("clusterplan.edit")):
        st.caption(t("clusterplan.edit_help"))
        grid = frame.pivot_table(index=["department_code", "department"], columns="wave", values="planned",
                                 aggfunc="sum", fill_value=0)
        grid.columns = [f"wave_{w}" for w in grid.columns]
        grid = grid.reset_index()
        config = {"department_code": None, "department": st.column_config.TextColumn(t("common.department"),
                                                                                      disabled=True)}
        for column in grid.columns:
            if column.startswith("wave_"):
                config[column] = st.column_config.NumberColumn(
                    t("clusterplan.wave_n", wave=column.removeprefix("wave_")), min_value=0,
                    max_value=cluster_plan.MAX_PLANNED, step=1)
        st.data_editor(grid, column_config=config, hide_index=True, placeholder="", key=f"{key}_editor", width="stretch")
        if st.button(t("clusterplan.save"), key=f"{key}_save"):
            edits = edits_from_editor(grid, st.session_state.get(f"{key}_editor", {}))

            def save():
                with write_session() as session:
                    return cluster_plan.apply_plan_edits(session=session, actor=ui.actor(), edits=edits)

            changed = ui.attempt(save)
            if changed is not None:
                st.success(t("clusterplan.saved", count=changed))


def edits_from_editor(grid: pd.DataFrame, state: dict) -> list[tuple[str, object, object]]:
    """The data editor's edited cells as (department_code, wave, planned) for the plan service."""
    edits = []
    for index, changes in (state.get("edited_rows") or {}).items():
        department_code = grid.iloc[int(index)]["department_code"]
        for column, value in changes.items():
            if column.startswith("wave_"):
                edits.append((department_code, int(column.removeprefix("wave_")), value))
    return edits
