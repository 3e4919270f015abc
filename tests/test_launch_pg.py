"""The console's first frame on PostgreSQL without the ORM (issue 20,
data/launch_pg.py): the SQL it runs is what SQLAlchemy compiles for
PostgreSQL from the directory's own queries, it connects with the keywords
the store's engine would use and hands it that connection, it reads what the
usual first page reads (a site administrator's sites only, R25), it stands
aside whenever the usual start must run, and the console started that way
paints its first rows before SQLAlchemy is imported."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.dialects.postgresql import psycopg as pg

from onenet_tui.data import context, credentials, handover, launch, launch_pg, pg_connect, pg_dialect, storage
from onenet_tui.data import directory as model
from onenet_tui.data.actor import Context
from onenet_tui.data.context import resolve_actor
from onenet_tui.data.directory import loading
from onenet_tui.data.models import AuditEvent, Operator, Role, Site
from onenet_tui.data.storage import Store
from onenet_tui.screens.directory import DirectoryScreen
from tests.helpers import PEOPLE, World, build_people, build_world, make_app, ready
from tests.test_launch import assert_reads_the_first_page, first_frame_seen, one_line, write_hostile_name
from tests.test_r25_site_admins import site_admin

ROOT = Path(__file__).resolve().parent.parent


def compiled(query: Any) -> tuple[str, tuple[Any, ...]]:
    """SQLAlchemy's statement for ``query`` on PostgreSQL through psycopg, one line, and its parameters."""
    done = query.compile(dialect=pg.dialect(paramstyle="format"), compile_kwargs={"render_postcompile": True})
    return " ".join(done.string.split()), tuple(done.params[name] for name in done.positiontup)


@pytest.mark.parametrize("sites", [None, [3, 1], [2], []])
def test_the_first_page_sql_is_what_sqlalchemy_compiles_for_postgresql(sites: list[int] | None) -> None:
    query = loading._by_name(loading._rows_query(sites)).limit(launch.FIRST_PAGE)
    statement, parameters = launch_pg.first_page_sql(sites)
    assert (one_line(statement), parameters) == compiled(query)


def test_the_operator_sql_is_what_sqlalchemy_compiles_for_postgresql() -> None:
    assert (launch_pg.OPERATOR_SQL, ("ann",)) == compiled(context._operator_query("ann"))
    # The operator's sites, of the operator found by name: no answer needed before it is sent.
    by_name = select(Operator.id).where(Operator.name == "ann").scalar_subquery()
    assert (launch_pg.OPERATOR_SITES_SQL, ("ann",)) == compiled(context._operator_sites_query(cast(int, by_name)))
    assert (launch_pg.STAMP_SQL, (0,)) == compiled(select(func.coalesce(func.max(AuditEvent.id), 0)))
    assert (launch_pg.SITES_SQL, ()) == compiled(select(Site.id, Site.name, Site.country))
    assert (launch_pg.UNHANDED_SQL, ()) == compiled(handover.never_handed_over_query())


def engine_keywords(url: str) -> tuple[list[Any], dict[str, Any]]:
    """What the store's engine passes psycopg.connect for ``url`` (nothing is connected)."""
    engine = storage.make_engine(url)
    seen: list[tuple[list[Any], dict[str, Any]]] = []

    class Seen(Exception):
        pass

    @event.listens_for(engine, "do_connect")
    def _seen(_dialect: object, _record: object, cargs: list[Any], cparams: dict[str, Any]) -> None:
        seen.append((cargs, {k: v for k, v in cparams.items() if k != "context"}))
        raise Seen

    with pytest.raises(Seen):
        engine.connect()
    engine.dispose()
    return seen[0]


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://postgres@127.0.0.1:5432/test?options=-csearch_path%3Dx",
        "postgres://u:p%40ss@[::1]/d%2Fb?sslmode=require&application_name=a%20b",
        "postgresql+psycopg:///test",
        "postgresql://@/db?options=",
        "postgresql://h:0/db",
        "postgresql+psycopg://u:@h",
    ],
)
@pytest.mark.parametrize("pgoptions", [None, "-c work_mem=8MB"])
def test_the_light_start_connects_as_the_store_would(
    url: str, pgoptions: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    if pgoptions is None:
        monkeypatch.delenv("PGOPTIONS", raising=False)
    else:
        monkeypatch.setenv("PGOPTIONS", pgoptions)
    cargs, cparams = engine_keywords(url)
    assert not any(cargs)
    assert pg_connect.connect_params(url) == cparams
    assert pg_dialect._FACTS_AND_REVISION == pg_connect.FACTS_AND_REVISION_SQL


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+asyncpg://u@h/db",
        "postgresql+onenet_psycopg://u@h/db",
        "postgresql://u@h/db?host=a&host=b",
        "postgresql://u@h/db?sslmode=a&sslmode=b",
        "postgresql://u@h:port/db",
        "sqlite:///x.db",
        "mysql://u@h/db",
    ],
)
def test_the_light_start_stands_aside_for_urls_it_does_not_read_as_the_store(url: str) -> None:
    assert pg_connect.connect_params(url) is None


