"""Result sheets as real A4 PDFs: one page per government, at most two per cluster, Spanish or English.

The numbers are the ones the HTML result sheet shows (``assessments.progress_sheets``: consensus
scores of validated assessments, comparable indicators only), plus what the room needs on paper: who
came to each workshop, the capacity plan's next steps and a signature and validation block. Charts are
drawn with ReportLab's own graphics (no browser, no plotly), with every label wrapped inside its box.
Plain Python: never imports streamlit.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date

import pandas as pd
import sqlalchemy as sa
from reportlab.graphics.shapes import Drawing, Line, Polygon, Rect, String
from reportlab.lib import colors
from reportlab.platypus import PageBreak, Spacer, Table, TableStyle

from assessments import progress, progress_sheets
from assessments.i18n import translator
from assessments.pdf_layout import (
    BOLD,
    CONTENT_WIDTH,
    FONT,
    HEAD_FILL,
    INK,
    MUTED,
    PAGE_HEIGHT,
    MARGIN,
    Footer,
    build,
    count,
    day,
    fonts,
    keep_within,
    number,
    para,
    printable,
    signature_block,
    table,
    width,
    wrap,
)
from db.engine import read_session
from db.models import Assessment, CapacityPlanItem, ClusterMember, Instrument, Participant
from db.models.base import INDIGENOUS, PARTICIPANT_ROLES, SEXES

NEXT_STEP_STATUSES = ("in_progress", "planned")
MAX_NEXT_STEPS = 3
FROM_FILL = colors.HexColor("#9ecae1")  # light blue: the earlier round
TO_FILL = colors.HexColor("#2166ac")  # dark blue: the later round (blue pair: readable without colour vision)
TARGET_INK = colors.HexColor("#b2182b")
CHART_FONT = 7.0  # label size on every chart (readable on A4)
AXIS_FONT = 6.5


# --- what the sheets hold -------------------------------------------------------------------------


@dataclass(frozen=True)
class Workshop:
    """One round's workshop: when, where, who facilitated, validation and who came (counts)."""

    round: str
    status: str
    workshop_date: date | None
    place: str
    facilitator: str
    validated_at: object
    validated_by: str | None
    attendance: dict[str, dict[str, int]]

    @property
    def n_participants(self) -> int:
        return sum(self.attendance.get("sex", {}).values())


@dataclass(frozen=True)
class GovernmentPrint:
    sheet: progress_sheets.GovernmentSheet
    workshops: dict[str, Workshop]  # round → workshop (only rounds with an assessment)
    next_steps: pd.DataFrame  # area_code, intervention_type, what, who_staff, where_place, planned_start, planned_end, status
    n_more_steps: int
    scale: tuple[int, int]


@dataclass(frozen=True)
class ClusterPrint:
    sheet: progress_sheets.ClusterSheet
    attendance: pd.DataFrame  # government_id, participants, women (later round's workshop)
    scale: tuple[int, int]
    governments: list[GovernmentPrint] = field(default_factory=list)  # the pack's pages, when asked for


def _workshops(government_id: uuid.UUID, rounds: tuple[str, ...]) -> tuple[dict[str, Workshop], tuple[int, int]]:
    with read_session() as session:
        rows = session.execute(
            sa.select(Assessment, Instrument.scale_min, Instrument.scale_max)
            .join(Instrument, Instrument.id == Assessment.instrument_id)
            .where(Assessment.government_id == government_id, Assessment.round.in_(rounds))
        ).all()
        workshops: dict[str, Workshop] = {}
        scale = (1, 4)
        for assessment, scale_min, scale_max in rows:
            counts: dict[str, dict[str, int]] = {}
            for name, column, values in (("sex", Participant.sex, SEXES), ("indigenous", Participant.indigenous,
                                                                          INDIGENOUS),
                                         ("role", Participant.role, PARTICIPANT_ROLES)):
                found = dict(session.execute(
                    sa.select(column, sa.func.count()).where(Participant.assessment_id == assessment.id)
                    .group_by(column)).all())
                counts[name] = {v: int(found.get(v, 0)) for v in values}
            workshops[assessment.round] = Workshop(
                round=assessment.round, status=assessment.status, workshop_date=assessment.workshop_date,
                place=assessment.place, facilitator=assessment.facilitator, validated_at=assessment.validated_at,
                validated_by=assessment.validated_by, attendance=counts)
            if assessment.round == rounds[0] or len(workshops) == 1:
                scale = (int(scale_min), int(scale_max))  # the earlier round's instrument sets the scale
    return workshops, scale


