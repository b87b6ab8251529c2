"""A real browser (issue 13.2): the demo facilitator's workshop page lists only their clusters, another cluster's
workshop asked for by URL is refused in words, and the participant list they download with names is audited."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tests.e2e.conftest import eventually, wait_for_app
from tests.e2e.test_access_e2e import LOGIN_ON, log_in, mark_demo

pytestmark = pytest.mark.e2e


def query(db_url: str, sql: str, **params) -> list:
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as connection:
            return list(connection.execute(sa.text(sql), params).all())
    finally:
        engine.dispose()


def a_workshop(db_url: str, *, assigned: bool) -> tuple:
    """(cluster id, department, government id, a participant's full name) of a baseline with people."""
    rows = query(db_url, """
        SELECT a.cluster_id, c.department_code, a.government_id, p.full_name,
               a.cluster_id IN (SELECT uc.cluster_id FROM user_cluster uc JOIN user_account u ON u.id = uc.user_id
                                WHERE u.username = 'facilitator') AS mine
        FROM assessment a JOIN participant p ON p.assessment_id = a.id JOIN cluster c ON c.id = a.cluster_id
        WHERE a.round = 'baseline' AND p.full_name <> ''
        ORDER BY c.name, a.government_id, p.position""")
    return next(r[:4] for r in rows if bool(r[4]) is assigned)


def hex_id(value) -> str:
    import uuid

    return str(uuid.UUID(str(value)))


def test_a_facilitator_reads_their_own_clusters_and_their_name_list_download_is_audited(
        demo_db_url, app_factory, page, tmp_path):
    mark_demo(demo_db_url)
    app = app_factory(demo_db_url, env=LOGIN_ON)
    log_in(page, app.url, "facilitator", "demo-facilitator")
    mine = query(demo_db_url, """SELECT c.name FROM cluster c JOIN user_cluster uc ON uc.cluster_id = c.id
                                 JOIN user_account u ON u.id = uc.user_id WHERE u.username = 'facilitator'""")
    all_clusters = query(demo_db_url, "SELECT name FROM cluster")
    assert 0 < len(mine) < len(all_clusters)

    cluster, department, government, person = a_workshop(demo_db_url, assigned=True)
    page.goto(f"{app.url}/focas?dep={department}&cluster={hex_id(cluster)}&gov={hex_id(government)}"
              "&round=baseline&section=participants")
    wait_for_app(page)
    # the cluster picker offers the facilitator's clusters and no other
    page.get_by_label("Clúster", exact=True).click()
    options = page.get_by_role("option")
    expect(options.first).to_be_visible()
    offered = set(options.all_inner_texts())
    page.keyboard.press("Escape")
    assert offered <= {name for (name,) in mine}
    page.screenshot(path=str(tmp_path / "facilitator_workshop.png"), full_page=True)

    assert person in download(page, tmp_path / "mine.csv")  # the names the facilitator typed
    exports = eventually(lambda: len(query(demo_db_url, """SELECT 1 FROM audit_event WHERE actor = 'facilitator'
                                                        AND action = 'export' AND entity = 'assessment'""")), 1)
    assert exports == 1

    cluster, department, government, foreign = a_workshop(demo_db_url, assigned=False)
    page.goto(f"{app.url}/focas?dep={department}&cluster={hex_id(cluster)}&gov={hex_id(government)}"
              "&round=baseline&section=participants")
    wait_for_app(page)
    expect(page.get_by_text("Este taller no es de sus clústeres")).to_be_visible()
    page.screenshot(path=str(tmp_path / "facilitator_foreign.png"), full_page=True)
    # what the page shows instead is one of the facilitator's own workshops, never the one asked for
    assert foreign not in download(page, tmp_path / "after.csv")


def download(page, path) -> str:
    """The participant list the page offers ("Descargar CSV" under the list), as text."""
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Descargar CSV").first.click()
    download_info.value.save_as(path)
    return path.read_text(encoding="utf-8-sig")
