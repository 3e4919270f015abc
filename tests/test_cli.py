"""The command line (SPEC section 6): every command and every exit code, run
as a real process (``python -m onenet_tui``, :func:`run_cli`) against a
temporary SQLite database copied from one small demo tenant.

Each command and each exit code is run as a process at least once; further
calls in the same test go through :func:`call`, the same ``cli.main`` in this
process, which saves the second of start-up each process costs.
The helpers at the top are shared with ``test_cli_walkthrough.py``.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import gc
import io
import json
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from onenet_tui import cli
from onenet_tui.data import accounts, demo, exports, listing, lookup, phones, queries, secrets, users
from onenet_tui.data.context import Context, resolve_actor
from onenet_tui.data.models import AuditEvent, DeskPhoneCredential, User
from onenet_tui.data.schemas import ProfileChange
from onenet_tui.data.storage import HEAD_REVISION, Store, current_revision, upgrade_schema
from onenet_tui.i18n import catalog, format_number
from tests.helpers import Result, add, build_world, call, cli_env, copy_database, run_cli, users_add

# --- helpers ----------------------------------------------------------------------


def users_by_status(db_url: str) -> dict[str, list[dict[str, Any]]]:
    store = Store(db_url)
    try:
        with store.read() as session:
            found: dict[str, list[dict[str, Any]]] = {"pending": [], "activated": [], "failed": []}
            for user in listing.user_dicts(session):
                found[user["status"]].append(user)
            return found
    finally:
        store.dispose()


def free_numbers(db_url: str, site: str) -> list[str]:
    """The site's free numbers the carrier did not flag (R21)."""
    store = Store(db_url)
    try:
        with store.read() as session:
            site_id = lookup.site_by_name(session, site).id
            flagged = {row.e164 for row in queries.flagged_free_numbers(session, site_id)}  # type: ignore[arg-type]
            return [n for n in queries.free_numbers(session, site_id) if n not in flagged]  # type: ignore[arg-type]
    finally:
        store.dispose()


@pytest.fixture
def db(template: Path, tmp_path: Path) -> str:
    return copy_database(template, tmp_path / "onenet.db")


@pytest.fixture
def env(db: str, tmp_path: Path) -> dict[str, str]:
    return cli_env(tmp_path, db)


@pytest.fixture
def people(db: str) -> dict[str, list[dict[str, Any]]]:
    return users_by_status(db)


# --- start-up, help, usage (exit 2) -------------------------------------------------

PROBE = """
import runpy, sys
sys.argv = ["onenet-tui", *sys.argv[1:]]
try:
    runpy.run_module("onenet_tui", run_name="__main__")
except SystemExit:
    pass
print("LOADED " + " ".join(sorted({m.split(".")[0] for m in sys.modules})), file=sys.stderr)
"""


def loaded_packages(env: dict[str, str], *args: str) -> set[str]:
    done = subprocess.run([sys.executable, "-c", PROBE, *args], env=env, capture_output=True, text=True, timeout=120)
    line = next(line for line in done.stderr.splitlines() if line.startswith("LOADED "))
    return set(line.split()[1:])


def test_help_and_users_list_start_without_textual(env: dict[str, str]) -> None:
    on_help = loaded_packages(env, "--help")
    assert "textual" not in on_help
    # --help stays light: no database or validation libraries either.
    assert not on_help & {"sqlalchemy", "sqlmodel", "pydantic", "phonenumbers", "alembic"}
    on_list = loaded_packages(env, "users", "list", "--format", "json")
    assert "sqlalchemy" in on_list  # the probe really ran the command
    assert "textual" not in on_list


def test_help_lists_every_command_in_english_and_german(env: dict[str, str]) -> None:
    english = run_cli("--help", env=env)
    assert english.code == 0
    for command in (
        "demo",
        "users",
        "numbers",
        "groups",
        "credentials",
        "account",
        "carrier",
        "operators",
        "audit",
        "db",
    ):
        assert command in english.out
    german = call("--lang", "de", "users", "add", "--help", env=env)
    assert german.code == 0
    assert german.out.startswith("Aufruf: ") and "Tischtelefon" in german.out


