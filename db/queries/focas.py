"""Read queries of FOCAS workshops, targets and capacity-building plans (counts and joins in SQL)."""

from __future__ import annotations

import json
import uuid

import pandas as pd
import sqlalchemy as sa

from assessments import scoring
from assessments.access import Actor
from db.engine import read_session
from db.instruments import read_focas
from db.models import (
    Assessment,
    AuditEvent,
    CapacityPlanItem,
    Cluster,
    ConsensusScore,
    FunctionalArea,
    Government,
    Indicator,
    Instrument,
    Participant,
    ParticipantScore,
    PerformanceTarget,
)
from db.models.base import INDIGENOUS, PARTICIPANT_ROLES, SEXES
from db.queries import scope

ROUND_ORDER = {"baseline": 0, "midpoint": 1, "end": 2}


def government_assessments(actor: Actor, government_id: uuid.UUID) -> pd.DataFrame:
    """The government's assessments ``actor`` reads, one row per round, with how much of each is filled in."""
    n_participants = (
        sa.select(sa.func.count()).where(Participant.assessment_id == Assessment.id).correlate(Assessment)
        .scalar_subquery()
    )
    n_scores = (
        sa.select(sa.func.count()).where(ParticipantScore.assessment_id == Assessment.id).correlate(Assessment)
        .scalar_subquery()
    )
    n_consensus = (
        sa.select(sa.func.count()).where(ConsensusScore.assessment_id == Assessment.id,
                                         ConsensusScore.score.is_not(None)).correlate(Assessment)
        .scalar_subquery()
    )
    query = (
        sa.select(Assessment.id, Assessment.round, Assessment.status, Assessment.workshop_date, Assessment.place,
                  Assessment.facilitator, Instrument.version.label("instrument_version"),
                  n_participants.label("n_participants"), n_scores.label("n_scores"),
                  n_consensus.label("n_consensus"))
        .join(Instrument, Instrument.id == Assessment.instrument_id)
        .where(Assessment.government_id == government_id)
    )
    query = scope.where(query, scope.assessment_condition(actor))
    with read_session() as session:
        rows = session.execute(query).all()
    frame = pd.DataFrame(rows, columns=["id", "round", "status", "workshop_date", "place", "facilitator",
                                        "instrument_version", "n_participants", "n_scores", "n_consensus"])
    return frame.sort_values("round", key=lambda s: s.map(ROUND_ORDER), ignore_index=True)


def assessment_header(actor: Actor, assessment_id: uuid.UUID) -> dict | None:
    """Everything the workshop page shows about one assessment, plus its baseline's instrument.

    Raises :class:`scope.NotInYourClusters` for an assessment outside ``actor``'s clusters.
    """
    with read_session() as session:
        scope.require_assessment(session, actor, assessment_id)
        row = session.execute(
            sa.select(Assessment, Government.name, Government.level, Instrument, Cluster.name)
            .join(Government, Government.id == Assessment.government_id)
            .join(Instrument, Instrument.id == Assessment.instrument_id)
            .outerjoin(Cluster, Cluster.id == Assessment.cluster_id)
            .where(Assessment.id == assessment_id)
        ).first()
        if row is None:
            return None
        assessment, government, level, instrument, cluster = row
        baseline = session.execute(
            sa.select(Assessment.id, Assessment.instrument_id)
            .where(Assessment.government_id == assessment.government_id, Assessment.round == "baseline")
        ).first()
        based_on = session.get(Instrument, instrument.based_on_id) if instrument.based_on_id else None
    return {
        **assessment.model_dump(),
        "government": government,
        "level": level,
        "cluster": cluster or "",
        "instrument_version": instrument.version,
        "instrument_is_default": instrument.is_default,
        "based_on_version": based_on.version if based_on else None,
        "scale_min": instrument.scale_min,
        "scale_max": instrument.scale_max,
        "baseline_id": baseline.id if baseline else None,
        "baseline_instrument_id": baseline.instrument_id if baseline else None,
    }


def instrument(instrument_id: uuid.UUID):
    """An instrument version as objects (areas, indicators, level descriptors)."""
    with read_session() as session:
        return read_focas(session, instrument_id)


