"""Cluster selection: weighted criteria, candidate provinces and districts, scores, ranking and the cluster it creates."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pandas as pd
import sqlalchemy as sa
from sqlmodel import Session

from assessments import rules
from assessments.access import Actor, require
from assessments.clusters import ClusterInput, create_cluster
from assessments.errors import NotFound, ValidationFailed
from assessments.i18n import translate
from assessments.text import clean_field
from db.audit import record
from db.engine import read_session
from db.models import (
    Cluster,
    Department,
    District,
    Province,
    SelectionCandidate,
    SelectionCriterion,
    SelectionRecord,
    SelectionScore,
)

SCOPES = ("province", "district")
# Annex I of the plan: which criteria apply when choosing provinces, and when choosing districts.
PROVINCE_CRITERIA = (
    "population_density", "service_gaps", "rights_harm", "political_will", "travel_security",
    "associations", "midis_p20",
)
DISTRICT_CRITERIA = (
    "population_density", "service_gaps", "rights_harm", "political_will", "travel_security",
    "connectivity", "associations", "usaid_prior",
)
# MIDIS "Crecer para incluir" P20 pilot provinces named in the plan: Condorcanqui, Datem del Marañón, Lamas.
P20_PROVINCES = ("0104", "1607", "2205")
P20_CRITERION = "midis_p20"
DEFAULT_SCALE = (1, 5)
MAX_SCALE_SPAN = 100


# One cell of the score grid as a user edited it: ``score`` None clears it; ``evidence`` None leaves it.
@dataclass
class ScoreEdit:
    candidate_id: uuid.UUID
    criterion_id: uuid.UUID
    score: object = None
    evidence: str | None = None
    clear: bool = False


# One criterion as edited in the criteria table (None = unchanged).
@dataclass
class CriterionEdit:
    criterion_id: uuid.UUID
    weight: object = None
    name_es: str | None = None
    name_en: str | None = None


def _record(session: Session, record_id: uuid.UUID) -> SelectionRecord:
    row = session.get(SelectionRecord, record_id)
    if row is None:
        raise NotFound("selection.record_not_found")
    return row


def _int(value: object, key: str) -> int:
    try:
        if isinstance(value, bool):
            raise TypeError
        number = float(str(value).strip().replace(",", ".")) if isinstance(value, str) else float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValidationFailed(key, value=value) from None
    if number != int(number):
        raise ValidationFailed(key, value=value)
    return int(number)


def _candidate_places(session: Session, scope: str, department_code: str,
                      province_code: str | None) -> dict[str, str]:
    """UBIGEO → name of every place a record of this scope may list as a candidate."""
    if scope == "province":
        rows = session.execute(sa.select(Province.code, Province.name)
                               .where(Province.department_code == department_code)).all()
    else:
        rows = session.execute(sa.select(District.code, District.name)
                               .where(District.province_code == province_code)).all()
    return dict(rows)


def _prefill_p20(session: Session, record: SelectionRecord, candidates: list[SelectionCandidate],
                 criteria: list[SelectionCriterion], lang: str) -> None:
    # The P20 list is a registry fact: in the pilot → top of the scale, otherwise → bottom.
    criterion = next((c for c in criteria if c.code == P20_CRITERION), None)
    if criterion is None:
        return
    for candidate in candidates:
        in_p20 = candidate.ubigeo in P20_PROVINCES
        session.add(SelectionScore(
            candidate_id=candidate.id, criterion_id=criterion.id,
            score=float(record.scale_max if in_p20 else record.scale_min),
            evidence=translate("selection.evidence.p20_yes" if in_p20 else "selection.evidence.p20_no", lang),
        ))


def create_record(*, session: Session, actor: Actor, department_code: str, wave: object, scope: str = "province",
                  province_code: str | None = None, parent_id: uuid.UUID | None = None,
                  candidate_ubigeos: list[str] | None = None, scale_min: object = DEFAULT_SCALE[0],
                  scale_max: object = DEFAULT_SCALE[1], notes: str = "", lang: str = "es") -> SelectionRecord:
    """Open a selection exercise with the plan's default criteria (weight 1) and its candidates.

    Candidates default to every province of the department (scope "province") or every district of
    the province (scope "district"). Province records get the MIDIS P20 criterion pre-scored.
    """
    require(actor, "selection.write")
    if scope not in SCOPES:
        raise ValidationFailed("selection.bad_scope", scope=scope)
    if not department_code or session.get(Department, department_code) is None:
        raise ValidationFailed("selection.unknown_department", code=department_code)
    wave_number = _int(wave, "selection.bad_wave")
    if wave_number < 1:
        raise ValidationFailed("selection.bad_wave", value=wave)
    low, high = _int(scale_min, "selection.bad_scale"), _int(scale_max, "selection.bad_scale")
    if not low < high or high - low > MAX_SCALE_SPAN:
        raise ValidationFailed("selection.bad_scale_order", min=low, max=high)
    if scope == "district":
        province = session.get(Province, province_code) if province_code else None
        if province is None or province.department_code != department_code:
            raise ValidationFailed("selection.province_required")
    else:
        province_code = None
    if parent_id is not None:
        parent = _record(session, parent_id)
        if parent.department_code != department_code or parent.scope != "province":
            raise ValidationFailed("selection.bad_parent")
    places = _candidate_places(session, scope, department_code, province_code)
    ubigeos = sorted(places) if candidate_ubigeos is None else list(dict.fromkeys(candidate_ubigeos))
    unknown = [u for u in ubigeos if u not in places]
    if unknown:
        raise ValidationFailed("selection.candidate_outside", ubigeos=", ".join(unknown))

    row = SelectionRecord(department_code=department_code, wave=wave_number, scope=scope, province_code=province_code,
                          parent_id=parent_id, scale_min=low, scale_max=high,
                          notes=clean_field(notes, "selection.notes"))
    session.add(row)
    session.flush()
    codes = PROVINCE_CRITERIA if scope == "province" else DISTRICT_CRITERIA
    criteria = [SelectionCriterion(record_id=row.id, code=code, name_es=translate(f"selection.criterion.{code}", "es"),
                                   name_en=translate(f"selection.criterion.{code}", "en"), weight=1.0, position=i)
                for i, code in enumerate(codes, start=1)]
    candidates = [SelectionCandidate(record_id=row.id, ubigeo=u, name=places[u]) for u in ubigeos]
    session.add_all([*criteria, *candidates])
    session.flush()
    if scope == "province":
        _prefill_p20(session, row, candidates, criteria, lang)
        session.flush()
    record(session, actor, "create", "selection_record", row.id,
           after={**row.model_dump(), "criteria": list(codes), "candidates": ubigeos})
    return row


def update_record(*, session: Session, actor: Actor, record_id: uuid.UUID, scale_min: object = None,
                  scale_max: object = None, notes: str | None = None) -> SelectionRecord:
    """Change a record's scale (refused if a saved score would fall outside it) or its notes."""
    require(actor, "selection.write")
    row = _record(session, record_id)
    before = row.model_dump()
    low = row.scale_min if scale_min is None else _int(scale_min, "selection.bad_scale")
    high = row.scale_max if scale_max is None else _int(scale_max, "selection.bad_scale")
    if not low < high or high - low > MAX_SCALE_SPAN:
        raise ValidationFailed("selection.bad_scale_order", min=low, max=high)
    outside = session.execute(
        sa.select(sa.func.count()).select_from(SelectionScore)
        .join(SelectionCandidate, SelectionCandidate.id == SelectionScore.candidate_id)
        .where(SelectionCandidate.record_id == row.id, sa.or_(SelectionScore.score < low, SelectionScore.score > high))
    ).scalar_one()
    if outside:
        raise ValidationFailed("selection.scale_excludes_scores", count=outside, min=low, max=high)
    row.scale_min, row.scale_max = low, high
    if notes is not None:
        row.notes = clean_field(notes, "selection.notes")
    session.add(row)
    session.flush()
    record(session, actor, "update", "selection_record", row.id, before=before, after=row.model_dump())
    return row


