"""FOCAS scoring: validation, spread, indexes, progress between rounds, targets and plan order."""

from __future__ import annotations

import math
import re
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from babel.messages.pofile import read_po

from assessments import scoring
from assessments.errors import ValidationFailed
from assessments.scoring import (
    Comparability,
    Spread,
    area_score,
    capacity_index,
    comparable_indicators,
    indexes,
    is_wide_disagreement,
    pct_of_scale,
    progress,
    rank_areas_for_plan,
    spread,
    suggest_consensus,
    target_gap,
    validate_score,
)

ROOT = Path(__file__).resolve().parent.parent
KEY_PATTERN = re.compile(r"""["']((?:score|rating|selection|cluster|gcd)\.[a-z_]+)["']""")


def po_messages(lang: str) -> dict[str, str]:
    """The entries of this capability's catalog file (rules.po) for one language."""
    with (ROOT / "locale" / lang / "LC_MESSAGES" / "rules.po").open("rb") as handle:
        return {str(m.id): str(m.string) for m in read_po(handle, locale=lang) if m.id}


def consensus_frame(rows: list[tuple]) -> pd.DataFrame:
    """A consensus table from (government_id, round, area_code, indicator_code, score) tuples."""
    frame = pd.DataFrame(rows, columns=["government_id", "round", "area_code", "indicator_code", "score"])
    frame["score"] = frame["score"].astype("float64")
    return frame


# --- validate_score -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1, 1),
        (4, 4),
        (3.0, 3),
        (" 2 ", 2),
        ("3\n", 3),
        ("3.0", 3),
        ("3,0", 3),
        (np.int64(2), 2),
        (np.float64(4.0), 4),
        (Decimal("2"), 2),
    ],
)
def test_validate_score_accepts_whole_numbers_on_the_scale(value, expected):
    result = validate_score(value)
    assert result == expected
    assert type(result) is int


@pytest.mark.parametrize(
    "value",
    ["", "   ", "abc", "3a", "1e1", "nan", "inf", "²", "1_0", True, False, None, float("nan"), math.inf, [3], pd.NA],
)
def test_validate_score_rejects_what_is_not_a_number(value):
    with pytest.raises(ValidationFailed) as caught:
        validate_score(value)
    assert caught.value.key == "score.not_number"
    assert caught.value.params["min"] == 1 and caught.value.params["max"] == 4


@pytest.mark.parametrize("value", [3.5, "3.5", "2,5", " 1.25 ", np.float64(2.1)])
def test_validate_score_rejects_decimals(value):
    with pytest.raises(ValidationFailed) as caught:
        validate_score(value)
    assert caught.value.key == "score.not_integer"
    assert caught.value.params["value"] == value


@pytest.mark.parametrize("value", [0, 5, -1, "5", 0.0, "-2"])
def test_validate_score_rejects_values_off_the_scale(value):
    with pytest.raises(ValidationFailed, match="score.off_scale") as caught:
        validate_score(value)
    assert caught.value.params == {"value": int(float(value)), "min": 1, "max": 4}


def test_validate_score_follows_a_custom_scale():
    assert validate_score(5, scale_min=0, scale_max=5) == 5
    assert validate_score(0, scale_min=0, scale_max=5) == 0
    with pytest.raises(ValidationFailed) as caught:
        validate_score(6, scale_min=0, scale_max=5)
    assert caught.value.params == {"value": 6, "min": 0, "max": 5}


def test_validate_score_refuses_an_empty_scale():
    with pytest.raises(ValueError):
        validate_score(2, scale_min=3, scale_max=3)


# --- consensus and spread of individual scores ----------------------------------------------


@pytest.mark.parametrize(
    ("scores", "expected"),
    [
        ([1, 2, 4], 2.0),
        ([1, 2, 3, 4], 2.5),
        ([3], 3.0),
        ([None, 3, float("nan"), 1], 2.0),
        ([], None),
        ([None, float("nan")], None),
    ],
)
def test_suggest_consensus_is_the_median_of_given_scores(scores, expected):
    assert suggest_consensus(scores) == expected


