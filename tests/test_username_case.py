"""R19: usernames are unique whatever their case, checked by the services,
held by the database (a unique index on ``lower(username)``), and looked up
in any case; the migration that adds the index renames existing clashes."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import Session

from onenet_tui.data import users
from onenet_tui.data.errors import Conflict, FieldError, InvalidInput
from onenet_tui.data.models import Site, User
from onenet_tui.data.schemas import ConfigChange
from onenet_tui.data.storage import HEAD_REVISION, Store, current_revision, upgrade_schema
from onenet_tui.data.unit import change
from onenet_tui.i18n import t
from tests.helpers import (
    World,
    add,
    add_active,
    call,
    clear_focused,
    cli_env,
    copy_database,
    focused_id,
    message,
    type_text,
    wizard_at_details,
)


def _refusal(call_it) -> FieldError | None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInput) as refused:
        call_it()
    return refused.value.for_field("username")


def test_r19_a_username_differing_only_in_case_is_refused(world: World) -> None:
    add(world, number="030 12345001", username="bjoern.boehm")
    problem = _refusal(lambda: add(world, number="030 12345002", username="BJOERN.BOEHM"))
    assert problem == FieldError(
        "username", "r19.taken_other_case", {"username": "BJOERN.BOEHM", "holder": "bjoern.boehm"}
    )
    assert "bjoern.boehm" in problem.message() and "R19" in problem.message()
    # The live check of the wizard says the same.
    assert users.username_problem(world.admin, "Bjoern.Boehm") == FieldError(
        "username", "r19.taken_other_case", {"username": "Bjoern.Boehm", "holder": "bjoern.boehm"}
    )


def test_r19_the_database_refuses_a_case_twin_past_the_checks(world: World) -> None:
    first = add(world, number="030 12345001", username="bjoern.boehm").user
    with pytest.raises(Conflict) as refused, change(world.admin) as session:
        assert isinstance(session, Session)
        twin = session.get(User, first.id)
        assert twin is not None
        session.add(
            User(
                first_name="B",
                last_name="B",
                username="BJOERN.Boehm",
                site_id=twin.site_id,
                number_id=twin.number_id + 1,
                extension="7777",
                licence="standard",
                email="b@example.com",
            )
        )
        session.flush()
    assert refused.value.key == "conflict.username"


def test_r19_users_are_found_by_username_in_any_case(world: World) -> None:
    added = add(world, number="030 12345001", username="bjoern.boehm").user
    assert users.view(world.admin, "BJOERN.BOEHM").id == added.id
    assert users.view(world.admin, " Bjoern.Boehm ").id == added.id


def test_r19_the_proposal_skips_a_name_taken_in_another_case(world: World) -> None:
    add(world, number="030 12345001", username="Juergen.Mueller")
    assert users.proposed_username(world.admin, "Jürgen", "Müller") == "juergen.mueller2"
    assert add(world, number="030 12345002").user.username == "juergen.mueller2"


def test_r19_a_user_may_change_the_case_of_their_own_username(world: World) -> None:
    add_active(world, number="030 12345001", username="bjoern.boehm")
    add_active(world, number="030 12345002", first_name="Eva", username="eva.x")
    own, other = users.view(world.admin, "bjoern.boehm"), users.view(world.admin, "eva.x")
    renamed, _ = users.change_configuration(
        world.admin, own.username, ConfigChange(username="Bjoern.Boehm", expected_version=own.version)
    )
    assert renamed.username == "Bjoern.Boehm"
    refused = _refusal(
        lambda: users.change_configuration(
            world.admin, other.username, ConfigChange(username="BJOERN.BOEHM", expected_version=other.version)
        )
    )
    assert refused is not None and refused.key == "r19.taken_other_case"


def _old_user(conn, user_id: int, username: str) -> None:  # type: ignore[no-untyped-def]
    conn.execute(
        text(
            "INSERT INTO users (id, first_name, last_name, username, site_id, number_id, extension, device_type,"
            " licence, services, email, do_not_disturb, call_waiting, status, created_at, status_changed_at,"
            " portal_locked, failed_logins, version)"
            f" VALUES ({user_id}, 'B', 'B', :name, 1, {user_id}, '50{user_id:02d}', 'none', 'standard',"
            " '[]', 'b@example.com', false, true, 'activated', '2026-01-01', '2026-01-01', false, 0, 1)"
        ),
        {"name": username},
    )


def test_r19_the_migration_renames_case_clashes_but_the_oldest_and_audits_them(db_url: str) -> None:
    old = Store(db_url, upgrade=False)
    upgrade_schema(old.engine, "0002_listing_indexes")
    with old.engine.begin() as conn:
        conn.execute(text("INSERT INTO sites (id, name, country, sip_domain) VALUES (1, 'Berlin', 'DE', 'b.example')"))
        for n in range(1, 6):
            row = f"({n}, '+49301234500{n}', 1, false)"
            conn.execute(text(f"INSERT INTO phone_numbers (id, e164, site_id, flagged) VALUES {row}"))
        _old_user(conn, 1, "bjoern.boehm")
        _old_user(conn, 2, "BJOERN.BOEHM")
        _old_user(conn, 3, "bjoern.boehm2")  # the first free name is then 3
        _old_user(conn, 4, "Bjoern.Boehm")
        _old_user(conn, 5, "anna")
    old.dispose()
    store = Store(db_url)
    try:
        assert current_revision(store.engine) == HEAD_REVISION
        with store.read() as session:
            names = dict(session.execute(text("SELECT id, username FROM users ORDER BY id")).all())
            events = session.execute(text("SELECT operator, action, target FROM audit_events ORDER BY id")).all()
            assert session.get(Site, 1) is not None
        assert names == {
            1: "bjoern.boehm",
            2: "BJOERN.BOEHM3",
            3: "bjoern.boehm2",
            4: "Bjoern.Boehm4",
            5: "anna",
        }
        assert [tuple(e) for e in events] == [
            ("migration", "user.rename_case_clash", "BJOERN.BOEHM3"),
            ("migration", "user.rename_case_clash", "Bjoern.Boehm4"),
        ]
    finally:
        store.dispose()


def test_r19_users_add_on_the_command_line_refuses_a_case_twin(template: Path, tmp_path: Path) -> None:
    env = cli_env(tmp_path, copy_database(template, tmp_path / "onenet.db"))
    listed = call("users", "list", "--format", "json", env=env).json()
    taken = listed[0]["username"]
    twin = call(
        "users", "add", "--site", listed[0]["site"], "--first", "Bea", "--last", "Boehm",
        "--email", "bea@example.com", "--number", "+493012341999", "--no-desk-phone",
        "--username", taken.upper(), env=env,
    )  # fmt: skip
    assert twin.code == 4
    assert "username" in twin.err and taken in twin.err and "R19" in twin.err
    shown = call("users", "show", taken.upper(), "--format", "json", env=env)
    assert shown.code == 0 and shown.json()["username"] == taken


@pytest.mark.sqlite_only
async def test_r19_the_wizard_says_a_case_twin_is_taken(world: World) -> None:
    add(world, number="030 12345001", username="bjoern.boehm")
    async with wizard_at_details(world.admin) as (app, pilot):
        await type_text(pilot, "Bea")
        await pilot.press("tab")
        await type_text(pilot, "Boehm")
        await pilot.press("tab")
        assert focused_id(app) == "username"
        await clear_focused(pilot)
        await type_text(pilot, "BJOERN.BOEHM")
        assert message(app, "username") == "✗ " + t(
            "r19.taken_other_case", username="BJOERN.BOEHM", holder="bjoern.boehm"
        )
