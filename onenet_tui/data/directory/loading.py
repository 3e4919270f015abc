"""Reading the directory from the database: everything, a first page, and
what changed since the last read (asked of the audit trail, R15).

Each read takes the operator's scope, ``sites`` (R25): None reads every
user, a site administrator's site ids only the users of those sites, so
another site's user is never in the directory's memory (nor in its counts,
its filter, its marks or what it exports)."""

from __future__ import annotations

import contextlib
import gc
import itertools
import logging
from collections.abc import Collection, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Select, case, func, select
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlmodel import Session, col

from onenet_tui.data import audit, handover
from onenet_tui.data.directory import snapshot
from onenet_tui.data.directory.columns import assemble, read_columns
from onenet_tui.data.directory.rows import DirectoryData, with_grams, with_unhanded
from onenet_tui.data.errors import DomainError
from onenet_tui.data.models import AuditEvent, DeviceType, PhoneNumber, Site, User
from onenet_tui.data.storage import Store
from onenet_tui.visible import visible

if TYPE_CHECKING:
    from onenet_tui.data.directory.grams import GramView

log = logging.getLogger(__name__)

# How many rows the first, quick query brings, so the screen has rows to
# paint while the whole directory loads.
FIRST_PAGE = 200
# More changed users than this since the last look: read everything again.
PATCH_LIMIT = 2_000
# The same for a snapshot caught up at launch (load): re-reading this many
# renamed users by id and patching them in added 0.75 s to the snapshot's
# 2.5 s at a million users, where the normal load took 7.6 s (benchmarks/
# directory_snapshot.py); so a console launched after a busy day (an
# import, a bulk change) still starts from the snapshot.
CATCH_UP_LIMIT = 50_000
# Users fetched per ``IN (...)`` query when reloading changed users.
ID_CHUNK = 500
# Rows fetched from the driver per batch: keeps the transient memory small.
FETCH_BATCH = 5_000
# Directories larger than this get a gram index (query.INDEXED_SOURCE uses it).
# Below it the plain scan settles a keystroke within about 50 ms (100,000
# users, benchmark), and the index (7 MB) with numpy (15 MB) would cost 22 MB of the
# 150 MB the SPEC allows there; above it the scan's cost grows past 100 ms.
INDEXED_ROWS = 200_000
# Names for server-side cursors, unique in the process.
_CURSORS = itertools.count(1)


def _device_column() -> ColumnElement[str]:
    none = DeviceType.NONE.value
    return case((col(User.device_type) == none, none), else_=func.coalesce(User.desk_phone_model, User.device_type))


Scope = Collection[int] | None


def _rows_query(sites: Scope = None) -> Select[*tuple[Any, ...]]:
    query = (
        select(
            col(User.id),
            col(User.status),
            # One string from the database instead of two: fewer objects made and dropped.
            col(User.last_name) + ", " + col(User.first_name),
            col(User.username),
            col(User.email),
            col(User.extension),
            col(PhoneNumber.e164),
            col(User.site_id),
            _device_column(),
            col(User.licence),
            col(User.version),
            col(User.department),
            col(User.portal_locked),
        )
        .join(PhoneNumber, col(PhoneNumber.id) == User.number_id)
        .order_by(col(User.id))
    )
    return query if sites is None else query.where(col(User.site_id).in_(sorted(sites)))


def _read(
    session: Session,
    queries: Iterable[Select[*tuple[Any, ...]]],
    stamp: int,
    *,
    complete: bool = True,
    sort: bool = True,
    fetch_batch: int | None = FETCH_BATCH,
) -> DirectoryData:
    """The rows of ``queries`` (each a :func:`_rows_query`) as one DirectoryData."""
    # Names, numbers and labels are made display-safe once, here at load.
    sites = {
        site_id: (visible(name), country)
        for site_id, name, country in session.execute(select(col(Site.id), col(Site.name), col(Site.country)))
    }
    batches = (batch for query in queries for batch in _driver_batches(session, query, fetch_batch))
    return assemble(read_columns(batches, sites), sites, stamp, complete=complete, sort=sort)


