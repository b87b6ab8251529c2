"""Cluster selection: default criteria, pre-filled registry facts, weighted ranking, the cluster it creates, bad input."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from assessments import selection
from assessments.access import Actor
from assessments.errors import PermissionDenied, ValidationFailed
from db.engine import write_session
from db.models import (
    AuditEvent,
    Cluster,
    SelectionCandidate,
    SelectionCriterion,
    SelectionRecord,
    SelectionScore,
)
from db.queries import registry

MADRE_DE_DIOS = "17"  # provinces 1701 Tambopata, 1702 Manu, 1703 Tahuamanu


def n_rows(session, model) -> int:
    session.rollback()  # end the previous read so this one sees the latest commit (SQLite WAL snapshot)
    return session.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()


def new_record(actor, department="17", **kwargs):
    with write_session() as s:
        return selection.create_record(session=s, actor=actor, department_code=department, wave=1, **kwargs)


def cell_ids(record_id):
    """(ubigeo, criterion code) → (candidate_id, criterion_id)."""
    cells = selection.scores(record_id)
    return {(r["ubigeo"], r["code"]): (r["candidate_id"], r["criterion_id"]) for r in cells.to_dict("records")}


def score(actor, record_id, values: dict, evidence: dict | None = None):
    ids = cell_ids(record_id)
    edits = [selection.ScoreEdit(*ids[key], score=value, evidence=(evidence or {}).get(key)) for key, value in values.items()]
    with write_session() as s:
        return selection.apply_score_edits(session=s, actor=actor, record_id=record_id, edits=edits)


def set_weights(actor, record_id, weights: dict):
    frame = selection.criteria(record_id)
    ids = dict(zip(frame["code"], frame["id"]))
    with write_session() as s:
        return selection.apply_criterion_edits(
            session=s, actor=actor, record_id=record_id,
            edits=[selection.CriterionEdit(criterion_id=ids[c], weight=w) for c, w in weights.items()])


def test_a_province_record_starts_with_the_plans_criteria_and_every_province(session, actor):
    record = new_record(actor)
    assert list(selection.criteria(record.id)["code"]) == list(selection.PROVINCE_CRITERIA)
    assert set(selection.criteria(record.id)["weight"]) == {1.0}
    candidates = selection.candidates(record.id)
    assert list(candidates["ubigeo"]) == ["1701", "1702", "1703"]
    # districts per province straight from the registry (Tambopata 4, Manu 4, Tahuamanu 3)
    assert list(candidates["n_districts"]) == [4, 4, 3]
    assert selection.criteria(record.id)["name_en"].iloc[0] == "Population density"
    assert selection.criteria(record.id)["name_es"].iloc[0] == "Densidad poblacional"


def test_a_district_record_uses_the_district_criteria_and_the_provinces_districts(session, actor):
    parent = new_record(actor)
    record = new_record(actor, scope="district", province_code="1701", parent_id=parent.id)
    assert list(selection.criteria(record.id)["code"]) == list(selection.DISTRICT_CRITERIA)
    assert "connectivity" in set(selection.criteria(record.id)["code"])
    assert "midis_p20" not in set(selection.criteria(record.id)["code"])
    assert list(selection.candidates(record.id)["ubigeo"]) == ["170101", "170102", "170103", "170104"]
    assert n_rows(session, SelectionScore) == 3  # only the parent's P20 facts


def test_p20_provinces_are_prescored_at_the_top_of_the_scale_with_evidence(session, actor):
    record = new_record(actor, department="01", scale_min=0, scale_max=10)
    cells = selection.scores(record.id)
    p20 = cells[cells["code"] == "midis_p20"].set_index("ubigeo")
    assert p20.loc["0104", "score"] == 10.0  # Condorcanqui, in the pilot
    assert "P20" in p20.loc["0104", "evidence"]
    assert p20.loc["0101", "score"] == 0.0  # Chachapoyas, not in the pilot
    assert "Condorcanqui" in p20.loc["0101", "evidence"]
    other = cells[cells["code"] != "midis_p20"]
    assert other["score"].isna().all()
    assert list(selection.candidates(record.id).query("p20")["ubigeo"]) == ["0104"]


def test_ranking_is_the_weighted_mean_of_the_criteria_scored(session, actor):
    record = new_record(actor)
    set_weights(actor, record.id, {"population_density": 2, "service_gaps": 1, "rights_harm": 0, "political_will": 0,
                                   "travel_security": 0, "associations": 0, "midis_p20": 0})
    score(actor, record.id, {("1701", "population_density"): 4, ("1701", "service_gaps"): 2,
                             ("1702", "population_density"): 3, ("1702", "service_gaps"): 5,
                             ("1703", "population_density"): 5})
    ranking = selection.ranking(record.id)
    # Tahuamanu (2×5)/2 = 5.0; Manu (2×3 + 5)/3 = 3.667; Tambopata (2×4 + 2)/3 = 3.333
    assert list(ranking["ubigeo"]) == ["1703", "1702", "1701"]
    assert ranking["total"].round(3).tolist() == [5.0, 3.667, 3.333]
    assert ranking["rank"].tolist() == [1, 2, 3]
    assert ranking["n_scored"].tolist() == [1, 2, 2]
    assert ranking["n_missing"].tolist() == [1, 0, 0]


def test_ties_share_a_rank_and_unscored_candidates_go_last(session, actor):
    record = new_record(actor)
    set_weights(actor, record.id, {"midis_p20": 0})
    score(actor, record.id, {("1701", "political_will"): 4, ("1702", "political_will"): 4})
    ranking = selection.ranking(record.id)
    assert list(ranking["ubigeo"]) == ["1701", "1702", "1703"]
    assert ranking["rank"].tolist()[:2] == [1, 1]
    assert pd_isna(ranking["total"].iloc[2]) and pd_isna(ranking["rank"].iloc[2])


def pd_isna(value) -> bool:
    import pandas as pd

    return bool(pd.isna(value))


def test_a_score_outside_the_scale_saves_nothing_and_names_the_cell(session, actor):
    record = new_record(actor)
    before = n_rows(session, SelectionScore)
    with pytest.raises(ValidationFailed, match="Manu") as error:
        score(actor, record.id, {("1701", "population_density"): 4, ("1702", "service_gaps"): 7})
    assert error.value.key == "selection.score_off_scale_named"
    assert "entre 1 y 5" in error.value.message("es")
    assert n_rows(session, SelectionScore) == before


def test_a_score_that_is_not_a_number_is_refused(session, actor):
    record = new_record(actor)
    with pytest.raises(ValidationFailed) as error:
        score(actor, record.id, {("1701", "population_density"): "alto"})
    assert error.value.key == "selection.score_not_number_named"
    assert "«alto»" in error.value.message("es")


def test_a_weight_that_is_not_a_number_changes_no_weight(session, actor):
    record = new_record(actor)
    with pytest.raises(ValidationFailed) as error:
        set_weights(actor, record.id, {"population_density": 3, "service_gaps": "dos"})
    assert error.value.key == "selection.weight_not_number_named"
    assert "Brechas" in error.value.message("es") and "«dos»" in error.value.message("es")
    assert set(selection.criteria(record.id)["weight"]) == {1.0}
    with pytest.raises(ValidationFailed, match="negative"):
        set_weights(actor, record.id, {"population_density": -1})


def test_weights_accept_a_decimal_comma_and_are_audited(session, actor):
    record = new_record(actor)
    assert set_weights(actor, record.id, {"population_density": "1,5"}) == 1
    assert selection.criteria(record.id).set_index("code").loc["population_density", "weight"] == 1.5
    event = session.execute(sa.select(AuditEvent).where(AuditEvent.entity == "selection_criterion")).scalar_one()
    assert json.loads(event.before_json)["weight"] == 1.0 and json.loads(event.after_json)["weight"] == 1.5


def test_evidence_is_kept_with_its_score_and_a_cleared_cell_deletes_both(session, actor):
    record = new_record(actor)
    key = ("1702", "travel_security")
    score(actor, record.id, {key: 3}, evidence={key: "  Consulta a la policía  "})
    cells = selection.scores(record.id).set_index(["ubigeo", "code"])
    assert (cells.loc[key, "score"], cells.loc[key, "evidence"]) == (3.0, "Consulta a la policía")
    ids = cell_ids(record.id)[key]
    with write_session() as s:
        selection.apply_score_edits(session=s, actor=actor, record_id=record.id,
                                    edits=[selection.ScoreEdit(*ids, clear=True)])
    assert pd_isna(selection.scores(record.id).set_index(["ubigeo", "code"]).loc[key, "score"])


def test_evidence_without_a_score_asks_for_the_score_first(session, actor):
    record = new_record(actor)
    ids = cell_ids(record.id)[("1701", "associations")]
    with pytest.raises(ValidationFailed) as error:
        with write_session() as s:
            selection.apply_score_edits(session=s, actor=actor, record_id=record.id,
                                        edits=[selection.ScoreEdit(*ids, evidence="Mancomunidad")])
    assert error.value.key == "selection.evidence_without_score"


def test_grid_edits_become_score_edits(session, actor):
    record = new_record(actor)
    grid = selection.score_matrix(record.id)
    assert list(grid.columns) == ["candidate_id", "ubigeo", "name", *selection.PROVINCE_CRITERIA]
    assert grid.set_index("ubigeo").loc["1702", "midis_p20"] == 1.0
    ids = dict(zip(selection.criteria(record.id)["code"], selection.criteria(record.id)["id"]))
    edits = selection.edits_from_matrix(grid, {1: {"political_will": 5, "service_gaps": None}}, ids)
    with write_session() as s:
        selection.apply_score_edits(session=s, actor=actor, record_id=record.id, edits=edits)
    after = selection.score_matrix(record.id).set_index("ubigeo")
    assert after.loc["1702", "political_will"] == 5.0
    assert pd_isna(after.loc["1701", "political_will"])


def test_the_evidence_table_edits_write_notes_on_existing_scores(session, actor):
    record = new_record(actor)
    cells = selection.scores(record.id)
    row = cells.index[(cells["ubigeo"] == "1703") & (cells["code"] == "midis_p20")][0]
    edits = selection.edits_from_cells(cells, {int(row): {"evidence": "Verificado con MIDIS"}})
    with write_session() as s:
        assert selection.apply_score_edits(session=s, actor=actor, record_id=record.id, edits=edits) == 1
    after = selection.scores(record.id).set_index(["ubigeo", "code"])
    assert (after.loc[("1703", "midis_p20"), "score"], after.loc[("1703", "midis_p20"), "evidence"]) == (
        1.0, "Verificado con MIDIS")


def test_create_the_cluster_from_the_winner_links_the_records(session, actor):
    record = new_record(actor)
    district_record = new_record(actor, scope="district", province_code="1701", parent_id=record.id)
    with write_session() as s:
        cluster, warnings = selection.create_cluster_from_selection(
            session=s, actor=actor, record_id=district_record.id, province_code="1701",
            district_ubigeos=["170101", "170102", "170103", "170104"], name="Tambopata", sectors=["health"])
    members = registry.cluster_members(cluster.id)
    # the capital district 170101 is the provincial municipality, so three district municipalities
    assert list(members["ubigeo"]) == ["17", "1701", "170102", "170103", "170104"]
    assert warnings == []
    session.rollback()
    assert session.get(SelectionRecord, record.id).cluster_id == cluster.id
    assert session.get(SelectionRecord, district_record.id).cluster_id == cluster.id
    assert session.get(Cluster, cluster.id).wave == 1
    chosen = session.execute(sa.select(SelectionCandidate.ubigeo).where(SelectionCandidate.chosen)
                             .order_by(SelectionCandidate.ubigeo)).scalars().all()
    assert chosen == ["1701", "170101", "170102", "170103", "170104"]
    assert selection.records("17").set_index("scope").loc["province", "cluster"] == "Tambopata"
    with pytest.raises(ValidationFailed, match="already been chosen"):
        with write_session() as s:
            selection.create_cluster_from_selection(session=s, actor=actor, record_id=record.id, province_code="1701",
                                                    district_ubigeos=[], name="Otra vez", sectors=["health"])


def test_a_cluster_from_a_province_alone_warns_but_is_created(session, actor):
    record = new_record(actor)
    with write_session() as s:
        cluster, warnings = selection.create_cluster_from_selection(
            session=s, actor=actor, record_id=record.id, province_code="1702", district_ubigeos=["170201"],
            name="Manu", sectors=["education"])
    assert [w.key for w in warnings] == ["cluster.few_districts"]
    assert list(registry.cluster_members(cluster.id)["ubigeo"]) == ["17", "1702"]


def test_a_bad_cluster_rolls_back_the_links_too(session, actor):
    record = new_record(actor)
    with pytest.raises(ValidationFailed) as error:
        with write_session() as s:
            selection.create_cluster_from_selection(session=s, actor=actor, record_id=record.id,
                                                    province_code="1702", district_ubigeos=[], name="Manu",
                                                    sectors=[])
    assert error.value.key == "cluster.no_sector"
    assert n_rows(session, Cluster) == 0
    session.rollback()
    assert session.get(SelectionRecord, record.id).cluster_id is None
    assert not any(session.execute(sa.select(SelectionCandidate.chosen)).scalars())


@pytest.mark.parametrize(("kwargs", "key"), [
    ({"wave": 0}, "selection.bad_wave"),
    ({"wave": "primera"}, "selection.bad_wave"),
    ({"scale_min": 5, "scale_max": 1}, "selection.bad_scale_order"),
    ({"scale_min": "uno"}, "selection.bad_scale"),
    ({"scope": "district"}, "selection.province_required"),
    ({"scope": "district", "province_code": "2201"}, "selection.province_required"),
    ({"candidate_ubigeos": ["1701", "2201"]}, "selection.candidate_outside"),
    ({"department_code": "99"}, "selection.unknown_department"),
])
def test_bad_records_are_refused_with_nothing_saved(session, actor, kwargs, key):
    arguments = {"department_code": "17", "wave": 1, **kwargs}
    with pytest.raises(ValidationFailed) as error:
        with write_session() as s:
            selection.create_record(session=s, actor=actor, **arguments)
    assert error.value.key == key
    assert n_rows(session, SelectionRecord) == 0 and n_rows(session, SelectionCriterion) == 0


def test_the_scale_cannot_shrink_under_saved_scores(session, actor):
    record = new_record(actor)
    score(actor, record.id, {("1701", "population_density"): 5})
    with pytest.raises(ValidationFailed) as error:
        with write_session() as s:
            selection.update_record(session=s, actor=actor, record_id=record.id, scale_max=4)
    assert error.value.key == "selection.scale_excludes_scores" and error.value.params["count"] == 1
    with write_session() as s:
        selection.update_record(session=s, actor=actor, record_id=record.id, scale_max=10, notes="Escala ampliada")
    assert selection.records("17")[["scale_min", "scale_max", "notes"]].iloc[0].tolist() == [1, 10, "Escala ampliada"]


def test_candidates_can_be_narrowed_and_added_back_with_the_p20_fact(session, actor):
    record = new_record(actor)
    score(actor, record.id, {("1703", "population_density"): 2})
    with write_session() as s:
        assert selection.set_candidates(session=s, actor=actor, record_id=record.id, ubigeos=["1701", "1702"]) == (0, 1)
    assert list(selection.candidates(record.id)["ubigeo"]) == ["1701", "1702"]
    assert n_rows(session, SelectionScore) == 2  # the two P20 facts left
    with write_session() as s:
        assert selection.set_candidates(session=s, actor=actor, record_id=record.id,
                                        ubigeos=["1701", "1702", "1703"]) == (1, 0)
    assert n_rows(session, SelectionScore) == 3


def test_custom_criteria_can_be_added_and_deleted(session, actor):
    record = new_record(actor)
    with write_session() as s:
        criterion = selection.add_criterion(session=s, actor=actor, record_id=record.id, name_es="Acceso fluvial",
                                            weight="0,5")
    frame = selection.criteria(record.id)
    assert frame["code"].iloc[-1] == "custom_8" and frame["name_en"].iloc[-1] == "Acceso fluvial"
    assert frame["weight"].iloc[-1] == 0.5
    with write_session() as s:
        selection.delete_criterion(session=s, actor=actor, criterion_id=criterion.id)
    assert len(selection.criteria(record.id)) == 7


def test_an_evaluator_cannot_score(session, actor):
    record = new_record(actor)
    evaluator = Actor(username="eva", role="evaluator")
    with pytest.raises(PermissionDenied):
        score(evaluator, record.id, {("1701", "population_density"): 3})
    with pytest.raises(PermissionDenied):
        new_record(evaluator)


def test_deleting_a_selection_removes_its_district_selections_candidates_and_scores(session, actor):
    record = new_record(actor)
    child = new_record(actor, scope="district", province_code="1702", parent_id=record.id)
    score(actor, child.id, {("170201", "connectivity"): 4})
    with write_session() as s:
        selection.delete_record(session=s, actor=actor, record_id=record.id)
    for model in (SelectionRecord, SelectionCriterion, SelectionCandidate, SelectionScore):
        assert n_rows(session, model) == 0, model


def test_a_selection_that_created_a_cluster_cannot_be_deleted(session, actor):
    record = new_record(actor)
    with write_session() as s:
        selection.create_cluster_from_selection(session=s, actor=actor, record_id=record.id, province_code="1701",
                                                district_ubigeos=[], name="Tambopata", sectors=["health"])
    with pytest.raises(ValidationFailed) as error:
        with write_session() as s:
            selection.delete_record(session=s, actor=actor, record_id=record.id)
    assert error.value.key == "selection.record_linked"
    assert n_rows(session, SelectionRecord) == 1
