"""Cluster services: create and edit clusters of governments, with the plan's composition warnings."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from sqlmodel import Session

from assessments.access import Actor, require
from assessments.errors import NotFound, ValidationFailed
from assessments.rules import RuleWarning, cluster_composition_warnings
from assessments.text import clean_field
from db.audit import record, record_many
from db.models import Cluster, ClusterMember, ClusterSector, Department, Government
from db.models.base import SECTORS

MAX_SECTORS = 2


# What a user submits to create or edit a cluster.
@dataclass
class ClusterInput:
    name: str
    department_code: str | None
    wave: int | str | None
    sectors: list[str] = field(default_factory=list)
    government_ubigeos: list[str] = field(default_factory=list)
    wave_date: date | None = None
    notes: str = ""


def _validated(session: Session, data: ClusterInput) -> tuple[ClusterInput, list[Government]]:
    name = clean_field(data.name, "cluster.name")
    if not name:
        raise ValidationFailed("cluster.name_blank")
    notes = clean_field(data.notes, "cluster.notes")
    if not data.department_code:
        raise ValidationFailed("cluster.no_department")
    if session.get(Department, data.department_code) is None:
        raise ValidationFailed("cluster.unknown_department", code=data.department_code)
    try:
        wave = int(data.wave)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValidationFailed("cluster.bad_wave", wave=data.wave) from None
    if wave < 1:
        raise ValidationFailed("cluster.bad_wave", wave=data.wave)
    sectors = list(dict.fromkeys(s.strip() for s in data.sectors if s and s.strip()))
    if not sectors:
        raise ValidationFailed("cluster.no_sector")
    unknown = [s for s in sectors if s not in SECTORS]
    if unknown:
        raise ValidationFailed("cluster.unknown_sector", sector=", ".join(unknown))
    ubigeos = [u.strip() for u in data.government_ubigeos if u and u.strip()]
    seen: set[str] = set()
    for ubigeo in ubigeos:
        if ubigeo in seen:
            raise ValidationFailed("cluster.duplicate_member", ubigeo=ubigeo)
        seen.add(ubigeo)
    governments = {
        g.ubigeo: g for g in session.execute(sa.select(Government).where(Government.ubigeo.in_(ubigeos))).scalars()
    }
    unknown_ubigeos = [u for u in ubigeos if u not in governments]
    if unknown_ubigeos:
        raise ValidationFailed("cluster.unknown_ubigeo", ubigeo=", ".join(unknown_ubigeos))
    foreign = [u for u in ubigeos if governments[u].department_code != data.department_code]
    if foreign:
        raise ValidationFailed("cluster.member_other_department", ubigeo=", ".join(foreign))
    clean = ClusterInput(name=name, department_code=data.department_code, wave=wave, sectors=sectors,
                         government_ubigeos=ubigeos, wave_date=data.wave_date, notes=notes)
    return clean, [governments[u] for u in ubigeos]


def warnings_for(department_code: str, members: list[Government], sectors: list[str]) -> list[RuleWarning]:
    """The plan's composition rules (warnings only; they never block saving)."""
    warnings = cluster_composition_warnings(department_code=department_code, members=members)
    if len(sectors) > MAX_SECTORS:
        warnings.append(RuleWarning("cluster.many_sectors", {"count": len(sectors), "max": MAX_SECTORS}))
    return warnings


def _state(session: Session, cluster: Cluster) -> dict:
    members = session.execute(
        sa.select(Government.ubigeo).join(ClusterMember, ClusterMember.government_id == Government.id)
        .where(ClusterMember.cluster_id == cluster.id).order_by(Government.ubigeo)
    ).scalars().all()
    sectors = session.execute(
        sa.select(ClusterSector.sector).where(ClusterSector.cluster_id == cluster.id).order_by(ClusterSector.position)
    ).scalars().all()
    return {"name": cluster.name, "department_code": cluster.department_code, "wave": cluster.wave,
            "wave_date": cluster.wave_date, "notes": cluster.notes, "sectors": list(sectors), "members": list(members)}


def _write_links(session: Session, cluster: Cluster, data: ClusterInput, governments: list[Government]) -> None:
    for position, sector in enumerate(data.sectors, start=1):
        session.add(ClusterSector(cluster_id=cluster.id, sector=sector, position=position))
    for government in governments:
        session.add(ClusterMember(cluster_id=cluster.id, government_id=government.id,
                                  department_code=cluster.department_code))


