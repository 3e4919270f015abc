"""80x24 pictures of the bulk credentials screens (R10, R11): the selection /
mode screen (system-generated and admin-chosen with a live R11 message) and
the result table. Passwords are fixed by replacing the system password
generator with a known sequence, so the pictures only change when the
screens do."""

from __future__ import annotations

import itertools
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from onenet_tui.data import secrets, selection
from onenet_tui.screens.bulk_credentials import ConfirmResetScreen
from tests.helpers import (
    SIZE,
    World,
    bulk_host,
    choose_admin_mode,
    confirm_reset,
    preview_loaded,
    three_desk_phones,
    until,
    without_desk_phone,
)

# The export file's default name and folder, fixed so the pictures do not follow the clock or tmp_path.
NOW = datetime(2026, 3, 2, 9, 30)
FIXED_PASSWORDS = ["Kx7pQ2mW9rT4vB8nZ3hJ", "Hy4cN8sD2fG6kP9qR3tV", "Mw3xT7bR5nJ9cV2kQ8pL", "Ab2cD3eF4gH5jK6mN7pQ"]


# Screens do not depend on the backend; the services are tested on both.
pytestmark = pytest.mark.sqlite_only


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The export directory shows as ``~/exports`` in every picture."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("ONENET_EXPORT_DIR", str(tmp_path / "exports"))
    return tmp_path


def berlin(world: World) -> list[int]:
    three_desk_phones(world)
    without_desk_phone(world)
    with world.store.read() as session:
        return selection.choose(session, site="Berlin")


def test_snapshot_selection_system_mode(snap_compare: Any, world: World) -> None:
    app = bulk_host(world.admin, berlin(world), source="filter")

    async def loaded(pilot: Pilot[Any]) -> None:
        await preview_loaded(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=loaded)


def test_snapshot_selection_admin_mode_with_live_r11_message(snap_compare: Any, world: World) -> None:
    app = bulk_host(world.admin, berlin(world), source="filter")

    async def typed(pilot: Pilot[Any]) -> None:
        await preview_loaded(pilot)
        await choose_admin_mode(pilot)
        await pilot.press(*"Zaunkoenig5002")
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=typed)


def test_snapshot_result_table_with_fixed_passwords(
    snap_compare: Any, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = berlin(world)
    sequence = itertools.cycle(FIXED_PASSWORDS)
    monkeypatch.setattr(secrets, "system_password", lambda: next(sequence))
    app = bulk_host(world.admin, ids, source="marked", now=NOW)

    async def reset(pilot: Pilot[Any]) -> None:
        await preview_loaded(pilot)
        await confirm_reset(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=reset)


def test_snapshot_confirmation_takes_the_file_name(snap_compare: Any, world: World) -> None:
    app = bulk_host(world.admin, berlin(world), source="filter", now=NOW)

    async def confirming(pilot: Pilot[Any]) -> None:
        await preview_loaded(pilot)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(pilot.app.screen, ConfirmResetScreen))
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=confirming)