def _driver_batches(
    session: Session, query: Select[*tuple[Any, ...]], fetch_batch: int | None
) -> Iterator[Sequence[Any]]:
    """The rows of ``query`` as the database driver returns them, ``fetch_batch``
    at a time (all at once for None): plain tuples, with none of SQLAlchemy's
    per-row work, which cost seconds at a million users (benchmark). The
    statement is the one SQLAlchemy compiles, run in the session's transaction."""
    connection = session.connection()
    compiled = query.compile(dialect=connection.dialect, compile_kwargs={"render_postcompile": True})
    parameters: Any = compiled.params
    if compiled.positiontup is not None:
        parameters = tuple(parameters[name] for name in compiled.positiontup)
    driver = connection.connection.dbapi_connection
    assert driver is not None
    dialect = connection.dialect
    statement = str(compiled)
    cursor = None
    try:
        if fetch_batch and dialect.name == "postgresql":
            # A server-side cursor (inside the read's transaction): the rows come
            # a batch at a time instead of a million at once into memory.
            cursor = driver.cursor(name=f"directory_{next(_CURSORS)}")
        else:
            cursor = driver.cursor()
        cursor.execute(statement, parameters)
        if not fetch_batch:
            yield cursor.fetchall()
            return
        while batch := cursor.fetchmany(fetch_batch):
            yield batch
    except dialect.loaded_dbapi.Error as exc:
        # As SQLAlchemy raises it (a locked SQLite is Busy, storage.busy_as_conflict),
        # and a connection the server dropped is not handed out again.
        disconnected = dialect.is_disconnect(exc, driver, cursor)
        if disconnected:
            connection.invalidate(exc)
        raise DBAPIError.instance(
            statement, parameters, exc, dialect.loaded_dbapi.Error, connection_invalidated=disconnected, dialect=dialect
        ) from exc
    finally:
        if cursor is not None:
            with contextlib.suppress(Exception):  # the error above, if any, is the one to report
                cursor.close()


def load(store: Store, sites: Scope = None) -> DirectoryData:
    """Every user (of ``sites``), in one query (run it in a worker thread);
    from the scope's snapshot caught up with the audit trail when there is
    a valid one (issue 20.2: snapshot.keep writes it after the load)."""
    with store.read() as session:
        tenant = snapshot.tenant_identity(session)
        kept = snapshot.read(session, sites, tenant)
        if kept is None:
            return snapshot.remember(_load(session, sites), tenant, None)
        kept = with_unhanded(kept, handover.never_handed_over(session))
    return snapshot.remember(refresh(store, kept, sites, limit=CATCH_UP_LIMIT) or kept, tenant, kept.stamp)


def keep_snapshot(store: Store, sites: Scope = None) -> bool:
    """Read the users of ``sites`` (R25: the operator's scope) and keep them
    as its snapshot for the next console to start from: for a writer of
    many users at once (``demo``, a large import), after which that console
    would read them all (7-9 s at a million users, against 2.5 s from the
    snapshot). Whether one was written; never raises: a cache, whose absence
    only makes that first console slower."""
    try:
        data = load(store, sites)
    except (SQLAlchemyError, DomainError):  # busy, gone: what was written stands
        log.debug("directory not read for its snapshot", exc_info=True)
        return False
    return snapshot.keep(store, data, sites)


def _load(session: Session, sites: Scope = None) -> DirectoryData:
    # The stamp is read first: a change committed meanwhile is seen again
    # later, never missed.
    stamp = audit.latest_id(session)
    # Read in id order, the database's cheapest (a table scan; by name it took
    # twice as long at a million users); DirectoryData.build sorts by name and
    # makes the strings again in that order, the order the filter walks them.
    with collector_paused():
        data = _read(session, [_rows_query(sites)], stamp)
    return with_unhanded(data, handover.never_handed_over(session))


def gram_index(data: DirectoryData) -> GramView | None:
    """The gram index (directory.grams) of ``data`` when it is large enough
    for the filter to need one and has none; seconds at a million users, so
    run it in a worker. The console's load worker builds it after handing the
    loaded rows over: they are shown and counted meanwhile (the filter scans)."""
    if data.grams is not None or len(data) <= INDEXED_ROWS:
        return None
    from onenet_tui.data.directory import grams  # numpy: only once a large directory is loaded

    return grams.view(data.haystacks, data.facets)


