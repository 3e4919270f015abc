"""Key ``c`` with a filter set and no user marked: for whom?

The user under the cursor (R9, shown once) and everyone the filter shows
(R10, bulk with a CSV export) are both meant often, and guessing wrong resets
passwords nobody asked for. So the console asks, with Cancel focused: Enter
alone resets nobody. The dialog dismisses with ``"cursor"``, ``"filter"`` or
None (cancelled).
"""

from __future__ import annotations

from typing import ClassVar, Literal

from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from onenet_tui import keys
from onenet_tui.i18n import t
from onenet_tui.screens.lifecycle_base import CSS_FILE
from onenet_tui.widgets.field import literal
from onenet_tui.widgets.footer import TranslatedFooter

Scope = Literal["cursor", "filter"]


class CredentialsScopeScreen(ModalScreen[Scope | None]):
    CSS_PATH = CSS_FILE
    BINDINGS: ClassVar[list[BindingType]] = [
        keys.binding("lifecycle.cancel", "cancel"),
    ]

    def __init__(self, cursor_name: str, shown: int, cursor_refusal: str | None = None) -> None:
        super().__init__()
        self.cursor_name = cursor_name
        self.shown = shown
        # Why the cursor user cannot get new credentials alone (R9: no desk
        # phone, R14), if so: said in words, and "This user" is not offered.
        self.cursor_refusal = cursor_refusal

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="lifecycle-dialog -confirm"):
            yield Label(t("credentials_scope.title"), classes="lifecycle-title")
            yield Static(
                literal(t("credentials_scope.question", count=self.shown, name=self.cursor_name)),
                id="question",
                classes="lifecycle-question",
            )
            if self.cursor_refusal is not None:
                yield Static(
                    literal(t("credentials_scope.cursor_refused", name=self.cursor_name, reason=self.cursor_refusal)),
                    id="cursor-refusal",
                    classes="lifecycle-refusal--reason",
                )
            with Horizontal(classes="lifecycle-buttons"):
                yield Button(t("lifecycle.button.cancel"), id="cancel")
                if self.cursor_refusal is None:
                    yield Button(t("credentials_scope.button.cursor"), id="scope-cursor")
                yield Button(t("credentials_scope.button.filter", count=self.shown), id="scope-filter")
        yield TranslatedFooter(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#cancel")
    def _cancel(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(None)

    @on(Button.Pressed, "#scope-cursor")
    def _cursor(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss("cursor")

    @on(Button.Pressed, "#scope-filter")
    def _filter(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss("filter")
