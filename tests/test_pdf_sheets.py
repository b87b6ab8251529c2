"""Result sheets as A4 PDFs: read back with pypdf (pages, A4 size, texts in both languages) and the chart's
drawn labels measured with ReportLab's stringWidth against the chart's box."""

from __future__ import annotations

import io
import re
from datetime import date, datetime, timezone

import pypdf
import pytest
import sqlalchemy as sa

from assessments import pdf_layout, pdf_sheets
from assessments.i18n import translate
from db import models as m
from tests.test_progress_views import build_dataset

A4 = (595.28, 841.89)
TODAY = date(2014, 5, 2)
HOSTILE_STEP = "<b>Taller & práctica</b> <font size=40>grande</font>"


def pdf(data: bytes) -> pypdf.PdfReader:
    assert data.startswith(b"%PDF-")
    return pypdf.PdfReader(io.BytesIO(data))


def text_of(reader: pypdf.PdfReader) -> str:
    """Every page's text with line breaks and runs of spaces made single spaces (wrapped labels join up)."""
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in reader.pages))


def assert_a4(reader: pypdf.PdfReader) -> None:
    for page in reader.pages:
        box = page.mediabox
        assert abs(float(box.width) - A4[0]) <= 1 and abs(float(box.height) - A4[1]) <= 1


def _default_focas(session):
    focas = session.execute(sa.select(m.Instrument).where(m.Instrument.kind == "focas",
                                                          m.Instrument.is_default == sa.true())).scalar_one()
    rows = session.execute(
        sa.select(m.FunctionalArea.code, m.FunctionalArea.name_es, m.FunctionalArea.name_en, m.Indicator.code,
                  m.Indicator.id)
        .join(m.Indicator, m.Indicator.area_id == m.FunctionalArea.id)
        .where(m.FunctionalArea.instrument_id == focas.id)
        .order_by(m.FunctionalArea.position, m.Indicator.position)).all()
    return focas, rows


def full_government(session, ubigeo: str, cluster: m.Cluster, *, participants: int = 25, plan_items: int = 8,
                    shift: int = 0) -> m.Government:
    """A government with every area of the default instrument scored in baseline and midpoint, a target per
    area, a full room of participants and a long capacity plan (the fullest page a sheet has to hold)."""
    government = session.execute(sa.select(m.Government).where(m.Government.ubigeo == ubigeo)).scalar_one()
    session.add(m.ClusterMember(cluster_id=cluster.id, government_id=government.id,
                                department_code=cluster.department_code))
    focas, indicators = _default_focas(session)
    validated = datetime(2014, 4, 30, 3, 0, tzinfo=timezone.utc)  # 29 April in Lima
    for round_name, bump, day_ in (("baseline", 0, date(2013, 4, 2)), ("midpoint", 1, date(2014, 4, 29))):
        assessment = m.Assessment(government_id=government.id, cluster_id=cluster.id, round=round_name,
                                  instrument_id=focas.id, status="validated", validated_at=validated,
                                  validated_by="facilitator", workshop_date=day_, place="Auditorio municipal",
                                  facilitator="Rosa Panduro")
        session.add(assessment)
        session.flush()
        for n, (*_, indicator_id) in enumerate(indicators):
            score = min(4, 1 + (n + shift) % 3 + (bump if n % 2 else 0))
            session.add(m.ConsensusScore(assessment_id=assessment.id, indicator_id=indicator_id, score=score))
        for p in range(participants):
            session.add(m.Participant(assessment_id=assessment.id, code=f"P{p:02d}", position=p,
                                      sex=("female", "male", "undisclosed")[p % 3], role=("official", "manager",
                                                                                         "civil_society", "other")[p % 4],
                                      indigenous=("yes", "no")[p % 2]))
    for code in dict.fromkeys(a for a, *_ in indicators):
        session.add(m.PerformanceTarget(government_id=government.id, area_code=code, round="midpoint", target=3.0))
    for n in range(plan_items):
        what = HOSTILE_STEP if n == 0 else (
            "Acompañamiento en el diseño de procedimientos de mecanismos formales de participación ciudadana "
            "en la planificación, el seguimiento y el presupuesto")
        session.add(m.CapacityPlanItem(
            government_id=government.id, area_code=indicators[(n * 4) % len(indicators)][0],
            intervention_type=("training", "technical_assistance", "onsite_assistance")[n % 3], what=what,
            who_staff="Responsables de las unidades orgánicas", sequence=n + 1, status="planned",
            planned_start=date(2014, 6, 1), planned_end=date(2014, 7, 15)))
    return government


