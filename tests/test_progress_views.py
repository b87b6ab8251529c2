"""Every figure of the progress views checked against a small dataset computed by hand."""

from __future__ import annotations

import math
import uuid
from datetime import date, datetime, timezone

import pandas as pd
import pytest
import sqlalchemy as sa

from assessments import progress, scoring
from assessments.qsip_summary import provider_user_gap
from db import models as m
from db.queries.progress import Filters


def _ids(session, model, column, codes):
    rows = session.execute(sa.select(column, model.id).where(column.in_(codes))).all()
    return dict(rows)


def build_dataset(session) -> dict:
    """Two clusters, four governments with consensus/participant scores, targets, plans, two QSIP cycles.

    Hand-computed results are in the tests below; see each test for the arithmetic.
    """
    gov = _ids(session, m.Government, m.Government.ubigeo, ["22", "2205", "220505", "25", "2501", "250102"])
    focas = session.execute(
        sa.select(m.Instrument).where(m.Instrument.kind == "focas", m.Instrument.is_default == sa.true())
    ).scalar_one()
    ind = dict(session.execute(
        sa.select(m.Indicator.code, m.Indicator.id)
        .join(m.FunctionalArea, m.FunctionalArea.id == m.Indicator.area_id)
        .where(m.FunctionalArea.instrument_id == focas.id)
    ).all())
    c1 = m.Cluster(name="Lamas", department_code="22", wave=1)
    c2 = m.Cluster(name="Coronel Portillo", department_code="25", wave=2)
    session.add_all([c1, c2])
    session.flush()
    session.add_all([m.ClusterSector(cluster_id=c1.id, sector="health"),
                     m.ClusterSector(cluster_id=c2.id, sector="education")])
    for cluster, codes, dept in ((c1, ["22", "2205", "220505"], "22"), (c2, ["25", "2501", "250102"], "25")):
        for code in codes:
            session.add(m.ClusterMember(cluster_id=cluster.id, government_id=gov[code], department_code=dept))
    now = datetime(2014, 1, 1, tzinfo=timezone.utc)

    def assessment(code, round_name, scores, status="validated", participants=()):
        row = m.Assessment(government_id=gov[code], round=round_name, instrument_id=focas.id, status=status,
                           validated_at=now if status == "validated" else None)
        session.add(row)
        session.flush()
        for indicator, score in scores.items():
            session.add(m.ConsensusScore(assessment_id=row.id, indicator_id=ind[indicator], score=score))
        for position, given in enumerate(participants):
            person = m.Participant(assessment_id=row.id, code=f"P{position}", sex="female", position=position)
            session.add(person)
            session.flush()
            for indicator, score in given.items():
                session.add(m.ParticipantScore(assessment_id=row.id, participant_id=person.id,
                                               indicator_id=ind[indicator], score=score))
        return row

    # G1 Lamas (provincial): ADM 1.5 -> 2.5 (+1); HR 2 -> 2 on HR-01 only (HR-02 new in midpoint).
    assessment("2205", "baseline", {"ADM-01": 1, "ADM-02": 2, "HR-01": 2, "HR-02": None},
               participants=[{"ADM-01": 1, "ADM-02": 3}, {"ADM-01": 2, "ADM-02": 2, "HR-01": 4}])
    assessment("2205", "midpoint", {"ADM-01": 3, "ADM-02": 2, "HR-01": 2, "HR-02": 4},
               participants=[{"ADM-01": 3, "ADM-02": 4}])
    # G2 Tabalosos (district): ADM 2 -> 3.5 (+1.5).
    assessment("220505", "baseline", {"ADM-01": 2, "ADM-02": 2})
    assessment("220505", "midpoint", {"ADM-01": 4, "ADM-02": 3})
    # G3 San Martín regional: baseline validated; its midpoint is still a draft and must not count.
    assessment("22", "baseline", {"ADM-01": 2, "REV-01": 1})
    assessment("22", "midpoint", {"ADM-01": 4, "REV-01": 4}, status="draft")
    # G4 Campo Verde (district, Ucayali): ADM 3 -> 2 (-1).
    assessment("250102", "baseline", {"ADM-01": 3})
    assessment("250102", "midpoint", {"ADM-01": 2})

    session.add_all([
        m.PerformanceTarget(government_id=gov["2205"], area_code="ADM", round="midpoint", target=2.5),
        m.PerformanceTarget(government_id=gov["2205"], area_code="HR", round="midpoint", target=3.5),
        m.PerformanceTarget(government_id=gov["220505"], area_code="ADM", round="midpoint", target=4.0),
        m.PerformanceTarget(government_id=gov["250102"], area_code="ADM", round="end", target=4.0),
    ])

    def item(code, area, status):
        session.add(m.CapacityPlanItem(government_id=gov[code], area_code=area, intervention_type="training",
                                       what="Taller", status=status))

    item("2205", "ADM", "done")
    item("2205", "ADM", "planned")
    item("2205", "HR", "planned")
    item("250102", "ADM", "in_progress")
    item("22", "REV", "planned")

    qsip = session.execute(
        sa.select(m.Instrument).where(m.Instrument.kind == "qsip", m.Instrument.is_default == sa.true())
    ).scalar_one()
    items = dict(session.execute(
        sa.select(m.FeedbackItem.code, m.FeedbackItem.id)
        .join(m.FeedbackDimension, m.FeedbackDimension.id == m.FeedbackItem.dimension_id)
        .where(m.FeedbackDimension.instrument_id == qsip.id)
    ).all())
    a1 = m.ServiceAudit(cluster_id=c1.id, service_name="Salud materna", sector="health", cycle_year=2013,
                        instrument_id=qsip.id)
    a2 = m.ServiceAudit(cluster_id=c1.id, service_name="Salud materna", sector="health", cycle_year=2014,
                        instrument_id=qsip.id)
    session.add_all([a1, a2])
    session.flush()
    for number in range(1, 6):
        status_1 = "done" if number <= 2 else ("in_progress" if number == 3 else "pending")
        session.add(m.AuditStage(audit_id=a1.id, number=number, name_es=f"E{number}", name_en=f"S{number}",
                                 status=status_1))
        session.add(m.AuditStage(audit_id=a2.id, number=number, name_es=f"E{number}", name_en=f"S{number}",
                                 status="done"))
    barrier = m.Barrier(audit_id=a1.id, description="Falta personal", category="resources",
                        government_level="district")
    session.add(barrier)
    session.flush()
    for audit, status, quick in ((a1, "done", True), (a1, "planned", False), (a2, "in_progress", False)):
        session.add(m.ImprovementAction(audit_id=audit.id, barrier_id=barrier.id, description="Acción",
                                        deadline=date(2014, 6, 1), status=status, quick_win=quick))

    def respondent(audit, kind, sex, indigenous, ratings):
        row = m.Respondent(audit_id=audit.id, respondent_type=kind, sex=sex, indigenous=indigenous)
        session.add(row)
        session.flush()
        for code, rating in ratings.items():
            session.add(m.FeedbackRating(respondent_id=row.id, item_id=items[code], rating=rating))

    respondent(a1, "user", "female", "yes", {"EFT-01": 2, "EFT-02": 4})  # 3.0
    respondent(a1, "provider", "male", "no", {"EFT-01": 4})  # 4.0
    respondent(a1, "user", "male", "no", {"EFT-01": 1, "EFT-02": 2, "COV-01": 5})  # 1.5 ; coverage 5
    respondent(a2, "user", "female", "no", {"EFT-01": 4})  # 4.0
    respondent(a2, "provider", "female", "undisclosed", {"EFT-01": 5})  # 5.0
    session.commit()
    # read views hand ids back as strings (cheap to cache); row factories need the UUIDs
    return {"gov": {code: str(value) for code, value in gov.items()}, "gov_uuid": gov, "c1": c1.id, "c2": c2.id}


