"""The console's first frame without the ORM (issue 20, data/launch.py): the
SQL it runs is the SQL SQLAlchemy compiles from the directory's own queries,
it reads what the usual first page reads, it stands aside whenever the usual
start must run, and the console started that way imports no SQLAlchemy
before its first frame."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.dialects import sqlite

from onenet_tui.data import context, credentials, handover, launch
from onenet_tui.data import directory as model
from onenet_tui.data.context import Context, resolve_actor
from onenet_tui.data.directory import loading
from onenet_tui.data.models import AuditEvent, Role, Site
from onenet_tui.data.storage import HEAD_REVISION, Store
from onenet_tui.screens.directory import DirectoryScreen
from tests.helpers import PEOPLE, World, build_people, make_app, ready
from tests.test_r25_site_admins import site_admin

pytestmark = pytest.mark.sqlite_only  # the light start is SQLite's only
ROOT = Path(__file__).resolve().parent.parent


def compiled(query: Any) -> tuple[str, tuple[Any, ...]]:
    """SQLAlchemy's SQLite statement for ``query``, one line, and its parameters in order."""
    done = query.compile(dialect=sqlite.dialect(), compile_kwargs={"render_postcompile": True})
    return " ".join(done.string.split()), tuple(done.params[name] for name in done.positiontup)


def one_line(statement: str) -> str:
    return " ".join(statement.split())


@pytest.mark.parametrize("sites", [None, [3, 1], [2]])
def test_the_first_page_sql_is_what_sqlalchemy_compiles(sites: list[int] | None) -> None:
    query = loading._by_name(loading._rows_query(sites)).limit(launch.FIRST_PAGE)
    statement, parameters = launch.first_page_sql(sites)
    assert (one_line(statement), parameters) == compiled(query)
    assert launch.FIRST_PAGE == loading.FIRST_PAGE


def test_the_operator_sql_is_what_sqlalchemy_compiles() -> None:
    assert (one_line(launch.OPERATOR_SQL), ("ann",)) == compiled(context._operator_query("ann"))
    assert (one_line(launch.OPERATOR_SITES_SQL), (7,)) == compiled(context._operator_sites_query(7))
    # audit.latest_id and the sites loading._read reads.
    assert (launch.STAMP_SQL, (0,)) == compiled(select(func.coalesce(func.max(AuditEvent.id), 0)))
    assert (launch.SITES_SQL, ()) == compiled(select(Site.id, Site.name, Site.country))
    assert (launch.UNHANDED_SQL, ()) == compiled(handover.never_handed_over_query())


def test_the_light_start_knows_the_current_schema() -> None:
    # A new migration makes the light start stand aside until this follows.
    assert launch.SCHEMA_REVISION == HEAD_REVISION


def assert_reads_the_first_page(look: launch.FirstLook, store: Store) -> None:
    """``look`` holds what the usual first page of ``store`` holds, in its order."""
    usual = model.load_first_page(store)
    assert look.page.columns() == usual.columns()
    assert look.page.stamp == usual.stamp
    assert [look.page.names[i] for i in look.page.name_order] == [usual.names[i] for i in usual.name_order]
    # R9: who was never handed their latest credentials is marked from the first frame.
    assert look.page.unhanded == usual.unhanded
    # Never complete: the whole load follows.
    assert not look.page.complete and len(look.page) == len(PEOPLE)


def test_first_look_reads_what_the_first_page_reads(world: World) -> None:
    build_people(world)
    actor = resolve_actor(world.store, "alice")
    look = launch.first_look(world.store.url, "alice")
    assert look is not None
    assert look.actor == actor
    assert_reads_the_first_page(look, world.store)


def test_r9_first_look_marks_users_never_handed_their_credentials(world: World) -> None:
    build_people(world)
    resolve_actor(world.store, "alice")
    issued = credentials.regenerate(world.admin, "juergen.mueller")
    look = launch.first_look(world.store.url, "alice")
    assert look is not None
    assert [look.page.row(i).name for i in range(len(look.page)) if look.page.row(i).unhanded] == ["Müller, Jürgen"]
    assert_reads_the_first_page(look, world.store)
    handover.record_handed_over(world.admin, issued.username, issued.user_id)
    again = launch.first_look(world.store.url, "alice")
    assert again is not None and not again.page.unhanded


def test_r25_first_look_of_a_site_admin_reads_their_sites_only(world: World) -> None:
    build_people(world)
    sabine = site_admin(world)
    look = launch.first_look(world.store.url, "sabine")
    assert look is not None
    assert look.actor == sabine.actor and look.actor.role is Role.SITE_ADMIN
    assert set(look.page.sites) == {"Berlin"}
    assert look.page.columns() == model.load_first_page(world.store, sites=sabine.actor.sites).columns()


