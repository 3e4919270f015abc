"""The console's part of a real tenant (SPEC section 11): the first run on an
empty database, the sites-and-numbers screen (``S``), the groups screen
(``G``), one group's members and the member picker, pressed key by key.
Rules by name: R4 and R6 in the picker, R14 dimming for helpdesk, R20-R22
refusals shown with their field or rule, stale saves (R22)."""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Button, Input, Select, Static

from onenet_tui.app import OneNetApp
from onenet_tui.data import carrier, groups, memberships, numbers, sites
from onenet_tui.data.context import Context, carrier_context, resolve_actor
from onenet_tui.data.models import Role
from onenet_tui.data.storage import Store
from onenet_tui.screens.add_user import AddUserWizard
from onenet_tui.screens.credentials_once import CredentialsOnceScreen
from onenet_tui.screens.directory import DirectoryScreen
from onenet_tui.screens.groups import GroupScreen, GroupsScreen, MemberPicker
from onenet_tui.screens.save_file import ConfirmScreen
from onenet_tui.screens.sites import AddNumbersForm, AddSiteForm, FlagForm, SitesScreen
from onenet_tui.screens.tenant_base import TenantForm
from onenet_tui.widgets.cursor_table import CursorTable
from tests.helpers import (
    HELPDESK,
    SIZE,
    World,
    add,
    add_active,
    fill_names_and_email,
    focused_id,
    lines,
    make_app,
    notifications,
    ready,
    settle,
    to_details,
    type_text,
    until,
)

# Screens do not depend on the backend; the services are tested on both.
pytestmark = pytest.mark.sqlite_only


def table_lines(table: CursorTable) -> list[str]:
    """The table as drawn (header first), trailing blanks cut."""
    drawn = ["".join(segment.text for segment in table.render_line(y)).rstrip() for y in range(table.size.height)]
    return [line for line in drawn if line]


