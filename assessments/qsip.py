"""QSIP service audit services: audits and their stages, feedback, barriers, roadmap actions, validation, cycles.

Every write takes ``session`` and ``actor`` (keyword-only), asks ``access.require`` first, validates
everything before the first write (so an error leaves nothing half-saved) and records an audit event
for every change. The caller owns the transaction (``db.engine.write_session``).

A validated audit is locked, as a validated FOCAS assessment is: every write to it (stages, questionnaires
and their ratings, barriers, roadmap actions, their removals and restores, a new validation) takes a
``reason``, refused when empty, and recorded with each audit event of the change (:func:`require_change`).
``LOCKED_WRITES`` names them; ``UNLOCKED_WRITES`` the two that never change an existing audit.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timezone

import pandas as pd
import sqlalchemy as sa
from sqlmodel import Session

from assessments.access import Actor, can, require
from assessments.errors import Conflict, NotFound, ValidationFailed
from assessments.qsip_summary import validate_rating
from assessments.text import LIMITS, clean_field, clean_text
from db.audit import record
from db.instruments import default_instrument_id
from db.models import (
    AuditStage,
    Barrier,
    Cluster,
    ClusterMember,
    ClusterSector,
    FeedbackDimension,
    FeedbackItem,
    FeedbackRating,
    ImprovementAction,
    Instrument,
    Respondent,
    ServiceAudit,
    StageTemplate,
)
from db.models.base import INDIGENOUS, ITEM_STATUSES, LEVELS, RESPONDENT_TYPES, SECTORS, SEXES
from db.removals import full_image, rebuild, removed_image

STAGE_STATUSES = ("pending", "in_progress", "done")
BARRIER_CATEGORIES = ("management", "resources", "coordination", "information", "other")
PRIORITIES = ("high", "medium", "low")
ACTION_STATUSES = ITEM_STATUSES
CLOSED_ACTION_STATUSES = ("done", "dropped")
OPEN_ACTION_STATUSES = ("planned", "in_progress")
VALIDATION_STAGE = 5
FIRST_YEAR, LAST_YEAR = 2000, 2100
REASON_LIMIT = LIMITS["qsip.reason"]
# every write service that changes an existing audit: refused on a validated audit without a reason
LOCKED_WRITES = (
    "update_stage", "apply_stage_rows", "add_respondent", "delete_respondent", "restore_respondent",
    "add_barrier", "update_barrier", "delete_barrier", "restore_barrier",
    "add_action", "update_action", "delete_action", "restore_action", "validate_results",
)
# writes that only create a new audit (the validated one is read, never changed)
UNLOCKED_WRITES = ("create_audit", "start_next_cycle")


# ---------------------------------------------------------------------------------------------- helpers
def _text(value: object) -> str:
    return str(value or "").strip()


def _audit(session: Session, audit_id: uuid.UUID) -> ServiceAudit:
    audit = session.get(ServiceAudit, audit_id)
    if audit is None:
        raise NotFound("qsip.audit.not_found")
    return audit


def _require_cluster(session: Session, actor: Actor, cluster_id: uuid.UUID, action: str = "audit.write") -> None:
    """``access.require`` naming the cluster when a facilitator is outside their clusters."""
    if not can(actor, action, cluster_id=cluster_id):
        cluster = session.get(Cluster, cluster_id)
        require(actor, action, cluster_id=cluster_id, place=cluster.name if cluster is not None else None)


def is_validated(audit: ServiceAudit) -> bool:
    return audit.validated_at is not None


def clean_reason(reason: object) -> str | None:
    """The reason for a change to a validated audit as stored (length and characters checked), or None."""
    return clean_text(reason, field="qsip.reason", limit=REASON_LIMIT) or None


def require_change(session: Session, actor: Actor, audit: ServiceAudit, reason: object = None, *,
                   action: str = "audit.write") -> str | None:
    """May ``actor`` change ``audit``? A validated audit also needs a reason (returned cleaned, or None)."""
    _require_cluster(session, actor, audit.cluster_id, action)
    reason = clean_reason(reason)
    if is_validated(audit) and not reason:
        raise ValidationFailed("qsip_lock.reason_required", service=audit.service_name, year=audit.cycle_year)
    return reason


def _writable_row(session: Session, actor: Actor, model, row_id: uuid.UUID, not_found: str, reason: object = None):
    """A row of one audit (stage, respondent, barrier, action), its audit and the change's reason, once ``actor``
    may write there (a validated audit needs the reason)."""
    row = session.get(model, row_id)
    if row is None:
        raise NotFound(not_found)
    audit = _audit(session, row.audit_id)
    return row, audit, require_change(session, actor, audit, reason)


def _update_row(session: Session, actor: Actor, row, entity: str, before: dict, clean: dict,
                reason: str | None = None):
    """Write ``clean`` onto ``row`` and record the change; nothing happens (no event) when nothing changed."""
    if before == clean:
        return row
    for key, value in clean.items():
        setattr(row, key, value)
    session.add(row)
    session.flush()
    record(session, actor, "update", entity, row.id, before=before, after=clean, reason=reason)
    return row


def _year(value: object) -> int:
    try:
        year = int(str(value).strip())
    except (TypeError, ValueError):
        raise ValidationFailed("qsip.audit.bad_year", year=value, min=FIRST_YEAR, max=LAST_YEAR) from None
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValidationFailed("qsip.audit.bad_year", year=value, min=FIRST_YEAR, max=LAST_YEAR)
    return year


def _one_of(value: object, allowed: tuple[str, ...], key: str, *, missing_key: str | None = None) -> str:
    text = _text(value)
    if not text and missing_key:
        raise ValidationFailed(missing_key)
    if text not in allowed:
        raise ValidationFailed(key, value=text, allowed=", ".join(allowed))
    return text


def _as_date(value: object, key: str) -> date | None:
    if value is None or value is pd.NaT or (isinstance(value, str) and not value.strip()):
        return None  # NaT (a datetime subclass) is how a data editor hands back an empty date cell
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:  # ISO strings and other date-like values from a data editor
        if pd.isna(value):
            return None
        return pd.Timestamp(value).date()
    except (TypeError, ValueError):
        raise ValidationFailed(key, value=value) from None


def is_overdue(deadline: date | None, status: str, today: date) -> bool:
    """An action is overdue when its deadline has passed and it is neither done nor dropped."""
    return deadline is not None and deadline < today and status not in CLOSED_ACTION_STATUSES


def current_stage(stages: Iterable[Mapping]) -> tuple[int, str]:
    """(number, status) of the stage the audit is at: the first one not done (the last when all are done).

    ``stages`` are mappings with ``number`` and ``status`` (rows of ``AuditStage``).
    """
    ordered = sorted(stages, key=lambda s: s["number"])
    if not ordered:
        return 1, "pending"
    for stage in ordered:
        if stage["status"] != "done":
            return stage["number"], stage["status"]
    return ordered[-1]["number"], "done"


# ---------------------------------------------------------------------------------------------- audits
# What a user submits to open an audit cycle of one of a cluster's services.
@dataclass
class AuditInput:
    cluster_id: uuid.UUID | None
    service_name: str
    sector: str | None
    cycle_year: int | str | None
    notes: str = ""


def _stage_names(session: Session, instrument_id: uuid.UUID) -> list[tuple[int, str, str]]:
    rows = session.execute(
        sa.select(StageTemplate.number, StageTemplate.name_es, StageTemplate.name_en)
        .where(StageTemplate.instrument_id == instrument_id).order_by(StageTemplate.number)
    ).all()
    return [tuple(r) for r in rows]


def _check_new_audit(session: Session, cluster_id: uuid.UUID, service_name: str, year: int) -> None:
    exists = session.execute(
        sa.select(ServiceAudit.id).where(ServiceAudit.cluster_id == cluster_id,
                                         ServiceAudit.service_name == service_name,
                                         ServiceAudit.cycle_year == year)
    ).first()
    if exists:
        raise Conflict("qsip.audit.exists", service=service_name, year=year)


def _write_audit(session: Session, actor: Actor, audit: ServiceAudit,
                 stage_names: list[tuple[int, str, str]], reason: str | None = None) -> None:
    session.add(audit)
    session.flush()
    for number, name_es, name_en in stage_names:
        stage = AuditStage(audit_id=audit.id, number=number, name_es=name_es, name_en=name_en)
        session.add(stage)
    session.flush()
    record(session, actor, "create", "service_audit", audit.id,
           after={**{k: getattr(audit, k) for k in ServiceAudit.model_fields},
                  "stages": [n[1] for n in stage_names]}, reason=reason)


def create_audit(*, session: Session, actor: Actor, data: AuditInput) -> ServiceAudit:
    """Open a yearly audit cycle of one of the cluster's services, with the instrument's five stages."""
    if data.cluster_id is None:
        raise ValidationFailed("qsip.audit.no_cluster")
    _require_cluster(session, actor, data.cluster_id)
    cluster = session.get(Cluster, data.cluster_id)
    if cluster is None:
        raise NotFound("qsip.cluster.not_found")
    service_name = clean_field(data.service_name, "qsip.service_name")
    if not service_name:
        raise ValidationFailed("qsip.audit.service_blank")
    sector = _one_of(data.sector, SECTORS, "qsip.audit.sector_unknown", missing_key="qsip.audit.sector_missing")
    cluster_sectors = session.execute(
        sa.select(ClusterSector.sector).where(ClusterSector.cluster_id == cluster.id)
    ).scalars().all()
    if cluster_sectors and sector not in cluster_sectors:
        raise ValidationFailed("qsip.audit.sector_not_in_cluster", sector=sector, cluster=cluster.name)
    year = _year(data.cycle_year)
    _check_new_audit(session, cluster.id, service_name, year)
    instrument_id = default_instrument_id(session, "qsip")
    if instrument_id is None:
        raise NotFound("qsip.instrument.missing")
    audit = ServiceAudit(cluster_id=cluster.id, service_name=service_name, sector=sector, cycle_year=year,
                         instrument_id=instrument_id, notes=clean_field(data.notes, "qsip.notes"))
    _write_audit(session, actor, audit, _stage_names(session, instrument_id))
    return audit


def _stage_snapshot(stage: AuditStage) -> dict:
    return {k: getattr(stage, k) for k in ("number", "name_es", "name_en", "planned_start", "planned_end",
                                           "actual_start", "actual_end", "status", "notes")}


STAGE_FIELDS = ("name_es", "name_en", "planned_start", "planned_end", "actual_start", "actual_end", "status", "notes")


def update_stage(*, session: Session, actor: Actor, stage_id: uuid.UUID, changes: Mapping[str, object],
                 reason: str | None = None) -> AuditStage:
    """Change a stage's names, planned and actual dates, status or notes (only the fields given)."""
    stage, audit, reason = _writable_row(session, actor, AuditStage, stage_id, "qsip.stage.not_found", reason)
    return _change_stage(session, actor, stage, changes, reason)


