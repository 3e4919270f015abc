"""Reading the audit trail (R15, R26): filtered by user, operator, action and
time, a page at a time newest first (keyset by id), so that a million events
are never loaded, counted or sorted to show the first screenful.

A filter is typed like the directory's: ``user:anna operator:bob
action:credentials since:2026-11-01 until:2026-11-30`` and free words, all
of which must match. The command line passes the same fields as flags.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from time import perf_counter as clock
from typing import Any

from sqlalchemy import ColumnElement, false, func, or_, select
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col

from onenet_tui.data import audit, audit_sites, audit_words, queries, validation
from onenet_tui.data.context import Context
from onenet_tui.data.errors import InvalidInput, NotFound
from onenet_tui.data.models import AuditEvent, AuditEventUser, User

# The filter's terms, in the order help lists them.
TERMS = ("user", "operator", "action", "since", "until")
# A page of the audit log: a few screens' worth, read again as one scrolls.
PAGE = 200
# Longer filter text is refused rather than searched.
MAX_FILTER = 500


@dataclass(frozen=True)
class AuditFilter:
    """What the audit log shows; empty shows everything. ``until`` is
    exclusive: a date given as the end means the whole of that day."""

    user: str | None = None  # a username (also of a deleted user) or a user id
    operator: str | None = None
    action: str | None = None  # an action or its prefix: "credentials", "user.edit"
    since: datetime | None = None
    until: datetime | None = None
    words: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return self == AuditFilter()


def moment(field: str, text: str, *, end: bool = False) -> datetime:
    """An ISO date or date and time (UTC unless it names a zone). As the end
    of a range a date means up to the end of that day. Refuses naming
    ``field``."""
    value = text.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            day = date.fromisoformat(value)
            start = datetime.combine(day, time(), tzinfo=UTC)
            return start + timedelta(days=1) if end else start
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput.single(field, "history.filter.bad_moment", value=text) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    parsed = parsed.astimezone(UTC)
    # A moment given to the second includes that second's events.
    return parsed + timedelta(microseconds=1) if end else parsed


def build(
    *,
    user: str | None = None,
    operator: str | None = None,
    action: str | None = None,
    since: str | None = None,
    until: str | None = None,
    words: Sequence[str] = (),
) -> AuditFilter:
    """A filter from its fields as typed (the command line's flags)."""
    errors = []
    start = end = None
    for name, value in (("since", since), ("until", until)):
        if value is None:
            continue
        try:
            if name == "since":
                start = moment(name, value)
            else:
                end = moment(name, value, end=True)
        except InvalidInput as refused:
            errors.extend(refused.errors)
    if errors:
        raise InvalidInput(errors)
    if start is not None and end is not None and end <= start:
        raise InvalidInput.single("until", "history.filter.until_before_since")
    clean = [w for w in (word.strip().casefold() for word in words) if w]
    return AuditFilter(
        user=_term(user), operator=_term(operator), action=_term(action), since=start, until=end, words=tuple(clean)
    )


def _term(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


def parse(text: str) -> AuditFilter:
    """The console's typed filter: ``term:value`` for each of :data:`TERMS`
    (a value with spaces in double quotes), other words free text. A term
    given twice keeps the last; an unknown ``word:`` is free text."""
    if len(text) > MAX_FILTER:
        raise InvalidInput.single("filter", "history.filter.too_long", maximum=MAX_FILTER)
    # No stored text holds a NUL, and PostgreSQL refuses one in a query.
    text = text.replace("\x00", "")
    fields: dict[str, str] = {}
    words: list[str] = []
    for match in re.finditer(r'(\w+):"([^"]*)"?|(\S+)', text):
        if match.group(1) is not None:
            name, value = match.group(1).lower(), match.group(2)
        else:
            token = match.group(3)
            name, colon, value = token.partition(":")
            name = name.lower()
            if not colon:
                words.append(token)
                continue
        if name in TERMS:
            fields[name] = value
        else:
            words.append(match.group(0).replace('"', ""))
    return build(words=words, **fields)


def _user_ids(session: Session, ref: str) -> list[int]:
    """The ids a user term means: a number is an id; a name is the user of
    that name today and any deleted user whose events carry it as target."""
    if ref.isascii() and ref.isdigit():
        # No id is that large; the database would refuse the number.
        return [int(ref)] if int(ref) < 2**63 else []
    key = validation.username_key(ref)
    ids = set(session.execute(select(col(User.id)).where(queries.same_username(key))).scalars())
    gone = select(col(AuditEvent.user_id)).where(
        col(AuditEvent.target).in_({ref, key, key.lower()}), col(AuditEvent.user_id).is_not(None)
    )
    ids.update(i for i in session.execute(gone.distinct()).scalars() if i is not None)
    return sorted(ids)


def actions_of(session: Session, prefix: str) -> list[str]:
    """The stored actions that are ``prefix`` or start with it, found by
    seeking the action index once per action (a few dozen at most), not by
    reading the events: ``action IN (...)`` then reads each in id order."""
    prefix = prefix.lower()
    found: list[str] = []
    column = col(AuditEvent.action)
    upper = [column < prefix[:-1] + chr(ord(prefix[-1]) + 1)] if ord(prefix[-1]) < sys.maxunicode else []
    last: str | None = None
    while True:
        # The next action in index order, one seek: one lower bound only (of
        # two, SQLite seeks by one and reads the whole prefix's entries), and
        # not min() over a range, which reads every entry of it.
        lower = column > last if last is not None else column >= prefix
        query = select(column).where(lower, *upper).order_by(column).limit(1)
        nxt: str | None = session.execute(query).scalar_one_or_none()
        if nxt is None:
            return found
        if nxt.startswith(prefix):  # a collation may sort others into the range
            found.append(nxt)
        last = nxt


# A time range's bound is found in the time index when this many entries
# of it or fewer lie beyond it (1-2 ms to read), else only when the events
# it would skip are more than that too.
_BOUND_SCAN = 5_000


def _time_range(session: Session, since: datetime | None, until: datetime | None) -> list[ColumnElement[bool]]:
    """The time range, compared exactly, and where it pays the id range its
    events lie in. Pages are read newest first by id: with the ids bounded,
    a page of last year is read from its newest end and stops at its oldest,
    where the time index would have had every event of the range sorted
    first (0.3 s of a million). A bound is the min or max id of the events
    on its side of the moment, read in the time index (ids and times need
    not agree in order: two writers stamp their events a moment apart), so
    for "until last month" that is nearly the whole index (0.2 s). Each is
    read only as far as :data:`_BOUND_SCAN` entries; beyond that, the events
    a bound would skip are few beside what reading it costs, and the page
    read passes them comparing the time, unless they are as many."""
    at = col(AuditEvent.at)
    stamped = func.coalesce(at, at)
    where = [stamped >= since] if since is not None else []
    if until is not None:
        where.append(stamped < until)
    if since is not None:
        found, low = _bound(session, at >= since, at.asc(), func.min)
        if found == 0:
            return [false()]  # no event is that late
        if low is not None:
            where.insert(0, col(AuditEvent.id) >= low)
    if until is not None:
        found, high = _bound(session, at < until, at.desc(), func.max)
        if found == 0:
            return [false()]  # no event is that early
        if high is None and _bound(session, at >= until, at.asc(), func.max)[1] is None:
            # As many events after the range as in it and before: skipping them by id pays.
            high = session.execute(select(func.max(col(AuditEvent.id) + 0)).where(at < until)).scalar_one()
        if high is not None:
            where.insert(0, col(AuditEvent.id) <= high)
    return where


def _bound(session: Session, side: ColumnElement[bool], order: Any, extreme: Any) -> tuple[int, int | None]:
    """How many events (up to :data:`_BOUND_SCAN` + 1) are on ``side`` of a
    moment, nearest first in the time index, and their ``extreme`` id if
    that is all of them (None if more)."""
    near = select(col(AuditEvent.id).label("id")).where(side).order_by(order).limit(_BOUND_SCAN + 1).subquery()
    count, value = session.execute(select(func.count(), extreme(near.c.id))).one()
    return count, (value if count <= _BOUND_SCAN else None)


def conditions(
    session: Session, wanted: AuditFilter, site_ids: Collection[int] | None = None
) -> list[ColumnElement[bool]]:
    """The filter as SQL conditions; ``site_ids`` scopes to those sites'
    events (None: every event, also those of no site)."""
    return _conditions(session, wanted, site_ids, actions_of(session, wanted.action) if wanted.action else [])


def _conditions(
    session: Session,
    wanted: AuditFilter,
    site_ids: Collection[int] | None,
    actions: list[str],
    *,
    by_index: bool = False,
) -> list[ColumnElement[bool]]:
    """:func:`conditions`; ``by_index``: free words found in their index."""
    where: list[ColumnElement[bool]] = []
    if site_ids is not None:
        where.append(audit_sites.visible_to(site_ids))
    if wanted.user is not None:
        ids = _user_ids(session, wanted.user)
        of_many = select(col(AuditEventUser.event_id)).where(col(AuditEventUser.user_id).in_(ids))
        where.append(or_(col(AuditEvent.user_id).in_(ids), col(AuditEvent.id).in_(of_many)))
    if wanted.operator is not None:
        where.append(col(AuditEvent.operator) == wanted.operator)
    if wanted.action is not None:
        where.append(col(AuditEvent.action).in_(actions))
    if wanted.since is not None or wanted.until is not None:
        where += _time_range(session, wanted.since, wanted.until)
    for word in wanted.words:
        # Details are stored as JSON, non-ASCII letters escaped: the word is
        # looked for as typed and as JSON writes it.
        escaped = json.dumps(word)[1:-1]
        found = audit_words.indexed(session, word, escaped) if by_index else None
        where.append(found if found is not None else audit_words.scanned(word, escaped))
    return where


def page(
    session: Session,
    wanted: AuditFilter,
    *,
    before: int | None = None,
    after: int | None = None,
    limit: int | None = PAGE,
    site_ids: Collection[int] | None = None,
    newest_first: bool = True,
) -> list[AuditEvent]:
    """Matching events with an id below ``before`` and above ``after``.

    An action prefix that stands for several actions is read one action at
    a time, each newest first in its index, and the pages merged: one query
    over all of them would sort every matching event (a million-event
    trail's ``credentials`` events took half a second) to return the first."""
    actions = actions_of(session, wanted.action) if wanted.action is not None else []
    keyset = []
    if before is not None:
        keyset.append(col(AuditEvent.id) < before)
    if after is not None:
        keyset.append(col(AuditEvent.id) > after)
    where = [*_conditions(session, wanted, site_ids, actions), *keyset]
    if not (wanted.words and limit is not None and newest_first and after is None and wanted.user is None):
        # A user's events are few: their index bounds the read, words or not.
        return _read(session, where, actions, limit, newest_first)
    # Free words: the newest events first, read row by row; if they hold a
    # page, it is the page (any other match is older). Else the words' index.
    top = before if before is not None else audit.latest_id(session) + 1
    window = [col(AuditEvent.id) >= top - audit_words.WINDOW]
    found = _read(session, [*where, *window], actions, limit, newest_first)
    if len(found) >= limit:
        return found
    where = [*_conditions(session, wanted, site_ids, actions, by_index=True), *keyset]
    return _read(session, where, actions, limit, newest_first)


def _read(
    session: Session, where: list[ColumnElement[bool]], actions: list[str], limit: int | None, newest_first: bool
) -> list[AuditEvent]:
    order = col(AuditEvent.id).desc() if newest_first else col(AuditEvent.id).asc()
    if limit is None or len(actions) < 2:
        query = select(AuditEvent).where(*where).order_by(order)
        return list(session.execute(query if limit is None else query.limit(limit)).scalars())
    found: list[AuditEvent] = []
    for action in actions:
        query = select(AuditEvent).where(*where, col(AuditEvent.action) == action).order_by(order).limit(limit)
        found += session.execute(query).scalars()
    found.sort(key=lambda e: e.id or 0, reverse=newest_first)
    return found[:limit]


@dataclass(frozen=True)
class Page:
    latest: int  # the newest event's id of all, when the page was read
    events: list[AuditEvent]
    more: bool  # older matching events than these exist


def scope(ctx: Context, site_ids: Collection[int] | None = None) -> Collection[int] | None:
    """The sites whose events ``ctx``'s operator may read, narrowed to
    ``site_ids`` when given: a site administrator only their own (R25),
    whatever a caller asks; None is every site."""
    mine = ctx.actor.sites
    if mine is None:
        return site_ids
    return mine if site_ids is None else frozenset(mine) & frozenset(site_ids)


def read_page(
    ctx: Context,
    wanted: AuditFilter,
    *,
    before: int | None = None,
    limit: int = PAGE,
    site_ids: Collection[int] | None = None,
) -> Page:
    """A page newest first, older than ``before``; one read, so that
    ``latest`` belongs to the events."""
    with ctx.store.read() as session:
        latest = audit.latest_id(session)
        found = page(session, wanted, before=before, limit=limit + 1, site_ids=scope(ctx, site_ids))
    return Page(latest, found[:limit], len(found) > limit)


def read_page_at_once(
    ctx: Context,
    wanted: AuditFilter,
    *,
    seconds: float,
    limit: int = PAGE,
    site_ids: Collection[int] | None = None,
) -> Page | None:
    """:func:`read_page` from the newest, if the database answers within
    ``seconds``; None if it did not (the read was stopped) or would not be
    asked (a database over the network: ask in the background). For the
    console's typed filter: a local SQLite database answers most filters in
    a few milliseconds, in the keystroke's own frame, where a worker thread
    and its message back cost more than the read (the whole keystroke took
    twice the directory's); a read that would hold up the screen (a short
    word found nowhere) is stopped at ``seconds``."""
    if ctx.store.engine.dialect.name != "sqlite":
        return None
    deadline = clock() + seconds
    with ctx.store.read() as session:
        raw = session.connection().connection.driver_connection
        assert raw is not None  # a connection checked out holds its driver's
        # SQLite calls this every thousand steps of a statement; true stops it.
        raw.set_progress_handler(lambda: clock() > deadline, 1000)
        try:
            latest = audit.latest_id(session)
            found = page(session, wanted, limit=limit + 1, site_ids=scope(ctx, site_ids))
        except OperationalError as stopped:
            if "interrupted" not in str(stopped.orig):
                raise
            return None
        finally:
            raw.set_progress_handler(None, 0)
    return Page(latest, found[:limit], len(found) > limit)


def read_newer(
    ctx: Context, wanted: AuditFilter, after: int, *, limit: int = PAGE, site_ids: Collection[int] | None = None
) -> Page:
    """Matching events newer than ``after``, newest first (a poll's answer);
    ``more``: there are more than ``limit`` of them."""
    with ctx.store.read() as session:
        latest = audit.latest_id(session)
        found = page(session, wanted, after=after, limit=limit + 1, site_ids=scope(ctx, site_ids))
    return Page(latest, found[:limit], len(found) > limit)


def event(ctx: Context, event_id: int, *, site_ids: Collection[int] | None = None) -> AuditEvent:
    """One event, to show in full."""
    with ctx.store.read() as session:
        found = page(
            session, AuditFilter(), after=event_id - 1, before=event_id + 1, limit=1, site_ids=scope(ctx, site_ids)
        )
    if not found:
        raise NotFound("audit_event", event_id)
    return found[0]


def for_user(wanted: AuditFilter, user_id: int) -> AuditFilter:
    """The filter within one user's history."""
    return replace(wanted, user=str(user_id))
