"""The audit trail (R15, R26) for administrators and helpdesk alike: newest
first, read-only, refreshed while open; filtered by typed terms
(``user:anna operator:bob action:credentials since:2026-11-01``) and free
words; ``enter`` shows an event in full. The same screen, fixed to one user,
is that user's history (``l`` on the detail screen).

A million events are never loaded: the table holds the pages read so far
(:data:`FIRST_PAGE`, then :data:`audit_log.PAGE` events, by id), the next one read as the cursor
nears the end, and :class:`EventTable` draws only the visible lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.content import Content
from textual.geometry import Size
from textual.message import Message
from textual.reactive import Reactive
from textual.screen import Screen
from textual.widgets import Input, Label, Static

from onenet_tui import history_text, keys
from onenet_tui.data import audit, audit_log, carrier
from onenet_tui.data.audit_log import AuditFilter
from onenet_tui.data.context import Context
from onenet_tui.data.errors import InvalidInput
from onenet_tui.data.models import AuditEvent
from onenet_tui.i18n import format_moment, t
from onenet_tui.screens.audit_event import AuditEventScreen
from onenet_tui.screens.relabel import LanguageChanged
from onenet_tui.screens.workers import ReportsWorkerFailures, post_unless_cancelled
from onenet_tui.stored_words import audit_action, audit_target
from onenet_tui.widgets.event_table import EventTable
from onenet_tui.widgets.field import literal
from onenet_tui.widgets.footer import TranslatedFooter

POLL_SECONDS = 1.0
# The next page is read when the cursor comes this close to the last row.
READ_AHEAD = 20
# The first page read for a filter (the next ones are audit_log.PAGE).
FIRST_PAGE = 80
# A typed filter is answered in the keystroke's frame if a local database
# does so within this; else in the background (audit_log.read_page_at_once).
# Most answer in 2-5 ms, a pasted term in 10-20 (more on a loaded machine);
# the screen waits at most this long, under the time a person notices.
AT_ONCE_SECONDS = 0.04
COLUMNS = ("at", "operator", "action", "target", "details")
# Widths in cells at 80 columns, and at most; the details take what is left.
_NARROW = {"at": len("31/12/2026 23:59"), "operator": 9, "action": 16, "target": 12}
_WIDEST = {"action": 26, "target": 24, "operator": 14}
# The details get this much before the other columns grow past _NARROW.
_ROOMY_DETAILS = 40
_MIN_DETAILS = 12


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
    # As the directory's filter line: of fixed size, so a keystroke repaints
    # it rather than laying out the whole screen as Input asks (about 10 ms).
    virtual_size = Reactive(Size(0, 0), layout=False)

    def action_leave(self) -> None:
        self.screen.query_one(EventTable).focus()


class AuditLogScreen(ReportsWorkerFailures, Screen[None]):
    BINDINGS = keys.bindings(keys.Scope.AUDIT)
    AUTO_FOCUS = "EventTable"

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

    DEFAULT_CSS = """
    AuditLogScreen #audit-title { height: 1; padding: 0 1; background: $panel; text-style: bold; }
    AuditLogScreen #audit-filter-bar { height: 1; }
    AuditLogScreen #audit-filter-prompt { padding: 0 1; }
    AuditLogScreen #audit-filter { border: none; height: 1; padding: 0; width: 1fr; }
    AuditLogScreen #audit-status { height: 1; padding: 0 1; color: $text-muted; }
    AuditLogScreen EventTable { height: 1fr; }
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
        self._polling = False
        # The filter text being read, and the one whose rows are shown.
        self._filter_text = ""
        self.shown_filter: str | None = None
        # What the title and status lines last showed: a keystroke that
        # changes neither updates neither.
        self._lines_shown: dict[str, object] = {}

    def _within(self, wanted: AuditFilter) -> AuditFilter:
        return audit_log.for_user(wanted, self.user_id) if self.user_id is not None else wanted

    def compose(self) -> ComposeResult:
        yield Static(self._title(0), id="audit-title")
        with Horizontal(id="audit-filter-bar"):
            yield Label(t("history.filter.prompt"), id="audit-filter-prompt")
            yield AuditFilterInput(placeholder=self._placeholder(), id="audit-filter", select_on_focus=False)
        yield EventTable(self._titles())
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
        # A watcher, not the Input.Changed message (as the directory's): the
        # read starts as the key is handled, one round of messages sooner.
        self.watch(self.filter_input, "value", self._filter_changed, init=False)
        self._size_columns()
        self.action_reload()
        if self.poll_seconds:
            self.set_interval(self.poll_seconds, self._poll)

    @property
    def table(self) -> EventTable:
        return self.query_one(EventTable)

    @property
    def filter_input(self) -> AuditFilterInput:
        return self.query_one(AuditFilterInput)

    @staticmethod
    def _titles() -> list[str]:
        return [t(f"audit.column.{key}") for key in COLUMNS]

    def on_resize(self, event: events.Resize) -> None:
        self._size_columns()

    def _size_columns(self) -> None:
        """Fixed widths, the details column taking the rest of the width: at
        80 columns it is on screen, not cut off beyond the right edge; wider
        terminals give the other columns room first, up to their widest,
        then all of it to the details."""
        # One cell before each column and after the last; the scrollbar takes one.
        free = max(self.size.width, 40) - (len(COLUMNS) + 1) - 1
        widths = dict(_NARROW)
        for name, widest in _WIDEST.items():
            spare = free - sum(widths.values()) - _ROOMY_DETAILS
            if spare > 0:
                widths[name] = min(widest, widths[name] + spare)
        details = max(free - sum(widths.values()), _MIN_DETAILS)
        self.table.set_widths([widths.get(name, details) for name in COLUMNS])

    def on_language_changed(self, message: LanguageChanged) -> None:
        self.relabel()

    def relabel(self) -> None:
        """``L``: column titles in the other language; the rows are data, but
        action names and "carrier, applied by ..." are words, so they are
        read again. The table is emptied first: no moment shows headers of
        one language over rows of the other."""
        self.table.clear()
        self.table.set_titles(self._titles())
        self._size_columns()
        self._set_line("#audit-title", self._title(0))
        self.query_one("#audit-filter-prompt", Label).update(t("history.filter.prompt"))
        self.filter_input.placeholder = self._placeholder()
        self.refresh_bindings()
        self.action_reload()

    # -- reading ---------------------------------------------------------

    def action_reload(self) -> None:
        self._generation += 1
        self._read(self._generation, self.wanted, None, newer=False)

    def _poll(self) -> None:
        # One look at a time: a slow database is not asked again meanwhile.
        if self._latest < 0 or self._polling:
            return
        self._polling = True
        ids = self.table.ids
        self._read_newer(self._generation, self.wanted, self._latest, ids[0] if ids else 0)

    @work(thread=True, exclusive=True, group="audit-load", exit_on_error=False)
    def _read(self, generation: int, wanted: AuditFilter, before: int | None, *, newer: bool) -> None:
        # A first page of a screenful or two shows sooner; the rest follow a page at a time.
        limit = audit_log.PAGE if before is not None else FIRST_PAGE
        page = audit_log.read_page(self.ctx, wanted, before=before, limit=limit, site_ids=self.site_ids)
        rows = [event_row(e) for e in page.events]
        post_unless_cancelled(self, self.EventsLoaded(generation, page, rows, older=before is not None, newer=newer))

    @work(thread=True, group="audit-poll", exit_on_error=False)
    def _read_newer(self, generation: int, wanted: AuditFilter, latest: int, top: int) -> None:
        try:
            if audit.latest(self.ctx) == latest:
                return
            page = audit_log.read_newer(self.ctx, wanted, top, site_ids=self.site_ids)
            rows = [event_row(e) for e in page.events]
            # More new events than a page: the newest page replaces the rows.
            post_unless_cancelled(self, self.EventsLoaded(generation, page, rows, older=False, newer=not page.more))
        finally:
            self._polling = False

    def show_worker_failure(self, group: str | None, reason: str) -> None:
        self._set_line("#audit-title", literal(t("workers.failed.load", reason=reason)))

    def _set_line(self, selector: str, content: str | Content) -> None:
        """A title or status line, updated only when it changes, and without
        a layout pass: each is one line the width of the screen whatever it says."""
        shown = (type(content), content.plain if isinstance(content, Content) else content)
        if self._lines_shown.get(selector) != shown:
            self._lines_shown[selector] = shown
            self.query_one(selector, Static).update(content, layout=False)

    @on(EventsLoaded)
    def _show(self, message: EventsLoaded) -> None:
        if message.generation != self._generation:
            return  # a page of a filter no longer typed
        self._latest = max(self._latest, message.page.latest)
        table = self.table
        rows = [_cells(row) for row in message.rows]
        ids = [row.id for row in message.rows]
        if message.newer:
            if not rows:
                return
            # New events go on top; the cursor stays on the event it was on.
            seen = set(table.ids)
            fresh = [(cells, i) for cells, i in zip(rows, ids, strict=True) if i not in seen]
            keep = table.cursor_id
            table.show([c for c, _ in fresh] + table.rows, [i for _, i in fresh] + table.ids, keep=keep)
        elif message.older:
            self._reading_older = False
            self._more = message.page.more
            table.append(rows, ids)
        else:
            # A page below rows of an earlier filter was dropped with them.
            self._reading_older = False
            self._more = message.page.more
            table.show(rows, ids)
            self.shown_filter = self._filter_text
        self._set_line("#audit-title", self._title(table.row_count))

    @on(EventTable.CursorMoved)
    def _near_the_end(self, event: EventTable.CursorMoved) -> None:
        if self._more and not self._reading_older and event.index >= event.count - READ_AHEAD:
            self._reading_older = True
            self._read(self._generation, self.wanted, self.table.ids[-1], newer=False)

    # -- the filter ------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "filter" and self.is_mounted and self.focused is self.filter_input:
            return False  # in the filter "/" is a character
        if action == "open_event" and self.is_mounted and self.focused is self.filter_input:
            return False  # enter in the filter goes back to the table
        return True

    def action_filter(self) -> None:
        self.set_focus(self.filter_input)

    def _filter_changed(self, value: str) -> None:
        self._generation += 1
        try:
            wanted = self._within(audit_log.parse(value))
        except InvalidInput as refused:
            self._set_line("#audit-status", literal(refused.message()))
            return
        self._set_line("#audit-status", "")
        self.wanted = wanted
        self._filter_text = value
        try:
            page = audit_log.read_page_at_once(
                self.ctx, wanted, seconds=AT_ONCE_SECONDS, limit=FIRST_PAGE, site_ids=self.site_ids
            )
        except Exception:  # noqa: BLE001 - the database gone, say: the worker meets it too and reports it
            page = None
        if page is None:
            self._read(self._generation, wanted, None, newer=False)
        else:
            rows = [event_row(e) for e in page.events]
            self._show(self.EventsLoaded(self._generation, page, rows, older=False, newer=False))

    @on(Input.Submitted, "#audit-filter")
    def _filter_submitted(self) -> None:
        self.table.focus()

    # -- one event in full -----------------------------------------------

    @on(EventTable.Opened)
    def _opened(self, event: EventTable.Opened) -> None:
        self.app.push_screen(AuditEventScreen(self.ctx, event.event_id, site_ids=self.site_ids))

    def action_open_event(self) -> None:
        self.table.action_open()


def _cells(row: EventRow) -> tuple[str, ...]:
    # Data: the table shows it literally (visible stand-ins, never markup).
    return (row.at, row.operator, row.action, row.target, row.details)


def moment_text(moment: datetime) -> str:
    """A stored time as the language writes it; "UTC" is in the column's title."""
    return format_moment(moment).removesuffix(" UTC")