def participants(actor: Actor, assessment_id: uuid.UUID) -> pd.DataFrame:
    """People in the room, in the order they were added, with how many scores each has.

    For an actor who does not read names (evaluators) ``full_name`` is empty and ``code`` is the
    person's pseudonym (``scope.pseudonym``); everything else is as stored.
    """
    n_scores = (
        sa.select(sa.func.count()).where(ParticipantScore.participant_id == Participant.id).correlate(Participant)
        .scalar_subquery()
    )
    query = (
        sa.select(Participant.id, Participant.code, Participant.full_name, Participant.sex, Participant.indigenous,
                  Participant.role, Participant.organisation, Participant.updated_at, n_scores.label("n_scores"))
        .where(Participant.assessment_id == assessment_id)
        .order_by(Participant.position, Participant.code)
    )
    with read_session() as session:
        scope.require_assessment(session, actor, assessment_id)
        rows = session.execute(query).all()
    frame = pd.DataFrame(rows, columns=["id", "code", "full_name", "sex", "indigenous", "role", "organisation",
                                        "updated_at", "n_scores"])
    return _people(actor, frame, "id", "code", "full_name")


def _people(actor: Actor, frame: pd.DataFrame, id_column: str, code_column: str, name_column: str | None,
            kind: str = "participant") -> pd.DataFrame:
    """``frame`` as ``actor`` may read it: names and typed codes replaced by pseudonyms for evaluators."""
    if scope.sees_names(actor) or frame.empty:
        return frame
    secret = scope.pseudonym_secret()
    frame = frame.copy()
    frame[code_column] = [scope.pseudonym(secret, kind, i) for i in frame[id_column]]
    if name_column:
        frame[name_column] = ""
    return frame


def attendance(actor: Actor, assessment_id: uuid.UUID) -> dict[str, dict[str, int]]:
    """Counts by sex, indigenous identity and role (every category present, zeros included)."""
    result: dict[str, dict[str, int]] = {}
    with read_session() as session:
        scope.require_assessment(session, actor, assessment_id)
        for name, column, values in (("sex", Participant.sex, SEXES), ("indigenous", Participant.indigenous, INDIGENOUS),
                                     ("role", Participant.role, PARTICIPANT_ROLES)):
            counts = dict(session.execute(
                sa.select(column, sa.func.count()).where(Participant.assessment_id == assessment_id).group_by(column)
            ).all())
            result[name] = {value: int(counts.get(value, 0)) for value in values}
    return result


def _area_scores_long(session, assessment_id: uuid.UUID, area_code: str) -> pd.DataFrame:
    rows = session.execute(
        sa.select(ParticipantScore.participant_id, Indicator.code, ParticipantScore.score)
        .join(Indicator, Indicator.id == ParticipantScore.indicator_id)
        .join(FunctionalArea, FunctionalArea.id == Indicator.area_id)
        .where(ParticipantScore.assessment_id == assessment_id, FunctionalArea.code == area_code)
    ).all()
    return pd.DataFrame(rows, columns=["participant_id", "indicator_code", "score"])


def _area_indicator_codes(session, assessment_id: uuid.UUID, area_code: str) -> list[tuple[str, str, str]]:
    return [tuple(r) for r in session.execute(
        sa.select(Indicator.code, Indicator.name_es, Indicator.name_en)
        .join(FunctionalArea, FunctionalArea.id == Indicator.area_id)
        .join(Assessment, Assessment.instrument_id == FunctionalArea.instrument_id)
        .where(Assessment.id == assessment_id, FunctionalArea.code == area_code)
        .order_by(Indicator.position)
    ).all()]


def score_grid(actor: Actor, assessment_id: uuid.UUID, area_code: str) -> pd.DataFrame:
    """Participants × indicators of one area: participant_id, code, full_name, then one Int64 column per indicator."""
    with read_session() as session:
        scope.require_assessment(session, actor, assessment_id)
        codes = [code for code, _, _ in _area_indicator_codes(session, assessment_id, area_code)]
        people = session.execute(
            sa.select(Participant.id, Participant.code, Participant.full_name)
            .where(Participant.assessment_id == assessment_id).order_by(Participant.position, Participant.code)
        ).all()
        long = _area_scores_long(session, assessment_id, area_code)
    frame = pd.DataFrame(people, columns=["participant_id", "code", "full_name"])
    for code in codes:
        frame[code] = pd.array([pd.NA] * len(frame), dtype="Int64")
    if not long.empty and not frame.empty:
        wide = long.pivot(index="participant_id", columns="indicator_code", values="score")
        position = {pid: i for i, pid in enumerate(frame["participant_id"])}
        for code in wide.columns:
            if code not in frame.columns:
                continue
            for pid, value in wide[code].dropna().items():
                frame.loc[position[pid], code] = int(value)
    return _people(actor, frame, "participant_id", "code", "full_name")


