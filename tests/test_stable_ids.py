"""Stable identities: the same government, instrument or indicator has the same id in every installation,
existing databases are migrated to those ids with every reference intact, and a snapshot round trip
into an empty installation gives back the very same files."""

from __future__ import annotations

import io
import json
import os
import uuid
import zipfile
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlmodel import SQLModel

from assessments import snapshot
from db import identity
from db import models as m
from db.config import ROOT
from db.engine import dispose_engine, get_engine, write_session
from db.setup import load_reference_data, prepare
from tests.conftest import ENGINE
from tests.test_snapshot_factories import seed_cluster

REFERENCE = ("government", "instrument", "functional_area", "indicator", "level_descriptor", "stage_template",
             "feedback_dimension", "feedback_item", "cluster_plan")


def reference_ids(url: str) -> dict[str, list[tuple]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            tables = SQLModel.metadata.tables
            return {t: sorted(connection.execute(sa.select(tables[t].c.id, tables[t].c.created_at)).all())
                    for t in REFERENCE}
    finally:
        engine.dispose()


def test_two_fresh_installations_give_every_reference_row_the_same_id(empty_db_url, tmp_path, monkeypatch):
    prepare(demo=False, quiet=True)
    first = reference_ids(empty_db_url)
    dispose_engine(empty_db_url)
    other = f"sqlite:///{tmp_path / 'other.db'}"
    monkeypatch.setenv("DATABASE_URL", other)
    prepare(demo=False, quiet=True)
    dispose_engine(other)
    second = reference_ids(other)
    assert {t: len(rows) for t, rows in first.items()}["government"] == 1918
    assert all(first[t] for t in REFERENCE)
    assert first == second
    monkeypatch.setenv("DATABASE_URL", empty_db_url)
    with get_engine().connect() as connection:
        assert identity.mismatched(connection) == {}
        ubigeo_2205 = connection.execute(sa.select(m.Government.id).where(m.Government.ubigeo == "2205")).scalar()
    # anyone can compute it: UUIDv5 of "government:<ubigeo>" under the project namespace
    assert ubigeo_2205 == uuid.uuid5(identity.NAMESPACE, "government:2205")


def test_a_governments_own_instrument_version_gets_derived_ids_too(db_url, actor):
    """A workshop that customises its instrument (areas chosen, an indicator of its own) makes a new version:
    its areas, indicators and descriptors get derived ids like the shipped ones."""
    from assessments import focas
    from db.demo import load_demo_clusters

    with write_session() as session:
        lamas = next(c for c in load_demo_clusters(session) if c.name == "Lamas")
        district = session.execute(sa.select(m.Government.id).where(m.Government.ubigeo == "220510")).scalar_one()
        assessment, _ = focas.start_assessment(session=session, actor=actor, government_id=district,
                                               cluster_id=lamas.id, round="baseline")
        custom = focas.customise_instrument(
            session=session, actor=actor, assessment_id=assessment.id, area_codes=["ADM", "LEGALPART", "DIVERSITY"],
            new_indicators=[focas.CustomIndicator(area_code="ADM", name_es="Archivo ordenado", name_en="")])
    assert custom.id == identity.instrument_id("focas", custom.code, custom.version)
    with get_engine().connect() as connection:
        assert identity.mismatched(connection) == {}
        custom_codes = connection.execute(sa.select(m.Indicator.code).where(m.Indicator.is_custom.is_(True))).all()
    assert len(custom_codes) == 1


# --- an existing database with random reference ids --------------------------------------------------


def _previous_revision() -> str:
    script = ScriptDirectory.from_config(Config(str(ROOT / "alembic.ini")))
    return script.get_revision("0005").down_revision


def _upgrade(url: str, target: str) -> None:
    config = Config(str(ROOT / "alembic.ini"))
    with get_engine().begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, target)


