"""Pages show data read-only to whoever may not write there, and the audit trail speaks the run's language."""

from __future__ import annotations

from assessments.access import LOCAL_USER
import ast
import uuid
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from assessments import access_audit
from assessments.access import Actor, can
from assessments.i18n import catalog, translate
from db.engine import write_session
from pages import ui

ROOT = Path(__file__).resolve().parent.parent
READ_ONLY_ES = "Solo lectura"
# Buttons that only prepare a download (no data changes): they stay for every role.
DOWNLOAD_ONLY = {"Preparar descarga", "Preparar instantánea"}

# page → the write action its controls need (None: read-only for everyone); cluster-scoped pages
# are opened on the first cluster, which the "other" facilitator is not assigned to, except the pages
# that list only the clusters a facilitator reads (issue 13.2): those open on one of their own.
PAGES = {
    "qsip.py": "audit.write",
    "gcd.py": "gcd.write",
    "selection.py": "selection.write",
    "clusters.py": "cluster.write",
    "snapshots.py": "snapshot.import",
    "admin.py": "user.write",
    "instrument.py": None,
    "overview.py": None,
    "progress.py": None,
    "result_sheets.py": None,
}
NOTICE_PAGES = ("qsip.py", "gcd.py", "selection.py", "clusters.py")
SCOPED_PAGES = ("qsip.py",)


@pytest.fixture
def demo(db_url):
    from db.demo import load_demo
    from db.queries import registry

    load_demo()
    first = registry.clusters(LOCAL_USER)["id"].iloc[0]
    others = frozenset(set(registry.clusters(LOCAL_USER)["id"]) - {first})
    return first, others


def actors(first, others) -> dict[str, Actor]:
    # user_id None: the admin page's own-password form (open to every account) stays out of the count
    return {
        "evaluator": Actor("e", "evaluator"),
        "facilitator-other": Actor("g", "facilitator", cluster_ids=others),
        "facilitator-assigned": Actor("f", "facilitator", cluster_ids=frozenset({first})),
        "manager": Actor("m", "manager"),
        "admin": Actor("a", "admin"),
    }


def open_page(name: str, actor: Actor, lang: str = "es") -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / name), default_timeout=90)
    at.session_state["lang"] = lang
    at.session_state[ui.ACTOR_KEY] = actor
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def write_controls(at: AppTest) -> list[str]:
    """Enabled buttons (forms' submit buttons included), editable grids and file uploaders in the page."""
    found = [f"button:{b.label}" for b in at.button if not b.disabled and b.label not in DOWNLOAD_ONLY]
    found += ["data_editor" for frame in at.dataframe if frame.proto.editing_mode]  # 0 = read-only
    found += ["file_uploader" for _ in at.get("file_uploader")]
    return found


@pytest.mark.parametrize("page", list(PAGES))
def test_write_controls_appear_exactly_for_roles_that_may_write(demo, page):
    first, others = demo
    action = PAGES[page]
    for who, actor in actors(first, others).items():
        at = open_page(page, actor)
        shown = sorted(actor.cluster_ids, key=str)[0] if page in SCOPED_PAGES and actor.role == "facilitator" else first
        allowed = action is not None and can(actor, action, cluster_id=shown)
        controls = write_controls(at)
        notices = [i.value for i in at.info if i.value.startswith(READ_ONLY_ES)]
        if allowed:
            assert controls, f"{page}: {who} may write but sees no write control"
            assert not notices, f"{page}: {who} may write but is told it is read-only"
        else:
            assert controls == [], f"{page}: {who} may not write but sees {controls}"
            if page in NOTICE_PAGES:
                assert len(notices) == 1, f"{page}: {who} sees {notices}"


def test_the_notice_says_why_in_both_languages(demo):
    first, others = demo
    at = open_page("qsip.py", Actor("e", "evaluator"))
    assert "Solo lectura: su rol de evaluador(a) permite ver y descargar." in [i.value for i in at.info]
    # a facilitator is never shown another cluster's audits read-only: the page lists their own clusters only
    at = open_page("qsip.py", Actor("g", "facilitator", cluster_ids=others), "en")
    assert not [i.value for i in at.info if i.value.startswith("Read-only")]
    assert len(at.selectbox(key="qsip.cluster").options) == len(others)
    at = open_page("gcd.py", Actor("g", "facilitator", cluster_ids=others), "en")
    assert ("Read-only: as facilitator you can view and download here; these data are changed by: "
            "administrator or manager." in [i.value for i in at.info])