def _event(action: str, entity: str, row, **images) -> dict:
    return {"action": action, "entity": entity, "entity_id": row.id, **images}


def _update_links(session: Session, actor: Actor, cluster: Cluster, data: ClusterInput,
                  governments: list[Government]) -> None:
    """Make the cluster's sectors and members what ``data`` says, in place: a sector or member that stays
    keeps its row (and id), only new ones are inserted and only removed ones deleted, each change audited."""
    events: list[dict] = []
    sectors = {row.sector: row for row in session.execute(
        sa.select(ClusterSector).where(ClusterSector.cluster_id == cluster.id)).scalars()}
    for sector, row in sectors.items():
        if sector not in data.sectors:
            events.append(_event("delete", "cluster_sector", row, before=row.model_dump()))
            session.delete(row)
    session.flush()
    for position, sector in enumerate(data.sectors, start=1):
        row = sectors.get(sector)
        if row is None:
            row = ClusterSector(cluster_id=cluster.id, sector=sector, position=position)
            session.add(row)
            events.append(_event("create", "cluster_sector", row, after=row.model_dump()))
        elif row.position != position:
            before = row.model_dump()
            row.position = position
            session.add(row)
            events.append(_event("update", "cluster_sector", row, before=before, after=row.model_dump()))
    members = {row.government_id: row for row in session.execute(
        sa.select(ClusterMember).where(ClusterMember.cluster_id == cluster.id)).scalars()}
    wanted = {government.id for government in governments}
    for government_id, row in members.items():
        if government_id not in wanted:
            events.append(_event("delete", "cluster_member", row, before=row.model_dump()))
            session.delete(row)
    session.flush()
    for government in governments:
        if government.id not in members:
            row = ClusterMember(cluster_id=cluster.id, government_id=government.id,
                                department_code=cluster.department_code)
            session.add(row)
            events.append(_event("create", "cluster_member", row, after=row.model_dump()))
    session.flush()
    record_many(session, actor, events)


def create_cluster(*, session: Session, actor: Actor, data: ClusterInput) -> tuple[Cluster, list[RuleWarning]]:
    """Create a cluster with its sectors and members; returns it with its composition warnings."""
    require(actor, "cluster.write")
    data, governments = _validated(session, data)
    cluster = Cluster(name=data.name, department_code=data.department_code, wave=int(data.wave),
                      wave_date=data.wave_date, notes=data.notes)
    session.add(cluster)
    session.flush()
    _write_links(session, cluster, data, governments)
    session.flush()
    record(session, actor, "create", "cluster", cluster.id, after=_state(session, cluster))
    return cluster, warnings_for(cluster.department_code, governments, data.sectors)


def update_cluster(*, session: Session, actor: Actor, cluster_id: uuid.UUID,
                   data: ClusterInput) -> tuple[Cluster, list[RuleWarning]]:
    """Change a cluster's name, wave, sectors and members in place (the department cannot change)."""
    cluster = session.get(Cluster, cluster_id)
    if cluster is None:
        raise NotFound("cluster.not_found")
    require(actor, "cluster.write", cluster_id=cluster.id)
    if data.department_code and data.department_code != cluster.department_code:
        raise ValidationFailed("cluster.department_fixed")
    data.department_code = cluster.department_code
    data, governments = _validated(session, data)
    before = _state(session, cluster)
    cluster.name, cluster.wave, cluster.wave_date, cluster.notes = data.name, int(data.wave), data.wave_date, data.notes
    session.add(cluster)
    session.flush()
    _update_links(session, actor, cluster, data, governments)
    session.flush()
    record(session, actor, "update", "cluster", cluster.id, before=before, after=_state(session, cluster))
    return cluster, warnings_for(cluster.department_code, governments, data.sectors)


def cluster_warnings(cluster_id: uuid.UUID) -> list[RuleWarning]:
    """The composition warnings of a saved cluster (for the Clusters page)."""
    from db.queries.registry import cluster_members, cluster_row

    row = cluster_row(cluster_id)
    if row is None:
        return []
    members = cluster_members(cluster_id).to_dict("records")
    return warnings_for(row["department_code"], members, row["sectors"])
