"""Phone number parsing and formatting by the site's country (DE or GB)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

from onenet_tui.visible import visible

COUNTRIES = ("DE", "GB")
_MOBILE_TYPES = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}


def parse(text: str, country: str) -> phonenumbers.PhoneNumber | None:
    """Parse national or international input; None when it is not a number."""
    try:
        return phonenumbers.parse(text.strip(), country)
    except NumberParseException:
        return None


def to_e164(text: str, country: str) -> str | None:
    """E.164 form of a number valid for ``country``; None otherwise."""
    number = parse(text, country)
    if number is None or not phonenumbers.is_valid_number_for_region(number, country):
        return None
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def is_mobile(e164: str, country: str) -> bool:
    number = parse(e164, country)
    return (
        number is not None
        and phonenumbers.is_valid_number_for_region(number, country)
        and phonenumbers.number_type(number) in _MOBILE_TYPES
    )


def national(e164: str | None, country: str | None = None) -> str:
    """National format for display, e.g. ``030 12345678`` or ``020 7946 0000``."""
    if not e164:
        return ""
    number = parse(e164, country or "DE")
    if number is None:
        return e164
    return phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)


def digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


@lru_cache(maxsize=8)
def _dialling(country: str) -> tuple[str, str]:
    """Country calling code and national trunk prefix, e.g. ("49", "0")."""
    code = phonenumbers.country_code_for_region(country)
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(country)
    prefix = (metadata.national_prefix if metadata else None) or ""
    return (str(code) if code else "", prefix)


def national_digits(e164: str, country: str) -> str:
    """The digits as dialled in the country: ``+493012345678`` -> ``03012345678``."""
    international = e164.lstrip("+")
    code, prefix = _dialling(country)
    if code and international.startswith(code):
        return prefix + international[len(code) :]
    return international


def national_digits_many(e164s: Sequence[str], country: str) -> list[str]:
    """:func:`national_digits` of many numbers of one country, by string
    operations on them joined (a million numbers: C loops, no call per number)."""
    code, prefix = _dialling(country)
    joined = "\n" + "\n".join(e164s)
    count = len(e164s)
    if not count or not joined.count("\n") == joined.count("\n+") == joined.count("+") == count:
        return [national_digits(e164, country) for e164 in e164s]  # none, or an odd one: one by one
    if code:
        joined = joined.replace("\n+" + code, "\n" + prefix)
    return joined.replace("\n+", "\n")[1:].split("\n")


# Display layouts learnt from phonenumbers, by country, leading digits and
# length: numbers of one pool share a layout, so formatting the rows on
# screen costs microseconds instead of a full parse each.
_LAYOUTS: dict[tuple[str, str, int], str] = {}
_LAYOUTS_MAX = 4_096
_DIGIT = "#"


def national_number(e164: str, country: str) -> str:
    """National format for display, e.g. ``030 12345678`` (:func:`national`, learnt once per layout)."""
    dialled = national_digits(e164, country)
    key = (country, e164[:8], len(e164))
    layout = _LAYOUTS.get(key)
    if layout is None:
        formatted = visible(national(e164, country))
        layout = "".join(_DIGIT if ch.isdigit() else ch for ch in formatted)
        if digits(formatted) != dialled or _DIGIT in formatted:
            layout = ""  # not a plain digit layout: always ask phonenumbers
        if len(_LAYOUTS) < _LAYOUTS_MAX:
            _LAYOUTS[key] = layout
        return formatted
    if not layout:
        return visible(national(e164, country))
    pieces = iter(dialled)
    return "".join(next(pieces) if ch == _DIGIT else ch for ch in layout)
