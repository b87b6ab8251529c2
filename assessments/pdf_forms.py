"""Blank forms for the workshop room as A4 PDFs: FOCAS scoring sheets, QSIP questionnaires, GCD minutes.

- FOCAS: one sheet per participant and functional area, the participant's code pre-printed, every
  indicator with its level descriptors and one box per level, in the order the entry surface reads
  them (participants by position then code; areas and indicators in the instrument's order), plus
  blank sets for people who arrive without a registered code.
- QSIP: the feedback questionnaire of an audit's instrument, worded for users or for providers.
- GCD: meeting minutes with the agenda, the accredited members' attendance with a signature column,
  and the agreements.

Spanish or English through the catalog (``print.*``); plain Python, never imports streamlit.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from reportlab.platypus import CondPageBreak, KeepTogether, PageBreak, Paragraph, Spacer, Table, TableStyle

from assessments import gcd
from assessments.i18n import translator
from assessments.instruments import FocasInstrument, QsipInstrument
from assessments.pdf_layout import (
    BOLD,
    CONTENT_WIDTH,
    GRID,
    HEAD_FILL,
    Footer,
    build,
    checkbox_row,
    day,
    esc,
    para,
    signature_block,
    styles,
    table,
)
from db.engine import read_session
from db.instruments import read_focas, read_qsip
from db.models import Assessment, Cluster, Department, Government, Participant, ServiceAudit
from db.models.base import INDIGENOUS, SEXES

BLANK_SETS = 3  # blank sheet sets added after the registered participants
RESPONDENT_TYPES = ("user", "provider")
BOX = "☐"


# --- FOCAS scoring sheets -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ScoringForms:
    government: str
    round: str
    workshop_date: date | None
    place: str
    instrument: FocasInstrument
    codes: list[str]  # registered participants' codes, in the entry surface's order


def scoring_forms(assessment_id: str) -> ScoringForms | None:
    """What the scoring sheets print for one assessment (None when it does not exist)."""
    aid = uuid.UUID(str(assessment_id))
    with read_session() as session:
        row = session.execute(
            sa.select(Assessment, Government.name).join(Government, Government.id == Assessment.government_id)
            .where(Assessment.id == aid)).first()
        if row is None:
            return None
        assessment, government = row
        instrument = read_focas(session, assessment.instrument_id)
        codes = list(session.execute(
            sa.select(Participant.code).where(Participant.assessment_id == aid)
            .order_by(Participant.position, Participant.code)).scalars())
    return ScoringForms(government=government, round=assessment.round, workshop_date=assessment.workshop_date,
                        place=assessment.place, instrument=instrument, codes=codes)


def _code_box(code: str | None, lang: str, label_key: str = "print.form.code") -> Table:
    t = translator(lang)
    shown = code if code else "________"
    box = Table([[para(t(label_key), "small")], [Paragraph(f"<b>{esc(shown)}</b>", styles()["big"])]],
                colWidths=[120])
    box.setStyle(TableStyle([("BOX", (0, 0), (-1, -1), 1.2, "#111111"), ("LEFTPADDING", (0, 0), (-1, -1), 5),
                             ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 3)]))
    return box


def _form_header(kind: str, title: str, facts: list[str], right) -> Table:
    left = [para(kind, "kind"), para(title, "title"), *[para(f, "small") for f in facts]]
    header = Table([[left, right]], colWidths=[CONTENT_WIDTH - 126, 126])
    header.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0),
                                ("RIGHTPADDING", (0, 0), (-1, -1), 0), ("ALIGN", (1, 0), (1, 0), "RIGHT")]))
    return header


def _indicator_block(indicator, instrument: FocasInstrument, lang: str) -> Table:
    """An indicator's name across, then one column per level: the box, the level's name and its descriptor."""
    levels = list(instrument.levels)
    column = CONTENT_WIDTH / len(levels)
    top = [Paragraph(f"<b>{esc(indicator.code)} · {esc(indicator.name.get(lang))}</b>", styles()["cell"])]
    top += [""] * (len(levels) - 1)
    cells = []
    for level in levels:
        descriptor = indicator.descriptors.get(level.level)
        text = descriptor.get(lang) if descriptor else "—"
        cells.append([Paragraph(f"<font size=11>{BOX}</font> <b>{level.level} · {esc(level.name.get(lang))}</b>",
                                styles()["level"]), para(text, "small")])
    block = Table([top, cells], colWidths=[column] * len(levels))
    block.setStyle(TableStyle([*GRID, ("SPAN", (0, 0), (-1, 0)), ("BACKGROUND", (0, 0), (-1, 0), HEAD_FILL),
                               ("TOPPADDING", (0, 1), (-1, -1), 3), ("BOTTOMPADDING", (0, 1), (-1, -1), 4)]))
    return block


def scoring_story(forms: ScoringForms, lang: str, *, blank_sets: int = BLANK_SETS,
                  codes: list[str] | None = None) -> list:
    """One sheet per participant × area (codes in order), then ``blank_sets`` sets with an empty code box."""
    t = translator(lang)
    instrument = forms.instrument
    scale = " · ".join(f"{lv.level} = {lv.name.get(lang)}" for lv in instrument.levels)
    people = list(forms.codes if codes is None else codes) + [None] * blank_sets
    areas = list(instrument.areas)
    story: list = []
    for person in people:
        for number, area in enumerate(areas, start=1):
            if story:
                story.append(PageBreak())
            facts = [t("print.form.workshop", round=t(f"round.{forms.round}"), date=day(forms.workshop_date, lang),
                       place=forms.place or "—"),
                     t("print.form.area_of", n=number, total=len(areas))]
            story.append(_form_header(t("print.form.scoring_kind"), forms.government, facts, _code_box(person, lang)))
            story.append(para(f"{area.code} · {area.name.get(lang)}", "h2"))
            if area.description.get(lang):
                story.append(para(area.description.get(lang), "small"))
            story.append(para(t("print.form.scoring_help", scale=scale), "small", bold=True))
            story.append(Spacer(1, 3))
            for indicator in area.indicators:
                story += [CondPageBreak(60), _indicator_block(indicator, instrument, lang), Spacer(1, 4)]
            story.append(para(t("print.form.name_line"), "small"))
    return story


def scoring_pdf(assessment_id: str, lang: str = "es", *, blank_sets: int = BLANK_SETS,
                blank_only: bool = False) -> bytes | None:
    """Every registered participant's scoring sheets (one per area) plus blank sets, as one A4 PDF."""
    forms = scoring_forms(assessment_id)
    if forms is None:
        return None
    t = translator(lang)
    story = scoring_story(forms, lang, blank_sets=blank_sets, codes=[] if blank_only else None)
    return build(story, title=f"{t('print.form.scoring_kind')} · {forms.government}", lang=lang,
                 footer=Footer(f"{t('print.form.scoring_kind')} · {forms.government} · "
                               f"{t('round.' + forms.round)}", lang=lang))


