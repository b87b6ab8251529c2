"""FOCAS workshop services: start or resume an assessment, its instrument, participants, scores, consensus, validation.

Every write takes ``session`` and ``actor``, checks access, validates, writes, and records each change in the
audit log. Once an assessment is validated it is locked: any further change needs a reason, which the audit
log keeps next to who, when, and the old and new values.

Concurrent editing: callers pass what their screen was showing (``expected``). When the database holds
something else for a cell (another person saved it meanwhile) the whole call is refused with
:class:`Conflict` and nothing is written, so nobody silently overwrites anybody.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from assessments import instruments as spec
from assessments import text as text_rules
from assessments.text import clean_field
from assessments.access import WRITE_ACTIONS, Actor, can, require
from assessments.errors import Conflict, NotFound, ValidationFailed
from assessments.scoring import validate_score
from db.audit import record, record_many
from db.engine import read_session
from db.instruments import default_instrument_id, read_focas, store_focas
from db.models import (
    Assessment,
    ClusterMember,
    ConsensusScore,
    FunctionalArea,
    Indicator,
    Instrument,
    Participant,
    ParticipantScore,
)
from db.models.base import INDIGENOUS, PARTICIPANT_ROLES, ROUNDS, SEXES, utcnow
from db.removals import full_image, rebuild, removed_image

MAX_TEXT = 2000
MAX_SHORT_TEXT = 200
CUSTOM_CODE_MARK = "C"  # custom indicator codes read AREA-C1, AREA-C2, ...


# --- helpers shared with the capacity-plan services ------------------------------------------


def clusters_of(session: Session, government_id: uuid.UUID) -> list[uuid.UUID]:
    """The clusters a government belongs to (a regional government can belong to several)."""
    return list(
        session.execute(sa.select(ClusterMember.cluster_id).where(ClusterMember.government_id == government_id))
        .scalars()
        .all()
    )


def require_for_government(
    session: Session, actor: Actor, action: str, government_id: uuid.UUID, cluster_id: uuid.UUID | None = None
) -> None:
    """Allow ``action`` when the actor may act in ``cluster_id`` or in any cluster the government is in."""
    candidates = [cluster_id] if cluster_id else []
    candidates += clusters_of(session, government_id)
    if any(can(actor, action, cluster_id=c) for c in candidates):
        return
    require(actor, action, cluster_id=cluster_id or (candidates[0] if candidates else None))


def as_uuid(value: object, *, not_found_key: str) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError):
        raise NotFound(not_found_key, id=str(value)) from None


def is_blank(value: object) -> bool:
    """None, NaN, pd.NA or an empty/whitespace string: "no value" in an editor cell."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    try:
        return bool(value != value) or (isinstance(value, float) and math.isnan(value))
    except (TypeError, ValueError):  # pd.NA refuses truth tests
        return True


def stored_score(value: object) -> int | None | str:
    """What an editor cell showed, as the database would hold it (an unreadable value stays a string)."""
    if is_blank(value):
        return None
    text = str(value).strip()
    try:
        number = float(text.replace(",", "."))
    except ValueError:
        return text
    return int(number) if number.is_integer() else text


def _assessment(session: Session, assessment_id: object, *, for_update: bool = False) -> Assessment:
    query = sa.select(Assessment).where(Assessment.id == as_uuid(assessment_id, not_found_key="focas.not_found"))
    if for_update:
        query = query.with_for_update()
    row = session.execute(query).scalars().first()
    if row is None:
        raise NotFound("focas.not_found", id=str(assessment_id))
    return row


def _require_edit(session: Session, actor: Actor, assessment: Assessment, reason: str | None) -> str | None:
    """Access check for a change; a validated assessment also needs a reason (returned cleaned)."""
    require_for_government(session, actor, "assessment.write", assessment.government_id, assessment.cluster_id)
    reason = clean_field(reason, field="focas.reason") or None
    if assessment.status == "validated" and not reason:
        raise ValidationFailed("focas.reason_required")
    return reason


def _scale(session: Session, assessment: Assessment) -> tuple[int, int]:
    instrument = session.get(Instrument, assessment.instrument_id)
    return instrument.scale_min, instrument.scale_max


# --- start or resume ------------------------------------------------------------------------


def instrument_for_baseline(session: Session, government_id: uuid.UUID) -> uuid.UUID:
    """The government's newest own FOCAS version if it has one, else the program default."""
    own = session.execute(
        sa.select(Instrument.id)
        .where(Instrument.kind == "focas", Instrument.government_id == government_id)
        .order_by(Instrument.version.desc())
    ).scalars().first()
    return own or default_instrument_id(session, "focas")


