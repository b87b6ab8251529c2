"""Read queries of QSIP service audits: audits, stages, questionnaire items, respondents, ratings, roadmap."""

from __future__ import annotations

import uuid
from datetime import date

import pandas as pd
import sqlalchemy as sa

from assessments.access import Actor
from assessments.qsip_summary import RATING_COLUMNS
from db.engine import read_session
from db.queries import scope
from db.models import (
    AuditStage,
    Barrier,
    Cluster,
    FeedbackDimension,
    FeedbackItem,
    FeedbackRating,
    Government,
    ImprovementAction,
    Respondent,
    ServiceAudit,
)

AUDIT_COLUMNS = ["id", "cluster_id", "cluster", "service_name", "sector", "cycle_year", "previous_audit_id",
                 "validated_at", "validated_by", "notes", "is_demo", "n_stages_done", "n_respondents",
                 "n_barriers", "n_actions", "n_overdue"]
STAGE_COLUMNS = ["id", "number", "name_es", "name_en", "planned_start", "planned_end", "actual_start",
                 "actual_end", "status", "notes"]
ITEM_COLUMNS = ["item_id", "item_code", "dimension", "dimension_es", "dimension_en", "text_es", "text_en",
                "dimension_position", "item_position"]
RESPONDENT_COLUMNS = ["id", "respondent_type", "sex", "indigenous", "locality", "code", "created_at",
                      "n_ratings", "mean_rating"]
BARRIER_COLUMNS = ["id", "description", "category", "government_level", "within_control", "priority",
                   "n_actions", "n_open"]
ACTION_COLUMNS = ["id", "barrier_id", "barrier", "description", "responsible_government_id", "government",
                  "deadline", "status", "quick_win", "evidence", "completed_on", "overdue"]


def _frame(query, columns) -> pd.DataFrame:
    """Run one read query in its own session; its rows as a frame with ``columns``."""
    with read_session() as session:
        rows = session.execute(query).all()
    return pd.DataFrame(rows, columns=columns)


def _check(actor: Actor, audit_id: uuid.UUID) -> None:
    """Refuse (translated, "not in your clusters") an audit outside ``actor``'s clusters."""
    if scope.readable_clusters(actor) is None:
        return
    with read_session() as session:
        scope.require_audit(session, actor, audit_id)


def _overdue(today: date):
    return sa.and_(ImprovementAction.deadline < today, ImprovementAction.status.not_in(("done", "dropped")))


def _count_by_audit(column, *where) -> sa.Subquery:
    return sa.select(column.label("audit_id"), sa.func.count().label("n")).where(*where).group_by(column).subquery()


def audits(actor: Actor, cluster_id: uuid.UUID | None = None, today: date | None = None) -> pd.DataFrame:
    """One row per audit cycle ``actor`` reads (a facilitator: their clusters') with its progress: stages
    done, respondents, barriers, actions, overdue."""
    today = today or date.today()
    stages_done = _count_by_audit(AuditStage.audit_id, AuditStage.status == "done")
    respondents = _count_by_audit(Respondent.audit_id)
    barriers = _count_by_audit(Barrier.audit_id)
    actions = _count_by_audit(ImprovementAction.audit_id)
    overdue = _count_by_audit(ImprovementAction.audit_id, _overdue(today))
    query = (
        sa.select(ServiceAudit.id, ServiceAudit.cluster_id, Cluster.name, ServiceAudit.service_name,
                  ServiceAudit.sector, ServiceAudit.cycle_year, ServiceAudit.previous_audit_id,
                  ServiceAudit.validated_at, ServiceAudit.validated_by, ServiceAudit.notes, ServiceAudit.is_demo,
                  *(sa.func.coalesce(sub.c.n, 0) for sub in (stages_done, respondents, barriers, actions, overdue)))
        .join(Cluster, Cluster.id == ServiceAudit.cluster_id)
        .outerjoin(stages_done, stages_done.c.audit_id == ServiceAudit.id)
        .outerjoin(respondents, respondents.c.audit_id == ServiceAudit.id)
        .outerjoin(barriers, barriers.c.audit_id == ServiceAudit.id)
        .outerjoin(actions, actions.c.audit_id == ServiceAudit.id)
        .outerjoin(overdue, overdue.c.audit_id == ServiceAudit.id)
        .order_by(Cluster.name, ServiceAudit.service_name, ServiceAudit.cycle_year.desc())
    )
    if cluster_id is not None:
        query = query.where(ServiceAudit.cluster_id == cluster_id)
    return _frame(scope.where(query, scope.audit_condition(actor)), AUDIT_COLUMNS)