def old_installation(url: str, monkeypatch) -> None:
    """A database as the app made it before ids were derived: random UUIDs, load-time stamps, data on top."""
    _upgrade(url, _previous_revision())
    loaded_at = datetime(2026, 11, 3, 9, 15, tzinfo=timezone.utc)
    with monkeypatch.context() as patch:
        patch.setattr(identity, "stable_id", lambda *parts: uuid.uuid4())
        for module in ("db.reference", "db.plan", "db.identity"):
            patch.setattr(f"{module}.REFERENCE_STAMP", loaded_at)
        load_reference_data()
        with write_session() as session:
            seed_cluster(session, ["uno", "=2+2"], index=0)
            seed_cluster(session, ["dos"], index=10)
    with get_engine().connect() as connection:
        assert identity.mismatched(connection)  # really random, so the migration has work to do


def facts(connection) -> dict:
    """What a user sees, independent of ids: counts, every score by government, indicator and person."""
    count = {t: connection.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar_one()
             for t in (*REFERENCE, "cluster_member", "assessment", "participant", "participant_score",
                       "consensus_score", "feedback_rating", "improvement_action", "performance_target",
                       "capacity_plan_item", "service_audit")}
    scores = sorted(connection.exec_driver_sql(
        "SELECT g.ubigeo, i.version, n.code, p.code, s.score FROM participant_score s"
        " JOIN participant p ON p.id = s.participant_id JOIN indicator n ON n.id = s.indicator_id"
        " JOIN assessment a ON a.id = s.assessment_id JOIN government g ON g.id = a.government_id"
        " JOIN instrument i ON i.id = a.instrument_id").all())
    consensus = sorted(connection.exec_driver_sql(
        "SELECT g.ubigeo, n.code, c.score, c.evidence FROM consensus_score c JOIN indicator n ON n.id = c.indicator_id"
        " JOIN assessment a ON a.id = c.assessment_id JOIN government g ON g.id = a.government_id").all(), key=str)
    ratings = sorted(connection.exec_driver_sql(
        "SELECT t.code, r.rating FROM feedback_rating r JOIN feedback_item t ON t.id = r.item_id").all())
    members = sorted(connection.exec_driver_sql(
        "SELECT c.name, g.ubigeo FROM cluster_member x JOIN cluster c ON c.id = x.cluster_id"
        " JOIN government g ON g.id = x.government_id AND g.department_code = x.department_code").all())
    parents = sorted(connection.exec_driver_sql(
        "SELECT g.ubigeo, p.ubigeo FROM government g JOIN government p ON p.id = g.parent_id").all())
    based_on = sorted(connection.exec_driver_sql(
        "SELECT i.version, b.version FROM instrument i JOIN instrument b ON b.id = i.based_on_id").all())
    return {"count": count, "scores": scores, "consensus": consensus, "ratings": ratings, "members": members,
            "parents": parents, "based_on": based_on}


def orphans(connection) -> list[str]:
    """Every foreign key value that points at no row (PRAGMA foreign_key_check on SQLite, joins on PostgreSQL)."""
    if connection.dialect.name == "sqlite":
        return [str(r) for r in connection.exec_driver_sql("PRAGMA foreign_key_check").all()]
    found = []
    inspector = sa.inspect(connection)
    for table in inspector.get_table_names():
        for fk in inspector.get_foreign_keys(table):
            on = " AND ".join(f"r.{rc} = t.{cc}" for cc, rc in zip(fk["constrained_columns"], fk["referred_columns"]))
            filled = " AND ".join(f"t.{cc} IS NOT NULL" for cc in fk["constrained_columns"])
            n = connection.exec_driver_sql(
                f"SELECT count(*) FROM {table} t WHERE {filled} AND NOT EXISTS"
                f" (SELECT 1 FROM {fk['referred_table']} r WHERE {on})").scalar_one()
            if n:
                found.append(f"{table}.{fk['constrained_columns']}: {n}")
    return found


