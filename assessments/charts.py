"""Chart builders of the progress views: pure functions of one frame, translated titles and axes.

Each ``def x(frame, *, lang, ...) -> go.Figure`` draws only from its frame, so the table a page
shows under a chart is exactly what the chart drew. No map tiles, web fonts or remote scripts:
figures render with the plotly.js bundled by Streamlit, or embedded inline in printed sheets.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
import plotly.graph_objects as go

from assessments import formatting as fmt
from assessments.i18n import translator

# Colour-blind-safe pairs (Okabe-Ito) for the two rounds compared and the statuses.
ROUND_COLOURS = {"from": "#999999", "to": "#0072B2"}
STATUS_COLOURS = {"planned": "#BBBBBB", "in_progress": "#E69F00", "done": "#009E73", "dropped": "#D55E00"}
CATEGORY_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#999999")
DIVERGING = [[0.0, "#B2182B"], [0.5, "#F7F7F7"], [1.0, "#2166AC"]]
FONT = dict(family="Arial, Helvetica, sans-serif", size=13)
MIN_HEIGHT = 320
# A small white template built once: plotly's named templates cost ~40 ms per figure to apply.
TEMPLATE = go.layout.Template(layout=dict(
    plot_bgcolor="white", paper_bgcolor="white", colorway=list(CATEGORY_COLOURS),
    xaxis=dict(gridcolor="#E5E5E5", zerolinecolor="#BBBBBB", linecolor="#BBBBBB", automargin=True),
    yaxis=dict(gridcolor="#E5E5E5", zerolinecolor="#BBBBBB", linecolor="#BBBBBB", automargin=True),
    polar=dict(bgcolor="white", radialaxis=dict(gridcolor="#E5E5E5"), angularaxis=dict(gridcolor="#E5E5E5")),
))


def _layout(figure: go.Figure, *, title: str, x: str | None = None, y: str | None = None,
            height: int | None = None) -> go.Figure:
    figure.update_layout(
        title=dict(text=title, x=0, xanchor="left"),
        font=FONT,
        template=TEMPLATE,
        margin=dict(l=10, r=10, t=50, b=10),
        # below the plot: above it, a long legend runs into the title
        legend=dict(orientation="h", yanchor="top", y=-0.25, xanchor="left", x=0),
    )
    if x is not None:
        figure.update_xaxes(title_text=x)
    if y is not None:
        figure.update_yaxes(title_text=y)
    if height:
        figure.update_layout(height=max(height, MIN_HEIGHT))
    return figure


def wrap_label(text: object, width: int = 18) -> str:
    """A long axis label broken into lines of about ``width`` characters with ``<br>`` (never cut)."""
    words, lines, line = str(text).split(), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    return "<br>".join(lines)


DUMBBELL_WRAP = 30  # characters per line of an area's name beside the dumbbell chart
RADAR_WRAP = 16  # around the radar, where the names share the width with the circle


def _wrapped_ticks(values, width: int = 18) -> dict:
    """Axis settings that show each category's whole name, wrapped, with room made for it."""
    values = list(values)
    return dict(tickmode="array", tickvals=values, ticktext=[wrap_label(v, width) for v in values], automargin=True)


def _round_names(lang: str, from_round: str, to_round: str) -> tuple[str, str]:
    t = translator(lang)
    return t(f"round.{from_round}"), t(f"round.{to_round}")


def _empty(lang: str, title: str) -> go.Figure:
    figure = go.Figure()
    figure.add_annotation(text=translator(lang)("progress.chart.no_data"), showarrow=False, x=0.5, y=0.5,
                          xref="paper", yref="paper")
    figure.update_xaxes(visible=False)
    figure.update_yaxes(visible=False)
    return _layout(figure, title=title)


# --- one government ---------------------------------------------------------------------------


