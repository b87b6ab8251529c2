"""What the workshop page reads: the grid, the consensus panel, results with progress and comparability."""

from __future__ import annotations

from assessments.access import LOCAL_USER
import math

import pandas as pd
import pytest

from assessments import capacity_plan, focas
from db.engine import write_session
from db.queries import focas as queries
from tests.test_focas_services import lamas, people, start  # noqa: F401  (fixture)


def consensus(assessment_id, actor, scores: dict[str, int], reason=None):
    with write_session() as session:
        focas.apply_consensus_edits(session=session, actor=actor, assessment_id=assessment_id,
                                    edits={c: {"score": s} for c, s in scores.items()}, expected={}, reason=reason)


@pytest.fixture
def baseline(lamas, actor):  # noqa: F811
    assessment_id, _ = start(lamas, actor)
    p1, p2, p3 = people(assessment_id, actor)
    with write_session() as session:
        focas.apply_grid_edits(session=session, actor=actor, assessment_id=assessment_id, area_code="ADM",
                               edited_rows={p1: {"ADM-01": 1, "ADM-02": 2}, p2: {"ADM-01": 4, "ADM-02": 2},
                                            p3: {"ADM-01": 4, "ADM-02": 3}}, expected={})
    consensus(assessment_id, actor, {"ADM-01": 3, "ADM-02": 2, "ADM-03": 2, "ADM-04": 1,
                                     **{f"LEGALPART-0{i}": 2 for i in range(1, 5)},
                                     **{f"DIVERSITY-0{i}": 3 for i in range(1, 5)}})
    return assessment_id, (p1, p2, p3)


def test_score_grid_is_participants_by_indicators(baseline):
    assessment_id, (p1, p2, p3) = baseline
    grid = queries.score_grid(LOCAL_USER, assessment_id, "ADM")
    assert list(grid.columns) == ["participant_id", "code", "full_name", "ADM-01", "ADM-02", "ADM-03", "ADM-04"]
    assert list(grid["code"]) == ["P01", "P02", "P03"]
    assert grid["ADM-01"].tolist() == [1, 4, 4]
    assert grid["ADM-02"].tolist() == [2, 2, 3]
    assert grid["ADM-03"].isna().all() and str(grid["ADM-03"].dtype) == "Int64"


def test_consensus_table_suggests_the_median_and_flags_wide_disagreement(baseline):
    assessment_id, _ = baseline
    table = queries.consensus_table(LOCAL_USER, assessment_id, "ADM").set_index("indicator_code")
    # ADM-01: 1, 4, 4 -> median 4; quartiles (linear) 2.5 and 4 -> IQR 1.5; 1 and 4 span the whole scale
    assert table.loc["ADM-01", ["n", "median", "q1", "q3", "iqr", "min", "max"]].tolist() == [3, 4, 2.5, 4, 1.5, 1, 4]
    assert bool(table.loc["ADM-01", "wide"]) is True
    # ADM-02: 2, 2, 3 -> median 2, IQR 0.5, not wide
    assert table.loc["ADM-02", ["median", "iqr"]].tolist() == [2, 0.5]
    assert bool(table.loc["ADM-02", "wide"]) is False
    assert table.loc["ADM-03", "n"] == 0 and pd.isna(table.loc["ADM-03", "median"])
    assert table["agreed"].tolist() == [3, 2, 2, 1]


def test_baseline_results_area_scores_index_and_percent(baseline):
    assessment_id, _ = baseline
    outcome = queries.results(LOCAL_USER, assessment_id)
    areas = outcome["areas"].set_index("area_code")
    assert areas.loc["ADM", "area_score"] == pytest.approx(2.0)        # (3 + 2 + 2 + 1) / 4
    assert areas.loc["ADM", "area_pct"] == pytest.approx(100 / 3)      # (2 - 1) / (4 - 1)
    assert areas.loc["DIVERSITY", "area_score"] == pytest.approx(3.0)
    assert math.isnan(areas.loc["HR", "area_score"]) and areas.loc["HR", "n_indicators"] == 0
    government = outcome["government"]
    assert government["capacity_index"] == pytest.approx((2 + 2 + 3) / 3)
    assert government["capacity_pct"] == pytest.approx(((2 + 2 + 3) / 3 - 1) / 3 * 100)
    assert government["n_areas"] == 3
    assert outcome["not_comparable"] == []