def static_text(screen: Any, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


async def on_screen(pilot: Pilot[Any], kind: type) -> Any:
    await until(pilot, lambda: isinstance(pilot.app.screen, kind))
    await settle(pilot)
    return pilot.app.screen


# --- the first run ----------------------------------------------------------------------


async def test_first_run_from_an_empty_database_to_a_user_in_a_hunt_group(tmp_path: Any) -> None:
    """Empty database, no demo: the directory says what to do first; a site,
    a range, a hunt group, a user by the wizard, and (once the carrier
    activated them) the user put into the group from the groups screen."""
    store = Store(f"sqlite:///{tmp_path / 'empty.db'}")
    try:
        actor = resolve_actor(store, "erika")
        assert actor.role == Role.ADMIN  # the first operator is the admin
        app = OneNetApp(Context(store, actor), theme="textual-dark", poll_seconds=0.1)
        async with app.run_test(size=SIZE) as pilot:
            directory = await ready(pilot)
            await until(pilot, lambda: "press S to create the first site" in "\n".join(lines(directory)))

            # A site.
            await pilot.press("S")
            sites_screen = await on_screen(pilot, SitesScreen)
            assert "No sites yet: press a" in static_text(sites_screen, "#sites-title")
            await pilot.press("a")
            await on_screen(pilot, AddSiteForm)
            await type_text(pilot, "Hamburg")
            await pilot.press("tab", "tab")  # the country stays DE
            await type_text(pilot, "hamburg.sip.example.net")
            await pilot.press("ctrl+s")
            await on_screen(pilot, SitesScreen)
            assert "Hamburg" in table_lines(sites_screen.site_table)[1]
            assert "press n to add numbers" in static_text(sites_screen, "#numbers-title")

            # A range, previewed as it is typed.
            await pilot.press("n")
            form = await on_screen(pilot, AddNumbersForm)
            await type_text(pilot, "040 1234 0000-0099")
            await until(pilot, lambda: "Adds 100 numbers" in static_text(form, "#numbers-preview"))
            await pilot.press("ctrl+s")
            await on_screen(pilot, SitesScreen)
            await until(pilot, lambda: sites_screen.number_table.row_count == 100)
            assert table_lines(sites_screen.site_table)[1].split()[3:6] == ["0", "100", "0"]  # users, free, assigned

            # Back on the directory, the next step is the first user.
            await pilot.press("escape")
            await until(pilot, lambda: "press a to add the first user" in "\n".join(lines(directory)))

            # A hunt group.
            await pilot.press("G")
            groups_screen = await on_screen(pilot, GroupsScreen)
            await pilot.press("a")
            await on_screen(pilot, TenantForm)
            await type_text(pilot, "Zentrale Hamburg")
            await until(pilot, lambda: pilot.app.screen.query_one("#group-site", Select).value == "Hamburg")
            await pilot.press("ctrl+s")  # the kind stays hunt group, the first one
            await on_screen(pilot, GroupsScreen)
            await until(pilot, lambda: len(groups_screen.shown) == 1)
            assert table_lines(groups_screen.table)[1].split() == [
                "Zentrale",
                "Hamburg",
                "Hunt",
                "group",
                "Hamburg",
                "0",
            ]
            await pilot.press("escape")

            # A user, by the wizard, on the site's first free number.
            await on_screen(pilot, DirectoryScreen)
            await pilot.press("a")
            await on_screen(pilot, AddUserWizard)
            await to_details(pilot)
            await fill_names_and_email(pilot)
            await pilot.press("tab")
            assert focused_id(pilot.app) == "site"
            assert pilot.app.focused.value == "Hamburg"  # type: ignore[union-attr]  # the one site is chosen
            await pilot.press("tab", "down")  # the number: the site's first free one
            await settle(pilot)
            assert pilot.app.focused.value == "040 12340000"  # type: ignore[union-attr]
            await pilot.press("tab", "tab", "enter", "down", "enter")  # a desk phone model
            await settle(pilot)
            await pilot.press("ctrl+n", "ctrl+n", "ctrl+n")  # services, groups (the hunt group is off: R4)
            await settle(pilot)
            await pilot.press("ctrl+s")
            await on_screen(pilot, CredentialsOnceScreen)
            await pilot.press("enter")
            await on_screen(pilot, DirectoryScreen)
            await until(pilot, lambda: directory.directory.total == 1)

            # The carrier activates the user (R3), then R4 lets them into the hunt group.
            username = "joerg.lutz"
            carrier.set_status(carrier_context(store), username, "activated")
            await pilot.press("G")
            await on_screen(pilot, GroupsScreen)
            await pilot.press("enter")
            group_screen = await on_screen(pilot, GroupScreen)
            await pilot.press("a")
            picker = await on_screen(pilot, MemberPicker)
            await type_text(pilot, "lutz")
            assert len(picker.shown) == 1
            await pilot.press("down", "space", "ctrl+s")
            await on_screen(pilot, GroupScreen)
            await until(pilot, lambda: len(group_screen.members) == 1)
            assert "✓ Active" in table_lines(group_screen.table)[1]
        detail = groups.group_detail(Context(store, actor), "Zentrale Hamburg")
        assert [m.username for m in detail.members] == [username]
    finally:
        store.dispose()


# --- sites and numbers ---------------------------------------------------------------------


async def open_sites(pilot: Pilot[Any]) -> SitesScreen:
    await ready(pilot)
    await pilot.press("S")
    screen: SitesScreen = await on_screen(pilot, SitesScreen)
    await until(pilot, lambda: screen.number_table.row_count > 0)
    return screen


async def test_r21_a_range_with_taken_numbers_is_previewed_refused_and_adds_nothing(world: World) -> None:
    async with make_app(world).run_test(size=SIZE) as pilot:
        screen = await open_sites(pilot)
        assert screen.cursor_site is not None and screen.cursor_site.name == "Berlin"
        await pilot.press("n")
        form = await on_screen(pilot, AddNumbersForm)
        await type_text(pilot, "030 12345038-030 12345041")
        await until(pilot, lambda: "refused" in static_text(form, "#numbers-preview"))
        preview = static_text(form, "#numbers-preview")
        assert "2 numbers refused, so nothing would be added" in preview
        assert "+493012345038" in preview and "+493012345039" in preview
        await pilot.press("ctrl+s")
        await until(pilot, lambda: not form.saving)
        assert pilot.app.screen is form  # nothing typed is lost
        banner = str(form.banner.render())
        assert banner.startswith("Nothing was added: Numbers (numbers): +493012345038 is already in the pool")
    assert numbers.number_page(world.admin, "Berlin").total == 40


async def test_r20_a_bad_sip_domain_is_named_and_the_form_stays(world: World) -> None:
    async with make_app(world).run_test(size=SIZE) as pilot:
        await open_sites(pilot)
        await pilot.press("a")
        form = await on_screen(pilot, AddSiteForm)
        await type_text(pilot, "Berlin")
        await pilot.press("tab", "tab")
        await type_text(pilot, "not a domain")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: not form.saving)
        banner = str(form.banner.render())
        assert banner.startswith("SIP domain (domain): not a domain is not a valid host name")
        assert form.query_one("#site-domain", Input).value == "not a domain"
        # A good domain: now the name is the problem, Berlin is taken (R20).
        await pilot.press("ctrl+u")
        await type_text(pilot, "berlin2.sip.example.net")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: not form.saving and "Name (name)" in str(form.banner.render()))
        assert pilot.app.screen is form
    assert [s.name for s in sites.list_sites(world.admin)] == ["Berlin", "London"]