def _next_steps(government_id: uuid.UUID) -> pd.DataFrame:
    """The plan's actions not done yet, in the plan's order (sequence, then start)."""
    columns = ["area_code", "intervention_type", "what", "who_staff", "where_place", "planned_start", "planned_end",
               "status"]
    with read_session() as session:
        rows = session.execute(
            sa.select(*(getattr(CapacityPlanItem, c) for c in columns))
            .where(CapacityPlanItem.government_id == government_id,
                   CapacityPlanItem.status.in_(NEXT_STEP_STATUSES))
            .order_by(CapacityPlanItem.sequence, CapacityPlanItem.planned_start, CapacityPlanItem.created_at)
        ).all()
    return pd.DataFrame(rows, columns=columns)


def government_print(government_id: str, from_round: str = "baseline",
                     to_round: str = "midpoint") -> GovernmentPrint | None:
    """Everything a government's PDF sheet prints (None when it has no validated assessment)."""
    sheet = progress_sheets.government_sheet(str(government_id), from_round, to_round)
    if sheet is None:
        return None
    gid = uuid.UUID(str(government_id))
    workshops, scale = _workshops(gid, (from_round, to_round))
    steps = _next_steps(gid)
    return GovernmentPrint(sheet=sheet, workshops=workshops, next_steps=steps.head(MAX_NEXT_STEPS),
                           n_more_steps=max(len(steps) - MAX_NEXT_STEPS, 0), scale=scale)


def _cluster_attendance(cluster_id: uuid.UUID, round_name: str) -> pd.DataFrame:
    with read_session() as session:
        rows = session.execute(
            sa.select(Assessment.government_id, sa.func.count(Participant.id),
                      sa.func.sum(sa.case((Participant.sex == "female", 1), else_=0)))
            .join(ClusterMember, ClusterMember.government_id == Assessment.government_id)
            .outerjoin(Participant, Participant.assessment_id == Assessment.id)
            .where(ClusterMember.cluster_id == cluster_id, Assessment.round == round_name)
            .group_by(Assessment.government_id)
        ).all()
    frame = pd.DataFrame(rows, columns=["government_id", "participants", "women"])
    frame["government_id"] = frame["government_id"].map(str)
    for column in ("participants", "women"):
        frame[column] = frame[column].fillna(0).astype("int64")
    return frame


def _cluster_scale(cluster_id: uuid.UUID) -> tuple[int, int]:
    """The FOCAS scale the cluster's governments were assessed on (the widest, when versions differ)."""
    with read_session() as session:
        row = session.execute(
            sa.select(sa.func.min(Instrument.scale_min), sa.func.max(Instrument.scale_max))
            .join(Assessment, Assessment.instrument_id == Instrument.id)
            .join(ClusterMember, ClusterMember.government_id == Assessment.government_id)
            .where(ClusterMember.cluster_id == cluster_id)).first()
    return (int(row[0]), int(row[1])) if row and row[0] is not None else (1, 4)


def cluster_print(cluster_id: str, from_round: str = "baseline", to_round: str = "midpoint", *,
                  with_governments: bool = False) -> ClusterPrint | None:
    """Everything a cluster's PDF prints (None when the cluster does not exist); ``with_governments`` adds
    one page per member government with a validated assessment."""
    sheet = progress_sheets.cluster_sheet(str(cluster_id), from_round, to_round)
    if sheet is None:
        return None
    cid = uuid.UUID(str(cluster_id))
    governments = []
    if with_governments:
        for gid in sheet.members["government_id"]:
            one = government_print(gid, from_round, to_round)
            if one is not None:
                governments.append(one)
    scale = governments[0].scale if governments else _cluster_scale(cid)
    return ClusterPrint(sheet=sheet, attendance=_cluster_attendance(cid, to_round), scale=scale,
                        governments=governments)


# --- the chart ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChartRow:
    label: str
    before: float | None
    after: float | None
    target: float | None = None


