"""Widgets the FOCAS pages share: the government picker and the read-aloud row entry for one area's scores."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from assessments import focas
from assessments.errors import DomainError
from assessments.scoring import format_score_row
from db.engine import write_session
from db.models.base import ROUNDS
from db.queries import focas as queries
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
    clusters = ui.read(registry.clusters)
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


# --- read-aloud row entry ---------------------------------------------------------------------


def _save_rows(*, key_base: str, assessment_id, area_code: str, reason: str | None) -> None:
    """Form callback: runs before the page script, so a burst of saves never loses one to a rerun.

    The lines are matched to the queue the facilitator was looking at (kept from the previous run), not to
    whatever the database holds now; a change someone made meanwhile comes back as a conflict.
    """
    t = ui.t
    seen = st.session_state.get(f"{key_base}.seen") or {"queue": [], "shown": {}}
    text = st.session_state.get(f"{key_base}.text") or ""
    overwrite = bool(st.session_state.get(f"{key_base}.overwrite"))
    messages = st.session_state.setdefault(f"{key_base}.messages", [])
    try:
        rows = focas.typed_rows(text, seen["queue"])
        with write_session() as session:
            focas.save_score_rows(session=session, actor=ui.actor(), assessment_id=assessment_id,
                                  area_code=area_code, rows=rows, overwrite=overwrite, reason=reason,
                                  expected={r.participant_id: seen["shown"][r.participant_id] for r in rows})
    except DomainError as error:
        messages.append(("error", error.message(ui.lang())))
        st.session_state[f"{key_base}.text"] = text  # the form cleared it in the browser: give it back
        return
    labels = seen.get("labels", {})
    messages.append(("success", t("focas.rows.saved", n=len(rows),
                                  who=", ".join(labels.get(r.participant_id, "?") for r in rows))))
    queue = seen["queue"]
    st.session_state[f"{key_base}.start"] = queue[len(rows)] if len(rows) < len(queue) else None


def row_entry(*, assessment_id, area, scale_text: str, editable: bool, reason: str | None) -> None:
    """Type each participant's scores for the whole area as one line; lines are saved together, all or nothing."""
    t = ui.t
    key_base = f"focas.rows.{assessment_id}.{area.code}"
    codes = area.indicator_codes()
    frame = ui.read(queries.score_grid, assessment_id, area.code)
    if frame.empty:
        st.info(t("focas.scores.no_participants"))
        return
    ids = [str(p) for p in frame["participant_id"]]
    labels = {pid: f"{c} · {n}" if n else c for pid, c, n in zip(ids, frame["code"], frame["full_name"])}
    current = {pid: [None if pd.isna(v) else int(v) for v in row]
               for pid, row in zip(ids, frame[codes].astype(object).values.tolist())}
    scored = {pid for pid, row in current.items() if any(v is not None for v in row)}

    for kind, message in st.session_state.pop(f"{key_base}.messages", []):
        getattr(st, kind)(message, icon=":material/error:" if kind == "error" else ":material/check:")
    start_key = f"{key_base}.start"
    if st.session_state.get(start_key) not in ids:
        st.session_state[start_key] = next((p for p in ids if p not in scored), ids[0])
    start = st.selectbox(t("focas.rows.start"), ids, format_func=labels.get, key=start_key,
                         help=t("focas.rows.start_help"), disabled=not editable)
    queue = focas.entry_queue(ids, scored, start)
    if len(scored) == len(ids):
        st.info(t("focas.rows.all_done"))
    st.caption(t("focas.rows.caption", codes=" ".join(codes)) + " " + scale_text)
    st.dataframe(pd.DataFrame({
        t("focas.rows.line"): range(1, len(queue) + 1),
        t("focas.scores.participant"): [labels[p] for p in queue],
        t("focas.rows.current"): [format_score_row(current[p]) if p in scored else "" for p in queue],
    }), hide_index=True, width="stretch", height=min(38 + 35 * len(queue), 320))
    if not editable:
        return
    # what this screen shows: the callback of the next submit matches lines and checks conflicts against it
    st.session_state[f"{key_base}.seen"] = {"queue": queue, "labels": labels,
                                            "shown": {p: dict(zip(codes, current[p])) for p in queue}}
    with st.form(f"{key_base}.form", clear_on_submit=True):
        st.text_area(t("focas.rows.field"), key=f"{key_base}.text", height=220, placeholder="3 2 4 1")
        if start in scored:
            st.checkbox(t("focas.rows.overwrite", participant=labels[start]), key=f"{key_base}.overwrite")
        st.form_submit_button(t("focas.rows.save"), type="primary", on_click=_save_rows,
                              kwargs={"key_base": key_base, "assessment_id": assessment_id, "area_code": area.code,
                                      "reason": reason})