def test_spread_of_four_scores_uses_linear_quartiles_and_population_std():
    # Linear quartiles of 1,2,3,4: q1 at position 0.75 -> 1.75, q3 at 2.25 -> 3.25.
    # Population variance: (2.25 + 0.25 + 0.25 + 2.25) / 4 = 1.25.
    result = spread([4, 1, 3, 2])
    assert result == Spread(n=4, min=1.0, max=4.0, q1=1.75, q3=3.25, iqr=1.5, std=pytest.approx(1.25**0.5), mean=2.5)


def test_spread_of_five_scores_ignores_missing_ones():
    # 2,2,3,4,4: q1 at position 1 -> 2, q3 at position 3 -> 4; variance (1+1+0+1+1)/5 = 0.8.
    result = spread([2, None, 4, 3, float("nan"), 2, 4])
    assert result.n == 5
    assert (result.q1, result.q3, result.iqr, result.mean) == (2.0, 4.0, 2.0, 3.0)
    assert result.std == pytest.approx(0.8**0.5)


def test_spread_of_a_single_participant_has_no_dispersion():
    assert spread([3]) == Spread(n=1, min=3.0, max=3.0, q1=3.0, q3=3.0, iqr=0.0, std=0.0, mean=3.0)


@pytest.mark.parametrize("scores", [[], [None], [float("nan"), None]])
def test_spread_of_no_scores_is_all_none(scores):
    assert spread(scores) == Spread(n=0, min=None, max=None, q1=None, q3=None, iqr=None, std=None, mean=None)


@pytest.mark.parametrize(
    ("scores", "expected"),
    [
        ([1, 1, 3, 3], True),  # IQR exactly 2 (q1 = 1, q3 = 3)
        ([2, 2, 3, 4, 4], True),  # IQR 2
        ([1, 4], True),  # IQR 1.5, but both ends of the 1-4 scale
        ([1, 1, 1, 4], True),  # IQR 0.75, both ends
        ([1, None, 4], True),
        ([1, 2, 3, 4], True),  # IQR 1.5, range 3
        ([2, 3, 3, 3], False),  # IQR 0.25, range 1
        ([1, 3], False),  # IQR 1, range 2
        ([2, 2, 2, 2], False),
        ([4], False),  # one participant never disagrees
        ([], False),
    ],
)
def test_is_wide_disagreement(scores, expected):
    assert is_wide_disagreement(scores) is expected


def test_is_wide_disagreement_takes_threshold_and_scale():
    assert is_wide_disagreement([1, 3], threshold=1) is True  # IQR 1
    # On a 1-5 scale, 1 and 4 (IQR 1.5, range 3) are not the two ends.
    assert is_wide_disagreement([1, 4], scale_min=1, scale_max=5) is False
    assert is_wide_disagreement([1, 5], scale_min=1, scale_max=5) is True


# --- area and government scores -------------------------------------------------------------


@pytest.mark.parametrize(
    ("scores", "expected"),
    [([2, 3, None, 4], 3.0), ([1, 2], 1.5), ([4], 4.0), ([float("nan")], None), ([], None)],
)
def test_area_score_is_the_mean_of_given_consensus_scores(scores, expected):
    assert area_score(scores) == expected


@pytest.mark.parametrize(("scores", "expected"), [([1.5, 4.0], 2.75), ([None, 2.0], 2.0), ([], None)])
def test_capacity_index_is_the_mean_of_area_scores(scores, expected):
    assert capacity_index(scores) == expected


@pytest.mark.parametrize(
    ("value", "kwargs", "expected"),
    [
        (1, {}, 0.0),
        (4, {}, 100.0),
        (2.5, {}, 50.0),
        (2, {}, 100 / 3),
        (4, {"scale_min": 1, "scale_max": 5}, 75.0),
        (None, {}, None),
        (float("nan"), {}, None),
    ],
)
def test_pct_of_scale(value, kwargs, expected):
    result = pct_of_scale(value, **kwargs)
    assert result == (pytest.approx(expected) if expected is not None else None)


