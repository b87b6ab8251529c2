"""What every page shares: the language, the acting user, cached reads, errors and table downloads."""

from __future__ import annotations

import dataclasses
import importlib
import logging
import re
from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st
from sqlalchemy.exc import DBAPIError

from assessments.access import ANONYMOUS, LOCAL_USER, ROLE_ORDER, WRITE_ACTIONS, Actor, can
from assessments.errors import DomainError
from assessments.i18n import DEFAULT_LANGUAGE, LANGUAGES, translate_plural, translator
from assessments.snapshot import formula_safe_csv  # every CSV download: "=HYPERLINK(…)" stays inert text
from db.audit import data_version
from db.config import load_settings
from db.engine import read_session, retrying
from db.faults import DatabaseFault, fault_of

_LOG = logging.getLogger("focas.db_faults")
LANG_KEY = "lang"
ACTOR_KEY = "actor"


def lang() -> str:
    """The chosen language: session state, else the ``?lang=`` query parameter, else Spanish."""
    if LANG_KEY not in st.session_state:
        from_query = st.query_params.get(LANG_KEY)
        st.session_state[LANG_KEY] = from_query if from_query in LANGUAGES else DEFAULT_LANGUAGE
    return st.session_state[LANG_KEY]


def t(key: str, /, **params: object) -> str:
    return translator(lang())(key, **params)


def tp(key: str, n: object, /, **params: object) -> str:
    """The plural form of ``key`` for the count ``n`` in the chosen language ("1 participante", "2 participantes")."""
    return translate_plural(key, n, lang(), **params)


DOCUMENT_LANG_KEY = "document_lang"


def document_language() -> None:
    """Set the page's ``<html lang>`` to the chosen language, so screen readers, spell checkers and the
    browser's translation offer read Spanish as Spanish. Streamlit has no API for it: a constant
    script, only the two-letter code (one of LANGUAGES) changes, in a container that takes no room."""
    code = lang() if lang() in LANGUAGES else DEFAULT_LANGUAGE
    st.html(f"<style>.st-key-{DOCUMENT_LANG_KEY} {{ display: none; }}</style>")
    with st.container(key=DOCUMENT_LANG_KEY):
        st.html(f'<script>document.documentElement.setAttribute("lang", "{code}");</script>',
                unsafe_allow_javascript=True)


def actor() -> Actor:
    """The acting user every service call receives.

    dashboard.py's login gate puts the logged-in account (or the local user when login is off) in
    the session. A page run on its own under AppTest acts as the local user; in the served app,
    nobody logged in means ANONYMOUS, whom every service refuses.
    """
    current = st.session_state.get(ACTOR_KEY)
    if current is not None:
        return current
    from streamlit import config as streamlit_config  # AppTest patches this module's get_option only

    if streamlit_config.get_option("global.appTest"):
        return LOCAL_USER
    return ANONYMOUS


_CHOICE_SERDES = {"SelectboxSerde", "MultiSelectSerde", "RadioSerde", "SelectSliderSerde"}
RELABEL_KEY = "lang.relabel"


def relabel_choices() -> int:
    """Re-send every keyed choice widget's value so the browser shows its label in the new language.

    A keyed selectbox keeps the label it was chosen with in the browser (Streamlit 1.67 sends the
    formatted label, not the option); writing the value back through session state makes Streamlit
    send it again, formatted by this run's translated ``format_func``. Only choice widgets are
    touched (their serde class tells them apart); returns how many were re-sent.
    """
    from streamlit.runtime.state import get_session_state  # the widget registry: which key is a choice widget

    registry = getattr(get_session_state(), "_state", None)
    if registry is None or not hasattr(registry, "get_widget_id_from_key"):
        return 0
    sent = 0
    for key in list(st.session_state.keys()):
        widget_id = registry.get_widget_id_from_key(str(key))
        metadata = registry.get_widget_metadata(widget_id) if widget_id else None
        serde = getattr(getattr(metadata, "deserializer", None), "__self__", None)
        if type(serde).__name__ in _CHOICE_SERDES:
            st.session_state[key] = st.session_state[key]
            sent += 1
    return sent


