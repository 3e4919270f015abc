"""The bulk credentials screens (R10, R11) driven with the real keys at 80x24:
the selection / mode screen, the confirmation that takes the CSV file's name,
the reset and export in one step, and the result shown once."""

from __future__ import annotations

import stat
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Button, ProgressBar

from onenet_tui.app import OneNetApp
from onenet_tui.data import credentials, exports, handover, secrets, selection, users
from onenet_tui.data.context import Context
from onenet_tui.data.models import AuditEvent, DeskPhoneCredential, User
from onenet_tui.i18n import set_language
from onenet_tui.screens.bulk_credentials import ConfirmResetScreen, open_bulk_credentials
from onenet_tui.screens.bulk_result import BulkResultScreen, ExportCsvScreen
from onenet_tui.screens.credentials_once import CredentialsOnceScreen
from onenet_tui.screens.directory import DirectoryScreen
from onenet_tui.screens.regenerate import RegenerateScreen
from onenet_tui.screens.save_file import ConfirmScreen
from onenet_tui.widgets.field import ValidatedField
from onenet_tui.widgets.plain_table import PlainTable
from tests.helpers import (
    SIZE,
    UNSET,
    World,
    add_active,
    bulk_preview,
    choose_admin_mode,
    confirm_reset,
    focused_id,
    preview_loaded,
    text_of,
    three_desk_phones,
    until,
    without_desk_phone,
)

# Screens do not depend on the backend; the services are tested on both.
pytestmark = pytest.mark.sqlite_only


