"""Issue 15's console defects at 80x24, each through the keys a person
presses: the delete result's buttons, choices legible without colour, the
cursor after adding a desk phone user, ``c`` with a filter, help's
scrollbar, the friction that lost typed work, and Enter in the wizard."""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Button, Checkbox, RadioButton, SelectionList

from onenet_tui.data import carrier, groups, users
from onenet_tui.data.context import Actor, Context
from onenet_tui.data.models import Role
from onenet_tui.data.schemas import ConfigChange
from onenet_tui.screens.add_user import AddUserWizard
from onenet_tui.screens.bulk_credentials import BulkCredentialsScreen
from onenet_tui.screens.credentials_once import CredentialsOnceScreen
from onenet_tui.screens.credentials_scope import CredentialsScopeScreen
from onenet_tui.screens.delete_user import DeleteUserScreen
from onenet_tui.screens.directory import DirectoryScreen
from onenet_tui.screens.edit_configuration import EditConfigurationScreen
from onenet_tui.screens.profile import ProfileScreen
from onenet_tui.screens.regenerate import RegenerateScreen
from onenet_tui.screens.save_file import ConfirmScreen
from onenet_tui.widgets.group_panel import GroupPanel
from tests.helpers import (
    SIZE,
    Host,
    World,
    add,
    add_active,
    at_groups,
    bulk_host,
    cursor_name,
    detail,
    focus,
    footer_words,
    make_app,
    message,
    new_user_data,
    preview_loaded,
    ready,
    settle,
    steady,
    three_desk_phones,
    to_details,
    type_text,
    until,
    wizard_host,
    wizard_of,
)

# Screens do not depend on the backend; the services are tested on both.
pytestmark = pytest.mark.sqlite_only


def crowded_groups(world: World) -> str:
    """An activated user in every Berlin group, each with many colleagues:
    the delete's list of people to tell is longer than any screen."""
    username = add_active(world).user.username
    colleagues = [
        add_active(
            world,
            first_name=f"Kollege{n}",
            last_name="Langername",
            email=f"k{n}@example.com",
            number=f"030 123450{n + 10:02d}",
        ).user.username
        for n in range(12)
    ]
    for group in ("BER Hunt", "BER Callcenter", "BER Pickup", "BER Park"):
        for member in [username, *colleagues]:
            groups.add_member(world.admin, group, member)
    return username


def fully_shown(widget: Any, screen: Any) -> bool:
    """The widget lies wholly on the screen, above the footer, uncovered."""
    region = widget.region
    footer_top = screen.size.height - 1
    return region.height >= 1 and region.y >= 0 and region.bottom <= footer_top and widget.visible


# ---------------------------------------------------------------- 1: delete result


@pytest.mark.parametrize("size", [(80, 24), (80, 30), (120, 40)])
async def test_r7_delete_result_shows_its_buttons_and_says_close(world: World, size: tuple[int, int]) -> None:
    username = crowded_groups(world)
    app = Host(lambda: DeleteUserScreen(world.admin, username))
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        screen = app.screen
        assert "esc Cancel" in footer_words(screen)
        screen.query_one("#confirm-extension").focus()
        await type_text(pilot, "5001")
        screen.query_one("#delete", Button).press()
        await settle(pilot)
        assert screen.report is not None
        for button_id in ("save-text", "save-csv", "close"):
            button = screen.query_one(f"#{button_id}", Button)
            assert fully_shown(button, screen), (button_id, button.region)
            # Its label row too, not only the top edge of its box.
            assert button.content_region.height >= 1
        words = footer_words(screen)
        assert "esc Close" in words and "Cancel" not in words
        if size == (80, 24):
            # The list is longer than the room for it: it scrolls.
            assert screen.query_one("#delete-result-groups").max_scroll_y > 0
        await pilot.press("escape")
        assert app.results == [screen.report]


# ---------------------------------------------------------------- 2: choices without colour


def mark(toggle: Checkbox | RadioButton) -> str:
    """The box a toggle draws, as characters (no colour, no bold or dim)."""
    return str(toggle.render())[:3]


def list_marks(selection: SelectionList[str]) -> dict[str, str]:
    """Each entry's box in a selection list, as characters, by its value."""
    shown = {}
    for y in range(selection.option_count):
        text = selection.render_line(y).text
        shown[str(selection.get_option_at_index(y).value)] = text[:3]
    return shown


