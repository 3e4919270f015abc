"""The audit trail (R15): one event per change, written in the change's own
transaction. Callers pass details without secrets; :func:`record` refuses keys
that look like one, as a second line of defence."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session, col

from onenet_tui.data import audit_sites, bulk_insert
from onenet_tui.data.context import Actor, Context
from onenet_tui.data.models import AuditEvent, AuditEventUser, table_of, utcnow

_SECRET_KEYS = ("password", "code", "secret", "ha1", "digest")
# Where an event names the fields it changed: {field: [old, new]} (R26).
CHANGES = "changed"
# What an event replaced without saying what it is: credentials, codes (R26, R15).
REPLACED = "replaced"


def _leaks(details: dict[str, Any]) -> list[str]:
    """Keys that look like a secret, in the details and in the fields changed."""
    keys = list(details)
    changes = details.get(CHANGES)
    if isinstance(changes, dict):
        keys += [f"{CHANGES}.{name}" for name in changes]
    return [key for key in keys if any(word in key.lower() for word in _SECRET_KEYS)]


def _refuse_secrets(details: dict[str, Any]) -> None:
    leaked = _leaks(details)
    if leaked:
        raise ValueError(f"audit details must not carry secrets: {leaked}")


def changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """The fields whose value differs, as ``{field: [old, new]}``."""
    names = list(dict.fromkeys([*before, *after]))
    return {name: [before.get(name), after.get(name)] for name in names if before.get(name) != after.get(name)}


def created(values: dict[str, Any]) -> dict[str, list[Any]]:
    """A new thing's values as changes from nothing; empty values left out."""
    return {name: [None, value] for name, value in values.items() if value not in (None, "", [], False)}


def removed(values: dict[str, Any]) -> dict[str, list[Any]]:
    """A removed thing's last values as changes to nothing."""
    return {name: [value, None] for name, value in values.items() if value not in (None, "", [], False)}


def record(
    session: Session,
    actor: Actor,
    action: str,
    target: str,
    *,
    user_id: int | None = None,
    site_id: int | None = None,
    about_users: Sequence[int] = (),
    **details: Any,
) -> AuditEvent:
    """One event. ``user_id``: the user it is about, also kept in the details
    as before; ``site_id``: the site of the change (R25's scope);
    ``about_users``: the users of a change of many, each of whose histories
    shows it (R26), and whose sites are the event's when it names none (R25)."""
    if user_id is not None:
        details["user_id"] = user_id
    _refuse_secrets(details)
    event = AuditEvent(
        operator=actor.name, action=action, target=target, user_id=user_id, site_id=site_id, details=details
    )
    session.add(event)
    if about_users:
        if site_id is None:
            # A change of many users names their sites (R25): one, as any
            # event's; several, each, for the administrators of them all.
            audit_sites.record_sites(session, event, audit_sites.sites_of_users(session, about_users))
        session.flush()
        rows = [{"user_id": uid, "event_id": event.id} for uid in dict.fromkeys(about_users)]
        bulk_insert.insert_rows(session, table_of(AuditEventUser), rows)
    return event


def record_many(session: Session, actor: Actor, events: Iterable[tuple[str, str, dict[str, Any]]]) -> int:
    """Many events (action, target, details) in one statement, as
    :func:`record` writes them one by one: for a change of thousands of
    users at once (an import), one event each. The details' ``user_id`` and
    ``site_id`` fill the columns; ``site_id`` is not kept in the details.
    Returns how many."""
    now = utcnow()
    rows = []
    for action, target, given in events:
        details = dict(given)
        site_id = details.pop("site_id", None)
        _refuse_secrets(details)
        rows.append(
            {
                "at": now,
                "operator": actor.name,
                "action": action,
                "target": target,
                "user_id": details.get("user_id"),
                "site_id": site_id,
                "details": details,
            }
        )
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
