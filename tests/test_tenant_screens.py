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
from onenet_tui.data.models import GroupKind, Role
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
            assert table_lines(groups_screen.table)[1].split() == ["Zentrale", "Hamburg", "Hunt", "group", "Hamburg", "0"]
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
