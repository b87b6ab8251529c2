"""Read queries of the progress views: every figure aggregated in SQL, returned as small DataFrames.

All functions take a ``Filters`` (a NamedTuple, so it hashes for the read cache) and only count
validated FOCAS assessments. Governments in scope are chosen by department and level directly,
and by cluster, wave and sector through cluster membership (the regional government belongs to
every cluster of its department, so it is counted once, never once per cluster).
"""

from __future__ import annotations

import uuid
from typing import NamedTuple

import pandas as pd
import sqlalchemy as sa

from db.engine import read_session
from db.models import (
    Assessment,
    AuditStage,
    CapacityPlanItem,
    Cluster,
    ClusterMember,
    ClusterPlan,
    ClusterSector,
    ConsensusScore,
    Department,
    FeedbackDimension,
    FeedbackItem,
    FeedbackRating,
    FunctionalArea,
    Government,
    ImprovementAction,
    Indicator,
    Instrument,
    Participant,
    ParticipantScore,
    PerformanceTarget,
    Respondent,
    ServiceAudit,
)

VALIDATED = "validated"
ROUND_PAIRS = (("baseline", "midpoint"), ("baseline", "end"), ("midpoint", "end"))


# The filters every progress view shares; plain values only, so the read cache can key on them.
class Filters(NamedTuple):
    department: str | None = None
    cluster_id: str | None = None
    wave: int | None = None
    level: str | None = None
    sector: str | None = None
    from_round: str = "baseline"
    to_round: str = "midpoint"
    government_id: str | None = None


def _cluster_uuid(filters: Filters) -> uuid.UUID | None:
    return uuid.UUID(str(filters.cluster_id)) if filters.cluster_id else None


def _cluster_scope(filters: Filters) -> sa.Select:
    """Ids of the clusters the filters keep (department, cluster, wave, sector)."""
    query = sa.select(Cluster.id)
    if filters.department:
        query = query.where(Cluster.department_code == filters.department)
    if filters.cluster_id:
        query = query.where(Cluster.id == _cluster_uuid(filters))
    if filters.wave:
        query = query.where(Cluster.wave == int(filters.wave))
    if filters.sector:
        query = query.where(
            Cluster.id.in_(sa.select(ClusterSector.cluster_id).where(ClusterSector.sector == filters.sector))
        )
    return query


def _in_scope(column, filters: Filters):
    """``column`` (a government id) among the governments the filters keep; TRUE when nothing is filtered."""
    if any((filters.government_id, filters.department, filters.level, filters.cluster_id, filters.wave,
            filters.sector)):
        return column.in_(_government_scope(filters))
    return sa.true()


def _government_scope(filters: Filters) -> sa.Select:
    """Ids of the governments the filters keep."""
    query = sa.select(Government.id)
    if filters.government_id:
        query = query.where(Government.id == uuid.UUID(str(filters.government_id)))
    if filters.department:
        query = query.where(Government.department_code == filters.department)
    if filters.level:
        query = query.where(Government.level == filters.level)
    if filters.cluster_id or filters.wave or filters.sector:
        members = sa.select(ClusterMember.government_id).where(ClusterMember.cluster_id.in_(_cluster_scope(filters)))
        query = query.where(Government.id.in_(members))
    return query


def _frame(query: sa.Select, columns: list[str]) -> pd.DataFrame:
    """Rows as a DataFrame; ids (columns ``id`` / ``*_id``) as canonical UUID strings.

    Id columns are selected raw (no per-row UUID objects): SQLite stores 32 hex digits, which are
    dashed here in one vectorised step; PostgreSQL's driver hands back UUIDs, turned into strings.
    Strings are cheap to merge, pickle and cache, and ``uuid.UUID(text)`` reads them back.
    """
    raw = query.with_only_columns(
        *[sa.type_coerce(c, sa.String) if _is_id(name) else c
          for c, name in zip(query.selected_columns, columns)],
        maintain_column_froms=True,
    )
    with read_session() as session:
        rows = session.execute(raw).all()
    frame = pd.DataFrame.from_records(rows, columns=columns)
    for column in columns:
        if _is_id(column) and len(frame):
            frame[column] = _canonical_ids(frame[column])
    return frame


