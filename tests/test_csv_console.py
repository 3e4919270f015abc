"""Users out and in by CSV in the console (SPEC section 12, R23), with the
real keys at 80x24: ``E`` exports what the directory shows, ``i`` opens the
import's file prompt and its preview (n / N through the failing rows, what a
changed row changes), and nothing is written until the administrator
confirms in a dialog where Cancel has focus."""

from __future__ import annotations

import io
import stat
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from textual.pilot import Pilot
from textual.widgets import Button

from onenet_tui.data import exports, import_users, user_csv
from onenet_tui.data.context import Context
from onenet_tui.data.models import AuditEvent, DeskPhoneCredential, User
from onenet_tui.screens.bulk_result import ExportCsvScreen
from onenet_tui.screens.export_users import ExportUsersScreen
from onenet_tui.screens.import_users import ImportCredentialsScreen, ImportPathScreen, ImportPreviewScreen
from onenet_tui.screens.save_file import ConfirmScreen
from tests.helpers import (
    HELPDESK,
    SIZE,
    Host,
    World,
    focused_id,
    make_app,
    notifications,
    opened,
    ready,
    settle,
    text_of,
    type_text,
    until,
)

# Screens do not depend on the backend; the services are tested on both.
pytestmark = pytest.mark.sqlite_only


@pytest.fixture(autouse=True)
def export_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "exports"
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("ONENET_EXPORT_DIR", str(folder))
    return folder


def usernames_in_order(ctx: Context, ids: list[int]) -> list[str]:
    with ctx.store.read() as session:
        names = dict(session.execute(select(User.id, User.username)).all())  # type: ignore[call-overload]
    return [names[i] for i in ids]


def stored_users(world: World) -> list[tuple[Any, ...]]:
    with world.store.read() as session:
        return sorted(session.execute(select(User.username, User.extension, User.number_id, User.version)).all())


# --- export ------------------------------------------------------------------------------


async def test_export_key_writes_what_the_directory_shows_as_shown(
    world: World, people: list[str], export_dir: Path
) -> None:
    app = make_app(world)
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await pilot.press("slash")
        await type_text(pilot, "030")  # the Berlin numbers
        await pilot.press("enter", "O")  # sorted the other way round
        await settle(pilot)
        shown = usernames_in_order(world.admin, screen.directory.ids())
        assert 1 < len(shown) < len(people)
        await pilot.press("E")
        await until(pilot, lambda: isinstance(app.screen, ExportUsersScreen))
        prompt = app.screen
        assert isinstance(prompt, ExportUsersScreen)
        await pilot.press("ctrl+u")
        await type_text(pilot, "berlin.csv")
        await pilot.press("enter")
        await until(pilot, lambda: app.screen is screen)
        await settle(pilot)
        assert any("berlin.csv" in n and str(len(shown)) in n for n in notifications(app))
    path = export_dir / "berlin.csv"
    with open(path, encoding="utf-8", newline="") as handle:
        header = handle.readline().strip().split(",")
    assert tuple(header) == user_csv.COLUMNS
    rows = exports.read_csv(path)
    assert [row["username"] for row in rows] == shown
    assert "password" not in path.read_text(encoding="utf-8")
    # What the console exported re-imports as "unchanged", row for row.
    planned = import_users.plan(world.admin, user_csv.read_path(path))
    assert planned.counts() == {"add": 0, "change": 0, "unchanged": len(shown), "fail": 0}


async def test_r14_helpdesk_may_export_what_it_reads_but_not_import(world: World, people: list[str]) -> None:
    app = make_app(world, HELPDESK)
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await pilot.press("E")
        await settle(pilot)
        assert isinstance(app.screen, ExportUsersScreen)  # reading: R14 lets helpdesk view
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen
        await pilot.press("i")
        await settle(pilot)
        assert app.screen is screen
        refusals = [n for n in notifications(app) if "administrators only" in n]
        assert len(refusals) == 1 and "Import CSV" in refusals[0]


# --- import --------------------------------------------------------------------------------

NEW_USER = {
    "username": "neu.nutzer",
    "first_name": "Neu",
    "last_name": "Nutzer",
    "email": "neu.nutzer@example.com",
    "site": "Berlin",
    "number": "+493012345010",
    "extension": "",
    "device_type": "desk_phone",
    "desk_phone_model": "yealink-t54w",
    "licence": "standard",
    "services": [],
    "mobile": None,
    "contract": None,
    "status": "",
    "status_reason": None,
    "portal_locked": False,
    "groups": [],
}


def import_file(world: World, folder: Path, name: str = "users.csv") -> Path:
    """The tenant's export with grace.jones on another extension (line 2),
    then a row with a bad email (line 10), a new desk phone user (line 11)
    and one taking a number someone keeps (line 12)."""
    users = list(user_csv.export_users(world.admin))
    assert users[0]["username"] == "grace.jones"
    users[0] = {**users[0], "extension": "0009"}
    users.append({**NEW_USER, "username": "bad.email", "email": "kaputt", "number": "+493012345011"})
    users.append(NEW_USER)
    users.append({**NEW_USER, "username": "taken.number", "email": "t@example.com", "number": "+493012345001"})
    folder.mkdir(mode=0o700, exist_ok=True)
    stream = io.StringIO(newline="")
    user_csv.write(stream, users)
    path = folder / name
    path.write_text(stream.getvalue(), encoding="utf-8", newline="")
    return path


def preview_of(app: Any) -> ImportPreviewScreen:
    screen = app.screen
    assert isinstance(screen, ImportPreviewScreen)
    return screen


