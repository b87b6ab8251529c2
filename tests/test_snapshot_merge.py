"""Merging laptops: round trip into an empty database, idempotent re-import, conflicts, hostile archives."""

from __future__ import annotations

import io
import zipfile

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assessments import snapshot
from assessments.access import Actor
from assessments.errors import PermissionDenied, ValidationFailed
from db import models as m
from db.audit import data_version
from db.engine import dispose_engine, get_engine, write_session
from db.queries.snapshot import Filters
from tests.test_snapshot_factories import read_tables, rezip, seed_cluster

TRICKY = ["NA", "=1+1", "-5", "+3", "@SUM(A1)", "'quoted", "''", "\ttab", "\rcr", "ñandú Áéí Ü", 'say "hi"',
          "line1\nline2", "", " ", "null", "N/A", "-", "'", "a,b;c", "=HYPERLINK(\"http://x\")"]
TEXT = st.one_of(st.sampled_from(TRICKY),
                 st.text(alphabet=st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=24))


def export(actor, **kwargs) -> bytes:
    data, _ = snapshot.export_bytes(actor=actor, **kwargs)
    return data


def import_into(data: bytes, actor, **kwargs):
    with write_session() as session:
        return snapshot.import_snapshot(data, session=session, actor=actor, **kwargs)


def counts(tables=("assessment", "participant", "consensus_score", "audit_event", "cluster", "instrument")):
    with get_engine().connect() as connection:
        return {name: connection.execute(sa.text(f"SELECT count(*) FROM {name}")).scalar_one() for name in tables}


def switch(monkeypatch, url: str) -> None:
    monkeypatch.setenv("DATABASE_URL", url)


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(texts=st.lists(TEXT, min_size=12, max_size=12))
def test_round_trip_into_an_empty_database_gives_identical_tables(db_url, empty_db_url, monkeypatch, actor, texts):
    switch(monkeypatch, db_url)
    with write_session() as session:
        existing = session.execute(sa.select(sa.func.count()).select_from(m.Cluster)).scalar_one()
        seed_cluster(session, texts, index=existing)
    first = export(actor)
    path = f"{empty_db_url.rsplit('/', 1)[-1]}.zip"
    switch(monkeypatch, empty_db_url)
    import tempfile, os

    with tempfile.TemporaryDirectory() as folder:
        file = os.path.join(folder, path)
        with open(file, "wb") as handle:
            handle.write(first)
        assert snapshot.main(["import", file]) == 0  # the command migrates the empty database first
    dispose_engine(empty_db_url)
    second = export(actor)
    left, right = read_tables(first), read_tables(second)
    assert set(left) == set(right) and len(left) == 14
    for name in left:
        assert left[name] == right[name], name
    assert read_tables(first, "wide/") == read_tables(second, "wide/")
    # the texts themselves came back exactly (through the neutralised CSV cells)
    with get_engine().connect() as connection:
        notes = set(connection.execute(sa.text("SELECT notes FROM assessment")).scalars())
    assert texts[4] in notes


def test_importing_the_same_snapshot_twice_changes_nothing(db_url, empty_db_url, monkeypatch, actor):
    switch(monkeypatch, db_url)
    with write_session() as session:
        seed_cluster(session, ["=1+1", "-5", "NA"], index=0)
    data = export(actor)
    switch(monkeypatch, empty_db_url)
    from db.setup import prepare

    prepare(demo=False, quiet=True)
    first = import_into(data, actor)
    assert first.tables["assessment"].added == 1
    assert first.tables["participant"].added == 2
    assert first.tables["participant_score"].added == 12
    assert first.tables["instrument"].added == 1  # the custom version; the defaults matched by code and version
    assert first.tables["instrument"].skipped == 2
    before = counts()
    with get_engine().connect() as connection:
        version = data_version(connection)
    second = import_into(data, actor)
    assert second.total("added") == 0 and second.total("updated") == 0 and not second.conflicts
    assert second.tables["participant_score"].skipped == 12
    assert counts() == before
    with get_engine().connect() as connection:
        assert data_version(connection) == version


