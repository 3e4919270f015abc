"""Choosing a user's groups at one site (R4, R6), reused by the add-user
wizard (for a user who will be pending) and by the group assignments of an
existing user (with the user's real status).

Every group of the site is listed under its kind. A group the policy table
will not let this user join is still shown, disabled, with the rule and its
reason underneath, so the operator learns why before trying. Call center
choices carry a role (agent or supervisor) and the R6 hint: the supervisor
service is only needed to use the call center as a supervisor, so a user
without it may still be made one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Checkbox, Label, Select, Static

from onenet_tui.data.models import CallCenterRole, GroupKind, Role, Status
from onenet_tui.data.policy import JOIN_ACTION, Action, Decision, decide
from onenet_tui.i18n import t
from onenet_tui.widgets.choices import TickBox
from onenet_tui.widgets.field import literal, refusal_text

# Hunt groups and call centers first: they are the ones R4 restricts.
KIND_ORDER = (GroupKind.HUNT_GROUP, GroupKind.CALL_CENTER, GroupKind.PICKUP, GroupKind.CALL_PARK)


@dataclass(frozen=True)
class GroupOption:
    """A group the user could belong to (plain data, from any session)."""

    name: str
    kind: str


class GroupRow(Horizontal):
    """One group: a checkbox, for a call center the role, and why it is off."""

    def __init__(self, option: GroupOption, *, member: bool, role: str | None, join: Decision, leave: Decision) -> None:
        super().__init__(classes="group-row")
        self.option = option
        self.join = join
        is_call_center = option.kind == GroupKind.CALL_CENTER.value
        # A current member may still leave a group they could not join now.
        can_toggle = join.allowed or (member and leave.allowed)
        self.checkbox: Checkbox = TickBox(literal(option.name), member, compact=True, disabled=not can_toggle)
        self.role_select: Select[str] | None = None
        if is_call_center:
            roles = [(t(f"role.{r.value}"), r.value) for r in (CallCenterRole.AGENT, CallCenterRole.SUPERVISOR)]
            self.role_select = Select(
                roles,
                value=role or CallCenterRole.AGENT.value,
                allow_blank=False,
                compact=True,
                disabled=not join.allowed,
            )
        refused = join if not join.allowed else None
        if refused is None and not can_toggle:
            refused = leave
        self.reason = refusal_text(refused) if refused is not None else None

    def compose(self) -> ComposeResult:
        with Vertical(classes="group-row--main"):
            with Horizontal(classes="group-row--line"):
                yield self.checkbox
                if self.role_select is not None:
                    yield Label(t("group_panel.role"), classes="group-row--role-label")
                    yield self.role_select
            if self.reason is not None:
                yield Static(literal(self.reason), classes="group-row--reason")

    @property
    def chosen_role(self) -> str | None:
        if self.role_select is None:
            return None
        value = self.role_select.value
        return value if isinstance(value, str) else CallCenterRole.AGENT.value


class GroupPanel(Vertical):
    """The site's groups by kind, each to tick, with R4 and R6 explained."""

    DEFAULT_CSS = """
    GroupPanel {
        height: auto;
    }
    GroupPanel .group-panel--kind {
        margin-top: 1;
        text-style: bold;
        color: $text-primary;
    }
    GroupPanel .group-panel--kind.-first {
        margin-top: 0;
    }
    GroupPanel .group-row, GroupPanel .group-row--main, GroupPanel .group-row--line {
        height: auto;
    }
    GroupPanel .group-row {
        padding-left: 2;
    }
    GroupPanel .group-row Checkbox {
        width: 1fr;
        max-width: 40;
    }
    GroupPanel .group-row--role-label {
        padding: 0 1;
        color: $text-muted;
    }
    GroupPanel .group-row Select {
        width: 16;
    }
    GroupPanel .group-row--reason {
        padding-left: 4;
        color: $text-warning;
    }
    GroupPanel .group-panel--hint {
        margin-top: 1;
        color: $text-muted;
    }
    GroupPanel .group-panel--empty {
        color: $text-muted;
    }
    """

    @dataclass
    class Changed(Message):
        """The chosen groups changed."""

        panel: GroupPanel
        chosen: dict[str, str | None]

        @property
        def control(self) -> GroupPanel:
            return self.panel

    def __init__(
        self,
        groups: Iterable[GroupOption],
        status: Status | str,
        role: Role | str,
        selected: Mapping[str, str | None] | None = None,
        *,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.groups = list(groups)
        self.status = Status(status)
        self.role = Role(role)
        self._initial = dict(selected or {})
        self.rows: list[GroupRow] = []
        leave = decide(Action.LEAVE_GROUP, self.role, self.status)
        for kind in KIND_ORDER:
            join = decide(JOIN_ACTION[kind], self.role, self.status)
            for option in sorted((g for g in self.groups if g.kind == kind.value), key=lambda g: g.name.casefold()):
                member = option.name in self._initial
                member_role = self._initial.get(option.name)
                self.rows.append(GroupRow(option, member=member, role=member_role, join=join, leave=leave))
        self._last = self.chosen

    def compose(self) -> ComposeResult:
        if not self.rows:
            yield Static(t("group_panel.none"), classes="group-panel--empty")
            return
        first = True
        for kind in KIND_ORDER:
            rows = [row for row in self.rows if row.option.kind == kind.value]
            if not rows:
                continue
            yield Label(t(f"kind.{kind.value}"), classes="group-panel--kind" + (" -first" if first else ""))
            first = False
            yield from rows
        if any(row.role_select is not None for row in self.rows):
            yield Static(t("group_panel.r6_hint"), classes="group-panel--hint")

    @property
    def chosen(self) -> dict[str, str | None]:
        """``{group name: role}`` of the ticked groups; role only for call centers."""
        return {row.option.name: row.chosen_role for row in self.rows if row.checkbox.value}

    def reasons(self) -> dict[str, str]:
        """Why each disabled group is disabled, by group name."""
        return {row.option.name: row.reason for row in self.rows if row.reason is not None}

    @on(Checkbox.Changed)
    @on(Select.Changed)
    def _changed(self, event: Checkbox.Changed | Select.Changed) -> None:
        event.stop()
        chosen = self.chosen
        if chosen != self._last:
            self._last = chosen
            self.post_message(self.Changed(self, chosen))
