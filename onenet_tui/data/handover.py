"""Which new desk phone credentials never reached anybody (R8-R10).

A password exists in plaintext only until it is shown once or exported. If
the console's link drops on the credentials screen, or a ``credentials reset``
is killed after its commit, the new passwords are in force and nobody has
them. The credentials row says so (``handed_over``, migration
0009_handed_over):

- every *issue* writes the row with ``handed_over`` False in the issue's own
  transaction: ``user.add`` with a desk phone, a configuration change that
  changed the number or gave a desk phone, ``credentials.regenerate``, an
  import's rows, and ``credentials.bulk_reset`` (which also writes its audit
  event's id, ``reset_event``, on every row it issued);
- a *hand-over* sets it True in the transaction of its audit event:
  ``credentials.handed_over`` when the one-time screen was left with Next
  (or the command line printed them, or an import's file was written), and
  ``credentials.exported`` (the file name and count, the reset event's id)
  once a bulk export file is complete: that reset's rows.

A kill between the two leaves the row saying "never handed over". A partial
index holds only those rows, so the question costs milliseconds whatever
the length of the audit trail. Neither the rows nor the events hold a secret.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlmodel import Session

from onenet_tui.data import audit
from onenet_tui.data.context import Context
from onenet_tui.data.lookup import UserView
from onenet_tui.data.models import AuditEvent, DeskPhoneCredential, User, table_of
from onenet_tui.data.unit import change

HANDED_OVER = "credentials.handed_over"
EXPORTED = "credentials.exported"
BULK_RESET = "credentials.bulk_reset"
REGENERATE = "credentials.regenerate"
_CHUNK = 500
# Core columns: typed for SQL expressions, where the model attributes are not.
_EVENTS = table_of(AuditEvent).c
_CREDENTIALS = table_of(DeskPhoneCredential).c
_USERS = table_of(User).c
# The condition of the partial index, as each backend's index has it
# (models.UNHANDED_WHERE_SQLITE, UNHANDED_WHERE_PG).
_UNHANDED = ~_CREDENTIALS.handed_over


@dataclass
class Receipt:
    """Where a bulk reset's export is recorded: every credential it issued
    carries the same one, so whoever writes them to a file (console or command
    line) records the hand-over without being told which reset it was."""

    ctx: Context
    reset_event: int | None = None  # set once the reset's event is written

    def exported(self, path: str, count: int) -> None:
        record_exported(self.ctx, self.reset_event, path, count)


@dataclass(frozen=True)
class PendingExport:
    """A bulk reset whose passwords are in force but were never exported."""

    event_id: int
    at: datetime
    operator: str
    count: int  # its users whose latest credentials are still these
    export: str | None  # the file it was meant to write, if any

    def warning(self) -> tuple[str, dict[str, str | int]]:
        """The message key and its parameters (operator and path raw: the
        caller makes them safe to show)."""
        key = "secrets.pending_export.file" if self.export else "secrets.pending_export.console"
        at = f"{self.at:%Y-%m-%d %H:%M} UTC"
        return key, {"count": self.count, "at": at, "operator": self.operator, "path": self.export or ""}


def record_handed_over(ctx: Context, username: str, user_id: int | None = None) -> None:
    """One user's new credentials reached the operator (Next, or printed)."""
    with change(ctx) as session:
        if user_id is None:
            user_id = session.execute(select(_USERS.id).where(_USERS.username == username)).scalar_one_or_none()
        audit.record(session, ctx.actor, HANDED_OVER, username, user_id=user_id)
        if user_id is not None:
            handed_over(session, [user_id])


def record_exported(ctx: Context, reset_event: int | None, path: str, count: int) -> None:
    """A bulk reset's export file is complete (``reset_event``: its audit id)."""
    with change(ctx) as session:
        audit.record(session, ctx.actor, EXPORTED, path, reset_event=reset_event, file=path, count=count)
        if reset_event is not None:
            # Its rows still unhanded: a user given newer credentials since
            # holds another reset's id, or none, and stays as they are.
            session.execute(
                update(DeskPhoneCredential)
                .where(_CREDENTIALS.reset_event == reset_event, _UNHANDED)
                .values(handed_over=True)
            )


def handed_over(session: Session, user_ids: Iterable[int]) -> None:
    """Mark these users' credentials handed over, in the caller's
    transaction (the one writing the hand-over's audit events)."""
    wanted = sorted(set(user_ids))
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        session.execute(
            update(DeskPhoneCredential).where(_CREDENTIALS.user_id.in_(chunk), _UNHANDED).values(handed_over=True)
        )


def never_handed_over_query() -> Select[tuple[int]]:
    """The ids of users whose latest credentials were never handed over: an
    indexed read (the partial index of those rows). The console's light
    starts run the SQL it compiles to (data/launch.py, data/launch_pg.py)."""
    return select(_CREDENTIALS.user_id).where(_UNHANDED)


def never_handed_over(session: Session) -> frozenset[int]:
    """The ids of users whose latest credentials were never handed over."""
    return frozenset(session.execute(never_handed_over_query()).scalars())


def user_never_handed_over(ctx: Context, view: UserView) -> bool:
    """Whether the user of ``view`` (just read: it says whether they hold
    credentials) never got their latest credentials handed over; the answer
    ``never_handed_over`` gives for them, in one statement (a user's page
    opens in few round trips)."""
    if view.credentials is None:
        return False  # without a desk phone now: nothing to hand over
    with ctx.store.quick_read() as session:
        query = select(func.count()).where(_CREDENTIALS.user_id == view.id, _UNHANDED)
        return bool(session.execute(query).scalar_one())


def pending_exports(session: Session, sites: Collection[int] | None = None) -> list[PendingExport]:
    """Bulk resets, oldest first, some of whose users' latest passwords were
    never exported (nor handed over since). ``sites`` is the operator's scope
    (R25): a site administrator hears only of their sites' users."""
    reset = _CREDENTIALS.reset_event
    query = select(reset, func.count()).where(_UNHANDED, reset.is_not(None)).group_by(reset)
    if sites is not None:
        mine = select(_USERS.id).where(_USERS.site_id.in_(sorted(sites)))
        query = query.where(_CREDENTIALS.user_id.in_(mine))
    counts: dict[int, int] = {event_id: count for event_id, count in session.execute(query)}
    if not counts:
        return []
    found: list[PendingExport] = []
    wanted = sorted(counts)
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        events = select(_EVENTS.id, _EVENTS.at, _EVENTS.operator, _EVENTS.details).where(_EVENTS.id.in_(chunk))
        found += [
            PendingExport(r.id, r.at, r.operator, counts[r.id], _export_of(r.details)) for r in session.execute(events)
        ]
    return sorted(found, key=lambda p: p.event_id)


def _export_of(details: Any) -> str | None:
    export = details.get("export") if isinstance(details, dict) else None
    return export if isinstance(export, str) else None
