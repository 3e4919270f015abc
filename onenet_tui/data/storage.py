"""Opening the database: SQLite by default (a 0600 file in the user's data
directory, WAL), PostgreSQL through psycopg for shared tenants. The schema is
brought to the current Alembic revision on open, and the catalogs loaded.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from onenet_tui.data import catalogs, pg_connect
from onenet_tui.data.errors import Busy

if TYPE_CHECKING:
    from onenet_tui.data.launch_pg import Handover

# The newest migration; a test keeps it equal to Alembic's head.
HEAD_REVISION = "0011_directory_snapshot"
# PostgreSQL advisory lock key held while migrating.
_MIGRATION_LOCK = int.from_bytes(b"onenet", "big")
# How long a writer waits for another process's lock (SQLite's write lock,
# a PostgreSQL row lock) before the change is refused as busy; tests shorten it.
BUSY_TIMEOUT_SECONDS = pg_connect.BUSY_TIMEOUT_SECONDS


def default_url() -> str:
    from onenet_tui.config import default_db_url

    return default_db_url()


def normalise_url(url: str) -> str:
    """Accept plain ``postgresql://`` URLs and route them through psycopg 3."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def sqlite_path(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    if parsed.query.get("uri") == "true" and parsed.database.startswith("file:"):
        # A URI filename (sqlite:///file:/srv/x.db?mode=ro&uri=true): its path
        # is the URI's, not a directory "file:" under the working directory.
        path = unquote(urlsplit(parsed.database).path)
        return Path(path) if path and path != ":memory:" else None
    return Path(parsed.database)


def _read_only(url: str) -> bool:
    return make_url(url).query.get("mode") == "ro"


