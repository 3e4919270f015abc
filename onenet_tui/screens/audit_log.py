"""The audit trail (R15) for administrators and helpdesk alike: newest first,
read-only, refreshed while open."""

from __future__ import annotations

import json
from dataclasses import dataclass

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Static

from onenet_tui import keys
from onenet_tui.data import audit, carrier
from onenet_tui.data.context import Context
from onenet_tui.i18n import format_moment, t
from onenet_tui.screens.relabel import LanguageChanged
from onenet_tui.screens.workers import ReportsWorkerFailures
from onenet_tui.stored_words import audit_action, audit_target
from onenet_tui.widgets.field import literal, literal_text
from onenet_tui.widgets.footer import TranslatedFooter

# Enough to answer "who did what lately" at a glance; the command line's
# `onenet-tui audit` exports everything.
SHOWN_EVENTS = 1000
POLL_SECONDS = 1.0


@dataclass(frozen=True)
class EventRow:
    id: int
    at: str
    operator: str
    action: str
    target: str
    details: str


class AuditLogScreen(ReportsWorkerFailures, Screen[None]):
    BINDINGS = keys.bindings(keys.Scope.AUDIT)

    class EventsLoaded(Message):
        """The newest events, read in the worker, as rows to show."""

        def __init__(self, latest: int, rows: list[EventRow]) -> None:
            super().__init__()
            self.latest = latest
            self.rows = rows

    DEFAULT_CSS = """
    AuditLogScreen #audit-title { height: 1; padding: 0 1; background: $panel; text-style: bold; }
    AuditLogScreen DataTable { height: 1fr; }
    """

    def __init__(self, ctx: Context, *, poll_seconds: float = POLL_SECONDS) -> None:
        super().__init__()
        self.ctx = ctx
        self.poll_seconds = poll_seconds
        self._latest = -1

    def compose(self) -> ComposeResult:
        yield Static(t("audit.title", count=0), id="audit-title")
        yield DataTable(cursor_type="row", zebra_stripes=True)
        yield TranslatedFooter()

    def on_mount(self) -> None:
        self._add_columns()
        self.action_reload()
        if self.poll_seconds:
            self.set_interval(self.poll_seconds, self._poll)

    def _add_columns(self) -> None:
        table = self.query_one(DataTable)
        for key in ("at", "operator", "action", "target", "details"):
            table.add_column(t(f"audit.column.{key}"), key=key)

    def on_language_changed(self, message: LanguageChanged) -> None:
        self.relabel()

    def relabel(self) -> None:
        """``L``: column titles in the other language; the rows are data, but
        dates, "carrier, applied by ..." and action names are words, so they
        are read again. The table is emptied first: no moment shows headers
        of one language over rows of the other."""
        table = self.query_one(DataTable)
        count = table.row_count
        table.clear(columns=True)
        self._add_columns()
        self.query_one("#audit-title", Static).update(t("audit.title", count=count))
        self.refresh_bindings()
        self.action_reload()

    def action_reload(self) -> None:
        self._load(force=True)

    def _poll(self) -> None:
        self._load(force=False)

    @work(thread=True, exclusive=True, group="audit-load", exit_on_error=False)
    def _load(self, force: bool) -> None:
        if not force and audit.latest(self.ctx) == self._latest:
            return
        latest, events = audit.recent(self.ctx, SHOWN_EVENTS)
        rows = [
            EventRow(
                e.id or 0,
                format_moment(e.at),
                carrier.shown_operator(e.operator, e.action),
                audit_action(e.action),
                audit_target(e.action, e.target, e.details or {}),
                json.dumps(e.details, ensure_ascii=False, sort_keys=True),
            )
            for e in events
        ]
        self.post_message(self.EventsLoaded(latest, rows))

    def show_worker_failure(self, group: str | None, reason: str) -> None:
        self.query_one("#audit-title", Static).update(literal(t("workers.failed.load", reason=reason)))

    @on(EventsLoaded)
    def _show(self, message: EventsLoaded) -> None:
        self._latest, rows = message.latest, message.rows
        table = self.query_one(DataTable)
        table.clear()
        widths = [column.content_width for column in table.ordered_columns]
        for row in rows:
            cells = (
                Text(row.at),
                literal_text(row.operator),
                literal_text(row.action),
                literal_text(row.target),
                literal_text(row.details),
            )
            widths = [max(width, cell.cell_len) for width, cell in zip(widths, cells, strict=True)]
            table.add_row(*cells, key=str(row.id))
        # DataTable sizes its columns only when idle and keeps the lines it drew
        # before that: on a busy machine they stayed cut. Sized here, the first
        # lines drawn are already right.
        for column, width in zip(table.ordered_columns, widths, strict=True):
            column.content_width = width
        self.query_one("#audit-title", Static).update(t("audit.title", count=len(rows)))
