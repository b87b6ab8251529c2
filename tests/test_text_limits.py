"""Free text: every field has a length limit, and NUL, control and direction-override characters are
refused with a translated message naming the field, before anything reaches the database (SQLite, or
PostgreSQL with DATABASE_URL: there a NUL used to raise a driver error mid-save)."""

from __future__ import annotations

import re
import secrets
import uuid
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from assessments import accounts, capacity_plan, clusters, entry, focas, gcd, selection
from assessments import instruments as spec
from assessments.i18n import translate
from assessments.text import LIMITS, MULTILINE, TextRefused, clean_field, clean_text, field_label
from db.audit import data_version
from db.engine import read_session, write_session
from db.models import (
    Assessment,
    AuditEvent,
    CapacityPlanItem,
    Cluster,
    ClusterMember,
    ConsensusScore,
    FunctionalArea,
    GcdMeeting,
    GcdMember,
    Government,
    Indicator,
    Participant,
    SelectionCandidate,
    SelectionCriterion,
    SelectionRecord,
    SelectionScore,
    UserAccount,
)

ROOT = Path(__file__).resolve().parent.parent
MARK = "Zq9"  # in every hostile value: a refused one must be found nowhere afterwards
NUL = f"{MARK} a\x00b"
RTL = f"{MARK} factura\u202eexe.pdf"
BELL = f"{MARK} \x07"
HOSTILE_OK = f'{MARK} <img src=http://127.0.0.1:9/x> ![x](http://127.0.0.1:9/y) =HYPERLINK("http://127.0.0.1:9")'


# --- the rule itself ----------------------------------------------------------------------------


def test_clean_text_strips_and_nfc_normalises():
    decomposed = "Moyobamba  San Marti\u0301n "  # "í" typed as i + combining accent
    assert clean_text(f"  {decomposed}\n", field="cluster.name", limit=120) == "Moyobamba  San Martín"
    assert clean_text(None, field="cluster.name", limit=120) == ""


@pytest.mark.parametrize("value, code", [
    ("a\x00b", "U+0000"), ("a\x07b", "U+0007"), ("a\x1bb", "U+001B"), ("a\x7fb", "U+007F"), ("a\x85b", "U+0085"),
    ("a\nb", "U+000A"), ("a\tb", "U+0009"), ("a\u2028b", "U+2028"),
])
def test_control_characters_are_refused_naming_field_and_character(value, code):
    with pytest.raises(TextRefused) as caught:
        clean_text(value, field="cluster.name", limit=120)
    assert caught.value.key == "text_limits.control" and caught.value.field == "cluster.name"
    assert caught.value.message("es").startswith("Nombre del clúster:") and code in caught.value.message("es")
    assert caught.value.message("en").startswith("Cluster name:") and code in caught.value.message("en")


@pytest.mark.parametrize("character", ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e",
                                       "\u2066", "\u2067", "\u2068", "\u2069"])
def test_direction_overrides_are_refused_even_in_multiline_fields(character):
    for field in ("cluster.name", "cluster.notes"):
        with pytest.raises(TextRefused) as caught:
            clean_text(f"abc{character}def", field=field, limit=LIMITS[field])
        assert caught.value.key == "text_limits.bidi"
        assert "dirección de lectura" in caught.value.message("es")
        assert "reading direction" in caught.value.message("en")


def test_multiline_fields_keep_line_breaks_and_tabs_but_not_other_controls():
    assert clean_text("uno\r\ndos\rtres\tcuatro", field="cluster.notes", limit=2000) == "uno\ndos\ntres\tcuatro"
    with pytest.raises(TextRefused):
        clean_text("uno\x00dos", field="cluster.notes", limit=2000)
    assert "cluster.notes" in MULTILINE and "cluster.name" not in MULTILINE


def test_over_length_is_refused_with_the_limit_and_the_length():
    assert clean_text("x" * 120, field="cluster.name", limit=120) == "x" * 120
    with pytest.raises(TextRefused) as caught:
        clean_text("x" * 100_000, field="cluster.name", limit=120)
    assert caught.value.key == "text_limits.too_long"
    assert "120" in caught.value.message("es") and "100000" in caught.value.message("es")
    assert "at most 120" in caught.value.message("en")


