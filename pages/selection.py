"""Cluster selection: score candidate provinces and districts on the plan's criteria and create the cluster."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from assessments import cluster_plan, selection
from assessments import formatting as fmt
from db.engine import run_save
from db.models.base import SECTORS
from db.queries import registry
from assessments.i18n import translator
from assessments.text import LIMITS
from pages import ui

lang = ui.lang()
t = translator(lang)  # bound to this run's language, also inside widgets' format functions
st.title(t("selection.title"))
st.caption(t("selection.caption"))


def remembered(key: str, options: list, default=None):
    value = st.session_state.get(f"{key}_value", default)
    return options.index(value) if value in options else 0


def flash(message: str, warnings: list[str] | None = None) -> None:
    st.session_state["selection.flash"] = (message, warnings or [])


def version(name: str) -> int:
    return st.session_state.get(f"selection.v.{name}", 0)


def bump(name: str) -> None:
    st.session_state[f"selection.v.{name}"] = version(name) + 1


def save(work, *, refresh: str | None = None):
    """Run a write in one transaction; errors are kept for the next run (callbacks cannot draw)."""
    try:
        result = run_save(work)  # a transient conflict is retried; a database fault is a DomainError too
    except Exception as error:  # noqa: BLE001 - DomainErrors are shown, anything else re-raised
        from assessments.errors import DomainError

        if not isinstance(error, DomainError):
            raise
        st.session_state["selection.error"] = ui.message_of(error)
        return None  # the editor keeps its key, so what was typed stays on screen to be saved again
    if refresh:
        bump(refresh)
    return result


def on_editor_change(editor_key: str, make_edits, apply, refresh: str) -> None:
    edited = (st.session_state.get(editor_key) or {}).get("edited_rows") or {}
    if not edited:
        return
    edits = make_edits(edited)
    if edits:
        save(lambda s: apply(s, edits), refresh=refresh)


departments = ui.read(registry.departments)
department_codes = list(departments["code"])
department_names = dict(zip(departments["code"], departments["name"]))
department = st.selectbox(t("common.department"), options=department_codes,
                          index=remembered("selection.department", department_codes),
                          format_func=lambda c: f"{department_names[c]} ({c})", key="selection.department")
st.session_state["selection.department_value"] = department

if message := st.session_state.pop("selection.flash", None):
    st.success(message[0])
    for warning in message[1]:
        st.warning(warning)
if error := st.session_state.pop("selection.error", None):
    st.error(error, icon=":material/warning:")
writable = ui.can_write("selection.write")  # otherwise the selection is shown read-only, with one line saying why

records = ui.read(selection.records, department)
records = records.assign(cluster=records["cluster"].fillna(""), province=records["province"].fillna(""))


def record_label(row: dict) -> str:
    if row["scope"] == "province":
        label = t("selection.record_label_province", wave=row["wave"])
    else:
        label = t("selection.record_label_district", wave=row["wave"], province=row["province"])
    return f"{label} · {t('selection.linked', cluster=row['cluster'])}" if row["cluster"] else label


if writable:
    with st.expander(t("selection.new"), expanded=records.empty):
        with st.form("selection.new_form", clear_on_submit=False):
            left, middle, right = st.columns(3)
            wave = left.number_input(t("common.wave"), min_value=1, max_value=20, step=1, value=1)
            scale_min = middle.number_input(t("selection.scale_min"), value=1, step=1)
            scale_max = right.number_input(t("selection.scale_max"), value=5, step=1)
            notes = st.text_area(t("common.notes"), key="selection.new_notes", max_chars=LIMITS["selection.notes"])
            st.caption(t("selection.new_help"))
            if st.form_submit_button(t("selection.new_submit"), type="primary"):
                created = save(lambda s: selection.create_record(
                    session=s, actor=ui.actor(), department_code=department, wave=wave, scope="province",
                    scale_min=scale_min, scale_max=scale_max, notes=notes, lang=lang))
                if created is not None:
                    st.session_state["selection.record_value"] = created.id
                    st.session_state["selection.record_pending"] = created.id
                    flash(t("selection.created"))
                st.rerun()

if records.empty:
    st.info(t("selection.none"))
    st.stop()

shown = records.assign(
    scope=[t(f"selection.scope.{s}") for s in records["scope"]],
    province=records["province"].fillna(""), cluster=records["cluster"].fillna(""),
)[["wave", "scope", "province", "n_candidates", "n_criteria", "n_scores", "cluster"]]
ui.table(shown, file_name=f"selection_{department}.csv", key="selection.records_table", column_labels={
    "wave": t("common.wave"), "scope": t("selection.col.scope"), "province": t("common.province"),
    "n_candidates": t("selection.col.candidates"), "n_criteria": t("selection.col.criteria"),
    "n_scores": t("selection.col.scores"), "cluster": t("common.cluster"),
})

record_rows = {r["id"]: r for r in records.to_dict("records")}
record_ids = list(record_rows)
record_key = f"selection.record.{department}"
pending = st.session_state.pop("selection.record_pending", None)
if pending in record_ids:
    # a just-created selection is shown: the widget's own state wins over ``index`` once it exists
    st.session_state[record_key] = pending
record_id = st.selectbox(t("selection.pick_record"), options=record_ids,
                         index=0 if record_key in st.session_state else remembered("selection.record", record_ids),
                         format_func=lambda rid: record_label(record_rows[rid]), key=record_key)
st.session_state["selection.record_value"] = record_id
current = record_rows[record_id]
scale = (int(current["scale_min"]), int(current["scale_max"]))
st.caption(t("selection.scale_note", min=scale[0], max=scale[1]))
if current["notes"]:
    st.text(current["notes"])

if writable:
    with st.expander(t("selection.settings")):
        with st.form(f"selection.settings_form.{record_id}"):
            left, right = st.columns(2)
            new_min = left.number_input(t("selection.scale_min"), value=scale[0], step=1)
            new_max = right.number_input(t("selection.scale_max"), value=scale[1], step=1)
            new_notes = st.text_area(t("common.notes"), value=current["notes"], max_chars=LIMITS["selection.notes"])
            if st.form_submit_button(t("common.save")):
                if save(lambda s: selection.update_record(session=s, actor=ui.actor(), record_id=record_id,
                                                          scale_min=new_min, scale_max=new_max,
                                                          notes=new_notes)) is not None:
                    bump("scores")
                    flash(t("selection.settings_saved"))
                st.rerun()
        if not current["cluster"]:
            confirm_record = st.checkbox(t("selection.confirm_delete_record"), key=f"selection.confirm_record.{record_id}")
            if st.button(t("selection.delete_record"), key=f"selection.delete_record.{record_id}",
                         disabled=not confirm_record):
                deleted = save(lambda s: selection.delete_record(session=s, actor=ui.actor(), record_id=record_id) or True)
                if deleted:
                    st.session_state.pop("selection.record_value", None)
                    flash(t("selection.record_deleted"))
                st.rerun()

criteria = ui.read(selection.criteria, record_id)
name_column = "name_es" if lang == "es" else "name_en"
criterion_ids = dict(zip(criteria["code"], criteria["id"]))
criterion_names = dict(zip(criteria["code"], criteria[name_column]))

# --- ranking ------------------------------------------------------------------------------------
st.subheader(t("selection.ranking"))
ranking = ui.read(selection.ranking, record_id)
if ranking.empty:
    st.info(t("selection.no_candidates"))
else:
    ranked = ranking.assign(
        # a candidate with no weighted score yet has no total and no rank: empty cells, not "None"
        total=["" if pd.isna(v) else fmt.number(v, lang) for v in ranking["total"]],
        rank=["" if pd.isna(v) else str(int(v)) for v in ranking["rank"]],
        capital=[("✓" if u.endswith("01") and len(u) == 6 else "") for u in ranking["ubigeo"]],
        p20=ranking["p20"].map({True: "✓", False: ""}),
        chosen=ranking["chosen"].map({True: "✓", False: ""}),
    )
    columns = ["rank", "name", "ubigeo", "total", "n_scored", "n_missing", "n_districts", "p20", "chosen"]
    if current["scope"] == "district":
        columns.remove("n_districts")
        columns[columns.index("p20")] = "capital"
    ui.table(ranked[columns], file_name=f"selection_ranking_{department}.csv", key="selection.ranking_table",
             column_labels={"rank": t("selection.col.rank"), "name": t("common.name"), "ubigeo": t("common.ubigeo"),
                            "total": t("selection.col.total", min=scale[0], max=scale[1]),
                            "n_scored": t("selection.col.n_scored"), "n_missing": t("selection.col.n_missing"),
                            "n_districts": t("selection.col.n_districts"), "p20": t("selection.col.p20"),
                            "capital": t("selection.col.capital"),
                            "chosen": t("selection.col.chosen")})
    st.caption(t("selection.ranking_help"))

# --- editing ------------------------------------------------------------------------------------
tab_scores, tab_evidence, tab_criteria, tab_candidates = st.tabs(
    [t("selection.tab.scores"), t("selection.tab.evidence"), t("selection.tab.criteria"),
     t("selection.tab.candidates")])

with tab_scores:
    grid = ui.read(selection.score_matrix, record_id)
    if grid.empty:
        st.info(t("selection.no_candidates"))
    else:
        st.caption(t("selection.scores_help", min=scale[0], max=scale[1]))
        weights = dict(zip(criteria["code"], criteria["weight"]))
        config = {"candidate_id": None, "ubigeo": st.column_config.TextColumn(t("common.ubigeo"), disabled=True),
                  "name": st.column_config.TextColumn(t("selection.col.candidate"), disabled=True)}
        for code in criterion_ids:
            config[code] = st.column_config.NumberColumn(
                t("selection.criterion_header", name=criterion_names[code], weight=f"{weights[code]:g}"),
                min_value=scale[0], max_value=scale[1], step=0.5, help=criterion_names[code])
        if writable:
            editor_key = f"selection.scores.{record_id}.{version('scores')}"
            st.data_editor(
                grid, column_config=config, hide_index=True, key=editor_key, width="stretch", placeholder="",
                disabled=["ubigeo", "name"],
                on_change=on_editor_change,
                args=(editor_key,
                      lambda edited, g=grid: selection.edits_from_matrix(g, edited, criterion_ids),
                      lambda s, edits: selection.apply_score_edits(session=s, actor=ui.actor(), record_id=record_id,
                                                                   edits=edits),
                      "scores"),
            )
            st.caption(t("selection.autosave"))
        else:
            ui.table(grid.drop(columns=["candidate_id"]), file_name=f"selection_scores_{department}.csv",
                     key="selection.scores_table",
                     column_labels={"ubigeo": t("common.ubigeo"), "name": t("selection.col.candidate"),
                                    **{code: config[code]["label"] for code in criterion_ids}})

with tab_evidence:
    cells = ui.read(selection.scores, record_id)
    if cells.empty:
        st.info(t("selection.no_candidates"))
    else:
        if writable:
            st.caption(t("selection.evidence_help"))
        view = cells.assign(criterion=cells["criterion_es" if lang == "es" else "criterion_en"])
        if writable:
            editor_key = f"selection.evidence.{record_id}.{version('scores')}"
            st.data_editor(
                view[["candidate", "criterion", "score", "evidence"]],
                column_config={
                    "candidate": st.column_config.TextColumn(t("selection.col.candidate"), disabled=True),
                    "criterion": st.column_config.TextColumn(t("selection.col.criterion"), disabled=True),
                    "score": st.column_config.NumberColumn(t("selection.col.score"), min_value=scale[0],
                                                           max_value=scale[1], step=0.5),
                    "evidence": st.column_config.TextColumn(t("selection.col.evidence"), width="large",
                                                            max_chars=LIMITS["selection.evidence"]),
                },
                hide_index=True, key=editor_key, width="stretch", placeholder="", disabled=["candidate", "criterion"],
                on_change=on_editor_change,
                args=(editor_key,
                      lambda edited, c=cells: selection.edits_from_cells(c, edited),
                      lambda s, edits: selection.apply_score_edits(session=s, actor=ui.actor(), record_id=record_id,
                                                                   edits=edits),
                      "scores"),
            )
        else:
            ui.table(view[["candidate", "criterion", "score", "evidence"]], file_name=f"selection_evidence_{department}.csv",
                     key="selection.evidence_table",
                     column_labels={"candidate": t("selection.col.candidate"), "criterion": t("selection.col.criterion"),
                                    "score": t("selection.col.score"), "evidence": t("selection.col.evidence")})

with tab_criteria:
    if writable:
        st.caption(t("selection.criteria_help"))
        editor_key = f"selection.criteria.{record_id}.{version('criteria')}"
        criteria_view = criteria[["id", "name_es", "name_en", "weight"]]

        def criterion_edits(edited, frame=criteria_view):
            return [selection.CriterionEdit(criterion_id=frame.iloc[int(i)]["id"], weight=c.get("weight"),
                                            name_es=c.get("name_es"), name_en=c.get("name_en"))
                    for i, c in edited.items()]

        st.data_editor(
            criteria_view,
            column_config={"id": None,
                           "name_es": st.column_config.TextColumn(t("selection.col.name_es"), width="large",
                                                                  max_chars=LIMITS["selection.criterion.name"]),
                           "name_en": st.column_config.TextColumn(t("selection.col.name_en"), width="large",
                                                                  max_chars=LIMITS["selection.criterion.name"]),
                           "weight": st.column_config.NumberColumn(t("selection.col.weight"), min_value=0.0, step=0.5)},
            hide_index=True, key=editor_key, width="stretch", placeholder="",
            on_change=on_editor_change,
            args=(editor_key, criterion_edits,
                  lambda s, edits: selection.apply_criterion_edits(session=s, actor=ui.actor(), record_id=record_id,
                                                                   edits=edits),
                  "criteria"),
        )
        with st.form(f"selection.add_criterion.{record_id}.{version('criteria')}"):
            st.markdown(f"**{t('selection.add_criterion')}**")
            left, middle, right = st.columns([3, 3, 1])
            new_es = left.text_input(t("selection.col.name_es"), max_chars=LIMITS["selection.criterion.name"])
            new_en = middle.text_input(t("selection.col.name_en"), max_chars=LIMITS["selection.criterion.name"])
            new_weight = right.text_input(t("selection.col.weight"), value="1")
            if st.form_submit_button(t("selection.add_criterion_submit")):
                if save(lambda s: selection.add_criterion(session=s, actor=ui.actor(), record_id=record_id,
                                                          name_es=new_es, name_en=new_en, weight=new_weight)) is not None:
                    bump("criteria")  # a fresh form and editor; a refused criterion keeps what was typed
                    bump("scores")
                    flash(t("selection.criterion_added"))
                st.rerun()
        left, right = st.columns([3, 1])
        to_delete = left.selectbox(t("selection.delete_criterion"), options=list(criteria["id"]),
                                   format_func=dict(zip(criteria["id"], criteria[name_column])).get,
                                   key=f"selection.delete_criterion.{record_id}")
        confirm = right.checkbox(t("selection.confirm_delete_criterion"), key=f"selection.confirm_delete.{record_id}")
        if right.button(t("common.delete"), key=f"selection.delete_criterion_button.{record_id}", disabled=not confirm):
            save(lambda s: selection.delete_criterion(session=s, actor=ui.actor(), criterion_id=to_delete),
                 refresh="criteria")
            bump("scores")
            st.rerun()
    else:
        ui.table(criteria[["name_es", "name_en", "weight"]], file_name=f"selection_criteria_{department}.csv",
                 key="selection.criteria_table",
                 column_labels={"name_es": t("selection.col.name_es"), "name_en": t("selection.col.name_en"),
                                "weight": t("selection.col.weight")})

with tab_candidates:
    if current["scope"] == "province":
        places = ui.read(selection.provinces_of, department)
        labels = {r["ubigeo"]: t("selection.province_option", name=r["name"], ubigeo=r["ubigeo"],
                                 count=r["n_districts"]) for r in places.to_dict("records")}
    else:
        places = ui.read(selection.districts_of, current["province_code"])
        labels = {r["ubigeo"]: f"{r['name']} ({r['ubigeo']})" + (f" · {t('selection.capital')}" if r["is_capital"]
                                                                  else "") for r in places.to_dict("records")}
    present = list(ui.read(selection.candidates, record_id)["ubigeo"])
    if not writable:  # place names as plain text, one per line
        st.text("\n".join(labels.get(u, u) for u in present) if present else t("selection.no_candidates"))
    else:
        with st.form(f"selection.candidates_form.{record_id}"):
            chosen = st.multiselect(t("selection.candidates"), options=list(labels), default=present,
                                    format_func=labels.get, placeholder=t("selection.choose"))
            st.caption(t("selection.candidates_help"))
            if st.form_submit_button(t("common.save")):
                result = save(lambda s: selection.set_candidates(session=s, actor=ui.actor(), record_id=record_id,
                                                                 ubigeos=chosen), refresh="scores")
                if result is not None:
                    flash(t("selection.candidates_saved", added=result[0], removed=result[1]))
                st.rerun()

# --- districts of a province --------------------------------------------------------------------
children = records[records["parent_id"] == record_id] if current["scope"] == "province" else records.iloc[0:0]
if writable and current["scope"] == "province" and not ranking.empty:
    st.subheader(t("selection.districts_step"))
    st.caption(t("selection.districts_step_help"))
    done = set(children["province_code"])
    open_options = [u for u in ranking["ubigeo"] if u not in done]
    names = dict(zip(ranking["ubigeo"], ranking["name"]))
    if open_options:
        left, right = st.columns([3, 1])
        province_for_districts = left.selectbox(t("selection.pick_province"), options=open_options,
                                                format_func=lambda u: f"{names[u]} ({u})",
                                                key=f"selection.district_province.{record_id}.{open_options[0]}")
        if right.button(t("selection.open_districts"), key=f"selection.open_districts.{record_id}"):
            created = save(lambda s: selection.create_record(
                session=s, actor=ui.actor(), department_code=department, wave=current["wave"], scope="district",
                province_code=province_for_districts, parent_id=record_id, scale_min=scale[0], scale_max=scale[1],
                lang=lang))
            if created is not None:
                st.session_state["selection.record_value"] = created.id
                st.session_state["selection.record_pending"] = created.id
                flash(t("selection.created"))
            st.rerun()

# --- create the cluster from the winners --------------------------------------------------------
if writable and not ranking.empty:
    st.subheader(t("selection.create_cluster"))
    if current["scope"] == "province":
        open_provinces = [u for u, c in zip(ranking["ubigeo"], ranking["chosen"]) if not c]
        names = dict(zip(ranking["ubigeo"], ranking["name"]))
        already = [n for n, c in zip(ranking["name"], ranking["chosen"]) if c]
        if already:
            st.caption(t("selection.already_chosen", names=ui.plain(", ".join(already))))
        plan = ui.read(cluster_plan.plan_vs_formed)
        plan = plan[(plan["department_code"] == department) & (plan["wave"] == current["wave"])]
        if not plan.empty:
            st.caption(t("selection.plan_hint", wave=current["wave"], planned=int(plan["planned"].iloc[0]),
                         formed=int(plan["formed"].iloc[0])))
        if not open_provinces:
            st.info(t("selection.all_chosen"))
            st.stop()
        province = st.selectbox(t("selection.winner_province"), options=open_provinces,
                                format_func=lambda u: f"{names[u]} ({u})",
                                # keyed on the leader: when the ranking changes, the new leader is offered
                                key=f"selection.winner.{record_id}.{open_provinces[0]}")
        child = children[children["province_code"] == province]
        district_ranking = ui.read(selection.ranking, child.iloc[0]["id"]) if not child.empty else None
        province_name = names[province]
    else:
        province = current["province_code"]
        district_ranking = ranking
        province_name = current["province"]
        if current["cluster"]:
            st.info(t("selection.already_linked", cluster=ui.plain(current["cluster"])))
            st.stop()
    districts = ui.read(selection.districts_of, province)
    district_labels = {r["ubigeo"]: f"{r['name']} ({r['ubigeo']})" + (f" · {t('selection.capital')}"
                                                                       if r["is_capital"] else "")
                       for r in districts.to_dict("records")}
    default_districts = []
    if district_ranking is not None and not district_ranking.empty:
        default_districts = [u for u in district_ranking.dropna(subset=["total"])["ubigeo"]][:3]
    with st.form(f"selection.cluster_form.{record_id}.{province}"):
        name = st.text_input(t("common.name"), value=province_name, max_chars=LIMITS["cluster.name"])
        chosen_districts = st.multiselect(t("selection.winner_districts"), options=list(district_labels),
                                          default=default_districts, format_func=district_labels.get,
                                          placeholder=t("selection.choose"))
        st.caption(t("selection.capital_help"))
        left, right = st.columns(2)
        sectors = left.multiselect(t("common.sectors"), options=list(SECTORS), format_func=lambda s: t(f"sector.{s}"),
                                   placeholder=t("selection.choose"))
        wave_date = right.date_input(t("selection.wave_date"), value=None, format=fmt.input_date_format(lang))
        notes = st.text_area(t("common.notes"), key=f"selection.cluster_notes.{record_id}",
                             max_chars=LIMITS["cluster.notes"])
        if st.form_submit_button(t("selection.create_cluster_submit"), type="primary"):
            result = save(lambda s: selection.create_cluster_from_selection(
                session=s, actor=ui.actor(), record_id=record_id, province_code=province,
                district_ubigeos=chosen_districts, name=name, sectors=sectors, wave_date=wave_date, notes=notes))
            if result is not None:
                cluster, warnings = result
                flash(t("selection.cluster_created", name=ui.plain(cluster.name)), [ui.message_of(w) for w in warnings])
            st.rerun()
