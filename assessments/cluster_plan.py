"""The plan against reality: clusters planned per department and wave (ClusterPlan) versus clusters formed."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import sqlalchemy as sa
from sqlmodel import Session

from assessments.access import Actor, require
from assessments.errors import ValidationFailed
from assessments.i18n import translator
from db.audit import record
from db.engine import read_session
from db.identity import cluster_plan_id
from db.models import Cluster, ClusterPlan, Department

PLAN_COLUMNS = ["department_code", "department", "wave", "planned", "formed", "gap"]
MAX_PLANNED = 50


def plan_vs_formed() -> pd.DataFrame:
    """One row per department × wave that has a plan or a cluster: planned, formed, gap (formed − planned).

    Departments and waves come from either side, so a cluster formed outside the plan shows as
    planned 0, and a planned wave with no cluster yet as formed 0.
    """
    with read_session() as session:
        planned = session.execute(
            sa.select(ClusterPlan.department_code, ClusterPlan.wave, ClusterPlan.planned)).all()
        formed = session.execute(
            sa.select(Cluster.department_code, Cluster.wave, sa.func.count())
            .group_by(Cluster.department_code, Cluster.wave)).all()
        names = dict(session.execute(sa.select(Department.code, Department.name)).all())
    plan = pd.DataFrame(planned, columns=["department_code", "wave", "planned"])
    done = pd.DataFrame(formed, columns=["department_code", "wave", "formed"])
    frame = plan.merge(done, on=["department_code", "wave"], how="outer")
    frame[["planned", "formed"]] = frame[["planned", "formed"]].fillna(0).astype("int64")
    frame["wave"] = frame["wave"].astype("int64")
    frame["department"] = frame["department_code"].map(names)
    frame["gap"] = frame["formed"] - frame["planned"]
    frame = frame.sort_values(["department", "wave"], ignore_index=True)
    return frame[PLAN_COLUMNS]


def plan_totals(frame: pd.DataFrame) -> pd.DataFrame:
    """Totals per wave (planned, formed) across departments, plus a last row for the whole program (wave 0)."""
    per_wave = frame.groupby("wave", as_index=False)[["planned", "formed"]].sum()
    total = pd.DataFrame({"wave": [0], "planned": [per_wave["planned"].sum()], "formed": [per_wave["formed"].sum()]})
    return pd.concat([per_wave, total], ignore_index=True).astype("int64")


def set_planned(*, session: Session, actor: Actor, department_code: str, wave: object, planned: object) -> ClusterPlan:
    """Set how many clusters the plan foresees for a department in a wave (0 allowed)."""
    require(actor, "cluster.write")
    return _set_planned(session, actor, department_code, wave, planned)[0]


def _set_planned(session: Session, actor: Actor, department_code: str, wave: object,
                 planned: object) -> tuple[ClusterPlan, bool]:
    if not department_code or session.get(Department, department_code) is None:
        raise ValidationFailed("clusterplan.unknown_department", code=department_code)
    numbers = {}
    for name, value, key in (("wave", wave, "clusterplan.bad_wave"), ("planned", planned, "clusterplan.bad_planned")):
        try:
            if isinstance(value, bool):
                raise TypeError
            number = float(str(value).strip()) if isinstance(value, str) else float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise ValidationFailed(key, value=value) from None
        if number != int(number):
            raise ValidationFailed(key, value=value)
        numbers[name] = int(number)
    if numbers["wave"] < 1:
        raise ValidationFailed("clusterplan.bad_wave", value=wave)
    if not 0 <= numbers["planned"] <= MAX_PLANNED:
        raise ValidationFailed("clusterplan.bad_planned", value=planned)
    row = session.execute(sa.select(ClusterPlan).where(ClusterPlan.department_code == department_code,
                                                       ClusterPlan.wave == numbers["wave"])).scalar()
    if row is None:
        row = ClusterPlan(id=cluster_plan_id(department_code, numbers["wave"]), department_code=department_code,
                          wave=numbers["wave"], planned=numbers["planned"])
        session.add(row)
        session.flush()
        record(session, actor, "create", "cluster_plan", row.id, after=row)
        return row, True
    if row.planned != numbers["planned"]:
        before = row.model_dump()
        row.planned = numbers["planned"]
        session.add(row)
        session.flush()
        record(session, actor, "update", "cluster_plan", row.id, before=before, after=row.model_dump())
        return row, True
    return row, False


def plan_vs_formed_chart(frame: pd.DataFrame, *, lang: str) -> go.Figure:
    """Grouped bars per department: planned and formed clusters, one bar segment per wave."""
    t = translator(lang)
    per_department = frame.groupby("department", as_index=False, sort=True)[["planned", "formed"]].sum()
    figure = go.Figure()
    figure.add_bar(name=t("clusterplan.planned"), x=per_department["department"], y=per_department["planned"],
                   marker_color="#b0bec5", text=per_department["planned"], textposition="outside")
    figure.add_bar(name=t("clusterplan.formed"), x=per_department["department"], y=per_department["formed"],
                   marker_color="#1565c0", text=per_department["formed"], textposition="outside")
    figure.update_layout(barmode="group", title=t("clusterplan.chart_title"), xaxis_title=t("common.department"),
                         yaxis_title=t("clusterplan.axis_clusters"), legend_title_text="", height=360,
                         margin={"t": 60, "b": 40, "l": 40, "r": 10})
    figure.update_yaxes(rangemode="tozero", dtick=1)
    return figure


def plan_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Department × wave as "formed / planned" text, one column per wave plus the total: for display and CSV."""
    waves = sorted(frame["wave"].unique()) if not frame.empty else []
    rows = []
    for (code, name), group in frame.groupby(["department_code", "department"], sort=False):
        by_wave = group.set_index("wave")
        row = {"department_code": code, "department": name}
        for wave in waves:
            if wave in by_wave.index:
                row[f"wave_{wave}"] = f"{by_wave.at[wave, 'formed']} / {by_wave.at[wave, 'planned']}"
            else:
                row[f"wave_{wave}"] = "0 / 0"
        row["total"] = f"{group['formed'].sum()} / {group['planned'].sum()}"
        row["gap"] = int(group["formed"].sum() - group["planned"].sum())
        rows.append(row)
    return pd.DataFrame(rows, columns=["department_code", "department", *[f"wave_{w}" for w in waves], "total", "gap"])


def apply_plan_edits(*, session: Session, actor: Actor, edits: list[tuple[str, object, object]]) -> int:
    """Several (department_code, wave, planned) edits in one transaction: all valid or nothing saved."""
    require(actor, "cluster.write")
    changed = 0
    for department_code, wave, planned in edits:
        changed += int(_set_planned(session, actor, department_code, wave, planned)[1])
    return changed