def _change_stage(session: Session, actor: Actor, stage: AuditStage, changes: Mapping[str, object],
                  reason: str | None) -> AuditStage:
    unknown = set(changes) - set(STAGE_FIELDS)
    if unknown:
        raise ValueError(f"unknown stage fields: {sorted(unknown)}")
    new = _stage_snapshot(stage)
    for key, value in changes.items():
        if key in ("name_es", "name_en"):
            value = _text(value)
            if not value:
                raise ValidationFailed("qsip.stage.name_blank", number=stage.number)
        elif key == "status":
            value = _one_of(value, STAGE_STATUSES, "qsip.stage.status_unknown")
        elif key == "notes":
            value = clean_field(value, "qsip.stage.notes")
        else:
            value = _as_date(value, "qsip.stage.bad_date")
        new[key] = value
    for start, end, which in (("planned_start", "planned_end", "planned"), ("actual_start", "actual_end", "actual")):
        if new[start] and new[end] and new[end] < new[start]:
            raise ValidationFailed("qsip.stage.dates_reversed", number=stage.number,
                                   start=new[start].isoformat(), end=new[end].isoformat())
    before = _stage_snapshot(stage)
    if before == new:
        return stage
    for key in STAGE_FIELDS:
        setattr(stage, key, new[key])
    session.add(stage)
    session.flush()
    record(session, actor, "update", "audit_stage", stage.id, before=before, after=new, reason=reason)
    return stage


