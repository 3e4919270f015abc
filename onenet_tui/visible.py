"""Text from data made safe to show (SPEC section 10): every control or
invisible formatting character becomes a visible stand-in, so a name can
neither steer the terminal nor hide what it says. The console, the command
line and files written for people all use this module: :func:`visible` for
what is shown, :func:`escape` for files and CSV, which must keep the text and
so replace the same characters reversibly (:func:`unescape`)."""

from __future__ import annotations

import re
import unicodedata

_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})

BACKSLASH = "\\"
# What a backslash may start in escaped text; one before these is doubled.
_ESCAPE_STARTS = frozenset("\\xuU")
_ESCAPED = re.compile(r"\\(?:(\\)|x([0-9a-fA-F]{2})|u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8}))")


def visible(text: object) -> str:
    """``text`` with ESC shown as ``␛`` (the Unicode control pictures for
    C0), DEL as ``␡``, and other hidden characters (C1, bidi overrides) as
    ``\\x85`` / ``\\u202e``."""
    text = "" if text is None else str(text)
    if text.isprintable():
        return text
    return "".join(_stand_in(ch) for ch in text)


def is_hidden(ch: str) -> bool:
    """True for a character the terminal would obey or draw as nothing."""
    return unicodedata.category(ch) in _HIDDEN_CATEGORIES


def _stand_in(ch: str) -> str:
    code = ord(ch)
    if code < 0x20:
        return chr(0x2400 + code)  # the Unicode "control pictures": ␀ … ␟
    if code == 0x7F:
        return "␡"
    if is_hidden(ch):
        return _code(ch)
    return ch


def _code(ch: str) -> str:
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def escape(text: str) -> str:
    """``text`` with every hidden character (those :func:`visible` replaces)
    written as ``\\xHH``, ``\\uHHHH`` or ``\\UHHHHHHHH``, reversibly.

    A backslash is doubled only where it would otherwise be read as the start
    of an escape, that is before ``\\``, ``x``, ``u`` or ``U`` in the result:
    ``C:\\temp`` and a password ``Zaun\\2026`` stay as they are."""
    if BACKSLASH not in text and text.isprintable():
        return text
    pieces: list[str] = []
    # Backwards: whether a backslash needs doubling depends on what follows it.
    for ch in reversed(text):
        if ch == BACKSLASH and pieces and pieces[-1][0] in _ESCAPE_STARTS:
            pieces.append(BACKSLASH * 2)
        elif is_hidden(ch):
            pieces.append(_code(ch))
        else:
            pieces.append(ch)
    return "".join(reversed(pieces))


def unescape(text: str) -> str:
    """The original of :func:`escape`'s result: ``\\\\`` is one backslash,
    ``\\xHH`` / ``\\uHHHH`` / ``\\UHHHHHHHH`` that character, any other
    backslash itself."""
    if BACKSLASH not in text:
        return text
    return _ESCAPED.sub(_unescape_one, text)


def _unescape_one(match: re.Match[str]) -> str:
    backslash, *codes = match.groups()
    if backslash:
        return BACKSLASH
    code = int(next(c for c in codes if c), 16)
    # Only a hand-edited file holds a code beyond Unicode: leave it as written.
    return chr(code) if code <= 0x10FFFF else match.group()