def bar_chart(rows: list[ChartRow], *, lang: str, from_round: str, to_round: str, scale_max: int,
              axis_title: str, chart_width: float = CONTENT_WIDTH, label_share: float = 0.34,
              show_target: bool = True) -> Drawing:
    """Horizontal bars, earlier and later round per row, the target as a red mark; labels wrapped to fit.

    Every string drawn lies inside the drawing (tests check with ``stringWidth``): labels wrap in
    their column, values sit in a reserved gutter right of the bars, legend and axis title fit the width.
    """
    fonts()
    t = translator(lang)
    label_width = chart_width * label_share
    value_gutter = width("0.00", CHART_FONT) + 6
    x0 = label_width + 6
    plot_width = chart_width - x0 - value_gutter
    line_height = CHART_FONT + 1.6
    bar = 4.3
    laid = []
    for row in rows:
        lines = wrap(row.label, CHART_FONT, label_width)
        laid.append((row, lines, max(len(lines) * line_height + 2, 2 * bar + 4.5)))
    legend_height = 14
    axis_height = 22
    height = legend_height + sum(h for _, _, h in laid) + axis_height
    drawing = Drawing(chart_width, height)

    def scaled(value: float) -> float:
        return x0 + plot_width * max(0.0, min(float(value), scale_max)) / scale_max

    def text(x, y, value, size=CHART_FONT, anchor="start", bold=False, color=INK):
        drawing.add(String(x, y, printable(value), fontName=BOLD if bold else FONT, fontSize=size,
                           textAnchor=anchor, fillColor=color))

    # legend (top)
    legend = [(FROM_FILL, t(f"round.{from_round}")), (TO_FILL, t(f"round.{to_round}"))]
    x = x0
    y = height - 10
    for fill, name in legend:
        drawing.add(Rect(x, y, 8, 6, fillColor=fill, strokeColor=None))
        text(x + 11, y, name)
        x += 11 + width(name, CHART_FONT) + 12
    if show_target:
        drawing.add(Line(x + 3, y - 1, x + 3, y + 7, strokeColor=TARGET_INK, strokeWidth=1.6))
        text(x + 8, y, t("print.chart.target", round=t(f"round.{to_round}")))

    # grid and axis
    top = height - legend_height
    bottom = axis_height
    for tick in range(0, scale_max + 1):
        gx = scaled(tick)
        drawing.add(Line(gx, bottom, gx, top, strokeColor=colors.HexColor("#d9d9d9"), strokeWidth=0.5))
        text(gx, bottom - 9, str(tick), size=AXIS_FONT, anchor="middle", color=MUTED)
    drawing.add(Line(x0, bottom, x0 + plot_width, bottom, strokeColor=MUTED, strokeWidth=0.6))
    text(x0 + plot_width / 2, 3, axis_title, size=AXIS_FONT, anchor="middle", color=MUTED)

    y_top = top
    for row, lines, row_height in laid:
        centre = y_top - row_height / 2
        first = centre + (len(lines) - 1) * line_height / 2 - CHART_FONT * 0.35
        for n, line in enumerate(lines):
            text(0, first - n * line_height, line)
        for value, fill, by in ((row.before, FROM_FILL, centre + 0.8), (row.after, TO_FILL, centre - bar - 0.8)):
            if value is None or value != value:
                text(x0 + 2, by + 0.6, "—", size=AXIS_FONT, color=MUTED)
                continue
            end = scaled(value)
            drawing.add(Rect(x0, by, max(end - x0, 0.6), bar, fillColor=fill, strokeColor=None))
            text(end + 2 if end + 2 + width(number(value), AXIS_FONT) <= chart_width else chart_width,
                 by + 0.6, number(value), size=AXIS_FONT, anchor="start" if end + 2 + width(
                     number(value), AXIS_FONT) <= chart_width else "end")
        if show_target and row.target is not None and row.target == row.target:
            tx = scaled(row.target)
            drawing.add(Line(tx, centre - bar - 2, tx, centre + bar + 2, strokeColor=TARGET_INK, strokeWidth=1.6))
            drawing.add(Polygon([tx - 2.2, centre + bar + 2, tx + 2.2, centre + bar + 2, tx, centre + bar - 0.6],
                                fillColor=TARGET_INK, strokeColor=None))
        y_top -= row_height
    return drawing


