"""FOCAS scoring: score validation, consensus spread, area and government indexes, progress, targets."""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pandas as pd

from assessments.errors import ValidationFailed

SCALE_MIN = 1
SCALE_MAX = 4
ROUNDS = ("baseline", "midpoint", "end")
WIDE_DISAGREEMENT_IQR = 2

CONSENSUS_COLUMNS = ("government_id", "round", "area_code", "indicator_code", "score")
AREA_INDEX_COLUMNS = ("government_id", "round", "area_code", "area_score", "area_pct", "n_indicators")
GOVERNMENT_INDEX_COLUMNS = ("government_id", "round", "capacity_index", "capacity_pct", "n_areas")
INDICATOR_PROGRESS_COLUMNS = (
    "government_id",
    "area_code",
    "indicator_code",
    "score_from",
    "score_to",
    "change",
    "comparable",
)
AREA_PROGRESS_COLUMNS = (
    "government_id",
    "area_code",
    "area_score_from",
    "area_score_to",
    "change",
    "n_comparable",
    "n_not_comparable",
)
GOVERNMENT_PROGRESS_COLUMNS = (
    "government_id",
    "capacity_index_from",
    "capacity_index_to",
    "change",
    "n_areas",
    "n_areas_not_comparable",
)
TARGET_GAP_COLUMNS = ("government_id", "round", "area_code", "area_score", "target", "gap", "met")

_ROUND_ORDER = {name: position for position, name in enumerate(ROUNDS)}
_WHOLE_TEXT = re.compile(r"[+-]?[0-9]+")
# Spanish keyboards type "3,5": recognise it as a decimal so the message says "no decimals".
_DECIMAL_TEXT = re.compile(r"[+-]?([0-9]+[.,][0-9]*|[.,][0-9]+)")


# --- validation -----------------------------------------------------------------------------


def parse_whole_number(
    value: object,
    *,
    not_number_key: str,
    not_integer_key: str,
    params: dict[str, object],
) -> int:
    """Turn a typed or pasted value into an int, raising the given catalog keys otherwise."""
    # bool is an int subclass, but True is never a score someone meant to type.
    if isinstance(value, bool) or value is None:
        raise ValidationFailed(not_number_key, value=value, **params)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if _WHOLE_TEXT.fullmatch(text):
            return int(text)
        if not _DECIMAL_TEXT.fullmatch(text):
            raise ValidationFailed(not_number_key, value=value, **params)
        number = float(text.replace(",", "."))
    elif isinstance(value, (numbers.Real, Decimal)):
        number = float(value)
    else:
        raise ValidationFailed(not_number_key, value=value, **params)
    if not math.isfinite(number):
        raise ValidationFailed(not_number_key, value=value, **params)
    if not number.is_integer():
        raise ValidationFailed(not_integer_key, value=value, **params)
    return int(number)


def validate_score(value: object, *, scale_min: int = SCALE_MIN, scale_max: int = SCALE_MAX) -> int:
    """A FOCAS score as an int on the maturity scale, or ValidationFailed (None is not a score)."""
    if scale_min >= scale_max:
        raise ValueError(f"empty scale {scale_min}..{scale_max}")
    bounds = {"min": scale_min, "max": scale_max}
    score = parse_whole_number(
        value, not_number_key="score.not_number", not_integer_key="score.not_integer", params=bounds
    )
    if not scale_min <= score <= scale_max:
        raise ValidationFailed("score.off_scale", value=score, **bounds)
    return score


# --- one indicator: individual scores and consensus -----------------------------------------


def _present(scores: Iterable[float | int | None]) -> list[float]:
    """The scores that were actually given (None and NaN mean "not scored")."""
    return [float(score) for score in scores if not pd.isna(score)]


def suggest_consensus(scores: Iterable[float | int | None]) -> float | None:
    """The median of the individual scores, offered to the room as a starting point."""
    present = _present(scores)
    if not present:
        return None
    return float(np.median(present))


@dataclass(frozen=True)
class Spread:
    """How far apart the individual scores of one indicator are."""

    n: int
    min: float | None
    max: float | None
    q1: float | None
    q3: float | None
    iqr: float | None
    std: float | None
    mean: float | None


def spread(scores: Iterable[float | int | None]) -> Spread:
    """Count, range, quartiles (numpy "linear"), IQR, population std and mean of the given scores."""
    present = _present(scores)
    if not present:
        return Spread(n=0, min=None, max=None, q1=None, q3=None, iqr=None, std=None, mean=None)
    values = np.asarray(present, dtype=float)
    q1, q3 = np.percentile(values, [25, 75])
    return Spread(
        n=len(present),
        min=float(values.min()),
        max=float(values.max()),
        q1=float(q1),
        q3=float(q3),
        iqr=float(q3 - q1),
        # Population std: the people in the room are the whole group, not a sample of one.
        std=float(values.std(ddof=0)),
        mean=float(values.mean()),
    )


