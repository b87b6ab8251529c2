"""Snapshots: CSV/XLSX export for evaluators, merging field laptops, and XLSForm for KoboToolbox and ODK."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from assessments import access, snapshot, xlsform
from assessments.scoring import ROUNDS
from db import instruments
from db.config import load_settings
from db.engine import write_session
from db.queries import scope as read_scope
from db.queries import snapshot as snapshot_queries
from pages import ui

t = ui.t
st.title(t("snapshot.title"))
st.caption(t("snapshot.caption"))
export_tab, import_tab, xlsform_tab = st.tabs([t("snapshot.tab.export"), t("snapshot.tab.import"),
                                               t("snapshot.tab.xlsform")])
REPORT_LABELS = {"table": t("snapshot.report.table"), "added": t("snapshot.report.added"),
                 "skipped": t("snapshot.report.skipped"), "updated": t("snapshot.report.updated"),
                 "conflicts": t("snapshot.report.conflicts"), "blocked": t("snapshot.report.blocked"),
                 "refused": t("snapshot_traps.report.refused")}
CONFLICT_LABELS = {"key": t("snapshot.report.key"), "table": t("snapshot.report.table"),
                   "kind": t("snapshot.report.kind"), "column": t("snapshot.report.column"),
                   "local": t("snapshot.report.local"), "incoming": t("snapshot.report.incoming")}
MAX_UPLOAD_BYTES = load_settings().max_upload_mb * 1_048_576


def export_section() -> None:
    if not access.can(ui.actor(), "snapshot.export"):
        st.info(t("snapshot.export.denied"))
        return
    choices = ui.read(snapshot_queries.export_choices, ui.actor())
    departments = dict(choices["departments"])
    left, middle, right = st.columns(3)
    everything = t("snapshot.filter.all")
    department_labels = {None: everything, **{c: f"{n} ({c})" for c, n in departments.items()}}
    department = left.selectbox(t("snapshot.filter.department"), options=list(department_labels),
                                format_func=department_labels.get, key="snapshot.department")
    clusters = {None: everything, **{cid: name for cid, name, dep, _ in choices["clusters"]
                                     if department in (None, dep)}}
    cluster = middle.selectbox(t("snapshot.filter.cluster"), options=list(clusters), format_func=clusters.get,
                               key="snapshot.cluster")
    rounds = {None: everything, **{r: t(f"round.{r}") for r in ROUNDS}}
    round_ = right.selectbox(t("snapshot.filter.round"), options=list(rounds), format_func=rounds.get,
                             key="snapshot.round")
    filters = snapshot_queries.Filters(department_code=department, cluster_id=cluster, round=round_)
    if not filters.is_empty():
        st.caption(t("snapshot.filter.note"))
    if read_scope.readable_clusters(ui.actor()) is not None:
        st.caption(t("read_scope.snapshot.own_clusters"))
    bom = st.checkbox(t("snapshot.option.bom"), value=True, key="snapshot.bom")
    xlsx = st.checkbox(t("snapshot.option.xlsx"), value=False, key="snapshot.xlsx")
    drafts = st.checkbox(t("snapshot_traps.option.drafts"), value=False, key="snapshot.drafts",
                         help=t("snapshot_traps.option.drafts_help"))
    # names reach administrators and managers only, and every export is audited
    if read_scope.exports_names(ui.actor()):
        names = st.checkbox(t("read_scope.snapshot.names"), value=True, key="snapshot.names",
                            help=t("read_scope.snapshot.names_help"))
    else:
        names = False
        st.caption(t("read_scope.snapshot.pseudonymised"))
    built_for = (department, cluster, round_, bom, xlsx, names, drafts)
    if st.button(t("snapshot.prepare"), type="primary", key="snapshot.prepare"):
        bar = st.progress(0.0, text=t("snapshot.preparing", label="…"))

        def progress(fraction: float, label: str) -> None:
            bar.progress(fraction, text=t("snapshot.preparing", label=label))

        result = ui.attempt(lambda: snapshot.export_bytes(actor=ui.actor(), filters=filters, bom=bom, xlsx=xlsx,
                                                          progress=progress, names=names,
                                                          drafts=drafts))
        bar.empty()
        st.session_state["snapshot.export_result"] = result
        st.session_state["snapshot.export_for"] = built_for
    result = st.session_state.get("snapshot.export_result")
    if not result:
        return
    # a file belongs to the filters and options it was built with: once they change it is not offered
    if st.session_state.get("snapshot.export_for") != built_for:
        st.session_state.pop("snapshot.export_result", None)
        st.session_state.pop("snapshot.export_for", None)
        st.info(t("snapshot_traps.export.stale"))
        return
    data, manifest = result
    files = manifest["files"]
    total = sum(info["rows"] or 0 for info in files.values())
    st.success(t("snapshot.ready", files=len(files) + 1, rows=total))
    if manifest.get("personal_data", {}).get("names") == "withheld":
        st.caption(t("read_scope.snapshot.withheld", columns=", ".join(manifest["personal_data"]["withheld"])))
    st.download_button(t("snapshot.download"), data=data, file_name=snapshot.file_name(manifest),
                       mime="application/zip", type="primary", key="snapshot.download")
    with st.expander(t("snapshot.manifest_table")):
        frame = pd.DataFrame([{t("snapshot.col_file"): name, t("snapshot.col_rows"): info["rows"],
                               t("snapshot.col_sha"): info["sha256"]} for name, info in files.items()])
        st.dataframe(frame, hide_index=True, placeholder="—", width="stretch")


def run_import(data: bytes, take: list[str]) -> None:
    def work():  # a refused file is audited (import_refused)
        return snapshot.run_import(data, actor=ui.actor(), take_incoming=take, max_bytes=MAX_UPLOAD_BYTES)

    st.session_state.pop("snapshot.import_report", None)  # never show an older file's report under an error
    report = ui.attempt(work)
    if report is not None:
        st.session_state["snapshot.import_report"] = report


def import_section() -> None:
    if not access.can(ui.actor(), "snapshot.import"):
        st.info(t("snapshot.import.denied"))
        return
    st.caption(t("snapshot.import.help"))
    upload = st.file_uploader(t("snapshot.import.upload"), type=["zip"], key="snapshot.upload")
    if upload is not None and st.button(t("snapshot.import.button"), type="primary", key="snapshot.import"):
        st.session_state["snapshot.import_bytes"] = upload.getvalue()
        st.session_state["snapshot.import_file"] = upload.file_id
        run_import(st.session_state["snapshot.import_bytes"], [])
    report = st.session_state.get("snapshot.import_report")
    # a report belongs to the file it came from: another file (or none) in the uploader hides it
    if report is None or upload is None or upload.file_id != st.session_state.get("snapshot.import_file"):
        return
    counts = {name: report.total(name) for name in ("added", "skipped", "updated", "conflicts")}
    if counts["added"] + counts["updated"] == 0 and not counts["conflicts"]:
        st.info(t("snapshot.import.nothing"))
    elif counts["conflicts"]:
        st.warning(t("snapshot.import.done", **counts))
    else:
        st.success(t("snapshot.import.done", **counts))
    if report.refused:
        st.warning(t("snapshot_traps.import.refused", n=len(report.refused)))
        st.dataframe(report.refused_frame(ui.lang()).rename(columns={
            "table": t("snapshot.report.table"), "record_id": t("snapshot_traps.col.record"),
            "reason": t("snapshot_traps.col.reason")}), hide_index=True, placeholder="—", width="stretch")
    with st.expander(t("snapshot.import.per_table"), expanded=not report.conflicts):
        st.dataframe(report.as_frame().rename(columns=REPORT_LABELS), hide_index=True, placeholder="—", width="stretch")
    if not report.conflicts:
        return
    st.subheader(t("snapshot.import.conflicts"))
    st.caption(t("snapshot.import.conflicts_help"))
    frame = report.conflicts_frame().drop(columns=["record_id"])
    frame["kind"] = frame["kind"].map(lambda kind: t(f"snapshot.kind.{kind}"))
    st.dataframe(frame.rename(columns=CONFLICT_LABELS), hide_index=True, placeholder="—", width="stretch")
    if any(c.kind == "duplicate" for c in report.conflicts):
        st.caption(t("snapshot.import.duplicates"))
    options = snapshot.take_incoming_choices(report)
    if options:
        labels = {c.key: f"{c.table} · {c.record_id[:8]} · {', '.join(c.columns)}" for c in report.conflicts}
        take = st.multiselect(t("snapshot.import.take"), options=options, format_func=labels.get, key="snapshot.take")
        if take and st.button(t("snapshot.import.apply"), key="snapshot.apply"):
            run_import(st.session_state["snapshot.import_bytes"], take)
            st.rerun()


def xlsform_section() -> None:
    st.caption(t("snapshot.xlsform.help"))
    versions = ui.read(instruments.list_instruments)
    by_id = {v["id"]: v for v in versions}
    if by_id:
        name = "name_en" if ui.lang() == "en" else "name_es"
        labels = {i: f"{v['code']} v{v['version']} · {v[name]}{' · ' + v['government'] if v['government'] else ''}"
                  for i, v in by_id.items()}
        chosen = st.selectbox(t("snapshot.xlsform.instrument"), options=list(labels), format_func=labels.get,
                              key="snapshot.xlsform_instrument")
        form = ui.attempt(lambda: ui.read(xlsform.form_bytes, chosen))
        if form is not None:
            name, data = form
            st.download_button(t("snapshot.xlsform.download"), data=data, file_name=name,
                               mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                               key="snapshot.xlsform_download")
    with st.expander(t("snapshot.xlsform.audits")):
        audits = ui.read(snapshot_queries.audit_targets, ui.actor())
        if not audits:
            st.info(t("snapshot.xlsform.no_audits"))
        else:
            st.dataframe(pd.DataFrame([{t("snapshot.xlsform.col_code"): a["audit_code"],
                                        t("snapshot.xlsform.col_cluster"): a["cluster"],
                                        t("snapshot.xlsform.col_service"): a["service_name"],
                                        t("snapshot.xlsform.col_year"): a["cycle_year"]} for a in audits]),
                         hide_index=True, placeholder="—", width="stretch")
    if not access.can(ui.actor(), "snapshot.import"):
        st.info(t("snapshot.import.denied"))
        return
    kinds = {k: t(f"snapshot.xlsform.kind.{k}") for k in ("focas", "qsip")}
    kind = st.radio(t("snapshot.xlsform.kind"), options=list(kinds), horizontal=True, format_func=kinds.get,
                    key="snapshot.xlsform_kind")
    upload = st.file_uploader(t("snapshot.xlsform.upload"), type=["csv"], key="snapshot.xlsform_upload")
    if upload is not None and st.button(t("snapshot.xlsform.import"), type="primary", key="snapshot.xlsform_import"):
        def work():
            with write_session() as session:
                return xlsform.import_submissions(upload.getvalue(), kind=kind, session=session, actor=ui.actor())

        report = ui.attempt(work)
        if report is not None:
            st.success(t("snapshot.xlsform.done", added=report.added, skipped=report.skipped,
                         conflicts=len(report.conflicts)))
            if report.conflicts:
                st.warning(t("snapshot.xlsform.conflicts", rows=ui.plain("; ".join(report.conflicts[:20]))))


with export_tab:
    export_section()
with import_tab:
    import_section()
with xlsform_tab:
    xlsform_section()