def dumbbell(frame: pd.DataFrame, *, lang: str, from_round: str, to_round: str, label: str = "area",
             title: str | None = None, scale_min: int = 1, scale_max: int = 4) -> go.Figure:
    """Change per row (area or government): a grey dot for the earlier round, a blue one for the later.

    Columns: ``label``, ``area_score_from``, ``area_score_to``.
    """
    t = translator(lang)
    title = title or t("progress.chart.dumbbell", before=t(f"round.{from_round}"), after=t(f"round.{to_round}"))
    rows = frame.dropna(subset=["area_score_from", "area_score_to"])
    if rows.empty:
        return _empty(lang, title)
    # the hover shows the plotted value: rounded like the table under the chart (3.125 → 3.13)
    rows = rows.assign(area_score_from=rows["area_score_from"].map(fmt.display_round),
                       area_score_to=rows["area_score_to"].map(fmt.display_round))
    name_from, name_to = _round_names(lang, from_round, to_round)
    figure = go.Figure()
    xs, ys = [], []
    for _, row in rows.iterrows():
        xs += [row["area_score_from"], row["area_score_to"], None]
        ys += [row[label], row[label], None]
    figure.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line=dict(color="#BBBBBB", width=3),
                                hoverinfo="skip", showlegend=False))
    figure.add_trace(go.Scatter(x=rows["area_score_from"], y=rows[label], mode="markers", name=name_from,
                                marker=dict(color=ROUND_COLOURS["from"], size=12)))
    figure.add_trace(go.Scatter(x=rows["area_score_to"], y=rows[label], mode="markers", name=name_to,
                                marker=dict(color=ROUND_COLOURS["to"], size=12)))
    ticks = _wrapped_ticks(rows[label], width=DUMBBELL_WRAP)
    figure.update_yaxes(autorange="reversed", categoryorder="array", categoryarray=list(rows[label]), **ticks)
    # the whole maturity scale, so a small move does not look like a leap
    figure.update_xaxes(range=[scale_min - 0.2, scale_max + 0.2], dtick=1)
    # rows are evenly spaced, so each is as tall as the longest wrapped name: neighbouring names never overlap
    return _layout(figure, title=title, x=t("progress.axis.score"), y=None,
                   height=dumbbell_height(ticks["ticktext"]))


def dumbbell_height(ticktext) -> int:
    lines = max((text.count("<br>") + 1 for text in ticktext), default=1)
    return 120 + len(ticktext) * (16 * max(lines, 2) + 6)


def radar(frame: pd.DataFrame, *, lang: str, from_round: str, to_round: str, label: str = "area",
          scale_min: int = 1, scale_max: int = 4) -> go.Figure:
    """The areas of one government on a radar, one closed line per round. Columns as ``dumbbell``."""
    t = translator(lang)
    title = t("progress.chart.radar")
    rows = frame.dropna(subset=["area_score_from", "area_score_to"], how="all")
    if rows.empty:
        return _empty(lang, title)
    name_from, name_to = _round_names(lang, from_round, to_round)
    # the names go around the circle wrapped (never cut at the figure's edge); the hover shows them whole
    names = list(rows[label]) + [rows[label].iloc[0]]
    theta = [wrap_label(name, RADAR_WRAP) for name in names]
    figure = go.Figure()
    for column, name, colour in (("area_score_from", name_from, ROUND_COLOURS["from"]),
                                 ("area_score_to", name_to, ROUND_COLOURS["to"])):
        values = [fmt.display_round(v) for v in list(rows[column]) + [rows[column].iloc[0]]]
        figure.add_trace(go.Scatterpolar(r=values, theta=theta, name=name, mode="lines+markers",
                                         customdata=names, hovertemplate="%{customdata}: %{r}<extra>%{fullData.name}</extra>",
                                         line=dict(color=colour), fill="toself", opacity=0.6))
    figure.update_layout(polar=dict(radialaxis=dict(range=[scale_min, scale_max], dtick=1)))
    _layout(figure, title=title, height=460)
    figure.update_layout(margin=dict(l=90, r=90, t=70, b=40))  # room for the wrapped names left and right
    return figure


# --- one cluster ------------------------------------------------------------------------------


