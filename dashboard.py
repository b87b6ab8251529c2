"""Entry point: page config, language switch, login gate and navigation over pages/."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import streamlit as st
from sqlalchemy.exc import DBAPIError

from assessments.i18n import LANGUAGES
from db import faults
from pages import ui

st.set_page_config(page_title="FOCAS · QSIP", page_icon=str(Path(__file__).parent / "assets" / "favicon.png"), layout="wide")


def language_switch() -> None:
    names = {"es": "Español", "en": "English"}
    current = ui.lang()
    chosen = st.sidebar.segmented_control(
        ":material/translate:", options=list(LANGUAGES), format_func=names.get, default=current, key="lang_switch",
        label_visibility="collapsed",
    )
    if chosen and chosen != current:
        st.session_state[ui.LANG_KEY] = chosen
        st.query_params[ui.LANG_KEY] = chosen
        st.session_state[ui.RELABEL_KEY] = True
        st.rerun()
    if st.session_state.pop(ui.RELABEL_KEY, False):
        ui.relabel_choices()  # choices made before the switch show their labels in the new language
    if st.query_params.get(ui.LANG_KEY) != current:
        st.query_params[ui.LANG_KEY] = current
    with st.sidebar:
        ui.document_language()  # <html lang> follows the switch


def navigation() -> st.navigation:
    t = ui.t
    page = st.Page
    sections = {
        t("nav.section.overview"): [
            page("pages/overview.py", title=t("nav.overview"), icon=":material/home:", url_path="overview", default=True),
            page("pages/progress.py", title=t("nav.progress"), icon=":material/trending_up:", url_path="progress"),
            page("pages/result_sheets.py", title=t("nav.result_sheets"), icon=":material/print:", url_path="result-sheets"),
        ],
        t("nav.section.workshops"): [
            page("pages/focas_workshop.py", title=t("nav.focas_workshop"), icon=":material/edit_note:", url_path="focas"),
            page("pages/focas_plan.py", title=t("nav.focas_plan"), icon=":material/flag:", url_path="focas-plan"),
            page("pages/qsip.py", title=t("nav.qsip"), icon=":material/fact_check:", url_path="qsip"),
        ],
        t("nav.section.program"): [
            page("pages/clusters.py", title=t("nav.clusters"), icon=":material/hub:", url_path="clusters"),
            page("pages/selection.py", title=t("nav.selection"), icon=":material/balance:", url_path="selection"),
            page("pages/gcd.py", title=t("nav.gcd"), icon=":material/groups:", url_path="gcd"),
            page("pages/instrument.py", title=t("nav.instrument"), icon=":material/list_alt:", url_path="instrument"),
        ],
        t("nav.section.data"): [
            page("pages/snapshots.py", title=t("nav.snapshots"), icon=":material/inventory_2:", url_path="snapshots"),
            page("pages/admin.py", title=t("nav.admin"), icon=":material/admin_panel_settings:", url_path="admin"),
        ],
    }
    return st.navigation(sections)


def login_gate():
    """Who is using the app; None means only the login page is reachable (see pages/_access_gate.py)."""
    from pages import _access_gate

    actor = _access_gate.authenticated_actor()
    if actor is not None:
        _access_gate.sidebar(actor)
    return actor


@contextmanager
def page_guard(*, writes_as: str = "save") -> Iterator[None]:
    """One page's database fault ends that page's run with its translated message, never a traceback.

    A read that fails while the page renders (ui.read raises a DatabaseFault; a page querying the
    database directly raises the driver's error) or a write outside ui.attempt shows what happened
    (db/faults.py) and stops this run only: the language switch and the sidebar stay, the next run
    and every other page read the database afresh, and a form keeps what was typed (Streamlit keeps
    widget values; nothing is cleared). ``writes_as`` names a write's message ("login" on the login page).
    """
    try:
        yield
    except faults.DatabaseFault as fault:
        ui.show_fault(fault)
    except DBAPIError as error:
        ui.show_fault(error, writes_as if faults.in_write_unit(error) else "read")


language_switch()
signed_in = None  # stays None when the login gate could not read the database (its message is shown)
with page_guard():
    ui.demo_badge()
    signed_in = login_gate() is not None
if signed_in is False:
    with page_guard(writes_as="login"):
        st.navigation([st.Page("pages/login.py", title=ui.t("access.login.nav"), icon=":material/login:",
                               url_path="login", default=True)], position="hidden").run()
elif signed_in:
    with page_guard():
        navigation().run()
