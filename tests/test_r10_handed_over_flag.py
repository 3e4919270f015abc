"""The handed-over flag on the credentials row (R8-R10, migration 0009).

Every issue writes ``handed_over`` False in its own transaction, every
hand-over True in its own; the answer must be the one the audit trail's
rule gives (the rule the migration backfills with, used here as the
oracle), on SQLite and PostgreSQL."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from alembic import command
from sqlalchemy import inspect, select, text

from onenet_tui.data import bulk, credentials, demo, handover, import_users, users
from onenet_tui.data.context import Context, resolve_actor
from onenet_tui.data.migrations.config import alembic_config
from onenet_tui.data.models import DeskPhoneCredential
from onenet_tui.data.schemas import ConfigChange
from onenet_tui.data.storage import HEAD_REVISION, Store, current_revision, upgrade_schema
from tests.helpers import World, add, build_people, import_file

VERSIONS = Path(__file__).resolve().parent.parent / "onenet_tui" / "data" / "migrations" / "versions"


def _migration() -> ModuleType:
    spec = importlib.util.spec_from_file_location("handed_over_0009", VERSIONS / "0009_handed_over.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MIGRATION = _migration()


def trail_rule(store: Store) -> dict[int, int | None]:
    """User -> the bulk reset of their credentials nobody received (None
    for any other issue), by the audit trail's rule, for users who hold
    credentials now."""
    with store.engine.connect() as conn:
        found = MIGRATION._unhanded(conn)
        holders = set(conn.execute(select(DeskPhoneCredential.user_id)).scalars())
    return {uid: (event if bulk_made else None) for uid, (event, bulk_made) in found.items() if uid in holders}


def flags(store: Store) -> dict[int, int | None]:
    """User -> reset_event of every row that says never handed over."""
    with store.read() as session:
        rows = session.execute(
            select(DeskPhoneCredential.user_id, DeskPhoneCredential.reset_event).where(
                DeskPhoneCredential.handed_over == False  # noqa: E712 - SQL, not Python
            )
        ).all()
        assert handover.never_handed_over(session) == {uid for uid, _ in rows}
    return dict(rows)  # type: ignore[arg-type]  # (int, int | None) rows


def agree(world: World | Store) -> dict[int, int | None]:
    """The flags, asserted equal to the trail's rule."""
    store = world if isinstance(world, Store) else world.store
    got = flags(store)
    assert got == trail_rule(store)
    return got


def user_id(world: World, username: str) -> int:
    return users.view(world.admin, username).id


def desk_row(username: str, number: str) -> dict[str, str]:
    return {
        "username": username, "first_name": "Neu", "last_name": username.title(), "email": f"{username}@example.com",
        "site": "Berlin", "number": number, "device_type": "desk_phone", "desk_phone_model": "yealink-t54w",
    }  # fmt: skip


# --- every issue and every hand-over --------------------------------------------------------


def test_r9_every_issue_says_never_handed_over_as_the_audit_trail_does(world: World, tmp_path: Path) -> None:
    names = build_people(world)  # each handed over, as the wizard's Next does
    assert agree(world) == {}
    # A user added with a desk phone and never shown Next.
    added = add(world, first_name="Carla", last_name="Klein", email="carla@example.com", number="030 12345010")
    carla = added.user.id
    assert agree(world) == {carla: None}
    # A configuration change giving a new number issues; one keeping it does not.
    anna = user_id(world, names[6])  # Grace, activated: R5 lets her number change
    version = users.view(world.admin, names[6]).version
    users.change_configuration(world.admin, names[6], ConfigChange(expected_version=version, number="020 7946 0011"))
    assert agree(world) == {carla: None, anna: None}
    # Giving a desk phone to a user without one issues too.
    oliver = user_id(world, names[2])
    version = users.view(world.admin, names[2]).version
    users.change_configuration(
        world.admin,
        names[2],
        ConfigChange(expected_version=version, device_type="desk_phone", desk_phone_model="cisco-8851"),
    )
    assert set(agree(world)) == {carla, anna, oliver}
    # Taking the desk phone away takes the credentials, and the mark, with it.
    version = users.view(world.admin, names[2]).version
    users.change_configuration(
        world.admin,
        names[2],
        ConfigChange(expected_version=version, device_type="none", mobile="+447400123456", contract="1234567"),
    )
    assert set(agree(world)) == {carla, anna}
    juergen = user_id(world, names[0])
    credentials.regenerate(world.admin, names[0])
    assert set(agree(world)) == {carla, anna, juergen}
    # A bulk reset marks its users with its event, over the single issues.
    result = credentials.bulk_reset(world.admin, [carla, juergen])
    reset = result.issued[0].receipt.reset_event if result.issued[0].receipt else None
    assert reset is not None
    assert agree(world) == {carla: reset, anna: None, juergen: reset}
    # An import's new users with desk phones, and its changed numbers.
    done = import_users.apply(
        world.admin,
        import_file(desk_row("neu.eins", "030 12345012"), desk_row("neu.zwei", "030 12345013")),
    )
    imported = {item.user_id for item in done.issued}
    assert len(imported) == 2
    assert set(agree(world)) == {carla, anna, juergen} | imported
    # An import row giving an existing user a desk phone issues too.
    weiss = users.view(world.admin, names[5])
    row = {
        "username": weiss.username, "first_name": weiss.first_name, "last_name": weiss.last_name,
        "email": weiss.email, "site": "Berlin", "number": weiss.number, "extension": weiss.extension,
        "device_type": "desk_phone", "desk_phone_model": "yealink-t54w", "licence": weiss.licence,
    }  # fmt: skip
    changed = import_users.apply(world.admin, import_file(row))
    assert [item.user_id for item in changed.issued] == [weiss.id]
    assert set(agree(world)) == {carla, anna, juergen, weiss.id} | imported
    # Deleting a user deletes their row and so their mark.
    users.delete_user(world.admin, names[0])  # Jürgen, activated: R7 lets him go
    assert set(agree(world)) == {carla, anna, weiss.id} | imported


