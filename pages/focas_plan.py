"""Performance targets per area and the government's capacity-building plan, weakest areas first."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from assessments import capacity_plan, focas, scoring
from assessments import formatting as fmt
from assessments.text import LIMITS
from db.engine import write_session
from db.models.base import ITEM_STATUSES
from db.queries import focas as queries
from pages import _focas_widgets as widgets
from pages import _removals as removals
from pages import ui

t = ui.t
lang = ui.lang()


def save(work, *, success: str | None = None):
    def run():
        with write_session() as session:
            return work(session) or True
    return ui.attempt(run, success=success)


st.title(t("capplan.title"))
st.caption(t("capplan.caption"))
for kind, message in st.session_state.pop("capplan.flash", []):
    getattr(st, kind)(message)

cluster_id, government_id, _ = widgets.government_picker(with_round=False)
# targets are the program's (managers); the plan's interventions also the cluster's facilitators
plan_blocked = focas.read_only_reason(ui.actor(), "plan.write", government_id=government_id, cluster_id=cluster_id)
targets_blocked = focas.read_only_reason(ui.actor(), "target.write", government_id=government_id,
                                         cluster_id=cluster_id)
if plan_blocked and targets_blocked:
    st.info(t(plan_blocked), icon=":material/visibility:")

context = ui.read(queries.plan_areas, ui.actor(), government_id)
instrument = ui.read(queries.instrument, context["instrument_id"])
names = {area.code: area.name.get(lang) for area in instrument.areas}
consensus = ui.read(queries.government_consensus, ui.actor(), government_id)
scale = {"scale_min": instrument.scale_min, "scale_max": instrument.scale_max}
by_round = {}
for round_name in ("baseline", "midpoint", "end"):
    part = consensus.loc[consensus["round"] == round_name]
    if not part.empty:
        by_round[round_name] = scoring.indexes(part, **scale)[0].set_index("area_code")["area_score"]
targets = ui.read(queries.targets, ui.actor(), government_id)
target_of = {(r["area_code"], r["round"]): r["target"] for r in targets.to_dict("records")}

# --- targets next to the scores -------------------------------------------------------------------
st.subheader(t("capplan.targets.title"))
st.caption(t("capplan.targets.caption", min=instrument.scale_min, max=instrument.scale_max))
codes = instrument.area_codes()
frame = pd.DataFrame({
    "area": [f"{c} · {names[c]}" for c in codes],
    "baseline": [by_round.get("baseline", pd.Series(dtype=float)).get(c) for c in codes],
    "midpoint": [by_round.get("midpoint", pd.Series(dtype=float)).get(c) for c in codes],
    "target_midpoint": [target_of.get((c, "midpoint")) for c in codes],
    "end": [by_round.get("end", pd.Series(dtype=float)).get(c) for c in codes],
    "target_end": [target_of.get((c, "end")) for c in codes],
}).astype({"baseline": float, "midpoint": float, "target_midpoint": float, "end": float, "target_end": float})
number = {"format": "%.2f", "width": "small"}
target_columns = {
    "area": st.column_config.TextColumn(t("focas.area"), disabled=True, width="large"),
    "baseline": st.column_config.NumberColumn(t("round.baseline"), disabled=True, **number),
    "midpoint": st.column_config.NumberColumn(t("round.midpoint"), disabled=True, **number),
    "target_midpoint": st.column_config.NumberColumn(
        t("capplan.targets.midpoint"), step=0.1, min_value=float(instrument.scale_min),
        max_value=float(instrument.scale_max), **number),
    "end": st.column_config.NumberColumn(t("round.end"), disabled=True, **number),
    "target_end": st.column_config.NumberColumn(
        t("capplan.targets.end"), step=0.1, min_value=float(instrument.scale_min),
        max_value=float(instrument.scale_max), **number),
}
submitted = False
if targets_blocked:
    st.dataframe(frame, hide_index=True, placeholder="—", width="stretch", column_config=target_columns)
    if not plan_blocked:
        st.caption(t("focas.readonly.targets"))
else:
    with st.form("capplan.targets_form"):
        edited = st.data_editor(frame, hide_index=True, width="stretch", key=f"capplan.targets.{government_id}",
                                placeholder="", column_config=target_columns)
        submitted = st.form_submit_button(t("capplan.targets.save"), type="primary")
if submitted:
    changes, expected = {}, {}
    for code, (_, before), (_, after) in zip(codes, frame.iterrows(), edited.iterrows()):
        for column, round_name in (("target_midpoint", "midpoint"), ("target_end", "end")):
            old, new = before[column], after[column]
            if (pd.isna(old) and pd.isna(new)) or old == new:
                continue
            changes[(code, round_name)] = None if pd.isna(new) else float(new)
            expected[(code, round_name)] = None if pd.isna(old) else float(old)
    if changes and save(lambda s: capacity_plan.set_targets(session=s, actor=ui.actor(), government_id=government_id,
                                                            targets=changes, expected=expected)):
        st.session_state.setdefault("capplan.flash", []).append(("success", ui.tp("formatting.targets_saved", len(changes))))
        st.session_state.pop(f"capplan.targets.{government_id}", None)
        st.rerun()

# --- the capacity-building plan -------------------------------------------------------------------
st.subheader(t("capplan.items.title"))
ranked_frame = context["area_scores"]
ranked = [c for c in scoring.rank_areas_for_plan(ranked_frame) if c in names] if not ranked_frame.empty else []
ranked += [c for c in codes if c not in ranked]
score_of = dict(zip(ranked_frame["area_code"], ranked_frame["area_score"])) if not ranked_frame.empty else {}
if context["round"]:
    weakest = ", ".join(f"{c} ({fmt.number(score_of[c], lang)})" for c in ranked[:3] if c in score_of)
    st.caption(t("capplan.items.weakest", round=t(f"round.{context['round']}"), areas=weakest))
else:
    st.caption(t("capplan.items.no_scores"))


def area_label(code: str) -> str:
    score = score_of.get(code)
    return f"{code} · {names[code]}" + ("" if score is None or pd.isna(score) else f" ({fmt.number(score, lang)})")


items = ui.read(queries.plan_items, ui.actor(), government_id)
TYPES = capacity_plan.INTERVENTION_TYPES


def item_form(key: str, current: dict | None) -> capacity_plan.PlanItemInput | None:
    current = current or {}
    with st.form(key, clear_on_submit=not current):
        a1, a2, a3 = st.columns([3, 2, 1])
        area = a1.selectbox(t("focas.area"), ranked, format_func=area_label,
                            index=ranked.index(current["area_code"]) if current.get("area_code") in ranked else 0,
                            help=t("capplan.items.area_help"))
        kind = a2.selectbox(t("capplan.field.type"), TYPES, format_func={v: t(f"capplan.type.{v}") for v in TYPES}.get,
                            index=TYPES.index(current.get("intervention_type", "training")))
        sequence = a3.number_input(t("capplan.field.sequence"), min_value=1, max_value=999, step=1,
                                   value=int(current.get("sequence") or (len(items) + 1)),
                                   help=t("capplan.field.sequence_help"))
        what = st.text_area(t("capplan.field.what"), value=current.get("what", ""), height=70,
                            max_chars=LIMITS["plan.what"])
        b1, b2 = st.columns(2)
        who = b1.text_input(t("capplan.field.who"), value=current.get("who_staff", ""), max_chars=LIMITS["plan.who_staff"])
        where = b2.text_input(t("capplan.field.where"), value=current.get("where_place", ""),
                              max_chars=LIMITS["plan.where_place"])
        resources = b1.text_input(t("capplan.field.resources"), value=current.get("resources", ""),
                                  max_chars=LIMITS["plan.resources"])
        other = b2.text_input(t("capplan.field.other_support"), value=current.get("other_support", ""),
                              help=t("capplan.field.other_support_help"), max_chars=LIMITS["plan.other_support"])
        d1, d2, d3 = st.columns(3)
        start = d1.date_input(t("capplan.field.start"), value=current.get("planned_start"), format=fmt.input_date_format(lang))
        end = d2.date_input(t("capplan.field.end"), value=current.get("planned_end"), format=fmt.input_date_format(lang))
        status = d3.selectbox(t("capplan.field.status"), ITEM_STATUSES, format_func={v: t(f"capplan.status.{v}") for v in ITEM_STATUSES}.get,
                              index=ITEM_STATUSES.index(current.get("status", "planned")))
        submitted = st.form_submit_button(t("common.save") if current else t("capplan.items.add"), type="primary")
    if not submitted:
        return None
    return capacity_plan.PlanItemInput(area_code=area, intervention_type=kind, what=what, who_staff=who,
                                       where_place=where, sequence=sequence, resources=resources,
                                       other_support=other, planned_start=start, planned_end=end, status=status)


if items.empty:
    st.info(t("capplan.items.none"))
else:
    shown = items.assign(
        area_code=items["area_code"].map(lambda c: f"{c} · {names.get(c, c)}"),
        intervention_type=items["intervention_type"].map(lambda v: t(f"capplan.type.{v}")),
        status=items["status"].map(lambda v: t(f"capplan.status.{v}")),
        planned_start=fmt.date_column(items["planned_start"], lang),
        planned_end=fmt.date_column(items["planned_end"], lang),
    )[["sequence", "area_code", "intervention_type", "what", "who_staff", "where_place", "resources",
       "other_support", "planned_start", "planned_end", "status"]]
    ui.table(shown, file_name="plan_de_capacidades.csv", key="capplan.items_table", column_labels={
        "sequence": t("capplan.field.sequence"), "area_code": t("focas.area"), "intervention_type": t("capplan.field.type"),
        "what": t("capplan.field.what"), "who_staff": t("capplan.field.who"), "where_place": t("capplan.field.where"),
        "resources": t("capplan.field.resources"), "other_support": t("capplan.field.other_support"),
        "planned_start": t("capplan.field.start"), "planned_end": t("capplan.field.end"),
        "status": t("capplan.field.status")})

if plan_blocked:
    st.stop()
removals.undo_offer(f"capplan.items.{government_id}")
with st.expander(t("capplan.items.add_title"), expanded=items.empty):
    data = item_form(f"capplan.add.{government_id}", None)
    if data and save(lambda s: capacity_plan.add_plan_item(session=s, actor=ui.actor(), government_id=government_id,
                                                           data=data)):
        st.session_state.setdefault("capplan.flash", []).append(("success", t("capplan.items.added")))
        st.rerun()

if not items.empty:
    with st.expander(t("capplan.items.edit_title")):
        records = {r["id"]: r for r in items.to_dict("records")}
        chosen = st.selectbox(t("capplan.items.pick"), list(records), key="capplan.edit_pick",
                              format_func=lambda i: f"{records[i]['sequence']}. {records[i]['what'][:80]}")
        current = records[chosen]
        data = item_form(f"capplan.edit.{chosen}", current)
        if data and save(lambda s: capacity_plan.update_plan_item(
                session=s, actor=ui.actor(), item_id=chosen, data=data, expected_updated_at=current["updated_at"])):
            st.session_state.setdefault("capplan.flash", []).append(("success", t("common.saved")))
            st.rerun()
        short = ui.plain(current["what"] if len(current["what"]) <= 60 else current["what"][:59] + "…")
        removals.confirm_removal(
            scope=f"capplan.items.{government_id}", key=f"capplan.delete.{chosen}", entity="capacity_plan_item",
            entity_id=chosen, what=t("removals.plan_item", what=short), label=t("removals.plan_item_short", what=short),
            pressed=st.button(t("capplan.items.delete"), key=f"capplan.delete.{chosen}"),
            removed=t("capplan.items.deleted"),
            remove=lambda s: capacity_plan.delete_plan_item(session=s, actor=ui.actor(), item_id=chosen))