def test_usage_errors_exit_2(env: dict[str, str]) -> None:
    unknown = run_cli("users", "frobnicate", env=env)
    assert unknown.code == 2 and "frobnicate" in unknown.err and unknown.out == ""
    missing = call("users", "add", "--first", "A", env=env)
    assert missing.code == 2 and "--site" in missing.err
    both = call(*users_add("030 12341999", "--no-desk-phone", first="A", last="B", email="a@example.com"), env=env)
    assert both.code == 2 and "--no-desk-phone" in both.err
    german = call("--lang", "de", "users", "list", "--status", "sleeping", env=env)
    assert german.code == 2 and "keine Auswahl" in german.err


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["--db", "sqlite:///x.db"],
        ["--db=postgresql://u@h/db", "--lang", "de", "--operator", "ann"],
        ["--op", "ann", "--la=en"],  # abbreviated, as argparse allows
    ],
)
def test_the_console_options_are_read_as_the_whole_parser_reads_them(argv: list[str]) -> None:
    quick = cli.console_args(argv)
    assert quick is not None and vars(quick) == vars(cli.build_parser().parse_args(argv))


@pytest.mark.parametrize(
    "argv",
    [
        ["users", "list"],
        ["--db", "x", "users", "show", "ann"],
        ["-h"],
        ["--help"],
        ["--h"],
        ["--version"],
        ["--lang", "xx"],
        ["--db"],
        ["--dbx", "y"],
        ["stray"],
        ["--operator", "--db"],
        ["--"],
    ],
)
def test_anything_but_the_console_is_left_to_the_whole_parser(argv: list[str]) -> None:
    assert cli.console_args(argv) is None


