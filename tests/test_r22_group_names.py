"""R22: a group's name is unique per site and kind, not in the whole tenant.

The services, the command line, the CSV import and the migration that lifts
the baseline's tenant-wide constraint, on SQLite and PostgreSQL; the groups
screen with two same-named groups on SQLite. The tenant is tests/helpers.py's
(Berlin and London, each with one group of every kind).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel

from onenet_tui.data import groups, memberships, user_csv, users
from onenet_tui.data.errors import InvalidInput, NotFound
from onenet_tui.data.models import Group, GroupMember, Site
from onenet_tui.data.storage import HEAD_REVISION, Store, current_revision, upgrade_schema
from onenet_tui.data.unit import conflict_from
from onenet_tui.screens.groups import GroupScreen, GroupsScreen
from tests.helpers import Result, World, add, call, cli_env, make_app, ready, settle, until, users_add

SIZE = (80, 24)


def two_receptions(world: World) -> None:
    """A pickup group called Empfang at each site."""
    groups.add_group(world.admin, "Berlin", "pickup", "Empfang")
    groups.add_group(world.admin, "London", "pickup", "Empfang")


def field_keys(error: InvalidInput) -> dict[str, str]:
    return {e.field: e.key for e in error.errors}


# --- the services ----------------------------------------------------------------


def test_r22_the_same_name_at_two_sites_is_two_groups(world: World) -> None:
    two_receptions(world)
    found = [(g.site, g.kind) for g in groups.group_summaries(world.admin) if g.name == "Empfang"]
    assert found == [("Berlin", "pickup"), ("London", "pickup")]


def test_r22_the_same_name_of_another_kind_at_one_site_is_allowed(world: World) -> None:
    groups.add_group(world.admin, "Berlin", "pickup", "Empfang")
    groups.add_group(world.admin, "Berlin", "hunt_group", "Empfang")
    renamed = groups.rename_group(world.admin, "BER Park", "Empfang")  # a call park group
    assert (renamed.kind, renamed.site) == ("call_park", "Berlin")
    kinds = [g.kind for g in groups.group_summaries(world.admin, site="Berlin") if g.name == "Empfang"]
    assert kinds == ["call_park", "hunt_group", "pickup"]


def test_r22_the_same_name_site_and_kind_is_refused_naming_site_and_kind(world: World) -> None:
    groups.add_group(world.admin, "Berlin", "pickup", "Empfang")
    with pytest.raises(InvalidInput) as caught:
        groups.add_group(world.admin, "Berlin", "pickup", "Empfang")
    assert field_keys(caught.value) == {"name": "r22.name_taken"}
    assert "Empfang at site Berlin of kind pickup (R22)" in caught.value.message()
    with pytest.raises(InvalidInput) as caught:
        groups.rename_group(world.admin, "BER Pickup", "Empfang")
    assert field_keys(caught.value) == {"new_name": "r22.name_taken"}
    assert [g.name for g in groups.group_summaries(world.admin, site="Berlin") if g.kind == "pickup"] == [
        "BER Pickup",
        "Empfang",
    ]


def test_r22_a_group_read_again_by_its_id_follows_a_rename_and_is_gone_once_deleted(world: World) -> None:
    shown = groups.group_detail(world.admin, "BER Hunt")
    groups.rename_group(world.admin, "BER Hunt", "Zentrale", site="Berlin", kind="hunt_group")
    again = groups.group_detail_by_id(world.admin, shown.id, shown.name)
    assert (again.id, again.name, again.site, again.kind) == (shown.id, "Zentrale", "Berlin", "hunt_group")
    groups.delete_group(world.admin, "Zentrale", site="Berlin", kind="hunt_group")
    with pytest.raises(NotFound) as gone:
        groups.group_detail_by_id(world.admin, shown.id, "Zentrale")
    assert "Zentrale" in gone.value.message()


def test_r22_an_ambiguous_name_is_refused_listing_the_candidates(world: World) -> None:
    two_receptions(world)
    with pytest.raises(InvalidInput) as caught:
        groups.group_detail(world.admin, "Empfang")
    assert field_keys(caught.value) == {"group": "r22.ambiguous"}
    assert "several groups are called Empfang: Berlin (pickup), London (pickup)" in caught.value.message()
    assert caught.value.exit_code == 4
    assert groups.group_detail(world.admin, "Empfang", site="London").site == "London"
    groups.add_group(world.admin, "London", "hunt_group", "Empfang")
    with pytest.raises(InvalidInput):
        groups.group_detail(world.admin, "Empfang", site="London")
    assert groups.group_detail(world.admin, "Empfang", site="London", kind="hunt_group").kind == "hunt_group"
    with pytest.raises(NotFound):
        groups.group_detail(world.admin, "Empfang", site="Berlin", kind="call_center")


def test_r22_a_change_by_an_ambiguous_name_changes_nothing(world: World) -> None:
    two_receptions(world)
    with pytest.raises(InvalidInput):
        groups.delete_group(world.admin, "Empfang")
    with pytest.raises(InvalidInput):
        groups.rename_group(world.admin, "Empfang", "Foyer")
    assert [g.site for g in groups.group_summaries(world.admin) if g.name == "Empfang"] == ["Berlin", "London"]
    assert groups.delete_group(world.admin, "Empfang", site="Berlin").site == "Berlin"
    assert [g.site for g in groups.group_summaries(world.admin) if g.name == "Empfang"] == ["London"]
    assert groups.group_detail(world.admin, "Empfang").site == "London"  # unique again


def test_r22_a_users_groups_are_named_in_the_users_site(world: World) -> None:
    two_receptions(world)
    added = add(
        world,
        site="London",
        number="020 7946 0001",
        first_name="Oliver",
        last_name="Smith",
        email="o@example.com",
        groups=({"group": "Empfang", "role": None},),
    )
    username = added.user.username
    london = groups.group_detail(world.admin, "Empfang", site="London")
    assert [m.username for m in london.members] == [username]
    assert groups.group_detail(world.admin, "Empfang", site="Berlin").members == []
    memberships.set_user_groups(world.admin, username, {"Empfang": None, "LON Park": None})
    assert sorted(g.name for g in users.view(world.admin, username).groups) == ["Empfang", "LON Park"]
    with pytest.raises(InvalidInput) as caught:
        memberships.set_user_groups(world.admin, username, {"BER Park": None})
    assert field_keys(caught.value) == {"groups": "group.other_site"}


def test_r22_two_kinds_of_one_name_at_the_users_site_are_ambiguous(world: World) -> None:
    groups.add_group(world.admin, "Berlin", "pickup", "Empfang")
    groups.add_group(world.admin, "Berlin", "call_park", "Empfang")
    with pytest.raises(InvalidInput) as caught:
        add(world, groups=({"group": "Empfang", "role": None},))
    assert field_keys(caught.value) == {"groups": "r22.ambiguous_kind"}
    assert "Empfang, of kinds call_park, pickup" in caught.value.message()


@pytest.mark.parametrize(("site", "kind", "clash"), [("Berlin", "pickup", True), ("London", "pickup", False)])
def test_r22_the_database_holds_the_name_per_site_and_kind(world: World, site: str, kind: str, clash: bool) -> None:
    """Two administrators past the checks at once: the unique constraint
    refuses the second only for the same site and kind."""
    with world.store.transaction() as session:
        session.add(Group(name="Empfang", site_id=_site_id(session, "Berlin"), kind="pickup"))
    if not clash:
        with world.store.transaction() as session:
            session.add(Group(name="Empfang", site_id=_site_id(session, site), kind=kind))
        return
    with pytest.raises(IntegrityError) as caught, world.store.transaction() as session:
        session.add(Group(name="Empfang", site_id=_site_id(session, site), kind=kind))
        session.flush()
    assert conflict_from(caught.value).key == "conflict.group_name"


def _site_id(session: Any, name: str) -> int:
    site_id: int = session.execute(select(Site.id).where(Site.name == name)).scalar_one()
    return site_id


# --- the migration ---------------------------------------------------------------


def test_r22_the_migration_keeps_groups_and_their_members(db_url: str) -> None:
    old = Store(db_url, upgrade=False)
    upgrade_schema(old.engine, "0004_tenant_setup")
    with old.engine.begin() as conn:
        conn.execute(text("INSERT INTO sites (id, name, country, sip_domain) VALUES (1, 'Berlin', 'DE', 'b.example')"))
        conn.execute(text("INSERT INTO sites (id, name, country, sip_domain) VALUES (2, 'London', 'GB', 'l.example')"))
        conn.execute(
            text("INSERT INTO phone_numbers (id, e164, site_id, flagged) VALUES (1, '+493012345001', 1, false)")
        )
        conn.execute(
            text(
                "INSERT INTO users (id, first_name, last_name, username, site_id, number_id, extension, device_type,"
                " licence, services, email, do_not_disturb, call_waiting, status, created_at, status_changed_at,"
                " portal_locked, failed_logins, version)"
                " VALUES (1, 'Jürgen', 'Müller', 'juergen.mueller', 1, 1, '5001', 'none', 'standard',"
                " '[]', 'j@example.com', false, true, 'activated', '2026-01-01', '2026-01-01', false, 0, 1)"
            )
        )
        conn.execute(
            text("INSERT INTO groups (id, name, site_id, kind, version) VALUES (7, 'Empfang', 1, 'pickup', 3)")
        )
        conn.execute(text("INSERT INTO group_members (group_id, user_id, role) VALUES (7, 1, NULL)"))
    old.dispose()
    store = Store(db_url)
    try:
        assert current_revision(store.engine) == HEAD_REVISION
        with store.read() as session:
            (group,) = session.execute(select(Group)).scalars()
            assert (group.id, group.name, group.site_id, group.kind, group.version) == (7, "Empfang", 1, "pickup", 3)
            assert [(m.group_id, m.user_id) for m in session.execute(select(GroupMember)).scalars()] == [(7, 1)]
        with store.engine.connect() as conn:  # the rebuilt table is the model's, index and all
            context = MigrationContext.configure(conn, opts={"compare_type": False})
            assert [d for d in compare_metadata(context, SQLModel.metadata) if "groups" in str(d)] == []
        with store.transaction() as session:  # the tenant-wide constraint is gone
            session.add(Group(name="Empfang", site_id=2, kind="pickup"))
        with pytest.raises(IntegrityError), store.transaction() as session:  # the new one holds
            session.add(Group(name="Empfang", site_id=1, kind="pickup"))
    finally:
        store.dispose()


# --- the command line ------------------------------------------------------------


@pytest.fixture
def env(world: World, db_url: str, tmp_path: Path) -> dict[str, str]:
    two_receptions(world)
    return cli_env(tmp_path, db_url)


def ok(done: Result) -> Result:
    assert done.code == 0, done.err
    return done


def refused(done: Result, code: int) -> str:
    assert done.code == code, (done.out, done.err)
    return done.err


def test_r22_cli_an_ambiguous_group_is_refused_naming_the_candidates(env: dict[str, str], world: World) -> None:
    candidates = "several groups are called Empfang: Berlin (pickup), London (pickup)"
    for command in (
        ("groups", "show", "Empfang"),
        ("groups", "rename", "Empfang", "Foyer"),
        ("groups", "delete", "Empfang", "--yes"),
        ("groups", "set-members", "Empfang"),
        ("groups", "add-member", "Empfang", "nobody"),
        ("groups", "remove-member", "Empfang", "nobody"),
    ):
        err = refused(call(*command, env=env), 4)
        assert candidates in err and "--site" in err, command
    assert [g.site for g in groups.group_summaries(world.admin) if g.name == "Empfang"] == ["Berlin", "London"]


def test_r22_cli_site_and_kind_say_which_group(env: dict[str, str], world: World) -> None:
    shown = ok(call("groups", "show", "Empfang", "--site", "London", "--format", "json", env=env)).json()
    assert (shown["site"], shown["kind"]) == ("London", "pickup")
    ok(call("groups", "add", "--site", "London", "--kind", "hunt_group", "Empfang", env=env))
    assert refused(call("groups", "show", "Empfang", "--site", "London", env=env), 4)
    hunt = ok(
        call("groups", "show", "Empfang", "--site", "London", "--kind", "hunt_group", "--format", "json", env=env)
    )
    assert hunt.json()["kind"] == "hunt_group"
    ok(call("groups", "rename", "Empfang", "Foyer", "--site", "London", "--kind", "pickup", env=env))
    err = refused(call("groups", "add", "--site", "Berlin", "--kind", "pickup", "Empfang", env=env), 4)
    assert "there is already a group called Empfang at site Berlin of kind pickup (R22)" in err
    username = add(world).user.username  # a Berlin user, pending: pickup groups take anyone (R4)
    ok(call("groups", "add-member", "Empfang", username, "--site", "Berlin", env=env))
    assert [m.username for m in groups.group_detail(world.admin, "Empfang", site="Berlin").members] == [username]
    ok(call("groups", "remove-member", "Empfang", username, "--kind", "pickup", env=env))  # Berlin's: London's is Foyer
    ok(call("groups", "set-members", "Empfang", username, "--site", "Berlin", env=env))
    deleted = ok(call("groups", "delete", "Empfang", "--site", "Berlin", "--yes", env=env))
    assert "Group Empfang at site Berlin deleted." in deleted.out
    assert [(g.name, g.site) for g in groups.group_summaries(world.admin) if g.name in ("Empfang", "Foyer")] == [
        ("Empfang", "London"),
        ("Foyer", "London"),
    ]


def test_r22_cli_users_add_group_resolves_in_the_users_site(env: dict[str, str], world: World) -> None:
    line = users_add(
        "020 7946 0001", "--group", "Empfang", "--format", "json", site="London", first="Oliver", last="Smith",
        email="o@example.com",
    )  # fmt: skip
    username = ok(call(*line, env=env)).json()["username"]
    assert [m.username for m in groups.group_detail(world.admin, "Empfang", site="London").members] == [username]
    assert groups.group_detail(world.admin, "Empfang", site="Berlin").members == []


def csv_row(**cells: str) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow([cells.get(c, "") for c in user_csv.COLUMNS])
    return buffer.getvalue()


def test_r22_the_import_groups_column_resolves_in_the_rows_site(
    env: dict[str, str], world: World, tmp_path: Path
) -> None:
    person = {"first_name": "Neu", "device_type": "none", "mobile": "07400 123456", "contract": "7654321"}
    rows = [
        csv_row(username="neu.london", last_name="London", email="l@example.com", site="London",
                number="020 7946 0005", groups="Empfang", **person),
        csv_row(username="neu.berlin", last_name="Berlin", email="b@example.com", site="Berlin",
                number="030 12345005", groups="Empfang", mobile="0151 23456789",
                **{k: v for k, v in person.items() if k != "mobile"}),
    ]  # fmt: skip
    path = tmp_path / "in.csv"
    path.write_text(",".join(user_csv.COLUMNS) + "\n" + "".join(rows), encoding="utf-8")
    done = call("users", "import", str(path), "--format", "json", env=env)
    assert done.code == 0, done.json()["failures"] if done.out else done.err
    assert [m.username for m in groups.group_detail(world.admin, "Empfang", site="London").members] == ["neu.london"]
    assert [m.username for m in groups.group_detail(world.admin, "Empfang", site="Berlin").members] == ["neu.berlin"]


# --- the console -----------------------------------------------------------------


@pytest.mark.sqlite_only
async def test_r22_two_same_named_groups_show_and_open_each_its_own(world: World) -> None:
    two_receptions(world)
    oliver = add(world, site="London", number="020 7946 0001", first_name="Oliver", last_name="Smith",
                 email="o@example.com", groups=({"group": "Empfang", "role": None},)).user.username  # fmt: skip
    async with make_app(world).run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("G")
        await until(pilot, lambda: isinstance(pilot.app.screen, GroupsScreen) and bool(pilot.app.screen.shown))
        screen = pilot.app.screen
        assert isinstance(screen, GroupsScreen)
        await pilot.press("slash", *"Empfang", "enter")
        await settle(pilot)
        assert [(g.name, g.site, g.kind) for g in screen.shown] == [
            ("Empfang", "Berlin", "pickup"),
            ("Empfang", "London", "pickup"),
        ]
        await pilot.press("down")
        assert screen.cursor_group is not None and screen.cursor_group.site == "London"
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(pilot.app.screen, GroupScreen) and pilot.app.screen.detail is not None)
        group = pilot.app.screen
        assert isinstance(group, GroupScreen) and group.detail is not None
        assert (group.detail.site, [m.username for m in group.detail.members]) == ("London", [oliver])
        await pilot.press("escape")
        await until(pilot, lambda: pilot.app.screen is screen)
        await pilot.press("up", "enter")
        await until(
            pilot,
            lambda: (
                isinstance(pilot.app.screen, GroupScreen)
                and pilot.app.screen.detail is not None
                and pilot.app.screen.detail.site == "Berlin"
            ),
        )
        berlin = pilot.app.screen
        assert isinstance(berlin, GroupScreen) and berlin.detail is not None and berlin.detail.members == []
