"""Who is acting and on which store: the values every service takes.

Without the ORM (the store's type is only named), so the console can paint
its first frame before SQLAlchemy is imported; :mod:`onenet_tui.data.context`
re-exports them with the functions that resolve an operator."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from onenet_tui.data.enums import Role

if TYPE_CHECKING:
    from onenet_tui.data.storage import Store

# The carrier's operator name, reserved: no person acts as carrier.
CARRIER_NAME = "carrier"


@dataclass(frozen=True)
class Actor:
    name: str
    role: Role
    # R25: the ids of a site administrator's sites; None for every other role
    # (their scope is the whole tenant). Read when the operator is resolved;
    # an open console reads it again (current_actor) whenever it notices a
    # change, as it does for a promotion or demotion.
    sites: frozenset[int] | None = None
    # The same sites' names, sorted, for the directory header and messages.
    site_names: tuple[str, ...] = ()


def stored_actor(name: str, role_value: str, read_sites: Callable[[], Iterable[tuple[int, str]]]) -> Actor:
    """The operator as the database holds them: ``read_sites`` gives a site
    administrator's sites as (id, name) in name order, and is asked only for
    them (one query fewer for everyone else)."""
    role = Role(role_value)
    if role is not Role.SITE_ADMIN:
        return Actor(name, role)
    sites = list(read_sites())
    return Actor(name, role, frozenset(site_id for site_id, _ in sites), tuple(site for _, site in sites))


@dataclass(frozen=True)
class Context:
    """A store and the operator acting on it; every service takes one."""

    store: Store
    actor: Actor
