"""The directory filter's terms: ``site:berlin device:none status:failed
locked:yes licence:premium dept:einkauf group:hotline`` beside free words, parsed in this
one place (no Textual here).

A token ``name:value`` whose name is letters only is a term; a name this
module does not know is an error naming it (the filter line shows it, and
the filter then finds nobody rather than quietly ignoring the term). A
value may be quoted to hold spaces (``site:"new york"``); an empty value
(``site:`` while it is being typed) asks for nothing yet. Names and values
are compared folded: case and accents do not matter.

Every term matches monotonically: a value that is a prefix of another
finds at least the users the longer one finds. The directory relies on it
to narrow an earlier answer when a term grows (``covers``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from onenet_tui.data import phones
from onenet_tui.data.directory.rows import needles, strip_accents


class Field(StrEnum):
    """What a term asks about; the value is the term's canonical name."""

    SITE = "site"
    DEVICE = "device"
    STATUS = "status"
    LOCKED = "locked"
    LICENCE = "licence"
    DEPARTMENT = "dept"
    EXTENSION = "ext"
    NUMBER = "number"
    GROUP = "group"


# Every name a term may be written with (folded: "gerät" is "gerat"), the
# canonical name first; German aliases beside the English ones.
ALIASES: dict[Field, tuple[str, ...]] = {
    Field.SITE: ("site", "standort"),
    Field.DEVICE: ("device", "model", "phone", "gerat", "geraet", "modell", "telefon"),
    Field.STATUS: ("status",),
    Field.LOCKED: ("locked", "gesperrt"),
    Field.LICENCE: ("licence", "license", "lizenz"),
    Field.DEPARTMENT: ("dept", "department", "abteilung", "abt"),
    Field.EXTENSION: ("ext", "extension", "durchwahl", "dw"),
    Field.NUMBER: ("number", "nummer", "rufnummer"),
    Field.GROUP: ("group", "gruppe"),
}
BY_NAME: dict[str, Field] = {name: term for term, names in ALIASES.items() for name in names}

# locked: what a value may say, folded; a prefix is enough ("y", "j", "n").
LOCKED_FORMS: dict[bool, tuple[str, ...]] = {
    True: ("yes", "ja", "true", "1", "locked", "gesperrt"),
    False: ("no", "nein", "false", "0", "unlocked", "entsperrt", "frei"),
}

# status: the words a value may start, folded (the codes, English and German).
STATUS_FORMS: dict[str, tuple[str, ...]] = {
    "pending": ("pending", "ausstehend", "wartend"),
    "activated": ("activated", "active", "aktiv", "aktiviert"),
    "failed": ("failed", "fehlgeschlagen", "error", "fehler"),
}
# device: what a user without a desk phone is also called.
NO_DEVICE_FORMS = ("none", "no desk phone", "without", "ohne tischtelefon", "ohne", "kein", "keins")

# A term: letters, a colon, then a quoted value (perhaps still open) or a word.
_TOKEN = re.compile(r'(?P<name>[^\W\d_]+):(?:"(?P<quoted>[^"]*)"?|(?P<word>\S*))|(?P<free>\S+)')
# Separators no typed text holds (control characters are dropped from the
# query): TERM_MARK marks the terms among a query's needles; the haystack
# starts its extension line with EXTENSION_MARK and its number lines with
# NUMBER_MARK, so ``ext:`` and ``number:`` are haystack needles too, matching
# the start of that line only.
TERM_MARK = "\x00"
NUMBER_MARK = "\x01"
EXTENSION_MARK = "\x02"
_CONTROL = dict.fromkeys(range(32), " ")


