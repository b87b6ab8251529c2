"""Stable identities of reference rows: the same id for the same thing in every installation.

Reference rows (governments, instrument versions with their areas, indicators, level descriptors, QSIP
stages, dimensions and items, and the plan's clusters per department and wave) get a UUIDv5 of their
natural key under one fixed project namespace, so two installations, or a laptop and the central
server, can join their data on ids. Departments, provinces and districts are keyed by their INEI
UBIGEO code already.

The names hashed (``NAMESPACE`` below; ``kind`` is ``focas`` or ``qsip``)::

    government:<ubigeo>
    instrument:<kind>:<code>:<version>
    functional_area:<kind>:<code>:<version>:<area code>
    indicator:<kind>:<code>:<version>:<area code>:<indicator code>
    level_descriptor:<kind>:<code>:<version>:<area code>:<indicator code>:<level>
    stage_template:<kind>:<code>:<version>:<stage number>
    feedback_dimension:<kind>:<code>:<version>:<dimension code>
    feedback_item:<kind>:<code>:<version>:<dimension code>:<item code>
    cluster_plan:<department code>:<wave>

e.g. ``uuid.uuid5(NAMESPACE, "government:220501")``. Rows the loaders ship (the UBIGEO registry, the
default instruments, the default plan) also carry one fixed timestamp (``REFERENCE_STAMP``), so an
export of the same reference data is the same bytes everywhere.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

# The project's namespace (a fixed random UUID; never change it: every stored reference id derives from it).
NAMESPACE = uuid.UUID("6f1c1f6e-3b0a-4c52-9a55-2d6e0c6a9b17")
# created_at / updated_at of the reference rows the loaders ship (not a real moment: "shipped with the app")
REFERENCE_STAMP = datetime(2000, 1, 1, tzinfo=timezone.utc)


def stable_id(table: str, *parts: object) -> uuid.UUID:
    """The UUIDv5 of ``"<table>:<part>:<part>…"`` under the project namespace."""
    return uuid.uuid5(NAMESPACE, ":".join([table, *(str(p) for p in parts)]))


def government_id(ubigeo: str) -> uuid.UUID:
    return stable_id("government", ubigeo)


def instrument_id(kind: str, code: str, version: int) -> uuid.UUID:
    return stable_id("instrument", kind, code, version)


def area_id(kind: str, code: str, version: int, area: str) -> uuid.UUID:
    return stable_id("functional_area", kind, code, version, area)


def indicator_id(kind: str, code: str, version: int, area: str, indicator: str) -> uuid.UUID:
    return stable_id("indicator", kind, code, version, area, indicator)


def level_descriptor_id(kind: str, code: str, version: int, area: str, indicator: str, level: int) -> uuid.UUID:
    return stable_id("level_descriptor", kind, code, version, area, indicator, level)


def stage_template_id(kind: str, code: str, version: int, number: int) -> uuid.UUID:
    return stable_id("stage_template", kind, code, version, number)


def feedback_dimension_id(kind: str, code: str, version: int, dimension: str) -> uuid.UUID:
    return stable_id("feedback_dimension", kind, code, version, dimension)


def feedback_item_id(kind: str, code: str, version: int, dimension: str, item: str) -> uuid.UUID:
    return stable_id("feedback_item", kind, code, version, dimension, item)


def cluster_plan_id(department_code: str, wave: int) -> uuid.UUID:
    return stable_id("cluster_plan", department_code, wave)


# --- every reference row's derived id, read from the database (the migration and the tests use it) ---

# (table, SQL giving (id, derived-id name parts…)); parts are joined with ":" after the table name.
NATURAL_KEY_SQL: dict[str, str] = {
    "government": "SELECT id, ubigeo FROM government",
    "instrument": "SELECT id, kind, code, version FROM instrument",
    "functional_area": (
        "SELECT a.id, i.kind, i.code, i.version, a.code FROM functional_area a"
        " JOIN instrument i ON i.id = a.instrument_id"),
    "indicator": (
        "SELECT n.id, i.kind, i.code, i.version, a.code, n.code FROM indicator n"
        " JOIN functional_area a ON a.id = n.area_id JOIN instrument i ON i.id = a.instrument_id"),
    "level_descriptor": (
        "SELECT d.id, i.kind, i.code, i.version, a.code, n.code, d.level FROM level_descriptor d"
        " JOIN indicator n ON n.id = d.indicator_id JOIN functional_area a ON a.id = n.area_id"
        " JOIN instrument i ON i.id = a.instrument_id"),
    "stage_template": (
        "SELECT s.id, i.kind, i.code, i.version, s.number FROM stage_template s"
        " JOIN instrument i ON i.id = s.instrument_id"),
    "feedback_dimension": (
        "SELECT d.id, i.kind, i.code, i.version, d.code FROM feedback_dimension d"
        " JOIN instrument i ON i.id = d.instrument_id"),
    "feedback_item": (
        "SELECT t.id, i.kind, i.code, i.version, d.code, t.code FROM feedback_item t"
        " JOIN feedback_dimension d ON d.id = t.dimension_id JOIN instrument i ON i.id = d.instrument_id"),
    "cluster_plan": "SELECT id, department_code, wave FROM cluster_plan",
}
REFERENCE_TABLES = tuple(NATURAL_KEY_SQL)


def _as_uuid(value: object) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def derived_ids(connection, table: str) -> dict[uuid.UUID, uuid.UUID]:
    """Stored id → the id its natural key derives, for every row of one reference table.

    Plain SQL only (the migration calls it on a connection whose schema is the one it upgrades).
    """
    rows = connection.exec_driver_sql(NATURAL_KEY_SQL[table]).all()
    return {_as_uuid(row[0]): stable_id(table, *row[1:]) for row in rows}


def mismatched(connection) -> dict[str, int]:
    """Per reference table, how many rows hold an id other than their derived one (empty: all stable)."""
    out = {}
    for table in REFERENCE_TABLES:
        wrong = sum(1 for old, new in derived_ids(connection, table).items() if old != new)
        if wrong:
            out[table] = wrong
    return out