def _is_id(name: str) -> bool:
    return name == "id" or name.endswith("_id")


def _canonical_ids(values: pd.Series) -> pd.Series:
    if not isinstance(values.dropna().iloc[0] if values.notna().any() else "", str):
        return values.map(lambda v: None if v is None else str(v))
    text = values.astype("string")
    hexes = text.str.len() == 32
    dashed = (text.str[0:8] + "-" + text.str[8:12] + "-" + text.str[12:16] + "-" + text.str[16:20] + "-"
              + text.str[20:32])
    return dashed.where(hexes, text).astype(object).where(values.notna(), None)


# --- filter choices -------------------------------------------------------------------------


def filter_choices() -> dict[str, pd.DataFrame]:
    """What the filter widgets offer: departments and clusters that exist, waves and sectors in use."""
    departments = _frame(
        sa.select(Department.code, Department.name)
        .where(Department.code.in_(sa.select(Cluster.department_code).union(
            sa.select(Government.department_code).where(
                Government.id.in_(sa.select(Assessment.government_id))))))
        .order_by(Department.name),
        ["code", "name"],
    )
    clusters = _frame(
        sa.select(Cluster.id, Cluster.name, Cluster.department_code, Cluster.wave).order_by(Cluster.name),
        ["id", "name", "department_code", "wave"],
    )
    clusters["id"] = clusters["id"].astype(str)
    return {"departments": departments, "clusters": clusters}


# --- portfolio overview ---------------------------------------------------------------------


def clusters_vs_plan(filters: Filters) -> pd.DataFrame:
    """Per department × wave: clusters planned (ClusterPlan) and formed (Cluster rows)."""
    plan = sa.select(ClusterPlan.department_code, ClusterPlan.wave, ClusterPlan.planned)
    formed = (
        sa.select(Cluster.department_code, Cluster.wave, sa.func.count().label("formed"))
        .where(Cluster.id.in_(_cluster_scope(filters)))
        .group_by(Cluster.department_code, Cluster.wave)
    )
    if filters.department:
        plan = plan.where(ClusterPlan.department_code == filters.department)
    if filters.wave:
        plan = plan.where(ClusterPlan.wave == int(filters.wave))
    planned = _frame(plan, ["department_code", "wave", "planned"])
    if filters.cluster_id or filters.sector:
        planned = planned.iloc[0:0]  # the plan has no clusters or sectors: only formed clusters show
    frame = planned.merge(_frame(formed, ["department_code", "wave", "formed"]),
                          on=["department_code", "wave"], how="outer")
    names = _frame(sa.select(Department.code, Department.name), ["department_code", "department"])
    frame = frame.merge(names, on="department_code", how="left")
    frame["planned"] = frame["planned"].fillna(0).astype("int64")
    frame["formed"] = frame["formed"].fillna(0).astype("int64")
    frame["wave"] = frame["wave"].astype("int64")
    return frame.loc[:, ["department_code", "department", "wave", "planned", "formed"]].sort_values(
        ["department", "wave"], ignore_index=True)


def assessed_governments(filters: Filters) -> pd.DataFrame:
    """Per round × level × status: distinct governments with a FOCAS assessment."""
    query = (
        sa.select(Assessment.round, Government.level, Assessment.status,
                  sa.func.count(sa.distinct(Assessment.government_id)))
        .join(Government, Government.id == Assessment.government_id)
        .where(_in_scope(Assessment.government_id, filters))
        .group_by(Assessment.round, Government.level, Assessment.status)
    )
    frame = _frame(query, ["round", "level", "status", "governments"])
    frame["governments"] = frame["governments"].astype("int64")
    return frame


