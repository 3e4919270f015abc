"""Terminals without UTF-8 (issue 13): under ``LC_ALL=C`` or a Latin-1
locale the console draws ASCII glyphs and writes in the terminal's charset,
instead of arriving as mojibake (``â—`` Pending)."""

from __future__ import annotations

import pytest
from textual._border import BORDER_CHARS
from textual.widgets import Checkbox, RadioButton

from onenet_tui import terminal
from onenet_tui.terminal import Terminal, encode_for
from tests.helpers import SIZE, World, header, lines, make_app, ready

pytestmark = pytest.mark.sqlite_only

ASCII = Terminal(charset="ascii")


@pytest.mark.parametrize(
    ("environ", "charset"),
    [
        ({"LC_ALL": "C"}, "ascii"),
        ({"LANG": "C"}, "ascii"),
        ({}, "ascii"),  # no locale at all is the C locale
        ({"LANG": "de_DE.ISO-8859-1"}, "iso8859-1"),
        ({"LC_CTYPE": "de_DE@euro", "LANG": "de_DE.UTF-8"}, "ascii"),  # LC_CTYPE before LANG
        ({"LC_ALL": "C", "LANG": "de_DE.UTF-8"}, "ascii"),  # LC_ALL before both
        ({"LANG": "de_DE.UTF-8"}, "utf-8"),
        ({"LANG": "en_GB.utf8"}, "utf-8"),
        ({"LC_ALL": "C.UTF-8"}, "utf-8"),
        # Python started in a locale the machine lacks and coerced LC_CTYPE: LANG says what the terminal shows.
        ({"LC_CTYPE": "C.UTF-8", "LANG": "de_DE.ISO-8859-1"}, "iso8859-1"),
        ({"LC_CTYPE": "C.UTF-8"}, "utf-8"),
        ({"LANG": "C", "ONENET_ASCII": "0"}, "utf-8"),  # the setting wins
        ({"LANG": "de_DE.UTF-8", "ONENET_ASCII": "1"}, "ascii"),
    ],
)
def test_the_charset_is_read_from_the_locale_variables(environ: dict[str, str], charset: str) -> None:
    found = Terminal.from_environ(environ)
    assert found.charset == charset
    assert found.ascii is (charset != "utf-8")


def test_what_the_charset_cannot_show_is_written_as_ascii() -> None:
    assert encode_for(ASCII, "● Pending  ✓ Active  ✗ Failed") == b"* Pending  + Active  x Failed"
    assert encode_for(ASCII, "╭──╮│ │╰──╯") == b"+--+| |+--+"
    assert encode_for(ASCII, "Müller · loading…") == b"Muller - loading~"
    latin1 = Terminal(charset="iso8859-1")
    # Latin-1 shows the letters: only the symbols are replaced.
    assert encode_for(latin1, "● Müller · Weiß") == "* Müller · Weiß".encode("iso8859-1")


async def test_badges_marks_and_arrows_are_ascii_without_utf8(world: World, people: list[str]) -> None:
    app = make_app(world, far_end=ASCII)
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await pilot.press("space")
        await pilot.pause()
        shown = lines(screen)
        assert shown[0].split()[:3] == ["Status", "Name", "^"]
        assert shown[1].startswith("| + Active   Jones, Grace")
        assert "* Pending  Lefèvre, Zoë" in shown[2]
        assert "x Failed   Yılmaz, Fatma" in "\n".join(shown)
        top, bottom = header(screen).splitlines()
        assert top.startswith("alice - Administrator") and "sorted by Name ^" in top
        assert bottom.startswith("* Pending 3  + Active 4  x Failed 1")


async def test_borders_and_toggles_are_ascii_while_the_console_runs(world: World, people: list[str]) -> None:
    round_border = BORDER_CHARS["round"]
    app = make_app(world, far_end=ASCII)
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        assert BORDER_CHARS["round"] == (("+", "-", "+"), ("|", " ", "|"), ("+", "-", "+"))
        ticked, unticked, chosen = Checkbox("a", True), Checkbox("b", False), RadioButton("c", True)
        await screen.mount(ticked, unticked, chosen)
        await pilot.pause()
        assert ticked.render().plain.startswith("[x] a")
        assert unticked.render().plain.startswith("[ ] b")
        assert chosen.render().plain.startswith("(*) c")
    # Put back for the next console in this process.
    assert BORDER_CHARS["round"] == round_border
    assert Checkbox("d", True).BUTTON_LEFT == "▐"
    assert terminal.current() == Terminal()


def test_snapshot_directory_ascii(world: World, people: list[str], snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(make_app(world, far_end=ASCII), terminal_size=SIZE, press=["space", "down"])


def test_snapshot_help_ascii(world: World, people: list[str], snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(make_app(world, far_end=ASCII), terminal_size=SIZE, press=["question_mark"])


async def test_the_driver_writes_in_the_terminal_charset() -> None:
    from textual.app import App

    from onenet_tui.app import FrugalDriver

    latin1 = Terminal(charset="iso8859-1")
    driver = type("Driver", (FrugalDriver,), {"terminal": latin1})(App(), mouse=True)
    assert (driver._file.encoding, driver._file.errors) == ("iso8859-1", terminal.ERRORS)
    utf8 = type("Driver", (FrugalDriver,), {"terminal": Terminal(ssh=True)})(App(), mouse=True)
    assert utf8._file.encoding.lower().replace("-", "") == "utf8"
