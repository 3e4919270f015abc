"""Group assignments of an existing user, key ``g`` (R4, R6).

Every group of the user's site, by kind, in the shared group panel: hunt
groups and call centers are disabled with the R4 reason while the user is not
activated (pickup and call park groups take anyone); a call center member is
an agent or a supervisor, with the R6 hint. Save is one service call
(``memberships.set_user_groups``): one transaction and one audit event for
everything ticked and unticked (R22), refused as stale, with the fresh state
reloaded, when the user or a group in the change moved on since it was shown.
A notice it returns (a supervisor without the supervisor service, R6) is
shown, not hidden.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from textual import work
from textual.binding import BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widget import Widget
from textual.widgets import Button

from onenet_tui import keys
from onenet_tui.data import groups, memberships
from onenet_tui.data.errors import DomainError, StaleData
from onenet_tui.data.lookup import UserView
from onenet_tui.i18n import t
from onenet_tui.screens.lifecycle_base import CancelSaveButtons, UserActionScreen, error_text
from onenet_tui.screens.workers import post_unless_cancelled
from onenet_tui.widgets.group_panel import GroupOption, GroupPanel


@dataclass(frozen=True)
class MembershipPlan:
    """What Save will do: groups to join (with a role for call centers),
    groups whose call center role changes, groups to leave."""

    join: dict[str, str | None] = field(default_factory=dict)
    leave: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.join or self.leave)


def plan(current: dict[str, str | None], chosen: dict[str, str | None]) -> MembershipPlan:
    """The difference between the memberships now and the ones ticked."""
    join = {name: role for name, role in chosen.items() if name not in current or current[name] != role}
    leave = sorted(name for name in current if name not in chosen)
    return MembershipPlan(join, leave)


@dataclass(frozen=True)
class Outcome:
    done: int
    notices: list[str]
    error: DomainError | None = None


class GroupAssignmentsScreen(CancelSaveButtons, UserActionScreen[bool | None]):
    """Dismisses with True when memberships changed."""

    ACTION_ID = "groups"
    TITLE_KEY = "lifecycle.groups.title"
    DIALOG_CLASSES = "lifecycle-dialog -form"
    BINDINGS: ClassVar[list[BindingType]] = [
        keys.binding("lifecycle.save"),
    ]

    def __init__(self, ctx: Any, username: str) -> None:
        super().__init__(ctx, username)
        self.changed = False
        # The groups' versions as shown: a save is checked against them (R22).
        self.group_versions: dict[str, int] = {}

    def load_extra(self, view: UserView) -> list[GroupOption]:
        found = groups.group_summaries(self.ctx, site=view.site)
        self.group_versions = {g.name: g.version for g in found}
        return [GroupOption(g.name, g.kind) for g in found]

    @property
    def current(self) -> dict[str, str | None]:
        assert self.view is not None
        return {g.name: g.role for g in self.view.groups}

    @property
    def panel(self) -> GroupPanel | None:
        panels = self.query(GroupPanel)
        return panels.first() if panels else None

    def build_body(self, view: UserView, extra: list[GroupOption]) -> list[Widget]:
        panel = GroupPanel(extra, view.status, self.ctx.actor.role, self.current, id="group-panel")
        return [
            VerticalScroll(panel, id="groups-scroll", classes="lifecycle-form"),
            Horizontal(
                Button(t("lifecycle.button.cancel"), id="cancel"),
                Button(t("lifecycle.button.save"), id="save", variant="primary"),
                classes="lifecycle-buttons",
            ),
        ]

    def body_ready(self, view: UserView, extra: Any) -> None:
        enabled = [row.checkbox for row in self.panel.rows if not row.checkbox.disabled] if self.panel else []
        if enabled:
            enabled[0].focus()
        else:
            self.query_one("#cancel", Button).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "save":
            return self.panel is not None
        return super().check_action(action, parameters)

    def action_close(self) -> None:
        self.dismiss(self.changed or None)

    def action_save(self) -> None:
        panel = self.panel
        if panel is None or self.view is None:
            return
        todo = plan(self.current, panel.chosen)
        if not todo:
            self.banner.show(t("lifecycle.nothing_changed"), "info")
            return
        self.banner.show(t("lifecycle.saving"), "info")
        self.apply(dict(panel.chosen), self.view.version, dict(self.group_versions))

    @work(thread=True, exclusive=True, group="lifecycle-save", exit_on_error=False)
    def apply(self, chosen: dict[str, str | None], version: int, group_versions: dict[str, int]) -> None:
        try:
            done = memberships.set_user_groups(
                self.ctx, self.username, chosen, expected_version=version, group_versions=group_versions
            )
        except DomainError as error:
            post_unless_cancelled(self, self.Saved(Outcome(0, [], error)))
            return
        post_unless_cancelled(self, self.Saved(Outcome(done.count, [n.key for n in done.notices])))

    def saved(self, outcome: Outcome) -> None:
        self.changed = self.changed or outcome.done > 0
        for key in dict.fromkeys(outcome.notices):
            # R6: allowed, but worth a word.
            self.notify(t(key), title=t("lifecycle.groups.notice"), severity="warning", markup=False, timeout=10)
        if isinstance(outcome.error, StaleData):
            # Nothing was saved: say who changed and show the fresh state (R22).
            self.banner.show(t("lifecycle.groups.stale", error=error_text(outcome.error)), "warning")
            self.load_user()
            return
        if outcome.error is not None:
            # One transaction: nothing was saved, the ticks stay for another try.
            self.banner.show(t("lifecycle.groups.refused", error=error_text(outcome.error)))
            return
        self.notify(t("lifecycle.groups.saved", count=outcome.done), markup=False)
        self.dismiss(True)
