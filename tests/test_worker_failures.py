"""A worker that fails unexpectedly (a bug, a database gone away) goes
through the app's one handler: the screen it belongs to says what could not
be loaded or saved, a notification says the console is still running, and
the console does not end or stay on "Loading …"."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Button

from onenet_tui import app as onenet_app
from onenet_tui.app import OneNetApp
from onenet_tui.data import audit_log, bulk, credentials, users
from onenet_tui.data import directory as directory_model
from onenet_tui.i18n import t
from onenet_tui.screens.add_user import AddUserWizard, live_checks
from onenet_tui.screens.audit_log import AuditLogScreen
from onenet_tui.screens.bulk_credentials import BulkCredentialsScreen
from onenet_tui.screens.directory import DirectoryScreen
from onenet_tui.screens.lifecycle_base import Banner
from onenet_tui.screens.profile import ProfileForm, ProfileScreen
from onenet_tui.screens.regenerate import RegenerateScreen
from onenet_tui.screens.user_detail import UserDetailScreen
from onenet_tui.screens.workers import failure_reason
from onenet_tui.widgets.field import FieldRow
from tests.conftest import World
from tests.helpers import add, add_active, to_groups, until

SIZE = (80, 24)
ScreenT = TypeVar("ScreenT", bound=Screen[Any])
REASON = "server closed the connection unexpectedly"

# Screens do not depend on the backend; the services are tested on both.
pytestmark = pytest.mark.sqlite_only


class Console(OneNetApp):
    """The real console with one screen opened over the directory, as a key would."""

    # Textual finds a relative CSS_PATH beside the subclass's module.
    CSS_PATH = str(Path(onenet_app.__file__).with_name(OneNetApp.CSS_PATH))

    def __init__(self, world: World, make: Callable[[], Screen[Any]]) -> None:
        super().__init__(world.admin, theme="textual-dark", poll_seconds=0.1)
        self._make = make
        self.shown: Screen[Any] | None = None

    def on_mount(self) -> None:
        screen = self._make()
        if isinstance(screen, AddUserWizard):
            self.shown = screen  # the shared wizard helpers look for it here
        self.push_screen(screen)


def failing(*_: object, **__: object) -> Any:
    # Not a DomainError: what a service raises when something unforeseen breaks.
    raise RuntimeError(f"{REASON}\n[SQL: SELECT secret FROM somewhere]")


def notices(app: OneNetApp) -> list[str]:
    return [f"{n.title}: {n.message}" for n in app._notifications]


def still_running_said(app: OneNetApp) -> bool:
    return any(t("workers.failed.notice", reason=REASON) in notice for notice in notices(app))


def assert_still_running_and_says_so(app: OneNetApp) -> None:
    assert app.is_running and app.return_code is None
    said = notices(app)
    assert f"{t('workers.failed.title')}: {t('workers.failed.notice', reason=REASON)}" in said
    # The SQL of a database error is for the log, never the screen.
    assert not any("SELECT secret" in notice for notice in said)


def shown(screen: Screen[Any], selector: str) -> str:
    return "\n".join(str(widget.render()) for widget in screen.query(selector))


async def reported(pilot: Pilot[Any], kind: type[ScreenT]) -> ScreenT:
    """Once a worker failed: the console is still running and says so, still
    on the ``kind`` of screen the work belonged to (returned)."""
    app = pilot.app
    assert isinstance(app, OneNetApp)
    await until(pilot, lambda: still_running_said(app) or not app.is_running)
    await pilot.pause()
    assert_still_running_and_says_so(app)
    screen = app.screen
    assert isinstance(screen, kind)
    return screen


# --- the directory -----------------------------------------------------------------


async def test_directory_load_failure_says_so_instead_of_loading_for_ever(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(directory_model, "load_first_page", failing)
    app = OneNetApp(world.admin, theme="textual-dark", poll_seconds=0.1)
    async with app.run_test(size=SIZE) as pilot:
        screen = await reported(pilot, DirectoryScreen)
        assert screen.table.empty_message == t("workers.failed.load", reason=REASON)


# --- the audit log -----------------------------------------------------------------


async def test_audit_load_failure_keeps_the_console_running(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit_log, "read_page", failing)
    app = Console(world, lambda: AuditLogScreen(world.admin, poll_seconds=0.1))
    async with app.run_test(size=SIZE) as pilot:
        screen = await reported(pilot, AuditLogScreen)
        assert shown(screen, "#audit-title") == t("workers.failed.load", reason=REASON)
        # Polled every 0.1 s and failing each time: said once, not ten times a second.
        await pilot.pause(0.5)
        assert len([n for n in notices(app) if REASON in n]) == 1


# --- the user detail -----------------------------------------------------------------


async def test_user_detail_load_failure_replaces_loading(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    username = add_active(world).user.username
    monkeypatch.setattr(users, "view", failing)
    app = Console(world, lambda: UserDetailScreen(world.admin, username, poll_seconds=None))
    async with app.run_test(size=SIZE) as pilot:
        screen = await reported(pilot, UserDetailScreen)
        body = shown(screen, "#detail-body Static")
        assert body == t("workers.failed.load", reason=REASON)
        assert t("lifecycle.loading") not in body


# --- a dialog with a form: profile ---------------------------------------------------


async def test_profile_load_failure_replaces_loading_with_the_reason(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    username = add_active(world).user.username
    monkeypatch.setattr(users, "view", failing)
    app = Console(world, lambda: ProfileScreen(world.admin, username))
    async with app.run_test(size=SIZE) as pilot:
        screen = await reported(pilot, ProfileScreen)
        body = shown(screen, "#dialog-body Static")
        assert t("workers.failed.load", reason=REASON) in body
        assert t("lifecycle.loading") not in body
        # Close is offered and closes.
        assert app.focused is screen.query_one("#close", Button)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, DirectoryScreen))


async def test_profile_save_failure_shows_in_the_banner_and_keeps_the_form(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    username = add_active(world).user.username
    monkeypatch.setattr(users, "edit_profile", failing)
    app = Console(world, lambda: ProfileScreen(world.admin, username))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, ProfileScreen) and app.screen.form is not None)
        form = app.screen.form
        assert isinstance(form, ProfileForm)
        form.department.control.value = "Sales"
        await pilot.pause()
        await pilot.press("ctrl+s")
        screen = await reported(pilot, ProfileScreen)
        assert screen.form is not None
        assert str(screen.query_one(Banner).render()) == t("workers.failed.save", reason=REASON)


# --- a confirmation dialog: regenerate credentials --------------------------------------


async def test_regenerate_save_failure_shows_in_the_banner_and_offers_the_button_again(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    username = add_active(world).user.username
    monkeypatch.setattr(credentials, "regenerate", failing)
    app = Console(world, lambda: RegenerateScreen(world.admin, username))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.focused is not None and app.focused.id == "cancel")
        await pilot.press("tab", "enter")
        screen = await reported(pilot, RegenerateScreen)
        assert str(screen.query_one(Banner).render()) == t("workers.failed.save", reason=REASON)
        assert not screen.query_one("#regenerate", Button).disabled


# --- the add-user wizard -----------------------------------------------------------------


async def test_wizard_site_load_failure_says_so_at_the_number(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(live_checks, "_load_site", failing)
    app = Console(world, lambda: AddUserWizard(world.admin, site="Berlin"))
    async with app.run_test(size=SIZE) as pilot:
        wizard = await reported(pilot, AddUserWizard)
        assert wizard.number_field.message_text.endswith(t("workers.failed.load", reason=REASON))


async def test_wizard_site_names_failure_says_so_at_the_site(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(users, "site_names", failing)
    app = Console(world, lambda: AddUserWizard(world.admin, site="Berlin"))
    async with app.run_test(size=SIZE) as pilot:
        wizard = await reported(pilot, AddUserWizard)
        site_row = wizard.query_one("#site-field", FieldRow)
        assert site_row.message_text.endswith(t("workers.failed.load", reason=REASON))


async def test_wizard_create_failure_is_shown_on_the_review_and_create_offered_again(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = Console(world, lambda: AddUserWizard(world.admin))
    async with app.run_test(size=SIZE) as pilot:
        await to_groups(pilot)
        await pilot.press("ctrl+n")
        monkeypatch.setattr(users, "add_user_from", failing)
        await pilot.press("ctrl+s")
        wizard = await reported(pilot, AddUserWizard)
        assert not wizard.creating
        review = shown(wizard, "#review-problems")
        assert t("wizard.review.failed", message=REASON) in review
        assert not wizard.query_one("#wizard-create", Button).disabled


# --- bulk credentials -----------------------------------------------------------------


@pytest.fixture
def export_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "export"
    monkeypatch.setenv("ONENET_EXPORT_DIR", str(folder))
    return folder


def desk_phone_ids(world: World) -> list[int]:
    added = [add_active(world), add(world, first_name="Anna", email="anna@example.com", number="030 12345002")]
    return [a.user.id for a in added if a.user.id is not None]


async def test_bulk_preview_failure_says_so_on_the_screen(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = desk_phone_ids(world)
    monkeypatch.setattr(bulk, "preview", failing)
    app = Console(world, lambda: BulkCredentialsScreen(world.admin, ids, source="marked"))
    async with app.run_test(size=SIZE) as pilot:
        screen = await reported(pilot, BulkCredentialsScreen)
        assert t("bulk.preview_failed", error=REASON) in shown(screen, "Static")


async def test_bulk_reset_failure_says_so_and_offers_the_reset_again(
    world: World, monkeypatch: pytest.MonkeyPatch, export_dir: Path
) -> None:
    ids = desk_phone_ids(world)
    monkeypatch.setattr(bulk, "reset_and_export", failing)
    app = Console(world, lambda: BulkCredentialsScreen(world.admin, ids, source="marked"))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, BulkCredentialsScreen) and app.screen.preview is not None)
        await pilot.pause()
        await pilot.press("ctrl+s")
        await until(pilot, lambda: not isinstance(app.screen, BulkCredentialsScreen))
        await pilot.press("tab", "enter")  # past Cancel: confirm with the default file name
        screen = await reported(pilot, BulkCredentialsScreen)
        assert t("bulk.unexpected", error=REASON) in shown(screen, "Static")
        assert not screen.running
        assert not screen.query_one("#bulk-confirm", Button).disabled
        assert list(Path(export_dir).glob("*.csv")) == []


def test_failure_reason_is_one_line_shown_literally() -> None:
    assert failure_reason(RuntimeError("bad\x1b[31m thing\nSQL: SELECT 1")) == failure_reason(
        RuntimeError("bad\x1b[31m thing")
    )
    assert "\x1b" not in failure_reason(RuntimeError("bad\x1b[31m thing"))
    assert failure_reason(RuntimeError()) == "RuntimeError"
