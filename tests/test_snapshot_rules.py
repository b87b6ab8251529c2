"""A snapshot import applies the methodology's rules like the pages and the Kobo import do: scores on the
instrument's scale, nothing added to an assessment validated here; refused rows are reported, the rest lands."""

from __future__ import annotations

import csv
import io
import zipfile

import sqlalchemy as sa

from assessments import snapshot
from db import models as m
from db.engine import get_engine, write_session
from tests.test_snapshot_factories import rezip, seed_cluster


def export(actor) -> bytes:
    return snapshot.export_bytes(actor=actor)[0]


def import_into(data: bytes, actor, **kwargs):
    with write_session() as session:
        return snapshot.import_snapshot(data, session=session, actor=actor, **kwargs)


def _edit_csv(data: bytes, name: str, edit) -> bytes:
    text = zipfile.ZipFile(io.BytesIO(data)).read(name).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    header, body = rows[0], rows[1:]
    edit(header, body)
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\r\n").writerows([header, *body])
    return rezip(data, {name: out.getvalue().encode("utf-8")})


def _count(table: str, **where) -> int:
    condition = " AND ".join(f"{k} = :{k}" for k in where) or "1=1"
    with get_engine().connect() as connection:
        return connection.execute(sa.text(f"SELECT count(*) FROM {table} WHERE {condition}"), where).scalar_one()


def _prepared_empty(monkeypatch, url: str) -> None:
    from db.setup import prepare

    monkeypatch.setenv("DATABASE_URL", url)
    prepare(demo=False, quiet=True)


def test_scores_off_the_instruments_scale_are_refused_rows_and_the_rest_lands(
        db_url, empty_db_url, monkeypatch, actor):
    monkeypatch.setenv("DATABASE_URL", db_url)
    with write_session() as session:
        seeded = seed_cluster(session, ["rules"], index=4)
    data = export(actor)
    state = {}

    def consensus(header, body):
        score = header.index("score")
        scored = [row for row in body if row[score] != ""]
        scored[0][score], scored[1][score] = "9", "0"  # off a 1-4 scale
        state["consensus"] = {scored[0][0], scored[1][0]}
        state["consensus_total"] = len(body)

    def individual(header, body):
        body[0][header.index("score")] = "7"
        state["individual"] = body[0][0]
        state["individual_total"] = len(body)

    data = _edit_csv(data, "raw/consensus_score.csv", consensus)
    data = _edit_csv(data, "raw/participant_score.csv", individual)
    _prepared_empty(monkeypatch, empty_db_url)
    report = import_into(data, actor)
    refused = {(r.table, r.record_id): r for r in report.refused}
    assert set(refused) == {("consensus_score", i) for i in state["consensus"]} | {
        ("participant_score", state["individual"])}
    assert report.tables["consensus_score"].refused == 2 and report.tables["participant_score"].refused == 1
    reasons = {r.message("es") for r in refused.values()}
    assert reasons == {"Puntaje 9 fuera de la escala del instrumento (1–4): no se importó esta fila.",
                       "Puntaje 0 fuera de la escala del instrumento (1–4): no se importó esta fila.",
                       "Puntaje 7 fuera de la escala del instrumento (1–4): no se importó esta fila."}
    assert "off the instrument's scale (1–4)" in refused[("participant_score", state["individual"])].message("en")
    # nothing off the scale was written; everything else landed
    assessment = str(seeded["assessment"].id)
    assert _count("consensus_score") == state["consensus_total"] - 2
    assert _count("participant_score") == state["individual_total"] - 1
    with get_engine().connect() as connection:
        scores = connection.execute(sa.text("SELECT score FROM consensus_score WHERE score IS NOT NULL")).scalars()
        assert all(1 <= s <= 4 for s in scores)
    assert _count("assessment") == 1 and report.tables["participant"].added == 2
    frame = report.refused_frame("en")
    assert list(frame.columns) == ["table", "record_id", "reason"] and len(frame) == 3
    assert assessment  # the assessment itself was imported