@pytest.fixture
def dataset(session):
    return build_dataset(session)


def _by_gov(frame, gov, code, column):
    return frame.loc[frame["government_id"] == gov[code], column].iloc[0]


# --- portfolio --------------------------------------------------------------------------------


def test_portfolio_counts_clusters_assessments_plans_and_audits(dataset):
    view = progress.portfolio(Filters())
    # the default plan: 16 clusters; two formed (San Martín wave 1, Ucayali wave 2)
    assert view.totals["clusters_planned"] == 16
    assert view.totals["clusters_formed"] == 2
    san_martin = view.clusters.loc[view.clusters["department_code"] == "22"].set_index("wave")
    assert san_martin.loc[1, "planned"] == 2 and san_martin.loc[1, "formed"] == 1
    assert san_martin.loc[2, "formed"] == 0
    assert view.clusters_by_wave.set_index("wave")["planned"].to_dict() == {1: 6, 2: 5, 3: 5}
    assert view.clusters_by_wave.set_index("wave")["formed"].to_dict() == {1: 1, 2: 1, 3: 0}
    # validated baselines: G1 (prov), G2 + G4 (district), G3 (regional); midpoint: draft of G3 excluded
    assessed = view.assessed.set_index(["round", "level"])["governments"]
    assert assessed[("baseline", "regional")] == 1
    assert assessed[("baseline", "provincial")] == 1
    assert assessed[("baseline", "district")] == 2
    assert assessed[("midpoint", "regional")] == 0
    assert assessed[("midpoint", "district")] == 2
    assert (view.totals["baseline"], view.totals["midpoint"], view.totals["end"]) == (4, 3, 0)
    # improvement plans: one government per level (G3, G1, G4) against 29 / 54 / 80
    plans = view.improvement_plans.set_index("level")
    assert plans["governments"].to_dict() == {"regional": 1, "provincial": 1, "district": 1}
    assert view.totals["with_plan"] == 3
    assert (view.totals["target_year1"], view.totals["target_year1_wave2"], view.totals["target_year2_q1"]) == (
        29, 54, 80)
    # audits: the 2013 cycle is in stage 3, the 2014 cycle has all five stages done
    audits = view.audits.set_index("stage")["audits"].to_dict()
    assert audits == {1: 0, 2: 0, 3: 1, 4: 0, 5: 0, 6: 1}


