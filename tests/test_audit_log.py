"""The audit log screen: every change listed newest first, data shown
literally, other people's changes appearing while it is open."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import update
from textual.app import App

from onenet_tui.data import carrier, credentials
from onenet_tui.data.models import AuditEvent
from onenet_tui.i18n import set_language
from onenet_tui.screens.audit_log import AuditLogScreen
from onenet_tui.screens.relabel import LanguageChanged
from onenet_tui.widgets.event_table import EventTable
from tests.helpers import SIZE, Host, World, add, opened, settle

# Screens do not depend on the backend; the services are tested on both.
pytestmark = pytest.mark.sqlite_only


def cells(app: App[None]) -> list[list[str]]:
    return [list(row) for row in app.screen.query_one(EventTable).rows]


async def test_audit_log_lists_changes_newest_first_and_follows_new_ones(world: World) -> None:
    added = add(world, first_name="[bold]Eve[/bold]", last_name="Müller")
    async with opened(lambda: AuditLogScreen(world.helpdesk, poll_seconds=0.1)) as (app, pilot):
        rows = cells(app)
        assert [r[1:4] for r in rows] == [["alice", "User added", added.user.username]]
        carrier.set_status(world.carrier, added.user.username, "activated")
        for _ in range(20):
            await pilot.pause(0.1)
            await settle(pilot)
            if len(cells(app)) == 2:
                break
        assert [r[2] for r in cells(app)] == ["Activated by the carrier", "User added"]
        await pilot.press("escape")
        assert not isinstance(app.screen, AuditLogScreen)


async def test_r14_a_carrier_outcome_applied_by_hand_names_the_carrier_and_the_person(world: World) -> None:
    by_hand = add(world)
    by_carrier = add(world, number="030 12345002", first_name="Eva")
    carrier.set_status(world.admin, by_hand.user.username, "activated")
    carrier.set_status(world.carrier, by_carrier.user.username, "activated")
    async with opened(lambda: AuditLogScreen(world.helpdesk, poll_seconds=0)) as (app, pilot):
        assert [r[1:3] for r in cells(app)[:2]] == [
            ["carrier", "Activated by the carrier"],
            ["carrier, applied by alice", "Activated by the carrier"],
        ]
        set_language("de")
        app.screen.relabel()
        await settle(pilot)
        assert cells(app)[1][1] == "Netzbetreiber, eingetragen von alice"


async def test_audit_details_are_shown_literally(world: World) -> None:
    add(world)
    with world.store.transaction() as session:
        session.add(AuditEvent(operator="x\x1b[31m", action="user.add", target="[red]t[/red]", details={"n": "[b]"}))
    async with opened(lambda: AuditLogScreen(world.admin, poll_seconds=0)) as (app, pilot):
        newest = cells(app)[0]
        assert newest[1] == "x␛[31m"
        assert newest[3] == "[red]t[/red]" and '"[b]"' in newest[4]


def test_snapshot_audit_log(world: World, snap_compare) -> None:  # type: ignore[no-untyped-def]
    added = add(world)
    carrier.set_status(world.carrier, added.user.username, "activated")
    with world.store.transaction() as session:
        session.execute(update(AuditEvent).values(at=datetime(2025, 3, 14, 9, 30, tzinfo=UTC)))
    app = Host(lambda: AuditLogScreen(world.admin, poll_seconds=0))
    assert snap_compare(app, terminal_size=SIZE, run_before=settle)


async def test_l_says_action_codes_and_bulk_targets_in_words_both_ways(world: World) -> None:
    first = add(world)
    second = add(world, number="030 12345002", first_name="Eva")
    credentials.bulk_reset(world.admin, [first.user.id, second.user.id])
    async with opened(lambda: AuditLogScreen(world.admin, poll_seconds=0)) as (app, pilot):
        assert [r[2:4] for r in cells(app)][0] == ["Bulk desk phone passwords", "2 users"]
        set_language("de")
        app.screen.post_message(LanguageChanged())
        await settle(pilot)
        table = app.screen.query_one(EventTable)
        assert table.titles[:3] == ["Zeit (UTC)", "Operator", "Aktion"]
        assert [r[2:4] for r in cells(app)][0] == ["Tischtelefon-Kennwörter gesammelt", "2 Benutzer"]
        assert cells(app)[-1][2] == "Benutzer angelegt"
        assert "." in cells(app)[0][0]  # 01.12.2026: the German date
        set_language("en")
        app.screen.post_message(LanguageChanged())
        await settle(pilot)
        assert table.titles[:3] == ["Time (UTC)", "Operator", "Action"]
        assert cells(app)[-1][2] == "User added" and "/" in cells(app)[0][0]
