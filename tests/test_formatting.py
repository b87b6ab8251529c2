"""Numbers, dates and times as a reader in Peru (es_PE) or in English sees them, through Babel."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from assessments import formatting
from assessments.i18n import translate_plural, translator


@pytest.mark.parametrize(("value", "decimals", "shown"), [
    (3.125, 2, 3.13), (0.25, 1, 0.3), (0.75, 1, 0.8), (-0.25, 1, -0.3), (2.675, 2, 2.68), (1.005, 2, 1.01),
])
def test_display_rounding_is_half_away_from_zero(value, decimals, shown):
    assert formatting.display_round(value, decimals) == shown


def test_numbers_follow_cldr_for_peru_and_english():
    # CLDR es_PE writes the decimal point and the comma for thousands, as people in Peru do.
    assert formatting.number(1234.5, "es") == "1,234.50"
    assert formatting.number(1234.5, "en") == "1,234.50"
    assert formatting.number(3.125, "es") == "3.13"
    assert formatting.number(None, "es") == "—"
    assert formatting.locale_of("es") == "es_PE" and formatting.locale_of("en") == "en"


@pytest.mark.parametrize("lang", ["es", "en"])
def test_changes_keep_their_sign_and_round_ties_the_same_way(lang):
    assert formatting.signed(0.25, lang, 1) == "+0.3"
    assert formatting.signed(0.75, lang, 1) == "+0.8"
    assert formatting.signed(-0.25, lang, 1) == "-0.3"
    assert formatting.signed(0.55, lang, 2) == "+0.55"
    assert formatting.signed(0.001, lang, 2) == "0.00"


@pytest.mark.parametrize("lang", ["es", "en"])
def test_counts_are_integers(lang):
    assert formatting.integer(10.0, lang) == "10"
    assert formatting.integer(1918, lang) == "1,918"
    assert formatting.counts(pd.Series([10.0, None, 3.0])).tolist() == [10, pd.NA, 3]


def test_a_frame_is_rounded_as_people_read_it_not_as_pandas_rounds():
    frame = pd.DataFrame({"score": [3.125, 0.25, None], "n": [1, 2, 3]})
    assert frame["score"].round(2).tolist()[0] == 3.12  # pandas: half to even on the binary value
    shown = formatting.round_frame(frame, 2)
    assert shown["score"].tolist()[:2] == [3.13, 0.25]
    assert formatting.round_frame(frame, 1)["score"].tolist()[:2] == [3.1, 0.3]
    assert shown["n"].dtype == "int64"


def test_one_date_format_per_language():
    day = dt.date(2026, 5, 3)
    assert formatting.date(day, "es") == "3 may. 2026"
    assert formatting.date(day, "en") == "May 3, 2026"
    assert formatting.date("2026-05-03", "es") == "3 may. 2026"
    assert formatting.date(pd.Timestamp("2026-05-03 10:00"), "en") == "May 3, 2026"


def test_a_utc_time_is_shown_in_lima_with_the_zone(monkeypatch):
    monkeypatch.delenv("FOCAS_TIMEZONE", raising=False)
    validated = dt.datetime(2026, 5, 3, 7, 23, tzinfo=dt.timezone.utc)
    assert formatting.datetime(validated, "es") == "3 may. 2026, 02:23 (hora estándar de Perú)"
    assert formatting.datetime(validated, "en") == "May 3, 2026, 02:23 (Peru Standard Time)"
    assert formatting.time(validated.replace(tzinfo=None), "es") == "02:23 (hora estándar de Perú)"  # naive = UTC
    # just after midnight UTC is still the day before in Lima
    assert formatting.date(dt.datetime(2026, 5, 3, 2, 0, tzinfo=dt.timezone.utc), "es") == "2 may. 2026"


def test_the_zone_is_configurable(monkeypatch):
    monkeypatch.setenv("FOCAS_TIMEZONE", "UTC")
    validated = dt.datetime(2026, 5, 3, 7, 23, tzinfo=dt.timezone.utc)
    assert formatting.datetime(validated, "en") == "May 3, 2026, 07:23 (Coordinated Universal Time)"
    monkeypatch.setenv("FOCAS_TIMEZONE", "Not/AZone")
    assert formatting.time(validated, "es", with_zone=False) == "02:23"


@pytest.mark.parametrize(("lang", "one", "many"), [
    ("es", "Asistencia: 1 participante", "Asistencia: 12 participantes"),
    ("en", "Attendance: 1 participant", "Attendance: 12 participants"),
])
def test_plurals_come_from_the_catalog(lang, one, many):
    assert translate_plural("formatting.attendance", 1, lang) == one
    assert translate_plural("formatting.attendance", 12, lang) == many
    assert translator(lang).plural("formatting.attendance", 12.0) == many
    assert translate_plural("formatting.attendance", 0, lang).endswith("0 " + many.split()[-1])
    assert translate_plural("formatting.attendance", 1918, lang).endswith("1,918 " + many.split()[-1])