def chart_strings(drawing: Drawing) -> list[String]:
    """Every text a chart draws (for checking that none is cut)."""
    return [item for item in drawing.contents if isinstance(item, String)]


# --- the government page -------------------------------------------------------------------------------


def _header(kind: str, title: str, facts: list[str]) -> list:
    return [para(kind, "kind"), para(title, "title"), *[para(f, "small") for f in facts]]


def _workshop_line(workshop: Workshop, lang: str) -> str:
    t = translator(lang)
    validated = workshop.validated_at
    when = day(validated, lang) if validated is not None else None  # a datetime: its day in Lima (formatting)
    status = t("print.workshop.validated", date=when) if workshop.status == "validated" and when \
        else t(f"print.workshop.status.{workshop.status}")
    return t("print.workshop.line", round=t(f"round.{workshop.round}"), date=day(workshop.workshop_date, lang),
             place=workshop.place or "—", facilitator=workshop.facilitator or "—", status=status,
             n=workshop.n_participants)


def attendance_table(workshops: dict[str, Workshop], rounds: tuple[str, str], lang: str) -> Table:
    """Participants by sex, indigenous identity and role: one row per round, the categories as columns."""
    t = translator(lang)
    present = [r for r in rounds if r in workshops]
    blocks = (("sex", SEXES, "sex"), ("indigenous", INDIGENOUS, "indigenous"), ("role", PARTICIPANT_ROLES, "focas.role"))
    groups = [t("print.attendance.round")]
    labels = [""]
    spans = []
    column = 1
    for name, values, prefix in blocks:
        groups += [t(f"focas.attendance.{name}")] + [""] * (len(values) - 1)
        labels += [t(f"{prefix}.{v}") for v in values]
        spans.append(("SPAN", (column, 0), (column + len(values) - 1, 0)))
        column += len(values)
    groups.append(t("print.attendance.total"))
    labels.append("")
    spans += [("SPAN", (column, 0), (column, 1)), ("SPAN", (0, 0), (0, 1))]
    rows = [[para(label, "tiny_right") for label in labels]]
    for r in present:
        counts = [count(workshops[r].attendance[name].get(v, 0)) for name, values, _ in blocks for v in values]
        rows.append([t(f"round.{r}"), *counts, count(workshops[r].n_participants)])
    n = column - 1
    first = 62.0
    last = max(40.0, max(width(word, 7.4, bold=True) for word in groups[-1].split()) + 8)
    needed = [max(width(word, 6.6) for word in label.split()) + 7 for label in labels[1:-1]]
    spare = CONTENT_WIDTH - first - last - sum(needed)
    cells = [w + spare / n for w in needed] if spare > 0 else [(CONTENT_WIDTH - first - last) / n] * n
    body = table(groups, rows, [first, *cells, last], numeric=range(1, n + 2), repeat=False,
                 extra=[*spans, ("BACKGROUND", (0, 1), (-1, 1), HEAD_FILL), ("VALIGN", (0, 0), (-1, 1), "BOTTOM")])
    return body


def government_chart(data: GovernmentPrint, lang: str, chart_width: float = CONTENT_WIDTH) -> Drawing:
    sheet = data.sheet
    t = translator(lang)
    names = progress.area_label(sheet.area_labels, lang)
    rows = [ChartRow(label=names.get(r["area_code"], r["area_code"]), before=_value(r["area_score_from"]),
                     after=_value(r["area_score_to"]), target=_value(r.get("target")))
            for r in sheet.areas.to_dict("records")]
    return bar_chart(rows, lang=lang, from_round=sheet.filters.from_round, to_round=sheet.filters.to_round,
                     scale_max=data.scale[1], chart_width=chart_width, label_share=0.4,
                     axis_title=t("print.chart.axis_area", low=data.scale[0], high=data.scale[1]))


def _value(value) -> float | None:
    if value is None:
        return None
    try:
        return None if value != value else float(value)
    except TypeError:
        return None


