"""The wizard and carrier-flagged numbers (R21), and numbers of another
country's site (R16), at 80x24: the flag and its reason where the number is
typed and on the review step, and a question before the user is created."""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Button, Select

from onenet_tui.data import users
from onenet_tui.data.errors import NotFound
from onenet_tui.i18n import t
from onenet_tui.screens.add_user import AddUserWizard
from onenet_tui.screens.credentials_once import CredentialsOnceScreen
from onenet_tui.screens.save_file import ConfirmScreen
from tests.helpers import (
    EMAIL,
    FIRST,
    LAST,
    SIZE,
    USERNAME,
    Host,
    World,
    fill_names_and_email,
    focused_id,
    message,
    paste,
    settle,
    steady,
    to_details,
    type_text,
    wizard_at_details,
    wizard_host,
    wizard_of,
)

pytestmark = pytest.mark.sqlite_only

FLAGGED = "030 12345039"  # "porting not finished" in the test tenant
FLAG = t("r21.flagged", number=FLAGGED, reason="porting not finished")


async def _to_review_with(pilot: Pilot[Any], number: str) -> None:
    """Details by pastes (the typing itself is tested below), then Next to review."""
    app = pilot.app
    assert isinstance(app, Host)
    await to_details(pilot)
    for field, text in (("first_name", FIRST), ("last_name", LAST), ("email", EMAIL), ("number", number)):
        paste(app, field, text)
        await settle(pilot)
    wizard_of(app).query_one("#desk_phone_model", Select).value = "yealink-t54w"
    await settle(pilot)
    await pilot.press("ctrl+n", "ctrl+n", "ctrl+n", "ctrl+n")
    await settle(pilot)
    assert wizard_of(app).step == 4


def _review_text(app: Host) -> str:
    wizard = wizard_of(app)
    return "\n".join(f"{label}: {value}" for label, value in wizard._summary())


async def test_r21_a_typed_flagged_number_shows_its_flag_not_free(world: World) -> None:
    async with wizard_at_details(world.admin) as (app, pilot):
        await fill_names_and_email(pilot)
        await pilot.press("tab", "tab")
        assert focused_id(app) == "number"
        await type_text(pilot, FLAGGED)
        assert message(app, "number") == FLAG
        assert "porting not finished" in message(app, "number") and "free" not in message(app, "number")
        # A free number that is not flagged is still "free".
        await pilot.press("ctrl+u")
        await type_text(pilot, "030 12345002")
        assert message(app, "number") == t("wizard.number_free", national="030 12345002", site="Berlin")


async def test_r21_the_review_shows_the_flag_and_create_asks_first(world: World) -> None:
    app = wizard_host(world.admin)
    async with app.run_test(size=SIZE) as pilot:
        await _to_review_with(pilot, FLAGGED)
        assert f"{t('wizard.review.flag')}: {FLAG}" in _review_text(app)
        await pilot.press("ctrl+s")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, ConfirmScreen)
        assert focused_id(app) == "cancel"  # Enter alone never creates
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, AddUserWizard)
        with pytest.raises(NotFound):
            users.view(world.admin, USERNAME)
        # Asked again, and this time yes.
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("tab")
        assert focused_id(app) == "confirm"
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, CredentialsOnceScreen)
        await pilot.press("enter")
        await settle(pilot)
    view = users.view(world.admin, USERNAME)
    assert (view.number, view.status) == ("+493012345039", "pending")


async def test_r21_an_unflagged_number_is_created_without_a_question(world: World) -> None:
    app = wizard_host(world.admin)
    async with app.run_test(size=SIZE) as pilot:
        await _to_review_with(pilot, "030 12345002")
        assert t("wizard.review.flag") not in _review_text(app)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, CredentialsOnceScreen)


async def test_r21_a_number_flagged_after_the_wizard_loaded_is_refused_by_the_service(world: World) -> None:
    from sqlalchemy import update

    from onenet_tui.data.models import PhoneNumber

    app = wizard_host(world.admin)
    async with app.run_test(size=SIZE) as pilot:
        await _to_review_with(pilot, "030 12345002")
        with world.store.transaction() as session:
            session.execute(
                update(PhoneNumber).where(PhoneNumber.e164 == "+493012345002").values(flagged=True, flag_reason="x")  # type: ignore[arg-type]
            )
        await pilot.press("ctrl+s")
        await settle(pilot)
        wizard = wizard_of(app)
        assert app.screen is wizard and wizard.failure is not None and "R21" in wizard.failure
        assert not wizard.query_one("#wizard-create", Button).disabled


async def test_r16_a_london_number_typed_for_berlin_says_it_is_londons(world: World) -> None:
    async with wizard_at_details(world.admin) as (app, pilot):
        await fill_names_and_email(pilot)
        await pilot.press("tab", "tab")
        await type_text(pilot, "+44 20 7946 0001")
        assert message(app, "number") == "✗ " + t("r16.other_site", owner="London", site="Berlin")
        # A number no site has keeps the country message.
        await pilot.press("ctrl+u")
        await type_text(pilot, "+44 20 7946 9999")
        assert message(app, "number") == "✗ " + t("r16.invalid", country="DE")


def test_snapshot_r21_review_with_the_carrier_flag(world: World, snap_compare: Any) -> None:
    async def run_before(pilot: Pilot) -> None:
        await _to_review_with(pilot, FLAGGED)
        await steady(pilot)

    assert snap_compare(wizard_host(world.admin), terminal_size=SIZE, run_before=run_before)


def test_snapshot_r21_question_before_creating_on_a_flagged_number(world: World, snap_compare: Any) -> None:
    async def run_before(pilot: Pilot) -> None:
        await _to_review_with(pilot, FLAGGED)
        await pilot.press("ctrl+s")
        await steady(pilot)

    assert snap_compare(wizard_host(world.admin), terminal_size=SIZE, run_before=run_before)
