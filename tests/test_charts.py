"""Chart builders: what each figure draws (fig.data) and its translated titles and axes."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from assessments import charts


@pytest.fixture
def areas():
    return pd.DataFrame({
        "area": ["Administración", "Recursos humanos"],
        "area_score_from": [1.5, 2.0],
        "area_score_to": [2.5, 2.0],
        "change": [1.0, 0.0],
    })


def test_dumbbell_draws_one_dot_per_round_and_a_segment_per_area(areas):
    figure = charts.dumbbell(areas, lang="es", from_round="baseline", to_round="midpoint")
    segments, before, after = figure.data
    assert list(before.x) == [1.5, 2.0] and list(after.x) == [2.5, 2.0]
    assert list(before.y) == ["Administración", "Recursos humanos"]
    assert [x for x in segments.x if x is not None] == [1.5, 2.5, 2.0, 2.0]
    assert before.name == "Línea de base" and after.name == "Medio término"
    assert figure.layout.title.text == "Cambio por área funcional: Línea de base → Medio término"
    assert figure.layout.xaxis.title.text == "Puntaje (escala de madurez)"
    assert tuple(figure.layout.xaxis.range) == (0.8, 4.2)


def test_dumbbell_in_english(areas):
    figure = charts.dumbbell(areas, lang="en", from_round="baseline", to_round="end")
    assert figure.layout.title.text == "Change per functional area: Baseline → End"
    assert figure.data[2].name == "End"


def test_radar_closes_each_round_line(areas):
    figure = charts.radar(areas, lang="en", from_round="baseline", to_round="midpoint")
    assert [trace.type for trace in figure.data] == ["scatterpolar", "scatterpolar"]
    assert list(figure.data[0].r) == [1.5, 2.0, 1.5]
    assert list(figure.data[1].theta) == ["Administración", "Recursos humanos", "Administración"]
    assert tuple(figure.layout.polar.radialaxis.range) == (1, 4)


def test_heatmap_grid_and_symmetric_colour_range():
    frame = pd.DataFrame({
        "government": ["A", "A", "B"], "area": ["ADM", "HR", "ADM"], "change": [1.0, -2.0, 0.5],
    })
    figure = charts.change_heatmap(frame, lang="en", from_round="baseline", to_round="midpoint")
    heat = figure.data[0]
    assert list(heat.y) == ["A", "B"] and list(heat.x) == ["ADM", "HR"]
    assert heat.z[0][0] == 1.0 and heat.z[0][1] == -2.0 and heat.z[1][0] == 0.5 and math.isnan(heat.z[1][1])
    assert (heat.zmin, heat.zmax) == (-2.0, 2.0)
    assert heat.text[0][1] == "-2.0"
    assert figure.layout.title.text == "Change per government and area: Baseline → Midpoint"


def test_distribution_one_trace_per_colour_group_and_kind():
    frame = pd.DataFrame({"department": ["Loreto", "Loreto", "Ucayali"], "level": ["GR", "GLD", "GLD"],
                          "change": [0.5, 1.0, -1.0]})
    box = charts.distribution(frame, lang="en", x="department", y="change", color="level", title="T",
                              x_label="Department", y_label="Change")
    assert [t.type for t in box.data] == ["box", "box"]
    assert [t.name for t in box.data] == ["GR", "GLD"]
    assert list(box.data[1].y) == [1.0, -1.0]
    violin = charts.distribution(frame, lang="en", x="department", y="change", kind="violin", title="T",
                                 x_label="D", y_label="C")
    assert [t.type for t in violin.data] == ["violin"]
    strip = charts.distribution(frame, lang="en", x="department", y="change", kind="strip", title="T",
                                x_label="D", y_label="C")
    assert strip.data[0].boxpoints == "all"
    assert box.layout.yaxis.title.text == "Change" and box.layout.xaxis.title.text == "Department"


def test_target_bars_show_share_and_counts():
    frame = pd.DataFrame({"area": ["ADM", "HR"], "share_met": [50.0, 0.0], "met": [1, 0], "scored": [2, 1],
                          "targets": [2, 1]})
    figure = charts.target_bars(frame, lang="es", to_round="midpoint")
    assert list(figure.data[0].x) == [50.0, 0.0]
    assert list(figure.data[0].text) == ["1/2", "0/1"]
    assert figure.layout.title.text == "Metas de área alcanzadas en la ronda Medio término"


def test_done_vs_planned_stacks_statuses():
    frame = pd.DataFrame({
        "kind": ["plan_items"] * 4 + ["roadmap_actions"] * 4,
        "status": ["planned", "in_progress", "done", "dropped"] * 2,
        "count": [3, 1, 1, 0, 1, 1, 1, 0],
    })
    figure = charts.done_vs_planned(frame, lang="en")
    assert [t.name for t in figure.data] == ["Planned", "In progress", "Done", "Dropped"]
    assert list(figure.data[2].x) == [1, 1]
    assert list(figure.data[0].y) == ["Capacity-building plan items", "QSIP roadmap actions"]
    assert figure.layout.barmode == "stack"


def test_intervention_effect_groups_areas():
    frame = pd.DataFrame({"intervened": [True, True, False], "change": [1.0, -1.0, 1.5]})
    figure = charts.intervention_effect(frame, lang="en")
    assert list(figure.data[0].x) == ["With interventions", "With interventions", "Without interventions"]
    assert figure.layout.title.text == "Area change with and without interventions"


def test_planned_vs_actual_and_improvement_plans():
    frame = pd.DataFrame({"wave": ["Wave 1", "Wave 2"], "planned": [6, 5], "formed": [1, 1]})
    figure = charts.planned_vs_actual(frame, lang="en", x="wave", x_label="Wave", title="Clusters")
    assert [t.name for t in figure.data] == ["Planned", "Achieved"]
    assert list(figure.data[0].y) == [6, 5] and list(figure.data[1].y) == [1, 1]
    plans = pd.DataFrame({"level": ["Regional", "Provincial", "District"], "governments": [1, 1, 1],
                          "year1": [5, 6, 18], "year2_q1": [5, 16, 59]})
    figure = charts.improvement_plans(plans, lang="en", milestones={"year1": "Y1", "year2_q1": "Y2"})
    assert list(figure.data[0].y) == [1, 1, 1]
    assert [t.name for t in figure.data[1:]] == ["Y1", "Y2"] and list(figure.data[2].y) == [5, 16, 59]


def test_qsip_charts():
    trend = pd.DataFrame({"cycle_year": [2013, 2014, 2013], "dimension": ["Eff", "Eff", "Eff"],
                          "respondent_type": ["Users", "Users", "Providers"], "mean": [2.25, 4.0, 4.0]})
    figure = charts.qsip_trend(trend, lang="en")
    assert [t.name for t in figure.data] == ["Eff · Users", "Eff · Providers"]
    assert list(figure.data[0].y) == [2.25, 4.0]
    assert figure.layout.yaxis.title.text == "Mean rating (1–5)"
    gap = pd.DataFrame({"cycle_year": [2013, 2014], "dimension": ["Eff", "Eff"], "gap": [1.75, 1.0]})
    figure = charts.qsip_gap(gap, lang="es")
    assert [t.name for t in figure.data] == ["2013", "2014"] and list(figure.data[0].text) == ["+1.75"]
    groups = pd.DataFrame({"dimension": ["Eff", "Eff"], "sex": ["Female", "Male"], "mean": [3.0, 2.75]})
    figure = charts.qsip_groups(groups, lang="en", by="sex", cycle=2013)
    assert figure.layout.title.text == "Score by sex (cycle 2013)"
    assert [t.name for t in figure.data] == ["Female", "Male"]


def test_empty_frames_give_a_translated_no_data_figure():
    empty = pd.DataFrame(columns=["area", "area_score_from", "area_score_to", "change"])
    figure = charts.dumbbell(empty, lang="es", from_round="baseline", to_round="midpoint")
    assert figure.data == ()
    assert figure.layout.annotations[0].text == "Sin datos para mostrar"


def test_distribution_of_thousands_draws_a_summary_with_exact_quartiles():
    """National scale: a box from its five numbers (outliers once per value), not every government."""
    import numpy as np

    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"department": rng.choice(["A", "B", "C"], 3000), "level": rng.choice(["r", "d"], 3000),
                          "change": rng.choice([-2.0, 0.0, 0.5, 1.0, 1.5, 5.0], 3000)})
    box = charts.distribution(frame, lang="en", x="department", y="change", color="level", title="T",
                              x_label="D", y_label="C")
    boxes = [t for t in box.data if t.type == "box"]
    assert sum(len(t.x) for t in box.data) < 100
    first = frame.loc[frame["level"] == boxes[0].name]
    for index, department in enumerate(boxes[0].x):
        values = first.loc[first["department"] == department, "change"]
        assert boxes[0].median[index] == values.median()
        assert boxes[0].q1[index] == values.quantile(0.25) and boxes[0].q3[index] == values.quantile(0.75)
    violin = charts.distribution(frame, lang="en", x="department", y="change", kind="violin", title="T",
                                 x_label="D", y_label="C")
    assert len(violin.data[0].y) <= 3 * charts.VIOLIN_QUANTILES
    strip = charts.distribution(frame, lang="en", x="department", y="change", kind="strip", title="T",
                                x_label="D", y_label="C")
    assert len(strip.data[0].y) == 3 * charts.STRIP_SAMPLE and "Sample" in strip.layout.title.text


def test_heatmap_rounds_ties_away_from_zero_in_text_and_hover():
    """+0.25 and +0.75 are both ties: the cells read "+0.3" and "+0.8" (not "+0.2" next to "+0.8")."""
    frame = pd.DataFrame({"government": ["A", "A", "B", "B"], "area": ["ADM", "HR", "ADM", "HR"],
                          "change": [0.25, 0.75, -0.25, 0.0]})
    for lang in ("es", "en"):
        heat = charts.change_heatmap(frame, lang=lang, from_round="baseline", to_round="midpoint").data[0]
        assert [list(row) for row in heat.text] == [["+0.3", "+0.8"], ["-0.3", "0.0"]]
        # the hover shows the two-decimal change as text, not plotly's own (half-to-even) format of z
        assert [list(row) for row in heat.customdata] == [["+0.25", "+0.75"], ["-0.25", "0.00"]]
        assert "%{customdata}" in heat.hovertemplate and "%{z" not in heat.hovertemplate


def test_qsip_chart_texts_round_half_away_from_zero():
    gap = pd.DataFrame({"cycle_year": [2013, 2013], "dimension": ["Eff", "Acc"], "gap": [0.125, -0.005]})
    assert list(charts.qsip_gap(gap, lang="es").data[0].text) == ["+0.13", "-0.01"]
    groups = pd.DataFrame({"dimension": ["Eff"], "sex": ["Female"], "mean": [3.125]})
    bars = charts.qsip_groups(groups, lang="en", by="sex", cycle=2013).data[0]
    assert list(bars.text) == ["3.13"] and list(bars.y) == [3.13]  # the hover shows the bar's height


def test_long_area_names_wrap_on_the_axes_instead_of_being_cut():
    long_name = "Planeamiento estratégico y presupuesto por resultados"
    areas = pd.DataFrame({"area": [long_name, "RR. HH."], "area_score_from": [1.5, 2.0],
                          "area_score_to": [2.5, 2.0], "change": [1.0, 0.0]})
    dumbbell = charts.dumbbell(areas, lang="es", from_round="baseline", to_round="midpoint")
    wrapped = list(dumbbell.layout.yaxis.ticktext)
    assert wrapped[0].replace("<br>", " ") == long_name and "<br>" in wrapped[0]
    assert all(len(line) <= charts.DUMBBELL_WRAP for line in wrapped[0].split("<br>") if " " in line)
    most = max(text.count("<br>") + 1 for text in wrapped)
    assert dumbbell.layout.height >= 120 + len(wrapped) * 16 * most  # rows as tall as the longest name: no overlap
    radar = charts.radar(areas, lang="es", from_round="baseline", to_round="midpoint")
    assert radar.data[0].theta[0].replace("<br>", " ") == long_name and "<br>" in radar.data[0].theta[0]
    assert radar.data[0].customdata[0] == long_name  # the hover names the area whole
    assert list(dumbbell.layout.yaxis.tickvals) == [long_name, "RR. HH."] and wrapped[1] == "RR. HH."
    assert dumbbell.layout.yaxis.automargin
    heat = charts.change_heatmap(areas.assign(government="A"), lang="es", from_round="baseline",
                                 to_round="midpoint")
    assert heat.layout.xaxis.ticktext[0].replace("<br>", " ") == long_name and heat.layout.xaxis.automargin
    spec = charts.vl_target_bars(pd.DataFrame({"area": [long_name], "share_met": [200 / 3], "met": [2],
                                               "scored": [3], "targets": [3]}), lang="es", to_round="midpoint")
    assert spec["config"]["axis"]["labelLimit"] == 0  # Vega-Lite: 0 is no limit (the default cuts at 180 px)
    assert spec["layer"][0]["encoding"]["y"]["axis"]["labelLimit"] == 0
    assert spec["data"]["values"][0]["share_text"] == "67%"