def apply_stage_rows(*, session: Session, actor: Actor, audit_id: uuid.UUID,
                     rows: Iterable[Mapping[str, object]], reason: str | None = None) -> int:
    """Save the stage table as edited (one mapping per stage with ``id`` and the editable fields).

    Returns how many stages changed. Any invalid row refuses the whole table.
    """
    audit = _audit(session, audit_id)
    reason = require_change(session, actor, audit, reason)
    changed = 0
    for row in rows:
        stage = session.get(AuditStage, uuid.UUID(str(row["id"])))
        if stage is None or stage.audit_id != audit.id:
            raise NotFound("qsip.stage.not_found")
        before = _stage_snapshot(stage)
        _change_stage(session, actor, stage, {k: row[k] for k in STAGE_FIELDS if k in row}, reason)
        changed += _stage_snapshot(stage) != before
    return changed


# ---------------------------------------------------------------------------------------------- feedback
def _items_by_code(session: Session, instrument_id: uuid.UUID) -> dict[str, uuid.UUID]:
    rows = session.execute(
        sa.select(FeedbackItem.code, FeedbackItem.id)
        .join(FeedbackDimension, FeedbackDimension.id == FeedbackItem.dimension_id)
        .where(FeedbackDimension.instrument_id == instrument_id)
    ).all()
    return {code: item_id for code, item_id in rows}