def consensus_table(actor: Actor, assessment_id: uuid.UUID, area_code: str) -> pd.DataFrame:
    """Per indicator of the area: individual-score spread, suggested median, wide-disagreement flag, agreed score."""
    with read_session() as session:
        scope.require_assessment(session, actor, assessment_id)
        indicators = _area_indicator_codes(session, assessment_id, area_code)
        long = _area_scores_long(session, assessment_id, area_code)
        scale = session.execute(
            sa.select(Instrument.scale_min, Instrument.scale_max)
            .join(Assessment, Assessment.instrument_id == Instrument.id).where(Assessment.id == assessment_id)
        ).first()
        agreed = {
            code: (score, evidence) for code, score, evidence in session.execute(
                sa.select(Indicator.code, ConsensusScore.score, ConsensusScore.evidence)
                .join(Indicator, Indicator.id == ConsensusScore.indicator_id)
                .join(FunctionalArea, FunctionalArea.id == Indicator.area_id)
                .where(ConsensusScore.assessment_id == assessment_id, FunctionalArea.code == area_code)
            ).all()
        }
    rows = []
    for code, name_es, name_en in indicators:
        scores = long.loc[long["indicator_code"] == code, "score"].tolist()
        summary = scoring.spread(scores)
        score, evidence = agreed.get(code, (None, ""))
        rows.append({
            "indicator_code": code, "name_es": name_es, "name_en": name_en, "n": summary.n,
            "median": scoring.suggest_consensus(scores), "q1": summary.q1, "q3": summary.q3, "iqr": summary.iqr,
            "min": summary.min, "max": summary.max,
            "wide": scoring.is_wide_disagreement(scores, scale_min=scale.scale_min, scale_max=scale.scale_max)
            if scale else False,
            "agreed": score, "evidence": evidence or "",
        })
    frame = pd.DataFrame(rows, columns=["indicator_code", "name_es", "name_en", "n", "median", "q1", "q3", "iqr",
                                        "min", "max", "wide", "agreed", "evidence"])
    frame["agreed"] = frame["agreed"].astype("Int64")
    return frame


def government_consensus(actor: Actor, government_id: uuid.UUID) -> pd.DataFrame:
    """All agreed scores of one government ``actor`` reads, every round (scoring.CONSENSUS_COLUMNS)."""
    query = (
        sa.select(Assessment.government_id, Assessment.round, FunctionalArea.code, Indicator.code,
                  ConsensusScore.score)
        .join(ConsensusScore, ConsensusScore.assessment_id == Assessment.id)
        .join(Indicator, Indicator.id == ConsensusScore.indicator_id)
        .join(FunctionalArea, FunctionalArea.id == Indicator.area_id)
        .where(Assessment.government_id == government_id, ConsensusScore.score.is_not(None))
    )
    with read_session() as session:
        rows = session.execute(scope.where(query, scope.assessment_condition(actor))).all()
    return pd.DataFrame(rows, columns=list(scoring.CONSENSUS_COLUMNS))


def targets(actor: Actor, government_id: uuid.UUID) -> pd.DataFrame:
    """Performance targets of one government (of ``actor``'s clusters): area_code, round, target, updated_at."""
    query = (
        sa.select(PerformanceTarget.area_code, PerformanceTarget.round, PerformanceTarget.target,
                  PerformanceTarget.updated_at)
        .where(PerformanceTarget.government_id == government_id)
    )
    with read_session() as session:
        rows = session.execute(
            scope.where(query, scope.government_condition(actor, PerformanceTarget.government_id))
        ).all()
    return pd.DataFrame(rows, columns=["area_code", "round", "target", "updated_at"])