async def test_r21_flag_and_unflag_the_number_under_the_cursor(world: World) -> None:
    async with make_app(world).run_test(size=SIZE) as pilot:
        screen = await open_sites(pilot)
        await pilot.press("tab", "down")
        assert screen.cursor_number is not None and screen.cursor_number.e164 == "+493012345001"
        await pilot.press("f")
        await on_screen(pilot, FlagForm)
        await type_text(pilot, "porting not finished")
        await pilot.press("ctrl+s")
        await on_screen(pilot, SitesScreen)
        await until(pilot, lambda: "flagged: porting not finished" in table_lines(screen.number_table)[2])
        assert table_lines(screen.site_table)[1].split()[-2] == "2"  # Berlin's flagged numbers
        await pilot.press("u")
        await until(pilot, lambda: "flagged" not in table_lines(screen.number_table)[2])
    row = next(r for r in numbers.number_page(world.admin, "Berlin").rows if r.e164 == "+493012345001")
    assert not row.flagged


async def test_r20_site_names_with_markup_and_escapes_are_shown_literally(world: World) -> None:
    sites.add_site(world.admin, "[bold]Nord[/]\x1b[31m", "DE", "nord.sip.example.net")
    groups.add_group(world.admin, "[bold]Nord[/]\x1b[31m", "pickup", "[red]Abholen[/]")
    async with make_app(world).run_test(size=SIZE) as pilot:
        screen = await open_sites(pilot)
        assert any("[bold]Nord[/]␛[31m" in line for line in table_lines(screen.site_table))
        await pilot.press("escape", "G")
        groups_screen = await on_screen(pilot, GroupsScreen)
        await until(pilot, lambda: bool(groups_screen.shown))
        assert any(
            "[red]Abholen[/]" in line and "[bold]Nord[/]␛[31m" in line for line in table_lines(groups_screen.table)
        )


# --- R14: helpdesk sees everything, every change dimmed -----------------------------------------