def start_assessment(
    *,
    session: Session,
    actor: Actor,
    government_id: object,
    cluster_id: object,
    round: str,
    workshop_date: date | None = None,
    place: str = "",
    facilitator: str = "",
) -> tuple[Assessment, bool]:
    """Open this government's assessment for the round, or resume the one that exists: (assessment, created).

    Midpoint and end reuse the instrument version of the government's baseline so they stay comparable.
    """
    if round not in ROUNDS:
        raise ValidationFailed("focas.bad_round", round=round)
    government_id = as_uuid(government_id, not_found_key="focas.unknown_government")
    cluster_id = as_uuid(cluster_id, not_found_key="focas.unknown_cluster")
    require(actor, "assessment.write", cluster_id=cluster_id)
    member = session.execute(
        sa.select(ClusterMember.id).where(
            ClusterMember.cluster_id == cluster_id, ClusterMember.government_id == government_id
        )
    ).first()
    if member is None:
        raise ValidationFailed("focas.not_member")
    existing = _existing(session, government_id, round)
    if existing is not None:
        return existing, False
    if round == "baseline":
        instrument_id = instrument_for_baseline(session, government_id)
    else:
        baseline = _existing(session, government_id, "baseline")
        if baseline is None:
            raise ValidationFailed("focas.baseline_first", round=round)
        instrument_id = baseline.instrument_id
    assessment = Assessment(
        government_id=government_id,
        cluster_id=cluster_id,
        round=round,
        instrument_id=instrument_id,
        workshop_date=workshop_date,
        place=clean_field(place, field="focas.workshop.place"),
        facilitator=clean_field(facilitator, field="focas.workshop.facilitator"),
    )
    try:
        with session.begin_nested():
            session.add(assessment)
            session.flush()
    except IntegrityError:
        # someone opened the same assessment a moment ago: resume theirs
        existing = _existing(session, government_id, round)
        if existing is None:
            raise
        return existing, False
    record(session, actor, "create", "assessment", assessment.id, after=assessment)
    return assessment, True


def _existing(session: Session, government_id: uuid.UUID, round: str) -> Assessment | None:
    return session.execute(
        sa.select(Assessment).where(Assessment.government_id == government_id, Assessment.round == round)
    ).scalars().first()


def update_details(
    *,
    session: Session,
    actor: Actor,
    assessment_id: object,
    workshop_date: date | None,
    place: str,
    facilitator: str,
    notes: str = "",
    expected_updated_at: datetime | None = None,
    reason: str | None = None,
) -> Assessment:
    """Date, place, facilitator and notes of the workshop."""
    assessment = _assessment(session, assessment_id, for_update=True)
    reason = _require_edit(session, actor, assessment, reason)
    if expected_updated_at is not None and assessment.updated_at != expected_updated_at:
        raise Conflict("focas.conflict_details")
    before = {k: getattr(assessment, k) for k in ("workshop_date", "place", "facilitator", "notes")}
    after = {
        "workshop_date": workshop_date,
        "place": clean_field(place, field="focas.workshop.place"),
        "facilitator": clean_field(facilitator, field="focas.workshop.facilitator"),
        "notes": clean_field(notes, field="focas.workshop.notes"),
    }
    if before == after:
        return assessment
    for key, value in after.items():
        setattr(assessment, key, value)
    assessment.updated_at = utcnow()
    session.flush()
    record(session, actor, "update", "assessment", assessment.id,
           before={"assessment_id": assessment.id, **before}, after={"assessment_id": assessment.id, **after},
           reason=reason)
    return assessment


# --- the government's own instrument version ------------------------------------------------


# An indicator the counterpart asked for; descriptors default to the scale's level names.
@dataclass
class CustomIndicator:
    area_code: str
    name_es: str
    name_en: str = ""
    descriptors: dict[int, str] = field(default_factory=dict)


