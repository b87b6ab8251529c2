"""Constraints the database itself enforces, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, IntegrityError

from db.models import AuditEvent, Cluster, ClusterMember, ClusterSector, Government


def gov(session, ubigeo) -> Government:
    return session.execute(sa.select(Government).where(Government.ubigeo == ubigeo)).scalar_one()


def new_cluster(session, department_code="01") -> Cluster:
    cluster = Cluster(name="Prueba", department_code=department_code, wave=1)
    session.add(cluster)
    session.commit()
    return cluster


def test_a_cluster_cannot_hold_a_government_of_another_department(session):
    cluster = new_cluster(session, "01")
    loreto = gov(session, "16")
    # even lying about the department on the membership row is refused by the composite keys
    session.add(ClusterMember(cluster_id=cluster.id, government_id=loreto.id, department_code="01"))
    with pytest.raises(IntegrityError):
        session.commit()
    session.rollback()
    session.add(ClusterMember(cluster_id=cluster.id, government_id=loreto.id, department_code="16"))
    with pytest.raises(IntegrityError):
        session.commit()


def test_a_government_cannot_be_a_member_twice(session):
    cluster = new_cluster(session)
    amazonas = gov(session, "01")
    session.add(ClusterMember(cluster_id=cluster.id, government_id=amazonas.id, department_code="01"))
    session.commit()
    session.add(ClusterMember(cluster_id=cluster.id, government_id=amazonas.id, department_code="01"))
    with pytest.raises(IntegrityError):
        session.commit()


def test_duplicate_ubigeo_is_refused(session):
    session.add(Government(ubigeo="010402", level="district", name="Copia", department_code="01", province_code="0104"))
    with pytest.raises(IntegrityError):
        session.commit()


def test_unknown_sector_is_refused(session):
    cluster = new_cluster(session)
    session.add(ClusterSector(cluster_id=cluster.id, sector="mining"))
    with pytest.raises(IntegrityError):
        session.commit()


def test_cluster_name_of_only_spaces_is_refused(session):
    session.add(Cluster(name="   ", department_code="01", wave=1))
    with pytest.raises(IntegrityError):
        session.commit()


def test_audit_log_refuses_update_and_delete(session):
    event = AuditEvent(actor="a", actor_role="admin", action="create", entity="cluster", entity_id=str(uuid.uuid4()))
    session.add(event)
    session.commit()
    with pytest.raises(DBAPIError, match="append-only"):
        session.execute(sa.update(AuditEvent).where(AuditEvent.id == event.id).values(actor="b"))
        session.commit()
    session.rollback()
    with pytest.raises(DBAPIError, match="append-only"):
        session.execute(sa.delete(AuditEvent).where(AuditEvent.id == event.id))
        session.commit()
    session.rollback()
    assert session.get(AuditEvent, event.id).actor == "a"