def test_portfolio_filters_by_department_level_and_wave(dataset):
    ucayali = progress.portfolio(Filters(department="25"))
    assert ucayali.totals["clusters_planned"] == 3 and ucayali.totals["clusters_formed"] == 1
    assert ucayali.totals["baseline"] == 1 and ucayali.totals["audits"] == 0
    districts = progress.portfolio(Filters(level="district"))
    assert districts.totals["baseline"] == 2 and districts.totals["with_plan"] == 1
    assert districts.totals["target_year2_q1"] == 59
    wave_2 = progress.portfolio(Filters(wave=2))
    assert wave_2.totals["clusters_planned"] == 5 and wave_2.totals["clusters_formed"] == 1
    # the regional government of Ucayali is a member of the wave-2 cluster: counted, once
    assert wave_2.totals["baseline"] == 1


# --- FOCAS progress ---------------------------------------------------------------------------


def test_government_changes_compare_only_comparable_indicators(dataset):
    gov = dataset["gov"]
    view = progress.progress_view(Filters())
    governments = view.governments
    assert set(governments["government_id"]) == {gov["2205"], gov["220505"], gov["22"], gov["250102"]}
    # G1: areas ADM 1.5 -> 2.5 and HR 2 -> 2 (HR-02 only in midpoint): index 1.75 -> 2.25
    assert _by_gov(governments, gov, "2205", "capacity_index_from") == pytest.approx(1.75)
    assert _by_gov(governments, gov, "2205", "capacity_index_to") == pytest.approx(2.25)
    assert _by_gov(governments, gov, "2205", "change") == pytest.approx(0.5)
    assert _by_gov(governments, gov, "220505", "change") == pytest.approx(1.5)
    assert _by_gov(governments, gov, "250102", "change") == pytest.approx(-1.0)
    # G3's midpoint is a draft: nothing to compare
    assert math.isnan(_by_gov(governments, gov, "22", "change"))
    areas = view.areas.set_index(["government_id", "area_code"])
    hr = areas.loc[(gov["2205"], "HR")]
    assert (hr["area_score_from"], hr["area_score_to"], hr["n_comparable"], hr["n_not_comparable"]) == (2, 2, 1, 1)
    assert areas.loc[(gov["2205"], "ADM"), "change"] == pytest.approx(1.0)


