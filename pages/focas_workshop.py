"""FOCAS workshop: pick a government and round, record the room, everyone's scores, the consensus, and validate."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from assessments import focas
from assessments import formatting as fmt
from assessments.instruments import MANDATORY_AREA_CODES
from assessments.text import LIMITS
from db.engine import write_session
from db.models.base import INDIGENOUS, PARTICIPANT_ROLES, SEXES
from db.queries import entry as entry_queries
from db.queries import focas as queries
from db.queries import scope as read_scope
from pages import _entry as entry_ui
from pages import _focas_widgets as widgets
from pages import ui

t = ui.t
lang = ui.lang()
SECTIONS = ("participants", "scores", "results", "instrument", "validation")


def save(work, *, success: str | None = None):
    """Run one write unit of work; show a translated error instead of a traceback."""
    def run():
        with write_session() as session:
            return work(session)
    return ui.attempt(run, success=success)


def flash(message: str, kind: str = "success") -> None:
    st.session_state.setdefault("focas.flash", []).append((kind, message))


def show_flash() -> None:
    for kind, message in st.session_state.pop("focas.flash", []):
        getattr(st, kind)(message)


# --- choose government and round -------------------------------------------------------------

st.title(t("focas.title"))
st.caption(t("focas.caption"))
show_flash()

cluster_id, government_id, round_name = widgets.government_picker(with_round=True)
# who may change this government's workshop (the services refuse anyway; this hides what would be refused)
blocked = focas.read_only_reason(ui.actor(), "assessment.write", government_id=government_id, cluster_id=cluster_id)

rounds = ui.read(queries.government_assessments, ui.actor(), government_id)
if not rounds.empty:
    status_line = " · ".join(
        f"{t('round.' + r['round'])}: {t('focas.status.' + r['status'])} ({r['n_participants']} "
        f"{t('focas.people')}, {r['n_consensus']} {t('focas.agreed_short')})"
        for r in rounds.to_dict("records")
    )
    st.caption(status_line)
existing = rounds.loc[rounds["round"] == round_name]

if existing.empty and blocked:
    st.info(t(blocked), icon=":material/visibility:")
    st.caption(t("focas.readonly.no_assessment", round=t(f"round.{round_name}")))
    st.stop()
if existing.empty:
    st.subheader(t("focas.start.title", round=t(f"round.{round_name}")))
    if round_name != "baseline":
        st.caption(t("focas.start.reuses_baseline"))
    with st.form("focas.start_form"):
        c1, c2, c3 = st.columns(3)
        workshop_date = c1.date_input(t("focas.field.date"), value=fmt.today(), format=fmt.input_date_format(lang),
                                      key="focas.start.date")
        place = c2.text_input(t("focas.field.place"), key="focas.start.place", max_chars=LIMITS["focas.workshop.place"])
        facilitator = c3.text_input(t("focas.field.facilitator"), value=ui.actor().full_name,
                                    key="focas.start.facilitator", max_chars=LIMITS["focas.workshop.facilitator"])
        started = st.form_submit_button(t("focas.start.button"), type="primary")
    if started:
        result = save(lambda s: focas.start_assessment(
            session=s, actor=ui.actor(), government_id=government_id, cluster_id=cluster_id, round=round_name,
            workshop_date=workshop_date, place=place, facilitator=facilitator))
        if result:
            flash(t("focas.start.created" if result[1] else "focas.start.resumed"))
            st.rerun()
    st.stop()

assessment_id = existing.iloc[0]["id"]
header = ui.attempt(lambda: ui.read(queries.assessment_header, ui.actor(), assessment_id))  # not in your clusters
if header is None:
    st.stop()
instrument = ui.read(queries.instrument, header["instrument_id"])
validated = header["status"] == "validated"
scale_text = " · ".join(f"{lv.level} = {lv.name.get(lang)}" for lv in instrument.levels)

# --- header: status, details, the lock ------------------------------------------------------

version_note = t("focas.instrument.default_version", version=header["instrument_version"]) \
    if header["instrument_is_default"] else t("focas.instrument.own_version", version=header["instrument_version"],
                                              based_on=header["based_on_version"] or "—")
st.markdown(f"**{ui.plain(header['government'])}** · {t('round.' + header['round'])} · {version_note}")
if validated:
    st.success(t("focas.validated_on", when=fmt.datetime(header["validated_at"], lang),
                 who=ui.plain(header["validated_by"] or "—")), icon=":material/lock:")
if blocked:
    st.info(t(blocked), icon=":material/visibility:")
    reason = None
elif validated:
    with st.expander(t("focas.locked.correct"), expanded=bool(st.session_state.get("focas.reason"))):
        st.caption(t("focas.locked.help"))
        st.text_input(t("focas.locked.reason"), key="focas.reason", max_chars=LIMITS["focas.reason"])
    reason = (st.session_state.get("focas.reason") or "").strip() or None
    if not reason:
        st.info(t("focas.readonly.validated"), icon=":material/lock:")
else:
    st.info(t("focas.draft_autosave"), icon=":material/save:")
    reason = None
editable = not blocked and (not validated or bool(reason))

with st.expander(t("focas.details.title")):
    if blocked:
        st.markdown(f"{t('focas.field.date')}: {fmt.date(header['workshop_date'], lang)} · {t('focas.field.place')}: "
                    f"{ui.plain(header['place'] or '—')} · {t('focas.field.facilitator')}: "
                    f"{ui.plain(header['facilitator'] or '—')}")
    else:
        with st.form(f"focas.details.{assessment_id}"):
            c1, c2, c3 = st.columns(3)
            new_date = c1.date_input(t("focas.field.date"), value=header["workshop_date"], format=fmt.input_date_format(lang))
            new_place = c2.text_input(t("focas.field.place"), value=header["place"],
                                      max_chars=LIMITS["focas.workshop.place"])
            new_facilitator = c3.text_input(t("focas.field.facilitator"), value=header["facilitator"],
                                            max_chars=LIMITS["focas.workshop.facilitator"])
            new_notes = st.text_area(t("common.notes"), value=header["notes"], max_chars=LIMITS["focas.workshop.notes"])
            if st.form_submit_button(t("common.save"), disabled=not editable):
                if save(lambda s: focas.update_details(
                        session=s, actor=ui.actor(), assessment_id=assessment_id, workshop_date=new_date,
                        place=new_place, facilitator=new_facilitator, notes=new_notes,
                        expected_updated_at=header["updated_at"], reason=reason)):
                    flash(t("common.saved"))
                    st.rerun()

section = st.segmented_control(
    t("focas.section"), options=list(SECTIONS), format_func={s: t(f"focas.section.{s}") for s in SECTIONS}.get,
    default=ui.remembered("focas.section_value", "section", list(SECTIONS)) or "participants", required=True,
    key="focas.section", label_visibility="collapsed",
)
ui.remember("focas.section_value", "section", section)


# --- participants -----------------------------------------------------------------------------


def participant_fields(prefix: str, current: dict | None = None) -> focas.ParticipantInput:
    current = current or {}
    c1, c2, c3 = st.columns([2, 1, 2])
    full_name = c1.text_input(t("focas.participant.name"), value=current.get("full_name", ""), key=f"{prefix}.name",
                              max_chars=LIMITS["focas.participant.full_name"])
    code = c2.text_input(t("focas.participant.code"), value=current.get("code", ""), key=f"{prefix}.code",
                         help=t("focas.participant.code_help"), max_chars=LIMITS["focas.participant.code"])
    organisation = c3.text_input(t("focas.participant.organisation"), value=current.get("organisation", ""),
                                 key=f"{prefix}.organisation", max_chars=LIMITS["focas.participant.organisation"])
    c4, c5, c6 = st.columns(3)
    sex = c4.selectbox(t("focas.participant.sex"), SEXES, format_func={v: t(f"sex.{v}") for v in SEXES}.get,
                       index=SEXES.index(current.get("sex", "female")), key=f"{prefix}.sex")
    indigenous = c5.selectbox(t("focas.participant.indigenous"), INDIGENOUS,
                              format_func={v: t(f"indigenous.{v}") for v in INDIGENOUS}.get,
                              index=INDIGENOUS.index(current.get("indigenous", "undisclosed")),
                              key=f"{prefix}.indigenous", help=t("focas.participant.indigenous_help"))
    role = c6.selectbox(t("focas.participant.role"), PARTICIPANT_ROLES, format_func={v: t(f"focas.role.{v}") for v in PARTICIPANT_ROLES}.get,
                        index=PARTICIPANT_ROLES.index(current.get("role", "official")), key=f"{prefix}.role")
    return focas.ParticipantInput(full_name=full_name, code=code, sex=sex, indigenous=indigenous, role=role,
                                  organisation=organisation)


def participants_section() -> None:
    people = ui.read(queries.participants, ui.actor(), assessment_id)
    counts = ui.read(queries.attendance, ui.actor(), assessment_id)
    st.subheader(ui.tp("formatting.attendance", len(people)))
    if not blocked:
        # the register owns the keyboard in the browser: the next person can be typed at once, nothing is lost
        st.markdown(f"**{t('focas.participant.add')}**")
        entry_ui.surface(key=f"focas.register.{assessment_id}", assessment_id=assessment_id, editable=editable,
                         reason=reason, data=entry_ui.register_data())

    c1, c2, c3 = st.columns(3)
    for column, dimension, prefix in ((c1, "sex", "sex"), (c2, "indigenous", "indigenous"),
                                      (c3, "role", "focas.role")):
        with column:
            st.markdown(f"**{t('focas.attendance.' + dimension)}**")
            for value, n in counts[dimension].items():
                st.write(f"{t(prefix + '.' + value)}: {fmt.integer(n, lang)}")
    for key in focas.attendance_warnings(counts):
        st.warning(t(key), icon=":material/warning:")

    from pages import _participant_import; _participant_import.section(assessment_id=assessment_id, editable=editable, blocked=bool(blocked), reason=reason)  # noqa: E702,E501
    if people.empty:
        st.info(t("focas.participant.none"))
        return
    shown = people.assign(
        sex=people["sex"].map(lambda v: t(f"sex.{v}")),
        indigenous=people["indigenous"].map(lambda v: t(f"indigenous.{v}")),
        role=people["role"].map(lambda v: t(f"focas.role.{v}")),
    )[["code", "full_name", "sex", "indigenous", "role", "organisation", "n_scores"]]
    names_shown = read_scope.sees_names(ui.actor())
    if not names_shown:  # evaluators: a pseudonym per person, no name column
        shown = shown.drop(columns="full_name")
        st.caption(t("read_scope.pseudonymised_caption"))
    headers = {"code": t("focas.participant.code"), "full_name": t("focas.participant.name"),
               "sex": t("focas.participant.sex"), "indigenous": t("focas.participant.indigenous"),
               "role": t("focas.participant.role"), "organisation": t("focas.participant.organisation"),
               "n_scores": t("focas.participant.n_scores")}
    headers = {column: label for column, label in headers.items() if column in shown.columns}
    st.dataframe(shown.rename(columns=headers), hide_index=True, placeholder="—", width="stretch")
    # the list with names is written (and audited) only when the download is clicked
    who, labels = ui.actor(), {"sex": {v: t(f"sex.{v}") for v in SEXES},
                               "indigenous": {v: t(f"indigenous.{v}") for v in INDIGENOUS},
                               "role": {v: t(f"focas.role.{v}") for v in PARTICIPANT_ROLES}}
    st.download_button(t("common.download_csv"), data=lambda: queries.participants_csv(who, assessment_id, headers, labels),
                       file_name="participantes.csv", mime="text/csv", key="focas.participants_table_csv",
                       on_click="ignore")
    if names_shown:
        st.caption(t("read_scope.download_audited"))
    if blocked:
        return

    with st.expander(t("focas.participant.edit")):
        from pages import _participant_import, _removals

        records = {r["id"]: r for r in people.to_dict("records")}
        chosen = st.selectbox(t("focas.participant.pick"), list(records),
                              format_func=lambda i: f"{records[i]['code']} · {records[i]['full_name']}",
                              key="focas.edit_pick")
        current = records[chosen]
        with st.form(f"focas.edit_participant.{chosen}"):
            data = participant_fields(f"focas.edit.{chosen}", current)
            b1, b2 = st.columns(2)
            update = b1.form_submit_button(t("common.save"), disabled=not editable)
            remove = b2.form_submit_button(t("focas.participant.remove"), disabled=not editable)
        if update and save(lambda s: focas.update_participant(
                session=s, actor=ui.actor(), participant_id=chosen, data=data,
                expected_updated_at=current["updated_at"], reason=reason)):
            flash(t("common.saved"))
            st.rerun()
        # someone with scores is only removed after a yes; the last removal can be undone (above the list)
        n_scores = int(current["n_scores"])
        _removals.confirm_removal(
            scope=_participant_import.scope(assessment_id), key=f"focas.remove.{chosen}", entity="participant",
            entity_id=chosen, what=t("removals.participant", code=ui.plain(current["code"])),
            label=t("removals.participant_short", code=ui.plain(current["code"])),
            losses=ui.tp("formatting.n_scores", n_scores) if n_scores else None, ask=n_scores > 0, pressed=remove,
            removed=t("focas.participant.removed", code=ui.plain(current["code"])),
            remove=lambda s: focas.remove_participant(session=s, actor=ui.actor(), participant_id=chosen,
                                                      reason=reason))


# --- scores: the browser entry surface (grid and consensus of every area) ------------------------


def descriptors_table(area) -> pd.DataFrame:
    return pd.DataFrame([
        {t("focas.indicator"): f"{ind.code} · {ind.name.get(lang)}",
         **{f"{lv.level} · {lv.name.get(lang)}": ind.descriptors[lv.level].get(lang)
            for lv in instrument.levels if lv.level in ind.descriptors}}
        for ind in area.indicators
    ])


def remember_place(nav: dict) -> None:
    """The area and view the facilitator is on, kept in the URL so a reload opens the same screen."""
    areas = instrument.area_codes()
    if nav.get("area") in areas:
        ui.remember("focas.area_value", "area", nav["area"])
    if nav.get("view") in ("individual", "consensus"):
        ui.remember("focas.view_value", "entry", nav["view"])


def scores_section() -> None:
    st.caption(t("focas.scores.surface_caption", scale=scale_text))
    paper_sheets()
    score_surface()


def paper_sheets() -> None:
    """Scoring sheets to print for a room that scores on paper first (the PDF is built when clicked)."""
    import functools

    from assessments import pdf_forms

    with st.expander(t("print.download.scoring_title"), icon=":material/print:"):
        st.caption(t("print.download.scoring_caption"))
        left, right = st.columns(2)
        left.download_button(
            t("print.download.scoring", n=pdf_forms.BLANK_SETS), key="focas.print.scoring", mime="application/pdf",
            file_name=f"{t('print.file.scoring')}_{header['round']}_{lang}.pdf",
            data=functools.partial(pdf_forms.scoring_pdf, str(assessment_id), lang))
        right.download_button(
            t("print.download.scoring_blank"), key="focas.print.scoring_blank", mime="application/pdf",
            file_name=f"{t('print.file.scoring')}_{header['round']}_{lang}_0.pdf",
            data=functools.partial(pdf_forms.scoring_pdf, str(assessment_id), lang, blank_sets=1, blank_only=True))


@st.fragment
def score_surface() -> None:
    """Only this reruns when the browser sends a batch: the answer reaches the cells without redrawing the page.

    After a server restart the browser's first batch may name a fragment the new server does not know;
    it is re-sent by the browser's journal once the page has been drawn again.
    """
    sheet = ui.read(entry_queries.workshop_sheet, ui.actor(), assessment_id)
    area = ui.remembered("focas.area_value", "area", instrument.area_codes())
    view = ui.remembered("focas.view_value", "entry", ["individual", "consensus"])
    entry_ui.surface(key=f"focas.entry.{assessment_id}", assessment_id=assessment_id, editable=editable,
                     reason=reason, remember=remember_place, can_unlock=validated and not blocked,
                     data=entry_ui.grid_data(instrument=instrument, sheet=sheet, area=area, view=view))


# --- results ------------------------------------------------------------------------------------


def results_section() -> None:
    outcome = ui.read(queries.results, ui.actor(), assessment_id)
    government = outcome["government"]
    c1, c2, c3 = st.columns(3)
    index = government["capacity_index"]
    c1.metric(t("focas.results.index"), fmt.number(index, lang))
    c2.metric(t("focas.results.pct"), "—" if index is None else fmt.percent(government["capacity_pct"], lang))
    if header["round"] != "baseline":
        change = government["change"]
        c3.metric(t("focas.results.change"), fmt.signed(change, lang),
                  help=t("focas.results.change_help"))
    names = {area.code: area.name.get(lang) for area in instrument.areas}
    areas = outcome["areas"].copy()
    # short names so the targets and progress columns fit beside them without scrolling
    areas.insert(1, "name", areas["area_code"].map(lambda c: names[c] if len(names[c]) <= 38 else names[c][:37] + "…"))
    goals = ui.read(queries.targets, ui.actor(), header["government_id"])
    for round_goal in ("midpoint", "end"):
        goal = goals.loc[goals["round"] == round_goal].set_index("area_code")["target"]
        areas[f"target_{round_goal}"] = areas["area_code"].map(goal)
    columns = ["area_code", "name", "area_score", "area_pct", "n_indicators", "target_midpoint", "target_end"]
    if header["round"] != "baseline":
        areas["gap"] = areas["area_score"] - areas["target"]
        columns += ["gap", "baseline_score", "change", "n_not_comparable"]
    shown = fmt.round_frame(areas[columns], 2)
    shown["n_indicators"] = fmt.counts(shown["n_indicators"])
    if "n_not_comparable" in shown:
        shown["n_not_comparable"] = fmt.counts(shown["n_not_comparable"])
    ui.table(shown, file_name=f"focas_{header['round']}_areas.csv", key="focas.results_table", column_labels={
        "area_code": t("focas.area_code"), "name": t("focas.area"), "area_score": t("focas.results.area_score"),
        "area_pct": t("focas.results.area_pct"), "n_indicators": t("focas.results.n_indicators"),
        "target_midpoint": t("capplan.targets.midpoint"), "target_end": t("capplan.targets.end"),
        "gap": t("focas.results.gap"), "baseline_score": t("focas.results.baseline"),
        "change": t("focas.results.area_change"), "n_not_comparable": t("focas.results.not_comparable")})
    st.caption(t("focas.results.rule", scale=scale_text))
    if outcome["not_comparable"]:
        st.warning(t("focas.results.not_comparable_list", codes=", ".join(outcome["not_comparable"])), icon=":material/warning:")


# --- the instrument agreed with the counterpart -------------------------------------------------


def instrument_section() -> None:
    st.markdown(version_note)
    if header["round"] != "baseline":
        st.info(t("focas.instrument.later_round"))
    if validated:
        st.caption(t("focas.instrument.locked"))
    current = instrument.area_codes()
    default = ui.read(queries.instrument, ui.read(queries.default_focas_id))
    names = {a.code: a.name.get(lang) for a in default.areas}
    names.update({a.code: a.name.get(lang) for a in instrument.areas})
    if not blocked:
        customise_forms(current, names)
    for area in instrument.areas:
        badge = f" · {t('focas.mandatory')}" if area.mandatory else ""
        with st.expander(f"{area.code} · {ui.plain(area.name.get(lang))}{badge}"):
            st.dataframe(descriptors_table(area), hide_index=True, placeholder="—", width="stretch")


def customise_forms(current: list[str], names: dict[str, str]) -> None:
    """The counterpart's own version: which areas, and indicators of their own."""
    options = current + [c for c in names if c not in current]
    with st.form("focas.areas_form"):
        chosen = st.multiselect(t("focas.instrument.areas"), options, default=current, key=f"focas.areas.{header['instrument_id']}",
                                format_func=lambda c: f"{c} · {names[c]}" + (" *" if c in MANDATORY_AREA_CODES else ""),
                                help=t("focas.instrument.areas_help"), placeholder=t("selection.choose"))
        submitted = st.form_submit_button(t("focas.instrument.save_areas"), disabled=validated)
    if submitted:
        row = save(lambda s: focas.customise_instrument(session=s, actor=ui.actor(), assessment_id=assessment_id,
                                                        area_codes=chosen))
        if row:
            flash(t("focas.instrument.new_version", version=row.version))
            st.rerun()
    with st.form("focas.custom_indicator_form", clear_on_submit=True):
        st.markdown(f"**{t('focas.instrument.add_indicator')}**")
        area_code = st.selectbox(t("focas.area"), current, format_func=lambda c: f"{c} · {names[c]}",
                                 key="focas.custom.area")
        name_es = st.text_input(t("focas.instrument.indicator_es"), key="focas.custom.name_es",
                                max_chars=LIMITS["focas.indicator.name"])
        name_en = st.text_input(t("focas.instrument.indicator_en"), key="focas.custom.name_en",
                                max_chars=LIMITS["focas.indicator.name"])
        descriptors = {}
        columns = st.columns(len(instrument.levels))
        for column, level in zip(columns, instrument.levels):
            descriptors[level.level] = column.text_area(f"{level.level} · {level.name.get(lang)}", height=90)
        added = st.form_submit_button(t("focas.instrument.add_indicator_button"), disabled=validated)
    if added:
        new = focas.CustomIndicator(area_code=area_code, name_es=name_es, name_en=name_en,
                                    descriptors={k: v for k, v in descriptors.items() if v.strip()})
        row = save(lambda s: focas.customise_instrument(session=s, actor=ui.actor(), assessment_id=assessment_id,
                                                        area_codes=current, new_indicators=[new]))
        if row:
            flash(t("focas.instrument.new_version", version=row.version))
            st.rerun()