# --- QSIP questionnaire --------------------------------------------------------------------------------


@dataclass(frozen=True)
class QuestionnaireForm:
    cluster: str
    service: str
    cycle_year: int
    instrument: QsipInstrument


def questionnaire_form(audit_id: str) -> QuestionnaireForm | None:
    with read_session() as session:
        row = session.execute(
            sa.select(ServiceAudit, Cluster.name).join(Cluster, Cluster.id == ServiceAudit.cluster_id)
            .where(ServiceAudit.id == uuid.UUID(str(audit_id)))).first()
        if row is None:
            return None
        audit, cluster = row
        instrument = read_qsip(session, audit.instrument_id)
    return QuestionnaireForm(cluster=cluster, service=audit.service_name, cycle_year=audit.cycle_year,
                             instrument=instrument)


def questionnaire_story(form: QuestionnaireForm, respondent_type: str, lang: str) -> list:
    """One questionnaire: who answers (boxes), the scale, every item with a box per rating, comments."""
    t = translator(lang)
    instrument = form.instrument
    levels = list(instrument.levels)
    facts = [t("print.qsip.service", cluster=form.cluster, service=form.service, year=form.cycle_year)]
    story: list = [_form_header(t("print.qsip.kind"), t(f"print.qsip.title.{respondent_type}"), facts,
                                _code_box(None, lang, "print.qsip.code"))]
    story.append(Spacer(1, 3))
    story.append(para(t(f"print.qsip.intro.{respondent_type}"), "small"))
    about = [
        [para(t("qsip.respondent.sex"), "cell_bold"), para(checkbox_row([t(f"sex.{v}") for v in SEXES]), "cell")],
        [para(t("qsip.respondent.indigenous"), "cell_bold"),
         para(checkbox_row([t(f"indigenous.{v}") for v in INDIGENOUS]), "cell")],
        [para(t("qsip.respondent.locality"), "cell_bold"), para("", "cell")],
        [para(t("print.qsip.date_interviewer"), "cell_bold"), para("", "cell")],
    ]
    who = Table(about, colWidths=[CONTENT_WIDTH * 0.3, CONTENT_WIDTH * 0.7], rowHeights=[None, None, 16, 16])
    who.setStyle(TableStyle(GRID))
    story += [Spacer(1, 3), who, Spacer(1, 4)]
    story.append(para(t("print.qsip.scale", scale=" · ".join(f"{lv.level} = {lv.name.get(lang)}" for lv in levels)),
                      "small", bold=True))
    story.append(Spacer(1, 3))
    box_width = 30
    unknown_width = 44
    text_width = CONTENT_WIDTH - box_width * len(levels) - unknown_width
    header = [t("print.qsip.item"), *[str(lv.level) for lv in levels], t("print.qsip.unknown")]
    widths = [text_width, *[box_width] * len(levels), unknown_width]
    for dimension in instrument.dimensions:
        rows = [[f"{item.code} · {item.text.get(lang)}", *[BOX] * (len(levels) + 1)] for item in dimension.items]
        block = table([dimension.name.get(lang), *header[1:]], rows, widths, numeric=range(1, len(levels) + 1),
                      extra=[("VALIGN", (0, 1), (-1, -1), "MIDDLE")])
        for r in range(1, len(rows) + 1):
            for c in range(1, len(levels) + 2):
                block._cellvalues[r][c] = Paragraph(f"<font size=12>{BOX}</font>", styles()["cell"])
        block.setStyle(TableStyle([("ALIGN", (1, 1), (-1, -1), "CENTER")]))
        story += [KeepTogether([block]), Spacer(1, 4)]
    story.append(para(t("print.qsip.comments"), "h2"))
    lines = Table([[""]] * 4, colWidths=[CONTENT_WIDTH], rowHeights=16)
    lines.setStyle(TableStyle([("LINEBELOW", (0, 0), (-1, -1), 0.4, "#9a9a9a")]))
    story += [lines, Spacer(1, 4), para(t("print.qsip.thanks"), "small")]
    return story