def create_private_file(path: Path) -> None:
    """Create the database file 0600 before SQLite does (it would use the umask)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not path.exists():
        try:
            fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o600)
        except FileExistsError:
            return  # another process opening it at the same moment created it
        os.close(fd)


# PostgreSQL's lock_not_available: the lock_timeout ran out.
_PG_LOCK_NOT_AVAILABLE = "55P03"


@contextmanager
def busy_as_conflict() -> Iterator[None]:
    """A lock that was never granted in time (SQLite's "database is locked",
    PostgreSQL's lock timeout) is another administrator saving, not a failure
    of ours: refuse it as busy, so a save ends with a clear message instead
    of waiting for ever."""
    try:
        yield
    except OperationalError as exc:
        if "database is locked" in str(exc.orig) or getattr(exc.orig, "sqlstate", None) == _PG_LOCK_NOT_AVAILABLE:
            raise Busy() from None
        raise


# A pooled connection idle this long is pinged before it is used again (the
# server may have gone away meanwhile); one used moments ago, or made just
# now, is not: a ping is a round trip, 50 ms over a slow link.
IDLE_PING_SECONDS = 10.0


def make_engine(url: str, handover: Handover | None = None) -> Engine:
    """The engine for ``url``; on PostgreSQL its first connection may be
    ``handover``'s, opened by the console's light start (data/launch_pg.py)."""
    url = normalise_url(url)
    path = sqlite_path(url)
    if path is None:
        return _server_engine(url, handover)
    if not _read_only(url):  # a read-only one must exist: SQLite says so if it does not
        create_private_file(path)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_SECONDS})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: object) -> None:
        # Let SQLAlchemy, not the driver, emit BEGIN so writers can take the
        # write lock up front (BEGIN IMMEDIATE) instead of failing to upgrade it.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_SECONDS * 1000)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get("write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _server_engine(url: str, handover: Handover | None = None) -> Engine:
    """A PostgreSQL engine that costs few round trips: nothing is asked on
    connect that the connection did not already tell (see pg_dialect), the
    lock timeout travels in the start-up packet, and a connection is pinged
    only after it lay idle."""
    parsed = make_url(url)
    connect_args: dict[str, Any] = {}
    ours = parsed.drivername == "postgresql+psycopg"
    if ours:
        from onenet_tui.data import pg_dialect

        parsed = parsed.set(drivername=f"postgresql+{pg_dialect.DRIVER}")
        # PostgreSQL waits for a row lock for ever unless told otherwise. An
        # ``options`` of the URL (or, as libpq does without one, PGOPTIONS)
        # is kept: the argument given here would replace it.
        given = parsed.query.get("options", os.environ.get("PGOPTIONS", ""))
        given = " ".join(given) if isinstance(given, tuple) else given
        connect_args["options"] = pg_connect.lock_timeout_options(given, BUSY_TIMEOUT_SECONDS)
    engine = create_engine(parsed, connect_args=connect_args)
    _ping_after_idle(engine)
    if handover is not None:
        _first_connection_from(engine, handover if ours else None)
    if ours:
        # Whatever runs after the first connect may change the schema: the
        # revision read then is only good until the first statement.
        event.listen(engine, "before_cursor_execute", lambda conn, *_args: pg_dialect.forget_revision(conn.dialect))
    else:
        _lock_timeout_on_connect(engine)
    return engine


def _first_connection_from(engine: Engine, handover: Handover | None) -> None:
    """The engine's first connection is ``handover``'s when it was made with
    the very keywords the engine would use (else it is closed, and the engine
    connects as usual): the console's light start has paid that connect, three
    round trips to a remote database, and asked what the dialect asks on it."""
    if handover is None:
        return

    @event.listens_for(engine, "do_connect")
    def _handed(dialect: Any, record: Any, cargs: list[Any], cparams: dict[str, Any]) -> Any:
        connection = handover.take(cargs, {k: v for k, v in cparams.items() if k != "context"})
        if connection is not None:
            from onenet_tui.data import pg_dialect

            pg_dialect.remember_facts(connection, handover.facts)
            # Idle since the light start read on it: pinged first if that was
            # long ago (the server may have dropped it meanwhile), see _ping_after_idle.
            record.info["idle_since"] = handover.idle_since
        return connection


def _lock_timeout_on_connect(engine: Engine) -> None:
    """For a driver other than psycopg (given in the URL): the lock timeout
    set on each new connection, as a statement of its own."""

    @event.listens_for(engine, "connect")
    def _lock_timeout(dbapi_connection: Any, _record: object) -> None:
        with dbapi_connection.cursor() as cursor:
            cursor.execute(f"SET lock_timeout = '{int(BUSY_TIMEOUT_SECONDS * 1000)}ms'")
        dbapi_connection.commit()


def _ping_after_idle(engine: Engine) -> None:
    """pool_pre_ping, but only for a connection idle IDLE_PING_SECONDS or more.
    A dead one is replaced: the pool retries the checkout with a new one."""
    from sqlalchemy.exc import DisconnectionError

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: object) -> None:
        since = record.info.pop("idle_since", None)
        if since is None or time.monotonic() - since < IDLE_PING_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise DisconnectionError("the database connection went away while idle") from exc


class Store:
    """One tenant database: engine plus transactions for the services."""

    def __init__(self, url: str, *, upgrade: bool = True, handover: Handover | None = None):
        self.url = normalise_url(url)
        self.engine = make_engine(self.url, handover)
        self._writer = self.engine.execution_options(write=True)
        self._outside_transaction = (
            self.engine.execution_options(isolation_level="AUTOCOMMIT") if self.dialect == "postgresql" else self.engine
        )
        if upgrade:
            upgrade_schema(self.engine)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A write transaction: committed when the block ends, rolled back on
        error. On SQLite it takes the write lock up front (BEGIN IMMEDIATE)."""
        with busy_as_conflict(), Session(self._writer, expire_on_commit=False) as session, session.begin():
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read: on SQLite (WAL) it never waits for a writer."""
        with busy_as_conflict(), Session(self.engine, expire_on_commit=False) as session, session.begin():
            yield session

    @contextmanager
    def quick_read(self) -> Iterator[Session]:
        """A read of a statement or two, on PostgreSQL outside a transaction:
        no BEGIN and COMMIT, two round trips fewer. Each statement sees what
        was committed when it began, as it would in a READ COMMITTED
        transaction, so statements whose answers must agree with each other
        belong in :meth:`read` (as do server-side cursors, ``yield_per``,
        which PostgreSQL keeps only inside a transaction). SQLite: as read()."""
        with busy_as_conflict(), Session(self._outside_transaction, expire_on_commit=False) as session:
            yield session

    def warm(self, connections: int) -> None:
        """Open ``connections`` more pooled connections at once, in the
        background, on PostgreSQL: the console's first workers (the
        directory's first page, the carrier simulator, the header) then find
        one ready instead of each paying a connect, three round trips to a
        remote database, on the way to the first rows. A failure is left to
        the workers to meet and report."""
        if self.dialect != "postgresql" or connections < 1:
            return
        import threading

        together = threading.Barrier(connections)

        def hold_one() -> None:
            try:
                with self.engine.connect():
                    together.wait(timeout=10)  # held at once: each a connection of its own
            except Exception:  # noqa: BLE001 - see above; never a crash at start-up
                together.abort()

        for n in range(connections):
            threading.Thread(target=hold_one, name=f"warm-pool-{n}", daemon=True).start()

    def dispose(self) -> None:
        self.engine.dispose()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        # On PostgreSQL the first connection of an engine has read it already
        # (pg_dialect), with the questions SQLAlchemy asks on connecting.
        if hasattr(engine.dialect, "revision_at_connect"):
            from onenet_tui.data import pg_dialect

            revision = pg_dialect.take_revision(engine.dialect)
            if revision is not pg_dialect.UNSET:
                return str(revision) if revision is not None else None
        return _revision(conn)


def _revision(conn: Connection) -> str | None:
    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def upgrade_schema(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision``; a no-op (without importing Alembic)
    when it is already at head, which keeps start-up fast.

    Any number of processes may open one database at once: the first to get
    the lock (an advisory lock on PostgreSQL, the write lock on SQLite, taken
    before anything is read) migrates, the others find the work done."""
    if revision == "head" and current_revision(engine) == HEAD_REVISION:
        return
    from alembic import command

    from onenet_tui.data.migrations.config import alembic_config

    with busy_as_conflict(), engine.execution_options(write=True).begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})")
        if revision == "head" and _revision(conn) == HEAD_REVISION:
            return
        command.upgrade(alembic_config(conn), revision)
        if revision == "head":
            with Session(conn) as session:
                catalogs.load_into(session)
                session.flush()
