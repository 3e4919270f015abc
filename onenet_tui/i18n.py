"""One translation function for every visible string (SPEC section 5).

Catalogs are flat JSON files mapping a message key to a ``str.format``
template, one file per area of the product (``locale/<lang>/<area>.json``),
merged at load so each area keeps its own words. The domain layer raises errors that
carry keys; the console and the command line turn them into text here, so both
show the same words.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

LANGUAGES = ("en", "de")
DEFAULT_LANGUAGE = "en"

_current = DEFAULT_LANGUAGE


@cache
def catalog(lang: str) -> dict[str, str]:
    merged: dict[str, str] = {}
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


def t(key: str, /, lang: str | None = None, **params: object) -> str:
    """Translate ``key`` into the current (or given) language.

    An unknown key falls back to English, then to the key itself, so a missing
    translation is visible rather than fatal; a test keeps the catalogs complete.
    """
    lang = lang or _current
    template = catalog(lang).get(key)
    if template is None:
        template = catalog(DEFAULT_LANGUAGE).get(key, key)
    if not params:
        return template
    try:
        return template.format(**params)
    except (KeyError, IndexError, ValueError):
        return template