def delete_record(*, session: Session, actor: Actor, record_id: uuid.UUID) -> None:
    """Delete a selection exercise that has not created a cluster yet (with its district records)."""
    require(actor, "selection.write")
    row = _record(session, record_id)
    children = session.execute(sa.select(SelectionRecord).where(SelectionRecord.parent_id == row.id)).scalars().all()
    if row.cluster_id is not None or any(c.cluster_id is not None for c in children):
        raise ValidationFailed("selection.record_linked")
    for item in [*children, row]:
        before = item.model_dump()
        session.delete(item)
        session.flush()
        record(session, actor, "delete", "selection_record", item.id, before=before)


def apply_criterion_edits(*, session: Session, actor: Actor, record_id: uuid.UUID,
                          edits: list[CriterionEdit]) -> int:
    """Rename or reweight criteria; every edit is validated before anything is written. Returns changes."""
    require(actor, "selection.write")
    row = _record(session, record_id)
    criteria = {c.id: c for c in session.execute(
        sa.select(SelectionCriterion).where(SelectionCriterion.record_id == row.id)).scalars()}
    planned: list[tuple[SelectionCriterion, dict]] = []
    for edit in edits:
        criterion = criteria.get(edit.criterion_id)
        if criterion is None:
            raise NotFound("selection.criterion_not_found")
        changes: dict = {}
        if edit.weight is not None:
            try:
                weight = rules.validate_weight(edit.weight)
            except ValidationFailed as error:
                raise ValidationFailed(error.key + "_named", criterion=criterion.name_es,
                                       **error.params) from None
            if weight != criterion.weight:
                changes["weight"] = weight
        for column in ("name_es", "name_en"):
            value = getattr(edit, column)
            if value is not None:
                value = clean_field(value, "selection.criterion.name")
                if not value:
                    raise ValidationFailed("selection.criterion_name_blank")
                if value != getattr(criterion, column):
                    changes[column] = value
        if changes:
            planned.append((criterion, changes))
    for criterion, changes in planned:
        before = criterion.model_dump()
        for column, value in changes.items():
            setattr(criterion, column, value)
        session.add(criterion)
        session.flush()
        record(session, actor, "update", "selection_criterion", criterion.id, before=before, after=criterion.model_dump())
    return len(planned)


