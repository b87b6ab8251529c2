"""Hostile text in a real browser: HTML, Markdown links and images, scripts, formulas, direction overrides,
NUL and 100,000 characters, typed into the free-text fields (through the pages where the test can type,
through the services elsewhere). Every page shows it as text, no browser fetches the address inside it, the
CSV downloads keep formulas inert, and what the rules refuse is refused with the translated message, with
nothing saved."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tests.e2e.conftest import eventually, wait_for_app

pytestmark = pytest.mark.e2e

TRAP = "http://127.0.0.1:9/"  # nothing listens there; a request to it means a page turned text into HTML
CLUSTER_NAME = f'=HYPERLINK("{TRAP}z","x") ![y]({TRAP}y) <img src={TRAP}x onerror=__pwned=1>'
PLACE = f"<img src={TRAP}p onerror=window.__pwned=2> ![p]({TRAP}q) <script>window.__pwned=3</script>"
FACILITATOR = f'=HYPERLINK("{TRAP}f","f") [facilitador]({TRAP}g) **negrita** :red[rojo]'
HOSTILE = f"@SUM(1+1) ![h]({TRAP}h) <img src={TRAP}i> [enlace]({TRAP}j) <script>window.__pwned=4</script>"
LOGIN_ON = {"FOCAS_AUTH": "on"}
PAGES = ("overview", "progress", "result-sheets", "focas", "focas-plan", "qsip", "clusters", "selection", "gcd",
         "instrument", "snapshots")


def _seed(db_url: str) -> dict:
    """The demo database, marked as such (demo accounts log in), with hostile text in the fields the
    test does not type into: GCD member and meeting, capacity-plan item, selection notes and criterion."""
    from assessments import capacity_plan, gcd, selection
    from assessments.access import LOCAL_USER as actor
    from db.engine import dispose_engine, read_session, write_session
    from db.models import AppMeta, Cluster, ClusterMember, FunctionalArea, Government

    with write_session() as session:
        session.merge(AppMeta(key="demo_database", value="1"))
    with read_session() as session:
        lamas = session.execute(sa.select(Cluster).where(Cluster.name == "Lamas")).scalars().one()
        government = session.execute(
            sa.select(Government).join(ClusterMember, ClusterMember.government_id == Government.id)
            .where(ClusterMember.cluster_id == lamas.id, Government.level == "provincial")).scalars().first()
    with write_session() as session:
        gcd.add_member(session=session, actor=actor, department_code="22", period="2013-2014",
                       data=gcd.MemberInput(full_name=HOSTILE, institution="civil_society", organisation=HOSTILE))
        gcd.record_meeting(session=session, actor=actor, department_code="22", period="2013-2014",
                           data=gcd.MeetingInput(kind="plan", meeting_date=date(2014, 3, 1), agenda=HOSTILE,
                                                 agreements=HOSTILE, next_agenda=HOSTILE))
        instrument = capacity_plan.government_instrument(session, government.id)
        area_code = session.execute(sa.select(FunctionalArea.code).where(FunctionalArea.instrument_id == instrument.id)
                                    .order_by(FunctionalArea.code)).scalars().first()
        capacity_plan.add_plan_item(session=session, actor=actor, government_id=government.id,
                                    data=capacity_plan.PlanItemInput(area_code=area_code, intervention_type="training",
                                                                     what=HOSTILE, who_staff=HOSTILE,
                                                                     resources=HOSTILE))
        record = selection.create_record(session=session, actor=actor, department_code="22", wave=3, notes=HOSTILE)
        selection.add_criterion(session=session, actor=actor, record_id=record.id, name_es=HOSTILE)
    dispose_engine(db_url)
    return {"cluster": str(lamas.id), "government": str(government.id)}


def _log_in(page, url: str, username: str, password: str) -> None:
    page.goto(url)
    wait_for_app(page)
    page.get_by_label("Usuario").fill(username)
    page.get_by_label("Contraseña", exact=True).fill(password)
    page.get_by_role("button", name="Ingresar").click()
    page.wait_for_timeout(1500)  # the login reruns the script once more
    wait_for_app(page)


def _trap(page) -> list[str]:
    hits: list[str] = []
    page.on("request", lambda request: hits.append(request.url) if request.url.startswith(TRAP) else None)
    return hits


def _assert_inert(page, where: str) -> None:
    scripts = [text for text in page.locator("script:not([src])").all_text_contents() if "__pwned" in text]
    made = page.locator(f"img[src^='{TRAP}'], a[href^='{TRAP}'], iframe[src^='{TRAP}']")
    found = made.evaluate_all("(nodes) => nodes.map(n => (n.closest('[data-testid]') || n).getAttribute('data-testid')"
                              " + ': ' + n.outerHTML + ' in ' + (n.parentElement ? n.parentElement.outerHTML.slice(0, 300) : ''))")
    assert not found, (where, found)
    assert not scripts, where
    assert page.evaluate("() => window.__pwned === undefined"), where


def _shows(page, selector: str, text: str) -> bool:
    """Whether an element matching ``selector`` reads ``text`` (the invisible word joiners that keep bare
    addresses from turning into links aside)."""
    return page.locator(selector).evaluate_all(
        "(nodes, text) => nodes.some(n => n.innerText.replaceAll('\\u2060', '').includes(text))", text)


def _cluster_name(cluster_id: str) -> str:
    from db.engine import read_session
    from db.models import Cluster

    with read_session() as session:
        return session.get(Cluster, uuid.UUID(cluster_id)).name


def _count(model) -> int:
    from db.engine import read_session

    with read_session() as session:
        return session.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()


def _edit_lamas(page, name: str) -> None:
    form = page.get_by_test_id("stForm").filter(has=page.get_by_role("button", name="Guardar cambios"))
    form.get_by_label("Nombre del clúster").fill(name)
    form.get_by_role("button", name="Guardar cambios").click()
    wait_for_app(page)


def test_hostile_text_is_refused_or_shown_as_text_on_every_page(demo_db_url, app_factory, page, browser, tmp_path):
    from db.models import Assessment, AuditEvent

    seeded = _seed(demo_db_url)
    app = app_factory(demo_db_url, env=LOGIN_ON)
    hits = _trap(page)
    _log_in(page, app.url, "admin", "demo-admin")

    # --- Clústeres: refused names say why and save nothing; a hostile but printable name is saved -------------
    page.goto(f"{app.url}/clusters?dep=22")
    wait_for_app(page)
    page.get_by_role("combobox", name="Departamento").click()
    page.get_by_role("option", name="San Martín (22)").click()
    wait_for_app(page)
    page.get_by_role("combobox", name="Clúster").click()
    page.get_by_role("option", name="Lamas", exact=True).click()
    wait_for_app(page)
    page.get_by_text("Editar este clúster").click()
    name_box = page.get_by_test_id("stForm").get_by_label("Nombre del clúster").first
    name_box.fill("x" * 100_000)  # 100,000 characters cannot even be typed: the box stops at the limit
    assert len(name_box.input_value()) <= 120
    audits = _count(AuditEvent)
    for typed, message in ((f"Lamas \u202eetla", "Nombre del clúster: el texto contiene un carácter que invierte "
                                                 "la dirección de lectura (U+202E)"),
                           ("Lamas\x00x", "Nombre del clúster: el texto contiene un carácter de control no "
                                          "permitido (U+0000)")):
        _edit_lamas(page, typed)
        expect(page.get_by_test_id("stAlert").filter(has_text=message)).to_be_visible()
        assert _cluster_name(seeded["cluster"]) == "Lamas" and _count(AuditEvent) == audits
    _edit_lamas(page, CLUSTER_NAME)
    assert eventually(lambda: _cluster_name(seeded["cluster"]), CLUSTER_NAME) == CLUSTER_NAME
    assert eventually(lambda: _shows(page, "[data-testid='stAlert']", f"Clúster «{CLUSTER_NAME}» actualizado."), True)
    _assert_inert(page, "clusters after save")

    with page.expect_download() as download:
        page.get_by_role("button", name="Descargar CSV").first.click()
    rows = list(csv.reader(io.StringIO(download.value.path().read_text(encoding="utf-8-sig"))))
    assert ["'" + CLUSTER_NAME] in [row[:1] for row in rows], rows[:3]  # a formula stays text in a spreadsheet

    # --- Taller FOCAS: the end round started with a hostile place and facilitator (a refused one first) -------
    params = f"dep=22&cluster={seeded['cluster']}&gov={seeded['government']}&round=end"
    page.goto(f"{app.url}/focas?{params}")
    wait_for_app(page)
    start = page.get_by_test_id("stForm").filter(has=page.get_by_role("button", name="Iniciar taller"))
    assessments = _count(Assessment)
    start.get_by_label("Lugar").fill("Tabalosos \u202dx")
    start.get_by_label("Facilitador(a)").fill(FACILITATOR)
    start.get_by_role("button", name="Iniciar taller").click()
    wait_for_app(page)
    expect(page.get_by_test_id("stAlert").filter(
        has_text="Lugar del taller: el texto contiene un carácter que invierte")).to_be_visible()
    assert _count(Assessment) == assessments
    start.get_by_label("Lugar").fill(PLACE)
    start.get_by_role("button", name="Iniciar taller").click()
    wait_for_app(page)
    assert eventually(lambda: _count(Assessment), assessments + 1) == assessments + 1
    _assert_inert(page, "focas after start")
    _add_hostile_people(seeded)

    # --- every page, as the evaluator (read-only views show place and facilitator as text) --------------------
    viewer = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="es-PE").new_page()
    viewer.set_default_timeout(30_000)
    viewer_hits = _trap(viewer)
    _log_in(viewer, app.url, "evaluator", "demo-evaluator")
    for path in PAGES:
        query = f"?{params}" if path in ("focas", "focas-plan") else (
            f"?cluster={seeded['cluster']}&rounds=baseline-midpoint" if path == "result-sheets" else "?dep=22")
        viewer.goto(f"{app.url}/{path}{query}")
        wait_for_app(viewer)
        if path in ("clusters", "gcd"):  # these pages open on the first department
            viewer.get_by_role("combobox", name="Departamento").click()
            viewer.get_by_role("option", name="San Martín (22)").click()
            wait_for_app(viewer)
        # what is folded away is checked too (and read as text below)
        viewer.evaluate("() => document.querySelectorAll(\"[data-testid='stExpander'] details\")"
                        ".forEach(d => { d.open = true; })")
        viewer.screenshot(path=str(tmp_path / f"{path}.png"), full_page=True)
        _assert_inert(viewer, path)
        if path == "result-sheets":
            assert _shows(viewer, "[data-testid='stMain'] h3", CLUSTER_NAME), path
        if path == "focas":
            assert _shows(viewer, "[data-testid='stMarkdownContainer']", f"Lugar: {PLACE} · Facilitador(a): {FACILITATOR}")
        if path == "gcd":
            with viewer.expect_download() as download:
                viewer.get_by_test_id("stMain").get_by_role("button", name="Descargar CSV").nth(1).click()
            text = download.value.path().read_text(encoding="utf-8-sig")
            assert "'" + HOSTILE in text and "\n" + HOSTILE not in text and "," + HOSTILE not in text
    viewer.context.close()
    assert hits == [] and viewer_hits == [], hits + viewer_hits


def _add_hostile_people(seeded: dict) -> None:
    """A participant and an agreed evidence note with hostile text in the workshop the page just started."""
    from assessments import focas
    from assessments.access import LOCAL_USER as actor
    from db.engine import read_session, write_session
    from db.models import Assessment, FunctionalArea, Indicator

    with read_session() as session:
        assessment = session.execute(sa.select(Assessment).where(
            Assessment.government_id == uuid.UUID(seeded["government"]), Assessment.round == "end")).scalars().one()
        code = session.execute(sa.select(Indicator.code).join(FunctionalArea, FunctionalArea.id == Indicator.area_id)
                               .where(FunctionalArea.instrument_id == assessment.instrument_id)
                               .order_by(Indicator.code)).scalars().first()
    with write_session() as session:
        focas.add_participant(session=session, actor=actor, assessment_id=assessment.id,
                              data=focas.ParticipantInput(full_name=HOSTILE[:200], sex="female",
                                                          organisation=HOSTILE[:200]))
        focas.apply_consensus_edits(session=session, actor=actor, assessment_id=assessment.id,
                                    edits={code: {"evidence": HOSTILE}}, expected={})
