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
from collections.abc import Callable, Iterable, Iterator, Sequence
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


# --- rows already in the driver's terms, for the largest writes -----------------------------


def sqlite_timestamp(value: datetime) -> str:
    """The text SQLAlchemy's SQLite ``DateTime`` stores for ``value`` (always
    with microseconds; an offset is dropped, as SQLAlchemy drops it), so rows
    written by :func:`copy_rows` read back exactly like rows SQLAlchemy wrote."""
    return (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d} "
        f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}.{value.microsecond:06d}"
    )


def timestamp_converter(session: Session) -> Callable[[datetime], object]:
    """What :func:`copy_rows` takes for a timestamp on this session's backend:
    SQLite's stored text, or the datetime itself (psycopg sends it)."""
    if session.get_bind().dialect.name == "sqlite":
        return sqlite_timestamp
    return _same


def _same(value: datetime) -> object:
    return value


def copy_rows(session: Session, table: Table, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> int:
    """Insert ``rows`` (tuples in the order of ``columns``) into ``table`` on
    the session's connection, in its transaction, and answer how many.

    The values must already be what the driver takes: text for JSON columns
    (``json.dumps``), :func:`timestamp_converter`'s values for timestamps.
    SQLAlchemy's per-row parameter handling is skipped: it was most of the
    time of a million-user demo. PostgreSQL gets the rows by ``COPY ... FROM
    STDIN`` (psycopg 3 writes them as they come); SQLite by one
    ``executemany``, which also takes the rows from an iterator. ``rows`` is
    consumed once and never held as a whole here.
    """
    connection = session.connection()
    dialect = connection.dialect
    preparer = dialect.identifier_preparer
    names = ", ".join(preparer.quote(name) for name in columns)
    target = preparer.format_table(table)
    driver = connection.connection.driver_connection
    counted = _Counted(rows)
    if dialect.name == "postgresql":
        with driver.cursor() as cursor, cursor.copy(f"COPY {target} ({names}) FROM STDIN") as copy:  # type: ignore[union-attr]  # psycopg 3's connection
            for row in counted:
                copy.write_row(row)
        return counted.count
    placeholders = ", ".join("?" for _ in columns)
    cursor = driver.cursor()  # type: ignore[union-attr]  # sqlite3's connection
    try:
        cursor.executemany(f"INSERT INTO {target} ({names}) VALUES ({placeholders})", counted)
    finally:
        cursor.close()
    return counted.count


class _Counted:
    """The rows of an iterable, counted as they pass."""

    def __init__(self, rows: Iterable[Sequence[object]]):
        self._rows = iter(rows)
        self.count = 0

    def __iter__(self) -> Iterator[Sequence[object]]:
        for row in self._rows:
            self.count += 1
            yield row