async def test_no_colour_wizard_device_choice_and_first_step_buttons(world: World, monkeypatch: Any) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = wizard_host(world.admin)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        wizard = wizard_of(app)
        desk, none = wizard.query_one("#device-desk_phone", RadioButton), wizard.query_one("#device-none", RadioButton)
        assert (mark(desk), mark(none)) == ("▐●▌", "▐ ▌")
        await pilot.press("down", "space")
        assert (mark(desk), mark(none)) == ("▐ ▌", "▐●▌")
        # Step 1 has nothing to go back to: no Back button at all, rather
        # than a disabled one drawn as an empty box.
        assert not wizard.query_one("#wizard-back", Button).display
        await pilot.press("ctrl+n")
        await settle(pilot)
        back = wizard.query_one("#wizard-back", Button)
        assert back.display and not back.disabled and "Back" in str(back.render())


async def test_no_colour_wizard_services_and_groups_ticked_or_not(world: World, monkeypatch: Any) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = wizard_host(world.admin)
    async with app.run_test(size=SIZE) as pilot:
        await at_groups(pilot)
        panel = wizard_of(app).query_one(GroupPanel)
        pickup = next(row.checkbox for row in panel.rows if row.option.name == "BER Pickup")
        assert mark(pickup) == "▐ ▌"
        pickup.focus()
        await pilot.press("space")
        assert mark(pickup) == "▐X▌"
        await pilot.press("ctrl+b")  # step 3, licence and services
        await settle(pilot)
        services = wizard_of(app).query_one("#services", SelectionList)
        services.select("voicemail")
        await pilot.pause()
        shown = list_marks(services)
        assert shown.pop("voicemail") == "▐X▌"
        assert set(shown.values()) == {"▐ ▌"}


async def test_no_colour_edit_configuration_services_ticked_or_not(world: World, monkeypatch: Any) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    username = add_active(world, services=["voicemail"]).user.username
    app = Host(lambda: EditConfigurationScreen(world.admin, username))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        shown = list_marks(app.screen.query_one("#services", SelectionList))
        assert shown.pop("voicemail") == "▐X▌"
        assert set(shown.values()) == {"▐ ▌"}


