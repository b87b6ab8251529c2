"""Progress view models: the SQL aggregates of db.queries.progress shaped by the scoring rules.

Every function here is a read service a page calls through ``pages.ui.read`` (cached by data
version). The heavy lifting (scanning scores) happens in SQL; what arrives here is one row per
government × area at most, and the methodology's rules (comparable indicators only, capacity
index = mean of area scores, targets met when score >= target, respondent-level QSIP means)
are applied exactly as ``assessments.scoring`` and ``assessments.qsip_summary`` define them.
"""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd

from assessments import scoring
from db.plan import IMPROVEMENT_PLAN_TARGETS
from db.queries import progress as q
from db.queries.progress import ROUND_PAIRS, Filters  # noqa: F401  (re-exported for pages)

LEVELS = ("regional", "provincial", "district")
STATUSES = ("planned", "in_progress", "done", "dropped")
INTERVENED_STATUSES = ("in_progress", "done")
QSIP_STAGES = (1, 2, 3, 4, 5, 6)  # 6 = the five stages done (validated cycle)
MILESTONES = tuple(IMPROVEMENT_PLAN_TARGETS)


# --- portfolio overview ---------------------------------------------------------------------


@dataclass(frozen=True)
class Portfolio:
    """The landing view's figures."""

    clusters: pd.DataFrame  # department, wave, planned, formed
    clusters_by_wave: pd.DataFrame  # wave, planned, formed
    assessed: pd.DataFrame  # round, level, governments (validated)
    improvement_plans: pd.DataFrame  # level, governments, one column per milestone target
    audits: pd.DataFrame  # stage, audits (latest cycle per audit counted per cycle year)
    totals: dict[str, int]


def portfolio(filters: Filters) -> Portfolio:
    """Clusters against the plan, assessed governments, improvement plans against targets, audits by stage."""
    clusters = q.clusters_vs_plan(filters)
    by_wave = clusters.groupby("wave", as_index=False)[["planned", "formed"]].sum()

    assessed = q.assessed_governments(filters)
    validated = assessed.loc[assessed["status"] == q.VALIDATED]
    grid = pd.MultiIndex.from_product([scoring.ROUNDS, LEVELS], names=["round", "level"]).to_frame(index=False)
    assessed_table = grid.merge(validated[["round", "level", "governments"]], on=["round", "level"], how="left")
    assessed_table["governments"] = assessed_table["governments"].fillna(0).astype("int64")

    with_plan = q.governments_with_plan(filters)
    plans = pd.DataFrame({"level": LEVELS})
    plans = plans.merge(with_plan, on="level", how="left")
    plans["governments"] = plans["governments"].fillna(0).astype("int64")
    for milestone, per_level in IMPROVEMENT_PLAN_TARGETS.items():
        plans[milestone] = list(per_level)
    if filters.level:
        plans = plans.loc[plans["level"] == filters.level].reset_index(drop=True)

    stages = q.audit_stages(filters)
    audits = pd.DataFrame({"stage": QSIP_STAGES}).merge(
        stages.groupby("stage", as_index=False)["audits"].sum(), on="stage", how="left")
    audits["audits"] = audits["audits"].fillna(0).astype("int64")

    def validated_in(round_name: str) -> int:
        return int(assessed_table.loc[assessed_table["round"] == round_name, "governments"].sum())

    totals = {
        "clusters_formed": int(clusters["formed"].sum()),
        "clusters_planned": int(clusters["planned"].sum()),
        "baseline": validated_in("baseline"),
        "midpoint": validated_in("midpoint"),
        "end": validated_in("end"),
        "with_plan": int(plans["governments"].sum()),
        **{f"target_{m}": int(plans[m].sum()) for m in MILESTONES},
        "audits": int(audits["audits"].sum()),
        "audits_validated": int(audits.loc[audits["stage"] == 6, "audits"].sum()),
    }
    return Portfolio(clusters=clusters, clusters_by_wave=by_wave, assessed=assessed_table,
                     improvement_plans=plans, audits=audits, totals=totals)


# --- FOCAS progress -------------------------------------------------------------------------


