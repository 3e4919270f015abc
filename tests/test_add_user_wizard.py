"""The add-user wizard (issue 5), driven through the real keys.

A tiny host app pushes the wizard with an explicit context, as the directory
will; each test reads the outcome back through the service layer.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Checkbox, Input, Select

from onenet_tui.data import secrets, users
from onenet_tui.data.models import DeskPhoneCredential
from onenet_tui.data.users import AddedUser
from onenet_tui.i18n import t
from onenet_tui.screens.add_user import AddUserWizard
from onenet_tui.screens.credentials_once import CredentialsOnceScreen
from onenet_tui.widgets.group_panel import GroupPanel
from tests.helpers import (
    DE_MOBILE,
    EMAIL,
    FIRST,
    FIXED_PASSWORD,
    GB_MOBILE,
    LAST,
    UNSET,
    USERNAME,
    World,
    add,
    fill_names_and_email,
    focused_id,
    message,
    row,
    settle,
    to_groups,
    type_text,
    wizard_at_details,
    wizard_host,
    wizard_of,
)


async def pick_site(pilot: Pilot, site: str) -> None:
    """From the email field: open the site list and type to search."""
    await pilot.press("tab")
    assert focused_id(pilot.app) == "site"  # type: ignore[arg-type]
    select = pilot.app.focused
    assert isinstance(select, Select)
    if select.value != site:
        await pilot.press("enter", *site[:3], "enter")
    await settle(pilot)
    assert select.value == site


# ---------------------------------------------------------------- whole walks


async def test_walk_desk_phone_user_through_every_step(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(secrets, "system_password", lambda: FIXED_PASSWORD)
    async with wizard_at_details(world.admin) as (app, pilot):
        await fill_names_and_email(pilot)
        await pick_site(pilot, "Berlin")
        await pilot.press("tab", "down", "down")  # the second free number
        await settle(pilot)
        assert wizard_of(app).number_field.value == "030 12345001"
        await pilot.press("tab")
        assert focused_id(app) == "extension"
        assert wizard_of(app).query_one("#extension", Input).value == "5001"
        await pilot.press("tab", "enter", "down", "down", "enter")  # past the blank prompt: Yealink T46U
        await settle(pilot)
        await pilot.press("tab")
        await type_text(pilot, "030 98765432")  # not a mobile: R17 complains at once
        assert message(app, "mobile") == "✗ " + t("r17.mobile_invalid", country="DE")
        await pilot.press("ctrl+u")
        await type_text(pilot, "0151 23456789")
        assert message(app, "mobile") == ""
        await pilot.press("tab")
        await type_text(pilot, "12345678")
        await pilot.press("ctrl+n")
        await settle(pilot)

        # Step 3: licence (type-ahead "p" for Premium user), voicemail and supervisor.
        assert focused_id(app) == "licence"
        await pilot.press("enter", "p", "enter", "tab", "space", "end", "space")
        await pilot.press("ctrl+n")
        await settle(pilot)

        # Step 4: hunt group and call center are off (R4); pickup is the first to tick.
        assert isinstance(app.focused, Checkbox)
        await pilot.press("space", "ctrl+n")
        await settle(pilot)

        # Step 5: review, then create.
        wizard = wizard_of(app)
        assert wizard.step == 4
        assert focused_id(app) == "wizard-create"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, CredentialsOnceScreen)
        await pilot.press("enter")
        await settle(pilot)

    added = app.result
    assert added is not UNSET and added is not None
    assert added.credentials is None
    view = users.view(world.admin, added.user.username)
    assert view.username == USERNAME
    assert (view.first_name, view.last_name) == (FIRST, LAST)
    assert view.email == EMAIL
    assert (view.site, view.number, view.extension) == ("Berlin", "+493012345001", "5001")
    assert (view.device_type, view.desk_phone_model) == ("desk_phone", "yealink-t46u")
    assert (view.mobile, view.contract) == (DE_MOBILE, "12345678")
    assert view.licence == "premium"
    assert view.services == ["voicemail", "supervisor"]
    assert [(g.name, g.kind) for g in view.groups] == [("BER Pickup", "pickup")]
    assert view.status == "pending"
    assert view.credentials is not None and view.credentials.sip_username == "493012345001"


async def test_walk_user_without_desk_phone_through_every_step(world: World) -> None:
    async with wizard_at_details(world.admin, desk_phone=False) as (app, pilot):
        assert not row(app, "desk_phone_model").display
        await fill_names_and_email(pilot, "Chloé", "Bö", "c@ex.uk")
        await pick_site(pilot, "London")
        await pilot.press("tab", "down")
        await pilot.press("tab", "tab")  # extension follows; no desk phone model row
        assert focused_id(app) == "mobile"
        await type_text(pilot, "07400 123456")
        await pilot.press("tab")
        await type_text(pilot, "987654321")
        await pilot.press("ctrl+n", "ctrl+n")  # licence and services as they are
        await settle(pilot)
        # Step 4: London's groups; pickup then call park.
        panel = wizard_of(app).query_one(GroupPanel)
        assert {r.option.name for r in panel.rows} == {"LON Hunt", "LON Callcenter", "LON Pickup", "LON Park"}
        await pilot.press("space", "tab", "space", "ctrl+n")
        await settle(pilot)
        await pilot.press("enter")  # Create has focus
        await settle(pilot)
        assert not isinstance(app.screen, CredentialsOnceScreen)

    added = app.result
    assert added is not None and added is not UNSET
    view = users.view(world.admin, added.user.username)
    assert view.username == "chloe.boe"
    assert (view.site, view.number, view.extension) == ("London", "+442079460000", "0000")
    assert (view.device_type, view.desk_phone_model) == ("none", None)
    assert (view.mobile, view.contract) == (GB_MOBILE, "987654321")
    assert view.credentials is None
    assert sorted(g.name for g in view.groups) == ["LON Park", "LON Pickup"]
    assert view.status == "pending"


# ---------------------------------------------------------------- lookups in the database


async def test_r19_proposal_is_made_unique_and_a_taken_name_shows_live(world: World) -> None:
    add(world)  # juergen.mueller exists
    async with wizard_at_details(world.admin) as (app, pilot):
        await type_text(pilot, "Jürgen")
        await pilot.press("tab")
        await type_text(pilot, "Müller")
        username = wizard_of(app).query_one("#username", Input)
        assert username.value == "juergen.mueller2"
        await pilot.press("tab", "backspace")
        await type_text(pilot, "juergen.mueller")
        assert message(app, "username") == "✗ " + t("r19.taken", username="juergen.mueller")
        await type_text(pilot, "x")
        assert message(app, "username") == ""


async def test_r2_extension_clash_in_the_site_shows_at_once(world: World) -> None:
    add(world, number="030 12345020", extension="4711")
    async with wizard_at_details(world.admin) as (app, pilot):
        await pilot.press(*["tab"] * 6)
        assert focused_id(app) == "extension"
        await type_text(pilot, "4711")
        assert message(app, "extension") == "✗ " + t("r2.taken", extension="4711", holder="juergen.mueller")
        await type_text(pilot, "2")
        assert message(app, "extension") == ""
        await pilot.press("ctrl+u")
        await type_text(pilot, "4x")
        assert message(app, "extension") == "✗ " + t("r2.digits")


async def test_r16_number_checked_for_country_pool_and_holder(world: World) -> None:
    add(world, number="030 12345001")
    async with wizard_at_details(world.admin) as (app, pilot):
        await pilot.press(*["tab"] * 5)
        assert focused_id(app) == "number"
        await type_text(pilot, "12")
        assert message(app, "number") == "✗ " + t("r16.invalid", country="DE")
        await pilot.press("ctrl+u")
        await type_text(pilot, "030 12345001")
        assert message(app, "number") == "✗ " + t("r16.not_free", holder="juergen.mueller")
        await pilot.press("ctrl+u")
        await type_text(pilot, "030 99999999")
        assert message(app, "number") == "✗ " + t("r16.not_in_pool", site="Berlin")
        await pilot.press("ctrl+u")
        await type_text(pilot, "+493012345002")
        assert message(app, "number") == t("wizard.number_free", national="030 12345002", site="Berlin")


# ---------------------------------------------------------------- groups, create, errors


async def test_service_field_error_goes_back_to_its_field(world: World) -> None:
    app = wizard_host(world.admin)
    async with app.run_test(size=(80, 24)) as pilot:
        await to_groups(pilot)
        await pilot.press("ctrl+n")
        await settle(pilot)
        # Meanwhile another administrator takes the chosen number.
        add(
            world,
            first_name="Anna",
            last_name="Schmidt",
            email="anna@example.com",
            number="030 12345000",
            extension="9000",
        )
        await pilot.press("ctrl+s")
        await settle(pilot)
        wizard = wizard_of(app)
        assert wizard.step == 1
        assert focused_id(app) == "number"
        assert message(app, "number") == "✗ " + t("r16.not_free", holder="anna.schmidt")
        assert wizard.query_one("#first_name", Input).value == FIRST
        assert app.result is UNSET
        # Pick the next free number and create after all.
        await pilot.press("down")
        await settle(pilot)
        await pilot.press("ctrl+n", "ctrl+n", "ctrl+n", "ctrl+n")
        await settle(pilot)
        await pilot.press("ctrl+s")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
    added = app.result
    assert isinstance(added, AddedUser)
    assert added.user.number == "+493012345001"


# ---------------------------------------------------------------- R8


def _holders_of(secret: str, obj: object, path: str = "", seen: set[int] | None = None) -> list[str]:
    """Attribute paths under ``obj`` (plain data, not the widget tree) that hold ``secret``."""
    seen = seen if seen is not None else set()
    if id(obj) in seen:
        return []
    seen.add(id(obj))
    if isinstance(obj, str):
        return [path] if secret in obj else []
    found: list[str] = []
    if isinstance(obj, dict):
        for key, value in obj.items():
            found += _holders_of(secret, value, f"{path}[{key!r}]", seen)
    elif isinstance(obj, (list, tuple, set, frozenset)):
        for index, value in enumerate(obj):
            found += _holders_of(secret, value, f"{path}[{index}]", seen)
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            found += _holders_of(secret, getattr(obj, f.name), f"{path}.{f.name}", seen)
    return found


def _screen_state(screen: object) -> dict[str, Any]:
    """Every attribute of a screen object (its widgets are not searched: they are gone or hold no secret)."""
    return dict(vars(screen))


async def test_r8_credentials_shown_once_then_the_secret_is_not_retrievable(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(secrets, "system_password", lambda: FIXED_PASSWORD)
    app = wizard_host(world.admin)
    async with app.run_test(size=(80, 24)) as pilot:
        await to_groups(pilot)
        await pilot.press("ctrl+n", "ctrl+s")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, CredentialsOnceScreen)
        shown = " ".join(str(label.render()) for label in screen.query(".credentials--value"))
        assert FIXED_PASSWORD in shown
        assert "493012345000" in shown and "berlin.sip.example.net" in shown
        assert focused_id(app) == "credentials-next"
        wizard = wizard_of(app)
        # Even while shown, the wizard itself does not keep the password.
        assert _holders_of(FIXED_PASSWORD, _screen_state(wizard)) == []
        await pilot.press("enter")
        await settle(pilot)
        assert screen.issued == ()
        assert not screen.query(".credentials--value")
        assert _holders_of(FIXED_PASSWORD, _screen_state(screen)) == []
        assert _holders_of(FIXED_PASSWORD, _screen_state(wizard)) == []
        assert not isinstance(app.screen, (CredentialsOnceScreen, AddUserWizard))
    added = app.result
    assert added is not None and added.credentials is None
    assert _holders_of(FIXED_PASSWORD, added) == []
    view = users.view(world.admin, added.user.username)
    assert FIXED_PASSWORD not in json.dumps(view.to_json(), default=str)
    with world.store.read() as session:
        row = session.get(DeskPhoneCredential, added.user.id)
        assert row is not None
        assert FIXED_PASSWORD not in json.dumps(row.model_dump(), default=str)
        assert row.ha1_md5 == secrets.ha1("493012345000", "berlin.sip.example.net", FIXED_PASSWORD, "md5")


async def test_the_site_names_are_read_off_the_ui_thread(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    read_in: list[threading.Thread] = []
    real = users.site_names

    def recorded(ctx: Any) -> list[str]:
        read_in.append(threading.current_thread())
        return real(ctx)

    monkeypatch.setattr(users, "site_names", recorded)
    app = wizard_host(world.admin, site="Berlin")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        wizard = wizard_of(app)
        assert read_in and threading.main_thread() not in read_in
        assert wizard.query_one("#site", Select).value == "Berlin"
        assert wizard.site is not None and wizard.site.name == "Berlin"