def _areas_table(data: GovernmentPrint, lang: str) -> Table:
    t = translator(lang)
    sheet = data.sheet
    names = progress.area_label(sheet.area_labels, lang)
    before, after = t(f"round.{sheet.filters.from_round}"), t(f"round.{sheet.filters.to_round}")
    rows = []
    for r in sheet.areas.to_dict("records"):
        met = r.get("met")
        met_text = "—" if _value(met) is None and not isinstance(met, bool) else (
            t("progress.yes") if bool(met) else t("progress.no"))
        rows.append([names.get(r["area_code"], r["area_code"]), number(r["area_score_from"]),
                     number(r["area_score_to"]), number(r["change"], signed=True),
                     number(r.get("target")), met_text])
    header = [t("progress.col.area"), before, after, t("progress.col.change"),
              t("print.col.target", round=after), t("progress.col.met")]
    numbers = 56
    return table(header, rows, [CONTENT_WIDTH - 5 * numbers, *[numbers] * 5], numeric=(1, 2, 3, 4))


def _steps_table(data: GovernmentPrint, lang: str) -> list:
    t = translator(lang)
    if data.next_steps.empty:
        return [para(t("print.steps.none"), "small")]
    names = progress.area_label(data.sheet.area_labels, lang)
    rows = []
    for r in data.next_steps.to_dict("records"):
        start, end = day(r["planned_start"], lang), day(r["planned_end"], lang)
        rows.append([f"{names.get(r['area_code'], r['area_code'])} · {t('capplan.type.' + r['intervention_type'])}",
                     r["what"], r["who_staff"] or "—", f"{start} – {end}" if r["planned_end"] else start,
                     t(f"progress.status.{r['status']}")])
    header = [t("print.steps.area_type"), t("print.steps.what"), t("print.steps.who"), t("print.steps.when"),
              t("progress.col.status")]
    w = CONTENT_WIDTH
    parts: list = [table(header, rows, [w * 0.25, w * 0.40, w * 0.14, w * 0.11, w * 0.10])]
    if data.n_more_steps:
        parts.append(para(t("print.steps.more", n=data.n_more_steps), "tiny"))
    return parts


def government_story(data: GovernmentPrint, lang: str, today: date) -> list:
    """One page: header, workshops and attendance, areas table and chart, next steps, signatures."""
    t = translator(lang)
    sheet = data.sheet
    g = sheet.government
    rounds = (sheet.filters.from_round, sheet.filters.to_round)
    facts = [
        t("progress.sheet.government_meta", level=t(f"level.{g['level']}"), department=g["department"],
          ubigeo=g["ubigeo"]),
        t("progress.sheet.clusters", clusters=", ".join(sheet.clusters) or "—") + " · "
        + t("print.rounds", before=t(f"round.{rounds[0]}"), after=t(f"round.{rounds[1]}"), date=day(today, lang)),
    ]
    story = _header(t("print.kind.government"), g["government"], facts)
    story.append(para(t("print.index", before=t(f"round.{rounds[0]}"), after=t(f"round.{rounds[1]}"),
                        a=number(sheet.capacity.get("capacity_index_from")),
                        b=number(sheet.capacity.get("capacity_index_to")),
                        change=number(sheet.capacity.get("change"), signed=True)), "base", bold=True))
    story.append(para(t("print.attendance.title"), "h2"))
    for r in rounds:
        if r in data.workshops:
            story.append(para(_workshop_line(data.workshops[r], lang), "small"))
    if data.workshops:
        story += [Spacer(1, 2), attendance_table(data.workshops, rounds, lang)]
    story.append(para(t("progress.sheet.areas"), "h2"))
    story.append(_areas_table(data, lang))
    story += [Spacer(1, 4), government_chart(data, lang)]
    story.append(para(t("print.steps.title"), "h2"))
    story += _steps_table(data, lang)
    story += signature_block(lang, ("print.sign.facilitator", "print.sign.authority", "print.sign.participants"))
    story.append(para(t("progress.sheet.footer", date=day(today, lang)), "tiny"))
    return keep_within(story, PAGE_HEIGHT - 2 * MARGIN)


def natural_height(story: list, frame_width: float = CONTENT_WIDTH) -> float:
    """The height ``story`` takes at full size (a one-page sheet is only shrunk when this exceeds the page)."""
    flowables = story[0]._content if len(story) == 1 and hasattr(story[0], "_content") else story
    total = 0.0
    for flowable in flowables:
        total += flowable.wrap(frame_width, PAGE_HEIGHT)[1] + flowable.getSpaceBefore() + flowable.getSpaceAfter()
    return total


