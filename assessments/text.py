"""Free text a user types: one rule for every field, on SQLite and PostgreSQL alike.

``clean_text`` strips the surrounding whitespace, NFC-normalises, and refuses with a translated
message naming the field: NUL and every other control character (line breaks and tabs are kept
only in multi-line fields), the bidirectional overrides and isolates that make a text read
differently from what it holds (U+202A–U+202E, U+2066–U+2069), lone surrogates (PostgreSQL cannot
store them), and a text longer than the field's limit. PostgreSQL refuses NUL in a text column with
a driver error, and SQLite stores it; refusing it here, before any write, keeps a laptop's snapshot
mergeable into a PostgreSQL server.

``LIMITS`` is the table of every free-text field and its length in characters (after stripping
and NFC); ``MULTILINE`` the fields typed in a text area. The entry surface (pages/components/
entry_grid.js) and the pages' ``max_chars`` use the same numbers.
"""

from __future__ import annotations

import unicodedata

from assessments.errors import ValidationFailed

# field → maximum length in characters. Names are short, notes and evidence paragraphs.
LIMITS: dict[str, int] = {
    # clusters (Clústeres)
    "cluster.name": 120,
    "cluster.notes": 2000,
    # FOCAS workshops (Taller FOCAS)
    "focas.workshop.place": 200,
    "focas.workshop.facilitator": 200,
    "focas.workshop.notes": 2000,
    "focas.participant.full_name": 200,
    "focas.participant.code": 40,
    "focas.participant.organisation": 200,
    "focas.evidence": 2000,
    "focas.reason": 400,
    "focas.indicator.name": 200,
    "focas.indicator.descriptor": 2000,
    # performance targets and capacity-building plan
    "plan.what": 2000,
    "plan.who_staff": 400,
    "plan.where_place": 200,
    "plan.resources": 2000,
    "plan.other_support": 2000,
    # cluster plan and selection (Selección de clústeres)
    "selection.criterion.name": 200,
    "selection.notes": 2000,
    "selection.evidence": 2000,
    # departmental consultative groups (GCD)
    "gcd.member.full_name": 200,
    "gcd.member.organisation": 200,
    "gcd.meeting.agenda": 4000,
    "gcd.meeting.agreements": 4000,
    "gcd.meeting.next_agenda": 4000,
    # accounts
    "account.full_name": 120,
    # QSIP audits (the QSIP service calls clean_text with these)
    "qsip.service_name": 200,
    "qsip.notes": 2000,
    "qsip.stage.notes": 2000,
    "qsip.respondent.locality": 200,
    "qsip.respondent.code": 40,
    "qsip.barrier.description": 1000,
    "qsip.action.description": 1000,
    "qsip.action.evidence": 2000,
    "qsip.reason": 400,
    # instruments (Instrumentos)
    "instrument.text": 2000,  # every name, description, descriptor and question of an instrument version
}

MULTILINE: frozenset[str] = frozenset({
    "cluster.notes", "focas.workshop.notes", "focas.evidence", "focas.reason", "focas.indicator.descriptor",
    "plan.what", "plan.resources", "plan.other_support",
    "selection.notes", "selection.evidence", "gcd.meeting.agenda", "gcd.meeting.agreements",
    "gcd.meeting.next_agenda", "qsip.notes", "qsip.stage.notes", "qsip.barrier.description",
    "qsip.action.description", "qsip.action.evidence", "qsip.reason", "instrument.text",
})

INSTRUMENT_TEXT = "instrument.text"  # the field of every text of an instrument version

BIDI_CONTROLS = frozenset(chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A)))
LINE_BREAKS = {"\r\n": "\n", "\r": "\n", "\u2028": "\n", "\u2029": "\n"}


class TextRefused(ValidationFailed):
    """A refused free-text value; the message names the field in the reader's language."""

    def __init__(self, key: str, /, *, field: str, **params: object) -> None:
        super().__init__(key, field=field, **params)
        self.field = field

    def message(self, lang: str = "es") -> str:
        from assessments.i18n import translate

        return translate(self.key, lang, **{**self.params, "field": field_label(self.field, lang)})


def field_label(field: str, lang: str = "es") -> str:
    """The field's name as a user reads it ("nombre del clúster"); the field key if it has none."""
    from assessments.i18n import translate

    key = f"text_limits.field.{field}"
    label = translate(key, lang)
    return field if label == key else label


def limit_of(field: str) -> int:
    return LIMITS[field]


def _as_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    try:
        if value != value:  # NaN, pd.NA, NaT: an empty cell of an editor
            return ""
    except (TypeError, ValueError):
        return ""
    return str(value)


def clean_text(value: object, *, field: str, limit: int, required: bool = False,
               multiline: bool | None = None) -> str:
    """``value`` as it may be stored in ``field``: stripped, NFC, at most ``limit`` characters.

    ``multiline`` (default: whether ``field`` is in ``MULTILINE``) keeps line breaks (any line
    separator becomes ``\\n``) and tabs; elsewhere they are refused like every other control
    character. Raises ``TextRefused`` (a ``ValidationFailed``) naming the field: control character,
    direction override, too long (with the limit), or empty when ``required``.
    """
    if multiline is None:
        multiline = field in MULTILINE
    text = _as_text(value)
    if multiline:
        for old, new in LINE_BREAKS.items():
            text = text.replace(old, new)
    text = unicodedata.normalize("NFC", text.strip())
    for character in text:
        if character in BIDI_CONTROLS:
            raise TextRefused("text_limits.bidi", field=field, code=f"U+{ord(character):04X}")
        if multiline and character in "\n\t":
            continue
        category = unicodedata.category(character)
        if category in ("Cc", "Cs", "Zl", "Zp"):
            raise TextRefused("text_limits.control", field=field, code=f"U+{ord(character):04X}")
    if len(text) > limit:
        raise TextRefused("text_limits.too_long", field=field, max=limit, length=len(text))
    if required and not text:
        raise TextRefused("text_limits.required", field=field)
    return text


def clean_field(value: object, field: str, *, required: bool = False) -> str:
    """``clean_text`` with the field's limit from ``LIMITS``."""
    return clean_text(value, field=field, limit=LIMITS[field], required=required)


def as_shown(value: object) -> str:
    """A text as ``clean_text`` would store it, without refusing: for comparing with what a user saw."""
    text = _as_text(value)
    for old, new in LINE_BREAKS.items():
        text = text.replace(old, new)
    return unicodedata.normalize("NFC", text.strip())


def labelled(key: str, params: dict, lang: str = "es") -> dict:
    """``params`` of a refusal kept as (key, params), with a text field's name in ``lang``."""
    if key.startswith("text_limits.") and "field" in params:
        return {**params, "field": field_label(str(params["field"]), lang)}
    return dict(params)
