"""The directory: the home screen, every user in one virtual table.

Database work runs in thread workers and comes back as messages; the screen
itself only filters, sorts and paints what is already in memory. Actions the
operator may not take on the cursor user are dimmed in the footer (the policy
table decides) and explained when pressed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.geometry import Size
from textual.message import Message
from textual.reactive import Reactive
from textual.widgets import Input, Label
from textual.worker import WorkerState

from onenet_tui import keys
from onenet_tui.data import directory as model
from onenet_tui.data.actor import Actor, Context
from onenet_tui.data.directory import Directory, DirectoryData, DirectoryRow
from onenet_tui.data.policy import ALLOWED, Action, Decision, decide
from onenet_tui.i18n import t
from onenet_tui.keys import KeyAction, Scope, Target
from onenet_tui.screens.dimmed_keys import ExplainsDimmedKeys
from onenet_tui.screens.first_run import FirstSteps, first_steps, first_steps_hint
from onenet_tui.screens.quiet import QuietBeneath
from onenet_tui.screens.relabel import LanguageChanged
from onenet_tui.screens.trail import tell_followers
from onenet_tui.screens.workers import ReportsWorkerFailures
from onenet_tui.visible import visible
from onenet_tui.widgets.key_footer import KeyFooter
from onenet_tui.widgets.refusal import refusal_text
from onenet_tui.widgets.status_header import StatusHeader
from onenet_tui.widgets.user_table import UserTable

if TYPE_CHECKING:
    from onenet_tui.data.directory.grams import GramView

NO_USER = Decision(False, None, "directory.no_user")


@dataclass(frozen=True)
class Picked:
    """Whom an action is about: the marked users, or else the cursor user."""

    cursor: DirectoryRow | None
    marked: frozenset[int]
    data: DirectoryData

    @property
    def ids(self) -> list[int]:
        if self.marked:
            return sorted(self.marked)
        return [self.cursor.id] if self.cursor else []

    @property
    def refs(self) -> list[str]:
        """The users as the services name them (``lookup.user_by_ref``): E.164 numbers."""
        rows = (self.data.row_by_id(user_id) for user_id in self.ids)
        return [row.ref for row in rows if row is not None]


# A flow opens the screens of one action (add a user, delete ...). The app
# holds them by key id (``OneNetApp.flows``), one for every flow key.
Flow = Callable[["DirectoryScreen", Picked], object]


class FilterInput(Input):
    """The filter line: typing filters at once; enter or down returns to the table."""

    BINDINGS = [Binding("down", "leave", show=False)]
    # Input resets its virtual size on every keystroke, and the stock reactive
    # lays out the whole screen for it; this line has a fixed size, so a
    # repaint is enough (it keeps each keystroke of the filter cheap).
    virtual_size = Reactive(Size(0, 0), layout=False)

    def action_leave(self) -> None:
        self.screen.query_one(UserTable).focus()


class DirectoryScreen(ReportsWorkerFailures, ExplainsDimmedKeys, QuietBeneath[None]):
    AUTO_FOCUS = "UserTable"
    BINDINGS = keys.bindings(Scope.DIRECTORY)
    # Changes by others show within two seconds: a look every second.
    POLL_SECONDS = 1.0
    # Tenants from this size on get the garbage collector's help (see _swap_data).
    FREEZE_FROM = 10_000

    class DataReady(Message):
        """Users read by a worker: the first page, everything, or the changes."""

        def __init__(self, data: DirectoryData, sites: frozenset[int] | None, *, loaded: bool = False) -> None:
            super().__init__()
            self.data = data
            # The scope it was read for (R25): an answer for other sites than
            # the operator's now is dropped, whatever its stamp.
            self.sites = sites
            # Made by a whole load (a snapshot caught up is a patch of data
            # nobody holds): its columns are new, whatever ``touched`` says.
            self.loaded = loaded

    class FirstStepsKnown(Message):
        """An empty directory: what the tenant lacks (sites, numbers, users)."""

        def __init__(self, steps: FirstSteps) -> None:
            super().__init__()
            self.steps = steps

    class IndexBuilt(Message):
        """The gram index of the loaded rows (data.directory.grams), for the filter."""

        def __init__(self, serial: int, grams: GramView) -> None:
            super().__init__()
            self.serial = serial
            self.grams = grams

    class GroupsRead(Message):
        """The memberships a ``group:`` term filters by were read (data.directory.groups)."""

    class ActorChanged(Message):
        """The operator's role in the database is not the one acted with."""

        def __init__(self, actor: Actor) -> None:
            super().__init__()
            self.actor = actor

    def __init__(
        self, ctx: Context, *, poll_seconds: float | None = None, first_page: DirectoryData | None = None
    ) -> None:
        super().__init__(id="directory")
        self.ctx = ctx
        # Read before the console started, without the ORM (data.launch): shown
        # at once, and the whole directory is loaded after the first frame.
        self._first_page = first_page
        self.directory = Directory()
        self.marks: set[int] = set()
        self.poll_seconds = poll_seconds or self.POLL_SECONDS
        self._stepping = False
        # Set by the load worker while it builds the gram index (see _load).
        self._indexing = False
        self._dimmed: tuple[bool, ...] = ()
        # A user the cursor should go to once a refresh brings their row.
        self._focus_wanted: int | None = None
        # An empty tenant says what to do first (SPEC section 11).
        self._first_steps: FirstSteps | None = None

    # -- layout

    def compose(self) -> ComposeResult:
        yield StatusHeader(self.ctx.actor, id="directory-header")
        with Horizontal(id="directory-filter-bar"):
            yield Label(t("directory.filter.prompt"), id="directory-filter-prompt")
            yield FilterInput(
                placeholder=t("directory_terms.filter.placeholder"), id="directory-filter", select_on_focus=False
            )
            yield Label("", id="directory-filter-error", markup=False)
        yield UserTable(self.directory, self.marks, id="directory-users")
        yield KeyFooter()

    @property
    def table(self) -> UserTable:
        return self.query_one(UserTable)

    @property
    def filter_input(self) -> FilterInput:
        return self.query_one(FilterInput)

    def _show_filter(self, shown: bool) -> None:
        self.query_one("#directory-filter-bar").display = shown

    def on_mount(self) -> None:
        # A watcher, not the Input.Changed message: it runs as the key is
        # handled, so the typed letter and the new rows share one frame.
        self.watch(self.filter_input, "value", self._apply_query, init=False)
        self._show_filter(False)
        self.query_one("#directory-filter-error").display = False
        self._show_state()
        first, self._first_page = self._first_page, None
        if first is None:
            self._load()
        else:
            self._swap_data(self.DataReady(first, self.ctx.actor.sites))  # now: in the first frame
            # The store opens (and the ORM is imported) in that worker: after
            # the first frame, which it would otherwise hold up.
            self.call_after_refresh(self._load, first)
        self.set_interval(self.poll_seconds, self._poll)

    def on_language_changed(self, message: LanguageChanged) -> None:
        """The language changed: every word on the screen follows."""
        self.filter_input.placeholder = t("directory_terms.filter.placeholder")
        self._show_filter_errors()
        self.query_one("#directory-filter-prompt", Label).update(t("directory.filter.prompt"))
        self.directory.relabel()
        self.query_one(StatusHeader).show_operator()
        self.table.relabel()
        self.table.reload(keep=self._cursor_id())
        self._show_state()
        self.refresh_bindings()

    # -- loading and live refresh (database work in threads)

    @work(thread=True, exclusive=True, group="directory-load", exit_on_error=False, description="load the directory")
    def _load(self, first: DirectoryData | None = None) -> None:
        """The first page (unless ``first`` is shown already), then everyone."""
        store, sites = self.ctx.store, self.ctx.actor.sites
        # Here, in the worker: the module imports the ORM. Per load, as the
        # scope (R25) may have changed; read on a group: term's first use.
        from onenet_tui.data.directory.groups import GroupIndex

        groups = self.directory.groups = GroupIndex(store, sites)
        if first is None:
            # R25: a site administrator's directory holds their sites' users only.
            first = model.load_first_page(store, sites=sites)
            self.post_message(self.DataReady(first, sites))
        if not first.complete:
            first = model.load(store, sites)
            self.post_message(self.DataReady(first, sites, loaded=True))
        # Here, after the rows: a group: term's key press never waits for them.
        groups.catch_up(first.stamp)
        self.post_message(self.GroupsRead())
        # After the rows are shown and counted (seconds at a million users):
        # the filter scans until it is there. No change poll runs meanwhile
        # (_poll), so these rows are the ones it indexes.
        self._indexing = True
        try:
            grams = model.gram_index(first)
        finally:
            self._indexing = False
        if grams is not None:
            self.post_message(self.IndexBuilt(first.serial, grams))
        # Last, in this worker: the next console's load reads it (issue 20.2).
        # Changes are polled meanwhile; one patched in gives the write up.
        from onenet_tui.data.directory import snapshot

        snapshot.keep(store, first, sites)

    def _poll(self) -> None:
        if not self.directory.data.complete or self._worker_running("directory-refresh"):
            return
        if self._indexing:
            return  # the gram index is being built from the rows shown: changes wait for it
        self._check_for_changes(self.directory.data)

    def refresh_now(self) -> None:
        """Look for changes at once (after this console changed something)."""
        self._poll()
        if not self.directory.total:
            self._look_at_first_steps()

    @work(thread=True, exclusive=True, group="first-steps", exit_on_error=False, description="look at the tenant")
    def _look_at_first_steps(self) -> None:
        self.post_message(self.FirstStepsKnown(first_steps(self.ctx)))

    @on(FirstStepsKnown)
    def _first_steps_known(self, message: FirstStepsKnown) -> None:
        self._first_steps = message.steps
        self._show_state()
        self.table.refresh()

    def focus_user(self, user_id: int) -> None:
        """Put the cursor on ``user_id`` as soon as their row is loaded (a user just added)."""
        if self.directory.data.index_of(user_id) is not None:
            # Already here: a change check while the wizard's credentials
            # screen was open brought the row, and no later answer will.
            self.table.reload(keep=user_id, fallback=self.table.cursor)
            self._after_change()
            return
        self._focus_wanted = user_id

    @property
    def is_filtered(self) -> bool:
        """Whether the list shows a subset: a query or a status filter is set."""
        return bool(self.directory.query) or self.directory.status is not None

    @work(thread=True, exclusive=True, group="directory-refresh", exit_on_error=False, description="look for changes")
    def _check_for_changes(self, data: DirectoryData) -> None:
        sites = self.ctx.actor.sites
        fresh = model.refresh(self.ctx.store, data, sites)
        if fresh is None:
            return
        groups = self.directory.groups
        if groups is not None:
            groups.catch_up(fresh.stamp)  # here, not on the next key press
        # A promotion or demotion is a change like any other (it is audited):
        # looked for only when something changed, so an idle check stays one query.
        actor = self._actor_now()
        if actor != self.ctx.actor:
            self.post_message(self.ActorChanged(actor))
        self.post_message(self.DataReady(fresh, sites))

    def _actor_now(self) -> Actor:
        """The operator as the database has them now (runs in the worker)."""
        from onenet_tui.data.context import current_actor

        return current_actor(self.ctx.store, self.ctx.actor)

    @on(IndexBuilt)
    def _index_built(self, message: IndexBuilt) -> None:
        self.directory.index_built(message.serial, message.grams)
        self._after_change()  # an answer under way finishes from the index

    @on(GroupsRead)
    def _groups_read(self) -> None:
        if self.directory.groups_read():
            self.table.reload(keep=self._cursor_id(), fallback=self.table.cursor)
            self._after_change()

    @on(ActorChanged)
    def _actor_changed(self, message: ActorChanged) -> None:
        change_actor = getattr(self.app, "change_actor", None)
        if change_actor is not None:
            change_actor(message.actor)  # every open screen, this one included
        else:
            self.ctx = replace(self.ctx, actor=message.actor)
            self.actor_changed()

    def actor_changed(self) -> None:
        """``self.ctx`` acts with a new role: the header and the dimmed keys follow."""
        header = self.query_one(StatusHeader)
        scope_changed = header.actor.sites != self.ctx.actor.sites
        header.actor = self.ctx.actor
        header.show_operator()
        self._refresh_footer()
        if scope_changed:
            # R25: other sites now, or all of them: read the directory again.
            self._load()

    def _worker_running(self, group: str) -> bool:
        return any(w.group == group and w.state in (WorkerState.PENDING, WorkerState.RUNNING) for w in self.workers)

    @on(DataReady)
    def _swap_data(self, message: DataReady) -> None:
        if message.data.stamp < self.directory.data.stamp:
            return  # an older answer overtaken by a newer one
        if message.sites != self.ctx.actor.sites:
            return  # read for the sites the operator had (R25); the reload for the new ones follows
        moved = message.data.stamp > self.directory.data.stamp
        keep, where = self._cursor_id(), self.table.cursor
        if self._focus_wanted is not None and message.data.index_of(self._focus_wanted) is not None:
            keep, self._focus_wanted = self._focus_wanted, None
        self.directory.replace_data(message.data)
        if message.data.complete and not len(message.data) and self._first_steps is None:
            self._look_at_first_steps()
        if message.data.complete:
            # Marks of users deleted meanwhile go; the others stay.
            self.marks.difference_update([i for i in self.marks if message.data.index_of(i) is None])
        # The cursor stays on its user; if they are gone, on the same line.
        self.table.reload(keep=keep, fallback=where)
        self._after_change()
        if moved:
            # Sites, numbers and groups change too: the screens over this one
            # that show them read again (this look is theirs as well).
            tell_followers(self.app, message.data.stamp)
        fresh = message.loaded or message.data.touched is None
        if message.data.complete and len(message.data) >= self.FREEZE_FROM and fresh:
            # Read afresh (not patched, whose columns are the frozen ones
            # changed in place): what it made lives as long as the console,
            # so the collector's full passes stop walking it, which removed
            # pauses of tens of milliseconds from keystrokes at 100,000 users
            # (benchmark). Small tenants (and test runs) do not need it.
            model.keep_long_lived()

    def show_worker_failure(self, group: str | None, reason: str) -> None:
        if group == "directory-load":
            # Not "Loading users…" for ever: the table says why it is empty.
            self.table.empty_message = t("workers.failed.load", reason=reason)

    # -- state shown around the table

    def _cursor_id(self) -> int | None:
        row = self.table.cursor_row
        return row.id if row else None

    def _show_state(self) -> None:
        directory = self.directory
        if directory.loading and not len(directory):
            message = t("directory.empty.loading")
        elif not directory.total and not directory.loading:
            message = first_steps_hint(self._first_steps, self.app) or t("directory.empty.none")
        elif directory.errors:
            message = t("directory_terms.empty.error")
        else:
            message = t("directory.empty.no_match")
        self.table.empty_message = message
        self.query_one(StatusHeader).show(directory, len(self.marks))

    def _after_change(self) -> None:
        """The answer changed: show it, finish it between frames, update the footer."""
        self._show_state()
        self._refresh_footer()
        if not self.directory.complete and not self._stepping:
            self._stepping = True
            self.call_after_refresh(self._work_step)

    def _work_step(self) -> None:
        self._stepping = False
        if self.directory.advance():
            self.table.update_size()
            self._show_state()
        else:
            self._stepping = True
            self.call_later(self._work_step)

    # -- the policy: dim, explain

    def picked(self) -> Picked:
        return Picked(self.table.cursor_row, frozenset(self.marks), self.directory.data)

    def key_decision(self, spec: KeyAction) -> Decision:
        if spec.target is Target.NONE:
            return ALLOWED if spec.policy is None else decide(spec.policy, self.ctx.actor.role)
        if spec.target is Target.SELECTION and (self.marks or (self.is_filtered and len(self.directory) > 1)):
            # R10: bulk credentials skip users without a desk phone, so only the
            # role matters. With a filter and no marks the operator is asked
            # (flows.credentials), and the cursor user's own refusal is said there.
            return decide(Action.BULK_CREDENTIALS, self.ctx.actor.role)
        row = self.table.cursor_row
        if row is None:
            return NO_USER
        if spec.policy is None:
            return ALLOWED
        return decide(spec.policy, self.ctx.actor.role, row.status, row.device_type)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "filter" and self.is_mounted and self.focused is self.filter_input:
            return False  # in the filter "/" is a character: "030/1234"
        if action == "open_flow" and parameters:
            spec = keys.BY_ID.get(str(parameters[0]))
        else:
            spec = keys.BY_ACTION.get(action)
        if spec is None or spec.scope is not Scope.DIRECTORY or not self.is_mounted:
            return True
        # None: shown dimmed in the footer, and explained when pressed (on_key).
        return True if self.key_decision(spec).allowed else None

    async def run_key_action(self, key_id: str) -> None:
        """Run an action by its key id, as the command palette does: refused
        actions are explained, as when their key is pressed."""
        spec = keys.BY_ID[key_id]
        if spec.scope is Scope.APP:
            await self.app.run_action(spec.action)
        elif self.key_decision(spec).allowed:
            await self.run_action(spec.action)
        else:
            self.explain(spec)

    # -- the filter

    def action_filter(self) -> None:
        self._show_filter(True)
        # Focused now, not after the keys already queued (Widget.focus waits
        # its turn): with the key's priority binding, "/schm" arriving in one
        # burst over SSH lands in the filter, not "c" on the credentials key.
        self.set_focus(self.filter_input)

    def action_clear_filter(self) -> None:
        self.filter_input.value = ""
        self._show_filter(False)
        self.table.focus()
        self._apply_query("")

    @on(Input.Submitted, "#directory-filter")
    def _query_submitted(self) -> None:
        if not self.filter_input.value:
            self._show_filter(False)
        self.table.focus()

    def _apply_query(self, query: str) -> None:
        if query == self.directory.query:
            return
        self.directory.set_query(query)
        # A new query starts at the top, as filters everywhere do.
        self.table.reload()
        self._show_filter_errors()
        self._after_change()

    def _show_filter_errors(self) -> None:
        """Name the terms the filter cannot use, in the filter line (the
        directory then shows nobody rather than ignoring them)."""
        error = self.directory.errors[0] if self.directory.errors else None
        label = self.query_one("#directory-filter-error", Label)
        if error is None:
            if label.display:
                label.display = False
            return
        # The name and value as typed, shown literally (a Label without markup).
        if error.reason == "unknown":
            text = t("directory_terms.error.unknown", name=visible(error.name))
        else:
            text = t("directory_terms.error.value", name=visible(error.name), value=visible(error.value))
        label.update(text)
        label.display = True

    def on_resize(self) -> None:
        # A sort never names a column that is not shown: narrowed below it, back to the name.
        self.call_after_refresh(self._keep_sort_shown)

    def _keep_sort_shown(self) -> None:
        if not self.is_mounted or self.directory.sort.value in self.table.shown_columns():
            return
        keep = self._cursor_id()
        self.directory.set_sort(model.SortColumn.NAME)
        self.table.reload(keep=keep)
        self._after_change()

    def action_cycle_status(self) -> None:
        keep = self._cursor_id()
        self.directory.cycle_status()
        self.table.reload(keep=keep)
        self._after_change()

    def action_cycle_sort(self) -> None:
        keep = self._cursor_id()
        self.directory.cycle_sort(self.table.shown_sorts())
        self.table.reload(keep=keep)
        self._after_change()

    def action_reverse_sort(self) -> None:
        keep = self._cursor_id()
        self.directory.reverse()
        self.table.reload(keep=keep)
        self._after_change()

    # -- marks

    def action_mark(self) -> None:
        row = self.table.cursor_row
        if row is None:
            return
        self.marks.symmetric_difference_update((row.id,))
        self._marks_changed()

    def action_mark_all(self) -> None:
        self.marks.update(self.directory.ids())
        self._marks_changed()

    def action_clear_marks(self) -> None:
        self.marks.clear()
        self._marks_changed()

    def _marks_changed(self) -> None:
        self.table.refresh()
        self._show_state()
        self._refresh_footer()

    @on(UserTable.CursorMoved)
    def _cursor_moved(self) -> None:
        self._refresh_footer()

    def role_refusals(self) -> dict[str, str]:
        """The directory's keys the operator's role can never use, by key id,
        with the refusal (R14): left out of the footer, listed in help with it."""
        refused = {}
        for spec in keys.specs(Scope.DIRECTORY):
            if spec.policy is not None:
                decision = decide(spec.policy, self.ctx.actor.role)
                if not decision.allowed:
                    refused[spec.id] = refusal_text(decision)
        return refused

    def footer_hidden(self) -> frozenset[str]:
        """Keys the footer leaves out: a helpdesk operator sees the keys they
        can use rather than seven dimmed ones (``widgets.key_footer``)."""
        return frozenset(self.role_refusals())

    def _refresh_footer(self) -> None:
        """Redraw the footer when what it dims changed."""
        dimmed = tuple(self.key_decision(spec).allowed for spec in keys.specs(Scope.DIRECTORY))
        if dimmed != self._dimmed:
            self._dimmed = dimmed
            self.refresh_bindings()

    # -- actions that open other screens (flows)

    def action_open_flow(self, key_id: str) -> None:
        """The keys that open other screens (``open_flow('delete')``)."""
        spec = keys.BY_ID[key_id]
        if not self.key_decision(spec).allowed:
            self.explain(spec)
            return
        flow: Flow = self.app.flows[key_id]  # type: ignore[attr-defined]  # hosted by OneNetApp only
        flow(self, self.picked())
