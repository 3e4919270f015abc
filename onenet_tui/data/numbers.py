"""Number pools (R21): add numbers or ranges to a site, remove free ones,
flag and unflag them for the carrier.

All or nothing: an entry that names a refused number adds nothing at all,
and the refusal lists what was refused and why (the first few, and how many
more). One transaction and one audit event per call (R15); an administrator
only (R14; the flag also by the carrier). :func:`preview` is the same check
without the change, for the screen that shows what a range would add.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func, insert, select
from sqlmodel import Session, col

from onenet_tui.data import audit, tenant_checks
from onenet_tui.data.context import Context
from onenet_tui.data.errors import FieldError, InvalidInput, NotFound, RuleRefused
from onenet_tui.data.listing import NumberRow
from onenet_tui.data.lookup import site_by_name
from onenet_tui.data.models import PhoneNumber, Site, User
from onenet_tui.data.policy import Action, enforce
from onenet_tui.data.sites import checked
from onenet_tui.data.tenant_checks import Refused, chunks
from onenet_tui.data.unit import change

# How many refused numbers a refusal names before it says "and N more".
SHOWN_REFUSALS = 10


@dataclass(frozen=True)
class NumbersPreview:
    """What adding ``entries`` to the site would do: the numbers it adds
    (E.164, in order) and every number refused, with the reason."""

    site: str
    country: str
    numbers: list[str]
    refused: list[Refused]
    requested: int

    @property
    def ok(self) -> bool:
        return bool(self.numbers) and not self.refused

    def error(self) -> InvalidInput:
        errors = [r.error() for r in self.refused[:SHOWN_REFUSALS]]
        if len(self.refused) > SHOWN_REFUSALS:
            errors.append(FieldError("numbers", "r21.more_refused", {"count": len(self.refused) - SHOWN_REFUSALS}))
        if not errors:
            errors.append(FieldError("numbers", "r21.nothing"))
        return InvalidInput(errors)


@dataclass(frozen=True)
class NumbersChange:
    site: str | None
    numbers: list[str]

    @property
    def count(self) -> int:
        return len(self.numbers)


def _preview(session: Session, site: Site, entries: Sequence[str]) -> NumbersPreview:
    expansion = tenant_checks.expand(entries, site.country)
    refused = list(expansion.refused)
    if expansion.numbers:
        refused += tenant_checks.numbers_taken(session, expansion.numbers)
    taken = {r.text for r in refused}
    numbers = [n for n in expansion.numbers if n not in taken]
    return NumbersPreview(site.name, site.country, numbers, refused, expansion.requested)


def preview(ctx: Context, site_name: str, entries: Sequence[str]) -> NumbersPreview:
    """Read only: what :func:`add_numbers` would add and refuse."""
    with ctx.store.read() as session:
        return _preview(session, site_by_name(session, site_name, sites=ctx.actor.sites), entries)


def add_numbers(ctx: Context, site_name: str, entries: Sequence[str]) -> NumbersChange:
    """R21: every number of ``entries`` (single numbers or ranges, at most
    10,000 in all) valid for the site's country and in no pool yet, or none."""
    enforce(Action.MANAGE_NUMBERS, ctx.actor.role)
    if not entries:
        raise InvalidInput.single("numbers", "field.required")
    with change(ctx) as session:
        site = site_by_name(session, site_name, sites=ctx.actor.sites)
        found = _preview(session, site, entries)
        if not found.ok:
            raise found.error()
        session.execute(
            insert(PhoneNumber),
            [{"e164": e164, "site_id": site.id, "flagged": False, "flag_reason": None} for e164 in found.numbers],
        )
        ordered = sorted(found.numbers)
        audit.record(
            session,
            ctx.actor,
            "numbers.add",
            site.name,
            site_id=site.id,
            entries=[e.strip() for e in entries],
            count=len(ordered),
            first=ordered[0],
            last=ordered[-1],
            changed={"numbers": [None, [e.strip() for e in entries]]},
        )
        return NumbersChange(site.name, found.numbers)


