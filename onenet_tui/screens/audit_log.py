"""The audit trail (R15, R26) for administrators and helpdesk alike: newest
first, read-only, refreshed while open; filtered by typed terms
(``user:anna operator:bob action:credentials since:2026-11-01``) and free
words; ``enter`` shows an event in full. The same screen, fixed to one user,
is that user's history (``l`` on the detail screen).

A million events are never loaded: the table holds the pages read so far
(:data:`audit_log.PAGE` events each, by id), the next one read as the cursor
nears the end, and DataTable draws only the visible lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Input, Label, Static

from onenet_tui import history_text, keys
from onenet_tui.data import audit, audit_log, carrier
from onenet_tui.data.audit_log import AuditFilter
from onenet_tui.data.context import Context
from onenet_tui.data.errors import InvalidInput
from onenet_tui.data.models import AuditEvent
from onenet_tui.i18n import t
from onenet_tui.screens.audit_event import AuditEventScreen
from onenet_tui.screens.relabel import LanguageChanged
from onenet_tui.screens.workers import ReportsWorkerFailures, post_unless_cancelled
from onenet_tui.stored_words import audit_action, audit_target
from onenet_tui.widgets.field import literal, literal_text
from onenet_tui.widgets.footer import TranslatedFooter

POLL_SECONDS = 1.0
# The next page is read when the cursor comes this close to the last row.
READ_AHEAD = 20
COLUMNS = ("at", "operator", "action", "target", "details")
# Widths in cells at 80 columns, and at most; the details take what is left.
_NARROW = {"at": len("2026-12-31 23:59"), "operator": 9, "action": 16, "target": 12}
_WIDEST = {"action": 26, "target": 24, "operator": 14}
# The details get this much before the other columns grow past _NARROW.
_ROOMY_DETAILS = 40
_MIN_DETAILS = 12
# The time as the filter's since: and until: take it, in UTC as the header says.
_MOMENT = "%Y-%m-%d %H:%M"


@dataclass(frozen=True)
class EventRow:
    id: int
    at: str
    operator: str
    action: str
    target: str
    details: str


def event_row(event: AuditEvent) -> EventRow:
    details = event.details or {}
    return EventRow(
        event.id or 0,
        moment_text(event.at),
        carrier.shown_operator(event.operator, event.action),
        audit_action(event.action),
        audit_target(event.action, event.target, details),
        history_text.summary(details),
    )


class AuditFilterInput(Input):
    """The filter line: typing filters at once; enter or down returns to the table."""

    BINDINGS = [Binding("down", "leave", show=False)]

    def action_leave(self) -> None:
        self.screen.query_one(DataTable).focus()


class AuditLogScreen(ReportsWorkerFailures, Screen[None]):
    BINDINGS = keys.bindings(keys.Scope.AUDIT)
    AUTO_FOCUS = "DataTable"

    class EventsLoaded(Message):
        """A page of events read in the worker, as rows to show. ``older``:
        the page goes below the rows shown; ``newer``: above them; neither:
        it replaces them (a new filter, a reload)."""

        def __init__(
            self, generation: int, page: audit_log.Page, rows: list[EventRow], *, older: bool, newer: bool
        ) -> None:
            super().__init__()
            self.generation = generation
            self.page = page
            self.rows = rows
            self.older = older
            self.newer = newer

    class FilterRefused(Message):
        def __init__(self, generation: int, text: str) -> None:
            super().__init__()
            self.generation = generation
            self.text = text

    DEFAULT_CSS = """
    AuditLogScreen #audit-title { height: 1; padding: 0 1; background: $panel; text-style: bold; }
    AuditLogScreen #audit-filter-bar { height: 1; }
    AuditLogScreen #audit-filter-prompt { padding: 0 1; }
    AuditLogScreen #audit-filter { border: none; height: 1; padding: 0; width: 1fr; }
    AuditLogScreen #audit-status { height: 1; padding: 0 1; color: $text-muted; }
    AuditLogScreen DataTable { height: 1fr; }
    """

    def __init__(
        self,
        ctx: Context,
        *,
        poll_seconds: float = POLL_SECONDS,
        user_id: int | None = None,
        username: str | None = None,
        site_ids: frozenset[int] | None = None,
    ) -> None:
        super().__init__()
        self.ctx = ctx
        self.poll_seconds = poll_seconds
        # One user's history: the filter's user term is fixed to them.
        self.user_id = user_id
        self.username = username
        # R25: the coordinator wires a site administrator's sites here.
        self.site_ids = site_ids
        self.wanted = self._within(AuditFilter())
        self._generation = 0
        self._latest = -1
        self._more = False
        self._reading_older = False
        self._ids: list[int] = []

    def _within(self, wanted: AuditFilter) -> AuditFilter:
        return audit_log.for_user(wanted, self.user_id) if self.user_id is not None else wanted

    def compose(self) -> ComposeResult:
        yield Static(self._title(0), id="audit-title")
        with Horizontal(id="audit-filter-bar"):
            yield Label(t("history.filter.prompt"), id="audit-filter-prompt")
            yield AuditFilterInput(placeholder=self._placeholder(), id="audit-filter", select_on_focus=False)
        yield DataTable(cursor_type="row", zebra_stripes=True)
        yield Static("", id="audit-status")
        yield TranslatedFooter()

    def _placeholder(self) -> str:
        return t("history.filter.placeholder_user" if self.user_id is not None else "history.filter.placeholder")

    def _title(self, count: int) -> str:
        more = self._more
        if self.user_id is not None:
            key = "history.title.more" if more else "history.title"
            return t(key, count=count, username=self.username or str(self.user_id))
        return t("history.log.title.more" if more else "audit.title", count=count)

    def on_mount(self) -> None:
        self._add_columns()
        self.action_reload()
        if self.poll_seconds:
            self.set_interval(self.poll_seconds, self._poll)

    @property
    def table(self) -> DataTable[Text]:
        return self.query_one(DataTable)

    @property
    def filter_input(self) -> AuditFilterInput:
        return self.query_one(AuditFilterInput)

    def _add_columns(self) -> None:
        for key in COLUMNS:
            self.table.add_column(t(f"audit.column.{key}"), key=key)
        self._size_columns()

    def on_resize(self, event: events.Resize) -> None:
        self._size_columns()

    def _size_columns(self) -> None:
        """Fixed widths, the details column taking the rest of the width: at
        80 columns it is on screen (17 cells), not cut off beyond the right
        edge; wider terminals give the other columns room first, up to
        their widest, then all of it to the details."""
        table = self.table
        columns = table.ordered_columns
        if not columns:
            return
        # Each column is padded by one cell either side; a scrollbar takes two.
        free = max(self.size.width, 40) - 2 * len(columns) - 2
        widths = dict(_NARROW)
        for name, widest in _WIDEST.items():
            spare = free - sum(widths.values()) - _ROOMY_DETAILS
            if spare > 0:
                widths[name] = min(widest, widths[name] + spare)
        for column in columns:
            name = str(column.key.value)
            column.auto_width = False
            column.width = widths.get(name, max(free - sum(widths.values()), _MIN_DETAILS))
        table.refresh()

    def on_language_changed(self, message: LanguageChanged) -> None:
        self.relabel()

    def relabel(self) -> None:
        """``L``: column titles in the other language; the rows are data, but
        dates, "carrier, applied by ..." and action names are words, so they
        are read again. The table is emptied first: no moment shows headers
        of one language over rows of the other."""
        self.table.clear(columns=True)
        self._ids = []
        self._add_columns()
        self.query_one("#audit-title", Static).update(self._title(0))
        self.query_one("#audit-filter-prompt", Label).update(t("history.filter.prompt"))
        self.filter_input.placeholder = self._placeholder()
        self.refresh_bindings()
        self.action_reload()

    # -- reading ---------------------------------------------------------

    def action_reload(self) -> None:
        self._generation += 1
        self._read(self._generation, self.wanted, None, newer=False)

    def _poll(self) -> None:
        if self._latest < 0:
            return
        self._read_newer(self._generation, self.wanted, self._latest, self._ids[0] if self._ids else 0)

    @work(thread=True, exclusive=True, group="audit-load", exit_on_error=False)
    def _read(self, generation: int, wanted: AuditFilter, before: int | None, *, newer: bool) -> None:
        page = audit_log.read_page(self.ctx, wanted, before=before, site_ids=self.site_ids)
        rows = [event_row(e) for e in page.events]
        post_unless_cancelled(self, self.EventsLoaded(generation, page, rows, older=before is not None, newer=newer))

    @work(thread=True, exclusive=True, group="audit-poll", exit_on_error=False)
    def _read_newer(self, generation: int, wanted: AuditFilter, latest: int, top: int) -> None:
        if audit.latest(self.ctx) == latest:
            return
        page = audit_log.read_newer(self.ctx, wanted, top, site_ids=self.site_ids)
        if page.more:  # more new events than a page: read the newest page again
            self._read(generation, wanted, None, newer=False)
            return
        rows = [event_row(e) for e in page.events]
        post_unless_cancelled(self, self.EventsLoaded(generation, page, rows, older=False, newer=True))

    def show_worker_failure(self, group: str | None, reason: str) -> None:
        self.query_one("#audit-title", Static).update(literal(t("workers.failed.load", reason=reason)))

    @on(EventsLoaded)
    def _show(self, message: EventsLoaded) -> None:
        if message.generation != self._generation:
            return  # a page of a filter no longer typed
        self._latest = max(self._latest, message.page.latest)
        table = self.table
        if message.newer:
            if not message.rows:
                return
            # New events go on top; the cursor stays on the event it was on.
            keep = self._ids[table.cursor_row] if self._ids and table.cursor_row < len(self._ids) else None
            shown = [row for row in message.rows if row.id not in set(self._ids)]
            self._rebuild(shown, keep)
        elif message.older:
            self._reading_older = False
            self._more = message.page.more
            self._append(message.rows)
        else:
            self._more = message.page.more
            table.clear()
            self._ids = []
            self._append(message.rows)
        self.query_one("#audit-title", Static).update(self._title(len(self._ids)))

    def _append(self, rows: list[EventRow]) -> None:
        for row in rows:
            self.table.add_row(*_cells(row), key=str(row.id))
            self._ids.append(row.id)

    def _rebuild(self, on_top: list[EventRow], keep: int | None) -> None:
        """Rows read before, below the new ones: DataTable cannot insert
        above, so the loaded rows are added again (a few pages at most)."""
        table = self.table
        old = [table.get_row(str(i)) for i in self._ids]
        old_ids = list(self._ids)
        table.clear()
        self._ids = []
        self._append(on_top)
        for row_id, cells in zip(old_ids, old, strict=True):
            table.add_row(*cells, key=str(row_id))
            self._ids.append(row_id)
        if keep is not None and keep in self._ids:
            table.move_cursor(row=self._ids.index(keep), animate=False)

    @on(DataTable.RowHighlighted)
    def _near_the_end(self, event: DataTable.RowHighlighted) -> None:
        if self._more and not self._reading_older and event.cursor_row >= len(self._ids) - READ_AHEAD:
            self._reading_older = True
            self._read(self._generation, self.wanted, self._ids[-1], newer=False)

    # -- the filter ------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "filter" and self.is_mounted and self.focused is self.filter_input:
            return False  # in the filter "/" is a character
        if action == "open_event" and self.is_mounted and self.focused is self.filter_input:
            return False  # enter in the filter goes back to the table
        return True

    def action_filter(self) -> None:
        self.set_focus(self.filter_input)

    @on(Input.Changed, "#audit-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self._generation += 1
        status = self.query_one("#audit-status", Static)
        try:
            wanted = self._within(audit_log.parse(event.value))
        except InvalidInput as refused:
            status.update(literal(refused.message()))
            return
        status.update("")
        self.wanted = wanted
        self._read(self._generation, wanted, None, newer=False)

    @on(Input.Submitted, "#audit-filter")
    def _filter_submitted(self) -> None:
        self.table.focus()

    # -- one event in full -----------------------------------------------

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        # DataTable takes enter itself (its select key): the row it selected opens.
        event.stop()
        self.action_open_event()

    def action_open_event(self) -> None:
        table = self.table
        if not self._ids or table.cursor_row >= len(self._ids):
            return
        self.app.push_screen(AuditEventScreen(self.ctx, self._ids[table.cursor_row], site_ids=self.site_ids))


def _cells(row: EventRow) -> tuple[Text, ...]:
    return (
        Text(row.at),
        literal_text(row.operator),
        literal_text(row.action),
        literal_text(row.target),
        literal_text(row.details),
    )


def moment_text(moment: datetime) -> str:
    """A stored time in UTC (SQLite hands naive UTC values back)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime(_MOMENT)