def test_rows_added_to_an_assessment_validated_here_are_refused_rows(db_url, empty_db_url, monkeypatch, actor):
    monkeypatch.setenv("DATABASE_URL", db_url)
    with write_session() as session:
        seeded = seed_cluster(session, ["lock"], index=5)
        session.execute(sa.update(m.Assessment).where(m.Assessment.id == seeded["assessment"].id)
                        .values(status="draft", validated_at=None, validated_by=None))
    data = export(actor)
    _prepared_empty(monkeypatch, empty_db_url)
    first = import_into(data, actor)
    assert first.tables["participant"].added == 2 and not first.refused
    # here: one participant removed, then the assessment validated
    with write_session() as session:
        participant = session.execute(sa.select(m.Participant).order_by(m.Participant.position)).scalars().first()
        gone = participant.id
        session.execute(sa.delete(m.ParticipantScore).where(m.ParticipantScore.participant_id == gone))
        session.execute(sa.delete(m.Participant).where(m.Participant.id == gone))
        session.execute(sa.update(m.Assessment).values(status="validated"))
    scores_before = _count("participant_score")
    second = import_into(data, actor)
    assert [(r.table, r.record_id) for r in second.refused] == [("participant", str(gone))]
    assert second.refused[0].message("es").startswith("La evaluación ya está validada en esta instalación")
    assert "already validated in this installation" in second.refused[0].message("en")
    assert second.tables["participant"].refused == 1
    assert second.tables["participant_score"].blocked == 6  # its scores are held back with it
    assert _count("participant") == 1 and _count("participant_score") == scores_before
    # the assessment's own row differs (status): a conflict a person decides, never overwritten
    assert [c.columns for c in second.conflicts if c.table == "assessment"] == [("status",)]


# --- the audit log: every export and every refused import ----------------------------------------


def _events(action: str) -> list:
    with get_engine().connect() as connection:
        return connection.execute(sa.select(m.AuditEvent.actor, m.AuditEvent.entity, m.AuditEvent.after_json,
                                            m.AuditEvent.reason).where(m.AuditEvent.action == action)
                                  .order_by(m.AuditEvent.at)).all()


def test_a_refused_import_is_in_the_audit_log_and_nothing_else_is_written(db_url, actor):
    import json

    import pytest

    from assessments.errors import ValidationFailed

    with write_session() as session:
        seed_cluster(session, ["audited"], index=6)
    data = export(actor)
    assert [e.entity for e in _events("export")] == ["snapshot"]  # the export itself is audited
    tampered = rezip(data, {"raw/participant.csv": b"not,the,columns\r\n"})
    before = _count("participant")
    with pytest.raises(ValidationFailed) as caught:
        snapshot.run_import(tampered, actor=actor)
    assert caught.value.key == "snapshot.error.wrong_columns"
    refused = _events("import_refused")
    assert len(refused) == 1
    who, entity, after, reason = refused[0]
    assert (who, entity) == (actor.username, "snapshot")
    assert json.loads(after)["error"] == "snapshot.error.wrong_columns" and json.loads(after)["bytes"] == len(tampered)
    assert "raw/participant.csv" in reason
    assert _count("participant") == before and not _events("import")
    # the command line audits a refused file the same way
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bad.zip"
        path.write_bytes(b"not a zip")
        assert snapshot.main(["import", str(path)]) == 2
    assert [json.loads(e.after_json)["error"] for e in _events("import_refused")] == [
        "snapshot.error.wrong_columns", "snapshot.error.not_zip"]


# --- the Instantáneas page -----------------------------------------------------------------------


def offered(at) -> bool:
    return any(button.key == "snapshot.download" for button in at.get("download_button"))


