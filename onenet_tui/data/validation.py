"""Field rules (R1, R2, R11, R16-R19) as small functions, and what the
device type requires of the other fields (R17).

Each returns the cleaned value or raises ``PydanticCustomError`` whose error
type is the message key. The pydantic schemas use them as validators, and the
console's live validation calls them directly through :func:`check`, so a form,
the command line and a test all see the same message for the same input.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from typing import Any

import regex  # type: ignore[import-untyped]  # ships no type hints
from email_validator import EmailNotValidError, validate_email
from pydantic_core import PydanticCustomError

from onenet_tui.data import catalogs, phones
from onenet_tui.data.enums import DeviceType
from onenet_tui.data.errors import FieldError

FIRST_NAME_MAX = 23
LAST_NAME_MAX = 30
EXTENSION_MIN, EXTENSION_MAX = 2, 6
USERNAME_MIN, USERNAME_MAX = 3, 40
USERNAME_FORBIDDEN = set("+-&@ ")
# Control characters in the sense of R1/R11/R19: C0/C1 controls, invisible
# formatting (bidi overrides, zero-width joiners), lone surrogates (undecodable
# bytes from a command line) and the line and paragraph separators.
CONTROL_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
CONTRACT_MIN, CONTRACT_MAX = 6, 15
DEFAULT_EXTENSION_DIGITS = 4


def refuse(key: str, **ctx: Any) -> PydanticCustomError:
    return PydanticCustomError(key, key, ctx or None)


def check(rule: Callable[..., Any], field: str, value: Any, *args: Any) -> FieldError | None:
    """Run one field rule for live validation; None when the value passes."""
    try:
        rule(value, *args)
    except PydanticCustomError as err:
        return FieldError(field, err.type, dict(err.context or {}))
    return None


# \X is one extended grapheme cluster (UAX #29), what a person calls a character.
_GRAPHEME = regex.compile(r"\X")
# Text that draws nothing: white space, Unicode's default-ignorable code points
# (Hangul fillers U+115F/U+1160/U+3164/U+FFA0, joiners, variation selectors)
# and the blank braille pattern U+2800, which Unicode files as a symbol.
_INVISIBLE = regex.compile(r"[\s\p{Default_Ignorable_Code_Point}\u2800]*")


def char_count(text: str) -> int:
    """Characters as a person counts them: an umlaut is one however encoded,
    a letter with any number of accents is one, a flag is one."""
    return len(_GRAPHEME.findall(unicodedata.normalize("NFC", text)))


def has_control(text: str) -> bool:
    return any(unicodedata.category(ch) in CONTROL_CATEGORIES for ch in text)


def is_blank(text: str) -> bool:
    """True when ``text`` would show nothing at all."""
    return _INVISIBLE.fullmatch(text) is not None


def bounded_text(value: str, limit: int, *, blank: str, too_long: str, control: str | None = None) -> str:
    """Free text trimmed and NFC-normalised, refused (each with its rule's
    catalog key) when it would show nothing, is longer than ``limit``
    characters or, if a ``control`` key is given, holds control characters."""
    value = unicodedata.normalize("NFC", value.strip())
    if is_blank(value):
        raise refuse(blank)
    if control is not None and has_control(value):
        raise refuse(control)
    count = char_count(value)
    if count > limit:
        raise refuse(too_long, max=limit, count=count)
    return value


def _name(value: str, limit: int) -> str:
    return bounded_text(value, limit, blank="r1.blank", control="r1.control", too_long="r1.too_long")


def first_name(value: str) -> str:
    return _name(value, FIRST_NAME_MAX)


def last_name(value: str) -> str:
    return _name(value, LAST_NAME_MAX)


def extension(value: str) -> str:
    value = value.strip()
    if not value.isascii() or not value.isdigit():
        raise refuse("r2.digits")
    if not EXTENSION_MIN <= len(value) <= EXTENSION_MAX:
        raise refuse("r2.length", min=EXTENSION_MIN, max=EXTENSION_MAX)
    return value


def default_extension(e164: str) -> str:
    """R2: the last four digits of the number."""
    return phones.digits(e164)[-DEFAULT_EXTENSION_DIGITS:]


def username_key(value: str) -> str:
    """How a username is stored and looked up: trimmed and NFC, so the same
    name typed precomposed or decomposed is one username."""
    return unicodedata.normalize("NFC", value.strip())


def username(value: str) -> str:
    value = username_key(value)
    if not USERNAME_MIN <= char_count(value) <= USERNAME_MAX:
        raise refuse("r19.length", min=USERNAME_MIN, max=USERNAME_MAX)
    # A non-breaking or other Unicode space looks like a space and is one.
    if any(ch.isspace() and not has_control(ch) for ch in value):
        raise refuse("r19.space")
    bad = sorted(set(value) & USERNAME_FORBIDDEN)
    if bad:
        raise refuse("r19.forbidden", chars=" ".join(bad))
    if has_control(value):
        raise refuse("r19.control")
    return value


_GERMAN_FOLDS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
# Letters that Unicode does not decompose into a base letter plus an accent
# (Polish ł, Turkish dotless ı, Nordic ø/æ ...): folded by hand, else dropped.
_UNDECOMPOSABLE = str.maketrans({"ł": "l", "ı": "i", "ø": "o", "đ": "d", "ð": "d", "æ": "ae", "œ": "oe", "þ": "th"})


def transliterate(text: str) -> str:
    """Lower case ASCII for a username: German umlauts spelled out (``ä`` ->
    ``ae``, ``ß`` -> ``ss``), other accents dropped."""
    text = unicodedata.normalize("NFC", text.lower()).translate(_GERMAN_FOLDS).translate(_UNDECOMPOSABLE)
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if ch.isascii() and (ch.isalnum() or ch == "."))


def proposed_username(first: str, last: str) -> str:
    """R19 default ``first.last``, cut to the maximum length."""
    base = ".".join(
        part for part in (transliterate(first.replace(" ", "")), transliterate(last.replace(" ", ""))) if part
    )
    base = base.strip(".") or "user"
    while len(base) < USERNAME_MIN:
        base += "0"
    return base[:USERNAME_MAX]


def email(value: str) -> str:
    value = value.strip()
    if not value:
        raise refuse("r18.required")
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError:
        raise refuse("r18.invalid") from None


def number_for_site(value: str, country: str) -> str:
    """R16: a valid number for the site's country, returned in E.164."""
    e164 = phones.to_e164(value, country)
    if e164 is None:
        raise refuse("r16.invalid", country=country)
    return e164


