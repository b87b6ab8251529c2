"""A Spanish run shows Spanish: no page shows an English catalog text, no service message for a Spanish
caller is built in English, and the page's <html lang> follows the switch."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from assessments.errors import ValidationFailed
from assessments.i18n import catalog, translate
from db.demo import load_demo
from tests.test_xlsform import KOBO_FOCAS, draft, import_csv  # noqa: F401  (draft: the fixture)

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted(p.name for p in (ROOT / "pages").glob("*.py") if not p.name.startswith("_")
               and p.name not in ("__init__.py", "ui.py", "plan_widgets.py", "login.py"))
# English words the Spanish screens once showed as they were (the catalog had them in both languages)
ENGLISH_WORDS = re.compile(r"\bsnapshots?\b", re.IGNORECASE)


def _has_placeholders(text: str) -> bool:
    return any(name is not None for _, name, _, _ in string.Formatter().parse(text))


def english_only() -> set[str]:
    """Catalog texts that are English and not also Spanish (a key whose two texts differ; the English one
    is no Spanish text of any key), placeholder-free so a screen shows them exactly."""
    es, en = catalog("es"), catalog("en")
    spanish = set(es.values())
    return {text for key, text in en.items()
            if text != es.get(key) and text not in spanish and not _has_placeholders(text)
            and re.search(r"[A-Za-z]{3}", text)}


def _clean(text: object) -> str:
    """What the person reads of a Markdown string: no emphasis signs, escapes or icon directives."""
    text = re.sub(r":material/[a-z_]+:", "", str(text or ""))
    return re.sub(r"\\(.)", r"\1", text).replace("**", "").strip(" #*_\n")


def visible_texts(at: AppTest) -> list[str]:
    """Every text element, label, option and table header of a run, as shown."""
    texts: list[str] = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "text", "info", "warning", "error",
                 "success", "toast"):
        texts += [element.value for element in getattr(at, kind)]
    for kind in ("button", "checkbox", "toggle", "text_input", "text_area", "number_input", "date_input",
                 "selectbox", "multiselect", "radio", "slider", "select_slider", "metric", "expander", "tabs"):
        for element in getattr(at, kind):
            texts.append(getattr(element, "label", "") or "")
            texts += [str(option) for option in getattr(element, "options", []) or []]
            if kind == "metric":
                texts.append(element.value)
    for kind in ("download_button", "form_submit_button", "file_uploader"):
        texts += [getattr(element.proto, "label", "") for element in at.get(kind)]
    for frame in list(at.dataframe) + list(at.table):
        texts += [str(column) for column in frame.value.columns]
    return [cleaned for cleaned in (_clean(text) for text in texts) if cleaned]


@pytest.fixture
def demo(db_url):
    load_demo()
    return db_url


def test_the_english_only_set_is_real():
    english = english_only()
    assert "Clusters of subnational governments" in english and "Download CSV" not in catalog("es").values()
    assert "Clústeres" not in english and len(english) > 300


@pytest.mark.parametrize("page", PAGES)
def test_a_spanish_page_shows_no_english_catalog_text(demo, page):
    at = AppTest.from_file(str(ROOT / "pages" / page), default_timeout=90)
    at.session_state["lang"] = "es"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    shown = visible_texts(at)
    assert shown, "the page shows text"
    english = english_only()
    assert sorted({text for text in shown if text in english}) == []
    assert sorted({text for text in shown if ENGLISH_WORDS.search(text)}) == []


def test_the_spanish_catalog_has_no_untranslated_english_words():
    leaks = {key: text for key, text in catalog("es").items() if ENGLISH_WORDS.search(text)}
    assert leaks == {}


def test_the_xlsform_import_refusal_is_spanish_for_a_spanish_caller(draft, actor):
    """A submission with a score of 7 on the 0–4 scale is refused; the Spanish message tells the cause in
    Spanish too (it was built with the English cause), and the English one in English."""
    with pytest.raises(ValidationFailed) as caught:
        import_csv(KOBO_FOCAS.replace(";3;4;;FOCAS", ";7;4;;FOCAS"), "focas", actor)
    cause = caught.value.params["message"]
    spanish, english = caught.value.message("es"), caught.value.message("en")
    assert spanish.startswith("Línea ") and spanish.endswith("No se guardó nada.")
    assert cause.message("es") in spanish and cause.message("en") not in spanish
    assert cause.message("en") in english and english.endswith("Nothing was saved.")
    assert translate(caught.value.key, "es", **caught.value.params) == spanish