# One paper questionnaire as typed by the facilitator: who answered and their 1-5 ratings per item code.
@dataclass
class RespondentInput:
    respondent_type: str | None
    sex: str | None = "undisclosed"
    indigenous: str | None = "undisclosed"
    locality: str = ""
    code: str = ""
    ratings: Mapping[str, object] | None = None


def _validated_ratings(ratings: Mapping[str, object], items: dict[str, uuid.UUID]) -> dict[str, int]:
    clean: dict[str, int] = {}
    for code, value in ratings.items():
        if code not in items:
            raise ValidationFailed("qsip.rating.unknown_item", item=code)
        if value is None or (isinstance(value, str) and not value.strip()):
            continue  # an unanswered question on the paper form
        try:
            if isinstance(value, float) and value != value:  # NaN from a data editor: unanswered
                continue
            clean[code] = validate_rating(value)
        except ValidationFailed as error:
            key = "qsip.rating.off_scale_item" if error.key == "rating.off_scale" else "qsip.rating.not_number_item"
            raise ValidationFailed(key, item=code, value=value, min=1, max=5) from None
    if not clean:
        raise ValidationFailed("qsip.respondent.no_ratings")
    return clean


def add_respondent(*, session: Session, actor: Actor, audit_id: uuid.UUID, data: RespondentInput,
                   respondent_id: uuid.UUID | None = None, reason: str | None = None) -> Respondent:
    """Save one questionnaire: the respondent and every rating given, or nothing at all.

    ``respondent_id`` is the id the browser gave a questionnaire typed into the entry surface, so a
    re-sent one finds the respondent it already created.
    """
    audit = _audit(session, audit_id)
    reason = require_change(session, actor, audit, reason)
    respondent_type = _one_of(data.respondent_type, RESPONDENT_TYPES, "qsip.respondent.type_unknown",
                              missing_key="qsip.respondent.type_missing")
    sex = _one_of(data.sex or "undisclosed", SEXES, "qsip.respondent.sex_unknown")
    indigenous = _one_of(data.indigenous or "undisclosed", INDIGENOUS, "qsip.respondent.indigenous_unknown")
    items = _items_by_code(session, audit.instrument_id)
    ratings = _validated_ratings(data.ratings or {}, items)
    respondent = Respondent(audit_id=audit.id, respondent_type=respondent_type, sex=sex, indigenous=indigenous,
                            locality=clean_field(data.locality, "qsip.respondent.locality"),
                            code=clean_field(data.code, "qsip.respondent.code"))
    if respondent_id is not None:
        respondent.id = respondent_id
    session.add(respondent)
    session.flush()
    session.add_all(FeedbackRating(respondent_id=respondent.id, item_id=items[code], rating=rating)
                    for code, rating in ratings.items())
    session.flush()
    record(session, actor, "create", "respondent", respondent.id,
           after={**{k: getattr(respondent, k) for k in ("audit_id", "respondent_type", "sex", "indigenous",
                                                         "locality", "code")}, "ratings": ratings}, reason=reason)
    return respondent


