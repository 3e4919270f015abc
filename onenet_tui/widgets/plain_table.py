"""A read-only table (the bulk credentials screens, and any list of plain rows):
a virtual list that paints only the lines on screen (Line API), under a fixed header line.

Textual's DataTable measures every cell when rows are added: 10,000 rows of
new passwords took seconds to appear. Here the rows are plain strings kept
in a list, the column widths come from one pass over them, and each visible
line is built when it is painted. Cells are data, so they are shown literally
(control characters replaced before they get here, never parsed as markup).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.strip import Strip

from onenet_tui.visible import visible
from onenet_tui.widgets.lines import fit
from onenet_tui.widgets.row_cursor import RowCursor

# One space before each column and one after the last: 80 columns hold
# user, extension, SIP username, a 20-character password and a SIP domain.
GAP = " "
# A column never grows past this; the rest of a longer cell is cut with "…".
MAX_COLUMN = 60


class PlainTable(RowCursor):
    """Rows of text with a row cursor; ``up``/``down``/``page``/``home``/``end``
    move it, ``left``/``right`` scroll a table wider than the screen."""

    DEFAULT_CSS = """
    PlainTable {
        width: 1fr;
        height: 1fr;
        overflow-x: auto;
        overflow-y: auto;
        scrollbar-size-vertical: 1;
        scrollbar-size-horizontal: 1;
    }
    PlainTable > .plain-table--header {
        text-style: bold;
        background: $panel;
    }
    PlainTable > .plain-table--cursor {
        background: $block-cursor-blurred-background;
        color: $block-cursor-blurred-foreground;
    }
    PlainTable:focus > .plain-table--cursor {
        background: $block-cursor-background;
        color: $block-cursor-foreground;
        text-style: $block-cursor-text-style;
    }
    PlainTable > .plain-table--emphasis {
        text-style: italic;
        color: $text-warning;
    }
    PlainTable > .plain-table--strong {
        text-style: bold;
    }
    """

    COMPONENT_CLASSES = {
        "plain-table--header",
        "plain-table--cursor",
        "plain-table--emphasis",
        "plain-table--strong",
    }

    BINDINGS = [
        Binding("left", "scroll_left", show=False),
        Binding("right", "scroll_right", show=False),
    ]

    def __init__(
        self,
        titles: Sequence[str],
        *,
        strong: Iterable[int] = (),
        limits: Sequence[int] = (),
        id: str | None = None,
    ) -> None:
        """``strong``: indexes of columns drawn in bold (the passwords);
        ``limits``: the widest each column may get, by index (else MAX_COLUMN)."""
        super().__init__(id=id)
        self.titles = [visible(title) for title in titles]
        self.strong = frozenset(strong)
        self.limits = list(limits)
        self.rows: list[tuple[str, ...]] = []
        self.emphasised: set[int] = set()
        self.cursor = 0
        self.widths = [cell_len(title) for title in self.titles]

    # -- data --------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        return len(self.rows)

    def set_titles(self, titles: Sequence[str]) -> None:
        self.titles = [visible(title) for title in titles]
        self._measure()

    def set_rows(self, rows: Iterable[Sequence[object]], *, emphasised: Iterable[int] = ()) -> None:
        """Replace every row; ``emphasised`` rows (by index) stand out (skipped users)."""
        self.rows = [tuple(visible(cell) for cell in row) for row in rows]
        self.emphasised = set(emphasised)
        self.cursor = 0
        self._measure()
        self.scroll_to(0, 0, animate=False, immediate=True)

    def clear(self) -> None:
        """Forget every row (for secrets: nothing is kept to paint again)."""
        self.rows = []
        self.emphasised = set()
        self.cursor = 0
        self._measure()

    def _measure(self) -> None:
        widths = [cell_len(title) for title in self.titles]
        for row in self.rows:
            for index, cell in enumerate(row):
                length = len(cell) if cell.isascii() else cell_len(cell)
                if length > widths[index]:
                    widths[index] = length
        limits = self.limits + [MAX_COLUMN] * (len(widths) - len(self.limits))
        self.widths = [min(width, limit) for width, limit in zip(widths, limits, strict=True)]
        total = sum(self.widths) + len(GAP) * (len(self.widths) + 1)
        self.virtual_size = Size(total, len(self.rows) + 1)  # + the header line
        self.refresh()

    # -- the cursor ----------------------------------------------------------------

    def move_cursor(self, position: int) -> None:
        if not self.rows:
            return
        previous = self.cursor
        self.cursor = max(0, min(position, len(self.rows) - 1))
        top, page = int(self.scroll_offset.y), self._page()
        if self.cursor < top:
            top = self.cursor
        elif self.cursor >= top + page:
            top = self.cursor - page + 1
        if top != self.scroll_offset.y:
            self.scroll_to(y=top, animate=False, immediate=True)
            self._scrolled()
        else:
            # A step repaints the two lines it changes, not the table.
            self.refresh(*(Region(0, row - top + 1, self.size.width, 1) for row in {previous, self.cursor}))

    def _scrolled(self) -> None:
        """The cursor took the table to other lines: all of them are painted."""
        self.refresh()

    # -- painting ------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.rich_style
        scroll_x = int(self.scroll_offset.x)
        if y == 0:
            style = base + self.get_component_rich_style("plain-table--header", partial=True)
            return self._line(self.titles, style, style).crop_extend(scroll_x, scroll_x + width, style)
        index = int(self.scroll_offset.y) + y - 1
        if index >= len(self.rows):
            return Strip.blank(width, base)
        style = base
        if index in self.emphasised:
            style += self.get_component_rich_style("plain-table--emphasis", partial=True)
        if index == self.cursor:
            style += self.get_component_rich_style("plain-table--cursor", partial=True)
        strong = style + self.get_component_rich_style("plain-table--strong", partial=True)
        return self._line(self.rows[index], style, strong).crop_extend(scroll_x, scroll_x + width, style)

    def _line(self, cells: Sequence[str], style: Style, strong: Style) -> Strip:
        segments = []
        for index, (cell, width) in enumerate(zip(cells, self.widths, strict=False)):
            segments.append(Segment(GAP, style))
            segments.append(Segment(fit(cell, width), strong if index in self.strong else style))
        segments.append(Segment(GAP, style))
        return Strip(segments)
