"""Desk phone credentials, shown once (R8, R9).

The screen gets the issued credentials, shows them with a Next button, and on
Next forgets them: the list is emptied and the widgets showing the password
are removed before the screen closes. Nothing here can show them again; only
new credentials can be issued. Reused for a single regenerated user (R9); the
bulk result (R10) has a table of its own.

Next is the hand-over: it is recorded in the audit trail (no secret), and a
user whose screen was never left with Next (the link dropped, the console was
killed) stays marked in the directory as "never handed over".
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Label, Static

from onenet_tui import keys
from onenet_tui.data import handover
from onenet_tui.data.context import Context
from onenet_tui.data.credentials import IssuedCredentials
from onenet_tui.i18n import t
from onenet_tui.screens.relabel import RelabelledModal
from onenet_tui.widgets.field import literal
from onenet_tui.widgets.footer import TranslatedFooter


class CredentialsBlock(Vertical):
    """One user's credentials as label / value lines."""

    def __init__(self, issued: IssuedCredentials) -> None:
        super().__init__(classes="credentials--block")
        self._lines = [
            ("credentials_once.user", t("credentials_once.user_value", name=issued.name, username=issued.username)),
            ("credentials_once.extension", issued.extension),
            ("credentials_once.sip_username", issued.sip_username),
            ("credentials_once.password", issued.password),
            ("credentials_once.sip_domain", issued.sip_domain),
        ]

    def compose(self) -> ComposeResult:
        for key, value in self._lines:
            with Horizontal(classes="credentials--line"):
                yield Label(t(key), classes="credentials--label")
                yield Label(literal(value), classes=f"credentials--value credentials--{key.rsplit('.', 1)[1]}")

    def forget(self) -> None:
        self._lines = []


class CredentialsOnceScreen(RelabelledModal[None]):
    """SIP username, password and SIP domain of one or more users, once."""

    DEFAULT_CSS = """
    CredentialsOnceScreen {
        align: center middle;
    }
    CredentialsOnceScreen > #credentials {
        width: 100%;
        max-width: 90;
        height: auto;
        max-height: 100%;
        background: $surface;
        border: round $primary;
        border-title-style: bold;
        padding: 0 1;
    }
    CredentialsOnceScreen #credentials-warning {
        margin-bottom: 1;
        color: $text-warning;
    }
    CredentialsOnceScreen #credentials-list {
        height: auto;
        max-height: 1fr;
    }
    CredentialsOnceScreen .credentials--block {
        height: auto;
        margin-bottom: 1;
    }
    CredentialsOnceScreen .credentials--line {
        height: 1;
    }
    CredentialsOnceScreen .credentials--label {
        width: 18;
        color: $text-muted;
    }
    CredentialsOnceScreen .credentials--value {
        width: 1fr;
    }
    CredentialsOnceScreen .credentials--password {
        text-style: bold;
        color: $text-accent;
    }
    CredentialsOnceScreen #credentials-buttons {
        height: auto;
        align-horizontal: right;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        keys.binding("credentials.next"),
    ]

    def __init__(self, issued: Iterable[IssuedCredentials], *, ctx: Context | None = None) -> None:
        super().__init__()
        self.issued: tuple[IssuedCredentials, ...] = tuple(issued)
        # Who records the hand-over: the console's context unless given.
        self._ctx = ctx

    def compose(self) -> ComposeResult:
        with Vertical(id="credentials") as box:
            title = "credentials_once.title" if len(self.issued) == 1 else "credentials_once.title_many"
            box.border_title = t(title, count=len(self.issued))
            yield Static(t("credentials_once.warning"), id="credentials-warning")
            with VerticalScroll(id="credentials-list"):
                for issued in self.issued:
                    yield CredentialsBlock(issued)
            with Horizontal(id="credentials-buttons"):
                yield Button(t("credentials_once.next"), id="credentials-next", variant="primary", compact=True)
        yield TranslatedFooter()

    def on_mount(self) -> None:
        self.query_one("#credentials-next", Button).focus()

    @on(Button.Pressed, "#credentials-next")
    async def _next_pressed(self) -> None:
        await self.action_next()

    async def action_next(self) -> None:
        """Leave the screen; the secrets go with it, for good (R8)."""
        self._record_handed_over([(item.username, item.user_id) for item in self.issued])
        self.issued = ()
        for block in self.query(CredentialsBlock):
            block.forget()
        await self.query_one("#credentials-list", VerticalScroll).remove_children()
        self.dismiss(None)

    def _record_handed_over(self, users: list[tuple[str, int | None]]) -> None:
        ctx = self._ctx or getattr(self.app, "ctx", None)
        if ctx is None or not users:
            return

        def record() -> None:
            for username, user_id in users:
                handover.record_handed_over(ctx, username, user_id)

        # The app's worker, not the screen's: it must outlive the dismissed screen.
        self.app.run_worker(record, thread=True, group="handover", exit_on_error=False)