def test_sql_area_progress_matches_the_scoring_rules(dataset, session):
    """The SQL path gives the same areas as assessments.scoring.progress on the raw consensus rows."""
    rows = session.execute(
        sa.select(m.Assessment.government_id, m.Assessment.round, m.FunctionalArea.code, m.Indicator.code,
                  m.ConsensusScore.score)
        .join(m.Assessment, m.Assessment.id == m.ConsensusScore.assessment_id)
        .join(m.Indicator, m.Indicator.id == m.ConsensusScore.indicator_id)
        .join(m.FunctionalArea, m.FunctionalArea.id == m.Indicator.area_id)
        .where(m.Assessment.status == "validated")
    ).all()
    consensus = pd.DataFrame(rows, columns=list(scoring.CONSENSUS_COLUMNS))
    consensus["government_id"] = consensus["government_id"].map(str)
    expected = scoring.progress(consensus).areas
    expected = expected.loc[(expected["n_comparable"] + expected["n_not_comparable"]) > 0]
    got = progress.progress_view(Filters()).areas
    pd.testing.assert_frame_equal(
        got.sort_values(["government_id", "area_code"]).reset_index(drop=True),
        expected.sort_values(["government_id", "area_code"]).reset_index(drop=True),
        check_dtype=False,
    )


def test_area_summary_and_distributions(dataset):
    view = progress.progress_view(Filters())
    summary = view.area_summary.set_index("area_code")
    # ADM moved in G1 (+1), G2 (+1.5), G4 (-1): mean from (1.5+2+3)/3, to (2.5+3.5+2)/3
    assert summary.loc["ADM", "governments"] == 3
    assert summary.loc["ADM", "mean_from"] == pytest.approx(6.5 / 3)
    assert summary.loc["ADM", "mean_to"] == pytest.approx(8 / 3)
    assert summary.loc["ADM", "mean_change"] == pytest.approx(0.5)
    assert summary.loc["HR", "governments"] == 1
    assert list(view.area_summary["area_code"]) == ["ADM", "HR"]  # instrument order


def test_targets_met_and_gaps(dataset):
    gov = dataset["gov"]
    view = progress.progress_view(Filters())
    targets = view.targets.set_index(["government_id", "area_code"])
    # G1 midpoint ADM = (3+2)/2 = 2.5 vs 2.5: met; HR = (2+4)/2 = 3 vs 3.5: gap -0.5; G2 ADM 3.5 vs 4
    assert bool(targets.loc[(gov["2205"], "ADM"), "met"]) is True
    assert targets.loc[(gov["2205"], "HR"), "gap"] == pytest.approx(-0.5)
    assert targets.loc[(gov["220505"], "ADM"), "gap"] == pytest.approx(-0.5)
    assert len(targets) == 3  # G4's target is for the end round
    summary = view.target_summary.set_index("area_code")
    assert summary.loc["ADM"].to_dict() == pytest.approx(
        {"targets": 2, "scored": 2, "met": 1, "share_met": 50.0, "mean_gap": -0.25})
    assert summary.loc["HR"].to_dict() == pytest.approx(
        {"targets": 1, "scored": 1, "met": 0, "share_met": 0.0, "mean_gap": -0.5})


def test_done_versus_planned_and_interventions(dataset):
    view = progress.progress_view(Filters())
    status = view.plan_status.set_index(["kind", "status"])["count"]
    assert [status[("plan_items", s)] for s in progress.STATUSES] == [3, 1, 1, 0]
    assert [status[("roadmap_actions", s)] for s in progress.STATUSES] == [1, 1, 1, 0]
    summary = view.intervention_summary.set_index("intervened")
    # intervened: G1 ADM (done, +1) and G4 ADM (in progress, -1); not: G1 HR (planned only, 0), G2 ADM (+1.5)
    assert summary.loc[True, "areas"] == 2 and summary.loc[True, "mean_change"] == pytest.approx(0.0)
    assert summary.loc[False, "areas"] == 2 and summary.loc[False, "mean_change"] == pytest.approx(0.75)


def test_filters_narrow_the_progress_view(dataset):
    gov = dataset["gov"]
    lamas = progress.progress_view(Filters(cluster_id=str(dataset["c1"])))
    assert set(lamas.governments["government_id"]) == {gov["22"], gov["2205"], gov["220505"]}
    districts = progress.progress_view(Filters(level="district", sector="education"))
    assert list(districts.governments["government_id"]) == [gov["250102"]]
    assert districts.plan_status.set_index(["kind", "status"])["count"][("roadmap_actions", "done")] == 0
    end = progress.progress_view(Filters(to_round="end"))
    assert end.governments["change"].isna().all() and not end.comparable


