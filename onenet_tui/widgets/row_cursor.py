"""A row cursor over a virtual table drawn under one header line: the keys
and the mouse that move it. The user table and the bulk credentials tables
are both built on it; each says how many rows it has and how the cursor
moves (the user table loads rows as the cursor reaches them)."""

from __future__ import annotations

from textual import events
from textual.binding import Binding
from textual.scroll_view import ScrollView

from onenet_tui.widgets.lines import DirectLines


class RowCursor(DirectLines, ScrollView, can_focus=True):
    BINDINGS = [
        Binding("up", "cursor_up", show=False),
        Binding("down", "cursor_down", show=False),
        Binding("pageup", "page_up", show=False),
        Binding("pagedown", "page_down", show=False),
        Binding("home", "first", show=False),
        Binding("end", "last", show=False),
    ]

    cursor = 0

    @property
    def row_count(self) -> int:
        raise NotImplementedError

    def move_cursor(self, position: int) -> None:
        raise NotImplementedError

    def _page(self) -> int:
        """Rows on screen (the header line takes one)."""
        return max(1, self.scrollable_content_region.height - 1)

    def action_cursor_up(self) -> None:
        self.move_cursor(self.cursor - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(self.cursor + 1)

    def action_page_up(self) -> None:
        self.move_cursor(self.cursor - self._page())

    def action_page_down(self) -> None:
        self.move_cursor(self.cursor + self._page())

    def action_first(self) -> None:
        self.move_cursor(0)

    def action_last(self) -> None:
        self.move_cursor(self.row_count - 1)

    def on_click(self, event: events.Click) -> None:
        if event.y >= 1:
            self.move_cursor(int(self.scroll_offset.y) + event.y - 1)
