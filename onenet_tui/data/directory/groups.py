"""Who is in which group, for the directory's ``group:`` term (no Textual).

Read by the directory's workers, never on a key press: once after each load
(one query, after the rows, so the first rows do not wait for it), and again
when the directory's data has moved past an event that may change
memberships (a group's members saved, a user's groups saved, a group renamed
or deleted, a user added, moved or deleted, an import, a demo tenant; R15).

R25: only the groups of the operator's sites are read, so a site
administrator's ``group:`` names no other site's group. A group's name is
unique per site and kind (R22), not across sites: a term matches every
group whose name holds its value, and finds the members of all of them.
"""

from __future__ import annotations

import threading
from collections.abc import Collection
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from onenet_tui.data.directory.rows import strip_accents
from onenet_tui.data.errors import DomainError
from onenet_tui.data.models import AuditEvent, Group, GroupMember, table_of
from onenet_tui.data.storage import Store

# Events after which memberships may differ. Prefixes end in a dot.
MEMBERSHIP_ACTIONS = (
    "group.",
    "user.set_groups",
    "user.add",
    "user.delete",
    "users.import",
    "tenant.",
    "site.delete",
)
_EVENTS = table_of(AuditEvent).c
_GROUPS = table_of(Group).c
_MEMBERS_TABLE = table_of(GroupMember)
_MEMBERS = _MEMBERS_TABLE.c


def changes_memberships(action: str) -> bool:
    return any(action.startswith(p) if p.endswith(".") else action == p for p in MEMBERSHIP_ACTIONS)


@dataclass(frozen=True)
class Memberships:
    """The groups as read at audit id ``stamp``: folded name -> member ids
    (groups of one name at several sites are one entry: a term finds them all)."""

    stamp: int
    groups: dict[str, frozenset[int]]
    _found: dict[str, frozenset[int]] = field(default_factory=dict, compare=False, repr=False)

    def members(self, value: str) -> frozenset[int]:
        """The users in any group whose folded name holds ``value`` (folded)."""
        found = self._found.get(value)
        if found is None:
            held = [members for name, members in self.groups.items() if value in name]
            found = self._found[value] = frozenset().union(*held)
        return found


NO_GROUPS = Memberships(0, {})


def read(session: Session, sites: Collection[int] | None = None) -> Memberships:
    """The memberships of the groups of ``sites`` (None: every site), and the
    audit id they are current at (read first: a change committed meanwhile
    is seen again, never missed)."""
    stamp = session.execute(select(func.coalesce(func.max(_EVENTS.id), 0))).scalar_one()
    query = select(_GROUPS.name, _MEMBERS.user_id).join(_MEMBERS_TABLE, _MEMBERS.group_id == _GROUPS.id, isouter=True)
    if sites is not None:
        query = query.where(_GROUPS.site_id.in_(sorted(sites)))
    groups: dict[str, set[int]] = {}
    folded: dict[str, str] = {}  # each group's name folded once, not once per member
    for name, user_id in session.execute(query):
        key = folded.get(name)
        if key is None:
            key = folded[name] = strip_accents(name)
        members = groups.setdefault(key, set())
        if user_id is not None:
            members.add(user_id)
    return Memberships(int(stamp), {name: frozenset(ids) for name, ids in groups.items()})


def changed_between(session: Session, after: int, upto: int) -> bool:
    """Whether an event with an id in (``after``, ``upto``] may have changed
    memberships: one indexed query, the newest events only."""
    actions = select(_EVENTS.action).where(_EVENTS.id > after, _EVENTS.id <= upto).distinct()
    return any(changes_memberships(action) for (action,) in session.execute(actions))


class GroupIndex:
    """The memberships one directory filters by. Read and kept current by
    the directory's workers (:meth:`catch_up`, after each load and each
    change found); the screen's thread only takes what they read
    (:meth:`current`), so a ``group:`` key press never waits for the database,
    however slow or gone it is. Hence the lock: two workers may catch up."""

    def __init__(self, store: Store, sites: Collection[int] | None = None) -> None:
        self.store = store
        self.sites = None if sites is None else frozenset(sites)
        self._lock = threading.Lock()
        self._memberships: Memberships | None = None
        self._checked = 0  # the newest audit id looked at for changes

    def current(self) -> Memberships:
        """The memberships as last read (none before the first read: a term
        then finds nobody until it arrives). Never asks the database."""
        return self._memberships or NO_GROUPS

    def catch_up(self, stamp: int) -> None:
        """In a worker: the memberships current at least at audit id ``stamp``
        (the directory data's), read on the first call and again after a
        change of members. A database gone or busy leaves what was read
        (the next change found asks again)."""
        with self._lock:
            held = self._memberships
            if held is not None and stamp <= self._checked:
                return
            try:
                with self.store.quick_read() as session:
                    if held is None or changed_between(session, self._checked, stamp):
                        held = self._memberships = read(session, self.sites)
                    self._checked = max(stamp, held.stamp)
            except (SQLAlchemyError, DomainError):
                return