def change_heatmap(frame: pd.DataFrame, *, lang: str, from_round: str, to_round: str) -> go.Figure:
    """Governments (rows) × areas (columns) coloured by change. Columns: government, area, change."""
    t = translator(lang)
    title = t("progress.chart.heatmap", before=t(f"round.{from_round}"), after=t(f"round.{to_round}"))
    rows = frame.dropna(subset=["change"])
    if rows.empty:
        return _empty(lang, title)
    areas = list(dict.fromkeys(rows["area"]))
    governments = list(dict.fromkeys(rows["government"]))
    grid = rows.pivot_table(index="government", columns="area", values="change", aggfunc="mean")
    grid = grid.reindex(index=governments, columns=areas)
    limit = max(1.0, float(rows["change"].abs().max()))
    # Rounded half away from zero, in the language's format: +0.25 shows "+0.3", +0.75 "+0.8".
    text = grid.map(lambda v: "" if pd.isna(v) else fmt.signed(v, lang, 1))
    hover = grid.map(lambda v: "" if pd.isna(v) else fmt.signed(v, lang, 2))
    figure = go.Figure(go.Heatmap(
        z=grid.to_numpy(), x=areas, y=governments, zmin=-limit, zmax=limit, colorscale=DIVERGING,
        text=text.to_numpy(), texttemplate="%{text}", colorbar=dict(title=dict(text=t("progress.axis.change"))),
        customdata=hover.to_numpy(), hovertemplate="%{y}<br>%{x}: %{customdata}<extra></extra>",
    ))
    figure.update_yaxes(autorange="reversed", automargin=True)
    figure.update_xaxes(tickangle=-30, **_wrapped_ticks(areas))
    return _layout(figure, title=title, height=160 + 36 * len(governments))


# --- distributions ----------------------------------------------------------------------------


# Above this many values a distribution is drawn from a summary, not from every value: a box from its
# exact five numbers (outliers once per distinct value), a violin from evenly spaced quantiles, a strip
# from a fixed sample. Thousands of marks are neither readable nor cheap to send and draw.
RAW_POINTS = 400
VIOLIN_QUANTILES = 101
STRIP_SAMPLE = 120  # points per category and colour


