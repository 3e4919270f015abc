"""The console's first frame without the ORM (issue 20).

Importing SQLModel and SQLAlchemy and opening the store (engine, schema
check) costs about as much as Textual's whole first frame. On an SQLite
database already at the current schema, :func:`first_look` resolves the
operator and reads the directory's first page with stdlib ``sqlite3``,
running the very SQL SQLAlchemy compiles from the directory's own queries
(pinned by tests/test_launch.py); the console paints it, and the store
(:class:`OpeningStore`) opens in the first worker that needs it, which then
loads the whole directory as usual.

On PostgreSQL :mod:`onenet_tui.data.launch_pg` does the same with psycopg,
and hands its connection to the store; :class:`LookAhead` starts it in a
thread while Textual is imported, so the connect's round trips overlap it.

Anything else falls back to the usual start (``first_look`` answers None):
a database that is missing, empty, locked, of an older schema
(it needs the migration the store runs), an operator not yet registered (the
store registers them), or any error, which the usual start then reports in
today's words.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from onenet_tui.data.actor import CARRIER_NAME, Actor, stored_actor
from onenet_tui.data.directory.columns import assemble, read_columns
from onenet_tui.data.directory.rows import DirectoryData, with_unhanded
from onenet_tui.data.enums import DeviceType
from onenet_tui.visible import visible

if TYPE_CHECKING:
    from onenet_tui.data.launch_pg import Handover
    from onenet_tui.data.storage import Store

# The schema these statements were written for: storage.HEAD_REVISION (a
# test keeps them equal). Any other revision takes the usual start.
SCHEMA_REVISION = "0011_directory_snapshot"
# As the first page of loading.load_first_page.
FIRST_PAGE = 200
# A writer holding SQLite's lock (not in WAL mode) is not waited for long:
# the usual start waits, and says so if it must.
LOCK_WAIT_SECONDS = 0.2

REVISION_SQL = "SELECT version_num FROM alembic_version"
# context._operator_query and context._operator_sites_query
OPERATOR_SQL = "SELECT operators.id, operators.name, operators.role FROM operators WHERE operators.name = ?"
OPERATOR_SITES_SQL = (
    "SELECT sites.id, sites.name FROM sites JOIN operator_sites ON operator_sites.site_id = sites.id"
    " WHERE operator_sites.operator_id = ? ORDER BY sites.name"
)
# audit.latest_id and the sites of loading._read
STAMP_SQL = "SELECT coalesce(max(audit_events.id), ?) AS coalesce_1 FROM audit_events"
SITES_SQL = "SELECT sites.id, sites.name, sites.country FROM sites"
# handover.never_handed_over_query: the users the directory marks
UNHANDED_SQL = (
    "SELECT desk_phone_credentials.user_id FROM desk_phone_credentials WHERE desk_phone_credentials.handed_over = 0"
)
# loading._by_name(loading._rows_query(sites)).limit(n)
_PAGE_SELECT = (
    "SELECT users.id, users.status, users.last_name || ? || users.first_name AS anon_1, users.username,"
    " users.email, users.extension, phone_numbers.e164, users.site_id,"
    " CASE WHEN (users.device_type = ?) THEN ? ELSE coalesce(users.desk_phone_model, users.device_type) END AS anon_2,"
    " users.licence, users.version, users.department, users.portal_locked"
    " FROM users JOIN phone_numbers ON phone_numbers.id = users.number_id"
)
_PAGE_ORDER = " ORDER BY users.last_name, users.first_name, users.id LIMIT ? OFFSET ?"


def first_page_sql(sites: Collection[int] | None, limit: int = FIRST_PAGE) -> tuple[str, tuple[Any, ...]]:
    """The first page's statement and its parameters, for ``sites`` (R25) or everyone."""
    none = DeviceType.NONE.value
    if sites is None:
        return _PAGE_SELECT + _PAGE_ORDER, (", ", none, none, limit, 0)
    ids = sorted(sites)
    where = " WHERE users.site_id IN (" + ", ".join("?" * len(ids)) + ")"
    return _PAGE_SELECT + where + _PAGE_ORDER, (", ", none, none, *ids, limit, 0)


@dataclass(frozen=True)
class FirstLook:
    """What the first frame shows: who acts, and the first page of users."""

    actor: Actor
    page: DirectoryData
    # PostgreSQL: the connection it was read on, for the store to take.
    handover: Handover | None = None