def customise_instrument(
    *,
    session: Session,
    actor: Actor,
    assessment_id: object,
    area_codes: Sequence[str],
    new_indicators: Sequence[CustomIndicator] = (),
) -> Instrument:
    """Give the government its own instrument version: the agreed areas plus custom indicators.

    The new version (next FOCAS version number, ``based_on_id`` = the current one) replaces the
    assessment's; scores already entered move to the same indicator codes. Mandatory areas stay.
    """
    assessment = _assessment(session, assessment_id, for_update=True)
    require_for_government(session, actor, "assessment.write", assessment.government_id, assessment.cluster_id)
    if assessment.status != "draft":
        raise ValidationFailed("focas.instrument_locked")
    current_id = assessment.instrument_id
    current = read_focas(session, current_id)
    default = read_focas(session, default_instrument_id(session, "focas"))
    available = {area.code: area for area in default.areas}
    available.update({area.code: area for area in current.areas})
    chosen = list(dict.fromkeys(code.strip() for code in area_codes if code and code.strip()))
    unknown = [code for code in chosen if code not in available]
    if unknown:
        raise ValidationFailed("focas.unknown_area", area=", ".join(unknown))
    for mandatory in spec.MANDATORY_AREA_CODES:
        if mandatory not in chosen:
            raise ValidationFailed("focas.mandatory_area", area=available[mandatory].name.es
                                   if mandatory in available else mandatory)
    # the instrument's order (current first, then defaults brought back), not the click order
    order = [a.code for a in current.areas] + [a.code for a in default.areas if a.code not in current.area_codes()]
    chosen.sort(key=order.index)
    for new in new_indicators:
        if new.area_code not in chosen:
            raise ValidationFailed("focas.custom_area_not_chosen", area=new.area_code)
    removed = [code for code in current.area_codes() if code not in chosen]
    scored = _scored_area_codes(session, assessment, removed)
    if scored:
        raise ValidationFailed("focas.area_has_scores", area=", ".join(scored))
    if not removed and chosen == current.area_codes() and not new_indicators:
        raise ValidationFailed("focas.instrument_unchanged")

    all_codes = {code for area in available.values() for code in area.indicator_codes()}
    data = current.to_dict()
    data["areas"] = [available[code].to_dict() for code in chosen]
    custom_codes = set(_custom_codes(session, current_id))
    levels = {level.level: level.name for level in current.levels}
    for new in new_indicators:
        name_es = clean_field(new.name_es, field="focas.indicator.name")
        name_en = clean_field(new.name_en, field="focas.indicator.name") or name_es
        if not name_es:
            raise ValidationFailed("focas.custom_name_blank")
        number = 1
        while f"{new.area_code}-{CUSTOM_CODE_MARK}{number}" in all_codes:
            number += 1
        code = f"{new.area_code}-{CUSTOM_CODE_MARK}{number}"
        all_codes.add(code)
        custom_codes.add(code)
        descriptors = {}
        for level, name in levels.items():
            text = clean_field(new.descriptors.get(level), field="focas.indicator.descriptor")
            descriptors[str(level)] = {"es": text or name.es, "en": text or name.en}
        area = next(a for a in data["areas"] if a["code"] == new.area_code)
        area["indicators"].append({"code": code, "name": {"es": name_es, "en": name_en}, "descriptors": descriptors})
    data["version"] = _next_version(session, current.code)
    instrument = spec.parse_focas(data)
    row = store_focas(session, instrument, government_id=assessment.government_id, based_on_id=current_id,
                      custom_codes=frozenset(custom_codes))
    session.flush()
    _move_scores(session, assessment.id, current_id, row.id)
    before = {"assessment_id": assessment.id, "instrument_id": current_id, "version": current.version,
              "areas": current.area_codes()}
    assessment.instrument_id = row.id
    assessment.updated_at = utcnow()
    session.flush()
    record(session, actor, "customise_instrument", "assessment", assessment.id, before=before,
           after={"assessment_id": assessment.id, "instrument_id": row.id, "version": instrument.version,
                  "areas": chosen, "custom_indicators": sorted(custom_codes)})
    return row


def _custom_codes(session: Session, instrument_id: uuid.UUID) -> list[str]:
    return list(session.execute(
        sa.select(Indicator.code).join(FunctionalArea, FunctionalArea.id == Indicator.area_id)
        .where(FunctionalArea.instrument_id == instrument_id, Indicator.is_custom.is_(True))
    ).scalars())


def _next_version(session: Session, code: str) -> int:
    highest = session.execute(
        sa.select(sa.func.max(Instrument.version)).where(Instrument.kind == "focas", Instrument.code == code)
    ).scalar()
    return (highest or 0) + 1


def _indicator_ids(session: Session, instrument_id: uuid.UUID) -> dict[str, uuid.UUID]:
    rows = session.execute(
        sa.select(Indicator.code, Indicator.id).join(FunctionalArea, FunctionalArea.id == Indicator.area_id)
        .where(FunctionalArea.instrument_id == instrument_id)
    ).all()
    return {code: indicator_id for code, indicator_id in rows}


def _scored_area_codes(session: Session, assessment: Assessment, area_codes: list[str]) -> list[str]:
    if not area_codes:
        return []
    scored = set()
    for table in (ParticipantScore, ConsensusScore):
        scored |= set(session.execute(
            sa.select(FunctionalArea.code).distinct()
            .join(Indicator, Indicator.area_id == FunctionalArea.id)
            .join(table, table.indicator_id == Indicator.id)
            .where(table.assessment_id == assessment.id, FunctionalArea.code.in_(area_codes),
                   FunctionalArea.instrument_id == assessment.instrument_id)
        ).scalars())
    return sorted(scored)


def _move_scores(session: Session, assessment_id: uuid.UUID, old_id: uuid.UUID, new_id: uuid.UUID) -> None:
    """Re-point scores from one instrument version's indicators to the same codes in another."""
    old = {v: k for k, v in _indicator_ids(session, old_id).items()}
    new = _indicator_ids(session, new_id)
    for table in (ParticipantScore, ConsensusScore):
        for row_id, indicator_id in session.execute(
            sa.select(table.id, table.indicator_id).where(table.assessment_id == assessment_id)
        ).all():
            session.execute(sa.update(table).where(table.id == row_id)
                            .values(indicator_id=new[old[indicator_id]]))


# --- participants ---------------------------------------------------------------------------


# What the facilitator types about one person in the room.
@dataclass
class ParticipantInput:
    full_name: str = ""
    code: str = ""
    sex: str = "undisclosed"
    indigenous: str = "undisclosed"
    role: str = "other"
    organisation: str = ""


def _clean_participant(data: ParticipantInput) -> dict:
    for value, allowed, key in ((data.sex, SEXES, "focas.participant.bad_sex"),
                                (data.indigenous, INDIGENOUS, "focas.participant.bad_indigenous"),
                                (data.role, PARTICIPANT_ROLES, "focas.participant.bad_role")):
        if value not in allowed:
            raise ValidationFailed(key, value=value)
    return {
        "full_name": clean_field(data.full_name, field="focas.participant.full_name"),
        "code": clean_field(data.code, field="focas.participant.code"),
        "sex": data.sex,
        "indigenous": data.indigenous,
        "role": data.role,
        "organisation": clean_field(data.organisation, field="focas.participant.organisation"),
    }


