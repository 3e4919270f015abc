"""The directory's footer: the keys of the current screen on one line,
drawn from the key registry (:mod:`onenet_tui.keys`) in its order and words."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.binding import ActiveBinding

from onenet_tui.i18n import t
from onenet_tui.keys import FOOTER_LAST, FOOTER_ORDER, words
from onenet_tui.widgets.lines import TextLines


class KeyFooter(TextLines):
    """The keys of the current screen on one line, dimmed where the screen's
    ``check_action`` says None, in the registry's footer order (most used
    first) as far as they fit, then ``?`` for the rest; keys the screen's
    ``footer_hidden()`` names (those the operator's role can never use) are
    left out, so others take their place (help still lists them). Textual's Footer mounts a widget per key and
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
        hidden: frozenset[str] = getattr(self.screen, "footer_hidden", frozenset)()
        shown = [
            active
            for active in self.screen.active_bindings.values()
            if active.binding.show and active.binding.id not in hidden
        ]
        # The key table's footer order, whichever widget or screen holds the binding.
        shown.sort(key=lambda active: FOOTER_ORDER.get(active.binding.id or "", len(FOOTER_ORDER)))
        last = [active for active in shown if active.binding.id == FOOTER_LAST]
        others = [active for active in shown if active.binding.id != FOOTER_LAST]
        entries = [self._entry(active, key_style, description_style, disabled) for active in others]
        line = Text(no_wrap=True, overflow="ellipsis", end="")
        if not last:
            for entry in entries:
                line.append_text(entry)
            line.rstrip()
            line.truncate(width, overflow="ellipsis")
            return [line]
        # Whole entries only, as many as fit before "?", which says "More"
        # when some were left out.
        help_entry = self._entry(last[0], key_style, description_style, disabled)
        room = width - help_entry.cell_len + 1  # its trailing space may go
        fitting: list[Text] = []
        for entry in entries:
            if sum(e.cell_len for e in fitting) + entry.cell_len > room:
                help_entry = self._entry(last[0], key_style, description_style, disabled, t("directory_terms.key.more"))
                break
            fitting.append(entry)
        while fitting and sum(e.cell_len for e in fitting) + help_entry.cell_len > width + 1:
            fitting.pop()
        for entry in [*fitting, help_entry]:
            line.append_text(entry)
        line.rstrip()
        line.truncate(width, overflow="ellipsis")
        return [line]

    def _entry(
        self, active: ActiveBinding, key_style: Style, description_style: Style, disabled: Style, words_shown: str = ""
    ) -> Text:
        binding = active.binding
        dim = Style() if active.enabled else disabled
        entry = Text(end="")
        entry.append(self.app.get_key_display(binding), key_style + dim)
        entry.append(f" {words_shown or words(binding.description)} ", description_style + dim)
        return entry
