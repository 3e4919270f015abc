"""A site's free numbers as the number field searches them: completion by
the digits typed so far (E.164 or national), stepping to the next or the
previous free number.

Built off the UI thread for a big site; formatting every number in national
form up front would take seconds, so only the number shown is formatted.
Phone formats come from :mod:`onenet_tui.data.phones` (one home for them).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable

from onenet_tui.data import phones


class FreeNumbers:
    """A site's free numbers, searchable by prefix as typed: in E.164
    (``+4930...``) or national digits (``030...``), with or without spaces."""

    def __init__(self, e164s: Iterable[str], country: str) -> None:
        self.country = country
        self.e164 = sorted(e164s)
        self._free = frozenset(self.e164)
        # A site's numbers share its country code, so their national digits
        # sort in the same order as their E.164 forms: one index serves both.
        self._national_digits = [phones.national_digits(number, country) for number in self.e164]

    def __len__(self) -> int:
        return len(self.e164)

    def __contains__(self, e164: object) -> bool:
        return e164 in self._free

    def national(self, e164: str) -> str:
        return phones.national_number(e164, self.country)

    def suggest(self, typed: str) -> str | None:
        """The first free number that starts with what was typed, in the
        typed style; None when none does."""
        typed_digits = phones.digits(typed)
        if not typed_digits:
            return None
        if typed.lstrip().startswith("+"):
            index = bisect_left(self.e164, "+" + typed_digits)
            if index < len(self.e164) and self.e164[index].startswith("+" + typed_digits):
                candidate = self.e164[index]
                return candidate if candidate.startswith(typed) else None
            return None
        index = bisect_left(self._national_digits, typed_digits)
        if index >= len(self._national_digits) or not self._national_digits[index].startswith(typed_digits):
            return None
        formatted = self.national(self.e164[index])
        for style in (formatted, self._national_digits[index]):
            if style.startswith(typed):
                return style
        return None

    def step(self, current: str | None, delta: int) -> str | None:
        """The next (delta 1) or previous (delta -1) free number after
        ``current`` (E.164 or None), wrapping round."""
        if not self.e164:
            return None
        if current is None:
            return self.e164[0 if delta > 0 else -1]
        index = bisect_left(self.e164, current)
        if delta > 0:
            index = index + 1 if index < len(self.e164) and self.e164[index] == current else index
        else:
            index -= 1
        return self.e164[index % len(self.e164)]
