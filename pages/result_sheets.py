"""Result sheets: a one-page summary per government or cluster to print (or save as PDF) for a validation workshop."""

from __future__ import annotations

import functools

import streamlit as st

from assessments import formatting as fmt
from assessments import pdf_sheets, progress, progress_sheets
from assessments.i18n import LANGUAGES, translator
from pages import _progress_filters as filters_widget
from pages import ui

# A constant stylesheet (no user text): when printing, only the sheet is left on the page.
PRINT_STYLE = """
<style>
@media print {
  @page { size: A4; margin: 12mm; }
  [data-testid="stSidebar"], [data-testid="stHeader"], [data-testid="stToolbar"],
  [data-testid="stDecoration"], .st-key-sheet_controls, [data-testid="stDownloadButton"],
  [data-testid="stExpander"], [data-testid="stElementToolbar"], .stSelectbox, .stSegmentedControl,
  [data-testid="stBaseButton-secondary"], [data-testid="stPageLink"] { display: none !important; }
  [data-testid="stMain"] { padding: 0 !important; }
  .block-container { padding: 0 !important; max-width: 100% !important; }
  [data-testid="stVerticalBlock"] { gap: 0.4rem !important; }
  .js-plotly-plot { page-break-inside: avoid; }
}
</style>
"""

t = ui.t
st.markdown(PRINT_STYLE, unsafe_allow_html=True)
page_controls = st.container(key="sheet_controls")  # hidden when printing
page_controls.title(t("nav.result_sheets"))
page_controls.caption(t("progress.sheet.caption"))

controls = page_controls.columns([1.3, 3, 1.7, 1])
kind_names = {k: t(f"common.{k}") for k in ("government", "cluster")}
kind = controls[0].segmented_control(
    t("progress.sheet.kind"), options=list(kind_names), format_func=kind_names.get,
    default="cluster" if st.query_params.get("cluster") and not st.query_params.get("gov") else "government",
    key="sheets.kind",
) or "government"
pairs = [f"{a}-{b}" for a, b in progress.ROUND_PAIRS]
wanted_pair = st.query_params.get("rounds")
pair_names = {p: t("progress.filter.pair", before=t(f"round.{p.split('-')[0]}"), after=t(f"round.{p.split('-')[1]}"))
              for p in pairs}
pair = controls[2].selectbox(
    t("progress.filter.rounds"), options=pairs, index=pairs.index(wanted_pair) if wanted_pair in pairs else 0,
    format_func=pair_names.get,
    key="sheets.rounds",
)
from_round, to_round = pair.split("-")
sheet_lang = controls[3].selectbox(t("progress.sheet.language"), options=list(LANGUAGES), index=list(LANGUAGES).index(ui.lang()),
                                   format_func={"es": "Español", "en": "English"}.get, key="sheets.lang")
ts = translator(sheet_lang)

with controls[1]:
    if kind == "government":
        choices = ui.read(filters_widget.queries.governments, progress.Filters(from_round=from_round, to_round=to_round))
        options = list(choices["government_id"].astype(str))
        labels = dict(zip(options, [f"{u} · {n}" for u, n in zip(choices["ubigeo"], choices["government"])]))
        wanted = st.query_params.get("gov")
    else:
        clusters = ui.read(filters_widget.queries.filter_choices)["clusters"]
        options = list(clusters["id"])
        labels = dict(zip(options, clusters["name"]))
        wanted = st.query_params.get("cluster")
    if not options:
        st.info(t("progress.sheet.none"))
        st.stop()
    chosen = st.selectbox(t(f"common.{kind}"), options=options, format_func=labels.get,
                          index=options.index(wanted) if wanted in options else 0, key=f"sheets.{kind}")

if kind == "government":
    sheet = ui.read(progress_sheets.government_sheet, chosen, from_round, to_round)
else:
    sheet = ui.read(progress_sheets.cluster_sheet, chosen, from_round, to_round)
if sheet is None:
    st.info(t("progress.sheet.none"))
    st.stop()