def remembered(value_key: str, param: str, options: list) -> Any:
    """A choice kept across page switches (session state) and browser reloads (the ``?param=`` of the URL).

    Returns the remembered option, or None when nothing remembered is among ``options``.
    """
    current = st.session_state.get(value_key)
    if current in options:
        return current
    from_url = st.query_params.get(param)
    return next((option for option in options if str(option) == from_url), None)


def remember(value_key: str, param: str, value: Any) -> None:
    """Keep ``value`` for ``remembered``: in the session, and in the URL so a reload comes back to it."""
    st.session_state[value_key] = value
    if st.query_params.get(param) != str(value):
        st.query_params[param] = str(value)


def read_only_reason(who: Actor, action: str) -> str:
    """Why ``who`` sees this page read-only, in one short line (roles_ui catalog)."""
    allowed = WRITE_ACTIONS[action]
    if who.role in allowed:  # the role may write, only not in this cluster
        return t("roles_ui.read_only.cluster")
    if who.role == "evaluator":
        return t("roles_ui.read_only.evaluator")
    if who.role not in ROLE_ORDER:
        return t("roles_ui.read_only.anonymous")
    labels = [t(f"access.role.{role}").lower() for role in ROLE_ORDER if role in allowed]
    roles = f" {t('roles_ui.or')} ".join([", ".join(labels[:-1]), labels[-1]] if len(labels) > 1 else labels)
    return t("roles_ui.read_only.role", role=t(f"access.role.{who.role}").lower(), roles=roles)


def can_write(action: str, *, cluster_id: Any = None) -> bool:
    """Whether the acting user may perform ``action`` here; if not, one info line says why.

    Pages show their data read-only (no write controls) when this is False; the service's
    ``require`` stays the rule, this only spares the user a refusal after typing.
    """
    who = actor()
    if can(who, action, cluster_id=cluster_id):
        return True
    st.info(read_only_reason(who, action), icon=":material/visibility:")
    return False


def current_data_version() -> int:
    with read_session() as session:
        return data_version(session)


@st.cache_data(show_spinner=False, max_entries=512)
def _cached_call(module: str, name: str, version: int, database_url: str, args: tuple, kwargs: tuple) -> Any:
    function = getattr(importlib.import_module(module), name)
    return function(*args, **dict(kwargs))


def read(function: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    """Call a read service through the cache; any committed write (any process) invalidates it.

    The key holds the database's data version, which every write service bumps in its transaction,
    so a manager never sees numbers older than the last save. A database fault (locked, timed out,
    unreachable) is raised as a ``DatabaseFault`` with its translated message: ``attempt`` shows it,
    and so does dashboard.py's page guard, which stops only this page (db/faults.py).
    """
    try:
        return _cached_call(
            function.__module__,
            function.__qualname__,
            current_data_version(),
            load_settings().database_url,
            args,
            tuple(sorted(kwargs.items())),
        )
    except DBAPIError as error:
        raise DatabaseFault.of(error) from error


_MARKDOWN_SIGNS = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~:$=^&])")
_BARE_LINK = re.compile(r"(?i)(https?|ftp|www|mailto|xmpp|@)(?=[:./\w])")


def plain(text: object) -> str:
    """User-typed text made inert for every element that reads Markdown (st.markdown, st.caption,
    st.subheader, st.info/warning/error/success, expander and tab labels): no link, image, HTML,
    emphasis, heading, list, emoji or colour directive; each sign shows as typed. None is "".

    Use it on every user-provided string (cluster, government-typed names, places, notes, ...) put in
    such an element; tables (st.dataframe), choice options and plain ``st.text`` need nothing.
    """
    if text is None:
        return ""
    # escapes do not stop GitHub-style bare links (http://…, www.…, a@b.c: found in the rendered text), so
    # an invisible word joiner (U+2060) goes where such a link would start
    text = _BARE_LINK.sub("\\1\u2060", str(text))
    return _MARKDOWN_SIGNS.sub(r"\\\1", text).replace("\n", "  \n")


def message_of(notice: Any) -> str:
    """A DomainError's or RuleWarning's translated message, every text parameter (a name someone typed)
    made inert, for st.error / st.warning / st.success."""
    params = {name: plain(value) if isinstance(value, str) else value for name, value in notice.params.items()}
    if dataclasses.is_dataclass(notice):
        return dataclasses.replace(notice, params=params).message(lang())
    inert = type(notice).__new__(type(notice))
    inert.__dict__.update(notice.__dict__)
    inert.params = params
    return inert.message(lang())


