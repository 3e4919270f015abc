"""The checks of a real tenant (SPEC section 11): sites (R20), number pools
(R21) and groups (R22), on the typed text and against the database.

Kept next to :mod:`onenet_tui.data.checks` rather than in it, which holds the
rules of one user (R2, R6, R16, R19): these are the rules of the tenant's
structure, and together they would make one module of two jobs. Who may
change the structure at all (R14) is in :mod:`onenet_tui.data.policy`.

Text rules raise ``PydanticCustomError`` (the message key as its type) like
:mod:`onenet_tui.data.validation`; database rules answer a ``FieldError``
or a ``RuleRefused``, or None when the value passes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import phonenumbers
from phonenumbers import PhoneNumberFormat
from sqlalchemy import func, select
from sqlmodel import Session, col

from onenet_tui.data import phones
from onenet_tui.data.errors import FieldError, RuleRefused
from onenet_tui.data.models import Group, GroupKind, PhoneNumber, Site, User
from onenet_tui.data.validation import bounded_text, refuse

NAME_MAX = 40
COUNTRIES = phones.COUNTRIES
# R21: the most numbers one call adds (or removes).
RANGE_MAX = 10_000
REASON_MAX = 200
# Host names (RFC 1123): labels of letters, digits and inner hyphens.
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
# SQLite before 3.32 accepts at most 999 parameters per statement.
_CHUNK = 900


# --- text -------------------------------------------------------------------


def _structure_name(value: str, rule: str) -> str:
    """A site's or group's name: trimmed, NFC, 1-40 characters. Anything
    else is kept as typed (markup and escapes included) and shown literally."""
    return bounded_text(value, NAME_MAX, blank=f"{rule}.name_blank", too_long=f"{rule}.name_too_long")


def site_name(value: str) -> str:
    """R20: 1-40 characters."""
    return _structure_name(value, "r20")


def group_name(value: str) -> str:
    """R22: 1-40 characters."""
    return _structure_name(value, "r22")


def country(value: str) -> str:
    """R20: ``DE`` or ``GB`` (any letter case)."""
    code = value.strip().upper()
    if code not in COUNTRIES:
        raise refuse("r20.country", code=value.strip(), known=", ".join(COUNTRIES))
    return code


def sip_domain(value: str) -> str:
    """R20: a valid host name (RFC 1123), stored in lower case: at least two
    labels, the last not all digits (an IP address is not a SIP domain)."""
    host = value.strip().lower().removesuffix(".")
    labels = host.split(".")
    if (
        not host.isascii()
        or len(host) > 253
        or len(labels) < 2
        or not all(_LABEL.match(label) for label in labels)
        or labels[-1].isdigit()
    ):
        raise refuse("r20.domain_invalid", domain=value.strip())
    return host


def group_kind(value: str) -> GroupKind:
    try:
        return GroupKind(value.strip())
    except ValueError:
        raise refuse("r22.kind", kind=value.strip(), known=", ".join(k.value for k in GroupKind)) from None


def flag_reason(value: str) -> str:
    """R21: the carrier's reason for a flag: required, trimmed, at most 200
    characters, no control characters (it is shown to whoever takes the number)."""
    return bounded_text(
        value,
        REASON_MAX,
        blank="r21.reason_required",
        control="r21.reason_control",
        too_long="r21.reason_too_long",
    )


# --- numbers and ranges (R21) -----------------------------------------------------


@dataclass(frozen=True)
class Refused:
    """One number (or a whole entry) that cannot be added, and why."""

    text: str
    key: str
    params: dict[str, object]

    def error(self) -> FieldError:
        return FieldError("numbers", self.key, {"number": self.text, **self.params})


@dataclass(frozen=True)
class Expansion:
    """What the typed entries stand for: E.164 numbers valid for the
    country, in the order typed, and what was refused."""

    numbers: list[str]
    refused: list[Refused]
    requested: int


def _e164_of(text: str, country_code: str | None) -> str | None:
    """The E.164 form of ``text`` whether or not it is a valid number: the
    ends of a range need not be numbers anyone may have."""
    number = phones.parse(text, country_code or "ZZ")
    if number is None:
        return None
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def _range_ends(text: str, country_code: str | None) -> tuple[str, str] | Refused:
    """``START-END``: END is a whole number (``+493012340999``,
    ``030 1234 0999``) or the last digits of START that change (``0999``)."""
    left, right = (part.strip() for part in text.split("-"))
    start = _e164_of(left, country_code)
    if start is None:
        return Refused(text, "r21.not_a_number", {"part": left})
    right_digits = phones.digits(right)
    if not right_digits or any(not (ch.isdigit() or ch in " +/()") for ch in right):
        return Refused(text, "r21.not_a_number", {"part": right})
    if right.startswith("+") or len(right_digits) >= len(phones.digits(left)):
        end = _e164_of(right, country_code)
        if end is None:
            return Refused(text, "r21.not_a_number", {"part": right})
    else:
        end = start[: len(start) - len(right_digits)] + right_digits
    if len(end) != len(start) or end < start:
        return Refused(text, "r21.range_order", {"start": start, "end": end})
    return start, end


def expand(entries: Sequence[str], country_code: str | None, *, validate: bool = True) -> Expansion:
    """R21: the numbers ``entries`` name, one number or a range
    (``+493012340000-+493012340999``, ``030 1234 0000-0999``) each; at
    most 10,000 in all; each valid for the country (``phonenumbers``).
    National numbers need the country; without one only E.164 is understood.
    A number named twice is refused. Nothing is looked up in the database.
    Without ``validate`` (numbers to remove, which are in a pool already)
    the numbers are not checked for the country."""
    numbers: list[str] = []
    refused: list[Refused] = []
    spans: list[tuple[str, str, str]] = []
    requested = 0
    for raw in entries:
        text = raw.strip()
        if not text:
            refused.append(Refused(raw, "r21.empty_entry", {}))
            continue
        dashes = text.count("-")
        if dashes > 1:
            refused.append(Refused(text, "r21.range_syntax", {}))
            continue
        if dashes == 0:
            e164 = _e164_of(text, country_code)
            if e164 is None:
                key = "r21.not_a_number" if country_code or text.startswith("+") else "r21.needs_site"
                refused.append(Refused(text, key, {"part": text}))
                continue
            spans.append((text, e164, e164))
            requested += 1
            continue
        ends = _range_ends(text, country_code)
        if isinstance(ends, Refused):
            refused.append(ends)
            continue
        start, end = ends
        spans.append((text, start, end))
        requested += int(end[1:]) - int(start[1:]) + 1
    if requested > RANGE_MAX:
        # Refused before ten million numbers are built and checked one by one.
        return Expansion(
            [], [Refused(", ".join(entries), "r21.too_many", {"max": RANGE_MAX, "count": requested})], requested
        )
    seen: set[str] = set()
    region = country_code or None
    for _entry, start, end in spans:
        for value in range(int(start[1:]), int(end[1:]) + 1):
            e164 = f"+{value}"
            if e164 in seen:
                refused.append(Refused(e164, "r21.twice", {}))
                continue
            seen.add(e164)
            if validate and not _valid(e164, region):
                refused.append(Refused(e164, "r21.invalid", {"country": country_code or "?"}))
                continue
            numbers.append(e164)
    return Expansion(numbers, refused, requested)


def _valid(e164: str, country_code: str | None) -> bool:
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return False
    if country_code is None:
        return phonenumbers.is_valid_number(number)
    return phonenumbers.is_valid_number_for_region(number, country_code)


def chunks(values: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


# --- database ---------------------------------------------------------------------


def site_name_clash(session: Session, name: str, site_id: int | None = None) -> FieldError | None:
    """R20: a site's name is unique in the tenant."""
    other = session.execute(select(col(Site.id)).where(col(Site.name) == name)).scalar_one_or_none()
    if other is None or other == site_id:
        return None
    return FieldError("name", "r20.name_taken", {"name": name})