def test_snapshot_no_colour_wizard_step_3_services(world: World, snap_compare: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("NO_COLOR", "1")

    async def run_before(pilot: Pilot[Any]) -> None:
        await at_groups(pilot)
        await pilot.press("ctrl+b", "tab", "space")  # voicemail ticked, the others not
        await steady(pilot)

    assert snap_compare(wizard_host(world.admin), terminal_size=SIZE, run_before=run_before)


def test_snapshot_no_colour_wizard_step_1(world: World, snap_compare: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    assert snap_compare(wizard_host(world.admin), terminal_size=SIZE, run_before=steady)


# ---------------------------------------------------------------- 3: cursor on the new user


@pytest.mark.parametrize("desk_phone", [True, False])
async def test_the_directory_puts_the_cursor_on_a_user_just_added(world: World, desk_phone: bool) -> None:
    for n in range(1, 6):
        users.add_user_from(world.admin, new_user_data(first_name=f"Anna{n}", number=f"030 1234500{n}"))
    async with make_app(world).run_test(size=SIZE) as pilot:
        directory = await ready(pilot)
        await pilot.press("a")
        await settle(pilot)
        wizard = pilot.app.screen
        assert isinstance(wizard, AddUserWizard)
        if not desk_phone:
            await pilot.press("down", "space")
        await pilot.press("ctrl+n")
        await settle(pilot)
        fields = {"first_name": "Zara", "last_name": "Zorn", "email": "zz@example.com", "number": "030 12345009"}
        if not desk_phone:
            fields |= {"mobile": "01512 3456789", "contract": "1234567"}
        for field, text in fields.items():
            wizard.query_one(f"#{field}").insert_text_at_cursor(text)  # type: ignore[attr-defined]
            await settle(pilot)
        if desk_phone:
            wizard.query_one("#desk_phone_model").value = "yealink-t54w"  # type: ignore[attr-defined]
            await settle(pilot)
        await pilot.press("ctrl+n", "ctrl+n", "ctrl+n", "ctrl+n")
        await settle(pilot)
        await pilot.press("ctrl+s")
        await settle(pilot)
        if desk_phone:
            assert isinstance(pilot.app.screen, CredentialsOnceScreen)
            # The admin reads the credentials; meanwhile the directory
            # beneath looks for changes and already has the new row.
            new_id = users.view(world.admin, "zara.zorn").id
            await until(pilot, lambda: directory.directory.data.index_of(new_id) is not None)
            await pilot.press("ctrl+n")  # Next: handed over
            await settle(pilot)
        await until(pilot, lambda: pilot.app.screen is directory)
        await until(pilot, lambda: cursor_name(directory) == "Zorn, Zara")
        await settle(pilot)
        assert cursor_name(directory) == "Zorn, Zara"


# ---------------------------------------------------------------- 12: Enter in the wizard


async def test_enter_on_the_device_step_chooses_and_moves_on_as_next_does(world: World) -> None:
    app = wizard_host(world.admin)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        wizard = wizard_of(app)
        assert wizard.step == 0
        await pilot.press("down")  # the highlight on "without desk phone", not yet chosen
        await pilot.press("enter")
        await settle(pilot)
        assert wizard.step == 1 and wizard.query_one("#device-none", RadioButton).value
        assert app.focused is not None and app.focused.id == "first_name"
        # Nothing revealed on the details: moving on is not a failed Next.
        assert not wizard.query_one("#first_name-field").revealed  # type: ignore[attr-defined]
        await pilot.press("ctrl+b")
        await settle(pilot)
        assert wizard.step == 0
        await pilot.press("up", "space")  # space only chooses
        await settle(pilot)
        assert wizard.step == 0 and wizard.query_one("#device-desk_phone", RadioButton).value
        await pilot.press("enter")  # the choice already made: on, as Next
        await settle(pilot)
        assert wizard.step == 1


# ---------------------------------------------------------------- 10: help's scrollbar


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
@pytest.mark.parametrize("lang", ["en", "de"])
async def test_help_text_never_lies_under_its_scrollbar(world: World, size: tuple[int, int], lang: str) -> None:
    from onenet_tui.i18n import set_language
    from onenet_tui.screens.help import HelpScreen

    set_language(lang)
    async with make_app(world).run_test(size=size) as pilot:
        await ready(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        help_screen = pilot.app.screen
        assert isinstance(help_screen, HelpScreen)
        scroll = help_screen.query_one("#help-keys")
        # The bar's column is kept at every size, shown or not.
        bar_x = scroll.region.right - scroll.styles.scrollbar_size_vertical
        for _ in range(2):  # at the top and a page further down
            for row in help_screen.query(".help-row"):
                if row.region.height:
                    texts = row.query(".help-description")
                    assert all(label.region.right < bar_x for label in texts), (row.region, bar_x)
            await pilot.press("pagedown")
            await settle(pilot)
        if size == (80, 24):
            assert scroll.max_scroll_y > 0 and scroll.show_vertical_scrollbar


# ---------------------------------------------------------------- 6: c with a filter


async def test_r9_r10_c_with_a_filter_and_no_marks_asks_whom_cancel_focused(world: World) -> None:
    for n in range(1, 4):
        users.add_user_from(world.admin, new_user_data(first_name=f"Anna{n}", number=f"030 1234500{n}"))
    users.add_user_from(world.admin, new_user_data(first_name="Bert", last_name="Brandt", number="030 12345005"))
    async with make_app(world).run_test(size=SIZE) as pilot:
        directory = await ready(pilot)
        await pilot.press("slash", *"anna", "enter")
        await settle(pilot)
        cursor = cursor_name(directory)
        assert cursor is not None and cursor.startswith("Müller, Anna")

        async def ask() -> CredentialsScopeScreen:
            await pilot.press("c")
            await settle(pilot)
            question = pilot.app.screen
            assert isinstance(question, CredentialsScopeScreen)
            return question

        question = await ask()
        text = str(question.query_one("#question").render())
        assert cursor in text and "all 3 users the filter shows" in text
        assert [str(b.label) for b in question.query(Button)] == ["Cancel", "This user", "All 3 shown"]
        assert pilot.app.focused is question.query_one("#cancel")
        await pilot.press("enter")  # Enter alone resets nobody
        await settle(pilot)
        assert pilot.app.screen is directory
        await ask()
        await pilot.press("escape")
        await settle(pilot)
        assert pilot.app.screen is directory
        # This user: the one-user reset of the cursor user (R9).
        await ask()
        await pilot.press("tab", "enter")
        await settle(pilot)
        single = pilot.app.screen
        assert isinstance(single, RegenerateScreen) and single.username == "anna1.mueller"
        await pilot.press("escape")
        await settle(pilot)
        # All shown: the bulk screen with everyone the filter shows (R10).
        await ask()
        await pilot.press("tab", "tab", "enter")
        await settle(pilot)
        bulk = pilot.app.screen
        assert isinstance(bulk, BulkCredentialsScreen) and len(bulk.user_ids) == 3
        await pilot.press("escape")
        await settle(pilot)
        # With marks there is nothing to ask: the marked users.
        assert isinstance(pilot.app.screen, DirectoryScreen)
        await pilot.press("space", "c")
        await settle(pilot)
        assert isinstance(pilot.app.screen, BulkCredentialsScreen)


def test_help_and_palette_say_what_c_does_with_a_filter() -> None:
    from onenet_tui import keys
    from onenet_tui.i18n import t

    # Help and the palette both show the registry's sentence.
    assert keys.BY_ID["credentials"].description == t("directory.key.credentials.help")
    assert "with a filter and no marks, asks" in keys.BY_ID["credentials"].description
    assert "mit Filter und ohne Markierung fragt" in t("directory.key.credentials.help", lang="de")


def test_snapshot_c_with_a_filter_asks_whom(world: World, snap_compare: Any) -> None:
    for n in range(1, 4):
        users.add_user_from(world.admin, new_user_data(first_name=f"Anna{n}", number=f"030 1234500{n}"))

    async def run_before(pilot: Pilot[Any]) -> None:
        await ready(pilot)
        await pilot.press("slash", *"anna", "enter")
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)

    assert snap_compare(make_app(world), terminal_size=SIZE, run_before=run_before)


# ---------------------------------------------------------------- 11: friction that loses work


@pytest.mark.parametrize("screen_type", [EditConfigurationScreen, ProfileScreen])
async def test_esc_with_typed_changes_asks_before_throwing_them_away(world: World, screen_type: Any) -> None:
    username = add_active(world).user.username
    app = Host(lambda: screen_type(world.admin, username))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        form_screen = app.screen
        # Nothing typed: Esc closes at once.
        await pilot.press("escape")
        await settle(pilot)
        assert app.results == [None]
        app.push_screen(screen_type(world.admin, username), app.results.append)
        await settle(pilot)
        form_screen = app.screen
        await pilot.press("end")
        await type_text(pilot, "x")  # the first field (first name, email) gets a letter
        typed = form_screen.form.entered()  # type: ignore[attr-defined]
        await pilot.press("escape")
        await settle(pilot)
        question = app.screen
        assert isinstance(question, ConfirmScreen)
        assert app.focused is question.query_one("#cancel")  # "Keep editing"
        assert str(question.query_one("#cancel", Button).label) == "Keep editing"
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is form_screen and form_screen.form.entered() == typed  # type: ignore[attr-defined]
        # The Cancel button asks too; Discard leaves, nothing saved.
        form_screen.query_one("#cancel", Button).press()
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("tab", "enter")
        await settle(pilot)
        assert app.results == [None, None]
    view = users.view(world.admin, username)
    assert view.first_name == "Jürgen" and view.email == "juergen.mueller@example.com"


async def test_a_stale_save_shows_the_fresh_data_and_keeps_what_was_typed(world: World) -> None:
    username = add_active(world, services=["voicemail"]).user.username
    bob = Context(world.store, Actor("bob", Role.ADMIN))
    app = Host(lambda: EditConfigurationScreen(world.admin, username))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, EditConfigurationScreen)
        # Meanwhile another administrator renames the user and adds a service.
        current = users.view(world.admin, username)
        users.change_configuration(
            bob,
            username,
            ConfigChange(expected_version=current.version, last_name="Schulz", services=["voicemail", "conferencing"]),
        )
        await pilot.press("end")
        await type_text(pilot, "x")  # the first name here
        screen.query_one("#contract").insert_text_at_cursor("7654321")  # type: ignore[attr-defined]
        await settle(pilot)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is screen
        assert "nothing was saved" in str(screen.query_one("#banner").render())
        assert "your changes put back" in str(screen.query_one("#banner").render())
        form = screen.form
        assert form is not None
        values = form.values()  # type: ignore[attr-defined]
        # Theirs where this operator typed nothing, this operator's where they did.
        assert (values["first_name"], values["last_name"], values["contract"]) == ("Jürgenx", "Schulz", "7654321")
        assert sorted(values["services"]) == ["conferencing", "voicemail"]
        assert screen.has_typed_changes()  # Esc would ask
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.results and app.results[-1] is not None
    view = users.view(world.admin, username)
    assert (view.first_name, view.last_name, view.contract) == ("Jürgenx", "Schulz", "7654321")
    assert sorted(view.services) == ["conferencing", "voicemail"]


async def test_r2_an_edited_extension_never_follows_the_number_again(world: World) -> None:
    username = add_active(world).user.username  # 030 12345001, extension 5001
    app = Host(lambda: EditConfigurationScreen(world.admin, username))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, EditConfigurationScreen)
        form = screen.form
        extension, number = form.extension, form.number  # type: ignore[attr-defined]
        # Untouched, it follows: a new number brings its last four digits.
        number.input.focus()
        await pilot.press("end", "backspace")
        await type_text(pilot, "2")
        assert extension.value == "5002"
        # Edited, then cleared and typed back to the default: the operator's now.
        extension.input.focus()
        await pilot.press("end", *["backspace"] * 4)
        await type_text(pilot, "5002")
        number.input.focus()
        await pilot.press("end", "backspace")
        await type_text(pilot, "3")
        assert extension.value == "5002"
        extension.input.focus()
        await pilot.press("end", *["backspace"] * 4)
        await settle(pilot)
        number.input.focus()
        await pilot.press("end", "backspace")
        await type_text(pilot, "4")
        assert extension.value == ""


