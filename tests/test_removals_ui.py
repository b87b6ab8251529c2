"""Pages ask before a removal, say what will be lost, and offer "Deshacer"; the participant list import (AppTest)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from assessments import capacity_plan, focas, qsip
from assessments.access import LOCAL_USER
from db.engine import read_session, write_session
from db.models import Barrier, CapacityPlanItem, FeedbackRating, Participant, ParticipantScore, Respondent
from tests.test_focas_pages import PLAN, WORKSHOP, choose, open_page
from tests.test_focas_plan import item
from tests.test_focas_services import lamas, people, start  # noqa: F401  (fixture)
from tests.test_qsip_services import ALL_ITEMS, add_barrier, audit_id, clusters  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent
QSIP = str(ROOT / "pages" / "qsip.py")


def texts(at) -> list[str]:
    return [e.value for e in at.error] + [w.value for w in at.warning] + [i.value for i in at.info] + [
        s.value for s in at.success]


def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def n_rows(model, *where) -> int:
    with read_session() as session:
        return session.execute(sa.select(sa.func.count()).select_from(model).where(*where)).scalar_one()


def scored_workshop(lamas, actor):  # noqa: F811
    assessment_id, _ = start(lamas, actor)
    p1, p2 = people(assessment_id, actor, 2)
    with write_session() as session:
        focas.apply_grid_edits(session=session, actor=actor, assessment_id=assessment_id, area_code="ADM",
                               edited_rows={p1: {"ADM-01": 2, "ADM-02": 3, "ADM-03": 4}}, expected={})
    return assessment_id, p1, p2


def press_remove(at: AppTest, participant_id, label="Retirar participante") -> AppTest:
    at.selectbox(key="focas.edit_pick").set_value(participant_id).run()
    button = next(b for b in at.button if b.label == label)
    return ok(button.click().run())


def test_removing_a_participant_with_scores_asks_then_can_be_undone(lamas, actor):  # noqa: F811
    assessment_id, p1, _ = scored_workshop(lamas, actor)
    at = press_remove(open_page(WORKSHOP, **choose(lamas)), p1)
    question = [w.value for w in at.warning if w.value.startswith("¿Eliminar")]
    assert question == ["¿Eliminar el/la participante P01? Se perderá: 3 puntajes. Podrá deshacerlo enseguida."]
    assert n_rows(Participant) == 2  # nothing removed before the yes

    ok(at.button(key=f"focas.remove.{p1}.yes").click().run())
    assert n_rows(Participant) == 1 and n_rows(ParticipantScore) == 0
    assert "Participante P01 retirado (sus puntajes quedan en el historial)." in texts(at)
    undo = at.button(key=f"removals.undo.focas.participants.{assessment_id}")
    assert undo.label == "Deshacer"

    ok(undo.click().run())
    assert "Se deshizo la eliminación: Participante P01." in texts(at)
    with read_session() as session:
        assert session.get(Participant, p1).code == "P01"
    assert n_rows(ParticipantScore, ParticipantScore.participant_id == p1) == 3
    assert not [b for b in at.button if b.label == "Deshacer"]  # the undo was used up


def test_cancel_keeps_the_participant_and_one_without_scores_goes_at_once(lamas, actor):  # noqa: F811
    assessment_id, p1, p2 = scored_workshop(lamas, actor)
    at = press_remove(open_page(WORKSHOP, "en", **choose(lamas)), p1, "Remove participant")
    assert any("This will be lost: 3 scores" in w.value for w in at.warning)
    ok(at.button(key=f"focas.remove.{p1}.no").click().run())
    assert n_rows(Participant) == 2 and not [w for w in at.warning if w.value.startswith("Delete")]
    at.selectbox(key="focas.edit_pick").set_value(p2).run()
    ok(next(b for b in at.button if b.label == "Remove participant").click().run())
    assert n_rows(Participant) == 1  # nothing to lose: no question, but still the undo
    assert at.button(key=f"removals.undo.focas.participants.{assessment_id}").label == "Undo"


def test_undo_says_why_when_the_code_was_taken_meanwhile(lamas, actor):  # noqa: F811
    assessment_id, p1, _ = scored_workshop(lamas, actor)
    at = press_remove(open_page(WORKSHOP, **choose(lamas)), p1)
    ok(at.button(key=f"focas.remove.{p1}.yes").click().run())
    with write_session() as session:
        focas.add_participant(session=session, actor=actor, assessment_id=assessment_id,
                              data=focas.ParticipantInput(full_name="Nueva", code="P01", sex="female"))
    ok(at.button(key=f"removals.undo.focas.participants.{assessment_id}").click().run())
    assert any("ya hay otro(a) participante con el código P01" in e.value for e in at.error)
    with read_session() as session:
        assert session.get(Participant, p1) is None
    assert at.button(key=f"removals.undo.focas.participants.{assessment_id}")  # still offered


def qsip_page(clusters, audit_id, lang="es") -> AppTest:  # noqa: F811
    return open_page(QSIP, lang, **{"qsip.cluster_value": clusters["Lamas"], "qsip.audit_value": audit_id})


def test_a_qsip_barrier_is_deleted_after_a_yes_and_comes_back_with_undo(clusters, audit_id, actor):  # noqa: F811
    barrier_id = add_barrier(audit_id, actor)
    at = qsip_page(clusters, audit_id)
    ok(at.button(key="qsip.barrier_delete").click().run())
    assert "¿Eliminar la barrera «Personal insuficiente»? Podrá deshacerlo enseguida." in texts(at)
    assert n_rows(Barrier) == 1
    ok(at.button(key="qsip.barrier_delete.yes").click().run())
    assert n_rows(Barrier) == 0 and "Barrera eliminada." in texts(at)
    ok(at.button(key=f"removals.undo.qsip.barrier.{audit_id}").click().run())
    with read_session() as session:
        assert session.get(Barrier, barrier_id).description == "Personal insuficiente"
    assert "Se deshizo la eliminación: Barrera «Personal insuficiente»." in texts(at)


def test_a_questionnaire_says_how_many_ratings_go_and_comes_back(clusters, audit_id, actor):  # noqa: F811
    with write_session() as s:
        qsip.add_respondent(session=s, actor=actor, audit_id=audit_id, data=qsip.RespondentInput(
            respondent_type="user", code="U01", locality="Tabalosos", ratings={code: 4 for code in ALL_ITEMS}))
    at = qsip_page(clusters, audit_id, "en")
    ok(at.button(key="qsip.delete_respondent_button").click().run())
    assert any(w.value.startswith("Delete questionnaire U01") and "This will be lost: 12 ratings" in w.value
               for w in at.warning)
    ok(at.button(key="qsip.delete_respondent_button.yes").click().run())
    assert n_rows(Respondent) == 0 and n_rows(FeedbackRating) == 0
    ok(at.button(key=f"removals.undo.qsip.respondent.{audit_id}").click().run())
    assert n_rows(Respondent) == 1 and n_rows(FeedbackRating) == 12


def test_a_plan_item_is_deleted_after_a_yes_and_comes_back(lamas, actor):  # noqa: F811
    government = lamas["governments"][1]
    with write_session() as session:
        item_id = capacity_plan.add_plan_item(session=session, actor=actor, government_id=government,
                                              data=item()).id
    at = open_page(PLAN, **choose(lamas))
    ok(at.button(key=f"capplan.delete.{item_id}").click().run())
    assert n_rows(CapacityPlanItem) == 1
    ok(at.button(key=f"capplan.delete.{item_id}.yes").click().run())
    assert n_rows(CapacityPlanItem) == 0
    ok(at.button(key=f"removals.undo.capplan.items.{government}").click().run())
    assert n_rows(CapacityPlanItem, CapacityPlanItem.id == item_id) == 1


# --- the list import --------------------------------------------------------------------------------


def import_field(at: AppTest, assessment_id, generation=0):
    return at.text_area(key=f"participant_import.{assessment_id}.{generation}.text")


def test_a_pasted_list_is_imported_and_a_bad_one_is_reported_line_by_line(lamas, actor):  # noqa: F811
    assessment_id, _ = start(lamas, actor)
    at = open_page(WORKSHOP, **choose(lamas))
    assert any(e.label == "Importar lista de participantes" for e in at.expander)
    import_field(at, assessment_id).set_value("nombre\tsexo\nAna Ríos\tmujer\nLuis Soria\t\n\t\n")
    ok(at.button(key=f"participant_import.{assessment_id}.0.go").click().run())
    assert "No se importó nada: 1 filas con problemas. Corríjalas y vuelva a importar." in [e.value for e in at.error]
    problems = next(d.value for d in at.dataframe if "Problema" in d.value.columns)
    assert problems.to_dict("records") == [
        {"Línea": 3, "Problema": "Línea 3: falta el sexo (mujer, hombre, otro o prefiere no decir)."}]
    assert n_rows(Participant) == 0

    import_field(at, assessment_id).set_value("nombre\tsexo\nAna Ríos\tmujer\nLuis Soria\thombre\n")
    ok(at.button(key=f"participant_import.{assessment_id}.0.go").click().run())
    assert "2 participantes importados: P01, P02." in [s.value for s in at.success]
    assert import_field(at, assessment_id, 1).value == ""  # a fresh field for the next list
    with read_session() as session:
        assert session.execute(sa.select(Participant.full_name, Participant.sex).order_by(Participant.position)
                               ).all() == [("Ana Ríos", "female"), ("Luis Soria", "male")]


def test_read_only_actors_get_neither_import_nor_undo(lamas, actor):  # noqa: F811
    from assessments.access import Actor

    start(lamas, actor)
    at = open_page(WORKSHOP, **choose(lamas), actor=Actor("e", "evaluator"))
    assert not any(e.label == "Importar lista de participantes" for e in at.expander)
    assert not at.get("file_uploader")
    assert LOCAL_USER.role == "admin"
