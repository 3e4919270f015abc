"""SQLite with more than one process (SPEC section 7): reads never wait for a
writer, a writer that cannot get the lock in time is told the database is
busy (exit 5), and any number of processes may open and migrate one file at
once. The other writer is a real process holding SQLite's write lock."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from onenet_tui.data import storage
from onenet_tui.data.context import resolve_actor
from onenet_tui.data.storage import HEAD_REVISION, Store, current_revision, upgrade_schema
from onenet_tui.i18n import t
from tests.helpers import add, build_world, call, cli_env, open_at_once

# Short enough that a test waiting for the lock by mistake fails quickly.
SHORT_BUSY_TIMEOUT = 0.5

HOLD_WRITE_LOCK = textwrap.dedent(
    """
    import sqlite3, sys
    conn = sqlite3.connect(sys.argv[1], isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("UPDATE tenant SET name = name || '!'")
    print("locked", flush=True)
    sys.stdin.readline()
    conn.execute("ROLLBACK")
    """
)


@pytest.fixture
def db_file(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "onenet.db"
    store = Store(f"sqlite:///{path}")
    world = build_world(store)
    add(world)
    resolve_actor(store, "alice")  # known from here on: her reads need no write
    store.dispose()
    yield path


@pytest.fixture
def writer(db_file: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Another process in the middle of a save, holding the write lock."""
    monkeypatch.setattr(storage, "BUSY_TIMEOUT_SECONDS", SHORT_BUSY_TIMEOUT, raising=False)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_WRITE_LOCK, str(db_file)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    yield
    assert holder.stdin is not None
    holder.stdin.write("\n")
    holder.stdin.close()
    holder.wait(30)


def _env(tmp_path: Path, db_file: Path, operator: str = "alice") -> dict[str, str]:
    return cli_env(tmp_path, f"sqlite:///{db_file}", ONENET_OPERATOR=operator)


@pytest.mark.usefixtures("writer")
def test_reads_do_not_wait_for_a_writer_on_sqlite(tmp_path: Path, db_file: Path) -> None:
    env = _env(tmp_path, db_file)
    for args in (("users", "list"), ("users", "show", "juergen.mueller"), ("audit",), ("operators", "list")):
        done = call(*args, env=env)
        assert done.code == 0, (args, done.err)


@pytest.mark.usefixtures("writer")
def test_a_write_behind_another_writer_is_busy_exit_5(tmp_path: Path, db_file: Path) -> None:
    env = _env(tmp_path, db_file)
    busy = t("error.busy")
    started = time.monotonic()
    done = call("users", "delete", "juergen.mueller", "--yes", env=env)
    assert done.code == 5 and busy in done.err, done.err
    assert time.monotonic() - started < 10 * SHORT_BUSY_TIMEOUT
    # An operator seen for the first time has to be registered: a write too.
    newcomer = call("users", "list", env=_env(tmp_path, db_file, operator="newcomer"))
    assert newcomer.code == 5 and busy in newcomer.err, newcomer.err


def _revision(url: str) -> str | None:
    store = Store(url, upgrade=False)
    try:
        return current_revision(store.engine)
    finally:
        store.dispose()


@pytest.mark.parametrize("round_", range(3))
def test_many_processes_open_a_new_database_at_once(tmp_path: Path, round_: int) -> None:
    url = f"sqlite:///{tmp_path / f'new-{round_}.db'}"
    outcomes = open_at_once(tmp_path, url, processes=6)
    assert all(code == 0 for code, _ in outcomes), outcomes
    assert _revision(url) == HEAD_REVISION


@pytest.mark.parametrize("round_", range(3))
def test_many_processes_upgrade_an_older_database_at_once(tmp_path: Path, round_: int) -> None:
    url = f"sqlite:///{tmp_path / f'old-{round_}.db'}"
    old = Store(url, upgrade=False)
    upgrade_schema(old.engine, "0001_baseline")
    old.dispose()
    outcomes = open_at_once(tmp_path, url, processes=6)
    assert all(code == 0 for code, _ in outcomes), outcomes
    assert _revision(url) == HEAD_REVISION
