"""What every printed A4 PDF shares: the embedded font, text styles, numbers, dates, page frame, signatures.

Built with ReportLab on the laptop itself: no browser, no network. The font is a TrueType face with
Spanish accents embedded in every file (DejaVu Sans from Debian's fonts-dejavu-core when installed,
else Bitstream Vera, which ships inside ReportLab). User text goes through :func:`esc` before it
reaches a Paragraph, so a name such as ``<b>`` or ``&`` prints as typed and never as markup.
Plain Python: never imports streamlit.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import BaseDocTemplate, Frame, PageTemplate, Paragraph, Table, TableStyle

from assessments.i18n import translator

PAGE_WIDTH, PAGE_HEIGHT = A4  # 595.28 × 841.89 pt
MARGIN = 14 * mm
CONTENT_WIDTH = PAGE_WIDTH - 2 * MARGIN
FONT = "FocasSans"
BOLD = "FocasSans-Bold"
DOMAIN = "print"  # catalog keys print.* (locale/<lang>/LC_MESSAGES/print.po)

_DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
_REPORTLAB_FONTS = Path(__import__("reportlab").__file__).resolve().parent / "fonts"
FONT_CANDIDATES = (
    (_DEJAVU / "DejaVuSans.ttf", _DEJAVU / "DejaVuSans-Bold.ttf"),
    (_REPORTLAB_FONTS / "Vera.ttf", _REPORTLAB_FONTS / "VeraBd.ttf"),
)
# characters a fallback face may lack, printed as their nearest ASCII
_SUBSTITUTES = {"→": "->", "−": "-", "–": "-", "—": "-", "≥": ">=", "≤": "<=", "☐": "[ ]", "…": "...", "·": "-"}

INK = colors.HexColor("#111111")
MUTED = colors.HexColor("#555555")
RULE = colors.HexColor("#9a9a9a")
HEAD_FILL = colors.HexColor("#e8edf3")


@functools.cache
def fonts() -> tuple[str, str]:
    """Register the embedded regular and bold faces once per process; returns their names."""
    for regular, bold in FONT_CANDIDATES:
        if regular.exists() and bold.exists():
            pdfmetrics.registerFont(TTFont(FONT, str(regular)))
            pdfmetrics.registerFont(TTFont(BOLD, str(bold)))
            pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=BOLD, italic=FONT, boldItalic=BOLD)
            return FONT, BOLD
    raise RuntimeError("no TrueType font found for PDF output")  # ReportLab always ships Vera


@functools.cache
def _glyphs() -> frozenset[int]:
    fonts()
    return frozenset(pdfmetrics.getFont(FONT).face.charToGlyph)


def printable(text: object) -> str:
    """``text`` with characters the embedded face cannot draw replaced (nothing to replace with DejaVu)."""
    text = "" if text is None else str(text)
    glyphs = _glyphs()
    if all(ord(c) in glyphs or c in "\n\t" for c in text):
        return text
    return "".join(c if ord(c) in glyphs or c in "\n\t" else _SUBSTITUTES.get(c, "?") for c in text)


def esc(text: object) -> str:
    """User or catalog text made safe for a Paragraph: printed as typed, never read as markup."""
    return escape(printable(text)).replace("\n", "<br/>")


def width(text: str, size: float, *, bold: bool = False) -> float:
    """The drawn width of ``text`` in points (what a test compares with its box)."""
    fonts()
    return pdfmetrics.stringWidth(printable(text), BOLD if bold else FONT, size)


def wrap(text: str, size: float, max_width: float, *, bold: bool = False) -> list[str]:
    """``text`` broken into lines no wider than ``max_width`` (a word too long is cut between letters)."""
    words = printable(text).split()
    lines: list[str] = []
    current = ""
    for word in words:
        while width(word, size, bold=bold) > max_width and len(word) > 1:
            cut = len(word)
            while cut > 1 and width(word[:cut], size, bold=bold) > max_width:
                cut -= 1
            if current:
                lines.append(current)
                current = ""
            lines.append(word[:cut])
            word = word[cut:]
        candidate = f"{current} {word}".strip()
        if width(candidate, size, bold=bold) <= max_width:
            current = candidate
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    return lines or [""]


# --- numbers and dates ------------------------------------------------------------------------


def _missing(value) -> bool:
    if value is None:
        return True
    try:
        return value != value  # NaN, pd.NA raises
    except TypeError:
        return True


def number(value, places: int = 2, *, signed: bool = False) -> str:
    """``value`` rounded half away from zero (3.125 → 3.13, so shown numbers add up); "—" when missing."""
    if _missing(value):
        return "—"
    quantum = Decimal(1).scaleb(-places)
    rounded = Decimal(str(float(value))).quantize(quantum, rounding=ROUND_HALF_UP)
    if rounded == 0:
        rounded = abs(rounded)
    text = f"{rounded:.{places}f}"
    return f"+{text}" if signed and rounded > 0 else text


def count(value) -> str:
    return "—" if _missing(value) else str(int(value))


def day(value, lang: str) -> str:
    """A date in the language's one format, as on screen (es_PE: 5 mar. 2026; en: Mar 5, 2026; a datetime on
    its day in the display zone, America/Lima by default); "—" when missing."""
    from assessments import formatting

    if _missing(value) or value == "":
        return "—"
    if not isinstance(value, (date, datetime)):
        return str(value)
    return formatting.date(value, lang)


# --- styles, document and blocks ---------------------------------------------------------------


@functools.cache
def styles() -> dict[str, ParagraphStyle]:
    fonts()
    base = ParagraphStyle("base", fontName=FONT, fontSize=8.5, leading=10.5, textColor=INK, alignment=TA_LEFT)
    return {
        "base": base,
        "small": ParagraphStyle("small", parent=base, fontSize=7.2, leading=8.6),
        "tiny": ParagraphStyle("tiny", parent=base, fontSize=6.4, leading=7.6, textColor=MUTED),
        "tiny_right": ParagraphStyle("tiny_right", parent=base, fontSize=6.6, leading=7.6, alignment=TA_RIGHT),
        "cell": ParagraphStyle("cell", parent=base, fontSize=7.4, leading=8.8),
        "cell_bold": ParagraphStyle("cell_bold", parent=base, fontName=BOLD, fontSize=7.4, leading=8.8),
        "cell_right": ParagraphStyle("cell_right", parent=base, fontSize=7.4, leading=8.8, alignment=TA_RIGHT),
        "cell_bold_right": ParagraphStyle("cell_bold_right", parent=base, fontName=BOLD, fontSize=7.4, leading=8.8,
                                          alignment=TA_RIGHT),
        "kind": ParagraphStyle("kind", parent=base, fontSize=8, leading=10, textColor=MUTED),
        "title": ParagraphStyle("title", parent=base, fontName=BOLD, fontSize=15, leading=18, spaceAfter=1),
        "h2": ParagraphStyle("h2", parent=base, fontName=BOLD, fontSize=9.6, leading=12, spaceBefore=4,
                             spaceAfter=2),
        "level": ParagraphStyle("level", parent=base, fontSize=7.4, leading=13, spaceAfter=1.5),
        "big": ParagraphStyle("big", parent=base, fontName=BOLD, fontSize=12, leading=14),
    }


def para(text: object, style: str = "base", *, bold: bool = False) -> Paragraph:
    """A paragraph of plain (escaped) text."""
    body = esc(text)
    return Paragraph(f"<b>{body}</b>" if bold else body, styles()[style])


@dataclass(frozen=True)
class Footer:
    left: str
    right_key: str = "print.page"  # "Página {n}"
    lang: str = "es"


def document(buffer: io.BytesIO, *, title: str, lang: str, footer: Footer) -> BaseDocTemplate:
    """An A4 portrait document with one frame and a footer line (left text, page number on the right)."""
    fonts()
    t = translator(lang)

    def draw_footer(canvas, doc) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 6.5)
        canvas.setFillColor(MUTED)
        canvas.drawString(MARGIN, MARGIN * 0.55, printable(footer.left))
        canvas.drawRightString(PAGE_WIDTH - MARGIN, MARGIN * 0.55, printable(t(footer.right_key, n=doc.page)))
        canvas.restoreState()

    doc = BaseDocTemplate(buffer, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN,
                          bottomMargin=MARGIN, title=printable(title), author="FOCAS · QSIP", lang=lang,
                          creator="FOCAS · QSIP dashboard")
    frame = Frame(MARGIN, MARGIN, CONTENT_WIDTH, PAGE_HEIGHT - 2 * MARGIN, id="body", leftPadding=0,
                  rightPadding=0, topPadding=0, bottomPadding=0)
    doc.addPageTemplates([PageTemplate(id="page", frames=[frame], onPage=draw_footer)])
    return doc


def build(story: list, *, title: str, lang: str, footer: Footer) -> bytes:
    buffer = io.BytesIO()
    document(buffer, title=title, lang=lang, footer=footer).build(story)
    return buffer.getvalue()


GRID = [("GRID", (0, 0), (-1, -1), 0.4, RULE), ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 3), ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ("TOPPADDING", (0, 0), (-1, -1), 1.2), ("BOTTOMPADDING", (0, 0), (-1, -1), 1.4)]


CELL_SIZES = (7.4, 6.6, 5.8)


def fitted(text: object, room: float, *, bold: bool = False, right: bool = False) -> Paragraph:
    """A table cell's paragraph at the largest size (7.4, 6.6 or 5.8 pt) where its longest word fits ``room``,
    so no word is ever broken between letters."""
    words = printable(text).split() or [""]
    longest = max(words, key=lambda w: width(w, 7.4, bold=bold))
    size = next((s for s in CELL_SIZES if width(longest, s, bold=bold) <= room), CELL_SIZES[-1])
    return Paragraph(f"<b>{esc(text)}</b>" if bold else esc(text), _cell_style(size, bold, right))


@functools.cache
def _cell_style(size: float, bold: bool, right: bool) -> ParagraphStyle:
    fonts()
    return ParagraphStyle(f"cell_{size}_{bold}_{right}", fontName=BOLD if bold else FONT, fontSize=size,
                          leading=round(size * 1.19, 2), textColor=INK, alignment=TA_RIGHT if right else TA_LEFT)


def table(header: Sequence[str], rows: Sequence[Sequence[object]], widths: Sequence[float], *,
          numeric: Sequence[int] = (), extra: Sequence[tuple] = (), repeat: bool = True,
          row_heights: Sequence[float] | float | None = None) -> Table:
    """A ruled table: a shaded header row, text cells wrapped in their column, numbers right-aligned."""
    numeric = set(numeric)

    def cell(value, bold, column):
        if hasattr(value, "wrap"):
            return value
        return fitted(value, widths[column] - 6, bold=bold, right=column in numeric)

    data = [[cell(h, True, i) for i, h in enumerate(header)]]
    data += [[cell(v, False, i) for i, v in enumerate(row)] for row in rows]
    if isinstance(row_heights, (int, float)):
        row_heights = [None] + [row_heights] * len(rows)
    result = Table(data, colWidths=list(widths), repeatRows=1 if repeat else 0, rowHeights=row_heights, hAlign="LEFT")
    result.setStyle(TableStyle([*GRID, ("BACKGROUND", (0, 0), (-1, 0), HEAD_FILL), *extra]))
    return result


def signature_block(lang: str, roles: Sequence[str], *, heading_key: str = "print.sign.title",
                    note: str | None = None) -> list:
    """Who validates: one row per role with a name line and a signature box, then date and place."""
    t = translator(lang)
    rows = [[t(role), "", ""] for role in roles]
    block = table([t("print.sign.role"), t("print.sign.name"), t("print.sign.signature")], rows,
                  [CONTENT_WIDTH * 0.34, CONTENT_WIDTH * 0.38, CONTENT_WIDTH * 0.28], row_heights=21,
                  extra=[("VALIGN", (0, 1), (-1, -1), "MIDDLE")], repeat=False)
    parts = [para(t(heading_key), "h2")]
    if note:
        parts.append(para(note, "small"))
    parts += [block, para(t("print.sign.date_place"), "small")]
    return parts


def checkbox_row(options: Sequence[str]) -> str:
    """Options each behind an empty box, as one line of text ("☐ Mujer   ☐ Hombre ...")."""
    return "\u00a0\u00a0\u00a0 ".join(f"☐\u00a0{option}" for option in options)


def keep_within(flowables: list, height: float) -> list:
    """Shrink ``flowables`` to ``height`` points if they would not fit (a one-page sheet stays one page)."""
    from reportlab.platypus import KeepInFrame

    return [KeepInFrame(CONTENT_WIDTH, height, flowables, mode="shrink")]


__all__ = [
    "BOLD", "CONTENT_WIDTH", "DOMAIN", "FONT", "Footer", "MARGIN", "PAGE_HEIGHT", "PAGE_WIDTH", "build",
    "checkbox_row", "count", "day", "document", "esc", "fonts", "keep_within", "number", "para", "printable",
    "signature_block", "styles", "table", "width", "wrap",
]
