"""QSIP customer feedback: rating validation and summaries per dimension, group and cycle."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from assessments.errors import ValidationFailed
from assessments.scoring import parse_whole_number

DIMENSIONS = ("effectiveness", "efficiency", "coverage", "satisfaction")
RESPONDENT_TYPES = ("user", "provider", "manager")
SEXES = ("female", "male", "other", "undisclosed")
INDIGENOUS_VALUES = ("yes", "no", "undisclosed")
RATING_MIN = 1
RATING_MAX = 5
RATINGS = tuple(range(RATING_MIN, RATING_MAX + 1))
DISAGGREGATIONS = {"sex": SEXES, "indigenous": INDIGENOUS_VALUES, "respondent_type": RESPONDENT_TYPES}

RATING_COLUMNS = (
    "respondent_id",
    "respondent_type",
    "sex",
    "indigenous",
    "dimension",
    "item_code",
    "rating",
    "cycle_year",
)
RESPONDENT_SCORE_COLUMNS = (
    "cycle_year",
    "respondent_id",
    "respondent_type",
    "sex",
    "indigenous",
    "dimension",
    "score",
    "n_items",
)
RATING_COUNT_COLUMNS = tuple(f"n_{rating}" for rating in RATINGS)
PROVIDER_USER_GAP_COLUMNS = ("cycle_year", "dimension", "mean_provider", "n_provider", "mean_user", "n_user", "gap")
CYCLE_CHANGE_COLUMNS = (
    "dimension",
    "respondent_type",
    "cycle_year",
    "n_respondents",
    "mean",
    "previous_cycle_year",
    "change",
)

_RESPONDENT_ATTRIBUTES = ("respondent_type", "sex", "indigenous")


def validate_rating(value: object) -> int:
    """A QSIP rating as an int from 1 to 5, or ValidationFailed."""
    bounds = {"min": RATING_MIN, "max": RATING_MAX}
    rating = parse_whole_number(
        value, not_number_key="rating.not_number", not_integer_key="rating.not_integer", params=bounds
    )
    if not RATING_MIN <= rating <= RATING_MAX:
        raise ValidationFailed("rating.off_scale", value=rating, **bounds)
    return rating


def _rated(ratings: pd.DataFrame) -> pd.DataFrame:
    """The given item ratings (unanswered items dropped), with ``rating`` as float."""
    missing = [column for column in RATING_COLUMNS if column not in ratings.columns]
    if missing:
        raise ValueError(f"missing columns: {missing}")
    frame = ratings.loc[:, list(RATING_COLUMNS)].copy()
    frame["rating"] = pd.to_numeric(frame["rating"]).astype("float64")
    return frame.loc[frame["rating"].notna()].reset_index(drop=True)


def _order(frame: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """Sort with dimensions and known categories in their canonical order, unknown values after."""
    if frame.empty:
        return frame.reset_index(drop=True)
    canonical = {"dimension": DIMENSIONS, **DISAGGREGATIONS}
    helpers = {}
    by = []
    for key in keys:
        if key in canonical:
            position = {value: index for index, value in enumerate(canonical[key])}
            helpers[f"_order_{key}"] = frame[key].map(position).fillna(len(position))
            by.append(f"_order_{key}")
        by.append(key)
    return (
        frame.assign(**helpers)
        .sort_values(by, kind="stable", na_position="last")
        .drop(columns=list(helpers))
        .reset_index(drop=True)
    )


def respondent_dimension_scores(ratings: pd.DataFrame) -> pd.DataFrame:
    """One row per cycle × respondent × dimension: the mean of that respondent's item ratings.

    Averaging per respondent first means someone who answered more items does not weigh more.
    Respondent attributes are taken from the respondent's first row; ``n_items`` counts the
    items rated. Columns: cycle_year, respondent_id, respondent_type, sex, indigenous,
    dimension, score, n_items.
    """
    frame = _rated(ratings)
    keys = ["cycle_year", "respondent_id", "dimension"]
    scores = (
        frame.groupby(keys, sort=False, dropna=False)
        .agg(
            respondent_type=("respondent_type", "first"),
            sex=("sex", "first"),
            indigenous=("indigenous", "first"),
            score=("rating", "mean"),
            n_items=("rating", "count"),
        )
        .reset_index()
    )
    scores["n_items"] = scores["n_items"].astype("int64")
    return _order(scores.loc[:, list(RESPONDENT_SCORE_COLUMNS)], keys)


def _check_groups(by: Sequence[str]) -> list[str]:
    """The grouping columns, refusing any that is not a respondent attribute or the cycle."""
    allowed = {*_RESPONDENT_ATTRIBUTES, "cycle_year"}
    unknown = [column for column in by if column not in allowed]
    if unknown:
        raise ValueError(f"cannot group by {unknown}; allowed: {sorted(allowed)}")
    return list(by)


def dimension_summary(ratings: pd.DataFrame, *, by: Sequence[str] = ("respondent_type",)) -> pd.DataFrame:
    """Per dimension × group: respondents, mean and sample std of respondent scores, and rating counts.

    ``n_respondents``, ``mean`` and ``std`` use the respondent-dimension scores (one per
    respondent, see ``respondent_dimension_scores``); ``std`` is the sample std (ddof=1, NaN for a
    single respondent) because respondents are a sample of the service's users and staff.
    ``n_1``..``n_5`` count raw ITEM ratings, so they add up to the items answered, not to the
    respondents. Cycles are pooled unless ``by`` includes "cycle_year": filter to one cycle first.
    Columns: dimension, *by, n_respondents, mean, std, n_1..n_5.
    """
    groups = _check_groups(by)
    keys = ["dimension", *groups]
    frame = _rated(ratings)
    scores = respondent_dimension_scores(frame)
    summary = (
        scores.groupby(keys, sort=False, dropna=False)["score"]
        .agg(n_respondents="count", mean="mean", std=lambda s: s.std(ddof=1))
        .reset_index()
    )
    counts = (
        frame.assign(**{f"n_{r}": (frame["rating"] == r).astype("int64") for r in RATINGS})
        .groupby(keys, sort=False, dropna=False)[list(RATING_COUNT_COLUMNS)]
        .sum()
        .reset_index()
    )
    summary = summary.merge(counts, on=keys, how="left")
    summary["n_respondents"] = summary["n_respondents"].astype("int64")
    summary["mean"] = summary["mean"].astype("float64")
    summary["std"] = summary["std"].astype("float64")
    summary[list(RATING_COUNT_COLUMNS)] = summary[list(RATING_COUNT_COLUMNS)].astype("int64")
    columns = [*keys, "n_respondents", "mean", "std", *RATING_COUNT_COLUMNS]
    return _order(summary.loc[:, columns], keys)


def _group_means(scores: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Mean respondent score and respondent count per group."""
    means = (
        scores.groupby(keys, sort=False, dropna=False)["score"]
        .agg(n_respondents="count", mean="mean")
        .reset_index()
    )
    means["n_respondents"] = means["n_respondents"].astype("int64")
    means["mean"] = means["mean"].astype("float64")
    return means


