"""What the terminal at the other end can take: whether it sits behind SSH
(every byte crosses a link that may be slow) and whether it shows UTF-8.

Decided once from the environment when the console opens. Python's UTF-8
mode hides a terminal's real charset (under ``LC_ALL=C`` it still writes
UTF-8), so the locale variables are read as the C library would:
``LC_ALL``, then ``LC_CTYPE``, then ``LANG``. Two settings override the
guess: ``ONENET_SSH=1|0`` and ``ONENET_ASCII=1|0``.

The glyphs the console draws come from here, so a terminal without UTF-8
gets ``*`` ``+`` ``x`` and ``-|+`` instead of mojibake; :func:`encode_for`
makes whatever else would not survive (a ``·`` in a message, a name's
accents in plain ASCII) readable on the wire.
"""

from __future__ import annotations

import codecs
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

# Where the terminal's charset cannot show a character, what stands in for it:
# one cell for one cell, so nothing drawn changes width.
ASCII_FALLBACK: dict[str, str] = {
    "●": "*",
    "✓": "+",
    "✗": "x",
    "▌": "|",
    "▐": "|",
    "⊘": "#",  # a locked portal account, before the name
    "▲": "^",
    "▼": "v",
    "…": "~",
    "·": "-",
    "—": "-",
    "–": "-",
    "→": ">",
    "←": "<",
    "↑": "^",
    "↓": "v",
    "„": '"',
    "“": '"',
    "”": '"',
    "‘": "'",
    "’": "'",
}
# Box drawing, block and bar characters (borders, scrollbars, buttons).
_BOX_CORNERS = "┌┐└┘├┤┬┴┼╭╮╯╰╔╗╚╝╠╣╦╩╬┏┓┗┛┣┫┳┻╋"


def _box_fallback(char: str) -> str | None:
    if char in _BOX_CORNERS:
        return "+"
    name = unicodedata.name(char, "")
    if name.startswith("BOX DRAWINGS"):
        return "|" if "VERTICAL" in name and "HORIZONTAL" not in name else "-"
    if name.startswith(("UPPER ", "LOWER ", "LEFT ", "RIGHT ", "FULL BLOCK", "QUADRANT")) and "BLOCK" in name:
        return " "
    return None


@dataclass(frozen=True)
class Terminal:
    """The far end: behind SSH or not, and the charset it shows."""

    ssh: bool = False
    charset: str = "utf-8"

    @property
    def ascii(self) -> bool:
        """Whether the console draws ASCII glyphs (the charset is not UTF-8)."""
        return self.charset != "utf-8"

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Terminal:
        return cls(ssh=_over_ssh(environ), charset=_charset(environ))


def _flag(environ: Mapping[str, str], name: str) -> bool | None:
    value = environ.get(name, "").strip().lower()
    if value in ("1", "yes", "true", "on"):
        return True
    if value in ("0", "no", "false", "off"):
        return False
    return None


def _over_ssh(environ: Mapping[str, str]) -> bool:
    setting = _flag(environ, "ONENET_SSH")
    if setting is not None:
        return setting
    return bool(environ.get("SSH_CONNECTION") or environ.get("SSH_TTY"))


# What Python puts into LC_CTYPE when it starts in the C locale (PEP 538),
# which it also does when LANG names a locale this machine lacks: over SSH the
# terminal's own, say de_DE.ISO-8859-1. LANG then still says what it shows.
_COERCED = ("C.UTF-8", "C.utf8", "UTF-8")


def locale_name(environ: Mapping[str, str]) -> str:
    """The locale the terminal's character type follows (POSIX precedence)."""
    if environ.get("LC_ALL"):
        return environ["LC_ALL"]
    ctype = environ.get("LC_CTYPE")
    if ctype and not (ctype in _COERCED and environ.get("LANG")):
        return ctype
    return environ.get("LANG") or ctype or "C"


def _charset(environ: Mapping[str, str]) -> str:
    setting = _flag(environ, "ONENET_ASCII")
    if setting is not None:
        return "ascii" if setting else "utf-8"
    name = locale_name(environ)
    if "." not in name:
        # "C", "POSIX", "de_DE": no charset named, so the C library's default.
        return "utf-8" if name.lower().startswith("c.utf") else "ascii"
    charset = name.split(".", 1)[1].split("@", 1)[0]
    try:
        return codecs.lookup(charset).name
    except LookupError:
        return "ascii"


def fallback(char: str) -> str:
    """An ASCII stand-in for ``char``: a known glyph, a box piece, the
    letter without its accent, else ``?``."""
    known = ASCII_FALLBACK.get(char)
    if known is not None:
        return known
    box = _box_fallback(char)
    if box is not None:
        return box
    base = unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode()
    return base or "?"


def _replace(error: UnicodeError) -> tuple[str, int]:
    assert isinstance(error, UnicodeEncodeError)
    return "".join(fallback(c) for c in error.object[error.start : error.end]), error.end


ERRORS = "onenet-fallback"
codecs.register_error(ERRORS, _replace)


def encode_for(terminal: Terminal, text: str) -> bytes:
    """``text`` as the terminal's charset shows it."""
    return text.encode(terminal.charset, ERRORS)


# -- the glyphs widgets draw --------------------------------------------------

_current = Terminal()


def use(terminal: Terminal) -> None:
    """The terminal the console draws for (set when the app opens)."""
    global _current
    _current = terminal


def current() -> Terminal:
    return _current


def glyph(char: str) -> str:
    """``char``, or its ASCII stand-in when the terminal shows no UTF-8."""
    return fallback(char) if _current.ascii and not char.isascii() else char


_GLYPHS = str.maketrans(ASCII_FALLBACK)


def glyphs(text: str) -> str:
    """``text`` with its symbols (``·``, ``…``, arrows) as ASCII when the
    terminal shows no UTF-8; letters stay, the charset decides about them."""
    return text.translate(_GLYPHS) if _current.ascii else text
