"""The groups (SPEC section 11, R22), key ``G``: every group with its kind,
site and member count, filtered as you type; one group's members with their
status and role; the member picker that applies R4 and R6 before you choose.

Every save of members is one service call (``memberships.set_group_members``,
one transaction and one audit event), checked against the group's version as
shown: a group changed meanwhile is refused as stale, said so, and shown
afresh. Rename and delete go through ``groups``; a delete lists the members,
who should be told, with Cancel focused. A helpdesk operator sees every
change dimmed (R14). Lists are virtual: 2,000 members paint only the lines
on screen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal
from textual.geometry import Size
from textual.message import Message
from textual.reactive import Reactive
from textual.widgets import Input, Label, Select, Static

from onenet_tui import keys
from onenet_tui.data import checks, groups, memberships, sites
from onenet_tui.data.context import Context
from onenet_tui.data.errors import DomainError, StaleData
from onenet_tui.data.groups import Candidate, DeletedGroup, GroupDetail, GroupMemberRow, GroupSummary
from onenet_tui.data.models import CallCenterRole, GroupKind
from onenet_tui.i18n import t
from onenet_tui.screens.lifecycle_base import error_text
from onenet_tui.screens.relabel import LanguageChanged, RelabelledModal
from onenet_tui.screens.save_file import ConfirmScreen
from onenet_tui.screens.tenant_base import PolicyKeys, TenantForm, field_label, literal_lines, on_result
from onenet_tui.screens.trail import FollowsTrail
from onenet_tui.screens.workers import ReportsWorkerFailures, post_unless_cancelled
from onenet_tui.widgets.badges import badge
from onenet_tui.widgets.cursor_table import CursorTable
from onenet_tui.widgets.field import literal, refusal_text
from onenet_tui.widgets.footer import TranslatedFooter

GROUP_COLUMNS = ("group", "kind", "site", "members")
MEMBER_COLUMNS = ("status", "name", "username", "role", "note")
PICK_COLUMNS = ("pick", "status", "name", "username", "note")
# How many members a delete confirmation names before it says "and N more".
NAMED_MEMBERS = 12


def kind_word(kind: str) -> str:
    return t(f"kind.{kind}")


def role_word(role: str | None) -> str:
    return t(f"role.{role}") if role else ""


def matches(query: str, *texts: str) -> bool:  # the groups list (the picker keeps its own)
    """Every word of ``query`` in one of ``texts``, case ignored."""
    words = query.casefold().split()
    haystack = " ".join(texts).casefold()
    return all(word in haystack for word in words)


class FilterLine(Input):
    """Typing filters at once; ``enter`` or ``↓`` goes to the list."""

    # As the directory's filter: a line of fixed size needs a repaint per
    # keystroke, not the layout of the whole screen Input asks for.
    virtual_size = Reactive(Size(0, 0), layout=False)

    def action_leave(self) -> None:
        self.screen.set_focus(self.screen.query_one(CursorTable))

    async def _on_key(self, event: events.Key) -> None:
        if self.screen.focused is not self:
            # Typed in one burst with the ↓ (or enter) that left the filter, as
            # over SSH: the keys after it were queued here, but belong to the
            # list ("↓ space" picks, it does not type a space).
            event.stop()
            event.prevent_default()
            self.app.post_message(events.Key(event.key, event.character))
            return
        if event.key in ("down", "enter"):
            # Here, not as a binding: a binding runs once the key has bubbled
            # up, after the keys queued behind it were typed into the filter.
            event.stop()
            event.prevent_default()
            self.action_leave()
            return
        await super()._on_key(event)


# --- every group ---------------------------------------------------------------------


class GroupsScreen(ReportsWorkerFailures, FollowsTrail, PolicyKeys):
    BINDINGS: ClassVar[list[BindingType]] = [
        keys.binding("group_list.add"),
        keys.binding("group_list.open"),
        keys.binding("group_list.filter"),
        keys.binding("group_list.back"),
    ]
    DEFAULT_CSS = """
    GroupsScreen .tenant-title { height: 1; padding: 0 1; background: $panel; text-style: bold; }
    GroupsScreen #groups-filter-bar { height: 1; }
    GroupsScreen #groups-filter-prompt { padding: 0 1; }
    GroupsScreen #groups-filter { border: none; height: 1; padding: 0; width: 1fr; }
    GroupsScreen #groups-table { height: 1fr; }
    """

    class Loaded(Message):
        def __init__(self, found: list[GroupSummary]) -> None:
            super().__init__()
            self.groups = found

    def __init__(self, ctx: Context) -> None:
        super().__init__(id="groups")
        self.ctx = ctx
        self.groups: list[GroupSummary] = []
        self.shown: list[GroupSummary] = []

    def compose(self) -> ComposeResult:
        yield Static("", id="groups-title", classes="tenant-title")
        with Horizontal(id="groups-filter-bar"):
            yield Label(t("tenant_ui.groups.filter"), id="groups-filter-prompt")
            yield FilterLine(placeholder=t("tenant_ui.groups.filter_placeholder"), id="groups-filter")
        yield CursorTable(self._titles(), limits=(40, 20, 24), id="groups-table")
        yield TranslatedFooter(compact=True)

    def _titles(self) -> list[str]:
        return [t(f"tenant_ui.groups.column.{c}") for c in GROUP_COLUMNS]

    @property
    def table(self) -> CursorTable:
        return self.query_one("#groups-table", CursorTable)

    @property
    def filter_input(self) -> FilterLine:
        return self.query_one(FilterLine)

    @property
    def cursor_group(self) -> GroupSummary | None:
        return self.shown[min(self.table.cursor, len(self.shown) - 1)] if self.shown else None

    def on_mount(self) -> None:
        self.table.focus()
        self._show_title()
        self.reload()

    def on_language_changed(self, message: LanguageChanged) -> None:
        self.table.set_titles(self._titles())
        self.query_one("#groups-filter-prompt", Label).update(t("tenant_ui.groups.filter"))
        self.filter_input.placeholder = t("tenant_ui.groups.filter_placeholder")
        self._show(keep=self.cursor_group)
        self.refresh_bindings()

    def reload(self) -> None:
        self._load()

    def trail_moved(self) -> None:
        # A group added, renamed or deleted, or members changed, by anyone:
        # the list again; the filter as typed and the cursor's group stay.
        self.reload()

    @work(thread=True, exclusive=True, group="groups-load", exit_on_error=False, description="load the groups")
    def _load(self) -> None:
        post_unless_cancelled(self, self.Loaded(groups.group_summaries(self.ctx)))

    @on(Loaded)
    def _loaded(self, message: Loaded) -> None:
        keep = self.cursor_group
        self.groups = message.groups
        self._show(keep=keep)

    @on(Input.Changed, "#groups-filter")
    def _filtered(self) -> None:
        self._show()

    @on(Input.Submitted, "#groups-filter")
    def _filter_done(self) -> None:
        self.set_focus(self.table)

    def _show(self, keep: GroupSummary | None = None) -> None:
        query = self.filter_input.value
        self.shown = [g for g in self.groups if matches(query, g.name, g.site, kind_word(g.kind))]
        ids = [g.id for g in self.shown]
        cursor = ids.index(keep.id) if keep is not None and keep.id in ids else 0
        rows = [(g.name, kind_word(g.kind), g.site, str(g.members)) for g in self.shown]
        self.table.replace_rows(rows, cursor=cursor)
        self._show_title()
        self.refresh_bindings()  # open needs a group under the cursor

    def _show_title(self) -> None:
        title = self.query_one("#groups-title", Static)
        if not self.groups:
            title.update(literal(t("tenant_ui.groups.none")))
        else:
            title.update(literal(t("tenant_ui.groups.title", shown=len(self.shown), count=len(self.groups))))

    def show_worker_failure(self, group: str | None, reason: str) -> None:
        self.query_one("#groups-title", Static).update(literal(t("workers.failed.load", reason=reason)))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "filter" and self.is_mounted and self.focused is self.filter_input:
            return False  # in the filter "/" is a character
        if action == "open_group" and self.cursor_group is None:
            return False
        return super().check_action(action, parameters)

    def action_filter(self) -> None:
        self.set_focus(self.filter_input)

    def action_back(self) -> None:
        if self.focused is self.filter_input and self.filter_input.value:
            self.filter_input.value = ""
            self.table.focus()
            return
        self.dismiss(None)

    def action_open_group(self) -> None:
        group = self.cursor_group
        if group is not None:
            self.app.push_screen(
                GroupScreen(self.ctx, group.name, site=group.site, kind=group.kind), lambda _result: self.reload()
            )

    def action_add_group(self) -> None:
        def added(group: GroupSummary) -> None:
            self.notify(
                t("tenant_ui.groups.added", group=group.name, kind=kind_word(group.kind), site=group.site), markup=False
            )
            self.reload()

        self.app.push_screen(AddGroupForm(self.ctx), on_result(added))


# --- one group ------------------------------------------------------------------------


@dataclass(frozen=True)
class Saved:
    """What a save of members did, or why not."""

    change: memberships.MembershipChange | None = None
    error: DomainError | None = None
    notices: list[str] = field(default_factory=list)


def member_note(member: GroupMemberRow) -> str:
    return t("tenant_ui.members.r6_note") if member.notice else ""


class GroupScreen(ReportsWorkerFailures, FollowsTrail, PolicyKeys):
    """One group: its members (status badge, name, username, role), and the
    changes an administrator may make to them and to the group."""

    BINDINGS: ClassVar[list[BindingType]] = [
        keys.binding("group.add_members"),
        keys.binding("group.remove"),
        keys.binding("group.role"),
        keys.binding("group.rename"),
        keys.binding("group.delete"),
        keys.binding("group.back"),
    ]
    DEFAULT_CSS = """
    GroupScreen .tenant-title { height: 1; padding: 0 1; background: $panel; text-style: bold; }
    GroupScreen #group-banner { height: auto; padding: 0 1; color: $text-warning; }
    GroupScreen #members-table { height: 1fr; }
    """

    class Loaded(Message):
        def __init__(self, detail: GroupDetail) -> None:
            super().__init__()
            self.detail = detail

    class SaveDone(Message):
        def __init__(self, saved: Saved) -> None:
            super().__init__()
            self.saved = saved

    class Deleted(Message):
        def __init__(self, deleted: DeletedGroup | None, error: DomainError | None) -> None:
            super().__init__()
            self.deleted, self.error = deleted, error

    def __init__(self, ctx: Context, name: str, *, site: str | None = None, kind: str | None = None) -> None:
        super().__init__(id="group")
        self.ctx = ctx
        self.group_name = name
        # R22: the name is unique only per site and kind, which a rename keeps.
        self.group_site, self.group_kind = site, kind
        self.detail: GroupDetail | None = None
        self.saving = False

    def compose(self) -> ComposeResult:
        yield Static(literal(self.group_name), id="group-title", classes="tenant-title")
        yield Static("", id="group-banner")
        yield CursorTable(self._titles(), limits=(12, 30, 24, 12, 40), id="members-table")
        yield TranslatedFooter(compact=True)

    def _titles(self) -> list[str]:
        return [t(f"tenant_ui.members.column.{c}") for c in MEMBER_COLUMNS]

    @property
    def table(self) -> CursorTable:
        return self.query_one("#members-table", CursorTable)

    @property
    def members(self) -> list[GroupMemberRow]:
        return self.detail.members if self.detail else []

    @property
    def cursor_member(self) -> GroupMemberRow | None:
        found = self.members
        return found[min(self.table.cursor, len(found) - 1)] if found else None

    @property
    def is_call_center(self) -> bool:
        return self.detail is not None and self.detail.kind == GroupKind.CALL_CENTER.value

    def on_mount(self) -> None:
        self.query_one("#group-banner", Static).display = False
        self.table.focus()
        self.reload()

    def on_language_changed(self, message: LanguageChanged) -> None:
        self.table.set_titles(self._titles())
        self._show()
        self.refresh_bindings()

    def say(self, text: str) -> None:
        banner = self.query_one("#group-banner", Static)
        banner.update(literal(text))
        banner.display = bool(text)

    def reload(self) -> None:
        # Once shown, by its id: renamed by someone else meanwhile, it is still this group.
        self._load(self.group_name, self.detail.id if self.detail is not None else None)

    def trail_moved(self) -> None:
        # Members added, removed or given another role, or the group renamed,
        # by anyone: read again, the cursor staying on its member. Not in the
        # middle of this screen's own save, whose answer reloads anyway.
        if not self.saving:
            self.reload()

    class LoadRefused(Message):
        """The group is gone (deleted, or renamed by someone else)."""

        def __init__(self, error: DomainError) -> None:
            super().__init__()
            self.error = error

    @work(thread=True, exclusive=True, group="group-load", exit_on_error=False, description="load the group")
    def _load(self, name: str, group_id: int | None) -> None:
        try:
            if group_id is not None:
                detail = groups.group_detail_by_id(self.ctx, group_id, name)
            else:
                detail = groups.group_detail(self.ctx, name, site=self.group_site, kind=self.group_kind)
        except DomainError as error:
            post_unless_cancelled(self, self.LoadRefused(error))
            return
        post_unless_cancelled(self, self.Loaded(detail))

    @on(LoadRefused)
    def _load_refused(self, message: LoadRefused) -> None:
        self.detail = None
        self.table.replace_rows([])
        self.say(t("tenant_ui.members.gone", error=error_text(message.error)))
        self.refresh_bindings()

    @on(Loaded)
    def _loaded(self, message: Loaded) -> None:
        keep = self.cursor_member.username if self.cursor_member else None
        self.detail = message.detail
        self.group_name = message.detail.name
        self.group_site, self.group_kind = message.detail.site, message.detail.kind
        self._show(keep)

    def _show(self, keep: str | None = None) -> None:
        names = [m.username for m in self.members]
        cursor = names.index(keep) if keep in names else self.table.cursor
        rows = [(badge(m.status), m.name, m.username, role_word(m.role), member_note(m)) for m in self.members]
        self.table.replace_rows(rows, cursor=cursor)
        detail = self.detail
        if detail is not None:
            self.query_one("#group-title", Static).update(
                literal(
                    t(
                        "tenant_ui.members.title",
                        group=detail.name,
                        kind=kind_word(detail.kind),
                        site=detail.site,
                        count=len(detail.members),
                    )
                )
            )
        self.refresh_bindings()

    def show_worker_failure(self, group: str | None, reason: str) -> None:
        self.saving = False
        key = "workers.failed.load" if group == "group-load" else "workers.failed.save"
        self.say(t(key, reason=reason))

    # -- the keys

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "toggle_role" and not self.is_call_center:
            return False  # only call centers have roles: not shown elsewhere
        allowed = super().check_action(action, parameters)
        if not allowed:
            return allowed
        if action in ("remove_member", "toggle_role") and self.cursor_member is None:
            return None
        if self.detail is None and action != "back":
            return None
        return True

    def explain(self, spec: keys.KeyAction) -> None:
        if not self.key_decision(spec).allowed:
            super().explain(spec)
        elif spec.id in ("group.remove", "group.role") and self.cursor_member is None:
            self.notify(t("tenant_ui.members.none_here"), severity="warning", markup=False)

    def action_back(self) -> None:
        self.dismiss(None)

    def _current(self) -> list[tuple[str, str | None]]:
        return [(m.username, m.role) for m in self.members]

    def save(self, wanted: list[tuple[str, str | None]]) -> None:
        """The members become ``wanted``: one service call, checked against
        the version shown (R22)."""
        if self.detail is None or self.saving:
            return
        self.saving = True
        self.say(t("lifecycle.saving"))
        self._save(self.detail.name, wanted, self.detail.version)

    @work(thread=True, exclusive=True, group="group-save", exit_on_error=False, description="save the members")
    def _save(self, name: str, wanted: list[tuple[str, str | None]], version: int) -> None:
        try:
            done = memberships.set_group_members(
                self.ctx, name, wanted, expected_version=version, site=self.group_site, kind=self.group_kind
            )
        except DomainError as error:
            post_unless_cancelled(self, self.SaveDone(Saved(error=error)))
            return
        post_unless_cancelled(self, self.SaveDone(Saved(done, notices=[n.key for n in done.notices])))

    @on(SaveDone)
    def _saved(self, message: SaveDone) -> None:
        self.saving = False
        saved = message.saved
        for key in dict.fromkeys(saved.notices):
            self.notify(t(key), title=t("lifecycle.groups.notice"), severity="warning", markup=False, timeout=10)
        if isinstance(saved.error, StaleData):
            # Nothing was saved; what is there now is shown (R22).
            self.say(t("tenant_ui.members.stale", error=error_text(saved.error)))
        elif saved.error is not None:
            self.say(t("lifecycle.groups.refused", error=error_text(saved.error)))
            return
        else:
            assert saved.change is not None
            self.say("")
            change = saved.change
            self.notify(
                t(
                    "tenant_ui.members.saved",
                    joined=len(change.joined),
                    left=len(change.left),
                    roles=len(change.roles),
                ),
                markup=False,
            )
        self.reload()

    def action_remove_member(self) -> None:
        member = self.cursor_member
        if member is None:
            return
        self.save([(u, r) for u, r in self._current() if u != member.username])

    def action_toggle_role(self) -> None:
        member = self.cursor_member
        if member is None or not self.is_call_center:
            return
        other = CallCenterRole.AGENT.value if member.role == CallCenterRole.SUPERVISOR.value else "supervisor"
        self.save([(u, other if u == member.username else r) for u, r in self._current()])

    def action_add_members(self) -> None:
        if self.detail is None:
            return
        current = self._current()

        def picked(chosen: list[tuple[str, str | None]]) -> None:
            if chosen:
                self.save(current + chosen)

        self.app.push_screen(MemberPicker(self.ctx, self.detail), on_result(picked))

    def action_rename(self) -> None:
        if self.detail is None:
            return

        def renamed(group: GroupSummary) -> None:
            self.group_name = group.name
            self.notify(t("tenant_ui.groups.renamed", group=group.name), markup=False)
            self.reload()

        self.app.push_screen(RenameGroupForm(self.ctx, self.detail), on_result(renamed))

    def action_delete_group(self) -> None:
        detail = self.detail
        if detail is None:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._delete(detail.name, detail.version)

        self.app.push_screen(
            ConfirmScreen(
                lambda: t("tenant_ui.delete.title", group=detail.name),
                lambda: literal_lines(delete_question(detail)),
                lambda: t("tenant_ui.delete.button"),
            ),
            answered,
        )

    @work(thread=True, exclusive=True, group="group-save", exit_on_error=False, description="delete the group")
    def _delete(self, name: str, version: int) -> None:
        try:
            done = groups.delete_group(
                self.ctx, name, expected_version=version, site=self.group_site, kind=self.group_kind
            )
        except DomainError as error:
            post_unless_cancelled(self, self.Deleted(None, error))
            return
        post_unless_cancelled(self, self.Deleted(done, None))

    @on(Deleted)
    def _deleted(self, message: Deleted) -> None:
        if message.error is not None:
            self.say(t("tenant_ui.delete.refused", error=error_text(message.error)))
            self.reload()
            return
        deleted = message.deleted
        assert deleted is not None
        names = ", ".join(m.username for m in deleted.members)
        key = "tenant_ui.delete.done_tell" if deleted.members else "tenant_ui.delete.done"
        self.notify(t(key, group=deleted.name, count=len(deleted.members), members=names), markup=False, timeout=30)
        self.dismiss(True)


def delete_question(detail: GroupDetail) -> str:
    """What deleting removes, and the members who should be told (R22)."""
    if not detail.members:
        return t("tenant_ui.delete.question_empty", group=detail.name)
    named = [f"  {m.name} ({m.username})" for m in detail.members[:NAMED_MEMBERS]]
    more = len(detail.members) - NAMED_MEMBERS
    lines = [t("tenant_ui.delete.question", group=detail.name, count=len(detail.members)), *named]
    if more > 0:
        lines.append(t("tenant_ui.delete.more", count=more))
    return "\n".join(lines)


# --- the member picker ----------------------------------------------------------------


def pick_note(candidate: Candidate, role: str | None) -> str:
    """Why a user cannot join (R4, R14), or the R6 word for a supervisor."""
    if candidate.member:
        return t("tenant_ui.picker.member")
    if not candidate.decision.allowed:
        return refusal_text(candidate.decision)
    if role == CallCenterRole.SUPERVISOR.value and checks.supervisor_notice(role, list(candidate.services)):
        return t("tenant_ui.members.r6_note")
    return ""


class MemberPicker(ReportsWorkerFailures, RelabelledModal[list[tuple[str, str | None]]]):
    """Users of the group's site, filtered as typed: those R4 (or R14) keeps
    out are shown dimmed with the reason and cannot be picked. ``space``
    picks (in a call center: agent, then supervisor, then not), ``ctrl+s``
    adds the picked. Dismisses with the picked (username, role)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        keys.binding("picker.pick"),
        keys.binding("picker.save"),
        keys.binding("picker.cancel"),
        keys.binding("language", "app.switch_language", show=False),
    ]
    DEFAULT_CSS = """
    MemberPicker { align: center middle; }
    MemberPicker #picker { width: 100%; height: 100%; max-width: 100; background: $surface; }
    MemberPicker .tenant-title { height: 1; padding: 0 1; background: $panel; text-style: bold; }
    MemberPicker #picker-filter-bar { height: 1; }
    MemberPicker #picker-filter-prompt { padding: 0 1; }
    MemberPicker #picker-filter { border: none; height: 1; padding: 0; width: 1fr; }
    MemberPicker #picker-table { height: 1fr; }
    MemberPicker #picker-status { height: auto; max-height: 4; padding: 0 1; }
    """

    class Loaded(Message):
        def __init__(self, found: list[Candidate]) -> None:
            super().__init__()
            self.candidates = found

    def __init__(self, ctx: Context, detail: GroupDetail) -> None:
        super().__init__()
        self.ctx = ctx
        self.detail = detail
        self.candidates: list[Candidate] = []
        self.shown: list[Candidate] = []
        self.picked: dict[str, str | None] = {}
        self.loaded = False
        self._haystacks: dict[str, str] = {}
        self._lines: dict[str, tuple[str, ...]] = {}

    @property
    def call_center(self) -> bool:
        return self.detail.kind == GroupKind.CALL_CENTER.value

    def compose(self) -> ComposeResult:
        from textual.containers import Vertical

        with Vertical(id="picker"):
            yield Static(literal(t("tenant_ui.picker.title", group=self.detail.name)), classes="tenant-title")
            with Horizontal(id="picker-filter-bar"):
                yield Label(t("tenant_ui.groups.filter"), id="picker-filter-prompt")
                yield FilterLine(placeholder=t("tenant_ui.picker.filter_placeholder"), id="picker-filter")
            yield CursorTable(self._titles(), limits=(14, 12, 26, 22, 60), id="picker-table")
            yield Static("", id="picker-status")
            yield TranslatedFooter(show_command_palette=False)

    def _titles(self) -> list[str]:
        return [t(f"tenant_ui.picker.column.{c}") for c in PICK_COLUMNS]

    @property
    def table(self) -> CursorTable:
        return self.query_one("#picker-table", CursorTable)

    @property
    def filter_input(self) -> FilterLine:
        return self.query_one(FilterLine)

    @property
    def cursor_candidate(self) -> Candidate | None:
        return self.shown[min(self.table.cursor, len(self.shown) - 1)] if self.shown else None

    def on_mount(self) -> None:
        self.filter_input.focus()
        self._status()
        self._load(self.detail.name)

    async def relabel(self) -> None:
        # The picks are kept in self.picked, the filter text is carried over.
        await super().relabel()
        self._lines.clear()
        self._show(keep=None)

    @work(thread=True, exclusive=True, group="picker-load", exit_on_error=False, description="load the users")
    def _load(self, name: str) -> None:
        try:
            found = groups.candidates(self.ctx, name, site=self.detail.site, kind=self.detail.kind)
        except DomainError as error:  # the group went meanwhile
            post_unless_cancelled(self, self.Refused(error_text(error)))
            return
        post_unless_cancelled(self, self.Loaded(found))

    class Refused(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    @on(Refused)
    def _refused(self, message: Refused) -> None:
        self.query_one("#picker-status", Static).update(literal(message.text))

    def show_worker_failure(self, group: str | None, reason: str) -> None:
        self.query_one("#picker-status", Static).update(literal(t("workers.failed.load", reason=reason)))

    @on(Loaded)
    def _loaded(self, message: Loaded) -> None:
        self.candidates = message.candidates
        self.loaded = True
        self._show()

    @on(CursorTable.Moved, "#picker-table")
    def _cursor_moved(self) -> None:
        self._status()

    @on(Input.Changed, "#picker-filter")
    def _filtered(self) -> None:
        self._show()

    @on(Input.Submitted, "#picker-filter")
    def _filter_done(self) -> None:
        self.set_focus(self.table)

    def _pickable(self, candidate: Candidate) -> bool:
        return candidate.decision.allowed and not candidate.member

    def _pick_cell(self, candidate: Candidate) -> str:
        if candidate.username in self.picked:
            role = self.picked[candidate.username]
            return f"[x] {role_word(role)}".rstrip() if role else "[x]"
        return "[ ]" if self._pickable(candidate) else " - "

    def _show(self, keep: str | None = None) -> None:
        query = self.filter_input.value.casefold().split()
        current = self.cursor_candidate
        keep = keep or (current.username if current else None)
        self.shown = [c for c in self.candidates if all(word in self._haystack(c) for word in query)]
        names = [c.username for c in self.shown]
        cursor = names.index(keep) if keep in names else 0
        dimmed = [i for i, c in enumerate(self.shown) if not self._pickable(c)]
        self.table.replace_rows([self._cells(c) for c in self.shown], emphasised=dimmed, cursor=cursor)
        self._status()

    def _haystack(self, candidate: Candidate) -> str:
        found = self._haystacks.get(candidate.username)
        if found is None:
            found = self._haystacks[candidate.username] = " ".join(
                (candidate.first_name, candidate.last_name, candidate.username)
            ).casefold()
        return found

    def _cells(self, candidate: Candidate) -> tuple[str, ...]:
        """A candidate's line, made once per pick (each keystroke of the
        filter only chooses among 2,000 lines made before)."""
        found = self._lines.get(candidate.username)
        if found is None:
            found = self._lines[candidate.username] = (
                self._pick_cell(candidate),
                badge(candidate.status),
                f"{candidate.last_name}, {candidate.first_name}",
                candidate.username,
                pick_note(candidate, self.picked.get(candidate.username)),
            )
        return found

    def _status(self) -> None:
        if not self.loaded:
            text = t("tenant_ui.picker.loading")
        elif not self.candidates:
            text = t("tenant_ui.picker.nobody", site=self.detail.site)
        else:
            text = t(
                "tenant_ui.picker.status", shown=len(self.shown), count=len(self.candidates), picked=len(self.picked)
            )
            current = self.cursor_candidate
            note = pick_note(current, self.picked.get(current.username)) if current else ""
            if current is not None and note:
                # The note column may be cut at 80 columns: the cursor user's in full.
                text += "\n" + t("tenant_ui.picker.cursor_note", username=current.username, note=note)
        self.query_one("#picker-status", Static).update(literal_lines(text))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "pick" and self.focused is self.filter_input:
            return False  # a space in the filter is a space
        return True

    def action_pick(self) -> None:
        candidate = self.cursor_candidate
        if candidate is None:
            return
        if not self._pickable(candidate):
            reason = pick_note(candidate, None)
            self.notify(reason, title=t("tenant_ui.picker.not_pickable"), severity="warning", markup=False)
            return
        name = candidate.username
        if name not in self.picked:
            self.picked[name] = CallCenterRole.AGENT.value if self.call_center else None
        elif self.call_center and self.picked[name] == CallCenterRole.AGENT.value:
            self.picked[name] = CallCenterRole.SUPERVISOR.value
        else:
            del self.picked[name]
        self._lines.pop(name, None)
        self._show(keep=name)

    def action_save(self) -> None:
        self.dismiss([(name, role) for name, role in self.picked.items()])

    def action_cancel(self) -> None:
        self.dismiss(None)


# --- the dialogs -------------------------------------------------------------------


KINDS = tuple(kind.value for kind in GroupKind)


class AddGroupForm(TenantForm[GroupSummary]):
    """R22: a name unique in the tenant, the site, the kind."""

    TITLE_KEY = "tenant_ui.group_form.title"

    class SitesKnown(Message):
        def __init__(self, names: list[str]) -> None:
            super().__init__()
            self.names = names

    def fields(self) -> ComposeResult:
        yield field_label(t("tenant_ui.group_form.name"))
        yield Input(id="group-name", max_length=200)
        yield field_label(t("tenant_ui.group_form.site"))
        # The sites as last read: made again, in the other language, on L.
        yield Select[str](
            [(literal(n).plain, n) for n in self.site_names],
            id="group-site",
            prompt=t("tenant_ui.group_form.site_prompt"),
        )
        yield field_label(t("tenant_ui.group_form.kind"))
        yield Select([(kind_word(k), k) for k in KINDS], value=KINDS[0], allow_blank=False, id="group-kind")

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.site_names: list[str] = []

    def on_mount(self) -> None:
        super().on_mount()
        self._sites()

    @work(thread=True, exclusive=True, group="group-form-sites", exit_on_error=False, description="load the sites")
    def _sites(self) -> None:
        post_unless_cancelled(self, self.SitesKnown([s.name for s in sites.list_sites(self.ctx)]))

    @on(SitesKnown)
    def _sites_known(self, message: SitesKnown) -> None:
        self.site_names = message.names
        select = self.query_one("#group-site", Select)
        chosen = select.value
        select.set_options([(literal(n).plain, n) for n in message.names])
        if chosen in message.names:
            select.value = chosen
        elif len(message.names) == 1:
            select.value = message.names[0]
        if not message.names:
            self.banner.show(t("tenant_ui.group_form.no_sites"), "warning")

    def values(self) -> tuple[str, str, str]:
        site = self.query_one("#group-site", Select).value
        kind = self.query_one("#group-kind", Select).value
        return (
            str(site) if site != Select.BLANK else "",
            str(kind),
            self.query_one("#group-name", Input).value,
        )

    def send(self, values: tuple[str, str, str]) -> GroupSummary:
        site, kind, name = values
        if not site:
            from onenet_tui.data.errors import InvalidInput

            raise InvalidInput.single("site", "field.required")
        return groups.add_group(self.ctx, site, kind, name)


class RenameGroupForm(TenantForm[GroupSummary]):
    TITLE_KEY = "tenant_ui.rename_form.title"

    def __init__(self, ctx: Context, detail: GroupDetail) -> None:
        super().__init__(ctx)
        self.detail = detail

    def title_text(self) -> str:
        return t(self.TITLE_KEY, group=self.detail.name)

    def fields(self) -> ComposeResult:
        yield field_label(t("tenant_ui.rename_form.name"))
        yield Input(self.detail.name, id="group-new-name", max_length=200)

    def values(self) -> str:
        return self.query_one("#group-new-name", Input).value

    def send(self, values: Any) -> GroupSummary:
        return groups.rename_group(
            self.ctx,
            self.detail.name,
            str(values),
            expected_version=self.detail.version,
            site=self.detail.site,
            kind=self.detail.kind,
        )
