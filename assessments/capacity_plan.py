"""Performance targets per government and area, and the government's capacity-building plan (services)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Session

from assessments.access import Actor
from assessments.errors import Conflict, NotFound, ValidationFailed
from assessments.focas import as_uuid, is_blank, require_for_government
from assessments.text import clean_field
from assessments.scoring import parse_whole_number
from db.audit import record
from db.instruments import default_instrument_id
from db.models import Assessment, CapacityPlanItem, FunctionalArea, Government, Instrument, PerformanceTarget
from db.models.base import ITEM_STATUSES, utcnow
from db.removals import full_image, rebuild, removed_image

TARGET_ROUNDS = ("midpoint", "end")
INTERVENTION_TYPES = ("training", "technical_assistance", "onsite_assistance")


def _government(session: Session, government_id: object) -> Government:
    government = session.get(Government, as_uuid(government_id, not_found_key="focas.unknown_government"))
    if government is None:
        raise NotFound("focas.unknown_government", id=str(government_id))
    return government


def government_instrument(session: Session, government_id: uuid.UUID) -> Instrument:
    """The instrument version the government's rounds are compared on: its baseline's, else the default."""
    baseline = session.execute(
        sa.select(Assessment.instrument_id).where(Assessment.government_id == government_id,
                                                  Assessment.round == "baseline")
    ).scalar()
    return session.get(Instrument, baseline or default_instrument_id(session, "focas"))


def _area_codes(session: Session, instrument_id: uuid.UUID) -> list[str]:
    return list(session.execute(
        sa.select(FunctionalArea.code).where(FunctionalArea.instrument_id == instrument_id)
        .order_by(FunctionalArea.position)
    ).scalars())


def _target_value(value: object, *, area: str, round: str, scale_min: int, scale_max: int) -> float | None:
    if is_blank(value):
        return None
    text = str(value).strip().replace(",", ".") if isinstance(value, str) else value
    try:
        number = float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValidationFailed("capplan.target.not_number", area=area, round=round, value=value) from None
    if number != number or not scale_min <= number <= scale_max:
        raise ValidationFailed("capplan.target.off_scale", area=area, round=round, value=value,
                               min=scale_min, max=scale_max)
    return round_target(number)


def round_target(number: float) -> float:
    return float(f"{number:.2f}")


def set_targets(
    *,
    session: Session,
    actor: Actor,
    government_id: object,
    targets: Mapping[tuple[str, str], object],
    expected: Mapping[tuple[str, str], object] | None = None,
) -> int:
    """Set performance targets ``{(area_code, round): value or None}`` (midpoint/end, on the scale).

    ``expected`` holds what the screen showed; a target someone else changed meanwhile is a Conflict.
    Returns the number of targets written or removed.
    """
    government = _government(session, government_id)
    require_for_government(session, actor, "target.write", government.id)
    instrument = government_instrument(session, government.id)
    areas = set(_area_codes(session, instrument.id))
    clean: dict[tuple[str, str], float | None] = {}
    for (area, round_name), value in targets.items():
        if round_name not in TARGET_ROUNDS:
            raise ValidationFailed("capplan.target.bad_round", round=round_name)
        if area not in areas:
            raise ValidationFailed("capplan.unknown_area", area=area)
        clean[(area, round_name)] = _target_value(value, area=area, round=round_name,
                                                  scale_min=instrument.scale_min, scale_max=instrument.scale_max)
    current = {
        (row.area_code, row.round): row for row in session.execute(
            sa.select(PerformanceTarget).where(PerformanceTarget.government_id == government.id).with_for_update()
        ).scalars()
    }
    conflicts, writes = [], []
    for key, new in clean.items():
        row = current.get(key)
        now = row.target if row else None
        if now == new:
            continue
        if expected is not None and key in expected:
            shown = None if is_blank(expected[key]) else round_target(float(expected[key]))
            if shown != now:
                conflicts.append(f"{key[0]} · {key[1]} = {'—' if now is None else now}")
                continue
        writes.append((key, row, new))
    if conflicts:
        raise Conflict("focas.conflict", cells="; ".join(conflicts[:5]), n=len(conflicts))
    for (area, round_name), row, new in writes:
        snapshot = {"government_id": government.id, "area": area, "round": round_name}
        if row is None:
            row = PerformanceTarget(government_id=government.id, area_code=area, round=round_name, target=new)
            session.add(row)
            record(session, actor, "create", "performance_target", row.id, after={**snapshot, "target": new})
        elif new is None:
            session.delete(row)
            record(session, actor, "delete", "performance_target", row.id, before={**snapshot, "target": row.target})
        else:
            record(session, actor, "update", "performance_target", row.id, before={**snapshot, "target": row.target},
                   after={**snapshot, "target": new})
            row.target = new
    session.flush()
    return len(writes)


# One intervention as the facilitator describes it.
@dataclass
class PlanItemInput:
    area_code: str
    intervention_type: str
    what: str
    who_staff: str = ""
    where_place: str = ""
    sequence: int | str = 1
    resources: str = ""
    other_support: str = ""
    planned_start: date | None = None
    planned_end: date | None = None
    status: str = "planned"


def _clean_item(session: Session, government: Government, data: PlanItemInput) -> dict:
    areas = _area_codes(session, government_instrument(session, government.id).id)
    if data.area_code not in areas:
        raise ValidationFailed("capplan.unknown_area", area=data.area_code)
    if data.intervention_type not in INTERVENTION_TYPES:
        raise ValidationFailed("capplan.bad_type", value=data.intervention_type)
    if data.status not in ITEM_STATUSES:
        raise ValidationFailed("capplan.bad_status", value=data.status)
    what = clean_field(data.what, field="plan.what")
    if not what:
        raise ValidationFailed("capplan.what_blank")
    sequence = parse_whole_number(data.sequence, not_number_key="capplan.bad_sequence",
                                  not_integer_key="capplan.bad_sequence", params={})
    if sequence < 1 or sequence > 999:
        raise ValidationFailed("capplan.bad_sequence", value=sequence)
    if data.planned_start and data.planned_end and data.planned_end < data.planned_start:
        raise ValidationFailed("capplan.dates_reversed", start=data.planned_start.isoformat(),
                               end=data.planned_end.isoformat())
    return {
        "area_code": data.area_code,
        "intervention_type": data.intervention_type,
        "what": what,
        "who_staff": clean_field(data.who_staff, field="plan.who_staff"),
        "where_place": clean_field(data.where_place, field="plan.where_place"),
        "sequence": sequence,
        "resources": clean_field(data.resources, field="plan.resources"),
        "other_support": clean_field(data.other_support, field="plan.other_support"),
        "planned_start": data.planned_start,
        "planned_end": data.planned_end,
        "status": data.status,
    }


def add_plan_item(*, session: Session, actor: Actor, government_id: object, data: PlanItemInput) -> CapacityPlanItem:
    """Add one intervention to the government's capacity-building plan."""
    government = _government(session, government_id)
    require_for_government(session, actor, "plan.write", government.id)
    item = CapacityPlanItem(government_id=government.id, **_clean_item(session, government, data))
    session.add(item)
    session.flush()
    record(session, actor, "create", "capacity_plan_item", item.id, after=item)
    return item