@dataclass(frozen=True)
class ProgressView:
    """Baseline versus a later round for the governments in scope."""

    filters: Filters
    governments: pd.DataFrame  # one row per government: names, level, department, capacity from/to/change
    areas: pd.DataFrame  # one row per government × area: from, to, change, comparable counts
    area_summary: pd.DataFrame  # one row per area: governments, mean from/to/change
    targets: pd.DataFrame  # one row per government × area with a target: score, target, gap, met
    target_summary: pd.DataFrame  # one row per area: targets, met, share met, mean gap
    plan_status: pd.DataFrame  # kind (plan_items / roadmap_actions), status, count
    interventions: pd.DataFrame  # one row per government × area with a change: intervened, change
    intervention_summary: pd.DataFrame  # intervened (bool), areas, mean change, median change
    area_labels: pd.DataFrame  # area_code, name_es, name_en, position

    @property
    def comparable(self) -> bool:
        return bool(self.governments["change"].notna().any()) if not self.governments.empty else False


def _area_progress(rounds: pd.DataFrame) -> pd.DataFrame:
    """Per government × area, exactly the columns of ``scoring.progress(...).areas``.

    An indicator belongs to its earlier-round area (as in ``scoring.progress``); area means on both
    sides are over the comparable indicators only.
    """
    if rounds.empty:
        return pd.DataFrame(columns=list(scoring.AREA_PROGRESS_COLUMNS))
    keyed = rounds.assign(area_code=rounds["area_from"].fillna(rounds["area_to"]))
    areas = keyed.groupby(["government_id", "area_code"], as_index=False)[
        ["n_indicators", "n_comparable", "sum_from_comparable", "sum_to_comparable"]].sum()
    comparable = areas["n_comparable"].where(areas["n_comparable"] > 0)
    areas["area_score_from"] = areas["sum_from_comparable"] / comparable
    areas["area_score_to"] = areas["sum_to_comparable"] / comparable
    areas["change"] = areas["area_score_to"] - areas["area_score_from"]
    areas["n_not_comparable"] = (areas["n_indicators"] - areas["n_comparable"]).astype("int64")
    return areas.loc[:, list(scoring.AREA_PROGRESS_COLUMNS)].sort_values(
        ["government_id", "area_code"], kind="stable", ignore_index=True)


def _round_scores(rounds: pd.DataFrame, round_name: str, side: str) -> pd.DataFrame:
    """One round's own area scores (all its scored indicators), like ``scoring.indexes``' areas."""
    column = f"area_{side}"
    part = rounds.loc[rounds[column].notna()]
    grouped = part.groupby(["government_id", column], as_index=False)[[f"n_{side}", f"sum_{side}"]].sum()
    grouped = grouped.loc[grouped[f"n_{side}"] > 0]
    return pd.DataFrame({
        "government_id": grouped["government_id"],
        "round": round_name,
        "area_code": grouped[column],
        "area_score": grouped[f"sum_{side}"] / grouped[f"n_{side}"],
        "n_indicators": grouped[f"n_{side}"].astype("int64"),
    }).reset_index(drop=True)


def _government_progress(areas: pd.DataFrame) -> pd.DataFrame:
    """Capacity index from/to as the mean over areas with a comparable indicator (scoring.progress's rule)."""
    if areas.empty:
        return pd.DataFrame(columns=list(scoring.GOVERNMENT_PROGRESS_COLUMNS))
    marked = areas.assign(has=areas["n_comparable"] > 0, lacks=areas["n_comparable"] == 0)
    counts = marked.groupby("government_id").agg(n_areas=("has", "sum"), n_areas_not_comparable=("lacks", "sum"))
    means = (
        marked.loc[marked["has"]]
        .groupby("government_id")
        .agg(capacity_index_from=("area_score_from", "mean"), capacity_index_to=("area_score_to", "mean"))
    )
    frame = counts.join(means, how="left").reset_index()
    frame["change"] = frame["capacity_index_to"] - frame["capacity_index_from"]
    frame[["n_areas", "n_areas_not_comparable"]] = frame[["n_areas", "n_areas_not_comparable"]].astype("int64")
    return frame.loc[:, list(scoring.GOVERNMENT_PROGRESS_COLUMNS)]


