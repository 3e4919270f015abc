"""Portal account reset, key ``k`` (R12).

For a user whose portal account is locked or unusable. The admin confirms
that the user already tried the self-service username and password reset;
Reset stays disabled until that box is ticked. The reset unlocks the account,
clears the failed logins and issues a one-time activation code, shown once on
a small screen with Next; after Next the code is gone from the screen and
from this dialog.
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.geometry import Size
from textual.widget import Widget
from textual.widgets import Button, Checkbox, Label, Static

from onenet_tui import keys
from onenet_tui.data import accounts
from onenet_tui.data.accounts import AccountResetResult
from onenet_tui.data.errors import DomainError
from onenet_tui.data.lookup import UserView
from onenet_tui.i18n import t
from onenet_tui.screens.lifecycle_base import CSS_FILE, Facts, UserActionScreen, account_facts
from onenet_tui.screens.relabel import RelabelledModal
from onenet_tui.screens.workers import post_unless_cancelled
from onenet_tui.widgets.choices import TickBox
from onenet_tui.widgets.field import literal
from onenet_tui.widgets.footer import TranslatedFooter


class WrappingCheckbox(TickBox):
    """A check box whose label is a sentence: wrapped over as many lines as
    it needs (German needs two at 80 columns), never cut. Textual's toggle
    buttons are one line high."""

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        # Textual measures its own visuals the same way (Widget.get_content_height).
        return max(1, self.render().get_height(self.styles, width))  # type: ignore[arg-type]  # styles read as rules, as Textual does


class ActivationCodeScreen(RelabelledModal[None]):
    """The one-time activation code, once. Next forgets it."""

    CSS_PATH = CSS_FILE
    BINDINGS: ClassVar[list[BindingType]] = [
        keys.binding("lifecycle.next"),
    ]

    def __init__(self, username: str, code: str) -> None:
        super().__init__()
        self.username = username
        self.code: str | None = code

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="lifecycle-dialog -confirm"):
            yield Label(t("lifecycle.reset.code_title"), classes="lifecycle-title")
            yield Static(literal(t("lifecycle.reset.code_for", username=self.username)))
            yield Static(literal(self.code or ""), id="activation-code")
            yield Static(t("lifecycle.reset.code_once"), classes="lifecycle-warning")
            with Horizontal(classes="lifecycle-buttons"):
                yield Button(t("lifecycle.button.next"), id="next", variant="primary")
        yield TranslatedFooter(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one("#next", Button).focus()

    @on(Button.Pressed, "#next")
    def _next(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_next()

    def action_next(self) -> None:
        self.code = None
        self.query_one("#activation-code", Static).update("")
        self.dismiss(None)


class AccountResetScreen(UserActionScreen[bool | None]):
    """Dismisses with True once the account was reset."""

    ACTION_ID = "reset_account"
    TITLE_KEY = "lifecycle.reset.title"

    def build_body(self, view: UserView, extra: Any) -> list[Widget]:
        return [
            Static(t("lifecycle.reset.explain"), id="reset-explain"),
            Facts(account_facts(view), id="reset-account-facts"),
            WrappingCheckbox(t("lifecycle.reset.self_service"), id="self-service-tried", compact=True),
            Static(
                literal(t("lifecycle.refused", rule="R12", reason=t("r12.self_service_first"))),
                id="reset-r12",
                classes="lifecycle-hint",
            ),
            Horizontal(
                Button(t("lifecycle.button.cancel"), id="cancel"),
                Button(t("lifecycle.reset.button"), id="reset", variant="warning", disabled=True),
                classes="lifecycle-buttons",
            ),
        ]

    def body_ready(self, view: UserView, extra: Any) -> None:
        self.query_one("#self-service-tried", Checkbox).focus()

    @on(Checkbox.Changed, "#self-service-tried")
    def _ticked(self, event: Checkbox.Changed) -> None:
        self.query_one("#reset", Button).disabled = not event.value
        self.query_one("#reset-r12").display = not event.value

    @on(Button.Pressed, "#cancel")
    def _cancel(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(None)

    @on(Button.Pressed, "#reset")
    def _reset_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if not self.query_one("#self-service-tried", Checkbox).value:
            return
        event.button.disabled = True
        self.banner.show(t("lifecycle.reset.working"), "info")
        self.run_reset()

    @work(thread=True, exclusive=True, group="lifecycle-save", exit_on_error=False)
    def run_reset(self) -> None:
        # Nothing is returned: a worker keeps its result, and the code is a secret.
        try:
            result = accounts.reset_account(self.ctx, self.username, self_service_tried=True)
        except DomainError as error:
            post_unless_cancelled(self, self.SaveRefused(error))
            return
        post_unless_cancelled(self, self.Saved(result))
        del result

    def save_stopped(self) -> None:
        self.query_one("#reset", Button).disabled = False

    def saved(self, result: AccountResetResult) -> None:
        self.banner.show(None)
        self.notify(t("lifecycle.reset.done", username=result.username), markup=False)
        self.app.push_screen(ActivationCodeScreen(result.username, result.activation_code), self._code_shown)

    def _code_shown(self, _: None) -> None:
        # Not awaited: this runs in the dialog's own message loop.
        self.dismiss(True)
