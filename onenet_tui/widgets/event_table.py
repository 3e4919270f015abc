"""The audit log's table (R26): a :class:`PlainTable` (Line API, only the
visible lines drawn) whose rows are audit events read a page at a time, with
fixed column widths so that appending a page measures nothing, and the
event id of each row for ``enter``.

Drawn as the directory's table is (widgets/cached_lines.py): lines cached
by (event, cursor), styles looked up once per focus or theme change, a
cursor step repainting its two lines only, the pages either side of the one
shown drawn while the console waits for the next key, and a new answer's
length set without a layout pass of the whole screen. Drawing every line anew
(each asking the DOM for its style) cost about 0.5 ms a line: 20 ms a
filter keystroke or page down at 120x40, twice the directory's.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.style import Style
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.strip import Strip

from onenet_tui.visible import visible
from onenet_tui.widgets.cached_lines import CachedLines
from onenet_tui.widgets.lines import filtered
from onenet_tui.widgets.plain_table import GAP, PlainTable

# Lines kept drawn: a few pages either side of the cursor, and the rows of
# the filters typed just before (typing back finds them drawn).
_CACHED_LINES = 1024


class EventTable(CachedLines, PlainTable):
    BINDINGS = [Binding("enter", "open", show=False)]
    STYLE_PREFIX = "plain-table--"
    # The scrollbar always there, as the directory's: one coming and going
    # with the rows of each keystroke laid out the screen again.
    DEFAULT_CSS = """
    EventTable { overflow-y: scroll; }
    """

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
        self._start_caches(_CACHED_LINES)
        self._width = self._height = 0
        self._measured: tuple[object, ...] = ()

    # -- widths ------------------------------------------------------------

    def set_widths(self, widths: Sequence[int]) -> None:
        """Each column's width in cells; longer cells are cut with "…"."""
        if list(widths) != self.fixed:
            self.fixed = list(widths)
            self._lines.clear()
        self._measure()

    def set_titles(self, titles: Sequence[str]) -> None:
        self._lines.clear()
        super().set_titles(titles)

    def _measure(self) -> None:
        if not self.fixed:
            super()._measure()
            return
        self.widths = list(self.fixed)
        self._resize_to_rows()

    def _resize_to_rows(self) -> None:
        """The virtual size for the rows held, without the layout pass of the
        whole screen that setting ``virtual_size`` starts (UserTable.update_size)."""
        total = sum(self.widths) + len(GAP) * (len(self.widths) + 1)
        size = Size(total, len(self.rows) + 1)  # + the header line
        if size != self.virtual_size:
            self.set_reactive(EventTable.virtual_size, size)
            self._scroll_update(size)
        self.refresh()

    # -- rows --------------------------------------------------------------

    def show(self, rows: Sequence[Sequence[object]], ids: Sequence[int], *, keep: int | None = None) -> None:
        """Every row anew; the cursor on event ``keep`` if it is among them, else on top.
        An event's cells do not change (the language does: :meth:`clear` first),
        so lines drawn for an event before are drawn still."""
        self.rows = [tuple(visible(cell) for cell in row) for row in rows]
        self.ids = list(ids)
        self._measure()
        if keep is not None and keep in self.ids:
            self.move_cursor(self.ids.index(keep))
        else:
            self.cursor = 0
            self.scroll_to(0, 0, animate=False, immediate=True)
            self._draw_ahead_later()

    def append(self, rows: Sequence[Sequence[object]], ids: Sequence[int]) -> None:
        """Older events below the ones shown; the cursor stays."""
        self.rows += [tuple(visible(cell) for cell in row) for row in rows]
        self.ids += list(ids)
        self._measure()

    def clear(self) -> None:
        super().clear()
        self.ids = []
        self._lines.clear()

    @property
    def cursor_id(self) -> int | None:
        return self.ids[self.cursor] if self.ids and self.cursor < len(self.ids) else None

    # -- the cursor --------------------------------------------------------

    def _page(self) -> int:
        # From the height measured once per resize: the region walks the styles.
        return max(1, (self._height or self.scrollable_content_region.height) - 1)

    def move_cursor(self, position: int) -> None:
        if self.rows:
            super().move_cursor(position)
            self.post_message(self.CursorMoved(self.cursor, len(self.rows)))

    def _scrolled(self) -> None:
        super()._scrolled()
        self._draw_ahead_later()

    def action_open(self) -> None:
        if self.cursor_id is not None:
            self.post_message(self.Opened(self.cursor_id))

    # -- painting ----------------------------------------------------------

    def render_lines(self, crop: Region) -> list[Strip]:
        measured = (self.outer_size, self.show_vertical_scrollbar)
        if measured != self._measured:
            self._measured = measured
            region = self.scrollable_content_region
            self._width, self._height = region.width, region.height
        return super().render_lines(crop)

    def on_resize(self) -> None:
        self._lines.clear()

    def _line_style(self, name: str) -> Style:
        """A line's style: the widget's, with component ``name``'s on top."""
        key = f"line:{name}"
        style = self._style_cache.get(key)
        if style is None:
            style = self._style_cache[key] = self._style("") + self._style(name) if name else self._style("")
        return style

    def render_line(self, y: int) -> Strip:
        width = self._width or self.scrollable_content_region.width
        scroll_x = int(self.scroll_offset.x)
        if y == 0:
            return self._cached(("header", width, scroll_x), lambda: self._draw(self.titles, "header", width, scroll_x))
        index = int(self.scroll_offset.y) + y - 1
        if index >= len(self.rows):
            return self._cached(("blank", width), lambda: Strip.blank(width, self._line_style("")))
        return self._row_line(index, width, scroll_x)

    def _row_line(self, index: int, width: int, scroll_x: int) -> Strip:
        cursor = index == self.cursor
        key = (self.ids[index] if index < len(self.ids) else -index, cursor, width, scroll_x)
        return self._cached(key, lambda: self._draw(self.rows[index], "cursor" if cursor else "", width, scroll_x))

    def _draw(self, cells: Sequence[str], style_name: str, width: int, scroll_x: int) -> Strip:
        style = self._line_style(style_name)
        return self._line(cells, style, style).crop_extend(scroll_x, scroll_x + width, style)

    def _draw_ahead(self) -> None:
        """The page above and the page below the one on screen, and the
        cursor's line a page on, drawn while the console waits for a key."""
        width, top, page = self._width, int(self.scroll_offset.y), self._page()
        if not width or not self.is_mounted:
            return
        scroll_x = int(self.scroll_offset.x)
        strips = []
        for index in [*range(top + page, top + 2 * page), *range(max(0, top - page), top)]:
            if index < len(self.rows):
                strips.append(self._row_line(index, width, scroll_x))
        below = self.cursor + page
        if below < len(self.rows):
            saved, self.cursor = self.cursor, below
            strips.append(self._row_line(below, width, scroll_x))
            self.cursor = saved
        # The app's colour filters keep their result on each strip: applied now, not at the next paint.
        filtered(self, strips)
