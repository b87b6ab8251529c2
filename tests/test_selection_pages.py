"""The selection, GCD pages and the plan widget under AppTest: what a user sees and what their clicks save."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from assessments import gcd, selection
from assessments.access import LOCAL_USER
from db.engine import read_session, write_session
from db.models import Cluster, GcdMeeting, GcdMember, SelectionRecord

ROOT = Path(__file__).resolve().parent.parent


def count(model) -> int:
    with read_session() as session:
        return session.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()


def page(name: str, lang: str = "es", **state) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / name), default_timeout=60)
    at.session_state["lang"] = lang
    for key, value in state.items():
        at.session_state[key.replace("__", ".")] = value
    at.session_state["actor"] = LOCAL_USER  # what dashboard.py's login gate puts in the session
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def by_label(widgets, label: str):
    return next(w for w in widgets if w.label == label)


@pytest.fixture
def demo(db_url):
    from db.demo import load_demo

    load_demo()
    return db_url


def test_a_user_creates_a_selection_sees_the_ranking_and_creates_the_cluster(db_url, actor):
    at = page("selection.py")
    assert "Este departamento aún no tiene selecciones" in " ".join(i.value for i in at.info)
    at.selectbox(key="selection.department").set_value("17").run()
    button(at, "Crear selección").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert [s.value for s in at.success] == ["Selección creada."]
    record_id = selection.records("17")["id"].iloc[0]

    # scores typed in the grid (AppTest cannot type into a data editor: the same service the editor calls)
    grid = selection.score_matrix(record_id)
    ids = dict(zip(selection.criteria(record_id)["code"], selection.criteria(record_id)["id"]))
    with write_session() as s:
        selection.apply_score_edits(session=s, actor=actor, record_id=record_id, edits=selection.edits_from_matrix(
            grid, {1: {"population_density": 5}, 2: {"population_density": 2}}, ids))
    at.run()
    ranking = at.dataframe[1].value
    assert list(ranking["Nombre"]) == ["Manu", "Tahuamanu", "Tambopata"]
    assert list(ranking["Puntaje ponderado (1–5)"]) == ["3.00", "1.50", "1.00"]
    assert at.selectbox(key=f"selection.winner.{record_id}.1702").value == "1702"

    by_label(at.multiselect, "Servicios priorizados").set_value(["health"])
    button(at, "Crear clúster").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.success[0].value == "Clúster «Manu» creado y vinculado a esta selección."
    # Manu alone has no district municipality chosen: the composition warning shows, the cluster exists
    assert any("municipalidades distritales" in w.value for w in at.warning)
    with read_session() as session:
        cluster = session.execute(sa.select(Cluster)).scalar_one()
        linked = session.execute(sa.select(SelectionRecord.cluster_id)).scalar_one()
    assert (cluster.name, cluster.wave, linked) == ("Manu", 1, cluster.id)


def test_a_reversed_scale_shows_a_message_and_saves_nothing(db_url):
    at = page("selection.py", lang="en")
    at.selectbox(key="selection.department").set_value("17").run()
    by_label(at.number_input, "Lowest score").set_value(5)
    by_label(at.number_input, "Highest score").set_value(1)
    button(at, "Create selection").click().run()
    assert [e.value for e in at.error] == [
        "The scale must go from a lower minimum to a higher maximum, at most 100 points apart (received 5 to 1)."]
    assert count(SelectionRecord) == 0


def test_the_demo_selection_ranks_the_real_proposal_first_in_both_languages(demo):
    for lang, name_column in (("es", "Nombre"), ("en", "Name")):
        at = page("selection.py", lang=lang, selection__department_value="16")
        assert at.dataframe[1].value[name_column].iloc[0] == "Alto Amazonas"
    assert at.title[0].value == "Cluster selection"


def test_the_gcd_page_shows_composition_and_the_missing_meeting(demo):
    at = page("gcd.py")
    at.selectbox(key="gcd.department").set_value("16").run()
    assert [m.value for m in at.metric][:5] == ["10", "6", "4", "4", "2"]
    assert "La composición cumple las reglas del plan." in [s.value for s in at.success]
    assert "Reuniones sin registrar: 2014 · Avances." in [w.value for w in at.warning]
    at.selectbox(key="gcd.department").set_value("25").run()
    assert [w.value for w in at.warning] == [
        "El GCD tiene 6 representantes de la sociedad civil y el sector privado; el máximo es 4."]


def test_accrediting_a_member_twice_on_the_page_is_refused(demo):
    at = page("gcd.py", lang="en")
    at.selectbox(key="gcd.department").set_value("17").run()
    existing = gcd.members("17", "2013-2014")["full_name"].iloc[0]
    before = count(GcdMember)
    by_label(at.text_input, "Full name").set_value("Ana Ríos Tello")
    by_label(at.selectbox, "Sex").set_value("female")
    button(at, "Accredit a member").click().run()
    assert at.success[0].value == "Ana Ríos Tello is now accredited."
    assert count(GcdMember) == before + 1
    by_label(at.text_input, "Full name").set_value(existing.upper())
    button(at, "Accredit a member").click().run()
    assert [e.value for e in at.error] == [f"{existing.upper()} is already accredited to the GCD for 2013–2014. "
                                           "Nothing was saved."]
    assert count(GcdMember) == before + 1


def test_a_meeting_without_a_date_is_refused_on_the_page(demo):
    at = page("gcd.py")
    at.selectbox(key="gcd.department").set_value("16").run()
    before = count(GcdMeeting)
    by_label(at.text_area, "Agenda").set_value("Avances del segundo semestre")
    button(at, "Registrar una reunión").click().run()
    assert [e.value for e in at.error] == ["Indique la fecha de la reunión. No se guardó nada."]
    assert count(GcdMeeting) == before
    # the refused form keeps what the user typed
    assert by_label(at.text_area, "Agenda").value == "Avances del segundo semestre"
    # (AppTest cannot set a date input that starts empty: the dated save is covered in test_gcd_services.py)


def plan_script():
    from pages.plan_widgets import show_plan_vs_formed

    show_plan_vs_formed(key="test_plan")


def test_the_plan_widget_shows_formed_against_planned(demo):
    at = AppTest.from_function(plan_script, default_timeout=60)
    at.session_state["lang"] = "en"
    at.session_state["actor"] = LOCAL_USER
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    # demo: 6 first-wave proposals + Mariscal Cáceres in wave 2 against the plan's 6 / 5 / 5
    assert [(m.label, m.value) for m in at.metric] == [("Wave 1", "6 / 6"), ("Wave 2", "1 / 5"),
                                                       ("Wave 3", "0 / 5"), ("Program", "7 / 16")]
    table = at.dataframe[0].value.set_index("Department")
    assert table.loc["San Martín", "Total"] == "3 / 4"


def test_planned_numbers_edited_in_the_grid_reach_the_database(demo, actor):
    from assessments import cluster_plan
    from pages.plan_widgets import edits_from_editor

    frame = cluster_plan.plan_vs_formed()
    grid = frame.pivot_table(index=["department_code", "department"], columns="wave", values="planned",
                             aggfunc="sum", fill_value=0)
    grid.columns = [f"wave_{w}" for w in grid.columns]
    grid = grid.reset_index()
    row = int(grid.index[grid["department_code"] == "01"][0])
    edits = edits_from_editor(grid, {"edited_rows": {row: {"wave_3": 2}}})
    assert edits == [("01", 3, 2)]
    with write_session() as s:
        assert cluster_plan.apply_plan_edits(session=s, actor=actor, edits=edits) == 1
    after = cluster_plan.plan_vs_formed().set_index(["department_code", "wave"])
    assert after.loc[("01", 3), "planned"] == 2


def test_shrinking_the_scale_under_saved_scores_is_refused_on_the_page(demo):
    at = page("selection.py", lang="en", selection__department_value="16")
    settings_max = [w for w in at.number_input if w.label == "Highest score"][1]  # [0] is the new-selection form
    settings_max.set_value(4)
    button(at, "Save").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.error) == 1 and "outside the new scale 1 to 4" in at.error[0].value
    assert set(selection.records("16")["scale_max"]) == {5}
