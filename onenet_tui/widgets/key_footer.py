"""The directory's footer: the keys of the current screen on one line,
drawn from the key registry (:mod:`onenet_tui.keys`) in its order and words."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text

from onenet_tui.keys import FOOTER_ORDER, words
from onenet_tui.widgets.lines import TextLines


class KeyFooter(TextLines):
    """The keys of the current screen on one line, dimmed where the screen's
    ``check_action`` says None. Textual's Footer mounts a widget per key and
    rebuilds them all whenever a key is dimmed or lit again (on cursor moves
    between users of different status); this one only repaints, its line
    going to the screen as drawn (``widgets.lines``)."""

    DEFAULT_CSS = """
    KeyFooter {
        dock: bottom;
        height: 1;
    }
    """

    COMPONENT_CLASSES = {"key-footer--key", "key-footer--description", "key-footer--disabled"}

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: object) -> None:
        self.refresh()

    def text_lines(self, width: int) -> list[Text]:
        key_style = self.get_component_rich_style("key-footer--key", partial=True)
        description_style = self.get_component_rich_style("key-footer--description", partial=True)
        disabled = self.get_component_rich_style("key-footer--disabled", partial=True)
        shown = [active for active in self.screen.active_bindings.values() if active.binding.show]
        # The key table's order, whichever widget or screen holds the binding:
        # the keys that can be dimmed first, so they stay visible in 80 columns.
        shown.sort(key=lambda active: FOOTER_ORDER.get(active.binding.id or "", len(FOOTER_ORDER)))
        line = Text(no_wrap=True, overflow="ellipsis", end="")
        for active in shown:
            binding = active.binding
            dim = Style() if active.enabled else disabled
            line.append(self.app.get_key_display(binding), key_style + dim)
            line.append(f" {words(binding.description)} ", description_style + dim)
        line.rstrip()
        line.truncate(width, overflow="ellipsis")
        return [line]
