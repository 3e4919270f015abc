"""Lines handed to the screen as drawn, for the widgets that change on every
keystroke of the directory.

Textual passes each line a widget renders through a generic styling step
(borders, padding, tint, opacity, hatching). At 120x40 that step cost more
than drawing the directory's lines themselves, and the stock scrollbar spent
about 3 ms a frame on it to draw one column (benchmark). Widgets built on
:class:`DirectLines` draw none of those effects, so their lines skip the step
and only go through the app's line filters (the colour reduction for ANSI
themes and ``NO_COLOR``); padding at the sides is added here. Should the
stylesheet ever give such a widget a border or padding above or below,
Textual's own path is taken again.
"""

from __future__ import annotations

from rich.cells import cell_len, set_cell_size
from rich.color import Color
from rich.segment import Segment
from rich.text import Text
from textual.geometry import Region
from textual.scrollbar import ScrollBar, ScrollBarRender
from textual.strip import Strip
from textual.widget import Widget

from onenet_tui.terminal import current, glyph, glyphs


def fit(text: str, width: int, right: bool = False) -> str:
    """``text`` in exactly ``width`` cells: cut with an ellipsis, or padded."""
    length = cell_len(text)
    if length > width:
        return set_cell_size(text, width - 1) + glyph("…") if width > 1 else set_cell_size(text, width)
    padding = " " * (width - length)
    return padding + text if right else text + padding


def _plain(widget: Widget) -> bool:
    """Whether the widget's styles add nothing to the lines it draws but
    padding at the sides (which :class:`DirectLines` adds)."""
    styles = widget.styles
    gutter = styles.gutter
    return not (
        gutter.top
        or gutter.bottom
        or gutter != styles.padding  # a border
        or styles.tint.a
        or styles.text_opacity != 1
        or widget.opacity != 1
        or (styles.has_rule("hatch") and styles.hatch != "none")
    )


def filtered(widget: Widget, strips: list[Strip]) -> list[Strip]:
    """``strips`` through the app's line filters (each strip keeps its result)."""
    filters = widget.get_line_filters()
    if filters:
        background = widget.background_colors[1]
        for line_filter in filters:
            strips = [strip.apply_filter(line_filter, background) for strip in strips]
    return strips


def paint(widget: Widget, crop: Region, strips: list[Strip]) -> list[Strip]:
    """``strips`` (the lines of ``crop``, full width) filtered and cut to ``crop``."""
    strips = filtered(widget, strips)
    x1, x2 = crop.column_span
    if x1 or any(strip.cell_length > x2 for strip in strips):
        strips = [strip.crop(x1, x2) for strip in strips]
    return strips


class DirectLines(Widget):
    """A widget whose ``render_line`` draws complete, styled lines."""

    def render_lines(self, crop: Region) -> list[Strip]:
        if not _plain(self):
            return super().render_lines(crop)
        strips = self.draw_lines(crop)
        padding = self.styles.padding
        if padding.left or padding.right:
            style, outer = self.rich_style, self.size.width + padding.width
            left = Strip.blank(padding.left, style)
            strips = [Strip.join([left, strip]).extend_cell_length(outer, style) for strip in strips]
        return paint(self, crop, strips)

    def draw_lines(self, crop: Region) -> list[Strip]:
        return [self.render_line(y) for y in crop.line_range]


class TextLines(DirectLines):
    """A widget of a few lines of Rich text, one :class:`Text` per line,
    each already cut to the width (:meth:`text_lines`)."""

    def text_lines(self, width: int) -> list[Text]:
        raise NotImplementedError

    def _lines(self, width: int) -> list[Text]:
        lines = self.text_lines(width)
        if current().ascii:
            # Separators, arrows and ellipses come from the words too ("alice · Administrator").
            for line in lines:
                line.plain = glyphs(line.plain)
        return lines

    def render(self) -> Text:
        # Textual's own path (a stylesheet with padding, say) and plain-text views.
        return Text("\n").join(self._lines(self.size.width or 80))

    def draw_lines(self, crop: Region) -> list[Strip]:
        width = self.size.width
        base = self.rich_style
        console = self.app.console
        lines = self._lines(width)
        blank = Strip.blank(width, base)
        return [
            Strip(Segment.apply_style(lines[y].render(console, end=""), base)).adjust_cell_length(width, base)
            if y < len(lines)
            else blank
            for y in crop.line_range
        ]


class LineScrollBar(ScrollBar):
    """Textual's vertical scrollbar, same glyphs and mouse actions, with its
    cells handed to the screen directly (one strip per distinct cell)."""

    def __init__(self, *, thickness: int) -> None:
        super().__init__(vertical=True, name="vertical", thickness=thickness)
        self._cells: dict[Segment, Strip] = {}

    def render_lines(self, crop: Region) -> list[Strip]:
        bar = self.render()
        if not isinstance(bar, ScrollBarRender) or not _plain(self):
            return super().render_lines(crop)
        style = bar.style
        assert not isinstance(style, str)  # ScrollBar.render passes a Style
        width, height = self.size
        cells = type(bar).render_bar(
            size=height,
            virtual_size=bar.virtual_size,
            window_size=bar.window_size,
            position=bar.position,
            thickness=width,
            vertical=True,
            back_color=style.bgcolor or Color.parse("#555555"),
            bar_color=style.color or Color.parse("bright_magenta"),
        )
        strips = []
        for y in crop.line_range:
            segment = cells.segments[y] if y < len(cells.segments) else Segment(" " * width)
            strip = self._cells.get(segment)
            if strip is None:
                if len(self._cells) > 64:  # colours changed (hover, theme): start afresh
                    self._cells.clear()
                strip = self._cells[segment] = Strip([segment], width)
            strips.append(strip)
        return paint(self, crop, strips)