def add_criterion(*, session: Session, actor: Actor, record_id: uuid.UUID, name_es: str, name_en: str = "",
                  weight: object = 1.0) -> SelectionCriterion:
    """A criterion the department adds to the plan's list (code derived from its position)."""
    require(actor, "selection.write")
    row = _record(session, record_id)
    name_es, name_en = (clean_field(name, "selection.criterion.name") for name in (name_es, name_en))
    if not name_es and not name_en:
        raise ValidationFailed("selection.criterion_name_blank")
    value = rules.validate_weight(weight)
    existing = session.execute(sa.select(SelectionCriterion.code, SelectionCriterion.position)
                               .where(SelectionCriterion.record_id == row.id)).all()
    position = max((p for _, p in existing), default=0) + 1
    codes = {c for c, _ in existing}
    number = position
    while f"custom_{number}" in codes:
        number += 1
    criterion = SelectionCriterion(record_id=row.id, code=f"custom_{number}", name_es=name_es or name_en,
                                   name_en=name_en or name_es, weight=value, position=position)
    session.add(criterion)
    session.flush()
    record(session, actor, "create", "selection_criterion", criterion.id, after=criterion)
    return criterion


def delete_criterion(*, session: Session, actor: Actor, criterion_id: uuid.UUID) -> None:
    """Remove a criterion and its scores (a weight of 0 keeps the scores but ignores them)."""
    require(actor, "selection.write")
    criterion = session.get(SelectionCriterion, criterion_id)
    if criterion is None:
        raise NotFound("selection.criterion_not_found")
    before = criterion.model_dump()
    session.execute(sa.delete(SelectionScore).where(SelectionScore.criterion_id == criterion.id))
    session.delete(criterion)
    session.flush()
    record(session, actor, "delete", "selection_criterion", criterion_id, before=before)


def set_candidates(*, session: Session, actor: Actor, record_id: uuid.UUID, ubigeos: list[str]) -> tuple[int, int]:
    """Make the candidate list exactly ``ubigeos`` (removed candidates lose their scores). Returns (added, removed)."""
    require(actor, "selection.write")
    row = _record(session, record_id)
    places = _candidate_places(session, row.scope, row.department_code, row.province_code)
    wanted = list(dict.fromkeys(u.strip() for u in ubigeos if u and u.strip()))
    unknown = [u for u in wanted if u not in places]
    if unknown:
        raise ValidationFailed("selection.candidate_outside", ubigeos=", ".join(unknown))
    current = {c.ubigeo: c for c in session.execute(
        sa.select(SelectionCandidate).where(SelectionCandidate.record_id == row.id)).scalars()}
    removed = [c for u, c in current.items() if u not in wanted]
    if any(c.chosen for c in removed):
        raise ValidationFailed("selection.candidate_chosen")
    for candidate in removed:
        before = candidate.model_dump()
        session.execute(sa.delete(SelectionScore).where(SelectionScore.candidate_id == candidate.id))
        session.delete(candidate)
        session.flush()
        record(session, actor, "delete", "selection_candidate", candidate.id, before=before)
    added = [SelectionCandidate(record_id=row.id, ubigeo=u, name=places[u]) for u in wanted if u not in current]
    session.add_all(added)
    session.flush()
    if row.scope == "province" and added:
        criteria = list(session.execute(sa.select(SelectionCriterion)
                                        .where(SelectionCriterion.record_id == row.id)).scalars())
        _prefill_p20(session, row, added, criteria, "es")
        session.flush()
    for candidate in added:
        record(session, actor, "create", "selection_candidate", candidate.id, after=candidate)
    return len(added), len(removed)