def delete_respondent(*, session: Session, actor: Actor, respondent_id: uuid.UUID, reason: str | None = None) -> None:
    """Remove a questionnaire typed by mistake, with its ratings."""
    respondent, audit, reason = _writable_row(session, actor, Respondent, respondent_id, "qsip.respondent.not_found",
                                              reason)
    rating_rows = [
        {**full_image(row), "item": code} for row, code in session.execute(
            sa.select(FeedbackRating, FeedbackItem.code).join(FeedbackItem, FeedbackItem.id == FeedbackRating.item_id)
            .where(FeedbackRating.respondent_id == respondent.id)
        ).all()
    ]
    # the complete rows (ids and stamps) let restore_respondent bring the questionnaire back as it was
    before = {**full_image(respondent), "ratings": {row["item"]: row["rating"] for row in rating_rows},
              "rating_rows": rating_rows}
    session.execute(sa.delete(FeedbackRating).where(FeedbackRating.respondent_id == respondent.id))
    session.delete(respondent)
    session.flush()
    record(session, actor, "delete", "respondent", respondent_id, before=before, reason=reason)


def restore_respondent(*, session: Session, actor: Actor, respondent_id: uuid.UUID,
                       reason: str | None = None) -> Respondent:
    """Undo a deletion: the questionnaire and its ratings come back with their ids, as one audited change.

    Refused when a questionnaire with the same code was typed in the audit meanwhile.
    """
    image = removed_image(session, Respondent, "respondent", uuid.UUID(str(respondent_id)))
    if "rating_rows" not in image:
        raise ValidationFailed("removals.image_incomplete")
    audit = _audit(session, uuid.UUID(str(image["audit_id"])))
    reason = require_change(session, actor, audit, reason)
    code = _text(image.get("code"))
    if code and session.execute(sa.select(Respondent.id).where(
            Respondent.audit_id == audit.id, sa.func.upper(Respondent.code) == code.upper())).first():
        raise Conflict("removals.respondent.code_taken", code=code)
    items = _items_by_code(session, audit.instrument_id)
    gone = sorted({row["item"] for row in image["rating_rows"] if row["item"] not in items})
    if gone:
        raise Conflict("removals.respondent.item_gone", items=", ".join(gone))
    respondent = rebuild(Respondent, image)
    session.add(respondent)
    session.flush()
    session.add_all(rebuild(FeedbackRating, row, respondent_id=respondent.id, item_id=items[row["item"]])
                    for row in image["rating_rows"])
    session.flush()
    record(session, actor, "restore", "respondent", respondent.id,
           after={**full_image(respondent), "ratings": image.get("ratings", {})}, reason=reason)
    return respondent


# ---------------------------------------------------------------------------------------------- barriers
# A barrier to good service management, as the room describes it.
@dataclass
class BarrierInput:
    description: str
    category: str | None
    government_level: str | None
    within_control: bool = True
    priority: str | None = "medium"


def _clean_barrier(data: BarrierInput) -> dict:
    description = clean_field(data.description, "qsip.barrier.description")
    if not description:
        raise ValidationFailed("qsip.barrier.description_blank")
    return {
        "description": description,
        "category": _one_of(data.category, BARRIER_CATEGORIES, "qsip.barrier.category_unknown",
                            missing_key="qsip.barrier.category_missing"),
        "government_level": _one_of(data.government_level, LEVELS, "qsip.barrier.level_unknown",
                                    missing_key="qsip.barrier.level_missing"),
        "within_control": bool(data.within_control),
        "priority": _one_of(data.priority or "medium", PRIORITIES, "qsip.barrier.priority_unknown"),
    }


def add_barrier(*, session: Session, actor: Actor, audit_id: uuid.UUID, data: BarrierInput,
                reason: str | None = None) -> Barrier:
    audit = _audit(session, audit_id)
    reason = require_change(session, actor, audit, reason)
    barrier = Barrier(audit_id=audit.id, **_clean_barrier(data))
    session.add(barrier)
    session.flush()
    record(session, actor, "create", "barrier", barrier.id, after=barrier, reason=reason)
    return barrier


