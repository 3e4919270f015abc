"""The directory and the add-user wizard in German at 80x24 (SPEC section 5)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from textual.pilot import Pilot

from onenet_tui.i18n import set_language
from tests.helpers import (
    SIZE,
    World,
    build_people,
    fill_names_and_email,
    make_app,
    ready,
    steady,
    to_details,
    wizard_host,
)

# Screens do not depend on the backend; the services are tested on both.
pytestmark = pytest.mark.sqlite_only


@pytest.fixture(autouse=True)
def german() -> Iterator[None]:
    set_language("de")
    yield
    set_language("en")


def test_snapshot_directory_in_german(world: World, snap_compare: Any) -> None:
    build_people(world)

    async def run_before(pilot: Pilot) -> None:
        await ready(pilot)

    assert snap_compare(make_app(world), terminal_size=SIZE, run_before=run_before)


def test_snapshot_wizard_details_in_german(world: World, snap_compare: Any) -> None:
    async def run_before(pilot: Pilot) -> None:
        await to_details(pilot)
        await fill_names_and_email(pilot, email="jl@ex")
        await steady(pilot)

    assert snap_compare(wizard_host(world.admin), terminal_size=SIZE, run_before=run_before)
