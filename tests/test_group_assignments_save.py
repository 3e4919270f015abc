"""Group assignments (key ``g``) save as one service call (R22): one
transaction, one audit event for everything ticked and unticked, refused as
stale with the fresh state reloaded when someone else changed the user or a
group meanwhile, and nothing half done when the save is refused."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from textual.widgets import Static

from onenet_tui.data import groups, memberships, users
from onenet_tui.data.context import Actor, Context
from onenet_tui.data.models import AuditEvent, Role
from onenet_tui.screens.group_assignments import GroupAssignmentsScreen
from onenet_tui.widgets.group_panel import GroupPanel
from tests.helpers import Host, World, add_active, focus, opened, settle

# Screens do not depend on the backend; the services are tested on both.
pytestmark = pytest.mark.sqlite_only


def bob(world: World) -> Context:
    """Another administrator, working at the same time."""
    return Context(world.store, Actor("bob", Role.ADMIN))


def banner(app: Host) -> str:
    return str(app.screen.query_one("#banner", Static).render())


def actions(world: World) -> list[str]:
    with world.store.read() as session:
        return [e.action for e in session.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars()]


async def tick(pilot, app: Host, *names: str) -> None:  # type: ignore[no-untyped-def]
    rows = {row.option.name: row for row in app.screen.query_one(GroupPanel).rows}
    for name in names:
        await focus(pilot, rows[name].checkbox)
        await pilot.press("space")


async def test_r22_one_save_is_one_audit_event_for_every_group_joined_and_left(world: World) -> None:
    username = add_active(world).user.username
    groups.add_member(world.admin, "BER Park", username)
    before = actions(world)
    async with opened(lambda: GroupAssignmentsScreen(world.admin, username)) as (app, pilot):
        await tick(pilot, app, "BER Hunt", "BER Pickup", "BER Park")  # two joined, one left
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.results == [True]
    assert actions(world)[len(before) :] == ["user.set_groups"]
    assert [g.name for g in users.view(world.admin, username).groups] == ["BER Hunt", "BER Pickup"]


async def test_r22_stale_assignments_are_refused_and_the_fresh_state_shown(world: World) -> None:
    username = add_active(world).user.username
    async with opened(lambda: GroupAssignmentsScreen(world.admin, username)) as (app, pilot):
        await tick(pilot, app, "BER Pickup")
        # Meanwhile another administrator puts the user into the park group.
        memberships.set_user_groups(bob(world), username, {"BER Park": None})
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "Nothing was saved" in banner(app) and "changed by someone else" in banner(app)
        assert app.screen.query_one(GroupPanel).chosen == {"BER Park": None}
        assert app.results == []
    assert [g.name for g in users.view(world.admin, username).groups] == ["BER Park"]


async def test_r22_a_group_changed_meanwhile_makes_the_save_stale(world: World) -> None:
    username = add_active(world).user.username
    colleague = add_active(world, first_name="Anna", last_name="Schmidt", email="a@example.com", number="030 12345002")
    async with opened(lambda: GroupAssignmentsScreen(world.admin, username)) as (app, pilot):
        await tick(pilot, app, "BER Hunt")
        # The hunt group's members change from its own side.
        memberships.set_group_members(bob(world), "BER Hunt", [(colleague.user.username, None)])
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "BER Hunt was changed by someone else" in banner(app)
    assert users.view(world.admin, username).groups == []


async def test_r22_a_refused_save_changes_nothing_and_keeps_the_ticks(world: World) -> None:
    username = add_active(world).user.username
    before = actions(world)
    async with opened(lambda: GroupAssignmentsScreen(world.admin, username)) as (app, pilot):
        await tick(pilot, app, "BER Pickup", "BER Park")
        groups.delete_group(bob(world), "BER Park")  # gone before the save
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert banner(app) == "Nothing was saved: Group not found: BER Park"
        assert app.screen.query_one(GroupPanel).chosen == {"BER Pickup": None, "BER Park": None}
    # Not even the pickup group, which alone would have been fine.
    assert users.view(world.admin, username).groups == []
    assert actions(world)[len(before) :] == ["group.delete"]