def test_a_record_changed_on_this_laptop_is_a_conflict_never_overwritten(db_url, empty_db_url, monkeypatch, actor):
    switch(monkeypatch, db_url)
    with write_session() as session:
        seeded = seed_cluster(session, ["original"], index=1)
    data = export(actor)
    switch(monkeypatch, empty_db_url)
    from db.setup import prepare

    prepare(demo=False, quiet=True)
    import_into(data, actor)
    assessment_id = seeded["assessment"].id
    with write_session() as session:
        session.execute(sa.update(m.Assessment).where(m.Assessment.id == assessment_id).values(notes="edited here"))
    report = import_into(data, actor)
    assert [(c.table, c.record_id, c.kind, c.columns) for c in report.conflicts] == [
        ("assessment", str(assessment_id), "changed", ("notes",))]
    assert report.conflicts[0].local == {"notes": "edited here"}
    assert report.conflicts[0].incoming == {"notes": "original"}
    with get_engine().connect() as connection:
        assert connection.execute(sa.select(m.Assessment.notes).where(m.Assessment.id == assessment_id)).scalar() \
            == "edited here"
    # a person decides: take the snapshot's version
    resolved = import_into(data, actor, take_incoming=snapshot.take_incoming_choices(report))
    assert resolved.tables["assessment"].updated == 1 and not resolved.conflicts
    with get_engine().connect() as connection:
        assert connection.execute(sa.select(m.Assessment.notes).where(m.Assessment.id == assessment_id)).scalar() \
            == "original"
        events = connection.execute(sa.select(m.AuditEvent.action).where(
            m.AuditEvent.entity == "assessment", m.AuditEvent.entity_id == str(assessment_id))).scalars().all()
    assert "import_update" in events


def test_the_same_baseline_entered_on_two_laptops_is_a_duplicate_and_holds_back_its_rows(
        db_url, empty_db_url, monkeypatch, actor):
    switch(monkeypatch, db_url)
    with write_session() as session:
        seed_cluster(session, ["laptop A"], index=2)
    data = export(actor)
    switch(monkeypatch, empty_db_url)
    from db.setup import prepare

    prepare(demo=False, quiet=True)
    with write_session() as session:
        seed_cluster(session, ["laptop B"], index=2)  # same government, same round, other UUIDs
    before = counts()
    report = import_into(data, actor)
    duplicates = [c for c in report.conflicts if c.kind == "duplicate"]
    assert {c.table for c in duplicates} >= {"assessment"}
    assert report.tables["participant"].blocked == 2
    assert report.tables["participant_score"].blocked == 12
    after = counts()
    assert after["assessment"] == before["assessment"]
    assert after["participant"] == before["participant"]
    assert after["cluster"] == before["cluster"] + 1  # the other laptop's cluster itself is new


def test_an_evaluator_cannot_import(db_url, actor):
    data = export(actor)
    with pytest.raises(PermissionDenied):
        import_into(data, Actor(username="eva", role="evaluator"))


# --- hostile and broken files ----------------------------------------------------------------


@pytest.fixture
def good_snapshot(db_url, actor):
    with write_session() as session:
        seed_cluster(session, ["=cmd|' /C calc'!A0"], index=3)
    return export(actor)


def _refused(data: bytes, actor, key: str, **kwargs) -> ValidationFailed:
    before = counts()
    with pytest.raises(ValidationFailed) as caught:
        import_into(data, actor, **kwargs)
    assert caught.value.key == f"snapshot.error.{key}", caught.value.params
    assert counts() == before
    message = caught.value.message("es")
    assert message and not message.startswith("snapshot.")
    return caught.value


