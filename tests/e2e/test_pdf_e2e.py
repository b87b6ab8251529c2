"""The result sheets' PDF downloads in a real browser: the file that arrives is an A4 PDF of the chosen sheet."""

from __future__ import annotations

import io

import pypdf
import sqlalchemy as sa
import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.e2e.conftest import wait_for_app
from tests.e2e.test_progress_e2e import progress_app  # noqa: F401  (fixture)

pytestmark = pytest.mark.e2e


def download(page, name: str) -> bytes:
    button = page.get_by_role("button", name=name)
    button.wait_for()
    for attempt in range(3):  # a click during a rerun can be swallowed: click again
        try:
            with page.expect_download(timeout=30_000) as info:
                button.click()
            break
        except PlaywrightTimeout:
            if attempt == 2:
                raise
            wait_for_app(page)
    return open(info.value.path(), "rb").read()


def test_government_and_cluster_sheets_download_as_a4_pdfs(progress_app, page):  # noqa: F811
    app, dataset = progress_app
    page.goto(f"{app.url}/result-sheets?lang=es&gov={dataset['gov']['2205']}")
    wait_for_app(page)
    data = download(page, "Descargar hoja en PDF (A4, una página)")
    reader = pypdf.PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert abs(float(box.width) - 595.28) <= 1 and abs(float(box.height) - 841.89) <= 1
    text = " ".join(reader.pages[0].extract_text().split())
    assert "Lamas" in text and "Firma" in text and "Sistemas administrativos modernizados" in text

    page.goto(f"{app.url}/result-sheets?lang=en&cluster={dataset['c1']}")
    wait_for_app(page)
    # built only when clicked: the cluster's sheet, then one page per member government with a validated round
    pack = pypdf.PdfReader(io.BytesIO(download(page, "Cluster PDF with one page per government")))
    text = " ".join(" ".join(p.extract_text().split()) for p in pack.pages)
    assert len(pack.pages) == 1 + 3 and "Governments of the cluster" in text and "Signature" in text


def test_the_workshop_page_hands_out_scoring_sheets_with_the_participants_codes(db_url, app_factory, page):
    from db.engine import dispose_engine, read_session
    from db.models import Participant
    from tests.e2e.test_entry_e2e import make_workshop, open_section

    assessment_id = make_workshop(2)
    with read_session() as session:
        codes = list(session.execute(sa.select(Participant.code).where(Participant.assessment_id == assessment_id)
                                     .order_by(Participant.position)).scalars())
    dispose_engine(db_url)
    app = app_factory(db_url)
    open_section(page, app.url, "2. Puntajes y consenso")
    page.get_by_text("Hojas para puntuar en papel (PDF)").click()
    reader = pypdf.PdfReader(io.BytesIO(download(page, "Hojas de puntaje en PDF (cada participante + 3 en blanco)")))
    assert len(reader.pages) == (2 + 3) * 10  # two people and three blank sets, one sheet per area
    first = " ".join(reader.pages[0].extract_text().split())
    assert codes[0] in first and "Hoja de puntaje FOCAS" in first
    assert codes[1] in " ".join(reader.pages[10].extract_text().split())
