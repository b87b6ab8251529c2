"""QSIP customer feedback: rating validation, respondent scores and summaries per dimension and group."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from babel.messages.pofile import read_po

from assessments import qsip_summary
from assessments.errors import ValidationFailed
from assessments.qsip_summary import (
    cycle_change,
    dimension_summary,
    disaggregate,
    provider_user_gap,
    respondent_dimension_scores,
    validate_rating,
)

ROOT = Path(__file__).resolve().parent.parent
KEY_PATTERN = re.compile(r"""["']((?:score|rating|selection|cluster|gcd)\.[a-z_]+)["']""")


def po_messages(lang: str) -> dict[str, str]:
    """The entries of this capability's catalog file (rules.po) for one language."""
    with (ROOT / "locale" / lang / "LC_MESSAGES" / "rules.po").open("rb") as handle:
        return {str(m.id): str(m.string) for m in read_po(handle, locale=lang) if m.id}


def ratings_frame(rows: list[tuple]) -> pd.DataFrame:
    """Item ratings from (respondent, type, sex, indigenous, dimension, item, rating, year) tuples."""
    frame = pd.DataFrame(rows, columns=list(qsip_summary.RATING_COLUMNS))
    frame["rating"] = frame["rating"].astype("float64")
    frame["cycle_year"] = frame["cycle_year"].astype("int64")
    return frame


CYCLE_2023 = [
    ("r1", "user", "female", "yes", "effectiveness", "e1", 2, 2023),
    ("r1", "user", "female", "yes", "effectiveness", "e2", 4, 2023),
    ("r1", "user", "female", "yes", "satisfaction", "s1", 5, 2023),
    ("r2", "user", "male", "no", "effectiveness", "e1", 5, 2023),
    ("r2", "user", "male", "no", "satisfaction", "s1", np.nan, 2023),  # left unanswered
    ("r3", "provider", "male", "no", "effectiveness", "e1", 4, 2023),
    ("r3", "provider", "male", "no", "effectiveness", "e2", 5, 2023),
    ("r4", "manager", "female", "undisclosed", "effectiveness", "e1", 3, 2023),
]
LATER_CYCLES = [
    ("r5", "user", "female", "yes", "effectiveness", "e1", 2, 2024),
    ("r6", "provider", "female", "no", "effectiveness", "e1", 5, 2024),
    ("r6", "provider", "female", "no", "satisfaction", "s1", 4, 2024),
    ("r7", "user", "male", "no", "effectiveness", "e1", 4, 2026),  # no survey in 2025
]


@pytest.fixture
def cycle_2023() -> pd.DataFrame:
    return ratings_frame(CYCLE_2023)


@pytest.fixture
def three_cycles() -> pd.DataFrame:
    return ratings_frame(CYCLE_2023 + LATER_CYCLES)


# --- validate_rating ------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [(1, 1), (5, 5), (3.0, 3), (" 4 ", 4), (np.int64(2), 2)])
def test_validate_rating_accepts_whole_numbers_from_1_to_5(value, expected):
    assert validate_rating(value) == expected


@pytest.mark.parametrize("value", ["", "bueno", True, None, float("nan")])
def test_validate_rating_rejects_what_is_not_a_number(value):
    with pytest.raises(ValidationFailed) as caught:
        validate_rating(value)
    assert caught.value.key == "rating.not_number"


@pytest.mark.parametrize("value", [2.5, "3,5"])
def test_validate_rating_rejects_decimals(value):
    with pytest.raises(ValidationFailed) as caught:
        validate_rating(value)
    assert caught.value.key == "rating.not_integer"


@pytest.mark.parametrize("value", [0, 6, "-1"])
def test_validate_rating_rejects_values_off_the_scale(value):
    with pytest.raises(ValidationFailed) as caught:
        validate_rating(value)
    assert caught.value.key == "rating.off_scale"
    assert caught.value.params == {"value": int(value), "min": 1, "max": 5}


# --- respondent-level scores ----------------------------------------------------------------


def test_respondent_dimension_scores_average_each_respondents_items(cycle_2023):
    expected = pd.DataFrame(
        {
            "cycle_year": [2023] * 5,
            "respondent_id": ["r1", "r1", "r2", "r3", "r4"],
            "respondent_type": ["user", "user", "user", "provider", "manager"],
            "sex": ["female", "female", "male", "male", "female"],
            "indigenous": ["yes", "yes", "no", "no", "undisclosed"],
            "dimension": ["effectiveness", "satisfaction", "effectiveness", "effectiveness", "effectiveness"],
            "score": [3.0, 5.0, 5.0, 4.5, 3.0],
            "n_items": [2, 1, 1, 2, 1],
        }
    )
    # r2 answered no satisfaction item, so has no satisfaction score at all.
    pd.testing.assert_frame_equal(respondent_dimension_scores(cycle_2023), expected)


def test_respondent_dimension_scores_of_nothing_have_the_columns():
    result = respondent_dimension_scores(ratings_frame([]))
    assert list(result.columns) == list(qsip_summary.RESPONDENT_SCORE_COLUMNS) and result.empty


def test_summaries_refuse_frames_without_the_columns():
    with pytest.raises(ValueError, match="rating"):
        dimension_summary(pd.DataFrame({"respondent_id": ["r1"]}))


# --- dimension_summary ----------------------------------------------------------------------


def test_dimension_summary_by_respondent_type(cycle_2023):
    # Users on effectiveness: respondent means 3 and 5 -> mean 4.0 (items alone would give 11/3),
    # sample std sqrt((1 + 1) / 1); item counts from the raw ratings 2, 4 and 5.
    expected = pd.DataFrame(
        {
            "dimension": ["effectiveness", "effectiveness", "effectiveness", "satisfaction"],
            "respondent_type": ["user", "provider", "manager", "user"],
            "n_respondents": [2, 1, 1, 1],
            "mean": [4.0, 4.5, 3.0, 5.0],
            "std": [2**0.5, np.nan, np.nan, np.nan],
            "n_1": [0, 0, 0, 0],
            "n_2": [1, 0, 0, 0],
            "n_3": [0, 0, 1, 0],
            "n_4": [1, 1, 0, 0],
            "n_5": [1, 1, 0, 1],
        }
    )
    pd.testing.assert_frame_equal(dimension_summary(cycle_2023), expected)


def test_dimension_summary_without_groups(cycle_2023):
    # Effectiveness respondent means 3, 5, 4.5, 3: mean 3.875; squared deviations sum to 3.1875,
    # so the sample variance is 1.0625.
    expected = pd.DataFrame(
        {
            "dimension": ["effectiveness", "satisfaction"],
            "n_respondents": [4, 1],
            "mean": [3.875, 5.0],
            "std": [1.0625**0.5, np.nan],
            "n_1": [0, 0],
            "n_2": [1, 0],
            "n_3": [1, 0],
            "n_4": [2, 0],
            "n_5": [2, 1],
        }
    )
    pd.testing.assert_frame_equal(dimension_summary(cycle_2023, by=()), expected)


def test_dimension_summary_by_cycle_and_sex(three_cycles):
    result = dimension_summary(three_cycles, by=("cycle_year", "sex"))
    effectiveness = result.loc[result["dimension"] == "effectiveness"]
    assert effectiveness[["cycle_year", "sex", "n_respondents", "mean"]].values.tolist() == [
        [2023, "female", 2, 3.0],
        [2023, "male", 2, 4.75],
        [2024, "female", 2, 3.5],
        [2026, "male", 1, 4.0],
    ]


def test_dimension_summary_refuses_unknown_groups(cycle_2023):
    with pytest.raises(ValueError, match="item_code"):
        dimension_summary(cycle_2023, by=("item_code",))


def test_dimension_summary_of_nothing_has_the_columns():
    result = dimension_summary(ratings_frame([]))
    assert list(result.columns) == [
        "dimension",
        "respondent_type",
        "n_respondents",
        "mean",
        "std",
        "n_1",
        "n_2",
        "n_3",
        "n_4",
        "n_5",
    ]
    assert result.empty


# --- provider/user gap and cycles -----------------------------------------------------------


def test_provider_user_gap_per_cycle_and_dimension(three_cycles):
    expected = pd.DataFrame(
        {
            "cycle_year": [2023, 2023, 2024, 2024, 2026],
            "dimension": ["effectiveness", "satisfaction", "effectiveness", "satisfaction", "effectiveness"],
            "mean_provider": [4.5, np.nan, 5.0, 4.0, np.nan],
            "n_provider": [1, 0, 1, 1, 0],
            "mean_user": [4.0, 5.0, 2.0, np.nan, 4.0],
            "n_user": [2, 1, 1, 0, 1],
            "gap": [0.5, np.nan, 3.0, np.nan, np.nan],
        }
    )
    pd.testing.assert_frame_equal(provider_user_gap(three_cycles), expected)


def test_provider_user_gap_ignores_managers():
    only_managers = ratings_frame([("m1", "manager", "male", "no", "coverage", "c1", 4, 2023)])
    assert provider_user_gap(only_managers).empty


def test_cycle_change_compares_with_the_previous_cycle_present(three_cycles):
    expected = pd.DataFrame(
        {
            "dimension": ["effectiveness"] * 6 + ["satisfaction"] * 2,
            "respondent_type": ["user", "user", "user", "provider", "provider", "manager", "user", "provider"],
            "cycle_year": [2023, 2024, 2026, 2023, 2024, 2023, 2023, 2024],
            "n_respondents": [2, 1, 1, 1, 1, 1, 1, 1],
            "mean": [4.0, 2.0, 4.0, 4.5, 5.0, 3.0, 5.0, 4.0],
            "previous_cycle_year": pd.array([pd.NA, 2023, 2024, pd.NA, 2023, pd.NA, pd.NA, pd.NA], dtype="Int64"),
            "change": [np.nan, -2.0, 2.0, np.nan, 0.5, np.nan, np.nan, np.nan],
        }
    )
    pd.testing.assert_frame_equal(cycle_change(three_cycles), expected)


def test_cycle_change_of_a_single_cycle_has_no_change(cycle_2023):
    result = cycle_change(cycle_2023)
    assert result["change"].isna().all() and result["previous_cycle_year"].isna().all()


# --- disaggregation -------------------------------------------------------------------------


def test_disaggregate_by_sex_lists_every_category(cycle_2023):
    expected = pd.DataFrame(
        {
            "dimension": ["effectiveness"] * 4 + ["satisfaction"] * 4,
            "sex": ["female", "male", "other", "undisclosed"] * 2,
            "n_respondents": [2, 2, 0, 0, 1, 0, 0, 0],
            "mean": [3.0, 4.75, np.nan, np.nan, 5.0, np.nan, np.nan, np.nan],
        }
    )
    pd.testing.assert_frame_equal(disaggregate(cycle_2023, "sex"), expected)


def test_disaggregate_by_indigenous_identity(cycle_2023):
    expected = pd.DataFrame(
        {
            "dimension": ["effectiveness"] * 3 + ["satisfaction"] * 3,
            "indigenous": ["yes", "no", "undisclosed"] * 2,
            "n_respondents": [1, 2, 1, 1, 0, 0],
            "mean": [3.0, 4.75, 3.0, 5.0, np.nan, np.nan],
        }
    )
    pd.testing.assert_frame_equal(disaggregate(cycle_2023, "indigenous"), expected)


def test_disaggregate_by_respondent_type(cycle_2023):
    result = disaggregate(cycle_2023, "respondent_type")
    assert result.loc[result["dimension"] == "satisfaction", ["respondent_type", "n_respondents"]].values.tolist() == [
        ["user", 1],
        ["provider", 0],
        ["manager", 0],
    ]


def test_disaggregate_keeps_unexpected_values_after_known_ones():
    ratings = ratings_frame([("r1", "user", "no_binario", "yes", "coverage", "c1", 4, 2023)])
    result = disaggregate(ratings, "sex")
    assert result["sex"].tolist() == ["female", "male", "other", "undisclosed", "no_binario"]
    assert result["n_respondents"].tolist() == [0, 0, 0, 0, 1]


def test_disaggregate_refuses_other_columns_and_handles_nothing(cycle_2023):
    with pytest.raises(ValueError, match="item_code"):
        disaggregate(cycle_2023, "item_code")
    empty = disaggregate(ratings_frame([]), "sex")
    assert list(empty.columns) == ["dimension", "sex", "n_respondents", "mean"] and empty.empty


# --- catalog --------------------------------------------------------------------------------


def test_every_key_in_qsip_summary_is_in_both_catalogs():
    keys = set(KEY_PATTERN.findall((ROOT / "assessments" / "qsip_summary.py").read_text(encoding="utf-8")))
    assert keys == {"rating.not_number", "rating.not_integer", "rating.off_scale"}
    for lang in ("es", "en"):
        assert keys <= set(po_messages(lang)), lang


@pytest.mark.parametrize("value", ["malo", "2.5", 7])
@pytest.mark.parametrize("lang", ["es", "en"])
def test_rating_errors_read_as_full_sentences(value, lang):
    with pytest.raises(ValidationFailed) as caught:
        validate_rating(value)
    text = caught.value.message(lang)
    assert "{" not in text and text != caught.value.key
    assert str(value) in text


def test_qsip_summary_never_imports_streamlit():
    assert "streamlit" not in (ROOT / "assessments" / "qsip_summary.py").read_text(encoding="utf-8")
