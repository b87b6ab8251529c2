"""Every path of the FOCAS workshop and plan pages under AppTest (the grid typing itself is in tests/e2e)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from assessments import focas
from assessments.access import LOCAL_USER
from db.engine import read_session, run_write, write_session
from db.models import Assessment, CapacityPlanItem, Participant
from db.queries import focas as queries
from tests.test_focas_services import lamas, people, start  # noqa: F401  (fixture)

ROOT = Path(__file__).resolve().parent.parent
WORKSHOP = str(ROOT / "pages" / "focas_workshop.py")
PLAN = str(ROOT / "pages" / "focas_plan.py")


def open_page(path: str, lang: str = "es", **state) -> AppTest:
    at = AppTest.from_file(path, default_timeout=60)
    at.session_state["lang"] = lang
    at.session_state["actor"] = LOCAL_USER  # what dashboard.py's gate puts there for the local user
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def choose(lamas, government=1, round_name="baseline") -> dict:  # noqa: F811
    """Session state that points the page at Lamas (San Martín) and one of its governments."""
    return {"focas.department_value": "22", "focas.cluster_value": lamas["cluster_id"],
            "focas.government_value": lamas["governments"][government], "focas.round_value": round_name}


def texts(at) -> str:
    return " | ".join([e.value for e in at.error] + [w.value for w in at.warning] + [i.value for i in at.info]
                      + [s.value for s in at.success] + [m.value for m in at.markdown] + [c.value for c in at.caption])


def test_without_clusters_the_page_says_so(db_url):
    at = open_page(WORKSHOP, "en")
    assert at.title[0].value == "FOCAS workshop"
    assert "There are no clusters yet" in at.info[0].value


def test_starting_a_workshop_records_date_place_and_facilitator(lamas):  # noqa: F811
    at = open_page(WORKSHOP, **choose(lamas))
    assert at.subheader[0].value == "Iniciar el taller de Línea de base"
    at.text_input(key="focas.start.place").set_value("Auditorio municipal")
    at.text_input(key="focas.start.facilitator").set_value("Rosa Panduro")
    at.button[0].click().run()
    assert not at.exception
    with read_session() as session:
        row = session.execute(sa.select(Assessment)).scalars().one()
    assert (row.place, row.facilitator, row.status) == ("Auditorio municipal", "Rosa Panduro", "draft")
    assert "Taller iniciado" in texts(at)
    assert "Asistencia: 0 participantes" in [h.value for h in at.subheader]


def test_a_midpoint_without_baseline_is_refused_with_a_message(lamas):  # noqa: F811
    at = open_page(WORKSHOP, "en", **choose(lamas, round_name="midpoint"))
    at.button[0].click().run()
    assert "Record this government's baseline first" in at.error[0].value
    with read_session() as session:
        assert session.execute(sa.select(sa.func.count()).select_from(Assessment)).scalar_one() == 0


def test_adding_participants_updates_attendance_and_warnings(lamas, actor):  # noqa: F811
    start(lamas, actor)
    at = open_page(WORKSHOP, **choose(lamas))
    register = surface(at, "register")
    assert register["editable"] is True
    assert [v for v, _ in register["choices"]["sex"]] == ["female", "male", "other", "undisclosed"]
    assert register["texts"]["need_sex"] == "Elija el sexo (o «Prefiere no decir»)."
    assessment_id = queries.government_assessments(LOCAL_USER, lamas["governments"][1]).iloc[0]["id"]
    register_people(assessment_id, {"full_name": "Segundo Tapullima", "sex": "male", "role": "official"})
    at.run()
    warnings = [w.value for w in at.warning]
    assert "No hay mujeres entre los participantes." in warnings
    assert "Nadie se ha identificado como indígena." in warnings
    assert "No participa la sociedad civil." in warnings
    register_people(assessment_id, {"full_name": "Rosa Sangama", "sex": "female", "indigenous": "yes",
                                    "role": "civil_society"})
    at.run()
    assert [w.value for w in at.warning] == []
    assert at.subheader[0].value == "Asistencia: 2 participantes"
    with read_session() as session:
        rows = session.execute(sa.select(Participant.code, Participant.sex).order_by(Participant.position)).all()
    assert rows == [("P01", "male"), ("P02", "female")]


def surface(at, mode: str) -> dict:
    """What the page hands the browser entry surface (its JSON data), for the one in ``mode``."""
    payloads = [json.loads(e.proto.json) for e in at.get("bidi_component")]
    return next(p for p in payloads if p.get("mode") == mode)


def register_people(assessment_id, *values, reason=None) -> None:
    """What the register sends when people are typed into it: one batch through the page's own handler."""
    from assessments import entry

    edits = entry.parse_edits([{"c": f"p|{uuid.uuid4()}", "v": v} for v in values])
    batch = str(uuid.uuid4())
    answer = entry.run_batch(run_write, batch_id=batch, edits=edits, lang="es", apply=lambda s: entry.apply_batch(
        session=s, actor=LOCAL_USER, assessment_id=assessment_id, batch_id=batch, edits=edits, reason=reason))
    assert {a["status"] for a in answer["cells"].values()} == {"saved"}, answer