def test_required_refuses_blank():
    with pytest.raises(TextRefused, match="text_limits.required"):
        clean_text("   ", field="cluster.name", limit=120, required=True)


def test_hostile_but_printable_text_is_kept_as_typed():
    """HTML, Markdown and formulas are not refused: they are shown and exported inert (pages, CSV)."""
    assert clean_field(HOSTILE_OK, "cluster.notes") == HOSTILE_OK
    assert clean_field("Señora Ñusta — 𝔸 😀 زهرة", "focas.participant.full_name") == "Señora Ñusta — 𝔸 😀 زهرة"


def test_every_field_has_a_label_in_both_languages():
    for field in LIMITS:
        for lang in ("es", "en"):
            label = translate(f"text_limits.field.{field}", lang)
            assert label != f"text_limits.field.{field}" and label == field_label(field, lang), (field, lang)
    for key in ("too_long", "control", "bidi", "required"):
        for lang in ("es", "en"):
            assert translate(f"text_limits.{key}", lang) != f"text_limits.{key}"


def test_every_limit_is_listed_in_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for field, limit in LIMITS.items():
        assert re.search(rf"`{re.escape(field)}`\s*\|\s*{limit}\b", readme), field


def test_entry_surface_maxlength_matches_the_limits():
    source = (ROOT / "pages" / "components" / "entry_grid.js").read_text(encoding="utf-8")

    def maxlength(pattern: str) -> int:
        return int(re.search(pattern + r'[^\n]*maxlength: "(\d+)"', source).group(1))

    assert maxlength(r'el\("textarea", \{ class: "fe-editor"') == LIMITS["focas.evidence"]
    assert maxlength(r'full_name: el\("input"') == LIMITS["focas.participant.full_name"]
    assert maxlength(r'organisation: el\("input"') == LIMITS["focas.participant.organisation"]
    assert maxlength(r'locality: el\("input"') == LIMITS["qsip.respondent.locality"]
    assert [int(n) for n in re.findall(r'code: el\("input", \{ name: "code"[^\n]*maxlength: "(\d+)"', source)] == [
        LIMITS["focas.participant.code"], LIMITS["qsip.respondent.code"]]


# --- every write service refuses before writing -------------------------------------------------


@pytest.fixture
def world(db_url, actor):
    """The demo cluster Lamas with a draft baseline (one person), a selection record and a GCD period."""
    from db.demo import load_demo_clusters

    with write_session() as session:
        load_demo_clusters(session)
    with read_session() as session:
        cluster = session.execute(sa.select(Cluster).where(Cluster.name == "Lamas")).scalars().one()
        governments = session.execute(
            sa.select(Government.id).join(ClusterMember, ClusterMember.government_id == Government.id)
            .where(ClusterMember.cluster_id == cluster.id).order_by(Government.ubigeo)).scalars().all()
    with write_session() as session:
        assessment, _ = focas.start_assessment(session=session, actor=actor, government_id=governments[1],
                                               cluster_id=cluster.id, round="baseline")
        focas.add_participant(session=session, actor=actor, assessment_id=assessment.id,
                              data=focas.ParticipantInput(full_name="Ana", sex="female"))
        record = selection.create_record(session=session, actor=actor, department_code=cluster.department_code,
                                         wave=1)
        assessment_id, record_id = assessment.id, record.id
    with read_session() as session:
        indicator = session.execute(
            sa.select(Indicator.code, FunctionalArea.code).join(FunctionalArea, FunctionalArea.id == Indicator.area_id)
            .join(Assessment, Assessment.instrument_id == FunctionalArea.instrument_id)
            .where(Assessment.id == assessment_id).order_by(FunctionalArea.code, Indicator.code)).first()
        candidate = session.execute(sa.select(SelectionCandidate.id).where(
            SelectionCandidate.record_id == record_id).limit(1)).scalar_one()
        criterion = session.execute(sa.select(SelectionCriterion.id).where(
            SelectionCriterion.record_id == record_id).order_by(SelectionCriterion.position).limit(1)).scalar_one()
        areas = session.execute(sa.select(FunctionalArea.code).join(
            Assessment, Assessment.instrument_id == FunctionalArea.instrument_id)
            .where(Assessment.id == assessment_id)).scalars().all()
    return {"actor": actor, "cluster": cluster, "governments": governments, "assessment": assessment_id,
            "indicator": indicator[0], "area": indicator[1], "areas": list(areas), "record": record_id,
            "candidate": candidate, "criterion": criterion, "department": cluster.department_code}


