"""Who reads what (issue 13.2): role × read service / export × dataset, on two clusters of real rows.

Cluster A (San Martín) is the facilitator's; cluster B (Madre de Dios) is not. Each holds a FOCAS
baseline with two named participants, a QSIP audit with a respondent, and a GCD member.
For every role the matrix asserts which clusters' rows each read service and export returns, and
whether people's names and typed codes appear (administrators and managers: yes; a facilitator: on
screen for their own clusters only, never in a snapshot; evaluators: never, a stable pseudonym instead).
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from assessments import snapshot
from assessments.access import Actor
from assessments.errors import PermissionDenied
from db.engine import read_session, write_session
from db.models import AuditEvent, GcdMember, Respondent
from db.queries import entry, focas, qsip, registry, scope
from tests.test_snapshot_factories import seed_cluster

ROOT = Path(__file__).resolve().parent.parent
WORKSHOP = str(ROOT / "pages" / "focas_workshop.py")
QSIP = str(ROOT / "pages" / "qsip.py")
PSEUDONYM = re.compile(r"^[PRG]-[0-9A-F]{12}$")


def seed(session, tag: str) -> dict:
    """One cluster of every kind of row (tests/test_snapshot_factories), its people given names of their own."""
    seeded = seed_cluster(session, [f"Clúster {tag}", *(f"texto{i}" for i in range(1, 12))],
                          index=0 if tag == "Alfa" else 10)
    first, second = seeded["participants"]
    first.full_name, first.code = f"Rosa Quispe {tag}", f"RQ{tag}"
    second.full_name, second.code = f"Luis Amasifuen {tag}", f"LA{tag}"
    session.execute(sa.update(Respondent).where(Respondent.audit_id == seeded["audit"].id)
                    .values(code=f"Encuestada {tag}", locality=f"Barrio {tag}"))
    session.execute(sa.update(GcdMember).where(GcdMember.cluster_id == seeded["cluster"].id)
                    .values(full_name=f"Miembro GCD {tag}"))
    session.flush()
    return {"cluster": seeded["cluster"].id, "government": seeded["government"].id,
            "assessment": seeded["assessment"].id, "audit": seeded["audit"].id, "name": f"Rosa Quispe {tag}",
            "code": f"RQ{tag}", "respondent": f"Encuestada {tag}", "gcd": f"Miembro GCD {tag}",
            "locality": f"Barrio {tag}"}


@pytest.fixture
def world(db_url):
    with write_session() as session:
        return {"A": seed(session, "Alfa"), "B": seed(session, "Beta")}


def actor_for(role: str, world) -> Actor:
    if role == "facilitator":
        return Actor("fac", "facilitator", cluster_ids=frozenset({world["A"]["cluster"]}))
    return Actor(role[:3], role)


# role → (clusters whose rows it reads, names on screen, names in a snapshot)
MATRIX = {
    "admin": ({"A", "B"}, True, True),
    "manager": ({"A", "B"}, True, True),
    "facilitator": ({"A"}, True, False),
    "evaluator": ({"A", "B"}, False, False),
}
ROLES = list(MATRIX)


def clusters_of_rows(world, ids, key: str) -> set[str]:
    return {tag for tag in ("A", "B") if world[tag][key] in set(ids)}


# --- the matrix: every read service ----------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_workshop_list_holds_only_the_clusters_the_role_reads(world, role):
    who, (readable, _, _) = actor_for(role, world), MATRIX[role]
    assert clusters_of_rows(world, registry.clusters(who)["id"], "cluster") == readable
    listed = {tag for tag in ("A", "B")
              if not focas.government_assessments(who, world[tag]["government"]).empty}
    assert listed == readable
    assert clusters_of_rows(world, [row["id"] for row in snapshot_targets(who)], "assessment") == readable


def snapshot_targets(who):
    from db.queries import snapshot as q

    return q.assessment_targets(who)


@pytest.mark.parametrize("role", ROLES)
def test_workshop_sheet_participants_and_grid_by_role(world, role):
    who, (readable, names, _) = actor_for(role, world), MATRIX[role]
    for tag in ("A", "B"):
        assessment = world[tag]["assessment"]
        if tag not in readable:
            for read in (lambda: entry.workshop_sheet(who, assessment), lambda: focas.participants(who, assessment),
                         lambda: focas.assessment_header(who, assessment), lambda: focas.results(who, assessment),
                         lambda: focas.history(who, assessment), lambda: focas.attendance(who, assessment),
                         lambda: focas.score_grid(who, assessment, "ADM")):
                with pytest.raises(scope.NotInYourClusters) as refused:
                    read()
                assert "no es de sus clústeres" in refused.value.message("es")
                assert "not in your clusters" in refused.value.message("en")
            continue
        sheet = entry.workshop_sheet(who, assessment)
        people = focas.participants(who, assessment)
        grid = focas.score_grid(who, assessment, focas.instrument(
            focas.assessment_header(who, assessment)["instrument_id"]).area_codes()[0])
        shown_names = {p["name"] for p in sheet["participants"]} | set(people["full_name"]) | set(grid["full_name"])
        shown_codes = {p["code"] for p in sheet["participants"]} | set(people["code"]) | set(grid["code"])
        assert len(sheet["participants"]) == len(people) == 2
        assert sheet["scores"] and set(people["sex"]) == {"female", "male"}  # everything else intact
        if names:
            assert world[tag]["name"] in shown_names and world[tag]["code"] in shown_codes
        else:
            assert shown_names == {""}
            assert all(PSEUDONYM.match(code) and code.startswith("P-") for code in shown_codes)
            assert world[tag]["code"] not in shown_codes
            # one stable pseudonym per person: the grid, the sheet and the list agree
            assert set(people["code"]) == {p["code"] for p in sheet["participants"]} == set(grid["code"])


@pytest.mark.parametrize("role", ROLES)
def test_qsip_audit_list_detail_and_respondents_by_role(world, role):
    who, (readable, names, _) = actor_for(role, world), MATRIX[role]
    assert clusters_of_rows(world, qsip.audits(who)["id"], "audit") == readable
    for tag in ("A", "B"):
        audit = world[tag]["audit"]
        details = (lambda: qsip.audit_row(who, audit), lambda: qsip.stages(who, audit),
                   lambda: qsip.barriers(who, audit), lambda: qsip.actions(who, audit),
                   lambda: qsip.respondents(who, audit), lambda: qsip.ratings(who, audit),
                   lambda: qsip.respondent_counts(who, audit), lambda: qsip.feedback_results(who, audit),
                   lambda: qsip.feedback_items(who, audit))
        if tag not in readable:
            assert qsip.audits(who, world[tag]["cluster"]).empty
            for read in details:
                with pytest.raises(scope.NotInYourClusters) as refused:
                    read()
                assert "not in your clusters" in refused.value.message("en")
            continue
        assert qsip.audit_row(who, audit)["cluster_id"] == world[tag]["cluster"]
        assert len(qsip.stages(who, audit)) == 1 and len(qsip.barriers(who, audit)) == 1
        respondents = qsip.respondents(who, audit)
        assert list(respondents["sex"]) == ["female"] and list(respondents["locality"]) == [world[tag]["locality"]]
        if names:
            assert list(respondents["code"]) == [world[tag]["respondent"]]
        else:
            assert PSEUDONYM.match(respondents["code"].iloc[0]) and respondents["code"].iloc[0].startswith("R-")


def tag_word(tag: str) -> str:
    return {"A": "Alfa", "B": "Beta"}[tag]


@pytest.mark.parametrize("role", ROLES)
def test_government_level_reads_follow_the_clusters(world, role):
    who, (readable, _, _) = actor_for(role, world), MATRIX[role]
    for tag in ("A", "B"):
        government = world[tag]["government"]
        visible = tag in readable
        assert (not focas.government_consensus(who, government).empty) is visible
        assert (not focas.targets(who, government).empty) is visible
        assert (not focas.plan_items(who, government).empty) is visible


# --- snapshots and downloads -------------------------------------------------------------------------


def tables(data: bytes) -> dict[str, list[dict]]:
    archive = zipfile.ZipFile(io.BytesIO(data))
    out = {}
    for name in archive.namelist():
        if name.endswith(".csv"):
            out[name] = list(csv.DictReader(io.StringIO(archive.read(name).decode("utf-8-sig"))))
    return out


def export_events() -> list[dict]:
    with read_session() as session:
        rows = session.execute(sa.select(AuditEvent.actor, AuditEvent.actor_role, AuditEvent.entity,
                                         AuditEvent.after_json).where(AuditEvent.action == "export")).all()
    return [{"actor": a, "role": r, "entity": e, "after": json.loads(j or "{}")} for a, r, e, j in rows]


@pytest.mark.parametrize("role", ROLES)
def test_snapshot_export_tables_by_role(world, role):
    who, (readable, _, exported_names) = actor_for(role, world), MATRIX[role]
    data, manifest = snapshot.export_bytes(actor=who)
    content = tables(data)
    cluster_names = {f"Clúster {tag_word(tag)}" for tag in readable}
    for name in ("tables/consensus_scores.csv", "tables/participant_scores.csv", "tables/qsip_feedback.csv",
                 "tables/qsip_stages.csv", "tables/qsip_barriers.csv", "tables/qsip_actions.csv"):
        assert {row["cluster"] for row in content[name]} == cluster_names, name
    departments = {"A": "22", "B": "17"}
    for name in ("tables/gcd_members.csv", "tables/selection_scores.csv", "tables/targets.csv"):
        assert {row["department_code"] for row in content[name]} == {departments[t] for t in readable}, name
    everything = b"".join(zipfile.ZipFile(io.BytesIO(data)).read(n) for n in zipfile.ZipFile(io.BytesIO(data)).namelist())
    people = content["tables/participant_scores.csv"]
    if exported_names:
        assert manifest["personal_data"]["names"] == "included"
        assert manifest["mergeable"] is True and "raw/participant.csv" in content
        assert "Rosa Quispe Alfa".encode() in everything and "Miembro GCD Beta".encode() in everything
        assert {row["participant_code"] for row in people} >= {"RQAlfa", "RQBeta"}
        assert "Encuestada Beta" in {row["respondent_code"] for row in content["tables/qsip_feedback.csv"]}
    else:
        for tag in ("A", "B"):
            for personal in ("name", "code", "respondent", "gcd"):
                assert world[tag][personal].encode() not in everything, personal
            assert world[tag]["locality"] in {row["locality"] for row in content["tables/qsip_feedback.csv"]} \
                or tag not in readable
        assert not [n for n in content if n.startswith("raw/")] and manifest["mergeable"] is False
        assert all(PSEUDONYM.match(row["participant_code"]) and row["participant_id"] == "" for row in people)
        assert all(PSEUDONYM.match(r["respondent_code"]) and r["respondent_id"] == ""
                   for r in content["tables/qsip_feedback.csv"])
        assert all(PSEUDONYM.match(r["full_name"]) for r in content["tables/gcd_members.csv"])
        assert {row["sex"] for row in people} == {"female", "male"}  # everything else intact
        personal = manifest["personal_data"]
        assert personal["names"] == "withheld"
        assert "tables/participant_scores.csv:participant_code" in personal["pseudonymised"]
        assert "tables/participant_scores.csv:participant_id" in personal["withheld"]
        # an evaluator's whole-database snapshot leaves the raw (merge) tables out; a scoped one never has them
        assert ("raw/" in personal["withheld"]) is (role == "evaluator")
        dictionary = {(r["file"], r["column"]): r for r in content["dictionary/data_dictionary.csv"]}
        assert "pseudonym" in dictionary[("tables/participant_scores.csv", "participant_code")]["description_en"]
    assert manifest["scope"]["clusters"] == (None if role != "facilitator" else [str(world["A"]["cluster"])])
    events = [e for e in export_events() if e["entity"] == "snapshot"]
    assert len(events) == 1 and events[0]["role"] == role
    assert events[0]["after"]["names"] == ("included" if exported_names else "withheld")


def test_only_administrators_and_managers_may_ask_for_names(world):
    for role in ("evaluator", "facilitator"):
        with pytest.raises(PermissionDenied):
            snapshot.export_bytes(actor=actor_for(role, world), names=True)
    # a manager may leave the names out: the same pseudonyms an evaluator gets, stable across exports
    manager, evaluator = actor_for("manager", world), actor_for("evaluator", world)
    codes = [sorted({r["participant_code"] for r in tables(snapshot.export_bytes(actor=who, names=False)[0])
                     ["tables/participant_scores.csv"]}) for who in (manager, evaluator, evaluator)]
    assert codes[0] == codes[1] == codes[2] and len(codes[0]) == 4  # two people in each of two workshops
    on_screen = set(focas.participants(evaluator, world["A"]["assessment"])["code"])
    assert on_screen <= set(codes[0])


def test_participant_list_download_with_names_is_audited(world):
    headers = {"code": "Código", "full_name": "Nombre", "sex": "Sexo"}
    facilitator = actor_for("facilitator", world)
    content = focas.participants_csv(facilitator, world["A"]["assessment"], headers).decode("utf-8-sig")
    assert "Rosa Quispe Alfa" in content
    with pytest.raises(scope.NotInYourClusters):
        focas.participants_csv(facilitator, world["B"]["assessment"], headers)
    evaluator = actor_for("evaluator", world)
    hidden = focas.participants_csv(evaluator, world["A"]["assessment"], headers).decode("utf-8-sig")
    assert "Rosa Quispe" not in hidden and "RQAlfa" not in hidden and "P-" in hidden
    events = [e for e in export_events() if e["entity"] == "assessment"]
    assert [(e["actor"], e["role"], e["after"]["names"], e["after"]["rows"]) for e in events] == [
        ("fac", "facilitator", True, 2)]


def test_history_never_shows_a_name_and_pseudonymises_codes_for_evaluators(world):
    from assessments import focas as service
    from assessments.access import LOCAL_USER

    assessment = world["A"]["assessment"]
    with write_session() as session:
        service.add_participant(session=session, actor=LOCAL_USER, assessment_id=assessment,
                                data=service.ParticipantInput(full_name="Juana Tapullima", code="JT9", sex="female"),
                                reason="llegó tarde")
    admin_view = focas.history(actor_for("admin", world), assessment)
    evaluator_view = focas.history(actor_for("evaluator", world), assessment)
    assert "Juana Tapullima" not in admin_view.to_csv() and "JT9" in admin_view.to_csv()
    assert "Juana Tapullima" not in evaluator_view.to_csv() and "JT9" not in evaluator_view.to_csv()
    assert any(PSEUDONYM.match(what) for what in evaluator_view["what"])


def test_pseudonyms_are_keyed_by_a_secret_of_this_installation(world):
    secret = scope.pseudonym_secret()
    assert len(secret) == 32
    with read_session() as session:
        stored = session.execute(sa.text("SELECT value FROM app_meta WHERE key = 'pseudonym_secret'")).scalar()
    assert bytes.fromhex(stored) == secret
    person = world["A"]["assessment"]
    assert scope.pseudonym(secret, "participant", person) != scope.pseudonym(b"0" * 32, "participant", person)
    assert scope.pseudonym(secret, "participant", person) != scope.pseudonym(secret, "respondent", person)


# --- the pages -----------------------------------------------------------------------------------------


def open_page(path: str, who: Actor, state: dict | None = None, params: dict | None = None) -> AppTest:
    at = AppTest.from_file(path, default_timeout=90)
    at.session_state["lang"] = "en"
    at.session_state["actor"] = who
    for key, value in (state or {}).items():
        at.session_state[key] = value
    if params:
        at.query_params.update(params)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def page_text(at) -> str:
    parts = [e.value for e in at.error] + [i.value for i in at.info] + [m.value for m in at.markdown]
    parts += [c.value for c in at.caption] + [str(d.value.to_csv()) for d in at.dataframe]
    return " | ".join(parts)


def on_workshop(world, tag: str) -> dict:
    """Session state pointing the workshop page at a cluster's seeded baseline, participants section."""
    return {"focas.department_value": {"A": "22", "B": "17"}[tag], "focas.cluster_value": world[tag]["cluster"],
            "focas.government_value": world[tag]["government"], "focas.round_value": "baseline",
            "focas.section_value": "participants"}