def governments_with_plan(filters: Filters) -> pd.DataFrame:
    """Per level: distinct governments with at least one capacity-building plan item."""
    query = (
        sa.select(Government.level, sa.func.count(sa.distinct(CapacityPlanItem.government_id)))
        .join(Government, Government.id == CapacityPlanItem.government_id)
        .where(_in_scope(CapacityPlanItem.government_id, filters))
        .group_by(Government.level)
    )
    frame = _frame(query, ["level", "governments"])
    frame["governments"] = frame["governments"].astype("int64")
    return frame


def _audit_scope(filters: Filters) -> sa.Select:
    query = sa.select(ServiceAudit.id).where(ServiceAudit.cluster_id.in_(_cluster_scope(filters)))
    if filters.sector:
        query = query.where(ServiceAudit.sector == filters.sector)
    return query


def _audit_in_scope(column, filters: Filters):
    """``column`` (an audit id) among the audits the filters keep; TRUE when no cluster filter is set."""
    if any((filters.department, filters.cluster_id, filters.wave, filters.sector)):
        return column.in_(_audit_scope(filters))
    return sa.true()


def audit_stages(filters: Filters) -> pd.DataFrame:
    """Per QSIP audit cycle: its current stage (the first stage not done; 6 = all five done)."""
    current = (
        sa.select(
            AuditStage.audit_id,
            sa.func.min(sa.case((AuditStage.status != "done", AuditStage.number), else_=None)).label("stage"),
        )
        .group_by(AuditStage.audit_id)
        .subquery()
    )
    per_audit = (
        sa.select(ServiceAudit.cycle_year.label("cycle_year"),
                  sa.func.coalesce(current.c.stage, sa.literal_column("6")).label("stage"))
        .outerjoin(current, current.c.audit_id == ServiceAudit.id)
        .where(_audit_in_scope(ServiceAudit.id, filters))
        .subquery()
    )
    query = (
        sa.select(per_audit.c.cycle_year, per_audit.c.stage, sa.func.count())
        .group_by(per_audit.c.cycle_year, per_audit.c.stage)
    )
    frame = _frame(query, ["cycle_year", "stage", "audits"])
    return frame.astype({"cycle_year": "int64", "stage": "int64", "audits": "int64"})


# --- FOCAS progress -------------------------------------------------------------------------


def governments(filters: Filters) -> pd.DataFrame:
    """Governments in scope with at least one validated assessment (id, name, ubigeo, level, department)."""
    query = (
        sa.select(Government.id, Government.name, Government.ubigeo, Government.level,
                  Government.department_code, Department.name)
        .join(Department, Department.code == Government.department_code)
        .where(_in_scope(Government.id, filters))
        .where(Government.id.in_(sa.select(Assessment.government_id).where(Assessment.status == VALIDATED)))
        .order_by(Government.ubigeo)
    )
    return _frame(query, ["government_id", "government", "ubigeo", "level", "department_code", "department"])


