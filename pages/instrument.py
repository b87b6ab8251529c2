"""Instruments (read-only): the FOCAS areas, indicators and level descriptors; QSIP stages and items."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from db import instruments
from pages import ui

t = ui.t
lang = ui.lang()
st.title(t("instrument.title"))
st.caption(t("instrument.caption"))

focas_tab, qsip_tab = st.tabs([t("instrument.focas"), t("instrument.qsip")])


def version_label(row: dict) -> str:
    owner = row["government"] or t("instrument.default_version")
    return f"{row['code']} v{row['version']} · {owner}"


def pick_version(kind: str):
    """The chosen version of the FOCAS or QSIP instrument (None, after saying so, when there is none)."""
    versions = ui.read(instruments.list_instruments, kind)
    if not versions:
        st.info(t("common.empty"))
        return None
    by_id = {v["id"]: v for v in versions}
    return st.selectbox(t("instrument.version"), options=list(by_id), format_func=lambda i: version_label(by_id[i]),
                        key=f"instrument.{kind}_version")


def show_scale(instrument) -> None:
    scale = " · ".join(f"{lv.level} = {lv.name.get(lang)}" for lv in instrument.levels)
    st.markdown(f"**{ui.plain(instrument.name.get(lang))}** — {t('instrument.scale')}: {ui.plain(scale)}")


with focas_tab:
    chosen = pick_version("focas")
    if chosen is not None:
        focas = ui.read(instruments.focas_version, chosen)
        show_scale(focas)
        n_indicators = sum(len(a.indicators) for a in focas.areas)
        st.caption(t("instrument.counts", areas=len(focas.areas), indicators=n_indicators))
        for area in focas.areas:
            badge = f" · {t('instrument.mandatory')}" if area.mandatory else ""
            with st.expander(f"{ui.plain(area.code)} — {ui.plain(area.name.get(lang))}{badge}", expanded=False):
                st.text(area.description.get(lang))
                rows = [
                    {t("instrument.indicator"): f"{ind.code} · {ind.name.get(lang)}",
                     **{f"{lv.level} · {lv.name.get(lang)}": ind.descriptors[lv.level].get(lang)
                        for lv in focas.levels if lv.level in ind.descriptors}}
                    for ind in area.indicators
                ]
                st.dataframe(pd.DataFrame(rows), hide_index=True, placeholder="—", width="stretch")

with qsip_tab:
    chosen = pick_version("qsip")
    if chosen is not None:
        qsip = ui.read(instruments.qsip_version, chosen)
        show_scale(qsip)
        st.subheader(t("instrument.stages"))
        st.dataframe(pd.DataFrame([{"#": s.number, t("instrument.stage"): s.name.get(lang),
                                    t("instrument.description"): s.description.get(lang)} for s in qsip.stages]),
                     hide_index=True, placeholder="—", width="stretch")
        st.subheader(t("instrument.dimensions"))
        for dimension in qsip.dimensions:
            with st.expander(ui.plain(dimension.name.get(lang))):
                st.dataframe(pd.DataFrame([{t("instrument.item"): i.code, t("instrument.question"): i.text.get(lang)}
                                           for i in dimension.items]), hide_index=True, placeholder="—", width="stretch")