def test_r8_every_hand_over_says_handed_over_as_the_audit_trail_does(world: World, tmp_path: Path) -> None:
    names = build_people(world)
    anna, juergen = user_id(world, names[1]), user_id(world, names[0])
    credentials.regenerate(world.admin, names[0])
    credentials.regenerate(world.admin, names[1])
    # Next on the one-time screen, by name alone (the command line's own path).
    handover.record_handed_over(world.admin, names[1])
    assert agree(world) == {juergen: None}
    handover.record_handed_over(world.admin, names[0], juergen)
    assert agree(world) == {}
    # A bulk reset's completed export hands over that reset's rows only.
    first = credentials.bulk_reset(world.admin, [anna, juergen])
    credentials.regenerate(world.admin, names[0])  # newer than the reset: not the file's
    assert set(agree(world)) == {anna, juergen}
    bulk.export_credentials(tmp_path / "first.csv", first.issued)
    assert agree(world) == {juergen: None}
    with world.store.read() as session:
        assert handover.pending_exports(session) == []
    # The console's export of a reset, through its receipt; pending until then.
    outcome = bulk.reset_and_export(world.admin, [anna], tmp_path / "second.csv")
    assert outcome.path is not None and agree(world) == {juergen: None}
    lost = credentials.bulk_reset(world.admin, [anna], export=str(tmp_path / "never.csv"))
    with world.store.read() as session:
        (pending,) = handover.pending_exports(session)
    assert pending.count == 1 and pending.export == str(tmp_path / "never.csv")
    assert pending.event_id == lost.issued[0].receipt.reset_event  # type: ignore[union-attr]
    # An import's credentials written to a file are handed over.
    done = import_users.apply(world.admin, import_file(desk_row("neu.eins", "030 12345012")))
    assert len(agree(world)) == 3
    import_users.record_exported(world.admin, done.issued, str(tmp_path / "import.csv"))
    assert agree(world) == {juergen: None, anna: pending.event_id}


def test_r8_a_demo_tenant_has_nobody_to_hand_credentials_to(store: Store) -> None:
    demo.build(Context(store, resolve_actor(store, "demo.admin")), users=40)
    with store.read() as session:
        holders = session.execute(select(DeskPhoneCredential.user_id)).scalars().all()
    assert holders and agree(store) == {}


def test_r10_a_user_page_and_the_directory_give_the_same_answer(world: World) -> None:
    names = build_people(world)
    credentials.regenerate(world.admin, names[0])
    for name in names:
        view = users.view(world.admin, name)
        with world.store.read() as session:
            expected = view.id in handover.never_handed_over(session)
        assert handover.user_never_handed_over(world.admin, view) == expected
    assert handover.user_never_handed_over(world.admin, users.view(world.admin, names[0]))


def test_r8_the_hand_over_keeps_the_registrars_view(world: World, db_url: str) -> None:
    """Migration 0008's triggers keep ``registrar_status`` on the row: an
    UPDATE of the flag must leave it, and Kamailio's view, as they were."""
    names = build_people(world)
    issued = credentials.regenerate(world.admin, names[0])

    def seen() -> list[tuple[Any, ...]]:
        with world.store.read() as session:
            status = session.execute(
                select(DeskPhoneCredential.sip_username, DeskPhoneCredential.registrar_status).order_by(
                    DeskPhoneCredential.sip_username
                )
            ).all()
            view: list[Any] = []
            if db_url.startswith("postgresql"):
                view = session.execute(text("SELECT username, status FROM registrar_subscriber ORDER BY 1")).all()
        return [tuple(r) for r in status] + [tuple(r) for r in view]

    before = seen()
    if db_url.startswith("postgresql"):
        assert (issued.sip_username, "activated") in before
    handover.record_handed_over(world.admin, issued.username, issued.user_id)
    assert seen() == before


