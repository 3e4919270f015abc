"""How this application connects to PostgreSQL, said without SQLAlchemy.

The console's light start (:mod:`onenet_tui.data.launch_pg`) opens its
connection before SQLAlchemy is imported and hands it to the store's engine
afterwards; that is only sound when it is the very connection the engine
would have made. So the keywords the engine passes ``psycopg.connect`` are
worked out here the way SQLAlchemy's psycopg dialect works them out from the
URL (a test keeps the two equal), with the lock timeout
:func:`onenet_tui.data.storage.make_engine` adds; the engine compares them
before it takes the connection.
"""

from __future__ import annotations

import os
import re
from typing import Any
from urllib.parse import parse_qsl, unquote

# How long a writer waits for another process's lock (SQLite's write lock,
# a PostgreSQL row lock) before the change is refused as busy; long enough for
# any one save (storage.BUSY_TIMEOUT_SECONDS, which tests shorten).
BUSY_TIMEOUT_SECONDS = 30.0
# The URL schemes storage.normalise_url sends through psycopg 3.
SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")

# What SQLAlchemy's dialect asks on a first connection (pg_dialect), with the
# schema's Alembic revision: one statement, one round trip.
FACTS_SQL = "SELECT current_schema(), current_setting('transaction_isolation')"
FACTS_AND_REVISION_SQL = FACTS_SQL + ", (SELECT version_num FROM alembic_version LIMIT 1)"

# sqlalchemy.engine.url._parse_url's pattern, as SQLAlchemy 2.0 reads a URL.
_URL = re.compile(
    r"""
        (?P<name>[\w\+]+)://
        (?:
            (?P<username>[^:/]*)
            (?::(?P<password>[^@]*))?
        @)?
        (?:
            (?:
                \[(?P<ipv6host>[^/\?]+)\] |
                (?P<ipv4host>[^/:\?]+)
            )?
            (?::(?P<port>[^/\?]*))?
        )?
        (?:/(?P<database>[^\?]*))?
        (?:\?(?P<query>.*))?
    """,
    re.X,
)


def lock_timeout_options(given: str, busy_seconds: float) -> str:
    """The ``options`` a connection starts with: ``given`` (the URL's, else
    PGOPTIONS, as libpq reads it without one) and the lock timeout, which
    travels in the start-up packet instead of costing a statement."""
    return f"{given} -c lock_timeout={int(busy_seconds * 1000)}ms".strip()


def connect_params(url: str, busy_seconds: float = BUSY_TIMEOUT_SECONDS) -> dict[str, Any] | None:
    """The keywords the store's engine gives ``psycopg.connect`` for ``url``;
    None for a URL not sent through psycopg, or one read in a way this does
    not follow exactly (several hosts, a key given twice, no URL at all)."""
    found = _URL.match(url)
    if found is None or found["name"] not in SCHEMES:
        return None
    params: dict[str, Any] = {}
    # As URL.translate_connect_args: what is empty is left out ("postgresql://@/db" has no user).
    for part, key in (("username", "user"), ("password", "password"), ("database", "dbname")):
        if found[part]:
            params[key] = unquote(found[part])
    host = found["ipv4host"] or found["ipv6host"]
    if host:
        params["host"] = host
    if found["port"]:
        try:
            port = int(found["port"])
        except ValueError:
            return None
        if port:
            params["port"] = port
    query = parse_qsl(found["query"] or "")
    keys = [key for key, _ in query]
    if len(set(keys)) != len(keys) or "host" in keys or "port" in keys:
        return None
    params.update(query)
    params["options"] = lock_timeout_options(params.get("options", os.environ.get("PGOPTIONS", "")), busy_seconds)
    return params
