"""SQLAlchemy's psycopg dialect, asking a remote PostgreSQL fewer questions.

On its first connection the stock dialect asks the server six things, each a
round trip of its own (version, schema, isolation level, string escaping, the
hstore type under a savepoint, inside BEGIN ... ROLLBACK): nine waits of 50 ms
before the first query over a slow link. Most of the answers came with the
connection already (libpq's parameter status: the version, the escaping);
the rest are asked here in one statement outside a transaction, together with
the schema's Alembic revision, which :func:`onenet_tui.data.storage.upgrade_schema`
would otherwise ask next. hstore is not used by this application.

Registered as ``postgresql+onenet_psycopg``; :func:`storage.make_engine` uses it.
"""

from __future__ import annotations

import weakref
from typing import Any

from sqlalchemy.dialects import registry
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg

from onenet_tui.data.pg_connect import FACTS_AND_REVISION_SQL as _FACTS_AND_REVISION
from onenet_tui.data.pg_connect import FACTS_SQL as _FACTS

DRIVER = "onenet_psycopg"
# PostgreSQL's undefined_table: no alembic_version yet (a new database).
_UNDEFINED_TABLE = "42P01"
# What _ask would answer, asked already on a connection handed to the engine
# (the console's light start, data/launch_pg.py): ((schema, isolation), revision).
_KNOWN: weakref.WeakKeyDictionary[Any, tuple[tuple[str | None, str], Any]] = weakref.WeakKeyDictionary()


class _Unset:
    pass


# No revision was read (or it was spent, see take_revision()).
UNSET: Any = _Unset()


class OnenetPGDialect(PGDialect_psycopg):
    supports_statement_cache = True

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("use_native_hstore", False)
        super().__init__(**kwargs)  # type: ignore[no-untyped-call]
        self._facts: tuple[str | None, str] = (None, "READ COMMITTED")
        self.revision_at_connect: Any = UNSET

    def initialize(self, connection: Any) -> None:
        dbapi_connection = connection.connection.dbapi_connection
        known = _KNOWN.pop(dbapi_connection, None)
        self._facts, self.revision_at_connect = known if known is not None else _ask(dbapi_connection)
        super().initialize(connection)  # type: ignore[no-untyped-call]

    def _get_server_version_info(self, connection: Any) -> tuple[int, ...]:
        version = int(connection.connection.dbapi_connection.info.server_version)
        # 150020 is 15.20; before 10, 90624 was 9.6.24.
        if version >= 100000:
            return (version // 10000, version % 10000)
        return (version // 10000, version // 100 % 100, version % 100)

    def _get_default_schema_name(self, connection: Any) -> Any:
        return self._facts[0]

    def get_default_isolation_level(self, dbapi_conn: Any) -> Any:
        return self._facts[1]

    def _set_backslash_escapes(self, connection: Any) -> None:
        status = connection.connection.dbapi_connection.info.parameter_status("standard_conforming_strings")
        self._backslash_escapes = status == "off"


def _ask(dbapi_connection: Any) -> tuple[tuple[str | None, str], Any]:
    """(schema, isolation level), and the Alembic revision (None without the
    table): one round trip on a database that has a schema, two on a new one."""
    import psycopg

    autocommit = dbapi_connection.autocommit
    # Outside a transaction: no BEGIN and ROLLBACK, two round trips fewer.
    dbapi_connection.autocommit = True
    try:
        try:
            schema, isolation, revision = dbapi_connection.execute(_FACTS_AND_REVISION).fetchone()
        except psycopg.Error as exc:
            if getattr(exc, "sqlstate", None) != _UNDEFINED_TABLE:
                raise
            (schema, isolation), revision = dbapi_connection.execute(_FACTS).fetchone(), None
    finally:
        dbapi_connection.autocommit = autocommit
    return (schema, str(isolation).upper()), revision


def remember_facts(dbapi_connection: Any, facts: tuple[tuple[str | None, str], Any]) -> None:
    """``facts``, as :func:`_ask` answers them, were read on ``dbapi_connection``
    already: the dialect takes them instead of asking again."""
    _KNOWN[dbapi_connection] = facts


def take_revision(dialect: Any) -> Any:
    """The revision read on the engine's first connection, once; UNSET when
    there is none to take (not this dialect, or taken, or stale)."""
    revision = getattr(dialect, "revision_at_connect", UNSET)
    if revision is not UNSET:
        dialect.revision_at_connect = UNSET
    return revision


def forget_revision(dialect: Any) -> None:
    """Any statement run may have changed the schema: the revision read at
    connect is no longer to be trusted."""
    if getattr(dialect, "revision_at_connect", UNSET) is not UNSET:
        dialect.revision_at_connect = UNSET


registry.register(f"postgresql.{DRIVER}", __name__, "OnenetPGDialect")