async def test_a_new_number_says_before_saving_what_happens_to_the_extension_and_the_old_number(
    world: World,
) -> None:
    username = add_active(world).user.username  # 030 12345001, extension 5001, desk phone
    app = Host(lambda: EditConfigurationScreen(world.admin, username))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        review = screen.query_one("#number-review")
        assert not review.display  # the number as it is: nothing to say
        screen.form.number.input.focus()  # type: ignore[union-attr, attr-defined]
        await pilot.press("end", "backspace")
        await type_text(pilot, "7")
        assert review.display
        assert str(review.render()) == (
            "On saving: number 030 12345001 → 030 12345007, and 030 12345001 is free again at Berlin; "
            "extension 5001 → 5007; new desk phone credentials, shown once (R8)."
        )
        await pilot.press("end", "backspace")
        await type_text(pilot, "1")  # back to the old number
        assert not review.display


def test_snapshot_edit_configuration_with_a_new_number_typed(world: World, snap_compare: Any) -> None:
    username = add_active(world).user.username

    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        for _ in range(3):
            await pilot.press("tab")  # to the number
        await pilot.press("end", "backspace", "7")
        await steady(pilot)

    app = Host(lambda: EditConfigurationScreen(world.admin, username))
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


async def test_r7_typing_on_the_delete_confirmation_fills_the_extension_while_cancel_keeps_focus(
    world: World,
) -> None:
    username = add_active(world).user.username  # extension 5001
    app = Host(lambda: DeleteUserScreen(world.admin, username))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        cancel, delete = screen.query_one("#cancel", Button), screen.query_one("#delete", Button)
        field = screen.query_one("#confirm-extension")
        assert app.focused is cancel
        await type_text(pilot, "5009")
        await pilot.press("backspace")
        await type_text(pilot, "1")
        assert field.value == "5001"  # type: ignore[attr-defined]
        assert app.focused is cancel and not delete.disabled
        await pilot.press("enter")  # Cancel is still what Enter presses
        await settle(pilot)
        assert app.results == [None]
    assert users.view(world.admin, username).status == "activated"


