"""The one translation catalog: gettext .po files read with Babel, Spanish first, English second.

Message ids are stable keys (``"clusters.title"``), not source sentences, so a wording change in
one language never orphans the other. The catalog is split into domains (one ``.po`` file per
capability under ``locale/<lang>/LC_MESSAGES/``) and merged into a single lookup at load time.
"""

from __future__ import annotations

import functools
from pathlib import Path

from babel.messages.pofile import read_po

LANGUAGES = ("es", "en")
DEFAULT_LANGUAGE = "es"
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"


@functools.cache
def catalog(lang: str) -> dict[str, str]:
    """Every key of every domain for one language (cached for the process)."""
    messages: dict[str, str] = {}
    folder = LOCALE_DIR / lang / "LC_MESSAGES"
    for po_file in sorted(folder.glob("*.po")):
        with po_file.open("rb") as handle:
            for message in read_po(handle, locale=lang):
                if message.id and message.string:
                    messages[str(message.id)] = str(message.string)
    return messages


def normalise_language(lang: str | None) -> str:
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def translate(key: str, lang: str = DEFAULT_LANGUAGE, /, **params: object) -> str:
    """The text for ``key`` in ``lang``; falls back to Spanish, then to the key itself."""
    text = catalog(normalise_language(lang)).get(key)
    if text is None:
        text = catalog(DEFAULT_LANGUAGE).get(key, key)
    if params:
        try:
            return text.format(**params)
        except (KeyError, IndexError, ValueError):
            return text
    return text


def translator(lang: str):
    """A one-argument ``t(key, **params)`` bound to a language, for pages and chart builders."""
    lang = normalise_language(lang)

    def t(key: str, /, **params: object) -> str:
        return translate(key, lang, **params)

    return t