def apply_score_edits(*, session: Session, actor: Actor, record_id: uuid.UUID, edits: list[ScoreEdit]) -> int:
    """Write score-grid edits: all are checked first (scale, number), then written; returns cells changed."""
    require(actor, "selection.write")
    row = _record(session, record_id)
    candidates = {c.id: c for c in session.execute(
        sa.select(SelectionCandidate).where(SelectionCandidate.record_id == row.id)).scalars()}
    criteria = {c.id: c for c in session.execute(
        sa.select(SelectionCriterion).where(SelectionCriterion.record_id == row.id)).scalars()}
    existing = {(s.candidate_id, s.criterion_id): s for s in session.execute(
        sa.select(SelectionScore).where(SelectionScore.candidate_id.in_(list(candidates)))).scalars()}
    planned: list[tuple[tuple[uuid.UUID, uuid.UUID], float | None, str | None, bool]] = []
    for edit in edits:
        candidate, criterion = candidates.get(edit.candidate_id), criteria.get(edit.criterion_id)
        if candidate is None or criterion is None:
            raise NotFound("selection.cell_not_found")
        score: float | None = None
        blank = edit.score is None or (isinstance(edit.score, str) and not edit.score.strip()) or (
            isinstance(edit.score, float) and pd.isna(edit.score))
        if not blank:
            try:
                score = rules.validate_criterion_score(edit.score, scale_min=row.scale_min, scale_max=row.scale_max)
            except ValidationFailed as error:
                raise ValidationFailed(error.key + "_named", candidate=candidate.name, criterion=criterion.name_es,
                                       **error.params) from None
        clear = edit.clear or (blank and edit.evidence is None)
        evidence = None if edit.evidence is None else clean_field(edit.evidence, "selection.evidence")
        planned.append(((candidate.id, criterion.id), score, evidence, clear))
    changed = 0
    for key, score, evidence, clear in planned:
        current = existing.get(key)
        if clear:
            if current is not None:
                before = current.model_dump()
                session.delete(current)
                session.flush()
                existing.pop(key)
                record(session, actor, "delete", "selection_score", current.id, before=before)
                changed += 1
            continue
        if current is None:
            if score is None:
                # an evidence note hangs on a score: the user is asked for the score first
                raise ValidationFailed("selection.evidence_without_score", candidate=candidates[key[0]].name,
                                       criterion=criteria[key[1]].name_es)
            current = SelectionScore(candidate_id=key[0], criterion_id=key[1], score=score,
                                     evidence=evidence or "")
            session.add(current)
            session.flush()
            existing[key] = current
            record(session, actor, "create", "selection_score", current.id, after=current)
            changed += 1
            continue
        before = current.model_dump()
        if score is not None:
            current.score = score
        if evidence is not None:
            current.evidence = evidence
        if current.model_dump() != before:
            session.add(current)
            session.flush()
            record(session, actor, "update", "selection_score", current.id, before=before, after=current.model_dump())
            changed += 1
    return changed


def _member_ubigeos(department_code: str, province_code: str, district_ubigeos: list[str]) -> list[str]:
    # a capital district (…01) has no municipality of its own: its provincial municipality governs it
    members = [department_code, province_code]
    for ubigeo in district_ubigeos:
        governed_by = ubigeo[:4] if ubigeo.endswith("01") else ubigeo
        if governed_by not in members:
            members.append(governed_by)
    return members


