"""Every page renders under AppTest without an exception, in both languages, on the demo database."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from db.demo import load_demo

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted(p.name for p in (ROOT / "pages").glob("*.py") if p.name not in ("__init__.py",) and not p.name.startswith("_")
               and p.name not in ("ui.py", "plan_widgets.py", "login.py"))


@pytest.fixture
def demo(db_url):
    load_demo()
    return db_url


@pytest.mark.parametrize("lang", ["es", "en"])
@pytest.mark.parametrize("page", PAGES)
def test_page_renders_without_exception(demo, page, lang):
    at = AppTest.from_file(str(ROOT / "pages" / page), default_timeout=60)
    at.session_state["lang"] = lang
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title, "every page shows a title"


def test_dashboard_runs_and_shows_the_landing_page(demo):
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]


def test_clusters_page_lists_demo_clusters_of_the_chosen_department(demo):
    at = AppTest.from_file(str(ROOT / "pages" / "clusters.py"), default_timeout=60)
    at.session_state["lang"] = "en"
    at.run()
    at.selectbox(key="clusters.department").set_value("22").run()
    assert not at.exception
    names = list(at.dataframe[0].value["Cluster"])
    assert names == ["Lamas", "Moyobamba – Rioja", "Mariscal Cáceres"]
    assert at.title[0].value == "Clusters of subnational governments"


def test_clusters_page_create_form_refuses_a_blank_name_in_spanish(demo):
    from assessments.access import LOCAL_USER

    at = AppTest.from_file(str(ROOT / "pages" / "clusters.py"), default_timeout=60)
    at.session_state["lang"] = "es"
    at.session_state["actor"] = LOCAL_USER
    at.run()
    at.selectbox(key="clusters.department").set_value("17").run()
    create_form_button = [b for b in at.button if b.label == "Crear clúster"][0]
    at.text_input[-1].set_value("   ")
    create_form_button.click().run()
    assert [e.value for e in at.error] == ["Escriba un nombre para el clúster (no solo espacios)."]


def test_clusters_page_offers_no_cluster_forms_to_an_evaluator(demo):
    from assessments.access import Actor

    at = AppTest.from_file(str(ROOT / "pages" / "clusters.py"), default_timeout=60)
    at.session_state["lang"] = "es"
    at.session_state["actor"] = Actor(username="eva", role="evaluator")
    at.run()
    assert not at.exception
    assert [b.label for b in at.button if b.label in ("Crear clúster", "Guardar cambios")] == []
    assert at.dataframe, "the evaluator still reads the clusters"


def test_a_refused_cluster_form_keeps_what_was_typed_and_a_saved_one_starts_empty(demo):
    from assessments.access import LOCAL_USER

    at = AppTest.from_file(str(ROOT / "pages" / "clusters.py"), default_timeout=60)
    at.session_state["lang"] = "en"
    at.session_state["actor"] = LOCAL_USER
    at.run()
    at.selectbox(key="clusters.department").set_value("17").run()
    at.text_input(key="cluster_create_form_0.name").set_value("Tahuamanu")
    [b for b in at.button if b.label == "Create cluster"][0].click().run()
    assert [e.value for e in at.error] == ["Choose at least one priority service (health, education or environment)."]
    assert at.text_input(key="cluster_create_form_0.name").value == "Tahuamanu"
    at.multiselect(key="cluster_create_form_0.sectors").set_value(["health"])
    at.multiselect(key="cluster_create_form_0.members").set_value(["17"])
    [b for b in at.button if b.label == "Create cluster"][0].click().run()
    assert not at.exception and [e.value for e in at.error] == []
    assert "Cluster “Tahuamanu” created." in [s.value for s in at.success]
    assert at.text_input(key="cluster_create_form_1.name").value == ""
