"""The browser entry surface's batches: typed cells applied once, each cell answered on its own.

The workshop page's entry surface (pages/_entry.py, pages/components/entry_grid.js) keeps every typed
cell in the browser's storage until the server answers it. It sends the cells in small batches,
each with an id of its own, and re-sends a batch it has no answer for (after a reload, a dropped
connection or a server restart). Rules, tested in tests/test_entry_batches.py:

- a batch is applied in one transaction: every accepted cell of it is written with its audit row,
  or (on a database fault) nothing is;
- each cell carries the value it replaces (``expected``); a cell whose stored value is neither that
  nor the new value was changed by someone else: that cell is refused as a *conflict* with the
  stored value, and the rest of the batch still lands;
- a value off the instrument's scale, an unknown indicator or a removed participant refuses that
  cell only; an assessment the actor may not change (role, cluster, validated without a reason)
  refuses the whole batch, and nothing is kept, so the browser re-sends it once it is allowed;
- the batch id and its answer are stored with the writes: the same batch applied twice returns the
  first answer and changes nothing.

Cells are named by strings: ``s|<participant id>|<indicator code>`` (a participant's score),
``a|<indicator code>`` (the agreed score), ``e|<indicator code>`` (the evidence note) and
``p|<new participant id>`` (a participant typed into the register; the value is a mapping).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from assessments import focas
from assessments.access import Actor
from assessments.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from assessments.i18n import translate
from assessments.text import as_shown, clean_field
from db.audit import record
from db.models import ConsensusScore, FunctionalArea, Indicator, Participant
from db.models.entry import EntryBatch

MAX_CELLS = 500          # one batch; the browser sends at most 200
SAVED = "saved"
REFUSED = "refused"
# why a cell was refused (the browser shows the message on the cell, keeps it, and re-sends "busy" ones)
SCALE, CONFLICT, LOCKED, GONE, INVALID, BUSY = "scale", "conflict", "locked", "gone", "invalid", "busy"


@dataclass(frozen=True)
class CellEdit:
    cell: str
    value: object
    expected: object = None


def parse_edits(raw: object) -> list[CellEdit]:
    """The edits of a batch as the browser sent them (``[{"c": cell, "v": value, "x": expected}]``)."""
    if not isinstance(raw, Sequence) or isinstance(raw, (str, bytes)):
        raise ValidationFailed("entry.bad_batch")
    edits = []
    for item in raw:
        if not isinstance(item, Mapping) or not isinstance(item.get("c"), str):
            raise ValidationFailed("entry.bad_batch")
        edits.append(CellEdit(cell=item["c"], value=item.get("v"), expected=item.get("x")))
    if len(edits) > MAX_CELLS:
        raise ValidationFailed("entry.too_many", n=len(edits), max=MAX_CELLS)
    return edits


def _refused(reason: str, message: str, current: object = None) -> dict:
    return {"status": REFUSED, "reason": reason, "message": message, "current": current}


def _saved(value: object) -> dict:
    return {"status": SAVED, "current": value}


def stored_answer(session: Session, batch_id: uuid.UUID) -> dict | None:
    row = session.get(EntryBatch, batch_id)
    return None if row is None else {"batch": str(batch_id), "replayed": True, "cells": json.loads(row.result_json)}


def fault_kind(error: BaseException) -> str:
    """Which database fault stopped a save: locked, read_only, full or other (the entry.fault.* message).

    The one classifier is db.faults.kind; a lock, a conflict and a timeout all read "busy" here.
    """
    from db import faults

    found = faults.kind(error) or "other"
    return {"conflict": "locked", "timeout": "locked", "unavailable": "other"}.get(found, found)


def busy_answer(batch_id: object, edits: Sequence[CellEdit], error: BaseException, lang: str) -> dict:
    """A batch the database did not take: every cell waits (the browser re-sends it later)."""
    message = translate(f"entry.fault.{fault_kind(error)}", lang)
    return {"batch": str(batch_id), "replayed": False,
            "cells": {edit.cell: _refused(BUSY, message) for edit in edits}}


def batch_refused(batch_id: object, edits: Sequence[CellEdit], error: DomainError, lang: str) -> dict:
    """A batch refused as a whole (role, cluster, validated assessment): nothing written, nothing kept."""
    return {"batch": str(batch_id), "replayed": False,
            "cells": {edit.cell: _refused(LOCKED, error.message(lang)) for edit in edits}}


def apply_batch(
    *,
    session: Session,
    actor: Actor,
    assessment_id: object,
    batch_id: object,
    edits: Sequence[CellEdit],
    reason: str | None = None,
    lang: str = "es",
) -> dict:
    """Apply one batch of typed cells to a FOCAS assessment; ``{"batch", "replayed", "cells": {cell: answer}}``.

    Raises the DomainError of an assessment the actor may not change (nothing written); database
    faults propagate to the caller, who rolls back and answers every cell "busy".
    """
    batch_uuid = focas.as_uuid(batch_id, not_found_key="entry.bad_batch")
    stored = stored_answer(session, batch_uuid)
    if stored is not None:
        return stored
    if session.get_bind().dialect.name == "postgresql":
        # a save waits at most this long behind another transaction, then the browser re-sends it
        session.execute(sa.text("SET LOCAL lock_timeout = '5s'"))
    assessment = focas._assessment(session, assessment_id, for_update=True)
    # another process may have stored the batch while we waited for the lock
    stored = stored_answer(session, batch_uuid)
    if stored is not None:
        return stored
    reason = focas._require_edit(session, actor, assessment, reason)
    scale_min, scale_max = focas._scale(session, assessment)
    indicators = {code: (indicator_id, area) for code, indicator_id, area in session.execute(
        sa.select(Indicator.code, Indicator.id, FunctionalArea.code)
        .join(FunctionalArea, FunctionalArea.id == Indicator.area_id)
        .where(FunctionalArea.instrument_id == assessment.instrument_id)
    ).all()}
    participants = {row.id: row for row in session.execute(
        sa.select(Participant).where(Participant.assessment_id == assessment.id)).scalars()}
    answers: dict[str, dict] = {}

    def refuse(edit: CellEdit, key: str, why: str, current: object = None, **params: object) -> None:
        answers[edit.cell] = _refused(why, translate(key, lang, **params), current)

    # people first, so a batch may name someone typed into the register just before
    for edit in edits:
        if edit.cell.startswith("p|"):
            _add_person(session, actor, assessment, participants, edit, reason, answers, lang)

    scores: dict[tuple[uuid.UUID, uuid.UUID], CellEdit] = {}
    agreed: dict[uuid.UUID, dict[str, CellEdit]] = {}
    for edit in edits:
        kind, _, rest = edit.cell.partition("|")
        if kind == "p":
            continue
        if kind == "s":
            raw_participant, _, code = rest.partition("|")
            try:
                participant_id = uuid.UUID(raw_participant)
            except ValueError:
                refuse(edit, "entry.unknown_cell", INVALID, cell=edit.cell)
                continue
            if participant_id not in participants:
                refuse(edit, "entry.participant_gone", GONE)
                continue
            if code not in indicators:
                refuse(edit, "entry.unknown_indicator", INVALID, indicator=code)
                continue
            try:
                focas.check_score(edit.value, scale_min=scale_min, scale_max=scale_max,
                                  participant=participants[participant_id].code, indicator=code)
            except ValidationFailed:
                refuse(edit, "entry.off_scale", SCALE, value=edit.value, min=scale_min, max=scale_max)
                continue
            scores[(participant_id, indicators[code][0])] = edit
        elif kind in ("a", "e"):
            if rest not in indicators:
                refuse(edit, "entry.unknown_indicator", INVALID, indicator=rest)
                continue
            if kind == "a" and not focas.is_blank(edit.value):
                try:
                    focas.check_score(edit.value, scale_min=scale_min, scale_max=scale_max, participant="—",
                                      indicator=rest)
                except ValidationFailed:
                    refuse(edit, "entry.off_scale", SCALE, value=edit.value, min=scale_min, max=scale_max)
                    continue
            if kind == "e":
                try:
                    clean_field(edit.value, field="focas.evidence")
                except ValidationFailed as error:
                    answers[edit.cell] = _refused(INVALID, error.message(lang))
                    continue
            agreed.setdefault(indicators[rest][0], {})[kind] = edit
        else:
            refuse(edit, "entry.unknown_cell", INVALID, cell=edit.cell)

    codes_by_id = {indicator_id: (code, area) for code, (indicator_id, area) in indicators.items()}
    _write_scores(session, actor, assessment, participants, codes_by_id, scores, reason, answers, lang)
    _write_consensus(session, actor, assessment, codes_by_id, agreed, reason, answers, lang)
    session.flush()
    session.add(EntryBatch(id=batch_uuid, scope_id=assessment.id, actor=actor.username, n_cells=len(edits),
                           result_json=json.dumps(answers, ensure_ascii=False)))
    session.flush()
    return {"batch": str(batch_uuid), "replayed": False, "cells": answers}


def _add_person(session, actor, assessment, participants, edit: CellEdit, reason, answers, lang) -> None:
    try:
        participant_id = uuid.UUID(edit.cell[2:])
    except ValueError:
        answers[edit.cell] = _refused(INVALID, translate("entry.unknown_cell", lang, cell=edit.cell))
        return
    value = edit.value if isinstance(edit.value, Mapping) else {}
    if participant_id in participants:  # typed before, the answer was lost: it is there
        answers[edit.cell] = _saved({"code": participants[participant_id].code})
        return
    try:
        data = focas.ParticipantInput(
            full_name=str(value.get("full_name") or ""), code=str(value.get("code") or ""),
            sex=str(value.get("sex") or ""), indigenous=str(value.get("indigenous") or "undisclosed"),
            role=str(value.get("role") or "official"), organisation=str(value.get("organisation") or ""))
        if not data.full_name.strip() and not data.code.strip():
            raise ValidationFailed("focas.participant.name_or_code")
        if not data.sex:
            raise ValidationFailed("focas.participant.sex_required")
        with session.begin_nested():
            person = focas.add_participant(session=session, actor=actor, assessment_id=assessment.id, data=data,
                                           reason=reason, participant_id=participant_id)
    except DomainError as error:
        answers[edit.cell] = _refused(INVALID, error.message(lang))
        return
    participants[person.id] = person
    answers[edit.cell] = _saved({"code": person.code})


def _answered_already(edit: CellEdit, now: object, new: object, answers: dict, lang: str) -> bool:
    """A cell already holding the new value is saved; one changed meanwhile by someone else is a conflict."""
    if now == new:
        answers[edit.cell] = _saved(now)
        return True
    if focas.stored_score(edit.expected) != now:
        answers[edit.cell] = _refused(CONFLICT, translate(
            "entry.conflict", lang, theirs="—" if now is None else now, mine="—" if new is None else new), now)
        return True
    return False


def _write_scores(session, actor, assessment, participants, codes_by_id, scores, reason, answers, lang) -> None:
    if not scores:
        return
    # one SELECT for the stored cells, then one statement per kind of write (focas.write_scores)
    current = focas.stored_scores(session, assessment.id, {pid for pid, _ in scores}, {iid for _, iid in scores})
    writes: list[focas.ScoreWrite] = []
    for (participant_id, indicator_id), edit in scores.items():
        new = focas.stored_score(edit.value)
        row = current.get((participant_id, indicator_id))
        now = row.score if row else None
        if _answered_already(edit, now, new, answers, lang):
            continue
        code, area = codes_by_id[indicator_id]
        writes.append(focas.ScoreWrite(participant_id, indicator_id, row, new, {
            "assessment_id": str(assessment.id), "area": area, "participant": participants[participant_id].code,
            "indicator": code}))
        answers[edit.cell] = _saved(new)
    # one audit row per cell, one data-version bump per batch
    focas.write_scores(session, actor, assessment.id, writes, reason=reason)


def _write_consensus(session, actor, assessment, codes_by_id, agreed, reason, answers, lang) -> None:
    if not agreed:
        return
    current = {row.indicator_id: row for row in session.execute(
        sa.select(ConsensusScore).where(ConsensusScore.assessment_id == assessment.id,
                                        ConsensusScore.indicator_id.in_(list(agreed))).with_for_update()).scalars()}
    for indicator_id, fields in agreed.items():
        row = current.get(indicator_id)
        now = {"a": row.score if row else None, "e": row.evidence if row else ""}
        new = dict(now)
        for kind, edit in fields.items():
            value = focas.stored_score(edit.value) if kind == "a" else clean_field(edit.value, field="focas.evidence")
            expected = focas.stored_score(edit.expected) if kind == "a" else as_shown(edit.expected)
            if value != now[kind] and expected != now[kind]:
                shown = "—" if now[kind] in (None, "") else now[kind]
                answers[edit.cell] = _refused(CONFLICT, translate(
                    "entry.conflict", lang, theirs=shown, mine="—" if value in (None, "") else value), now[kind])
                continue
            new[kind] = value
            answers[edit.cell] = _saved(value)
        if new == now:
            continue
        code, _ = codes_by_id[indicator_id]
        snapshot = {"assessment_id": assessment.id, "indicator": code}
        after = {**snapshot, "score": new["a"], "evidence": new["e"]}
        if row is None:
            row = ConsensusScore(assessment_id=assessment.id, indicator_id=indicator_id, score=new["a"],
                                 evidence=new["e"])
            session.add(row)
            record(session, actor, "create", "consensus_score", row.id, after=after, reason=reason)
        else:
            record(session, actor, "update", "consensus_score", row.id,
                   before={**snapshot, "score": now["a"], "evidence": now["e"]}, after=after, reason=reason)
            row.score, row.evidence = new["a"], new["e"]


def apply_questionnaire_batch(
    *,
    session: Session,
    actor: Actor,
    audit_id: object,
    batch_id: object,
    edits: Sequence[CellEdit],
    reason: str | None = None,
    lang: str = "es",
) -> dict:
    """Apply questionnaires typed into a QSIP audit's entry surface: ``r|<new respondent id>`` cells.

    Each questionnaire is saved whole (respondent and ratings) or refused whole with the reason;
    a questionnaire sent again finds the respondent it created. Same batch rules as :func:`apply_batch`
    (a validated audit without a ``reason`` refuses the whole batch, which the browser keeps).
    """
    from assessments import qsip
    from db.models import Respondent, ServiceAudit

    batch_uuid = focas.as_uuid(batch_id, not_found_key="entry.bad_batch")
    stored = stored_answer(session, batch_uuid)
    if stored is not None:
        return stored
    audit_uuid = focas.as_uuid(audit_id, not_found_key="entry.bad_batch")
    audit = session.get(ServiceAudit, audit_uuid)
    if audit is None:
        raise NotFound("qsip.audit.not_found")
    reason = qsip.require_change(session, actor, audit, reason)
    answers: dict[str, dict] = {}
    corrections = [edit for edit in edits if edit.cell.startswith("q|")]
    if corrections:
        _correct_ratings(session, actor, audit_uuid, corrections, answers, lang, reason)
    for edit in edits:
        kind, _, raw = edit.cell.partition("|")
        if kind == "q":
            continue
        try:
            respondent_id = uuid.UUID(raw) if kind == "r" else None
        except ValueError:
            respondent_id = None
        if respondent_id is None:
            answers[edit.cell] = _refused(INVALID, translate("entry.unknown_cell", lang, cell=edit.cell))
            continue
        existing = session.get(Respondent, respondent_id)
        if existing is not None:
            answers[edit.cell] = _saved({"code": existing.code})
            continue
        value = edit.value if isinstance(edit.value, Mapping) else {}
        ratings = value.get("ratings") if isinstance(value.get("ratings"), Mapping) else {}
        data = qsip.RespondentInput(
            respondent_type=value.get("respondent_type") or None, sex=value.get("sex") or "undisclosed",
            indigenous=value.get("indigenous") or "undisclosed", locality=str(value.get("locality") or ""),
            code=str(value.get("code") or ""), ratings=dict(ratings))
        try:
            with session.begin_nested():
                row = qsip.add_respondent(session=session, actor=actor, audit_id=audit_uuid, data=data,
                                          respondent_id=respondent_id, reason=reason)
        except PermissionDenied:
            raise
        except DomainError as error:
            answers[edit.cell] = _refused(INVALID, error.message(lang))
            continue
        answers[edit.cell] = _saved({"code": row.code})
    session.add(EntryBatch(id=batch_uuid, scope_id=audit_uuid, actor=actor.username, n_cells=len(edits),
                           result_json=json.dumps(answers, ensure_ascii=False)))
    session.flush()
    return {"batch": str(batch_uuid), "replayed": False, "cells": answers}


def _correct_ratings(session, actor, audit_id: uuid.UUID, edits: Sequence[CellEdit], answers: dict, lang: str,
                     reason: str | None = None) -> None:
    """``q|<respondent id>|<item code>`` cells: a rating corrected (or cleared) in the questionnaire grid."""
    from assessments import qsip
    from assessments.qsip_summary import validate_rating
    from db.models import FeedbackDimension, FeedbackItem, FeedbackRating, Respondent, ServiceAudit

    audit = session.get(ServiceAudit, audit_id)
    reason = qsip.require_change(session, actor, audit, reason)
    items = dict(session.execute(
        sa.select(FeedbackItem.code, FeedbackItem.id).join(FeedbackDimension, FeedbackDimension.id == FeedbackItem.dimension_id)
        .where(FeedbackDimension.instrument_id == audit.instrument_id)).all())
    people = {row.id: row for row in session.execute(
        sa.select(Respondent).where(Respondent.audit_id == audit_id)).scalars()}
    current = {(row.respondent_id, row.item_id): row for row in session.execute(
        sa.select(FeedbackRating).join(Respondent, Respondent.id == FeedbackRating.respondent_id)
        .where(Respondent.audit_id == audit_id).with_for_update()).scalars()}
    for edit in edits:
        _, raw, code = edit.cell.split("|", 2) if edit.cell.count("|") == 2 else ("q", "", "")
        try:
            respondent_id = uuid.UUID(raw)
        except ValueError:
            answers[edit.cell] = _refused(INVALID, translate("entry.unknown_cell", lang, cell=edit.cell))
            continue
        if respondent_id not in people:
            answers[edit.cell] = _refused(GONE, translate("entry.respondent_gone", lang))
            continue
        if code not in items:
            answers[edit.cell] = _refused(INVALID, translate("entry.unknown_indicator", lang, indicator=code))
            continue
        try:
            new = None if focas.is_blank(edit.value) else validate_rating(edit.value)
        except ValidationFailed:
            answers[edit.cell] = _refused(SCALE, translate("entry.off_scale", lang, value=edit.value, min=1, max=5))
            continue
        row = current.get((respondent_id, items[code]))
        now = row.rating if row else None
        if _answered_already(edit, now, new, answers, lang):
            continue
        remaining = sum(1 for (rid, _), r in current.items() if rid == respondent_id and r is not None)
        if new is None and row is not None and remaining <= 1:
            answers[edit.cell] = _refused(INVALID, translate("qsip.respondent.no_ratings", lang))
            continue
        snapshot = {"audit_id": audit_id, "respondent": str(respondent_id), "item": code}
        if row is None:
            row = FeedbackRating(respondent_id=respondent_id, item_id=items[code], rating=new)
            session.add(row)
            current[(respondent_id, items[code])] = row
        elif new is None:
            session.delete(row)
            current[(respondent_id, items[code])] = None
        else:
            row.rating = new
        record(session, actor, "update", "respondent", respondent_id, before={**snapshot, "rating": now},
               after={**snapshot, "rating": new}, reason=reason)
        answers[edit.cell] = _saved(new)
    session.flush()


def run_batch(write, *, batch_id: object, edits: Sequence[CellEdit], lang: str, apply) -> dict:
    """Apply a batch through ``write`` (a retrying write unit, e.g. db.engine.run_write) and always answer.

    A refused assessment answers every cell "locked"; a database fault (locked, read-only, full, lock
    timeout) answers every cell "busy" with a translated message. Nothing of the batch is written then.
    """
    try:
        return write(apply)
    except (PermissionDenied, ValidationFailed, NotFound) as error:
        return batch_refused(batch_id, edits, error, lang)
    except DomainError as error:
        return batch_refused(batch_id, edits, error, lang)
    except DBAPIError as error:
        return busy_answer(batch_id, edits, error, lang)