# --- validation and history -------------------------------------------------------------------


def validation_section() -> None:
    if not validated and not blocked:
        st.markdown(t("focas.validate.explain"))
        if st.button(t("focas.validate.button"), type="primary", key="focas.validate"):
            if save(lambda s: focas.validate_assessment(session=s, actor=ui.actor(), assessment_id=assessment_id)):
                flash(t("focas.validate.done"))
                st.rerun()
    st.subheader(t("focas.history.title"))
    events = ui.read(queries.history, ui.actor(), assessment_id)
    if events.empty:
        st.info(t("common.empty"))
        return
    shown = events.assign(
        at=events["at"].map(lambda v: fmt.datetime(v, lang, with_zone=False, seconds=True)),
        action=events["action"].map(lambda v: t(f"focas.action.{v}")),
        entity=events["entity"].map(lambda v: t(f"focas.entity.{v}")),
    )
    if validated:
        after = (events["at"] >= header["validated_at"]) & (events["action"] != "validate")
        st.caption(ui.tp("formatting.after_validation", int(after.sum())))
    ui.table(shown, file_name="focas_historial.csv", key="focas.history_table", column_labels={
        "at": f"{t('focas.history.at')} ({fmt.zone_label(lang)})", "actor": t("focas.history.actor"), "action": t("focas.history.action"),
        "entity": t("focas.history.entity"), "what": t("focas.history.what"), "before": t("focas.history.before"),
        "after": t("focas.history.after"), "reason": t("focas.history.reason")})


{"participants": participants_section, "scores": scores_section, "results": results_section,
 "instrument": instrument_section, "validation": validation_section}[section]()