def area_rounds(filters: Filters) -> pd.DataFrame:
    """Consensus scores of the two compared rounds, summed per government × area pair, in one pass.

    The inner query pairs each government's indicators by CODE across the two rounds (the
    comparability rule); the outer one sums per (earlier-round area, later-round area), which are
    the same area unless a new instrument version moved an indicator. Sums and counts (not means)
    let the caller regroup exactly: comparable means, and each round's own area scores.
    """
    is_from = Assessment.round == filters.from_round
    is_to = Assessment.round == filters.to_round
    per_indicator = (
        sa.select(
            Assessment.government_id.label("government_id"),
            sa.func.max(sa.case((is_from, FunctionalArea.code))).label("area_from"),
            sa.func.max(sa.case((is_to, FunctionalArea.code))).label("area_to"),
            sa.func.max(sa.case((is_from, ConsensusScore.score))).label("s_from"),
            sa.func.max(sa.case((is_to, ConsensusScore.score))).label("s_to"),
        )
        .select_from(ConsensusScore)
        .join(Assessment, Assessment.id == ConsensusScore.assessment_id)
        .join(Indicator, Indicator.id == ConsensusScore.indicator_id)
        .join(FunctionalArea, FunctionalArea.id == Indicator.area_id)
        .where(Assessment.round.in_([filters.from_round, filters.to_round]), Assessment.status == VALIDATED)
        .where(ConsensusScore.score.is_not(None))
        .where(_in_scope(Assessment.government_id, filters))
        .group_by(Assessment.government_id, Indicator.code)
        .subquery()
    )
    c = per_indicator.c
    both = sa.and_(c.s_from.is_not(None), c.s_to.is_not(None))
    query = (
        sa.select(
            c.government_id, c.area_from, c.area_to, sa.func.count(),
            sa.func.count(c.s_from), sa.func.coalesce(sa.func.sum(c.s_from), 0),
            sa.func.count(c.s_to), sa.func.coalesce(sa.func.sum(c.s_to), 0),
            sa.func.sum(sa.case((both, 1), else_=0)),
            sa.func.coalesce(sa.func.sum(sa.case((both, c.s_from))), 0),
            sa.func.coalesce(sa.func.sum(sa.case((both, c.s_to))), 0),
        )
        .group_by(c.government_id, c.area_from, c.area_to)
    )
    frame = _frame(query, ["government_id", "area_from", "area_to", "n_indicators", "n_from", "sum_from", "n_to",
                           "sum_to", "n_comparable", "sum_from_comparable", "sum_to_comparable"])
    counts = ["n_indicators", "n_from", "n_to", "n_comparable"]
    sums = ["sum_from", "sum_to", "sum_from_comparable", "sum_to_comparable"]
    return frame.astype({**{c: "int64" for c in counts}, **{c: "float64" for c in sums}})


def area_names() -> pd.DataFrame:
    """Area code → names in both languages and display position (from the default instrument first)."""
    query = (
        sa.select(FunctionalArea.code, FunctionalArea.name_es, FunctionalArea.name_en, FunctionalArea.position,
                  sa.case((Instrument.is_default == sa.true(), 0), else_=1).label("rank"))
        .join(Instrument, Instrument.id == FunctionalArea.instrument_id)
    )
    frame = _frame(query, ["area_code", "name_es", "name_en", "position", "rank"])
    frame = frame.sort_values(["rank", "position"]).drop_duplicates("area_code")
    return frame.drop(columns="rank").reset_index(drop=True)


def participant_means(filters: Filters) -> pd.DataFrame:
    """Per participant of the compared rounds: mean of their individual scores (the room's spread).

    Meant for one cluster or government at a time; ``participant_id`` is kept so a participant counts once.
    """
    query = (
        sa.select(Participant.id, Assessment.government_id, Assessment.round, Participant.sex,
                  Participant.indigenous, sa.func.avg(ParticipantScore.score), sa.func.count())
        .join(Participant, Participant.id == ParticipantScore.participant_id)
        .join(Assessment, Assessment.id == ParticipantScore.assessment_id)
        .where(Assessment.round.in_([filters.from_round, filters.to_round]), Assessment.status == VALIDATED)
        .where(_in_scope(Assessment.government_id, filters))
        .group_by(Participant.id, Assessment.government_id, Assessment.round, Participant.sex,
                  Participant.indigenous)
    )
    frame = _frame(query, ["participant_id", "government_id", "round", "sex", "indigenous", "mean_score",
                           "n_scores"])
    return frame.astype({"mean_score": "float64", "n_scores": "int64"})


def targets(filters: Filters) -> pd.DataFrame:
    """Performance targets of the later round for governments in scope."""
    query = (
        sa.select(PerformanceTarget.government_id, PerformanceTarget.round, PerformanceTarget.area_code,
                  PerformanceTarget.target)
        .where(PerformanceTarget.round == filters.to_round)
        .where(_in_scope(PerformanceTarget.government_id, filters))
    )
    frame = _frame(query, ["government_id", "round", "area_code", "target"])
    return frame.astype({"target": "float64"})


