"""Clusters: browse department → cluster → member governments; create and edit clusters."""

from __future__ import annotations

import streamlit as st

from assessments import clusters as cluster_service
from assessments import formatting as fmt
from assessments.text import LIMITS
from db.engine import write_session
from db.models.base import SECTORS
from db.queries import registry
from pages import plan_widgets, ui

t = ui.t
st.title(t("clusters.title"))
st.caption(t("clusters.caption"))
counts = ui.read(registry.registry_counts)
st.caption(t("clusters.registry", departments=counts["departments"], provinces=counts["provinces"],
             regional=counts.get("governments_regional", 0), provincial=counts.get("governments_provincial", 0),
             district=counts.get("governments_district", 0)))

departments = ui.read(registry.departments)
department_names = dict(zip(departments["code"], departments["name"]))
remembered = st.session_state.get("clusters.department_value", departments["code"].iloc[0])
department = st.selectbox(
    t("clusters.pick_department"), options=list(departments["code"]),
    index=list(departments["code"]).index(remembered), format_func=lambda c: f"{department_names[c]} ({c})",
    key="clusters.department",
)
st.session_state["clusters.department_value"] = department
writable = ui.can_write("cluster.write")  # otherwise the registry is shown read-only, with one line saying why


def label_of(row) -> str:
    return f"{row['ubigeo']} · {row['name']}"


def cluster_form(*, key: str, existing: dict | None, member_ubigeos: list[str]) -> None:
    governments = ui.read(registry.governments, department)
    # labels are built here, in the run's language (Streamlit may call format_func outside the run)
    sector_labels = {s: t(f"sector.{s}") for s in SECTORS}
    labels = {r["ubigeo"]: f"{label_of(r)} — {t('level.' + r['level'])}" for r in governments.to_dict("records")}
    # no clear_on_submit: a refused form keeps what the user typed; a saved one gets a fresh key instead
    with st.form(key):
        name = st.text_input(t("clusters.form.name"), value=(existing or {}).get("name", ""), key=f"{key}.name",
                             max_chars=LIMITS["cluster.name"])
        left, right = st.columns(2)
        wave = left.number_input(t("clusters.form.wave"), min_value=1, max_value=20, step=1,
                                 value=int((existing or {}).get("wave") or 1))
        wave_date = right.date_input(t("clusters.form.wave_date"), value=(existing or {}).get("wave_date"))
        sectors = st.multiselect(t("clusters.form.sectors"), options=list(SECTORS),
                                 default=(existing or {}).get("sectors", []),
                                 format_func=sector_labels.get, key=f"{key}.sectors",
                                 placeholder=t("selection.choose"))
        members = st.multiselect(t("clusters.form.members"), options=list(labels), default=member_ubigeos,
                                 format_func=labels.get, placeholder=t("clusters.form.search"), key=f"{key}.members")
        notes = st.text_area(t("clusters.form.notes"), value=(existing or {}).get("notes", ""), key=f"{key}.notes",
                             max_chars=LIMITS["cluster.notes"])
        submitted = st.form_submit_button(
            t("clusters.form.submit_update" if existing else "clusters.form.submit_create"), type="primary"
        )
    if not submitted:
        return
    data = cluster_service.ClusterInput(name=name, department_code=department, wave=wave, wave_date=wave_date,
                                        sectors=sectors, government_ubigeos=members, notes=notes)

    def save():
        with write_session() as session:
            if existing:
                cluster, warnings = cluster_service.update_cluster(
                    session=session, actor=ui.actor(), cluster_id=existing["id"], data=data)
            else:
                cluster, warnings = cluster_service.create_cluster(session=session, actor=ui.actor(), data=data)
            return cluster.id, cluster.name, warnings

    result = ui.attempt(save)
    if result:
        cluster_id, cluster_name, warnings = result
        st.session_state["clusters.selected_value"] = cluster_id
        st.session_state["clusters.form_generation"] = st.session_state.get("clusters.form_generation", 0) + 1
        st.session_state["clusters.flash"] = (
            t("clusters.updated" if existing else "clusters.created", name=ui.plain(cluster_name)),
            [ui.message_of(w) for w in warnings],
        )
        st.rerun()


if flash := st.session_state.pop("clusters.flash", None):
    st.success(flash[0])
    for message in flash[1]:
        st.warning(message)

frame = ui.read(registry.clusters, ui.actor(), department)
if frame.empty:
    st.info(t("clusters.none_in_department"))
else:
    shown = frame.assign(
        sectors=[", ".join(t(f"sector.{s}") for s in sectors) for sectors in frame["sectors"]],
        is_demo=frame["is_demo"].map({True: t("clusters.demo"), False: ""}),
        wave_date=fmt.date_column(frame["wave_date"], ui.lang()),
    )[["name", "wave", "wave_date", "sectors", "n_members", "n_regional", "n_provincial", "n_district", "is_demo"]]
    ui.table(shown, file_name=f"clusters_{department}.csv", key="clusters_table", column_labels={
        "name": t("common.cluster"), "wave": t("common.wave"), "wave_date": t("clusters.form.wave_date"),
        "sectors": t("common.sectors"), "n_members": t("clusters.col.members"),
        "n_regional": t("clusters.col.regional"), "n_provincial": t("clusters.col.provincial"),
        "n_district": t("clusters.col.district"), "is_demo": t("clusters.col.demo"),
    })

    ids = list(frame["id"])
    names = dict(zip(frame["id"], frame["name"]))
    remembered_cluster = st.session_state.get("clusters.selected_value")
    selected = st.selectbox(t("clusters.pick_cluster"), options=ids, format_func=names.get,
                            index=ids.index(remembered_cluster) if remembered_cluster in ids else 0,
                            key="clusters.selected")
    st.session_state["clusters.selected_value"] = selected
    members = ui.read(registry.cluster_members, selected)
    st.subheader(t("clusters.members"))
    ui.table(
        members.assign(level=members["level"].map(lambda lv: t(f"level.{lv}")))[["ubigeo", "name", "level", "province"]],
        file_name="cluster_members.csv", key="members_table",
        column_labels={"ubigeo": t("common.ubigeo"), "name": t("common.government"), "level": t("common.level"),
                       "province": t("common.province")},
    )
    warnings = ui.read(cluster_service.cluster_warnings, selected)
    if warnings:
        st.markdown(f"**{t('clusters.warnings')}**")
        for warning in warnings:
            st.warning(ui.message_of(warning))
    else:
        st.success(t("clusters.no_warnings"))
    if writable:
        with st.expander(t("clusters.edit")):
            existing = registry.cluster_row(selected)
            # keyed on the cluster too: the form of another cluster never lends its name or members to this one
            cluster_form(key=f"cluster_edit_form_{selected}_{st.session_state.get('clusters.form_generation', 0)}",
                         existing=existing, member_ubigeos=list(members["ubigeo"]))

if writable:
    with st.expander(t("clusters.create"), expanded=frame.empty):
        cluster_form(key=f"cluster_create_form_{st.session_state.get('clusters.form_generation', 0)}",
                     existing=None, member_ubigeos=[])

st.divider()
plan_widgets.show_plan_vs_formed(key="clusters_plan")
