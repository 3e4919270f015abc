"""``L`` on the main screens: the other language, the same state (SPEC section 5)."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Button, Input, Label

from onenet_tui.data import carrier, users
from onenet_tui.data.credentials import BulkResult, IssuedCredentials
from onenet_tui.i18n import language
from onenet_tui.screens.account_reset import ActivationCodeScreen
from onenet_tui.screens.audit_log import AuditLogScreen
from onenet_tui.screens.bulk_result import BulkResultScreen
from onenet_tui.screens.credentials_once import CredentialsOnceScreen
from onenet_tui.screens.delete_user import DeleteUserScreen
from onenet_tui.screens.edit_configuration import ConfigurationForm, EditConfigurationScreen
from onenet_tui.screens.group_assignments import GroupAssignmentsScreen
from onenet_tui.screens.help import HelpScreen
from onenet_tui.screens.lifecycle_base import RefusalPanel
from onenet_tui.screens.user_detail import UserDetailScreen
from onenet_tui.widgets.group_panel import GroupPanel
from onenet_tui.widgets.plain_table import PlainTable
from tests.helpers import (
    SIZE,
    World,
    add,
    add_active,
    clear_focused,
    fill_names_and_email,
    focus,
    footer_words,
    make_app,
    ready,
    settle,
    type_text,
)

# Screens do not depend on the backend; the services are tested on both.
pytestmark = pytest.mark.sqlite_only


async def press(pilot, *keys: str) -> None:  # type: ignore[no-untyped-def]
    """Press ``keys`` and let what they start finish."""
    await pilot.press(*keys)
    await settle(pilot)


def screen_text(screen) -> str:  # type: ignore[no-untyped-def]
    return " ".join(str(w.render()) for w in screen.query("Label, Static"))


async def test_l_on_the_user_detail_switches_language_and_keeps_the_user(world: World) -> None:
    added = add(world)
    carrier.set_status(world.carrier, added.user.username, "failed", "porting not finished")
    async with make_app(world).run_test(size=SIZE) as pilot:
        await ready(pilot)
        await press(pilot, "enter")
        detail = pilot.app.screen
        assert isinstance(detail, UserDetailScreen)
        assert "Failed" in screen_text(detail)
        await press(pilot, "L")
        assert language() == "de"
        assert pilot.app.screen is detail and detail.view is not None
        text = screen_text(detail)
        # The carrier's reason is one of the known ones: in German too.
        assert "Fehlgeschlagen" in text and "Portierung nicht abgeschlossen" in text
        footer = footer_words(detail)
        assert "Zurück" in footer and "Ändern" in footer, footer
        await press(pilot, "L")
        assert language() == "en" and "Failed" in screen_text(detail)
        assert "Back" in footer_words(detail) and "Edit" in footer_words(detail)


async def test_l_on_the_audit_log_switches_its_columns(world: World) -> None:
    add(world)
    async with make_app(world).run_test(size=SIZE) as pilot:
        await ready(pilot)
        await press(pilot, "l")
        log = pilot.app.screen
        assert isinstance(log, AuditLogScreen)
        await press(pilot, "L")
        labels = log.table.titles
        assert labels[:3] == ["Zeit (UTC)", "Operator", "Aktion"]
        assert "Protokoll" in screen_text(log)


async def test_textual_system_commands_follow_the_language(world: World) -> None:
    from onenet_tui.i18n import set_language

    app = make_app(world)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Quit" in titles and "Theme" in titles
        set_language("de")
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Beenden" in titles and "Farbschema" in titles and "Quit" not in titles


async def test_l_in_the_wizard_relabels_and_keeps_what_was_typed(world: World) -> None:
    from textual.widgets import Button, Label

    from onenet_tui.screens.add_user import AddUserWizard
    from onenet_tui.widgets.field import FieldRow

    async with make_app(world).run_test(size=SIZE) as pilot:
        await ready(pilot)
        await press(pilot, "a")
        wizard = pilot.app.screen
        assert isinstance(wizard, AddUserWizard)
        await press(pilot, "ctrl+n")
        await fill_names_and_email(pilot, email="jl@ex")
        await pilot.press("ctrl+b")  # back to step 1: focus leaves the text fields
        await settle(pilot)
        await press(pilot, "L")
        assert language() == "de"
        assert pilot.app.screen is wizard
        assert str(wizard.query_one("#wizard-next", Button).label) == "Weiter ▶"
        await press(pilot, "ctrl+n")
        first = wizard.query_one("#first_name-field", FieldRow)
        assert "Vorname" in str(first.query_one(Label).render())
        data = wizard.form_data()
        # "Lutz" was typed with a capital L: in a field, L stays a letter.
        assert (data["last_name"], data["email"]) == ("Lutz", "jl@ex")
        assert "keine gültige E-Mail-Adresse" in wizard.query_one("#email-field", FieldRow).message_text
        assert "Angaben" in str(wizard.query_one("#steplabel-details", Label).render())


async def test_l_on_the_bulk_credentials_screen_keeps_the_selection(world: World) -> None:
    from textual.widgets import Label

    from onenet_tui.screens.bulk_credentials import BulkCredentialsScreen

    add(world)
    add(world, number="030 12345002", first_name="Eva")
    async with make_app(world).run_test(size=SIZE) as pilot:
        await ready(pilot)
        await press(pilot, "asterisk", "c")
        bulk = pilot.app.screen
        assert isinstance(bulk, BulkCredentialsScreen)
        assert "2 marked users" in str(bulk.query_one("#bulk-title", Label).render())
        await press(pilot, "L")
        assert pilot.app.screen is bulk and len(bulk.user_ids) == 2
        assert "2 markierte Benutzer" in str(bulk.query_one("#bulk-title", Label).render())


# --- the lifecycle dialogs: relabelled in place, nothing typed is lost ------------------


def dialog_title(screen) -> str:  # type: ignore[no-untyped-def]
    return str(screen.query_one("#dialog-title", Label).render())


async def open_dialog(pilot, dialog):  # type: ignore[no-untyped-def]
    """Over the directory, as its keys open them (the app owns L)."""
    await ready(pilot)
    await pilot.app.push_screen(dialog)
    await settle(pilot)
    assert pilot.app.screen is dialog
    return dialog


async def test_l_in_the_edit_dialog_keeps_what_was_typed_and_saves_it(world: World) -> None:
    username = add_active(world).user.username
    async with make_app(world).run_test(size=(80, 24)) as pilot:
        app = pilot.app
        dialog = await open_dialog(pilot, EditConfigurationScreen(world.admin, username))
        form = dialog.query_one(ConfigurationForm)
        await focus(pilot, form.last_name.input)
        await clear_focused(pilot)
        await type_text(pilot, "Meier")
        await focus(pilot, dialog.query_one("#cancel", Button))
        await press(pilot, "L")
        assert language() == "de"
        assert dialog_title(dialog) == "Konfiguration bearbeiten"
        form = dialog.query_one(ConfigurationForm)  # made again, in German
        assert "Nachname" in screen_text(form)
        assert form.last_name.value == "Meier"
        assert app.focused is dialog.query_one("#cancel", Button)
        assert str(dialog.query_one("#cancel", Button).label) == "Abbrechen"
        await press(pilot, "ctrl+s")
    assert users.view(world.admin, username).last_name == "Meier"


async def test_l_in_the_delete_dialog_keeps_the_typed_extension(world: World) -> None:
    username = add_active(world).user.username
    async with make_app(world).run_test(size=(80, 24)) as pilot:
        dialog = await open_dialog(pilot, DeleteUserScreen(world.admin, username))
        await pilot.press("shift+tab")  # Cancel -> the extension input
        await type_text(pilot, "5001")
        await pilot.press("tab")  # back to Cancel: L is a key here, not a letter
        await press(pilot, "L")
        assert dialog_title(dialog) == "Benutzer löschen (R7)"
        delete = dialog.query_one("#delete", Button)
        assert str(delete.label) == "Endgültig löschen" and not delete.disabled
        assert dialog.query_one("#confirm-extension", Input).value == "5001"
        await press(pilot, "L")
        assert language() == "en" and dialog_title(dialog).startswith("Delete user")


async def test_l_in_the_group_dialog_keeps_the_ticks(world: World) -> None:
    username = add_active(world).user.username
    async with make_app(world).run_test(size=(80, 24)) as pilot:
        dialog = await open_dialog(pilot, GroupAssignmentsScreen(world.admin, username))
        await pilot.press("space")  # tick the first group
        await settle(pilot)
        chosen = dialog.query_one(GroupPanel).chosen
        assert chosen
        await press(pilot, "L")
        assert dialog_title(dialog) == "Gruppenzuordnung"
        assert dialog.query_one(GroupPanel).chosen == chosen


async def test_l_on_a_refusal_explains_it_in_the_other_language(world: World) -> None:
    username = add(world).user.username  # pending: R7 refuses deletion
    async with make_app(world).run_test(size=(80, 24)) as pilot:
        dialog = await open_dialog(pilot, DeleteUserScreen(world.admin, username))
        assert dialog.query(RefusalPanel)
        await press(pilot, "L")
        assert "Für diesen Benutzer nicht möglich" in screen_text(dialog)
        assert "R7" in screen_text(dialog)


# --- the one-time and help dialogs: built again in the other language ------------------

ISSUED = IssuedCredentials("anna.schmidt", "Anna Schmidt", "5002", "493012345002", "s3cret-Pa55", "berlin.sip.example")


async def test_l_on_the_one_time_credentials_keeps_them_on_screen(world: World) -> None:
    async with make_app(world).run_test(size=(80, 24)) as pilot:
        dialog = await open_dialog(pilot, CredentialsOnceScreen([ISSUED]))
        await press(pilot, "L")
        text = screen_text(dialog)
        assert "s3cret-Pa55" in text and "Benutzer" in text
        assert pilot.app.focused is dialog.query_one("#credentials-next")
        await pilot.press("enter")  # Next: gone for good
        await settle(pilot)
        assert pilot.app.screen is not dialog and dialog.issued == ()


async def test_l_on_the_activation_code_and_on_help(world: World) -> None:
    async with make_app(world).run_test(size=(80, 24)) as pilot:
        dialog = await open_dialog(pilot, ActivationCodeScreen("anna.schmidt", "K7Q-2M9"))
        await press(pilot, "L")
        assert "Aktivierungscode (R12)" in screen_text(dialog) and "K7Q-2M9" in screen_text(dialog)
        await press(pilot, "enter")
        await press(pilot, "question_mark")
        help_screen = pilot.app.screen
        assert isinstance(help_screen, HelpScreen)
        await press(pilot, "L")
        assert language() == "en"
        assert "Keys" in screen_text(help_screen)


async def test_l_on_the_bulk_result_keeps_the_passwords_and_the_export(world: World, tmp_path: Path) -> None:
    async with make_app(world).run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        result = BulkResultScreen(BulkResult([ISSUED], []))
        await pilot.app.push_screen(result)
        await settle(pilot)
        result.exported = tmp_path / "credentials.csv"
        await press(pilot, "L")
        table = result.query_one(PlainTable)
        assert "Kennwort" in table.titles and table.rows[0][3] == "s3cret-Pa55"
        assert str(result.query_one("#bulk-done", Button).label) == "Fertig"
        assert str(tmp_path / "credentials.csv") in screen_text(result)
