"""Widgets the FOCAS pages share: the government picker."""

from __future__ import annotations

import streamlit as st

from db.models.base import ROUNDS
from db.queries import registry
from pages import ui


def remembered_select(label: str, options: list, key: str, param: str, format_func, **kwargs):
    """A selectbox whose choice survives page switches and browser reloads (see ``ui.remembered``)."""
    value_key = f"{key}_value"
    remembered = ui.remembered(value_key, param, options)
    index = options.index(remembered) if remembered is not None else 0
    chosen = st.selectbox(label, options=options, index=index, format_func=format_func, key=key, **kwargs)
    ui.remember(value_key, param, chosen)
    return chosen


def government_picker(*, with_round: bool) -> tuple:
    """Department, cluster, government (and round) in one row: ``(cluster_id, government_id, round or None)``.

    Both FOCAS pages remember the same choice, so switching between workshop and plan keeps the government.
    """
    t = ui.t
    # a facilitator reads the clusters assigned to them; a workshop of another cluster asked for by URL is refused
    if not ui.read(registry.in_scope, ui.actor(), st.query_params.get("cluster"), st.query_params.get("gov")):
        st.error(t("read_scope.not_in_your_clusters.workshop"), icon=":material/block:")
    clusters = ui.read(registry.clusters, ui.actor())
    if clusters.empty:
        st.info(t("focas.no_clusters"))
        st.stop()
    departments = list(dict.fromkeys(clusters["department_code"]))
    department_names = dict(zip(clusters["department_code"], clusters["department"]))
    columns = st.columns([1, 1.2, 2, 1] if with_round else [1, 1.2, 2])
    with columns[0]:
        department = remembered_select(t("common.department"), departments, "focas.department", "dep", department_names.get)
    in_department = clusters.loc[clusters["department_code"] == department]
    cluster_names = dict(zip(in_department["id"], in_department["name"]))
    with columns[1]:
        cluster_id = remembered_select(t("common.cluster"), list(cluster_names), "focas.cluster", "cluster", cluster_names.get)
    members = ui.read(registry.cluster_members, cluster_id)
    member_names = {row["id"]: f"{row['name']} ({t('level.' + row['level'])})" for row in members.to_dict("records")}
    with columns[2]:
        government_id = remembered_select(t("common.government"), list(member_names), "focas.government", "gov",
                                          member_names.get)
    round_name = None
    if with_round:
        with columns[3]:
            round_name = remembered_select(t("common.round"), list(ROUNDS), "focas.round", "round",
                                           {r: t(f"round.{r}") for r in ROUNDS}.get)
    return cluster_id, government_id, round_name