def _cluster(w, v, notes=False):
    data = clusters.ClusterInput(name="Nuevo" if notes else v, department_code=w["department"], wave=1,
                                 sectors=["health"], notes=v if notes else "")
    return lambda s: clusters.create_cluster(session=s, actor=w["actor"], data=data)


def _start(w, **kwargs):
    return lambda s: focas.start_assessment(session=s, actor=w["actor"], government_id=w["governments"][2],
                                            cluster_id=w["cluster"].id, round="baseline", **kwargs)


def _details(w, notes="", reason=None):
    return lambda s: focas.update_details(session=s, actor=w["actor"], assessment_id=w["assessment"],
                                          workshop_date=None, place="", facilitator="", notes=notes, reason=reason)


def _person(w, **kwargs):
    data = focas.ParticipantInput(**{"full_name": "Luis", "sex": "male", **kwargs})
    return lambda s: focas.add_participant(session=s, actor=w["actor"], assessment_id=w["assessment"], data=data)


def _plan(w, **kwargs):
    data = capacity_plan.PlanItemInput(**{"area_code": w["area"], "intervention_type": "training",
                                          "what": "Taller", **kwargs})
    return lambda s: capacity_plan.add_plan_item(session=s, actor=w["actor"], government_id=w["governments"][1],
                                                 data=data)


CASES = {
    "cluster.name": (Cluster.name, lambda w, v: _cluster(w, v)),
    "cluster.notes": (Cluster.notes, lambda w, v: _cluster(w, v, notes=True)),
    "focas.workshop.place": (Assessment.place, lambda w, v: _start(w, place=v)),
    "focas.workshop.facilitator": (Assessment.facilitator, lambda w, v: _start(w, facilitator=v)),
    "focas.workshop.notes": (Assessment.notes, lambda w, v: _details(w, notes=v)),
    "focas.reason": (AuditEvent.reason, lambda w, v: _details(w, notes="cambio", reason=v)),
    "focas.participant.full_name": (Participant.full_name, lambda w, v: _person(w, full_name=v)),
    "focas.participant.code": (Participant.code, lambda w, v: _person(w, code=v)),
    "focas.participant.organisation": (Participant.organisation, lambda w, v: _person(w, organisation=v)),
    "focas.evidence": (ConsensusScore.evidence, lambda w, v: lambda s: focas.apply_consensus_edits(
        session=s, actor=w["actor"], assessment_id=w["assessment"], edits={w["indicator"]: {"evidence": v}},
        expected={})),
    "focas.indicator.name": (Indicator.name_es, lambda w, v: lambda s: focas.customise_instrument(
        session=s, actor=w["actor"], assessment_id=w["assessment"], area_codes=w["areas"],
        new_indicators=[focas.CustomIndicator(area_code=w["area"], name_es=v)])),
    "focas.indicator.descriptor": (Indicator.name_es, lambda w, v: lambda s: focas.customise_instrument(
        session=s, actor=w["actor"], assessment_id=w["assessment"], area_codes=w["areas"],
        new_indicators=[focas.CustomIndicator(area_code=w["area"], name_es=f"{MARK} nuevo", descriptors={1: v})])),
    "plan.what": (CapacityPlanItem.what, lambda w, v: _plan(w, what=v)),
    "plan.who_staff": (CapacityPlanItem.who_staff, lambda w, v: _plan(w, who_staff=v)),
    "plan.where_place": (CapacityPlanItem.where_place, lambda w, v: _plan(w, where_place=v)),
    "plan.resources": (CapacityPlanItem.resources, lambda w, v: _plan(w, resources=v)),
    "plan.other_support": (CapacityPlanItem.other_support, lambda w, v: _plan(w, other_support=v)),
    "selection.notes": (SelectionRecord.notes, lambda w, v: lambda s: selection.update_record(
        session=s, actor=w["actor"], record_id=w["record"], notes=v)),
    "selection.criterion.name": (SelectionCriterion.name_es, lambda w, v: lambda s: selection.add_criterion(
        session=s, actor=w["actor"], record_id=w["record"], name_es=v)),
    "selection.evidence": (SelectionScore.evidence, lambda w, v: lambda s: selection.apply_score_edits(
        session=s, actor=w["actor"], record_id=w["record"],
        edits=[selection.ScoreEdit(candidate_id=w["candidate"], criterion_id=w["criterion"], score=3, evidence=v)])),
    "gcd.member.full_name": (GcdMember.full_name, lambda w, v: lambda s: gcd.add_member(
        session=s, actor=w["actor"], department_code=w["department"], period="2015-2017",
        data=gcd.MemberInput(full_name=v, institution="civil_society"))),
    "gcd.member.organisation": (GcdMember.organisation, lambda w, v: lambda s: gcd.add_member(
        session=s, actor=w["actor"], department_code=w["department"], period="2015-2017",
        data=gcd.MemberInput(full_name="Rosa", institution="civil_society", organisation=v))),
    **{f"gcd.meeting.{column}": (getattr(GcdMeeting, column), lambda w, v, column=column: lambda s: gcd.record_meeting(
        session=s, actor=w["actor"], department_code=w["department"], period="2015-2017",
        data=gcd.MeetingInput(kind="plan", meeting_date=date(2016, 3, 1), **{column: v})))
       for column in ("agenda", "agreements", "next_agenda")},
    "account.full_name": (UserAccount.full_name, lambda w, v: lambda s: accounts.create_user(
        session=s, actor=w["actor"], username=f"u{uuid.uuid4().hex[:8]}", password=secrets.token_urlsafe(16),
        role="manager", full_name=v)),
}
SERVICE_FIELDS = sorted(CASES)


