"""Plan versus formed: the plan's defaults per department and wave against the clusters formed, and editing the plan."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from assessments import cluster_plan
from assessments.clusters import ClusterInput, create_cluster
from assessments.errors import PermissionDenied, ValidationFailed
from assessments.access import Actor
from db.engine import write_session
from db.models import ClusterPlan


def make_cluster(actor, name, department, wave):
    with write_session() as s:
        create_cluster(session=s, actor=actor, data=ClusterInput(name=name, department_code=department, wave=wave,
                                                                 sectors=["health"], government_ubigeos=[department]))


def test_the_default_plan_is_16_clusters_in_waves_of_6_5_5(session, actor):
    frame = cluster_plan.plan_vs_formed()
    per_department = frame.groupby("department")["planned"].sum().to_dict()
    assert per_department == {"Amazonas": 3, "Loreto": 3, "San Martín": 4, "Ucayali": 3, "Madre de Dios": 3}
    totals = cluster_plan.plan_totals(frame)
    assert totals.to_dict("list") == {"wave": [1, 2, 3, 0], "planned": [6, 5, 5, 16], "formed": [0, 0, 0, 0]}


def test_formed_clusters_are_counted_per_department_and_wave(session, actor):
    make_cluster(actor, "Lamas", "22", 1)
    make_cluster(actor, "Moyobamba", "22", 1)
    make_cluster(actor, "Mariscal Cáceres", "22", 2)
    make_cluster(actor, "Cusco", "08", 1)  # outside the plan: shows with planned 0
    frame = cluster_plan.plan_vs_formed().set_index(["department_code", "wave"])
    assert frame.loc[("22", 1), ["planned", "formed", "gap"]].tolist() == [2, 2, 0]
    assert frame.loc[("22", 2), ["planned", "formed", "gap"]].tolist() == [1, 1, 0]
    assert frame.loc[("22", 3), ["planned", "formed", "gap"]].tolist() == [1, 0, -1]
    assert frame.loc[("08", 1), ["planned", "formed", "gap"]].tolist() == [0, 1, 1]
    table = cluster_plan.plan_table(cluster_plan.plan_vs_formed()).set_index("department_code")
    assert table.loc["22", ["wave_1", "wave_2", "wave_3", "total", "gap"]].tolist() == ["2 / 2", "1 / 1", "0 / 1",
                                                                                       "3 / 4", -1]


def test_the_chart_shows_planned_and_formed_per_department(session, actor):
    make_cluster(actor, "Lamas", "22", 1)
    figure = cluster_plan.plan_vs_formed_chart(cluster_plan.plan_vs_formed(), lang="en")
    planned, formed = figure.data
    assert (planned.name, formed.name) == ("Planned", "Formed")
    assert dict(zip(formed.x, formed.y))["San Martín"] == 1
    assert dict(zip(planned.x, planned.y))["San Martín"] == 4
    assert figure.layout.title.text == "Clusters planned and formed per department"
    spanish = cluster_plan.plan_vs_formed_chart(cluster_plan.plan_vs_formed(), lang="es")
    assert spanish.data[0].name == "Previstos"


def test_planned_numbers_can_be_edited_all_or_nothing(session, actor):
    with write_session() as s:
        assert cluster_plan.apply_plan_edits(session=s, actor=actor, edits=[("01", 2, 2), ("01", 3, 1)]) == 1
    with pytest.raises(ValidationFailed) as error:
        with write_session() as s:
            cluster_plan.apply_plan_edits(session=s, actor=actor, edits=[("16", 1, 2), ("16", 2, "dos")])
    assert error.value.key == "clusterplan.bad_planned"
    frame = cluster_plan.plan_vs_formed().set_index(["department_code", "wave"])
    assert frame.loc[("01", 2), "planned"] == 2
    assert frame.loc[("16", 1), "planned"] == 1  # the valid edit of the failed batch was not kept


@pytest.mark.parametrize(("wave", "planned", "key"), [
    (0, 1, "clusterplan.bad_wave"), ("x", 1, "clusterplan.bad_wave"), (1, -1, "clusterplan.bad_planned"),
    (1, 1.5, "clusterplan.bad_planned"), (1, 99, "clusterplan.bad_planned"),
])
def test_bad_plan_numbers_are_refused(session, actor, wave, planned, key):
    with pytest.raises(ValidationFailed) as error:
        with write_session() as s:
            cluster_plan.set_planned(session=s, actor=actor, department_code="01", wave=wave, planned=planned)
    assert error.value.key == key


def test_a_new_wave_can_be_planned_and_only_managers_edit(session, actor):
    with write_session() as s:
        cluster_plan.set_planned(session=s, actor=actor, department_code="25", wave=4, planned="1")
    session.rollback()
    assert session.execute(sa.select(ClusterPlan.planned).where(ClusterPlan.department_code == "25",
                                                                ClusterPlan.wave == 4)).scalar_one() == 1
    with pytest.raises(PermissionDenied):
        with write_session() as s:
            cluster_plan.set_planned(session=s, actor=Actor(username="f", role="facilitator"), department_code="25",
                                     wave=1, planned=2)
