"""Plotly charts of QSIP feedback, each built from one summary frame of ``assessments.qsip_summary``.

Pure functions: a frame and a language in, a figure out; titles, axes and legends come from the catalog.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from assessments import formatting as fmt
from assessments.i18n import translator
from assessments.qsip_summary import DIMENSIONS, RATINGS

# Colour-blind-safe colours. Respondent types and categories: Okabe-Ito (as assessments.charts).
TYPE_COLOURS = {"user": "#0072B2", "provider": "#E69F00", "manager": "#999999"}
# Ratings 1..5 on an orange → grey → blue diverging scale (ColorBrewer PuOr/RdBu family, no red against
# green): told apart with any colour vision, and darker at both ends so the order still reads in grey.
RATING_COLOURS = {1: "#B35806", 2: "#F1A340", 3: "#D9D9D9", 4: "#67A9CF", 5: "#2166AC"}
CATEGORY_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9")
GAP_COLOURS = {"provider_higher": "#E69F00", "user_higher": "#0072B2"}


def _layout(figure: go.Figure, title: str, *, y_title: str, x_title: str = "", y_range=None) -> go.Figure:
    figure.update_layout(title=title, barmode="group", legend_title_text="", margin={"t": 60, "b": 40},
                         yaxis_title=y_title, xaxis_title=x_title, height=380)
    figure.update_xaxes(automargin=True)  # long dimension names get room instead of being cut
    figure.update_yaxes(automargin=True)
    if y_range:
        figure.update_yaxes(range=y_range)
    return figure


def _dimension_labels(frame: pd.DataFrame, t) -> list[str]:
    return [t(f"qsip.dimension.{d}") for d in frame["dimension"]]


def dimension_means_chart(summary: pd.DataFrame, *, lang: str) -> go.Figure:
    """Mean rating per dimension, one bar per respondent type (``dimension_summary`` by respondent_type)."""
    t = translator(lang)
    figure = go.Figure()
    for respondent_type, colour in TYPE_COLOURS.items():
        part = summary.loc[summary["respondent_type"] == respondent_type]
        if part.empty:
            continue
        figure.add_bar(
            name=t(f"qsip.type.{respondent_type}"), x=_dimension_labels(part, t), y=part["mean"].map(lambda v: fmt.display_round(v, 2)),
            marker_color=colour, text=[fmt.number(m, lang) for m in part["mean"]], textposition="outside",
            customdata=part["n_respondents"],
            hovertemplate="%{x}<br>%{y:.2f} (n=%{customdata})<extra>" + t(f"qsip.type.{respondent_type}") + "</extra>",
        )
    return _layout(figure, t("qsip.chart.means.title"), y_title=t("qsip.chart.mean_axis"), y_range=[0, 5.5])


def distribution_chart(summary: pd.DataFrame, *, respondent_type: str, lang: str) -> go.Figure:
    """Share of item ratings 1..5 per dimension for one respondent type (stacked to 100%)."""
    t = translator(lang)
    part = summary.loc[summary["respondent_type"] == respondent_type]
    counts = part[[f"n_{r}" for r in RATINGS]]
    totals = counts.sum(axis=1).where(lambda s: s > 0)
    figure = go.Figure()
    labels = _dimension_labels(part, t)
    for rating in RATINGS:
        share = (counts[f"n_{rating}"] / totals * 100).fillna(0)
        figure.add_bar(name=t(f"qsip.rating.{rating}"), y=labels, x=share.map(lambda v: fmt.display_round(v, 1)), orientation="h",
                       marker_color=RATING_COLOURS[rating], customdata=counts[f"n_{rating}"],
                       hovertemplate="%{y}: %{x:.1f}% (n=%{customdata})<extra>" + str(rating) + "</extra>")
    figure = _layout(figure, t("qsip.chart.distribution.title", type=t(f"qsip.type.{respondent_type}")),
                     y_title="", x_title=t("qsip.chart.share_axis"))
    figure.update_layout(barmode="stack")
    figure.update_xaxes(range=[0, 100])
    figure.update_yaxes(autorange="reversed", automargin=True)
    return figure


def gap_chart(gap: pd.DataFrame, *, cycle_year: int, lang: str) -> go.Figure:
    """Provider minus user mean per dimension in one cycle (``provider_user_gap``)."""
    t = translator(lang)
    part = gap.loc[gap["cycle_year"] == cycle_year]
    colours = [GAP_COLOURS["provider_higher"] if g >= 0 else GAP_COLOURS["user_higher"] for g in part["gap"].fillna(0)]
    figure = go.Figure()
    figure.add_bar(x=_dimension_labels(part, t), y=part["gap"].map(lambda v: fmt.display_round(v, 2)), marker_color=colours,
                   text=[("" if pd.isna(g) else fmt.signed(g, lang)) for g in part["gap"]], textposition="outside",
                   name=t("qsip.chart.gap.series"))
    figure.add_hline(y=0, line_color="#444", line_width=1)
    figure = _layout(figure, t("qsip.chart.gap.title", year=cycle_year), y_title=t("qsip.chart.gap_axis"))
    figure.update_layout(showlegend=False)
    return figure


def cycle_change_chart(change: pd.DataFrame, *, respondent_type: str, lang: str) -> go.Figure:
    """Mean per dimension in each cycle for one respondent type (``cycle_change``), one bar per cycle."""
    t = translator(lang)
    part = change.loc[change["respondent_type"] == respondent_type]
    figure = go.Figure()
    for year in sorted(part["cycle_year"].unique()):
        rows = part.loc[part["cycle_year"] == year]
        text = [fmt.number(m, lang) if pd.isna(c) else f"{fmt.number(m, lang)} ({fmt.signed(c, lang)})"
                for m, c in zip(rows["mean"], rows["change"])]
        figure.add_bar(name=str(year), x=_dimension_labels(rows, t), y=rows["mean"].map(lambda v: fmt.display_round(v, 2)), text=text,
                       textposition="outside")
    return _layout(figure, t("qsip.chart.cycles.title", type=t(f"qsip.type.{respondent_type}")),
                   y_title=t("qsip.chart.mean_axis"), y_range=[0, 5.5])


def disaggregation_chart(table: pd.DataFrame, *, by: str, lang: str) -> go.Figure:
    """Mean per dimension, one bar per sex or indigenous category (``disaggregate``), n in the hover."""
    t = translator(lang)
    figure = go.Figure()
    prefix = {"sex": "sex", "indigenous": "indigenous", "respondent_type": "qsip.type"}[by]
    for index, category in enumerate(pd.unique(table[by])):
        rows = table.loc[table[by] == category]
        if rows["n_respondents"].sum() == 0:
            continue
        figure.add_bar(name=t(f"{prefix}.{category}"), x=_dimension_labels(rows, t), y=rows["mean"].map(lambda v: fmt.display_round(v, 2)),
                       marker_color=CATEGORY_COLOURS[index % len(CATEGORY_COLOURS)],
                       text=[f"{fmt.number(m, lang)}<br>n={fmt.integer(n, lang)}" if n else "" for m, n in zip(rows["mean"], rows["n_respondents"])],
                       textposition="outside")
    return _layout(figure, t(f"qsip.chart.by_{by}.title"), y_title=t("qsip.chart.mean_axis"), y_range=[0, 6])


def ordered_dimensions(frame: pd.DataFrame) -> list[str]:
    """Dimensions present, in the method's order."""
    present = set(frame["dimension"]) if "dimension" in frame else set()
    return [d for d in DIMENSIONS if d in present]