def test_every_non_qsip_field_has_a_service_case():
    """A field added to LIMITS gets a case here (QSIP's are tested with its services)."""
    assert {f for f in LIMITS if not f.startswith(("qsip.", "instrument."))} == set(CASES)


def _state(column) -> tuple[int, int, int]:
    with read_session() as session:
        marked = session.execute(sa.select(sa.func.count()).where(column.like(f"%{MARK}%"))).scalar_one()
        audits = session.execute(sa.select(sa.func.count()).select_from(AuditEvent)).scalar_one()
        return marked, audits, data_version(session)


@pytest.mark.parametrize("field", SERVICE_FIELDS)
@pytest.mark.parametrize("kind", ["nul", "rtl", "control", "too_long"])
def test_service_refuses_with_the_message_and_saves_nothing(world, field, kind):
    column, make = CASES[field]
    value = {"nul": NUL, "rtl": RTL, "control": BELL, "too_long": MARK + "x" * 100_000}[kind]
    before = _state(column)
    with pytest.raises(TextRefused) as caught:  # the message, never a driver error (PostgreSQL refuses NUL)
        with write_session() as session:
            make(world, value)(session)
    assert caught.value.field == field
    message = caught.value.message("es")
    assert message.startswith(field_label(field, "es") + ":")
    if kind == "too_long":
        assert str(LIMITS[field]) in message
    assert _state(column) == before


@pytest.mark.parametrize("field", SERVICE_FIELDS)
def test_service_stores_the_longest_allowed_text_as_typed(world, field):
    column, make = CASES[field]
    limit = LIMITS[field]
    value = (HOSTILE_OK if len(HOSTILE_OK) <= limit else f"{MARK}=1+1<b>")
    value = value + "x" * (limit - len(value))  # exactly at the limit
    with write_session() as session:
        make(world, f"  {value}  ")(session)
    with read_session() as session:
        stored = session.execute(sa.select(column).where(column.like(f"%{MARK}%"))).scalars().all()
    if field == "focas.indicator.descriptor":  # the descriptor lives in its own table; the version was made
        assert stored
        return
    assert value in stored