def _box_summary(part: pd.DataFrame, x: str, y: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per ``x`` category: q1, median, q3 (linear, as plotly computes them), mean and Tukey fences; and
    the outliers, one row per distinct (category, value) with how many governments share it."""
    rows, outliers = [], []
    for category, values in part.groupby(x, sort=False)[y]:
        v = values.to_numpy(dtype=float)
        q1, median, q3 = (float(q) for q in pd.Series(v).quantile([0.25, 0.5, 0.75]))
        low, high = q1 - 1.5 * (q3 - q1), q3 + 1.5 * (q3 - q1)
        inside = v[(v >= low) & (v <= high)]
        rows.append({x: category, "q1": q1, "median": median, "q3": q3, "mean": float(v.mean()),
                     "lowerfence": float(inside.min()), "upperfence": float(inside.max()), "n": len(v)})
        out = pd.Series(v[(v < low) | (v > high)])
        for value, count in out.value_counts(sort=False).items():
            outliers.append({x: category, y: float(value), "n": int(count)})
    return pd.DataFrame(rows), pd.DataFrame(outliers, columns=[x, y, "n"])


def _spread_quantiles(part: pd.DataFrame, x: str, y: str) -> pd.DataFrame:
    """Per ``x`` category, its values at evenly spaced quantiles: the same shape, a bounded count."""
    out = []
    for category, values in part.groupby(x, sort=False)[y]:
        points = values if len(values) <= VIOLIN_QUANTILES else values.quantile(
            [i / (VIOLIN_QUANTILES - 1) for i in range(VIOLIN_QUANTILES)])
        out.append(pd.DataFrame({x: category, y: points.to_numpy()}))
    return pd.concat(out, ignore_index=True)


def distribution(frame: pd.DataFrame, *, lang: str, x: str, y: str, title: str, x_label: str, y_label: str,
                 color: str | None = None, kind: str = "box",
                 color_names: Mapping[str, str] | None = None) -> go.Figure:
    """Box, violin or strip plot of ``y`` per ``x`` (optionally split by ``color``): the whole spread.

    Up to ``RAW_POINTS`` values every value is sent; above, the chart is drawn from a summary of each
    category (see ``RAW_POINTS``), so a national view draws tens of marks, not thousands.
    """
    rows = frame.dropna(subset=[y])
    if rows.empty:
        return _empty(lang, title)
    summarise = len(rows) > RAW_POINTS
    groups = [(None, rows)] if color is None else list(rows.groupby(color, sort=False))
    figure = go.Figure()
    sampled = False
    for index, (key, part) in enumerate(groups):
        name = None if key is None else (color_names or {}).get(key, str(key))
        colour = CATEGORY_COLOURS[index % 8]
        group = name or "all"
        if summarise and kind == "box":
            stats, outliers = _box_summary(part, x, y)
            figure.add_trace(go.Box(x=stats[x], q1=stats["q1"], median=stats["median"], q3=stats["q3"],
                                    mean=stats["mean"], lowerfence=stats["lowerfence"],
                                    upperfence=stats["upperfence"], name=name, marker=dict(color=colour),
                                    showlegend=key is not None, offsetgroup=group, legendgroup=group,
                                    boxpoints=False))
            if not outliers.empty:
                figure.add_trace(go.Scatter(x=outliers[x], y=outliers[y], mode="markers", name=name,
                                            marker=dict(color=colour, size=6, symbol="circle-open"),
                                            showlegend=False, offsetgroup=group, legendgroup=group,
                                            customdata=outliers["n"],
                                            hovertemplate="%{x}: %{y} (n=%{customdata})<extra></extra>"))
            continue
        if summarise and kind == "violin":
            part = _spread_quantiles(part, x, y)
        elif summarise and kind == "strip":
            thinned = part.sample(frac=1, random_state=0).groupby(x, sort=False).head(STRIP_SAMPLE)
            sampled = sampled or len(thinned) < len(part)
            part = thinned
        common = dict(x=part[x], y=part[y], name=name, marker=dict(color=colour),
                      showlegend=key is not None)
        if kind == "violin":
            figure.add_trace(go.Violin(**common, box_visible=True, points=False))
        elif kind == "strip":
            figure.add_trace(go.Box(**common, boxpoints="all", jitter=0.5, pointpos=0,
                                    fillcolor="rgba(0,0,0,0)", line=dict(color="rgba(0,0,0,0)")))
        else:
            figure.add_trace(go.Box(**common, boxpoints="outliers"))
    if color is not None:
        figure.update_layout(boxmode="group", violinmode="group", scattermode="group")
    figure.add_hline(y=0, line=dict(color="#888888", dash="dot")) if "change" in y else None
    if sampled:
        title = f"{title}<br><sup>{translator(lang)('progress.chart.sampled', n=STRIP_SAMPLE)}</sup>"
    return _layout(figure, title=title, x=x_label, y=y_label)


# --- targets, plans and interventions ---------------------------------------------------------


def target_bars(frame: pd.DataFrame, *, lang: str, to_round: str) -> go.Figure:
    """Share of scored targets met per area. Columns: area, share_met, met, scored, targets."""
    t = translator(lang)
    title = t("progress.chart.targets", round=t(f"round.{to_round}"))
    rows = frame.dropna(subset=["share_met"])
    if rows.empty:
        return _empty(lang, title)
    figure = go.Figure(go.Bar(
        x=rows["share_met"], y=rows["area"], orientation="h", marker=dict(color="#009E73"),
        text=[f"{int(m)}/{int(s)}" for m, s in zip(rows["met"], rows["scored"])], textposition="auto",
        name=t("progress.col.share_met"),
    ))
    figure.update_xaxes(range=[0, 100], ticksuffix="%")
    figure.update_yaxes(autorange="reversed")
    return _layout(figure, title=title, x=t("progress.axis.share_met"), height=140 + 30 * len(rows))


def done_vs_planned(frame: pd.DataFrame, *, lang: str) -> go.Figure:
    """Capacity-plan items and roadmap actions by status, stacked. Columns: kind, status, count."""
    t = translator(lang)
    title = t("progress.chart.done_vs_planned")
    if frame.empty or frame["count"].sum() == 0:
        return _empty(lang, title)
    kinds = [t(f"progress.kind.{k}") for k in dict.fromkeys(frame["kind"])]
    figure = go.Figure()
    for status, colour in STATUS_COLOURS.items():
        part = frame.loc[frame["status"] == status]
        figure.add_trace(go.Bar(y=[t(f"progress.kind.{k}") for k in part["kind"]], x=part["count"],
                                orientation="h", name=t(f"progress.status.{status}"), marker=dict(color=colour),
                                text=part["count"], textposition="inside"))
    figure.update_layout(barmode="stack")
    figure.update_yaxes(categoryorder="array", categoryarray=kinds, autorange="reversed")
    return _layout(figure, title=title, x=t("progress.axis.count"), height=260)


def intervention_effect(frame: pd.DataFrame, *, lang: str) -> go.Figure:
    """Area change where interventions were done or under way versus where none were. Columns: intervened, change."""
    t = translator(lang)
    title = t("progress.chart.interventions")
    if frame.empty:
        return _empty(lang, title)
    labelled = frame.assign(group=frame["intervened"].map(
        {True: t("progress.intervened.yes"), False: t("progress.intervened.no")}))
    return distribution(labelled, lang=lang, x="group", y="change", title=title,
                        x_label=t("progress.axis.intervention"), y_label=t("progress.axis.change"))


# --- portfolio --------------------------------------------------------------------------------


def planned_vs_actual(frame: pd.DataFrame, *, lang: str, x: str, x_label: str, title: str,
                      planned: str = "planned", actual: str = "formed") -> go.Figure:
    """Grouped bars: what the plan foresees next to what exists. Columns: x, planned, actual."""
    t = translator(lang)
    if frame.empty:
        return _empty(lang, title)
    figure = go.Figure([
        go.Bar(x=frame[x], y=frame[planned], name=t("progress.legend.planned"), marker=dict(color="#BBBBBB"),
               text=frame[planned], textposition="outside"),
        go.Bar(x=frame[x], y=frame[actual], name=t("progress.legend.actual"), marker=dict(color="#0072B2"),
               text=frame[actual], textposition="outside"),
    ])
    figure.update_layout(barmode="group")
    figure.update_xaxes(type="category")
    return _layout(figure, title=title, x=x_label, y=t("progress.axis.count"))


def improvement_plans(frame: pd.DataFrame, *, lang: str, milestones: Mapping[str, str]) -> go.Figure:
    """Governments with an improvement plan per level, with each milestone's target as a marker.

    Columns: level (already translated), governments, one column per milestone.
    """
    t = translator(lang)
    title = t("progress.chart.improvement_plans")
    figure = go.Figure(go.Bar(x=frame["level"], y=frame["governments"], name=t("progress.legend.actual"),
                              marker=dict(color="#0072B2"), text=frame["governments"], textposition="outside"))
    symbols = ("line-ew-open", "diamond-open", "star-open")
    for index, (column, name) in enumerate(milestones.items()):
        figure.add_trace(go.Scatter(x=frame["level"], y=frame[column], mode="markers", name=name,
                                    marker=dict(symbol=symbols[index % 3], size=22, line=dict(width=3),
                                                color=CATEGORY_COLOURS[(index + 1) % 8])))
    return _layout(figure, title=title, y=t("progress.axis.governments"))


def audit_stages(frame: pd.DataFrame, *, lang: str) -> go.Figure:
    """QSIP audit cycles by current stage. Columns: stage_name, audits."""
    t = translator(lang)
    title = t("progress.chart.audit_stages")
    if frame.empty or frame["audits"].sum() == 0:
        return _empty(lang, title)
    figure = go.Figure(go.Bar(x=frame["stage_name"], y=frame["audits"], marker=dict(color="#56B4E9"),
                              text=frame["audits"], textposition="outside"))
    return _layout(figure, title=title, y=t("progress.axis.audits"))


# --- QSIP -------------------------------------------------------------------------------------


def qsip_trend(frame: pd.DataFrame, *, lang: str) -> go.Figure:
    """Mean dimension score per cycle, one line per dimension and respondent type.

    Columns: cycle_year, dimension (translated), respondent_type (translated), mean.
    """
    t = translator(lang)
    title = t("progress.chart.qsip_trend")
    rows = frame.dropna(subset=["mean"])
    if rows.empty:
        return _empty(lang, title)
    figure = go.Figure()
    dashes = ("solid", "dash", "dot")
    types = list(dict.fromkeys(rows["respondent_type"]))
    for d_index, (dimension, part) in enumerate(rows.groupby("dimension", sort=False)):
        for r_index, (kind, line) in enumerate(part.groupby("respondent_type", sort=False)):
            figure.add_trace(go.Scatter(
                x=line["cycle_year"], y=line["mean"].map(fmt.display_round), mode="lines+markers",
                name=f"{dimension} · {kind}",
                line=dict(color=CATEGORY_COLOURS[d_index % 8], dash=dashes[types.index(kind) % 3]),
            ))
    figure.update_xaxes(dtick=1)
    figure.update_yaxes(range=[1, 5])
    return _layout(figure, title=title, x=t("progress.axis.cycle"), y=t("progress.axis.rating"), height=420)


def qsip_gap(frame: pd.DataFrame, *, lang: str) -> go.Figure:
    """Provider minus user mean per dimension, one bar group per cycle. Columns: cycle_year, dimension, gap."""
    t = translator(lang)
    title = t("progress.chart.qsip_gap")
    rows = frame.dropna(subset=["gap"])
    if rows.empty:
        return _empty(lang, title)
    figure = go.Figure()
    for index, (cycle, part) in enumerate(rows.groupby("cycle_year", sort=True)):
        figure.add_trace(go.Bar(x=part["dimension"], y=part["gap"].map(fmt.display_round), name=str(cycle),
                                marker=dict(color=CATEGORY_COLOURS[index % 8]),
                                text=[fmt.signed(g, lang) for g in part["gap"]], textposition="outside"))
    figure.update_layout(barmode="group")
    figure.add_hline(y=0, line=dict(color="#888888"))
    return _layout(figure, title=title, y=t("progress.axis.gap"))


def qsip_groups(frame: pd.DataFrame, *, lang: str, by: str, cycle: int | None) -> go.Figure:
    """Mean per dimension and category (sex or indigenous identity). Columns: dimension, <by> (translated), mean."""
    t = translator(lang)
    title = t(f"progress.chart.qsip_{by}", cycle=cycle if cycle is not None else "")
    rows = frame.dropna(subset=["mean"])
    if rows.empty:
        return _empty(lang, title)
    figure = go.Figure()
    for index, (category, part) in enumerate(rows.groupby(by, sort=False)):
        figure.add_trace(go.Bar(x=part["dimension"], y=part["mean"].map(fmt.display_round), name=str(category),
                                showlegend=True,
                                marker=dict(color=CATEGORY_COLOURS[index % 8]),
                                text=[fmt.number(v, lang) for v in part["mean"]], textposition="outside"))
    figure.update_layout(barmode="group")
    figure.update_yaxes(range=[0, 5.5])
    return _layout(figure, title=title, y=t("progress.axis.rating"))


def stacked_bars(frame: pd.DataFrame, *, lang: str, x: str, color: str, y: str, title: str,
                 y_label: str) -> go.Figure:
    """Counts of ``y`` per ``x``, stacked by ``color`` (e.g. governments assessed per round and level)."""
    if frame.empty or frame[y].sum() == 0:
        return _empty(lang, title)
    figure = go.Figure([
        go.Bar(x=part[x], y=part[y], name=str(name), marker=dict(color=CATEGORY_COLOURS[index % 8]),
               text=part[y], textposition="inside")
        for index, (name, part) in enumerate(frame.groupby(color, sort=False))
    ])
    figure.update_layout(barmode="stack")
    return _layout(figure, title=title, y=y_label)


# --- Portafolio as Vega-Lite ------------------------------------------------------------------
# The landing page's bar charts as Vega-Lite specs (a plain dict, drawn by the Vega-Lite bundled with
# Streamlit: about a sixth of plotly.js to load in a new browser tab). Same frames, colours and texts
# as the plotly builders above; every value the chart draws is inline in the spec.

VL_HEIGHT = 300


def _records(frame: pd.DataFrame, columns: Mapping[str, str]) -> list[dict]:
    """Rows of ``frame`` as plain records ({spec field: value}) for a spec's inline data."""
    out = frame.loc[:, list(columns)].rename(columns=dict(columns))
    return [{k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()} for row in out.to_dict("records")]


def _vl(title: str, layers: list[dict], values: list[dict], **extra) -> dict:
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "title": {"text": title, "anchor": "start"},
        "height": VL_HEIGHT,
        "data": {"values": values},
        "config": {"font": "Arial, Helvetica, sans-serif", "legend": {"orient": "bottom", "title": None},
                   "axis": {"gridColor": "#E5E5E5", "domainColor": "#BBBBBB", "labelLimit": 0}},  # 0: never cut
        "layer": layers,
        **extra,
    }