async def test_r14_helpdesk_sees_both_screens_with_every_change_dimmed(world: World) -> None:
    add_active(world)
    async with make_app(world, HELPDESK).run_test(size=SIZE) as pilot:
        screen = await open_sites(pilot)
        for action in ("add_site", "add_numbers", "flag", "unflag"):
            assert screen.check_action(action, ()) is None, action
        await pilot.press("a")
        await settle(pilot)
        assert pilot.app.screen is screen
        assert notifications(pilot.app)[-1] == "Add site: not possible: R14: administrators only"
        await pilot.press("escape", "G")
        groups_screen = await on_screen(pilot, GroupsScreen)
        assert groups_screen.check_action("add_group", ()) is None
        await until(pilot, lambda: bool(groups_screen.shown))
        await pilot.press("enter")
        group = await on_screen(pilot, GroupScreen)
        await until(pilot, lambda: group.detail is not None)
        for action in ("add_members", "rename", "delete_group"):
            assert group.check_action(action, ()) is None, action
        await pilot.press("a")
        await settle(pilot)
        assert pilot.app.screen is group
        assert "R14: administrators only" in notifications(pilot.app)[-1]


# --- the groups ----------------------------------------------------------------------------------


async def open_group(pilot: Pilot[Any], name: str) -> GroupScreen:
    """From the directory: G, filter to the group, open it."""
    await ready(pilot)
    await pilot.press("G")
    screen: GroupsScreen = await on_screen(pilot, GroupsScreen)
    await until(pilot, lambda: bool(screen.shown))
    await pilot.press("slash", *name, "enter")
    await settle(pilot)
    assert screen.cursor_group is not None and screen.cursor_group.name == name
    await pilot.press("enter")
    group: GroupScreen = await on_screen(pilot, GroupScreen)
    await until(pilot, lambda: group.detail is not None)
    return group


async def test_the_groups_list_filters_as_you_type(world: World) -> None:
    async with make_app(world).run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("G")
        screen = await on_screen(pilot, GroupsScreen)
        await until(pilot, lambda: len(screen.shown) == 8)
        await pilot.press("slash", *"lon")
        await settle(pilot)
        assert {g.site for g in screen.shown} == {"London"} and len(screen.shown) == 4
        await pilot.press(*" center")
        await settle(pilot)
        assert [g.name for g in screen.shown] == ["LON Callcenter"]
        assert "1 of 8 groups" in static_text(screen, "#groups-title")
        await pilot.press("escape")  # clears the filter first
        await settle(pilot)
        assert len(screen.shown) == 8 and pilot.app.screen is screen


async def test_r4_the_picker_disables_users_who_are_not_activated_with_the_reason(world: World) -> None:
    pending = add(world).user.username
    active = add_active(world, first_name="Eva", number="030 12345002", email="eva@example.com").user.username
    async with make_app(world).run_test(size=SIZE) as pilot:
        group = await open_group(pilot, "BER Hunt")
        await pilot.press("a")
        picker = await on_screen(pilot, MemberPicker)
        await until(pilot, lambda: picker.loaded)
        drawn = table_lines(picker.table)
        pending_line = next(line for line in drawn if pending in line)
        assert "● Pending" in pending_line and "R4: the user is pending" in pending_line
        assert pending_line.lstrip().startswith("-")
        await pilot.press("down")
        while picker.cursor_candidate is not None and picker.cursor_candidate.username != pending:
            await pilot.press("down")
        await pilot.press("space")
        await settle(pilot)
        assert picker.picked == {}
        assert "R4: the user is pending" in notifications(pilot.app)[-1]
        assert "R4: the user is pending" in static_text(picker, "#picker-status")
        await pilot.press("home")
        while picker.cursor_candidate is not None and picker.cursor_candidate.username != active:
            await pilot.press("down")
        await pilot.press("space", "ctrl+s")
        await on_screen(pilot, GroupScreen)
        await until(pilot, lambda: [m.username for m in group.members] == [active])
        assert any(n.endswith("Members saved: 1 joined, 0 left, 0 changed role.") for n in notifications(pilot.app))