def questionnaire_pdf(audit_id: str, respondent_type: str = "user", lang: str = "es") -> bytes | None:
    """The audit's QSIP feedback questionnaire for users or providers, ready to photocopy."""
    if respondent_type not in RESPONDENT_TYPES:
        raise ValueError(respondent_type)
    form = questionnaire_form(audit_id)
    if form is None:
        return None
    t = translator(lang)
    title = t(f"print.qsip.title.{respondent_type}")
    return build(questionnaire_story(form, respondent_type, lang), title=title, lang=lang,
                 footer=Footer(f"{t('print.qsip.kind')} · {form.service} · {form.cycle_year}", lang=lang))


# --- GCD meeting minutes --------------------------------------------------------------------------------


BLANK_ATTENDANCE_ROWS = 6
AGREEMENT_ROWS = 6


def minutes_story(department: str, period: str, members: list[dict], lang: str, *, kind: str | None = None) -> list:
    """The minutes template: meeting kind and details, agenda, attendance with signatures, agreements."""
    t = translator(lang)
    kinds = checkbox_row([t(f"gcd.kind.{k}") for k in ("plan", "progress", "annual_results")])
    if kind:
        chosen = t(f"gcd.kind.{kind}")
        kinds = kinds.replace(f"{BOX}\u00a0{chosen}", f"☒\u00a0{chosen}")
    story: list = [para(t("print.gcd.kind"), "kind"), para(t("print.gcd.title", department=department), "title"),
                   para(t("print.gcd.period", period=gcd.period_label(period)), "small"), Spacer(1, 3)]
    details = Table([[para(t("gcd.col.kind"), "cell_bold"), para(kinds, "cell")],
                     [para(t("print.gcd.date_place"), "cell_bold"), para("", "cell")],
                     [para(t("print.gcd.chair"), "cell_bold"), para("", "cell")]],
                    colWidths=[CONTENT_WIDTH * 0.25, CONTENT_WIDTH * 0.75], rowHeights=[None, 18, 18])
    details.setStyle(TableStyle(GRID))
    story.append(details)
    story.append(para(t("gcd.col.agenda"), "h2"))
    agenda = Table([[f"{n}.", ""] for n in range(1, 6)], colWidths=[16, CONTENT_WIDTH - 16], rowHeights=16)
    agenda.setStyle(TableStyle([("LINEBELOW", (1, 0), (1, -1), 0.4, "#9a9a9a"), ("FONTNAME", (0, 0), (-1, -1), BOLD),
                                ("FONTSIZE", (0, 0), (-1, -1), 8), ("VALIGN", (0, 0), (-1, -1), "BOTTOM")]))
    story.append(agenda)
    story.append(para(t("print.gcd.attendance"), "h2"))
    story.append(para(t("print.gcd.attendance_help"), "tiny"))
    rows = [[str(n), m["full_name"], t(f"gcd.institution.{m['institution']}"), m.get("organisation") or "",
             Spacer(1, 15)] for n, m in enumerate(members, start=1)]
    rows += [[str(n), "", "", "", Spacer(1, 15)]
             for n in range(len(members) + 1, len(members) + BLANK_ATTENDANCE_ROWS + 1)]
    w = CONTENT_WIDTH
    story.append(table(["#", t("gcd.col.name"), t("gcd.col.institution"), t("gcd.col.organisation"),
                        t("print.sign.signature")], rows, [16, w * 0.28, w * 0.19, w * 0.25, w * 0.28 - 16],
                       extra=[("VALIGN", (0, 1), (-1, -1), "MIDDLE")]))
    story.append(para(t("print.gcd.tally"), "small"))
    story.append(CondPageBreak(180))
    story.append(para(t("gcd.col.agreements"), "h2"))
    story.append(table(["#", t("print.gcd.agreement"), t("print.gcd.responsible"), t("print.gcd.deadline")],
                       [[str(n), "", "", ""] for n in range(1, AGREEMENT_ROWS + 1)],
                       [16, w * 0.55, w * 0.25, w * 0.2 - 16], row_heights=26))
    following = Table([[""]] * 3, colWidths=[CONTENT_WIDTH], rowHeights=16)
    following.setStyle(TableStyle([("LINEBELOW", (0, 0), (-1, -1), 0.4, "#9a9a9a")]))
    story.append(KeepTogether([para(t("gcd.col.next_agenda"), "h2"), following]))
    story += signature_block(lang, ("print.gcd.sign_chair", "print.gcd.sign_secretary"),
                             heading_key="print.gcd.sign_title")
    return story


def minutes_pdf(department_code: str, period: str, lang: str = "es", kind: str | None = None) -> bytes:
    """GCD meeting minutes for a department and period, its accredited members listed for signing."""
    with read_session() as session:
        department = session.execute(sa.select(Department.name).where(Department.code == department_code)
                                     ).scalar_one_or_none() or department_code
    members = gcd.members(department_code, period).to_dict("records")
    t = translator(lang)
    return build(minutes_story(department, period, members, lang, kind=kind),
                 title=t("print.gcd.title", department=department), lang=lang,
                 footer=Footer(f"{t('print.gcd.kind')} · {department} · {gcd.period_label(period)}", lang=lang))


__all__ = ["BLANK_SETS", "QuestionnaireForm", "ScoringForms", "minutes_pdf", "minutes_story", "questionnaire_form",
           "questionnaire_pdf", "questionnaire_story", "scoring_forms", "scoring_pdf", "scoring_story"]
