"""One translation function for every visible string (SPEC section 5).

Catalogs are flat JSON files mapping a message key to a ``str.format``
template, one file per area of the product (``locale/<lang>/<area>.json``),
merged at load so each area keeps its own words. A counted message ("1 user",
"2 users") is an object of plural forms instead, ``{"one": ..., "other":
...}``, chosen by the ``count`` parameter of :func:`t`. The domain layer raises errors that
carry keys; the console and the command line turn them into text here, so both
show the same words.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import cache
from importlib import resources

LANGUAGES = ("en", "de")
DEFAULT_LANGUAGE = "en"

_current = DEFAULT_LANGUAGE

# A catalog entry: a template, or a counted message's plural forms.
Entry = str | dict[str, str]
# The plural forms every counted message has in every language; German and
# English both say "one" for exactly 1 and "other" for 0, 2, 3 ... (CLDR).
PLURAL_FORMS = ("one", "other")


@cache
def catalog(lang: str) -> dict[str, Entry]:
    merged: dict[str, Entry] = {}
    folder = resources.files("onenet_tui").joinpath(f"locale/{lang}")
    for part in sorted(folder.iterdir(), key=lambda p: p.name):
        if part.name.endswith(".json"):
            merged.update(json.loads(part.read_text("utf-8")))
    return merged


def set_language(lang: str) -> None:
    global _current
    if lang not in LANGUAGES:
        raise ValueError(f"unsupported language {lang!r}; choose one of {', '.join(LANGUAGES)}")
    _current = lang


def language() -> str:
    return _current


# How each language groups digits and writes a moment (shown in UTC).
_THOUSANDS = {"en": ",", "de": "."}
_MOMENT = {"en": "%d/%m/%Y %H:%M UTC", "de": "%d.%m.%Y %H:%M UTC"}


def format_number(number: int, lang: str | None = None) -> str:
    """12,345 in English, 12.345 in German."""
    return f"{number:,}".replace(",", _THOUSANDS[lang or _current])


def format_moment(moment: datetime, lang: str | None = None) -> str:
    """A timestamp in UTC as the language writes dates; naive ones are UTC
    (SQLite hands stored UTC values back without a zone)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime(_MOMENT[lang or _current])


def plural_form(count: object, lang: str) -> str:
    """Which plural form ``count`` takes in ``lang`` (see PLURAL_FORMS)."""
    del lang  # both languages shipped share the rule; a third may not
    return "one" if count == 1 and not isinstance(count, bool) else "other"


def t(key: str, /, lang: str | None = None, **params: object) -> str:
    """Translate ``key`` into the current (or given) language.

    A counted message picks its plural form by the ``count`` parameter (which
    the template may show as ``{count}`` or, already formatted, under another
    name). An unknown key falls back to English, then to the key itself, so a
    missing translation is visible rather than fatal; a test keeps the
    catalogs complete.
    """
    lang = lang or _current
    entry = catalog(lang).get(key)
    if entry is None:
        entry = catalog(DEFAULT_LANGUAGE).get(key, key)
    template = entry if isinstance(entry, str) else entry[plural_form(params.get("count"), lang)]
    if not params:
        return template
    # Counts follow the language wherever they appear in a message.
    shown = {
        name: format_number(value, lang) if isinstance(value, int) and not isinstance(value, bool) else value
        for name, value in params.items()
    }
    try:
        return template.format(**shown)
    except (KeyError, IndexError, ValueError):
        return template