async def test_r6_a_supervisor_without_the_service_is_allowed_and_said_so(world: World) -> None:
    username = add_active(world).user.username  # services: none
    async with make_app(world).run_test(size=SIZE) as pilot:
        group = await open_group(pilot, "BER Callcenter")
        await pilot.press("a")
        picker = await on_screen(pilot, MemberPicker)
        await until(pilot, lambda: picker.loaded)
        await pilot.press("down", "space")
        assert picker.picked == {username: "agent"}
        await pilot.press("space")
        await settle(pilot)
        assert picker.picked == {username: "supervisor"}
        line = next(line for line in table_lines(picker.table) if username in line)
        assert "[x] Supervisor" in line and "no supervisor service" in line
        assert f"{username}: no supervisor service (R6: allowed)" in static_text(picker, "#picker-status")
        await pilot.press("ctrl+s")
        await on_screen(pilot, GroupScreen)
        await until(pilot, lambda: bool(group.members))
        assert [(m.username, m.role) for m in group.members] == [(username, "supervisor")]
        assert any("no supervisor service" in n for n in notifications(pilot.app))
        # s: back to agent, one save.
        await pilot.press("s")
        await until(pilot, lambda: bool(group.members) and group.members[0].role == "agent")


async def test_r22_remove_a_member_and_a_stale_save_is_refused_and_reloaded(world: World) -> None:
    first = add_active(world).user.username
    second = add_active(world, first_name="Eva", number="030 12345002", email="eva@example.com").user.username
    memberships.set_group_members(world.admin, "BER Pickup", [(first, None), (second, None)])
    # The directory's look at the audit trail held back: the screen would show
    # the other administrator's change before the key (test_tenant_screens_live).
    async with make_app(world, poll_seconds=3600).run_test(size=SIZE) as pilot:
        group = await open_group(pilot, "BER Pickup")
        assert {m.username for m in group.members} == {first, second}
        # Another administrator removes one meanwhile.
        memberships.set_group_members(world.admin, "BER Pickup", [(first, None)])
        await pilot.press("d")
        await until(pilot, lambda: not group.saving and [m.username for m in group.members] == [first])
        banner = static_text(group, "#group-banner")
        assert banner.startswith("Nothing saved:") and "changed" in banner
        # Now the save is based on what is there: it goes through.
        await pilot.press("d")
        await until(pilot, lambda: not group.saving and not group.members)
    assert groups.group_detail(world.admin, "BER Pickup").members == []


async def test_r22_rename_a_group(world: World) -> None:
    groups.add_group(world.admin, "Berlin", "call_park", "Parkplatz")
    async with make_app(world).run_test(size=SIZE) as pilot:
        group = await open_group(pilot, "BER Park")
        await pilot.press("r")
        form = await on_screen(pilot, TenantForm)
        await pilot.press("ctrl+u")
        await type_text(pilot, "Parkplatz")  # taken at Berlin by a call park group (R22)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: not form.saving and "New name (new_name)" in str(form.banner.render()))
        await pilot.press("ctrl+u")
        await type_text(pilot, "Parken Berlin")
        await pilot.press("ctrl+s")
        await on_screen(pilot, GroupScreen)
        await until(pilot, lambda: group.detail is not None and group.detail.name == "Parken Berlin")
        assert "Parken Berlin" in static_text(group, "#group-title")


