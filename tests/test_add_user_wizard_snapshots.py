"""80x24 pictures of every wizard step (pytest-textual-snapshot).

Run with ``--snapshot-update`` after a deliberate change to the look, and
review the pictures in ``tests/__snapshots__/test_add_user_wizard_snapshots``.
"""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot

from onenet_tui.data import secrets
from tests.helpers import (
    FIXED_PASSWORD,
    SIZE,
    World,
    at_groups,
    fill_names_and_email,
    steady,
    to_details,
    type_text,
    wizard_host,
)

# Screens do not depend on the backend; the services are tested on both.
pytestmark = pytest.mark.sqlite_only


def test_snapshot_step_1_device(world: World, snap_compare: Any) -> None:
    async def run_before(pilot: Pilot) -> None:
        await steady(pilot)

    assert snap_compare(wizard_host(world.admin), terminal_size=SIZE, run_before=run_before)


def test_snapshot_step_2_details_with_live_messages(world: World, snap_compare: Any) -> None:
    async def run_before(pilot: Pilot) -> None:
        await to_details(pilot)
        await fill_names_and_email(pilot, email="jl@ex")  # not yet an address: R18 says so
        await pilot.press("tab", "tab", "down", "tab")
        await steady(pilot)

    assert snap_compare(wizard_host(world.admin), terminal_size=SIZE, run_before=run_before)


def test_snapshot_step_2_details_without_desk_phone(world: World, snap_compare: Any) -> None:
    async def run_before(pilot: Pilot) -> None:
        await to_details(pilot, desk_phone=False)
        await fill_names_and_email(pilot)
        await pilot.press("tab", "tab", "down", "ctrl+n")  # Next reveals what is still missing (R17)
        await steady(pilot)

    assert snap_compare(wizard_host(world.admin), terminal_size=SIZE, run_before=run_before)


def test_snapshot_step_3_licence_and_services(world: World, snap_compare: Any) -> None:
    async def run_before(pilot: Pilot) -> None:
        await at_groups(pilot)
        await pilot.press("ctrl+b", "tab", "end", "space")  # the supervisor service
        await steady(pilot)

    assert snap_compare(wizard_host(world.admin), terminal_size=SIZE, run_before=run_before)


def test_snapshot_step_4_groups(world: World, snap_compare: Any) -> None:
    async def run_before(pilot: Pilot) -> None:
        await at_groups(pilot)
        await pilot.press("space")
        await steady(pilot)

    assert snap_compare(wizard_host(world.admin), terminal_size=SIZE, run_before=run_before)


def test_snapshot_step_5_review(world: World, snap_compare: Any) -> None:
    async def run_before(pilot: Pilot) -> None:
        await at_groups(pilot)
        await pilot.press("space", "tab", "space", "ctrl+n")
        await steady(pilot)

    assert snap_compare(wizard_host(world.admin), terminal_size=SIZE, run_before=run_before)


def test_snapshot_credentials_once_after_create(
    world: World, snap_compare: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(secrets, "system_password", lambda: FIXED_PASSWORD)

    async def run_before(pilot: Pilot) -> None:
        await at_groups(pilot)
        await pilot.press("ctrl+n", "ctrl+s")
        await steady(pilot)

    assert snap_compare(wizard_host(world.admin), terminal_size=SIZE, run_before=run_before)


def test_snapshot_discard_confirmation(world: World, snap_compare: Any) -> None:
    async def run_before(pilot: Pilot) -> None:
        await to_details(pilot)
        await type_text(pilot, "Jörg")
        await pilot.press("escape")
        await steady(pilot)

    assert snap_compare(wizard_host(world.admin), terminal_size=SIZE, run_before=run_before)
