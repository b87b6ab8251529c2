"""Page under construction in this session (replaced by its issue's work)."""

import streamlit as st

from pages import ui

st.title(ui.t("nav.focas_workshop"))
