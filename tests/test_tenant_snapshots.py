"""80x24 pictures of the sites-and-numbers screen, the groups screen, one
group, the member picker and their dialogs (SPEC section 11), for an
administrator and, every change dimmed, for helpdesk (R14); and the first
run on an empty database."""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot

from onenet_tui.app import OneNetApp
from onenet_tui.data import memberships
from onenet_tui.data.context import Context, resolve_actor
from onenet_tui.data.storage import Store
from onenet_tui.screens.groups import GroupScreen, GroupsScreen, MemberPicker
from onenet_tui.screens.sites import SitesScreen
from tests.helpers import SIZE, Host, World, add, add_active, ready, settle, steady, type_text

pytestmark = pytest.mark.sqlite_only


def members(world: World) -> None:
    """A pending user, an active agent and an active supervisor without the service (R6)."""
    add(world)
    agent = add_active(world, first_name="Eva", number="030 12345002", email="eva@example.com").user.username
    boss = add_active(world, first_name="Otto", last_name="Oberst", number="030 12345003", email="o@example.com")
    memberships.set_group_members(world.admin, "BER Callcenter", [(agent, "agent"), (boss.user.username, "supervisor")])


def test_snapshot_sites_and_numbers(world: World, snap_compare: Any) -> None:
    members(world)
    assert snap_compare(Host(lambda: SitesScreen(world.admin)), terminal_size=SIZE, run_before=settle)


def test_snapshot_r14_sites_and_numbers_for_helpdesk_every_change_dimmed(world: World, snap_compare: Any) -> None:
    assert snap_compare(Host(lambda: SitesScreen(world.helpdesk)), terminal_size=SIZE, run_before=settle)


def test_snapshot_add_numbers_preview_with_refused_numbers(world: World, snap_compare: Any) -> None:
    async def typed(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        await type_text(pilot, "030 12345038-030 12345041, 030 99")
        await steady(pilot)

    assert snap_compare(Host(lambda: SitesScreen(world.admin)), terminal_size=SIZE, run_before=typed)


def test_snapshot_groups(world: World, snap_compare: Any) -> None:
    members(world)
    assert snap_compare(Host(lambda: GroupsScreen(world.admin)), terminal_size=SIZE, run_before=settle)


def test_snapshot_call_center_members(world: World, snap_compare: Any) -> None:
    members(world)
    assert snap_compare(Host(lambda: GroupScreen(world.admin, "BER Callcenter")), terminal_size=SIZE, run_before=settle)


def test_snapshot_r14_group_for_helpdesk_every_change_dimmed(world: World, snap_compare: Any) -> None:
    members(world)
    app = Host(lambda: GroupScreen(world.helpdesk, "BER Callcenter"))
    assert snap_compare(app, terminal_size=SIZE, run_before=settle)


def test_snapshot_r4_member_picker_of_a_hunt_group(world: World, snap_compare: Any) -> None:
    members(world)

    async def picker(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        await pilot.press("down", "space", "down")  # Eva picked; the cursor on the pending user
        await steady(pilot)
        assert isinstance(pilot.app.screen, MemberPicker)

    assert snap_compare(Host(lambda: GroupScreen(world.admin, "BER Hunt")), terminal_size=SIZE, run_before=picker)


def test_snapshot_r22_delete_group_lists_the_members_to_tell(world: World, snap_compare: Any) -> None:
    members(world)

    async def confirm(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("D")
        await settle(pilot)

    app = Host(lambda: GroupScreen(world.admin, "BER Callcenter"))
    assert snap_compare(app, terminal_size=SIZE, run_before=confirm)


def test_snapshot_first_run_on_an_empty_database(tmp_path: Any, snap_compare: Any) -> None:
    store = Store(f"sqlite:///{tmp_path / 'empty.db'}")
    actor = resolve_actor(store, "erika")
    app = OneNetApp(Context(store, actor), theme="textual-dark", poll_seconds=None)

    async def first_steps(pilot: Pilot[Any]) -> None:
        await ready(pilot)
        await settle(pilot)

    try:
        assert snap_compare(app, terminal_size=SIZE, run_before=first_steps)
    finally:
        store.dispose()


@pytest.mark.parametrize("screen", ["sites", "group"])
def test_snapshot_in_german(world: World, snap_compare: Any, screen: str) -> None:
    from onenet_tui.i18n import set_language

    members(world)
    set_language("de")
    try:
        make = (
            (lambda: SitesScreen(world.admin))
            if screen == "sites"
            else (lambda: GroupScreen(world.admin, "BER Callcenter"))
        )
        assert snap_compare(Host(make), terminal_size=SIZE, run_before=settle)
    finally:
        set_language("en")