# --- against a PostgreSQL ---------------------------------------------------------


@pytest.fixture
def pg_world(pg_url: str) -> Iterator[World]:
    store = Store(pg_url)
    yield build_world(store)
    store.dispose()


def looked(world: World, operator: str = "alice") -> launch.FirstLook:
    look = launch.first_look(world.store.url, operator)
    assert look is not None and look.handover is not None
    return look


def test_first_look_on_postgresql_reads_what_the_first_page_reads(pg_world: World) -> None:
    build_people(pg_world)
    actor = resolve_actor(pg_world.store, "alice")
    look = looked(pg_world)
    try:
        assert look.actor == actor
        assert_reads_the_first_page(look, pg_world.store)
    finally:
        cast(launch_pg.Handover, look.handover).close()


def test_r9_first_look_on_postgresql_marks_users_never_handed_their_credentials(pg_world: World) -> None:
    build_people(pg_world)
    resolve_actor(pg_world.store, "alice")
    credentials.regenerate(pg_world.admin, "juergen.mueller")
    look = looked(pg_world)
    cast(launch_pg.Handover, look.handover).close()
    assert [look.page.row(i).name for i in range(len(look.page)) if look.page.row(i).unhanded] == ["Müller, Jürgen"]
    assert look.page.unhanded == model.load_first_page(pg_world.store).unhanded


def test_r25_first_look_on_postgresql_of_a_site_admin_reads_their_sites_only(pg_world: World) -> None:
    build_people(pg_world)
    sabine = site_admin(pg_world)
    look = looked(pg_world, "sabine")
    try:
        assert look.actor == sabine.actor and look.actor.role is Role.SITE_ADMIN
        assert set(look.page.sites) == {"Berlin"}
        assert look.page.columns() == model.load_first_page(pg_world.store, sites=sabine.actor.sites).columns()
        assert 0 < len(look.page) < len(PEOPLE)
    finally:
        cast(launch_pg.Handover, look.handover).close()


def test_the_look_ahead_reads_in_a_thread_of_its_own_on_postgresql(pg_world: World) -> None:
    actor = resolve_actor(pg_world.store, "alice")
    ahead = launch.LookAhead(pg_world.store.url, "alice")
    assert ahead._thread is not None  # started, not waited for
    look = ahead.result()
    assert look is not None and look.actor == actor
    cast(launch_pg.Handover, look.handover).close()
    assert launch.LookAhead("postgresql://nobody@127.0.0.1:1/x", "alice").result() is None


