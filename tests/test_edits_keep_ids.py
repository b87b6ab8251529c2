"""Edits keep identities: editing a cluster or a meeting's attendance updates rows in place, so a member,
sector or attendee that stays keeps its row id (and the next merge of a laptop's snapshot sees no
"duplicate"); only what was added is inserted and only what was removed deleted, each change audited."""

from __future__ import annotations

import json
from datetime import date

import sqlalchemy as sa

from assessments import gcd, snapshot
from assessments.clusters import ClusterInput, create_cluster, update_cluster
from db.engine import dispose_engine, write_session
from db.models import AuditEvent, ClusterMember, ClusterSector, GcdAttendance, Government
from db.setup import prepare

ALTO_AMAZONAS = ["16", "1602", "160202", "160206", "160210"]


def rows(session, model, column, **where) -> dict:
    session.rollback()
    query = sa.select(model)
    for name, value in where.items():
        query = query.where(getattr(model, name) == value)
    return {getattr(row, column): (row.id, row.created_at) for row in session.execute(query).scalars()}


def member_rows(session, cluster_id) -> dict[str, tuple]:
    session.rollback()
    return {ubigeo: (row_id, created) for ubigeo, row_id, created in session.execute(
        sa.select(Government.ubigeo, ClusterMember.id, ClusterMember.created_at)
        .join(Government, Government.id == ClusterMember.government_id)
        .where(ClusterMember.cluster_id == cluster_id))}


def make_cluster(actor):
    data = ClusterInput(name="Alto Amazonas", department_code="16", wave=1, sectors=["health", "education"],
                        government_ubigeos=list(ALTO_AMAZONAS))
    with write_session() as s:
        cluster, _ = create_cluster(session=s, actor=actor, data=data)
    return cluster


def edit(actor, cluster, **changes):
    data = ClusterInput(name="Alto Amazonas", department_code="16", wave=1, sectors=["health", "education"],
                        government_ubigeos=list(ALTO_AMAZONAS))
    for key, value in changes.items():
        setattr(data, key, value)
    with write_session() as s:
        update_cluster(session=s, actor=actor, cluster_id=cluster.id, data=data)


def test_editing_a_cluster_keeps_the_rows_of_members_and_sectors_that_stay(session, actor):
    cluster = make_cluster(actor)
    members = member_rows(session, cluster.id)
    sectors = rows(session, ClusterSector, "sector", cluster_id=cluster.id)
    # drop one district, add another, drop a sector and add one, rename the cluster
    edit(actor, cluster, name="Alto Amazonas II", sectors=["education", "environment"],
         government_ubigeos=["16", "1602", "160202", "160206", "160205"])
    after = member_rows(session, cluster.id)
    assert set(after) == {"16", "1602", "160202", "160206", "160205"}
    for ubigeo in ("16", "1602", "160202", "160206"):
        assert after[ubigeo] == members[ubigeo]  # same row: same id, same creation stamp
    assert after["160205"][0] not in {row_id for row_id, _ in members.values()}
    sectors_after = rows(session, ClusterSector, "sector", cluster_id=cluster.id)
    assert set(sectors_after) == {"education", "environment"}
    assert sectors_after["education"] == sectors["education"]
    session.rollback()
    positions = dict(session.execute(sa.select(ClusterSector.sector, ClusterSector.position)
                                     .where(ClusterSector.cluster_id == cluster.id)).all())
    assert positions == {"education": 1, "environment": 2}
    # each change is in the audit log, on the row it touched
    events = session.execute(sa.select(AuditEvent.entity, AuditEvent.action, AuditEvent.entity_id, AuditEvent.before_json)
                             .where(AuditEvent.entity.in_(["cluster_member", "cluster_sector"]))).all()
    changes = sorted((entity, action) for entity, action, _, _ in events)
    assert changes == [("cluster_member", "create"), ("cluster_member", "delete"), ("cluster_sector", "create"),
                       ("cluster_sector", "delete"), ("cluster_sector", "update")]
    removed = next(e for e in events if e[:2] == ("cluster_member", "delete"))
    assert removed[2] == str(members["160210"][0]) and json.loads(removed[3])["id"] == str(members["160210"][0])


def test_saving_a_cluster_unchanged_touches_no_member_or_sector_row(session, actor):
    cluster = make_cluster(actor)
    members = member_rows(session, cluster.id)
    edit(actor, cluster, notes="solo una nota")
    assert member_rows(session, cluster.id) == members
    session.rollback()
    assert not session.execute(sa.select(AuditEvent.id).where(
        AuditEvent.entity.in_(["cluster_member", "cluster_sector"]))).first()


def test_a_laptop_merging_an_edited_cluster_sees_no_duplicate(db_url, empty_db_url, monkeypatch, actor):
    monkeypatch.setenv("DATABASE_URL", db_url)
    cluster = make_cluster(actor)
    first, _ = snapshot.export_bytes(actor=actor)
    dispose_engine(db_url)
    monkeypatch.setenv("DATABASE_URL", empty_db_url)
    prepare(demo=False, quiet=True)
    with write_session() as s:
        snapshot.import_snapshot(first, session=s, actor=actor)
    dispose_engine(empty_db_url)
    # back on the first laptop the manager adds a sector; the other laptop merges again
    monkeypatch.setenv("DATABASE_URL", db_url)
    edit(actor, cluster, sectors=["health", "education", "environment"])
    second, _ = snapshot.export_bytes(actor=actor)
    dispose_engine(db_url)
    monkeypatch.setenv("DATABASE_URL", empty_db_url)
    with write_session() as s:
        report = snapshot.import_snapshot(second, session=s, actor=actor)
    assert [c for c in report.conflicts if c.kind == "duplicate"] == []
    assert report.tables["cluster_member"].blocked == 0 and report.tables["cluster_member"].skipped == 5
    assert report.tables["cluster_sector"].added == 1 and report.tables["cluster_sector"].skipped == 2


def test_changing_a_meetings_attendance_keeps_the_attendees_that_stay(session, actor):
    members = []
    for name, institution in (("Rosa Rengifo Ríos", "regional_government"), ("José Pinedo Tello", "civil_society"),
                              ("Julia Saavedra Tello", "private_sector")):
        with write_session() as s:
            members.append(gcd.add_member(session=s, actor=actor, department_code="16", period="2013-2014",
                                          data=gcd.MemberInput(full_name=name, institution=institution,
                                                               sex="female", indigenous="no")))
    with write_session() as s:
        meeting = gcd.record_meeting(session=s, actor=actor, department_code="16", period="2013-2014",
                                     data=gcd.MeetingInput(kind="plan", meeting_date=date(2013, 3, 12),
                                                           attendee_ids=[members[0].id, members[1].id]))
    before = rows(session, GcdAttendance, "member_id", meeting_id=meeting.id)
    with write_session() as s:
        gcd.update_meeting(session=s, actor=actor, meeting_id=meeting.id, data=gcd.MeetingInput(
            kind="plan", meeting_date=date(2013, 3, 12), attendee_ids=[members[1].id, members[2].id]))
    after = rows(session, GcdAttendance, "member_id", meeting_id=meeting.id)
    assert set(after) == {members[1].id, members[2].id}
    assert after[members[1].id] == before[members[1].id]
    actions = sorted(session.execute(sa.select(AuditEvent.action).where(AuditEvent.entity == "gcd_attendance"))
                     .scalars())
    assert actions == ["create", "delete"]
