"""The console's first frame on PostgreSQL without the ORM (issue 20).

As :mod:`onenet_tui.data.launch` does on SQLite, with psycopg directly and
one connection: the schema's revision (with what SQLAlchemy's dialect asks of
a first connection), the operator, their sites, the audit stamp and the
sites go in one round trip (a pipeline), the first page in a second (it
needs the operator's sites, R25). The statements are those SQLAlchemy
compiles for PostgreSQL from the directory's own queries (pinned by
tests/test_launch_pg.py). The connection is then handed to the store's
engine as its first (:class:`Handover`), facts and revision included, so the
store opens without a round trip of its own.

Anything else takes the usual start (None): a URL not for psycopg, a server
that cannot be reached, a schema of another revision or none, an operator
not registered yet or of a role this code does not know, any error.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Collection
from contextlib import nullcontext
from typing import Any

from onenet_tui.data.actor import CARRIER_NAME, stored_actor
from onenet_tui.data.directory.columns import assemble, read_columns
from onenet_tui.data.directory.rows import with_unhanded
from onenet_tui.data.enums import DeviceType
from onenet_tui.data.launch import FIRST_PAGE, SCHEMA_REVISION, FirstLook
from onenet_tui.data.pg_connect import FACTS_AND_REVISION_SQL, connect_params
from onenet_tui.visible import visible

# As SQLAlchemy compiles them for PostgreSQL (psycopg, positional): the
# queries launch.py names, and context._operator_sites_query of the operator
# found by name, so that it needs no answer before it is sent.
OPERATOR_SQL = "SELECT operators.id, operators.name, operators.role FROM operators WHERE operators.name = %s::VARCHAR"
OPERATOR_SITES_SQL = (
    "SELECT sites.id, sites.name FROM sites JOIN operator_sites ON operator_sites.site_id = sites.id"
    " WHERE operator_sites.operator_id = (SELECT operators.id FROM operators WHERE operators.name = %s::VARCHAR)"
    " ORDER BY sites.name"
)
STAMP_SQL = "SELECT coalesce(max(audit_events.id), %s::INTEGER) AS coalesce_1 FROM audit_events"
SITES_SQL = "SELECT sites.id, sites.name, sites.country FROM sites"
# handover.never_handed_over_query
UNHANDED_SQL = (
    "SELECT desk_phone_credentials.user_id FROM desk_phone_credentials WHERE NOT desk_phone_credentials.handed_over"
)
_PAGE_SELECT = (
    "SELECT users.id, users.status, users.last_name || %s::VARCHAR || users.first_name AS anon_1, users.username,"
    " users.email, users.extension, phone_numbers.e164, users.site_id,"
    " CASE WHEN (users.device_type = %s::VARCHAR) THEN %s::VARCHAR"
    " ELSE coalesce(users.desk_phone_model, users.device_type) END AS anon_2,"
    " users.licence, users.version, users.department, users.portal_locked"
    " FROM users JOIN phone_numbers ON phone_numbers.id = users.number_id"
)
_PAGE_ORDER = " ORDER BY users.last_name, users.first_name, users.id LIMIT %s::INTEGER"
# A server that does not answer the light start's connect in this time (libpq
# counts whole seconds, two at least) is left to the usual start, which waits
# as long as the URL says (libpq's default: for ever): a dead host costs the
# usual start's wait and this, not twice the usual.
CONNECT_SECONDS = 5
# A site administrator of no site: SQLAlchemy's empty IN.
_NO_SITE = " WHERE users.site_id IN (NULL) AND (1 != 1)"


def first_page_sql(sites: Collection[int] | None, limit: int = FIRST_PAGE) -> tuple[str, tuple[Any, ...]]:
    """The first page's statement and its parameters, for ``sites`` (R25) or everyone."""
    none = DeviceType.NONE.value
    if sites is None:
        return _PAGE_SELECT + _PAGE_ORDER, (", ", none, none, limit)
    ids = sorted(sites)
    where = " WHERE users.site_id IN (" + ", ".join(["%s::INTEGER"] * len(ids)) + ")" if ids else _NO_SITE
    return _PAGE_SELECT + where + _PAGE_ORDER, (", ", none, none, *ids, limit)


