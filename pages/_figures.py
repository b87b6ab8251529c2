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
