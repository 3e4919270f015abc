"""R26 history: every change's audit event names the fields changed with old
and new values (never a secret), a user's history finds every event about
them, and the audit log filters by user, operator, action and time, on
SQLite and PostgreSQL; the command line's ``audit`` flags."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text, update

from onenet_tui.data import (
    accounts,
    audit_log,
    carrier,
    credentials,
    groups,
    memberships,
    numbers,
    operators,
    sites,
    users,
)
from onenet_tui.data.audit_log import AuditFilter
from onenet_tui.data.context import Actor, Context
from onenet_tui.data.errors import InvalidInput
from onenet_tui.data.models import AuditEvent, Role
from onenet_tui.data.schemas import CallServicesChange, ConfigChange, NewOperator, ProfileChange
from onenet_tui.data.storage import HEAD_REVISION, Store, current_revision, upgrade_schema
from tests.helpers import World, add, add_active, add_person, call, cli_env


def all_events(store: Store) -> list[AuditEvent]:
    with store.read() as session:
        return list(session.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars())


def last(store: Store, action: str) -> AuditEvent:
    return [e for e in all_events(store) if e.action == action][-1]


def changed(store: Store, action: str) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = last(store, action).details["changed"]
    return found


def version(world: World, username: str) -> int:
    return users.view(world.admin, username).version


def history(world: World, user: str, **terms: Any) -> list[str]:
    with world.store.read() as session:
        return [e.action for e in audit_log.page(session, AuditFilter(user=user, **terms))]


# --- old and new values, for every kind of change ----------------------------------


def test_r26_user_changes_name_each_field_with_old_and_new(world: World) -> None:
    added = add_active(world, first_name="Anna", last_name="Schmidt", email="a@example.com")
    name = added.user.username
    created = changed(world.store, "user.add")
    assert created["first_name"] == [None, "Anna"] and created["site"] == [None, "Berlin"]
    assert created["number"] == [None, "+493012345001"] and created["status"] == [None, "pending"]
    assert last(world.store, "user.add").details["replaced"] == ["desk_phone_credentials"]
    assert changed(world.store, "carrier.activated")["status"] == ["pending", "activated"]

    users.change_configuration(
        world.admin, name, ConfigChange(expected_version=version(world, name), last_name="Schulz", licence="premium")
    )
    assert changed(world.store, "user.change_configuration") == {
        "last_name": ["Schmidt", "Schulz"],
        "licence": ["standard", "premium"],
    }
    users.edit_profile(world.admin, name, ProfileChange(expected_version=version(world, name), department="Einkauf"))
    assert changed(world.store, "user.edit_profile") == {"department": [None, "Einkauf"]}
    users.edit_call_services(
        world.admin, name, CallServicesChange(expected_version=version(world, name), do_not_disturb=True)
    )
    assert changed(world.store, "user.edit_call_services") == {"do_not_disturb": [False, True]}

    memberships.set_user_groups(world.admin, name, {"BER Pickup": None}, expected_version=version(world, name))
    assert changed(world.store, "user.set_groups") == {"groups": [[], ["BER Pickup"]]}
    assert last(world.store, "user.set_groups").details["joined"] == [{"group": "BER Pickup", "role": None}]
    memberships.set_user_groups(world.admin, name, {}, expected_version=version(world, name))
    assert changed(world.store, "user.set_groups") == {"groups": [["BER Pickup"], []]}
    groups.add_member(world.admin, "BER Callcenter", name, "supervisor")
    assert changed(world.store, "group.add_member") == {"member": [None, "supervisor"]}
    groups.remove_member(world.admin, "BER Callcenter", name)
    assert changed(world.store, "group.remove_member") == {"member": ["supervisor", None]}

    issued = credentials.regenerate(world.admin, name)
    assert changed(world.store, "credentials.regenerate") == {}  # the same number: the same SIP username
    assert last(world.store, "credentials.regenerate").details["replaced"] == ["desk_phone_credentials"]
    assert issued.password not in json.dumps(last(world.store, "credentials.regenerate").details)

    accounts.reset_account(world.admin, name, self_service_tried=True)
    reset = last(world.store, "account.reset")
    assert reset.details["replaced"] == ["portal_activation"] and reset.user_id == added.user.id

    users.delete_user(world.admin, name)
    gone = changed(world.store, "user.delete")
    assert gone["last_name"] == ["Schulz", None] and gone["number"] == ["+493012345001", None]
    # Every one of them is the user's, by column: their history, the deleted user's too.
    assert history(world, name)[:3] == ["user.delete", "account.reset", "credentials.regenerate"]
    assert history(world, name)[-1] == "user.add"
    assert {e.site_id for e in all_events(world.store) if e.user_id == added.user.id} == {1}


def test_r26_carrier_failure_names_status_and_reason(world: World) -> None:
    added = add(world)
    carrier.set_status(world.admin, added.user.username, "failed", "porting not finished")
    assert changed(world.store, "carrier.failed") == {
        "status": ["pending", "failed"],
        "status_reason": [None, "porting not finished"],
    }


def test_r26_many_users_at_once_stay_one_event_in_each_history(world: World) -> None:
    one = add_active(world).user
    two = add_active(world, first_name="Eva", number="030 12345002").user
    memberships.set_group_members(world.admin, "BER Pickup", [(one.username, None), (two.username, None)])
    saved = last(world.store, "group.set_members")
    assert saved.details["changed"] == {"members": [[], sorted([one.username, two.username])]}
    credentials.bulk_reset(world.admin, [one.id, two.id])
    groups.delete_group(world.admin, "BER Pickup")
    assert changed(world.store, "group.delete")["members"][1] is None
    for user in (one, two):
        assert history(world, user.username)[:3] == ["group.delete", "credentials.bulk_reset", "group.set_members"]
    assert history(world, str(one.id)) == history(world, one.username)


def test_r26_tenant_changes_name_old_and_new(world: World) -> None:
    sites.add_site(world.admin, "Paris", "GB", "paris.sip.example.net")
    assert changed(world.store, "site.add") == {
        "name": [None, "Paris"],
        "country": [None, "GB"],
        "sip_domain": [None, "paris.sip.example.net"],
    }
    sites.rename_site(world.admin, "Paris", "Lyon")
    assert changed(world.store, "site.rename") == {"name": ["Paris", "Lyon"]}
    sites.delete_site(world.admin, "Lyon")
    assert changed(world.store, "site.delete")["name"] == ["Lyon", None]
    numbers.add_numbers(world.admin, "Berlin", ["+49301234599"])
    assert changed(world.store, "numbers.add") == {"numbers": [None, ["+49301234599"]]}
    numbers.flag_number(world.admin, "+49301234599", "porting")
    assert changed(world.store, "number.flag") == {"flagged": [False, True], "flag_reason": [None, "porting"]}
    numbers.unflag_number(world.admin, "+49301234599")
    assert changed(world.store, "number.unflag") == {"flagged": [True, False], "flag_reason": ["porting", None]}
    numbers.remove_numbers(world.admin, ["+49301234599"])
    assert changed(world.store, "numbers.remove") == {"numbers": [["+49301234599"], None]}
    groups.add_group(world.admin, "Berlin", "hunt_group", "Empfang")
    assert changed(world.store, "group.add")["name"] == [None, "Empfang"]
    groups.rename_group(world.admin, "Empfang", "Zentrale")
    assert changed(world.store, "group.rename") == {"name": ["Empfang", "Zentrale"]}
    operators.add_operator(world.admin, NewOperator(name="bob", role="helpdesk"))
    assert changed(world.store, "operator.add") == {"role": [None, "helpdesk"]}
    # Each names its site (R25's scope); a site event its own.
    assert last(world.store, "group.rename").site_id == 1 and last(world.store, "numbers.add").site_id == 1


def test_r26_an_import_names_new_values_per_user_and_old_and_new_per_change(
    world: World, db_url: str, tmp_path: Path
) -> None:
    add_person(world, "Oliver", "Smith", "London", "020 7946 0001", None, "activated")
    env = cli_env(tmp_path, db_url)
    exported = call("users", "export", env=env)
    assert exported.code == 0, exported.err
    (oliver,) = list(csv.DictReader(io.StringIO(exported.out)))
    olga = {**oliver, "username": "olga.smith", "first_name": "Olga", "number": "+442079460002", "extension": "0002"}
    with (tmp_path / "in.csv").open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(oliver))
        writer.writeheader()
        writer.writerows([{**oliver, "first_name": "Olly"}, olga])
    done = call("users", "import", str(tmp_path / "in.csv"), env=env)
    assert done.code == 0, done.err + done.out
    assert changed(world.store, "user.change_configuration") == {"first_name": ["Oliver", "Olly"]}
    assert changed(world.store, "user.add")["first_name"] == [None, "Olga"]
    assert last(world.store, "user.add").site_id == 2


def test_r26_no_secret_ever_in_details(world: World) -> None:
    added = add_active(world)
    name = added.user.username
    seen = [added.credentials.password] if added.credentials else []
    seen.append(credentials.regenerate(world.admin, name).password)
    seen += [c.password for c in credentials.bulk_reset(world.admin, [added.user.id]).issued]
    seen.append(accounts.reset_account(world.admin, name, self_service_tried=True).activation_code)
    users.change_configuration(
        world.admin, name, ConfigChange(expected_version=version(world, name), number="030 12345005")
    )
    with world.store.read() as session:
        digests = [
            str(v) for v in session.execute(text("SELECT ha1_md5, ha1_sha256 FROM desk_phone_credentials")).one()
        ]
        digests.append(str(session.execute(text("SELECT activation_code_digest FROM users")).scalar_one()))
    stored = json.dumps([e.details for e in all_events(world.store)], ensure_ascii=False)
    assert all(secret and secret not in stored for secret in seen + digests)
    assert not any(word in stored.lower() for word in ('"password', '"ha1', "digest", '"activation_code'))


def test_r26_the_audit_refuses_a_changed_field_that_looks_like_a_secret(world: World) -> None:
    from onenet_tui.data import audit

    with pytest.raises(ValueError), world.store.transaction() as session:
        audit.record(session, world.admin.actor, "user.x", "t", changed={"sip_password": ["a", "b"]})


# --- the filter -------------------------------------------------------------------


def test_r26_typed_filter_reads_terms_quotes_and_free_words() -> None:
    wanted = audit_log.parse(
        'user:anna operator:"bob the admin" action:credentials since:2026-11-01 until:2026-11-30 Müller'
    )
    assert (wanted.user, wanted.operator, wanted.action) == ("anna", "bob the admin", "credentials")
    assert wanted.since == datetime(2026, 11, 1, tzinfo=UTC)
    assert wanted.until == datetime(2026, 12, 1, tzinfo=UTC)  # the whole last day
    assert wanted.words == ("müller",)
    assert audit_log.parse("site:x").words == ("site:x",)  # not a term: free text
    assert audit_log.parse("").empty


@pytest.mark.parametrize("typed", ["since:yesterday", "until:2026-13-01", "since:2026-11-30 until:2026-11-01"])
def test_r26_a_bad_time_names_its_field(typed: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        audit_log.parse(typed)
    assert refused.value.errors[0].field in ("since", "until")
    assert ("Since" in str(refused.value)) or ("Until" in str(refused.value))


def test_r26_filters_by_user_operator_action_and_time(world: World) -> None:
    one = add(world).user
    two = add(world, first_name="Eva", number="030 12345002").user
    bob = Context(world.store, Actor("bob", Role.ADMIN))
    carrier.set_status(world.carrier, one.username, "activated")
    credentials.regenerate(bob, one.username)
    with world.store.transaction() as session:
        session.execute(
            update(AuditEvent).where(AuditEvent.target == two.username).values(at=datetime(2026, 1, 5, 12, tzinfo=UTC))
        )

    def actions(wanted: AuditFilter) -> list[str]:
        with world.store.read() as session:
            return [f"{e.action}:{e.target}" for e in audit_log.page(session, wanted)]

    assert actions(AuditFilter(operator="bob")) == [f"credentials.regenerate:{one.username}"]
    assert actions(AuditFilter(action="credentials")) == [f"credentials.regenerate:{one.username}"]
    assert actions(AuditFilter(action="user.ad")) == [f"user.add:{two.username}", f"user.add:{one.username}"]
    assert actions(AuditFilter(action="user_add")) == []  # "_" is a letter here, not a wildcard
    assert actions(audit_log.parse("since:2026-01-05 until:2026-01-05")) == [f"user.add:{two.username}"]
    assert actions(audit_log.parse("until:2026-01-04")) == []
    assert actions(audit_log.parse(f"user:{two.username.upper()}")) == [f"user.add:{two.username}"]
    assert actions(audit_log.parse("Eva")) == [f"user.add:{two.username}"]  # free text, in the details
    assert actions(audit_log.parse("jürgen")) == [f"user.add:{one.username}"]  # non-ASCII, as JSON stores it
    assert actions(audit_log.parse("user:nobody")) == []
    # Keyset pages: newest first, each older than the last one shown.
    with world.store.read() as session:
        first = audit_log.page(session, AuditFilter(), limit=2)
        rest = audit_log.page(session, AuditFilter(), before=first[-1].id, limit=10)
    assert [e.id for e in first + rest] == sorted((e.id for e in all_events(world.store)), reverse=True)


def test_r25_scope_shows_only_events_of_the_sites_given(world: World) -> None:
    add(world)
    add_person(world, "Oliver", "Smith", "London", "020 7946 0001", None, "pending")
    with world.store.read() as session:
        berlin = audit_log.page(session, AuditFilter(), site_ids={1})
        nowhere = audit_log.page(session, AuditFilter(), site_ids=set())
        everything = audit_log.page(session, AuditFilter(), site_ids=None)
    assert [e.site_id for e in berlin] == [1] and nowhere == [] and len(everything) == 2


# --- the migration ---------------------------------------------------------------


def test_r26_migration_backfills_user_and_site_from_details(db_url: str) -> None:
    old = Store(db_url, upgrade=False)
    upgrade_schema(old.engine, "0005_group_names_per_site")
    with old.engine.begin() as conn:
        conn.execute(text("INSERT INTO sites (id, name, country, sip_domain) VALUES (1, 'Berlin', 'DE', 'b.example')"))
        conn.execute(
            text("INSERT INTO groups (id, name, site_id, kind, version) VALUES (3, 'Hunt', 1, 'hunt_group', 1)")
        )
        rows = [
            (1, "user.add", "anna", {"user_id": 7, "site": "Berlin"}),
            (2, "site.rename", "Berlin", {"site_id": 1, "old_name": "B"}),
            (3, "group.rename", "Hunt", {"group_id": 3}),
            (4, "credentials.bulk_reset", "2 users", {"user_ids": [7, 8], "usernames": ["anna", "ben"]}),
            (5, "tenant.demo", "x", {"user_id": "not a number"}),
        ]
        for event_id, action, target, details in rows:
            conn.execute(
                text(
                    "INSERT INTO audit_events (id, at, operator, action, target, details)"
                    " VALUES (:id, '2026-01-01', 'alice', :action, :target, :details)"
                ),
                {"id": event_id, "action": action, "target": target, "details": json.dumps(details)},
            )
    old.dispose()
    store = Store(db_url)
    try:
        assert current_revision(store.engine) == HEAD_REVISION
        with store.read() as session:
            got = session.execute(text("SELECT id, user_id, site_id FROM audit_events ORDER BY id")).all()
            about = session.execute(text("SELECT user_id, event_id FROM audit_event_users ORDER BY user_id")).all()
            assert [tuple(r) for r in got] == [
                (1, 7, None),
                (2, None, 1),
                (3, None, 1),
                (4, None, None),
                (5, None, None),
            ]
            assert [tuple(r) for r in about] == [(7, 4), (8, 4)]
            ben = [e.id for e in audit_log.page(session, AuditFilter(user="8"))]
        assert ben == [4]
    finally:
        store.dispose()


# --- the command line --------------------------------------------------------------


def test_r26_cli_audit_filters_and_names_a_bad_time(world: World, db_url: str, tmp_path: Path) -> None:
    one = add(world).user
    bob = Context(world.store, Actor("bob", Role.ADMIN))
    credentials.regenerate(bob, one.username)
    env = cli_env(tmp_path, db_url)
    done = call(
        "audit", "--user", one.username, "--operator", "bob", "--action", "credentials", "--format", "json", env=env
    )
    assert done.code == 0, done.err
    assert [(r["operator"], r["action"]) for r in json.loads(done.out)] == [("bob", "credentials.regenerate")]
    today = datetime.now(UTC).date().isoformat()
    done = call("audit", "--since", today, "--until", today, "--format", "csv", env=env)
    assert done.code == 0 and len(done.out.strip().splitlines()) == 3  # header and both events
    done = call("audit", "--since", "2026-02-30", env=env)
    assert done.code == 4 and "since" in done.err
    # Who acts is named before the command; after it, --operator filters.
    done = call("--operator", "carol", "audit", "--operator", "alice", "--format", "json", env=env)
    assert done.code == 0, done.err
    assert {r["operator"] for r in json.loads(done.out)} == {"alice"}


@pytest.mark.parametrize(
    "typed",
    ["[bold]x[/bold]", "\x1b[31m", "100%", "a_b", "!", "action:\U0010ffff", "user:" + "9" * 30, "user:²"],
)
def test_r26_hostile_filters_answer_without_error(world: World, typed: str) -> None:
    add(world)
    with world.store.read() as session:
        assert audit_log.page(session, audit_log.parse(typed)) == []
        # A NUL is dropped (PostgreSQL refuses one); an empty quoted value is no term.
        assert len(audit_log.page(session, audit_log.parse('\x00 operator:"'))) == 1


def test_r26_a_filter_too_long_is_refused_naming_it() -> None:
    with pytest.raises(InvalidInput) as refused:
        audit_log.parse("x" * (audit_log.MAX_FILTER + 1))
    assert refused.value.errors[0].field == "filter"


def test_r26_an_action_prefix_of_several_actions_pages_newest_first(world: World) -> None:
    names = [add(world, first_name=f"Eva{n}", number=f"030 1234500{n}").user.username for n in range(1, 4)]
    for name in names:
        version = users.view(world.admin, name).version
        users.edit_profile(world.admin, name, ProfileChange(expected_version=version, department="IT"))
    with world.store.read() as session:
        assert audit_log.actions_of(session, "user.") == ["user.add", "user.edit_profile"]
        assert audit_log.actions_of(session, "USER.ADD") == ["user.add"]
        shown: list[AuditEvent] = []
        before = None
        while chunk := audit_log.page(session, AuditFilter(action="user"), before=before, limit=2):
            shown += chunk
            before = chunk[-1].id
    user_events = [e.id for e in all_events(world.store) if e.action.startswith("user")]
    assert [e.id for e in shown] == sorted(user_events, reverse=True) and len(shown) == 6
