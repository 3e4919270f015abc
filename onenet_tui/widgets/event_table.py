"""The audit log's table (R26): a :class:`PlainTable` (Line API, only the
visible lines drawn) whose rows are audit events read a page at a time, with
fixed column widths so that appending a page measures nothing, and the
event id of each row for ``enter``."""

from __future__ import annotations

from collections.abc import Sequence

from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message

from onenet_tui.visible import visible
from onenet_tui.widgets.plain_table import GAP, PlainTable


class EventTable(PlainTable):
    BINDINGS = [Binding("enter", "open", show=False)]

    class CursorMoved(Message):
        """The cursor is on row ``index`` (of ``count``): the screen reads
        the next page as it nears the end."""

        def __init__(self, index: int, count: int) -> None:
            super().__init__()
            self.index = index
            self.count = count

    class Opened(Message):
        def __init__(self, event_id: int) -> None:
            super().__init__()
            self.event_id = event_id

    def __init__(self, titles: Sequence[str], *, id: str | None = None) -> None:
        super().__init__(titles, id=id)
        self.ids: list[int] = []
        self.fixed: list[int] = []

    # -- widths ------------------------------------------------------------

    def set_widths(self, widths: Sequence[int]) -> None:
        """Each column's width in cells; longer cells are cut with "…"."""
        self.fixed = list(widths)
        self._measure()

    def _measure(self) -> None:
        if not self.fixed:
            super()._measure()
            return
        self.widths = list(self.fixed)
        total = sum(self.widths) + len(GAP) * (len(self.widths) + 1)
        self.virtual_size = Size(total, len(self.rows) + 1)
        self.refresh()

    # -- rows --------------------------------------------------------------

    def show(self, rows: Sequence[Sequence[object]], ids: Sequence[int], *, keep: int | None = None) -> None:
        """Every row anew; the cursor on event ``keep`` if it is among them, else on top."""
        self.rows = [tuple(visible(cell) for cell in row) for row in rows]
        self.ids = list(ids)
        self._measure()
        if keep is not None and keep in self.ids:
            self.move_cursor(self.ids.index(keep))
        else:
            self.cursor = 0
            self.scroll_to(0, 0, animate=False, immediate=True)

    def append(self, rows: Sequence[Sequence[object]], ids: Sequence[int]) -> None:
        """Older events below the ones shown; the cursor stays."""
        self.rows += [tuple(visible(cell) for cell in row) for row in rows]
        self.ids += list(ids)
        self._measure()

    def clear(self) -> None:
        super().clear()
        self.ids = []

    @property
    def cursor_id(self) -> int | None:
        return self.ids[self.cursor] if self.ids and self.cursor < len(self.ids) else None

    # -- the cursor --------------------------------------------------------

    def move_cursor(self, position: int) -> None:
        super().move_cursor(position)
        if self.rows:
            self.post_message(self.CursorMoved(self.cursor, len(self.rows)))

    def action_open(self) -> None:
        if self.cursor_id is not None:
            self.post_message(self.Opened(self.cursor_id))