def create_cluster_from_selection(*, session: Session, actor: Actor, record_id: uuid.UUID, province_code: str,
                                  district_ubigeos: list[str], name: str, sectors: list[str],
                                  wave_date=None, notes: str = "") -> tuple[Cluster, list[rules.RuleWarning]]:
    """Create the cluster of the chosen province and districts, and link the selection records to it.

    ``record_id`` is the province record (or a district record, whose parent is then linked too).
    Members: the department's regional government, the province's municipality and the chosen
    districts' municipalities (a capital district maps to the provincial municipality).
    """
    require(actor, "selection.write")
    require(actor, "cluster.write")
    row = _record(session, record_id)
    province_record = _record(session, row.parent_id) if row.scope == "district" and row.parent_id else (
        row if row.scope == "province" else None)
    district_record = row if row.scope == "district" else None
    if row.scope == "district" and province_code != row.province_code:
        raise ValidationFailed("selection.province_mismatch")
    if province_record is not None:
        candidate = session.execute(sa.select(SelectionCandidate).where(
            SelectionCandidate.record_id == province_record.id, SelectionCandidate.ubigeo == province_code)).scalar()
        if candidate is None:
            raise ValidationFailed("selection.province_not_candidate", code=province_code)
        if candidate.chosen:
            raise ValidationFailed("selection.province_already_chosen", name=candidate.name)
    province = session.get(Province, province_code) if province_code else None
    if province is None or province.department_code != row.department_code:
        raise ValidationFailed("selection.province_required")
    districts = list(dict.fromkeys(district_ubigeos))
    foreign = [d for d in districts if d[:4] != province_code]
    if foreign and district_record is not None:
        raise ValidationFailed("selection.district_outside", ubigeos=", ".join(foreign))
    data = ClusterInput(name=name, department_code=row.department_code, wave=row.wave, wave_date=wave_date,
                        sectors=list(sectors), government_ubigeos=_member_ubigeos(row.department_code, province_code,
                                                                                  districts),
                        notes=notes)
    cluster, warnings = create_cluster(session=session, actor=actor, data=data)
    to_choose = {province_code, *districts}
    for item in (r for r in (province_record, district_record) if r is not None):
        before = item.model_dump()
        if item.cluster_id is None:
            item.cluster_id = cluster.id
            session.add(item)
        chosen = session.execute(sa.select(SelectionCandidate).where(
            SelectionCandidate.record_id == item.id, SelectionCandidate.ubigeo.in_(to_choose))).scalars().all()
        for candidate in chosen:
            candidate.chosen = True
            session.add(candidate)
        session.flush()
        record(session, actor, "link_cluster", "selection_record", item.id, before=before,
               after={**item.model_dump(), "chosen": sorted(c.ubigeo for c in chosen), "cluster": str(cluster.id)})
    return cluster, warnings


# --- reads ----------------------------------------------------------------------------------


def records(department_code: str | None = None) -> pd.DataFrame:
    """Selection records: id, department_code, wave, scope, province_code, province, parent_id,
    scale_min, scale_max, notes, cluster_id, cluster, n_candidates, n_criteria, n_scores, created_at."""
    n_candidates = (sa.select(SelectionCandidate.record_id, sa.func.count().label("n"))
                    .group_by(SelectionCandidate.record_id).subquery())
    n_criteria = (sa.select(SelectionCriterion.record_id, sa.func.count().label("n"))
                  .group_by(SelectionCriterion.record_id).subquery())
    n_scores = (sa.select(SelectionCandidate.record_id, sa.func.count().label("n"))
                .join(SelectionScore, SelectionScore.candidate_id == SelectionCandidate.id)
                .group_by(SelectionCandidate.record_id).subquery())
    query = (
        sa.select(SelectionRecord.id, SelectionRecord.department_code, SelectionRecord.wave, SelectionRecord.scope,
                  SelectionRecord.province_code, Province.name.label("province"), SelectionRecord.parent_id,
                  SelectionRecord.scale_min, SelectionRecord.scale_max, SelectionRecord.notes,
                  SelectionRecord.cluster_id, Cluster.name.label("cluster"),
                  sa.func.coalesce(n_candidates.c.n, 0), sa.func.coalesce(n_criteria.c.n, 0),
                  sa.func.coalesce(n_scores.c.n, 0), SelectionRecord.created_at)
        .outerjoin(Province, Province.code == SelectionRecord.province_code)
        .outerjoin(Cluster, Cluster.id == SelectionRecord.cluster_id)
        .outerjoin(n_candidates, n_candidates.c.record_id == SelectionRecord.id)
        .outerjoin(n_criteria, n_criteria.c.record_id == SelectionRecord.id)
        .outerjoin(n_scores, n_scores.c.record_id == SelectionRecord.id)
        .order_by(SelectionRecord.department_code, SelectionRecord.wave, SelectionRecord.scope.desc(),
                  SelectionRecord.created_at)
    )
    if department_code:
        query = query.where(SelectionRecord.department_code == department_code)
    with read_session() as session:
        rows = session.execute(query).all()
    return pd.DataFrame(rows, columns=["id", "department_code", "wave", "scope", "province_code", "province",
                                       "parent_id", "scale_min", "scale_max", "notes", "cluster_id", "cluster",
                                       "n_candidates", "n_criteria", "n_scores", "created_at"])


