"""A :class:`~onenet_tui.widgets.plain_table.PlainTable` that says when its
cursor moves to another row, and can put its rows back without losing the
cursor: the lists of the sites and groups screens (10,000 numbers, 2,000
members), painted a line at a time."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from textual.message import Message

from onenet_tui.widgets.plain_table import PlainTable


class CursorTable(PlainTable):
    class Moved(Message):
        """The cursor is on another row (``row`` is its index)."""

        def __init__(self, table: CursorTable, row: int) -> None:
            super().__init__()
            self.table, self.row = table, row

        @property
        def control(self) -> CursorTable:
            return self.table

    def move_cursor(self, position: int) -> None:
        before = self.cursor
        super().move_cursor(position)
        if self.cursor != before:
            self.post_message(self.Moved(self, self.cursor))

    def replace_rows(
        self, rows: Iterable[Sequence[object]], *, emphasised: Iterable[int] = (), cursor: int = 0
    ) -> None:
        """New rows, the cursor on row ``cursor`` (or the last), shown on screen."""
        before = self.cursor
        self.set_rows(rows, emphasised=emphasised)
        if self.rows:
            super().move_cursor(min(cursor, len(self.rows) - 1))
        if self.cursor != before or cursor == 0:
            self.post_message(self.Moved(self, self.cursor))