def _vl_empty(lang: str, title: str) -> dict:
    return _vl(title, [{"mark": {"type": "text", "fontSize": 14},
                        "encoding": {"text": {"value": translator(lang)("progress.chart.no_data")}}}],
               [{}])


def vl_planned_vs_actual(frame: pd.DataFrame, *, lang: str, x: str, x_label: str, title: str,
                         planned: str = "planned", actual: str = "formed") -> dict:
    """Grouped bars: what the plan foresees next to what exists. Columns: x, planned, actual."""
    t = translator(lang)
    if frame.empty:
        return _vl_empty(lang, title)
    names = (t("progress.legend.planned"), t("progress.legend.actual"))
    values = [{"x": row[x], "series": name, "n": int(row[column])}
              for row in frame.to_dict("records") for name, column in zip(names, (planned, actual))]
    encoding = {
        "x": {"field": "x", "type": "nominal", "title": x_label, "sort": None, "axis": {"labelAngle": -45}},
        "xOffset": {"field": "series", "sort": list(names)},
        "y": {"field": "n", "type": "quantitative", "title": t("progress.axis.count")},
        "tooltip": [{"field": "x", "title": x_label}, {"field": "series", "title": " "},
                    {"field": "n", "title": t("progress.axis.count")}],
    }
    colour = {"field": "series", "type": "nominal", "sort": list(names),
              "scale": {"domain": list(names), "range": ["#BBBBBB", "#0072B2"]}}
    return _vl(title, [
        {"mark": {"type": "bar"}, "encoding": {**encoding, "color": colour}},
        {"mark": {"type": "text", "dy": -6, "fontSize": 11}, "encoding": {**encoding, "text": {"field": "n"}}},
    ], values)