async def test_r10_choosing_admin_chosen_keeps_the_focus_so_tab_reaches_the_password(world: World) -> None:
    app = bulk_host(world.admin, three_desk_phones(world))
    async with app.run_test(size=SIZE) as pilot:
        screen = await preview_loaded(pilot)
        await pilot.press("down", "enter")  # admin-chosen
        await settle(pilot)
        assert screen.admin_mode and screen.query_one("#bulk-admin-password").display
        assert app.focused is screen.query_one("#bulk-mode")  # where the choice was made
        await pilot.press("tab")
        assert app.focused is screen.query_one("#password")
        await pilot.press("tab")
        assert app.focused is screen.query_one("#password_again")


async def test_r16_a_partial_number_that_a_free_number_completes_is_not_called_wrong(world: World) -> None:
    app = wizard_host(world.admin, site="Berlin")
    async with app.run_test(size=SIZE) as pilot:
        await to_details(pilot)
        wizard = wizard_of(app)
        await focus(pilot, wizard.query_one("#number"))
        # Each step of typing 030 12345001 is the start of a free number.
        for key in "0301234500":
            await type_text(pilot, key)
            shown = message(app, "number")
            assert "✗" not in shown, shown
        assert "type on" in message(app, "number") and "030 12345000" in message(app, "number")
        # Not done either: Next says the number is incomplete.
        assert [p.message for p in wizard.problems(1) if p.field == "number"] == [
            "the number is not complete yet (R16)"
        ]
        await type_text(pilot, "1")
        assert message(app, "number") == "030 12345001 is free at Berlin"
        assert not [p for p in wizard.problems(1) if p.field == "number"]
        # Digits no free number starts with: wrong at once.
        await type_text(pilot, "9")
        assert "✗" in message(app, "number")


