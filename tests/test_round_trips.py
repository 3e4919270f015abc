"""Round trips to the database per command and per console action (issue 20):
``users show`` and opening a user's page ask at most three questions.

A behaviour bound, not a timing: on SQLite the statements are counted with
SQLAlchemy's ``before_cursor_execute`` (transaction control and PRAGMAs left
out: they never leave the process); on PostgreSQL the same, and besides the
turns the server really answers, counted by the latency proxy of the
benchmarks (BEGIN, COMMIT, the driver's own questions and the connect
included). The connect's own turns, measured in the same test as a bare
libpq connect, are what ``psql -c 'select 1'`` pays too, and are left out.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from pathlib import Path
from unittest import mock

import psycopg
import pytest
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url

from benchmarks.latency_proxy import LatencyProxy
from onenet_tui import cli
from onenet_tui.data import audit, groups, storage
from onenet_tui.data.context import Actor, Context
from onenet_tui.data.models import Role
from onenet_tui.data.storage import Store
from onenet_tui.screens.user_detail import read_user
from tests.helpers import World, add_active, build_world, cli_env

# The bound of issue 20, after connecting.
MOST_QUESTIONS = 3
_LOCAL_ONLY = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "PRAGMA")


@contextmanager
def statements() -> Iterator[list[str]]:
    """Every statement any engine sends meanwhile, but transaction control."""
    seen: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if not statement.lstrip().upper().startswith(_LOCAL_ONLY):
            seen.append(statement)

    event.listen(Engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", count)


@pytest.fixture
def proxy() -> Iterator[LatencyProxy]:
    target = make_url(os.environ["ONENET_TEST_PG_URL"])
    with LatencyProxy((target.host or "127.0.0.1", target.port or 5432)) as running:
        yield running


def through(proxy: LatencyProxy, url: str) -> str:
    return make_url(url).set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)


def connect_cost(proxy: LatencyProxy, url: str) -> int:
    """The round trips of a bare libpq connect (TCP, TLS negotiation, start-up)."""
    proxy.reset()
    psycopg.connect(make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)).close()
    return proxy.round_trips


@pytest.fixture
def shown_user(world: World) -> str:
    return user_on_every_part_of_the_page(world)


def user_on_every_part_of_the_page(world: World) -> str:
    """An activated user with a desk phone (credentials) and two groups."""
    username = add_active(world).user.username
    groups.add_member(world.admin, "BER Hunt", username)
    groups.add_member(world.admin, "BER Pickup", username)
    return username


def users_show(url: str, username: str, tmp_path: Path) -> str:
    out = io.StringIO()
    with mock.patch.dict(os.environ, cli_env(tmp_path), clear=True), redirect_stdout(out):
        assert cli.main(["--db", url, "users", "show", username, "--format", "json"]) == 0
    return out.getvalue()


def test_users_show_asks_at_most_three_questions(db_url: str, shown_user: str, tmp_path: Path) -> None:
    users_show(db_url, shown_user, tmp_path)  # the operator's first command registers them
    with statements() as seen:
        shown = users_show(db_url, shown_user, tmp_path)
    assert '"BER Hunt"' in shown and '"BER Pickup"' in shown
    assert 1 <= len(seen) <= MOST_QUESTIONS, seen


def test_opening_a_users_page_asks_at_most_three_questions(world: World, shown_user: str) -> None:
    audit.latest(world.admin)  # a connection in the pool, as in a running console
    with statements() as seen:
        audit.latest(world.admin)
        view, unhanded = read_user(world.admin, shown_user, None)
    assert view.username == shown_user and len(view.groups) == 2 and view.credentials is not None
    assert len(seen) <= MOST_QUESTIONS, seen


def test_users_show_on_postgresql_takes_three_round_trips_after_connecting(
    pg_url: str, proxy: LatencyProxy, tmp_path: Path
) -> None:
    shown_user = build_user(pg_url)
    url = through(proxy, pg_url)
    users_show(url, shown_user, tmp_path)
    connecting = connect_cost(proxy, url)
    proxy.reset()
    users_show(url, shown_user, tmp_path)
    counts = proxy.counts()
    assert counts.connections == 1
    assert counts.round_trips - connecting <= MOST_QUESTIONS, (counts, connecting)


def test_opening_a_users_page_on_postgresql_takes_three_round_trips(pg_url: str, proxy: LatencyProxy) -> None:
    shown_user = build_user(pg_url)
    store = Store(through(proxy, pg_url))
    try:
        ctx = Context(store, Actor("alice", Role.ADMIN))
        audit.latest(ctx)
        proxy.reset()
        audit.latest(ctx)
        read_user(ctx, shown_user, None)
        counts = proxy.counts()
    finally:
        store.dispose()
    assert counts.connections == 0 and counts.round_trips <= MOST_QUESTIONS, counts


def build_user(url: str) -> str:
    store = Store(url)
    try:
        world = build_world(store)
        return user_on_every_part_of_the_page(world)
    finally:
        store.dispose()


def test_a_connection_the_server_dropped_while_idle_is_replaced(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """No ping before every use any more (a round trip each): one only for a
    connection idle a while, which is what a server restart finds."""
    store = Store(pg_url)
    try:
        ctx = Context(store, Actor("alice", Role.ADMIN))
        with store.quick_read() as session:
            first = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
        killer = create_engine(os.environ["ONENET_TEST_PG_URL"])
        with killer.connect() as conn:
            assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first}).scalar_one()
        killer.dispose()
        monkeypatch.setattr(storage, "IDLE_PING_SECONDS", 0.0)
        assert audit.latest(ctx) >= 0
        with store.quick_read() as session:
            assert session.execute(text("SELECT pg_backend_pid()")).scalar_one() != first
    finally:
        store.dispose()