# --- the migration's backfill ----------------------------------------------------------------


def test_r10_migration_backfills_the_flag_from_the_audit_trail(world: World, db_url: str, tmp_path: Path) -> None:
    """Data made by the services (the events the old code wrote, the same),
    taken back to 0008 and up again: the backfill gives what the services
    wrote. Old bulk resets naming users by name alone count too."""
    names = build_people(world)
    ids = {name: user_id(world, name) for name in names}
    credentials.regenerate(world.admin, names[0])  # never handed over
    exported = credentials.bulk_reset(world.admin, [ids[names[1]], ids[names[4]]])
    bulk.export_credentials(tmp_path / "done.csv", exported.issued)
    lost = credentials.bulk_reset(world.admin, [ids[names[6]], ids[names[7]]], export="never.csv")
    handover.record_handed_over(world.admin, names[7], ids[names[7]])
    written = flags(world.store)
    reset = lost.issued[0].receipt.reset_event  # type: ignore[union-attr]
    assert written == {ids[names[0]]: None, ids[names[6]]: reset}
    with world.store.read() as session:
        pending_before = handover.pending_exports(session)

    with world.store.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0008_registrar")
    with world.store.engine.connect() as conn:
        columns = {c["name"] for c in inspect(conn).get_columns("desk_phone_credentials")}
    assert "handed_over" not in columns  # as the old code had the table
    with world.store.engine.begin() as conn:
        # A reset from before user ids were recorded, naming Anna alone.
        conn.execute(
            text(
                "INSERT INTO audit_events (at, operator, action, target, details)"
                " VALUES ('2026-01-01', 'alice', 'credentials.bulk_reset', '1 users', :details)"
            ),
            {"details": json.dumps({"usernames": [names[1]], "export": None})},
        )
        legacy = conn.execute(text("SELECT max(id) FROM audit_events")).scalar_one()
    world.store.dispose()
    store = Store(db_url)
    try:
        assert current_revision(store.engine) == HEAD_REVISION
        assert flags(store) == {**written, ids[names[1]]: legacy}
        with store.read() as session:
            pending = handover.pending_exports(session)
        assert [(p.event_id, p.count) for p in pending] == [
            *[(p.event_id, p.count) for p in pending_before],
            (legacy, 1),
        ]
    finally:
        store.dispose()


@pytest.mark.parametrize("handed", [True, False], ids=["handed", "never"])
def test_r9_migration_marks_an_old_add_by_its_hand_over(db_url: str, handed: bool) -> None:
    """A database written by the old code alone (rows inserted as 0008 had
    them): a desk phone add, with or without its hand-over event."""
    old = Store(db_url, upgrade=False)
    upgrade_schema(old.engine, "0008_registrar")
    with old.engine.begin() as conn:
        conn.execute(text("INSERT INTO sites (id, name, country, sip_domain) VALUES (1, 'Berlin', 'DE', 'b.example')"))
        conn.execute(text("INSERT INTO phone_numbers (id, e164, site_id, flagged) VALUES (1, '+4930123', 1, false)"))
        conn.execute(
            text(
                "INSERT INTO users (id, first_name, last_name, username, site_id, number_id, extension, device_type,"
                " licence, services, email, do_not_disturb, call_waiting, status, created_at, status_changed_at,"
                " portal_locked, failed_logins, version) VALUES (7, 'A', 'B', 'anna', 1, 1, '123', 'desk_phone',"
                " 'standard', '[]', 'a@example.com', false, true, 'pending', '2026-01-01', '2026-01-01', false, 0, 1)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO desk_phone_credentials (user_id, sip_username, realm, ha1_md5, ha1_sha256,"
                " generated_at, generated_by, mode) VALUES (7, '4930123', 'b.example', 'x', 'y', '2026-01-01',"
                " 'alice', 'system')"
            )
        )
        events = [("user.add", 7, '{"user_id": 7, "device_type": "desk_phone"}')]
        if handed:
            events.append(("credentials.handed_over", 7, '{"user_id": 7}'))
        # Details no code of ours wrote (0006 left the column empty): ignored, never an error.
        events.append(("credentials.regenerate", None, '{"user_id": "7; not a number"}'))
        events += [
            ("credentials.bulk_reset", None, '["not", "an", "object"]'),
            ("credentials.bulk_reset", None, '{"user_ids": "7"}'),
            ("credentials.bulk_reset", None, '{"usernames": [{"a": 1}, 5, null]}'),
            ("credentials.exported", None, '{"reset_event": "all of them"}'),
        ]
        for action, user, details in events:
            conn.execute(
                text(
                    "INSERT INTO audit_events (at, operator, action, target, user_id, details)"
                    " VALUES ('2026-01-01', 'alice', :action, 'anna', :user, :details)"
                ),
                {"action": action, "user": user, "details": details},
            )
    old.dispose()
    store = Store(db_url)
    try:
        assert flags(store) == ({} if handed else {7: None})
    finally:
        store.dispose()