def results(actor: Actor, assessment_id: uuid.UUID) -> dict:
    """Area scores, capacity index, % of scale, targets and progress from baseline for one assessment.

    ``areas`` has one row per area of the assessment's instrument (area_code, area_score, area_pct,
    n_indicators, target, baseline_score, change, n_not_comparable); ``government`` holds the capacity
    index, its % and the change from baseline; ``not_comparable`` lists indicator codes that cannot be
    compared with the baseline (added or dropped since).
    """
    header = assessment_header(actor, assessment_id)
    if header is None:
        return {}
    government_id, round_name = header["government_id"], header["round"]
    scale = {"scale_min": header["scale_min"], "scale_max": header["scale_max"]}
    focas = instrument(header["instrument_id"])
    consensus = government_consensus(actor, government_id)
    current = consensus.loc[consensus["round"] == round_name]
    area_frame, government_frame = scoring.indexes(current, **scale)
    areas = pd.DataFrame({"area_code": focas.area_codes()})
    areas = areas.merge(area_frame[["area_code", "area_score", "area_pct", "n_indicators"]], on="area_code",
                        how="left")
    areas["n_indicators"] = areas["n_indicators"].fillna(0).astype("int64")
    # the capacity index over the areas of this instrument (area means, so each area weighs the same)
    index = scoring.capacity_index(areas["area_score"])
    government = {"capacity_index": index, "capacity_pct": scoring.pct_of_scale(index, **scale),
                  "baseline_index": None, "change": None, "n_areas": int(areas["area_score"].notna().sum())}
    goal = targets(actor, government_id)
    goal = goal.loc[goal["round"] == round_name, ["area_code", "target"]]
    areas = areas.merge(goal, on="area_code", how="left")
    areas["baseline_score"] = float("nan")
    areas["change"] = float("nan")
    areas["n_not_comparable"] = 0
    not_comparable: list[str] = []
    if round_name != "baseline" and header["baseline_instrument_id"] is not None:
        baseline_codes = instrument(header["baseline_instrument_id"]).indicator_codes()
        comparability = scoring.comparable_indicators(baseline_codes, focas.indicator_codes())
        not_comparable = comparability.added + comparability.dropped
        keep = set(comparability.comparable)
        both = consensus.loc[consensus["indicator_code"].isin(keep)
                             & consensus["round"].isin(["baseline", round_name])]
        if not both.empty and (both["round"] == round_name).any() and (both["round"] == "baseline").any():
            change = scoring.progress(both, from_round="baseline", to_round=round_name)
            by_area = change.areas.set_index("area_code")
            areas["baseline_score"] = areas["area_code"].map(by_area["area_score_from"])
            areas["change"] = areas["area_code"].map(by_area["change"])
            if not change.governments.empty:
                g = change.governments.iloc[0]
                government["baseline_index"] = g["capacity_index_from"]
                government["change"] = g["change"]
        added = pd.Series({code: focas.area_of(code).code for code in comparability.added}, dtype=object)
        counts = added.value_counts() if not added.empty else pd.Series(dtype="int64")
        areas["n_not_comparable"] = areas["area_code"].map(counts).fillna(0).astype("int64")
    return {"areas": areas, "government": government, "not_comparable": sorted(not_comparable)}


def history(actor: Actor, assessment_id: uuid.UUID, limit: int = 500) -> pd.DataFrame:
    """Audit events about this assessment (newest first): at, actor, action, entity, what, before, after, reason.

    Never a participant's name (the full record stays in the audit log for administrators); for an
    actor who does not read names, participants' codes are their pseudonyms.
    """
    needle = str(assessment_id)
    with read_session() as session:
        scope.require_assessment(session, actor, assessment_id)
        pseudonyms = None
        if not scope.sees_names(actor):
            secret = scope.pseudonym_secret(session)
            pseudonyms = {code: scope.pseudonym(secret, "participant", pid) for pid, code in session.execute(
                sa.select(Participant.id, Participant.code).where(Participant.assessment_id == assessment_id))}
        rows = session.execute(
            sa.select(AuditEvent.at, AuditEvent.actor, AuditEvent.action, AuditEvent.entity,
                      AuditEvent.before_json, AuditEvent.after_json, AuditEvent.reason)
            .where(sa.or_(AuditEvent.entity_id == needle, AuditEvent.before_json.contains(needle),
                          AuditEvent.after_json.contains(needle)))
            .order_by(AuditEvent.at.desc())
            .limit(limit)
        ).all()
    records = []
    for at, who, action, entity, before_json, after_json, reason in rows:
        before = json.loads(before_json) if before_json else {}
        after = json.loads(after_json) if after_json else {}
        if pseudonyms is not None:
            before, after = _pseudonymised(before, pseudonyms), _pseudonymised(after, pseudonyms)
        what = " · ".join(str(x) for x in (
            (after or before).get("participant") or (after or before).get("code") or "",
            (after or before).get("indicator") or "") if x)
        records.append({"at": at, "actor": who, "action": action, "entity": entity, "what": what,
                        "before": _short(before), "after": _short(after), "reason": reason or ""})
    return pd.DataFrame(records, columns=["at", "actor", "action", "entity", "what", "before", "after", "reason"])