def test_scores_section_shows_grid_consensus_flags_and_descriptors(lamas, actor):  # noqa: F811
    assessment_id, _ = start(lamas, actor)
    p1, p2, p3 = people(assessment_id, actor)
    with write_session() as session:
        focas.apply_grid_edits(session=session, actor=actor, assessment_id=assessment_id, area_code="ADM",
                               edited_rows={p1: {"ADM-01": 1}, p2: {"ADM-01": 4}, p3: {"ADM-01": 4}}, expected={})
    at = open_page(WORKSHOP, "en", **choose(lamas), **{"focas.section_value": "scores"})
    data = surface(at, "grid")
    assert [p["code"] for p in data["participants"]] == ["P01", "P02", "P03"]
    assert data["scores"] == {f"{p1}|ADM-01": 1, f"{p2}|ADM-01": 4, f"{p3}|ADM-01": 4}
    assert data["consensus"]["ADM-01"]["median"] == 4.0 and data["consensus"]["ADM-01"]["wide"] is True
    assert data["consensus"]["ADM-02"]["n"] == 0
    adm = data["areas"][0]
    assert adm["code"] == "ADM" and [i["code"] for i in adm["indicators"]] == ["ADM-01", "ADM-02", "ADM-03", "ADM-04"]
    assert adm["indicators"][0]["descriptors"]["1"] and data["levels"][0] == {"level": 1, "name": "Incipient"}
    assert next(a for a in data["areas"] if a["code"] == "LEGALPART")["mandatory"] is True
    assert data["texts"]["view_consensus"] == "Consensus" and data["editable"] is True
    # the area and view the facilitator was on come back (from the URL after a reload)
    at = open_page(WORKSHOP, "en", **choose(lamas), **{"focas.section_value": "scores", "focas.area_value": "HR",
                                                       "focas.view_value": "consensus"})
    assert (surface(at, "grid")["area"], surface(at, "grid")["view"]) == ("HR", "consensus")


def test_results_section_shows_index_and_percent(lamas, actor):  # noqa: F811
    assessment_id, _ = start(lamas, actor)
    with write_session() as session:
        focas.apply_consensus_edits(session=session, actor=actor, assessment_id=assessment_id,
                                    edits={"ADM-01": {"score": 4}, "ADM-02": {"score": 2},
                                           "LEGALPART-01": {"score": 1}}, expected={})
    at = open_page(WORKSHOP, "en", **choose(lamas), **{"focas.section_value": "results"})
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Capacity index"] == "2.00"   # areas ADM 3.0 and LEGALPART 1.0
    assert metrics["% of the scale"] == "33%"  # CLDR en (Babel)
    table = at.dataframe[0].value.set_index("Code")
    assert table.loc["ADM", "Area score"] == 3.0 and table.loc["ADM", "% of scale"] == pytest.approx(66.67)


def test_instrument_section_keeps_mandatory_areas_and_adds_a_custom_indicator(lamas, actor):  # noqa: F811
    assessment_id, _ = start(lamas, actor)
    at = open_page(WORKSHOP, "en", **choose(lamas), **{"focas.section_value": "instrument"})
    at.multiselect[0].set_value(["ADM", "HR", "LEGALPART"])
    at.button(key="FormSubmitter:focas.areas_form-Save areas").click().run()
    assert "mandatory for every government" in at.error[0].value
    at.text_input(key="focas.custom.name_es").set_value("Archivo municipal ordenado")
    at.button(key="FormSubmitter:focas.custom_indicator_form-Add indicator").click().run()
    assert not at.exception
    assert "Instrument version 2 was created" in texts(at)
    header = queries.assessment_header(LOCAL_USER, assessment_id)
    assert header["instrument_version"] == 2
    assert "ADM-C1" in queries.instrument(header["instrument_id"]).indicator_codes()


