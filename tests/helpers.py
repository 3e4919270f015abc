"""Small builders shared by the service tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.app import App
from textual.screen import Screen

from onenet_tui.data import carrier, users
from onenet_tui.data.users import AddedUser
from tests.conftest import World, new_user_data


def add(world: World, **overrides: object) -> AddedUser:
    return users.add_user_from(world.admin, new_user_data(**overrides))


def add_active(world: World, **overrides: object) -> AddedUser:
    added = add(world, **overrides)
    carrier.set_status(world.carrier, added.user.username, "activated")
    return added


class Host(App[None]):
    """Opens one screen, as the directory would, and keeps what it returns."""

    def __init__(self, make: Callable[[], Screen[Any]]) -> None:
        super().__init__()
        self._make = make
        self.results: list[Any] = []

    def on_mount(self) -> None:
        self.push_screen(self._make(), self.results.append)


async def settle(pilot) -> None:  # type: ignore[no-untyped-def]
    """Let the workers finish and their results reach the screen."""
    for _ in range(3):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


async def until(pilot: Any, condition: Callable[[], bool]) -> None:
    """Let the app work until ``condition`` holds (workers run in threads)."""
    for _ in range(1000):
        if condition():
            return
        await pilot.pause(0.01)
    raise AssertionError("the screen never got there")
