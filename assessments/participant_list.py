"""A participant list pasted from a spreadsheet or uploaded as CSV/XLSX, read into rows to import.

Columns: code, name, sex, indigenous identity, role, organisation, in that order, or in any order under
a header row (Spanish or English names). Values may be the stored codes or their Spanish or English
labels (``mujer``, ``female``, ``F``, ``prefiere no decir``...). Nothing here writes: the import service
(:func:`assessments.focas.import_participants`) checks every row and writes all of them or none.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field

from assessments.errors import ValidationFailed
from assessments.i18n import LANGUAGES, translate
from assessments.uploads import check_upload
from db.models.base import INDIGENOUS, PARTICIPANT_ROLES, SEXES

COLUMNS = ("code", "full_name", "sex", "indigenous", "role", "organisation")
MAX_ROWS = 500

# header names people write (compared without accents, case, spaces or punctuation)
HEADERS = {
    "code": ("code", "codigo", "cod", "id", "participantcode", "codigodeparticipante"),
    "full_name": ("name", "fullname", "nombre", "nombres", "nombrecompleto", "nombreyapellidos",
                  "apellidosynombres", "nombresyapellidos", "participante", "participant"),
    "sex": ("sex", "sexo", "genero", "gender"),
    "indigenous": ("indigenous", "indigena", "identidadindigena", "indigenousidentity", "autoidentificacion",
                   "autoidentificacionindigena", "pueblooriginario"),
    "role": ("role", "rol", "tipo", "tipodeparticipante"),
    "organisation": ("organisation", "organization", "organizacion", "entidad", "institucion", "institution",
                     "oficina", "office"),
}

# spellings beyond the catalog labels (which are accepted in both languages too)
SYNONYMS = {
    "sex": {
        "female": ("f", "w", "mujer", "woman", "femenino", "fem", "femenina"),
        "male": ("m", "h", "v", "hombre", "man", "masculino", "masc", "varon"),
        "other": ("o", "otro", "otra", "other"),
        "undisclosed": ("undisclosed", "prefiere no decir", "prefiero no decir", "prefers not to say",
                        "prefer not to say", "no dice", "no responde", "nr", "nd", "no sabe"),
    },
    "indigenous": {
        "yes": ("yes", "y", "si", "s", "1", "true", "verdadero", "indigena", "indigenous"),
        "no": ("no", "n", "0", "false", "falso", "no indigena", "not indigenous"),
        "undisclosed": ("undisclosed", "prefiere no decir", "prefiero no decir", "prefers not to say",
                        "prefer not to say", "no dice", "no responde", "nr", "nd"),
    },
    "role": {
        "official": ("official", "funcionario", "funcionaria", "funcionario a", "servidor", "servidora",
                     "servidor publico", "servidora publica"),
        "manager": ("manager", "directivo", "directiva", "directivo a", "gerente", "jefe", "jefa", "director",
                    "directora"),
        "civil_society": ("civil society", "sociedad civil", "civil_society", "sc", "cs", "osc"),
        "other": ("other", "otro", "otra", "o"),
    },
}
ALLOWED = {"sex": SEXES, "indigenous": INDIGENOUS, "role": PARTICIPANT_ROLES}
LABEL_KEYS = {"sex": "sex.{}", "indigenous": "indigenous.{}", "role": "focas.role.{}"}


# One line of the list: its line (or sheet row) number and the raw text of each column.
@dataclass(frozen=True)
class ListRow:
    line: int
    values: dict[str, str] = field(default_factory=dict)


def _plain(text: object) -> str:
    """Lower case, no accents, punctuation as spaces, single spaces: how values and headers are compared."""
    text = unicodedata.normalize("NFKD", str(text or "")).encode("ascii", "ignore").decode("ascii").lower()
    return " ".join(re.sub(r"[^a-z0-9_]+", " ", text).split())


def _header_name(cell: str) -> str:
    return _plain(cell).replace(" ", "").replace("_", "")


def _column_of(cell: str) -> str | None:
    name = _header_name(cell)
    return next((column for column, names in HEADERS.items() if name in names), None)


def value_of(kind: str, text: str) -> str | None:
    """The stored code for a sex, indigenous identity or role as typed (code, label or synonym), else None."""
    typed = _plain(text)
    if not typed:
        return None
    for code in ALLOWED[kind]:
        spellings = {_plain(code), *(_plain(s) for s in SYNONYMS[kind].get(code, ()))}
        spellings |= {_plain(translate(LABEL_KEYS[kind].format(code), lang)) for lang in LANGUAGES}
        if typed in spellings:
            return code
    return None


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def rows_from_table(table: list[list[object]], *, first_line: int = 1) -> list[ListRow]:
    """Rows of cells (the first may be a header) as list rows; blank lines are skipped, numbering kept."""
    lines = [(first_line + i, [_cell(c) for c in cells]) for i, cells in enumerate(table)]
    lines = [(n, cells) for n, cells in lines if any(cells)]
    if not lines:
        raise ValidationFailed("participant_import.nothing")
    header_line, header = lines[0]
    named = [_column_of(cell) for cell in header]
    if sum(1 for name in named if name) >= 2 or (len(header) == 1 and named[0]):
        unknown = [cell for cell, name in zip(header, named) if cell and not name]
        if unknown:
            raise ValidationFailed("participant_import.unknown_column", column=unknown[0], line=header_line)
        repeated = [name for i, name in enumerate(named) if name and name in named[:i]]
        if repeated:
            raise ValidationFailed("participant_import.repeated_column", column=header[named.index(repeated[0])],
                                   line=header_line)
        columns = named
        lines = lines[1:]
    else:
        columns = list(COLUMNS)
    if not lines:
        raise ValidationFailed("participant_import.nothing")
    if len(lines) > MAX_ROWS:
        raise ValidationFailed("participant_import.too_many", n=len(lines), max=MAX_ROWS)
    rows = []
    for number, cells in lines:
        extra = [c for c in cells[len(columns):] if c]
        values = {name: cell for name, cell in zip(columns, cells) if name}
        if extra:
            values["_extra"] = str(len(columns))
        rows.append(ListRow(line=number, values=values))
    return rows


def _delimiter(text: str) -> str:
    first = next((line for line in text.splitlines() if line.strip()), "")
    if "\t" in first:
        return "\t"
    return ";" if first.count(";") >= first.count(",") and ";" in first else ","


def parse_text(text: str) -> list[ListRow]:
    """A list pasted from a spreadsheet (tab separated) or typed with semicolons or commas."""
    text = (text or "").replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise ValidationFailed("participant_import.nothing")
    table = list(csv.reader(io.StringIO(text), delimiter=_delimiter(text)))
    return rows_from_table(table)


def _decode(content: bytes) -> str:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return content.decode("cp1252", errors="replace")  # Excel's "CSV" on Spanish Windows


def parse_upload(content: bytes | None) -> list[ListRow]:
    """An uploaded CSV (any of the separators) or XLSX (its first sheet), checked by content first."""
    kind = check_upload(content, allowed=("csv", "xlsx"), max_bytes=5 * 1024 * 1024)
    if kind == "csv":
        return parse_text(_decode(content))
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - a damaged workbook is the user's file, not our bug
        raise ValidationFailed("participant_import.bad_xlsx") from None
    try:
        sheet = book.worksheets[0]
        table = [list(row) for _, row in zip(range(MAX_ROWS + 50), sheet.iter_rows(values_only=True))]
    finally:
        book.close()
    return rows_from_table(table)