def _pseudonymised(snapshot: dict, pseudonyms: dict[str, str]) -> dict:
    """An audit snapshot with participants' typed codes replaced by their pseudonyms (unknown ones: "—")."""
    if not isinstance(snapshot, dict):
        return {}
    changed = dict(snapshot)
    for key in ("participant", "code"):
        if changed.get(key):
            changed[key] = pseudonyms.get(str(changed[key]), "—")
    return changed


def _short(snapshot: dict) -> str:
    """The values that matter to a reader (no ids, no stamps, never a person's name)."""
    skip = {"assessment_id", "id", "created_at", "updated_at", "participant", "indicator", "area", "position",
            "score_rows", "full_name"}
    return ", ".join(f"{k}={v}" for k, v in snapshot.items() if k not in skip and v not in ("", None))


def plan_items(actor: Actor, government_id: uuid.UUID) -> pd.DataFrame:
    """The government's capacity-building plan (of ``actor``'s clusters), in its logical order."""
    query = (
        sa.select(CapacityPlanItem).where(CapacityPlanItem.government_id == government_id)
        .order_by(CapacityPlanItem.sequence, CapacityPlanItem.planned_start, CapacityPlanItem.created_at)
    )
    with read_session() as session:
        rows = session.execute(
            scope.where(query, scope.government_condition(actor, CapacityPlanItem.government_id))
        ).scalars().all()
    columns = ["id", "area_code", "intervention_type", "what", "who_staff", "where_place", "sequence", "resources",
               "other_support", "planned_start", "planned_end", "status", "updated_at"]
    return pd.DataFrame([{c: getattr(r, c) for c in columns} for r in rows], columns=columns)


def plan_areas(actor: Actor, government_id: uuid.UUID) -> dict:
    """What the plan page needs to rank areas: the instrument in use and the latest round's area scores.

    Returns ``instrument_id`` (baseline's, else the default), ``round`` of the latest assessment with
    agreed scores (or None), and ``area_scores`` (area_code, area_score) for that round.
    """
    from db.instruments import default_instrument_id

    with read_session() as session:
        rows = session.execute(
            sa.select(Assessment.round, Assessment.instrument_id).where(Assessment.government_id == government_id)
        ).all()
        by_round = dict(rows)
        instrument_id = by_round.get("baseline") or default_instrument_id(session, "focas")
    consensus = government_consensus(actor, government_id)
    latest = None
    for name in ("end", "midpoint", "baseline"):
        if (consensus["round"] == name).any():
            latest = name
            break
    area_scores = pd.DataFrame(columns=["area_code", "area_score"])
    if latest:
        areas, _ = scoring.indexes(consensus.loc[consensus["round"] == latest])
        area_scores = areas[["area_code", "area_score"]]
    return {"instrument_id": instrument_id, "round": latest, "area_scores": area_scores}


def default_focas_id() -> uuid.UUID:
    """The program's default FOCAS version."""
    from db.instruments import default_instrument_id

    with read_session() as session:
        return default_instrument_id(session, "focas")


def participants_csv(actor: Actor, assessment_id: uuid.UUID, headers: dict[str, str],
                     labels: dict[str, dict[str, str]] | None = None) -> bytes:
    """The workshop's participant list as a formula-safe CSV, as ``actor`` reads it (``participants``).

    ``headers`` maps each column to exported (in order) to its label; ``labels`` maps a column's stored
    codes to the words shown. A list carrying names is audited ("export", "assessment", with the columns
    and the number of people); a pseudonymised one (evaluators) carries none and is not.
    """
    from assessments.snapshot import formula_safe_csv
    from db.audit import record
    from db.engine import write_session

    people = participants(actor, assessment_id)
    frame = people[list(headers)].copy()
    for column, words in (labels or {}).items():
        frame[column] = frame[column].map(lambda value, words=words: words.get(value, value))
    content = formula_safe_csv(frame.rename(columns=headers))
    if scope.sees_names(actor) and not people.empty:
        with write_session() as session:
            record(session, actor, "export", "assessment", assessment_id,
                   after={"list": "participants", "columns": list(headers), "names": "full_name" in headers,
                          "rows": len(people)})
    return content
