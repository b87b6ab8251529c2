"""The program's plan as data: clusters planned per department and wave (editable defaults)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session

from db.identity import REFERENCE_STAMP, cluster_plan_id
from db.models import ClusterPlan

# Plan defaults (DOMAIN.md): waves of 6 / 5 / 5 clusters; 3, 3, 4, 3, 3 per department over the program.
# Wave 1 is stated (2 San Martín, 1 elsewhere); waves 2 and 3 split the rest so each department
# reaches its total (an assumption the Clusters page lets a manager edit).
DEFAULT_PLAN: dict[str, tuple[int, int, int]] = {
    "01": (1, 1, 1),  # Amazonas 3
    "16": (1, 1, 1),  # Loreto 3
    "22": (2, 1, 1),  # San Martín 4
    "25": (1, 1, 1),  # Ucayali 3
    "17": (1, 1, 1),  # Madre de Dios 3
}
WAVE_DATES = {1: "2013-01", 2: "2013-09", 3: "2013-12"}
PROGRAM_DEPARTMENTS = tuple(DEFAULT_PLAN)
IMPROVEMENT_PLAN_TARGETS = {
    # governments with an improvement plan: (regional, provincial, district) per milestone
    "year1": (5, 6, 18),
    "year1_wave2": (5, 11, 38),
    "year2_q1": (5, 16, 59),
}


def load_default_plan(session: Session) -> bool:
    if session.execute(sa.select(sa.func.count()).select_from(ClusterPlan)).scalar_one():
        return False
    for department_code, per_wave in DEFAULT_PLAN.items():
        for wave, planned in enumerate(per_wave, start=1):
            session.add(ClusterPlan(id=cluster_plan_id(department_code, wave), department_code=department_code,
                                    wave=wave, planned=planned, created_at=REFERENCE_STAMP,
                                    updated_at=REFERENCE_STAMP))
    session.flush()
    return True