def add_participant(
    *, session: Session, actor: Actor, assessment_id: object, data: ParticipantInput, reason: str | None = None,
    participant_id: uuid.UUID | None = None,
) -> Participant:
    """Add a person to the room; without a code they get the next anonymous one (P01, P02, ...).

    ``participant_id`` is the id the browser gave a person typed into the register, so a re-sent
    entry finds the person it already created.
    """
    assessment = _assessment(session, assessment_id, for_update=True)
    reason = _require_edit(session, actor, assessment, reason)
    values = _clean_participant(data)
    existing = session.execute(
        sa.select(Participant.code, Participant.position).where(Participant.assessment_id == assessment.id)
    ).all()
    codes = {code.upper() for code, _ in existing}
    if not values["code"]:
        number = len(existing) + 1
        while f"P{number:02d}" in codes:
            number += 1
        values["code"] = f"P{number:02d}"
    elif values["code"].upper() in codes:
        raise ValidationFailed("focas.participant.duplicate_code", code=values["code"])
    position = max((p for _, p in existing), default=0) + 1
    participant = Participant(assessment_id=assessment.id, position=position, **values)
    if participant_id is not None:
        participant.id = participant_id
    session.add(participant)
    session.flush()
    record(session, actor, "create", "participant", participant.id, after=participant, reason=reason)
    return participant


def update_participant(
    *,
    session: Session,
    actor: Actor,
    participant_id: object,
    data: ParticipantInput,
    expected_updated_at: datetime | None = None,
    reason: str | None = None,
) -> Participant:
    participant = session.get(Participant, as_uuid(participant_id, not_found_key="focas.participant.not_found"))
    if participant is None:
        raise NotFound("focas.participant.not_found", id=str(participant_id))
    assessment = _assessment(session, participant.assessment_id, for_update=True)
    reason = _require_edit(session, actor, assessment, reason)
    if expected_updated_at is not None and participant.updated_at != expected_updated_at:
        raise Conflict("focas.conflict_participant", participant=participant.code)
    values = _clean_participant(data)
    values["code"] = values["code"] or participant.code
    if values["code"].upper() != participant.code.upper():
        clash = session.execute(
            sa.select(Participant.id).where(Participant.assessment_id == assessment.id,
                                            sa.func.upper(Participant.code) == values["code"].upper())
        ).first()
        if clash:
            raise ValidationFailed("focas.participant.duplicate_code", code=values["code"])
    before = {"assessment_id": assessment.id, **{k: getattr(participant, k) for k in values}}
    if all(before[k] == v for k, v in values.items()):
        return participant
    for key, value in values.items():
        setattr(participant, key, value)
    participant.updated_at = utcnow()
    session.flush()
    record(session, actor, "update", "participant", participant.id, before=before,
           after={"assessment_id": assessment.id, **values}, reason=reason)
    return participant


def remove_participant(*, session: Session, actor: Actor, participant_id: object, reason: str | None = None) -> None:
    """Take a person (and their scores) out of the assessment; the audit log keeps what they had."""
    participant = session.get(Participant, as_uuid(participant_id, not_found_key="focas.participant.not_found"))
    if participant is None:
        raise NotFound("focas.participant.not_found", id=str(participant_id))
    assessment = _assessment(session, participant.assessment_id, for_update=True)
    reason = _require_edit(session, actor, assessment, reason)
    score_rows = [
        {**full_image(row), "indicator": code} for row, code in session.execute(
            sa.select(ParticipantScore, Indicator.code).join(Indicator, Indicator.id == ParticipantScore.indicator_id)
            .where(ParticipantScore.participant_id == participant.id)
        ).all()
    ]
    scores = {row["indicator"]: row["score"] for row in score_rows}
    # the complete rows (ids and stamps) let restore_participant bring them back as they were
    before = {**full_image(participant), "scores": scores, "score_rows": score_rows}
    session.execute(sa.delete(ParticipantScore).where(ParticipantScore.participant_id == participant.id))
    session.delete(participant)
    session.flush()
    record(session, actor, "delete", "participant", participant.id, before=before, reason=reason)


