"""``credentials reset --export`` killed at any moment (issue 12.2, 12.7).

Real ``python -m onenet_tui`` processes are stopped at chosen points by a
``sitecustomize`` module on their path (the code under test carries no hook):
it replaces one function with one that says where it is and waits. The test
then kills the process with SIGKILL or SIGTERM and checks what is left: no
file in the folder but a complete export, the database all or nothing, and
the next ``credentials`` command warns when passwords changed without a
finished file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from onenet_tui.app import OneNetApp
from onenet_tui.data import credentials, exports, handover, secrets
from onenet_tui.data.models import AuditEvent, DeskPhoneCredential
from tests.helpers import World, add, add_active, make_app, ready, users_add

HOOK = """
import os, sys, time

_point = os.environ.get("CRASH_HOOK_AT")
_flag = os.environ.get("CRASH_HOOK_FLAG")


def _stop():
    with open(_flag, "w") as handle:
        handle.write(_point)
    while True:
        time.sleep(0.05)


if _point == "claimed":
    from onenet_tui.data import credentials

    _real_reset = credentials.bulk_reset

    def _reset(*args, **kwargs):
        _stop()
        return _real_reset(*args, **kwargs)

    credentials.bulk_reset = _reset
elif _point == "transaction":
    from onenet_tui.data import secrets

    _real_password = secrets.system_password
    _made = []

    def _password():
        _made.append(1)
        if len(_made) == 2:
            _stop()
        return _real_password()

    secrets.system_password = _password
elif _point == "writing":
    from onenet_tui.data import exports

    _real_rows = exports.write_rows

    def _write_rows(stream, header, rows):
        rows = list(rows)
        _real_rows(stream, header, rows[:1])
        stream.flush()
        _stop()

    exports.write_rows = _write_rows
elif _point == "published":
    from onenet_tui.data import handover

    def _record_exported(*args, **kwargs):
        _stop()

    handover.record_exported = _record_exported
elif _point == "handing_over":
    from onenet_tui.data import handover

    def _record_handed_over(*args, **kwargs):
        _stop()

    handover.record_handed_over = _record_handed_over
