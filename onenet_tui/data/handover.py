"""Which new desk phone credentials never reached anybody (R8-R10).

A password exists in plaintext only until it is shown once or exported. If
the console's link drops on the credentials screen, or a ``credentials reset``
is killed after its commit, the new passwords are in force and nobody has
them. The audit trail tells:

- an *issue* is an event that gave a user new credentials: ``user.add`` with a
  desk phone, ``user.change_configuration`` that changed the number or gave a
  desk phone, ``credentials.regenerate``, and ``credentials.bulk_reset``
  (whose details list the users and the export file, if one was chosen);
- a *hand-over* follows it: ``credentials.handed_over`` when the one-time
  screen was left with Next (or the command line printed them), and
  ``credentials.exported`` (the file name and count, the reset event's id)
  once a bulk export file is complete.

A user's credentials were never handed over when their latest issue has no
hand-over after it. Neither kind of event holds a secret.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, and_, cast, func, literal, null, or_, select, union_all
from sqlmodel import Session

from onenet_tui.data import audit
from onenet_tui.data.context import Context
from onenet_tui.data.lookup import UserView
from onenet_tui.data.models import AuditEvent, DeskPhoneCredential, DeviceType, User, table_of
from onenet_tui.data.unit import change

HANDED_OVER = "credentials.handed_over"
EXPORTED = "credentials.exported"
BULK_RESET = "credentials.bulk_reset"
REGENERATE = "credentials.regenerate"
_CHUNK = 500
# Changes that never issue, hand over or take away credentials: after events
# of only these, who holds credentials never handed over is what it was, and
# the question (which reads every issuing event) need not be asked again.
_NEUTRAL_ACTIONS = frozenset(
    {
        "user.edit_profile",
        "user.edit_call_services",
        "user.set_groups",
        "account.reset",
        "group.add",
        "group.rename",
        "group.delete",
        "group.set_members",
        "site.add",
        "site.rename",
        "numbers.add",
        "numbers.remove",
        "number.flag",
        "number.unflag",
        "operator.add",
        "operator.set_sites",
        "registrar.create_role",
    }
)
_NEUTRAL_PREFIX = "carrier."  # a status the carrier set (R3)
# Core columns: typed for SQL expressions, where the model attributes are not.
_EVENTS = table_of(AuditEvent).c
_CREDENTIALS = table_of(DeskPhoneCredential).c
_USERS = table_of(User).c


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


def record_exported(ctx: Context, reset_event: int | None, path: str, count: int) -> None:
    """A bulk reset's export file is complete (``reset_event``: its audit id)."""
    with change(ctx) as session:
        audit.record(session, ctx.actor, EXPORTED, path, reset_event=reset_event, file=path, count=count)


def unchanged_by(actions: Iterable[str]) -> bool:
    """Whether events of ``actions`` leave :func:`never_handed_over`'s answer
    as it was (an action not known to be neutral counts as a change)."""
    return all(action in _NEUTRAL_ACTIONS or action.startswith(_NEUTRAL_PREFIX) for action in actions)


def never_handed_over(session: Session) -> frozenset[int]:
    """The ids of users whose latest credentials were never handed over."""
    return frozenset(_unhanded(session))


def user_never_handed_over(ctx: Context, view: UserView) -> bool:
    """Whether the user of ``view`` (just read: it says whether they hold
    credentials and what they are called now) never got their latest
    credentials handed over; the answer ``never_handed_over`` gives for
    them, in one statement (a user's page opens in few round trips)."""
    if view.credentials is None:
        return False  # without a desk phone now: nothing to hand over
    with ctx.store.quick_read() as session:
        read = _read_events(session.execute(_events(view.id)))
    issue = read.issued.get(view.id, 0)
    for event_id, details in read.bulk:
        ids = details.get("user_ids")
        # Events written before the ids were recorded name the users.
        if view.id in ids if ids is not None else view.username in details.get("usernames", []):
            issue = max(issue, event_id)
    return read.handed.get(view.id, 0) < issue and issue not in read.exported


def pending_exports(session: Session, sites: Collection[int] | None = None) -> list[PendingExport]:
    """Bulk resets, oldest first, some of whose users' latest passwords were
    never exported (nor handed over since). ``sites`` is the operator's scope
    (R25): a site administrator hears only of their sites' users."""
    counts: dict[int, int] = {}
    unhanded = _unhanded(session)
    if sites is not None and unhanded:
        query = select(_USERS.id).where(_USERS.site_id.in_(sorted(sites)))
        mine = {row[0] for row in _chunked(session, query, _USERS.id, sorted(unhanded))}
        unhanded = {user_id: event for user_id, event in unhanded.items() if user_id in mine}
    for event_id in unhanded.values():
        counts[event_id] = counts.get(event_id, 0) + 1
    if not counts:
        return []
    query = select(_EVENTS.id, _EVENTS.at, _EVENTS.operator, _EVENTS.details).where(_EVENTS.action == BULK_RESET)
    rows = _chunked(session, query, _EVENTS.id, sorted(counts))
    found = [PendingExport(r.id, r.at, r.operator, counts[r.id], r.details.get("export")) for r in rows]
    return sorted(found, key=lambda p: p.event_id)


