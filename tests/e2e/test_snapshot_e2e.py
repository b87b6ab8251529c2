"""An evaluator downloads a snapshot in a real browser; an administrator merges it back (nothing changes) and
a hostile file is refused in words; the XLSForm download converts with pyxform."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from playwright.sync_api import expect
from pyxform.xls2xform import convert

from tests.e2e.conftest import wait_for_app

pytestmark = pytest.mark.e2e


def test_download_merge_and_xlsform(demo_db_url, app_factory, page, tmp_path):
    app = app_factory(demo_db_url, env={"FOCAS_AUTH": "off", "STREAMLIT_SERVER_FILE_WATCHER_TYPE": "none"})
    page.goto(f"{app.url}/snapshots")
    wait_for_app(page)
    expect(page.get_by_role("heading", name="Instantáneas de datos e intercambio")).to_be_visible()
    page.get_by_role("button", name="Preparar instantánea").click()
    page.get_by_text("Instantánea lista").wait_for(timeout=120_000)
    wait_for_app(page)
    page.screenshot(path=str(tmp_path / "snapshot_export.png"), full_page=True)
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Descargar ZIP").click()
    path = tmp_path / "snapshot.zip"
    download_info.value.save_as(path)
    archive = zipfile.ZipFile(path)
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["mergeable"] is True
    assert manifest["files"]["tables/consensus_scores.csv"]["rows"] > 100
    assert archive.read("tables/consensus_scores.csv").startswith(b"\xef\xbb\xbf")  # BOM ticked by default

    page.get_by_role("tab", name="Fusionar laptops").click()
    page.locator("[data-testid='stFileUploaderDropzoneInput']").first.set_input_files(str(path))
    page.get_by_text("snapshot.zip").wait_for()
    wait_for_app(page)
    page.get_by_role("button", name="Importar").click()
    page.get_by_text("No hubo cambios").wait_for(timeout=120_000)
    wait_for_app(page)
    page.screenshot(path=str(tmp_path / "snapshot_import.png"), full_page=True)

    hostile = tmp_path / "evil.zip"
    with zipfile.ZipFile(hostile, "w") as evil:
        evil.writestr("../../etc/cron.d/evil", "* * * * * root rm -rf /")
    page.locator("[data-testid='stFileUploaderDropzoneInput']").first.set_input_files(str(hostile))
    page.get_by_text("evil.zip").wait_for()
    # the first file's report goes away with it: no "no changes" next to a file not yet imported
    expect(page.get_by_text("No hubo cambios")).to_be_hidden()
    wait_for_app(page)
    page.get_by_role("button", name="Importar").click()
    wait_for_app(page)
    page.screenshot(path=str(tmp_path / "snapshot_hostile.png"), full_page=True)
    page.get_by_text("ruta peligrosa").wait_for()
    expect(page.get_by_text("No hubo cambios")).to_be_hidden()

    page.get_by_role("tab", name="KoboToolbox / ODK").click()
    with page.expect_download() as form_info:
        page.get_by_role("button", name="Descargar XLSForm").click()
    form = tmp_path / "form.xlsx"
    form_info.value.save_as(form)
    assert convert(xlsform=io.BytesIO(form.read_bytes()), file_type=".xlsx").xform.startswith("<?xml")
    page.screenshot(path=str(tmp_path / "snapshot_xlsform.png"), full_page=True)


def test_a_conflict_is_shown_and_resolved_by_a_person(demo_db_url, app_factory, page, tmp_path):
    import sqlalchemy as sa

    from assessments import snapshot
    from assessments.access import LOCAL_USER
    from db import models as m
    from db.engine import dispose_engine, write_session

    data, _ = snapshot.export_bytes(actor=LOCAL_USER)
    with write_session() as session:
        cluster = session.execute(sa.select(m.Cluster).where(m.Cluster.name == "Lamas")).scalar_one()
        original = cluster.notes
        cluster.notes = "Editado en esta laptop"
    dispose_engine(demo_db_url)
    (tmp_path / "other_laptop.zip").write_bytes(data)
    app = app_factory(demo_db_url, env={"FOCAS_AUTH": "off", "STREAMLIT_SERVER_FILE_WATCHER_TYPE": "none"})
    page.goto(f"{app.url}/snapshots?lang=en")
    wait_for_app(page)
    page.get_by_role("tab", name="Merge laptops").click()
    page.locator("[data-testid='stFileUploaderDropzoneInput']").first.set_input_files(str(tmp_path / "other_laptop.zip"))
    page.get_by_text("other_laptop.zip").wait_for()
    wait_for_app(page)
    page.get_by_role("button", name="Import", exact=True).click()
    page.get_by_text("Conflicts to resolve").wait_for(timeout=120_000)
    wait_for_app(page)
    expect(page.get_by_text("1 conflicts")).to_be_visible()
    page.screenshot(path=str(tmp_path / "snapshot_conflict.png"), full_page=True)
    page.locator("[data-testid='stMultiSelect']").click()
    page.get_by_role("option", name=f"cluster · {str(cluster.id)[:8]} · notes").click()
    page.keyboard.press("Escape")
    wait_for_app(page)
    page.get_by_role("button", name="Apply the snapshot's version").click()
    page.get_by_text("1 updated").wait_for(timeout=60_000)
    with write_session() as session:
        assert session.get(m.Cluster, cluster.id).notes == original