def audit_row(actor: Actor, audit_id: uuid.UUID) -> dict | None:
    """One audit as a plain dict (with its cluster's name), or None."""
    with read_session() as session:
        scope.require_audit(session, actor, audit_id)
        audit = session.get(ServiceAudit, audit_id)
        if audit is None:
            return None
        cluster = session.get(Cluster, audit.cluster_id)
        row = {k: getattr(audit, k) for k in ServiceAudit.model_fields}
        row["cluster"] = cluster.name
        return row


def stages(actor: Actor, audit_id: uuid.UUID) -> pd.DataFrame:
    """The audit's five stages in order, with dates, status and notes."""
    _check(actor, audit_id)
    query = (sa.select(*(getattr(AuditStage, c) for c in STAGE_COLUMNS))
             .where(AuditStage.audit_id == audit_id).order_by(AuditStage.number))
    return _frame(query, STAGE_COLUMNS)


def feedback_items(actor: Actor, audit_id: uuid.UUID) -> pd.DataFrame:
    """The questionnaire of the audit's instrument: one row per item, dimensions and items in order."""
    _check(actor, audit_id)
    query = (
        sa.select(FeedbackItem.id, FeedbackItem.code, FeedbackDimension.code, FeedbackDimension.name_es,
                  FeedbackDimension.name_en, FeedbackItem.text_es, FeedbackItem.text_en,
                  FeedbackDimension.position, FeedbackItem.position)
        .join(FeedbackDimension, FeedbackDimension.id == FeedbackItem.dimension_id)
        .join(ServiceAudit, ServiceAudit.instrument_id == FeedbackDimension.instrument_id)
        .where(ServiceAudit.id == audit_id)
        .order_by(FeedbackDimension.position, FeedbackItem.position)
    )
    return _frame(query, ITEM_COLUMNS)


def respondents(actor: Actor, audit_id: uuid.UUID) -> pd.DataFrame:
    """The audit's respondents, newest first, with how many items each rated and their mean rating.

    For an actor who does not read names (evaluators) ``code`` is the respondent's pseudonym.
    """
    _check(actor, audit_id)
    query = (
        sa.select(Respondent.id, Respondent.respondent_type, Respondent.sex, Respondent.indigenous,
                  Respondent.locality, Respondent.code, Respondent.created_at,
                  sa.func.count(FeedbackRating.id), sa.func.avg(FeedbackRating.rating))
        .outerjoin(FeedbackRating, FeedbackRating.respondent_id == Respondent.id)
        .where(Respondent.audit_id == audit_id)
        .group_by(Respondent.id, Respondent.respondent_type, Respondent.sex, Respondent.indigenous,
                  Respondent.locality, Respondent.code, Respondent.created_at)
        .order_by(Respondent.created_at.desc())
    )
    frame = _frame(query, RESPONDENT_COLUMNS)
    frame["mean_rating"] = pd.to_numeric(frame["mean_rating"]).astype("float64").round(2)
    if not scope.sees_names(actor) and not frame.empty:
        secret = scope.pseudonym_secret()
        frame["code"] = [scope.pseudonym(secret, "respondent", i) for i in frame["id"]]
    return frame


def respondent_counts(actor: Actor, audit_id: uuid.UUID) -> dict[str, int]:
    """Respondents entered so far by type (user, provider, manager) and in total."""
    with read_session() as session:
        scope.require_audit(session, actor, audit_id)
        rows = session.execute(
            sa.select(Respondent.respondent_type, sa.func.count()).where(Respondent.audit_id == audit_id)
            .group_by(Respondent.respondent_type)
        ).all()
    counts = {"user": 0, "provider": 0, "manager": 0, **dict(rows)}
    counts["total"] = sum(v for k, v in counts.items() if k != "total")
    return counts


def audit_chain(audit_id: uuid.UUID) -> list[uuid.UUID]:
    """This audit and the earlier cycles it was started from (newest first)."""
    chain: list[uuid.UUID] = []
    with read_session() as session:
        current: uuid.UUID | None = audit_id
        while current is not None and current not in chain:
            chain.append(current)
            current = session.execute(
                sa.select(ServiceAudit.previous_audit_id).where(ServiceAudit.id == current)
            ).scalar_one_or_none()
    return chain


def ratings(actor: Actor, audit_id: uuid.UUID, *, with_previous_cycles: bool = True) -> pd.DataFrame:
    """Item ratings of the audit (and of its earlier cycles): the input of ``assessments.qsip_summary``."""
    _check(actor, audit_id)
    ids = audit_chain(audit_id) if with_previous_cycles else [audit_id]
    query = (
        sa.select(Respondent.id, Respondent.respondent_type, Respondent.sex, Respondent.indigenous,
                  FeedbackDimension.code, FeedbackItem.code, FeedbackRating.rating, ServiceAudit.cycle_year)
        .join(Respondent, Respondent.id == FeedbackRating.respondent_id)
        .join(ServiceAudit, ServiceAudit.id == Respondent.audit_id)
        .join(FeedbackItem, FeedbackItem.id == FeedbackRating.item_id)
        .join(FeedbackDimension, FeedbackDimension.id == FeedbackItem.dimension_id)
        .where(Respondent.audit_id.in_(ids))
        .order_by(ServiceAudit.cycle_year, Respondent.id, FeedbackDimension.position, FeedbackItem.position)
    )
    frame = _frame(query, list(RATING_COLUMNS))
    frame["rating"] = frame["rating"].astype("int64")
    frame["cycle_year"] = frame["cycle_year"].astype("int64")
    return frame


