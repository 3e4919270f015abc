"""Who is acting: the operator behind every service call (SPEC section 7)."""

from __future__ import annotations

from pydantic_core import PydanticCustomError
from sqlalchemy import Select, func, select
from sqlmodel import Session, col

from onenet_tui.data import validation

# Re-exported: they live without the ORM, for the console's first paint (actor.py).
from onenet_tui.data.actor import CARRIER_NAME as CARRIER_NAME
from onenet_tui.data.actor import Actor as Actor
from onenet_tui.data.actor import Context as Context
from onenet_tui.data.actor import stored_actor
from onenet_tui.data.errors import InvalidInput
from onenet_tui.data.models import Operator, OperatorSite, Role, Site
from onenet_tui.data.storage import Store

# PostgreSQL advisory lock key held while registering an operator, so that two
# operators arriving at once on an empty tenant cannot both count no one.
_REGISTRATION_LOCK = int.from_bytes(b"operator", "big") >> 1


def operator_name(value: str) -> str:
    """A human operator's name: a valid username (R19), nothing a terminal
    would interpret, and not the carrier's reserved name (its audit events
    must not be mistaken for a person's, nor a person's for the carrier's)."""
    if validation.has_control(value):
        raise validation.refuse("operator.control")
    value = validation.username(value)
    if value.casefold() == CARRIER_NAME:
        raise validation.refuse("operator.reserved", name=CARRIER_NAME)
    return value


def resolve_actor(store: Store, name: str) -> Actor:
    """The operator called ``name``: the first one on an empty database becomes
    admin, an unknown one later is registered as helpdesk (SPEC section 7).

    A known operator is only read, so commands that change nothing never wait
    for another administrator's save. The carrier's name is refused even for
    an operator registered before it was reserved: no person acts as carrier."""
    if name.strip().casefold() == CARRIER_NAME:
        _checked_name(name)
    # One statement on its own: no transaction needed around it.
    with store.quick_read() as session:
        known = _find(session, name)
    if known is not None:
        return known
    return _register(store, _checked_name(name))


def current_actor(store: Store, actor: Actor) -> Actor:
    """``actor`` as the database has them now: a promotion, a demotion or new
    sites (R25) since they were resolved; unchanged when they are not stored
    (the carrier, or an operator removed meanwhile)."""
    with store.read() as session:
        return _find(session, actor.name) or actor


def _checked_name(name: str) -> str:
    """``name`` checked as an operator's, or InvalidInput naming the field."""
    try:
        return operator_name(name)
    except PydanticCustomError as err:
        raise InvalidInput.single("operator", err.type, **(err.context or {})) from None


def _operator_query(name: str) -> Select[int | None, str, str]:
    # launch.OPERATOR_SQL runs this without the ORM (a test pins them equal).
    return select(col(Operator.id), col(Operator.name), col(Operator.role)).where(col(Operator.name) == name)


def _operator_sites_query(operator_id: int | None) -> Select[int | None, str]:
    # launch.OPERATOR_SITES_SQL likewise.
    return (
        select(col(Site.id), col(Site.name))
        .join(OperatorSite, col(OperatorSite.site_id) == Site.id)
        .where(col(OperatorSite.operator_id) == operator_id)
        .order_by(col(Site.name))
    )


def _find(session: Session, name: str) -> Actor | None:
    found = session.execute(_operator_query(name)).one_or_none()
    if found is None:
        return None
    operator_id, stored_name, role_value = found
    return stored_actor(stored_name, role_value, lambda: session.execute(_operator_sites_query(operator_id)).all())


def _register(store: Store, name: str) -> Actor:
    """Add an operator seen for the first time, serialised with every other
    registration (SQLite's write lock, or an advisory lock on PostgreSQL) and
    looked up again under that lock: someone may have got there first."""
    with store.transaction() as session:
        if store.dialect == "postgresql":
            session.execute(select(func.pg_advisory_xact_lock(_REGISTRATION_LOCK)))
        known = _find(session, name)
        if known is not None:
            return known
        role = Role.ADMIN if _human_count(session) == 0 else Role.HELPDESK
        session.add(Operator(name=name, role=role.value))
        return Actor(name, role)


def _human_count(session: Session) -> int:
    return session.scalars(
        select(func.count()).select_from(Operator).where(col(Operator.role) != Role.CARRIER.value)
    ).one()


def carrier_context(store: Store) -> Context:
    """The carrier (or its simulator) as an operator of its own, for the audit trail."""
    return Context(store, Actor(CARRIER_NAME, Role.CARRIER))