def vl_stacked_bars(frame: pd.DataFrame, *, lang: str, x: str, color: str, y: str, title: str,
                    y_label: str) -> dict:
    """Counts of ``y`` per ``x``, stacked by ``color`` (e.g. governments assessed per round and level)."""
    if frame.empty or frame[y].sum() == 0:
        return _vl_empty(lang, title)
    values = _records(frame, {x: "x", color: "part", y: "n"})
    order = list(dict.fromkeys(frame[color]))
    encoding = {"x": {"field": "x", "type": "nominal", "title": None, "sort": None, "axis": {"labelAngle": 0}},
                "y": {"field": "n", "type": "quantitative", "title": y_label, "stack": "zero"},
                "order": {"field": "rank"},
                "tooltip": [{"field": "x", "title": " "}, {"field": "part", "title": " "},
                            {"field": "n", "title": y_label}]}
    for record in values:
        record["rank"] = order.index(record["part"])
    return _vl(title, [
        {"mark": {"type": "bar"},
         "encoding": {**encoding, "color": {"field": "part", "type": "nominal", "sort": order,
                                            "scale": {"domain": order,
                                                      "range": [CATEGORY_COLOURS[i % 8] for i in range(len(order))]}}}},
        {"mark": {"type": "text", "color": "white", "dy": 12, "fontSize": 11},
         "encoding": {**encoding, "text": {"field": "n"}}},
    ], values)


