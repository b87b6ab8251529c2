"""CSV snapshots: tidy tables with every identifying column, indexes, wide table, dictionary, manifest, safety."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from pathlib import Path

import openpyxl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from assessments import snapshot
from assessments.access import LOCAL_USER
from assessments.snapshot_dictionary import undocumented
from db.engine import write_session
from db.queries import snapshot as q
from tests.test_snapshot_factories import seed_cluster

ROOT = Path(__file__).resolve().parent.parent


def rows_of(data: bytes, name: str) -> list[dict]:
    text = zipfile.ZipFile(io.BytesIO(data)).read(name).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text, newline="")))


@given(st.text())
def test_neutralised_text_never_starts_a_formula_and_restores_exactly(text):
    safe = snapshot.neutralise(text)
    assert not safe.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert snapshot.restore(safe) == text


@pytest.mark.parametrize("value, cell", [
    (-5, "-5"), (-5.5, "-5.5"), (2.75, "2.75"), (True, "true"), (None, ""), (float("nan"), ""),
    ("-5", "'-5"), ("=1+1", "'=1+1"), ("+3", "'+3"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"), ("\rx", "'\rx"),
    ("'x", "''x"), ("NA", "NA"), ("ñandú", "ñandú"),
])
def test_cells_keep_numbers_as_numbers_and_neutralise_text(value, cell):
    assert snapshot.format_cell(value) == cell


@pytest.fixture
def seeded(db_url):
    with write_session() as session:
        return seed_cluster(session, ["=1+1", "-5", "NA", "ñandú \"quoted\"\nnew line", "@x", "+1", "\tt", "'q",
                                      "plain", "", " ", "Área"], index=0)


def test_export_writes_every_table_with_its_identifying_columns(seeded, actor):
    data, manifest = snapshot.export_bytes(actor=actor)
    names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
    assert {f"tables/{n}.csv" for n in q.TIDY_TABLES} <= names
    assert {"manifest.json", snapshot.WIDE_FILE, snapshot.DICTIONARY_FILE} <= names
    assert {f"raw/{t}.csv" for t in q.RAW_TABLE_NAMES} <= names
    consensus = rows_of(data, "tables/consensus_scores.csv")
    assert len(consensus) == 6
    first = consensus[0]
    assert (first["department_code"], first["ubigeo"], first["level"], first["province_code"]) == \
        ("22", "220502", "district", "2205")
    assert first["cluster"] == "'=1+1" and first["cluster_wave"] == "2" and first["sectors"] == "health;education"
    assert (first["round"], first["instrument_code"], first["instrument_version"]) == ("baseline", "FOCAS", "100")
    assert first["area_code"] and first["indicator_code"] and first["score"] == "1"
    assert consensus[5]["score"] == ""  # not scored stays empty, never 0
    participants = rows_of(data, "tables/participant_scores.csv")
    assert len(participants) == 12
    assert {(r["participant_code"], r["sex"], r["indigenous"], r["participant_role"]) for r in participants} == {
        ("'\tt", "female", "yes", "official"), ("P2'q", "male", "yes", "official")}
    targets = rows_of(data, "tables/targets.csv")
    assert [(t["ubigeo"], t["round"], t["target"], t["clusters"]) for t in targets] == [
        ("220502", "midpoint", "2.75", "'=1+1")]
    selection = rows_of(data, "tables/selection_scores.csv")
    assert selection[0]["score"] == "-5.0"  # a negative number stays a number
    assert manifest["filters"] == {"department": None, "cluster": None, "round": None}
    assert manifest["mergeable"] is True


def test_area_and_government_indexes_follow_the_scoring_rules(seeded, actor):
    data, _ = snapshot.export_bytes(actor=actor)
    consensus = rows_of(data, "tables/consensus_scores.csv")
    areas = rows_of(data, "tables/area_indexes.csv")
    # hand-computed: consensus scores 1,2,3,4,1,(none) in instrument order, grouped by their area
    by_area: dict[str, list[int]] = {}
    for row in consensus:
        by_area.setdefault(row["area_code"], [])
        if row["score"]:
            by_area[row["area_code"]].append(int(row["score"]))
    expected = {code: sum(v) / len(v) for code, v in by_area.items() if v}
    got = {r["area_code"]: float(r["area_score"]) for r in areas if r["area_score"]}
    assert got == pytest.approx(expected)
    for row in areas:
        if row["area_score"]:
            assert float(row["area_pct"]) == pytest.approx((float(row["area_score"]) - 1) / 3 * 100)
    government = rows_of(data, "tables/government_indexes.csv")
    assert len(government) == 1
    assert float(government[0]["capacity_index"]) == pytest.approx(sum(expected.values()) / len(expected))
    assert int(government[0]["n_areas"]) == len(expected)
    wide = rows_of(data, snapshot.WIDE_FILE)
    assert {r["area_code"]: float(r["area_score_baseline"]) for r in wide if r["area_score_baseline"]} == \
        pytest.approx(expected)
    assert all(r["area_score_midpoint"] == "" for r in wide)
    assert [r["target_midpoint"] for r in wide if r["target_midpoint"]] == ["2.75"]


def test_manifest_lists_every_file_with_its_rows_and_sha256(seeded, actor):
    data, manifest = snapshot.export_bytes(actor=actor, bom=True)
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert set(manifest["files"]) == set(archive.namelist()) - {"manifest.json"}
    for name, info in manifest["files"].items():
        content = archive.read(name)
        assert hashlib.sha256(content).hexdigest() == info["sha256"]
        if name == "datapackage.json":  # the Frictionless schema (JSON, no BOM), naming the CSVs' encoding
            assert {r["encoding"] for r in json.loads(content)["resources"]} == {"utf-8-sig"}
            continue
        assert content.startswith(b"\xef\xbb\xbf")  # the byte-order mark Excel needs
        parsed = list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))
        assert info["rows"] == len(parsed) - 1
    assert manifest["files"]["tables/consensus_scores.csv"]["rows"] == 6
    assert manifest["files"]["raw/participant_score.csv"]["rows"] == 12
    assert json.loads(archive.read("manifest.json"))["app_version"] == snapshot.app_version()
    versions = {(v["kind"], v["code"], v["version"]): v["n_uses"] for v in manifest["instrument_versions"]}
    assert versions[("focas", "FOCAS", 100)] == 1 and versions[("qsip", "QSIP", 1)] == 1
    assert manifest["exported_at"].endswith("+00:00")


def test_without_bom_files_start_with_the_header(seeded, actor):
    data, _ = snapshot.export_bytes(actor=actor)
    assert zipfile.ZipFile(io.BytesIO(data)).read("tables/targets.csv").startswith(b"department_code,")


def test_every_header_cell_is_safe(seeded, actor):
    data, _ = snapshot.export_bytes(actor=actor)
    archive = zipfile.ZipFile(io.BytesIO(data))
    for name in archive.namelist():
        if name.endswith(".csv"):
            header = next(csv.reader(io.StringIO(archive.read(name).decode("utf-8-sig"))))
            assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in header)
            for row in csv.reader(io.StringIO(archive.read(name).decode("utf-8-sig"), newline="")):
                for cell in row:
                    assert not cell.startswith(("=", "+", "@", "\t", "\r")), (name, cell)
                    if cell.startswith("-"):
                        float(cell)  # only real numbers may start with a minus sign


def test_filters_limit_the_analyst_tables(seeded, db_url, actor):
    with write_session() as session:
        seed_cluster(session, ["other"], index=10)  # Tambopata, Madre de Dios (17)
    data, manifest = snapshot.export_bytes(actor=actor, filters=q.Filters(department_code="17"))
    consensus = rows_of(data, "tables/consensus_scores.csv")
    assert {r["department_code"] for r in consensus} == {"17"} and len(consensus) == 6
    assert not any(n.startswith("raw/") for n in zipfile.ZipFile(io.BytesIO(data)).namelist())
    assert manifest["mergeable"] is False and manifest["filters"]["department"] == "17"
    by_cluster, _ = snapshot.export_bytes(actor=actor, filters=q.Filters(cluster_id=seeded["cluster"].id))
    assert {r["ubigeo"] for r in rows_of(by_cluster, "tables/consensus_scores.csv")} == {"220502"}
    by_round, _ = snapshot.export_bytes(actor=actor, filters=q.Filters(round="midpoint"))
    assert rows_of(by_round, "tables/consensus_scores.csv") == []


def test_the_dictionary_describes_every_column_in_both_languages(seeded, actor):
    data, manifest = snapshot.export_bytes(actor=actor)
    files = {}
    archive = zipfile.ZipFile(io.BytesIO(data))
    for name in manifest["files"]:
        if name.endswith(".csv"):
            files[name] = next(csv.reader(io.StringIO(archive.read(name).decode("utf-8-sig"))))
    assert undocumented(files) == []
    dictionary = rows_of(data, snapshot.DICTIONARY_FILE)
    described = {(r["file"], r["column"]) for r in dictionary}
    for name, columns in files.items():
        assert {(name, c) for c in columns} <= described
    rounds = [r for r in dictionary if r["file"] == "tables/consensus_scores.csv" and r["column"] == "round"][0]
    assert rounds["allowed_values"] == "baseline | midpoint | end"
    assert rounds["description_es"].startswith("Ronda") and rounds["description_en"].startswith("Measurement round")
    gcd = [r for r in dictionary if r["file"] == "raw/gcd_member.csv" and r["column"] == "institution"][0]
    assert "civil_society" in gcd["allowed_values"]


def test_xlsx_workbook_keeps_numbers_and_neutralises_text(seeded, actor):
    data, manifest = snapshot.export_bytes(actor=actor, xlsx=True)
    book = openpyxl.load_workbook(io.BytesIO(zipfile.ZipFile(io.BytesIO(data)).read(snapshot.WORKBOOK_FILE)))
    sheet = book["consensus_scores"]
    header = [c.value for c in sheet[1]]
    row = [c.value for c in sheet[2]]
    record = dict(zip(header, row))
    assert record["cluster"] == "'=1+1" and sheet.cell(2, header.index("cluster") + 1).data_type == "s"
    assert record["score"] == 1 and isinstance(record["score"], int)
    selection = book["selection_scores"]
    header = [c.value for c in selection[1]]
    assert dict(zip(header, [c.value for c in selection[2]]))["score"] == -5.0
    assert snapshot.WORKBOOK_FILE in manifest["files"]


def test_progress_is_reported_up_to_done(seeded, actor):
    seen = []
    snapshot.export_bytes(actor=actor, progress=lambda fraction, label: seen.append((fraction, label)))
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and len(seen) > 40


def test_command_line_export_with_filters(seeded, tmp_path, capsys):
    out = tmp_path / "s.zip"
    assert snapshot.main(["export", str(out), "--department", "22", "--round", "baseline", "--bom"]) == 0
    manifest = json.loads(zipfile.ZipFile(out).read("manifest.json"))
    assert manifest["filters"] == {"department": "22", "cluster": None, "round": "baseline"}
    assert manifest["encoding"] == "utf-8-sig"
    assert "tables/consensus_scores.csv\t6\t" in capsys.readouterr().out


def test_command_line_reports_a_bad_cluster_in_words(db_url, tmp_path, capsys):
    assert snapshot.main(["export", str(tmp_path / "s.zip"), "--cluster", "not-a-uuid"]) == 2
    assert "not a cluster identifier" in capsys.readouterr().err


def test_snapshots_page_prepares_a_download(seeded):
    at = AppTest.from_file(str(ROOT / "pages" / "snapshots.py"), default_timeout=120)
    at.session_state["lang"] = "en"
    at.session_state["actor"] = LOCAL_USER  # what dashboard.py's login gate puts there
    at.run()
    assert not at.exception
    at.button(key="snapshot.prepare").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.success[0].value.startswith("Snapshot ready:")
    at.selectbox(key="snapshot.department").set_value("22").run()
    assert not at.exception
    assert "filtered snapshot" in " ".join(c.value for c in at.caption)