@pytest.fixture
def full(session):
    cluster = m.Cluster(name="Lamas", department_code="22", wave=1)
    session.add(cluster)
    session.flush()
    session.add(m.ClusterSector(cluster_id=cluster.id, sector="health"))
    government = full_government(session, "2205", cluster)
    session.commit()
    _, indicators = _default_focas(session)
    areas = {code: (es, en) for code, es, en, *_ in indicators}
    return {"government_id": str(government.id), "name": government.name, "areas": areas,
            "cluster_id": str(cluster.id)}


@pytest.mark.parametrize("lang", ["es", "en"])
def test_a_government_sheet_is_one_a4_page_with_everything_the_room_validates(full, lang):
    reader = pdf(pdf_sheets.government_pdf(full["government_id"], "baseline", "midpoint", lang, TODAY))
    assert len(reader.pages) == 1
    # it fits at full size: nothing shrunk below the sizes chosen for print
    story = pdf_sheets.government_story(pdf_sheets.government_print(full["government_id"]), lang, TODAY)
    assert pdf_sheets.natural_height(story) <= pdf_layout.PAGE_HEIGHT - 2 * pdf_layout.MARGIN
    assert_a4(reader)
    text = text_of(reader)
    t = lambda key, **p: translate(key, lang, **p)  # noqa: E731
    assert full["name"] in text
    for es, en in full["areas"].values():  # all ten areas, each name whole
        assert (es if lang == "es" else en) in text
    for expected in ({"es": "Firma", "en": "Signature"}[lang], t("print.sign.title"), t("print.attendance.title"),
                     t("print.steps.title"), t("round.baseline"), t("round.midpoint"), "Lamas",
                     {"es": "29 abr. 2014", "en": "Apr 29, 2014"}[lang]):  # validated 03:00 UTC = 29 April in Lima
        assert expected in text, expected
    # attendance: 25 people each round, by sex (9 women, 8 men, 8 undisclosed)
    assert t("print.attendance.total") in text
    assert re.search(rf"{t('round.midpoint')} 9 8 0 8 ", text), text
    # the plan's next steps: three shown, the other five counted; user text printed as typed, never as markup
    assert HOSTILE_STEP in text
    assert t("print.steps.more", n=5) in text


def test_the_sheet_in_spanish_has_no_english_heading_and_the_reverse(full):
    es = text_of(pdf(pdf_sheets.government_pdf(full["government_id"], lang="es", today=TODAY)))
    en = text_of(pdf(pdf_sheets.government_pdf(full["government_id"], lang="en", today=TODAY)))
    for key in ("print.sign.title", "print.steps.title", "print.kind.government", "progress.sheet.areas"):
        assert translate(key, "es") in es and translate(key, "es") not in en
        assert translate(key, "en") in en and translate(key, "en") not in es


def assert_inside(drawing) -> list:
    """Every string the chart draws lies whole inside the chart's box, at a readable size."""
    strings = pdf_sheets.chart_strings(drawing)
    assert strings and drawing.width <= pdf_layout.CONTENT_WIDTH + 0.01
    for item in strings:
        drawn = pdf_layout.width(item.text, item.fontSize, bold=item.fontName == pdf_layout.BOLD)
        left = {"start": item.x, "middle": item.x - drawn / 2, "end": item.x - drawn}[item.textAnchor]
        assert left >= -0.01 and left + drawn <= drawing.width + 0.01, (item.text, left, drawn)
        assert 0 <= item.y and item.y + item.fontSize <= drawing.height + 0.01, item.text
        assert item.fontSize >= 6.5  # readable on paper
    return strings


@pytest.mark.parametrize("lang", ["es", "en"])
def test_no_chart_label_is_cut(full, lang):
    data = pdf_sheets.government_print(full["government_id"])
    drawing = pdf_sheets.government_chart(data, lang)
    strings = assert_inside(drawing)
    cluster = pdf_sheets.cluster_print(full["cluster_id"])
    assert full["name"] in " ".join(s.text for s in assert_inside(pdf_sheets.cluster_chart(cluster, lang)))
    # every area's label is drawn whole (its wrapped lines joined give the name back), left of the bars
    label_lines = " ".join(s.text for s in strings if s.x == 0)
    for es, en in full["areas"].values():
        assert (es if lang == "es" else en) in label_lines
    label_width = max(pdf_layout.width(s.text, s.fontSize) for s in strings if s.x == 0)
    bars_start = min(r.x for r in drawing.contents if type(r).__name__ == "Rect" and r.height < 6 and r.x > 0)
    assert label_width < bars_start


