"""The lifecycle dialogs through their real keys: edit configuration (R5,
stale edits, credentials once), profile and call services, group assignments
(R4, R6), delete (R7), new credentials (R9) and account reset (R12), each
refused for a helpdesk operator (R14)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import select
from textual.app import App
from textual.screen import Screen
from textual.widgets import Button, Checkbox, Input, Label, Static

from onenet_tui.data import audit, carrier, exports, groups, queries, secrets, users
from onenet_tui.data.context import Actor, Context
from onenet_tui.data.lookup import site_by_name
from onenet_tui.data.models import DeskPhoneCredential, Role, User
from onenet_tui.data.schemas import ConfigChange, ProfileChange
from onenet_tui.screens.account_reset import AccountResetScreen, ActivationCodeScreen
from onenet_tui.screens.credentials_once import CredentialsOnceScreen
from onenet_tui.screens.delete_user import DeleteUserScreen, people_to_tell_csv
from onenet_tui.screens.edit_configuration import ConfigurationForm, EditConfigurationScreen
from onenet_tui.screens.group_assignments import GroupAssignmentsScreen
from onenet_tui.screens.lifecycle_base import RefusalPanel, UserActionScreen
from onenet_tui.screens.profile import ProfileForm, ProfileScreen
from onenet_tui.screens.regenerate import RegenerateScreen
from onenet_tui.screens.save_file import SaveTextScreen
from onenet_tui.screens.user_detail import UserDetailScreen
from onenet_tui.widgets.group_panel import GroupPanel
from tests.helpers import (
    NO_DESK_PHONE,
    Host,
    World,
    add,
    add_active,
    clear_focused,
    detail,
    detail_opened,
    focus,
    opened,
    settle,
    type_text,
)

# Screens do not depend on the backend; the services are tested on both.
pytestmark = pytest.mark.sqlite_only

ScreenT = TypeVar("ScreenT", bound=Screen)  # type: ignore[type-arg]


def notices(app: App) -> list[str]:
    return [str(n.message) for n in app._notifications]


def rendered(widget: Any) -> str:
    return str(widget.render())


def banner(screen: Screen) -> str:
    return rendered(screen.query_one("#banner", Static))


def bob(world: World) -> Context:
    """Another administrator, working at the same time."""
    return Context(world.store, Actor("bob", Role.ADMIN))


async def open_with(pilot, key: str, screen_type: type[ScreenT]) -> ScreenT:  # type: ignore[no-untyped-def]
    """Once the user's detail is shown, ``key`` opens a dialog of ``screen_type``."""
    await settle(pilot)
    await pilot.press(key)
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, screen_type)
    return screen


async def save(pilot) -> None:  # type: ignore[no-untyped-def]
    """ctrl+s, and wait for the save and what follows it."""
    await pilot.press("ctrl+s")
    await settle(pilot)


# ---------------------------------------------------------------- refusals before anything


@pytest.mark.parametrize(
    "screen_type",
    [
        EditConfigurationScreen,
        ProfileScreen,
        GroupAssignmentsScreen,
        DeleteUserScreen,
        RegenerateScreen,
        AccountResetScreen,
    ],
)
async def test_r14_helpdesk_gets_the_reason_instead_of_any_change_dialog(
    world: World, screen_type: type[UserActionScreen[Any]]
) -> None:
    username = add_active(world).user.username
    async with opened(lambda: screen_type(world.helpdesk, username)) as (app, pilot):
        screen = app.screen
        assert isinstance(screen.query_one(RefusalPanel), RefusalPanel)
        assert rendered(screen.query_one("#refusal-reason")) == "R14: administrators only"
        assert not screen.query(Input) and not screen.query(GroupPanel)
        await pilot.press("enter")  # Close has the focus
        assert app.results == [None]


