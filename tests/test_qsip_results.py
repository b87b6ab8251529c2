"""QSIP results end to end: questionnaires saved through the services, read back, summarised and charted.

Expected numbers are worked out by hand from the questionnaires below (respondent means first, then
group means), so a wrong join, a lost cycle or a mixed-up respondent type shows up as a wrong number.
"""

from __future__ import annotations

from assessments.access import LOCAL_USER
import math

import pandas as pd
import pytest

from assessments import qsip
from assessments import qsip_charts as charts
from assessments import qsip_summary as summary
from db.engine import write_session
from db.queries import qsip as queries

# (type, sex, indigenous, ratings)
CYCLE_2013 = [
    ("user", "female", "yes", {"EFT-01": 2, "EFT-02": 4, "EFT-03": 3, "SAT-01": 1}),   # eff 3.0, sat 1.0
    ("user", "male", "no", {"EFT-01": 4, "EFT-02": 4, "SAT-01": 3}),                   # eff 4.0, sat 3.0
    ("provider", "female", "no", {"EFT-01": 5, "EFT-02": 5, "EFT-03": 5, "SAT-01": 4}),  # eff 5.0, sat 4.0
    ("manager", "male", "yes", {"EFT-01": 3}),                                          # eff 3.0
]
CYCLE_2014 = [
    ("user", "female", "yes", {"EFT-01": 5, "SAT-01": 5}),                # eff 5.0, sat 5.0
    ("provider", "male", "no", {"EFT-01": 4, "EFT-02": 3, "SAT-01": 2}),  # eff 3.5, sat 2.0
]


@pytest.fixture
def audits(db_url, actor):
    """Two linked cycles of one audit with the questionnaires above: (audit 2013, audit 2014)."""
    from db.demo import load_demo_clusters

    with write_session() as session:
        cluster = next(c for c in load_demo_clusters(session) if c.name == "Alto Amazonas")
        first = qsip.create_audit(session=session, actor=actor, data=qsip.AuditInput(
            cluster_id=cluster.id, service_name="CRED", sector="health", cycle_year=2013))
        second = qsip.start_next_cycle(session=session, actor=actor, audit_id=first.id)
        for audit, questionnaires in ((first, CYCLE_2013), (second, CYCLE_2014)):
            for respondent_type, sex, indigenous, ratings in questionnaires:
                qsip.add_respondent(session=session, actor=actor, audit_id=audit.id, data=qsip.RespondentInput(
                    respondent_type=respondent_type, sex=sex, indigenous=indigenous, ratings=ratings))
        return first.id, second.id


def row(frame: pd.DataFrame, **where) -> pd.Series:
    mask = pd.Series(True, index=frame.index)
    for column, value in where.items():
        mask &= frame[column] == value
    matched = frame.loc[mask]
    assert len(matched) == 1, f"{where}: {len(matched)} rows"
    return matched.iloc[0]


def test_ratings_of_a_cycle_include_its_earlier_cycles(audits):
    first, second = audits
    assert sorted(queries.ratings(LOCAL_USER, second)["cycle_year"].unique()) == [2013, 2014]
    assert list(queries.ratings(LOCAL_USER, first)["cycle_year"].unique()) == [2013]
    only = queries.ratings(LOCAL_USER, second, with_previous_cycles=False)
    assert len(only) == 2 + 3  # items answered in 2014
    assert len(queries.ratings(LOCAL_USER, first)) == 4 + 3 + 4 + 1


def test_means_and_distribution_per_respondent_type(audits):
    ratings = queries.ratings(LOCAL_USER, audits[0])
    table = summary.dimension_summary(ratings, by=("respondent_type",))
    users = row(table, dimension="effectiveness", respondent_type="user")
    assert users["n_respondents"] == 2 and users["mean"] == pytest.approx(3.5)
    # users' effectiveness items: 2, 4, 3, 4, 4
    assert [users[f"n_{r}"] for r in range(1, 6)] == [0, 1, 1, 3, 0]
    assert row(table, dimension="effectiveness", respondent_type="provider")["mean"] == pytest.approx(5.0)
    assert row(table, dimension="satisfaction", respondent_type="user")["mean"] == pytest.approx(2.0)
    assert row(table, dimension="effectiveness", respondent_type="manager")["n_respondents"] == 1