def domain_clash(session: Session, domain: str) -> FieldError | None:
    """R20: a SIP domain is unique in the tenant (it is the registrar's realm)."""
    holder = session.execute(select(col(Site.name)).where(col(Site.sip_domain) == domain)).scalar_one_or_none()
    if holder is None:
        return None
    return FieldError("domain", "r20.domain_taken", {"domain": domain, "site": holder})


@dataclass(frozen=True)
class SiteContents:
    users: int
    numbers: int
    groups: int

    def __bool__(self) -> bool:
        return bool(self.users or self.numbers or self.groups)


def site_contents(session: Session, site_id: int) -> SiteContents:
    def count(entity: type[User] | type[PhoneNumber] | type[Group]) -> int:
        found: int = session.execute(
            select(func.count()).select_from(entity).where(col(entity.site_id) == site_id)
        ).scalar_one()
        return found

    return SiteContents(count(User), count(PhoneNumber), count(Group))


def site_delete_refusal(session: Session, site: Site) -> RuleRefused | None:
    """R20: a site with users, numbers or groups stays; the refusal says how
    many of each."""
    assert site.id is not None
    contents = site_contents(session, site.id)
    if not contents:
        return None
    return RuleRefused(
        "R20",
        "r20.not_empty",
        site=site.name,
        users=contents.users,
        numbers=contents.numbers,
        groups=contents.groups,
    )


def numbers_taken(session: Session, numbers: Sequence[str]) -> list[Refused]:
    """R21: a number is unique in the tenant; those already in a pool, with
    the site whose pool they are in."""
    refused: list[Refused] = []
    for part in chunks(numbers):
        rows = session.execute(
            select(col(PhoneNumber.e164), col(Site.name))
            .join(Site, col(Site.id) == PhoneNumber.site_id)
            .where(col(PhoneNumber.e164).in_(part))
        ).all()
        refused += [Refused(e164, "r21.exists", {"site": site}) for e164, site in rows]
    return sorted(refused, key=lambda r: r.text)


def group_name_clash(
    session: Session, name: str, site_id: int | None, kind: str, group_id: int | None = None
) -> FieldError | None:
    """R22: a name is unique per site and kind; the same name at another site
    or of another kind is another group."""
    row = session.execute(
        select(col(Group.id), col(Site.name))
        .join(Site, col(Site.id) == Group.site_id)
        .where(col(Group.name) == name, col(Group.site_id) == site_id, col(Group.kind) == kind)
    ).first()
    if row is None or row[0] == group_id:
        return None
    return FieldError("name", "r22.name_taken", {"name": name, "site": row[1], "kind": kind})
