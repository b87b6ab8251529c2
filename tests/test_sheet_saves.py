"""A whole workshop sheet saved at once (assessments/focas.py write_scores, used by apply_grid_edits and
the entry surface's apply_batch): every score and one audit row per cell, in a handful of statements."""

from __future__ import annotations

import json
import uuid

import pytest
import sqlalchemy as sa

from assessments import entry, focas
from db.audit import data_version
from db.engine import get_engine, read_session, run_write, write_session
from db.models import Assessment, AuditEvent, FunctionalArea, Indicator, ParticipantScore
from tests.test_focas_services import lamas, people, scores_of, start  # noqa: F401  (fixture)

N_PEOPLE = 30


@pytest.fixture
def sheet(lamas, actor):  # noqa: F811
    """A draft baseline with 30 people; {area: [indicator codes]} of its instrument (37 indicators)."""
    assessment_id, _ = start(lamas, actor)
    ids = people(assessment_id, actor, n=N_PEOPLE)
    with read_session() as session:
        rows = session.execute(
            sa.select(FunctionalArea.code, Indicator.code)
            .join(Indicator, Indicator.area_id == FunctionalArea.id)
            .join(Assessment, Assessment.instrument_id == FunctionalArea.instrument_id)
            .where(Assessment.id == assessment_id).order_by(FunctionalArea.position, Indicator.position)).all()
    areas: dict[str, list[str]] = {}
    for area, code in rows:
        areas.setdefault(area, []).append(code)
    return assessment_id, ids, areas


class Statements:
    """Counts the SQL statements the application sends (an executemany counts once)."""

    def __init__(self) -> None:
        self.n = 0

    def __call__(self, *args, **kwargs) -> None:
        self.n += 1

    def __enter__(self):
        sa.event.listen(get_engine(), "before_cursor_execute", self)
        return self

    def __exit__(self, *exc) -> None:
        sa.event.remove(get_engine(), "before_cursor_execute", self)


def score_audit() -> list[tuple[str, str, dict | None, dict | None]]:
    with read_session() as session:
        rows = session.execute(sa.select(AuditEvent.action, AuditEvent.entity_id, AuditEvent.before_json,
                                         AuditEvent.after_json).where(AuditEvent.entity == "participant_score")
                               .order_by(AuditEvent.at)).all()
    return [(a, e, None if b is None else json.loads(b), None if f is None else json.loads(f)) for a, e, b, f in rows]


def score_ids(assessment_id) -> dict[tuple[uuid.UUID, str], str]:
    with read_session() as session:
        rows = session.execute(sa.select(ParticipantScore.participant_id, Indicator.code, ParticipantScore.id)
                               .join(Indicator, Indicator.id == ParticipantScore.indicator_id)
                               .where(ParticipantScore.assessment_id == assessment_id)).all()
    return {(p, c): str(i) for p, c, i in rows}


def current_version() -> int:
    with read_session() as session:
        return data_version(session)


def test_a_whole_sheet_saved_area_by_area_takes_a_handful_of_statements_per_area(sheet, actor):
    assessment_id, ids, areas = sheet
    with Statements() as counted, write_session() as session:
        for area, codes in areas.items():
            focas.apply_grid_edits(session=session, actor=actor, assessment_id=assessment_id, area_code=area,
                                   edited_rows={p: {c: 1 + (i + j) % 4 for j, c in enumerate(codes)}
                                                for i, p in enumerate(ids)}, expected={})
    cells = N_PEOPLE * sum(len(c) for c in areas.values())
    assert len(scores_of(assessment_id)) == cells
    assert len(score_audit()) == cells
    # checks, the stored cells, the writes and their audit rows: a few statements per area, not per cell
    assert counted.n <= 15 * len(areas), counted.n


def test_a_sheet_through_the_entry_batches_takes_a_handful_of_statements_per_batch(sheet, actor):
    assessment_id, ids, areas = sheet
    edits = [{"c": f"s|{p}|{c}", "v": 1 + (i + j) % 4, "x": None}
             for i, p in enumerate(ids) for j, c in enumerate(code for codes in areas.values() for code in codes)]
    batches = [edits[start:start + 200] for start in range(0, len(edits), 200)]
    with Statements() as counted:
        for chunk in batches:
            parsed, batch = entry.parse_edits(chunk), str(uuid.uuid4())
            answer = entry.run_batch(run_write, batch_id=batch, edits=parsed, lang="es",
                                     apply=lambda s, parsed=parsed, batch=batch: entry.apply_batch(
                                         session=s, actor=actor, assessment_id=assessment_id, batch_id=batch,
                                         edits=parsed, lang="es"))
            assert {a["status"] for a in answer["cells"].values()} == {"saved"}
    assert len(scores_of(assessment_id)) == len(edits) == len(score_audit())
    assert counted.n <= 25 * len(batches), counted.n