def criteria(record_id: uuid.UUID) -> pd.DataFrame:
    """Criteria of a record in order: id, code, name_es, name_en, weight, position."""
    with read_session() as session:
        rows = session.execute(
            sa.select(SelectionCriterion.id, SelectionCriterion.code, SelectionCriterion.name_es,
                      SelectionCriterion.name_en, SelectionCriterion.weight, SelectionCriterion.position)
            .where(SelectionCriterion.record_id == record_id)
            .order_by(SelectionCriterion.position, SelectionCriterion.code)).all()
    return pd.DataFrame(rows, columns=["id", "code", "name_es", "name_en", "weight", "position"])


def candidates(record_id: uuid.UUID) -> pd.DataFrame:
    """Candidates of a record: id, ubigeo, name, chosen, n_districts (districts of a candidate province
    in the registry; for a district candidate, 1), is_capital, p20."""
    n_districts = (sa.select(District.province_code, sa.func.count().label("n"))
                   .group_by(District.province_code).subquery())
    with read_session() as session:
        rows = session.execute(
            sa.select(SelectionCandidate.id, SelectionCandidate.ubigeo, SelectionCandidate.name,
                      SelectionCandidate.chosen, n_districts.c.n)
            .outerjoin(n_districts, n_districts.c.province_code == SelectionCandidate.ubigeo)
            .where(SelectionCandidate.record_id == record_id)
            .order_by(SelectionCandidate.ubigeo)).all()
    frame = pd.DataFrame(rows, columns=["id", "ubigeo", "name", "chosen", "n_districts"])
    frame["n_districts"] = frame["n_districts"].fillna(1).astype("int64")
    frame["is_capital"] = frame["ubigeo"].str.len().eq(6) & frame["ubigeo"].str.endswith("01")
    frame["p20"] = frame["ubigeo"].isin(P20_PROVINCES)
    return frame


def scores(record_id: uuid.UUID) -> pd.DataFrame:
    """Every candidate × criterion cell of a record: candidate_id, ubigeo, candidate, criterion_id, code,
    criterion_es, criterion_en, score (NaN when not scored), evidence."""
    with read_session() as session:
        rows = session.execute(
            sa.select(SelectionCandidate.id, SelectionCandidate.ubigeo, SelectionCandidate.name,
                      SelectionCriterion.id, SelectionCriterion.code, SelectionCriterion.name_es,
                      SelectionCriterion.name_en, SelectionScore.score, SelectionScore.evidence)
            .select_from(SelectionCandidate)
            .join(SelectionCriterion, SelectionCriterion.record_id == SelectionCandidate.record_id)
            .outerjoin(SelectionScore, sa.and_(SelectionScore.candidate_id == SelectionCandidate.id,
                                               SelectionScore.criterion_id == SelectionCriterion.id))
            .where(SelectionCandidate.record_id == record_id)
            .order_by(SelectionCandidate.ubigeo, SelectionCriterion.position, SelectionCriterion.code)).all()
    frame = pd.DataFrame(rows, columns=["candidate_id", "ubigeo", "candidate", "criterion_id", "code",
                                        "criterion_es", "criterion_en", "score", "evidence"])
    frame["score"] = pd.to_numeric(frame["score"]).astype("float64")
    frame["evidence"] = frame["evidence"].fillna("")
    return frame