async def test_r22_delete_lists_the_members_to_tell_with_cancel_focused(world: World) -> None:
    username = add_active(world).user.username
    memberships.set_group_members(world.admin, "BER Pickup", [(username, None)])
    async with make_app(world).run_test(size=SIZE) as pilot:
        await open_group(pilot, "BER Pickup")
        await pilot.press("D")
        confirm = await on_screen(pilot, ConfirmScreen)
        question = static_text(confirm, "#question")
        assert "should be told" in question and f"Jürgen Müller ({username})" in question
        assert isinstance(pilot.app.focused, Button) and pilot.app.focused.id == "cancel"
        await pilot.press("enter")  # Cancel: nothing happens
        await on_screen(pilot, GroupScreen)
        assert any(g.name == "BER Pickup" for g in groups.group_summaries(world.admin))
        await pilot.press("D")
        await on_screen(pilot, ConfirmScreen)
        await pilot.press("tab", "enter")
        groups_screen = await on_screen(pilot, GroupsScreen)
        await until(pilot, lambda: all(g.name != "BER Pickup" for g in groups_screen.groups))
        assert f"Group BER Pickup deleted. Tell its member: {username}" in notifications(pilot.app)[-1]
    assert all(g.name != "BER Pickup" for g in groups.group_summaries(world.admin))


async def test_a_site_with_10000_more_numbers_lists_every_one_to_the_last(world: World) -> None:
    numbers.add_numbers(world.admin, "Berlin", ["+493012350000-+493012359999"])
    async with make_app(world).run_test(size=SIZE) as pilot:
        screen = await open_sites(pilot)
        await until(pilot, lambda: screen.number_table.row_count == 10_040)
        await pilot.press("tab", "end")
        assert screen.cursor_number is not None and screen.cursor_number.e164 == "+493012359999"
        assert "030 12359999" in table_lines(screen.number_table)[-1]


async def test_help_and_the_palette_list_the_screens_keys(world: World) -> None:
    from textual.command import CommandPalette

    from onenet_tui.palette import KeyCommands
    from onenet_tui.screens.help import HelpScreen

    async with make_app(world).run_test(size=SIZE) as pilot:
        await ready(pilot)
        help_lines = [description for _keys, description in HelpScreen({}, None).key_lines()]
        assert (
            "sites and their number pools: add a site, add numbers or a range, flag a number (R20, R21)" in help_lines
        )
        await open_sites(pilot)
        await pilot.press("question_mark")
        shown = await on_screen(pilot, HelpScreen)
        own = [description for _keys, description in shown.screen_lines()]
        assert own[:2] == [
            "Add a site: name, country, SIP domain (R20)",
            "Add numbers or a range to the site under the cursor, with a preview (R21)",
        ]
        await pilot.press("escape")
        await on_screen(pilot, SitesScreen)
        await pilot.press("ctrl+p")
        await on_screen(pilot, CommandPalette)
        labels = [spec.label for spec in KeyCommands(pilot.app.screen_stack[-2])._specs()]
        assert {"Add site", "Add numbers", "Flag", "Unflag"} <= set(labels)


async def test_keys_remapped_in_the_config_file_open_and_act(world: World) -> None:
    async with make_app(world, keys={"sites": "f5", "site.add": "plus"}).run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("S")
        await settle(pilot)
        assert isinstance(pilot.app.screen, DirectoryScreen)
        await pilot.press("f5")
        screen = await on_screen(pilot, SitesScreen)
        await pilot.press("a")
        await settle(pilot)
        assert pilot.app.screen is screen
        await pilot.press("plus")
        await on_screen(pilot, AddSiteForm)


async def test_r22_a_group_deleted_meanwhile_is_said_so(world: World) -> None:
    # As above: without the trail's look the deletion is found by the picker.
    async with make_app(world, poll_seconds=3600).run_test(size=SIZE) as pilot:
        group = await open_group(pilot, "BER Park")
        groups.delete_group(world.admin, "BER Park")
        await pilot.press("a")  # the picker looks afresh: the group is gone
        picker = await on_screen(pilot, MemberPicker)
        await until(pilot, lambda: "Group not found" in static_text(picker, "#picker-status"))
        await pilot.press("escape")
        await on_screen(pilot, GroupScreen)
        group.reload()
        await until(pilot, lambda: group.detail is None)
        assert "deleted or renamed meanwhile" in static_text(group, "#group-banner")
        assert group.check_action("add_members", ()) is None
