"""The group assignment panel (R4, R6, R14), on its own.

It needs no database: it is given the site's groups and the user's status,
and asks the policy table what may be ticked.
"""

from __future__ import annotations

from typing import Any

from textual.app import App, ComposeResult
from textual.widgets import Checkbox, Select

from onenet_tui.data.models import GroupKind, Role, Status
from onenet_tui.i18n import t
from onenet_tui.widgets.group_panel import GroupOption, GroupPanel

GROUPS = [
    GroupOption("BER Pickup", GroupKind.PICKUP.value),
    GroupOption("BER Hunt", GroupKind.HUNT_GROUP.value),
    GroupOption("BER Park", GroupKind.CALL_PARK.value),
    GroupOption("BER Callcenter", GroupKind.CALL_CENTER.value),
]


class PanelHost(App[None]):
    def __init__(self, panel: GroupPanel) -> None:
        super().__init__()
        self.panel = panel
        self.changes: list[dict[str, str | None]] = []

    def compose(self) -> ComposeResult:
        yield self.panel

    def on_group_panel_changed(self, event: GroupPanel.Changed) -> None:
        self.changes.append(event.chosen)


def rows_of(panel: GroupPanel) -> dict[str, Any]:
    return {row.option.name: row for row in panel.rows}


async def test_r4_pending_user_sees_hunt_group_and_call_center_disabled_with_the_reason() -> None:
    panel = GroupPanel(GROUPS, Status.PENDING, Role.ADMIN)
    async with PanelHost(panel).run_test(size=(80, 24)):
        rows = rows_of(panel)
        assert rows["BER Hunt"].checkbox.disabled
        assert rows["BER Hunt"].reason == f"R4: {t('r4.hunt_group_pending')}"
        assert rows["BER Callcenter"].checkbox.disabled
        assert rows["BER Callcenter"].reason == f"R4: {t('r4.call_center_pending')}"
        assert not rows["BER Pickup"].checkbox.disabled
        assert not rows["BER Park"].checkbox.disabled
        shown = " ".join(str(w.render()) for w in panel.query(".group-row--reason"))
        assert t("r4.hunt_group_pending") in shown and t("r4.call_center_pending") in shown


async def test_r4_failed_user_gets_the_failed_reason() -> None:
    panel = GroupPanel(GROUPS, Status.FAILED, Role.ADMIN)
    async with PanelHost(panel).run_test(size=(80, 24)):
        assert rows_of(panel)["BER Hunt"].reason == f"R4: {t('r4.hunt_group_failed')}"


async def test_r4_activated_user_may_join_every_kind() -> None:
    panel = GroupPanel(GROUPS, Status.ACTIVATED, Role.ADMIN)
    async with PanelHost(panel).run_test(size=(80, 24)):
        for row in panel.rows:
            assert not row.checkbox.disabled and row.reason is None


async def test_r14_helpdesk_sees_every_group_disabled_with_administrators_only() -> None:
    panel = GroupPanel(GROUPS, Status.ACTIVATED, Role.HELPDESK, {"BER Pickup": None})
    async with PanelHost(panel).run_test(size=(80, 24)):
        for row in panel.rows:
            assert row.checkbox.disabled
            assert row.reason == f"R14: {t('r14.admins_only')}"
        assert panel.chosen == {"BER Pickup": None}


async def test_groups_listed_by_kind_in_a_fixed_order() -> None:
    panel = GroupPanel(GROUPS, Status.PENDING, Role.ADMIN)
    async with PanelHost(panel).run_test(size=(80, 24)):
        headings = [str(label.render()) for label in panel.query(".group-panel--kind")]
        assert headings == [t("kind.hunt_group"), t("kind.call_center"), t("kind.pickup"), t("kind.call_park")]


async def test_ticking_by_keys_reports_the_choice_and_posts_changed() -> None:
    panel = GroupPanel(GROUPS, Status.ACTIVATED, Role.ADMIN)
    app = PanelHost(panel)
    async with app.run_test(size=(80, 24)) as pilot:
        assert app.focused is rows_of(panel)["BER Hunt"].checkbox  # the first, focused on start
        await pilot.press("space", "tab", "space")  # tick it, then the call center
        await pilot.pause()
        assert panel.chosen == {"BER Hunt": None, "BER Callcenter": "agent"}
        await pilot.press("tab", "enter", "down", "enter")  # role: supervisor
        await pilot.pause()
        assert panel.chosen == {"BER Hunt": None, "BER Callcenter": "supervisor"}
        assert app.changes[-1] == {"BER Hunt": None, "BER Callcenter": "supervisor"}
        assert app.changes[0] == {"BER Hunt": None}


async def test_r6_supervisor_hint_shown_next_to_call_centers() -> None:
    panel = GroupPanel(GROUPS, Status.ACTIVATED, Role.ADMIN)
    async with PanelHost(panel).run_test(size=(80, 24)):
        hint = str(panel.query_one(".group-panel--hint").render())
        assert hint == t("group_panel.r6_hint")
        assert "(R6)" in hint


async def test_r6_hint_absent_without_call_centers() -> None:
    panel = GroupPanel([g for g in GROUPS if g.kind != GroupKind.CALL_CENTER.value], Status.ACTIVATED, Role.ADMIN)
    async with PanelHost(panel).run_test(size=(80, 24)):
        assert not panel.query(".group-panel--hint")


async def test_existing_member_may_leave_a_call_group_it_could_not_join_now() -> None:
    selected = {"BER Hunt": None, "BER Callcenter": "supervisor"}
    panel = GroupPanel(GROUPS, Status.FAILED, Role.ADMIN, selected)
    async with PanelHost(panel).run_test(size=(80, 24)) as pilot:
        rows = rows_of(panel)
        assert panel.chosen == selected
        hunt = rows["BER Hunt"]
        assert not hunt.checkbox.disabled and hunt.checkbox.value
        assert rows["BER Callcenter"].role_select.disabled  # no role change while not activated (R4)
        hunt.checkbox.focus()
        await pilot.press("space")
        await pilot.pause()
        assert panel.chosen == {"BER Callcenter": "supervisor"}


async def test_group_names_from_data_are_shown_literally() -> None:
    name = "[bold]Sales[/bold] \x1b[31m"
    panel = GroupPanel([GroupOption(name, GroupKind.PICKUP.value)], Status.PENDING, Role.ADMIN)
    async with PanelHost(panel).run_test(size=(80, 24)):
        label = str(panel.query_one(Checkbox).label)
        assert "[bold]Sales[/bold]" in label
        assert "\x1b" not in label


async def test_a_site_without_groups_says_so() -> None:
    panel = GroupPanel([], Status.PENDING, Role.ADMIN)
    async with PanelHost(panel).run_test(size=(80, 24)):
        assert str(panel.query_one(".group-panel--empty").render()) == t("group_panel.none")
        assert panel.chosen == {}


async def test_role_select_offers_agent_and_supervisor() -> None:
    panel = GroupPanel(GROUPS, Status.ACTIVATED, Role.ADMIN, {"BER Callcenter": None})
    async with PanelHost(panel).run_test(size=(80, 24)):
        select = rows_of(panel)["BER Callcenter"].role_select
        assert isinstance(select, Select)
        assert select.value == "agent"
        assert panel.chosen == {"BER Callcenter": "agent"}
