"""What the directory's action keys open (``OneNetApp.flows``): one small
function per key id, so the directory knows nothing of the other screens and
each screen knows nothing of the directory."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from onenet_tui.i18n import t
from onenet_tui.screens.account_reset import AccountResetScreen
from onenet_tui.screens.add_user import AddUserWizard
from onenet_tui.screens.audit_log import AuditLogScreen
from onenet_tui.screens.bulk_credentials import BulkCredentialsScreen, open_bulk_credentials
from onenet_tui.screens.delete_user import DeleteUserScreen
from onenet_tui.screens.directory import DirectoryScreen, Flow, Picked
from onenet_tui.screens.edit_configuration import EditConfigurationScreen
from onenet_tui.screens.export_users import ExportUsersScreen
from onenet_tui.screens.group_assignments import GroupAssignmentsScreen
from onenet_tui.screens.import_users import open_import
from onenet_tui.screens.profile import ProfileScreen
from onenet_tui.screens.save_file import folder_text
from onenet_tui.screens.user_detail import UserDetailScreen


def _refresh_after(directory: DirectoryScreen) -> Callable[[Any], None]:
    """Look for changes as soon as the pushed screen closes."""
    return lambda _result: directory.refresh_now()


def _for_cursor_user(make: Callable[[Any, str], Any]) -> Flow:
    def flow(directory: DirectoryScreen, picked: Picked) -> None:
        if picked.cursor is not None:
            directory.app.push_screen(make(directory.ctx, picked.cursor.ref), _refresh_after(directory))

    return flow


def add_user(directory: DirectoryScreen, _picked: Picked) -> None:
    def created(added: Any) -> None:
        if added is not None:
            # The new user is pending (R3); the cursor goes to them once the
            # refresh brings their row.
            directory.focus_user(added.user.id)
        directory.refresh_now()

    directory.app.push_screen(AddUserWizard(directory.ctx), created)


def credentials(directory: DirectoryScreen, picked: Picked) -> None:
    """``c``: the marked users (R10); with no marks but a filter, everyone it
    shows (R10); else the cursor user alone (R9)."""
    if not picked.marked and directory.is_filtered:
        ids = directory.directory.ids()
        directory.app.push_screen(BulkCredentialsScreen(directory.ctx, ids, source="filter"), _refresh_after(directory))
        return
    open_bulk_credentials(directory, picked)


def audit_log(directory: DirectoryScreen, _picked: Picked) -> None:
    directory.app.push_screen(AuditLogScreen(directory.ctx))


def export_users(directory: DirectoryScreen, _picked: Picked) -> None:
    """``E``: the users the directory shows, as shown (filter, status filter,
    sort), to a CSV file an import reads back unchanged (SPEC section 12)."""
    if directory.directory.loading:
        # Only the first page is there: the file would silently lack users.
        directory.notify(t("csv_console.export.loading"), severity="warning", markup=False)
        return
    ids = directory.directory.ids()
    screen = ExportUsersScreen(directory.ctx, ids)

    def written(path: Path | None) -> None:
        if path is not None:
            directory.notify(
                t("csv_console.export.done", count=screen.count, path=folder_text(path)),
                title=t("csv_console.export.done_title"),
                markup=False,
            )

    directory.app.push_screen(screen, written)


def import_users(directory: DirectoryScreen, _picked: Picked) -> None:
    open_import(directory.app, directory.ctx, _refresh_after(directory))


FLOWS: dict[str, Flow] = {
    "open": _for_cursor_user(UserDetailScreen),
    "add": add_user,
    "edit": _for_cursor_user(EditConfigurationScreen),
    "profile": _for_cursor_user(ProfileScreen),
    "groups": _for_cursor_user(GroupAssignmentsScreen),
    "credentials": credentials,
    "reset_account": _for_cursor_user(AccountResetScreen),
    "delete": _for_cursor_user(DeleteUserScreen),
    "audit": audit_log,
    "export": export_users,
    "import": import_users,
}
