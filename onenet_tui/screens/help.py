"""Help: every key of the console, generated from the key table with the
operator's own remapping, and where to change them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from rich.cells import cell_len
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Label, Static

from onenet_tui import keys
from onenet_tui.data.directory import terms
from onenet_tui.i18n import t
from onenet_tui.screens.relabel import RelabelledModal
from onenet_tui.terminal import glyphs


def _readable(aliases: tuple[str, ...]) -> list[str]:
    """The names a term is written with, as help shows them: "gerät", not
    the folded "gerat" (and not its "geraet" spelling twice)."""
    spelled = {"gerat": "gerät", "geraet": ""}
    return [name for name in (spelled.get(alias, alias) for alias in aliases) if name]


class HelpScreen(RelabelledModal[None]):
    BINDINGS = [keys.binding("help.close")]

    def __init__(
        self,
        keymap: dict[str, str],
        config_file: Path | None,
        screen_keys: Sequence[keys.KeyAction] = (),
        refused: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(id="help")
        self.keymap = keymap
        self.config_file = config_file
        # The keys of the screen help was opened over, when it is not the directory.
        self.screen_keys = list(screen_keys)
        # Keys the operator's role can never use, by id, with the refusal: not
        # in the directory's footer, so listed here with the reason.
        self.refused = dict(refused or {})

    def _shown_keys(self, spec: keys.KeyAction) -> str:
        return " ".join(self.app.get_key_display(Binding(key, "")) for key in keys.effective_keys(spec, self.keymap))

    def screen_lines(self) -> list[tuple[str, str]]:
        """(keys, description) for the keys of the screen underneath."""
        return [(glyphs(self._shown_keys(spec)), glyphs(spec.description)) for spec in self.screen_keys]

    def key_lines(self) -> list[tuple[str, str]]:
        """(keys, description) for every action, navigation keys first."""
        lines = [(t("directory.help.navigation_keys"), t("directory.help.navigation"))]
        for spec in keys.specs(keys.Scope.DIRECTORY, keys.Scope.APP):
            description = spec.description
            if spec.id in self.refused:
                description = t("directory_terms.help.refused", description=description, reason=self.refused[spec.id])
            lines.append((self._shown_keys(spec), description))
        # Key names are arrows ("↑ ↓"): ASCII ones on a terminal without UTF-8.
        return [(glyphs(shown), glyphs(description)) for shown, description in lines]

    def term_lines(self) -> list[tuple[str, str]]:
        """(names, description) for the filter's terms (``data.directory.terms``)."""
        lines = [("", t("directory_terms.help.free"))]
        for field, aliases in terms.names():
            lines.append(
                (" ".join(f"{alias}:" for alias in _readable(aliases)), t(f"directory_terms.help.{field.value}"))
            )
        lines.append(("", t("directory_terms.help.values")))
        return [(glyphs(shown), glyphs(description)) for shown, description in lines]

    def compose(self) -> ComposeResult:
        own, lines, term_lines = self.screen_lines(), self.key_lines(), self.term_lines()
        width = max(cell_len(k) for k, _ in own + lines) + 2
        where = str(self.config_file) if self.config_file else t("directory.help.no_config")
        sections = [(t("keys.help.this_screen"), own), (t("keys.help.everywhere"), lines)] if own else [("", lines)]
        with Vertical(id="help-dialog"):
            yield Label(t("directory.help.title"), id="help-title")
            with VerticalScroll(id="help-keys"):
                for heading, rows in sections:
                    if heading:
                        yield Label(Content(heading), classes="help-heading")
                    yield from self._rows(rows, width)
                yield Label(Content(t("directory_terms.help.heading")), classes="help-heading")
                yield from self._rows(term_lines, width)
            yield Static(Content(t("directory.help.config", path=where)), id="help-config")
            yield Label(t("directory.help.close"), id="help-close")

    def _rows(self, rows: list[tuple[str, str]], width: int) -> ComposeResult:
        for shown, description in rows:
            # Plain text: key names such as "[" must never be read as markup.
            key = Label(Content(shown), classes="help-key")
            key.styles.width = width  # as wide as the longest key list
            with Horizontal(classes="help-row"):
                yield key
                yield Label(Content(description), classes="help-description")
