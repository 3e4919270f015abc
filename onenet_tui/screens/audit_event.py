"""One audit event in full (R26): when, who, what, and each field changed
old -> new, every value literal text; what was replaced is named, never
shown (there is nothing to show: secrets are not in the trail)."""

from __future__ import annotations

from collections.abc import Collection

from textual import work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Static

from onenet_tui import history_text, keys
from onenet_tui.data import audit_log, carrier
from onenet_tui.data.context import Context
from onenet_tui.data.models import AuditEvent
from onenet_tui.i18n import format_moment, t
from onenet_tui.screens.relabel import LanguageChanged
from onenet_tui.screens.workers import ReportsWorkerFailures, post_unless_cancelled
from onenet_tui.stored_words import audit_action, audit_target
from onenet_tui.widgets.field import literal
from onenet_tui.widgets.footer import TranslatedFooter


def event_lines(event: AuditEvent) -> list[tuple[str, str]]:
    """(class, text) lines of the details screen, text still to be shown literally."""
    details = event.details or {}
    lines = [
        ("event-head", t("history.event.at", at=format_moment(event.at))),
        ("event-head", t("history.event.operator", operator=carrier.shown_operator(event.operator, event.action))),
        ("event-head", t("history.event.action", action=audit_action(event.action), code=event.action)),
        ("event-head", t("history.event.target", target=audit_target(event.action, event.target, details))),
    ]
    changes = history_text.changes(details)
    if changes:
        lines.append(("event-section", t("history.event.changes")))
        lines += [("event-change", t("history.change", field=c.field, old=c.old, new=c.new)) for c in changes]
    replaced = history_text.replaced(details)
    if replaced:
        lines.append(("event-section", t("history.event.replaced")))
        lines += [("event-change", what) for what in replaced]
    others = history_text.others(details)
    if others:
        lines.append(("event-section", t("history.event.details")))
        lines += [("event-change", f"{key}: {value}") for key, value in others]
    return lines


class AuditEventScreen(ReportsWorkerFailures, Screen[None]):
    BINDINGS = keys.bindings(keys.Scope.HISTORY)

    class Loaded(Message):
        def __init__(self, event: AuditEvent) -> None:
            super().__init__()
            self.event = event

    DEFAULT_CSS = """
    AuditEventScreen #event-title { height: 1; padding: 0 1; background: $panel; text-style: bold; }
    AuditEventScreen #event-body { height: 1fr; padding: 0 1; }
    AuditEventScreen .event-section { margin-top: 1; text-style: bold; }
    AuditEventScreen .event-change { padding-left: 2; }
    """

    def __init__(self, ctx: Context, event_id: int, *, site_ids: Collection[int] | None = None) -> None:
        super().__init__()
        self.ctx = ctx
        self.event_id = event_id
        self.site_ids = site_ids
        self.event: AuditEvent | None = None

    def compose(self) -> ComposeResult:
        yield Static(t("history.event.title", id=self.event_id), id="event-title")
        yield VerticalScroll(Static(t("lifecycle.loading")), id="event-body")
        yield TranslatedFooter()

    def on_mount(self) -> None:
        self.query_one("#event-body").focus()
        self._load()

    @work(thread=True, exclusive=True, group="audit-event", exit_on_error=False)
    def _load(self) -> None:
        post_unless_cancelled(self, self.Loaded(audit_log.event(self.ctx, self.event_id, site_ids=self.site_ids)))

    async def on_audit_event_screen_loaded(self, message: Loaded) -> None:
        self.event = message.event
        await self._fill()

    async def _fill(self) -> None:
        if self.event is None:
            return
        body = self.query_one("#event-body", VerticalScroll)
        await body.remove_children()
        await body.mount_all([Static(literal(text), classes=cls) for cls, text in event_lines(self.event)])

    async def on_language_changed(self, message: LanguageChanged) -> None:
        self.query_one("#event-title", Static).update(t("history.event.title", id=self.event_id))
        self.refresh_bindings()
        await self._fill()

    def show_worker_failure(self, group: str | None, reason: str) -> None:
        self.query_one("#event-title", Static).update(literal(t("workers.failed.load", reason=reason)))