@pytest.fixture(autouse=True)
def export_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The export directory during the test (it does not exist yet: the
    console creates it, 0700)."""
    folder = tmp_path / "export"
    monkeypatch.setenv("ONENET_EXPORT_DIR", str(folder))
    return folder


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def disk_full_after_two_rows(monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """Make writing the CSV fail on its third row; returns how to undo it."""
    real = exports.credential_rows

    def rows_then_disk_full(issued: Any) -> Any:
        for n, row in enumerate(real(issued)):
            if n == 2:
                raise OSError(28, "No space left on device")
            yield row

    monkeypatch.setattr(exports, "credential_rows", rows_then_disk_full)
    return lambda: monkeypatch.setattr(exports, "credential_rows", real)


async def export_again(pilot: Pilot[Any], result: BulkResultScreen) -> None:
    """ctrl+s on the result, and the proposed file name taken."""
    await pilot.press("ctrl+s")
    await until(pilot, lambda: isinstance(pilot.app.screen, ExportCsvScreen))
    await pilot.press("enter")
    await until(pilot, lambda: result.exported is not None)


def digests(world: World) -> dict[int, tuple[str, str, str]]:
    with world.store.read() as session:
        rows = session.execute(select(DeskPhoneCredential)).scalars()
        return {row.user_id: (row.sip_username, row.realm, row.ha1_md5) for row in rows}


def table_text(table: PlainTable) -> list[str]:
    return [" | ".join(row) for row in table.rows]


def written_file(pilot: Pilot[Any]) -> Path:
    """The CSV the confirmed step wrote, as the result screen names it."""
    screen = pilot.app.screen
    assert isinstance(screen, BulkResultScreen) and screen.exported is not None
    assert not screen.holds_unsaved_secrets
    return screen.exported


def verifies(world: World, row: dict[str, str]) -> bool:
    with world.store.read() as session:
        stored = session.execute(
            select(DeskPhoneCredential).where(DeskPhoneCredential.sip_username == row["sip_username"])
        ).scalar_one()
    return (
        stored.realm == row["sip_domain"]
        and stored.ha1_md5 == secrets.ha1(row["sip_username"], row["sip_domain"], row["password"], "md5")
        and stored.ha1_sha256 == secrets.ha1(row["sip_username"], row["sip_domain"], row["password"], "sha256")
    )


# --- system-generated, export, read back -------------------------------------------------------


async def test_r10_three_marked_users_system_passwords_exported_and_read_back(world: World, export_dir: Path) -> None:
    ids = three_desk_phones(world)
    async with bulk_preview(world.admin, ids) as (app, pilot, screen):
        assert "3 marked users" in str(screen.query_one("#bulk-title").render())
        assert text_of(screen, "#bulk-summary") == "3 users get a new password · 0 skipped"
        result = await confirm_reset(pilot)
        table = result.query_one(PlainTable)
        assert table.row_count == 3
        shown = table_text(table)
        path = written_file(pilot)
        assert path.parent == export_dir and path.name.startswith("desk-phone-credentials-")
        assert "Saved 3 rows" in text_of(result, "#bulk-result-status")
        assert path.name in text_of(result, "#bulk-result-status")
        await pilot.press("escape")  # exported: leaves without asking
        await until(pilot, lambda: app.result is not UNSET)
    assert app.result == 3
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with open(path, encoding="utf-8", newline="") as handle:
        assert handle.readline() == "username,name,extension,sip_username,password,sip_domain\r\n"
    rows = exports.read_csv(path)
    assert [r["username"] for r in rows] == ["juergen.mueller", "anna.schmidt", "carla.klein"]
    assert len({r["password"] for r in rows}) == 3
    assert all(verifies(world, r) for r in rows)
    # What the screen showed is what the file holds.
    assert [
        f"{r['username']} | {r['extension']} | {r['sip_username']} | {r['password']} | {r['sip_domain']}" for r in rows
    ] == shown
    assert files_in(export_dir) == [path.name]
    assert stat.S_IMODE(export_dir.stat().st_mode) == 0o700


async def test_r10_marked_through_the_directory_with_space_and_c(world: World, export_dir: Path) -> None:
    three_desk_phones(world)
    app = OneNetApp(world.admin, theme="textual-dark", poll_seconds=0.1)
    app.flows["credentials"] = open_bulk_credentials
    async with app.run_test(size=SIZE) as pilot:
        await until(
            pilot,
            lambda: (
                isinstance(app.screen, DirectoryScreen)
                and app.screen.directory.data.complete
                and app.screen.directory.complete
            ),
        )
        await pilot.pause()
        directory = app.screen
        assert isinstance(directory, DirectoryScreen)
        await pilot.press("space", "down", "space", "down", "space")
        marked = sorted(directory.marks)
        assert len(marked) == 3
        await pilot.press("c")
        screen = await preview_loaded(pilot)
        assert screen.user_ids == marked and screen.source == "marked"
        result = await confirm_reset(pilot)
        assert result.query_one(PlainTable).row_count == 3
        path = written_file(pilot)
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is directory)
    assert len(exports.read_csv(path)) == 3


async def test_c_without_marks_regenerates_the_cursor_user_alone(world: World) -> None:
    ids = three_desk_phones(world)
    app = OneNetApp(world.admin, theme="textual-dark", poll_seconds=0.1)
    app.flows["credentials"] = open_bulk_credentials
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, DirectoryScreen) and app.screen.directory.complete)
        await pilot.pause()
        directory = app.screen
        await pilot.press("down")  # not the first row: the cursor user, not "the first" or "all"
        await pilot.pause()
        chosen = directory.table.cursor_row
        assert chosen is not None and chosen.id in ids and chosen.id != directory.table.directory.row(0).id
        before = digests(world)
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, RegenerateScreen) and app.screen.view is not None)
        regenerate = app.screen
        assert isinstance(regenerate, RegenerateScreen)
        assert regenerate.view is not None and regenerate.view.id == chosen.id
        regenerate.query_one("#regenerate", Button).press()

        # Shown and focused: the new password is stored by now.
        def shown() -> bool:
            return isinstance(app.screen, CredentialsOnceScreen) and focused_id(app) == "credentials-next"

        await until(pilot, shown)
        after = digests(world)
        assert {user for user in ids if after[user] != before[user]} == {chosen.id}


# --- a filter-based selection with skipped users -----------------------------------------------


async def test_r10_filter_selection_lists_skipped_users_with_the_reason(world: World, export_dir: Path) -> None:
    three_desk_phones(world)
    bob = without_desk_phone(world)
    with world.store.read() as session:
        berlin = selection.choose(session, site="Berlin")
    async with bulk_preview(world.admin, berlin, source="filter") as (app, pilot, screen):
        assert "4 users matching the filter" in str(screen.query_one("#bulk-title").render())
        assert text_of(screen, "#bulk-summary") == "3 users get a new password · 1 skipped"
        rows = table_text(screen.query_one(PlainTable))
        # Skipped users come first, with the rule and the reason.
        assert rows[0].startswith("Bob Mobil (bob.mobil) | 5004 | Berlin")
        assert rows[0].endswith("skipped: no desk phone (R10)")
        assert all(row.endswith("new password") for row in rows[1:])
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, ConfirmResetScreen))
        assert "1 users are skipped" not in text_of(app.screen, "#path-note")
        assert "Skipped" in text_of(app.screen, "#path-note")
        await pilot.press("tab", "enter")
        await until(pilot, lambda: isinstance(app.screen, BulkResultScreen))
        result = app.screen
        assert text_of(result, "#bulk-result-summary") == "3 new passwords · 1 skipped"
        assert "bob.mobil" not in " ".join(table_text(result.query_one(PlainTable)))
    assert bob not in digests(world)


# --- admin-chosen: R11 live -------------------------------------------------------------------


def field_message(screen: Screen[Any], field_id: str) -> str:
    return screen.query_one(f"#{field_id}-field", ValidatedField).message_text


async def test_r11_weak_admin_password_is_refused_live_before_confirming(world: World) -> None:
    ids = three_desk_phones(world)
    before = digests(world)
    async with bulk_preview(world.admin, ids) as (app, pilot, screen):
        await choose_admin_mode(pilot)
        assert screen.admin_mode and screen.query_one("#bulk-admin-password").display
        assert app.focused is not None and app.focused.id == "password"
        await pilot.press(*"short")
        # The reason shows while typing, before any confirmation.
        message = field_message(screen, "password")
        assert "10 to 60 characters (R11)" in message and "letter and one digit" in message
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen is screen  # no confirmation: the password is refused
        assert "Fix the password first" in text_of(screen, "#bulk-banner")
    assert digests(world) == before


async def test_r11_admin_password_holding_an_extension_names_the_user_it_fails_for(world: World) -> None:
    ids = three_desk_phones(world)
    before = digests(world)
    async with bulk_preview(world.admin, ids) as (app, pilot, screen):
        await choose_admin_mode(pilot)
        await pilot.press(*"Zaunkoenig5002")
        message = field_message(screen, "password")
        assert "must not contain the extension (R11)" in message
        assert "anna.schmidt" in message and "5002" in message
        assert "juergen.mueller" not in message
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen is screen
    assert digests(world) == before


async def test_r11_the_two_admin_passwords_must_match(world: World) -> None:
    ids = three_desk_phones(world)
    async with bulk_preview(world.admin, ids) as (app, pilot, screen):
        await choose_admin_mode(pilot)
        await pilot.press(*"Gartenzaun2026", "tab", *"Gartenzaun2025")
        assert field_message(screen, "password") == ""
        assert field_message(screen, "password_again") == "✗ the two passwords differ"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen is screen
        await pilot.press("backspace", "6")
        assert field_message(screen, "password_again") == ""


async def test_r10_admin_chosen_password_for_all_then_the_inputs_are_emptied(world: World, export_dir: Path) -> None:
    ids = three_desk_phones(world)
    async with bulk_preview(world.admin, ids) as (app, pilot, screen):
        await choose_admin_mode(pilot)
        await pilot.press(*"Gartenzaun2026", "tab", *"Gartenzaun2026")
        result = await confirm_reset(pilot)
        assert [row.split(" | ")[3] for row in table_text(result.query_one(PlainTable))] == ["Gartenzaun2026"] * 3
        assert [f.value for f in screen.query(ValidatedField)] == ["", ""]
        path = written_file(pilot)
    rows = exports.read_csv(path)
    assert all(verifies(world, r) for r in rows) and len(rows) == 3


# --- all or nothing, seen from the console --------------------------------------------------------


async def test_r10_user_deleted_meanwhile_nothing_changes_and_the_screen_says_why(world: World) -> None:
    ids = three_desk_phones(world)
    async with bulk_preview(world.admin, ids) as (app, pilot, screen):
        users.delete_user(world.admin, "anna.schmidt")
        before = digests(world)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, ConfirmResetScreen))
        await pilot.press("tab", "enter")
        await until(pilot, lambda: "Nothing was changed" in text_of(screen, "#bulk-banner"))
        assert "R10" in text_of(screen, "#bulk-banner") and "no longer exist" in text_of(screen, "#bulk-banner")
        assert app.screen is screen and not screen.running
        assert digests(world) == before
        # The screen looked again: the next try leaves Anna out.
        await until(pilot, lambda: screen.preview is not None and len(screen.preview.issue) == 2)
        assert screen.query_one(PlainTable).row_count == 2


async def test_r10_admin_password_refused_by_the_service_for_one_user_changes_nothing(world: World) -> None:
    """The live check passed, then Anna's extension changed to one the
    password holds: the service refuses in its transaction, nothing changes."""
    ids = three_desk_phones(world)
    async with bulk_preview(world.admin, ids) as (app, pilot, screen):
        await choose_admin_mode(pilot)
        await pilot.press(*"Gartenzaun2026", "tab", *"Gartenzaun2026")
        assert field_message(screen, "password") == ""
        with world.store.transaction() as session:
            session.execute(update(User).where(User.username == "anna.schmidt").values(extension="2026"))
        before = digests(world)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, ConfirmResetScreen))
        await pilot.press("tab", "enter")
        await until(pilot, lambda: "Nothing was changed" in text_of(screen, "#bulk-banner"))
        banner = text_of(screen, "#bulk-banner")
        assert "must not contain the extension (R11)" in banner and "anna.schmidt" in banner
        assert app.screen is screen and not screen.running
    assert digests(world) == before


async def test_r14_helpdesk_sees_why_and_cannot_confirm(world: World) -> None:
    ids = three_desk_phones(world)
    async with bulk_preview(world.helpdesk, ids) as (app, pilot, screen):
        assert "administrators only" in text_of(screen, "#bulk-banner")
        assert screen.query_one("#bulk-confirm", Button).disabled
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen is screen


async def test_r10_nobody_with_a_desk_phone_means_nothing_to_confirm(world: World) -> None:
    bob = without_desk_phone(world)
    async with bulk_preview(world.admin, [bob]) as (app, pilot, screen):
        assert "nothing to reset" in text_of(screen, "#bulk-banner")
        assert screen.query_one("#bulk-confirm", Button).disabled
        await pilot.press("escape")
        await until(pilot, lambda: app.result is not UNSET)
    assert app.result is None


async def test_r10_progress_shows_and_the_console_stays_responsive(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = three_desk_phones(world)
    real = credentials.bulk_reset
    release = threading.Event()

    def slow_bulk_reset(ctx: Context, user_ids: list[int], **options: Any) -> Any:
        options["progress"](500, 1000)
        release.wait(30)
        return real(ctx, user_ids, **options)

    monkeypatch.setattr(credentials, "bulk_reset", slow_bulk_reset)
    async with bulk_preview(world.admin, ids) as (app, pilot, screen):
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, ConfirmResetScreen))
        await pilot.press("tab", "enter")
        bar = screen.query_one(ProgressBar)
        await until(pilot, lambda: bar.progress == 500)
        assert bar.display and bar.total == 1000
        # Still answering keys while the transaction runs; escape cannot abandon it.
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen and screen.running
        assert any("finishes by itself" in n.message for n in app._notifications)
        release.set()
        await until(pilot, lambda: isinstance(app.screen, BulkResultScreen))
        assert not bar.display


# --- the result, shown once ------------------------------------------------------------------------


async def test_r10_leaving_the_result_without_export_asks_first_then_forgets(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = three_desk_phones(world)
    disk_full_after_two_rows(monkeypatch)
    async with bulk_preview(world.admin, ids) as (app, pilot, _):
        result = await confirm_reset(pilot)
        assert result.holds_unsaved_secrets
        table = result.query_one(PlainTable)
        passwords = [row.split(" | ")[3] for row in table_text(table)]
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "have not been exported" in text_of(app.screen, "#question")
        assert app.focused is not None and app.focused.id == "cancel"
        await pilot.press("enter")  # Cancel: back to the passwords
        await until(pilot, lambda: app.screen is result)
        assert result.query_one(PlainTable).row_count == 3
        await pilot.press("q")  # the quit key asks too
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("tab", "enter")  # leave, discard them
        await until(pilot, lambda: app.result is not UNSET)
        assert app.result == 3
        # The screen dropped every reference to the passwords.
        assert result.issued == [] and table.row_count == 0
        assert not any(p in repr(vars(result)) for p in passwords)


async def test_r10_confirm_takes_the_file_name_and_never_overwrites_without_asking(
    world: World, export_dir: Path
) -> None:
    ids = three_desk_phones(world)
    export_dir.mkdir(mode=0o700)
    target = export_dir / "creds.csv"
    target.write_text("older file")
    before = digests(world)
    async with bulk_preview(world.admin, ids) as (app, pilot, screen):
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, ConfirmResetScreen))
        dialog = app.screen
        assert str(export_dir) in text_of(dialog, "#path-folder")
        await pilot.press("shift+tab", "ctrl+u", *"creds.csv", "enter")
        # Enter in the name only checks it: nothing is reset yet.
        assert app.screen is dialog and str(target) in text_of(dialog, "#path-message")
        await pilot.press("tab", "tab", "enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert str(target) in text_of(app.screen, "#question")
        await pilot.press("enter")  # Cancel has focus
        await until(pilot, lambda: app.screen is dialog)
        assert target.read_text() == "older file" and digests(world) == before
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen)
        assert digests(world) == before
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, ConfirmResetScreen))
        await pilot.press("shift+tab", "ctrl+u", *"creds.csv", "tab", "tab", "enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("tab", "enter")  # Replace
        await until(pilot, lambda: isinstance(app.screen, BulkResultScreen))
        assert written_file(pilot) == target
    rows = exports.read_csv(target)
    assert len(rows) == 3 and all(verifies(world, r) for r in rows)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert files_in(export_dir) == ["creds.csv"]


async def test_r10_the_file_is_written_before_the_result_shows(world: World, export_dir: Path) -> None:
    """A dropped SSH link on the result screen ends the console there: the
    new passwords are already in the CSV, every one of them right."""
    ids = three_desk_phones(world)
    async with bulk_preview(world.admin, ids) as (app, pilot, _):
        await confirm_reset(pilot)
        path = written_file(pilot)
        app.exit()  # what a hang-up does: no key is pressed on the result
    rows = exports.read_csv(path)
    assert len(rows) == 3 and all(verifies(world, r) for r in rows)


async def test_r10_write_error_after_the_reset_is_shown_and_export_can_be_retried(
    world: World, export_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = three_desk_phones(world)
    undo = disk_full_after_two_rows(monkeypatch)
    async with bulk_preview(world.admin, ids) as (app, pilot, _):
        result = await confirm_reset(pilot)
        status = text_of(result, "#bulk-result-status")
        assert "No space left on device" in status and "ctrl+s" in status
        assert result.exported is None and result.holds_unsaved_secrets
        assert files_in(export_dir) == []  # nothing half-written is left
        # The passwords were never lost: once the disk has room, ctrl+s saves them.
        undo()
        await export_again(pilot, result)
    assert result.exported is not None
    rows = exports.read_csv(result.exported)
    assert len(rows) == 3 and all(verifies(world, r) for r in rows)


async def test_r10_a_path_is_refused_by_the_export_directory_rule_and_nothing_is_reset(
    world: World, export_dir: Path
) -> None:
    ids = three_desk_phones(world)
    before = digests(world)
    async with bulk_preview(world.admin, ids) as (app, pilot, screen):
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, ConfirmResetScreen))
        dialog = app.screen
        await pilot.press("shift+tab", "ctrl+u", *"../creds.csv", "tab", "tab", "enter")
        await pilot.pause()
        message = text_of(dialog, "#path-message")
        assert message.startswith("export_dir: ") and str(export_dir) in message
        assert app.screen is dialog
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen)
    assert digests(world) == before
    assert not (export_dir.parent / "creds.csv").exists()


async def test_r10_an_export_directory_that_is_a_link_resets_nobody(world: World, export_dir: Path) -> None:
    ids = three_desk_phones(world)
    elsewhere = export_dir.parent / "elsewhere"
    elsewhere.mkdir()
    export_dir.symlink_to(elsewhere)
    before = digests(world)
    async with bulk_preview(world.admin, ids) as (app, pilot, screen):
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, ConfirmResetScreen))
        await pilot.press("tab", "enter")
        await until(pilot, lambda: "Nothing was changed" in text_of(screen, "#bulk-banner"))
        assert "export_dir" in text_of(screen, "#bulk-banner") and "link" in text_of(screen, "#bulk-banner")
    assert digests(world) == before
    assert list(elsewhere.iterdir()) == []


# --- languages ------------------------------------------------------------------------------------


async def test_the_screen_speaks_german_and_follows_a_language_switch(world: World) -> None:
    ids = three_desk_phones(world)
    bob = without_desk_phone(world)
    set_language("de")
    async with bulk_preview(world.admin, [bob, *ids]) as (app, pilot, screen):
        assert "Neue Tischtelefon-Kennwörter · 4 markierte Benutzer" in str(screen.query_one("#bulk-title").render())
        assert text_of(screen, "#bulk-summary") == "3 erhalten ein neues Kennwort · 1 übersprungen"
        assert table_text(screen.query_one(PlainTable))[0].endswith("übersprungen: kein Tischtelefon (R10)")
        set_language("en")
        screen.relabel()
        await pilot.pause()
        assert text_of(screen, "#bulk-summary") == "3 users get a new password · 1 skipped"
        assert screen.query_one(PlainTable).titles == ["User", "Ext.", "Site", "Outcome"]
        assert str(screen.query_one("#bulk-confirm", Button).label) == "Set new passwords …"


# --- text from data is shown literally ---------------------------------------------------------------


async def test_names_with_markup_are_shown_literally(world: World) -> None:
    marked_up = add_active(world, first_name="[b]Eve[/b]", last_name="[red]Mallory", email="eve@example.com")
    assert marked_up.user.id is not None
    async with bulk_preview(world.admin, [marked_up.user.id]) as (app, pilot, screen):
        table = screen.query_one(PlainTable)
        painted = "".join(segment.text for segment in table.render_line(1))
        assert "[b]Eve[/b] [red]Mallory" in painted


def test_control_characters_never_reach_the_terminal() -> None:
    table = PlainTable(["evil\x1b[2Jname\u202e", "Jürgen Müller"])
    assert table.titles == ["evil␛[2Jname\\u202e", "Jürgen Müller"]


# --- the hand-over record -----------------------------------------------------------------------


def unhanded_and_pending(world: World) -> tuple[frozenset[int], list[handover.PendingExport]]:
    with world.store.read() as session:
        return handover.never_handed_over(session), handover.pending_exports(session)


async def test_r10_the_confirmed_step_records_its_export_as_the_hand_over(world: World, export_dir: Path) -> None:
    ids = three_desk_phones(world)
    for username in ("juergen.mueller", "anna.schmidt", "carla.klein"):
        handover.record_handed_over(world.admin, username)
    async with bulk_preview(world.admin, ids) as (app, pilot, _):
        await confirm_reset(pilot)
        path = written_file(pilot)
    unhanded, pending = unhanded_and_pending(world)
    assert unhanded == frozenset() and pending == []
    with world.store.read() as session:
        details = session.execute(
            select(AuditEvent.details).where(AuditEvent.action == "credentials.exported")
        ).scalar_one()
    assert details["file"] == str(path) and details["count"] == 3


async def test_r10_an_export_retried_on_the_result_screen_records_the_hand_over(
    world: World, export_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = three_desk_phones(world)
    undo = disk_full_after_two_rows(monkeypatch)
    async with bulk_preview(world.admin, ids) as (app, pilot, _):
        result = await confirm_reset(pilot)
        assert result.exported is None
        unhanded, pending = unhanded_and_pending(world)
        assert unhanded == set(ids) and [p.count for p in pending] == [3]  # in force, in nobody's hands
        undo()
        await export_again(pilot, result)
    assert unhanded_and_pending(world) == (frozenset(), [])


async def test_r10_a_result_left_without_export_stays_pending(
    world: World, export_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = three_desk_phones(world)
    disk_full_after_two_rows(monkeypatch)
    async with bulk_preview(world.admin, ids) as (app, pilot, _):
        await confirm_reset(pilot)
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("tab", "enter")  # leave, discard them
        await until(pilot, lambda: app.result is not UNSET)
    unhanded, pending = unhanded_and_pending(world)
    assert unhanded == set(ids)
    [lost] = pending
    assert lost.count == 3 and lost.export is not None and Path(lost.export).parent == export_dir
