"""Text from data made safe to show (SPEC section 10): every control or
invisible formatting character becomes a visible stand-in, so a name can
neither steer the terminal nor hide what it says. The console, the command
line and files written for people all use this one function."""

from __future__ import annotations

import unicodedata

_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def visible(text: object) -> str:
    """``text`` with ESC shown as ``␛`` (the Unicode control pictures for
    C0), DEL as ``␡``, and other hidden characters (C1, bidi overrides) as
    ``\\x85`` / ``\\u202e``."""
    text = "" if text is None else str(text)
    if text.isprintable():
        return text
    return "".join(_stand_in(ch) for ch in text)


def _stand_in(ch: str) -> str:
    code = ord(ch)
    if code < 0x20:
        return chr(0x2400 + code)  # the Unicode "control pictures": ␀ … ␟
    if code == 0x7F:
        return "␡"
    if unicodedata.category(ch) in _HIDDEN_CATEGORIES:
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    return ch
