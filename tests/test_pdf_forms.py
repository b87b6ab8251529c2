"""Blank forms for the room as A4 PDFs, read back with pypdf: FOCAS scoring sheets (one per participant and
area, codes pre-printed, indicators in the entry surface's order), QSIP questionnaires, GCD minutes; and the
pages offer them for download."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from assessments import focas, gcd, pdf_forms
from assessments.access import LOCAL_USER
from assessments.i18n import translate
from assessments.instruments import load_focas, load_qsip
from db.engine import read_session, write_session
from db.models import Participant, ServiceAudit
from tests.test_focas_services import lamas, start  # noqa: F401  (fixture)
from tests.test_pdf_sheets import assert_a4, pdf, text_of

ROOT = Path(__file__).resolve().parent.parent
CODES = ("CIRO-3", "ANA-1", "BETO-2")  # registered in this order: the sheets follow it, not the alphabet


@pytest.fixture
def workshop(lamas):  # noqa: F811
    assessment_id, _ = start(lamas, LOCAL_USER, place="Auditorio de Lamas")
    with write_session() as session:
        for n, code in enumerate(CODES):
            focas.add_participant(session=session, actor=LOCAL_USER, assessment_id=assessment_id,
                                  data=focas.ParticipantInput(full_name=f"Persona {n}", code=code, sex="female"))
    return {"assessment_id": assessment_id, **lamas}


def page_texts(reader) -> list[str]:
    return [" ".join(page.extract_text().split()) for page in reader.pages]


@pytest.mark.parametrize("lang", ["es", "en"])
def test_scoring_sheets_one_per_participant_and_area_in_the_grids_order(workshop, lang):
    instrument = load_focas()
    areas = list(instrument.areas)
    with read_session() as session:
        order = list(session.execute(sa.select(Participant.code).where(
            Participant.assessment_id == workshop["assessment_id"])
            .order_by(Participant.position, Participant.code)).scalars())
    assert order == list(CODES)
    reader = pdf(pdf_forms.scoring_pdf(str(workshop["assessment_id"]), lang))
    assert_a4(reader)
    assert len(reader.pages) == (len(CODES) + pdf_forms.BLANK_SETS) * len(areas)
    texts = page_texts(reader)
    code_word = translate("print.form.code", lang)
    for n, page in enumerate(texts):
        person, area = divmod(n, len(areas))
        expected = CODES[person] if person < len(CODES) else None
        for code in CODES:  # its own code and nobody else's; blank sets carry none
            assert (code in page) == (code == expected), (n, code)
        assert code_word in page
        spec = areas[area]
        assert spec.name.get(lang) in page
        # every indicator with each level's descriptor, in the instrument's order (the grid's columns)
        positions = [page.index(f"{ind.code} · {ind.name.get(lang)}") for ind in spec.indicators]
        assert positions == sorted(positions)
        for ind in spec.indicators:
            for level in instrument.levels:
                assert " ".join(ind.descriptors[level.level].get(lang).split()) in page
        assert page.count("☐") == len(spec.indicators) * len(instrument.levels)  # one box per level


def test_a_blank_set_has_one_sheet_per_area_and_no_code(workshop):
    reader = pdf(pdf_forms.scoring_pdf(str(workshop["assessment_id"]), "es", blank_sets=1, blank_only=True))
    assert len(reader.pages) == len(load_focas().areas)
    assert not any(code in text_of(reader) for code in CODES)


@pytest.fixture
def audit(lamas):  # noqa: F811
    from assessments import qsip

    with write_session() as session:
        row = qsip.create_audit(session=session, actor=LOCAL_USER, data=qsip.AuditInput(
            cluster_id=lamas["cluster_id"], service_name="Educación inicial", sector="education", cycle_year=2014))
        return row.id


@pytest.mark.parametrize("kind", pdf_forms.RESPONDENT_TYPES)
@pytest.mark.parametrize("lang", ["es", "en"])
def test_qsip_questionnaires_for_users_and_providers(audit, kind, lang):
    reader = pdf(pdf_forms.questionnaire_pdf(str(audit), kind, lang))
    assert len(reader.pages) == 1
    assert_a4(reader)
    text = text_of(reader)
    assert translate(f"print.qsip.title.{kind}", lang) in text and translate(f"print.qsip.intro.{kind}", lang) in text
    other = "provider" if kind == "user" else "user"
    assert translate(f"print.qsip.title.{other}", lang) not in text
    assert "Educación inicial" in text and "Lamas" in text
    instrument = load_qsip()
    n_items = 0
    for dimension in instrument.dimensions:
        assert dimension.name.get(lang) in text
        for item in dimension.items:
            assert f"{item.code} · {' '.join(item.text.get(lang).split())}" in text
            n_items += 1
    boxes = n_items * (len(instrument.levels) + 1)  # a box per rating and "don't know"
    assert text.count("☐") == boxes + 4 + 3  # plus sex (4) and indigenous identity (3)


@pytest.mark.parametrize("lang", ["es", "en"])
def test_gcd_minutes_list_the_accredited_members_for_signatures(db_url, lang):
    with write_session() as session:
        for n in range(12):
            gcd.add_member(session=session, actor=LOCAL_USER, department_code="22", period="2013-2014",
                           data=gcd.MemberInput(full_name=f"Integrante Número {n:02d}", institution="civil_society",
                                                organisation="Mesa de Concertación para la Lucha contra la Pobreza"))
    reader = pdf(pdf_forms.minutes_pdf("22", "2013-2014", lang, kind="progress"))
    assert 1 <= len(reader.pages) <= 2
    assert_a4(reader)
    text = text_of(reader)
    for n in range(12):
        assert f"Integrante Número {n:02d}" in text
    for key in ("gcd.col.agenda", "gcd.col.agreements", "print.gcd.attendance", "print.sign.signature",
                "gcd.col.next_agenda"):
        assert translate(key, lang) in text, key
    assert {"es": "Firma", "en": "Signature"}[lang] in text and "San Martín" in text
    assert f"☒ {translate('gcd.kind.progress', lang)}" in text  # the meeting kind asked for is ticked
    assert f"☐ {translate('gcd.kind.plan', lang)}" in text


# --- the pages offer them -----------------------------------------------------------------------------


def open_page(page: str, lang: str = "en", **state) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / page), default_timeout=90)
    at.session_state["lang"] = lang
    at.session_state["actor"] = LOCAL_USER
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def download_labels(at: AppTest) -> list[str]:
    return [b.label for b in at.get("download_button")]


def test_the_workshop_gcd_and_qsip_pages_offer_the_forms(workshop, audit):
    at = open_page("focas_workshop.py", **{
        "focas.department_value": "22", "focas.cluster_value": workshop["cluster_id"],
        "focas.government_value": workshop["governments"][1], "focas.round_value": "baseline",
        "focas.section_value": "scores", "focas.section": "scores"})
    labels = download_labels(at)
    assert translate("print.download.scoring", "en", n=pdf_forms.BLANK_SETS) in labels
    assert translate("print.download.scoring_blank", "en") in labels
    at = open_page("gcd.py")
    assert translate("print.download.minutes", "en") in download_labels(at)
    with read_session() as session:
        cluster_id = session.get(ServiceAudit, audit).cluster_id
    at = open_page("qsip.py", **{"qsip.cluster_value": cluster_id, "qsip.audit_value": audit})
    labels = download_labels(at)
    assert translate("print.download.questionnaire.user", "en") in labels
    assert translate("print.download.questionnaire.provider", "en") in labels


@pytest.mark.parametrize("lang", ["es", "en"])
def test_no_form_breaks_a_word(workshop, audit, lang):
    from tests.test_pdf_sheets import broken_words

    scoring = pdf_forms.scoring_story(pdf_forms.scoring_forms(str(workshop["assessment_id"])), lang, blank_sets=0)
    form = pdf_forms.questionnaire_form(str(audit))
    questionnaires = [pdf_forms.questionnaire_story(form, kind, lang) for kind in pdf_forms.RESPONDENT_TYPES]
    minutes = pdf_forms.minutes_story("San Martín", "2013-2014", [], lang)
    assert broken_words([scoring, *questionnaires, minutes]) == []
