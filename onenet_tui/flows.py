"""What the directory's action keys open (``OneNetApp.flows``): one small
function per key id, so the directory knows nothing of the other screens and
each screen knows nothing of the directory."""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any

from onenet_tui import keys
from onenet_tui.data.policy import decide
from onenet_tui.i18n import t
from onenet_tui.widgets.refusal import refusal_text

if TYPE_CHECKING:
    from onenet_tui.screens.directory import DirectoryScreen, Flow, Picked

# The screens are imported when first opened, not at launch: with their
# services and the ORM they cost more than the first frame (issue 20).


def _screen(module: str, name: str) -> Callable[..., Any]:
    """``onenet_tui.screens.<module>.<name>``, imported when called."""

    def make(*args: Any, **kwargs: Any) -> Any:
        return getattr(import_module(f"onenet_tui.screens.{module}"), name)(*args, **kwargs)

    return make


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

    from onenet_tui.screens.add_user import AddUserWizard

    directory.app.push_screen(AddUserWizard(directory.ctx), created)


def credentials(directory: DirectoryScreen, picked: Picked) -> None:
    """``c``: the marked users (R10); with no marks but a filter showing
    several users, the operator chooses: the cursor user alone (R9) or
    everyone the filter shows (R10); else the cursor user alone (R9)."""
    from onenet_tui.screens.bulk_credentials import BulkCredentialsScreen, open_bulk_credentials
    from onenet_tui.screens.credentials_scope import CredentialsScopeScreen

    if picked.marked or not directory.is_filtered:
        open_bulk_credentials(directory, picked)
        return
    ids = directory.directory.ids()

    def everyone_shown() -> None:
        directory.app.push_screen(BulkCredentialsScreen(directory.ctx, ids, source="filter"), _refresh_after(directory))

    cursor = picked.cursor
    if cursor is None:
        everyone_shown()  # nobody shown: the bulk screen says so
        return
    if len(ids) <= 1:
        # The one user shown is the cursor user: nothing to choose.
        open_bulk_credentials(directory, picked)
        return

    def chosen(scope: str | None) -> None:
        if scope == "filter":
            everyone_shown()
        elif scope == "cursor":
            open_bulk_credentials(directory, picked)

    alone = decide(keys.policy("credentials"), directory.ctx.actor.role, cursor.status, cursor.device_type)
    refusal = None if alone.allowed else refusal_text(alone)
    directory.app.push_screen(CredentialsScopeScreen(cursor.name, len(ids), refusal), chosen)


def audit_log(directory: DirectoryScreen, _picked: Picked) -> None:
    from onenet_tui.screens.audit_log import AuditLogScreen

    directory.app.push_screen(AuditLogScreen(directory.ctx))


def _tenant_screen(make: Callable[[Any], Any]) -> Flow:
    """Sites and numbers, the groups (SPEC section 11): the directory looks
    again when they close (the first-run hint follows, users' groups too)."""

    def flow(directory: DirectoryScreen, _picked: Picked) -> None:
        directory.app.push_screen(make(directory.ctx), _refresh_after(directory))

    return flow


def export_users(directory: DirectoryScreen, _picked: Picked) -> None:
    """``E``: the users the directory shows, as shown (filter, status filter,
    sort), to a CSV file an import reads back unchanged (SPEC section 12)."""
    if directory.directory.loading:
        # Only the first page is there: the file would silently lack users.
        directory.notify(t("csv_console.export.loading"), severity="warning", markup=False)
        return
    from onenet_tui.screens.export_users import ExportUsersScreen
    from onenet_tui.screens.save_file import folder_text

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
    from onenet_tui.screens.import_users import open_import

    open_import(directory.app, directory.ctx, _refresh_after(directory))


FLOWS: dict[str, Flow] = {
    "open": _for_cursor_user(_screen("user_detail", "UserDetailScreen")),
    "add": add_user,
    "edit": _for_cursor_user(_screen("edit_configuration", "EditConfigurationScreen")),
    "profile": _for_cursor_user(_screen("profile", "ProfileScreen")),
    "groups": _for_cursor_user(_screen("group_assignments", "GroupAssignmentsScreen")),
    "credentials": credentials,
    "reset_account": _for_cursor_user(_screen("account_reset", "AccountResetScreen")),
    "delete": _for_cursor_user(_screen("delete_user", "DeleteUserScreen")),
    "audit": audit_log,
    "sites": _tenant_screen(_screen("sites", "SitesScreen")),
    "all_groups": _tenant_screen(_screen("groups", "GroupsScreen")),
    "export": export_users,
    "import": import_users,
}