class Handover:
    """A connection opened by the light start, for the store's engine to take
    as its first: once, and only if the engine would have opened it with the
    same keywords (``params``). ``facts`` are what the dialect asks of a
    first connection, read with the rest."""

    def __init__(self, connection: Any, params: dict[str, Any], facts: tuple[tuple[str | None, str], Any]) -> None:
        self.params = params
        self.facts = facts
        # Idle from now on (time.monotonic()): the engine pings it before its
        # first use if that was long ago, as any connection idle in its pool.
        self.idle_since = time.monotonic()
        self._connection: Any = connection
        self._lock = threading.Lock()

    def take(self, cargs: list[Any], cparams: dict[str, Any]) -> Any:
        """The connection if it is the one wanted (None: connect as usual)."""
        with self._lock:
            connection, self._connection = self._connection, None
        if connection is None:
            return None
        if any(cargs) or cparams != self.params or connection.closed:
            connection.close()
            return None
        return connection

    def close(self) -> None:
        """Close the connection if nobody took it."""
        with self._lock:
            connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()


def first_look(url: str, operator: str) -> FirstLook | None:
    """The operator and the first page, read with psycopg alone; None: take the usual start."""
    params = connect_params(url)
    if params is None or operator.strip().casefold() == CARRIER_NAME:
        return None
    try:
        import psycopg

        # Outside a transaction: no BEGIN, no COMMIT (round trips). The
        # timeout counts while connecting only: the connection is the one
        # ``params`` make, whatever the URL's own connect_timeout.
        timeout: dict[str, Any] = {"connect_timeout": CONNECT_SECONDS} if "connect_timeout" not in params else {}
        connection = psycopg.connect(**params, **timeout, autocommit=True)
    except Exception:  # noqa: BLE001 - the usual start meets it and reports it as it always did
        return None
    try:
        look = _look(psycopg, connection, operator, params)
    except Exception:  # noqa: BLE001 - likewise
        look = None
    if look is None:
        connection.close()
    return look


def _look(psycopg: Any, connection: Any, operator: str, params: dict[str, Any]) -> FirstLook | None:
    # One round trip for six statements; each sees what was committed when
    # it began (as in load_first_page, outside a transaction), the stamp
    # before the page: a change committed meanwhile is seen again later.
    together = connection.pipeline() if psycopg.Pipeline.is_supported() else nullcontext()
    with together:
        asked = [
            connection.execute(FACTS_AND_REVISION_SQL),
            connection.execute(OPERATOR_SQL, (operator,)),
            connection.execute(OPERATOR_SITES_SQL, (operator,)),
            connection.execute(STAMP_SQL, (0,)),
            connection.execute(SITES_SQL),
            connection.execute(UNHANDED_SQL),
        ]
    # Read once the pipeline has ended: its end (a sync) brings every answer.
    # A fetch inside would ask for the answers so far (a flush), a round trip
    # of its own before the sync's.
    (schema, isolation, revision), found, operator_sites, (stamp,), site_rows, unhanded_rows = (
        asked[0].fetchone(),
        asked[1].fetchone(),
        asked[2].fetchall(),
        asked[3].fetchone(),
        asked[4].fetchall(),
        asked[5].fetchall(),
    )
    if revision != SCHEMA_REVISION or found is None:
        return None
    _operator_id, stored_name, role_value = found
    actor = stored_actor(stored_name, role_value, lambda: operator_sites)
    sites = {site_id: (visible(name), country) for site_id, name, country in site_rows}
    statement, parameters = first_page_sql(actor.sites)
    rows = connection.execute(statement, parameters).fetchall()
    unhanded = frozenset(user_id for (user_id,) in unhanded_rows)
    page = with_unhanded(assemble(read_columns([rows], sites), sites, stamp, complete=False), unhanded)
    # As the engine uses it: transactions of its own making.
    connection.autocommit = False
    facts = ((schema, str(isolation).upper()), revision)
    return FirstLook(actor, page, Handover(connection, params, facts))
