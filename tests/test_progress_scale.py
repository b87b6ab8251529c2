"""National-scale tables: one page of rows is sent, the CSV (every row) is written only on download."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def _paged_table() -> None:
    import pandas as pd

    from pages import ui

    frame = pd.DataFrame({"ubigeo": [f"{i:06d}" for i in range(1918)], "change": [i / 10 for i in range(1918)]})
    ui.table(frame, file_name="all.csv", key="t", page_rows=50)


def test_long_table_is_sent_one_page_at_a_time():
    at = AppTest.from_function(_paged_table)
    at.session_state["lang"] = "en"
    at.run()
    assert not at.exception
    assert len(at.dataframe) == 1 and len(at.dataframe[0].value) == 50
    assert at.dataframe[0].value["ubigeo"].iloc[0] == "000000"
    assert at.caption[0].value == "Rows 1–50 of 1918"
    at.number_input(key="t_page").set_value(39).run()
    assert list(at.dataframe[0].value["ubigeo"]) == [f"{i:06d}" for i in range(1900, 1918)]
    assert at.caption[0].value == "Rows 1901–1918 of 1918"