def vl_improvement_plans(frame: pd.DataFrame, *, lang: str, milestones: Mapping[str, str]) -> dict:
    """Governments with an improvement plan per level, each milestone's target as a marker.

    Columns: level (already translated), governments, one column per milestone.
    """
    t = translator(lang)
    title = t("progress.chart.improvement_plans")
    if frame.empty:
        return _vl_empty(lang, title)
    actual = t("progress.legend.actual")
    values = [{"level": row["level"], "series": actual, "n": int(row["governments"]), "bar": True}
              for row in frame.to_dict("records")]
    values += [{"level": row["level"], "series": name, "n": row[column], "bar": False}
               for row in frame.to_dict("records") for column, name in milestones.items()]
    series = [actual, *milestones.values()]
    x = {"field": "level", "type": "nominal", "title": None, "sort": None, "axis": {"labelAngle": 0}}
    y = {"field": "n", "type": "quantitative", "title": t("progress.axis.governments")}
    colour = {"field": "series", "type": "nominal", "sort": series,
              "scale": {"domain": series, "range": [CATEGORY_COLOURS[i % 8] for i in range(len(series))]}}
    tooltip = [{"field": "level", "title": " "}, {"field": "series", "title": " "},
               {"field": "n", "title": t("progress.axis.governments")}]
    return _vl(title, [
        {"transform": [{"filter": "datum.bar"}], "mark": {"type": "bar"},
         "encoding": {"x": x, "y": y, "color": colour, "tooltip": tooltip}},
        {"transform": [{"filter": "datum.bar"}], "mark": {"type": "text", "dy": -6, "fontSize": 11},
         "encoding": {"x": x, "y": y, "text": {"field": "n"}}},
        {"transform": [{"filter": "!datum.bar"}], "mark": {"type": "point", "size": 260, "strokeWidth": 3},
         "encoding": {"x": x, "y": y, "color": colour, "shape": {"field": "series", "sort": series,
                                                                 "scale": {"domain": series,
                                                                           "range": ["square", "stroke", "diamond",
                                                                                     "cross"]}},
                      "tooltip": tooltip}},
    ], values, resolve={"scale": {"color": "shared"}})