def test_no_command_opens_the_console_with_the_resolved_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import onenet_tui.app

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    opened = []
    monkeypatch.setattr(onenet_tui.app, "run_console", lambda settings, ahead=None: opened.append(settings) or 0)
    # The console opens only on a terminal (tests/test_ssh.py runs it without one).
    monkeypatch.setattr(sys, "stdin", Tty())
    monkeypatch.setattr(sys, "stdout", Tty())
    monkeypatch.setenv("ONENET_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("ONENET_OPERATOR", "from-env")
    assert cli.main(["--db", "sqlite:///x.db", "--lang", "de"]) == 0
    assert [(s.db_url, s.lang, s.operator) for s in opened] == [("sqlite:///x.db", "de", "from-env")]
    assert gc.isenabled()  # paused for the console's start only


def test_cli_messages_exist_in_both_languages() -> None:
    english, german = catalog("en"), catalog("de")
    ours = json.loads(Path(cli.__file__).with_name("locale").joinpath("en", "cli.json").read_text("utf-8"))
    theirs = json.loads(Path(cli.__file__).with_name("locale").joinpath("de", "cli.json").read_text("utf-8"))
    assert ours.keys() == theirs.keys()
    assert all(key in english and key in german for key in ours)
    # Every help text the parser asks for exists (an unknown key would print itself).
    parser = cli.build_parser()
    assert "cli." not in parser.format_help()


# --- users -------------------------------------------------------------------------


def test_users_list_formats_and_filters(env: dict[str, str], people: dict[str, list[dict[str, Any]]]) -> None:
    table = run_cli("users", "list", env=env)
    assert table.code == 0
    some = people["activated"][0]
    line = next(line for line in table.out.splitlines() if some["username"] in line)
    assert some["number"] not in line  # table shows the national number ...
    assert some["extension"] in line and "Active" in line
    data = call("users", "list", "--status", "pending", "--site", "Berlin", "--format", "json", env=env).json()
    assert data and all(u["status"] == "pending" and u["site"] == "Berlin" for u in data)
    for key in (
        "username",
        "first_name",
        "last_name",
        "email",
        "site",
        "number",
        "extension",
        "device_type",
        "desk_phone_model",
        "licence",
        "services",
        "mobile",
        "contract",
        "status",
        "status_reason",
        "portal_locked",
        "groups",
    ):
        assert key in data[0]
    assert data[0]["number"].startswith("+49")
    unknown = call("users", "list", "--site", "Atlantis", "--format", "json", env=env)
    assert (unknown.code, unknown.out) == (5, "")  # errors never leave half a JSON document
    rows = list(csv.DictReader(io.StringIO(call("users", "list", "--format", "csv", env=env).out)))
    assert len(rows) == 20
    assert all(exports.restore(r["number"]).startswith("+") and r["number"].startswith("'+") for r in rows)


def test_users_list_json_is_users_show_json_for_every_user(store: Store) -> None:
    """The bulk listing (three queries) gives exactly what ``users show`` gives."""
    ctx = Context(store, resolve_actor(store, "alice"))
    demo.build(ctx, users=40, seed=2)
    with store.read() as session:
        someone = session.execute(select(User.username).where(User.status == "activated")).scalars().first()
    assert someone
    accounts.reset_account(ctx, someone, self_service_tried=True)  # a reset time, microseconds and all
    users.edit_profile(
        ctx, someone, ProfileChange(expected_version=users.view(ctx, someone).version, department='Ärger "&" \\ Co')
    )
    with store.read() as session:
        listed = list(listing.user_dicts(session))
        as_text = [json.loads(text) for text in listing.user_json(session)]
        filtered = [json.loads(text) for text in listing.user_json(session, status="pending", site="London")]
    assert len(listed) == 40
    for user in listed:
        assert user == users.view(ctx, user["username"]).to_json()
    assert as_text == listed  # the SQLite fast path writes the same JSON
    assert filtered == [u for u in listed if u["status"] == "pending" and u["site"] == "London"] != []
    assert [(u["last_name"], u["first_name"]) for u in listed] == sorted(
        (u["last_name"], u["first_name"]) for u in listed
    )


def test_users_show_by_username_extension_at_site_and_number(
    env: dict[str, str], people: dict[str, list[dict[str, Any]]]
) -> None:
    user = people["failed"][0]
    by_name = run_cli("users", "show", user["username"], "--format", "json", env=env)
    assert by_name.code == 0 and by_name.json()["username"] == user["username"]
    by_ext = call("users", "show", f"{user['extension']}@{user['site']}", "--format", "json", env=env)
    assert by_ext.json()["number"] == user["number"]
    text = call("users", "show", user["number"], env=env)
    assert text.code == 0
    assert "One Net Business" in text.out and user["status_reason"] in text.out  # R3 guidance and summary


def test_users_add_national_or_international_number_and_json(env: dict[str, str], db: str) -> None:
    berlin = free_numbers(db, "Berlin")[0]
    national = phones.national(berlin, "DE")
    assert national.startswith("030 ")
    added = run_cli(
        *users_add(
            national,
            "--service",
            "voicemail",
            "--group",
            "Anrufannahme Berlin Etage 1",
            "--format",
            "json",
            first="Zoë",
            last="Öztürk",
            email="zoe@example.com",
            desk_phone="cisco-8851",
        ),
        env=env,
    )
    assert added.code == 0, added.err
    user = added.json()  # nothing but JSON on stdout
    assert (user["username"], user["number"], user["extension"], user["status"]) == (
        "zoe.oeztuerk",
        berlin,
        berlin[-4:],
        "pending",
    )
    assert user["groups"] == [{"name": "Anrufannahme Berlin Etage 1", "kind": "pickup", "role": None}]
    assert user["new_credentials"]["sip_username"] == berlin[1:]  # shown once (R8)
    london = free_numbers(db, "London")[0]
    mobile_only = call(
        *users_add(
            london,
            "--mobile",
            "07400 123456",
            "--contract",
            "12345678",
            "--licence",
            "premium",
            "--username",
            "amy.pond",
            site="London",
            first="Amy",
            last="Pond",
            email="amy@example.co.uk",
            desk_phone=None,
        ),
        env=env,
    )
    assert mobile_only.code == 0, mobile_only.err
    assert "amy.pond" in mobile_only.out and "Password" not in mobile_only.out


def test_users_add_invalid_input_exits_4_naming_the_field(env: dict[str, str], db: str) -> None:
    number = free_numbers(db, "Berlin")[0]
    bad = run_cli(*users_add(number, "--format", "json", first="Anna", last="Schmidt", email="not-an-address"), env=env)
    assert bad.code == 4 and bad.out == ""
    assert "email" in bad.err and "R18" in bad.err
    r17 = call(*users_add(number, first="Anna", last="Schmidt", email="anna@example.com", desk_phone=None), env=env)
    assert r17.code == 4 and "mobile" in r17.err and "contract" in r17.err
    taken = call(*users_add("+49 30 99999999", first="Anna", last="Schmidt", email="anna@example.com"), env=env)
    assert taken.code == 4 and "R16" in taken.err


def test_users_delete_needs_yes_and_refuses_inactive_users(env: dict[str, str], people: Any) -> None:
    pending = people["pending"][0]["username"]
    no_yes = call("users", "delete", pending, env=env)
    assert no_yes.code == 2 and "--yes" in no_yes.err
    refused = run_cli("users", "delete", pending, "--yes", env=env)
    assert refused.code == 3 and "R5" in refused.err
    active = people["activated"][0]
    deleted = call("users", "delete", active["username"], "--yes", "--format", "json", env=env)
    assert deleted.code == 0
    assert deleted.json()["deleted"] == active["username"]
    gone = call("users", "show", active["username"], env=env)
    assert gone.code == 5 and "not found" in gone.err


# --- numbers and groups -----------------------------------------------------------------


def test_numbers_list_shapes_and_filters(env: dict[str, str]) -> None:
    numbers = run_cli("numbers", "list", "--site", "London", "--format", "json", env=env).json()
    assert numbers and all(n["site"] == "London" for n in numbers)
    assert set(numbers[0]) >= {"number", "site", "free", "username", "flagged"}
    assert any(n["free"] for n in numbers) and any(not n["free"] for n in numbers)
    assert any(n["flagged"] for n in numbers)
    free = call("numbers", "list", "--free", "--format", "json", env=env).json()
    assert free and all(n["free"] and n["username"] is None for n in free)
    table = call("numbers", "list", "--site", "München", env=env)
    assert table.code == 0 and "089 1234" in table.out
    unknown = call("numbers", "list", "--site", "Atlantis", env=env)
    assert unknown.code == 5


def test_groups_list_show_add_and_remove_member(env: dict[str, str], people: Any) -> None:
    listed = run_cli("groups", "list", "--format", "json", env=env).json()
    kinds = {g["kind"] for g in listed}
    assert kinds == {"hunt_group", "call_center", "pickup", "call_park"}
    assert set(listed[0]) >= {"name", "kind", "site", "members"}
    active = next(u for u in people["activated"] if u["site"] == "Berlin")
    added = run_cli("groups", "add-member", "Kundenservice Berlin", active["username"], "--role", "supervisor", env=env)
    assert added.code == 0, added.err
    shown = run_cli("groups", "show", "Kundenservice Berlin", "--format", "json", env=env).json()
    assert {"username": active["username"], "role": "supervisor"} in shown["members"]
    removed = run_cli("groups", "remove-member", "Kundenservice Berlin", active["username"], env=env)
    assert removed.code == 0
    again = call("groups", "remove-member", "Kundenservice Berlin", active["username"], env=env)
    assert again.code == 5
    assert call("groups", "show", "No such group", env=env).code == 5


def test_r4_pending_user_refused_from_hunt_group_exit_3(env: dict[str, str], people: Any) -> None:
    pending = next(u for u in people["pending"] if u["site"] == "Berlin")
    refused = call("groups", "add-member", "Zentrale Berlin", pending["username"], env=env)
    assert refused.code == 3 and "R4" in refused.err


# --- credentials and accounts ----------------------------------------------------------------


def test_r10_credentials_reset_exports_a_private_csv_and_lists_skipped_users(
    env: dict[str, str], db: str, tmp_path: Path, people: Any
) -> None:
    export = tmp_path / "berlin.csv"
    done = run_cli("credentials", "reset", "--site", "Berlin", "--export", str(export), env=env)
    assert done.code == 0, done.err
    assert stat.S_IMODE(export.stat().st_mode) == 0o600
    rows = exports.read_csv(export)
    assert rows and list(rows[0]) == list(exports.CREDENTIAL_COLUMNS)
    berlin = [u for s in people.values() for u in s if u["site"] == "Berlin"]
    mobile_only = [u["username"] for u in berlin if u["device_type"] == "none"]
    assert {r["username"] for r in rows} == {u["username"] for u in berlin if u["device_type"] == "desk_phone"}
    for username in mobile_only:
        assert username in done.err and "R10" in done.err
    # R9: the old password stopped working: the stored digests are those of the exported one.
    store = Store(db)
    with store.read() as session:
        for row in rows:
            cred = session.execute(
                select(DeskPhoneCredential).where(DeskPhoneCredential.sip_username == row["sip_username"])
            ).scalar_one()
            assert cred.ha1_md5 == secrets.ha1(row["sip_username"], row["sip_domain"], row["password"], "md5")
        # R15: audited without secrets.
        event = session.execute(select(AuditEvent).where(AuditEvent.action == "credentials.bulk_reset")).scalar_one()
        assert all(row["password"] not in json.dumps(event.details) for row in rows)
    store.dispose()
    # Never overwrite without --force (exit 5); nothing is reset then.
    again = call("credentials", "reset", "--all", "--export", str(export), env=env)
    assert again.code == 5 and exports.read_csv(export) == rows
    forced = call("credentials", "reset", "--all", "--export", str(export), "--force", env=env)
    assert forced.code == 0 and len(exports.read_csv(export)) > len(rows)


def test_r11_admin_chosen_password_from_stdin(env: dict[str, str], tmp_path: Path, people: Any) -> None:
    desk = [u["username"] for u in people["activated"] if u["device_type"] == "desk_phone"][:2]
    export = tmp_path / "chosen.csv"
    weak = call("credentials", "reset", *desk, "--password-stdin", "--export", str(export), env=env, stdin="short\n")
    assert weak.code == 4 and "R11" in weak.err and not export.exists()
    done = run_cli(
        "credentials", "reset", *desk, "--password-stdin", "--export", str(export), env=env, stdin="Gartenzaun2026\n"
    )
    assert done.code == 0, done.err
    assert {r["password"] for r in exports.read_csv(export)} == {"Gartenzaun2026"}
    assert call("credentials", "reset", "--export", str(tmp_path / "x.csv"), env=env).code == 2
    assert call("credentials", "reset", "nobody", "--export", str(tmp_path / "x.csv"), env=env).code == 5


def test_r12_account_reset_needs_confirmation_and_shows_the_code_once(
    env: dict[str, str], db: str, people: Any
) -> None:
    user = people["activated"][0]["username"]
    refused = run_cli("account", "reset", user, env=env)
    assert refused.code == 3 and "R12" in refused.err
    done = call("account", "reset", user, "--confirm-self-service-tried", "--format", "json", env=env)
    assert done.code == 0
    code = done.json()["activation_code"]
    assert len(code) == 14
    store = Store(db)
    with store.read() as session:
        assert code not in json.dumps([e.details for e in session.execute(select(AuditEvent)).scalars()])
        assert session.execute(select(User.portal_locked).where(User.username == user)).scalar_one() is False
    store.dispose()


# --- carrier, operators, audit, db -----------------------------------------------------------


def test_carrier_activate_fail_and_run(env: dict[str, str], people: Any) -> None:
    first, second, *rest = [u["username"] for u in people["pending"]]
    assert run_cli("carrier", "activate", first, env=env).code == 0
    twice = call("carrier", "activate", first, env=env)
    assert twice.code == 3 and "R3" in twice.err
    failed = run_cli("carrier", "fail", second, "--reason", "porting not finished", env=env)
    assert failed.code == 0 and "porting not finished" in failed.out
    assert call("carrier", "fail", first, "--reason", " ", env=env).code == 4
    too_long = call("carrier", "fail", rest[0], "--reason", "x" * 201, env=env)
    assert too_long.code == 4 and "reason" in too_long.err and "at most 200 characters" in too_long.err
    ran = run_cli("carrier", "run", "--once", "--delay", "0", env=env)
    assert ran.code == 0
    assert {line.split(":")[0] for line in ran.out.splitlines()} == set(rest)
    shown = call("users", "show", second, "--format", "json", env=env).json()
    assert (shown["status"], shown["status_reason"]) == ("failed", "porting not finished")


def test_r14_operators_first_is_admin_later_helpdesk_and_roles_hold(
    tmp_path: Path, env: dict[str, str], people: Any
) -> None:
    fresh = cli_env(tmp_path, f"sqlite:///{tmp_path / 'fresh.db'}", ONENET_OPERATOR="first")
    assert call("operators", "list", env=fresh).code == 0
    assert run_cli("operators", "add", "second", "--role", "helpdesk", env=fresh).code == 0
    listed = run_cli("operators", "list", "--format", "json", env=fresh).json()
    assert {(o["name"], o["role"]) for o in listed} == {("first", "admin"), ("second", "helpdesk")}
    # An operator seen for the first time later is helpdesk: changes refused, R14.
    active = people["activated"][0]["username"]
    helpdesk = call("--operator", "newcomer", "users", "delete", active, "--yes", env=env)
    assert helpdesk.code == 3 and "R14" in helpdesk.err
    # Global options work after the command too.
    after = call("users", "delete", active, "--yes", "--operator", "newcomer", env=env)
    assert after.code == 3
    assert call("operators", "add", "Bad Name", "--role", "admin", env=env).code == 4


def test_audit_formats(env: dict[str, str], people: Any) -> None:
    call("carrier", "activate", people["pending"][0]["username"], env=env)
    events = run_cli("audit", "--format", "json", env=env).json()
    assert [e["action"] for e in events][:1] == ["tenant.demo"]
    assert set(events[-1]) >= {"at", "operator", "action", "target", "details"}
    # Applied by hand: the person is the operator, for scripts as for people.
    assert events[-1]["action"] == "carrier.activated" and events[-1]["operator"] == "alice"
    rows = list(csv.DictReader(io.StringIO(call("audit", "--format", "csv", "--limit", "1", env=env).out)))
    assert len(rows) == 1 and rows[0]["action"] == "carrier.activated" and rows[0]["operator"] == "alice"
    assert json.loads(rows[0]["details"])["previous"] == "pending"
    table = call("audit", env=env).out
    assert "tenant.demo" in table
    newest = table.splitlines()[-1]
    assert "carrier, applied by alice" in newest and "carrier.activated" in newest
    german = call("--lang", "de", "audit", "--limit", "1", env=env).out
    assert "Netzbetreiber, eingetragen von alice" in german


def test_r14_carrier_run_by_an_administrator_acts_as_the_carrier(env: dict[str, str], people: Any) -> None:
    ran = run_cli("carrier", "run", "--once", "--delay", "0", env=env)
    assert ran.code == 0, ran.err
    events = call("audit", "--format", "json", env=env).json()
    applied = [e for e in events if e["action"].startswith("carrier.")]
    assert len(applied) == len(people["pending"]) and {e["operator"] for e in applied} == {"carrier"}


def test_audit_limit_beyond_what_a_database_accepts_is_a_usage_error(env: dict[str, str]) -> None:
    huge = run_cli("audit", "--limit", "99999999999999999999999", env=env)
    assert huge.code == 2 and huge.out == ""
    assert "--limit" in huge.err and f"too large (at most {format_number(cli.MAX_LIMIT)})" in huge.err
    assert call("audit", "--limit", str(cli.MAX_LIMIT), "--format", "json", env=env).code == 0


def test_an_empty_site_filter_is_invalid_input_naming_the_site(env: dict[str, str]) -> None:
    empty = run_cli("numbers", "list", "--site", "", "--format", "json", env=env)
    assert (empty.code, empty.out) == (4, "")
    assert "site" in empty.err and "is required" in empty.err
    for command in (("numbers", "list"), ("users", "list"), ("groups", "list")):
        assert call(*command, "--site", "  ", env=env).code == 4


def test_db_upgrade_brings_an_old_database_to_the_current_schema(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = Store(url, upgrade=False)
    upgrade_schema(old.engine, "0001_baseline")
    assert current_revision(old.engine) == "0001_baseline"
    old.dispose()
    env = cli_env(tmp_path, url)
    done = run_cli("db", "upgrade", env=env)
    assert done.code == 0 and HEAD_REVISION in done.out
    again = call("db", "upgrade", env=env)
    assert again.code == 0 and "current" in again.out


# --- demo and the remaining exit codes --------------------------------------------------------


def test_demo_refuses_an_existing_tenant_exit_5_unless_force(env: dict[str, str]) -> None:
    refused = run_cli("demo", "--users", "5", env=env)
    assert refused.code == 5 and "--force" in refused.err
    forced = call("demo", "--users", "5", "--force", "--format", "json", env=env)
    assert forced.code == 0 and forced.json()["users"] == 5


def test_environment_and_language_settings(env: dict[str, str], tmp_path: Path) -> None:
    german = run_cli("users", "show", "niemand", env={**env, "ONENET_LANG": "de"})
    assert german.code == 5 and "nicht gefunden" in german.err
    bad_lang = call("users", "list", env={**env, "ONENET_LANG": "fr"})
    assert bad_lang.code == 2
    other = tmp_path / "other.db"
    assert call("--db", f"sqlite:///{other}", "users", "list", "--format", "json", env=env).json() == []


def test_unexpected_failure_exits_1_with_one_line_and_no_traceback(tmp_path: Path) -> None:
    broken = tmp_path / "broken.db"
    broken.write_bytes(b"this is not a database" * 100)
    done = run_cli("users", "list", env=cli_env(tmp_path, f"sqlite:///{broken}"))
    assert done.code == 1
    assert len(done.err.strip().splitlines()) == 1 and "Traceback" not in done.err
    debug = call("users", "list", env=cli_env(tmp_path, f"sqlite:///{broken}", ONENET_DEBUG="1"))
    assert debug.code == 1 and "Traceback" in debug.err


def test_data_is_printed_literally_never_as_terminal_control(env: dict[str, str], db: str, people: Any) -> None:
    user = people["activated"][0]["username"]
    store = Store(db)
    with store.transaction() as session:
        row = session.execute(select(User).where(User.username == user)).scalar_one()
        row.department = "IT\x1b[2J\x9b31m"
    store.dispose()
    shown = run_cli("users", "show", user, env=env)
    assert shown.code == 0 and "\x1b" not in shown.out and "\x9b" not in shown.out and "IT" in shown.out
    as_json = call("users", "show", user, "--format", "json", env=env)
    assert "\x1b" not in as_json.out and "\x9b" not in as_json.out
    assert as_json.json()["department"] == "IT\x1b[2J\x9b31m"  # escaped, not lost
    listed = run_cli("users", "list", "--format", "json", env=env)
    assert "\x1b" not in listed.out and "\x9b" not in listed.out
    assert next(u for u in listed.json() if u["username"] == user)["department"] == "IT\x1b[2J\x9b31m"


# --- R14 before anything else, for every changing command -----------------------------

# Commands that change nothing in the tenant. ``db upgrade`` changes the schema, not
# the tenant's data, and every command opening the database upgrades it anyway.
READ_ONLY = {
    "users_list",
    "users_show",
    "users_export",
    "numbers_list",
    "groups_list",
    "groups_show",
    "sites_list",
    "operators_list",
    "audit_cmd",
    "db_upgrade",
    # Prints a configuration file; reads nothing but the database's URL.
    "registrar_kamailio_config",
}

# Each changing command with input that is invalid (or names nothing) wherever the
# command has input, so that a field check or lookup before the role check shows.
HELPDESK_ATTEMPTS: dict[str, tuple[str, ...]] = {
    "demo_cmd": ("demo", "--users", "5", "--force"),
    "users_add": (
        "users",
        "add",
        "--site",
        "Atlantis",
        "--first",
        " ",
        "--last",
        "B",
        "--email",
        "not-an-address",
        "--number",
        "12",
        "--no-desk-phone",
    ),
    "users_delete": ("users", "delete", "nobody", "--yes"),
    "users_import": ("users", "import", "{tmp}/no-such-file.csv", "--export", "{tmp}/creds.csv"),
    "groups_add_member": ("groups", "add-member", "No such group", "nobody", "--role", "supervisor"),
    "groups_remove_member": ("groups", "remove-member", "No such group", "nobody"),
    "credentials_reset": ("credentials", "reset", "nobody", "--password-stdin", "--export", "{tmp}/creds.csv"),
    "account_reset": ("account", "reset", "nobody"),
    "carrier_activate": ("carrier", "activate", "nobody"),
    "carrier_fail": ("carrier", "fail", "nobody", "--reason", "x" * 300),
    "carrier_run": ("carrier", "run", "--once", "--delay", "0"),
    "operators_add": ("operators", "add", "Bad Name", "--role", "admin"),
    "operators_set_sites": ("operators", "set-sites", "Bad Name", "--site", "Atlantis"),
    "sites_add": ("sites", "add", " ", "--country", "XX", "--domain", "not a host"),
    "sites_rename": ("sites", "rename", "Atlantis", " "),
    "sites_delete": ("sites", "delete", "Atlantis"),
    "numbers_add": ("numbers", "add", "--site", "Atlantis", "12-1"),
    "numbers_remove": ("numbers", "remove", "+49301234567890"),
    "numbers_flag": ("numbers", "flag", "12", "--reason", " "),
    "numbers_unflag": ("numbers", "unflag", "12"),
    "groups_add": ("groups", "add", " ", "--site", "Atlantis", "--kind", "pickup"),
    "groups_rename": ("groups", "rename", "No such group", " "),
    "groups_delete": ("groups", "delete", "No such group", "--yes"),
    "groups_set_members": ("groups", "set-members", "No such group", "nobody:supervisor"),
    "registrar_create_role": ("registrar", "create-role", "--role", 'not "plain"'),
}


def leaf_handlers(parser: Any) -> set[str]:
    """Every command's handler name, found by walking the parser."""
    found: set[str] = set()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                handler = child.get_default("handler")
                found |= {handler} if handler else leaf_handlers(child)
    return found


def test_r14_every_changing_command_is_listed_for_the_helpdesk_test() -> None:
    """A new command is either read-only or gets a case below: it cannot be forgotten."""
    handlers = leaf_handlers(cli.build_parser())
    assert READ_ONLY <= handlers
    assert handlers - READ_ONLY == set(HELPDESK_ATTEMPTS)


def audit_count(db_url: str) -> int:
    store = Store(db_url)
    try:
        with store.read() as session:
            return len(session.execute(select(AuditEvent.id)).all())
    finally:
        store.dispose()


@pytest.mark.parametrize("handler", sorted(HELPDESK_ATTEMPTS))
def test_r14_helpdesk_is_refused_every_change_before_any_field_check(
    handler: str, env: dict[str, str], db: str, tmp_path: Path
) -> None:
    before_events, before_users = audit_count(db), users_by_status(db)
    args = [arg.replace("{tmp}", str(tmp_path)) for arg in HELPDESK_ATTEMPTS[handler]]
    refused = run_cli(*args, env={**env, "ONENET_OPERATOR": "hugo"}, stdin="short\n")
    assert refused.code == 3, refused.err
    assert refused.err.splitlines() == ["onenet-tui: R14: administrators only"]
    assert refused.out == ""
    assert (audit_count(db), users_by_status(db)) == (before_events, before_users)
    assert not (tmp_path / "creds.csv").exists()


# --- a database that cannot be reached or goes away ---------------------------------------


class DroppingProxy:
    """A TCP relay to PostgreSQL that can be cut, as a failing network or
    server would: every relayed connection is shut and nothing is accepted."""

    def __init__(self, target: tuple[str, int]) -> None:
        import socket
        import threading

        self._socket, self._threading = socket, threading
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.connections: list[Any] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = self._socket.create_connection(self.target)
            self.connections += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                self._threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: Any, sink: Any) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass

    def cut(self) -> None:
        for sock in (self.listener, *self.connections):
            with contextlib.suppress(OSError):
                sock.shutdown(self._socket.SHUT_RDWR)
            sock.close()


def pg_via(url: str, port: int) -> str:
    """``url`` (with its schema option) pointed at another local port."""
    from sqlalchemy.engine import make_url

    return make_url(url).set(host="127.0.0.1", port=port).render_as_string(hide_password=False)


def assert_database_lost(done: Result) -> None:
    assert done.code == 1
    lines = done.err.splitlines()
    assert len(lines) == 1, done.err
    assert lines[0].startswith("onenet-tui: cannot reach the database, or the connection to it was lost: ")
    assert "Traceback" not in done.err


def test_no_database_server_listening_is_one_line_exit_1(tmp_path: Path) -> None:
    import socket

    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]  # free once closed: nothing listens there
    done = run_cli("users", "list", env=cli_env(tmp_path, f"postgresql://postgres@127.0.0.1:{port}/test"))
    assert_database_lost(done)
    assert "Connection refused" in done.err