def update_barrier(*, session: Session, actor: Actor, barrier_id: uuid.UUID, data: BarrierInput,
                   reason: str | None = None) -> Barrier:
    barrier, audit, reason = _writable_row(session, actor, Barrier, barrier_id, "qsip.barrier.not_found", reason)
    clean = _clean_barrier(data)
    return _update_row(session, actor, barrier, "barrier", {k: getattr(barrier, k) for k in clean}, clean, reason)


def delete_barrier(*, session: Session, actor: Actor, barrier_id: uuid.UUID, reason: str | None = None) -> None:
    """Remove a barrier that has no roadmap action (actions must be removed or moved first)."""
    barrier, audit, reason = _writable_row(session, actor, Barrier, barrier_id, "qsip.barrier.not_found", reason)
    n_actions = session.execute(
        sa.select(sa.func.count()).select_from(ImprovementAction).where(ImprovementAction.barrier_id == barrier.id)
    ).scalar_one()
    if n_actions:
        raise Conflict("qsip.barrier.has_actions", count=n_actions)
    before = full_image(barrier)
    session.delete(barrier)
    session.flush()
    record(session, actor, "delete", "barrier", barrier_id, before=before, reason=reason)


def restore_barrier(*, session: Session, actor: Actor, barrier_id: uuid.UUID, reason: str | None = None) -> Barrier:
    """Undo a deletion: the barrier comes back with its id; refused when the same barrier was typed again."""
    image = removed_image(session, Barrier, "barrier", uuid.UUID(str(barrier_id)))
    audit = _audit(session, uuid.UUID(str(image["audit_id"])))
    reason = require_change(session, actor, audit, reason)
    barrier = rebuild(Barrier, image)
    clean = _clean_barrier(BarrierInput(**{k: getattr(barrier, k) for k in (
        "description", "category", "government_level", "within_control", "priority")}))
    if session.execute(sa.select(Barrier.id).where(
            Barrier.audit_id == audit.id, sa.func.lower(Barrier.description) == clean["description"].lower())).first():
        raise Conflict("removals.barrier.duplicate", description=clean["description"][:80])
    session.add(barrier)
    session.flush()
    record(session, actor, "restore", "barrier", barrier.id, after=full_image(barrier), reason=reason)
    return barrier


# ---------------------------------------------------------------------------------------------- roadmap
# An improvement action as typed in the roadmap workshop.
@dataclass
class ActionInput:
    barrier_id: uuid.UUID | None
    description: str
    deadline: date | None
    responsible_government_id: uuid.UUID | None = None
    status: str | None = "planned"
    quick_win: bool = False
    evidence: str = ""


def _member_ids(session: Session, cluster_id: uuid.UUID) -> set[uuid.UUID]:
    return set(session.execute(
        sa.select(ClusterMember.government_id).where(ClusterMember.cluster_id == cluster_id)
    ).scalars())


def _clean_action(session: Session, audit: ServiceAudit, data: ActionInput, *, today: date,
                  creating: bool) -> dict:
    description = clean_field(data.description, "qsip.action.description")
    if not description:
        raise ValidationFailed("qsip.action.description_blank")
    if data.barrier_id is None or data.barrier_id == "":
        raise ValidationFailed("qsip.action.barrier_missing")
    barrier = session.get(Barrier, uuid.UUID(str(data.barrier_id)))
    if barrier is None or barrier.audit_id != audit.id:
        raise ValidationFailed("qsip.action.barrier_other_audit")
    deadline = _as_date(data.deadline, "qsip.action.bad_deadline")
    if deadline is None:
        raise ValidationFailed("qsip.action.deadline_missing")
    if creating and deadline < today:
        raise ValidationFailed("qsip.action.deadline_past", deadline=deadline.isoformat(), today=today.isoformat())
    government_id = data.responsible_government_id
    if government_id:
        government_id = uuid.UUID(str(government_id))
        if government_id not in _member_ids(session, audit.cluster_id):
            raise ValidationFailed("qsip.action.government_not_member")
    else:
        government_id = None
    status = _one_of(data.status or "planned", ACTION_STATUSES, "qsip.action.status_unknown")
    return {"barrier_id": barrier.id, "description": description, "deadline": deadline,
            "responsible_government_id": government_id, "status": status, "quick_win": bool(data.quick_win),
            "evidence": clean_field(data.evidence, "qsip.action.evidence")}


