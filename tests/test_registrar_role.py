"""The registrar's side of the database (SPEC section 13, R24): the view
Kamailio reads, the read-only role ``registrar create-role`` makes, and the
configuration ``registrar kamailio-config`` prints. Without Kamailio: the
wire is tests/test_registrar_e2e.py."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from onenet_tui.data import carrier, credentials, registrar, users
from onenet_tui.data.errors import InvalidInput, RuleRefused
from onenet_tui.data.policy import Action, decide
from onenet_tui.data.schemas import ConfigChange
from onenet_tui.data.storage import Store
from tests.helpers import BOB_WITHOUT_DESK_PHONE, World, add, add_active, build_world, cli_env, run_cli
from tests.sip import drop_role, require_tools, unique_role


@pytest.fixture
def pg_world(pg_url: str) -> Iterator[World]:
    store = Store(pg_url)
    yield build_world(store)
    store.dispose()


@pytest.fixture
def role(pg_url: str) -> Iterator[str]:
    name = unique_role()
    yield name
    drop_role(pg_url, name)


def _as_role(pg_url: str, made: registrar.RegistrarRole) -> psycopg.Connection[tuple[object, ...]]:
    """A connection as the registrar would open it: its own role, no search_path given."""
    url = make_url(pg_url)
    return psycopg.connect(
        host=url.host, port=url.port or 5432, dbname=url.database, user=made.role, password=made.password
    )


def _listed(world: World) -> dict[str, str]:
    with world.store.read() as session:
        rows = session.execute(text("SELECT username, domain, ha1, status FROM registrar_subscriber"))
        return {r.username: r.status for r in rows}


def test_r24_the_view_lists_desk_phone_users_who_may_register_and_their_status(pg_world: World) -> None:
    world = pg_world
    pending = add(world)
    active = add_active(world, first_name="Anna", last_name="Schmidt", email="anna@example.com", number="030 12345002")
    failed = add(world, first_name="Fatma", last_name="Yilmaz", email="fatma@example.com", number="030 12345003")
    carrier.set_status(world.carrier, failed.user.username, "failed", "porting refused")
    add(world, **BOB_WITHOUT_DESK_PHONE)
    assert pending.credentials and active.credentials
    assert _listed(world) == {
        pending.credentials.sip_username: "pending",
        active.credentials.sip_username: "activated",
    }
    # The digest the registrar reads is the one the console issued, at once.
    issued = credentials.regenerate(world.admin, active.user.username)
    with world.store.read() as session:
        ha1 = session.execute(
            text("SELECT ha1 FROM registrar_subscriber WHERE username = :u AND domain = :d"),
            {"u": issued.sip_username, "d": issued.sip_domain},
        ).scalar_one()
    from onenet_tui.data import secrets

    assert ha1 == secrets.ha1(issued.sip_username, issued.sip_domain, issued.password, "md5")
    # No desk phone any more: gone from the view; deleted: gone too.
    version = users.view(world.admin, active.user.username).version
    users.change_configuration(
        world.admin,
        active.user.username,
        ConfigChange(expected_version=version, device_type="none", mobile="+4915123456789", contract="1234567"),
    )
    assert set(_listed(world)) == {pending.credentials.sip_username}
    # The carrier's activation reaches the registrar in its own transaction.
    carrier.set_status(world.carrier, pending.user.username, "activated")
    assert _listed(world) == {pending.credentials.sip_username: "activated"}
    users.delete_user(world.admin, pending.user.username)
    assert _listed(world) == {}


def test_r24_the_registrars_lookup_uses_an_index(pg_world: World) -> None:
    add(pg_world)
    with pg_world.store.read() as session:
        # Forbidding sequential scans proves an index serves the lookup: without one the plan stays a Seq Scan.
        session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(
            session.execute(
                text("EXPLAIN SELECT ha1, status FROM registrar_subscriber WHERE username = :u AND domain = :d"),
                {"u": "493012345001", "d": "berlin.sip.example.net"},
            ).scalars()
        )
    assert "Index Scan using desk_phone_credentials_sip_username_key" in plan, plan


def test_r24_the_registrar_role_reads_the_view_and_nothing_else(pg_world: World, pg_url: str, role: str) -> None:
    added = add(pg_world)
    assert added.credentials is not None
    made = registrar.create_role(pg_world.admin, role)
    with _as_role(pg_url, made) as conn:
        # Its search_path is the console's schema: Kamailio names the view alone.
        found = conn.execute("SELECT username, status FROM registrar_subscriber").fetchall()
        assert found == [(added.credentials.sip_username, "pending")]
    for forbidden in (
        "SELECT email FROM users",
        "SELECT ha1_md5 FROM desk_phone_credentials",
        "SELECT * FROM operators",
        "DELETE FROM audit_events",
        "UPDATE desk_phone_credentials SET ha1_md5 = ''",
        "CREATE TABLE mine (x int)",
    ):
        with _as_role(pg_url, made) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(forbidden)


def test_r24_create_role_again_updates_it_and_records_who(pg_world: World, pg_url: str, role: str) -> None:
    first = registrar.create_role(pg_world.admin, role)
    again = registrar.create_role(pg_world.admin, role)
    assert first.password != again.password
    with _as_role(pg_url, again) as conn:
        assert conn.execute("SELECT count(*) FROM registrar_subscriber").fetchone() == (0,)
    with pg_world.store.read() as session:
        events = session.execute(
            text("SELECT operator, target FROM audit_events WHERE action = 'registrar.create_role'")
        ).all()
    assert [tuple(e) for e in events] == [("alice", role), ("alice", role)]


def test_r24_create_role_refuses_a_role_that_can_do_more_than_read(pg_world: World) -> None:
    # The console's own user (a superuser in the tests): its password is not ours to change.
    me = make_url(pg_world.store.url).username
    assert me
    with pytest.raises(RuleRefused) as refused:
        registrar.create_role(pg_world.admin, me)
    assert refused.value.reason_key == "registrar.role_too_powerful"


def test_r24_create_role_refuses_a_role_that_is_a_member_of_another(pg_world: World, pg_url: str, role: str) -> None:
    engine = create_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(text(f"CREATE ROLE {role} LOGIN"))
        conn.execute(text(f"GRANT pg_read_all_data TO {role}"))
    engine.dispose()
    with pytest.raises(RuleRefused) as refused:
        registrar.create_role(pg_world.admin, role)
    assert refused.value.reason_key == "registrar.role_too_powerful"


@pytest.mark.parametrize("hostile", ['a"b', "x; DROP TABLE users", "Role", "r\nlisten=0.0.0.0", "", "ä", "a" * 64])
def test_r24_a_role_name_that_is_not_plain_is_refused_naming_the_field(pg_world: World, hostile: str) -> None:
    with pytest.raises(InvalidInput) as invalid:
        registrar.create_role(pg_world.admin, hostile)
    assert invalid.value.for_field("role") is not None


def test_r24_only_administrators_create_the_registrar_role(pg_world: World) -> None:
    assert not decide(Action.MANAGE_REGISTRAR, "helpdesk")
    with pytest.raises(RuleRefused) as refused:
        registrar.create_role(pg_world.helpdesk, unique_role())
    assert refused.value.rule == "R14"


def test_r24_sqlite_has_no_registrar_view_and_create_role_refuses(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'onenet.db'}")
    try:
        world = build_world(store)
        with store.read() as session:
            names = session.execute(text("SELECT name FROM sqlite_master WHERE name LIKE 'registrar%'")).all()
        assert names == []
        with pytest.raises(RuleRefused) as refused:
            registrar.create_role(world.admin)
        assert refused.value.reason_key == "registrar.needs_postgres"
    finally:
        store.dispose()


# --- the configuration --------------------------------------------------------

PG = "postgresql+psycopg://postgres@db.example.net:5433/tenant?options=-csearch_path%3Dt_1"


def test_r24_the_config_changes_only_the_marked_lines() -> None:
    shipped = registrar.shipped_config().splitlines()
    filled = registrar.kamailio_config(
        PG, listen="0.0.0.0:5080", role="reg_1", gateway="sip:trunk.example.net:5060"
    ).splitlines()
    changed = [(a, b) for a, b in zip(shipped, filled, strict=True) if a != b]
    assert [b for _, b in changed] == [
        '#!define ONENET_DB_URL "postgres://reg_1@db.example.net:5433/tenant"',
        '#!substdef "!ONENET_LISTEN!udp:0.0.0.0:5080!g"',
        '#!define ONENET_GATEWAY "sip:trunk.example.net:5060"',
    ]
    assert "password" not in "\n".join(b for _, b in changed).lower()


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("listen", "127.0.0.1"),
        ("listen", "127.0.0.1:0"),
        ("listen", "127.0.0.1:99999"),
        ("listen", '127.0.0.1:5060"\nloadmodule "x.so'),
        ("listen", "host!g:5060"),
        ("listen", "[bold]:5060"),
        ("role", 'r"\n#!define X'),
        ("gateway", 'sip:a"\nrequest_route {'),
        ("gateway", "http://example.net"),
        ("gateway", "sip:a b"),
    ],
)
def test_r24_hostile_config_values_are_refused_naming_the_field(option: str, value: str) -> None:
    with pytest.raises(InvalidInput) as invalid:
        registrar.kamailio_config(PG, **{option: value})
    assert invalid.value.for_field(option) is not None


def test_r24_a_database_name_that_could_break_the_config_is_refused() -> None:
    with pytest.raises(InvalidInput) as invalid:
        registrar.kamailio_config('postgresql+psycopg://u@h:5432/x"y')
    assert invalid.value.for_field("db") is not None


def test_r24_the_config_for_sqlite_is_refused() -> None:
    with pytest.raises(RuleRefused):
        registrar.kamailio_config("sqlite:///x.db")


@pytest.mark.parametrize("filled", [False, True])
def test_r24_kamailio_accepts_the_shipped_and_the_filled_in_config(tmp_path: Path, filled: bool) -> None:
    require_tools()  # skipped without Kamailio, failed in CI
    config = tmp_path / "kamailio.cfg"
    text_ = registrar.kamailio_config(PG, listen="127.0.0.1:5999") if filled else registrar.shipped_config()
    config.write_text(text_)
    checked = subprocess.run(["kamailio", "-c", "-f", str(config)], capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stderr


# --- the command line -------------------------------------------------------------


def test_r24_cli_create_role_prints_the_pgpass_line_once(pg_url: str, role: str, tmp_path: Path) -> None:
    env = cli_env(tmp_path, pg_url)
    done = run_cli("registrar", "create-role", "--role", role, env=env)
    assert done.code == 0, done.err
    url = make_url(pg_url)
    host, port, database, name, password = done.out.strip().split(":")
    assert (host, int(port), database, name) == (url.host, url.port, url.database, role)
    assert password not in done.err and role in done.err
    engine = create_engine(pg_url)
    with engine.connect() as conn:
        details = conn.execute(text("SELECT details FROM audit_events WHERE target = :r"), {"r": role}).scalar_one()
    engine.dispose()
    assert password not in str(details)
    config = run_cli("registrar", "kamailio-config", "--role", role, "--listen", "127.0.0.1:5999", env=env)
    assert config.code == 0, config.err
    assert f'"postgres://{role}@{url.host}:{url.port}/{url.database}"' in config.out
    assert "PGPASSFILE" in config.err


def test_r24_cli_refuses_sqlite_and_bad_listen_clearly(tmp_path: Path) -> None:
    env = cli_env(tmp_path, f"sqlite:///{tmp_path / 'onenet.db'}")
    done = run_cli("registrar", "kamailio-config", env=env)
    assert done.code == 3 and "PostgreSQL" in done.err and done.out == ""
    env = cli_env(tmp_path, PG)
    bad = run_cli("--lang", "de", "registrar", "kamailio-config", "--listen", "\x1b[31m:5060", env=env)
    assert bad.code == 4 and "(listen)" in bad.err and "\x1b" not in bad.err and bad.out == ""
