"""Avance's charts are built once per content: a new tab gets the same figures without rebuilding them,
and a save (new numbers) rebuilds them; Portafolio draws Vega-Lite, not plotly (pages/_figures.py)."""

from __future__ import annotations

import functools
import json

import pyarrow
import sqlalchemy as sa

from db import models as m
from tests.test_progress_pages import dataset, run  # noqa: F401  (fixture)


def counting(monkeypatch, *names: str) -> list[str]:
    """Record every call of these assessments.charts builders."""
    from assessments import charts
    from pages import _figures

    _figures._built.clear()
    calls: list[str] = []
    for name in names:
        original = getattr(charts, name)

        @functools.wraps(original)
        def wrapper(*args, _original=original, _name=name, **kwargs):
            calls.append(_name)
            return _original(*args, **kwargs)

        monkeypatch.setattr(charts, name, wrapper)
    return calls


def specs(at) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def test_a_new_tab_gets_the_same_charts_without_building_them_again(dataset, monkeypatch):  # noqa: F811
    calls = counting(monkeypatch, "dumbbell", "radar")
    query = {"gov": str(dataset["gov"]["220505"])}
    first = run("progress.py", query=query)
    assert sorted(calls) == ["dumbbell", "radar"]
    second = run("progress.py", query=query)  # another browser tab: a new session
    assert sorted(calls) == ["dumbbell", "radar"]
    assert specs(second) == specs(first) and len(specs(first)) == 2


def test_portafolio_draws_vega_lite_charts_with_their_numbers_inline_and_no_plotly(dataset):  # noqa: F811
    at = run("overview.py", query={"dept": "25"})
    assert len(at.get("plotly_chart")) == 0  # no plotly.js to load in a new tab
    charts = at.get("vega_lite_chart")
    titles = [json.loads(chart.proto.spec)["title"]["text"] for chart in charts]
    assert titles == ["Clusters per wave: plan versus formed", "Clusters per department: plan versus formed",
                      "Governments with a validated FOCAS assessment",
                      "Governments with an improvement plan against the targets", "QSIP audits by stage"]
    # the clusters-per-department chart draws what the metric says: 1 formed of 3 planned (Ucayali)
    rows = pyarrow.ipc.open_stream(charts[1].proto.data.data).read_pandas()
    assert {(r.x, r.series): r.n for r in rows.itertuples()} == {("Ucayali", "Planned"): 3, ("Ucayali", "Achieved"): 1}


def test_a_save_redraws_the_chart_with_the_new_numbers(dataset, session, monkeypatch):  # noqa: F811
    from assessments.access import LOCAL_USER
    from db.audit import record

    calls = counting(monkeypatch, "dumbbell", "radar")
    query = {"gov": str(dataset["gov"]["220505"])}
    before = specs(run("progress.py", query=query))
    consensus = session.execute(
        sa.select(m.ConsensusScore).join(m.Assessment, m.Assessment.id == m.ConsensusScore.assessment_id)
        .join(m.Indicator, m.Indicator.id == m.ConsensusScore.indicator_id)
        .where(m.Assessment.government_id == dataset["gov_uuid"]["220505"], m.Assessment.round == "midpoint",
               m.Indicator.code == "ADM-02")
    ).scalar_one()
    consensus.score = 4
    record(session, LOCAL_USER, "update", "consensus_score", consensus.id, after={"score": 4})
    session.commit()
    after = specs(run("progress.py", query=query))
    assert len(calls) == 4
    assert after != before
    # the administration area's midpoint marker moved from 3.5 to 4 in the dumbbell
    assert 4.0 in [x for trace in after[0]["data"] for x in trace.get("x", [])]
    assert 4.0 not in [x for trace in before[0]["data"] for x in trace.get("x", [])]


def test_the_targets_tab_draws_its_shares_with_vega_lite_and_no_plotly(dataset):  # noqa: F811
    at = run("progress.py", query={"view": "targets"})
    assert len(at.get("plotly_chart")) == 0
    (chart,) = at.get("vega_lite_chart")
    rows = pyarrow.ipc.open_stream(chart.proto.data.data).read_pandas()
    assert rows["share"].tolist() == [50.0, 0.0] and rows["label"].tolist() == ["1/2", "0/1"]