def restore_participant(*, session: Session, actor: Actor, participant_id: object,
                        reason: str | None = None) -> Participant:
    """Undo a removal: the person comes back with the same id, position and scores (the same score ids).

    One transaction, recorded as ``restore``. The rules of a removal apply (a validated assessment needs a
    reason); refused when someone took the person's code meanwhile or an indicator they scored is gone.
    """
    participant_id = as_uuid(participant_id, not_found_key="focas.participant.not_found")
    image = removed_image(session, Participant, "participant", participant_id)
    assessment = _assessment(session, image["assessment_id"], for_update=True)
    reason = _require_edit(session, actor, assessment, reason)
    if "score_rows" not in image and image.get("scores"):
        raise ValidationFailed("removals.image_incomplete")
    clash = session.execute(
        sa.select(Participant.id).where(Participant.assessment_id == assessment.id,
                                        sa.func.upper(Participant.code) == str(image["code"]).upper())
    ).first()
    if clash:
        raise Conflict("removals.participant.code_taken", code=image["code"])
    indicators = _indicator_ids(session, assessment.instrument_id)  # scores follow their codes to a new version
    score_rows = image.get("score_rows", [])
    gone = sorted({row["indicator"] for row in score_rows if row["indicator"] not in indicators})
    if gone:
        raise Conflict("removals.participant.indicator_gone", codes=", ".join(gone))
    participant = rebuild(Participant, image)
    session.add(participant)
    session.flush()
    for row in score_rows:
        session.add(rebuild(ParticipantScore, row, assessment_id=assessment.id, participant_id=participant.id,
                            indicator_id=indicators[row["indicator"]]))
    session.flush()
    record(session, actor, "restore", "participant", participant.id, reason=reason,
           after={**full_image(participant), "scores": {row["indicator"]: row["score"] for row in score_rows}})
    return participant


# What a participant list import did: the codes added, in list order.
@dataclass(frozen=True)
class ImportReport:
    codes: list[str]


class ImportRefused(ValidationFailed):
    """A participant list with bad rows: every problem (line, catalog key, params); nothing was written."""

    def __init__(self, problems: Sequence[tuple[int, str, dict]]) -> None:
        super().__init__("participant_import.refused", n=len({line for line, _, _ in problems}))
        self.problems = list(problems)

    def lines(self, lang: str = "es") -> list[tuple[int, str]]:
        from assessments.i18n import translate

        return [(line, translate(key, lang, line=line, **text_rules.labelled(key, params, lang)))
                for line, key, params in self.problems]

    def message(self, lang: str = "es") -> str:
        return "\n".join([super().message(lang), *(f"- {text}" for _, text in self.lines(lang))])


def import_participants(*, session: Session, actor: Actor, assessment_id: object, rows: Sequence,
                        source: str = "paste", reason: str | None = None) -> ImportReport:
    """Add a whole participant list (rows of :mod:`assessments.participant_list`) in one all-or-nothing step.

    Every row is checked first with the rules of :func:`add_participant`, plus: a row needs a name or a code,
    and a sex (a code, its Spanish or English label, or "prefiere no decir"); a code may not repeat in the
    list or name someone already in the room. Any bad row refuses the list with :class:`ImportRefused`
    naming each line; otherwise each person is added (and audited) and one ``import`` event sums it up.
    """
    from assessments import participant_list as plist

    assessment = _assessment(session, assessment_id, for_update=True)
    reason = _require_edit(session, actor, assessment, reason)
    taken = {code.upper() for code in session.execute(
        sa.select(Participant.code).where(Participant.assessment_id == assessment.id)).scalars()}
    problems: list[tuple[int, str, dict]] = []
    checked: list[tuple[int, ParticipantInput]] = []
    first_line: dict[str, int] = {}
    for number, row in enumerate(rows, start=1):
        if isinstance(row, plist.ListRow):
            number, values = row.line, row.values
        else:
            values = {k: "" if v is None else str(v) for k, v in dict(row).items()}
        before = len(problems)
        if values.get("_extra"):
            problems.append((number, "participant_import.extra_cells", {"n": values["_extra"]}))
        name, code = (values.get("full_name") or "").strip(), (values.get("code") or "").strip()
        if not name and not code:
            problems.append((number, "participant_import.no_name_or_code", {}))
        coded = {}
        for kind, default in (("sex", None), ("indigenous", "undisclosed"), ("role", "other")):
            typed = (values.get(kind) or "").strip()
            coded[kind] = plist.value_of(kind, typed) if typed else default
            if typed and coded[kind] is None:
                problems.append((number, f"participant_import.bad_{kind}", {"value": typed}))
            elif coded[kind] is None:
                problems.append((number, "participant_import.sex_missing", {}))
        if code:
            if code.upper() in taken:
                problems.append((number, "participant_import.code_exists", {"code": code}))
            elif code.upper() in first_line:
                problems.append((number, "participant_import.code_repeated",
                                 {"code": code, "first": first_line[code.upper()]}))
            else:
                first_line[code.upper()] = number
        if len(problems) > before:
            continue
        data = ParticipantInput(full_name=name, code=code, organisation=values.get("organisation") or "", **coded)
        try:
            _clean_participant(data)  # the register's own checks (lengths, allowed values)
        except ValidationFailed as error:
            problems.append((number, error.key, dict(error.params)))
            continue
        checked.append((number, data))
    if not checked and not problems:
        raise ValidationFailed("participant_import.nothing")
    if problems:
        raise ImportRefused(problems)
    # people without a code get the next free P-number, skipping every code of the list as well
    used = taken | set(first_line)
    number = len(taken) + 1
    for _, data in checked:
        if not data.code:
            while f"P{number:02d}" in used:
                number += 1
            data.code = f"P{number:02d}"
            used.add(data.code)
    codes = [add_participant(session=session, actor=actor, assessment_id=assessment.id, data=data,
                             reason=reason).code for _, data in checked]
    record(session, actor, "import", "participant", assessment.id, reason=reason,
           after={"assessment_id": assessment.id, "source": source, "n": len(codes), "codes": codes})
    return ImportReport(codes=codes)


