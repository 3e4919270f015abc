"""Opening the database: SQLite by default (a 0600 file in the user's data
directory, WAL), PostgreSQL through psycopg for shared tenants. The schema is
brought to the current Alembic revision on open, and the catalogs loaded.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

from onenet_tui.data import catalogs

APP_NAME = "onenet-tui"
DB_FILE = "onenet.db"
# The newest migration; a test keeps it equal to Alembic's head.
HEAD_REVISION = "0002_listing_indexes"
# PostgreSQL advisory lock key held while migrating.
_MIGRATION_LOCK = int.from_bytes(b"onenet", "big")


def default_url() -> str:
    from platformdirs import user_data_dir

    return f"sqlite:///{Path(user_data_dir(APP_NAME)) / DB_FILE}"


def normalise_url(url: str) -> str:
    """Accept plain ``postgresql://`` URLs and route them through psycopg 3."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def sqlite_path(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def create_private_file(path: Path) -> None:
    """Create the database file 0600 before SQLite does (it would use the umask)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not path.exists():
        fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o600)
        os.close(fd)


def make_engine(url: str) -> Engine:
    url = normalise_url(url)
    path = sqlite_path(url)
    if path is None:
        return create_engine(url, pool_pre_ping=True)
    create_private_file(path)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        # Let SQLAlchemy, not the driver, emit BEGIN so writers can take the
        # write lock up front (BEGIN IMMEDIATE) instead of failing to upgrade it.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):  # type: ignore[no-untyped-def]
        immediate = connection.get_execution_options().get("write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


class Store:
    """One tenant database: engine plus transactions for the services."""

    def __init__(self, url: str, *, upgrade: bool = True):
        self.url = normalise_url(url)
        self.engine = make_engine(self.url)
        self._writer = self.engine.execution_options(write=True)
        if upgrade:
            upgrade_schema(self.engine)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A write transaction: committed when the block ends, rolled back on error."""
        with Session(self._writer, expire_on_commit=False) as session, session.begin():
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def upgrade_schema(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision``; a no-op (without importing Alembic)
    when it is already at head, which keeps start-up fast."""
    if revision == "head" and current_revision(engine) == HEAD_REVISION:
        return
    from alembic import command

    from onenet_tui.data.migrations.config import alembic_config

    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Two processes opening a fresh database at once must not both migrate.
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})")
        command.upgrade(alembic_config(conn), revision)
        if revision == "head":
            with Session(conn) as session:
                catalogs.load_into(session)
                session.flush()
