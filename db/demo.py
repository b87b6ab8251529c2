"""Demo data: the seven first-wave cluster proposals of the plan (Annex III) with their real governments.

Loaded only into an empty embedded database on its first start, and labelled as demo in the UI.
Each capability adds its synthetic records through a ``load_demo(session, clusters)`` step below.
"""

from __future__ import annotations

import importlib
import uuid
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlmodel import Session

from assessments.access import SYSTEM
from db.audit import record
from db.engine import run_write
from db.models import Cluster, ClusterMember, ClusterSector, Government


# One first-wave proposal: UBIGEO codes of its members (capital districts are their provincial municipality).
@dataclass(frozen=True)
class DemoCluster:
    name: str
    department: str
    provinces: tuple[str, ...]
    districts: tuple[str, ...]
    sectors: tuple[str, ...]
    wave: int
    note: str


DEMO_CLUSTERS: tuple[DemoCluster, ...] = (
    DemoCluster("Condorcanqui", "01", ("0104",), ("010402", "010403"), ("health", "education"), 1,
                "Nieva (Santa María de Nieva) es la capital: la gobierna la Municipalidad Provincial."),
    DemoCluster("Moyobamba – Rioja", "22", ("2201",), ("220104", "220105", "220802"), ("health",), 1,
                "Propuesta que abarca dos provincias: Awajún pertenece a Rioja."),
    DemoCluster("Lamas", "22", ("2205",), ("220510", "220505"), ("education",), 1,
                "Lamas es la capital: la gobierna la Municipalidad Provincial."),
    DemoCluster("Mariscal Cáceres", "22", ("2206",), ("220605", "220604", "220603"), ("education",), 2,
                "Tercera propuesta de San Martín: el plan solo prevé dos en la primera ola."),
    DemoCluster("Coronel Portillo", "25", ("2501",), ("250107", "250102", "250106"),
                ("health", "education", "environment"), 1, ""),
    DemoCluster("Tambopata", "17", ("1701",), ("170104", "170102", "170103"),
                ("health", "education", "environment"), 1,
                "Tambopata es la capital: la gobierna la Municipalidad Provincial."),
    DemoCluster("Alto Amazonas", "16", ("1602",), ("160202", "160206", "160210"), ("health",), 1, ""),
)
WAVE_START = {1: date(2013, 1, 15), 2: date(2013, 9, 15), 3: date(2013, 12, 15)}

# Later capabilities add their demo records here (each module exposes ``load_demo(session, clusters)``).
DEMO_STEPS = ("db.demo_focas", "db.demo_qsip", "db.demo_selection", "db.demo_accounts")


def load_demo_clusters(session: Session) -> list[Cluster]:
    clusters = []
    for spec in DEMO_CLUSTERS:
        ubigeos = (spec.department, *spec.provinces, *spec.districts)
        governments = {
            g.ubigeo: g
            for g in session.execute(sa.select(Government).where(Government.ubigeo.in_(ubigeos))).scalars()
        }
        missing = set(ubigeos) - set(governments)
        if missing:
            raise LookupError(f"demo cluster {spec.name}: unknown UBIGEO {sorted(missing)}")
        cluster = Cluster(name=spec.name, department_code=spec.department, wave=spec.wave,
                          wave_date=WAVE_START[spec.wave], notes=spec.note, is_demo=True)
        session.add(cluster)
        session.flush()
        for position, sector in enumerate(spec.sectors, start=1):
            session.add(ClusterSector(cluster_id=cluster.id, sector=sector, position=position))
        for ubigeo in ubigeos:
            session.add(ClusterMember(cluster_id=cluster.id, government_id=governments[ubigeo].id,
                                      department_code=spec.department))
        record(session, SYSTEM, "create", "cluster", cluster.id, after=cluster, reason="demo")
        clusters.append(cluster)
    session.flush()
    return clusters


def load_demo() -> list[uuid.UUID]:
    """Load every demo step in one transaction each; returns the demo cluster ids."""
    clusters = run_write(load_demo_clusters)  # each step one transaction, tried again after a transient conflict
    for step in DEMO_STEPS:
        module = importlib.import_module(step)
        run_write(lambda session: module.load_demo(session, [session.get(Cluster, c.id) for c in clusters]))
    return [c.id for c in clusters]