async def test_r5_pending_user_configuration_refused_before_anything_is_typed(world: World) -> None:
    username = add(world).user.username
    async with opened(lambda: EditConfigurationScreen(world.admin, username)) as (app, pilot):
        screen = app.screen
        assert not screen.query(ConfigurationForm)
        assert rendered(screen.query_one("#refusal-reason")) == (
            "R5: the user is pending: configuration can be changed once the user is activated"
        )


async def test_r7_pending_user_delete_refused_before_anything(world: World) -> None:
    username = add(world).user.username
    async with opened(lambda: DeleteUserScreen(world.admin, username)) as (app, pilot):
        screen = app.screen
        assert not screen.query("#confirm-extension")
        assert rendered(screen.query_one("#refusal-reason")) == (
            "R5: the user is pending: only activated users can be deleted (R7)"
        )
        await pilot.press("enter")
    assert users.view(world.admin, username).status == "pending"


async def test_r9_user_without_desk_phone_gets_the_reason(world: World) -> None:

    username = add_active(world, **NO_DESK_PHONE).user.username
    async with opened(lambda: RegenerateScreen(world.admin, username)) as (app, pilot):
        assert rendered(app.screen.query_one("#refusal-reason")) == "R9: the user has no desk phone"


# ---------------------------------------------------------------- edit configuration


async def test_edit_configuration_sends_only_the_changed_fields(world: World) -> None:
    username = add_active(world).user.username
    async with detail_opened(world.admin, username) as (app, pilot):
        await pilot.press("e")
        await settle(pilot)
        assert isinstance(app.screen, EditConfigurationScreen)
        await pilot.press("tab")  # first name -> last name
        await clear_focused(pilot)
        await type_text(pilot, "Meier")
        await save(pilot)
        assert isinstance(app.screen, UserDetailScreen)
        assert "Meier" in rendered(app.screen.query_one("#detail-name"))
    view = users.view(world.admin, username)
    assert view.last_name == "Meier" and view.first_name == "Jürgen"
    with world.store.read() as session:
        event = audit.events(session, limit=1)[0]
    assert event.action == "user.change_configuration"
    assert set(event.details["changed"]) == {"last_name"}


async def test_edit_configuration_validates_live(world: World) -> None:
    username = add_active(world).user.username
    add(world, first_name="Other", last_name="Person", email="o@example.com", number="030 12345002")
    async with opened(lambda: EditConfigurationScreen(world.admin, username)) as (app, pilot):
        form = app.screen.query_one(ConfigurationForm)
        await focus(pilot, form.extension.input)
        await clear_focused(pilot)
        await type_text(pilot, "12a")
        await settle(pilot)
        assert form.extension.message_text == "✗ digits only (R2)"
        await clear_focused(pilot)
        await type_text(pilot, "5002")
        await settle(pilot)
        assert form.extension.message_text == "✗ extension 5002 is already used by other.person at this site (R2)"
        # R1 counted in characters, shown as typed.
        await focus(pilot, form.first_name.input)
        await type_text(pilot, "x" * 24)
        await pilot.pause()
        assert "at most 23 characters" in form.first_name.message_text
        # R17: without a desk phone the mobile and contract numbers are required.
        form.device_type.value = "none"
        await pilot.pause()
        assert "required without a desk phone (R17)" in form.mobile.message_text
        assert form.model.disabled
        await save(pilot)
        assert "need attention" in banner(app.screen)
    assert users.view(world.admin, username).extension == "5001"


async def test_r8_new_number_means_new_credentials_shown_once(world: World) -> None:
    username = add_active(world).user.username
    async with detail_opened(world.admin, username) as (app, pilot):
        await pilot.press("e")
        await settle(pilot)
        form = app.screen.query_one(ConfigurationForm)
        await focus(pilot, form.number.input)
        await pilot.press("down")  # the next free number; the extension follows it (R2)
        await settle(pilot)
        assert form.extension.value == "5002"
        await save(pilot)
        assert isinstance(app.screen, CredentialsOnceScreen)
        assert "493012345002" in rendered(app.screen.query_one(".credentials--sip_username", Label))
        await pilot.press("enter")  # Next
        await settle(pilot)
        assert isinstance(app.screen, UserDetailScreen)
        assert not any(isinstance(s, CredentialsOnceScreen) for s in app.screen_stack)
    view = users.view(world.admin, username)
    assert (view.number, view.extension) == ("+493012345002", "5002")
    assert view.credentials is not None and view.credentials.sip_username == "493012345002"


