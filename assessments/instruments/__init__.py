"""FOCAS and QSIP instruments: bilingual, versioned data files and their loader/validator.

The program's default instruments ship as JSON next to this module (``focas_default.json`` and
``qsip_default.json``). They are data, not code: a facilitator or administrator may edit them (or
store an edited copy elsewhere) and bump ``version``. Whatever the source, a dictionary goes through
:func:`parse_focas` / :func:`parse_qsip`, which validate it and return frozen dataclasses.

Every rule broken raises :class:`assessments.errors.ValidationFailed` with a catalog key
(``instrument.*``, see ``locale/<lang>/LC_MESSAGES/instruments.po``) and its parameters, never a
sentence. Plain Python: this module never imports streamlit.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from assessments.errors import NotFound, ValidationFailed
from assessments.text import INSTRUMENT_TEXT, clean_field

__all__ = [
    "DEFAULT_FOCAS_PATH",
    "DEFAULT_QSIP_PATH",
    "LANGUAGES",
    "MANDATORY_AREA_CODES",
    "MAX_INDICATORS_PER_AREA",
    "MIN_INDICATORS_PER_AREA",
    "QSIP_DIMENSION_CODES",
    "QSIP_STAGE_COUNT",
    "FeedbackDimension",
    "FeedbackItem",
    "FocasInstrument",
    "FunctionalArea",
    "Indicator",
    "Level",
    "QsipInstrument",
    "QsipStage",
    "Text",
    "load_focas",
    "load_qsip",
    "parse_focas",
    "parse_qsip",
]

INSTRUMENTS_DIR = Path(__file__).resolve().parent
DEFAULT_FOCAS_PATH = INSTRUMENTS_DIR / "focas_default.json"
DEFAULT_QSIP_PATH = INSTRUMENTS_DIR / "qsip_default.json"

LANGUAGES = ("es", "en")
# The plan requires these two functional areas of every participating government.
MANDATORY_AREA_CODES = ("LEGALPART", "DIVERSITY")
MIN_INDICATORS_PER_AREA = 3
MAX_INDICATORS_PER_AREA = 6
QSIP_STAGE_COUNT = 5
# Customer feedback dimensions of the QSIP audit, in display order.
QSIP_DIMENSION_CODES = ("effectiveness", "efficiency", "coverage", "satisfaction")
# Longest scale accepted (levels max - min + 1); the defaults are 1-4 (FOCAS) and 1-5 (QSIP).
MAX_SCALE_LEVELS = 10

# Uppercase ASCII letters and digits, optionally joined by "-" or "_": ADM, ADM-01, EFT-01.
CODE_PATTERN = re.compile(r"^[A-Z][A-Z0-9]*(?:[-_][A-Z0-9]+)*$")
MAX_CODE_LENGTH = 40


# --------------------------------------------------------------------------------------------
# Data classes
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Text:
    """A text in both program languages."""

    es: str
    en: str

    def get(self, lang: str | None = "es") -> str:
        """The text in ``lang`` (``"es"`` or ``"en"``); Spanish for any other value."""
        if lang == "en":
            return self.en or self.es
        return self.es or self.en

    def to_dict(self) -> dict[str, str]:
        return {"es": self.es, "en": self.en}


@dataclass(frozen=True)
class Level:
    """One point of a rating scale and its name (``1`` = "Incipiente")."""

    level: int
    name: Text

    def to_dict(self) -> dict[str, Any]:
        return {"level": self.level, "name": self.name.to_dict()}


@dataclass(frozen=True)
class Indicator:
    """A FOCAS indicator with one written descriptor per maturity level."""

    code: str
    name: Text
    descriptors: dict[int, Text] = field(hash=False)

    def descriptor(self, level: int) -> Text:
        return self.descriptors[level]

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name.to_dict(),
            "descriptors": {str(level): text.to_dict() for level, text in sorted(self.descriptors.items())},
        }


@dataclass(frozen=True)
class FunctionalArea:
    """A FOCAS functional area (ADM, HR, ..., LEGALPART, DIVERSITY) and its indicators."""

    code: str
    name: Text
    description: Text
    mandatory: bool
    indicators: tuple[Indicator, ...]

    def indicator_codes(self) -> list[str]:
        return [indicator.code for indicator in self.indicators]

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "mandatory": self.mandatory,
            "name": self.name.to_dict(),
            "description": self.description.to_dict(),
            "indicators": [indicator.to_dict() for indicator in self.indicators],
        }


def _scale_dict(scale_min: int, scale_max: int, levels: tuple[Level, ...]) -> dict[str, Any]:
    return {"min": scale_min, "max": scale_max, "levels": [level.to_dict() for level in levels]}


def _find(candidates, matches, error: str, **params):
    """The first candidate ``matches`` accepts; :class:`NotFound` (``error``) otherwise."""
    for candidate in candidates:
        if matches(candidate):
            return candidate
    raise NotFound(error, **params)


class _ScaledInstrument:
    """What both instruments share: a score scale with named levels, and the head of their dictionary."""

    def scale(self) -> range:
        """The valid scores, ``scale_min`` to ``scale_max`` inclusive."""
        return range(self.scale_min, self.scale_max + 1)

    def level(self, level: int) -> Level:
        return _find(self.levels, lambda candidate: candidate.level == level, "instrument.unknown_level", level=level)

    def _head(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "code": self.code,
            "version": self.version,
            "name": self.name.to_dict(),
            "scale": _scale_dict(self.scale_min, self.scale_max, self.levels),
        }


@dataclass(frozen=True)
class FocasInstrument(_ScaledInstrument):
    """One version of the FOCAS capacity-assessment instrument."""

    kind: ClassVar[str] = "focas"

    code: str
    version: int
    name: Text
    scale_min: int
    scale_max: int
    levels: tuple[Level, ...]
    areas: tuple[FunctionalArea, ...]

    def area(self, code: str) -> FunctionalArea:
        """The area with this code; :class:`NotFound` (``instrument.unknown_area``) otherwise."""
        return _find(self.areas, lambda area: area.code == code, "instrument.unknown_area", code=code)

    def indicator(self, code: str) -> Indicator:
        """The indicator with this code, in any area; :class:`NotFound` otherwise."""
        return _find((i for area in self.areas for i in area.indicators), lambda i: i.code == code,
                     "instrument.unknown_indicator", code=code)

    def area_of(self, indicator_code: str) -> FunctionalArea:
        """The area an indicator belongs to in this version."""
        return _find(self.areas, lambda area: any(i.code == indicator_code for i in area.indicators),
                     "instrument.unknown_indicator", code=indicator_code)

    def area_codes(self) -> list[str]:
        return [area.code for area in self.areas]

    def indicator_codes(self) -> list[str]:
        """Every indicator code, area by area, in instrument order."""
        return [indicator.code for area in self.areas for indicator in area.indicators]

    def mandatory_areas(self) -> tuple[FunctionalArea, ...]:
        return tuple(area for area in self.areas if area.mandatory)

    def to_dict(self) -> dict[str, Any]:
        """The instrument as the JSON-ready dictionary :func:`parse_focas` reads back."""
        return {**self._head(), "areas": [area.to_dict() for area in self.areas]}


@dataclass(frozen=True)
class QsipStage:
    """One of the five QSIP planning and implementation stages."""

    number: int
    name: Text
    description: Text

    def to_dict(self) -> dict[str, Any]:
        return {"number": self.number, "name": self.name.to_dict(), "description": self.description.to_dict()}


@dataclass(frozen=True)
class FeedbackItem:
    """A customer-feedback questionnaire statement, rated on the QSIP scale."""

    code: str
    text: Text

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "text": self.text.to_dict()}


@dataclass(frozen=True)
class FeedbackDimension:
    """effectiveness, efficiency, coverage or satisfaction, with its questionnaire items."""

    code: str
    name: Text
    description: Text
    items: tuple[FeedbackItem, ...]

    def item_codes(self) -> list[str]:
        return [item.code for item in self.items]

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name.to_dict(),
            "description": self.description.to_dict(),
            "items": [item.to_dict() for item in self.items],
        }


@dataclass(frozen=True)
class QsipInstrument(_ScaledInstrument):
    """One version of the QSIP instrument: stages and customer-feedback questionnaire."""

    kind: ClassVar[str] = "qsip"

    code: str
    version: int
    name: Text
    scale_min: int
    scale_max: int
    levels: tuple[Level, ...]
    stages: tuple[QsipStage, ...]
    dimensions: tuple[FeedbackDimension, ...]

    def stage(self, number: int) -> QsipStage:
        return _find(self.stages, lambda stage: stage.number == number, "instrument.unknown_stage", number=number)

    def dimension(self, code: str) -> FeedbackDimension:
        return _find(self.dimensions, lambda d: d.code == code, "instrument.unknown_dimension", code=code)

    def item(self, code: str) -> FeedbackItem:
        return _find((i for d in self.dimensions for i in d.items), lambda i: i.code == code,
                     "instrument.unknown_item", code=code)

    def dimension_of(self, item_code: str) -> FeedbackDimension:
        return _find(self.dimensions, lambda d: any(i.code == item_code for i in d.items),
                     "instrument.unknown_item", code=item_code)

    def item_codes(self) -> list[str]:
        return [item.code for dimension in self.dimensions for item in dimension.items]

    def to_dict(self) -> dict[str, Any]:
        """The instrument as the JSON-ready dictionary :func:`parse_qsip` reads back."""
        return {**self._head(), "stages": [stage.to_dict() for stage in self.stages],
                "dimensions": [dimension.to_dict() for dimension in self.dimensions]}


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


def _read_json(path: str | Path) -> Any:
    path = Path(path)
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationFailed("instrument.unreadable_file", path=str(path), error=str(exc)) from exc
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValidationFailed("instrument.invalid_json", path=str(path), line=exc.lineno, error=exc.msg) from exc


def load_focas(path: str | Path | None = None) -> FocasInstrument:
    """Read and validate a FOCAS instrument file (default: the program's shipped instrument)."""
    return parse_focas(_read_json(DEFAULT_FOCAS_PATH if path is None else path))


def load_qsip(path: str | Path | None = None) -> QsipInstrument:
    """Read and validate a QSIP instrument file (default: the program's shipped instrument)."""
    return parse_qsip(_read_json(DEFAULT_QSIP_PATH if path is None else path))


# --------------------------------------------------------------------------------------------
# Parsing and validation helpers
# --------------------------------------------------------------------------------------------


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValidationFailed("instrument.wrong_type", field=where)
    return value


def _require(data: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in data or data[key] is None:
        raise ValidationFailed("instrument.missing_field", field=f"{where}.{key}" if where else key)
    return data[key]


def _list(data: Mapping[str, Any], key: str, where: str) -> list[Any]:
    value = _require(data, key, where)
    if not isinstance(value, list):
        raise ValidationFailed("instrument.wrong_type", field=f"{where}.{key}" if where else key)
    return value


def _int(value: Any, where: str) -> int:
    # bool is an int subclass: true/false in a JSON file is a typo, not a number.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed("instrument.wrong_type", field=where)
    return value


def _text(value: Any, where: str) -> Text:
    """A bilingual text; both languages required and non-blank."""
    if value is None:
        raise ValidationFailed("instrument.missing_text", field=where, lang="es")
    if not isinstance(value, Mapping):
        raise ValidationFailed("instrument.wrong_type", field=where)
    texts: dict[str, str] = {}
    for lang in LANGUAGES:
        raw = value.get(lang)
        if raw is not None and not isinstance(raw, str):
            raise ValidationFailed("instrument.wrong_type", field=f"{where}.{lang}")
        text = clean_field(raw, INSTRUMENT_TEXT)
        if not text:
            raise ValidationFailed("instrument.missing_text", field=where, lang=lang)
        texts[lang] = text
    return Text(es=texts["es"], en=texts["en"])


def _code(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationFailed("instrument.missing_field", field=f"{where}.code")
    code = value.strip()
    if len(code) > MAX_CODE_LENGTH or not CODE_PATTERN.match(code):
        raise ValidationFailed("instrument.invalid_code", code=code)
    return code


def _check_unique(codes: Iterable[str]) -> None:
    seen: set[str] = set()
    for code in codes:
        if code in seen:
            raise ValidationFailed("instrument.duplicate_code", code=code)
        seen.add(code)


def _check_kind(data: Mapping[str, Any], expected: str) -> None:
    found = data.get("kind")
    if found != expected:
        raise ValidationFailed("instrument.wrong_kind", expected=expected, found=str(found))


def _version(data: Mapping[str, Any]) -> int:
    version = _require(data, "version", "")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValidationFailed("instrument.invalid_version", version=str(version))
    return version


def _scale(data: Mapping[str, Any]) -> tuple[int, int, tuple[Level, ...]]:
    scale = _mapping(_require(data, "scale", ""), "scale")
    scale_min = _int(_require(scale, "min", "scale"), "scale.min")
    scale_max = _int(_require(scale, "max", "scale"), "scale.max")
    if scale_min < 0 or scale_max <= scale_min or scale_max - scale_min + 1 > MAX_SCALE_LEVELS:
        raise ValidationFailed("instrument.invalid_scale", min=scale_min, max=scale_max)
    levels: list[Level] = []
    for index, raw in enumerate(_list(scale, "levels", "scale")):
        where = f"scale.levels[{index}]"
        raw = _mapping(raw, where)
        number = _int(_require(raw, "level", where), f"{where}.level")
        levels.append(Level(level=number, name=_text(raw.get("name"), f"{where}.name")))
    numbers = [level.level for level in levels]
    if sorted(numbers) != list(range(scale_min, scale_max + 1)):
        raise ValidationFailed("instrument.invalid_levels", min=scale_min, max=scale_max)
    return scale_min, scale_max, tuple(sorted(levels, key=lambda level: level.level))


def _descriptor_level(key: Any, indicator: str, scale_min: int, scale_max: int) -> int:
    """A descriptor key ("1" in JSON, 1 from Python) as an int inside the scale."""
    if isinstance(key, bool):
        level = None
    elif isinstance(key, int):
        level = key
    elif isinstance(key, str) and re.fullmatch(r"-?[0-9]+", key.strip()) and str(int(key)) == key.strip():
        level = int(key)
    else:
        level = None
    if level is None or not scale_min <= level <= scale_max:
        raise ValidationFailed(
            "instrument.descriptor_out_of_scale", indicator=indicator, level=str(key), min=scale_min, max=scale_max
        )
    return level


# --------------------------------------------------------------------------------------------
# FOCAS
# --------------------------------------------------------------------------------------------


def _parse_indicator(raw: Any, where: str, scale_min: int, scale_max: int) -> Indicator:
    raw = _mapping(raw, where)
    code = _code(raw.get("code"), where)
    where = f"{where}[{code}]"
    name = _text(raw.get("name"), f"{where}.name")
    descriptors_raw = _mapping(_require(raw, "descriptors", where), f"{where}.descriptors")
    descriptors: dict[int, Text] = {}
    for key, value in descriptors_raw.items():
        level = _descriptor_level(key, code, scale_min, scale_max)
        if level in descriptors:  # "1" and 1 both given (only possible from Python)
            raise ValidationFailed(
                "instrument.descriptor_out_of_scale", indicator=code, level=str(key), min=scale_min, max=scale_max
            )
        descriptors[level] = _text(value, f"{where}.descriptors.{level}")
    for level in range(scale_min, scale_max + 1):
        if level not in descriptors:
            raise ValidationFailed("instrument.missing_descriptor", indicator=code, level=level)
    return Indicator(code=code, name=name, descriptors=dict(sorted(descriptors.items())))


def _parse_area(raw: Any, index: int, scale_min: int, scale_max: int) -> FunctionalArea:
    where = f"areas[{index}]"
    raw = _mapping(raw, where)
    code = _code(raw.get("code"), where)
    where = f"areas[{code}]"
    name = _text(raw.get("name"), f"{where}.name")
    description = _text(raw.get("description"), f"{where}.description")
    mandatory = raw.get("mandatory", False)
    if not isinstance(mandatory, bool):
        raise ValidationFailed("instrument.wrong_type", field=f"{where}.mandatory")
    indicators_raw = _list(raw, "indicators", where)
    if not MIN_INDICATORS_PER_AREA <= len(indicators_raw) <= MAX_INDICATORS_PER_AREA:
        raise ValidationFailed(
            "instrument.indicator_count",
            area=code,
            count=len(indicators_raw),
            min=MIN_INDICATORS_PER_AREA,
            max=MAX_INDICATORS_PER_AREA,
        )
    indicators = tuple(
        _parse_indicator(item, f"{where}.indicators", scale_min, scale_max) for item in indicators_raw
    )
    return FunctionalArea(code=code, name=name, description=description, mandatory=mandatory, indicators=indicators)


def parse_focas(data: Mapping[str, Any]) -> FocasInstrument:
    """Validate a FOCAS instrument dictionary (the JSON shape) and build the instrument."""
    data = _mapping(data, "instrument")
    _check_kind(data, FocasInstrument.kind)
    code = _code(data.get("code"), "instrument")
    version = _version(data)
    name = _text(data.get("name"), "name")
    scale_min, scale_max, levels = _scale(data)
    areas = tuple(
        _parse_area(raw, index, scale_min, scale_max) for index, raw in enumerate(_list(data, "areas", ""))
    )
    _check_unique(area.code for area in areas)
    _check_unique(indicator.code for area in areas for indicator in area.indicators)
    by_code = {area.code: area for area in areas}
    for mandatory_code in MANDATORY_AREA_CODES:
        area = by_code.get(mandatory_code)
        if area is None or not area.mandatory:
            raise ValidationFailed("instrument.mandatory_area", code=mandatory_code)
    return FocasInstrument(
        code=code,
        version=version,
        name=name,
        scale_min=scale_min,
        scale_max=scale_max,
        levels=levels,
        areas=areas,
    )


# --------------------------------------------------------------------------------------------
# QSIP
# --------------------------------------------------------------------------------------------


def _parse_stages(data: Mapping[str, Any]) -> tuple[QsipStage, ...]:
    stages_raw = _list(data, "stages", "")
    if len(stages_raw) != QSIP_STAGE_COUNT:
        raise ValidationFailed("instrument.stage_count", count=len(stages_raw), expected=QSIP_STAGE_COUNT)
    stages: list[QsipStage] = []
    for index, raw in enumerate(stages_raw):
        where = f"stages[{index}]"
        raw = _mapping(raw, where)
        number = _int(_require(raw, "number", where), f"{where}.number")
        stages.append(
            QsipStage(
                number=number,
                name=_text(raw.get("name"), f"{where}.name"),
                description=_text(raw.get("description"), f"{where}.description"),
            )
        )
    if sorted(stage.number for stage in stages) != list(range(1, QSIP_STAGE_COUNT + 1)):
        raise ValidationFailed("instrument.stage_numbering", expected=QSIP_STAGE_COUNT)
    return tuple(sorted(stages, key=lambda stage: stage.number))


def _parse_dimension(raw: Any, index: int) -> FeedbackDimension:
    where = f"dimensions[{index}]"
    raw = _mapping(raw, where)
    code = raw.get("code")
    if not isinstance(code, str) or not code.strip():
        raise ValidationFailed("instrument.missing_field", field=f"{where}.code")
    code = code.strip()
    where = f"dimensions[{code}]"
    items: list[FeedbackItem] = []
    for item_index, item_raw in enumerate(_list(raw, "items", where)):
        item_where = f"{where}.items[{item_index}]"
        item_raw = _mapping(item_raw, item_where)
        item_code = _code(item_raw.get("code"), item_where)
        items.append(FeedbackItem(code=item_code, text=_text(item_raw.get("text"), f"{where}.items[{item_code}].text")))
    if not items:
        raise ValidationFailed("instrument.empty_dimension", dimension=code)
    return FeedbackDimension(
        code=code,
        name=_text(raw.get("name"), f"{where}.name"),
        description=_text(raw.get("description"), f"{where}.description"),
        items=tuple(items),
    )


def parse_qsip(data: Mapping[str, Any]) -> QsipInstrument:
    """Validate a QSIP instrument dictionary (the JSON shape) and build the instrument."""
    data = _mapping(data, "instrument")
    _check_kind(data, QsipInstrument.kind)
    code = _code(data.get("code"), "instrument")
    version = _version(data)
    name = _text(data.get("name"), "name")
    scale_min, scale_max, levels = _scale(data)
    stages = _parse_stages(data)
    dimensions = [_parse_dimension(raw, index) for index, raw in enumerate(_list(data, "dimensions", ""))]
    found = [dimension.code for dimension in dimensions]
    if sorted(found) != sorted(QSIP_DIMENSION_CODES):
        raise ValidationFailed(
            "instrument.dimension_set", expected=", ".join(QSIP_DIMENSION_CODES), found=", ".join(found) or "-"
        )
    _check_unique(item.code for dimension in dimensions for item in dimension.items)
    order = {code: position for position, code in enumerate(QSIP_DIMENSION_CODES)}
    return QsipInstrument(
        code=code,
        version=version,
        name=name,
        scale_min=scale_min,
        scale_max=scale_max,
        levels=levels,
        stages=stages,
        dimensions=tuple(sorted(dimensions, key=lambda dimension: order[dimension.code])),
    )
