"""The FOCAS demo data: every member government of every demo cluster gets a plausible two-round history."""

from __future__ import annotations

from assessments.access import LOCAL_USER
import sqlalchemy as sa

from db.engine import read_session
from db.models import (
    Assessment,
    CapacityPlanItem,
    ClusterMember,
    ConsensusScore,
    Participant,
    ParticipantScore,
    PerformanceTarget,
)
from db.queries import focas as queries


def test_demo_gives_every_member_a_validated_baseline_a_midpoint_targets_and_a_plan(db_url):
    from db.demo import load_demo

    load_demo()
    with read_session() as session:
        members = set(session.execute(sa.select(ClusterMember.government_id)).scalars())
        assessments = session.execute(sa.select(Assessment)).scalars().all()
        rooms = dict(session.execute(
            sa.select(Participant.assessment_id, sa.func.count()).group_by(Participant.assessment_id)).all())
        roles = session.execute(sa.select(Participant.role, sa.func.count()).group_by(Participant.role)).all()
        women = session.execute(sa.select(sa.func.count()).where(Participant.sex == "female")).scalar_one()
        everyone = session.execute(sa.select(sa.func.count()).select_from(Participant)).scalar_one()
        scores = session.execute(sa.select(sa.func.count()).select_from(ParticipantScore)).scalar_one()
        empty_evidence = session.execute(
            sa.select(sa.func.count()).where(ConsensusScore.evidence == "")).scalar_one()
        targets = dict(session.execute(
            sa.select(PerformanceTarget.government_id, sa.func.count()).group_by(PerformanceTarget.government_id)).all())
        plans = dict(session.execute(
            sa.select(CapacityPlanItem.government_id, sa.func.count()).group_by(CapacityPlanItem.government_id)).all())
    by_round = {(a.government_id, a.round): a for a in assessments}
    assert len(members) == 31  # the regional government of San Martín belongs to three clusters
    for government in members:
        assert by_round[(government, "baseline")].status == "validated"
        assert by_round[(government, "midpoint")].status in ("draft", "validated")
        assert targets[government] == 20           # 10 areas x (midpoint, end)
        assert 3 <= plans[government] <= 6
    assert all(8 <= rooms[a.id] <= 20 for a in assessments)
    assert {role for role, _ in roles} == {"official", "manager", "civil_society", "other"}
    assert 0.35 < women / everyone < 0.65
    assert scores > 20_000 and empty_evidence == 0
    # midpoint mostly a bit higher than baseline
    changes = [queries.results(LOCAL_USER, by_round[(g, "midpoint")].id)["government"]["change"] for g in members]
    assert sum(change > 0 for change in changes) >= 0.8 * len(changes)
    assert max(changes) < 1.5
