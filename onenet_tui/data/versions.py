"""Optimistic versions of groups and users for membership saves (R22,
SPEC section 7).

A change of memberships changes both sides: the group's version and every
affected user's go up, so a save based on either as it was is refused as
stale. The bump is one UPDATE ... WHERE version = :seen, so two saves
racing from the same version cannot both succeed, whatever the isolation
level: the loser's update matches no row.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import update
from sqlmodel import Session

from onenet_tui.data.errors import StaleData
from onenet_tui.data.models import Group, User, table_of

_CHUNK = 900


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