def test_the_page_stops_offering_a_file_built_for_other_filters(db_url, actor):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    from assessments.access import LOCAL_USER

    with write_session() as session:
        seed_cluster(session, ["page"], index=7)
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "pages" / "snapshots.py"),
                           default_timeout=120)
    at.session_state["lang"] = "es"
    at.session_state["actor"] = LOCAL_USER
    at.run()
    at.selectbox(key="snapshot.round").set_value("baseline").run()
    at.button(key="snapshot.prepare").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["snapshot.export_result"][1]["filters"]["round"] == "baseline"
    assert offered(at)
    # the screen now says midpoint: the baseline file is no longer offered
    at.selectbox(key="snapshot.round").set_value("midpoint").run()
    assert not at.exception
    assert not offered(at) and not at.success
    assert any("Prepare la instantánea de nuevo" in i.value for i in at.info)
    # going back does not bring the old file back either; preparing again builds one for these filters
    at.selectbox(key="snapshot.round").set_value("baseline").run()
    assert not offered(at)
    at.selectbox(key="snapshot.round").set_value("midpoint").run()
    at.button(key="snapshot.prepare").click().run()
    assert offered(at)
    assert at.session_state["snapshot.export_result"][1]["filters"]["round"] == "midpoint"
    # an option counts too (the XLSX workbook)
    at.checkbox(key="snapshot.xlsx").check().run()
    assert not offered(at)


# --- the wide table: validated only, like Avance --------------------------------------------------


def _wide(data: bytes) -> list[dict]:
    text = zipfile.ZipFile(io.BytesIO(data)).read(snapshot.WIDE_FILE).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_the_wide_table_holds_validated_assessments_unless_drafts_are_asked_for(db_url, actor):
    import json

    with write_session() as session:
        validated = seed_cluster(session, ["validated"], index=8)
        draft = seed_cluster(session, ["draft"], index=9)
        session.execute(sa.update(m.Assessment).where(m.Assessment.id == draft["assessment"].id)
                        .values(status="draft", validated_at=None, validated_by=None))
        ubigeos = dict(session.execute(sa.select(m.Assessment.status, m.Government.ubigeo).join(
            m.Government, m.Government.id == m.Assessment.government_id)).all())
    data, manifest = snapshot.export_bytes(actor=actor)
    rows = _wide(data)
    assert rows and {r["ubigeo"] for r in rows} == {ubigeos["validated"]}
    assert "status_baseline" not in rows[0]
    assert manifest["wide"]["assessments"] == "validated" and manifest["wide"]["status_columns"] == []
    # the tidy tables keep the draft, with its status
    tidy = zipfile.ZipFile(io.BytesIO(data)).read("tables/area_indexes.csv").decode("utf-8-sig")
    assert {r["assessment_status"] for r in csv.DictReader(io.StringIO(tidy, newline=""))} == {"draft", "validated"}

    data, manifest = snapshot.export_bytes(actor=actor, drafts=True)
    rows = _wide(data)
    by_ubigeo = {}
    for row in rows:
        by_ubigeo.setdefault(row["ubigeo"], set()).add((row["status_baseline"], row["status_midpoint"],
                                                        row["status_end"]))
    assert by_ubigeo == {ubigeos["validated"]: {("validated", "", "")}, ubigeos["draft"]: {("draft", "", "")}}
    assert manifest["wide"]["assessments"] == "validated_and_draft"
    assert json.loads(zipfile.ZipFile(io.BytesIO(data)).read("manifest.json"))["wide"]["status_columns"] == [
        "status_baseline", "status_midpoint", "status_end"]
    dictionary = zipfile.ZipFile(io.BytesIO(data)).read(snapshot.DICTIONARY_FILE).decode("utf-8-sig")
    entries = {(r["file"], r["column"]): r for r in csv.DictReader(io.StringIO(dictionary, newline=""))}
    status = entries[(snapshot.WIDE_FILE, "status_midpoint")]
    assert status["allowed_values"] == "draft | validated" and "borrador" in status["description_es"]
    assert "validated assessments" in entries[(snapshot.WIDE_FILE, "area_score_baseline")]["description_en"]
    assert "validadas" in entries[(snapshot.WIDE_FILE, "area_score_baseline")]["description_es"]
