"""What the sites and groups screens share (SPEC section 11): keys dimmed by
the policy table and explained when pressed (R14: a helpdesk operator sees
every change dimmed with "administrators only"), and a small form dialog
whose save runs a service in a worker and shows a refusal naming the field
or the rule, keeping what was typed.

Nothing here decides: the keys' policy actions are the registry's
(:mod:`onenet_tui.keys`), the answers :func:`~onenet_tui.data.policy.decide`'s.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Button, Label

from onenet_tui import keys
from onenet_tui.data.context import Context
from onenet_tui.data.errors import DomainError
from onenet_tui.data.policy import ALLOWED, Decision, decide
from onenet_tui.i18n import t
from onenet_tui.screens.dimmed_keys import ExplainsDimmedKeys
from onenet_tui.screens.lifecycle_base import CSS_FILE, Banner, CancelSaveButtons, error_text
from onenet_tui.screens.relabel import RelabelledModal
from onenet_tui.screens.workers import ReportsWorkerFailures, post_unless_cancelled
from onenet_tui.visible import visible
from onenet_tui.widgets.field import literal
from onenet_tui.widgets.footer import TranslatedFooter

ResultT = TypeVar("ResultT")


class PolicyKeys(ExplainsDimmedKeys):
    """A screen whose change keys carry a policy action in the registry:
    refused ones are dimmed in the footer (``check_action`` says None) and
    explained when pressed, as in the directory."""

    ctx: Context

    def key_decision(self, spec: keys.KeyAction) -> Decision:
        return ALLOWED if spec.policy is None else decide(spec.policy, self.ctx.actor.role)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        spec = self._own_spec(action)
        if spec is None:
            return True
        return True if self.key_decision(spec).allowed else None

    def _own_spec(self, action: str) -> keys.KeyAction | None:
        # The class's declared BINDINGS (made by keys.binding), not Textual's
        # private binding map; remapping in [keys] changes keys, not actions.
        for binding in type(self).BINDINGS:
            if isinstance(binding, Binding) and binding.action == action and binding.id in keys.BY_ID:
                return keys.BY_ID[binding.id or ""]
        return None

    def actor_changed(self) -> None:
        """Promoted or demoted while open (``OneNetApp.change_actor``): the dimmed keys follow."""
        self.refresh_bindings()


class TenantForm(CancelSaveButtons, ReportsWorkerFailures, RelabelledModal[ResultT]):
    """A dialog of a few fields and Cancel / Save. :meth:`fields` makes the
    fields, :meth:`send` calls the service (in a worker thread) with what
    :meth:`values` read; a DomainError is shown in the banner, naming the
    field or the rule, and nothing typed is lost. Dismisses with what
    :meth:`send` returned, or None when cancelled."""

    CSS_PATH = CSS_FILE
    BINDINGS: ClassVar[list[BindingType]] = [
        keys.binding("lifecycle.cancel", "close"),
        keys.binding("lifecycle.save", "save"),
    ]
    DEFAULT_CSS = """
    TenantForm { align: center middle; }
    TenantForm .tenant-form--fields { height: auto; }
    TenantForm .tenant-form--label { margin-top: 1; color: $text-muted; }
    TenantForm .tenant-form--preview, TenantForm .tenant-form--note { height: auto; margin-top: 1; }
    """
    TITLE_KEY: ClassVar[str] = ""
    SAVE_KEY: ClassVar[str] = "lifecycle.button.save"

    class Done(Message):
        def __init__(self, result: Any, error: DomainError | None) -> None:
            super().__init__()
            self.result, self.error = result, error

    def __init__(self, ctx: Context) -> None:
        super().__init__()
        self.ctx = ctx
        self.saving = False

    def title_text(self) -> str:
        return t(self.TITLE_KEY)

    def fields(self) -> ComposeResult:
        raise NotImplementedError
        yield

    def values(self) -> Any:
        raise NotImplementedError

    def send(self, values: Any) -> Any:
        """Runs in a worker thread: the service call."""
        raise NotImplementedError

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="lifecycle-dialog -confirm tenant-form"):
            yield Label(literal(self.title_text()), id="dialog-title", classes="lifecycle-title")
            yield Banner("", id="banner", classes="lifecycle-banner")
            with Vertical(id="form-fields", classes="tenant-form--fields"):
                yield from self.fields()
            with Horizontal(classes="lifecycle-buttons"):
                yield Button(t("lifecycle.button.cancel"), id="cancel")
                yield Button(t(self.SAVE_KEY), id="save", variant="primary")
        yield TranslatedFooter(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one(Banner).display = False
        focusable = [w for w in self.query("#form-fields *") if w.focusable]
        if focusable:
            focusable[0].focus()

    @property
    def banner(self) -> Banner:
        return self.query_one(Banner)

    def action_close(self) -> None:
        self.dismiss(None)

    def action_save(self) -> None:
        if self.saving:
            return
        self.saving = True
        self.banner.show(t("lifecycle.saving"), "info")
        self._send(self.values())

    @work(thread=True, exclusive=True, group="tenant-form-save", exit_on_error=False)
    def _send(self, values: Any) -> None:
        try:
            result = self.send(values)
        except DomainError as error:
            post_unless_cancelled(self, self.Done(None, error))
            return
        post_unless_cancelled(self, self.Done(result, None))

    @on(Done)
    def _done(self, message: Done) -> None:
        self.saving = False
        if message.error is not None:
            self.banner.show(self.error_message(message.error))
            return
        self.dismiss(message.result)

    def error_message(self, error: DomainError) -> str:
        """The refusal in the banner, naming the field or the rule."""
        return error_text(error)

    def show_worker_failure(self, group: str | None, reason: str) -> None:
        self.saving = False
        self.banner.show(t("workers.failed.save", reason=reason))


def literal_lines(text: str) -> Content:
    """Several lines of text from data, each shown literally (a newline is
    the line break the words put there, not a character to show)."""
    return Content("\n".join(visible(line) for line in text.split("\n")))


def field_label(text: str) -> Widget:
    return Label(literal(text), classes="tenant-form--label")


def on_result(callback: Callable[[Any], None]) -> Callable[[Any], None]:
    """A push_screen callback that runs only when the dialog saved something."""

    def answered(result: Any) -> None:
        if result is not None:
            callback(result)

    return answered