async def test_stale_edit_is_refused_and_the_form_shows_fresh_data(world: World) -> None:
    username = add_active(world).user.username
    app = detail(world.admin, username)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_with(pilot, "e", EditConfigurationScreen)
        # Meanwhile another administrator renames the user's last name.
        current = users.view(world.admin, username)
        users.change_configuration(
            bob(world), username, ConfigChange(expected_version=current.version, last_name="Schulz")
        )
        await pilot.press("end")
        await type_text(pilot, "x")  # the first name gets an extra letter here
        await save(pilot)
        assert app.screen is screen
        assert "changed by someone else" in banner(screen)
        form = screen.query_one(ConfigurationForm)
        assert form.last_name.value == "Schulz"
        # What was typed is kept on top of the fresh data (issue 15).
        assert form.first_name.value == "Jürgenx"
        # Saving again from the fresh data works.
        await save(pilot)
        assert isinstance(app.screen, UserDetailScreen)
    view = users.view(world.admin, username)
    assert (view.first_name, view.last_name) == ("Jürgenx", "Schulz")


# ---------------------------------------------------------------- profile and call services


async def test_r5_profile_and_call_services_editable_for_a_pending_user(world: World) -> None:
    username = add(world).user.username
    app = detail(world.admin, username)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_with(pilot, "p", ProfileScreen)
        form = screen.query_one(ProfileForm)
        await pilot.press("tab")  # email -> department
        await type_text(pilot, "Sales")
        await focus(pilot, form.forwards["forward_busy"].input)
        await type_text(pilot, "abc")
        assert form.forwards["forward_busy"].message_text == "✗ not a valid extension or phone number"
        await save(pilot)
        assert app.screen is screen and "need attention" in banner(screen)
        await clear_focused(pilot)
        await type_text(pilot, "5002")
        await focus(pilot, form.do_not_disturb)
        await pilot.press("space")
        await save(pilot)
        assert isinstance(app.screen, UserDetailScreen)
    view = users.view(world.admin, username)
    assert (view.department, view.forward_busy, view.do_not_disturb) == ("Sales", "5002", True)
    assert view.version == 3  # profile, then call services, each on the version before


async def test_profile_clears_department_and_forwarding(world: World) -> None:
    added = add_active(world)
    users.edit_profile(
        world.admin, added.user.username, ProfileChange(expected_version=added.user.version + 1, department="Ops")
    )
    from onenet_tui.data.schemas import CallServicesChange

    users.edit_call_services(
        world.admin,
        added.user.username,
        CallServicesChange(expected_version=added.user.version + 2, forward_always="5009"),
    )
    async with opened(lambda: ProfileScreen(world.admin, added.user.username)) as (app, pilot):
        form = app.screen.query_one(ProfileForm)
        await focus(pilot, form.department.input)
        await clear_focused(pilot)
        await focus(pilot, form.forwards["forward_always"].input)
        await clear_focused(pilot)
        await save(pilot)
        assert len(app.results) == 1
    view = users.view(world.admin, added.user.username)
    assert view.department is None and view.forward_always is None


async def test_stale_profile_edit_is_refused_and_reloaded(world: World) -> None:
    added = add(world)
    async with opened(lambda: ProfileScreen(world.admin, added.user.username)) as (app, pilot):
        users.edit_profile(
            bob(world), added.user.username, ProfileChange(expected_version=added.user.version, department="Finance")
        )
        form = app.screen.query_one(ProfileForm)
        await focus(pilot, form.job_title.input)
        await type_text(pilot, "Boss")
        await save(pilot)
        assert "changed by someone else" in banner(app.screen)
        form = app.screen.query_one(ProfileForm)
        # The fresh department, and the job title typed here kept (issue 15).
        assert (form.department.value, form.job_title.value) == ("Finance", "Boss")
    assert users.view(world.admin, added.user.username).job_title is None


