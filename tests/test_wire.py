"""What the console sends to the terminal (issue 13): an idle console sends
nothing, a cursor step repaints the lines that changed, and over SSH nothing
blinks, animates or reports mouse motion. Counted where Textual hands a frame
to the driver (``App._display``), never timed."""

from __future__ import annotations

from typing import Any

import pytest
from textual._compositor import ChopsUpdate
from textual.app import App
from textual.widgets import Input

from onenet_tui.app import FrugalDriver, OneNetApp
from onenet_tui.screens.profile import ProfileScreen
from onenet_tui.screens.user_detail import UserDetailScreen
from onenet_tui.terminal import Terminal
from tests.helpers import SIZE, World, make_app, ready, until

pytestmark = pytest.mark.sqlite_only

SSH = Terminal(ssh=True)
LOCAL = Terminal(ssh=False)


def record_frames(app: OneNetApp, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every frame the app hands to the terminal driver from now on."""
    frames: list[Any] = []
    display = app._display

    def spy(screen: Any, renderable: Any) -> None:
        if renderable is not None:
            frames.append(renderable)
        display(screen, renderable)

    monkeypatch.setattr(app, "_display", spy)
    return frames


async def sent_while_idle(pilot: Any, monkeypatch: pytest.MonkeyPatch, seconds: float) -> list[Any]:
    """The frames sent while no key is pressed for ``seconds``."""
    frames = record_frames(pilot.app, monkeypatch)
    await pilot.pause(seconds)
    return frames


def lines_touched(frames: list[Any]) -> set[int]:
    touched: set[int] = set()
    for frame in frames:
        assert isinstance(frame, ChopsUpdate), f"a full repaint: {type(frame).__name__}"
        touched.update(y for y, _x1, _x2 in frame.spans)
    return touched


async def test_idle_directory_with_help_open_sends_nothing(
    world: World, people: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(world, far_end=LOCAL)  # checks for changes every 0.1 s
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("question_mark")
        await pilot.pause(0.5)
        assert await sent_while_idle(pilot, monkeypatch, 1.0) == []  # about ten change checks beneath help


async def test_idle_detail_and_directory_beneath_a_dialog_send_nothing(
    world: World, people: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both screens beneath the profile dialog look for changes every second.
    (Over SSH, so that the focused field's cursor does not blink.)"""
    app = make_app(world, far_end=SSH)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("enter")
        await pilot.pause(0.5)
        assert isinstance(app.screen, UserDetailScreen)
        await pilot.press("p")
        await pilot.pause(0.5)
        assert isinstance(app.screen, ProfileScreen)
        # The form's own load, and the first of the detail screen's checks
        # beneath it, must be over before idle is measured.
        await until(pilot, lambda: app.screen.view is not None)
        await pilot.pause(1.2)
        # Two of the detail screen's checks, many of the directory's.
        assert await sent_while_idle(pilot, monkeypatch, 2.5) == []


async def test_idle_directory_sends_nothing(world: World, people: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    app = make_app(world, far_end=LOCAL)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.pause(0.3)
        assert await sent_while_idle(pilot, monkeypatch, 1.0) == []


async def test_cursor_down_repaints_only_the_two_lines_that_changed(
    world: World, people: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(world, far_end=LOCAL)
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        table = screen.table
        # Smith, then Weiß: both activated without a desk phone, so the
        # footer's dimmed keys stay as they are.
        await pilot.press(*["down"] * 5)
        await pilot.pause(0.3)
        assert table.cursor_row is not None and table.cursor_row.name == "Smith, Oliver"
        frames = record_frames(app, monkeypatch)
        await pilot.press("down")
        await pilot.pause(0.3)
        assert table.cursor_row is not None and table.cursor_row.name == "Weiß, Hans-Peter"
        first_row = table.region.y + 1  # under the column titles
        assert lines_touched(frames) == {first_row + 5, first_row + 6}


@pytest.mark.parametrize(("far_end", "blinks"), [(SSH, False), (LOCAL, True)])
async def test_the_cursor_blinks_on_a_local_terminal_only(
    world: World, people: list[str], monkeypatch: pytest.MonkeyPatch, far_end: Terminal, blinks: bool
) -> None:
    """Over SSH the filter's cursor does not blink and nothing animates; on a
    local terminal it blinks, which is what SSH silences."""
    app = make_app(world, far_end=far_end)
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await pilot.press("slash")
        await pilot.pause(0.3)
        assert screen.focused is screen.query_one("#directory-filter", Input)
        frames = await sent_while_idle(pilot, monkeypatch, 1.2)  # more than two blinks
        assert bool(frames) is blinks
        assert (app.animation_level != "none") is blinks


async def test_over_ssh_the_mouse_reports_clicks_only(monkeypatch: pytest.MonkeyPatch) -> None:
    written: list[str] = []

    def driver_for(far_end: Terminal) -> FrugalDriver:
        cls = type("Driver", (FrugalDriver,), {"terminal": far_end})
        driver = cls(App(), mouse=True)
        monkeypatch.setattr(driver, "write", written.append)
        monkeypatch.setattr(driver, "flush", lambda: None)
        return driver

    driver_for(SSH)._enable_mouse_support()
    assert written == ["\x1b[?1000h", "\x1b[?1006h"]  # no ?1003h: no motion reports
    written.clear()
    driver_for(LOCAL)._enable_mouse_support()
    assert "\x1b[?1003h" in written


def test_ssh_is_read_from_the_environment_or_the_setting() -> None:
    assert Terminal.from_environ({"SSH_CONNECTION": "192.0.2.1 5000 192.0.2.2 22"}).ssh
    assert not Terminal.from_environ({}).ssh
    assert Terminal.from_environ({"ONENET_SSH": "1"}).ssh
    assert not Terminal.from_environ({"SSH_CONNECTION": "x", "ONENET_SSH": "0"}).ssh


@pytest.mark.parametrize(("far_end", "animated"), [(SSH, False), (LOCAL, True)])
async def test_over_ssh_help_scrolls_a_page_without_animation(
    world: World, people: list[str], monkeypatch: pytest.MonkeyPatch, far_end: Terminal, animated: bool
) -> None:
    app = make_app(world, far_end=far_end)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("question_mark")
        await pilot.pause(0.5)
        frames = record_frames(app, monkeypatch)
        await pilot.press("pagedown")
        await pilot.pause(1.0)
        assert app.screen.query_one("#help-keys").scroll_offset.y > 0
        assert (len(frames) > 3) is animated, len(frames)
