"""The QSIP page under AppTest: what a facilitator sees and does, and what reaches the database."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from assessments import formatting
from assessments.access import LOCAL_USER
from assessments.i18n import catalog
from db.engine import write_session
from db.queries import qsip as queries
from pages import ui

ROOT = Path(__file__).resolve().parent.parent
PAGE = str(ROOT / "pages" / "qsip.py")
ITEMS = ("EFT-01", "EFT-02", "EFT-03", "EFC-01", "EFC-02", "EFC-03",
         "COV-01", "COV-02", "COV-03", "SAT-01", "SAT-02", "SAT-03")


@pytest.fixture
def clusters(db_url):
    from db.demo import load_demo_clusters

    with write_session() as session:
        return {c.name: c.id for c in load_demo_clusters(session)}


@pytest.fixture
def demo(clusters):
    from db import demo_qsip
    from db.models import Cluster

    with write_session() as session:
        demo_qsip.load_demo(session, [session.get(Cluster, cid) for cid in clusters.values()])
    return clusters


def open_page(lang: str = "es", **state) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["lang"] = lang
    at.session_state[ui.ACTOR_KEY] = LOCAL_USER  # what the login gate puts there for the local administrator
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def test_every_catalog_key_the_page_uses_exists_in_both_languages():
    sources = "".join((ROOT / path).read_text() for path in
                      ("pages/qsip.py", "assessments/qsip.py", "assessments/qsip_charts.py"))
    keys = set(re.findall(r'"(qsip\.[a-z_]+\.[a-z_.]+[a-z_])"', sources)) - {"qsip.stages_editor_"}
    keys = {k for k in keys if not k.endswith(".") and not k.startswith(("qsip.f_", "qsip.col"))} | {
        f"qsip.{group}.{value}" for group, values in {
            "type": ("user", "provider", "manager"), "stage_status": ("pending", "in_progress", "done"),
            "action_status": ("planned", "in_progress", "done", "dropped"),
            "category": ("management", "resources", "coordination", "information", "other"),
            "priority": ("high", "medium", "low"),
            "dimension": ("effectiveness", "efficiency", "coverage", "satisfaction"),
        }.items() for value in values}
    assert len(keys) > 60
    for lang in ("es", "en"):
        missing = sorted(k for k in keys if k not in catalog(lang))
        assert not missing, f"{lang}: {missing}"
    es, en = catalog("es"), catalog("en")
    qsip_es = {k for k in es if k.startswith("qsip.")}
    assert qsip_es == {k for k in en if k.startswith("qsip.")}


def test_without_clusters_the_page_says_so(db_url):
    at = open_page("en")
    assert at.title[0].value == "Service audits (QSIP)"
    assert [i.value for i in at.info] == ["There are no clusters yet. Create one on the Clusters page."]


@pytest.mark.parametrize("lang", ["es", "en"])
def test_demo_audit_shows_stage_counts_and_overdue_warning(demo, lang):
    at = open_page(lang)
    metrics = {m.label: m.value for m in at.metric}
    stage_label = "Etapa actual" if lang == "es" else "Current stage"
    assert metrics[stage_label] == ("4 de 5" if lang == "es" else "4 of 5")
    assert int(metrics["Encuestados" if lang == "es" else "Respondents"]) >= 20
    assert any("vencida" in w.value or "overdue" in w.value for w in at.warning)
    assert len(at.tabs) == 6
    # the results tab draws the means, distribution, gap, cycle and two breakdown charts
    assert len(at.get("plotly_chart")) == 6


def test_opening_an_audit_from_the_form(clusters):
    at = open_page("es", **{"qsip.cluster_value": clusters["Lamas"]})
    assert "Este clúster aún no tiene auditorías" in at.info[0].value
    at.text_input[0].set_value("Acompañamiento pedagógico")
    at.number_input[0].set_value(2014)
    button(at, "Abrir auditoría").click().run()
    assert not at.exception
    assert at.success[0].value == "Auditoría abierta: Acompañamiento pedagógico, ciclo 2014."
    audits = queries.audits(LOCAL_USER, clusters["Lamas"])
    assert list(audits["cycle_year"]) == [2014] and list(audits["sector"]) == ["education"]
    assert [m.value for m in at.metric][:2] == ["1 de 5", "0"]


@pytest.fixture
def opened(clusters, actor):
    from assessments import qsip

    with write_session() as session:
        audit = qsip.create_audit(session=session, actor=actor, data=qsip.AuditInput(
            cluster_id=clusters["Tambopata"], service_name="CRED", sector="health", cycle_year=2014))
    return clusters["Tambopata"], audit.id


def questionnaire_surface(at: AppTest) -> dict:
    """What the page hands the browser's questionnaire entry (its JSON data)."""
    import json

    return next(p for p in (json.loads(e.proto.json) for e in at.get("bidi_component"))
                if p.get("mode") == "questionnaire")