# ---------------------------------------------------------------- groups


async def test_r4_pending_user_cannot_join_hunt_groups_or_call_centers_but_pickup(world: World) -> None:
    username = add(world).user.username
    async with detail_opened(world.admin, username) as (app, pilot):
        await pilot.press("g")
        await settle(pilot)
        panel = app.screen.query_one(GroupPanel)
        rows = {row.option.name: row for row in panel.rows}
        assert rows["BER Hunt"].checkbox.disabled and rows["BER Callcenter"].checkbox.disabled
        assert panel.reasons()["BER Hunt"] == "R4: the user is pending: only activated users can join a hunt group"
        assert "R4: the user is pending" in rendered(rows["BER Callcenter"].query_one(".group-row--reason"))
        assert not rows["BER Pickup"].checkbox.disabled
        assert app.focused is rows["BER Pickup"].checkbox
        await pilot.press("space", "ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, UserDetailScreen)
    assert [g.name for g in users.view(world.admin, username).groups] == ["BER Pickup"]


async def test_r6_supervisor_without_the_service_is_allowed_with_a_notice(world: World) -> None:
    username = add_active(world).user.username
    async with detail_opened(world.admin, username) as (app, pilot):
        await pilot.press("g")
        await settle(pilot)
        panel = app.screen.query_one(GroupPanel)
        assert "R6" in rendered(panel.query_one(".group-panel--hint"))
        await pilot.press("tab", "space")  # hunt group -> call center, ticked
        await pilot.press("tab", "enter", "down", "enter")  # role: supervisor
        await pilot.pause()
        assert panel.chosen == {"BER Callcenter": "supervisor"}
        await save(pilot)
        assert isinstance(app.screen, UserDetailScreen)
        assert any("supervisor service" in n and "(R6)" in n for n in notices(app))
    groups_now = users.view(world.admin, username).groups
    assert [(g.name, g.role) for g in groups_now] == [("BER Callcenter", "supervisor")]


async def test_group_membership_removed_and_unchanged_panel_saves_nothing(world: World) -> None:
    username = add_active(world).user.username
    groups.add_member(world.admin, "BER Park", username)
    async with opened(lambda: GroupAssignmentsScreen(world.admin, username)) as (app, pilot):
        await pilot.press("ctrl+s")
        assert "Nothing changed" in banner(app.screen)
        rows = {row.option.name: row for row in app.screen.query_one(GroupPanel).rows}
        await focus(pilot, rows["BER Park"].checkbox)
        await pilot.press("space", "ctrl+s")
        await settle(pilot)
        assert app.results == [True]
    assert users.view(world.admin, username).groups == []


# ---------------------------------------------------------------- delete


async def test_r7_delete_confirmation_typed_extension_and_people_to_tell(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ONENET_EXPORT_DIR", str(tmp_path))
    username = add_active(world).user.username
    colleague = add_active(world, first_name="Anna", last_name="Schmidt", email="a@example.com", number="030 12345002")
    groups.add_member(world.admin, "BER Hunt", username)
    groups.add_member(world.admin, "BER Hunt", colleague.user.username)
    groups.add_member(world.admin, "BER Pickup", username)
    app = detail(world.admin, username)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_with(pilot, "d", DeleteUserScreen)
        assert app.focused is not None and app.focused.id == "cancel"
        groups_text = "\n".join(rendered(w) for w in screen.query(".delete-group"))
        assert "BER Hunt (Hunt group): anna.schmidt" in groups_text
        assert "BER Pickup (Call pickup group): no other members" in groups_text
        delete_button = screen.query_one("#delete", Button)
        assert delete_button.disabled
        await pilot.press("shift+tab")  # to the extension input
        assert app.focused is screen.query_one("#confirm-extension")
        await type_text(pilot, "5002")
        assert delete_button.disabled
        await clear_focused(pilot)
        await type_text(pilot, "5001")
        assert not delete_button.disabled
        await pilot.press("tab", "tab", "enter")  # Cancel, then Delete
        await settle(pilot)
        done = rendered(screen.query_one("#delete-done"))
        assert "was deleted" in done
        # National, as everywhere in the console (issue 15).
        assert "030 12345001" in done and "+49" not in done
        assert app.focused is not None and app.focused.id == "close"
        # The list of people to tell, as CSV.
        await pilot.press("shift+tab", "enter")
        assert isinstance(app.screen, SaveTextScreen)
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is screen
        saved = exports.read_csv(tmp_path / f"people-to-tell-{username}.csv")
        assert saved == [
            {"deleted_user": username, "group": "BER Hunt", "kind": "hunt_group", "member": "anna.schmidt"},
            {"deleted_user": username, "group": "BER Pickup", "kind": "pickup", "member": ""},
        ]
        await pilot.press("escape")  # the same as Close, now that the user is gone
        await settle(pilot)
        assert app.results == [None]  # the detail screen closed itself
        # The user is gone, so is the detail screen.
        assert not any(isinstance(s, UserDetailScreen) for s in app.screen_stack)
    with world.store.read() as session:
        assert session.execute(select(User).where(User.username == username)).first() is None
        berlin = site_by_name(session, "Berlin")
        assert "+493012345001" in queries.free_numbers(session, berlin.id)  # type: ignore[arg-type]


async def test_r7_enter_on_the_delete_confirmation_cancels(world: World) -> None:
    username = add_active(world).user.username
    async with opened(lambda: DeleteUserScreen(world.admin, username)) as (app, pilot):
        await pilot.press("enter")
        await settle(pilot)
        assert app.results == [None]
    assert users.view(world.admin, username).status == "activated"


async def test_r7_stale_delete_is_refused_and_shown_afresh(world: World) -> None:
    added = add_active(world)
    username = added.user.username
    async with opened(lambda: DeleteUserScreen(world.admin, username)) as (app, pilot):
        groups.add_member(bob(world), "BER Park", username)
        # Joining a group changed the user too (R22): the profile edit is based on that.
        fresh = users.view(world.admin, username).version
        users.edit_profile(bob(world), username, ProfileChange(expected_version=fresh, job_title="Boss"))
        screen = app.screen
        await focus(pilot, screen.query_one("#confirm-extension", Input))
        await type_text(pilot, "5001")
        await pilot.press("tab", "tab", "enter")
        await settle(pilot)
        assert "changed by someone else" in banner(screen)
        assert "BER Park" in "\n".join(rendered(w) for w in screen.query(".delete-group"))
        assert users.view(world.admin, username)  # still there
        await focus(pilot, screen.query_one("#confirm-extension", Input))
        await type_text(pilot, "5001")
        await pilot.press("tab", "tab", "enter")
        await settle(pilot)
        assert screen.report is not None and [g.name for g in screen.report.groups] == ["BER Park"]
    assert people_to_tell_csv(screen.report).startswith("deleted_user,group,kind,member")


# ---------------------------------------------------------------- credentials and account


async def test_r9_regenerate_replaces_the_password_and_shows_it_once(world: World) -> None:
    added = add_active(world)
    username = added.user.username
    with world.store.read() as session:
        old = session.get(DeskPhoneCredential, added.user.id)
        assert old is not None
        old_digest = old.ha1_md5
    async with detail_opened(world.admin, username) as (app, pilot):
        await pilot.press("c")
        await settle(pilot)
        assert isinstance(app.screen, RegenerateScreen)
        assert app.focused is not None and app.focused.id == "cancel"
        await pilot.press("tab", "enter")
        await settle(pilot)
        assert isinstance(app.screen, CredentialsOnceScreen)
        password = rendered(app.screen.query_one(".credentials--password", Label))
        await pilot.press("enter")  # Next
        await settle(pilot)
        assert isinstance(app.screen, UserDetailScreen)
        assert not any(isinstance(s, (RegenerateScreen, CredentialsOnceScreen)) for s in app.screen_stack)
    with world.store.read() as session:
        row = session.get(DeskPhoneCredential, added.user.id)
        assert row is not None
        assert row.ha1_md5 != old_digest
        assert row.ha1_md5 == secrets.ha1(row.sip_username, row.realm, password, "md5")


async def test_r9_enter_on_the_regenerate_confirmation_changes_nothing(world: World) -> None:
    added = add_active(world)
    app = Host(lambda: RegenerateScreen(world.admin, added.user.username))
    with world.store.read() as session:
        before = session.get(DeskPhoneCredential, added.user.id).ha1_md5  # type: ignore[union-attr]
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert app.results == [None]
    with world.store.read() as session:
        assert session.get(DeskPhoneCredential, added.user.id).ha1_md5 == before  # type: ignore[union-attr]


def lock_account(world: World, user_id: int) -> None:
    with world.store.transaction() as session:
        user = session.get(User, user_id)
        assert user is not None
        user.portal_locked, user.failed_logins = True, 5


async def test_r12_reset_needs_the_self_service_confirmation(world: World) -> None:
    added = add_active(world)
    lock_account(world, added.user.id)
    app = detail(world.admin, added.user.username)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_with(pilot, "k", AccountResetScreen)
        reset_button = screen.query_one("#reset", Button)
        assert reset_button.disabled
        assert "R12" in rendered(screen.query_one("#reset-r12"))
        # Without the tick there is nothing to press: focus skips the disabled Reset.
        await pilot.press("tab")
        assert app.focused is not None and app.focused.id == "cancel"
        await pilot.press("tab")
        assert isinstance(app.focused, Checkbox)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, UserDetailScreen)
    assert users.view(world.admin, added.user.username).portal_locked


async def test_r12_reset_unlocks_and_shows_the_activation_code_once(world: World) -> None:
    added = add_active(world)
    lock_account(world, added.user.id)
    async with detail_opened(world.admin, added.user.username) as (app, pilot):
        await pilot.press("k")
        await settle(pilot)
        assert isinstance(app.focused, Checkbox)
        await pilot.press("space")
        assert not app.screen.query_one("#reset", Button).disabled
        await pilot.press("tab", "tab", "enter")
        await settle(pilot)
        code_screen = app.screen
        assert isinstance(code_screen, ActivationCodeScreen)
        code = rendered(code_screen.query_one("#activation-code"))
        await pilot.press("enter")  # Next
        await settle(pilot)
        assert code_screen.code is None
        assert isinstance(app.screen, UserDetailScreen)
        assert "not locked" in "\n".join(rendered(w) for w in app.screen.query("#account-facts Label"))
    with world.store.read() as session:
        user = session.get(User, added.user.id)
        assert user is not None and not user.portal_locked and user.failed_logins == 0
        assert user.last_account_reset_at is not None
        assert secrets.code_matches(code, user.activation_code_digest or "")


async def test_r4_failed_user_group_panel_explains_the_refusal(world: World) -> None:
    added = add(world, number="030 12345039", accept_flagged=True)
    carrier.set_status(world.carrier, added.user.username, "failed", "porting not finished")
    async with opened(lambda: GroupAssignmentsScreen(world.admin, added.user.username)) as (app, pilot):
        reasons = app.screen.query_one(GroupPanel).reasons()
        assert reasons == {
            "BER Hunt": "R4: the user is failed: only activated users can join a hunt group",
            "BER Callcenter": "R4: the user is failed: only activated users can join a call center",
        }
