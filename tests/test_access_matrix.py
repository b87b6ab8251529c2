"""Every role × every write action: through ``require`` and through the real write services.

The expected table below is written by hand from issue #7, not derived from ``WRITE_ACTIONS``, so
a loosened rule fails here.
"""

from __future__ import annotations

import uuid
from datetime import date

import pytest
import sqlalchemy as sa

from assessments import accounts, clusters, access_audit
from assessments.access import WRITE_ACTIONS, Actor, can, require
from assessments.errors import DomainError, PermissionDenied
from db.demo import load_demo
from db.engine import read_session, write_session
from db.models import Assessment, Cluster, ClusterMember, ServiceAudit

ASSIGNED = uuid.uuid4()
OTHER = uuid.uuid4()

MANAGER = {"cluster.write", "selection.write", "gcd.write", "target.write", "plan.write", "snapshot.export",
           "snapshot.import"}
FACILITATOR = {"assessment.write", "assessment.validate", "plan.write", "audit.write", "audit.validate",
               "snapshot.export"}
EVALUATOR = {"snapshot.export"}


def expected(role: str, action: str, cluster: str) -> bool:
    """Issue #7's rules: admin everything; manager program-level; facilitator its clusters; evaluator reads."""
    if role == "admin":
        return True
    if role == "manager":
        return action in MANAGER
    if role == "facilitator":
        return action in FACILITATOR and (action == "snapshot.export" or cluster == "assigned")
    if role == "evaluator":
        return action in EVALUATOR
    return False


def test_the_table_covers_every_action_there_is():
    assert set(WRITE_ACTIONS) == {
        "cluster.write", "selection.write", "gcd.write", "assessment.write", "assessment.validate",
        "target.write", "plan.write", "instrument.write", "audit.write", "audit.validate", "snapshot.export",
        "snapshot.import", "user.write", "backup.create", "auditlog.read",
    }


@pytest.mark.parametrize("cluster", ["assigned", "other", "none"])
@pytest.mark.parametrize("action", sorted(WRITE_ACTIONS))
@pytest.mark.parametrize("role", ["admin", "manager", "facilitator", "evaluator", "anonymous"])
def test_require_matrix(role, action, cluster, tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'none.db'}")  # no database: refusals are not logged
    actor = Actor(username=role, role=role, cluster_ids=frozenset({ASSIGNED}))
    cluster_id = {"assigned": ASSIGNED, "other": OTHER, "none": None}[cluster]
    allowed = expected(role, action, cluster)
    assert can(actor, action, cluster_id=cluster_id) is allowed
    if allowed:
        require(actor, action, cluster_id=cluster_id)
    else:
        with pytest.raises(PermissionDenied) as refused:
            require(actor, action, cluster_id=cluster_id)
        if role == "facilitator" and action in FACILITATOR:
            # the role may do this, only not outside its clusters: it is told so, not that its role forbids it
            assert refused.value.key == "qsip_lock.refused.not_your_cluster_unnamed"
        else:
            assert refused.value.key == "access.denied"
        assert refused.value.params == {"action": action, "role": role}
    assert not (tmp_path / "none.db").exists()  # a refusal never creates a database to be logged in


def test_unknown_actions_are_a_programming_error():
    with pytest.raises(KeyError):
        can(Actor("a", "admin"), "cluster.delete_everything")


# ---------------------------------------------------------------------------------------------
# The real write services: a refused role gets PermissionDenied before anything is touched.


class _RolledBack(Exception):
    pass


def outcome(call, actor) -> str:
    """'denied' if the service refused the role, else 'allowed' (its own validation may still object)."""
    try:
        with write_session() as session:
            call(session, actor)
            raise _RolledBack
    except PermissionDenied:
        return "denied"
    except (_RolledBack, DomainError):
        return "allowed"


@pytest.fixture
def world(db_url):
    """The demo with ids of one cluster holding a FOCAS assessment and one holding a QSIP audit."""
    load_demo()
    with read_session() as session:
        assessment = session.execute(sa.select(Assessment)).scalars().first()
        audit = session.execute(sa.select(ServiceAudit)).scalars().first()
        scoped = {c for c in (assessment and assessment.cluster_id, audit and audit.cluster_id) if c}
        departments = set(session.execute(sa.select(Cluster.department_code).where(Cluster.id.in_(scoped))).scalars())
        # a cluster of another department: none of the governments above belong to it
        other = session.execute(sa.select(Cluster.id).where(Cluster.department_code.not_in(departments))).scalars().first()
        some_cluster = session.execute(sa.select(Cluster).where(Cluster.id.in_(scoped))).scalars().first()
        user = accounts.users_table().iloc[0]
    return {
        "assessment": assessment, "audit": audit, "assigned": frozenset(scoped), "other": frozenset({other}),
        "cluster": some_cluster, "user_id": user["id"],
    }