def add_action(*, session: Session, actor: Actor, audit_id: uuid.UUID, data: ActionInput,
               today: date | None = None, reason: str | None = None) -> ImprovementAction:
    """Add a roadmap action answering one of the audit's barriers; its deadline cannot already be past."""
    audit = _audit(session, audit_id)
    reason = require_change(session, actor, audit, reason)
    today = today or date.today()
    clean = _clean_action(session, audit, data, today=today, creating=True)
    action = ImprovementAction(audit_id=audit.id, **clean,
                               completed_on=today if clean["status"] == "done" else None)
    session.add(action)
    session.flush()
    record(session, actor, "create", "improvement_action", action.id, after=action, reason=reason)
    return action


ACTION_FIELDS = ("barrier_id", "description", "deadline", "responsible_government_id", "status", "quick_win",
                 "evidence", "completed_on")


def update_action(*, session: Session, actor: Actor, action_id: uuid.UUID, data: ActionInput,
                  today: date | None = None, reason: str | None = None) -> ImprovementAction:
    """Follow an action up: status, evidence of the result, deadline; marks the day it was completed."""
    action, audit, reason = _writable_row(session, actor, ImprovementAction, action_id, "qsip.action.not_found",
                                          reason)
    today = today or date.today()
    clean = _clean_action(session, audit, data, today=today, creating=False)
    if clean["status"] == "done":
        clean["completed_on"] = action.completed_on or today
    else:
        clean["completed_on"] = None
    before = {k: getattr(action, k) for k in ACTION_FIELDS}
    return _update_row(session, actor, action, "improvement_action", before, clean, reason)


def delete_action(*, session: Session, actor: Actor, action_id: uuid.UUID, reason: str | None = None) -> None:
    action, audit, reason = _writable_row(session, actor, ImprovementAction, action_id, "qsip.action.not_found",
                                          reason)
    before = full_image(action)
    session.delete(action)
    session.flush()
    record(session, actor, "delete", "improvement_action", action_id, before=before, reason=reason)


def restore_action(*, session: Session, actor: Actor, action_id: uuid.UUID,
                   today: date | None = None, reason: str | None = None) -> ImprovementAction:
    """Undo a deletion: the action comes back with its id, status and completion day.

    Refused when its barrier is gone or the same action was typed again for that barrier.
    """
    image = removed_image(session, ImprovementAction, "improvement_action", uuid.UUID(str(action_id)))
    audit = _audit(session, uuid.UUID(str(image["audit_id"])))
    reason = require_change(session, actor, audit, reason)
    action = rebuild(ImprovementAction, image)
    barrier = session.get(Barrier, action.barrier_id)
    if barrier is None or barrier.audit_id != audit.id:
        raise Conflict("removals.action.barrier_gone")
    _clean_action(session, audit, ActionInput(**{k: getattr(action, k) for k in (
        "barrier_id", "description", "deadline", "responsible_government_id", "status", "quick_win", "evidence")}),
        today=today or date.today(), creating=False)
    if session.execute(sa.select(ImprovementAction.id).where(
            ImprovementAction.barrier_id == barrier.id,
            sa.func.lower(ImprovementAction.description) == action.description.lower())).first():
        raise Conflict("removals.action.duplicate", description=action.description[:80])
    session.add(action)
    session.flush()
    record(session, actor, "restore", "improvement_action", action.id, after=full_image(action), reason=reason)
    return action