def vl_audit_stages(frame: pd.DataFrame, *, lang: str) -> dict:
    """QSIP audit cycles by current stage. Columns: stage_name, audits."""
    t = translator(lang)
    title = t("progress.chart.audit_stages")
    if frame.empty or frame["audits"].sum() == 0:
        return _vl_empty(lang, title)
    values = _records(frame, {"stage_name": "stage", "audits": "n"})
    x = {"field": "stage", "type": "nominal", "title": None, "sort": None, "axis": {"labelAngle": -30}}
    y = {"field": "n", "type": "quantitative", "title": t("progress.axis.audits")}
    return _vl(title, [
        {"mark": {"type": "bar", "color": "#56B4E9"},
         "encoding": {"x": x, "y": y, "tooltip": [{"field": "stage", "title": " "},
                                                  {"field": "n", "title": t("progress.axis.audits")}]}},
        {"mark": {"type": "text", "dy": -6, "fontSize": 11}, "encoding": {"x": x, "y": y, "text": {"field": "n"}}},
    ], values)


def vl_target_bars(frame: pd.DataFrame, *, lang: str, to_round: str) -> dict:
    """Share of scored targets met per area, as Vega-Lite. Columns: area, share_met, met, scored, targets."""
    t = translator(lang)
    title = t("progress.chart.targets", round=t(f"round.{to_round}"))
    rows = frame.dropna(subset=["share_met"])
    if rows.empty:
        return _vl_empty(lang, title)
    values = [{"area": r["area"], "share": float(r["share_met"]),
               "share_text": fmt.percent(r["share_met"], lang),
               "label": f"{fmt.integer(r['met'], lang)}/{fmt.integer(r['scored'], lang)}"}
              for r in rows.to_dict("records")]
    y = {"field": "area", "type": "nominal", "title": None, "sort": None, "axis": {"labelLimit": 0}}
    x = {"field": "share", "type": "quantitative", "title": t("progress.axis.share_met"),
         "scale": {"domain": [0, 100]}, "axis": {"labelExpr": "datum.value + '%'"}}
    spec = _vl(title, [
        {"mark": {"type": "bar", "color": "#009E73"},
         "encoding": {"x": x, "y": y, "tooltip": [{"field": "area", "title": " "},
                                                  {"field": "share_text", "title": t("progress.col.share_met")},
                                                  {"field": "label", "title": " "}]}},
        {"mark": {"type": "text", "align": "left", "dx": 4, "fontSize": 11},
         "encoding": {"x": x, "y": y, "text": {"field": "label"}}},
    ], values)
    spec["height"] = max(120, 30 * len(rows))
    return spec