def test_read_only_qsip_still_shows_the_data_and_its_downloads(demo):
    first, _ = demo
    at = open_page("qsip.py", Actor("e", "evaluator"), "en")
    assert not [f for f in at.get("form")]
    stages = at.dataframe[0].value
    assert list(stages["#"]) == [1, 2, 3, 4, 5]
    assert set(stages["Status"]) <= {"Pending", "In progress", "Done"}


# ------------------------------------------------------------------------------------ audit labels
def recorded_codes() -> tuple[set[str], set[str]]:
    """Every literal action and entity a write service records (scanned from the source)."""
    actions, entities = set(), set()
    for path in [*ROOT.glob("assessments/**/*.py"), *ROOT.glob("db/**/*.py"), *ROOT.glob("pages/*.py"),
                 ROOT / "dashboard.py"]:
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "record"
                    and len(node.args) >= 4):
                for arg, bucket in ((node.args[2], actions), (node.args[3], entities)):
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                        bucket.add(arg.value)
    return actions, entities


def test_every_recorded_action_and_entity_has_a_label_in_both_languages():
    from db.queries.snapshot import RAW_TABLE_NAMES

    actions, entities = recorded_codes()
    assert {"create", "update", "delete", "validate", "import", "export", "login"} <= actions
    entities |= set(RAW_TABLE_NAMES)  # a snapshot import records the table it updated
    for lang in ("es", "en"):
        for kind, codes in (("action", actions), ("entity", entities)):
            missing = sorted(c for c in codes if f"audit.{kind}.{c}" not in catalog(lang))
            assert not missing, f"{lang} {kind}: {missing}"
    assert {k for k in catalog("es") if k.startswith("audit.")} == {k for k in catalog("en") if k.startswith("audit.")}


def test_labels_translate_known_codes_and_keep_unknown_ones():
    assert access_audit.label("action", "validate", "es") == "Validación"
    assert access_audit.label("action", "validate", "en") == "Validate"
    assert access_audit.label("entity", "gcd_member", "es") == "Miembro del GCD"
    assert access_audit.label("role", "evaluator", "en") == "Evaluator"
    assert access_audit.label("action", "something_new", "es") == "something_new"
    frame = pd.DataFrame({"action": ["login", "create"], "entity": ["user_account", "cluster"],
                          "actor_role": ["admin", "manager"]})
    shown = access_audit.labelled(frame, "en")
    assert list(shown["action"]) == ["Log in", "Create"]
    assert list(shown["entity"]) == ["User account", "Cluster"]
    assert list(shown["actor_role"]) == ["Administrator", "Manager"]
    assert list(frame["action"]) == ["login", "create"]  # the stored codes are not touched


def make_admin():
    from assessments import accounts

    with write_session() as session:
        return accounts.create_first_admin(session=session, username="jefa", password="clave-segura-1",
                                           full_name="Jefa de programa")


@pytest.mark.parametrize("lang", ["es", "en"])
def test_admin_audit_tab_shows_no_raw_codes(db_url, lang):
    admin = make_admin()
    at = open_page("admin.py", admin, lang)
    action_box = at.selectbox(key="audit.action")
    assert translate("audit.action.create", lang) in action_box.options  # the picker shows labels
    assert "create" not in action_box.options
    entity_box = at.selectbox(key="audit.entity")
    assert translate("audit.entity.user_account", lang) in entity_box.options
    assert "user_account" not in entity_box.options
    events = at.dataframe[1].value
    action_column = translate("access.audit.col.action", lang)
    entity_column = translate("access.audit.col.entity", lang)
    assert set(events[action_column]) == {translate("audit.action.create", lang)}
    assert set(events[entity_column]) == {translate("audit.entity.user_account", lang)}
    action_box.set_value("create").run()  # the filter still works on the stored code
    assert set(at.dataframe[1].value[action_column]) == {translate("audit.action.create", lang)}


def test_audit_csv_export_is_in_the_chosen_language_and_codes_stay_stored(db_url):
    admin = make_admin()
    headers = {c: translate(f"access.audit.col.{c}", "es") for c in access_audit.COLUMNS}
    with write_session() as session:
        content = access_audit.export_audit_csv(session=session, actor=admin, filters=access_audit.AuditFilter(),
                                                headers=headers, lang="es").decode("utf-8-sig")
    lines = content.splitlines()
    assert lines[0].split(",")[:4] == [headers["at"], headers["actor"], headers["actor_role"], headers["action"]]
    assert "Creación" in content and "Cuenta de usuario" in content and "Administrador(a)" in content
    assert ",create," not in content and ",user_account," not in content
    stored = access_audit.audit_events(admin)
    assert set(stored["action"]) == {"create", "export"}  # the export itself, recorded with its code
    assert uuid.UUID(str(admin.user_id))