def render_government(data: GovernmentPrint, lang: str, *, today: date | None = None) -> bytes:
    today = today or date.today()
    t = translator(lang)
    return build(government_story(data, lang, today), title=f"{t('print.kind.government')} · {data.sheet.government['government']}",
                 lang=lang, footer=Footer(t("print.footer", date=day(today, lang)), lang=lang))


def government_pdf(government_id: str, from_round: str = "baseline", to_round: str = "midpoint", lang: str = "es",
                   today: date | None = None) -> bytes | None:
    """The government's one-page A4 result sheet (None when it has no validated assessment)."""
    data = government_print(government_id, from_round, to_round)
    return None if data is None else render_government(data, lang, today=today)


# --- the cluster sheet ------------------------------------------------------------------------------------


HEAT_STEPS = ((-1.0, "#b2182b"), (-0.5, "#ef8a62"), (-0.0001, "#fddbc7"), (0.0001, "#f7f7f7"), (0.5, "#d1e5f0"),
              (1.0, "#67a9cf"), (99, "#2166ac"))


def heat_fill(change: float | None):
    if change is None:
        return colors.white
    if abs(change) < 0.0001:
        return colors.HexColor("#f7f7f7")
    for bound, colour in HEAT_STEPS:
        if change <= bound:
            return colors.HexColor(colour)
    return colors.HexColor(HEAT_STEPS[-1][1])


def _heat_table(data: ClusterPrint, lang: str) -> list:
    """Governments × areas: the change in each cell as a number on a diverging fill (codes as headers)."""
    t = translator(lang)
    sheet = data.sheet
    heat = sheet.heatmap
    if heat.empty:
        return [para(t("print.cluster.no_change"), "small")]
    codes = [c for c in sheet.area_labels["area_code"] if c in set(heat["area_code"])] \
        if "area_code" in sheet.area_labels else sorted(set(heat["area_code"]))
    names = progress.area_label(sheet.area_labels, lang)
    governments = [g for g in sheet.members["government"] if g in set(heat["government"])]
    values = {(r["government"], r["area_code"]): _value(r["change"]) for r in heat.to_dict("records")}
    # each area column as wide as its code (at 6.6 pt) or a value needs; the government names get the rest
    cells = [max(width(c, 6.6, bold=True), width("+0.00", 7.4)) + 7 for c in codes]
    first = CONTENT_WIDTH - sum(cells)
    if first < CONTENT_WIDTH * 0.2:
        first = CONTENT_WIDTH * 0.2
        cells = [c * (CONTENT_WIDTH - first) / sum(cells) for c in cells]
    rows, style = [], []
    for i, government in enumerate(governments, start=1):
        row = [government]
        for j, code in enumerate(codes, start=1):
            value = values.get((government, code))
            row.append(number(value, signed=True) if value is not None else "—")
            style.append(("BACKGROUND", (j, i), (j, i), heat_fill(value)))
            if value is not None and abs(value) > 1.0:  # white on the two darkest fills only
                style.append(("TEXTCOLOR", (j, i), (j, i), colors.white))
        rows.append(row)
    grid = table([t("common.government"), *codes], rows, [first, *cells],
                 numeric=range(1, len(codes) + 1), extra=style)
    legend = " · ".join(f"{c} = {names.get(c, c)}" for c in codes)
    return [grid, Spacer(1, 2), para(legend, "tiny")]


def cluster_chart(data: ClusterPrint, lang: str, chart_width: float = CONTENT_WIDTH) -> Drawing:
    t = translator(lang)
    sheet = data.sheet
    rows = [ChartRow(label=r["government"], before=_value(r["capacity_index_from"]),
                     after=_value(r["capacity_index_to"])) for r in sheet.members.to_dict("records")]
    return bar_chart(rows, lang=lang, from_round=sheet.filters.from_round, to_round=sheet.filters.to_round,
                     scale_max=data.scale[1], chart_width=chart_width, label_share=0.3, show_target=False,
                     axis_title=t("print.chart.axis_index", low=data.scale[0], high=data.scale[1]))


