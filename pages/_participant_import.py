"""The workshop's participant tools under the register: undo of the last removal, and a list import.

A list pasted from a spreadsheet or uploaded as CSV/XLSX goes in one all-or-nothing step
(``assessments.focas.import_participants``); a refused list is reported line by line, in the user's language.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from assessments import focas
from assessments import participant_list as plist
from assessments.errors import DomainError
from db.engine import run_save
from pages import _removals as removals
from pages import ui

REPORT = "participant_import.report"  # {assessment id: message} shown once after a successful import


def scope(assessment_id) -> str:
    """The removals scope of one workshop's participants (the edit form removes into it)."""
    return f"focas.participants.{assessment_id}"


def section(*, assessment_id, editable: bool, blocked: bool, reason: str | None) -> None:
    """Undo of the last participant removal, then the import expander (nothing for read-only actors)."""
    t = ui.t
    if blocked:
        return
    removals.undo_offer(scope(assessment_id), reason=reason, enabled=editable)
    done = st.session_state.get(REPORT, {}).pop(str(assessment_id), None)
    if done:
        st.success(done, icon=":material/group_add:")
    generation = st.session_state.get(f"participant_import.gen.{assessment_id}", 0)
    base = f"participant_import.{assessment_id}.{generation}"
    with st.expander(t("participant_import.title"), expanded=False):
        st.caption(t("participant_import.help"))
        text = st.text_area(t("participant_import.paste"), key=f"{base}.text", height=160,
                            placeholder=t("participant_import.paste_placeholder"), disabled=not editable)
        upload = st.file_uploader(t("participant_import.file"), type=["csv", "xlsx", "txt"], key=f"{base}.file",
                                  disabled=not editable)
        if not st.button(t("participant_import.button"), key=f"{base}.go", type="primary", disabled=not editable):
            return
        try:
            rows = plist.parse_upload(upload.getvalue()) if upload is not None else plist.parse_text(text)
            source = ("xlsx" if upload.name.lower().endswith(".xlsx") else "csv") if upload is not None else "paste"
            # a transient conflict is retried; a database fault is a DomainError shown below
            report = run_save(lambda session: focas.import_participants(
                session=session, actor=ui.actor(), assessment_id=assessment_id, rows=rows, source=source,
                reason=reason))
        except focas.ImportRefused as refused:
            st.error(ui.t(refused.key, **refused.params), icon=":material/error:")
            lines = refused.lines(ui.lang())
            st.dataframe(pd.DataFrame(lines, columns=[t("participant_import.col.line"),
                                                      t("participant_import.col.problem")]),
                         hide_index=True, width="stretch", key=f"{base}.problems")
            return
        except DomainError as error:
            ui.show_error(error)
            return
    shown = ", ".join(report.codes[:12]) + (" …" if len(report.codes) > 12 else "")
    st.session_state.setdefault(REPORT, {})[str(assessment_id)] = ui.tp("participant_import.done", len(report.codes),
                                                                     codes=ui.plain(shown))
    st.session_state[f"participant_import.gen.{assessment_id}"] = generation + 1  # a fresh, empty field
    st.rerun()