page_html = progress_sheets.sheet_html(sheet, sheet_lang)
name = labels.get(chosen, "sheet")
safe_name = "".join(c if c.isalnum() else "_" for c in name)[:60]
with page_controls:
    # the A4 PDF is made here, with no browser and no network (assessments/pdf_sheets.py)
    pdf_file = f"{ts('progress.sheet.file')}_{safe_name}_{sheet_lang}.pdf"
    pdf_buttons = st.columns(3)
    if kind == "government":
        pdf_buttons[0].download_button(
            t("print.download.government"), type="primary", key="sheets.download_pdf", mime="application/pdf",
            file_name=pdf_file, data=ui.read(pdf_sheets.government_pdf, chosen, from_round, to_round, sheet_lang,
                                             fmt.today()))
    else:
        pdf_buttons[0].download_button(
            t("print.download.cluster"), type="primary", key="sheets.download_pdf", mime="application/pdf",
            file_name=pdf_file, data=ui.read(pdf_sheets.cluster_pdf, chosen, from_round, to_round, sheet_lang,
                                             fmt.today()))
        pdf_buttons[1].download_button(
            t("print.download.pack"), key="sheets.download_pack", mime="application/pdf",
            file_name=f"{ts('progress.sheet.file')}_{safe_name}_{ts('print.file.pack')}_{sheet_lang}.pdf",
            data=functools.partial(pdf_sheets.cluster_pdf, chosen, from_round, to_round, sheet_lang, fmt.today(),
                                   with_governments=True))
    pdf_buttons[2].download_button(t("progress.sheet.download"), data=page_html.encode("utf-8"),
                                   file_name=f"{ts('progress.sheet.file')}_{safe_name}_{sheet_lang}.html",
                                   mime="text/html", key="sheets.download")
    st.caption(t("print.download.caption"))
    st.caption(t("progress.sheet.print_hint"))
    st.divider()

# The sheet itself, in the sheet's language: user text (cluster and service names, plan items) only as
# inert text: st.text, or through ui.plain in the heading and in st.table, which reads Markdown.
def sheet_header(kind_key: str, title: str, facts: list[str], figure) -> None:
    st.caption(ts(kind_key))
    st.subheader(ui.plain(title), anchor=False)
    for fact in facts:
        st.text(fact)
    st.plotly_chart(figure, width="stretch", config={"displayModeBar": False}, key="sheets.figure")


def sheet_table(heading: str, frame) -> None:
    """A heading and a table keyed on its first column."""
    st.markdown(f"**{ui.plain(heading)}**")
    inert = frame.rename(columns=lambda c: ui.plain(c)).map(lambda v: ui.plain(v) if isinstance(v, str) else v)
    st.table(inert.set_index(inert.columns[0]) if not inert.empty else inert)


if kind == "government":
    tables = progress_sheets.government_tables(sheet, sheet_lang)
    sheet_header("progress.sheet.kind_government", sheet.government["government"],
                 progress_sheets.government_facts(sheet, sheet_lang), progress_sheets.government_figure(sheet, sheet_lang))
    sheet_table(ts("progress.sheet.areas"), tables["areas"])
    sheet_table(ts("progress.sheet.plan"), tables["plan"])
else:
    tables = progress_sheets.cluster_tables(sheet, sheet_lang)
    sheet_header("progress.sheet.kind_cluster", sheet.cluster["name"],
                 progress_sheets.cluster_facts(sheet, sheet_lang), progress_sheets.cluster_figure(sheet, sheet_lang))
    sheet_table(ts("progress.sheet.members"), tables["members"])
    left, right = st.columns(2)
    with left:
        sheet_table(ts("progress.sheet.plan"), tables["plan"])
    with right:
        sheet_table(ts("progress.sheet.qsip", cycle=sheet.qsip_cycle or "—"), tables["qsip"])
st.caption(ts("progress.sheet.footer", date=fmt.date(fmt.today(), sheet_lang)))