# --- the score grid -------------------------------------------------------------------------


# What a grid save did.
@dataclass(frozen=True)
class EditResult:
    written: int
    unchanged: int


def _area_indicators(session: Session, assessment: Assessment, area_code: str) -> dict[str, uuid.UUID]:
    rows = session.execute(
        sa.select(Indicator.code, Indicator.id).join(FunctionalArea, FunctionalArea.id == Indicator.area_id)
        .where(FunctionalArea.instrument_id == assessment.instrument_id, FunctionalArea.code == area_code)
    ).all()
    if not rows:
        raise NotFound("focas.unknown_area", area=area_code)
    return {code: indicator_id for code, indicator_id in rows}


def check_score(value: object, *, scale_min: int, scale_max: int, participant: str, indicator: str) -> int | None:
    """One grid cell as a score (None when emptied); refuses with a message naming the cell."""
    if is_blank(value):
        return None
    try:
        return validate_score(value, scale_min=scale_min, scale_max=scale_max)
    except ValidationFailed as error:
        suffix = error.key.rsplit(".", 1)[-1]
        raise ValidationFailed(f"focas.grid.{suffix}", participant=participant, indicator=indicator,
                               value=value, min=scale_min, max=scale_max) from None


def invalid_cells(
    edited_rows: Mapping[object, Mapping[str, object]],
    *,
    scale_min: int,
    scale_max: int,
    labels: Mapping[object, str] | None = None,
) -> dict[tuple[str, str], ValidationFailed]:
    """The cells of a grid edit that are not scores, keyed (participant id, indicator code)."""
    bad = {}
    for participant_id, cells in edited_rows.items():
        for code, value in cells.items():
            try:
                check_score(value, scale_min=scale_min, scale_max=scale_max,
                            participant=(labels or {}).get(participant_id, str(participant_id)), indicator=code)
            except ValidationFailed as error:
                bad[(str(participant_id), code)] = error
    return bad


class StoredScore(NamedTuple):
    id: uuid.UUID
    score: int


class ScoreWrite(NamedTuple):
    """One participant score to write: ``row`` is what is stored (None: nothing), ``new`` None deletes it."""
    participant_id: uuid.UUID
    indicator_id: uuid.UUID
    row: StoredScore | None
    new: int | None
    snapshot: dict  # what the audit row names: assessment, area, participant code, indicator code


def stored_scores(session: Session, assessment_id: uuid.UUID, participant_ids, indicator_ids
                  ) -> dict[tuple[uuid.UUID, uuid.UUID], StoredScore]:
    """The stored scores of these cells, locked for this transaction (PostgreSQL), in one SELECT."""
    table = ParticipantScore.__table__
    rows = session.execute(
        sa.select(table.c.id, table.c.participant_id, table.c.indicator_id, table.c.score).where(
            table.c.assessment_id == assessment_id,
            table.c.participant_id.in_(list(participant_ids)),
            table.c.indicator_id.in_(list(indicator_ids)),
        ).with_for_update()
    ).all()
    return {(participant_id, indicator_id): StoredScore(row_id, score)
            for row_id, participant_id, indicator_id, score in rows}


def write_scores(session: Session, actor: Actor, assessment_id: uuid.UUID, writes: Sequence[ScoreWrite], *,
                 reason: str | None) -> None:
    """Store checked score writes in a few statements: one multi-row INSERT, one executemany UPDATE,
    one DELETE, and their audit rows (one per cell, one data-version bump) through ``record_many``.

    ORM objects of these rows already in the session are refreshed (updated) or dropped (deleted).
    Raises IntegrityError when another save inserted one of the cells meanwhile.
    """
    if not writes:
        return
    table = ParticipantScore.__table__
    stamp = utcnow()
    inserts, updates, deletes, events = [], [], [], []
    for write in writes:
        if write.row is None:
            row_id = uuid.uuid4()
            inserts.append({"id": row_id, "assessment_id": assessment_id, "participant_id": write.participant_id,
                            "indicator_id": write.indicator_id, "score": write.new, "created_at": stamp,
                            "updated_at": stamp})
            events.append({"action": "create", "entity": "participant_score", "entity_id": row_id,
                           "after": {**write.snapshot, "score": write.new}, "reason": reason})
        elif write.new is None:
            deletes.append(write.row.id)
            events.append({"action": "delete", "entity": "participant_score", "entity_id": write.row.id,
                           "before": {**write.snapshot, "score": write.row.score}, "reason": reason})
        else:
            updates.append({"row_id": write.row.id, "new_score": write.new, "stamp": stamp})
            events.append({"action": "update", "entity": "participant_score", "entity_id": write.row.id,
                           "before": {**write.snapshot, "score": write.row.score},
                           "after": {**write.snapshot, "score": write.new}, "reason": reason})
    session.flush()  # people typed into the register in the same transaction exist before their scores
    if inserts:
        session.execute(sa.insert(table), inserts)
    if updates:
        session.execute(sa.update(table).where(table.c.id == sa.bindparam("row_id"))
                        .values(score=sa.bindparam("new_score"), updated_at=sa.bindparam("stamp")), updates)
    if deletes:
        session.execute(sa.delete(table).where(table.c.id.in_(deletes)))
    touched, gone = {u["row_id"] for u in updates}, set(deletes)
    for held in [obj for obj in session.identity_map.values() if isinstance(obj, ParticipantScore)]:
        if held.id in gone:
            session.expunge(held)
        elif held.id in touched:
            session.expire(held)
    record_many(session, actor, events)


