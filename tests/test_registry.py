"""Reference data: every government of Peru from INEI's UBIGEO registry, with the capital-district rule."""

from __future__ import annotations

import sqlalchemy as sa

from db.models import Department, District, Government, Province


def count(session, statement) -> int:
    return session.execute(statement).scalar_one()


def test_registry_holds_inei_departments_provinces_and_districts(session):
    assert count(session, sa.select(sa.func.count()).select_from(Department)) == 25
    assert count(session, sa.select(sa.func.count()).select_from(Province)) == 196
    assert count(session, sa.select(sa.func.count()).select_from(District)) == 1893


def test_one_regional_government_per_department(session):
    rows = session.execute(
        sa.select(Government.department_code, sa.func.count()).where(Government.level == "regional")
        .group_by(Government.department_code)
    ).all()
    assert len(rows) == 25 and all(n == 1 for _, n in rows)


def test_one_provincial_municipality_per_province(session):
    rows = session.execute(
        sa.select(Government.province_code, sa.func.count()).where(Government.level == "provincial")
        .group_by(Government.province_code)
    ).all()
    assert len(rows) == 196 and all(n == 1 for _, n in rows)


def test_one_district_municipality_per_non_capital_district(session):
    n_district = count(session, sa.select(sa.func.count()).select_from(Government).where(Government.level == "district"))
    n_non_capital = count(session, sa.select(sa.func.count()).select_from(District).where(District.is_capital.is_(False)))
    assert n_district == n_non_capital == 1893 - 196
    capital_governments = count(
        session,
        sa.select(sa.func.count()).select_from(Government)
        .where(Government.level == "district", Government.ubigeo.like("____01")),
    )
    assert capital_governments == 0


def test_known_governments_carry_their_ubigeo_and_parent(session):
    el_cenepa = session.execute(sa.select(Government).where(Government.ubigeo == "010402")).scalar_one()
    condorcanqui = session.get(Government, el_cenepa.parent_id)
    amazonas = session.get(Government, condorcanqui.parent_id)
    assert el_cenepa.name == "Municipalidad Distrital de El Cenepa"
    assert (condorcanqui.ubigeo, condorcanqui.level) == ("0104", "provincial")
    assert (amazonas.ubigeo, amazonas.level, amazonas.name) == ("01", "regional", "Gobierno Regional de Amazonas")