def test_a_server_that_drops_the_connection_is_one_line_exit_1(tmp_path: Path) -> None:
    import socket
    import threading

    server = socket.create_server(("127.0.0.1", 0))

    def hang_up() -> None:
        with contextlib.suppress(OSError):
            while True:
                server.accept()[0].close()

    threading.Thread(target=hang_up, daemon=True).start()
    try:
        url = f"postgresql://postgres@127.0.0.1:{server.getsockname()[1]}/test"
        assert_database_lost(run_cli("audit", env=cli_env(tmp_path, url)))
    finally:
        server.close()


def wait_for_lock_wait(store: Store, timeout: float = 60.0) -> None:
    """Wait until another connection waits for a lock. Each look is its own
    transaction: PostgreSQL keeps one pg_stat_activity snapshot per transaction,
    and a process still starting up would otherwise never be seen waiting."""
    import time

    from sqlalchemy import text

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with store.engine.connect() as conn:
            waiting = conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE wait_event_type = 'Lock' AND datname = current_database()"
                )
            ).scalar_one()
        if waiting:
            return
        time.sleep(0.05)
    raise AssertionError("the command never waited for the held row")


def test_a_database_lost_in_the_middle_of_a_command_is_one_line_exit_1(pg_url: str, tmp_path: Path) -> None:
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    store = Store(pg_url)
    world = build_world(store)
    resolve_actor(store, "alice")  # the first operator: admin
    username = add(world).user.username
    real = make_url(pg_url)
    proxy = DroppingProxy((real.host or "127.0.0.1", real.port or 5432))
    env = cli_env(tmp_path, pg_via(pg_url, proxy.port))
    # Hold the user's row so the command waits inside its transaction, then cut it off.
    with store.engine.connect() as holder:
        holder.execute(text("SELECT id FROM users WHERE username = :u FOR UPDATE"), {"u": username})
        command = subprocess.Popen(
            [sys.executable, "-m", "onenet_tui", "carrier", "activate", username],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            wait_for_lock_wait(store)
            proxy.cut()
            out, err = command.communicate(timeout=60)
        finally:
            if command.poll() is None:
                command.kill()
        holder.rollback()
    assert_database_lost(Result(command.returncode, out, err))
    assert users.view(world.admin, username).status == "pending"
    store.dispose()
