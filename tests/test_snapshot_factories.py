"""Rows for snapshot tests: one cluster's worth of every merge table, with the texts a test chooses."""

from __future__ import annotations

import dataclasses
import io
import json
import hashlib
import zipfile
from datetime import date, datetime, timezone

import sqlalchemy as sa
from sqlmodel import Session

from assessments.instruments import load_focas
from db import models as m
from db.instruments import default_instrument_id, store_focas

# District municipalities of Lamas (San Martín) and Tambopata (Madre de Dios): one per seeded cluster.
DISTRICTS = ("220502", "220503", "220504", "220505", "220506", "220507", "220508", "220509", "220510",
             "220511", "170102", "170103", "170104")


def non_blank(text: str) -> str:
    return text if text.strip() else f"X{text}"


def seed_cluster(session: Session, texts: list[str], index: int = 0) -> dict:
    """A cluster with one district's FOCAS baseline (custom instrument), a QSIP audit, selection and GCD rows.

    ``texts`` (12 strings) go into every kind of free-text column, so a round trip must keep them exact.
    """
    texts = (list(texts) * 12)[:12] if texts else [""] * 12
    ubigeo = DISTRICTS[index % len(DISTRICTS)]
    government = session.execute(sa.select(m.Government).where(m.Government.ubigeo == ubigeo)).scalar_one()
    regional = session.execute(sa.select(m.Government).where(m.Government.ubigeo == ubigeo[:2])).scalar_one()
    department = ubigeo[:2]
    cluster = m.Cluster(name=non_blank(texts[0]), department_code=department, wave=2, wave_date=date(2013, 9, 15),
                        notes=texts[1])
    session.add(cluster)
    session.flush()
    session.add(m.ClusterSector(cluster_id=cluster.id, sector="health", position=1))
    session.add(m.ClusterSector(cluster_id=cluster.id, sector="education", position=2))
    for member in (regional, government):
        session.add(m.ClusterMember(cluster_id=cluster.id, government_id=member.id, department_code=department))
    base = load_focas()
    custom = store_focas(session, dataclasses.replace(base, version=100 + index), government_id=government.id,
                         based_on_id=default_instrument_id(session, "focas"))
    indicators = session.execute(
        sa.select(m.Indicator.id, m.Indicator.code, m.FunctionalArea.code)
        .join(m.FunctionalArea, m.FunctionalArea.id == m.Indicator.area_id)
        .where(m.FunctionalArea.instrument_id == custom.id).order_by(m.FunctionalArea.position, m.Indicator.position)
    ).all()
    assessment = m.Assessment(government_id=government.id, cluster_id=cluster.id, round="baseline",
                              instrument_id=custom.id, status="validated", workshop_date=date(2013, 10, 2),
                              place=texts[2], facilitator=texts[3], notes=texts[4],
                              validated_at=datetime(2013, 10, 3, 15, 30, tzinfo=timezone.utc),
                              validated_by=non_blank(texts[5]))
    session.add(assessment)
    session.flush()
    participants = []
    for position, (code, sex) in enumerate(((non_blank(texts[6]), "female"), ("P2" + texts[7], "male"))):
        participant = m.Participant(assessment_id=assessment.id, code=code, full_name=texts[8], sex=sex,
                                    indigenous="yes", role="official", organisation=texts[9], position=position)
        session.add(participant)
        participants.append(participant)
    session.flush()
    for n, (indicator_id, _code, _area) in enumerate(indicators[:6]):
        for k, participant in enumerate(participants):
            session.add(m.ParticipantScore(assessment_id=assessment.id, participant_id=participant.id,
                                           indicator_id=indicator_id, score=1 + (n + k) % 4))
        session.add(m.ConsensusScore(assessment_id=assessment.id, indicator_id=indicator_id,
                                     score=None if n == 5 else 1 + n % 4, evidence=texts[n % 12]))
    session.add(m.PerformanceTarget(government_id=government.id, area_code=indicators[0][2], round="midpoint",
                                    target=-5.0 if index % 2 else 2.75))
    session.add(m.CapacityPlanItem(government_id=government.id, area_code=indicators[0][2],
                                   intervention_type="training", what=texts[10], who_staff=texts[11],
                                   where_place=texts[0], sequence=1, resources=texts[1], other_support=texts[2],
                                   planned_start=date(2014, 1, 1), status="planned"))
    qsip_id = default_instrument_id(session, "qsip")
    audit = m.ServiceAudit(cluster_id=cluster.id, service_name=non_blank(texts[3]), sector="health", cycle_year=2014,
                           instrument_id=qsip_id, notes=texts[4])
    session.add(audit)
    session.flush()
    session.add(m.AuditStage(audit_id=audit.id, number=1, name_es=texts[5], name_en="Preparation",
                             status="done", notes=texts[6]))
    respondent = m.Respondent(audit_id=audit.id, respondent_type="user", sex="female", indigenous="no",
                              locality=texts[7], code=texts[8])
    session.add(respondent)
    session.flush()
    items = session.execute(
        sa.select(m.FeedbackItem.id).join(m.FeedbackDimension, m.FeedbackDimension.id == m.FeedbackItem.dimension_id)
        .where(m.FeedbackDimension.instrument_id == qsip_id).order_by(m.FeedbackDimension.position,
                                                                       m.FeedbackItem.position)
    ).scalars().all()
    for k, item_id in enumerate(items[:3]):
        session.add(m.FeedbackRating(respondent_id=respondent.id, item_id=item_id, rating=1 + k))
    barrier = m.Barrier(audit_id=audit.id, description=non_blank(texts[9]), category="resources",
                        government_level="district", within_control=False, priority="high")
    session.add(barrier)
    session.flush()
    session.add(m.ImprovementAction(audit_id=audit.id, barrier_id=barrier.id, description=non_blank(texts[10]),
                                    responsible_government_id=government.id, deadline=date(2014, 6, 30),
                                    quick_win=True, evidence=texts[11]))
    record = m.SelectionRecord(department_code=department, wave=2, scope="district", province_code=ubigeo[:4],
                               cluster_id=cluster.id, notes=texts[0])
    session.add(record)
    session.flush()
    criterion = m.SelectionCriterion(record_id=record.id, code="DENSITY", name_es=texts[1], name_en=texts[2],
                                     weight=1.5)
    candidate = m.SelectionCandidate(record_id=record.id, ubigeo=ubigeo, name=texts[3], chosen=True)
    session.add_all([criterion, candidate])
    session.flush()
    session.add(m.SelectionScore(candidate_id=candidate.id, criterion_id=criterion.id, score=-5.0,
                                 evidence=texts[4]))
    member = m.GcdMember(department_code=department, period=f"2014-{index}", full_name=texts[5],
                         institution="civil_society", organisation=texts[6], cluster_id=cluster.id, sex="female")
    meeting = m.GcdMeeting(department_code=department, period=f"2014-{index}", kind="plan",
                           meeting_date=date(2014, 2, 1), agenda=texts[7], agreements=texts[8], next_agenda=texts[9])
    session.add_all([member, meeting])
    session.flush()
    session.add(m.GcdAttendance(meeting_id=meeting.id, member_id=member.id))
    session.flush()
    return {"cluster": cluster, "assessment": assessment, "government": government, "instrument": custom,
            "participants": participants, "audit": audit, "indicators": indicators}


