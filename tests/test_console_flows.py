"""The directory's action keys open the other screens, and what those screens
did shows in the directory afterwards."""

from __future__ import annotations

import pytest

from onenet_tui.data import users
from onenet_tui.screens.add_user import AddUserWizard
from onenet_tui.screens.bulk_credentials import BulkCredentialsScreen
from onenet_tui.screens.directory import DirectoryScreen
from tests.helpers import SIZE, World, lines, make_app, new_user_data, ready, until

# Screens do not depend on the backend; the services are tested on both.
pytestmark = pytest.mark.sqlite_only


async def test_a_new_user_appears_pending_with_the_cursor_on_it(world: World) -> None:
    for n in range(1, 4):
        users.add_user_from(world.admin, new_user_data(first_name=f"Anna{n}", number=f"030 1234500{n}"))
    async with make_app(world).run_test(size=SIZE) as pilot:
        directory = await ready(pilot)
        await pilot.press("a")
        await pilot.pause()
        wizard = pilot.app.screen
        assert isinstance(wizard, AddUserWizard)
        # The wizard's own walk is tested key by key elsewhere; here its result.
        added = users.add_user_from(
            world.admin, new_user_data(first_name="Zara", last_name="Zorn", number="030 12345009")
        )
        wizard.dismiss(added)
        for _ in range(50):
            await pilot.pause(0.05)
            row = directory.table.cursor_row
            if row is not None and row.id == added.user.id:
                break
        assert pilot.app.screen is directory
        row = directory.table.cursor_row
        assert row is not None and row.id == added.user.id
        cursor_line = next(line for line in lines(directory) if "Zorn, Zara" in line)
        assert "● Pending" in cursor_line


async def test_c_without_marks_but_with_a_filter_offers_everyone_it_shows(world: World) -> None:
    for n in range(1, 4):
        users.add_user_from(world.admin, new_user_data(first_name=f"Anna{n}", number=f"030 1234500{n}"))
    users.add_user_from(world.admin, new_user_data(first_name="Bert", last_name="Brandt", number="030 12345005"))
    async with make_app(world).run_test(size=SIZE) as pilot:
        directory = await ready(pilot)
        await pilot.press("slash", *"anna", "enter")
        await pilot.pause()
        assert isinstance(pilot.app.screen, DirectoryScreen)
        await pilot.press("c")
        await pilot.pause()
        await pilot.press("tab", "tab", "enter")  # the question's "All 3 shown" (issue 15)
        await pilot.pause()
        bulk = pilot.app.screen
        assert isinstance(bulk, BulkCredentialsScreen)
        assert sorted(bulk.user_ids) == sorted(directory.directory.ids()) and len(bulk.user_ids) == 3


async def test_the_console_runs_the_carrier_for_a_simulated_tenant(world: World) -> None:
    from datetime import timedelta

    from sqlalchemy import select, update

    from onenet_tui.data.models import Tenant, User

    # Seeded with the demo: pending since before the tenant was built.
    seeded = users.add_user_from(world.admin, new_user_data())
    # Added by the command line after the demo, shortly before the console started (issue 15).
    by_cli = users.add_user_from(world.admin, new_user_data(first_name="Vorher", number="030 12345003"))
    with world.store.transaction() as session:
        built = session.execute(select(Tenant.created_at)).scalar_one()
        session.execute(
            update(User)
            .where(User.id == seeded.user.id)  # type: ignore[arg-type]
            .values(status_changed_at=built - timedelta(seconds=5))
        )
        session.execute(update(Tenant).values(simulated=True, carrier_delay_seconds=0))
    async with make_app(world).run_test(size=SIZE) as pilot:
        await ready(pilot)
        added = users.add_user_from(world.admin, new_user_data(first_name="Neu", number="030 12345002"))
        for _ in range(100):
            await pilot.pause(0.05)
            if {users.view(world.admin, u.user.username).status for u in (added, by_cli)} == {"activated"}:
                break
        assert users.view(world.admin, added.user.username).status == "activated"
        assert users.view(world.admin, by_cli.user.username).status == "activated"
        # The demo's own pending users stay pending: they show what pending means.
        assert users.view(world.admin, seeded.user.username).status == "pending"


async def test_a_real_tenant_is_left_to_the_real_carrier(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy import update

    from onenet_tui.data import simulator, tenant
    from onenet_tui.data.models import Tenant

    asked: list[bool] = []
    runs: list[object] = []
    real_is_simulated, real_run = tenant.is_simulated, simulator.run
    monkeypatch.setattr(tenant, "is_simulated", lambda session: asked.append(real_is_simulated(session)) or asked[-1])
    monkeypatch.setattr(simulator, "run", lambda *args, **kwargs: runs.append(args) or real_run(*args, **kwargs))
    # Due at once, were the tenant simulated: only "real" keeps the user pending.
    with world.store.transaction() as session:
        session.execute(update(Tenant).values(carrier_delay_seconds=0))
    app = make_app(world)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        # Pending only once the console is open, as those the simulator takes.
        added = users.add_user_from(world.admin, new_user_data(first_name="Neu", number="030 12345002"))
        # The carrier worker asked, heard "real", and ended without simulating.
        await until(pilot, lambda: asked == [False] and not any(w.group == "carrier" for w in app.workers))
        assert runs == []
        assert users.view(world.admin, added.user.username).status == "pending"


async def test_quitting_past_unexported_passwords_asks_first(world: World) -> None:
    from onenet_tui.data import credentials
    from onenet_tui.screens.bulk_result import BulkResultScreen
    from onenet_tui.screens.save_file import ConfirmScreen

    added = users.add_user_from(world.admin, new_user_data())
    result = credentials.bulk_reset(world.admin, [added.user.id])
    app = make_app(world)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        app.push_screen(BulkResultScreen(result))
        await pilot.pause()
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen) and app.is_running
        await pilot.press("enter")  # Cancel has focus
        await pilot.pause()
        assert isinstance(app.screen, BulkResultScreen) and app.is_running
        await pilot.press("ctrl+q")
        await pilot.pause()
        await pilot.press("tab", "enter")
        await pilot.pause()
        assert not app.is_running