def test_provider_user_gap_per_cycle(audits):
    gap = summary.provider_user_gap(queries.ratings(LOCAL_USER, audits[1]))
    assert row(gap, cycle_year=2013, dimension="effectiveness")["gap"] == pytest.approx(1.5)
    assert row(gap, cycle_year=2013, dimension="satisfaction")["gap"] == pytest.approx(2.0)
    assert row(gap, cycle_year=2014, dimension="effectiveness")["gap"] == pytest.approx(-1.5)
    assert row(gap, cycle_year=2014, dimension="satisfaction")["gap"] == pytest.approx(-3.0)


def test_change_from_the_previous_cycle(audits):
    change = summary.cycle_change(queries.ratings(LOCAL_USER, audits[1]))
    user_eff = row(change, dimension="effectiveness", respondent_type="user", cycle_year=2014)
    assert user_eff["previous_cycle_year"] == 2013 and user_eff["change"] == pytest.approx(1.5)
    assert row(change, dimension="effectiveness", respondent_type="provider", cycle_year=2014)["change"] == \
        pytest.approx(-1.5)
    assert row(change, dimension="satisfaction", respondent_type="user", cycle_year=2014)["change"] == pytest.approx(3.0)
    assert math.isnan(row(change, dimension="effectiveness", respondent_type="user", cycle_year=2013)["change"])


def test_disaggregation_by_sex_and_indigenous_identity(audits):
    ratings = queries.ratings(LOCAL_USER, audits[0])
    eff = ratings.loc[ratings["dimension"] == "effectiveness"]
    by_sex = summary.disaggregate(eff, "sex")
    assert row(by_sex, sex="female")["mean"] == pytest.approx(4.0)   # 3.0 and 5.0
    assert row(by_sex, sex="male")["mean"] == pytest.approx(3.5)     # 4.0 and 3.0
    assert row(by_sex, sex="other")["n_respondents"] == 0            # listed, not dropped
    by_indigenous = summary.disaggregate(eff, "indigenous")
    assert row(by_indigenous, indigenous="yes")["mean"] == pytest.approx(3.0)
    assert row(by_indigenous, indigenous="no")["mean"] == pytest.approx(4.5)


# ------------------------------------------------------------------------------------------- charts
def test_means_chart_has_one_series_per_type_with_the_means(audits):
    table = summary.dimension_summary(queries.ratings(LOCAL_USER, audits[0]), by=("respondent_type",))
    figure = charts.dimension_means_chart(table, lang="es")
    assert [trace.name for trace in figure.data] == ["Usuario", "Proveedor", "Gestor"]
    users = figure.data[0]
    assert list(users.x) == ["Eficacia", "Satisfacción"]
    assert list(users.y) == [3.5, 2.0]
    assert figure.layout.title.text.startswith("Calificación promedio")
    english = charts.dimension_means_chart(table, lang="en")
    assert english.data[1].name == "Provider" and list(english.data[1].x) == ["Effectiveness", "Satisfaction"]


def test_distribution_chart_shows_shares_of_ratings(audits):
    table = summary.dimension_summary(queries.ratings(LOCAL_USER, audits[0]), by=("respondent_type",))
    figure = charts.distribution_chart(table, respondent_type="user", lang="en")
    assert len(figure.data) == 5
    fours = figure.data[3]
    assert fours.name == "4 Good"
    assert fours.x[0] == pytest.approx(60.0)  # 3 of the users' 5 effectiveness answers
    assert figure.layout.barmode == "stack"


def test_gap_and_cycle_charts(audits):
    ratings = queries.ratings(LOCAL_USER, audits[1])
    gap = charts.gap_chart(summary.provider_user_gap(ratings), cycle_year=2014, lang="es")
    assert list(gap.data[0].y) == [-1.5, -3.0]
    assert gap.layout.title.text == "Brecha proveedor − usuario, ciclo 2014"
    cycles = charts.cycle_change_chart(summary.cycle_change(ratings), respondent_type="user", lang="en")
    assert [trace.name for trace in cycles.data] == ["2013", "2014"]
    assert list(cycles.data[1].y) == [5.0, 5.0]
    assert cycles.data[1].text[0] == "5.00 (+1.50)"