def rezip(data: bytes, changes: dict[str, bytes | None], *, fix_hashes: bool = True,
          manifest_edit=None) -> bytes:
    """A copy of a snapshot with entries replaced (None removes), its manifest hashes recomputed."""
    source = zipfile.ZipFile(io.BytesIO(data))
    entries = {name: source.read(name) for name in source.namelist()}
    for name, content in changes.items():
        if content is None:
            entries.pop(name, None)
        else:
            entries[name] = content
    manifest = json.loads(entries["manifest.json"])
    if fix_hashes:
        for name, content in entries.items():
            if name != "manifest.json":
                manifest["files"].setdefault(name, {"rows": None, "bytes": 0})
                manifest["files"][name]["sha256"] = hashlib.sha256(content).hexdigest()
        manifest["files"] = {k: v for k, v in manifest["files"].items() if k in entries}
    if manifest_edit:
        manifest_edit(manifest)
    entries["manifest.json"] = json.dumps(manifest).encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for name, content in entries.items():
            target.writestr(name, content)
    return out.getvalue()


def read_tables(data: bytes, prefix: str = "tables/") -> dict[str, bytes]:
    archive = zipfile.ZipFile(io.BytesIO(data))
    return {name: archive.read(name) for name in archive.namelist() if name.startswith(prefix)}