@dataclass(frozen=True)
class Term:
    field: Field
    value: str  # folded; never empty

    @property
    def key(self) -> str:
        """The term among a query's needles (see :func:`covers`): for an
        extension or a number a haystack needle, else a term key."""
        if self.field is Field.EXTENSION:
            return EXTENSION_MARK + self.value
        if self.field is Field.NUMBER:
            return NUMBER_MARK + self.value
        return f"{TERM_MARK}{self.field.value}{TERM_MARK}{self.value}"

    @property
    def in_haystack(self) -> bool:
        return self.field in (Field.EXTENSION, Field.NUMBER)


@dataclass(frozen=True)
class TermError:
    """A term the filter cannot use: ``name`` as typed, and why."""

    name: str
    reason: str  # "unknown" (no such term) or "value" (a value it cannot take)
    value: str = ""


@dataclass(frozen=True)
class Parsed:
    """A filter query taken apart."""

    words: tuple[str, ...]  # free-text needles (as ``needles`` makes them)
    terms: tuple[Term, ...]
    errors: tuple[TermError, ...]

    @property
    def keys(self) -> tuple[str, ...]:
        """Free needles and term keys: what identifies the query's answer."""
        return tuple(dict.fromkeys((*self.words, *(term.key for term in self.terms))))


def parse(query: str) -> Parsed:
    """Free words and terms of ``query``. Free words keep their meaning of
    before: a query (or the free rest of it) that looks like a phone number
    is its digits."""
    query = query.translate(_CONTROL)
    free: list[str] = []
    terms: list[Term] = []
    errors: list[TermError] = []
    for match in _TOKEN.finditer(query):
        if match["free"] is not None:
            free.append(match["free"])
            continue
        name = match["name"]
        field = BY_NAME.get(strip_accents(name))
        raw = match["quoted"] if match["quoted"] is not None else match["word"]
        if field is None:
            errors.append(TermError(name, "unknown"))
            continue
        value = _value(field, raw)
        if not value:
            continue  # being typed: asks nothing yet
        if (field is Field.LOCKED and not locked_values(value)) or (field is Field.STATUS and not statuses(value)):
            errors.append(TermError(name, "value", raw))
        terms.append(Term(field, value))
    return Parsed(needles(" ".join(free)), tuple(dict.fromkeys(terms)), tuple(errors))


def _value(field: Field, raw: str) -> str:
    value = " ".join(strip_accents(raw.replace(TERM_MARK, "")).split())
    if field in (Field.EXTENSION, Field.NUMBER):
        # Numbers in any format: "030 1234", "+4930", "(030) 12-34".
        return phones.digits(value)
    return value


def locked_values(value: str) -> frozenset[bool]:
    """The portal lock states a ``locked:`` value names (empty: none)."""
    return frozenset(state for state, forms in LOCKED_FORMS.items() if any(f.startswith(value) for f in forms))


def statuses(value: str) -> frozenset[str]:
    """The statuses a ``status:`` value names (empty: none)."""
    return frozenset(code for code, forms in STATUS_FORMS.items() if any(f.startswith(value) for f in forms))


def prefix_of_a_word(value: str, text: str) -> bool:
    """Whether ``value`` starts ``text`` or one of its words (both folded)."""
    return text.startswith(value) or f" {value}" in text or f"-{value}" in text


def matching(value: str, forms: Iterable[str], *, prefix: bool) -> bool:
    """Whether any of ``forms`` (folded) matches ``value``: by the start of
    one of its words, or anywhere in it."""
    if prefix:
        return any(prefix_of_a_word(value, form) for form in forms)
    return any(value in form for form in forms)


def covers(broader: tuple[str, ...], narrower: tuple[str, ...]) -> bool:
    """Whether every row matching the needles ``narrower`` also matches the
    needles ``broader``: a free needle is covered by a free needle inside it,
    a term by a term of the same field whose value starts it (terms match
    monotonically, see the module's notes)."""
    return all(any(b in n and b.startswith(TERM_MARK) == n.startswith(TERM_MARK) for n in narrower) for b in broader)


def names() -> list[tuple[Field, tuple[str, ...]]]:
    """Each term with the names it may be written with, for help."""
    return list(ALIASES.items())
