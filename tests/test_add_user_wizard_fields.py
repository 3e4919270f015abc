"""The add-user wizard's fields and steps, driven through the real keys.

These do not depend on the database backend, so they run on SQLite only;
the walks and lookups in ``test_add_user_wizard.py`` run on both backends.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import pytest
from textual.widgets import Button, Input, RadioButton, Select

from onenet_tui.data import carrier, queries, users
from onenet_tui.data.context import Context
from onenet_tui.data.errors import RuleRefused
from onenet_tui.data.tenant import create_site
from onenet_tui.i18n import set_language, t
from onenet_tui.screens.add_user import AddUserWizard
from onenet_tui.screens.save_file import ConfirmScreen
from onenet_tui.widgets.group_panel import GroupPanel
from tests.helpers import (
    EMAIL,
    FIRST,
    GB_MOBILE,
    LAST,
    USERNAME,
    World,
    add,
    fill_names_and_email,
    focused_id,
    message,
    paste,
    row,
    settle,
    to_groups,
    type_text,
    wizard_at_details,
    wizard_host,
    wizard_of,
)

# Screens do not depend on the backend; the services are tested on both.
pytestmark = pytest.mark.sqlite_only


async def test_r1_first_name_24th_character_shows_limit_before_submit(world: World) -> None:
    async with wizard_at_details(world.admin) as (app, pilot):
        paste(app, "first_name", "A" * 22)
        await type_text(pilot, "A")
        field = row(app, "first_name")
        assert field.message_text == ""
        assert "23/23" in str(field.query_one(".field--counter").render())
        await type_text(pilot, "B")
        assert field.message_text == "✗ " + t("r1.too_long", max=23, count=24)
        assert "(R1)" in field.message_text
        counter = field.query_one(".field--counter")
        assert "24/23" in str(counter.render()) and counter.has_class("-over")
        assert wizard_of(app).step == 1  # nothing was submitted


async def test_r1_umlauts_count_once_and_last_name_limit_is_30(world: World) -> None:
    async with wizard_at_details(world.admin) as (app, pilot):
        paste(app, "first_name", "A\u0308" * 22)  # decomposed: 44 code points, 22 characters
        await type_text(pilot, "Ä")
        assert message(app, "first_name") == ""
        await pilot.press("tab")
        paste(app, "last_name", "ö" * 30)
        await type_text(pilot, "ö")
        assert message(app, "last_name") == "✗ " + t("r1.too_long", max=30, count=31)
        await pilot.press("ctrl+u")
        await settle(pilot)
        assert message(app, "last_name") == "✗ " + t("r1.blank")


async def test_untouched_fields_stay_quiet_until_next_reveals_them(world: World) -> None:
    async with wizard_at_details(world.admin) as (app, pilot):
        assert message(app, "email") == ""
        await pilot.press("ctrl+n")
        await settle(pilot)
        wizard = wizard_of(app)
        assert wizard.step == 1
        assert message(app, "first_name") == "✗ " + t("r1.blank")
        assert message(app, "email") == "✗ " + t("r18.required")
        assert message(app, "desk_phone_model") == "✗ " + t("device.model_required")
        assert focused_id(app) == "first_name"


async def test_r18_email_checked_as_you_type(world: World) -> None:
    async with wizard_at_details(world.admin) as (app, pilot):
        await pilot.press("tab", "tab", "tab")
        assert focused_id(app) == "email"
        await type_text(pilot, "jl@")
        assert message(app, "email") == "✗ " + t("r18.invalid")
        await type_text(pilot, "ex.de")
        assert message(app, "email") == ""


async def test_r19_username_follows_the_names_until_edited(world: World) -> None:
    async with wizard_at_details(world.admin) as (app, pilot):
        await type_text(pilot, FIRST)
        username = wizard_of(app).query_one("#username", Input)
        assert username.value == "joerg"
        await pilot.press("tab")
        await type_text(pilot, LAST)
        assert username.value == USERNAME
        assert message(app, "username") == t("wizard.username_follows")
        await pilot.press("tab")
        await type_text(pilot, "jl")  # focus selected the proposal: typing replaces it
        assert username.value == "jl"
        assert message(app, "username") == "✗ " + t("r19.length", min=3, max=40)
        await type_text(pilot, "x")
        await pilot.press("shift+tab", "shift+tab", "end")
        await type_text(pilot, "a")
        assert username.value == "jlx"
        assert wizard_of(app).username_follows is False


async def test_number_type_ahead_completes_a_free_number(world: World) -> None:
    async with wizard_at_details(world.admin) as (app, pilot):
        await pilot.press(*["tab"] * 5)
        assert message(app, "number") == t("wizard.numbers_free", count=40, site="Berlin")
        await type_text(pilot, "030 1234501")
        number = wizard_of(app).query_one("#number", Input)
        assert number._suggestion == "030 12345010"
        await pilot.press("right")  # accept the completion
        await settle(pilot)
        assert number.value == "030 12345010"
        assert wizard_of(app).query_one("#extension", Input).value == "5010"


async def test_r17_mobile_and_contract_required_without_desk_phone(world: World) -> None:
    async with wizard_at_details(world.admin, desk_phone=False) as (app, pilot):
        await fill_names_and_email(pilot)
        await pilot.press("tab", "tab", "down", "tab", "tab")
        assert focused_id(app) == "mobile"
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert wizard_of(app).step == 1
        assert message(app, "mobile") == "✗ " + t("r17.mobile_required")
        assert message(app, "contract") == "✗ " + t("r17.contract_required")
        await type_text(pilot, GB_MOBILE)  # a mobile, but not for the site's country
        assert message(app, "mobile") == "✗ " + t("r17.mobile_invalid", country="DE")
        await pilot.press("tab")
        await type_text(pilot, "12345")
        assert message(app, "contract") == "✗ " + t("r17.contract_invalid", min=6, max=15)


async def test_r17_mobile_and_contract_optional_with_desk_phone(world: World) -> None:
    async with wizard_at_details(world.admin) as (app, pilot):
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert message(app, "mobile") == ""
        assert message(app, "contract") == ""
        assert wizard_of(app).query_one("#mobile", Input).placeholder == t("wizard.placeholder.optional")


async def test_back_and_forth_keeps_what_was_typed(world: World) -> None:
    async with wizard_at_details(world.admin) as (app, pilot):
        await fill_names_and_email(pilot)
        await pilot.press("ctrl+b")
        await settle(pilot)
        wizard = wizard_of(app)
        assert wizard.step == 0
        await pilot.press("down", "space", "ctrl+n")  # now without a desk phone
        await settle(pilot)
        assert wizard.step == 1
        assert wizard.query_one("#first_name", Input).value == FIRST
        assert wizard.query_one("#email", Input).value == EMAIL
        assert wizard.query_one("#username", Input).value == USERNAME
        assert not row(app, "desk_phone_model").display


async def test_escape_on_an_untouched_wizard_leaves_at_once(world: World) -> None:
    app = wizard_host(world.admin)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert app.result is None
        assert not isinstance(app.screen, (AddUserWizard, ConfirmScreen))


async def test_escape_after_typing_asks_first_and_creates_nothing(world: World) -> None:
    async with wizard_at_details(world.admin) as (app, pilot):
        await type_text(pilot, FIRST)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        assert focused_id(app) == "cancel"
        assert str(app.screen.query_one("#cancel", Button).label) == t("wizard.discard.keep")
        await pilot.press("enter")  # keep editing
        await settle(pilot)
        assert app.screen is wizard_of(app)
        assert wizard_of(app).query_one("#first_name", Input).value == FIRST
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("tab", "enter")  # Discard
        await settle(pilot)
        assert app.result is None
    with world.store.read() as session:
        assert queries.user_count(session) == 0


async def test_r14_helpdesk_cannot_open_the_wizard(world: World) -> None:
    app = wizard_host(world.helpdesk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.result is None
        assert not isinstance(app.screen, AddUserWizard)
        notes = [str(n.message) for n in app._notifications]
        assert any("R14" in note and t("r14.admins_only") in note for note in notes)


async def test_footer_lists_the_wizard_keys(world: World) -> None:
    async with wizard_at_details(world.admin) as (app, pilot):
        shown = {b.binding.id: b.enabled for b in app.screen.active_bindings.values() if b.binding.id}
        assert shown.get("wizard.next") is True
        assert shown.get("wizard.back") is True
        assert shown.get("wizard.cancel") is True
        assert wizard_of(app).check_action("create", ()) is False  # not before the review


async def test_r4_hunt_group_and_call_center_shown_disabled_for_the_pending_user(world: World) -> None:
    app = wizard_host(world.admin)
    async with app.run_test(size=(80, 24)) as pilot:
        await to_groups(pilot)
        panel = wizard_of(app).query_one(GroupPanel)
        rows = {r.option.name: r for r in panel.rows}
        for name, kind in (("BER Hunt", "hunt_group"), ("BER Callcenter", "call_center")):
            assert rows[name].checkbox.disabled
            assert rows[name].reason == f"R4: {t(f'r4.{kind}_pending')}"
            assert rows[name].query_one(".group-row--reason").display
        assert rows["BER Callcenter"].role_select is not None and rows["BER Callcenter"].role_select.disabled
        for name in ("BER Pickup", "BER Park"):
            assert not rows[name].checkbox.disabled and rows[name].reason is None
        assert app.focused is rows["BER Pickup"].checkbox


async def test_r4_service_refusal_is_shown_and_nothing_is_lost(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(ctx: Context, data: dict[str, Any]) -> None:
        raise RuleRefused("R4", "r4.hunt_group_pending")

    monkeypatch.setattr(users, "add_user_from", refuse)
    app = wizard_host(world.admin)
    async with app.run_test(size=(80, 24)) as pilot:
        await to_groups(pilot)
        await pilot.press("ctrl+n", "ctrl+s")
        await settle(pilot)
        wizard = wizard_of(app)
        assert wizard.step == 4 and app.screen is wizard
        assert wizard.failure == f"R4: {t('r4.hunt_group_pending')}"
        problems = str(wizard.query_one("#review-problems").render())
        assert t("wizard.review.failed", message=wizard.failure) in problems
        assert any("R4" in str(n.message) for n in app._notifications)
        assert wizard.query_one("#first_name", Input).value == FIRST
        assert not wizard.query_one("#wizard-create", Button).disabled


async def test_r6_supervisor_hint_in_services_and_groups(world: World) -> None:
    app = wizard_host(world.admin)
    async with app.run_test(size=(80, 24)) as pilot:
        await to_groups(pilot)
        wizard = wizard_of(app)
        hints = " ".join(str(s.render()) for s in wizard.query(".wizard--hint, .group-panel--hint"))
        assert t("wizard.supervisor_hint") in hints
        assert t("group_panel.r6_hint") in hints


async def test_activated_users_elsewhere_do_not_change_the_pending_rule(world: World) -> None:
    """R4 asks about the new user's status, never another user's."""
    existing = add(world, number="030 12345030", extension="3030")
    carrier.set_status(world.carrier, existing.user.username, "activated")
    app = wizard_host(world.admin)
    async with app.run_test(size=(80, 24)) as pilot:
        await to_groups(pilot)
        rows = {r.option.name: r for r in wizard_of(app).query_one(GroupPanel).rows}
        assert rows["BER Hunt"].checkbox.disabled


async def test_german_wizard_uses_the_words_admins_know(world: World) -> None:
    set_language("de")
    app = wizard_host(world.admin)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        wizard = wizard_of(app)
        labels = [str(b.label) for b in wizard.query(RadioButton)]
        assert labels == ["Tischtelefon", "ohne Tischtelefon"]
        assert str(wizard.query_one("#wizard-next", Button).label) == "Weiter ▶"
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert t("field.extension") == "Durchwahl"
        assert "Durchwahl" in str(row(app, "extension").query_one(".field--label").render())


@pytest.mark.parametrize("area", ["wizard"])
def test_catalogs_are_complete_in_both_languages(area: str) -> None:
    folder = resources.files("onenet_tui").joinpath("locale")
    en = json.loads(folder.joinpath(f"en/{area}.json").read_text("utf-8"))
    de = json.loads(folder.joinpath(f"de/{area}.json").read_text("utf-8"))
    assert en.keys() == de.keys()
    # A counted message is an object of plural forms (test_plurals checks them).
    texts = [
        v for entry in (*en.values(), *de.values()) for v in (entry.values() if isinstance(entry, dict) else [entry])
    ]
    assert all(value.strip() for value in texts)


async def test_r2_extension_follows_the_number_until_edited(world: World) -> None:
    async with wizard_at_details(world.admin) as (app, pilot):
        await pilot.press("tab", "tab", "tab", "tab", "tab")
        assert focused_id(app) == "number"
        extension = wizard_of(app).query_one("#extension", Input)
        await pilot.press("down")
        await settle(pilot)
        assert extension.value == "5000"
        await pilot.press("down")
        await settle(pilot)
        assert extension.value == "5001"
        assert message(app, "extension") == t("wizard.extension_follows")
        await pilot.press("tab")
        await type_text(pilot, "777")
        await pilot.press("shift+tab", "down")
        await settle(pilot)
        assert wizard_of(app).number_field.value == "030 12345002"
        assert extension.value == "777"
        assert message(app, "extension") == ""


async def test_create_stays_off_while_a_step_is_incomplete(world: World) -> None:
    app = wizard_host(world.admin)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        wizard = wizard_of(app)
        wizard.step = 4  # as if the review were reached without Next checking the steps
        await settle(pilot)
        assert wizard.query_one("#wizard-create", Button).disabled
        assert wizard.check_action("create", ()) is None  # shown, dimmed
        problems = str(wizard.query_one("#review-problems").render())
        assert t("wizard.review.problems") in problems
        assert t("r1.blank") in problems and t("r18.required") in problems
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is wizard  # still open, nothing returned
    with world.store.read() as session:
        assert queries.user_count(session) == 0


async def test_the_directory_can_preselect_a_site(world: World) -> None:
    async with wizard_at_details(world.admin, site="London") as (app, pilot):
        assert wizard_of(app).query_one("#site", Select).value == "London"
        assert message(app, "number") == t("wizard.numbers_free", count=20, site="London")


async def test_site_names_from_data_are_shown_literally(world: World) -> None:
    odd = "[b]Ops[/b]\x1b[2J"
    with world.store.transaction() as session:
        create_site(session, odd, "GB", "ops.sip.example.net", ["+442079460100"])
    async with wizard_at_details(world.admin, site=odd) as (app, pilot):
        shown = str(row(app, "number").query_one(".field--message").render())
        assert "[b]Ops[/b]" in shown and "\x1b" not in shown
        current = str(wizard_of(app).query_one("#site", Select).query_one("SelectCurrent #label").render())
        assert "[b]Ops[/b]" in current and "\x1b" not in current
