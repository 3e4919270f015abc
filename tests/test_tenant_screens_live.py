"""The sites (``S``) and groups (``G``) screens follow changes another
administrator makes while they are open, as the directory does (SPEC
section 11): no key pressed, the cursor on the same site, number or group,
and what was typed in the filter left as it was."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from textual.pilot import Pilot

from onenet_tui.data import groups, memberships, numbers
from onenet_tui.data.actor import Actor
from onenet_tui.data.context import Context
from onenet_tui.data.models import Role
from onenet_tui.data.storage import Store
from onenet_tui.screens.groups import GroupScreen, GroupsScreen
from onenet_tui.screens.sites import SitesScreen
from onenet_tui.widgets.cursor_table import CursorTable
from tests.helpers import SIZE, World, add_active, make_app, ready, settle, until

pytestmark = pytest.mark.sqlite_only


@pytest.fixture
def other(world: World) -> Iterator[Context]:
    """Another administrator: their own connections to the same database."""
    store = Store(world.store.url)
    yield Context(store, Actor("bob", Role.ADMIN))
    store.dispose()


def table_text(table: CursorTable) -> str:
    return "\n".join("".join(s.text for s in table.render_line(y)) for y in range(table.size.height))


async def on_screen(pilot: Pilot[Any], kind: type) -> Any:
    await until(pilot, lambda: isinstance(pilot.app.screen, kind))
    await settle(pilot)
    return pilot.app.screen


async def test_a_number_added_by_another_administrator_shows_and_the_cursor_stays(world: World, other: Context) -> None:
    async with make_app(world).run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("S")
        screen: SitesScreen = await on_screen(pilot, SitesScreen)
        await until(pilot, lambda: screen.number_table.row_count == 40)
        await pilot.press("tab", "down", "down")
        assert screen.cursor_number is not None and screen.cursor_number.e164 == "+493012345002"
        # Sorts before every number shown: the cursor's number moves a line down.
        numbers.add_numbers(other, "Berlin", ["+493012340000"])
        await until(pilot, lambda: screen.number_table.row_count == 41)
        await settle(pilot)
        assert "30 12340000" in table_text(screen.number_table)
        assert screen.cursor_number is not None and screen.cursor_number.e164 == "+493012345002"
        assert screen.cursor_site is not None and screen.cursor_site.name == "Berlin"
        assert screen.cursor_site.numbers == 41  # the counts followed too


async def groups_filtered(pilot: Pilot[Any], typed: str) -> GroupsScreen:
    """From the directory: ``G``, the eight groups, then ``/`` and ``typed``."""
    await ready(pilot)
    await pilot.press("G")
    screen: GroupsScreen = await on_screen(pilot, GroupsScreen)
    await until(pilot, lambda: len(screen.shown) == 8)
    await pilot.press("slash", *typed)
    await settle(pilot)
    return screen


async def test_a_group_renamed_by_another_administrator_shows_with_the_filter_kept(
    world: World, other: Context
) -> None:
    async with make_app(world).run_test(size=SIZE) as pilot:
        screen = await groups_filtered(pilot, "ber")
        await pilot.press("down", "down")  # leaves the filter: the list, its second line
        await settle(pilot)
        on = screen.cursor_group
        assert on is not None and len(screen.shown) == 4
        groups.rename_group(other, on.name, "BER Umbenannt", site=on.site, kind=on.kind)
        await until(pilot, lambda: "BER Umbenannt" in table_text(screen.table))
        assert screen.filter_input.value == "ber"
        assert screen.cursor_group is not None and screen.cursor_group.id == on.id
        assert screen.cursor_group.name == "BER Umbenannt" and len(screen.shown) == 4


async def test_the_groups_list_follows_while_the_filter_is_being_typed(world: World, other: Context) -> None:
    async with make_app(world).run_test(size=SIZE) as pilot:
        screen = await groups_filtered(pilot, "lon")
        groups.add_group(other, "London", "hunt_group", "LON Nacht")
        await until(pilot, lambda: len(screen.shown) == 5)
        assert pilot.app.focused is screen.filter_input and screen.filter_input.value == "lon"
        assert screen.filter_input.cursor_position == 3


async def test_one_group_follows_members_and_a_rename_by_another_administrator(world: World, other: Context) -> None:
    anna = add_active(world, first_name="Anna", last_name="Berg", email="anna@example.com").user.username
    eva = add_active(
        world, first_name="Eva", last_name="Zorn", email="eva@example.com", number="030 12345002"
    ).user.username
    memberships.set_group_members(world.admin, "BER Pickup", [(eva, None)])
    async with make_app(world).run_test(size=SIZE) as pilot:
        screen = await groups_filtered(pilot, "pickup")
        await pilot.press("down", "enter")  # the list, then open BER Pickup
        group: GroupScreen = await on_screen(pilot, GroupScreen)
        await until(pilot, lambda: group.detail is not None and len(group.members) == 1)
        assert screen.cursor_group is not None and group.cursor_member is not None
        # Another administrator adds Anna (sorted before Eva) and renames the group.
        memberships.set_group_members(other, "BER Pickup", [(anna, None), (eva, None)])
        groups.rename_group(other, "BER Pickup", "Abholen Berlin", site="Berlin", kind="pickup")
        await until(pilot, lambda: group.detail is not None and group.detail.name == "Abholen Berlin")
        await settle(pilot)
        assert [m.username for m in group.members] == [anna, eva]
        assert "Abholen Berlin" in str(group.query_one("#group-title").render())
        assert group.cursor_member is not None and group.cursor_member.username == eva  # still on Eva
        # Its keys act on the group as it is now: removing Eva saves (no stale refusal).
        await pilot.press("d")
        await until(pilot, lambda: not group.saving and [m.username for m in group.members] == [anna])
    assert [m.username for m in groups.group_detail(world.admin, "Abholen Berlin").members] == [anna]
