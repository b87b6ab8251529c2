"""Uploads are checked by content and size, not by the name's extension."""

from __future__ import annotations

import io
import sqlite3
import zipfile

import openpyxl
import pytest

from assessments.errors import ValidationFailed
from assessments.uploads import check_upload, sniff


def zipped(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def xlsx() -> bytes:
    book = openpyxl.Workbook()
    book.active["A1"] = "type"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def sqlite_bytes(tmp_path) -> bytes:
    path = tmp_path / "x.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE t (a)")
    return path.read_bytes()


def test_sniffing_by_content(tmp_path):
    assert sniff(zipped({"manifest.json": b"{}"})) == "zip"
    assert sniff(xlsx()) == "xlsx"
    assert sniff(sqlite_bytes(tmp_path)) == "sqlite"
    assert sniff("ubigeo;nombre\n220101;Moyobamba\n".encode()) == "csv"
    assert sniff("cluster,sexo\nLamas,mujer\n".encode("latin-1")) == "csv"
    assert sniff(b'{"a": 1}') == "json"
    assert sniff(b"<html><script>alert(1)</script></html>") is None
    assert sniff(b"\x7fELF\x02\x01\x01\x00\x00\x00") is None
    assert sniff(b"PK\x03\x04 not really a zip") is None


def test_a_renamed_file_is_refused_by_its_content():
    # an HTML page saved as "datos.csv" or an executable saved as "snapshot.zip"
    with pytest.raises(ValidationFailed) as refused:
        check_upload(b"<!DOCTYPE html><p>hola</p>", allowed=("csv",))
    assert refused.value.key == "access.upload_wrong_kind" and refused.value.params == {"allowed": "csv"}
    with pytest.raises(ValidationFailed, match="upload_wrong_kind"):
        check_upload(b"MZ\x90\x00\x03\x00\x00\x00", allowed=("zip",))
    with pytest.raises(ValidationFailed, match="upload_wrong_kind"):
        check_upload(xlsx(), allowed=("zip",))
    assert check_upload(xlsx(), allowed=("xlsx",)) == "xlsx"


def test_size_and_empty_limits():
    with pytest.raises(ValidationFailed) as refused:
        check_upload(b"a,b\n" * 300_000, allowed=("csv",), max_bytes=1024 * 1024)
    assert refused.value.key == "access.upload_too_big" and refused.value.params == {"mb": 1}
    with pytest.raises(ValidationFailed, match="upload_empty"):
        check_upload(b"", allowed=("csv",))
    assert check_upload(b"a,b\n1,2\n", allowed=("csv",), max_bytes=8) == "csv"


def test_zip_bombs_and_escaping_paths_are_refused():
    with pytest.raises(ValidationFailed, match="upload_bad_paths"):
        check_upload(zipped({"../../etc/passwd": b"x"}), allowed=("zip",))
    with pytest.raises(ValidationFailed, match="upload_zip_bomb"):
        check_upload(zipped({f"f{i}.csv": b"a" for i in range(2_001)}), allowed=("zip",))
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("big.csv", b"0" * (501 * 1024 * 1024))
    with pytest.raises(ValidationFailed, match="upload_zip_bomb"):
        check_upload(bomb.getvalue(), allowed=("zip",))