def provider_user_gap(ratings: pd.DataFrame) -> pd.DataFrame:
    """Per cycle × dimension: how much better providers rate the service than its users.

    gap = mean_provider - mean_user (respondent-level means; NaN when either side has no
    respondent). Managers are left out. Columns: cycle_year, dimension, mean_provider,
    n_provider, mean_user, n_user, gap.
    """
    scores = respondent_dimension_scores(ratings)
    keys = ["cycle_year", "dimension"]
    means = _group_means(scores, [*keys, "respondent_type"])
    sides = []
    for respondent_type in ("provider", "user"):
        side = means.loc[means["respondent_type"] == respondent_type, [*keys, "n_respondents", "mean"]]
        sides.append(side.rename(columns={"n_respondents": f"n_{respondent_type}", "mean": f"mean_{respondent_type}"}))
    gap = sides[0].merge(sides[1], on=keys, how="outer")
    for column in ("n_provider", "n_user"):
        gap[column] = gap[column].fillna(0).astype("int64")
    gap["gap"] = gap["mean_provider"] - gap["mean_user"]
    return _order(gap.loc[:, list(PROVIDER_USER_GAP_COLUMNS)], keys)


def cycle_change(ratings: pd.DataFrame) -> pd.DataFrame:
    """Per dimension × respondent type × cycle: mean, and change from the previous cycle year present.

    The previous cycle is the latest earlier year with respondents for the same dimension and
    respondent type (skipped years are bridged); the first cycle has no previous year and NaN
    change. Columns: dimension, respondent_type, cycle_year, n_respondents, mean,
    previous_cycle_year (nullable Int64), change.
    """
    scores = respondent_dimension_scores(ratings)
    keys = ["dimension", "respondent_type"]
    means = _order(_group_means(scores, [*keys, "cycle_year"]), [*keys, "cycle_year"])
    grouped = means.groupby(keys, sort=False, dropna=False)
    means["previous_cycle_year"] = grouped["cycle_year"].shift(1).astype("Int64")
    means["change"] = means["mean"] - grouped["mean"].shift(1)
    return means.loc[:, list(CYCLE_CHANGE_COLUMNS)]


def disaggregate(ratings: pd.DataFrame, by: str) -> pd.DataFrame:
    """Mean respondent score and respondent count per dimension × sex, indigenous identity or type.

    Every known category is listed for each dimension present, with n_respondents 0 and mean NaN
    when nobody in it answered, so that missing women or indigenous voices show rather than
    vanish; unexpected values follow the known ones. Cycles are pooled: filter to one first.
    Columns: dimension, <by>, n_respondents, mean.
    """
    if by not in DISAGGREGATIONS:
        raise ValueError(f"cannot disaggregate by {by!r}; allowed: {sorted(DISAGGREGATIONS)}")
    scores = respondent_dimension_scores(ratings)
    keys = ["dimension", by]
    means = _group_means(scores, keys)
    dimensions = list(pd.unique(scores["dimension"]))
    known = pd.DataFrame(
        [(dimension, category) for dimension in dimensions for category in DISAGGREGATIONS[by]],
        columns=keys,
    ).astype({"dimension": scores["dimension"].dtype, by: scores[by].dtype})
    table = known.merge(means, on=keys, how="outer")
    table["n_respondents"] = table["n_respondents"].fillna(0).astype("int64")
    table["mean"] = table["mean"].astype("float64")
    return _order(table.loc[:, [*keys, "n_respondents", "mean"]], keys)