def mobile_for_site(value: str, country: str) -> str:
    """R17: a valid mobile number for the site's country, returned in E.164."""
    e164 = phones.to_e164(value, country)
    if e164 is None or not phones.is_mobile(e164, country):
        raise refuse("r17.mobile_invalid", country=country)
    return e164


def contract(value: str) -> str:
    value = value.strip()
    if not value.isascii() or not value.isdigit() or not CONTRACT_MIN <= len(value) <= CONTRACT_MAX:
        raise refuse("r17.contract_invalid", min=CONTRACT_MIN, max=CONTRACT_MAX)
    return value


def device_dependency_errors(
    device_type: DeviceType | str, model: str | None, mobile: str | None, contract: str | None
) -> list[FieldError]:
    """R17 and the desk phone model, which depend on the device type."""
    errors: list[FieldError] = []
    if device_type == DeviceType.DESK_PHONE and not model:
        errors.append(FieldError("desk_phone_model", "device.model_required"))
    if device_type == DeviceType.NONE:
        if model:
            errors.append(FieldError("desk_phone_model", "device.model_without_phone"))
        if not mobile:
            errors.append(FieldError("mobile", "r17.mobile_required"))
        if not contract:
            errors.append(FieldError("contract", "r17.contract_required"))
    return errors


def forward_target(value: str, country: str) -> str:
    """A call forwarding target: an internal extension or a dialable number."""
    value = value.strip()
    if value.isascii() and value.isdigit() and EXTENSION_MIN <= len(value) <= EXTENSION_MAX:
        return value
    e164 = phones.to_e164(value, country)
    if e164 is None:
        raise refuse("call.forward_invalid")
    return e164


def catalog_code(value: str, catalog: str) -> str:
    codes = {
        "desk_phones": catalogs.desk_phone_codes,
        "licences": catalogs.licence_codes,
        "services": catalogs.service_codes,
    }[catalog]()
    if value not in codes:
        raise refuse(f"catalog.unknown_{catalog}", code=value, known=", ".join(sorted(codes)))
    return value


def optional(text: str | None) -> str | None:
    """Blank optional input means 'not given'."""
    if text is None:
        return None
    text = text.strip()
    return text or None