def is_wide_disagreement(
    scores: Iterable[float | int | None],
    threshold: float = WIDE_DISAGREEMENT_IQR,
    *,
    scale_min: int = SCALE_MIN,
    scale_max: int = SCALE_MAX,
) -> bool:
    """True when the room disagrees widely: at least two scores, and IQR >= threshold or both scale ends given.

    With n >= 2 scores (None/NaN ignored), disagreement is wide when the interquartile range
    (numpy "linear" quartiles) is at least ``threshold`` (default 2 levels), or when the scores
    span the whole scale (max - min >= scale_max - scale_min, e.g. a 1 and a 4 on the 1-4 scale),
    which a small room can produce while its IQR stays narrow.
    """
    summary = spread(scores)
    if summary.n < 2:
        return False
    assert summary.iqr is not None and summary.max is not None and summary.min is not None
    return summary.iqr >= threshold or summary.max - summary.min >= scale_max - scale_min


# --- areas and governments ------------------------------------------------------------------


def area_score(consensus_scores: Iterable[float | int | None]) -> float | None:
    """The mean of the area's indicator consensus scores that were given."""
    present = _present(consensus_scores)
    return float(np.mean(present)) if present else None


def capacity_index(area_scores: Iterable[float | int | None]) -> float | None:
    """The government's capacity index: the mean of its area scores, so each area weighs the same."""
    present = _present(area_scores)
    return float(np.mean(present)) if present else None


def pct_of_scale(
    value: float | int | None, *, scale_min: int = SCALE_MIN, scale_max: int = SCALE_MAX
) -> float | None:
    """Where a score sits on the scale, 0 (lowest level) to 100 (highest level)."""
    if pd.isna(value):
        return None
    return (float(value) - scale_min) / (scale_max - scale_min) * 100


def _require_columns(frame: pd.DataFrame, columns: Sequence[str]) -> None:
    """Fail loudly (a programming error, not a user error) when a frame misses columns."""
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ValueError(f"missing columns: {missing}")


