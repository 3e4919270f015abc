"""80x24 pictures of the user detail (pending, activated, failed), the delete
confirmation and the account reset form. The data is fixed, timestamps
included (set on the rows directly), so the pictures only change when the
screens do."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select, update

from onenet_tui.data import carrier, groups, handover
from onenet_tui.data.models import DeskPhoneCredential, User
from onenet_tui.screens.account_reset import AccountResetScreen
from onenet_tui.screens.delete_user import DeleteUserScreen
from tests.helpers import SIZE, Host, World, add, add_active, detail, settle

FIXED = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)
CREDENTIALS_AT = datetime(2025, 3, 14, 9, 31, tzinfo=UTC)


# Screens do not depend on the backend; the services are tested on both.
pytestmark = pytest.mark.sqlite_only


def fix_timestamps(world: World, *, handed_over: bool = True) -> None:
    with world.store.transaction() as session:
        session.execute(update(User).values(created_at=FIXED, status_changed_at=FIXED))
        session.execute(update(DeskPhoneCredential).values(generated_at=CREDENTIALS_AT))
        holders = session.execute(select(User.username).join(DeskPhoneCredential)).scalars().all()
    for username in holders if handed_over else ():
        # As after the wizard's Next: no never-handed-over hint unless a test wants one.
        handover.record_handed_over(world.admin, username)


def activated_user(world: World) -> str:
    added = add_active(world, services=["voicemail", "supervisor"])
    add_active(world, first_name="Anna", last_name="Schmidt", email="anna@example.com", number="030 12345002")
    groups.add_member(world.admin, "BER Hunt", added.user.username)
    groups.add_member(world.admin, "BER Hunt", "anna.schmidt")
    groups.add_member(world.admin, "BER Callcenter", added.user.username, "supervisor")
    fix_timestamps(world)
    return added.user.username


def test_snapshot_detail_pending(world: World, snap_compare) -> None:  # type: ignore[no-untyped-def]
    username = add(world).user.username
    fix_timestamps(world)
    assert snap_compare(detail(world.admin, username), terminal_size=SIZE, run_before=settle)


def test_snapshot_detail_activated(world: World, snap_compare) -> None:  # type: ignore[no-untyped-def]
    username = activated_user(world)
    assert snap_compare(detail(world.admin, username), terminal_size=SIZE, run_before=settle)


def test_snapshot_detail_failed(world: World, snap_compare) -> None:  # type: ignore[no-untyped-def]
    added = add(
        world,
        first_name="Fritz",
        last_name="Fehler",
        email="fritz@example.com",
        number="030 12345039",
        accept_flagged=True,
    )
    carrier.set_status(world.carrier, added.user.username, "failed", "porting not finished")
    fix_timestamps(world)
    assert snap_compare(detail(world.admin, added.user.username), terminal_size=SIZE, run_before=settle)


def test_snapshot_detail_credentials_never_handed_over(world: World, snap_compare) -> None:  # type: ignore[no-untyped-def]
    username = add(world).user.username  # nobody saw its credentials
    fix_timestamps(world, handed_over=False)
    assert snap_compare(detail(world.admin, username), terminal_size=SIZE, run_before=settle, press=["end"])


def test_snapshot_delete_confirmation(world: World, snap_compare) -> None:  # type: ignore[no-untyped-def]
    username = activated_user(world)
    app = Host(lambda: DeleteUserScreen(world.admin, username))
    assert snap_compare(app, terminal_size=SIZE, run_before=settle)


def test_snapshot_account_reset_form(world: World, snap_compare) -> None:  # type: ignore[no-untyped-def]
    username = activated_user(world)
    with world.store.transaction() as session:
        session.execute(update(User).where(User.username == username).values(portal_locked=True, failed_logins=4))
    app = Host(lambda: AccountResetScreen(world.admin, username))
    assert snap_compare(app, terminal_size=SIZE, run_before=settle)


def test_snapshot_detail_activated_groups_account_credentials(world: World, snap_compare) -> None:  # type: ignore[no-untyped-def]
    username = activated_user(world)
    app = detail(world.admin, username)
    assert snap_compare(app, terminal_size=SIZE, run_before=settle, press=["end"])
