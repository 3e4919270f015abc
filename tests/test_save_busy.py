"""A save that waits on another writer's lock (issue 13, item 10): once the
database gives up waiting, the form ends with the busy message instead of
"Saving …" for ever, keeps what was typed, and saves when tried again.
On SQLite and PostgreSQL; the waits are shortened."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import text
from textual.widgets import Button, Input, Static

from onenet_tui.data import storage, users
from onenet_tui.data.models import User
from onenet_tui.data.storage import Store, sqlite_path
from onenet_tui.screens.delete_user import DeleteUserScreen
from onenet_tui.screens.profile import ProfileForm, ProfileScreen
from tests.helpers import World, add, add_active, opened, settle

WAIT_MS = 300


@pytest.fixture
def short_lock_waits(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """New connections give up waiting for a lock after WAIT_MS (SQLite's
    busy timeout, PostgreSQL's lock_timeout: both set by the store)."""
    monkeypatch.setattr(storage, "BUSY_TIMEOUT_SECONDS", WAIT_MS / 1000)
    world.store.engine.dispose()


@contextmanager
def another_writer(store: Store, username: str) -> Iterator[None]:
    """Another administrator's transaction, holding the lock a save needs."""
    if store.dialect == "sqlite":
        path = sqlite_path(store.url)
        assert path is not None
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            other.execute("ROLLBACK")
            other.close()
        return
    holder = Store(store.url, upgrade=False)
    with holder.engine.connect() as conn, conn.begin():
        conn.execute(text(f"SELECT id FROM {User.__tablename__} WHERE username = :u FOR UPDATE"), {"u": username})
        yield
    holder.dispose()


def banner(screen: Any) -> str:
    return str(screen.query_one("#banner", Static).render())


def said_busy(screen: Any) -> bool:
    return banner(screen).startswith("the database is busy (another administrator is saving): try again")


@pytest.mark.usefixtures("short_lock_waits")
async def test_a_save_behind_a_lock_ends_busy_and_keeps_what_was_typed(world: World) -> None:
    username = add(world).user.username
    async with opened(lambda: ProfileScreen(world.admin, username)) as (app, pilot):
        screen = app.screen
        department = screen.query_one(ProfileForm).rows["department"].control
        department.value = "Sales"
        await pilot.pause()
        with another_writer(world.store, username):
            await pilot.press("ctrl+s")
            await settle(pilot)
            assert app.screen is screen
            assert said_busy(screen)
            assert "Saving" not in banner(screen)
            assert department.value == "Sales"
        assert users.view(world.admin, username).department != "Sales"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.results and app.results[0] is not None
    assert users.view(world.admin, username).department == "Sales"


@pytest.mark.usefixtures("short_lock_waits")
async def test_a_delete_behind_a_lock_ends_busy_and_can_be_pressed_again(world: World) -> None:
    username = add_active(world).user.username
    async with opened(lambda: DeleteUserScreen(world.admin, username)) as (app, pilot):
        screen = app.screen
        confirm = screen.query_one("#confirm-extension", Input)
        confirm.value = "5001"
        await pilot.pause()
        delete = screen.query_one("#delete", Button)
        with another_writer(world.store, username):
            delete.press()
            await settle(pilot)
            assert said_busy(screen)
            assert confirm.value == "5001" and not delete.disabled
        delete.press()
        await settle(pilot)
        assert screen.report is not None
