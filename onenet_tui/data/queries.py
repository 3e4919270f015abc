"""Read-only lookups the services and :mod:`onenet_tui.data.checks` build on:
who holds this number or extension, is this username taken, which username
is next. The rules themselves are in ``checks``."""

from __future__ import annotations

from sqlalchemy import ColumnElement, exists, func, select
from sqlmodel import Session, col

from onenet_tui.data import validation
from onenet_tui.data.models import Group, PhoneNumber, Site, User


def number_row(session: Session, e164: str) -> PhoneNumber | None:
    return session.execute(select(PhoneNumber).where(col(PhoneNumber.e164) == e164)).scalar_one_or_none()


def number_holder(session: Session, number_id: int) -> User | None:
    return session.execute(select(User).where(col(User.number_id) == number_id)).scalar_one_or_none()


def free_numbers(session: Session, site_id: int, *, limit: int | None = None) -> list[str]:
    """The site's unassigned numbers in E.164, in order."""
    taken = exists().where(col(User.number_id) == PhoneNumber.id)
    query = select(col(PhoneNumber.e164)).where(col(PhoneNumber.site_id) == site_id, ~taken).order_by(PhoneNumber.e164)
    if limit is not None:
        query = query.limit(limit)
    return list(session.execute(query).scalars())


def flagged_free_numbers(session: Session, site_id: int) -> list[PhoneNumber]:
    """The site's unassigned numbers the carrier flagged (R21), in order."""
    taken = exists().where(col(User.number_id) == PhoneNumber.id)
    query = (
        select(PhoneNumber)
        .where(col(PhoneNumber.site_id) == site_id, col(PhoneNumber.flagged), ~taken)
        .order_by(PhoneNumber.e164)
    )
    return list(session.execute(query).scalars())


def extension_holder(session: Session, site_id: int, extension: str) -> User | None:
    return session.execute(
        select(User).where(col(User.site_id) == site_id, col(User.extension) == extension)
    ).scalar_one_or_none()


def same_username(username: str) -> ColumnElement[bool]:
    """R19: usernames are one name whatever their case. Both sides are
    lowered by the database, as its unique index on ``lower(username)``
    does, so the check, the lookup and the index always agree (SQLite's
    ``lower`` folds ASCII letters only; PostgreSQL's follows its locale)."""
    return func.lower(col(User.username)) == func.lower(validation.username_key(username))


def username_taken(session: Session, username: str) -> bool:
    # SQLite answers EXISTS with 1 or 0, PostgreSQL with a boolean.
    return bool(session.execute(select(exists().where(same_username(username)))).scalar_one())


def username_holder(session: Session, username: str) -> User | None:
    """The user whose username is ``username`` in any case."""
    return session.execute(select(User).where(same_username(username))).scalar_one_or_none()


def unique_username(session: Session, first: str, last: str) -> str:
    """R19: ``first.last``, with a number appended until it is free (free
    in any case: ``Anna.Schmidt`` takes ``anna.schmidt`` too)."""
    base = validation.proposed_username(first, last)
    lowered = func.lower(col(User.username))
    taken = {name.lower() for name in session.execute(select(lowered).where(lowered.like(f"{base}%"))).scalars()}
    if base not in taken:
        return base
    n = 2
    while True:
        suffix = str(n)
        candidate = base[: validation.USERNAME_MAX - len(suffix)] + suffix
        if candidate not in taken:
            return candidate
        n += 1


def sites(session: Session) -> list[Site]:
    return list(session.execute(select(Site).order_by(Site.name)).scalars())


def site_groups(session: Session, site_id: int) -> list[Group]:
    return list(
        session.execute(select(Group).where(col(Group.site_id) == site_id).order_by(Group.kind, Group.name)).scalars()
    )


def user_count(session: Session) -> int:
    return session.scalars(select(func.count()).select_from(User)).one()
