"""Cluster service: create and edit with warnings; bad input refused with nothing saved."""

from __future__ import annotations

from assessments.access import LOCAL_USER
import json

import pytest
import sqlalchemy as sa

from assessments.access import Actor
from assessments.clusters import ClusterInput, cluster_warnings, create_cluster, update_cluster
from assessments.errors import PermissionDenied, ValidationFailed
from db.engine import write_session
from db.models import AuditEvent, Cluster, ClusterMember, ClusterSector
from db.queries import registry

CONDORCANQUI = ["01", "0104", "010402", "010403"]
ALTO_AMAZONAS = ["16", "1602", "160202", "160206", "160210"]


def n_rows(session, model) -> int:
    return session.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()


def make(session, actor, **overrides):
    data = ClusterInput(name="Alto Amazonas", department_code="16", wave=1, sectors=["health"],
                        government_ubigeos=list(ALTO_AMAZONAS))
    for key, value in overrides.items():
        setattr(data, key, value)
    with write_session() as s:
        cluster, warnings = create_cluster(session=s, actor=actor, data=data)
    return cluster, warnings


def test_create_a_complete_cluster_without_warnings(session, actor):
    cluster, warnings = make(session, actor)
    assert warnings == []
    frame = registry.clusters(LOCAL_USER, "16")
    row = frame.iloc[0]
    assert (row["name"], row["n_regional"], row["n_provincial"], row["n_district"]) == ("Alto Amazonas", 1, 1, 3)
    assert row["sectors"] == ("health",)
    assert list(registry.cluster_members(cluster.id)["ubigeo"]) == ALTO_AMAZONAS


def test_composition_warnings_do_not_block_saving(session, actor):
    cluster, warnings = make(session, actor, name="Condorcanqui", department_code="01",
                             sectors=["health", "education", "environment"], government_ubigeos=CONDORCANQUI)
    keys = [w.key for w in warnings]
    assert keys == ["cluster.few_districts", "cluster.many_sectors"]
    assert n_rows(session, Cluster) == 1
    assert [w.key for w in cluster_warnings(cluster.id)] == keys
    assert "3" in warnings[0].message("es") and "2" in warnings[0].message("en")


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"department_code": None}, "cluster.no_department"),
        ({"name": "   "}, "cluster.name_blank"),
        ({"government_ubigeos": ["16", "1602", "160202", "160202"]}, "cluster.duplicate_member"),
        ({"government_ubigeos": ["16", "999999"]}, "cluster.unknown_ubigeo"),
        ({"government_ubigeos": ["16", "0104"]}, "cluster.member_other_department"),
        ({"sectors": ["mining"]}, "cluster.unknown_sector"),
        ({"sectors": []}, "cluster.no_sector"),
        ({"wave": "first"}, "cluster.bad_wave"),
        ({"department_code": "99"}, "cluster.unknown_department"),
    ],
)
def test_bad_input_gets_a_clear_message_and_nothing_is_saved(session, actor, overrides, key):
    with pytest.raises(ValidationFailed) as raised:
        make(session, actor, **overrides)
    assert raised.value.key == key
    spanish, english = raised.value.message("es"), raised.value.message("en")
    assert spanish != key and english != key and spanish != english
    assert n_rows(session, Cluster) == 0
    assert n_rows(session, ClusterMember) == 0
    assert n_rows(session, ClusterSector) == 0


def test_update_replaces_members_and_is_audited(session, actor):
    cluster, _ = make(session, actor)
    data = ClusterInput(name="Alto Amazonas II", department_code="16", wave=2, sectors=["education"],
                        government_ubigeos=["16", "1602", "160202"])
    with write_session() as s:
        update_cluster(session=s, actor=actor, cluster_id=cluster.id, data=data)
    assert list(registry.cluster_members(cluster.id)["ubigeo"]) == ["16", "1602", "160202"]
    events = session.execute(
        sa.select(AuditEvent).where(AuditEvent.entity_id == str(cluster.id)).order_by(AuditEvent.at)
    ).scalars().all()
    assert [e.action for e in events] == ["create", "update"]
    assert json.loads(events[1].before_json)["members"] == ALTO_AMAZONAS
    assert json.loads(events[1].after_json)["name"] == "Alto Amazonas II"


def test_a_failed_update_leaves_the_cluster_as_it_was(session, actor):
    cluster, _ = make(session, actor)
    bad = ClusterInput(name="X", department_code="16", wave=1, sectors=["health"],
                       government_ubigeos=["16", "nope"])
    with pytest.raises(ValidationFailed):
        with write_session() as s:
            update_cluster(session=s, actor=actor, cluster_id=cluster.id, data=bad)
    assert list(registry.cluster_members(cluster.id)["ubigeo"]) == ALTO_AMAZONAS
    assert registry.cluster_row(cluster.id)["name"] == "Alto Amazonas"


def test_an_evaluator_cannot_create_clusters(session):
    with pytest.raises(PermissionDenied):
        make(session, Actor(username="eva", role="evaluator"))
    assert n_rows(session, Cluster) == 0