def test_indexes_average_indicators_into_areas_and_areas_into_the_government():
    consensus = consensus_frame(
        [
            (10, "end", "A", "a1", 4),
            (10, "midpoint", "B", "b1", 4),
            (10, "midpoint", "A", "a1", 3),
            (10, "baseline", "A", "a1", 1),
            (10, "baseline", "A", "a2", 2),
            (10, "baseline", "A", "a3", np.nan),
            (10, "baseline", "B", "b1", 4),
            (10, "baseline", "C", "c1", np.nan),
            (20, "baseline", "A", "a1", 2),
        ]
    )
    areas, governments = indexes(consensus)

    expected_areas = pd.DataFrame(
        {
            "government_id": [10, 10, 10, 10, 10, 10, 20],
            "round": ["baseline", "baseline", "baseline", "midpoint", "midpoint", "end", "baseline"],
            "area_code": ["A", "B", "C", "A", "B", "A", "A"],
            "area_score": [1.5, 4.0, np.nan, 3.0, 4.0, 4.0, 2.0],
            "area_pct": [50 / 3, 100.0, np.nan, 200 / 3, 100.0, 100.0, 100 / 3],
            "n_indicators": [2, 1, 0, 1, 1, 1, 1],
        }
    )
    # Capacity index: mean of the AREA scores (1.5 and 4 -> 2.75), not of the indicators (7/3).
    expected_governments = pd.DataFrame(
        {
            "government_id": [10, 10, 10, 20],
            "round": ["baseline", "midpoint", "end", "baseline"],
            "capacity_index": [2.75, 3.5, 4.0, 2.0],
            "capacity_pct": [175 / 3, 250 / 3, 100.0, 100 / 3],
            "n_areas": [2, 2, 1, 1],
        }
    )
    pd.testing.assert_frame_equal(areas, expected_areas)
    pd.testing.assert_frame_equal(governments, expected_governments)


def test_indexes_of_a_government_with_no_scores_are_missing_not_zero():
    areas, governments = indexes(consensus_frame([(7, "baseline", "A", "a1", np.nan)]))
    assert areas["area_score"].isna().all() and areas["n_indicators"].tolist() == [0]
    assert governments["capacity_index"].isna().all() and governments["n_areas"].tolist() == [0]


def test_indexes_follow_a_custom_scale():
    areas, governments = indexes(consensus_frame([(1, "baseline", "A", "a1", 4)]), scale_min=0, scale_max=5)
    assert areas["area_pct"].tolist() == [80.0]
    assert governments["capacity_pct"].tolist() == [80.0]


def test_indexes_of_an_empty_frame_have_the_columns():
    areas, governments = indexes(consensus_frame([]))
    assert list(areas.columns) == list(scoring.AREA_INDEX_COLUMNS) and areas.empty
    assert list(governments.columns) == list(scoring.GOVERNMENT_INDEX_COLUMNS) and governments.empty


def test_indexes_refuse_a_frame_without_scores():
    with pytest.raises(ValueError, match="score"):
        indexes(consensus_frame([(1, "baseline", "A", "a1", 2)]).drop(columns="score"))


# --- comparability and progress -------------------------------------------------------------


def test_comparable_indicators_splits_codes():
    result = comparable_indicators(["a2", "a1", "a3"], ["a3", "a4", "a1"])
    assert result == Comparability(comparable=["a1", "a3"], added=["a4"], dropped=["a2"])


def test_comparable_indicators_of_nothing():
    assert comparable_indicators([], ["b"]) == Comparability(comparable=[], added=["b"], dropped=[])