def test_cluster_view_heatmap_and_participant_spread(dataset):
    gov = dataset["gov"]
    view = progress.cluster_view(Filters(cluster_id=str(dataset["c1"])))
    cells = view.heatmap.set_index(["government_id", "area_code"])["change"]
    assert cells[(gov["2205"], "ADM")] == pytest.approx(1.0)
    assert cells[(gov["220505"], "ADM")] == pytest.approx(1.5)
    assert gov["250102"] not in set(view.heatmap["government_id"])
    spread = view.participants.sort_values(["round", "mean_score"])
    # G1 baseline: participants (1+3)/2 = 2 and (2+2+4)/3; midpoint: (3+4)/2
    assert spread["mean_score"].tolist() == pytest.approx([2.0, 8 / 3, 3.5])
    assert spread["round"].tolist() == ["baseline", "baseline", "midpoint"]


def test_government_view(dataset):
    gov = dataset["gov"]
    view = progress.government_view(Filters(), str(gov["2205"]))
    assert view.government["government"].startswith("Municipalidad Provincial")
    assert view.capacity["change"] == pytest.approx(0.5)
    assert view.areas["area_code"].tolist() == ["ADM", "HR"]
    assert len(view.targets) == 2 and len(view.participants) == 3
    assert progress.government_view(Filters(), str(uuid.uuid4())) is None


# --- QSIP -------------------------------------------------------------------------------------


def test_qsip_trend_gap_and_disaggregation(dataset, session):
    view = progress.qsip_view(Filters())
    trend = view.trend.set_index(["cycle_year", "dimension", "respondent_type"])
    assert trend.loc[(2013, "effectiveness", "user"), "mean"] == pytest.approx(2.25)
    assert trend.loc[(2013, "effectiveness", "user"), "n_respondents"] == 2
    assert trend.loc[(2014, "effectiveness", "provider"), "mean"] == pytest.approx(5.0)
    gap = view.gap.set_index(["cycle_year", "dimension"])
    assert gap.loc[(2013, "effectiveness"), "gap"] == pytest.approx(1.75)
    assert gap.loc[(2014, "effectiveness"), "gap"] == pytest.approx(1.0)
    assert math.isnan(gap.loc[(2013, "coverage"), "gap"])  # no provider rated coverage
    sex = view.by_sex.set_index(["cycle_year", "dimension", "sex"])
    assert sex.loc[(2013, "effectiveness", "female"), "mean"] == pytest.approx(3.0)
    assert sex.loc[(2013, "effectiveness", "male"), "mean"] == pytest.approx(2.75)
    assert sex.loc[(2013, "effectiveness", "other"), "n_respondents"] == 0
    indigenous = view.by_indigenous.set_index(["cycle_year", "dimension", "indigenous"])
    assert indigenous.loc[(2013, "effectiveness", "yes"), "n_respondents"] == 1
    assert view.latest_cycle == 2014
    # the same gap as the methodology function computes from the raw ratings
    rows = session.execute(
        sa.select(m.Respondent.id, m.Respondent.respondent_type, m.Respondent.sex, m.Respondent.indigenous,
                  m.FeedbackDimension.code, m.FeedbackItem.code, m.FeedbackRating.rating, m.ServiceAudit.cycle_year)
        .join(m.Respondent, m.Respondent.id == m.FeedbackRating.respondent_id)
        .join(m.ServiceAudit, m.ServiceAudit.id == m.Respondent.audit_id)
        .join(m.FeedbackItem, m.FeedbackItem.id == m.FeedbackRating.item_id)
        .join(m.FeedbackDimension, m.FeedbackDimension.id == m.FeedbackItem.dimension_id)
    ).all()
    from assessments.qsip_summary import RATING_COLUMNS

    expected = provider_user_gap(pd.DataFrame(rows, columns=list(RATING_COLUMNS)))
    pd.testing.assert_frame_equal(view.gap.reset_index(drop=True), expected, check_dtype=False)


def test_empty_database_gives_empty_views(db_url):
    view = progress.progress_view(Filters())
    assert view.governments.empty and view.areas.empty and not view.comparable
    assert progress.portfolio(Filters()).totals["clusters_formed"] == 0
    assert progress.qsip_view(Filters()).trend.empty
