"""Read queries of the registry: departments, governments and clusters (aggregated in SQL)."""

from __future__ import annotations

import uuid

import pandas as pd
import sqlalchemy as sa

from assessments.access import Actor
from db.engine import read_session
from db.queries import scope
from db.models import Cluster, ClusterMember, ClusterSector, Department, Government, Province

PROGRAM_FIRST = ("01", "16", "22", "25", "17")


def departments() -> pd.DataFrame:
    """All 25 departments, the program's five first (code, name, in_program)."""
    with read_session() as session:
        rows = session.execute(sa.select(Department.code, Department.name).order_by(Department.code)).all()
    frame = pd.DataFrame(rows, columns=["code", "name"])
    frame["in_program"] = frame["code"].isin(PROGRAM_FIRST)
    return frame.sort_values(["in_program", "name"], ascending=[False, True], ignore_index=True)


def governments(department_code: str | None = None, search: str = "", limit: int = 5000) -> pd.DataFrame:
    """Governments (id, ubigeo, level, name, province), optionally of one department and matching a search."""
    query = (
        sa.select(Government.id, Government.ubigeo, Government.level, Government.name,
                  Province.name.label("province"))
        .outerjoin(Province, Province.code == Government.province_code)
        .order_by(Government.ubigeo)
        .limit(limit)
    )
    if department_code:
        query = query.where(Government.department_code == department_code)
    term = (search or "").strip()
    if term:
        if term.isdigit():
            query = query.where(Government.ubigeo.startswith(term))
        else:
            query = query.where(Government.name.ilike(f"%{term}%"))
    with read_session() as session:
        rows = session.execute(query).all()
    return pd.DataFrame(rows, columns=["id", "ubigeo", "level", "name", "province"])


def registry_counts() -> dict[str, int]:
    with read_session() as session:
        levels = dict(session.execute(sa.select(Government.level, sa.func.count()).group_by(Government.level)).all())
        provinces = session.execute(sa.select(sa.func.count()).select_from(Province)).scalar_one()
        depts = session.execute(sa.select(sa.func.count()).select_from(Department)).scalar_one()
    return {"departments": depts, "provinces": provinces, **{f"governments_{k}": v for k, v in levels.items()}}


def clusters(actor: Actor, department_code: str | None = None) -> pd.DataFrame:
    """One row per cluster ``actor`` reads (a facilitator: their own): id, name, department, wave, sectors,
    members by level, demo flag."""
    member_counts = (
        sa.select(
            ClusterMember.cluster_id,
            sa.func.count().label("n_members"),
            sa.func.sum(sa.case((Government.level == "regional", 1), else_=0)).label("n_regional"),
            sa.func.sum(sa.case((Government.level == "provincial", 1), else_=0)).label("n_provincial"),
            sa.func.sum(sa.case((Government.level == "district", 1), else_=0)).label("n_district"),
        )
        .join(Government, Government.id == ClusterMember.government_id)
        .group_by(ClusterMember.cluster_id)
        .subquery()
    )
    query = (
        sa.select(Cluster.id, Cluster.name, Cluster.department_code, Department.name.label("department"),
                  Cluster.wave, Cluster.wave_date, Cluster.is_demo,
                  sa.func.coalesce(member_counts.c.n_members, 0).label("n_members"),
                  sa.func.coalesce(member_counts.c.n_regional, 0).label("n_regional"),
                  sa.func.coalesce(member_counts.c.n_provincial, 0).label("n_provincial"),
                  sa.func.coalesce(member_counts.c.n_district, 0).label("n_district"))
        .join(Department, Department.code == Cluster.department_code)
        .outerjoin(member_counts, member_counts.c.cluster_id == Cluster.id)
        .order_by(Department.name, Cluster.wave, Cluster.name)
    )
    if department_code:
        query = query.where(Cluster.department_code == department_code)
    query = scope.where(query, scope.cluster_condition(actor, Cluster.id))
    with read_session() as session:
        rows = session.execute(query).all()
        sectors = session.execute(
            sa.select(ClusterSector.cluster_id, ClusterSector.sector).order_by(ClusterSector.position)
        ).all()
    frame = pd.DataFrame(rows, columns=["id", "name", "department_code", "department", "wave", "wave_date",
                                        "is_demo", "n_members", "n_regional", "n_provincial", "n_district"])
    by_cluster: dict[uuid.UUID, list[str]] = {}
    for cluster_id, sector in sectors:
        by_cluster.setdefault(cluster_id, []).append(sector)
    frame["sectors"] = [tuple(by_cluster.get(cid, [])) for cid in frame["id"]]
    return frame


def cluster_members(cluster_id: uuid.UUID) -> pd.DataFrame:
    """Members of one cluster: id, ubigeo, level, name, province, department_code.

    The registry's composition (which governments form a cluster) is reference data, read by everyone;
    what is done there (workshops, participants, audits) is scoped in the other query modules.
    """
    query = (
        sa.select(Government.id, Government.ubigeo, Government.level, Government.name,
                  Province.name.label("province"), Government.department_code, Government.province_code)
        .join(ClusterMember, ClusterMember.government_id == Government.id)
        .outerjoin(Province, Province.code == Government.province_code)
        .where(ClusterMember.cluster_id == cluster_id)
        .order_by(sa.case((Government.level == "regional", 0), (Government.level == "provincial", 1), else_=2),
                  Government.ubigeo)
    )
    with read_session() as session:
        rows = session.execute(query).all()
    return pd.DataFrame(rows, columns=["id", "ubigeo", "level", "name", "province", "department_code",
                                       "province_code"])


def cluster_row(cluster_id: uuid.UUID) -> dict | None:
    with read_session() as session:
        cluster = session.get(Cluster, cluster_id)
        if cluster is None:
            return None
        sectors = session.execute(
            sa.select(ClusterSector.sector).where(ClusterSector.cluster_id == cluster_id)
            .order_by(ClusterSector.position)
        ).scalars().all()
        return {**cluster.model_dump(), "sectors": list(sectors)}


def in_scope(actor: Actor, cluster_id: object = None, government_id: object = None) -> bool:
    """Whether ``actor`` reads the cluster and the government a page was asked for (by URL).

    An id that is not a UUID or names nothing is "in scope": the page answers it as unknown.
    """
    clusters = scope.readable_clusters(actor)
    if clusters is None:
        return True

    def as_id(value):
        try:
            return None if value in (None, "") else uuid.UUID(str(value))
        except ValueError:
            return None

    cluster, government = as_id(cluster_id), as_id(government_id)
    with read_session() as session:
        if cluster is not None and session.get(Cluster, cluster) is not None and cluster not in clusters:
            return False
        if government is not None and session.get(Government, government) is not None:
            member = session.execute(
                sa.select(ClusterMember.government_id)
                .where(ClusterMember.government_id == government,
                       ClusterMember.cluster_id.in_(sorted(clusters, key=str)))
                .limit(1)).first()
            return member is not None
    return True
