"""Many rows in one INSERT, quickly on every backend.

SQLAlchemy sends an executemany INSERT to PostgreSQL as batches of multi-row
VALUES statements, and psycopg parses each statement's text for its
placeholders: for 10,000 users of 27 columns that parsing alone took about
2 s. On PostgreSQL the rows go instead as one JSON parameter, unpacked by
the server (``jsonb_to_recordset``); elsewhere (SQLite) the plain
executemany is already fast.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, insert, text
from sqlmodel import Session


def _json_value(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot send {type(value).__name__} as JSON")


def insert_rows(session: Session, table: Table, rows: Sequence[dict[str, Any]], *, key: str | None = None) -> list[int]:
    """Insert ``rows`` (dictionaries with the same keys) into ``table``. With
    ``key`` (a unique column among the keys) answers the new rows' ids in the
    order of ``rows``; else an empty list."""
    if not rows:
        return []
    dialect = session.get_bind().dialect
    if dialect.name != "postgresql":
        if key is None:
            session.execute(insert(table), list(rows))
            return []
        statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        return list(session.execute(statement, list(rows)).scalars())
    names = list(rows[0])
    preparer = dialect.identifier_preparer
    columns = ", ".join(preparer.quote(name) for name in names)
    spec = ", ".join(f"{preparer.quote(name)} {table.c[name].type.compile(dialect=dialect)}" for name in names)
    returning = f" RETURNING id, {preparer.quote(key)}" if key else ""
    unpacked = text(
        f"INSERT INTO {preparer.format_table(table)} ({columns}) "
        f"SELECT {columns} FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS x({spec}){returning}"
    )
    result = session.execute(unpacked, {"rows": json.dumps(list(rows), default=_json_value)})
    if key is None:
        return []
    ids = {value: new_id for new_id, value in result}
    return [ids[row[key]] for row in rows]