def failed(world: World) -> str:
    added = add(world, number="030 12345039", accept_flagged=True)
    carrier.set_status(world.carrier, added.user.username, "failed", "porting not finished")
    return added.user.username


async def test_r3_a_failed_user_names_how_to_reach_the_team_from_the_config_file(
    world: World, tmp_path: Any, monkeypatch: Any
) -> None:
    config_file = tmp_path / "config.toml"
    # Shown literally: a contact that looks like markup stays text.
    config_file.write_text('support_contact = "[b]Hotline[/b] 0800 123 4567, support@example.net"\n', "utf-8")
    monkeypatch.setenv("ONENET_CONFIG", str(config_file))
    username = failed(world)
    app = detail(world.admin, username)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        advice = str(app.screen.query_one("#failed-advice").render())
        assert advice == (
            "Contact the One Net Business team and give them the support summary below: "
            "[b]Hotline[/b] 0800 123 4567, support@example.net"
        )
        assert app.screen.query_one("#support-summary").region.y > app.screen.query_one("#failed-advice").region.y


async def test_r3_without_a_support_contact_the_advice_says_where_to_set_it(
    world: World, tmp_path: Any, monkeypatch: Any
) -> None:
    monkeypatch.setenv("ONENET_CONFIG", str(tmp_path / "none.toml"))
    username = failed(world)
    app = detail(world.admin, username)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        advice = str(app.screen.query_one("#failed-advice").render())
        assert "One Net Business team" in advice and "support_contact" in advice


async def test_r9_c_with_a_filter_on_a_user_without_desk_phone_offers_everyone_shown(world: World) -> None:
    users.add_user_from(
        world.admin,
        new_user_data(
            first_name="Anna",
            last_name="Aaron",
            number="030 12345009",
            device_type="none",
            desk_phone_model=None,
            mobile="01512 3456789",
            contract="1234567",
        ),
    )
    for n in range(1, 3):
        users.add_user_from(world.admin, new_user_data(first_name=f"Anna{n}", number=f"030 1234500{n}"))
    async with make_app(world).run_test(size=SIZE) as pilot:
        directory = await ready(pilot)
        await pilot.press("slash", *"anna", "enter")
        await settle(pilot)
        assert cursor_name(directory) == "Aaron, Anna"
        await pilot.press("c")  # not refused: the filter's users can get new credentials (R10)
        await settle(pilot)
        question = pilot.app.screen
        assert isinstance(question, CredentialsScopeScreen)
        refusal = str(question.query_one("#cursor-refusal").render())
        assert refusal == "Not for Aaron, Anna alone: R9: the user has no desk phone."
        assert [str(b.label) for b in question.query(Button)] == ["Cancel", "All 3 shown"]
        await pilot.press("tab", "enter")
        await settle(pilot)
        assert isinstance(pilot.app.screen, BulkCredentialsScreen)