def _item(session: Session, item_id: object) -> CapacityPlanItem:
    item = session.get(CapacityPlanItem, as_uuid(item_id, not_found_key="capplan.item_not_found"))
    if item is None:
        raise NotFound("capplan.item_not_found", id=str(item_id))
    return item


def update_plan_item(
    *,
    session: Session,
    actor: Actor,
    item_id: object,
    data: PlanItemInput,
    expected_updated_at: datetime | None = None,
) -> CapacityPlanItem:
    """Change an intervention; refused (Conflict) when someone else changed it since it was shown."""
    item = _item(session, item_id)
    government = _government(session, item.government_id)
    require_for_government(session, actor, "plan.write", government.id)
    if expected_updated_at is not None and item.updated_at != expected_updated_at:
        raise Conflict("capplan.conflict_item")
    values = _clean_item(session, government, data)
    before = {k: getattr(item, k) for k in values}
    if before == values:
        return item
    for key, value in values.items():
        setattr(item, key, value)
    item.updated_at = utcnow()
    session.flush()
    record(session, actor, "update", "capacity_plan_item", item.id, before={"government_id": government.id, **before},
           after={"government_id": government.id, **values})
    return item


def delete_plan_item(*, session: Session, actor: Actor, item_id: object) -> None:
    item = _item(session, item_id)
    require_for_government(session, actor, "plan.write", item.government_id)
    before = full_image(item)  # the whole row, so restore_plan_item can bring it back with its id
    session.delete(item)
    session.flush()
    record(session, actor, "delete", "capacity_plan_item", item.id, before=before)


def restore_plan_item(*, session: Session, actor: Actor, item_id: object) -> CapacityPlanItem:
    """Undo a deletion: the intervention comes back with its id, checked by the rules of a new one."""
    item_id = as_uuid(item_id, not_found_key="capplan.item_not_found")
    image = removed_image(session, CapacityPlanItem, "capacity_plan_item", item_id)
    government = _government(session, image["government_id"])
    require_for_government(session, actor, "plan.write", government.id)
    restored = rebuild(CapacityPlanItem, image)
    _clean_item(session, government, PlanItemInput(**{f.name: getattr(restored, f.name)
                                                     for f in fields(PlanItemInput)}))
    twin = session.execute(
        sa.select(CapacityPlanItem.id).where(CapacityPlanItem.government_id == government.id,
                                             CapacityPlanItem.area_code == restored.area_code,
                                             CapacityPlanItem.intervention_type == restored.intervention_type,
                                             sa.func.lower(CapacityPlanItem.what) == restored.what.lower())
    ).first()
    if twin:  # typed again after the deletion: restoring would make it twice
        raise Conflict("removals.plan_item.duplicate", what=restored.what[:80])
    session.add(restored)
    session.flush()
    record(session, actor, "restore", "capacity_plan_item", restored.id, after=full_image(restored))
    return restored