def plan_items(filters: Filters) -> pd.DataFrame:
    """Capacity-building plan items per government × area × status (counts)."""
    query = (
        sa.select(CapacityPlanItem.government_id, CapacityPlanItem.area_code, CapacityPlanItem.status,
                  sa.func.count())
        .where(_in_scope(CapacityPlanItem.government_id, filters))
        .group_by(CapacityPlanItem.government_id, CapacityPlanItem.area_code, CapacityPlanItem.status)
    )
    frame = _frame(query, ["government_id", "area_code", "status", "items"])
    return frame.astype({"items": "int64"})


def roadmap_actions(filters: Filters) -> pd.DataFrame:
    """QSIP roadmap actions per cycle × status, with how many are quick wins."""
    query = (
        sa.select(ServiceAudit.cycle_year, ImprovementAction.status, sa.func.count(),
                  sa.func.sum(sa.case((ImprovementAction.quick_win == sa.true(), 1), else_=0)))
        .join(ServiceAudit, ServiceAudit.id == ImprovementAction.audit_id)
        .where(_audit_in_scope(ServiceAudit.id, filters))
        .group_by(ServiceAudit.cycle_year, ImprovementAction.status)
    )
    frame = _frame(query, ["cycle_year", "status", "actions", "quick_wins"])
    return frame.astype({"cycle_year": "int64", "actions": "int64", "quick_wins": "int64"})


# --- QSIP feedback --------------------------------------------------------------------------


def feedback_groups(filters: Filters) -> pd.DataFrame:
    """Respondent-dimension scores pooled per cycle × dimension × respondent type × sex × indigenous.

    Each respondent's dimension score is the mean of their item ratings (as in
    ``assessments.qsip_summary``); a group carries the count and the SUM of those scores, so any
    coarser grouping is an exact mean (sum / count) without reading respondents again.
    """
    # Per respondent × dimension first, on the ratings alone (the big table); attributes joined after.
    per_respondent = (
        sa.select(
            FeedbackRating.respondent_id.label("respondent_id"),
            FeedbackItem.dimension_id.label("dimension_id"),
            sa.func.avg(FeedbackRating.rating).label("score"),
        )
        .join(FeedbackItem, FeedbackItem.id == FeedbackRating.item_id)
        .group_by(FeedbackRating.respondent_id, FeedbackItem.dimension_id)
    )
    if any((filters.department, filters.cluster_id, filters.wave, filters.sector)):
        per_respondent = per_respondent.where(FeedbackRating.respondent_id.in_(
            sa.select(Respondent.id).where(Respondent.audit_id.in_(_audit_scope(filters)))))
    per_respondent = per_respondent.subquery()
    keys = [ServiceAudit.cycle_year, FeedbackDimension.code, Respondent.respondent_type, Respondent.sex,
            Respondent.indigenous]
    query = (
        sa.select(*keys, sa.func.count(), sa.func.sum(per_respondent.c.score))
        .select_from(per_respondent)
        .join(Respondent, Respondent.id == per_respondent.c.respondent_id)
        .join(ServiceAudit, ServiceAudit.id == Respondent.audit_id)
        .join(FeedbackDimension, FeedbackDimension.id == per_respondent.c.dimension_id)
        .group_by(*keys)
    )
    frame = _frame(query, ["cycle_year", "dimension", "respondent_type", "sex", "indigenous", "n", "score_sum"])
    return frame.astype({"cycle_year": "int64", "n": "int64", "score_sum": "float64"})


def clusters_of_government(government_id: str) -> list[str]:
    """Names of the clusters a government belongs to."""
    query = (
        sa.select(Cluster.name)
        .join(ClusterMember, ClusterMember.cluster_id == Cluster.id)
        .where(ClusterMember.government_id == uuid.UUID(str(government_id)))
        .order_by(Cluster.name)
    )
    with read_session() as session:
        return list(session.execute(query).scalars())


def department_name(code: str) -> str:
    with read_session() as session:
        return session.execute(sa.select(Department.name).where(Department.code == code)).scalar() or code
