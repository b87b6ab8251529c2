"""Numbers, dates and times as people read them, through Babel (CLDR): ``es`` is es_PE, ``en`` is en.

Every shown number is first rounded half away from zero (``display_round``: 3.125 → 3.13,
0.25 → 0.3, 0.75 → 0.8) and only then formatted, so the figures on a screen, a chart and a sheet
agree and add up. Babel's own rounding (half to even) never gets a tie to decide. Times are shown in
America/Lima unless ``FOCAS_TIMEZONE`` (environment, then ``.streamlit/secrets.toml``) names another
IANA zone, always with the zone's name. Counts are integers ("10", never "10.0").
"""

from __future__ import annotations

import datetime as _dt
import logging
import math
import os
import tomllib
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale
from babel.dates import format_date, format_skeleton, format_time
from babel.numbers import format_decimal

LOCALES = {"es": "es_PE", "en": "en"}
DEFAULT_LANGUAGE = "es"
DEFAULT_TIMEZONE = "America/Lima"
TIMEZONE_SETTING = "FOCAS_TIMEZONE"
MISSING = "—"
DATE_FORMAT = "medium"  # the one date format of each language: "3 may. 2026" / "May 3, 2026"
_LOG = logging.getLogger("focas.formatting")


def locale_of(lang: str | None) -> str:
    """The Babel locale of an app language ("es" → "es_PE", "en" → "en"; anything else → es_PE)."""
    return LOCALES.get(lang or "", LOCALES[DEFAULT_LANGUAGE])


@lru_cache(maxsize=4)
def _locale(lang: str | None) -> Locale:
    return Locale.parse(locale_of(lang))


def is_missing(value: object) -> bool:
    if value is None:
        return True
    try:
        return bool(value != value) or (isinstance(value, float) and math.isinf(value))  # NaN, NaT, pd.NA
    except (TypeError, ValueError):
        return False


def _decimal(value: object, decimals: int) -> Decimal:
    # str() first: Decimal(3.125) is the binary value, str(3.125) is what the person sees.
    exponent = Decimal(1).scaleb(-decimals)
    quantized = Decimal(str(value)).quantize(exponent, rounding=ROUND_HALF_UP)
    return quantized.copy_abs() if quantized.is_zero() else quantized  # never "-0.00"


def display_round(value: object, decimals: int = 2) -> float | None:
    """``value`` rounded half away from zero at ``decimals`` (3.125 → 3.13, -0.25 → -0.3); None stays None.

    Use it for every number a chart draws, a table shows or a caption prints, so they agree.
    """
    if is_missing(value):
        return None
    try:
        return float(_decimal(value, decimals))
    except (InvalidOperation, ValueError):
        return None


def round_frame(frame, decimals: int = 2, columns=None):
    """A copy of a DataFrame (or Series) with its numeric columns rounded by ``display_round``.

    Pandas' own ``round`` rounds the binary value half to even (3.125 → 3.12, 0.25 → 0.2); this one
    rounds what the person reads. Integer columns are left as they are.
    """
    import pandas as pd

    def column(series: pd.Series) -> pd.Series:
        if pd.api.types.is_integer_dtype(series) or not pd.api.types.is_numeric_dtype(series) \
                or pd.api.types.is_bool_dtype(series):
            return series
        return series.map(lambda v: display_round(v, decimals)).astype("Float64").astype(float)

    if isinstance(frame, pd.Series):
        return column(frame)
    out = frame.copy()
    for name in (columns if columns is not None else out.columns):
        out[name] = column(out[name])
    return out


def counts(series):
    """A count column as integers ("10", never "10.0"); a missing count stays empty (nullable Int64)."""
    import pandas as pd

    return pd.to_numeric(series, errors="coerce").map(lambda v: None if is_missing(v) else int(_decimal(v, 0))) \
        .astype("Int64")


def _pattern(decimals: int, signed: bool = False) -> str:
    body = "#,##0" + ("." + "0" * decimals if decimals > 0 else "")
    return f"+{body};-{body}" if signed else body


def number(value: object, lang: str | None = DEFAULT_LANGUAGE, decimals: int = 2) -> str:
    """A number with exactly ``decimals`` decimals in the language's CLDR format ("1,234.50"); "—" if missing."""
    if is_missing(value):
        return MISSING
    return format_decimal(_decimal(value, decimals), format=_pattern(decimals), locale=_locale(lang),
                          decimal_quantization=False)


def signed(value: object, lang: str | None = DEFAULT_LANGUAGE, decimals: int = 2) -> str:
    """A change with its sign ("+0.55", "-0.30"); zero has none ("0.00")."""
    if is_missing(value):
        return MISSING
    rounded = _decimal(value, decimals)
    if rounded.is_zero():
        return number(rounded, lang, decimals)
    return format_decimal(rounded, format=_pattern(decimals, signed=True), locale=_locale(lang),
                          decimal_quantization=False)


def integer(value: object, lang: str | None = DEFAULT_LANGUAGE) -> str:
    """A count: an integer with the language's grouping ("1,918", "10"; 10.0 is "10")."""
    if is_missing(value):
        return MISSING
    return format_decimal(int(_decimal(value, 0)), locale=_locale(lang))


