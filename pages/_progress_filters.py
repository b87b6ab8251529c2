"""The filters the progress views share (department, cluster, wave, level, sector, rounds), and page links.

Values live in session state under keys of their own (widget keys are dropped when a page is left)
and in the URL's query parameters, so a link such as ``/progress?dept=22&view=targets`` opens the
detail already filtered, and a filtered view can be bookmarked or sent to a colleague.
"""

from __future__ import annotations

from urllib.parse import urlencode

import streamlit as st
from streamlit.errors import StreamlitAPIException

from assessments import progress
from db.queries import progress as queries
from pages import ui

# filter field → (query parameter, parser)
PARAMS = {
    "department": "dept",
    "cluster_id": "cluster",
    "wave": "wave",
    "level": "level",
    "sector": "sector",
}
ROUND_PARAM = "rounds"
WAVES = (1, 2, 3)
ALL = ""  # the "all" option: a None option would show as an empty selectbox placeholder
LEVELS = ("regional", "provincial", "district")
SECTORS = ("health", "education", "environment")


def _value_key(field: str) -> str:
    return f"progress_filter_value.{field}"


def _widget_key(field: str) -> str:
    return f"progress_filter.{field}"


def _from_query(field: str, raw: str | None, allowed: list) -> object:
    if raw is None:
        return None
    if field == "wave":
        try:
            raw = int(raw)
        except ValueError:
            return None
    return raw if raw in allowed and raw != ALL else None


def _url_key(field: str) -> str:
    return f"progress_filter_url.{field}"


def _choose(field: str, label: str, options: list, format_func) -> object:
    """One filter. A URL value this session did not write itself (a link, a bookmark) wins; otherwise
    the widget's value, else the value remembered from another page, else "all"."""
    widget = _widget_key(field)
    param = PARAMS.get(field, ROUND_PARAM)
    raw = st.query_params.get(param)
    from_url = _from_query(field, raw, options)
    if raw is not None and raw != st.session_state.get(_url_key(field)) and from_url is not None:
        start = from_url
    elif widget in st.session_state and st.session_state[widget] in options:
        start = st.session_state[widget]
    else:
        remembered = st.session_state.get(_value_key(field))
        start = remembered if remembered in options else options[0]
    st.session_state[widget] = start
    # labels computed now: AppTest (and Streamlit) may call format_func outside this script run
    labels = {option: format_func(option) for option in options}
    value = st.selectbox(label, options=options, format_func=labels.__getitem__, key=widget)
    st.session_state[_value_key(field)] = value
    if value == ALL or (field == "rounds" and value == options[0]):
        st.session_state[_url_key(field)] = None
        if param in st.query_params:
            del st.query_params[param]
    else:
        st.session_state[_url_key(field)] = str(value)
        st.query_params[param] = str(value)
    return None if value == ALL else value


def show(*, with_rounds: bool = True) -> progress.Filters:
    """Draw the filters in one row and return them (a hashable ``Filters``)."""
    t = ui.t
    choices = ui.read(queries.filter_choices)
    departments = dict(zip(choices["departments"]["code"], choices["departments"]["name"]))
    columns = st.columns([1, 1, 0.7, 1, 1, 1.5] if with_rounds else 5)
    every = t("common.all")
    with columns[0]:
        department = _choose("department", t("common.department"), [ALL, *departments],
                             lambda c: every if c == ALL else departments.get(c, c))
    clusters = choices["clusters"]
    if department:
        clusters = clusters.loc[clusters["department_code"] == department]
    with columns[2]:
        wave = _choose("wave", t("common.wave"), [ALL, *WAVES], lambda w: every if w == ALL else str(w))
    if wave:
        clusters = clusters.loc[clusters["wave"] == wave]
    cluster_names = dict(zip(clusters["id"], clusters["name"]))
    with columns[1]:
        cluster = _choose("cluster_id", t("common.cluster"), [ALL, *cluster_names],
                          lambda c: every if c == ALL else cluster_names.get(c, c))
    with columns[3]:
        level = _choose("level", t("common.level"), [ALL, *LEVELS],
                        lambda v: every if v == ALL else t(f"level.{v}"))
    with columns[4]:
        sector = _choose("sector", t("common.sector"), [ALL, *SECTORS],
                         lambda v: every if v == ALL else t(f"sector.{v}"))
    from_round, to_round = "baseline", "midpoint"
    if with_rounds:
        pairs = [f"{a}-{b}" for a, b in progress.ROUND_PAIRS]
        with columns[5]:
            pair = _choose("rounds", t("progress.filter.rounds"), pairs,
                           lambda p: t("progress.filter.pair", before=t(f"round.{p.split('-')[0]}"),
                                       after=t(f"round.{p.split('-')[1]}")))
        from_round, to_round = pair.split("-")
    return progress.Filters(department=department, cluster_id=cluster, wave=wave, level=level, sector=sector,
                            from_round=from_round, to_round=to_round)


def query_params(filters: progress.Filters, **extra: object) -> dict[str, str]:
    """The URL parameters that reopen ``filters`` (plus ``extra``, e.g. view=targets)."""
    params = {PARAMS[f]: str(getattr(filters, f)) for f in PARAMS if getattr(filters, f)}
    if (filters.from_round, filters.to_round) != progress.ROUND_PAIRS[0]:
        params[ROUND_PARAM] = f"{filters.from_round}-{filters.to_round}"
    params.update({k: str(v) for k, v in extra.items() if v is not None})
    params[ui.LANG_KEY] = ui.lang()
    return params


def link(page: str, url_path: str, label: str, params: dict[str, str], *, icon: str = ":material/arrow_forward:") -> None:
    """A link to another page with query parameters (a plain link when the page runs alone, as in tests)."""
    try:
        st.page_link(page, label=label, icon=icon, query_params=params)
    except StreamlitAPIException:
        st.markdown(f"{icon} [{label}](/{url_path}?{urlencode(params)})")
