"""The user table: a virtual list that paints only the lines on screen.

It is a ``ScrollView`` with the Line API (``render_line``), the way
Textualize's toolong shows gigabyte logs: the virtual height is the number of
users, each visible line asks the :class:`Directory` for its row on demand,
and rendered lines are cached by (row, cursor, marked). Nothing is created
per user, so 100,000 users cost what 40 do.

Lines go to the screen as drawn (:mod:`onenet_tui.widgets.lines`), and after
a page is shown the pages either side of it are drawn while the console
waits for the next key, so paging shows lines that are already drawn.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region, Size
from textual.message import Message
from textual.strip import Strip

from onenet_tui.data.directory import (
    Directory,
    DirectoryData,
    DirectoryRow,
    SortColumn,
    device_label,
    licence_label,
)
from onenet_tui.data.phones import national_number
from onenet_tui.i18n import language, t
from onenet_tui.terminal import glyph
from onenet_tui.widgets.badges import SYMBOLS, badge, badge_width
from onenet_tui.widgets.cached_lines import CachedLines
from onenet_tui.widgets.lines import filtered, fit
from onenet_tui.widgets.row_cursor import RowCursor

MARK = "▌"
# Before the name of a user whose latest credentials never reached anybody:
# legible without colour, and the detail screen says what to do.
UNHANDED = "⚠ "
# Before the name of a user whose portal account is locked (``locked:yes``
# finds them, ``k`` resets it): two cells, so the name keeps its room.
LOCKED = "⊘"
SORT_ARROWS = {False: "▲", True: "▼"}
GAP = " "


@dataclass(frozen=True)
class ColumnSpec:
    key: str
    preferred: int  # cells; the name column takes what is left
    minimum: int
    drop_rank: int | None = None  # narrow terminals drop low ranks first; None: never
    right: bool = False
    # Shown only while the name keeps this many cells (username, email: wide terminals only).
    name_needs: int = 0
    # Narrower than preferred when the data's longest value is (site, device, licence).
    fits_content: bool = False

    @property
    def title(self) -> str:
        if self.key == "mark":
            return ""
        area = "directory_terms" if self.key in ("username", "email") else "directory"
        return t(f"{area}.column.{self.key}")


NAME_MAX = 48
# The columns a sort can name (SortColumn values); the others (mark, username, email) it cannot.
SORTABLE = frozenset(column.value for column in SortColumn)


def column_specs() -> tuple[ColumnSpec, ...]:
    """The columns, widths measured in the current language. Narrow terminals
    drop the email first, then the username, licence, device, site, number."""
    return (
        ColumnSpec("mark", 1, 1),
        # One cell more than the widest badge: the name must not stick to it.
        ColumnSpec("status", max(badge_width() + 1, cell_len(t("directory.column.status"))), 1),
        ColumnSpec("name", 0, 14),
        ColumnSpec("username", 16, 16, drop_rank=1, name_needs=18),
        ColumnSpec("extension", max(6, cell_len(t("directory.column.extension"))), 4, right=True),
        ColumnSpec("number", 13, 13, drop_rank=5),
        ColumnSpec("site", 12, 8, drop_rank=4, fits_content=True),
        ColumnSpec("device", 17, 10, drop_rank=3, fits_content=True),
        ColumnSpec("licence", 17, 10, drop_rank=2, fits_content=True),
        ColumnSpec("email", 26, 26, drop_rank=0, name_needs=24),
    )


def layout(
    width: int, specs: tuple[ColumnSpec, ...], content: dict[str, int] | None = None
) -> list[tuple[ColumnSpec, int]]:
    """Widths for ``width`` cells: columns that fit their content (``content``:
    the longest value's cells by column key) are no wider than it and their
    title; drop columns by rank until the name column gets its minimum (and
    what the shown columns need it to keep), then give it the rest (up to a
    comfortable maximum)."""
    content = content or {}

    def cells(c: ColumnSpec) -> int:
        if not c.fits_content or c.key not in content:
            return c.preferred
        return max(c.minimum, cell_len(c.title), min(c.preferred, content[c.key]))

    columns = list(specs)

    def fixed(cols: list[ColumnSpec]) -> int:
        return sum(cells(c) for c in cols if c.key != "name") + len(GAP) * (len(cols) - 1)

    name = next(c for c in columns if c.key == "name")
    while fixed(columns) + max(name.minimum, *(c.name_needs for c in columns)) > width:
        droppable = [c for c in columns if c.drop_rank is not None]
        if not droppable:
            break
        columns.remove(min(droppable, key=lambda c: c.drop_rank or 0))
    name_width = min(max(width - fixed(columns), name.minimum), NAME_MAX)
    return [(c, name_width if c is name else cells(c)) for c in columns]


def _content_widths(data: DirectoryData) -> dict[str, int]:
    if not len(data):
        return {}
    # The sites and devices the loader found; a pass over the rows only without them (test data).
    facets = data.facet_values
    sites = {f[0] for f in facets} if facets else set(data.sites)
    devices = {f[1] for f in facets} if facets else set(data.devices)
    return {
        "site": max(map(cell_len, sites)),
        "device": max(cell_len(device_label(d)) for d in devices),
        "licence": max(cell_len(licence_label(code)) for code in set(data.licences)),
    }


class UserTable(CachedLines, RowCursor):
    """Users of a :class:`Directory`, one line each, under a fixed header line."""

    STYLE_PREFIX = "user-table--"

    DEFAULT_CSS = """
    UserTable {
        width: 1fr;
        height: 1fr;
        overflow-x: hidden;
        /* Always there: a scrollbar that came and went as the filter's answer
           outgrew the screen would move the columns and re-lay out the
           screen on a keystroke. */
        overflow-y: scroll;
        scrollbar-size-vertical: 1;
    }
    """

    COMPONENT_CLASSES = {
        "user-table--header",
        "user-table--cursor",
        "user-table--cursor-blurred",
        "user-table--marked",
        "user-table--mark",
        "user-table--pending",
        "user-table--activated",
        "user-table--failed",
        "user-table--unknown",
        "user-table--empty",
    }

    class CursorMoved(Message):
        """The cursor is on another user (or on none)."""

        def __init__(self, table: UserTable, row: DirectoryRow | None) -> None:
            super().__init__()
            self.table = table
            self.row = row

        @property
        def control(self) -> UserTable:
            return self.table

    def __init__(self, directory: Directory, marks: set[int], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.directory = directory
        self.marks = marks
        self.cursor = 0
        self.empty_message = ""
        self._cursor_id: int | None = None
        self._columns: list[tuple[ColumnSpec, int]] = []
        self._columns_width: object = None
        self._specs = column_specs()
        self._content: dict[str, int] = {}
        self._content_version = 0
        self._content_of: tuple[object, ...] = ()
        self._width = self._height = 0
        self._measured: tuple[object, ...] = ()
        self._start_caches()

    # -- what other code calls

    @property
    def row_count(self) -> int:
        return len(self.directory)

    @property
    def cursor_row(self) -> DirectoryRow | None:
        return self.directory.row(self.cursor) if len(self.directory) else None

    def reload(self, *, keep: int | None = None, fallback: int = 0) -> None:
        """The directory's answer changed. With ``keep``, the cursor stays on
        that user if the answer still holds them, else it goes to line
        ``fallback`` (the top by default)."""
        position = self.directory.position_of(keep) if keep is not None else None
        target = fallback if position is None else position
        self.directory.ensure(max(target, self.scroll_offset.y) + self._page() + 1)
        self.update_size()
        self.move_cursor(target, force_scroll=target == 0)

    def update_size(self) -> None:
        """Follow the answer's length (it grows while the directory works).

        Only the scrollbar depends on it, not the table's place on screen, so
        this skips the layout pass of the whole screen that setting
        ``virtual_size`` would start (on every keystroke of the filter)."""
        height = len(self.directory) + 1  # + the header line
        before = self.virtual_size.height
        if before != height:
            self.set_reactive(UserTable.virtual_size, Size(max(self._width, 1), height))
            self._scroll_update(self.virtual_size)
            if min(before, height) <= self.scroll_offset.y + self._height:
                self.refresh()
            else:
                # The answer grew or shrank below the screen (the filter
                # finishing in steps): the lines shown stay, the scrollbar moves.
                self.vertical_scrollbar.refresh()

    def relabel(self) -> None:
        """The language changed: titles, badges and widths with it."""
        self._specs = column_specs()
        self._columns_width = None
        self._lines.clear()
        self.refresh()

    def move_cursor(self, position: int, *, force_scroll: bool = False) -> None:
        self.directory.ensure(position + 1)
        self.update_size()
        count = len(self.directory)
        position = max(0, min(position, count - 1)) if count else 0
        previous, self.cursor = self.cursor, position
        page = self._page()
        top = self.scroll_offset.y
        if force_scroll and position == 0:
            top = 0
        elif position < top:
            top = position
        elif position >= top + page:
            top = position - page + 1
        if top != self.scroll_offset.y:
            self.scroll_to(y=top, animate=False, immediate=True)
            self._draw_ahead_later()
            self.refresh()
        else:
            self._refresh_rows(previous, position)
        row = self.cursor_row
        row_id = row.id if row else None
        if row_id != self._cursor_id:
            self._cursor_id = row_id
            self.post_message(self.CursorMoved(self, row))

    def _refresh_rows(self, *positions: int) -> None:
        """Repaint the lines of these rows only: a cursor step changes two
        lines, and repainting the table would re-send all of it (5.9 KB a
        key at 80x24 instead of under 1 KB; over SSH that is felt)."""
        top = self.scroll_offset.y
        self.refresh(*(Region(0, position - top + 1, self.size.width, 1) for position in set(positions)))

    # -- keys

    def _page(self) -> int:
        # From the height measured once per resize: the region walks the styles.
        return max(1, self._height - 1)

    def action_page_down(self) -> None:
        page = self._page()
        self.directory.ensure(self.scroll_offset.y + 2 * page + 1)
        self.update_size()
        self.scroll_to(y=self.scroll_offset.y + page, animate=False, immediate=True)
        self.move_cursor(self.cursor + page)
        self._draw_ahead_later()

    def action_page_up(self) -> None:
        page = self._page()
        self.scroll_to(y=max(0, self.scroll_offset.y - page), animate=False, immediate=True)
        self.move_cursor(self.cursor - page)
        self._draw_ahead_later()

    def action_last(self) -> None:
        self.directory.finish()
        super().action_last()

    # -- painting

    def on_resize(self) -> None:
        self._lines.clear()
        self.update_size()
        self._measure()

    def render_lines(self, crop: Region) -> list[Strip]:
        measured = (self.outer_size, self.show_vertical_scrollbar)
        if measured != self._measured:
            self._measured = measured
            self._measure()
        return super().render_lines(crop)

    def _line_style(self, is_cursor: bool, marked: bool) -> Style:
        key = f"line:{is_cursor}:{marked}:{self.has_focus}"
        style = self._style_cache.get(key)
        if style is None:
            style = self._style("")
            if marked:
                style += self._style("marked")
            if is_cursor:
                style += self._style("cursor" if self.has_focus else "cursor-blurred")
            self._style_cache[key] = style
        return style

    def _layout(self, width: int) -> list[tuple[ColumnSpec, int]]:
        content = self._content_widths()
        if (width, self._content_version) != self._columns_width:
            self._columns = layout(width, self._specs, content)
            self._columns_width = (width, self._content_version)
        return self._columns

    def _content_widths(self) -> dict[str, int]:
        """The longest site, device and licence of the data in cells: found
        among their few distinct values, again only when the data or the
        language changed."""
        data = self.directory.data
        of = (data.sites, data.devices, data.licences, language())
        if not (self._content_of and all(a is b for a, b in zip(of, self._content_of, strict=True))):
            self._content_of = of
            self._content = _content_widths(data)
            self._content_version += 1
            self._lines.clear()
        return self._content

    def shown_columns(self, width: int | None = None) -> list[str]:
        """The keys of the columns shown at ``width`` (the table's own by default)."""
        return [spec.key for spec, _ in self._layout(self._width if width is None else width)]

    def shown_sorts(self) -> list[SortColumn]:
        """The sorts that name a column on screen, in the sort cycle's order."""
        shown = set(self.shown_columns())
        return [column for column in SortColumn if column.value in shown]

    def _measure(self) -> None:
        """The area for lines, asked once per size change, not once per line
        or frame: it walks the styles."""
        region = self.scrollable_content_region
        self._width, self._height = region.width, region.height

    def render_line(self, y: int) -> Strip:
        width = self._width
        if y == 0:
            return self._cached(
                ("header", width, self.directory.sort, self.directory.descending), lambda: self._header(width)
            )
        position = self.scroll_offset.y + y - 1
        row = self.directory.row(position)
        if row is None:
            if y == 1 and not len(self.directory):
                return self._cached(("empty", width, self.empty_message), lambda: self._empty(width))
            return self._cached(("blank", width), lambda: Strip.blank(width, self._style("")))
        return self._row_line(row, width, position == self.cursor)

    def _row_line(self, row: DirectoryRow, width: int, is_cursor: bool) -> Strip:
        marked = row.id in self.marks
        return self._cached((row, is_cursor, marked, width), lambda: self._row(row, width, is_cursor, marked))

    def _draw_ahead(self) -> None:
        """Draw the page above and the page below the one on screen, and the
        cursor line a page on, so the next page key finds them drawn."""
        width, top, page = self._width, self.scroll_offset.y, self._page()
        if not width or not self.is_mounted:
            return
        positions = [*range(top + page, top + 2 * page), *range(max(0, top - page), top)]
        strips = []
        for position in positions:
            row = self.directory.row(position)
            if row is not None:
                strips.append(self._row_line(row, width, position == self.cursor))
        below = self.directory.row(self.cursor + page)
        if below is not None:
            strips.append(self._row_line(below, width, True))
        # The app's colour filters keep their result on each strip: applied now, not at the next paint.
        filtered(self, strips)

    def _header(self, width: int) -> Strip:
        style = self._style("") + self._style("header")
        sort = self.directory.sort.value
        arrow = SORT_ARROWS[self.directory.descending]
        segments = []
        for spec, cells in self._layout(width):
            title = f"{spec.title} {glyph(arrow)}" if spec.key == sort else spec.title
            segments.append(Segment(fit(title, cells, spec.right) + GAP, style))
        return Strip(segments).adjust_cell_length(width, style)

    def _empty(self, width: int) -> Strip:
        style = self._style("") + self._style("empty")
        return Strip([Segment(fit(f"  {self.empty_message}", width), style)], width)

    def _row(self, row: DirectoryRow, width: int, is_cursor: bool, marked: bool) -> Strip:
        line = self._line_style(is_cursor, marked)
        segments: list[Segment] = []
        used = 0
        for spec, cells in self._layout(width):
            if used:
                segments.append(Segment(GAP, line))
                used += len(GAP)
            key = spec.key
            style = line
            if key == "mark":
                text = glyph(MARK) if marked else " "
                style = line + self._style("mark")
            elif key == "status":
                text = badge(row.status)
                if not is_cursor:
                    # On the cursor line the cursor colours win: legible on any theme.
                    style = line + self._style(row.status if row.status in SYMBOLS else "unknown")
            elif key == "name":
                text = UNHANDED + row.name if row.unhanded else row.name
                if row.locked:
                    # A symbol, not a colour, as the status badges: "#" without UTF-8.
                    text = f"{glyph(LOCKED)} {text}"
            elif key == "username":
                text = row.username
            elif key == "email":
                text = row.email
            elif key == "extension":
                text = row.extension
            elif key == "number":
                text = national_number(row.number, row.country)
            elif key == "site":
                text = row.site
            elif key == "device":
                text = device_label(row.device)
            else:
                text = licence_label(row.licence)
            segments.append(Segment(fit(text, cells, spec.right), style))
            used += cells
        if used > width:
            # Narrower than the narrowest layout: cut.
            return Strip(segments, used).crop(0, width)
        if used < width:
            segments.append(Segment(" " * (width - used), line))
        return Strip(segments, width)