def _sort_by_round(frame: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """Sort by ``keys`` with rounds in methodological order (baseline, midpoint, end, then others)."""
    if frame.empty:
        return frame.reset_index(drop=True)
    order = frame["round"].map(_ROUND_ORDER).fillna(len(ROUNDS))
    by = []
    for key in keys:
        if key == "round":
            by.append("_round_order")
        by.append(key)
    return (
        frame.assign(_round_order=order)
        .sort_values(by, kind="stable")
        .drop(columns="_round_order")
        .reset_index(drop=True)
    )


def _as_float(series: pd.Series) -> pd.Series:
    """Scores as float64 with NaN for "not scored" (None, pd.NA)."""
    return pd.to_numeric(series).astype("float64")


def indexes(
    consensus: pd.DataFrame, *, scale_min: int = SCALE_MIN, scale_max: int = SCALE_MAX
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Area scores and capacity indexes per government and round from consensus scores.

    ``n_indicators`` counts the indicators with a consensus score (those in the mean); an area
    with none has NaN. The capacity index is the mean of AREA scores, not of indicators, and
    ``n_areas`` counts the areas with a score.
    """
    _require_columns(consensus, CONSENSUS_COLUMNS)
    frame = consensus.loc[:, list(CONSENSUS_COLUMNS)].copy()
    frame["score"] = _as_float(frame["score"])

    areas = (
        frame.groupby(["government_id", "round", "area_code"], sort=False, dropna=False)["score"]
        .agg(area_score="mean", n_indicators="count")
        .reset_index()
    )
    areas["area_pct"] = (areas["area_score"] - scale_min) / (scale_max - scale_min) * 100
    areas["n_indicators"] = areas["n_indicators"].astype("int64")
    areas = _sort_by_round(areas.loc[:, list(AREA_INDEX_COLUMNS)], ["government_id", "round", "area_code"])

    governments = (
        areas.groupby(["government_id", "round"], sort=False, dropna=False)["area_score"]
        .agg(capacity_index="mean", n_areas="count")
        .reset_index()
    )
    governments["capacity_pct"] = (governments["capacity_index"] - scale_min) / (scale_max - scale_min) * 100
    governments["n_areas"] = governments["n_areas"].astype("int64")
    governments = _sort_by_round(
        governments.loc[:, list(GOVERNMENT_INDEX_COLUMNS)], ["government_id", "round"]
    )
    return areas, governments


# --- progress between rounds ----------------------------------------------------------------


@dataclass(frozen=True)
class Comparability:
    """Which indicators of a later round can be compared with the baseline instrument."""

    comparable: list[str]
    added: list[str]
    dropped: list[str]


def comparable_indicators(baseline_codes: Iterable[str], later_codes: Iterable[str]) -> Comparability:
    """Split indicator codes into comparable (in both), added (later only) and dropped (baseline only)."""
    baseline = set(baseline_codes)
    later = set(later_codes)
    return Comparability(
        comparable=sorted(baseline & later),
        added=sorted(later - baseline),
        dropped=sorted(baseline - later),
    )


@dataclass(frozen=True)
class Progress:
    """Change between two rounds per indicator, per area and per government."""

    indicators: pd.DataFrame
    areas: pd.DataFrame
    governments: pd.DataFrame


def progress(consensus: pd.DataFrame, *, from_round: str = "baseline", to_round: str = "midpoint") -> Progress:
    """Change from ``from_round`` to ``to_round``, comparing only like with like.

    An indicator is comparable in a government when it has a consensus score in both rounds; one
    present (or scored) in only one round is listed with comparable=False and change NaN. Area
    scores on both sides are means over the comparable indicators only (so they can differ from
    ``indexes``' area scores when the instrument changed), and the capacity index change is the
    mean over areas having at least one comparable indicator.
    """
    _require_columns(consensus, CONSENSUS_COLUMNS)
    if from_round == to_round:
        raise ValueError("from_round and to_round must differ")
    frame = consensus.loc[consensus["round"].isin([from_round, to_round]), list(CONSENSUS_COLUMNS)].copy()
    frame["score"] = _as_float(frame["score"])
    if frame.duplicated(["government_id", "round", "indicator_code"]).any():
        raise ValueError("several consensus scores for one indicator in one round")

    def side(round_name: str, suffix: str) -> pd.DataFrame:
        """One round's scores, with area and score columns suffixed for the merge."""
        part = frame.loc[frame["round"] == round_name, ["government_id", "indicator_code", "area_code", "score"]]
        return part.rename(columns={"area_code": f"area_{suffix}", "score": f"score_{suffix}"})

    indicators = side(from_round, "from").merge(
        side(to_round, "to"), on=["government_id", "indicator_code"], how="outer"
    )
    # An indicator moved between areas by a new instrument version stays in its baseline area.
    indicators["area_code"] = indicators["area_from"].combine_first(indicators["area_to"])
    indicators["comparable"] = (indicators["score_from"].notna() & indicators["score_to"].notna()).astype(bool)
    indicators["change"] = (indicators["score_to"] - indicators["score_from"]).where(indicators["comparable"])
    indicators = (
        indicators.loc[:, list(INDICATOR_PROGRESS_COLUMNS)]
        .sort_values(["government_id", "area_code", "indicator_code"], kind="stable")
        .reset_index(drop=True)
    )

    area_keys = ["government_id", "area_code"]
    counts = indicators.assign(not_comparable=~indicators["comparable"]).groupby(area_keys, dropna=False).agg(
        n_comparable=("comparable", "sum"), n_not_comparable=("not_comparable", "sum")
    )
    means = (
        indicators.loc[indicators["comparable"]]
        .groupby(area_keys, dropna=False)
        .agg(area_score_from=("score_from", "mean"), area_score_to=("score_to", "mean"))
    )
    areas = counts.join(means, how="left").reset_index()
    areas["area_score_from"] = areas["area_score_from"].astype("float64")
    areas["area_score_to"] = areas["area_score_to"].astype("float64")
    areas["change"] = areas["area_score_to"] - areas["area_score_from"]
    areas[["n_comparable", "n_not_comparable"]] = areas[["n_comparable", "n_not_comparable"]].astype("int64")
    areas = areas.loc[:, list(AREA_PROGRESS_COLUMNS)].sort_values(area_keys, kind="stable").reset_index(drop=True)

    governments = (
        areas.assign(has_comparable=areas["n_comparable"] > 0, lacks_comparable=areas["n_comparable"] == 0)
        .groupby("government_id", dropna=False)
        .agg(n_areas=("has_comparable", "sum"), n_areas_not_comparable=("lacks_comparable", "sum"))
    )
    government_means = (
        areas.loc[areas["n_comparable"] > 0]
        .groupby("government_id", dropna=False)
        .agg(capacity_index_from=("area_score_from", "mean"), capacity_index_to=("area_score_to", "mean"))
    )
    governments = governments.join(government_means, how="left").reset_index()
    governments["capacity_index_from"] = governments["capacity_index_from"].astype("float64")
    governments["capacity_index_to"] = governments["capacity_index_to"].astype("float64")
    governments["change"] = governments["capacity_index_to"] - governments["capacity_index_from"]
    counted = ["n_areas", "n_areas_not_comparable"]
    governments[counted] = governments[counted].astype("int64")
    governments = (
        governments.loc[:, list(GOVERNMENT_PROGRESS_COLUMNS)]
        .sort_values("government_id", kind="stable")
        .reset_index(drop=True)
    )
    return Progress(indicators=indicators, areas=areas, governments=governments)


# --- targets and the capacity-building plan -------------------------------------------------


def target_gap(area_scores: pd.DataFrame, targets: pd.DataFrame) -> pd.DataFrame:
    """Area scores next to their performance targets: gap = score - target, met = score >= target.

    Outer join, so an area with a target but no score (or a score but no target) still shows;
    there ``gap`` is NaN and ``met`` is <NA> (nullable boolean).
    """
    keys = ["government_id", "round", "area_code"]
    _require_columns(area_scores, [*keys, "area_score"])
    _require_columns(targets, [*keys, "target"])
    joined = area_scores.loc[:, [*keys, "area_score"]].merge(targets.loc[:, [*keys, "target"]], on=keys, how="outer")
    joined["area_score"] = _as_float(joined["area_score"])
    joined["target"] = _as_float(joined["target"])
    joined["gap"] = joined["area_score"] - joined["target"]
    joined["met"] = (joined["gap"] >= 0).astype("boolean").mask(joined["gap"].isna())
    return _sort_by_round(joined.loc[:, list(TARGET_GAP_COLUMNS)], keys)


def rank_areas_for_plan(area_scores: pd.DataFrame) -> list[str]:
    """Area codes of one government's round, weakest first (ties by code), unscored areas last."""
    _require_columns(area_scores, ["area_code", "area_score"])
    if area_scores["area_code"].duplicated().any():
        raise ValueError("rank_areas_for_plan expects one row per area (one government, one round)")
    frame = pd.DataFrame(
        {
            "area_code": area_scores["area_code"].astype(str).to_numpy(),
            "area_score": _as_float(area_scores["area_score"]).to_numpy(),
        }
    )
    frame["unscored"] = frame["area_score"].isna()
    ordered = frame.sort_values(["unscored", "area_score", "area_code"], kind="stable", na_position="last")
    return ordered["area_code"].tolist()


# --- a participant's row typed in one go (the workshop's read-aloud entry) -------------------

# What a facilitator types for "no sabe" / left blank on the paper sheet.
BLANK_MARKS = frozenset({"-", "."})
_ROW_SEPARATORS = re.compile(r"[\s,;/|]+")


def _row_tokens(text: str, *, scale_max: int) -> list[str]:
    """Split a typed row: by separators when there are any, else one symbol per score on one-digit scales."""
    text = text.strip()
    if _ROW_SEPARATORS.search(text):
        return [token for token in _ROW_SEPARATORS.split(text) if token]
    if scale_max <= 9:
        return list(text)
    return [text]


def parse_score_row(
    text: str,
    *,
    codes: Sequence[str],
    scale_min: int = SCALE_MIN,
    scale_max: int = SCALE_MAX,
    line: int = 1,
    participant: str = "—",
) -> list[int | None]:
    """One participant's scores for an area's indicators, in order, from a typed row (None = blank).

    ``"3 2 4 1"``, ``"3,2,4,1"`` or (one-digit scales) ``"3241"``; ``-`` or ``.`` leaves an indicator
    blank ("no sabe"). The whole row is checked before anything is returned: a wrong count, or a value
    that is not a whole number on the scale, raises ValidationFailed naming the line, participant,
    position and indicator, and the allowed range.
    """
    if scale_min >= scale_max:
        raise ValueError(f"empty scale {scale_min}..{scale_max}")
    params = {"line": line, "participant": participant, "min": scale_min, "max": scale_max, "expected": len(codes)}
    tokens = _row_tokens(text or "", scale_max=scale_max)
    if not tokens:
        raise ValidationFailed("focas.row.empty", **params)
    if len(tokens) != len(codes):
        raise ValidationFailed("focas.row.count", got=len(tokens), first=codes[0] if codes else "—",
                               last=codes[-1] if codes else "—", **params)
    scores: list[int | None] = []
    for position, (token, code) in enumerate(zip(tokens, codes), start=1):
        if token in BLANK_MARKS:
            scores.append(None)
            continue
        where = {**params, "position": position, "indicator": code}
        score = parse_whole_number(token, not_number_key="focas.row.not_number",
                                   not_integer_key="focas.row.not_integer", params=where)
        if not scale_min <= score <= scale_max:
            raise ValidationFailed("focas.row.off_scale", value=token, **where)
        scores.append(score)
    return scores


def format_score_row(scores: Iterable[int | None]) -> str:
    """A row as the facilitator would type it back: ``3 2 - 1``."""
    return " ".join("-" if score is None or pd.isna(score) else str(int(score)) for score in scores)