def test_validation_refuses_gaps_then_locks_and_corrections_need_a_reason(lamas, actor):  # noqa: F811
    assessment_id, _ = start(lamas, actor)
    people(assessment_id, actor, 1)
    at = open_page(WORKSHOP, "en", **choose(lamas), **{"focas.section_value": "validation"})
    at.button(key="focas.validate").click().run()
    assert "37 consensus scores are missing" in at.error[0].value
    codes = queries.instrument(queries.assessment_header(LOCAL_USER, assessment_id)["instrument_id"]).indicator_codes()
    with write_session() as session:
        focas.apply_consensus_edits(session=session, actor=actor, assessment_id=assessment_id,
                                    edits={c: {"score": 2} for c in codes}, expected={})
    at.button(key="focas.validate").click().run()
    assert "Assessment validated and locked." in texts(at)
    assert any("It is locked" in s.value for s in at.success)
    # locked: the register does not take anyone until a reason is given
    at.segmented_control(key="focas.section").set_value("participants").run()
    assert surface(at, "register")["editable"] is False
    at.text_input(key="focas.reason").set_value("Llegó tarde una participante").run()
    register = surface(at, "register")
    assert register["editable"] is True
    register_people(assessment_id, {"full_name": "Nelly Ríos", "sex": "female"}, reason="Llegó tarde una participante")
    at.run()
    at.segmented_control(key="focas.section").set_value("validation").run()
    history = at.dataframe[0].value
    assert history.iloc[0]["Reason"] == "Llegó tarde una participante"
    assert history.iloc[0]["Action"] == "created" and history.iloc[0]["Record"] == "participant"
    assert "1 change after validation." in texts(at)


def test_every_section_renders_on_the_demo_data_in_both_languages(db_url):
    from db.demo import load_demo

    load_demo()
    for lang in ("es", "en"):
        at = open_page(WORKSHOP, lang)
        for section in ("scores", "results", "instrument", "validation"):
            at.segmented_control(key="focas.section").set_value(section).run()
            assert not at.exception, (lang, section, [e.value for e in at.exception])
        at.selectbox(key="focas.round").set_value("midpoint").run()
        assert not at.exception
        at = open_page(PLAN, lang)
        assert not at.exception


def test_plan_page_offers_weakest_area_first_and_adds_an_item(lamas, actor):  # noqa: F811
    assessment_id, _ = start(lamas, actor)
    with write_session() as session:
        focas.apply_consensus_edits(session=session, actor=actor, assessment_id=assessment_id,
                                    edits={"ADM-01": {"score": 3}, "HR-01": {"score": 1}, "PLAN-01": {"score": 2}},
                                    expected={})
    at = open_page(PLAN, "en", **choose(lamas))
    assert at.title[0].value == "Targets and capacity-building plan"
    assert "Weakest areas (Baseline): HR (1.00), PLAN (2.00), ADM (3.00)" in texts(at)
    area_box = [s for s in at.selectbox if s.label == "Functional area"][0]
    assert area_box.value == "HR"
    at.text_area[0].set_value("Curso de gestión de recursos humanos")
    [b for b in at.button if b.label == "Add intervention"][0].click().run()
    assert not at.exception
    with read_session() as session:
        row = session.execute(sa.select(CapacityPlanItem)).scalars().one()
    assert (row.area_code, row.intervention_type, row.what, row.sequence) == (
        "HR", "training", "Curso de gestión de recursos humanos", 1)
    assert "Intervention added to the plan." in texts(at)


def test_plan_page_refuses_a_blank_intervention(lamas, actor):  # noqa: F811
    at = open_page(PLAN, "es", **choose(lamas))
    at.text_area[0].set_value("   ")
    [b for b in at.button if b.label == "Agregar intervención"][0].click().run()
    assert at.error[0].value == "Describa qué se hará (no solo espacios)."