def _rows(
    session: Session, entries: Sequence[str], site_name: str | None, sites: Collection[int] | None
) -> tuple[Site | None, list[PhoneNumber]]:
    """The pool rows ``entries`` name (national numbers need the site), or
    InvalidInput / NotFound naming the entries that are not numbers of a pool.
    R25: for a site administrator (``sites``), a number of another site's pool
    is refused like one of no pool, naming the rule."""
    site = site_by_name(session, site_name, sites=sites) if site_name is not None else None
    expansion = tenant_checks.expand(entries, site.country if site else None, validate=False)
    if expansion.refused:
        raise NumbersPreview(site_name or "", "", [], expansion.refused, expansion.requested).error()
    rows: list[PhoneNumber] = []
    for part in chunks(expansion.numbers):
        rows += session.execute(select(PhoneNumber).where(col(PhoneNumber.e164).in_(part))).scalars()
    known = {row.e164 for row in rows}
    missing = [n for n in expansion.numbers if n not in known]
    if site is not None:
        missing += sorted(row.e164 for row in rows if row.site_id != site.id)
    elif sites is not None:
        missing += sorted(row.e164 for row in rows if row.site_id not in sites)
    if missing and sites is not None:
        shown = ", ".join(missing[:SHOWN_REFUSALS]) + (" …" if len(missing) > SHOWN_REFUSALS else "")
        raise RuleRefused("R25", "site_admin.numbers_not_yours", numbers=shown)
    if missing:
        shown = ", ".join(missing[:SHOWN_REFUSALS]) + (" …" if len(missing) > SHOWN_REFUSALS else "")
        raise NotFound("number", shown + (f" @ {site.name}" if site else ""))
    return site, rows


def remove_numbers(ctx: Context, entries: Sequence[str], *, site: str | None = None) -> NumbersChange:
    """R21: free numbers only; one assigned number and nothing is removed."""
    enforce(Action.MANAGE_NUMBERS, ctx.actor.role)
    if not entries:
        raise InvalidInput.single("numbers", "field.required")
    with change(ctx) as session:
        found_site, rows = _rows(session, entries, site, ctx.actor.sites)
        ids = [row.id for row in rows]
        holders: list[tuple[str, str]] = []
        for part in _id_chunks(ids):
            holders += [
                (e164, username)
                for e164, username in session.execute(
                    select(col(PhoneNumber.e164), col(User.username))
                    .join(User, col(User.number_id) == PhoneNumber.id)
                    .where(col(PhoneNumber.id).in_(part))
                )
            ]
        if holders:
            holders.sort()
            shown = ", ".join(f"{e164} ({username})" for e164, username in holders[:SHOWN_REFUSALS])
            raise RuleRefused("R21", "r21.assigned", numbers=shown, count=len(holders))
        for part in _id_chunks(ids):
            session.execute(delete(PhoneNumber).where(col(PhoneNumber.id).in_(part)))
        numbers = sorted(row.e164 for row in rows)
        site_names = sorted(
            {site.name for site in (session.get(Site, sid) for sid in {r.site_id for r in rows}) if site}
        )
        site_ids = {r.site_id for r in rows}
        audit.record(
            session,
            ctx.actor,
            "numbers.remove",
            ", ".join(site_names),
            site_id=next(iter(site_ids)) if len(site_ids) == 1 else None,
            numbers=numbers,
            count=len(numbers),
            changed={"numbers": [numbers, None]},
        )
        return NumbersChange(found_site.name if found_site else None, numbers)


def _id_chunks(ids: list[int | None]) -> list[list[int]]:
    clean = [i for i in ids if i is not None]
    return [clean[i : i + 900] for i in range(0, len(clean), 900)]


@dataclass(frozen=True)
class FlagChange:
    number: str
    site: str
    flagged: bool
    reason: str | None
    username: str | None