def cluster_story(data: ClusterPrint, lang: str, today: date) -> list:
    t = translator(lang)
    sheet = data.sheet
    c = sheet.cluster
    rounds = (sheet.filters.from_round, sheet.filters.to_round)
    before, after = (t(f"round.{r}") for r in rounds)
    sectors = ", ".join(t(f"sector.{s}") for s in c.get("sectors", [])) or "—"
    facts = [t("progress.sheet.cluster_meta", department=c["department"], wave=c["wave"], sectors=sectors,
               members=len(sheet.members)),
             t("print.rounds", before=before, after=after, date=day(today, lang))]
    story = _header(t("print.kind.cluster"), c["name"], facts)
    attendance = data.attendance.set_index("government_id") if not data.attendance.empty else pd.DataFrame(
        columns=["participants", "women"])
    rows = []
    for r in sheet.members.to_dict("records"):
        gid = r["government_id"]
        people = f"{count(attendance.loc[gid, 'participants'])} ({count(attendance.loc[gid, 'women'])})" \
            if gid in attendance.index else "—"
        rows.append([r["government"], t(f"level.{r['level']}"), people, number(r["capacity_index_from"]),
                     number(r["capacity_index_to"]), number(r["change"], signed=True)])
    w = CONTENT_WIDTH
    story.append(para(t("progress.sheet.members"), "h2"))
    story.append(table([t("common.government"), t("common.level"), t("print.cluster.participants", round=after),
                        t("progress.col.index_round", round=before), t("progress.col.index_round", round=after),
                        t("progress.col.change")], rows,
                       [w * 0.33, w * 0.12, w * 0.16, w * 0.13, w * 0.13, w * 0.13], numeric=(2, 3, 4, 5)))
    story += [Spacer(1, 4), cluster_chart(data, lang)]
    story.append(para(t("print.cluster.heat", before=before, after=after), "h2"))
    story += _heat_table(data, lang)
    tables = progress_sheets.cluster_tables(sheet, lang)
    half = (CONTENT_WIDTH - 10) / 2

    def frame_table(frame: pd.DataFrame, share: list[float]) -> Table:
        return table(list(frame.columns), frame.astype(str).values.tolist(), [half * s for s in share],
                     numeric=range(1, len(frame.columns)))

    plan = frame_table(tables["plan"], [0.4, 0.3, 0.3])
    qsip = frame_table(tables["qsip"], [0.34, 0.22, 0.22, 0.22]) if not tables["qsip"].empty \
        else para(t("print.cluster.no_qsip"), "small")
    side = Table([[[para(t("progress.sheet.plan"), "h2"), plan],
                   [para(t("progress.sheet.qsip", cycle=sheet.qsip_cycle or "—"), "h2"), qsip]]],
                 colWidths=[half + 10, half])
    side.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0),
                              ("RIGHTPADDING", (0, 0), (-1, -1), 0)]))
    story.append(side)
    story += signature_block(lang, ("print.sign.facilitator", "print.sign.cluster", "print.sign.gcd"))
    story.append(para(t("progress.sheet.footer", date=day(today, lang)), "tiny"))
    return story


def render_cluster(data: ClusterPrint, lang: str, *, today: date | None = None) -> bytes:
    today = today or date.today()
    t = translator(lang)
    story = cluster_story(data, lang, today)
    for one in data.governments:
        story += [PageBreak(), *government_story(one, lang, today)]
    return build(story, title=f"{t('print.kind.cluster')} · {data.sheet.cluster['name']}", lang=lang,
                 footer=Footer(t("print.footer", date=day(today, lang)), lang=lang))


def cluster_pdf(cluster_id: str, from_round: str = "baseline", to_round: str = "midpoint", lang: str = "es",
                today: date | None = None, with_governments: bool = False) -> bytes | None:
    """The cluster's A4 sheet (at most two pages), optionally followed by one page per member government."""
    data = cluster_print(cluster_id, from_round, to_round, with_governments=with_governments)
    return None if data is None else render_cluster(data, lang, today=today)


__all__ = ["ChartRow", "ClusterPrint", "GovernmentPrint", "Workshop", "bar_chart", "chart_strings", "cluster_chart",
           "cluster_pdf", "cluster_print", "government_chart", "government_pdf", "government_print",
           "natural_height", "render_cluster", "render_government"]
