"""Printable one-page result sheets per government and per cluster, and their self-contained HTML.

The HTML escapes every text (names come from users) and embeds plotly.js inline, so the file opens
and prints (or saves as PDF) on a laptop with no internet, in Spanish or English.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import date

import pandas as pd
import plotly.graph_objects as go

from assessments import charts, progress
from assessments import formatting as fmt
from assessments.i18n import translate_plural, translator
from db.queries import progress as q
from db.queries import registry

PRINT_CSS = """
@page { size: A4; margin: 12mm; }
body { font-family: Arial, Helvetica, sans-serif; color: #111; margin: 0 auto; max-width: 190mm; }
h1 { font-size: 20pt; margin: 0 0 2mm 0; }
h2 { font-size: 13pt; margin: 5mm 0 2mm 0; border-bottom: 1px solid #999; }
p.meta { margin: 0 0 1mm 0; color: #333; }
table { border-collapse: collapse; width: 100%; font-size: 9.5pt; }
th, td { border: 1px solid #bbb; padding: 1mm 2mm; text-align: left; }
td.n { text-align: right; }
.figure { page-break-inside: avoid; }
footer { margin-top: 4mm; font-size: 8pt; color: #555; }
"""


@dataclass(frozen=True)
class GovernmentSheet:
    filters: progress.Filters
    government: dict
    capacity: dict
    areas: pd.DataFrame  # area_code, area_score_from, area_score_to, change, n_comparable, n_not_comparable, target, met
    plan_status: pd.DataFrame  # status, count
    clusters: list[str]
    area_labels: pd.DataFrame


@dataclass(frozen=True)
class ClusterSheet:
    filters: progress.Filters
    cluster: dict
    members: pd.DataFrame  # government, level, capacity_index_from, capacity_index_to, change
    heatmap: pd.DataFrame  # government, area_code, change
    plan_status: pd.DataFrame  # kind, status, count
    qsip_gap: pd.DataFrame  # dimension, mean_provider, mean_user, gap (latest cycle)
    qsip_cycle: int | None
    area_labels: pd.DataFrame


def government_sheet(government_id: str, from_round: str = "baseline", to_round: str = "midpoint") -> GovernmentSheet | None:
    """What a government's sheet shows (None when it has no validated assessment)."""
    filters = progress.Filters(from_round=from_round, to_round=to_round, government_id=str(government_id))
    view = progress.government_view(filters, government_id)
    if view is None:
        return None
    targets = view.targets.loc[:, ["area_code", "target", "met"]] if not view.targets.empty else pd.DataFrame(
        columns=["area_code", "target", "met"])
    areas = view.areas.merge(targets, on="area_code", how="left")
    items = q.plan_items(filters)
    status = items.groupby("status")["items"].sum() if not items.empty else pd.Series(dtype="int64")
    plan_status = pd.DataFrame({"status": list(progress.STATUSES),
                                "count": [int(status.get(s, 0)) for s in progress.STATUSES]})
    memberships = q.clusters_of_government(str(government_id))
    return GovernmentSheet(filters=filters, government=view.government, capacity=view.capacity, areas=areas,
                           plan_status=plan_status, clusters=memberships, area_labels=view.area_labels)


def cluster_sheet(cluster_id: str, from_round: str = "baseline", to_round: str = "midpoint") -> ClusterSheet | None:
    """What a cluster's sheet shows (None when the cluster does not exist)."""
    import uuid

    cluster = registry.cluster_row(uuid.UUID(str(cluster_id)))
    if cluster is None:
        return None
    filters = progress.Filters(cluster_id=str(cluster_id), from_round=from_round, to_round=to_round)
    view = progress.progress_view(filters)
    members = registry.cluster_members(uuid.UUID(str(cluster_id)))[["id", "name", "level"]].rename(
        columns={"id": "government_id", "name": "government"})
    members["government_id"] = members["government_id"].map(str)
    members = members.merge(view.governments[["government_id", "capacity_index_from", "capacity_index_to", "change"]],
                            on="government_id", how="left")
    names = dict(zip(members["government_id"], members["government"]))
    heatmap = view.areas.assign(government=view.areas["government_id"].map(names))
    qsip = progress.qsip_view(filters)
    gap = qsip.gap.loc[qsip.gap["cycle_year"] == qsip.latest_cycle] if qsip.latest_cycle else qsip.gap
    cluster = {**cluster, "department": q.department_name(cluster["department_code"])}
    return ClusterSheet(filters=filters, cluster=cluster, members=members, heatmap=heatmap,
                        plan_status=view.plan_status, qsip_gap=gap.reset_index(drop=True),
                        qsip_cycle=qsip.latest_cycle, area_labels=view.area_labels)


# --- rendering --------------------------------------------------------------------------------


def _number(value, lang: str) -> str:
    """A score as the language writes it, rounded half away from zero (3.125 → "3.13"); "—" if missing."""
    return fmt.number(value, lang)


def _signed(value, lang: str) -> str:
    """A change with its sign ("+0.55"), rounded half away from zero; "—" if missing."""
    return fmt.signed(value, lang)


def government_tables(sheet: GovernmentSheet, lang: str) -> dict[str, pd.DataFrame]:
    """The sheet's tables with translated headers and values (shared by the page and the HTML file)."""
    t = translator(lang)
    names = progress.area_label(sheet.area_labels, lang)
    before, after = t(f"round.{sheet.filters.from_round}"), t(f"round.{sheet.filters.to_round}")
    areas = pd.DataFrame({
        t("progress.col.area"): sheet.areas["area_code"].map(lambda c: names.get(c, c)),
        t("progress.col.score_round", round=before): sheet.areas["area_score_from"].map(lambda v: _number(v, lang)),
        t("progress.col.score_round", round=after): sheet.areas["area_score_to"].map(lambda v: _number(v, lang)),
        t("progress.col.change"): sheet.areas["change"].map(lambda v: _signed(v, lang)),
        t("progress.col.target"): sheet.areas["target"].map(lambda v: _number(v, lang)),
        t("progress.col.met"): sheet.areas["met"].map(
            lambda v: "—" if v is None or v is pd.NA or v != v else (t("progress.yes") if v else t("progress.no"))),
    })
    plan = pd.DataFrame({
        t("progress.col.status"): sheet.plan_status["status"].map(lambda s: t(f"progress.status.{s}")),
        t("progress.col.count"): sheet.plan_status["count"].map(lambda v: fmt.integer(v, lang)),
    })
    return {"areas": areas, "plan": plan}


def cluster_tables(sheet: ClusterSheet, lang: str) -> dict[str, pd.DataFrame]:
    t = translator(lang)
    before, after = t(f"round.{sheet.filters.from_round}"), t(f"round.{sheet.filters.to_round}")
    members = pd.DataFrame({
        t("common.government"): sheet.members["government"],
        t("common.level"): sheet.members["level"].map(lambda v: t(f"level.{v}")),
        t("progress.col.index_round", round=before): sheet.members["capacity_index_from"].map(lambda v: _number(v, lang)),
        t("progress.col.index_round", round=after): sheet.members["capacity_index_to"].map(lambda v: _number(v, lang)),
        t("progress.col.change"): sheet.members["change"].map(lambda v: _signed(v, lang)),
    })
    plan = sheet.plan_status.pivot(index="status", columns="kind", values="count").reindex(list(progress.STATUSES))
    plan = pd.DataFrame({
        t("progress.col.status"): [t(f"progress.status.{s}") for s in plan.index],
        t("progress.kind.plan_items"): plan["plan_items"].map(lambda v: fmt.integer(v, lang)).to_numpy(),
        t("progress.kind.roadmap_actions"): plan["roadmap_actions"].map(lambda v: fmt.integer(v, lang)).to_numpy(),
    })
    qsip = pd.DataFrame({
        t("progress.col.dimension"): sheet.qsip_gap["dimension"].map(lambda d: t(f"progress.dimension.{d}")),
        t("progress.col.mean_user"): sheet.qsip_gap["mean_user"].map(lambda v: _number(v, lang)),
        t("progress.col.mean_provider"): sheet.qsip_gap["mean_provider"].map(lambda v: _number(v, lang)),
        t("progress.col.gap"): sheet.qsip_gap["gap"].map(lambda v: _signed(v, lang)),
    })
    return {"members": members, "plan": plan, "qsip": qsip}


def government_figure(sheet: GovernmentSheet, lang: str) -> go.Figure:
    names = progress.area_label(sheet.area_labels, lang)
    areas = sheet.areas.assign(area=sheet.areas["area_code"].map(lambda c: names.get(c, c)))
    return charts.dumbbell(areas, lang=lang, from_round=sheet.filters.from_round, to_round=sheet.filters.to_round)


def cluster_figure(sheet: ClusterSheet, lang: str) -> go.Figure:
    names = progress.area_label(sheet.area_labels, lang)
    heat = sheet.heatmap.assign(area=sheet.heatmap["area_code"].map(lambda c: names.get(c, c)))
    return charts.change_heatmap(heat, lang=lang, from_round=sheet.filters.from_round,
                                 to_round=sheet.filters.to_round)


def government_facts(sheet: GovernmentSheet, lang: str) -> list[str]:
    t = translator(lang)
    g = sheet.government
    return [
        t("progress.sheet.government_meta", level=t(f"level.{g['level']}"), department=g["department"],
          ubigeo=g["ubigeo"]),
        translate_plural("progress_format.sheet_clusters", len(sheet.clusters), lang,
                         clusters=", ".join(sheet.clusters) or "—"),
        t("progress.sheet.index", before=t(f"round.{sheet.filters.from_round}"),
          after=t(f"round.{sheet.filters.to_round}"), a=_number(sheet.capacity.get("capacity_index_from"), lang),
          b=_number(sheet.capacity.get("capacity_index_to"), lang),
          change=_signed(sheet.capacity.get("change"), lang)),
    ]


def cluster_facts(sheet: ClusterSheet, lang: str) -> list[str]:
    t = translator(lang)
    c = sheet.cluster
    sectors = ", ".join(t(f"sector.{s}") for s in c.get("sectors", [])) or "—"
    return [translate_plural("progress_format.sheet_cluster_meta", len(sheet.members), lang,
                             department=c["department"], wave=c["wave"], sectors=sectors)]


def _table_html(frame: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>"
        for row in frame.itertuples(index=False)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def sheet_html(sheet: GovernmentSheet | ClusterSheet, lang: str, *, today: date | None = None) -> str:
    """A self-contained, printable HTML page (escaped text, plotly.js inline, no external resource)."""
    t = translator(lang)
    if isinstance(sheet, GovernmentSheet):
        title = sheet.government["government"]
        kind = t("progress.sheet.kind_government")
        facts = government_facts(sheet, lang)
        tables = government_tables(sheet, lang)
        sections = [(t("progress.sheet.areas"), tables["areas"]), (t("progress.sheet.plan"), tables["plan"])]
        figure = government_figure(sheet, lang)
    else:
        title = sheet.cluster["name"]
        kind = t("progress.sheet.kind_cluster")
        facts = cluster_facts(sheet, lang)
        tables = cluster_tables(sheet, lang)
        sections = [(t("progress.sheet.members"), tables["members"]), (t("progress.sheet.plan"), tables["plan"]),
                    (t("progress.sheet.qsip", cycle=sheet.qsip_cycle or "—"), tables["qsip"])]
        figure = cluster_figure(sheet, lang)
    figure.update_layout(width=700, height=min(figure.layout.height or 420, 520))
    chart = figure.to_html(full_html=False, include_plotlyjs=True, config={"displayModeBar": False})
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{html.escape(lang)}"><head><meta charset="utf-8">',
        f"<title>{html.escape(kind)} · {html.escape(str(title))}</title>",
        f"<style>{PRINT_CSS}</style></head><body>",
        f"<p class='meta'>{html.escape(kind)}</p>",
        f"<h1>{html.escape(str(title))}</h1>",
        *[f"<p class='meta'>{html.escape(fact)}</p>" for fact in facts],
        f"<div class='figure'>{chart}</div>",
    ]
    for heading, frame in sections:
        parts.append(f"<h2>{html.escape(heading)}</h2>{_table_html(frame)}")
    stamp = fmt.date(today or fmt.today(), lang)
    parts.append(f"<footer>{html.escape(t('progress.sheet.footer', date=stamp))}</footer></body></html>")
    return "\n".join(parts)
