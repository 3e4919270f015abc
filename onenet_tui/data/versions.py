"""Optimistic versions of groups and users for membership saves (R22,
SPEC section 7).

A change of memberships changes both sides: the group's version and every
affected user's go up, so a save based on either as it was is refused as
stale. A save locks the row whose version it checks first (SELECT ... FOR UPDATE
on PostgreSQL; SQLite's write lock is taken at BEGIN), so a second save of
the same group or user waits, then sees the new version and is refused before
it changes anything. The bump is one UPDATE ... WHERE version = :seen as well,
so two saves racing from the same version can never both succeed.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select, update
from sqlmodel import Session

from onenet_tui.data.errors import StaleData
from onenet_tui.data.models import Group, User, table_of

_CHUNK = 900


def lock_group(session: Session, group_id: int) -> int:
    """Lock the group's row for this transaction and answer its version as
    last committed: a second save of the same group waits here, then sees
    the first one's version and is refused as stale before it changes anything."""
    groups = table_of(Group)
    version: int = session.execute(
        select(groups.c.version).where(groups.c.id == group_id).with_for_update()
    ).scalar_one()
    return version


def lock_user(session: Session, user_id: int) -> int:
    """:func:`lock_group` for a user's row."""
    users = table_of(User)
    version: int = session.execute(select(users.c.version).where(users.c.id == user_id).with_for_update()).scalar_one()
    return version


def bump_group(session: Session, group_id: int, seen: int | None = None, *, name: str | None = None) -> None:
    """The group one version up; with ``seen``, StaleData when its version is
    no longer that (without, a single change that needs no check)."""
    groups = table_of(Group)
    query = update(groups).where(groups.c.id == group_id)
    if seen is not None:
        query = query.where(groups.c.version == seen)
    done = session.execute(query.values(version=groups.c.version + 1))
    if done.rowcount != 1:  # type: ignore[attr-defined]  # an UPDATE's result has a row count
        raise StaleData(name)
    _refresh(session, Group, group_id)


def bump_user(session: Session, user_id: int, seen: int, *, username: str | None = None) -> int:
    """The user's new version; StaleData when it is no longer ``seen``."""
    users = table_of(User)
    done = session.execute(update(users).where(users.c.id == user_id, users.c.version == seen).values(version=seen + 1))
    if done.rowcount != 1:  # type: ignore[attr-defined]  # an UPDATE's result has a row count
        raise StaleData(username)
    _refresh(session, User, user_id)
    return seen + 1


def bump_users(session: Session, user_ids: Iterable[int]) -> None:
    """Every one of ``user_ids`` one version up, whatever it was."""
    users = table_of(User)
    ids = sorted(set(user_ids))
    for start in range(0, len(ids), _CHUNK):
        part = ids[start : start + _CHUNK]
        session.execute(update(users).where(users.c.id.in_(part)).values(version=users.c.version + 1))
        for user_id in part:
            _refresh(session, User, user_id)


def _refresh(session: Session, entity: type[Group] | type[User], ident: int) -> None:
    """Forget the loaded row's version, so the ORM (which checks a user's
    version on its own updates) reads the new one if it writes the row later."""
    loaded = session.identity_map.get(session.identity_key(entity, ident))
    if loaded is not None:
        session.expire(loaded, ["version"])
