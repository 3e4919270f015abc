"""Phone number parsing and formatting by the site's country (DE or GB)."""

from __future__ import annotations

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

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