def _concurrently(**calls) -> dict:
    """Run independent read queries at once: the database works (and releases the GIL) while Python waits.

    Each query opens its own session, so nothing is shared between threads.
    """
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = {name: pool.submit(function, *args) for name, (function, *args) in calls.items()}
        return {name: future.result() for name, future in futures.items()}


def _with_changes(registry: pd.DataFrame, areas: pd.DataFrame) -> pd.DataFrame:
    """The governments in scope with their capacity index in both rounds and its change."""
    governments = registry.merge(_government_progress(areas), on="government_id", how="left")
    numbers = ["capacity_index_from", "capacity_index_to", "change", "n_areas", "n_areas_not_comparable"]
    governments[numbers] = governments[numbers].astype("float64")
    return governments


def governments_view(filters: Filters) -> pd.DataFrame:
    """Only the governments and their capacity change: what the landing tab needs, nothing more."""
    reads = _concurrently(rounds=(q.area_rounds, filters), registry=(q.governments, filters))
    return _with_changes(reads["registry"], _area_progress(reads["rounds"]))


def progress_view(filters: Filters) -> ProgressView:
    """Every figure of the progress page for the filters (the cluster and government views come apart)."""
    reads = _concurrently(
        rounds=(q.area_rounds, filters), registry=(q.governments, filters), targets=(q.targets, filters),
        items=(q.plan_items, filters), actions=(q.roadmap_actions, filters), labels=(q.area_names,),
    )
    registry, rounds = reads["registry"], reads["rounds"]
    areas = _area_progress(rounds)
    governments = _with_changes(registry, areas)

    labels = reads["labels"]
    area_summary = (
        areas.loc[areas["n_comparable"] > 0]
        .groupby("area_code", as_index=False)
        .agg(governments=("government_id", "nunique"), mean_from=("area_score_from", "mean"),
             mean_to=("area_score_to", "mean"), mean_change=("change", "mean"))
    )
    area_summary = _in_area_order(area_summary, labels)

    later = _round_scores(rounds, filters.to_round, "to")
    target_rows = reads["targets"]
    gaps = scoring.target_gap(later, target_rows) if not target_rows.empty else pd.DataFrame(
        columns=list(scoring.TARGET_GAP_COLUMNS))
    gaps = gaps.loc[gaps["target"].notna()].reset_index(drop=True)
    if gaps.empty:
        target_summary = pd.DataFrame(columns=["area_code", "targets", "scored", "met", "share_met", "mean_gap"])
    else:
        target_summary = (
            gaps.assign(scored=gaps["area_score"].notna(), met_int=gaps["met"].fillna(False).astype("int64"))
            .groupby("area_code", as_index=False)
            .agg(targets=("target", "count"), scored=("scored", "sum"), met=("met_int", "sum"),
                 mean_gap=("gap", "mean"))
        )
        target_summary["share_met"] = np.where(
            target_summary["scored"] > 0, target_summary["met"] / target_summary["scored"].where(
                target_summary["scored"] > 0, 1) * 100, np.nan)
        target_summary = target_summary.astype({"targets": "int64", "scored": "int64", "met": "int64"})
        target_summary = _in_area_order(
            target_summary.loc[:, ["area_code", "targets", "scored", "met", "share_met", "mean_gap"]], labels)

    items, actions = reads["items"], reads["actions"]
    plan_status = pd.concat(
        [
            _status_counts(items, "items", "plan_items"),
            _status_counts(actions, "actions", "roadmap_actions"),
        ],
        ignore_index=True,
    )

    intervened = items.loc[items["status"].isin(INTERVENED_STATUSES), ["government_id", "area_code"]]
    intervened = intervened.drop_duplicates().assign(intervened=True)
    moved = areas.loc[areas["change"].notna(), ["government_id", "area_code", "change"]]
    interventions = moved.merge(intervened, on=["government_id", "area_code"], how="left")
    interventions["intervened"] = interventions["intervened"].fillna(False).astype(bool)
    intervention_summary = (
        interventions.groupby("intervened", as_index=False)
        .agg(areas=("change", "count"), mean_change=("change", "mean"), median_change=("change", "median"))
    )
    intervention_summary = (
        pd.DataFrame({"intervened": [True, False]})
        .merge(intervention_summary, on="intervened", how="left")
    )
    intervention_summary["areas"] = intervention_summary["areas"].fillna(0).astype("int64")

    return ProgressView(
        filters=filters,
        governments=governments,
        areas=areas,
        area_summary=area_summary,
        targets=gaps,
        target_summary=target_summary,
        plan_status=plan_status,
        interventions=interventions,
        intervention_summary=intervention_summary,
        area_labels=labels,
    )