async def open_preview(pilot: Pilot[Any]) -> ImportPreviewScreen:
    """``i``, the file prompt's default name, Enter: the preview, checked."""
    await pilot.press("i")
    await until(pilot, lambda: isinstance(pilot.app.screen, ImportPathScreen))
    await pilot.press("enter")
    await until(pilot, lambda: isinstance(pilot.app.screen, ImportPreviewScreen))
    await until(pilot, lambda: preview_of(pilot.app).plan is not None)
    await settle(pilot)
    return preview_of(pilot.app)


async def test_import_preview_jumps_between_failures_and_writes_only_when_confirmed(
    world: World, people: list[str], export_dir: Path
) -> None:
    import_file(world, export_dir)
    before = stored_users(world)
    app = make_app(world)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        preview = await open_preview(pilot)
        assert "1 to add · 1 to change · 7 unchanged · 2 failing" in text_of(preview, "#import-counts")
        # The cursor starts on the first failing row; its line, column and rule are named.
        assert preview.table.cursor == 8
        assert "line 10: email: not a valid email address (R18)" in text_of(preview, "#import-detail")
        await pilot.press("n")
        assert preview.table.cursor == 10
        assert "line 12: number" in text_of(preview, "#import-detail")
        await pilot.press("n")  # round again to the first
        assert preview.table.cursor == 8
        await pilot.press("N")
        assert preview.table.cursor == 10
        # A changed row says what changes, old -> new.
        await pilot.press("home")
        assert "extension: 0003 -> 0009" in text_of(preview, "#import-detail")
        # Confirming asks first, Cancel focused: Enter alone writes nothing.
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert focused_id(app) == "cancel"
        assert "1 users are added and 1 changed" in text_of(app.screen, "#question")
        await pilot.press("enter")
        await until(pilot, lambda: app.screen is preview)
        await settle(pilot)
        assert stored_users(world) == before
        # Now confirmed: the valid rows are imported, the new password shown once.
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("tab", "enter")
        await until(pilot, lambda: isinstance(app.screen, ImportCredentialsScreen))
        shown = app.screen
        assert isinstance(shown, ImportCredentialsScreen)
        assert [item.username for item in shown.issued] == ["neu.nutzer"]
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, ExportCsvScreen))
        await pilot.press("enter")
        await until(pilot, lambda: app.screen is shown and shown.exported is not None)
        exported = shown.exported
        assert exported is not None
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, ImportCredentialsScreen | ImportPreviewScreen))
    assert stat.S_IMODE(exported.stat().st_mode) == 0o600
    assert [row["username"] for row in exports.read_csv(exported)] == ["neu.nutzer"]
    with world.store.read() as session:
        grace = session.execute(select(User).where(User.username == "grace.jones")).scalar_one()
        assert grace.extension == "0009"
        names = set(session.execute(select(User.username)).scalars())
        assert "neu.nutzer" in names and not {"bad.email", "taken.number"} & names
        new = session.execute(select(User).where(User.username == "neu.nutzer")).scalar_one()
        assert session.execute(select(DeskPhoneCredential).where(DeskPhoneCredential.user_id == new.id)).first()
        actions = list(session.execute(select(AuditEvent.action)).scalars())
    assert import_users.IMPORT_ACTION in actions


async def test_import_of_a_file_that_is_not_there_is_refused_in_the_prompt(world: World, export_dir: Path) -> None:
    app = make_app(world)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("i")
        await until(pilot, lambda: isinstance(app.screen, ImportPathScreen))
        await pilot.press("ctrl+u")
        await type_text(pilot, "missing.csv")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ImportPathScreen)
        assert "Cannot import" in text_of(app.screen, "#path-message")


async def test_an_import_without_failures_offers_the_whole_file(world: World, people: list[str]) -> None:
    users = list(user_csv.export_users(world.admin))
    stream = io.StringIO(newline="")
    user_csv.write(stream, [{**users[0], "extension": "0009"}])
    file = user_csv.read_text(stream.getvalue(), "one.csv")
    async with opened(lambda: ImportPreviewScreen(world.admin, file)) as (app, pilot):
        await until(pilot, lambda: preview_of(app).plan is not None)
        await settle(pilot)
        confirm = app.screen.query_one("#import-confirm", Button)
        assert not confirm.disabled and str(confirm.label) == "Import"
        assert "Every row passes" in text_of(app.screen, "#import-status")


def test_snapshot_import_preview(snap_compare: Any, world: World, people: list[str], export_dir: Path) -> None:
    file = user_csv.read_path(import_file(world, export_dir))
    app = Host(lambda: ImportPreviewScreen(world.admin, file))

    async def loaded(pilot: Pilot[Any]) -> None:
        await until(pilot, lambda: preview_of(app).plan is not None)
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=loaded)


async def test_l_switches_the_preview_to_german_keeping_the_cursor(
    world: World, people: list[str], export_dir: Path
) -> None:
    import_file(world, export_dir)
    app = make_app(world)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        preview = await open_preview(pilot)
        await pilot.press("n")
        assert preview.table.cursor == 10
        await pilot.press("L")
        await settle(pilot)
        assert "1 neu · 1 zu ändern · 7 unverändert · 2 fehlerhaft" in text_of(preview, "#import-counts")
        assert preview.table.cursor == 10
        assert text_of(preview, "#import-detail").startswith("Zeile 12: number")
        assert "FEHLER" in preview.table.rows[10]