def test_the_migration_rewrites_old_random_ids_and_every_reference_still_resolves(empty_db_url, monkeypatch):
    old_installation(empty_db_url, monkeypatch)
    with get_engine().connect() as connection:
        before = facts(connection)
        old_ids = {t: set(identity.derived_ids(connection, t)) for t in REFERENCE}
        audit_before = connection.exec_driver_sql("SELECT count(*) FROM audit_event").scalar_one()
    _upgrade(empty_db_url, "head")
    with get_engine().connect() as connection:
        assert identity.mismatched(connection) == {}
        assert orphans(connection) == []
        assert facts(connection) == before
        # the old → new map: one row per rewritten reference row, resolving the ids the audit log keeps
        mapped = connection.exec_driver_sql("SELECT entity, old_id, new_id FROM reference_id_map").all()
        assert len(mapped) == sum(len(ids) for ids in old_ids.values())
        for entity, old, new in mapped[:50]:
            assert uuid.UUID(str(old)) in old_ids[entity]
            assert uuid.UUID(str(new)) in identity.derived_ids(connection, entity).values()
        # the audit log was not rewritten: one event more, saying what the migration did
        assert connection.exec_driver_sql("SELECT count(*) FROM audit_event").scalar_one() == audit_before + 1
        after = json.loads(connection.exec_driver_sql(
            "SELECT after_json FROM audit_event WHERE action = 'reidentify'").scalar_one())
        assert after["rewritten"]["government"] == 1918
        # shipped rows now carry the reference stamp, like a new installation's
        stamps = connection.execute(sa.select(m.Government.created_at).distinct()).scalars().all()
        assert stamps == [identity.REFERENCE_STAMP]
    # and the migrated database reads like a fresh one: the same ids as a new installation
    with write_session() as session:
        government = session.execute(sa.select(m.Government).where(m.Government.ubigeo == "220502")).scalar_one()
        assert government.id == identity.government_id("220502")


def test_a_removal_recorded_before_the_migration_can_still_be_undone(empty_db_url, monkeypatch, actor):
    from assessments import capacity_plan

    old_installation(empty_db_url, monkeypatch)
    with write_session() as session:
        item = session.execute(sa.select(m.CapacityPlanItem)).scalars().first()
        item_id, old_government = item.id, item.government_id
        capacity_plan.delete_plan_item(session=session, actor=actor, item_id=item_id)
    _upgrade(empty_db_url, "head")
    with write_session() as session:
        capacity_plan.restore_plan_item(session=session, actor=actor, item_id=item_id)
    with write_session() as session:
        restored = session.get(m.CapacityPlanItem, item_id)
        government = session.get(m.Government, restored.government_id)
        assert restored.government_id != old_government and government.ubigeo == "220502"


# --- the byte-identical round trip ---------------------------------------------------------------------


def entries(data: bytes) -> dict[str, bytes]:
    archive = zipfile.ZipFile(io.BytesIO(data))
    return {n: archive.read(n) for n in archive.namelist() if n.endswith(".csv")}


def test_export_import_into_an_empty_installation_export_gives_byte_identical_tables(
        db_url, empty_db_url, monkeypatch, actor):
    monkeypatch.setenv("DATABASE_URL", db_url)
    with write_session() as session:
        seed_cluster(session, ["=1+1", "ñandú", "line1\nline2"], index=0)
        seed_cluster(session, ["otra"], index=10)
    first, _ = snapshot.export_bytes(actor=actor)
    dispose_engine(db_url)
    monkeypatch.setenv("DATABASE_URL", empty_db_url)
    prepare(demo=False, quiet=True)
    with write_session() as session:
        report = snapshot.import_snapshot(first, session=session, actor=actor)
    assert not report.conflicts
    second, _ = snapshot.export_bytes(actor=actor)
    left, right = entries(first), entries(second)
    assert set(left) == set(right) and len(left) >= 46
    differing = sorted(name for name in left if left[name] != right[name])
    assert differing == []
