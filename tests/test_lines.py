"""Lines handed to the screen as drawn (``widgets.lines``): the same picture
as Textual's own path, the fallback when a stylesheet adds a border, the
scrollbar, and paging that finds its lines drawn ahead."""

from __future__ import annotations

import pytest
from rich.text import Text
from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.widget import Widget

from onenet_tui.data.directory import Directory
from onenet_tui.widgets.lines import TextLines
from onenet_tui.widgets.user_table import UserTable
from tests.helpers import TableApp, settle, synthetic

pytestmark = pytest.mark.sqlite_only


class Greeting(TextLines):
    DEFAULT_CSS = "Greeting { height: 2; padding: 0 2; background: $panel; }"

    def text_lines(self, width: int) -> list[Text]:
        return [Text("[b]literal[/b]", style="bold"), Text("x" * width)]


class Bordered(Greeting):
    DEFAULT_CSS = "Bordered { height: 4; border: solid red; padding: 0; }"


class LinesApp(App[None]):
    def __init__(self, widget: Widget) -> None:
        super().__init__()
        self.widget = widget

    def compose(self) -> ComposeResult:
        yield self.widget


def text_of(widget: Widget) -> list[str]:
    region = Region(0, 0, widget.outer_size.width, widget.outer_size.height)
    return ["".join(segment.text for segment in strip) for strip in widget.render_lines(region)]


async def test_direct_lines_match_textuals_own_path() -> None:
    widget = Greeting()
    async with LinesApp(widget).run_test(size=(20, 4)):
        direct = text_of(widget)
        textual = ["".join(s.text for s in strip) for strip in Widget.render_lines(widget, Region(0, 0, 20, 2))]
        assert direct == textual
        # Side padding is drawn; text from data stays literal.
        assert direct[0] == "  [b]literal[/b]    "
        assert all(len(line) == 20 for line in direct)


async def test_a_border_in_the_stylesheet_falls_back_to_textuals_path() -> None:
    widget = Bordered()
    async with LinesApp(widget).run_test(size=(20, 6)):
        lines = text_of(widget)
        assert lines[0].startswith("┌") and lines[-1].startswith("└")
        assert lines[1].startswith("│[b]literal[/b]")


async def test_the_scrollbar_thumb_follows_the_cursor_to_the_end() -> None:
    async with TableApp(Directory(synthetic(10_000))).run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = pilot.app.query_one(UserTable)
        bar = table.vertical_scrollbar
        height = bar.outer_size.height

        def thumb_rows() -> list[int]:
            strips = bar.render_lines(Region(0, 0, 1, height))
            back = strips[-1] if table.scroll_offset.y == 0 else strips[0]
            return [y for y, strip in enumerate(strips) if strip is not back]

        assert thumb_rows() and max(thumb_rows()) < height // 2
        await pilot.press("end")
        await settle(pilot)
        assert thumb_rows() and min(thumb_rows()) >= height // 2


async def test_paging_finds_its_lines_drawn_ahead() -> None:
    async with TableApp(Directory(synthetic(10_000))).run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = pilot.app.query_one(UserTable)
        await pilot.press("pagedown")
        await settle(pilot)  # the page below is drawn while the console waits
        drawn: list[str] = []
        draw = table._row
        table._row = lambda row, *args: drawn.append(row.name) or draw(row, *args)  # type: ignore[method-assign]
        table.action_page_down()
        lines = text_of(table)
        assert drawn == []
        assert table.cursor_row is not None and table.cursor_row.name in lines[1]