def send_questionnaires(audit_id, *questionnaires, lang="es") -> dict:
    """What the browser's questionnaire entry sends when questionnaires are typed: one batch."""
    import uuid

    from assessments import entry
    from db.engine import run_write

    edits = entry.parse_edits([{"c": f"r|{uuid.uuid4()}", "v": q} for q in questionnaires])
    batch = str(uuid.uuid4())
    return entry.run_batch(run_write, batch_id=batch, edits=edits, lang=lang, apply=lambda s: entry.apply_questionnaire_batch(
        session=s, actor=LOCAL_USER, audit_id=audit_id, batch_id=batch, edits=edits, lang=lang))


def test_questionnaires_typed_in_the_browser_are_saved_and_counted(opened):
    cluster_id, audit_id = opened
    at = open_page("es", **{"qsip.cluster_value": cluster_id})
    data = questionnaire_surface(at)
    assert [i["code"] for d in data["dimensions"] for i in d["items"]] == list(ITEMS)
    assert data["scale"] == [1, 5] and data["editable"] is True
    assert [v for v, _ in data["choices"]["respondent_type"]] == ["user", "provider", "manager"]
    answer = send_questionnaires(audit_id, {"respondent_type": "user", "sex": "female", "locality": "Laberinto",
                                            "ratings": {code: 4 for code in ITEMS}},
                                 {"respondent_type": "provider", "ratings": {"EFT-01": 5, "SAT-03": 2}})
    assert {a["status"] for a in answer["cells"].values()} == {"saved"}
    at.run()
    assert queries.respondent_counts(LOCAL_USER, audit_id) == {"user": 1, "provider": 1, "manager": 0, "total": 2}
    assert "**Cuestionarios ingresados en este ciclo: 2** (usuarios 1 · proveedores 1 · gestores 0)" in [
        m.value for m in at.markdown]
    ratings = queries.ratings(LOCAL_USER, audit_id)
    assert len(ratings) == 12 + 2 and ratings["rating"].sum() == 12 * 4 + 5 + 2


def test_bad_questionnaires_are_refused_whole_with_the_reason_and_nothing_saved(opened):
    cluster_id, audit_id = opened
    answer = send_questionnaires(audit_id, {"respondent_type": "user", "ratings": {"EFT-01": 4, "EFT-02": 7}},
                                 {"ratings": {"EFT-01": 3}})
    messages = sorted(a["message"] for a in answer["cells"].values())
    assert messages == [
        "Indique si el encuestado es usuario, proveedor o gestor. No se guardó nada.",
        "Pregunta EFT-02: la calificación 7 está fuera de la escala (1 a 5). No se guardó nada."]
    assert queries.respondent_counts(LOCAL_USER, audit_id)["total"] == 0


def test_barrier_then_action_and_a_past_deadline_is_refused(opened):
    cluster_id, audit_id = opened
    at = open_page("en", **{"qsip.cluster_value": cluster_id})
    assert "Record a barrier first: every action answers a barrier." in [i.value for i in at.info]
    form_areas = [a for a in at.text_area if a.label == "Description of the barrier"]
    form_areas[0].set_value("Users do not know the opening hours")
    [s for s in at.selectbox if s.label == "Category"][0].set_value("information")
    [s for s in at.selectbox if s.label == "Level of government concerned"][0].set_value("district")
    button(at, "Record barrier").click().run()
    assert at.success[0].value == "Barrier recorded."
    barrier_id = queries.barriers(LOCAL_USER, audit_id).iloc[0]["id"]

    [s for s in at.selectbox if s.label == "Barrier it answers"][0].set_value(barrier_id)
    [a for a in at.text_area if a.label == "Action"][0].set_value("Radio notice in Ese Eja")
    [d for d in at.date_input if d.label == "Deadline"][0].set_value(date.today() - timedelta(days=3))
    button(at, "Add action").click().run()
    assert len(at.error) == 1 and at.error[0].value.startswith("The deadline ")
    assert queries.actions(LOCAL_USER, audit_id).empty
    # the refused form keeps what was typed, so only the deadline needs fixing
    assert [a for a in at.text_area if a.label == "Action"][0].value == "Radio notice in Ese Eja"

    [s for s in at.selectbox if s.label == "Barrier it answers"][0].set_value(barrier_id)
    [a for a in at.text_area if a.label == "Action"][0].set_value("Radio notice in Ese Eja")
    [d for d in at.date_input if d.label == "Deadline"][0].set_value(date.today() + timedelta(days=20))
    [c for c in at.checkbox if c.label == "Quick win"][0].check()
    button(at, "Add action").click().run()
    assert not at.error
    roadmap = queries.actions(LOCAL_USER, audit_id)
    assert list(roadmap["description"]) == ["Radio notice in Ese Eja"] and roadmap["quick_win"].all()


