"""The audit trail (R15): one event per change, written in the change's own
transaction. Callers pass details without secrets; :func:`record` refuses keys
that look like one, as a second line of defence."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session, col

from onenet_tui.data import bulk_insert
from onenet_tui.data.context import Actor, Context
from onenet_tui.data.models import AuditEvent, table_of, utcnow

_SECRET_KEYS = ("password", "code", "secret", "ha1")


def _refuse_secrets(details: dict[str, Any]) -> None:
    leaked = [key for key in details if any(word in key.lower() for word in _SECRET_KEYS)]
    if leaked:
        raise ValueError(f"audit details must not carry secrets: {leaked}")


def record(session: Session, actor: Actor, action: str, target: str, **details: Any) -> AuditEvent:
    _refuse_secrets(details)
    event = AuditEvent(operator=actor.name, action=action, target=target, details=details)
    session.add(event)
    return event


def record_many(session: Session, actor: Actor, events: Iterable[tuple[str, str, dict[str, Any]]]) -> int:
    """Many events (action, target, details) in one statement, as
    :func:`record` writes them one by one: for a change of thousands of
    users at once (an import), one event each. Returns how many."""
    now = utcnow()
    rows = []
    for action, target, details in events:
        _refuse_secrets(details)
        rows.append({"at": now, "operator": actor.name, "action": action, "target": target, "details": details})
    bulk_insert.insert_rows(session, table_of(AuditEvent), rows)
    return len(rows)


def events(session: Session, *, limit: int | None = None, newest_first: bool = True) -> Sequence[AuditEvent]:
    order = col(AuditEvent.id).desc() if newest_first else col(AuditEvent.id).asc()
    query = select(AuditEvent).order_by(order)
    if limit is not None:
        query = query.limit(limit)
    return session.execute(query).scalars().all()


def latest_id(session: Session) -> int:
    """The newest event's id: a cheap way to notice any change by anyone."""
    # COALESCE with 0 never answers NULL, though the id column's type allows it.
    newest: int = session.execute(select(func.coalesce(func.max(AuditEvent.id), 0))).scalar_one()
    return newest


def latest(ctx: Context) -> int:
    """:func:`latest_id` in a read of its own, for a screen that polls: one
    statement outside a transaction, one round trip to a remote database."""
    with ctx.store.quick_read() as session:
        return latest_id(session)


def recent(ctx: Context, limit: int) -> tuple[int, Sequence[AuditEvent]]:
    """The newest event's id and the newest ``limit`` events, newest first,
    read together so that the id belongs to the events shown."""
    with ctx.store.read() as session:
        return latest_id(session), events(session, limit=limit)