def show_error(error: DomainError) -> None:
    st.error(message_of(error), icon=":material/error:")


def show_fault(error: BaseException, action: str | None = None) -> None:
    """A database fault (the driver's error or a DatabaseFault) as its translated message; the traceback
    goes to the server's log for the administrator, never to the page."""
    fault = fault_of(error, action) or DatabaseFault("db_faults.read.other")
    _LOG.warning("database fault (%s): %s", fault.kind, fault.__cause__ or error)
    show_error(fault)


def attempt(work: Callable[[], Any], *, success: str | None = None) -> Any:
    """Run a service call; show its translated error instead of a traceback. Returns None on error.

    A transient database conflict (locked, lock timeout, serialization failure, deadlock) is retried
    with backoff (db.engine.retrying; never once a write unit of ``work`` committed); a fault that
    remains (or a read-only or full database) is shown translated, nothing of the unit is saved, and
    the page's widgets keep what the user typed (no rerun, nothing cleared).
    """
    try:
        result = retrying(work)
    except DomainError as error:
        show_error(error)
        return None
    except DBAPIError as error:
        show_fault(error)
        return None
    if success:
        st.success(t(success))
    return result


def table(frame: pd.DataFrame, *, file_name: str, key: str, column_labels: dict[str, str] | None = None,
          page_rows: int | None = None) -> None:
    """A read-only table with a CSV download of exactly what is shown (labels in the chosen language).

    With ``page_rows``, a longer table is sent one page of rows at a time (a page picker under it) and
    its CSV (every row) is written only when the download is clicked: a national table of thousands of
    rows is neither sent to the browser nor encoded on every run.
    """
    shown = frame.rename(columns=column_labels or {})
    if page_rows is None or len(shown) <= page_rows:
        st.dataframe(shown, hide_index=True, placeholder="—", width="stretch")
    else:
        pages = -(-len(shown) // page_rows)
        page = st.session_state.get(f"{key}_page", 1)
        page = page if isinstance(page, int) and 1 <= page <= pages else 1
        first = (page - 1) * page_rows
        st.dataframe(shown.iloc[first:first + page_rows], hide_index=True, placeholder="—", width="stretch")
        left, right = st.columns([1, 3], vertical_alignment="center")
        left.number_input(t("common.table_page", pages=pages), min_value=1, max_value=pages, value=page, step=1,
                          key=f"{key}_page")
        right.caption(t("common.table_rows", first=first + 1, last=min(first + page_rows, len(shown)),
                        total=len(shown)))
    data = formula_safe_csv(shown) if page_rows is None else (lambda: formula_safe_csv(shown))
    st.download_button(
        t("common.download_csv"),
        data=data,
        file_name=file_name,
        mime="text/csv",
        key=f"{key}_csv",
        on_click="ignore" if page_rows is not None else "rerun",
    )


TABLE_PAGE_ROWS = 50


def chart(figure, frame: pd.DataFrame, *, file_name: str, key: str, lazy_table: bool = False) -> None:
    """A plotly chart with its table behind an expander, a CSV download and PNG export (modebar).

    With ``lazy_table`` the table is built and sent only once the person opens the expander (and then
    one page of rows at a time); closed, it costs nothing on a run.
    """
    st.plotly_chart(
        figure,
        width="stretch",
        key=key,
        config={"displaylogo": False, "toImageButtonOptions": {"format": "png", "filename": file_name}},
    )
    if not lazy_table:
        with st.expander(t("common.show_data")):
            table(frame, file_name=f"{file_name}.csv", key=f"{key}_table")
        return
    shelf = st.expander(t("common.show_data"), key=f"{key}_data", on_change="rerun")
    with shelf:
        if shelf.open:
            table(frame, file_name=f"{file_name}.csv", key=f"{key}_table", page_rows=TABLE_PAGE_ROWS)


def demo_badge() -> None:
    from db.setup import is_demo_database

    if read(is_demo_database):
        st.sidebar.warning(t("common.demo_banner"), icon=":material/science:")
