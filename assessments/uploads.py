"""Checks on uploaded files: size and content (magic bytes), not the name's extension.

Streamlit's ``server.maxUploadSize`` refuses big files before they reach us; this is the second
guard every upload service calls with the bytes it received.
"""

from __future__ import annotations

import csv
import io
import zipfile

from assessments.errors import ValidationFailed

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
MAX_ZIP_MEMBERS = 2_000
MAX_ZIP_UNPACKED_BYTES = 500 * 1024 * 1024

# Known binary signatures of the kinds we accept.
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # also .xlsx, which is a ZIP
SQLITE_MAGIC = b"SQLite format 3\x00"
KINDS = ("zip", "xlsx", "csv", "sqlite", "json")


def sniff(content: bytes) -> str | None:
    """What ``content`` really is: 'zip', 'xlsx', 'sqlite', 'csv', 'json' or None."""
    if content.startswith(SQLITE_MAGIC):
        return "sqlite"
    if content.startswith(ZIP_MAGIC):
        try:
            with zipfile.ZipFile(io.BytesIO(content)) as archive:
                names = archive.namelist()
        except zipfile.BadZipFile:
            return None
        return "xlsx" if "[Content_Types].xml" in names and any(n.startswith("xl/") for n in names) else "zip"
    head = content[:65536]
    if b"\x00" in head:
        return None
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = head.decode("latin-1")
        except UnicodeDecodeError:  # pragma: no cover - latin-1 decodes everything
            return None
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        return "json"
    if stripped.lower().startswith(("<!doctype", "<html", "<script", "<?xml", "<svg")):
        return None
    try:
        csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        return "csv" if "\n" not in text.strip() and text.strip() else None
    return "csv"


def check_upload(content: bytes | None, *, allowed: tuple[str, ...], max_bytes: int = MAX_UPLOAD_BYTES) -> str:
    """Refuse empty, oversized or mislabelled uploads; returns the detected kind."""
    if not content:
        raise ValidationFailed("access.upload_empty")
    if len(content) > max_bytes:
        raise ValidationFailed("access.upload_too_big", mb=max_bytes // (1024 * 1024))
    kind = sniff(content)
    if kind not in allowed:
        raise ValidationFailed("access.upload_wrong_kind", allowed=", ".join(allowed))
    if kind in ("zip", "xlsx"):
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            members = archive.infolist()
            if len(members) > MAX_ZIP_MEMBERS or sum(m.file_size for m in members) > MAX_ZIP_UNPACKED_BYTES:
                raise ValidationFailed("access.upload_zip_bomb")
            if any(m.filename.startswith(("/", "\\")) or ".." in m.filename.replace("\\", "/").split("/")
                   for m in members):
                raise ValidationFailed("access.upload_bad_paths")
    return kind