def _zip(entries: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return out.getvalue()


def test_wrong_columns_are_refused(good_snapshot, actor):
    raw = zipfile.ZipFile(io.BytesIO(good_snapshot)).read("raw/participant.csv").decode()
    header, rest = raw.split("\r\n", 1)
    broken = rezip(good_snapshot, {"raw/participant.csv": (header.replace("full_name", "nombre") + "\r\n" + rest).encode()})
    _refused(broken, actor, "wrong_columns")


def test_bad_encoding_is_refused(good_snapshot, actor):
    raw = zipfile.ZipFile(io.BytesIO(good_snapshot)).read("raw/cluster.csv").decode()
    broken = rezip(good_snapshot, {"raw/cluster.csv": raw.replace("cmd", "cmd ñ").encode("latin-1")})
    _refused(broken, actor, "bad_encoding")


def test_a_bad_value_is_refused_and_nothing_of_the_earlier_tables_stays(good_snapshot, actor):
    raw = zipfile.ZipFile(io.BytesIO(good_snapshot)).read("raw/participant_score.csv").decode()
    lines = raw.split("\r\n")
    cells = lines[-2].split(",")
    cells[-1] = "four"
    lines[-2] = ",".join(cells)
    broken = rezip(good_snapshot, {"raw/participant_score.csv": "\r\n".join(lines).encode()})
    error = _refused(broken, actor, "bad_value")
    assert error.params["column"] == "score"


def test_a_tampered_file_fails_its_sha256(good_snapshot, actor):
    raw = zipfile.ZipFile(io.BytesIO(good_snapshot)).read("raw/assessment.csv")
    _refused(rezip(good_snapshot, {"raw/assessment.csv": raw.replace(b"validated", b"draft")}, fix_hashes=False),
             actor, "hash_mismatch")


@pytest.mark.parametrize("name", ["../evil.csv", "/etc/evil.csv", "raw/../../evil.csv", "C:\\evil.csv"])
def test_paths_leaving_the_archive_are_refused(good_snapshot, actor, name):
    _refused(rezip(good_snapshot, {name: b"x"}), actor, "unsafe_path")


def test_an_unknown_file_is_refused(good_snapshot, actor):
    _refused(rezip(good_snapshot, {"raw/evil.py": b"print(1)"}), actor, "unexpected_file")


def test_a_zip_bomb_is_refused_before_it_is_inflated(db_url, actor):
    bomb = _zip({"manifest.json": b"{}", "raw/assessment.csv": b"\0" * (40 * 1024 * 1024)})
    assert len(bomb) < 100_000
    _refused(bomb, actor, "bomb")


def test_a_truncated_zip_is_refused(good_snapshot, actor):
    _refused(good_snapshot[: len(good_snapshot) // 2], actor, "not_zip")


def test_something_that_is_not_a_zip_is_refused(db_url, actor):
    _refused(b"department_code,ubigeo\n22,2205\n", actor, "not_zip")


def test_a_zip_without_manifest_is_refused(db_url, actor):
    _refused(_zip({"tables/targets.csv": b"a,b\n"}), actor, "missing_manifest")


def test_a_missing_raw_file_is_refused(good_snapshot, actor):
    _refused(rezip(good_snapshot, {"raw/participant.csv": None}), actor, "missing_file")


def test_a_filtered_snapshot_cannot_be_merged(db_url, actor):
    data = export(actor, filters=Filters(department_code="22"))
    _refused(data, actor, "not_mergeable")


def test_another_schema_revision_is_refused(good_snapshot, actor):
    def edit(manifest):
        manifest["schema_revision"] = "9999_future"

    _refused(rezip(good_snapshot, {}, manifest_edit=edit), actor, "schema_mismatch")


def test_an_oversized_upload_is_refused(good_snapshot, actor):
    _refused(good_snapshot, actor, "too_large", max_bytes=1000)


def test_a_manifest_that_is_not_json_is_refused(good_snapshot, actor):
    archive = zipfile.ZipFile(io.BytesIO(good_snapshot))
    entries = {name: archive.read(name) for name in archive.namelist()}
    entries["manifest.json"] = b"\xff\xfe not json"
    _refused(_zip(entries), actor, "bad_manifest")



def _entry_start(data: bytes, info: zipfile.ZipInfo) -> int:
    header = info.header_offset
    name_length = int.from_bytes(data[header + 26:header + 28], "little")
    extra_length = int.from_bytes(data[header + 28:header + 30], "little")
    return header + 30 + name_length + extra_length


def _corrupted(data: bytes, name: str, *, inflates: bool) -> bytes:
    """The same ZIP with one byte of ``name``'s deflated data flipped: so that inflating it fails (zlib
    error) or, when ``inflates``, so that it inflates to other bytes (a bad CRC)."""
    import zlib

    info = zipfile.ZipFile(io.BytesIO(data)).getinfo(name)
    assert info.compress_type == zipfile.ZIP_DEFLATED and info.compress_size > 64
    start = _entry_start(data, info)
    for offset in range(info.compress_size // 4, info.compress_size):
        broken = bytearray(data)
        broken[start + offset] ^= 0xFF
        try:
            zlib.decompressobj(-15).decompress(bytes(broken[start:start + info.compress_size]))
        except zlib.error:
            if not inflates:
                return bytes(broken)
            continue
        if inflates:
            return bytes(broken)
    raise AssertionError("no such byte")


@pytest.mark.parametrize("inflates", [False, True], ids=["zlib_error", "bad_crc"])
def test_a_corrupted_entry_is_refused_as_damaged_in_the_readers_language(good_snapshot, actor, inflates):
    name = "raw/government.csv"  # the largest entry
    error = _refused(_corrupted(good_snapshot, name, inflates=inflates), actor, "truncated")
    assert error.params["name"] == name
    assert "incompleto o dañado" in error.message("es")
    assert "incomplete or damaged" in error.message("en")