def test_disaggregation_chart_leaves_out_empty_categories(audits):
    ratings = queries.ratings(LOCAL_USER, audits[0])
    figure = charts.disaggregation_chart(summary.disaggregate(ratings, "sex"), by="sex", lang="es")
    assert [trace.name for trace in figure.data] == ["Mujer", "Hombre"]
    assert figure.data[0].y[0] == pytest.approx(4.0)
    assert figure.layout.title.text == "Promedio por sexo"


def test_the_page_read_bundles_the_same_summaries(audits):
    results = queries.feedback_results(LOCAL_USER, audits[1])
    assert results["cycle_year"] == 2014 and results["n_this_cycle"] == 5
    assert row(results["by_type"], dimension="effectiveness", respondent_type="provider")["mean"] == pytest.approx(3.5)
    assert row(results["gap"], cycle_year=2013, dimension="effectiveness")["gap"] == pytest.approx(1.5)
    women = row(results["breakdowns"][("all", "sex")], dimension="effectiveness", sex="female")
    assert women["n_respondents"] == 1 and women["mean"] == pytest.approx(5.0)
    assert results["breakdowns"][("manager", "sex")].empty  # no manager answered in 2014


# --- colour-blind-safe rating colours ---------------------------------------------------------------
# Machado, Oliveira & Fernandes (2009) full-severity simulations, applied in linear sRGB.
_CVD = {
    "protanopia": ((0.152286, 1.052583, -0.204868), (0.114503, 0.786281, 0.099216), (-0.003882, -0.048116, 1.051998)),
    "deuteranopia": ((0.367322, 0.860646, -0.227968), (0.280085, 0.672501, 0.047413), (-0.011820, 0.042940, 0.968881)),
    "tritanopia": ((1.255528, -0.076749, -0.178779), (-0.078411, 0.930809, 0.147602), (0.004733, 0.691367, 0.303900)),
}


def _lab_seen(colour: str, matrix=None) -> tuple[float, float, float]:
    """CIELAB of ``colour`` as seen with normal vision (no matrix) or one colour-vision deficiency."""
    def linear(c):
        c /= 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    rgb = [linear(int(colour[i:i + 2], 16)) for i in (1, 3, 5)]
    if matrix is not None:
        rgb = [min(1.0, max(0.0, sum(a * b for a, b in zip(row, rgb)))) for row in matrix]
    r, g, b = rgb
    x, y, z = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047, 0.2126 * r + 0.7152 * g + 0.0722 * b, \
        (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883
    f = lambda t: t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116  # noqa: E731
    return 116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))


def test_rating_colours_are_told_apart_with_any_colour_vision_and_keep_the_rating_order():
    # the chosen palette: orange (1) → grey (3) → blue (5), no red against green
    assert charts.RATING_COLOURS == {1: "#B35806", 2: "#F1A340", 3: "#D9D9D9", 4: "#67A9CF", 5: "#2166AC"}
    frame = pd.DataFrame({"respondent_type": ["user"], "dimension": [summary.DIMENSIONS[0]],
                          **{f"n_{r}": [r] for r in summary.RATINGS}})
    figure = charts.distribution_chart(frame, respondent_type="user", lang="es")
    assert [bar.marker.color for bar in figure.data] == [charts.RATING_COLOURS[r] for r in summary.RATINGS]
    colours = [charts.RATING_COLOURS[r] for r in summary.RATINGS]
    for vision, matrix in (("normal", None), *_CVD.items()):
        seen = [_lab_seen(c, matrix) for c in colours]
        closest = min(math.dist(a, b) for i, a in enumerate(seen) for b in seen[i + 1:])
        # ΔE ≥ 20: clearly different swatches (the former red-yellow-green scale fell to ΔE 5 for deuteranopia)
        assert closest >= 20, (vision, closest)
    # darker at both ends than in the middle: the order reads even in grey
    lightness = [_lab_seen(c)[0] for c in colours]
    assert lightness[0] < lightness[1] < lightness[2] > lightness[3] > lightness[4]