def apply_grid_edits(
    *,
    session: Session,
    actor: Actor,
    assessment_id: object,
    area_code: str,
    edited_rows: Mapping[object, Mapping[str, object]],
    expected: Mapping[object, Mapping[str, object]],
    reason: str | None = None,
) -> EditResult:
    """Write participants' scores of one area: ``{participant_id: {indicator_code: score or None}}``.

    Every cell is checked first (a bad one refuses the whole edit, naming participant and indicator).
    ``expected`` holds what the editor showed for each cell; a cell whose database value is neither
    that nor the new value was changed by someone else: :class:`Conflict`, nothing written.
    A cell already holding the new value is left alone, so re-sending an edit is harmless.
    """
    assessment = _assessment(session, assessment_id, for_update=True)
    reason = _require_edit(session, actor, assessment, reason)
    scale_min, scale_max = _scale(session, assessment)
    indicators = _area_indicators(session, assessment, area_code)
    participants = {
        row.id: row for row in session.execute(
            sa.select(Participant).where(Participant.assessment_id == assessment.id)
        ).scalars()
    }
    cells: dict[tuple[uuid.UUID, str], int | None] = {}
    for raw_id, row in edited_rows.items():
        participant_id = as_uuid(raw_id, not_found_key="focas.participant.not_found")
        participant = participants.get(participant_id)
        if participant is None:
            raise NotFound("focas.participant.not_found", id=str(raw_id))
        for code, value in row.items():
            if code not in indicators:
                raise ValidationFailed("focas.grid.unknown_indicator", indicator=code, area=area_code)
            cells[(participant_id, code)] = check_score(
                value, scale_min=scale_min, scale_max=scale_max, participant=participant.code, indicator=code
            )
    if not cells:
        return EditResult(0, 0)
    expected_cells = {
        (as_uuid(pid, not_found_key="focas.participant.not_found"), code): stored_score(value)
        for pid, row in expected.items() for code, value in row.items()
    }
    current = stored_scores(session, assessment.id, {pid for pid, _ in cells}, indicators.values())
    writes, conflicts, unchanged = [], [], 0
    for (participant_id, code), new in cells.items():
        row = current.get((participant_id, indicators[code]))
        now = row.score if row else None
        if now == new:
            unchanged += 1
        elif (participant_id, code) in expected_cells and expected_cells[(participant_id, code)] != now:
            conflicts.append(f"{participants[participant_id].code} · {code} = {'—' if now is None else now}")
        else:
            writes.append(ScoreWrite(participant_id, indicators[code], row, new, {
                "assessment_id": str(assessment.id), "area": area_code,
                "participant": participants[participant_id].code, "indicator": code}))
    if conflicts:
        raise Conflict("focas.conflict", cells="; ".join(conflicts[:5]), n=len(conflicts))
    try:
        write_scores(session, actor, assessment.id, writes, reason=reason)
    except IntegrityError:
        # another save inserted the same cell between our read and our write
        raise Conflict("focas.conflict", cells="—", n=len(writes)) from None
    return EditResult(written=len(writes), unchanged=unchanged)


# --- what the pages may offer ---------------------------------------------------------------


def read_only_reason(actor: Actor, action: str, *, government_id: object, cluster_id: object | None = None,
                     validated: bool = False) -> str | None:
    """The catalog key saying why ``actor`` only reads this government's data here, or None if they may edit.

    The same rule the services apply (:func:`require_for_government`); pages use it to hide write controls.
    """
    government_id = as_uuid(government_id, not_found_key="focas.unknown_government")
    with read_session() as session:
        candidates = ([as_uuid(cluster_id, not_found_key="focas.unknown_cluster")] if cluster_id else [])
        candidates += clusters_of(session, government_id)
    if not any(can(actor, action, cluster_id=c) for c in candidates):
        # the role may do this, only not here: a facilitator of another cluster
        return "focas.readonly.other_cluster" if actor.role in WRITE_ACTIONS[action] else "focas.readonly.role"
    if validated:
        return "focas.readonly.validated"
    return None


# --- consensus ------------------------------------------------------------------------------


CONSENSUS_FIELDS = ("score", "evidence")