def test_entry_batch_refuses_evidence_and_people_with_control_characters(world):
    person = str(uuid.uuid4())
    edits = [entry.CellEdit(cell=f"e|{world['indicator']}", value=NUL),
             entry.CellEdit(cell=f"p|{person}", value={"full_name": RTL, "sex": "female"})]
    with write_session() as session:
        answer = entry.apply_batch(session=session, actor=world["actor"], assessment_id=world["assessment"],
                                   batch_id=uuid.uuid4(), edits=edits, lang="en")
    evidence, register = answer["cells"][f"e|{world['indicator']}"], answer["cells"][f"p|{person}"]
    assert evidence["status"] == "refused" and evidence["message"].startswith("Evidence:")
    assert register["status"] == "refused" and register["message"].startswith("Participant name:")
    assert _state(ConsensusScore.evidence)[0] == 0 and _state(Participant.full_name)[0] == 0


def test_participant_import_names_the_line_and_the_field(world):
    from assessments.participant_list import parse_text

    rows = parse_text(f"nombre;sexo\nAna;mujer\n{MARK} \u202eLuis;hombre\n")
    with pytest.raises(focas.ImportRefused) as caught:
        with write_session() as session:
            focas.import_participants(session=session, actor=world["actor"], assessment_id=world["assessment"],
                                      rows=rows)
    (line, text), = caught.value.lines("es")
    assert line == 3 and text.startswith("Nombre del participante:")
    assert _state(Participant.full_name)[0] == 0


def test_instrument_texts_are_checked_too():
    data = spec.load_focas().to_dict()
    data["areas"][0]["name"]["es"] = "Planificación\x00"
    with pytest.raises(TextRefused) as caught:
        spec.parse_focas(data)
    assert caught.value.field == "instrument.text"


def test_gcd_period_must_be_exactly_two_years():
    with pytest.raises(Exception, match="gcd.bad_period"):
        gcd.period_years("2015-2017\n")


# --- the Clústeres page ---------------------------------------------------------------------------


def test_cluster_edit_form_belongs_to_the_chosen_cluster_and_refuses_control_characters(db_url):
    """After switching department, the edit form shows the chosen cluster (not the name and empty members of
    the one first shown); a name with a direction override is refused on the page, naming the field."""
    from streamlit.testing.v1 import AppTest

    from assessments.access import LOCAL_USER
    from db.demo import load_demo_clusters
    from db.models import Cluster, ClusterMember

    with write_session() as session:
        load_demo_clusters(session)
    at = AppTest.from_file(str(ROOT / "pages" / "clusters.py"), default_timeout=60)
    at.session_state["lang"] = "es"
    at.session_state["actor"] = LOCAL_USER
    at.run()
    at.selectbox(key="clusters.department").set_value("22").run()
    with read_session() as session:
        lamas = session.execute(sa.select(Cluster).where(Cluster.name == "Lamas")).scalars().one()
        members = session.execute(sa.select(sa.func.count()).where(ClusterMember.cluster_id == lamas.id)).scalar()
    at.selectbox(key="clusters.selected").set_value(lamas.id).run()
    name = next(w for w in at.text_input if w.key and w.key.startswith("cluster_edit_form_") and w.key.endswith(".name"))
    chosen = next(w for w in at.multiselect if w.key and w.key.startswith("cluster_edit_form_")
                  and w.key.endswith(".members"))
    assert name.value == "Lamas" and len(chosen.value) == members == 4
    name.set_value("Lamas \u202egnp")  # typed, then the form's own button (a form sends its fields on submit)
    next(b for b in at.button if b.label == "Guardar cambios" and b.proto.form_id.startswith("cluster_edit_form_")
         ).click().run()
    assert any(e.value.startswith("Nombre del clúster: el texto contiene un carácter que invierte") for e in at.error), [
        e.value for e in at.error]
    with read_session() as session:
        assert session.get(Cluster, lamas.id).name == "Lamas"