# --- the query -----------------------------------------------------------------
#
# Cheap: the single-user issues and hand-overs are reduced to the newest event
# id per user inside the database (the user id is read out of the details
# there, nothing is decoded here), over the ``action`` index. Only bulk
# resets, a handful of events, have their details read.


def _user_id() -> Any:
    return _EVENTS.details["user_id"].as_integer()


def _single_issue_filter() -> Any:
    details = _EVENTS.details
    return or_(
        _EVENTS.action == REGENERATE,
        and_(_EVENTS.action == "user.add", details["device_type"].as_string() == DeviceType.DESK_PHONE.value),
        and_(
            _EVENTS.action == "user.change_configuration",
            or_(
                details[("changed", "number", 1)].as_string().is_not(None),
                details[("changed", "device_type", 1)].as_string() == DeviceType.DESK_PHONE.value,
            ),
        ),
    )


def _events(user_id: int | None = None) -> Any:
    """The events the hand-over question reads, in one statement: every bulk
    reset and export (their details, a handful of events) and, reduced in the
    database, the newest single-user issue and hand-over per user (of
    ``user_id`` alone when given). Rows are (event id, kind, details, user)."""
    uid = _user_id()
    for_users = uid.is_not(None) if user_id is None else uid == user_id
    no_details, no_user = cast(null(), _EVENTS.details.type), cast(null(), Integer)
    # The bulk resets and exports first: their columns type the union's.
    return union_all(
        select(_EVENTS.id, _EVENTS.action, _EVENTS.details, no_user).where(_EVENTS.action.in_((BULK_RESET, EXPORTED))),
        select(func.max(_EVENTS.id), literal("issue"), no_details, uid)
        .where(_single_issue_filter(), for_users)
        .group_by(uid),
        select(func.max(_EVENTS.id), literal("handed"), no_details, uid)
        .where(_EVENTS.action == HANDED_OVER, for_users)
        .group_by(uid),
    )


@dataclass
class _Read:
    """The rows of :func:`_events`, sorted out."""

    issued: dict[int, int] = field(default_factory=dict)  # user -> newest single-user issue
    handed: dict[int, int] = field(default_factory=dict)  # user -> newest hand-over
    bulk: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # (id, details), oldest first
    exported: set[int] = field(default_factory=set)  # bulk resets whose file was completed


def _read_events(rows: Iterable[Any]) -> _Read:
    read = _Read()
    for event_id, kind, details, user in rows:
        if kind == "issue":
            read.issued[user] = event_id
        elif kind == "handed":
            read.handed[user] = event_id
        elif kind == BULK_RESET:
            read.bulk.append((event_id, details))
        elif kind == EXPORTED:
            reset_event = details.get("reset_event")
            if isinstance(reset_event, int):
                read.exported.add(reset_event)
    read.bulk.sort(key=lambda event: event[0])
    return read


def _bulk_issues(session: Session, bulk: list[tuple[int, dict[str, Any]]]) -> dict[int, int]:
    """The newest bulk reset per user."""
    newest: dict[int, int] = {}
    by_name: dict[int, list[str]] = {}
    for event_id, details in bulk:
        ids = details.get("user_ids")
        if ids is None:
            # Events written before the ids were recorded name the users.
            by_name[event_id] = list(details.get("usernames", []))
            continue
        for uid in ids:
            newest[uid] = event_id
    if by_name:
        _add_by_name(session, by_name, newest)
    return newest


def _add_by_name(session: Session, by_name: dict[int, list[str]], newest: dict[int, int]) -> None:
    names = sorted({name for names in by_name.values() for name in names})
    ids = dict(_chunked(session, select(_USERS.username, _USERS.id), _USERS.username, names))
    for event_id, usernames in by_name.items():
        for name in usernames:
            uid = ids.get(name)
            if uid is not None and newest.get(uid, 0) < event_id:
                newest[uid] = event_id


def _chunked(session: Session, query: Any, column: Any, values: list[Any]) -> Iterable[Any]:
    # Chunked IN lists keep every backend under its bound-parameter limit.
    for start in range(0, len(values), _CHUNK):
        yield from session.execute(query.where(column.in_(values[start : start + _CHUNK])))


def _unhanded(session: Session) -> dict[int, int]:
    """User id -> the issue event whose credentials never reached anybody."""
    read = _read_events(session.execute(_events()))
    latest, handed, exported = read.issued, read.handed, read.exported
    for uid, event_id in _bulk_issues(session, read.bulk).items():
        if latest.get(uid, 0) < event_id:
            latest[uid] = event_id
    candidates = {
        uid: event_id for uid, event_id in latest.items() if handed.get(uid, 0) < event_id and event_id not in exported
    }
    if not candidates:
        return {}
    # Users deleted since, or without a desk phone now, have nothing to hand over.
    holders = {
        uid for (uid,) in _chunked(session, select(_CREDENTIALS.user_id), _CREDENTIALS.user_id, sorted(candidates))
    }
    return {uid: event_id for uid, event_id in candidates.items() if uid in holders}