# ---------------------------------------------------------------------------------------------- validation
def validate_results(*, session: Session, actor: Actor, audit_id: uuid.UUID, validated_on: date | None,
                     validated_by: str, today: date | None = None, reason: str | None = None) -> ServiceAudit:
    """Stage 5: record the closing workshop's validation (date and who) and close the stage.

    Validating an audit already validated (another date or committee) is a change to it: it needs a reason.
    """
    audit = _audit(session, audit_id)
    reason = require_change(session, actor, audit, reason, action="audit.validate")
    today = today or date.today()
    who = _text(validated_by)
    if not who:
        raise ValidationFailed("qsip.validation.by_blank")
    when = _as_date(validated_on, "qsip.validation.bad_date")
    if when is None:
        raise ValidationFailed("qsip.validation.date_missing")
    if when > today:
        raise ValidationFailed("qsip.validation.future_date", date=when.isoformat())
    before = {"validated_at": audit.validated_at, "validated_by": audit.validated_by}
    audit.validated_at = datetime.combine(when, time(12, 0), tzinfo=timezone.utc)
    audit.validated_by = who
    session.add(audit)
    session.flush()
    record(session, actor, "validate", "service_audit", audit.id, before=before,
           after={"validated_at": audit.validated_at, "validated_by": who}, reason=reason)
    stage = session.execute(
        sa.select(AuditStage).where(AuditStage.audit_id == audit.id, AuditStage.number == VALIDATION_STAGE)
    ).scalar_one_or_none()
    if stage is not None:
        changes: dict[str, object] = {"status": "done", "actual_end": when}
        if stage.actual_start is None or stage.actual_start > when:
            changes["actual_start"] = when
        _change_stage(session, actor, stage, changes, reason)  # part of the validation itself
    return audit


def validation_date(audit: ServiceAudit) -> date | None:
    return audit.validated_at.date() if audit.validated_at else None


# ---------------------------------------------------------------------------------------------- cycles
def start_next_cycle(*, session: Session, actor: Actor, audit_id: uuid.UUID,
                     cycle_year: int | str | None = None) -> ServiceAudit:
    """Open the next yearly cycle from an audit: same service, its stage names, and its open roadmap.

    Barriers still unanswered (no action, or an action planned or in progress) are copied with their
    open actions, keeping each action's deadline, so overdue work stays visible in the new cycle.
    """
    previous = _audit(session, audit_id)
    _require_cluster(session, actor, previous.cluster_id)
    year = _year(previous.cycle_year + 1 if cycle_year in (None, "") else cycle_year)
    if year <= previous.cycle_year:
        raise ValidationFailed("qsip.cycle.year_not_after", year=year, previous=previous.cycle_year)
    _check_new_audit(session, previous.cluster_id, previous.service_name, year)
    stage_names = [tuple(r) for r in session.execute(
        sa.select(AuditStage.number, AuditStage.name_es, AuditStage.name_en)
        .where(AuditStage.audit_id == previous.id).order_by(AuditStage.number)
    ).all()] or _stage_names(session, previous.instrument_id)
    audit = ServiceAudit(cluster_id=previous.cluster_id, service_name=previous.service_name, sector=previous.sector,
                         cycle_year=year, instrument_id=previous.instrument_id, previous_audit_id=previous.id,
                         notes=previous.notes)
    _write_audit(session, actor, audit, stage_names, reason="next_cycle")
    barriers = session.execute(
        sa.select(Barrier).where(Barrier.audit_id == previous.id).order_by(Barrier.created_at)
    ).scalars().all()
    actions = session.execute(
        sa.select(ImprovementAction).where(ImprovementAction.audit_id == previous.id)
        .order_by(ImprovementAction.deadline)
    ).scalars().all()
    by_barrier: dict[uuid.UUID, list[ImprovementAction]] = {}
    for action in actions:
        by_barrier.setdefault(action.barrier_id, []).append(action)
    for barrier in barriers:
        own = by_barrier.get(barrier.id, [])
        open_actions = [a for a in own if a.status in OPEN_ACTION_STATUSES]
        if own and not open_actions:
            continue  # every action answered or dropped: the barrier is closed for this cycle
        copy = Barrier(audit_id=audit.id, description=barrier.description, category=barrier.category,
                       government_level=barrier.government_level, within_control=barrier.within_control,
                       priority=barrier.priority)
        session.add(copy)
        session.flush()
        record(session, actor, "create", "barrier", copy.id, after=copy, reason="next_cycle")
        for action in open_actions:
            new = ImprovementAction(audit_id=audit.id, barrier_id=copy.id, description=action.description,
                                    responsible_government_id=action.responsible_government_id,
                                    deadline=action.deadline, status=action.status, quick_win=action.quick_win,
                                    evidence=action.evidence)
            session.add(new)
            session.flush()
            record(session, actor, "create", "improvement_action", new.id, after=new, reason="next_cycle")
    return audit


def instrument_of(session: Session, audit: ServiceAudit) -> Instrument:
    return session.get(Instrument, audit.instrument_id)
