"""New desk phone credentials for one user, key ``c`` without marks (R9).

A confirmation (Cancel focused) says what happens: the current password stops
working at once and the phone has to log in again. Then the service issues
new credentials and they are shown once on the credentials screen (R8). The
secret travels from the worker straight to that screen; this dialog keeps no
reference to it.
"""

from __future__ import annotations

from typing import Any

from textual import on, work
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Button, Static

from onenet_tui.data import catalogs, credentials
from onenet_tui.data.credentials import IssuedCredentials
from onenet_tui.data.errors import DomainError
from onenet_tui.data.lookup import UserView
from onenet_tui.i18n import language, t
from onenet_tui.screens.credentials_once import CredentialsOnceScreen
from onenet_tui.screens.lifecycle_base import UserActionScreen, format_time
from onenet_tui.screens.workers import post_unless_cancelled
from onenet_tui.widgets.field import literal


class RegenerateScreen(UserActionScreen[None]):
    ACTION_ID = "credentials"
    TITLE_KEY = "lifecycle.regenerate.title"

    def build_body(self, view: UserView, extra: Any) -> list[Widget]:
        model = catalogs.label("desk_phones", view.desk_phone_model, language()) or t("lifecycle.none")
        current = view.credentials
        facts = (
            t(
                "lifecycle.regenerate.current",
                sip_username=current.sip_username,
                time=format_time(current.generated_at),
                by=current.generated_by,
            )
            if current
            else t("lifecycle.detail.no_credentials")
        )
        return [
            Static(literal(facts), id="regenerate-current"),
            Static(literal(t("lifecycle.regenerate.warning", model=model)), classes="lifecycle-warning"),
            Horizontal(
                Button(t("lifecycle.button.cancel"), id="cancel"),
                Button(t("lifecycle.regenerate.button"), id="regenerate", variant="warning"),
                classes="lifecycle-buttons",
            ),
        ]

    def body_ready(self, view: UserView, extra: Any) -> None:
        self.query_one("#cancel", Button).focus()

    @on(Button.Pressed, "#cancel")
    def _cancel(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(None)

    @on(Button.Pressed, "#regenerate")
    def _regenerate_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        event.button.disabled = True
        self.banner.show(t("lifecycle.regenerate.working"), "info")
        self.run_regenerate()

    @work(thread=True, exclusive=True, group="lifecycle-save", exit_on_error=False)
    def run_regenerate(self) -> None:
        # Nothing is returned: a worker keeps its result, and this is a secret.
        try:
            issued = credentials.regenerate(self.ctx, self.username)
        except DomainError as error:
            post_unless_cancelled(self, self.SaveRefused(error))
            return
        post_unless_cancelled(self, self.Saved(issued))
        del issued

    def save_stopped(self) -> None:
        self.query_one("#regenerate", Button).disabled = False

    def saved(self, issued: IssuedCredentials) -> None:
        self.banner.show(None)
        self.app.push_screen(CredentialsOnceScreen([issued]), self._credentials_shown)

    def _credentials_shown(self, _: None) -> None:
        # Not awaited: this runs in the dialog's own message loop.
        self.dismiss(None)
