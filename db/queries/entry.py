"""What the browser entry surface is drawn with: one FOCAS assessment's people, scores and consensus."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from assessments import scoring
from assessments.access import Actor
from db.engine import read_session
from db.queries import scope
from db.models import Assessment, ConsensusScore, FunctionalArea, Indicator, Instrument, Participant, ParticipantScore


def _number(value):
    return None if value is None else round(float(value), 2)


def workshop_sheet(actor: Actor, assessment_id: uuid.UUID) -> dict:
    """Every participant, every stored score and the consensus column of every indicator (JSON-ready).

    ``scores`` is keyed ``"<participant id>|<indicator code>"``; ``consensus`` per indicator code holds
    the agreed score (``a``), the evidence (``e``) and the spread of the individual scores. Only for an
    assessment of ``actor``'s clusters; people's names and codes only for who reads names (evaluators
    get pseudonyms).
    """
    with read_session() as session:
        scope.require_assessment(session, actor, assessment_id)
        scale = session.execute(
            sa.select(Instrument.scale_min, Instrument.scale_max)
            .join(Assessment, Assessment.instrument_id == Instrument.id).where(Assessment.id == assessment_id)
        ).first()
        people = session.execute(
            sa.select(Participant.id, Participant.code, Participant.full_name)
            .where(Participant.assessment_id == assessment_id).order_by(Participant.position, Participant.code)
        ).all()
        codes = dict(session.execute(
            sa.select(Indicator.id, Indicator.code).join(FunctionalArea, FunctionalArea.id == Indicator.area_id)
            .join(Assessment, Assessment.instrument_id == FunctionalArea.instrument_id)
            .where(Assessment.id == assessment_id)
        ).all())
        scores = session.execute(
            sa.select(ParticipantScore.participant_id, ParticipantScore.indicator_id, ParticipantScore.score)
            .where(ParticipantScore.assessment_id == assessment_id)
        ).all()
        agreed = session.execute(
            sa.select(ConsensusScore.indicator_id, ConsensusScore.score, ConsensusScore.evidence)
            .where(ConsensusScore.assessment_id == assessment_id)
        ).all()
    by_indicator: dict[str, list[int]] = {}
    cells = {}
    for participant_id, indicator_id, score in scores:
        code = codes.get(indicator_id)
        if code is None:
            continue
        cells[f"{participant_id}|{code}"] = score
        by_indicator.setdefault(code, []).append(score)
    consensus = {}
    scale_min, scale_max = (scale.scale_min, scale.scale_max) if scale else (scoring.SCALE_MIN, scoring.SCALE_MAX)
    agreed_by_code = {codes[i]: (s, e) for i, s, e in agreed if i in codes}
    for code in codes.values():
        values = by_indicator.get(code, [])
        summary = scoring.spread(values)
        score, evidence = agreed_by_code.get(code, (None, ""))
        consensus[code] = {
            "a": score, "e": evidence or "", "n": summary.n, "median": _number(scoring.suggest_consensus(values)),
            "iqr": _number(summary.iqr), "min": summary.min, "max": summary.max,
            "wide": bool(scoring.is_wide_disagreement(values, scale_min=scale_min, scale_max=scale_max)),
        }
    if not scope.sees_names(actor):
        secret = scope.pseudonym_secret()
        people = [(pid, scope.pseudonym(secret, "participant", pid), "") for pid, _, _ in people]
    return {
        "participants": [{"id": str(pid), "code": code, "name": name or ""} for pid, code, name in people],
        "scores": cells,
        "consensus": consensus,
        "scale": [scale_min, scale_max],
    }
