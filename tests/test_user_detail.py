"""The user detail screen through its real keys: status and what it means
(R3), the failed user's support summary, refusals explained (R5, R7, R9, R14),
text from data shown literally, and fresh data when someone else changes the
user."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.screen import Screen

from onenet_tui.data import carrier, users
from onenet_tui.data.context import Actor, Context
from onenet_tui.data.models import Role
from onenet_tui.data.schemas import ProfileChange
from onenet_tui.screens.account_reset import AccountResetScreen
from onenet_tui.screens.delete_user import DeleteUserScreen
from onenet_tui.screens.edit_configuration import EditConfigurationScreen
from onenet_tui.screens.group_assignments import GroupAssignmentsScreen
from onenet_tui.screens.lifecycle_base import UserActionScreen
from onenet_tui.screens.profile import ProfileScreen
from onenet_tui.screens.regenerate import RegenerateScreen
from onenet_tui.screens.save_file import ConfirmScreen, SaveTextScreen
from onenet_tui.screens.user_detail import UserDetailScreen, support_summary
from tests.helpers import (
    NO_DESK_PHONE,
    Host,
    World,
    add,
    add_active,
    detail,
    detail_opened,
    failed_user,
    footer_words,
    notifications,
    settle,
    text_of,
)

# Screens do not depend on the backend; the services are tested on both.
pytestmark = pytest.mark.sqlite_only


def body_text(screen: Screen) -> str:
    return "\n".join(str(widget.render()) for widget in screen.query("#detail-body Static, #detail-body Label"))


async def test_r3_pending_user_detail_says_outgoing_works_incoming_not(world: World) -> None:
    username = add(world).user.username
    async with detail_opened(world.admin, username) as (app, pilot):
        screen = app.screen
        assert isinstance(screen, UserDetailScreen)
        meaning = text_of(screen, "#status-meaning")
        assert "outgoing calls work" in meaning and "incoming calls do not" in meaning
        assert "● Pending" in str(screen.query_one("#detail-badge").render())
        # R5 and R7 are listed as not possible now, with their rule.
        assert "R5: the user is pending" in body_text(screen)


async def test_detail_shows_configuration_profile_groups_account_and_credential_metadata(world: World) -> None:
    added = add_active(world, services=["voicemail"])
    from onenet_tui.data import groups

    groups.add_member(world.admin, "BER Callcenter", added.user.username, "supervisor")
    async with detail_opened(world.admin, added.user.username) as (app, pilot):
        text = body_text(app.screen)
        for expected in (
            "030 12345001  (+493012345001)",
            "5001",
            "Yealink T54W",
            "Voicemail",
            "juergen.mueller@example.com",
            "BER Callcenter (Supervisor)",
            "not locked",
            "493012345001",  # the SIP username
            "berlin.sip.example.net",
            "alice",  # who generated the credentials
            "system-generated",
        ):
            assert expected in text, expected
        # Never a secret: nothing but metadata is stored, so nothing else can show.
        assert "Password" in text and "never shown again" in text


async def test_r3_failed_user_shows_reason_advice_and_copyable_summary(world: World) -> None:
    username = failed_user(world)
    async with detail_opened(world.admin, username) as (app, pilot):
        screen = app.screen
        assert isinstance(screen, UserDetailScreen)
        assert "One Net Business team" in text_of(screen, "#failed-advice")
        summary = text_of(screen, "#support-summary")
        for expected in ("Fritz Fehler (fritz.fehler)", "+493012345039", "Site: Berlin", "porting not finished", "UTC"):
            assert expected in summary
        await pilot.press("y")
        assert app.clipboard == support_summary(screen.view)  # type: ignore[arg-type]
        assert any("copied" in n for n in notifications(app))


async def test_r3_support_summary_saved_to_a_file_never_overwriting_silently(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ONENET_EXPORT_DIR", str(tmp_path))
    username = failed_user(world)
    target = tmp_path / f"support-{username}.txt"
    target.write_text("keep me", "utf-8")
    async with detail_opened(world.admin, username) as (app, pilot):
        await pilot.press("s")
        assert isinstance(app.screen, SaveTextScreen)
        assert str(target) in text_of(app.screen, "#path-message")
        await pilot.press("enter")
        # The file exists: a question with Cancel focused, and Enter keeps the file.
        assert isinstance(app.screen, ConfirmScreen)
        assert app.focused is not None and app.focused.id == "cancel"
        await pilot.press("enter")
        assert isinstance(app.screen, SaveTextScreen)
        assert target.read_text("utf-8") == "keep me"
        # A new name writes at once.
        path_input = app.screen.query_one("#path")
        path_input.value = "summary.txt"  # type: ignore[attr-defined]
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, UserDetailScreen)
        assert (tmp_path / "summary.txt").read_text("utf-8") == support_summary(app.screen.view)  # type: ignore[arg-type]
        # And overwriting after a confirmation.
        await pilot.press("s", "enter")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("tab", "enter")
        await pilot.pause()
        assert isinstance(app.screen, UserDetailScreen)
        assert "fritz.fehler" in target.read_text("utf-8")


async def test_copy_and_save_keys_only_for_a_failed_user(world: World) -> None:
    username = add_active(world).user.username
    async with detail_opened(world.admin, username) as (app, pilot):
        await pilot.press("y", "s")
        assert isinstance(app.screen, UserDetailScreen)
        assert app.clipboard == ""
        assert "y" not in app.screen.active_bindings


@pytest.mark.parametrize(
    ("key", "screen_type"),
    [
        ("e", EditConfigurationScreen),
        ("p", ProfileScreen),
        ("g", GroupAssignmentsScreen),
        ("c", RegenerateScreen),
        ("k", AccountResetScreen),
        ("d", DeleteUserScreen),
    ],
)
async def test_action_keys_open_their_dialog_for_an_activated_user(
    world: World, key: str, screen_type: type[UserActionScreen]
) -> None:
    username = add_active(world).user.username
    async with detail_opened(world.admin, username) as (app, pilot):
        await pilot.press(key)
        await settle(pilot)
        assert isinstance(app.screen, screen_type)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, UserDetailScreen)


async def test_r14_helpdesk_sees_every_change_dimmed_and_told_why(world: World) -> None:
    username = add_active(world).user.username
    async with detail_opened(world.helpdesk, username) as (app, pilot):
        screen = app.screen
        bindings = screen.active_bindings
        for key in "epgckd":
            assert bindings[key].enabled is False, key
        assert bindings["escape"].enabled is True
        assert "All changes: R14: administrators only" in body_text(screen)
        for key in "epgckd":
            await pilot.press(key)
            await settle(pilot)
            assert app.screen is screen, key
        told = notifications(app)
        assert len(told) == 6
        assert all("R14: administrators only" in n for n in told)
        assert "Delete: not possible: R14: administrators only" in told[-1]


async def test_r5_pending_user_edit_key_is_dimmed_and_explained(world: World) -> None:
    username = add(world).user.username
    async with detail_opened(world.admin, username) as (app, pilot):
        screen = app.screen
        assert screen.active_bindings["e"].enabled is False
        # Profile, groups (pickup / park), credentials and account reset stay possible (R5).
        for key in "pgck":
            assert screen.active_bindings[key].enabled is True, key
        await pilot.press("e")
        assert app.screen is screen
        assert notifications(app) == [
            "Edit configuration: not possible: "
            "R5: the user is pending: configuration can be changed once the user is activated"
        ]


async def test_r7_pending_user_delete_key_is_dimmed_and_explained(world: World) -> None:
    username = add(world).user.username
    async with detail_opened(world.admin, username) as (app, pilot):
        await pilot.press("d")
        assert isinstance(app.screen, UserDetailScreen)
        assert notifications(app) == [
            "Delete: not possible: R5: the user is pending: only activated users can be deleted (R7)"
        ]
    assert users.view(world.admin, username).status == "pending"


async def test_r9_user_without_desk_phone_has_no_credentials_action(world: World) -> None:
    username = add_active(world, **NO_DESK_PHONE).user.username
    async with detail_opened(world.admin, username) as (app, pilot):
        await pilot.press("c")
        assert isinstance(app.screen, UserDetailScreen)
        assert "R9: the user has no desk phone" in notifications(app)[0]
        assert "none: the user has no desk phone" in body_text(app.screen)


async def test_r13_no_deactivate_action_on_any_lifecycle_screen() -> None:
    from onenet_tui.screens import (
        account_reset,
        delete_user,
        edit_configuration,
        group_assignments,
        profile,
        regenerate,
    )
    from onenet_tui.screens import user_detail as detail_module

    for module in (
        detail_module,
        edit_configuration,
        profile,
        group_assignments,
        delete_user,
        regenerate,
        account_reset,
    ):
        for name, value in vars(module).items():
            assert "deactivat" not in name.lower()
            for binding in getattr(value, "BINDINGS", []) if isinstance(value, type) else []:
                assert "deactivat" not in str(binding).lower()


async def test_text_from_data_is_shown_literally(world: World) -> None:
    added = add_active(world, first_name="[bold]Eve[/bold]", last_name="[red]x")
    users.edit_profile(
        world.admin,
        added.user.username,
        ProfileChange(expected_version=added.user.version + 1, department="Ops\x1b[2J\x07"),
    )
    async with detail_opened(world.admin, added.user.username) as (app, pilot):
        screen = app.screen
        assert str(screen.query_one("#detail-name").render()) == "[bold]Eve[/bold] [red]x"
        text = body_text(screen)
        assert "\x1b" not in text and "\x07" not in text
        assert "Ops␛[2J␇" in text


async def test_detail_shows_changes_made_by_others(world: World) -> None:
    added = add(world)
    username = added.user.username
    async with detail_opened(world.admin, username) as (app, pilot):
        screen = app.screen
        assert isinstance(screen, UserDetailScreen)
        # Another administrator changes the profile; the carrier activates the user.
        bob = Context(world.store, Actor("bob", Role.ADMIN))
        users.edit_profile(bob, username, ProfileChange(expected_version=added.user.version, department="Sales"))
        carrier.set_status(world.carrier, username, "activated")
        screen.poll_changes()
        await settle(pilot)
        assert "Sales" in body_text(screen)
        assert str(screen.query_one("#detail-badge").render()) == "✓ Active"
        assert screen.active_bindings["e"].enabled is True


async def test_detail_follows_a_rename_and_reports_a_deleted_user(world: World) -> None:
    added = add_active(world)
    async with detail_opened(world.admin, added.user.username) as (app, pilot):
        screen = app.screen
        assert isinstance(screen, UserDetailScreen)
        view = users.view(world.admin, added.user.username)
        from onenet_tui.data.schemas import ConfigChange

        users.change_configuration(
            world.admin, view.username, ConfigChange(expected_version=view.version, username="jmueller")
        )
        screen.poll_changes()
        await settle(pilot)
        assert screen.username == "jmueller"
        users.delete_user(world.admin, "jmueller")
        screen.poll_changes()
        await settle(pilot)
        assert "no longer exists" in text_of(screen, "#gone")
        await pilot.press("e")
        assert isinstance(app.screen, UserDetailScreen)
        assert "no longer exists" in notifications(app)[-1]


async def test_save_prompt_shows_write_errors_under_the_name(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "sub").mkdir()
    monkeypatch.setenv("ONENET_EXPORT_DIR", str(tmp_path))
    app = Host(lambda: SaveTextScreen("Save", "out.txt", "text\n"))
    async with app.run_test(size=(80, 24)) as pilot:
        path_input = app.screen.query_one("#path")
        path_input.value = "sub"  # type: ignore[attr-defined]
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, SaveTextScreen)
        assert "is a directory" in text_of(app.screen, "#path-message")
    assert not (tmp_path / "out.txt").exists()
    # An export directory that is not a folder: the write fails and says so.
    monkeypatch.setenv("ONENET_EXPORT_DIR", str(tmp_path / "out.txt"))
    (tmp_path / "out.txt").write_text("a file, not a folder")
    app = Host(lambda: SaveTextScreen("Save", "out.txt", "text\n"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("enter")
        for _ in range(100):
            if "Could not write" in text_of(app.screen, "#path-message"):
                break
            await pilot.pause(0.01)
        message = text_of(app.screen, "#path-message")
        assert "Could not write" in message and "is not a folder" in message


async def test_detail_speaks_german(world: World) -> None:
    from onenet_tui.i18n import set_language

    username = failed_user(world)
    set_language("de")
    async with detail_opened(world.admin, username) as (app, pilot):
        text = body_text(app.screen)
        assert "lifecycle." not in text
        assert "Aktivierung fehlgeschlagen" in text and "One Net Business Team" in text
        assert "Konfiguration" in text and "Durchwahl" in text
        assert "✗ Fehlgeschlagen" in str(app.screen.query_one("#detail-badge").render())
        footer = footer_words(app.screen)
        assert all(word in footer for word in ("Ändern", "Löschen", "Zurück")), footer


def test_lifecycle_catalogs_are_complete_in_both_languages() -> None:
    import json
    from importlib import resources

    folder = resources.files("onenet_tui").joinpath("locale")
    english = json.loads(folder.joinpath("en/lifecycle.json").read_text("utf-8"))
    german = json.loads(folder.joinpath("de/lifecycle.json").read_text("utf-8"))
    assert english.keys() == german.keys()
    # A counted message is an object of plural forms (test_plurals checks them).
    entries = (*english.values(), *german.values())
    assert all(text.strip() for entry in entries for text in (entry.values() if isinstance(entry, dict) else [entry]))


async def test_r14_command_palette_lists_changes_with_the_reason(world: World) -> None:
    from textual.command import CommandList, CommandPalette

    username = add_active(world).user.username
    async with detail_opened(world.helpdesk, username) as (app, pilot):
        await pilot.press("ctrl+p")
        await pilot.press(*"delete")
        palette = app.screen
        assert isinstance(palette, CommandPalette)
        options: list[str] = []
        for _ in range(50):  # the palette searches in the background
            await pilot.pause()
            command_list = palette.query_one(CommandList)
            options = [str(command_list.get_option_at_index(i).prompt) for i in range(command_list.option_count)]
            if any("Delete" in option for option in options):
                break
        assert any("Delete (not possible: R14: administrators only)" in option for option in options)
        await pilot.press("down", "enter")
        await settle(pilot)
        assert isinstance(app.screen, UserDetailScreen)
        assert notifications(app) == ["Delete: not possible: R14: administrators only"]


async def test_command_palette_runs_an_allowed_action(world: World) -> None:
    from textual.command import CommandList, CommandPalette

    username = add_active(world).user.username
    async with detail_opened(world.admin, username) as (app, pilot):
        await pilot.press("ctrl+p", *"edit configuration")
        palette = app.screen
        assert isinstance(palette, CommandPalette)
        for _ in range(50):  # the palette searches in the background
            await pilot.pause()
            if palette.query_one(CommandList).option_count:
                break
        await pilot.press("down", "enter")
        await settle(pilot)
        assert isinstance(app.screen, EditConfigurationScreen)


async def test_detail_keys_follow_the_keymap_by_binding_id(world: World) -> None:
    username = add_active(world).user.username
    app = detail(world.admin, username)
    async with app.run_test(size=(80, 24)) as pilot:
        app.set_keymap({"edit": "E", "reset_account": "K"})
        await settle(pilot)
        await pilot.press("e")
        assert isinstance(app.screen, UserDetailScreen)
        await pilot.press("E")
        await settle(pilot)
        assert isinstance(app.screen, EditConfigurationScreen)
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("K")
        await settle(pilot)
        assert isinstance(app.screen, AccountResetScreen)