def test_midpoint_progress_compares_like_with_like_and_reports_added_indicators(baseline, lamas, actor):  # noqa: F811
    baseline_id, _ = baseline
    midpoint_id, _ = start(lamas, actor, "midpoint")
    current = queries.instrument(queries.assessment_header(LOCAL_USER, midpoint_id)["instrument_id"]).area_codes()
    with write_session() as session:
        focas.customise_instrument(session=session, actor=actor, assessment_id=midpoint_id, area_codes=current,
                                   new_indicators=[focas.CustomIndicator("ADM", "Archivo municipal")])
    consensus(midpoint_id, actor, {"ADM-01": 4, "ADM-02": 3, "ADM-03": 2, "ADM-04": 1, "ADM-C1": 4,
                                   **{f"LEGALPART-0{i}": 3 for i in range(1, 5)}})
    with write_session() as session:
        capacity_plan.set_targets(session=session, actor=actor, government_id=lamas["governments"][1],
                                  targets={("ADM", "midpoint"): 2.5, ("ADM", "end"): "3,5"})
    outcome = queries.results(LOCAL_USER, midpoint_id)
    areas = outcome["areas"].set_index("area_code")
    assert areas.loc["ADM", "area_score"] == pytest.approx((4 + 3 + 2 + 1 + 4) / 5)
    assert areas.loc["ADM", "baseline_score"] == pytest.approx(2.0)
    assert areas.loc["ADM", "change"] == pytest.approx(0.5)           # comparable indicators only: 2.0 -> 2.5
    assert areas.loc["ADM", "n_not_comparable"] == 1
    assert areas.loc["ADM", "target"] == pytest.approx(2.5)
    assert areas.loc["LEGALPART", "change"] == pytest.approx(1.0)
    assert math.isnan(areas.loc["DIVERSITY", "change"])
    government = outcome["government"]
    assert government["capacity_index"] == pytest.approx((2.8 + 3.0) / 2)
    assert government["baseline_index"] == pytest.approx(2.0)          # ADM and LEGALPART: (2 + 2) / 2
    assert government["change"] == pytest.approx(0.75)                 # (2.5 + 3) / 2 - 2
    assert outcome["not_comparable"] == ["ADM-C1"]
    targets = queries.targets(LOCAL_USER, lamas["governments"][1]).set_index("round")
    assert targets.loc["end", "target"] == 3.5
    assert queries.results(LOCAL_USER, baseline_id)["government"]["change"] is None


def test_history_lists_changes_with_reason_after_validation(baseline, actor):
    assessment_id, (p1, _, _) = baseline
    header = queries.assessment_header(LOCAL_USER, assessment_id)
    codes = queries.instrument(header["instrument_id"]).indicator_codes()
    consensus(assessment_id, actor, {c: 2 for c in codes if c.split("-")[0] not in ("ADM", "LEGALPART", "DIVERSITY")})
    with write_session() as session:
        focas.validate_assessment(session=session, actor=actor, assessment_id=assessment_id)
    with write_session() as session:
        focas.apply_grid_edits(session=session, actor=actor, assessment_id=assessment_id, area_code="ADM",
                               edited_rows={p1: {"ADM-01": 2}}, expected={p1: {"ADM-01": 1}},
                               reason="Error de digitación")
    events = queries.history(LOCAL_USER, assessment_id)
    newest = events.iloc[0]
    assert (newest["action"], newest["entity"], newest["what"]) == ("update", "participant_score", "P01 · ADM-01")
    assert (newest["before"], newest["after"], newest["reason"]) == ("score=1", "score=2", "Error de digitación")
    assert "validate" in set(events["action"])
    assert (events["entity"] == "participant_score").sum() == 7  # six scores created, one corrected
