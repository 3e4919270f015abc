"""Help: every key of the console, generated from the key table with the
operator's own remapping, and where to change them."""

from __future__ import annotations

from pathlib import Path

from rich.cells import cell_len
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Label, Static

from onenet_tui import keys
from onenet_tui.i18n import t
from onenet_tui.screens.relabel import RelabelledModal
from onenet_tui.terminal import glyphs


class HelpScreen(RelabelledModal[None]):
    BINDINGS = [keys.binding("help.close")]

    def __init__(self, keymap: dict[str, str], config_file: Path | None) -> None:
        super().__init__(id="help")
        self.keymap = keymap
        self.config_file = config_file

    def key_lines(self) -> list[tuple[str, str]]:
        """(keys, description) for every action, navigation keys first."""
        lines = [(t("directory.help.navigation_keys"), t("directory.help.navigation"))]
        for spec in keys.specs(keys.Scope.DIRECTORY, keys.Scope.APP):
            shown = " ".join(
                self.app.get_key_display(Binding(key, "")) for key in keys.effective_keys(spec, self.keymap)
            )
            lines.append((shown, spec.description))
        # Key names are arrows ("↑ ↓"): ASCII ones on a terminal without UTF-8.
        return [(glyphs(shown), glyphs(description)) for shown, description in lines]

    def compose(self) -> ComposeResult:
        lines = self.key_lines()
        width = max(cell_len(k) for k, _ in lines) + 2
        where = str(self.config_file) if self.config_file else t("directory.help.no_config")
        with Vertical(id="help-dialog"):
            yield Label(t("directory.help.title"), id="help-title")
            with VerticalScroll(id="help-keys"):
                for shown, description in lines:
                    # Plain text: key names such as "[" must never be read as markup.
                    key = Label(Content(shown), classes="help-key")
                    key.styles.width = width  # as wide as the longest key list
                    with Horizontal(classes="help-row"):
                        yield key
                        yield Label(Content(description), classes="help-description")
            yield Static(Content(t("directory.help.config", path=where)), id="help-config")
            yield Label(t("directory.help.close"), id="help-close")