def barriers(actor: Actor, audit_id: uuid.UUID) -> pd.DataFrame:
    """The audit's barriers, high priority first, with their number of actions and of open actions."""
    _check(actor, audit_id)
    open_status = sa.case((ImprovementAction.status.in_(("planned", "in_progress")), 1), else_=0)
    counts = (
        sa.select(ImprovementAction.barrier_id, sa.func.count().label("n"), sa.func.sum(open_status).label("n_open"))
        .group_by(ImprovementAction.barrier_id).subquery()
    )
    priority_order = sa.case((Barrier.priority == "high", 0), (Barrier.priority == "medium", 1), else_=2)
    query = (
        sa.select(Barrier.id, Barrier.description, Barrier.category, Barrier.government_level,
                  Barrier.within_control, Barrier.priority, sa.func.coalesce(counts.c.n, 0),
                  sa.func.coalesce(counts.c.n_open, 0))
        .outerjoin(counts, counts.c.barrier_id == Barrier.id)
        .where(Barrier.audit_id == audit_id)
        .order_by(priority_order, Barrier.created_at)
    )
    return _frame(query, BARRIER_COLUMNS)


def actions(actor: Actor, audit_id: uuid.UUID, today: date | None = None) -> pd.DataFrame:
    """The roadmap: one row per action with its barrier, responsible government and an ``overdue`` flag."""
    _check(actor, audit_id)
    today = today or date.today()
    query = (
        sa.select(ImprovementAction.id, ImprovementAction.barrier_id, Barrier.description,
                  ImprovementAction.description, ImprovementAction.responsible_government_id, Government.name,
                  ImprovementAction.deadline, ImprovementAction.status, ImprovementAction.quick_win,
                  ImprovementAction.evidence, ImprovementAction.completed_on,
                  sa.case((_overdue(today), True), else_=False))
        .join(Barrier, Barrier.id == ImprovementAction.barrier_id)
        .outerjoin(Government, Government.id == ImprovementAction.responsible_government_id)
        .where(ImprovementAction.audit_id == audit_id)
        .order_by(ImprovementAction.deadline, ImprovementAction.created_at)
    )
    frame = _frame(query, ACTION_COLUMNS)
    frame["overdue"] = frame["overdue"].astype(bool)
    frame["quick_win"] = frame["quick_win"].astype(bool)
    return frame


def feedback_results(actor: Actor, audit_id: uuid.UUID) -> dict:
    """Every feedback summary the audit page shows, computed once per data version (cache through ui.read).

    Keys: ``cycle_year``; ``ratings`` (item ratings of this and earlier cycles); ``by_type`` (this cycle,
    per dimension × respondent type); ``gap`` (provider − user, every cycle); ``change`` (cycle to cycle);
    ``breakdowns`` {(group, by): table} for group in all/user/provider/manager and by in sex/indigenous
    (this cycle). Empty frames when the cycle has no questionnaire yet.
    """
    from assessments import qsip_summary as summary

    with read_session() as session:
        year = session.execute(sa.select(ServiceAudit.cycle_year).where(ServiceAudit.id == audit_id)).scalar_one()
    rated = ratings(actor, audit_id)
    this_cycle = rated.loc[rated["cycle_year"] == year]
    results: dict = {"cycle_year": year, "ratings": rated, "n_this_cycle": len(this_cycle)}
    if this_cycle.empty:
        return {**results, "by_type": pd.DataFrame(), "gap": pd.DataFrame(), "change": pd.DataFrame(),
                "breakdowns": {}}
    results["by_type"] = summary.dimension_summary(this_cycle, by=("respondent_type",))
    results["gap"] = summary.provider_user_gap(rated)
    results["change"] = summary.cycle_change(rated)
    breakdowns = {}
    for group in ("all", "user", "provider", "manager"):
        subset = this_cycle if group == "all" else this_cycle.loc[this_cycle["respondent_type"] == group]
        for by in ("sex", "indigenous"):
            breakdowns[(group, by)] = summary.disaggregate(subset, by) if not subset.empty else pd.DataFrame()
    results["breakdowns"] = breakdowns
    return results