"""

# Where the reset stands when the process dies there.
BEFORE_COMMIT = ("claimed", "transaction")
AFTER_COMMIT = ("writing", "published")


def desk_users(world: World) -> list[str]:
    names = [
        add_active(world).user.username,
        add(
            world, first_name="Anna", last_name="Schmidt", email="anna@example.com", number="030 12345002"
        ).user.username,
        add(
            world, first_name="Carla", last_name="Klein", email="carla@example.com", number="030 12345003"
        ).user.username,
    ]
    with world.store.read() as session:
        # Handed over, as the wizard's Next would have: only the reset matters below.
        ids = dict(session.execute(select(DeskPhoneCredential.user_id, DeskPhoneCredential.sip_username)).all())
    for name in names:
        handover.record_handed_over(world.admin, name)
    assert ids
    return names


def digests(world: World) -> dict[int, str]:
    with world.store.read() as session:
        return dict(session.execute(select(DeskPhoneCredential.user_id, DeskPhoneCredential.ha1_sha256)).all())


def resets(world: World) -> int:
    with world.store.read() as session:
        return len(session.execute(select(AuditEvent.id).where(AuditEvent.action == "credentials.bulk_reset")).all())


def env_for(tmp_path: Path, db_url: str, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("ONENET_")}
    hooks = tmp_path / "hooks"
    hooks.mkdir(exist_ok=True)
    (hooks / "sitecustomize.py").write_text(HOOK)
    path = [str(hooks), *filter(None, [os.environ.get("PYTHONPATH")])]
    env.update(
        {
            "PYTHONPATH": os.pathsep.join(path),
            "ONENET_CONFIG": str(tmp_path / "no-config.toml"),
            "ONENET_OPERATOR": "alice",
            "ONENET_DB_URL": db_url,
            "ONENET_LANG": "en",
        }
    )
    env.update(extra)
    return env


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "onenet_tui", *args], env=env, capture_output=True, text=True, timeout=180
    )


def kill_at(
    tmp_path: Path, db_url: str, point: str, sig: signal.Signals, export: Path, command: tuple[str, ...] = ()
) -> int:
    flag = tmp_path / f"flag-{point}-{sig.name}"
    env = env_for(tmp_path, db_url, CRASH_HOOK_AT=point, CRASH_HOOK_FLAG=str(flag))
    process = subprocess.Popen(
        [sys.executable, "-m", "onenet_tui", *(command or ("credentials", "reset", "--all", "--export", str(export)))],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not flag.exists():
        if process.poll() is not None:
            pytest.fail(f"ended before {point}: {process.stderr.read() if process.stderr else ''}")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"never reached {point}")
        time.sleep(0.02)
    process.send_signal(sig)
    process.communicate(timeout=60)
    return process.returncode


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGHUP], ids=["sigkill", "sigterm", "sighup"])
@pytest.mark.parametrize("point", [*BEFORE_COMMIT, *AFTER_COMMIT])
def test_r10_a_killed_export_leaves_no_secret_file_and_the_next_command_warns(
    world: World, db_url: str, tmp_path: Path, point: str, sig: signal.Signals
) -> None:
    names = desk_users(world)
    before = digests(world)
    folder = tmp_path / "export"
    folder.mkdir()
    export = folder / "out.csv"

    code = kill_at(tmp_path, db_url, point, sig, export)
    # SIGTERM and SIGHUP unwind like ctrl+c and exit 128+N; SIGKILL gives no chance at all.
    assert code == (-signal.SIGKILL if sig is signal.SIGKILL else 128 + sig)

    left = sorted(p.name for p in folder.iterdir())
    after = digests(world)
    if point in BEFORE_COMMIT:
        assert left == []
        assert after == before and resets(world) == 0
    else:
        # All passwords changed in the one transaction, or none did.
        assert set(after) == set(before) and all(after[uid] != before[uid] for uid in before)
        assert resets(world) == 1
        if point == "writing":
            assert left == []  # the half-written file never had a name
        else:
            assert left == ["out.csv"]
            rows = exports.read_csv(export)
            assert sorted(r["username"] for r in rows) == sorted(names)
            with world.store.read() as session:
                stored = {
                    c.sip_username: (c.realm, c.ha1_sha256)
                    for c in session.execute(select(DeskPhoneCredential)).scalars()
                }
            for row in rows:
                realm, ha1 = stored[row["sip_username"]]
                assert secrets.ha1(row["sip_username"], realm, row["password"], "sha256") == ha1

    # The next credentials command says whether passwords changed without a finished export.
    nxt = cli(env_for(tmp_path, db_url), "credentials", "reset", "nobody", "--export", str(folder / "next.csv"))
    assert nxt.returncode == 5
    warned = "never completed" in nxt.stderr
    assert warned == (point in AFTER_COMMIT), nxt.stderr
    if warned:
        assert str(export) in nxt.stderr and "3 desk phone passwords" in nxt.stderr
    assert not (folder / "next.csv").exists()


def test_r10_a_folder_as_export_target_is_refused_before_any_password_changes(
    world: World, db_url: str, tmp_path: Path
) -> None:
    desk_users(world)
    before = digests(world)
    folder = tmp_path / "somedir"
    folder.mkdir()
    done = cli(env_for(tmp_path, db_url), "credentials", "reset", "--all", "--export", str(folder), "--force")
    assert done.returncode == 4, done.stderr
    assert "export" in done.stderr and "folder" in done.stderr
    assert digests(world) == before and resets(world) == 0
    assert list(folder.iterdir()) == []


def test_r8_credentials_printed_by_users_add_count_as_handed_over(world: World, db_url: str, tmp_path: Path) -> None:
    done = cli(env_for(tmp_path, db_url), *users_add("030 12345001", email="juergen@example.com"))
    assert done.returncode == 0, done.stderr
    with world.store.read() as session:
        assert handover.never_handed_over(session) == frozenset()
        handed = session.execute(select(AuditEvent).where(AuditEvent.action == "credentials.handed_over")).scalar_one()
    assert handed.target == "juergen.mueller" and "password" not in str(handed.details)


def test_r8_users_add_killed_after_printing_before_the_hand_over_leaves_never_handed_over(
    world: World, db_url: str, tmp_path: Path
) -> None:
    """The flag is written by the add's own transaction: a process killed
    between the commit (the password printed) and the hand-over's leaves
    the user marked, on both backends."""
    command = users_add("030 12345001", email="juergen@example.com")
    code = kill_at(tmp_path, db_url, "handing_over", signal.SIGKILL, tmp_path / "unused", tuple(command))
    assert code == -signal.SIGKILL
    with world.store.read() as session:
        user_id = session.execute(select(DeskPhoneCredential.user_id)).scalar_one()
        assert handover.never_handed_over(session) == {user_id}
        handed = session.execute(select(AuditEvent).where(AuditEvent.action == "credentials.handed_over")).all()
    assert handed == []


def console_notices(app: OneNetApp) -> list[str]:
    return [n.message for n in app._notifications]


@pytest.mark.sqlite_only
async def test_r10_the_console_says_at_start_when_a_killed_reset_never_completed_its_file(
    world: World, db_url: str, tmp_path: Path
) -> None:
    desk_users(world)
    app = make_app(world)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await app.workers.wait_for_complete()
        assert not any("never" in notice for notice in console_notices(app))
    folder = tmp_path / "export"
    folder.mkdir()
    kill_at(tmp_path, db_url, "writing", signal.SIGKILL, folder / "out.csv")
    app = make_app(world)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await app.workers.wait_for_complete()
        await pilot.pause()
        [warning] = [notice for notice in console_notices(app) if "never completed" in notice]
    assert "3 desk phone passwords" in warning and str(folder / "out.csv") in warning and "alice" in warning


@pytest.mark.sqlite_only
async def test_r10_a_console_reset_left_without_export_is_reported_at_the_next_start(world: World) -> None:
    desk_users(world)
    with world.store.read() as session:
        ids = list(session.execute(select(DeskPhoneCredential.user_id)).scalars())
    credentials.bulk_reset(world.admin, ids)  # the link dropped on the result screen
    app = make_app(world)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await app.workers.wait_for_complete()
        await pilot.pause()
        [warning] = [notice for notice in console_notices(app) if "never exported" in notice]
    assert "3 desk phone passwords" in warning