def apply_consensus_edits(
    *,
    session: Session,
    actor: Actor,
    assessment_id: object,
    edits: Mapping[str, Mapping[str, object]],
    expected: Mapping[str, Mapping[str, object]],
    reason: str | None = None,
) -> EditResult:
    """Write agreed scores and evidence notes: ``{indicator_code: {"score": .., "evidence": ..}}``.

    Same rules as the grid: everything checked first, conflicts refused, re-sending is harmless.
    """
    assessment = _assessment(session, assessment_id, for_update=True)
    reason = _require_edit(session, actor, assessment, reason)
    scale_min, scale_max = _scale(session, assessment)
    indicators = _indicator_ids(session, assessment.instrument_id)
    changes: dict[str, dict[str, object]] = {}
    for code, fields in edits.items():
        if code not in indicators:
            raise ValidationFailed("focas.grid.unknown_indicator", indicator=code, area="—")
        clean: dict[str, object] = {}
        for name, value in fields.items():
            if name == "score":
                if is_blank(value):
                    clean["score"] = None
                else:
                    try:
                        clean["score"] = validate_score(value, scale_min=scale_min, scale_max=scale_max)
                    except ValidationFailed as error:
                        raise ValidationFailed(f"focas.consensus.{error.key.rsplit('.', 1)[-1]}", indicator=code,
                                               value=value, min=scale_min, max=scale_max) from None
            elif name == "evidence":
                clean["evidence"] = clean_field(value, field="focas.evidence")
            else:
                raise ValidationFailed("focas.consensus.unknown_field", field=name)
        if clean:
            changes[code] = clean
    if not changes:
        return EditResult(0, 0)
    current = {
        row.indicator_id: row for row in session.execute(
            sa.select(ConsensusScore).where(
                ConsensusScore.assessment_id == assessment.id,
                ConsensusScore.indicator_id.in_([indicators[c] for c in changes]),
            ).with_for_update()
        ).scalars()
    }
    writes, conflicts, unchanged = [], [], 0
    for code, clean in changes.items():
        row = current.get(indicators[code])
        now = {"score": row.score if row else None, "evidence": row.evidence if row else ""}
        shown = expected.get(code, {})
        new = {**now, **clean}
        if new == now:
            unchanged += 1
            continue
        for name, value in clean.items():
            if now[name] == value or name not in shown:
                continue
            was = stored_score(shown[name]) if name == "score" else text_rules.as_shown(shown[name])
            if was != now[name]:
                conflicts.append(f"{code} = {'—' if now[name] in (None, '') else now[name]}")
        writes.append((code, row, now, new))
    if conflicts:
        raise Conflict("focas.conflict", cells="; ".join(conflicts[:5]), n=len(conflicts))
    for code, row, now, new in writes:
        snapshot = {"assessment_id": assessment.id, "indicator": code}
        if row is None:
            row = ConsensusScore(assessment_id=assessment.id, indicator_id=indicators[code], **new)
            session.add(row)
            record(session, actor, "create", "consensus_score", row.id, after={**snapshot, **new}, reason=reason)
        else:
            record(session, actor, "update", "consensus_score", row.id, before={**snapshot, **now},
                   after={**snapshot, **new}, reason=reason)
            row.score, row.evidence = new["score"], new["evidence"]
    try:
        session.flush()
    except IntegrityError:
        raise Conflict("focas.conflict", cells="—", n=len(writes)) from None
    return EditResult(written=len(writes), unchanged=unchanged)


# --- validation -----------------------------------------------------------------------------


def validate_assessment(*, session: Session, actor: Actor, assessment_id: object) -> Assessment:
    """The facilitator closes the workshop: every indicator needs an agreed score. Then it is locked."""
    assessment = _assessment(session, assessment_id, for_update=True)
    require_for_government(session, actor, "assessment.validate", assessment.government_id, assessment.cluster_id)
    if assessment.status == "validated":
        raise ValidationFailed("focas.already_validated")
    n_participants = session.execute(
        sa.select(sa.func.count()).select_from(Participant).where(Participant.assessment_id == assessment.id)
    ).scalar_one()
    if n_participants == 0:
        raise ValidationFailed("focas.validate.no_participants")
    indicators = _indicator_ids(session, assessment.instrument_id)
    agreed = set(session.execute(
        sa.select(ConsensusScore.indicator_id).where(ConsensusScore.assessment_id == assessment.id,
                                                     ConsensusScore.score.is_not(None))
    ).scalars())
    missing = sorted(code for code, indicator_id in indicators.items() if indicator_id not in agreed)
    if missing:
        shown = ", ".join(missing[:6]) + (" …" if len(missing) > 6 else "")
        raise ValidationFailed("focas.validate.missing_consensus", n=len(missing), codes=shown)
    before = {"assessment_id": assessment.id, "status": assessment.status}
    assessment.status = "validated"
    assessment.validated_at = utcnow()
    assessment.validated_by = actor.username
    assessment.updated_at = utcnow()
    session.flush()
    record(session, actor, "validate", "assessment", assessment.id, before=before,
           after={"assessment_id": assessment.id, "status": "validated", "validated_by": actor.username})
    return assessment



# --- attendance -----------------------------------------------------------------------------


def attendance_warnings(counts: Mapping[str, Mapping[str, int]]) -> list[str]:
    """Catalog keys of who is missing from the room: women, indigenous people, civil society."""
    total = sum(counts.get("sex", {}).values())
    if total == 0:
        return []
    warnings = []
    if counts.get("sex", {}).get("female", 0) == 0:
        warnings.append("focas.attendance.no_women")
    if counts.get("indigenous", {}).get("yes", 0) == 0:
        warnings.append("focas.attendance.no_indigenous")
    if counts.get("role", {}).get("civil_society", 0) == 0:
        warnings.append("focas.attendance.no_civil_society")
    return warnings
