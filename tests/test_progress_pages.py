"""The progress pages under AppTest: they render the known dataset's numbers, follow filters and writes."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from db import models as m
from tests.test_progress_views import build_dataset

ROOT = Path(__file__).resolve().parent.parent
PAGES = ("overview.py", "progress.py", "result_sheets.py")


@pytest.fixture
def dataset(session):
    return build_dataset(session)


def run(page: str, lang: str = "en", query: dict | None = None, opened: tuple[str, ...] = ()) -> AppTest:
    """Run ``page``; ``opened`` names the charts whose "show the data" expander the person opened."""
    at = AppTest.from_file(str(ROOT / "pages" / page), default_timeout=60)
    at.session_state["lang"] = lang
    for chart_key in opened:
        at.session_state[f"{chart_key}_data"] = True
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def shown(values) -> list:
    """Table cells as a person reads them: st.table renders Markdown, so the page escapes it ("\\+1\\.00")."""
    return [re.sub(r"\\(.)", r"\1", v) if isinstance(v, str) else v for v in values]


def metric(at: AppTest, label: str) -> str:
    return next(x.value for x in at.metric if x.label == label)


@pytest.mark.parametrize("lang", ["es", "en"])
@pytest.mark.parametrize("page", PAGES)
def test_pages_render_the_dataset(dataset, page, lang):
    at = run(page, lang)
    assert at.title


def test_overview_shows_the_hand_computed_totals(dataset):
    at = run("overview.py")
    assert metric(at, "Clusters / plan") == "2 / 16"
    assert metric(at, "With a baseline") == "4"
    assert metric(at, "With a midpoint") == "3"
    assert metric(at, "With an improvement plan / target") == "3 / 80"


def test_overview_follows_the_department_filter_and_url(dataset):
    at = run("overview.py", query={"dept": "25"})
    assert metric(at, "Clusters / plan") == "1 / 3"
    assert metric(at, "With a baseline") == "1"
    at.selectbox(key="progress_filter.department").set_value("").run()
    assert metric(at, "Clusters / plan") == "2 / 16"
    assert "dept" not in at.query_params


def test_progress_page_government_metrics_and_tables(dataset):
    gov = dataset["gov"]
    at = run("progress.py", query={"gov": str(gov["2205"])})
    assert metric(at, "Index Baseline") == "1.75"
    assert metric(at, "Index Midpoint") == "2.25"
    tables = {tuple(df.value.columns): df.value for df in at.dataframe}
    everyone = next(v for k, v in tables.items() if "UBIGEO" in k and "Change" in k)
    assert sorted(everyone["Change"].dropna().tolist()) == [-1.0, 0.5, 1.5]


def test_progress_tabs_are_lazy_and_open_from_the_url(dataset):
    # a chart's table is built and sent only once its expander is opened
    closed = run("progress.py", query={"view": "targets"})
    assert not [df for df in closed.dataframe if "% met" in df.value.columns]
    at = run("progress.py", query={"view": "targets"}, opened=("progress.targets",))
    tables = {tuple(df.value.columns): df.value for df in at.dataframe}
    targets = next(v for k, v in tables.items() if "% met" in k)
    assert targets.set_index("Functional area")["% met"].tolist() == [50.0, 0.0]
    # the governments tab did not run: no government picker, no per-government metrics
    assert not [s for s in at.selectbox if s.key == "progress.government"]
    plans = run("progress.py", query={"view": "plans"}, opened=("progress.interventions",))
    effect = next(df.value for df in plans.dataframe if "Mean change" in df.value.columns)
    assert effect.set_index("Group of areas")["Mean change"].tolist() == [0.0, 0.75]
    qsip = run("progress.py", query={"view": "qsip"}, opened=("progress.qsip_gap",))
    gap = next(df.value for df in qsip.dataframe if "Gap" in df.value.columns)
    assert gap["Gap"].dropna().tolist() == [1.75, 1.0]


def test_progress_page_shows_new_numbers_after_a_write(dataset, session):
    """The read cache keys on the data version: a save (which bumps it) shows at once."""
    from assessments.access import LOCAL_USER
    from db.audit import record

    gov = dataset["gov"]
    at = run("progress.py", query={"gov": str(gov["220505"])})
    assert metric(at, "Index Midpoint") == "3.50"
    consensus = session.execute(
        sa.select(m.ConsensusScore).join(m.Assessment, m.Assessment.id == m.ConsensusScore.assessment_id)
        .join(m.Indicator, m.Indicator.id == m.ConsensusScore.indicator_id)
        .where(m.Assessment.government_id == dataset["gov_uuid"]["220505"], m.Assessment.round == "midpoint",
               m.Indicator.code == "ADM-02")
    ).scalar_one()
    consensus.score = 4
    record(session, LOCAL_USER, "update", "consensus_score", consensus.id, after={"score": 4})
    session.commit()
    at.run()
    assert metric(at, "Index Midpoint") == "4.00"


def test_filters_persist_into_query_params(dataset):
    at = run("progress.py")
    at.selectbox(key="progress_filter.level").set_value("district").run()
    assert at.query_params["level"] == ["district"] or at.query_params["level"] == "district"
    at.selectbox(key="progress_filter.rounds").set_value("baseline-end").run()
    assert not at.exception
    assert any("0 of 2 governments" in c.value for c in at.caption)


def test_result_sheet_of_a_government_in_spanish(dataset):
    gov = dataset["gov"]
    at = run("result_sheets.py", lang="es", query={"gov": str(gov["2205"])})
    texts = [t.value for t in at.text]
    assert texts == ["Municipalidad provincial · San Martín · UBIGEO 2205", "Clúster: Lamas",
                     "Índice de capacidad: Línea de base 1.75 → Medio término 2.25 (cambio +0.50)"]
    areas = at.table[0].value
    assert shown(areas["Cambio"]) == ["+1.00", "0.00"]
    assert shown(areas["Meta alcanzada"]) == ["Sí", "No"]
    plan = at.table[1].value
    assert plan["Cantidad"].tolist() == ["2", "0", "1", "0"]


def test_result_sheet_of_a_cluster_in_english_and_its_offline_html(dataset):
    at = run("result_sheets.py", lang="en", query={"cluster": str(dataset["c1"])})
    assert [s.value for s in at.subheader] == ["Lamas"]
    assert at.text[0].value == "San Martín · wave 1 · services: Health · 3 governments"
    members = at.table[0].value
    # regional government first: its midpoint is still a draft, so nothing to compare
    assert shown(members["Change"]) == ["—", "+0.50", "+1.50"]
    qsip = at.table[-1].value
    assert shown([qsip.loc["Effectiveness", "Gap"]]) == ["+1.00"]  # latest cycle 2014: providers 5, users 4


def test_sheet_html_is_self_contained_and_escapes_user_text(dataset, session):
    from assessments import progress_sheets

    cluster = session.get(m.Cluster, dataset["c1"])
    cluster.name = "<script>alert(1)</script> Lamas"
    session.commit()
    sheet = progress_sheets.cluster_sheet(str(dataset["c1"]))
    page = progress_sheets.sheet_html(sheet, "es")
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Lamas" in page
    # plotly.js inline: no script, stylesheet or font fetched from anywhere
    assert "<script src=" not in page and 'src="http' not in page and "<link" not in page
    assert len(page) > 1_000_000
    assert "Gobiernos del clúster" in page and "@page" in page


@pytest.mark.parametrize("lang, expected", [
    ("es", {"title": "Cómo se calculan estas cifras",
            "body": ["el promedio de los puntajes de consenso del área, solo sobre sus indicadores comparables",
                     "**Índice de capacidad**: el promedio de los puntajes de las áreas",
                     "«Dispersión de los puntajes de los participantes (promedio por persona)» (pestaña «Por clúster»)"
                     ", que muestra el promedio de los puntajes propios de cada participante", "3.125 → 3.13"],
            "caption": "3 de 4 gobiernos tienen validadas las rondas «Línea de base» y «Medio término» con indicadores "
                       "comparables y muestran su cambio. 1 gobierno aún no tiene validada la ronda «Medio término» "
                       "(o ningún indicador puntuado en ambas rondas), así que no muestra cambio."}),
    ("en", {"title": "How these figures are computed",
            "body": ["the mean of the area's consensus scores over its comparable indicators only",
                     "**Capacity index**: the mean of the scores of the areas",
                     "“Spread of participants' scores (mean per person)” (“Per cluster” tab), which shows each "
                     "participant's mean of their own scores", "3.125 → 3.13"],
            "caption": "3 of 4 governments have validated “Baseline” and “Midpoint” rounds with comparable indicators "
                       "and show their change. 1 government has no validated “Midpoint” round yet (or no indicator "
                       "scored in both rounds), so it shows no change."}),
])
def test_progress_explains_its_numbers_and_who_has_no_second_round(dataset, lang, expected):
    at = run("progress.py", lang=lang)
    assert expected["title"] in [e.label for e in at.expander]
    body = next(md.value for md in at.markdown if expected["body"][0] in md.value)
    assert all(part in body for part in expected["body"]), body
    assert expected["caption"] in [c.value for c in at.caption]


def test_progress_tables_show_counts_as_integers(dataset):
    at = run("progress.py", lang="es", query={"gov": str(dataset["gov"]["2205"])})
    everyone = next(df.value for df in at.dataframe if "UBIGEO" in df.value.columns)
    for column in ("Áreas comparadas", "Áreas sin comparación"):
        assert pd.api.types.is_integer_dtype(everyone[column]), everyone[column].dtype  # "2", never "2.0"
        assert [str(v) for v in everyone[column]] == [str(int(v)) for v in everyone[column]]
    assert metric(at, "Indicadores no comparables") == "1"


def test_result_sheet_in_spanish_rounds_ties_away_from_zero_and_dates_in_spanish(dataset):
    """3.125 shows 3.13 (next to a +0.13 change), never Python's 3.12; the footer date is "3 may. 2026"."""
    from dataclasses import replace
    from datetime import date

    from assessments import progress_sheets

    sheet = progress_sheets.government_sheet(str(dataset["gov"]["2205"]))
    areas = sheet.areas.copy()
    areas.loc[areas.index[0], ["area_score_from", "area_score_to", "change"]] = [3.0, 3.125, 0.125]
    sheet = replace(sheet, areas=areas, capacity={"capacity_index_from": 2.0, "capacity_index_to": 3.125,
                                                  "change": 1.125})
    table = progress_sheets.government_tables(sheet, "es")["areas"]
    assert table["Puntaje Medio término"].iloc[0] == "3.13" and table["Cambio"].iloc[0] == "+0.13"
    facts = progress_sheets.government_facts(sheet, "es")
    assert facts[2] == "Índice de capacidad: Línea de base 2.00 → Medio término 3.13 (cambio +1.13)"
    page = progress_sheets.sheet_html(sheet, "es", today=date(2026, 5, 3))
    assert "3 may. 2026" in page and "2026-05-03" not in page
    assert "<td>3.13</td>" in page and "<td>3.12</td>" not in page
    later = progress_sheets.government_figure(sheet, "es").data[2]  # its hover shows the plotted value
    assert later.x[0] == 3.13


def test_sheet_facts_agree_with_their_count(dataset):
    """One government or cluster reads in the singular: "1 gobierno", "Clúster: Lamas"."""
    from dataclasses import replace

    from assessments import progress_sheets

    cluster = progress_sheets.cluster_sheet(str(dataset["c1"]))
    alone = replace(cluster, members=cluster.members.iloc[:1])
    assert progress_sheets.cluster_facts(alone, "es")[0].endswith("· 1 gobierno")
    assert progress_sheets.cluster_facts(alone, "en")[0].endswith("· 1 government")
    assert progress_sheets.cluster_facts(cluster, "es")[0].endswith("· 3 gobiernos")
    government = progress_sheets.government_sheet(str(dataset["gov"]["2205"]))
    both = replace(government, clusters=["Lamas", "Huallaga"])
    assert progress_sheets.government_facts(both, "es")[1] == "Clústeres: Lamas, Huallaga"
    assert progress_sheets.government_facts(government, "en")[1] == "Cluster: Lamas"