def test_a_cluster_sheet_is_at_most_two_pages_and_its_pack_adds_one_page_per_government(session):
    cluster = m.Cluster(name="Coronel Portillo", department_code="25", wave=2)
    session.add(cluster)
    session.flush()
    ubigeos = [u for u in session.execute(sa.select(m.Government.ubigeo).where(
        m.Government.ubigeo.like("25%"))).scalars()][:12]
    for n, ubigeo in enumerate(ubigeos):
        full_government(session, ubigeo, cluster, participants=6, plan_items=2, shift=n)
    session.commit()
    for lang in ("es", "en"):
        reader = pdf(pdf_sheets.cluster_pdf(str(cluster.id), lang=lang, today=TODAY))
        assert 1 <= len(reader.pages) <= 2
        assert_a4(reader)
        text = text_of(reader)
        assert "Coronel Portillo" in text and {"es": "Firma", "en": "Signature"}[lang] in text
        assert translate("progress.sheet.members", lang) in text
        # every area code whole in the heat table's header (and once more in its legend)
        assert text.count("LEGALPART") >= 2 and text.count("DIVERSITY") >= 2
    pack = pdf(pdf_sheets.cluster_pdf(str(cluster.id), lang="es", today=TODAY, with_governments=True))
    assert len(pack.pages) == len(pdf(pdf_sheets.cluster_pdf(str(cluster.id), lang="es", today=TODAY)).pages) + 12


def test_the_dataset_sheet_shows_the_html_sheets_numbers(session):
    dataset = build_dataset(session)
    text = text_of(pdf(pdf_sheets.government_pdf(dataset["gov"]["2205"], lang="en", today=TODAY)))
    # the same numbers as the HTML sheet: index 1.75 → 2.25, ADM 1.50 → 2.50 against a target of 2.50
    assert "Capacity index: Baseline 1.75 → Midpoint 2.25 (change +0.50)" in text
    assert "Upgraded administrative systems 1.50 2.50 +1.00 2.50 Yes" in text


def test_numbers_round_half_away_from_zero():
    assert pdf_layout.number(3.125) == "3.13"
    assert pdf_layout.number(0.25, 1, signed=True) == "+0.3" and pdf_layout.number(0.75, 1, signed=True) == "+0.8"
    assert pdf_layout.number(-0.125) == "-0.13" and pdf_layout.number(-0.001) == "0.00"
    assert pdf_layout.number(None) == "—" and pdf_layout.count(10.0) == "10"


def test_every_print_key_the_pdfs_and_pages_use_exists_in_both_languages():
    from pathlib import Path

    from assessments.i18n import catalog

    root = Path(__file__).resolve().parent.parent
    sources = "".join((root / p).read_text() for p in (
        "assessments/pdf_layout.py", "assessments/pdf_sheets.py", "assessments/pdf_forms.py",
        "pages/result_sheets.py", "pages/focas_workshop.py", "pages/qsip.py", "pages/gcd.py"))
    keys = {k for k in re.findall(r'"(print\.[a-z_.]+[a-z_])"', sources)}
    keys |= {f"print.qsip.{part}.{kind}" for part in ("title", "intro") for kind in ("user", "provider")}
    keys |= {f"print.download.questionnaire.{kind}" for kind in ("user", "provider")}
    keys |= {f"print.workshop.status.{s}" for s in ("draft", "validated")}
    assert len(keys) > 50
    for lang in ("es", "en"):
        missing = sorted(k for k in keys if k not in catalog(lang))
        assert not missing, f"{lang}: {missing}"
    es = {k for k in catalog("es") if k.startswith("print.")}
    assert es == {k for k in catalog("en") if k.startswith("print.")}
    same = sorted(k for k in keys if catalog("es")[k] == catalog("en")[k])
    assert not same, same  # nothing left untranslated


def broken_words(flowables) -> list[tuple[str, float, float]]:
    """Words of table cells wider than their column (ReportLab would break them between letters)."""
    from html import unescape

    from reportlab.platypus import Paragraph, Table

    found = []

    def walk(items, room=None):
        for item in items if isinstance(items, (list, tuple)) else [items]:
            if isinstance(item, (list, tuple)):
                walk(item, room)
            elif isinstance(item, Table):
                for row in item._cellvalues:
                    for column, cell in enumerate(row):
                        walk(cell, item._colWidths[column] - 6)
            elif isinstance(item, Paragraph) and room is not None:
                bold = "<b>" in item.text
                for word in unescape(re.sub(r"<[^>]+>", " ", item.text)).split():
                    drawn = pdf_layout.width(word, item.style.fontSize, bold=bold or item.style.fontName == pdf_layout.BOLD)
                    if drawn > room + 0.01:
                        found.append((word, drawn, room))
            elif hasattr(item, "_content"):
                walk(item._content, room)
    walk(flowables)
    return found


@pytest.mark.parametrize("lang", ["es", "en"])
def test_no_table_breaks_a_word(full, lang):
    government = pdf_sheets.government_story(pdf_sheets.government_print(full["government_id"]), lang, TODAY)
    cluster = pdf_sheets.cluster_story(pdf_sheets.cluster_print(full["cluster_id"]), lang, TODAY)
    assert broken_words(government) == [] and broken_words(cluster) == []