def test_the_store_takes_the_light_start_connection_and_asks_nothing_again(
    pg_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def ask(_connection: object) -> None:
        raise AssertionError("the dialect asked what the light start had read")

    monkeypatch.setattr(pg_dialect, "_ask", ask)
    build_people(pg_world)
    resolve_actor(pg_world.store, "alice")
    look = looked(pg_world)
    handover = cast(launch_pg.Handover, look.handover)
    handed = handover._connection
    asked: list[str] = []
    store = Store(pg_world.store.url, upgrade=False, handover=handover)
    event.listen(store.engine, "before_cursor_execute", lambda *args: asked.append(args[2]))
    try:
        storage.upgrade_schema(store.engine)  # the revision came with the handed connection
        with store.engine.connect() as conn:
            assert conn.connection.dbapi_connection is handed
        assert asked == []
        assert len(model.load(store)) == len(PEOPLE)
        with store.engine.connect() as conn:
            assert conn.execute(text("SHOW lock_timeout")).scalar_one() == "30s"
    finally:
        store.dispose()
    assert handed.closed


def test_a_connection_made_otherwise_is_not_taken(pg_world: World) -> None:
    resolve_actor(pg_world.store, "alice")
    look = looked(pg_world)
    handover = cast(launch_pg.Handover, look.handover)
    handed = handover._connection
    handover.params = dict(handover.params, application_name="other")
    store = Store(pg_world.store.url, handover=handover)
    try:
        with store.engine.connect() as conn:
            assert conn.connection.dbapi_connection is not handed
        assert handed.closed
    finally:
        store.dispose()
    # Never taken: closed with the store that was never opened.
    look = looked(pg_world)
    opening = launch.OpeningStore(pg_world.store.url, look.handover)
    opening.dispose()
    assert cast(launch_pg.Handover, look.handover)._connection is None


def test_a_handed_connection_long_idle_is_pinged_and_replaced_when_the_server_dropped_it(pg_world: World) -> None:
    build_people(pg_world)
    resolve_actor(pg_world.store, "alice")
    look = looked(pg_world)
    handover = cast(launch_pg.Handover, look.handover)
    backend = handover._connection.info.backend_pid
    with pg_world.store.transaction() as session:  # the server (an administrator, a restart) drops it
        session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
    handover.idle_since -= storage.IDLE_PING_SECONDS + 1  # the console was slow to open its store
    store = Store(pg_world.store.url, handover=handover)
    try:
        assert len(model.load(store)) == len(PEOPLE)
        with store.engine.connect() as conn:
            assert conn.connection.dbapi_connection.info.backend_pid != backend
    finally:
        store.dispose()


def test_first_look_on_postgresql_stands_aside_for_the_usual_start(pg_world: World, pg_url: str) -> None:
    store = pg_world.store
    resolve_actor(store, "alice")
    cast(launch_pg.Handover, looked(pg_world).handover).close()
    assert launch.first_look(store.url, "newcomer") is None
    assert launch.first_look(store.url, " Carrier ") is None
    assert launch.first_look("postgresql+psycopg://nobody@127.0.0.1:1/x", "alice") is None
    with store.transaction() as session:
        session.execute(text("UPDATE operators SET role = 'superuser' WHERE name = 'alice'"))
    assert launch.first_look(store.url, "alice") is None
    with store.transaction() as session:
        session.execute(text("UPDATE operators SET role = 'admin' WHERE name = 'alice'"))
        session.execute(text("UPDATE alembic_version SET version_num = '0001_initial'"))
    assert launch.first_look(store.url, "alice") is None
    with store.transaction() as session:
        session.execute(text("DROP TABLE alembic_version"))
    assert launch.first_look(store.url, "alice") is None


def test_a_new_database_on_postgresql_takes_the_usual_start(pg_url: str) -> None:
    assert launch.first_look(pg_url, "alice") is None


async def test_a_console_started_from_the_first_look_on_postgresql_shows_it_then_everyone(pg_world: World) -> None:
    build_people(pg_world)
    actor = resolve_actor(pg_world.store, "alice")
    look = looked(pg_world)
    handed = cast(launch_pg.Handover, look.handover)._connection
    opening = launch.OpeningStore(pg_world.store.url, look.handover)
    app = make_app(pg_world, actor, first_page=look.page)
    app.ctx = Context(cast(Store, opening), actor)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await ready(pilot)
            assert isinstance(screen, DirectoryScreen)
            assert screen.directory.data.complete and screen.directory.total == len(PEOPLE)
            # Opened by the load, in its worker, which took the light start's
            # connection (a connection not taken is closed at once).
            assert opening._store is not None
            assert cast(launch_pg.Handover, look.handover)._connection is None and not handed.closed
    finally:
        opening.dispose()
    assert handed.closed


def test_the_first_frame_on_postgresql_is_painted_before_sqlalchemy_is_imported(pg_world: World) -> None:
    build_people(pg_world)
    resolve_actor(pg_world.store, "alice")
    assert first_frame_seen(pg_world.store.url) == {"at_start": False, "looked": True, "at_frame": False}


def test_hostile_names_are_shown_literally_in_the_first_look_on_postgresql(pg_world: World) -> None:
    build_people(pg_world)
    resolve_actor(pg_world.store, "alice")
    write_hostile_name(pg_world.store)
    look = looked(pg_world)
    try:
        assert look.page.columns() == model.load_first_page(pg_world.store).columns()
        assert not any("\x1b" in name for name in look.page.names)
        assert any(name.startswith("[bold]J") for name in look.page.names)
    finally:
        cast(launch_pg.Handover, look.handover).close()