def _indexed(new: DirectoryData, old: DirectoryData) -> DirectoryData:
    """``new`` (a refresh of ``old``, not shared yet) with a gram index if
    ``old`` had one and ``new`` lost it (users added or removed: the rows
    moved). Data that had none gets its index where it was loaded: a
    snapshot caught up in :func:`load` is indexed after it is shown."""
    view = gram_index(new) if old.grams is not None else None
    return new if view is None else with_grams(new, view)


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """The garbage collector off while a whole directory is read. Its full
    passes walk every list built so far, so they grew with the load and held
    the screen's thread for 55-125 ms each, about fifteen times in a load of a
    million users (measured; the worker holds the GIL for a pass). What a load
    makes holds no reference cycles, so nothing is left for it meanwhile.
    Left off if it was off already (the console's start pauses it too)."""
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def load_first_page(store: Store, limit: int = FIRST_PAGE, sites: Scope = None) -> DirectoryData:
    """The first users by name, cheap through the name index: something to
    show within milliseconds while :func:`load` reads the rest. Complete by
    itself when the tenant is that small."""
    # Outside a transaction and without a server-side cursor (a page needs
    # none): no BEGIN, DECLARE, FETCH, CLOSE, COMMIT, each a round trip to a
    # remote database. The stamp is read first, as in load().
    with store.quick_read() as session:
        stamp = audit.latest_id(session)
        query = _by_name(_rows_query(sites)).limit(limit)
        first = _read(session, [query], stamp, complete=False, fetch_batch=None)
        unhanded = handover.never_handed_over(session)
    if len(first) < limit:
        first = DirectoryData.build(first.columns(), first.countries, stamp, facet_values=first.facet_values)
    return with_unhanded(first, unhanded)


def refresh(
    store: Store, data: DirectoryData, sites: Scope = None, *, limit: int = PATCH_LIMIT
) -> DirectoryData | None:
    """The data with everything that changed since ``data.stamp``; None when
    nothing did. Cheap when nothing changed: one indexed ``max(id)``,
    outside a transaction (no BEGIN and COMMIT each second while idle).
    Over ``limit`` changed users (or events), everything is read again."""
    with store.quick_read() as session:
        if audit.latest_id(session) == data.stamp:
            return None
    with store.read() as session:
        latest = audit.latest_id(session)
        if latest == data.stamp:
            return None
        if not data.complete:
            return _load(session, sites)
        details = (
            session.execute(
                select(col(AuditEvent.details))
                .where(col(AuditEvent.id) > data.stamp)
                .order_by(col(AuditEvent.id))
                .limit(limit + 1)
            )
            .scalars()
            .all()
        )
        if len(details) > limit:
            return _load(session, sites)
        ids = {d["user_id"] for d in details if isinstance(d.get("user_id"), int)}
        if any("user_id" not in d for d in details):
            # An event that names no user (a bulk change, a new demo tenant):
            # compare every user's version instead.
            ids |= _changed_by_version(session, data, sites)
        if len(ids) > limit:
            return _load(session, sites)
        wanted = sorted(ids)
        queries = (
            _rows_query(sites).where(col(User.id).in_(wanted[start : start + ID_CHUNK]))
            for start in range(0, len(wanted), ID_CHUNK)
        )
        changes = _read(session, queries, latest, sort=False)
        found = set(changes.ids)
        removed = {user_id for user_id in ids - found if data.index_of(user_id) is not None}
        # Asked after every change: an indexed read of the rows never handed over.
        unhanded = handover.never_handed_over(session)
    # Users added or removed: the rows moved, the index is built again.
    return _indexed(with_unhanded(data.patched(changes, removed, latest), unhanded), data)


def _by_name(query: Select[*tuple[Any, ...]]) -> Select[*tuple[Any, ...]]:
    return query.order_by(None).order_by(col(User.last_name), col(User.first_name), col(User.id))


def _changed_by_version(session: Session, data: DirectoryData, sites: Scope = None) -> set[int]:
    query = select(col(User.id), col(User.version))
    if sites is not None:
        query = query.where(col(User.site_id).in_(sorted(sites)))
    current: dict[int, int] = dict(session.execute(query).all())
    changed = {
        user_id
        for user_id, version in current.items()
        if (index := data.index_of(user_id)) is None or data.versions[index] != version
    }
    changed |= set(data.ids) - current.keys()
    return changed
