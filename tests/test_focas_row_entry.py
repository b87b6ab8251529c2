"""Quick row entry of FOCAS scores (parser, service, page) and the read-only FOCAS pages for who may not edit."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as hs
from streamlit.testing.v1 import AppTest

from assessments import focas
from assessments.access import LOCAL_USER, Actor
from assessments.errors import Conflict, PermissionDenied, ValidationFailed
from assessments.scoring import format_score_row, parse_score_row
from db.engine import read_session, write_session
from db.models import AuditEvent
from db.queries import focas as queries
from tests.test_focas_pages import PLAN, WORKSHOP, choose
from tests.test_focas_services import lamas, people, scores_of, start  # noqa: F401  (fixture)

CODES = ["ADM-01", "ADM-02", "ADM-03", "ADM-04"]


# --- the parser -------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["3 2 4 1", "3241", "3,2,4,1", " 3  2\t4 1 ", "3;2;4;1", "3/2/4/1"])
def test_a_row_reads_the_same_with_any_separator_or_none(text):
    assert parse_score_row(text, codes=CODES) == [3, 2, 4, 1]


@pytest.mark.parametrize("text", ["3 - 4 .", "3-4.", "3,-,4,."])
def test_dash_and_dot_leave_an_indicator_blank(text):
    assert parse_score_row(text, codes=CODES) == [3, None, 4, None]


@pytest.mark.parametrize("text, got", [("3 2 4", 3), ("32415", 5), ("3", 1)])
def test_a_wrong_count_is_refused_saying_how_many_are_needed(text, got):
    with pytest.raises(ValidationFailed) as error:
        parse_score_row(text, codes=CODES, line=2, participant="P02")
    assert error.value.key == "focas.row.count"
    assert error.value.message("en") == (
        f"Line 2 (P02) has {got} score(s), but the area has 4 indicators (ADM-01 to ADM-04). Nothing was saved; "
        "type one per indicator (- or . for “don't know”).")


def test_an_off_scale_value_names_line_position_indicator_and_range_in_both_languages():
    with pytest.raises(ValidationFailed) as error:
        parse_score_row("3 2 7 1", codes=CODES, line=4, participant="P07")
    assert error.value.key == "focas.row.off_scale"
    assert error.value.message("es") == ("Línea 4 (P07), posición 3 (ADM-03): 7 está fuera de la escala (1 a 4). "
                                         "No se guardó nada; corrija la línea.")
    assert error.value.message("en").startswith("Line 4 (P07), position 3 (ADM-03): 7 is off the scale (1 to 4).")


@pytest.mark.parametrize("text, key, position", [
    ("3 x 4 1", "focas.row.not_number", 2), ("3a41", "focas.row.not_number", 2),
    ("3 2 2.5 1", "focas.row.not_integer", 3), ("3 2 4 -1", "focas.row.off_scale", 4),
    ("0 2 4 1", "focas.row.off_scale", 1),
])
def test_non_numbers_decimals_and_negatives_are_refused_at_their_position(text, key, position):
    with pytest.raises(ValidationFailed) as error:
        parse_score_row(text, codes=CODES)
    assert (error.value.key, error.value.params["position"]) == (key, position)


def test_an_empty_row_is_refused():
    with pytest.raises(ValidationFailed, match="focas.row.empty"):
        parse_score_row("   ", codes=CODES)


def test_the_scale_decides_what_is_allowed_0_to_4_versus_1_to_5():
    assert parse_score_row("0 4 2 -", codes=CODES, scale_min=0, scale_max=4) == [0, 4, 2, None]
    assert parse_score_row("5 1 2 3", codes=CODES, scale_min=1, scale_max=5) == [5, 1, 2, 3]
    with pytest.raises(ValidationFailed) as error:
        parse_score_row("5 1 2 3", codes=CODES, scale_min=0, scale_max=4)
    assert error.value.message("en").startswith("Line 1 (—), position 1 (ADM-01): 5 is off the scale (0 to 4).")
    with pytest.raises(ValidationFailed, match="focas.row.off_scale"):
        parse_score_row("0 1 2 3", codes=CODES, scale_min=1, scale_max=5)


def test_a_two_digit_scale_needs_separators():
    assert parse_score_row("10 0 7 -", codes=CODES, scale_min=0, scale_max=10) == [10, 0, 7, None]
    with pytest.raises(ValidationFailed, match="focas.row.count"):
        parse_score_row("10071", codes=CODES, scale_min=0, scale_max=10)


@given(hs.integers(0, 3).flatmap(lambda low: hs.tuples(
    hs.just(low), hs.integers(low + 1, 9),
    hs.lists(hs.one_of(hs.none(), hs.integers(0, 9)), min_size=1, max_size=12))),
    hs.sampled_from([" ", "", ","]))
def test_any_row_on_the_scale_reads_back_as_typed(case, separator):
    low, high, raw = case
    scores = [None if s is None else low + s % (high - low + 1) for s in raw]
    codes = [f"X-{i:02d}" for i in range(len(scores))]
    text = separator.join("-" if s is None else str(s) for s in scores)
    assert parse_score_row(text, codes=codes, scale_min=low, scale_max=high) == scores
    assert parse_score_row(format_score_row(scores), codes=codes, scale_min=low, scale_max=high) == scores


# --- lines and the queue of participants --------------------------------------------------------


def test_lines_go_to_the_queue_in_order_and_extra_or_missing_lines_are_refused():
    rows = focas.typed_rows("\n3241\n2231\n\n", ["a", "b", "c"])
    assert [(r.participant_id, r.text) for r in rows] == [("a", "3241"), ("b", "2231")]
    # an empty line in between stays, so no later line slides onto the wrong person
    assert [r.text for r in focas.typed_rows("3241\n\n2231", ["a", "b", "c"])] == ["3241", "", "2231"]
    with pytest.raises(ValidationFailed, match="focas.rows.too_many"):
        focas.typed_rows("1111\n2222\n3333", ["a", "b"])
    with pytest.raises(ValidationFailed, match="focas.rows.nothing"):
        focas.typed_rows(" \n ", ["a"])


def test_the_queue_starts_at_the_chosen_person_then_those_without_scores_wrapping_round():
    ids = ["p1", "p2", "p3", "p4", "p5"]
    assert focas.entry_queue(ids, {"p2"}, "p3") == ["p3", "p4", "p5", "p1"]
    assert focas.entry_queue(ids, {"p2", "p4"}, "p2") == ["p2", "p3", "p5", "p1"]
    assert focas.entry_queue(ids, {"p1"}, None) == ["p2", "p3", "p4", "p5"]
    assert focas.entry_queue([], set(), None) == []


# --- the service ---------------------------------------------------------------------------------


def save_rows(assessment_id, lines, ids, *, actor=LOCAL_USER, expected=None, overwrite=False):
    rows = [focas.TypedRow(participant_id=pid, text=line) for pid, line in zip(ids, lines)]
    with write_session() as session:
        return focas.save_score_rows(session=session, actor=actor, assessment_id=assessment_id, area_code="ADM",
                                     rows=rows, expected=expected or {pid: {} for pid in ids}, overwrite=overwrite)


def test_rows_are_saved_together_with_one_audit_event_per_score(lamas, actor):  # noqa: F811
    assessment_id, _ = start(lamas, actor)
    ids = people(assessment_id, actor)
    result = save_rows(assessment_id, ["3 2 4 1", "2-31", "4,4,4,."], ids)
    assert result.written == 10
    assert scores_of(assessment_id) == {
        ("P01", "ADM-01"): 3, ("P01", "ADM-02"): 2, ("P01", "ADM-03"): 4, ("P01", "ADM-04"): 1,
        ("P02", "ADM-01"): 2, ("P02", "ADM-03"): 3, ("P02", "ADM-04"): 1,
        ("P03", "ADM-01"): 4, ("P03", "ADM-02"): 4, ("P03", "ADM-03"): 4}
    with read_session() as session:
        events = session.execute(sa.select(AuditEvent).where(AuditEvent.entity == "participant_score")).scalars().all()
    assert len(events) == 10 and {e.action for e in events} == {"create"}


def test_one_bad_line_saves_no_line_at_all(lamas, actor):  # noqa: F811
    assessment_id, _ = start(lamas, actor)
    ids = people(assessment_id, actor)
    with pytest.raises(ValidationFailed) as error:
        save_rows(assessment_id, ["3 2 4 1", "2 2 3 1", "4 9 4 4"], ids)
    assert error.value.message("en").startswith("Line 3 (P03), position 2 (ADM-02): 9 is off the scale (1 to 4).")
    assert scores_of(assessment_id) == {}


def test_a_database_failure_midway_rolls_back_every_row(lamas, actor, monkeypatch):  # noqa: F811
    assessment_id, _ = start(lamas, actor)
    ids = people(assessment_id, actor)
    calls = []

    def failing_record(*args, **kwargs):  # the audit log refuses the sixth score
        calls.append(args)
        if len(calls) == 6:
            raise RuntimeError("disk full")
        return real_record(*args, **kwargs)

    real_record = focas.record
    monkeypatch.setattr(focas, "record", failing_record)
    with pytest.raises(RuntimeError):
        save_rows(assessment_id, ["3 2 4 1", "2 2 3 1"], ids)
    assert scores_of(assessment_id) == {}


def test_a_participant_with_scores_is_replaced_only_when_asked(lamas, actor):  # noqa: F811
    assessment_id, _ = start(lamas, actor)
    ids = people(assessment_id, actor, 1)
    save_rows(assessment_id, ["3 2 4 1"], ids)
    shown = {ids[0]: dict(zip(CODES, [3, 2, 4, 1]))}
    with pytest.raises(ValidationFailed) as error:
        save_rows(assessment_id, ["1 1 1 1"], ids, expected=shown)
    assert error.value.message("en") == ("Line 1: P01 already has scores in this area (3 2 4 1). Nothing was saved; "
                                         "tick “Replace” to change them.")
    save_rows(assessment_id, ["1 1 - 1"], ids, expected=shown, overwrite=True)
    assert scores_of(assessment_id) == {("P01", "ADM-01"): 1, ("P01", "ADM-02"): 1, ("P01", "ADM-04"): 1}


def test_a_row_for_someone_scored_meanwhile_is_a_conflict(lamas, actor):  # noqa: F811
    assessment_id, _ = start(lamas, actor)
    ids = people(assessment_id, actor, 2)
    shown_empty = {pid: dict.fromkeys(CODES) for pid in ids}
    save_rows(assessment_id, ["2 2 2 2"], ids[1:])  # a colleague on the grid, after our screen was drawn
    with pytest.raises(Conflict) as error:
        save_rows(assessment_id, ["3 2 4 1", "4 4 4 4"], ids, expected=shown_empty)
    assert "P02 · ADM-01 = 2" in error.value.message("en")
    assert scores_of(assessment_id) == {("P02", c): 2 for c in CODES}


def test_an_evaluator_or_a_facilitator_of_another_cluster_may_not_save_rows(lamas, actor):  # noqa: F811
    assessment_id, _ = start(lamas, actor)
    ids = people(assessment_id, actor, 1)
    for stranger in (Actor(username="e", role="evaluator"),
                     Actor(username="f", role="facilitator", cluster_ids=frozenset({uuid.uuid4()}))):
        with pytest.raises(PermissionDenied):
            save_rows(assessment_id, ["3 2 4 1"], ids, actor=stranger)
    assert scores_of(assessment_id) == {}


def test_read_only_reason_follows_the_services_rule(lamas, actor):  # noqa: F811
    government = lamas["governments"][1]
    assigned = Actor(username="g", role="facilitator", cluster_ids=frozenset({lamas["cluster_id"]}))
    other = Actor(username="f", role="facilitator", cluster_ids=frozenset({uuid.uuid4()}))
    evaluator = Actor(username="e", role="evaluator")

    def why(who, action="assessment.write", **kwargs):
        return focas.read_only_reason(who, action, government_id=government, **kwargs)

    assert why(LOCAL_USER) is None and why(assigned) is None
    assert why(other) == "focas.readonly.other_cluster"
    assert why(evaluator) == "focas.readonly.role"
    assert why(assigned, validated=True) == "focas.readonly.validated"
    assert why(assigned, "target.write") == "focas.readonly.role"
    assert why(assigned, "plan.write") is None


# --- the page --------------------------------------------------------------------------------------


def open_rows(lamas, actor=LOCAL_USER, lang="en"):  # noqa: F811
    at = AppTest.from_file(WORKSHOP, default_timeout=60)
    at.session_state["lang"] = lang
    at.session_state["actor"] = actor
    for key, value in {**choose(lamas), "focas.section_value": "scores", "focas.view_value": "rows"}.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def rows_field(at):
    return next(a for a in at.text_area if a.label == "Scores, one line per participant")


def save_button(at):
    return next(b for b in at.button if b.label == "Save rows")


def start_box(at):
    return next(s for s in at.selectbox if s.label == "Start with")


def test_a_valid_row_saves_and_the_form_moves_to_the_next_participant(lamas, actor):  # noqa: F811
    assessment_id, _ = start(lamas, actor)
    ids = people(assessment_id, actor)
    at = open_rows(lamas)
    assert start_box(at).value == str(ids[0])
    descriptors = at.dataframe[0].value
    assert list(descriptors.iloc[:, 0].str[:6]) == CODES  # the levels stay in sight
    rows_field(at).set_value("3 2 4 1")
    save_button(at).click().run()
    assert not at.exception
    assert "1 row(s) saved: P01 · Persona 1." in [s.value for s in at.success]
    assert scores_of(assessment_id) == {("P01", c): s for c, s in zip(CODES, [3, 2, 4, 1])}
    assert start_box(at).value == str(ids[1])
    # the browser clears the field itself on submit (clear_on_submit; AppTest does not emulate that):
    # tests/e2e/test_focas_rows_e2e.py checks it
    queue = at.dataframe[1].value
    assert list(queue["Participant"]) == ["P02 · Persona 2", "P03 · Persona 3"]


def test_an_invalid_row_shows_the_message_saves_nothing_and_keeps_the_text(lamas, actor):  # noqa: F811
    assessment_id, _ = start(lamas, actor)
    ids = people(assessment_id, actor)
    at = open_rows(lamas, lang="es")
    field = next(a for a in at.text_area if a.label == "Puntajes, una línea por participante")
    field.set_value("3 2 4 1\n2 x 3 1")
    next(b for b in at.button if b.label == "Guardar filas").click().run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        "Línea 2 (P02), posición 2 (ADM-02): «x» no es un puntaje. No se guardó nada; use un número de 1 a 4, "
        "o - si no sabe."]
    assert scores_of(assessment_id) == {}
    assert next(a for a in at.text_area if a.label == "Puntajes, una línea por participante").value == \
        "3 2 4 1\n2 x 3 1"
    assert next(s for s in at.selectbox if s.label == "Empezar por").value == str(ids[0])


def test_a_participant_with_scores_is_shown_and_needs_the_replace_tick(lamas, actor):  # noqa: F811
    assessment_id, _ = start(lamas, actor)
    ids = people(assessment_id, actor, 2)
    save_rows(assessment_id, ["3 2 4 1"], ids[:1])
    at = open_rows(lamas)
    start_box(at).set_value(str(ids[0])).run()
    assert list(at.dataframe[1].value["Scores already entered"]) == ["3 2 4 1", ""]
    rows_field(at).set_value("1 1 1 1")
    save_button(at).click().run()
    assert "already has scores in this area (3 2 4 1)" in at.error[0].value
    assert scores_of(assessment_id)[("P01", "ADM-01")] == 3
    next(c for c in at.checkbox if c.label.startswith("Replace the scores")).check()
    rows_field(at).set_value("1 1 1 1")
    save_button(at).click().run()
    assert not at.error
    assert {scores_of(assessment_id)[("P01", c)] for c in CODES} == {1}


def assert_no_write_controls(at) -> None:
    # "refresh" only redraws the grid from the database
    enabled = [b.label for b in at.button if not b.disabled and not (b.key or "").endswith(".refresh")]
    assert enabled == [], enabled
    assert not at.text_input and not at.text_area and not at.date_input and not at.checkbox
    editable_grids = [d for d in at.dataframe if d.proto.editing_mode and not d.proto.disabled]
    assert editable_grids == []
    assert not at.get("form")


@pytest.mark.parametrize("who, why", [
    (Actor(username="e", role="evaluator"), "Read-only: your role can view and download this data, not change it."),
    (Actor(username="f", role="facilitator", cluster_ids=frozenset({uuid.uuid4()})),
     "Read-only: this government is not in a cluster assigned to you."),
])
def test_who_may_not_edit_sees_every_section_read_only_with_the_reason(lamas, actor, who, why):  # noqa: F811
    assessment_id, _ = start(lamas, actor)
    people(assessment_id, actor, 2)
    at = open_rows(lamas, actor=who)
    assert why in [i.value for i in at.info]
    for section in ("participants", "scores", "results", "instrument", "validation"):
        at.segmented_control(key="focas.section").set_value(section).run()
        assert not at.exception
        if section == "scores":
            for view in ("individual", "rows", "consensus"):
                at.segmented_control(key="focas.view").set_value(view).run()
                assert_no_write_controls(at)
        assert_no_write_controls(at)
        assert [i.value for i in at.info].count(why) == 1

    plan = AppTest.from_file(PLAN, default_timeout=60)
    plan.session_state["lang"] = "en"
    plan.session_state["actor"] = who
    for key, value in choose(lamas).items():
        plan.session_state[key] = value
    plan.run()
    assert not plan.exception
    assert why in [i.value for i in plan.info]
    assert_no_write_controls(plan)
    assert not [b for b in plan.button if b.label in ("Save targets", "Add intervention")]


def test_an_evaluator_cannot_start_a_workshop_either(lamas):  # noqa: F811
    at = AppTest.from_file(WORKSHOP, default_timeout=60)
    at.session_state["lang"] = "en"
    at.session_state["actor"] = Actor(username="e", role="evaluator")
    for key, value in choose(lamas).items():
        at.session_state[key] = value
    at.run()
    assert not at.exception
    assert_no_write_controls(at)
    assert "There is no Baseline workshop for this government yet." in [c.value for c in at.caption]


def test_a_validated_assessment_is_read_only_until_a_reason_is_given(lamas, actor):  # noqa: F811
    assessment_id, _ = start(lamas, actor)
    people(assessment_id, actor, 1)

    all_codes = queries.instrument(queries.assessment_header(assessment_id)["instrument_id"]).indicator_codes()
    with write_session() as session:
        focas.apply_consensus_edits(session=session, actor=actor, assessment_id=assessment_id,
                                    edits={c: {"score": 2} for c in all_codes}, expected={})
        focas.validate_assessment(session=session, actor=actor, assessment_id=assessment_id)
    at = open_rows(lamas)
    assert any(i.value.startswith("Read-only: the assessment is validated and locked") for i in at.info)
    assert not [b for b in at.button if b.label == "Save rows"]
    at.text_input(key="focas.reason").set_value("Hoja de P01 mal leída").run()
    rows_field(at).set_value("1 1 1 1")
    save_button(at).click().run()
    assert not at.error
    assert scores_of(assessment_id) == {("P01", c): 1 for c in CODES}
