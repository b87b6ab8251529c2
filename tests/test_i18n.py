"""The translation catalog: every key in both languages, same placeholders, and no key used but missing."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from assessments.i18n import catalog, translate, translator

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [p for folder in ("assessments", "db", "pages") for p in (ROOT / folder).rglob("*.py")] + [ROOT / "dashboard.py"]
KEY_CALL = re.compile(
    r"""(?:\bt|translate|_t|ValidationFailed|NotFound|Conflict|PermissionDenied|DomainError|RuleWarning)\(\s*["']([a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+)["']"""
)


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_spanish_and_english_hold_the_same_keys():
    assert set(catalog("es")) == set(catalog("en"))


def test_placeholders_agree_between_languages():
    mismatched = {k: (v, catalog("en")[k]) for k, v in catalog("es").items() if placeholders(v) != placeholders(catalog("en")[k])}
    assert mismatched == {}


def test_every_key_used_in_the_code_is_in_the_catalog():
    used: dict[str, str] = {}
    for path in SOURCES:
        for key in KEY_CALL.findall(path.read_text(encoding="utf-8")):
            used.setdefault(key, str(path.relative_to(ROOT)))
    missing = {k: where for k, where in used.items() if k not in catalog("es")}
    assert used, "the scan found no keys at all"
    assert missing == {}


def test_spanish_is_the_default_and_english_is_a_switch():
    assert translate("nav.clusters") == "Clústeres"
    assert translator("en")("nav.clusters") == "Clusters"
    assert translator("fr")("nav.clusters") == "Clústeres"


@pytest.mark.parametrize("lang", ["es", "en"])
def test_no_empty_translations(lang):
    assert [k for k, v in catalog(lang).items() if not v.strip()] == []