def service_cases(w):
    from assessments import capacity_plan, cluster_plan, focas, gcd, qsip, selection

    cluster = w["cluster"]
    assessment = w["assessment"]
    audit = w["audit"]
    data = clusters.ClusterInput(name="", department_code=cluster.department_code, wave=1, sectors=["health"])
    cases = [
        ("cluster.write", "clusters.create_cluster", lambda s, a: clusters.create_cluster(session=s, actor=a, data=data)),
        ("cluster.write", "clusters.update_cluster",
         lambda s, a: clusters.update_cluster(session=s, actor=a, cluster_id=cluster.id, data=data)),
        ("cluster.write", "cluster_plan.set_planned",
         lambda s, a: cluster_plan.set_planned(session=s, actor=a, department_code="22", wave=1, planned=2)),
        ("gcd.write", "gcd.add_member",
         lambda s, a: gcd.add_member(session=s, actor=a, department_code="22", period="2013-2014",
                                     data=gcd.MemberInput(full_name="", institution=""))),
        ("selection.write", "selection.create_record",
         lambda s, a: selection.create_record(session=s, actor=a, department_code="22", wave=1)),
        ("user.write", "accounts.create_user",
         lambda s, a: accounts.create_user(session=s, actor=a, username="nuevo", password="clave-segura-1",
                                           role="evaluator")),
        ("user.write", "accounts.update_user",
         lambda s, a: accounts.update_user(session=s, actor=a, user_id=w["user_id"], full_name="X")),
        ("user.write", "accounts.set_password",
         lambda s, a: accounts.set_password(session=s, actor=a, user_id=w["user_id"], password="clave-segura-2")),
        ("auditlog.read", "access_audit.export_audit_csv",
         lambda s, a: access_audit.export_audit_csv(session=s, actor=a, filters=access_audit.AuditFilter(), headers={})),
    ]
    if audit is not None:
        cases += [
            ("audit.write", "qsip.create_audit",
             lambda s, a: qsip.create_audit(session=s, actor=a, data=qsip.AuditInput(
                 cluster_id=audit.cluster_id, service_name="", sector=None, cycle_year=None))),
            ("audit.write", "qsip.add_barrier",
             lambda s, a: qsip.add_barrier(session=s, actor=a, audit_id=audit.id, data=qsip.BarrierInput(
                 description="", category=None, government_level=None))),
            ("audit.write", "qsip.add_respondent",
             lambda s, a: qsip.add_respondent(session=s, actor=a, audit_id=audit.id,
                                              data=qsip.RespondentInput(respondent_type=None))),
            ("audit.validate", "qsip.validate_results",
             lambda s, a: qsip.validate_results(session=s, actor=a, audit_id=audit.id, validated_on=None, validated_by="")),
        ]
    if assessment is not None:
        cases += [
            ("assessment.write", "focas.start_assessment",
             lambda s, a: focas.start_assessment(session=s, actor=a, government_id=assessment.government_id,
                                                 cluster_id=assessment.cluster_id, round="midpoint")),
            ("assessment.validate", "focas.validate_assessment",
             lambda s, a: focas.validate_assessment(session=s, actor=a, assessment_id=assessment.id)),
            ("target.write", "capacity_plan.set_targets",
             lambda s, a: capacity_plan.set_targets(session=s, actor=a, government_id=assessment.government_id,
                                                    targets={})),
            ("plan.write", "capacity_plan.add_plan_item",
             lambda s, a: capacity_plan.add_plan_item(session=s, actor=a, government_id=assessment.government_id,
                                                      data=capacity_plan.PlanItemInput(area_code="", intervention_type="",
                                                                                       what=""))),
        ]
    return cases


def actors(w):
    return {
        "admin": Actor("a", "admin", user_id=uuid.uuid4()),
        "manager": Actor("m", "manager", user_id=uuid.uuid4()),
        "facilitator-assigned": Actor("f", "facilitator", user_id=uuid.uuid4(), cluster_ids=w["assigned"]),
        "facilitator-other": Actor("g", "facilitator", user_id=uuid.uuid4(), cluster_ids=w["other"]),
        "evaluator": Actor("e", "evaluator", user_id=uuid.uuid4()),
    }


def test_real_write_services_enforce_the_matrix(world):
    found, wanted = {}, {}
    for action, name, call in service_cases(world):
        for label, actor in actors(world).items():
            role = actor.role
            scope = "assigned" if label == "facilitator-assigned" else "other"
            found[(name, label)] = outcome(call, actor)
            wanted[(name, label)] = "allowed" if expected(role, action, scope) else "denied"
    assert found == wanted
    # the services actually exercised (listed in the report)
    names = {name for _, name, _ in service_cases(world)}
    assert {"clusters.create_cluster", "accounts.create_user", "access_audit.export_audit_csv",
            "qsip.add_barrier", "focas.validate_assessment", "capacity_plan.set_targets"} <= names


def test_backup_button_is_for_administrators_only(db_url, tmp_path, monkeypatch):
    from db import backup
    from db.config import load_settings

    if not load_settings().is_sqlite:
        pytest.skip("the backup button copies the embedded SQLite database; PostgreSQL uses pg_dump")
    folder = tmp_path / "backups"
    monkeypatch.setattr(backup, "BACKUP_DIR", folder)
    for role in ("manager", "facilitator", "evaluator"):
        with pytest.raises(PermissionDenied):
            backup.backup_as(actor=Actor(role, role))
    assert not folder.exists()
    path = backup.backup_as(actor=Actor("a", "admin"))
    assert path.parent == folder and backup.verify_backup(path).ok


def test_a_refused_write_leaves_nothing_behind(world):
    with read_session() as session:
        before = session.execute(sa.select(sa.func.count()).select_from(ClusterMember)).scalar_one()
    evaluator = Actor("e", "evaluator")
    data = clusters.ClusterInput(name="Nuevo", department_code="22", wave=1, sectors=["health"],
                                 government_ubigeos=["22", "2205"], wave_date=date(2014, 1, 1))
    with pytest.raises(PermissionDenied), write_session() as session:
        clusters.create_cluster(session=session, actor=evaluator, data=data)
    with read_session() as session:
        assert session.execute(sa.select(sa.func.count()).select_from(ClusterMember)).scalar_one() == before
        assert session.execute(sa.select(Cluster).where(Cluster.name == "Nuevo")).first() is None
