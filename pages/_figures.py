"""Chart figures built once per content for the progress pages (Avance, Portafolio).

Building a plotly figure object validates every property (and converts every pandas column), which
cost most of a warm run of these pages; ``st.plotly_chart`` then validates it again. Here each figure
is built by its ``assessments.charts`` function once per distinct input (the cache hashes the frames
and options), kept as the plain dict plotly would send, and handed to ``ui.chart`` as that dict.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from assessments import charts


@st.cache_data(show_spinner=False, max_entries=256)
def _built(name: str, args: tuple, kwargs: tuple) -> dict:
    return getattr(charts, name)(*args, **dict(kwargs)).to_dict()


def drawn(builder: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    """``builder(*args, **kwargs)`` (a function of assessments.charts) as a figure dict, cached by its inputs."""
    figure = _built(builder.__name__, args, tuple(sorted(kwargs.items())))
    if not figure.get("data"):
        import plotly.graph_objects as go

        return go.Figure(figure)  # an empty chart ("no data" note): plotly refuses it as a dict
    return figure


def vega_chart(spec: dict, frame, *, file_name: str, key: str) -> None:
    """A Vega-Lite chart (``assessments.charts.vl_*``) with its table behind an expander, like ``ui.chart``:
    the table is built and sent one page at a time, and only once the person opens the expander."""
    from pages import ui

    st.vega_lite_chart(spec=spec, width="stretch", key=key, alt=spec.get("title", {}).get("text"))
    shelf = st.expander(ui.t("common.show_data"), key=f"{key}_data", on_change="rerun")
    with shelf:
        if shelf.open:
            ui.table(frame, file_name=f"{file_name}.csv", key=f"{key}_table", page_rows=ui.TABLE_PAGE_ROWS)