def _status_counts(frame: pd.DataFrame, count_column: str, kind: str) -> pd.DataFrame:
    totals = frame.groupby("status")[count_column].sum() if not frame.empty else pd.Series(dtype="int64")
    return pd.DataFrame({
        "kind": kind,
        "status": list(STATUSES),
        "count": [int(totals.get(status, 0)) for status in STATUSES],
    })


def _in_area_order(frame: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    """Rows in the instrument's area order (unknown codes last, by code)."""
    position = dict(zip(labels["area_code"], labels["position"]))
    order = frame["area_code"].map(position).fillna(len(position) + 1)
    return frame.assign(_o=order).sort_values(["_o", "area_code"]).drop(columns="_o").reset_index(drop=True)


def area_label(labels: pd.DataFrame, lang: str) -> dict[str, str]:
    """Area code → its name in ``lang`` (falls back to the code)."""
    column = "name_en" if lang == "en" else "name_es"
    return dict(zip(labels["area_code"], labels[column]))


# --- one cluster, one government ------------------------------------------------------------


@dataclass(frozen=True)
class ClusterView:
    """One cluster: the governments × areas change grid and the spread of participants' scores."""

    members: pd.DataFrame  # government_id, government, level
    heatmap: pd.DataFrame  # government_id, government, area_code, change, area_score_from, area_score_to
    participants: pd.DataFrame  # participant_id, government, round, mean_score
    area_labels: pd.DataFrame


def cluster_view(filters: Filters) -> ClusterView:
    """The cluster named in ``filters.cluster_id`` (other filters still apply, e.g. level)."""
    if not filters.cluster_id:
        raise ValueError("cluster_view needs filters.cluster_id")
    reads = _concurrently(registry=(q.governments, filters), rounds=(q.area_rounds, filters),
                          participants=(q.participant_means, filters), labels=(q.area_names,))
    registry = reads["registry"]
    areas = _area_progress(reads["rounds"])
    heatmap = areas.merge(registry[["government_id", "government", "level"]], on="government_id", how="inner")
    participants = reads["participants"].merge(
        registry[["government_id", "government", "level"]], on="government_id", how="inner")
    return ClusterView(members=registry, heatmap=heatmap, participants=participants, area_labels=reads["labels"])


@dataclass(frozen=True)
class GovernmentView:
    """One government: area scores in both rounds (comparable indicators only) and its targets."""

    government: dict
    areas: pd.DataFrame  # area_code, area_score_from, area_score_to, change, n_comparable, n_not_comparable
    capacity: dict  # capacity_index_from, capacity_index_to, change
    targets: pd.DataFrame  # area_code, area_score, target, gap, met
    participants: pd.DataFrame
    area_labels: pd.DataFrame


def government_view(filters: Filters, government_id: str) -> GovernmentView | None:
    """One government in the filters' comparison (None when it has no validated assessment)."""
    gid = uuid.UUID(str(government_id))
    scoped = Filters(from_round=filters.from_round, to_round=filters.to_round, government_id=str(gid))
    registry = q.governments(scoped)
    if registry.empty:
        return None
    rounds = q.area_rounds(scoped)
    areas = _area_progress(rounds)
    labels = q.area_names()
    capacity_rows = _government_progress(areas)
    capacity = capacity_rows.iloc[0].to_dict() if not capacity_rows.empty else {}
    later = _round_scores(rounds, scoped.to_round, "to")
    target_rows = q.targets(scoped)
    if target_rows.empty:
        gaps = pd.DataFrame(columns=list(scoring.TARGET_GAP_COLUMNS))
    else:
        gaps = scoring.target_gap(later, target_rows)
        gaps = gaps.loc[gaps["target"].notna()].reset_index(drop=True)
    return GovernmentView(government=registry.iloc[0].to_dict(), areas=_in_area_order(areas, labels),
                          capacity=capacity, targets=gaps, participants=q.participant_means(scoped),
                          area_labels=labels)


# --- QSIP feedback --------------------------------------------------------------------------


@dataclass(frozen=True)
class QsipView:
    """QSIP customer feedback: trends per cycle, provider-user gaps, and the latest cycle by sex and identity."""

    trend: pd.DataFrame  # cycle_year, dimension, respondent_type, n_respondents, mean
    gap: pd.DataFrame  # cycle_year, dimension, mean_provider, n_provider, mean_user, n_user, gap
    by_sex: pd.DataFrame  # cycle_year, dimension, sex, n_respondents, mean
    by_indigenous: pd.DataFrame  # cycle_year, dimension, indigenous, n_respondents, mean
    latest_cycle: int | None


def _pooled(groups: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    pooled = groups.groupby(keys, as_index=False).agg(n_respondents=("n", "sum"), score_sum=("score_sum", "sum"))
    pooled["mean"] = pooled["score_sum"] / pooled["n_respondents"]
    return pooled.drop(columns="score_sum")


def qsip_view(filters: Filters) -> QsipView:
    from assessments.qsip_summary import DIMENSIONS, DISAGGREGATIONS

    groups = q.feedback_groups(filters)
    dimension_order = {d: i for i, d in enumerate(DIMENSIONS)}

    def ordered(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
        """Cycle first, then dimensions in their canonical order, then ``keys``."""
        helper = frame["dimension"].map(dimension_order).fillna(len(dimension_order))
        by = ["cycle_year", "_d", *[k for k in keys if k != "cycle_year"]]
        return frame.assign(_d=helper).sort_values(by, kind="stable").drop(columns="_d").reset_index(drop=True)

    trend = ordered(_pooled(groups, ["cycle_year", "dimension", "respondent_type"]), ["cycle_year", "respondent_type"])
    sides = {}
    for kind in ("provider", "user"):
        part = trend.loc[trend["respondent_type"] == kind, ["cycle_year", "dimension", "mean", "n_respondents"]]
        sides[kind] = part.rename(columns={"mean": f"mean_{kind}", "n_respondents": f"n_{kind}"})
    gap = sides["provider"].merge(sides["user"], on=["cycle_year", "dimension"], how="outer")
    for column in ("n_provider", "n_user"):
        gap[column] = gap[column].fillna(0).astype("int64")
    gap["gap"] = gap["mean_provider"] - gap["mean_user"]
    gap = ordered(gap.loc[:, ["cycle_year", "dimension", "mean_provider", "n_provider", "mean_user", "n_user", "gap"]],
                  ["cycle_year"])

    def disaggregated(by: str) -> pd.DataFrame:
        pooled = _pooled(groups, ["cycle_year", "dimension", by])
        if pooled.empty:
            return pd.DataFrame(columns=["cycle_year", "dimension", by, "n_respondents", "mean"])
        # Every category listed, with n 0, so missing women or indigenous voices show rather than vanish.
        present = pooled[["cycle_year", "dimension"]].drop_duplicates()
        grid = present.merge(pd.DataFrame({by: list(DISAGGREGATIONS[by])}), how="cross")
        full = grid.merge(pooled, on=["cycle_year", "dimension", by], how="outer")
        full["n_respondents"] = full["n_respondents"].fillna(0).astype("int64")
        category = {v: i for i, v in enumerate(DISAGGREGATIONS[by])}
        return ordered(full.assign(_c=full[by].map(category)), ["cycle_year", "_c"]).drop(columns="_c")

    latest = int(groups["cycle_year"].max()) if not groups.empty else None
    return QsipView(trend=trend, gap=gap, by_sex=disaggregated("sex"), by_indigenous=disaggregated("indigenous"),
                    latest_cycle=latest)