def sqlite_file(url: str) -> Path | None:
    """The existing file of a plain ``sqlite:///path`` URL; None for anything else."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or "?" in url:
        return None
    path = url[len(prefix) :]
    if not path or path == ":memory:":
        return None
    file = Path(path)
    return file if file.is_file() else None


def first_look(url: str, operator: str) -> FirstLook | None:
    """The operator and the first page, read without the ORM; None: take the usual start."""
    if url.startswith("postgres"):
        from onenet_tui.data import launch_pg

        return launch_pg.first_look(url, operator)
    file = sqlite_file(url)
    if file is None or operator.strip().casefold() == CARRIER_NAME:
        return None
    try:
        conn = sqlite3.connect(f"file:{quote(str(file))}?mode=ro", uri=True, timeout=LOCK_WAIT_SECONDS)
    except sqlite3.Error:
        return None
    try:
        conn.isolation_level = None
        conn.execute("BEGIN")  # one snapshot: the stamp is read before the rows, as in load_first_page
        return _look(conn, operator)
    except Exception:  # noqa: BLE001 - whatever is odd here, the usual start meets it and reports it as it always did
        return None
    finally:
        conn.close()


def _look(conn: sqlite3.Connection, operator: str) -> FirstLook | None:
    revision = conn.execute(REVISION_SQL).fetchone()
    if revision is None or revision[0] != SCHEMA_REVISION:
        return None
    actor = _actor(conn, operator)
    if actor is None:
        return None
    (stamp,) = conn.execute(STAMP_SQL, (0,)).fetchone()
    sites = {site_id: (visible(name), country) for site_id, name, country in conn.execute(SITES_SQL)}
    statement, parameters = first_page_sql(actor.sites)
    columns = read_columns([conn.execute(statement, parameters).fetchall()], sites)
    unhanded = frozenset(user_id for (user_id,) in conn.execute(UNHANDED_SQL))
    # Never complete: the whole load follows.
    return FirstLook(actor, with_unhanded(assemble(columns, sites, stamp, complete=False), unhanded))


def _actor(conn: sqlite3.Connection, name: str) -> Actor | None:
    """As context._find; None for an operator not registered yet."""
    found = conn.execute(OPERATOR_SQL, (name,)).fetchone()
    if found is None:
        return None
    operator_id, stored_name, role_value = found
    return stored_actor(stored_name, role_value, lambda: conn.execute(OPERATOR_SITES_SQL, (operator_id,)).fetchall())


class LookAhead:
    """:func:`first_look` in a thread of its own, started now: on PostgreSQL
    its connect and questions (five round trips) wait on the network while
    the main thread imports Textual. SQLite's look is read at once."""

    def __init__(self, url: str, operator: str) -> None:
        self._look: FirstLook | None = None
        self._thread: threading.Thread | None = None
        if not url.startswith("postgres"):
            self._look = first_look(url, operator)
            return

        # Imported here first, as Textual would import it next anyway: psycopg
        # and Textual share it, and two threads importing one module graph
        # from two ends can meet in a circular import, which Python breaks by
        # raising in one of them.
        import asyncio  # noqa: F401

        def look() -> None:
            self._look = first_look(url, operator)

        self._thread = threading.Thread(target=look, name="first-look", daemon=True)
        self._thread.start()

    def result(self) -> FirstLook | None:
        if self._thread is not None:
            self._thread.join()
        return self._look


class OpeningStore:
    """A :class:`~onenet_tui.data.storage.Store` opened on first use, by the
    first worker that needs it (the ORM is imported then, in that thread);
    every attribute is the opened store's. On PostgreSQL it takes the light
    start's connection (``handover``) as its first."""

    def __init__(self, url: str, handover: Handover | None = None) -> None:
        self.url = url
        self._lock = threading.Lock()
        self._store: Store | None = None
        self._handover = handover

    def opened(self) -> Store:
        with self._lock:
            if self._store is None:
                from onenet_tui.data.storage import Store

                self._store = Store(self.url, handover=self._handover)
            return self._store

    def __getattr__(self, name: str) -> Any:
        return getattr(self.opened(), name)

    def dispose(self) -> None:
        """Close the store's connections, if it was ever opened, and one handed
        to it that it never took."""
        with self._lock:
            if self._store is not None:
                self._store.dispose()
            if self._handover is not None:
                self._handover.close()
