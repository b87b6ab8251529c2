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


def _is_notice(value: object) -> bool:
    return isinstance(getattr(value, "key", None), str) and callable(getattr(value, "message", None)) \
        and hasattr(value, "params")


def translate(key: str, lang: str = DEFAULT_LANGUAGE, /, **params: object) -> str:
    """The text for ``key`` in ``lang``; falls back to Spanish, then to the key itself. A parameter that is
    itself an error (``DomainError``) is put in as its message in ``lang``, so a service can wrap a cause
    without choosing a language for it."""
    text = catalog(normalise_language(lang)).get(key)
    if text is None:
        text = catalog(DEFAULT_LANGUAGE).get(key, key)
    if params:
        # a nested error (a DomainError or RuleWarning given as a parameter) is told in the same language
        params = {name: value.message(lang) if _is_notice(value) else value for name, value in params.items()}
        try:
            return text.format(**params)
        except (KeyError, IndexError, ValueError):
            return text
    return text


PLURAL_FORMS = ("zero", "one", "two", "few", "many", "other")


def translate_plural(key: str, n: object, lang: str = DEFAULT_LANGUAGE, /, **params: object) -> str:
    """The text of ``key.<form>`` for the count ``n``, the form chosen by the language's CLDR plural rule
    (Babel): ``key.one`` for 1, ``key.other`` otherwise (a form the catalog lacks falls back to
    ``key.other``). ``{n}`` is the count formatted as an integer of the language ("1,918")."""
    from babel import Locale

    from assessments import formatting

    lang = normalise_language(lang)
    count = 0 if formatting.is_missing(n) else int(formatting.display_round(n, 0))
    form = Locale.parse(formatting.locale_of(lang)).plural_form(count)
    texts = catalog(lang)
    chosen = f"{key}.{form}" if f"{key}.{form}" in texts or f"{key}.{form}" in catalog(DEFAULT_LANGUAGE) \
        else f"{key}.other"
    params.setdefault("n", formatting.integer(count, lang))
    return translate(chosen, lang, **params)


def translator(lang: str):
    """A one-argument ``t(key, **params)`` bound to a language, for pages and chart builders;
    ``t.plural(key, n, **params)`` picks the plural form (``translate_plural``)."""
    lang = normalise_language(lang)

    def t(key: str, /, **params: object) -> str:
        return translate(key, lang, **params)

    def plural(key: str, n: object, /, **params: object) -> str:
        return translate_plural(key, n, lang, **params)

    t.plural = plural
    t.lang = lang
    return t