@pytest.fixture
def two_rounds() -> pd.DataFrame:
    """Government 10 changed instrument between rounds; 20 has a baseline only; 30 an end only."""
    return consensus_frame(
        [
            (10, "baseline", "A", "a1", 1),
            (10, "baseline", "A", "a2", 2),
            (10, "baseline", "A", "a3", 3),
            (10, "baseline", "B", "b1", 2),
            (10, "baseline", "C", "c1", 1),
            (10, "midpoint", "A", "a1", 2),
            (10, "midpoint", "A", "a2", np.nan),  # scored at baseline, left blank at midpoint
            (10, "midpoint", "A", "a4", 4),  # added by the new instrument version
            (10, "midpoint", "B", "b1", 4),
            (10, "midpoint", "D", "d1", 3),  # new area
            (20, "baseline", "A", "a1", 2),
            (30, "end", "A", "a1", 3),
        ]
    )


def test_progress_per_indicator_never_compares_across_instruments(two_rounds):
    result = progress(two_rounds)
    expected = pd.DataFrame(
        {
            "government_id": [10, 10, 10, 10, 10, 10, 10, 20],
            "area_code": ["A", "A", "A", "A", "B", "C", "D", "A"],
            "indicator_code": ["a1", "a2", "a3", "a4", "b1", "c1", "d1", "a1"],
            "score_from": [1.0, 2.0, 3.0, np.nan, 2.0, 1.0, np.nan, 2.0],
            "score_to": [2.0, np.nan, np.nan, 4.0, 4.0, np.nan, 3.0, np.nan],
            "change": [1.0, np.nan, np.nan, np.nan, 2.0, np.nan, np.nan, np.nan],
            "comparable": [True, False, False, False, True, False, False, False],
        }
    )
    pd.testing.assert_frame_equal(result.indicators, expected)


def test_progress_per_area_uses_only_comparable_indicators(two_rounds):
    result = progress(two_rounds)
    # Area A: only a1 is comparable, so 1 -> 2 (not the naive 2 -> 3 over all indicators).
    expected = pd.DataFrame(
        {
            "government_id": [10, 10, 10, 10, 20],
            "area_code": ["A", "B", "C", "D", "A"],
            "area_score_from": [1.0, 2.0, np.nan, np.nan, np.nan],
            "area_score_to": [2.0, 4.0, np.nan, np.nan, np.nan],
            "change": [1.0, 2.0, np.nan, np.nan, np.nan],
            "n_comparable": [1, 1, 0, 0, 0],
            "n_not_comparable": [3, 0, 1, 1, 1],
        }
    )
    pd.testing.assert_frame_equal(result.areas, expected)


def test_progress_per_government_averages_areas_with_comparable_indicators(two_rounds):
    result = progress(two_rounds)
    # Government 10: areas A (1 -> 2) and B (2 -> 4): 1.5 -> 3.0. Government 30 has no baseline.
    expected = pd.DataFrame(
        {
            "government_id": [10, 20],
            "capacity_index_from": [1.5, np.nan],
            "capacity_index_to": [3.0, np.nan],
            "change": [1.5, np.nan],
            "n_areas": [2, 0],
            "n_areas_not_comparable": [2, 1],
        }
    )
    pd.testing.assert_frame_equal(result.governments, expected)


def test_progress_between_other_rounds(two_rounds):
    extra = consensus_frame([(30, "baseline", "A", "a1", 1)])
    result = progress(pd.concat([two_rounds, extra], ignore_index=True), from_round="baseline", to_round="end")
    row = result.governments.set_index("government_id").loc[30]
    assert (row["capacity_index_from"], row["capacity_index_to"], row["change"]) == (1.0, 3.0, 2.0)


def test_progress_of_an_empty_frame_has_the_columns():
    result = progress(consensus_frame([]))
    assert list(result.indicators.columns) == list(scoring.INDICATOR_PROGRESS_COLUMNS) and result.indicators.empty
    assert list(result.areas.columns) == list(scoring.AREA_PROGRESS_COLUMNS) and result.areas.empty
    assert list(result.governments.columns) == list(scoring.GOVERNMENT_PROGRESS_COLUMNS) and result.governments.empty


