"""A snapshot read back by pandas with its datapackage.json types: codes keep their leading zeros, "NA"
text stays text, every CSV column is described with a type, coded columns carry labels in both languages."""

from __future__ import annotations

import io
import json
import zipfile

import pandas as pd

from assessments import snapshot
from db.engine import write_session
from tests.test_snapshot_factories import seed_cluster

NUMERIC = {"integer", "number"}


def _read(archive: zipfile.ZipFile, resource: dict) -> pd.DataFrame:
    fields = resource["schema"]["fields"]
    dtype = {f["name"]: str for f in fields if f["type"] not in NUMERIC}
    dtype.update({f["name"]: "Int64" for f in fields if f["type"] == "integer"})
    dtype.update({f["name"]: "float64" for f in fields if f["type"] == "number"})
    return pd.read_csv(io.BytesIO(archive.read(resource["path"])), dtype=dtype, keep_default_na=False,
                       na_values=resource["schema"]["missingValues"], encoding=resource["encoding"])


def test_the_schema_reads_every_csv_back_with_codes_and_na_text_intact(db_url, actor):
    with write_session() as session:
        seed_cluster(session, ["NA"], index=0)
    for bom in (False, True):
        data, manifest = snapshot.export_bytes(actor=actor, bom=bom)
        archive = zipfile.ZipFile(io.BytesIO(data))
        assert "datapackage.json" in manifest["files"]
        package = json.loads(archive.read("datapackage.json"))
        csvs = {name for name in archive.namelist() if name.endswith(".csv")}
        assert {r["path"] for r in package["resources"]} == csvs
        for resource in package["resources"]:
            frame = _read(archive, resource)
            assert list(frame.columns) == [f["name"] for f in resource["schema"]["fields"]], resource["path"]
        government = _read(archive, next(r for r in package["resources"] if r["path"] == "raw/government.csv"))
        ubigeos = set(government["ubigeo"])
        assert {"01", "0101", "010102", "220502"} <= ubigeos  # Amazonas keeps its leading zero
        assert all(len(u) in (2, 4, 6) for u in ubigeos)
        # pandas defaults alone would lose both: 1 for "01", NaN for the text "NA"
        assert pd.read_csv(io.BytesIO(archive.read("raw/government.csv")))["ubigeo"].min() == 1
        assessments = _read(archive, next(r for r in package["resources"] if r["path"] == "raw/assessment.csv"))
        assert (assessments["notes"] == "NA").any()
        clusters = _read(archive, next(r for r in package["resources"] if r["path"] == "tables/consensus_scores.csv"))
        assert (clusters["cluster"] == "NA").all() and clusters["ubigeo"].str.fullmatch(r"[0-9]{6}").all()
        assert str(clusters["score"].dtype) == "Int64" and clusters["score"].isna().sum() == 1
        assert pd.read_csv(io.BytesIO(archive.read("tables/consensus_scores.csv")))["cluster"].isna().all()


def test_coded_columns_carry_their_values_and_labels_in_both_languages(db_url, actor):
    data, _ = snapshot.export_bytes(actor=actor)
    package = json.loads(zipfile.ZipFile(io.BytesIO(data)).read("datapackage.json"))
    fields = {(r["path"], f["name"]): f for r in package["resources"] for f in r["schema"]["fields"]}
    sex = fields[("tables/participant_scores.csv", "sex")]
    assert sex["type"] == "string" and sex["constraints"]["enum"] == ["female", "male", "other", "undisclosed"]
    assert sex["valueLabels"]["es"]["female"] == "Mujer" and sex["valueLabels"]["en"]["female"] == "Woman"
    round_ = fields[("tables/consensus_scores.csv", "round")]
    assert round_["valueLabels"]["es"]["midpoint"] != round_["valueLabels"]["en"]["midpoint"]
    assert fields[("tables/consensus_scores.csv", "ubigeo")]["constraints"]["pattern"].startswith("^[0-9]{2}")
    assert fields[("raw/assessment.csv", "validated_at")]["type"] == "datetime"
    assert fields[("tables/area_indexes.csv", "area_score")]["type"] == "number"
    assert fields[("raw/cluster.csv", "id")] == {**fields[("raw/cluster.csv", "id")], "type": "string",
                                                 "format": "uuid"}
    assert all(f["description"] and f["description_es"] for f in fields.values())


def test_a_snapshot_with_its_datapackage_still_merges(db_url, actor):
    data, _ = snapshot.export_bytes(actor=actor)
    with write_session() as session:
        report = snapshot.import_snapshot(data, session=session, actor=actor)
    assert report.total("added") == 0 and not report.refused
