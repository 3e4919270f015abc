"""R26 in the console: ``l`` on a user's detail screen opens their history,
the audit log's typed filter, ``enter`` for an event in full, pages read as
the cursor goes down, and 80x24 snapshots of the three screens."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import update
from textual.app import App
from textual.widgets import Static

from onenet_tui.data import audit, audit_log, users
from onenet_tui.data.models import AuditEvent
from onenet_tui.data.schemas import ConfigChange, ProfileChange
from onenet_tui.screens.audit_event import AuditEventScreen
from onenet_tui.screens.audit_log import FIRST_PAGE, AuditLogScreen
from onenet_tui.screens.user_detail import UserDetailScreen
from onenet_tui.widgets.event_table import EventTable
from tests.helpers import SIZE, Host, World, add, add_active, detail_opened, opened, settle, type_text, until

# Screens do not depend on the backend; the services are tested on both.
pytestmark = pytest.mark.sqlite_only

MOMENT = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


def cells(app: App[Any]) -> list[list[str]]:
    return [list(row) for row in app.screen.query_one(EventTable).rows]


def actions(app: App[Any]) -> list[str]:
    return [row[2] for row in cells(app)]


def changes_of(world: World) -> str:
    """Anna with a profile change and a configuration change, Eva untouched."""
    anna = add_active(world, first_name="Anna", last_name="Schmidt", email="a@example.com").user.username
    add(world, first_name="Eva", number="030 12345002", email="e@example.com")
    version = users.view(world.admin, anna).version
    users.edit_profile(world.admin, anna, ProfileChange(expected_version=version, department="[bold]Einkauf[/bold]"))
    version = users.view(world.admin, anna).version
    users.change_configuration(world.admin, anna, ConfigChange(expected_version=version, last_name="Schulz"))
    with world.store.transaction() as session:
        session.execute(update(AuditEvent).values(at=MOMENT))
    return anna


async def test_r26_l_on_the_detail_screen_opens_the_users_history_newest_first(world: World) -> None:
    anna = changes_of(world)
    async with detail_opened(world.helpdesk, anna) as (app, pilot):
        await pilot.press("l")
        await settle(pilot)
        assert isinstance(app.screen, AuditLogScreen)
        assert actions(app) == ["Configuration changed", "Profile changed", "Activated by the carrier", "User added"]
        title = str(app.screen.query_one("#audit-title", Static).render())
        assert anna in title and "4 events" in title
        await pilot.press("escape")
        assert isinstance(app.screen, UserDetailScreen)


async def test_r26_the_audit_log_filters_by_typed_terms_and_names_a_bad_time(world: World) -> None:
    changes_of(world)
    async with opened(lambda: AuditLogScreen(world.admin, poll_seconds=0)) as (app, pilot):
        assert len(cells(app)) == 5
        await pilot.press("slash")
        await type_text(pilot, "action:user.edit")
        await settle(pilot)
        assert actions(app) == ["Profile changed"]
        await type_text(pilot, " since:tomorrow")
        await settle(pilot)
        status = str(app.screen.query_one("#audit-status", Static).render())
        assert "Since (since)" in status and "tomorrow" in status
        for _ in range(len(" since:tomorrow action:user.edit")):
            await pilot.press("backspace")
        await type_text(pilot, "eva")  # free text
        await settle(pilot)
        assert actions(app) == ["User added"]
        await pilot.press("enter")  # back to the table
        assert isinstance(app.screen.focused, EventTable)


async def test_r26_enter_shows_an_event_in_full_with_old_and_new_values_literally(world: World) -> None:
    changes_of(world)
    async with opened(lambda: AuditLogScreen(world.admin, poll_seconds=0)) as (app, pilot):
        await pilot.press("down", "enter")  # the profile change
        await settle(pilot)
        assert isinstance(app.screen, AuditEventScreen)
        shown = [str(s.render()) for s in app.screen.query("#event-body Static")]
        assert "department: — → [bold]Einkauf[/bold]" in shown
        assert any(line.startswith("Action: Profile changed (user.edit_profile)") for line in shown)
        await pilot.press("escape")
        assert isinstance(app.screen, AuditLogScreen)


async def test_r26_the_audit_log_reads_older_pages_as_the_cursor_goes_down(world: World) -> None:
    with world.store.transaction() as session:
        audit.record_many(session, world.admin.actor, (("user.edit_profile", f"u{i}", {"n": i}) for i in range(450)))
    async with opened(lambda: AuditLogScreen(world.admin, poll_seconds=0)) as (app, pilot):
        table = app.screen.query_one(EventTable)
        assert table.row_count == FIRST_PAGE
        assert "more below" in str(app.screen.query_one("#audit-title", Static).render())
        for _ in range(3):
            await pilot.press("end")
            await settle(pilot)
        await until(pilot, lambda: table.row_count == 450)
        assert cells(app)[-1][3] == "u0"
        assert "more below" not in str(app.screen.query_one("#audit-title", Static).render())


async def test_r26_new_events_appear_on_top_and_the_cursor_stays(world: World) -> None:
    anna = changes_of(world)
    async with opened(lambda: AuditLogScreen(world.admin, poll_seconds=0.05)) as (app, pilot):
        await pilot.press("down", "down")
        table = app.screen.query_one(EventTable)
        before = cells(app)[table.cursor]
        version = users.view(world.admin, anna).version
        users.edit_profile(world.admin, anna, ProfileChange(expected_version=version, job_title="Buyer"))
        await until(pilot, lambda: len(cells(app)) == 6)
        assert cells(app)[table.cursor] == before


def test_snapshot_r26_history_screen(world: World, snap_compare) -> None:  # type: ignore[no-untyped-def]
    anna = changes_of(world)
    user_id = users.view(world.admin, anna).id
    app = Host(lambda: AuditLogScreen(world.admin, poll_seconds=0, user_id=user_id, username=anna))
    assert snap_compare(app, terminal_size=SIZE, run_before=settle)


def test_snapshot_r26_audit_log_details_column(world: World, snap_compare) -> None:  # type: ignore[no-untyped-def]
    changes_of(world)
    app = Host(lambda: AuditLogScreen(world.admin, poll_seconds=0))
    assert snap_compare(app, terminal_size=SIZE, run_before=settle)


def test_snapshot_r26_event_details(world: World, snap_compare) -> None:  # type: ignore[no-untyped-def]
    changes_of(world)
    with world.store.read() as session:
        newest = audit_log.page(session, audit_log.AuditFilter(action="user.change_configuration"))[0]
    app = Host(lambda: AuditEventScreen(world.admin, newest.id or 0))
    assert snap_compare(app, terminal_size=SIZE, run_before=settle)
