"""Who is acting: the operator behind every service call (SPEC section 7)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from onenet_tui.data.models import Operator, Role
from onenet_tui.data.storage import Store

CARRIER_NAME = "carrier"


@dataclass(frozen=True)
class Actor:
    name: str
    role: Role


@dataclass(frozen=True)
class Context:
    """A store and the operator acting on it; every service takes one."""

    store: Store
    actor: Actor


def resolve_actor(store: Store, name: str) -> Actor:
    """The operator called ``name``: the first one on an empty database becomes
    admin, an unknown one later is registered as helpdesk (SPEC section 7)."""
    with store.transaction() as session:
        operator = session.execute(select(Operator).where(Operator.name == name)).scalar_one_or_none()
        if operator is None:
            humans = session.execute(
                select(func.count()).select_from(Operator).where(Operator.role != Role.CARRIER.value)
            ).scalar_one()
            role = Role.ADMIN if humans == 0 else Role.HELPDESK
            operator = Operator(name=name, role=role.value)
            session.add(operator)
        return Actor(operator.name, Role(operator.role))


def carrier_context(store: Store) -> Context:
    """The carrier (or its simulator) as an operator of its own, for the audit trail."""
    return Context(store, Actor(CARRIER_NAME, Role.CARRIER))