def test_progress_refuses_duplicate_consensus_and_a_single_round(two_rounds):
    duplicated = pd.concat([two_rounds, two_rounds.iloc[[0]]], ignore_index=True)
    with pytest.raises(ValueError, match="several"):
        progress(duplicated)
    with pytest.raises(ValueError, match="differ"):
        progress(two_rounds, from_round="baseline", to_round="baseline")


# --- targets and plan order -----------------------------------------------------------------


def test_target_gap_joins_scores_and_targets():
    area_scores = pd.DataFrame(
        {
            "government_id": [1, 1, 1, 1, 1],
            "round": ["midpoint"] * 5,
            "area_code": ["A", "B", "C", "E", "F"],
            "area_score": [2.0, 3.5, np.nan, 1.0, 2.0],
        }
    )
    targets = pd.DataFrame(
        {
            "government_id": [1, 1, 1, 1, 1],
            "round": ["midpoint"] * 5,
            "area_code": ["A", "B", "C", "D", "E"],
            "target": [2.0, 3.0, 2.0, 3.0, 2.5],
        }
    )
    expected = pd.DataFrame(
        {
            "government_id": [1, 1, 1, 1, 1, 1],
            "round": ["midpoint"] * 6,
            "area_code": ["A", "B", "C", "D", "E", "F"],
            "area_score": [2.0, 3.5, np.nan, np.nan, 1.0, 2.0],
            "target": [2.0, 3.0, 2.0, 3.0, 2.5, np.nan],
            "gap": [0.0, 0.5, np.nan, np.nan, -1.5, np.nan],
            "met": pd.array([True, True, pd.NA, pd.NA, False, pd.NA], dtype="boolean"),
        }
    )
    pd.testing.assert_frame_equal(target_gap(area_scores, targets), expected)


def test_target_gap_accepts_extra_columns_from_indexes():
    areas, _ = indexes(consensus_frame([(1, "baseline", "A", "a1", 3)]))
    targets = pd.DataFrame({"government_id": [1], "round": ["baseline"], "area_code": ["A"], "target": [3]})
    result = target_gap(areas, targets)
    assert result[["gap", "met"]].iloc[0].tolist() == [0.0, True]


def test_rank_areas_for_plan_puts_weakest_first_and_unscored_last():
    area_scores = pd.DataFrame(
        {"area_code": ["A", "C", "B", "E", "D", "F"], "area_score": [3.0, np.nan, 1.5, 2.0, 1.5, None]}
    )
    assert rank_areas_for_plan(area_scores) == ["B", "D", "E", "A", "C", "F"]


def test_rank_areas_for_plan_of_nothing_and_of_duplicates():
    assert rank_areas_for_plan(pd.DataFrame({"area_code": [], "area_score": []})) == []
    with pytest.raises(ValueError):
        rank_areas_for_plan(pd.DataFrame({"area_code": ["A", "A"], "area_score": [1.0, 2.0]}))


# --- catalog --------------------------------------------------------------------------------


def test_every_key_in_scoring_is_in_both_catalogs():
    keys = set(KEY_PATTERN.findall((ROOT / "assessments" / "scoring.py").read_text(encoding="utf-8")))
    assert keys == {"score.not_number", "score.not_integer", "score.off_scale"}
    for lang in ("es", "en"):
        assert keys <= set(po_messages(lang)), lang


@pytest.mark.parametrize("value", ["x", "2.5", 9])
@pytest.mark.parametrize("lang", ["es", "en"])
def test_score_errors_read_as_full_sentences(value, lang):
    with pytest.raises(ValidationFailed) as caught:
        validate_score(value)
    text = caught.value.message(lang)
    assert "{" not in text and text != caught.value.key
    assert str(value) in text


def test_scoring_never_imports_streamlit():
    assert "streamlit" not in (ROOT / "assessments" / "scoring.py").read_text(encoding="utf-8")