def test_a_facilitators_workshop_page_lists_only_their_clusters(world):
    at = open_page(WORKSHOP, actor_for("facilitator", world), state=on_workshop(world, "A"))
    cluster_box = at.selectbox(key="focas.cluster")
    assert list(cluster_box.options) == ["Clúster Alfa"]
    assert list(at.selectbox(key="focas.department").options) == ["San Martín"]
    text = page_text(at)
    assert "Rosa Quispe Alfa" in text and "Rosa Quispe Beta" not in text


def test_a_workshop_of_another_cluster_asked_for_by_url_gets_a_message_not_the_data(world):
    params = {"cluster": str(world["B"]["cluster"]), "gov": str(world["B"]["government"]), "section": "participants"}
    at = open_page(WORKSHOP, actor_for("facilitator", world), params=params)
    assert any("not in your clusters" in e.value for e in at.error)
    assert "Rosa Quispe Beta" not in page_text(at)
    # a manager asking for the same URL reads it
    manager = open_page(WORKSHOP, actor_for("manager", world), params=params)
    assert not any("not in your clusters" in e.value for e in manager.error)
    assert "Rosa Quispe Beta" in page_text(manager)


def test_an_evaluator_sees_pseudonyms_on_the_workshop_page(world):
    at = open_page(WORKSHOP, actor_for("evaluator", world), state=on_workshop(world, "A"))
    text = page_text(at)
    assert "Rosa Quispe" not in text and "RQAlfa" not in text and "RQBeta" not in text
    assert re.search(r"P-[0-9A-F]{12}", text)


def test_a_facilitators_qsip_page_lists_only_their_clusters_audits(world):
    at = open_page(QSIP, actor_for("facilitator", world))
    assert [label.split(" · ")[0] for label in at.selectbox(key="qsip.cluster").options] == ["Clúster Alfa"]


def test_the_command_line_can_pseudonymise_and_is_audited(world, tmp_path):
    out = tmp_path / "s.zip"
    assert snapshot.main(["export", str(out), "--pseudonymise"]) == 0
    content = tables(out.read_bytes())
    assert all(PSEUDONYM.match(row["participant_code"]) for row in content["tables/participant_scores.csv"])
    assert json.loads(zipfile.ZipFile(out).read("manifest.json"))["personal_data"]["names"] == "withheld"
    assert [e["after"]["names"] for e in export_events() if e["entity"] == "snapshot"] == ["withheld"]