def _one(
    session: Session, number: str, site_name: str | None, sites: Collection[int] | None
) -> tuple[PhoneNumber, Site]:
    if "-" in number:
        raise InvalidInput.single("number", "r21.one_number", number=number)
    _, rows = _rows(session, [number], site_name, sites)
    row = rows[0]
    site = session.get(Site, row.site_id)
    assert site is not None
    return row, site


def flag_number(ctx: Context, number: str, reason: str, *, site: str | None = None) -> FlagChange:
    """R21: the carrier's flag (e.g. porting not finished) with its reason;
    a user on a flagged number fails activation (R3), so a new user is
    offered it only with the flag shown."""
    enforce(Action.FLAG_NUMBER, ctx.actor.role)
    text: str = checked(tenant_checks.flag_reason, "reason", reason)
    with change(ctx) as session:
        row, found_site = _one(session, number, site, ctx.actor.sites)
        previous = row.flag_reason if row.flagged else None
        was = row.flagged
        row.flagged, row.flag_reason = True, text
        holder = _holder(session, row)
        audit.record(
            session,
            ctx.actor,
            "number.flag",
            row.e164,
            site_id=found_site.id,
            site=found_site.name,
            reason=text,
            previous=previous,
            user=holder,
            changed=audit.changes({"flagged": was, "flag_reason": previous}, {"flagged": True, "flag_reason": text}),
        )
        return FlagChange(row.e164, found_site.name, True, text, holder)


def unflag_number(ctx: Context, number: str, *, site: str | None = None) -> FlagChange:
    enforce(Action.FLAG_NUMBER, ctx.actor.role)
    with change(ctx) as session:
        row, found_site = _one(session, number, site, ctx.actor.sites)
        previous = row.flag_reason
        was = row.flagged
        row.flagged, row.flag_reason = False, None
        holder = _holder(session, row)
        if was:
            audit.record(
                session,
                ctx.actor,
                "number.unflag",
                row.e164,
                site_id=found_site.id,
                site=found_site.name,
                previous=previous,
                user=holder,
                changed=audit.changes(
                    {"flagged": True, "flag_reason": previous}, {"flagged": False, "flag_reason": None}
                ),
            )
        return FlagChange(row.e164, found_site.name, False, None, holder)


def _holder(session: Session, row: PhoneNumber) -> str | None:
    username: str | None = session.execute(
        select(col(User.username)).where(col(User.number_id) == row.id)
    ).scalar_one_or_none()
    return username


@dataclass(frozen=True)
class NumberPage:
    """One page of a site's pool for a virtual list: ``total`` rows match,
    ``rows`` are those from ``offset`` on."""

    total: int
    offset: int
    rows: list[NumberRow]


def number_page(
    ctx: Context, site_name: str, *, offset: int = 0, limit: int = 200, free_only: bool = False
) -> NumberPage:
    """Read only: a site's numbers in order, a page at a time (10,000 numbers
    stay instant: the screen asks for the lines it shows)."""
    with ctx.store.read() as session:
        site = site_by_name(session, site_name, sites=ctx.actor.sites)
        where = [col(PhoneNumber.site_id) == site.id]
        if free_only:
            where.append(col(User.id).is_(None))
        base = select(func.count()).select_from(PhoneNumber).outerjoin(User, col(User.number_id) == PhoneNumber.id)
        total: int = session.execute(base.where(*where)).scalar_one()
        rows = session.execute(
            select(
                col(PhoneNumber.e164),
                col(Site.name),
                col(Site.country),
                col(PhoneNumber.flagged),
                col(PhoneNumber.flag_reason),
                col(User.username),
            )
            .join(Site, col(Site.id) == PhoneNumber.site_id)
            .outerjoin(User, col(User.number_id) == PhoneNumber.id)
            .where(*where)
            .order_by(PhoneNumber.e164)
            .offset(offset)
            .limit(limit)
        ).all()
        return NumberPage(total, offset, [NumberRow(*row) for row in rows])
