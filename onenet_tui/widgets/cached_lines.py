"""Lines drawn once and kept, for the virtual tables redrawn on every key
(the directory's and the audit log's): styles looked up once per focus or
theme change (each lookup walks the DOM), drawn lines cached by what they
show until then, a scrollbar that draws directly, and the pages around the
one on screen drawn after a frame, while the console waits for a key."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

from rich.style import Style
from textual.cache import LRUCache
from textual.scrollbar import ScrollBar
from textual.strip import Strip
from textual.widget import Widget

from onenet_tui.widgets.lines import LineScrollBar

# A mixin, not a Widget: Textual inherits CSS, component classes and type
# names along the first DOM base alone, which would be this one.
if TYPE_CHECKING:
    _Base = Widget
else:
    _Base = object


class CachedLines(_Base):
    """Mixed in before the table's widget base: ``_lines`` and
    ``_style_cache`` are set by :meth:`_start_caches`; :meth:`_draw_ahead`
    is the table's."""

    # The component classes' prefix, e.g. "user-table--".
    STYLE_PREFIX: ClassVar[str] = ""

    _lines: LRUCache[tuple[object, ...], Strip]
    _style_cache: dict[str, Style]
    _drawing_ahead: bool

    def _start_caches(self, lines: int = 1024) -> None:
        self._lines = LRUCache(lines)
        self._style_cache = {}
        self._drawing_ahead = False

    @property
    def vertical_scrollbar(self) -> ScrollBar:
        # Widget.vertical_scrollbar, with the scrollbar that draws directly:
        # it is redrawn on every page. (Textual offers no hook for the class.)
        if self._vertical_scrollbar is None:
            bar = self._vertical_scrollbar = LineScrollBar(thickness=self.scrollbar_size_vertical)
            bar.display = False
            self.app._start_widget(self, bar)
        return self._vertical_scrollbar

    def on_focus(self) -> None:
        self._restyle()

    def on_blur(self) -> None:
        self._restyle()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._restyle()

    def _restyle(self) -> None:
        self._style_cache.clear()
        self._lines.clear()
        self.refresh()

    def _style(self, name: str) -> Style:
        """The widget's own style (``name`` empty), or a component's alone
        (partial: only what it sets, to layer on what is below); cached."""
        style = self._style_cache.get(name)
        if style is None:
            base = self._style_cache.get("")
            if base is None:
                base = self._style_cache[""] = self.rich_style
            style = base if not name else self.get_component_rich_style(f"{self.STYLE_PREFIX}{name}", partial=True)
            self._style_cache[name] = style
        return style

    def _cached(self, key: tuple[object, ...], draw: Callable[[], Strip]) -> Strip:
        strip = self._lines.get(key)
        if strip is None:
            strip = self._lines[key] = draw()
        return strip

    def _draw_ahead_later(self) -> None:
        if not self._drawing_ahead:
            self._drawing_ahead = True
            self.call_after_refresh(self._drawn_ahead)

    def _drawn_ahead(self) -> None:
        self._drawing_ahead = False
        self._draw_ahead()

    def _draw_ahead(self) -> None:
        raise NotImplementedError