def test_validation_and_next_cycle_from_the_page(opened):
    cluster_id, audit_id = opened
    at = open_page("es", **{"qsip.cluster_value": cluster_id})
    by = [t for t in at.text_input if t.label == "Validado por"][0]
    assert by.value == "Local user"  # the acting user's name is offered, never a pandas "nan"
    by.set_value("Comité de gestión del CRED")
    button(at, "Registrar validación").click().run()
    successes = [m.value for m in at.success]
    assert "Validación registrada; la etapa 5 quedó concluida." in successes
    assert f"Resultados validados el {formatting.date(formatting.today(), 'es')} por Comité de gestión del CRED." in successes
    audit = queries.audit_row(LOCAL_USER, audit_id)
    assert audit["validated_by"] == "Comité de gestión del CRED"
    assert audit["validated_at"].date() == formatting.today()  # the day in Lima, as the page offered it
    button(at, "Abrir el siguiente ciclo").click().run()
    assert at.success[0].value == "Ciclo 2015 abierto con la hoja de ruta pendiente del ciclo anterior."
    assert sorted(queries.audits(LOCAL_USER, cluster_id)["cycle_year"]) == [2014, 2015]
    # the new cycle is the one now shown
    assert at.selectbox(key="qsip.audit").value != audit_id
    assert at.metric[0].value == "1 de 5"


def test_typed_names_are_shown_as_text_not_markdown(clusters, actor):
    from assessments import qsip

    with write_session() as session:
        qsip.create_audit(session=session, actor=actor, data=qsip.AuditInput(
            cluster_id=clusters["Lamas"], service_name="![x](http://e.vil/a.png) **Escuelas**", sector="education",
            cycle_year=2014))
    at = open_page("es", **{"qsip.cluster_value": clusters["Lamas"]})
    heading = at.subheader[0].value
    assert heading.startswith("\\!\\[x\\]\\(http\u2060\\:")  # every markdown sign escaped, no bare link
    assert r"\*\*Escuelas\*\*" in heading


def test_a_rating_corrected_in_the_grid_is_saved_audited_and_checked(opened):
    import uuid

    from assessments import entry
    from db.engine import run_write

    cluster_id, audit_id = opened
    send_questionnaires(audit_id, {"respondent_type": "user", "code": "Q1", "ratings": {"EFT-01": 4, "EFT-02": 2}})
    rid = str(queries.respondents(LOCAL_USER, audit_id)["id"].iloc[0])

    def correct(*cells, lang="es"):
        edits = entry.parse_edits([{"c": c, "v": v, "x": x} for c, v, x in cells])
        batch = str(uuid.uuid4())
        return entry.run_batch(run_write, batch_id=batch, edits=edits, lang=lang,
                               apply=lambda s: entry.apply_questionnaire_batch(
                                   session=s, actor=LOCAL_USER, audit_id=audit_id, batch_id=batch, edits=edits,
                                   lang=lang))["cells"]

    at = open_page("es", **{"qsip.cluster_value": cluster_id})
    grid = next(p for p in (__import__("json").loads(e.proto.json) for e in at.get("bidi_component"))
                if p.get("cellPrefix") == "q")
    assert grid["scores"] == {f"{rid}|EFT-01": 4, f"{rid}|EFT-02": 2}
    assert [p["code"] for p in grid["participants"]] == ["Q1"]
    answers = correct((f"q|{rid}|EFT-01", 5, 4), (f"q|{rid}|EFT-02", 7, 2), (f"q|{rid}|EFT-03", 3, 1),
                      (f"q|{uuid.uuid4()}|EFT-01", 3, None))
    assert {c.split("|")[2] + ("?" if c.split("|")[1] != rid else ""): (a["status"], a.get("reason"))
            for c, a in answers.items()} == {
        "EFT-01": ("saved", None), "EFT-02": ("refused", "scale"), "EFT-03": ("refused", "conflict"),
        "EFT-01?": ("refused", "gone")}
    ratings = queries.ratings(LOCAL_USER, audit_id).set_index("item_code")["rating"].to_dict()
    assert ratings == {"EFT-01": 5, "EFT-02": 2}
    # clearing one answer is allowed; clearing the last one is not (a questionnaire needs a rating)
    assert correct((f"q|{rid}|EFT-02", None, 2))[f"q|{rid}|EFT-02"]["status"] == "saved"
    last = correct((f"q|{rid}|EFT-01", None, 5))[f"q|{rid}|EFT-01"]
    assert last["status"] == "refused"
    assert queries.ratings(LOCAL_USER, audit_id).set_index("item_code")["rating"].to_dict() == {"EFT-01": 5}