def test_first_look_stands_aside_for_the_usual_start(world: World, tmp_path: Path) -> None:
    resolve_actor(world.store, "alice")
    url = world.store.url
    assert launch.first_look(url, "alice") is not None
    # Registering a new operator, the carrier's reserved name: the store's work.
    assert launch.first_look(url, "newcomer") is None
    assert launch.first_look(url, " Carrier ") is None
    # A missing file (the usual start creates it 0600), not created here.
    missing = tmp_path / "nowhere" / "x.db"
    assert launch.first_look(f"sqlite:///{missing}", "alice") is None
    assert not missing.exists()
    assert launch.first_look("sqlite:///:memory:", "alice") is None
    assert launch.first_look(f"{url}?timeout=1", "alice") is None
    assert launch.first_look("postgresql+psycopg://nobody@127.0.0.1:1/x", "alice") is None
    # Not a database, and an empty one.
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"\x1b[31m not sqlite " * 100)
    assert launch.first_look(f"sqlite:///{junk}", "alice") is None
    empty = tmp_path / "empty.db"
    empty.touch()
    assert launch.first_look(f"sqlite:///{empty}", "alice") is None
    # A role this code does not know (a newer version's): the usual start says what is wrong.
    with world.store.transaction() as session:
        session.execute(text("UPDATE operators SET role = 'superuser' WHERE name = 'alice'"))
    assert launch.first_look(url, "alice") is None
    with world.store.transaction() as session:
        session.execute(text("UPDATE operators SET role = 'admin' WHERE name = 'alice'"))
    assert launch.first_look(url, "alice") is not None
    # An older schema: the store migrates it first.
    with world.store.transaction() as session:
        session.execute(text("UPDATE alembic_version SET version_num = '0001_initial'"))
    assert launch.first_look(url, "alice") is None


def test_opening_store_opens_once_on_first_use(world: World) -> None:
    world.store.dispose()
    opening = launch.OpeningStore(world.store.url)
    opening.dispose()  # never opened: nothing to close
    assert opening._store is None
    store = cast(Store, opening)
    with store.quick_read() as session:
        assert session.execute(text("SELECT 1")).scalar_one() == 1
    assert opening.opened() is opening.opened() and opening.dialect == "sqlite"
    opening.dispose()


async def test_a_console_started_from_the_first_look_shows_it_then_everyone(world: World) -> None:
    build_people(world)
    actor = resolve_actor(world.store, "alice")
    look = launch.first_look(world.store.url, "alice")
    assert look is not None
    opening = launch.OpeningStore(world.store.url)
    app = make_app(world, actor, first_page=look.page)
    app.ctx = Context(cast(Store, opening), actor)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        assert isinstance(screen, DirectoryScreen)
        assert screen.directory.data.complete and screen.directory.total == len(PEOPLE)
        assert opening._store is not None  # opened by the load, in its worker
    opening.dispose()


async def test_the_garbage_collector_paused_for_the_start_resumes_after_the_first_frame(world: World) -> None:
    build_people(world)
    gc.disable()  # as cli._open_console does before importing Textual
    try:
        async with make_app(world, resume_gc=True).run_test(size=(120, 40)) as pilot:
            await ready(pilot)
            assert gc.isenabled()
        gc.disable()
        async with make_app(world).run_test(size=(120, 40)) as pilot:
            await ready(pilot)
            assert not gc.isenabled()  # not paused by the console, not its to resume
    finally:
        gc.enable()


# The console's start in a process of its own: the first frame is written
# while SQLAlchemy is still not imported.
FIRST_FRAME = """
import json, sys
from onenet_tui.cli import main  # the command's own start
from onenet_tui.app import OneNetApp
from onenet_tui.data.actor import Context
from onenet_tui.data.launch import OpeningStore, first_look
from textual.app import App

url = sys.argv[1]
seen = {"at_start": "sqlalchemy" in sys.modules}
look = first_look(url, "alice")
seen["looked"] = look is not None
display = App._display

def first_frame(app, screen, renderable):
    if "at_frame" not in seen and len(getattr(app.screen, "directory", ())) > 0:
        seen["at_frame"] = "sqlalchemy" in sys.modules
        app.exit()
    return display(app, screen, renderable)

App._display = first_frame

async def run():
    app = OneNetApp(Context(OpeningStore(url, look.handover), look.actor), theme="textual-dark", first_page=look.page)
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(200):
            if "at_frame" in seen:
                break
            await pilot.pause(0.01)

import asyncio
asyncio.run(run())
print(json.dumps(seen))
"""


def first_frame_seen(url: str) -> dict[str, bool]:
    """What FIRST_FRAME saw of SQLAlchemy, started in a process of its own on ``url``."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-c", FIRST_FRAME, url], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return cast(dict[str, bool], json.loads(done.stdout.strip().splitlines()[-1]))


def test_the_first_frame_is_painted_before_sqlalchemy_is_imported(world: World) -> None:
    build_people(world)
    resolve_actor(world.store, "alice")
    assert first_frame_seen(world.store.url) == {"at_start": False, "looked": True, "at_frame": False}


def write_hostile_name(store: Store) -> None:
    """Jones renamed by another tool, past the checks: markup and a terminal escape."""
    with store.transaction() as session:
        hostile = {"name": "[bold]J\x1b[2J"}
        session.execute(text("UPDATE users SET last_name = :name WHERE last_name = 'Jones'"), hostile)


def test_hostile_names_are_shown_literally_in_the_first_look(world: World) -> None:
    build_people(world)
    resolve_actor(world.store, "alice")
    write_hostile_name(world.store)
    look = launch.first_look(world.store.url, "alice")
    assert look is not None
    assert look.page.columns() == model.load_first_page(world.store).columns()
    assert not any("\x1b" in name for name in look.page.names)
    assert any(name.startswith("[bold]J") for name in look.page.names)