def ranking(record_id: uuid.UUID) -> pd.DataFrame:
    """Candidates ranked by weighted mean score (rules.rank_candidates), best first, with their facts:
    candidate_id, ubigeo, name, total, n_scored, n_missing, rank, chosen, n_districts, p20."""
    cells = scores(record_id)
    weights = criteria(record_id)
    people = candidates(record_id)
    columns = ["candidate_id", "ubigeo", "name", "total", "n_scored", "n_missing", "rank", "chosen",
               "n_districts", "p20"]
    if people.empty:
        return pd.DataFrame(columns=columns)
    long = pd.DataFrame({"candidate": cells["ubigeo"], "criterion": cells["code"], "score": cells["score"]})
    if long.empty:
        long = pd.DataFrame({"candidate": people["ubigeo"], "criterion": None, "score": float("nan")})
    # a criterion weighted 0 is switched off: its scores neither count in the total nor in n_scored
    active = {code: float(w) for code, w in zip(weights["code"], weights["weight"]) if float(w) > 0}
    ranked = rules.rank_candidates(long, active)
    merged = ranked.merge(people.rename(columns={"ubigeo": "candidate", "id": "candidate_id"}), on="candidate")
    return merged.rename(columns={"candidate": "ubigeo"})[columns]


def districts_of(province_code: str) -> pd.DataFrame:
    """Districts of a province: ubigeo, name, is_capital (the capital is governed by the provincial municipality)."""
    with read_session() as session:
        rows = session.execute(sa.select(District.code, District.name, District.is_capital)
                               .where(District.province_code == province_code).order_by(District.code)).all()
    return pd.DataFrame(rows, columns=["ubigeo", "name", "is_capital"])


def provinces_of(department_code: str) -> pd.DataFrame:
    """Provinces of a department with their number of districts: ubigeo, name, n_districts."""
    with read_session() as session:
        rows = session.execute(
            sa.select(Province.code, Province.name, sa.func.count(District.code))
            .outerjoin(District, District.province_code == Province.code)
            .where(Province.department_code == department_code)
            .group_by(Province.code, Province.name).order_by(Province.code)).all()
    return pd.DataFrame(rows, columns=["ubigeo", "name", "n_districts"])


def score_matrix(record_id: uuid.UUID) -> pd.DataFrame:
    """The score grid: one row per candidate (candidate_id, ubigeo, name) and one column per criterion code."""
    cells = scores(record_id)
    codes = list(criteria(record_id)["code"])
    people = candidates(record_id)[["id", "ubigeo", "name"]].rename(columns={"id": "candidate_id"})
    if cells.empty:
        return people.assign(**{code: float("nan") for code in codes})
    wide = cells.pivot_table(index="candidate_id", columns="code", values="score", aggfunc="first", dropna=False)
    wide = wide.reindex(columns=codes)
    frame = people.merge(wide, left_on="candidate_id", right_index=True, how="left")
    for code in codes:
        if code not in frame.columns:
            frame[code] = float("nan")
        frame[code] = frame[code].astype("float64")
    return frame[["candidate_id", "ubigeo", "name", *codes]].reset_index(drop=True)


def edits_from_matrix(grid: pd.DataFrame, edited_rows: dict, criterion_ids: dict[str, uuid.UUID]) -> list[ScoreEdit]:
    """A data editor's ``edited_rows`` on the score grid as ScoreEdits (a cleared cell clears the score)."""
    edits = []
    for index, changes in (edited_rows or {}).items():
        candidate_id = grid.iloc[int(index)]["candidate_id"]
        for code, value in changes.items():
            if code in criterion_ids:
                blank = value is None or (isinstance(value, str) and not value.strip())
                edits.append(ScoreEdit(candidate_id=candidate_id, criterion_id=criterion_ids[code],
                                       score=None if blank else value, clear=blank))
    return edits


def edits_from_cells(cells: pd.DataFrame, edited_rows: dict) -> list[ScoreEdit]:
    """A data editor's ``edited_rows`` on the long evidence table (rows of ``scores()``) as ScoreEdits."""
    edits = []
    for index, changes in (edited_rows or {}).items():
        row = cells.iloc[int(index)]
        score = changes.get("score", row["score"])
        blank = score is None or (isinstance(score, float) and pd.isna(score)) or (
            isinstance(score, str) and not score.strip())
        evidence = changes.get("evidence")
        edits.append(ScoreEdit(candidate_id=row["candidate_id"], criterion_id=row["criterion_id"],
                               score=None if blank else score, evidence=None if evidence is None else str(evidence),
                               clear="score" in changes and blank))
    return edits