def percent(value: object, lang: str | None = DEFAULT_LANGUAGE, decimals: int = 0) -> str:
    """A percentage given as 0–100 (not 0–1), in the language's CLDR percent format ("45 %" / "45%")."""
    if is_missing(value):
        return MISSING
    from babel.numbers import format_percent

    rounded = _decimal(value, decimals) / 100
    pattern = _locale(lang).percent_formats[None].pattern.replace("#,##0", _pattern(decimals))
    return format_percent(rounded, format=pattern, locale=_locale(lang), decimal_quantization=False)


# ---- dates and times ---------------------------------------------------------------------------

def _secrets_zone() -> str | None:
    from db.config import SECRETS_FILE

    try:
        with SECRETS_FILE.open("rb") as handle:
            return tomllib.load(handle).get(TIMEZONE_SETTING)
    except (OSError, tomllib.TOMLDecodeError):
        return None


def timezone_name() -> str:
    """The IANA zone times are shown in: ``FOCAS_TIMEZONE`` (environment, then secrets), else America/Lima."""
    return os.environ.get(TIMEZONE_SETTING) or _secrets_zone() or DEFAULT_TIMEZONE


@lru_cache(maxsize=8)
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        _LOG.warning("%s=%r is not a time zone; showing times in %s", TIMEZONE_SETTING, name, DEFAULT_TIMEZONE)
        return ZoneInfo(DEFAULT_TIMEZONE)


def timezone() -> ZoneInfo:
    return _zone(timezone_name())


def _as_datetime(value: object) -> _dt.datetime | None:
    """A timezone-aware datetime; a naive one is UTC (the database keeps UTC)."""
    if is_missing(value):
        return None
    if hasattr(value, "to_pydatetime"):  # pandas Timestamp
        value = value.to_pydatetime()
    if isinstance(value, str):
        value = _dt.datetime.fromisoformat(value)
    if not isinstance(value, _dt.datetime):
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=_dt.timezone.utc)


def local(value: object, zone: ZoneInfo | None = None) -> _dt.datetime | None:
    """``value`` (UTC when naive) in the display zone."""
    moment = _as_datetime(value)
    return None if moment is None else moment.astimezone(zone or timezone())


def zone_label(lang: str | None = DEFAULT_LANGUAGE, when: object = None, zone: ZoneInfo | None = None) -> str:
    """The display zone's name in the language, for ``when`` (now if None): "hora estándar de Perú"."""
    moment = local(when, zone) if when is not None else _dt.datetime.now(zone or timezone())
    return format_time(moment, "zzzz", locale=_locale(lang))


def date(value: object, lang: str | None = DEFAULT_LANGUAGE) -> str:
    """The one date format of the language: "3 may. 2026" (es_PE) / "May 3, 2026" (en). A datetime is
    taken on its day in the display zone."""
    if is_missing(value):
        return MISSING
    if isinstance(value, str):
        value = _dt.datetime.fromisoformat(value) if "T" in value or " " in value else _dt.date.fromisoformat(value)
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime()
    if isinstance(value, _dt.datetime):
        value = local(value).date()
    return format_date(value, DATE_FORMAT, locale=_locale(lang))


def time(value: object, lang: str | None = DEFAULT_LANGUAGE, *, with_zone: bool = True,
         seconds: bool = False) -> str:
    """A time of day in the display zone, 24-hour ("02:23"), with the zone's name in brackets."""
    moment = local(value)
    if moment is None:
        return MISSING
    text = format_skeleton("Hms" if seconds else "Hm", moment, locale=_locale(lang))
    return f"{text} ({zone_label(lang, moment)})" if with_zone else text


def datetime(value: object, lang: str | None = DEFAULT_LANGUAGE, *, with_zone: bool = True,
             seconds: bool = False) -> str:
    """Date and time in the display zone: "3 may. 2026, 02:23 (hora estándar de Perú)" /
    "May 3, 2026, 02:23 (Peru Standard Time)". ``with_zone=False`` for table cells whose column
    header names the zone (``zone_label``)."""
    moment = local(value)
    if moment is None:
        return MISSING
    clock = time(moment, lang, with_zone=False, seconds=seconds)
    text = _locale(lang).datetime_formats[DATE_FORMAT].format(clock, date(moment.date(), lang))
    return f"{text} ({zone_label(lang, moment)})" if with_zone else text


def today() -> _dt.date:
    """Today's date in the display zone (a workshop at 20:00 in Lima is not tomorrow's because UTC is)."""
    return _dt.datetime.now(timezone()).date()


def input_date_format(lang: str | None = DEFAULT_LANGUAGE) -> str:
    """The ``st.date_input`` format closest to the language's CLDR short date (Streamlit offers only
    numeric day/month/year orders): "DD/MM/YYYY" for es_PE (d/MM/yy), "MM/DD/YYYY" for en (M/d/yy)."""
    pattern = _locale(lang).date_formats["short"].pattern
    order = sorted(("DD", "MM", "YYYY"), key=lambda part: pattern.find({"DD": "d", "MM": "M", "YYYY": "y"}[part]))
    return "/".join(order)


def date_column(series, lang: str | None = DEFAULT_LANGUAGE):
    """A table's date column in the language's one format (an empty cell stays empty, not "—")."""
    return series.map(lambda v: None if is_missing(v) else date(v, lang))