@pytest.mark.parametrize("path", ["grid_edits", "entry_batches"])
def test_inserts_updates_and_deletes_in_one_save_keep_one_audit_row_each_and_bump_the_version_once(
        sheet, actor, path):
    assessment_id, ids, areas = sheet
    p1, p2, p3 = ids[:3]
    codes = areas["ADM"][:2]

    def save(values: dict, shown: dict) -> None:
        if path == "grid_edits":
            rows, expected = {}, {}
            for (person, code), value in values.items():
                rows.setdefault(person, {})[code] = value
                expected.setdefault(person, {})[code] = shown.get((person, code))
            with write_session() as session:
                focas.apply_grid_edits(session=session, actor=actor, assessment_id=assessment_id, area_code="ADM",
                                       edited_rows=rows, expected=expected)
        else:
            parsed, batch = entry.parse_edits([{"c": f"s|{person}|{code}", "v": value, "x": shown.get((person, code))}
                                               for (person, code), value in values.items()]), str(uuid.uuid4())
            answer = entry.run_batch(run_write, batch_id=batch, edits=parsed, lang="es",
                                     apply=lambda s: entry.apply_batch(session=s, actor=actor,
                                                                       assessment_id=assessment_id, batch_id=batch,
                                                                       edits=parsed, lang="es"))
            assert {a["status"] for a in answer["cells"].values()} == {"saved"}

    first = {(p1, codes[0]): 2, (p1, codes[1]): 3, (p2, codes[0]): 4}
    save(first, {})
    created = score_ids(assessment_id)
    version = current_version()
    # one save: p1's first cell changed, p2's cleared, p3's new, p1's second unchanged
    save({(p1, codes[0]): 1, (p2, codes[0]): None, (p3, codes[1]): 2, (p1, codes[1]): 3}, first)
    assert current_version() == version + 1
    assert scores_of(assessment_id) == {("P01", codes[0]): 1, ("P01", codes[1]): 3, ("P03", codes[1]): 2}
    now = score_ids(assessment_id)
    assert now[(p1, codes[0])] == created[(p1, codes[0])]  # an update keeps the row

    def snapshot(code, person_code, score):
        return {"assessment_id": str(assessment_id), "area": "ADM", "participant": person_code, "indicator": code,
                "score": score}

    trail = score_audit()
    assert trail[:3] == [("create", created[(p1, codes[0])], None, snapshot(codes[0], "P01", 2)),
                         ("create", created[(p1, codes[1])], None, snapshot(codes[1], "P01", 3)),
                         ("create", created[(p2, codes[0])], None, snapshot(codes[0], "P02", 4))]
    assert sorted(trail[3:]) == sorted([
        ("update", created[(p1, codes[0])], snapshot(codes[0], "P01", 4 - 2), snapshot(codes[0], "P01", 1)),
        ("delete", created[(p2, codes[0])], snapshot(codes[0], "P02", 4), None),
        ("create", now[(p3, codes[1])], None, snapshot(codes[1], "P03", 2)),
    ])


def test_a_score_the_callers_session_already_holds_shows_the_saved_value(sheet, actor):
    assessment_id, ids, areas = sheet
    code = areas["ADM"][0]
    with write_session() as session:
        focas.apply_grid_edits(session=session, actor=actor, assessment_id=assessment_id, area_code="ADM",
                               edited_rows={ids[0]: {code: 2}, ids[1]: {code: 3}}, expected={})
    with write_session() as session:
        held = session.execute(sa.select(ParticipantScore).where(ParticipantScore.assessment_id == assessment_id)
                               .order_by(ParticipantScore.score)).scalars().all()
        focas.apply_grid_edits(session=session, actor=actor, assessment_id=assessment_id, area_code="ADM",
                               edited_rows={ids[0]: {code: 4}, ids[1]: {code: None}},
                               expected={ids[0]: {code: 2}, ids[1]: {code: 3}})
        again = session.execute(sa.select(ParticipantScore).where(ParticipantScore.assessment_id == assessment_id)
                                ).scalars().all()
        assert [row.score for row in again] == [4]
        assert held[0].score == 4
