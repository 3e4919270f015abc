"""Round trips and wall time against a remote PostgreSQL (issue 20, item 3).

    python benchmarks/remote_db.py [--pg URL] [--users 250] [--runs 3]

A demo tenant is built in a fresh schema of the PostgreSQL at ``--pg``
(default ``ONENET_TEST_PG_URL``), then every measurement goes through
``benchmarks/latency_proxy.py`` on the loopback, at 0 ms and at 25 ms each
way (50 ms round trip). Round trips are the turns the proxy sees the server
answer (TCP handshake, libpq start-up, BEGIN/COMMIT and SQLAlchemy's own
questions included); the reference is ``psql -c 'select 1'`` through the
same proxy: one connect and one query, the floor for any command. Each
command runs as a user runs it, a new process; the console in a
pseudo-terminal (120x40), timed to the first directory rows on screen.
Times are medians of ``--runs`` runs. ``--compare DIR`` adds the console of
another checkout (the code before a change), launched the same way in the
same run. The schema is dropped at the end.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import pty
import resource
import select
import signal
import statistics
import struct
import subprocess
import sys
import termios
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.latency_proxy import LatencyProxy  # noqa: E402

COLUMNS, LINES = 120, 40
ONE_WAY = 0.025


def _env(config: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ONENET_", "PG"))}
    env.update(ONENET_CONFIG=str(config), ONENET_OPERATOR="bench", TERM="xterm-256color", LANG="C.UTF-8")
    return env


def _onenet(*args: str) -> list[str]:
    return [sys.executable, "-m", "onenet_tui", *args]


def _through(proxy: LatencyProxy, url: str) -> str:
    return make_url(url).set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class Measure:
    """One command at one delay: round trips and connections of the last
    run, wall seconds as the median of the runs."""

    def __init__(self, proxy: LatencyProxy, runs: int) -> None:
        self.proxy, self.runs = proxy, runs

    def __call__(self, run: Callable[[], float | None]) -> tuple[int, int, float, float]:
        walls, cpus = [], []
        for _ in range(self.runs):
            self.proxy.reset()
            cpu, started = _children_cpu(), time.perf_counter()
            until = run()
            walls.append((until if until is not None else time.perf_counter()) - started)
            cpus.append(_children_cpu() - cpu)
            counts = self.proxy.counts()
        return counts.round_trips, counts.connections, statistics.median(walls), statistics.median(cpus)


def _children_cpu() -> float:
    """CPU seconds of the finished child processes: on a shared machine the
    wall clock includes waiting for a core, this does not."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _subprocess(args: list[str], env: dict[str, str]) -> Callable[[], None]:
    def run() -> None:
        subprocess.run(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)

    return run


def _console_to_first_rows(
    url: str, env: dict[str, str], names: list[bytes], proxy: LatencyProxy, tree: Path | None = None
) -> Callable[[], float]:
    """The console in a pty, until a directory row (a user's name) is on screen;
    the one of checkout ``tree`` if given."""
    if tree is not None:
        env = dict(env, PYTHONPATH=str(tree))

    def run() -> float:
        pid, fd = pty.fork()
        if pid == 0:
            if tree is not None:
                os.chdir(tree)
            os.execvpe(sys.executable, _onenet("--db", url), env)
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", LINES, COLUMNS, 0, 0))
        seen, shown, deadline = b"", None, time.monotonic() + 30
        try:
            while shown is None and time.monotonic() < deadline:
                ready, _, _ = select.select([fd], [], [], 0.05)
                if ready:
                    try:
                        seen += os.read(fd, 65536)
                    except OSError:
                        break
                    if any(name in seen for name in names):
                        shown = time.perf_counter()
                        rows_counts.append(proxy.counts())
        finally:
            os.kill(pid, signal.SIGTERM)
            while select.select([fd], [], [], 0.3)[0]:
                try:
                    if not os.read(fd, 65536):
                        break
                except OSError:
                    break
            os.waitpid(pid, 0)
            os.close(fd)
        if shown is None:
            raise RuntimeError("the console showed no directory rows within 30 s")
        return shown

    rows_counts: list[object] = []
    run.rows_counts = rows_counts  # type: ignore[attr-defined]
    return run


def _user_page(url: str, username: str) -> Callable[[], None]:
    """A user's page as the detail screen's worker reads it, on a console's
    open store (its connection pooled, as after launch)."""
    from onenet_tui.data import audit
    from onenet_tui.data.context import Actor, Context
    from onenet_tui.data.models import Role
    from onenet_tui.data.storage import Store
    from onenet_tui.screens.user_detail import read_user

    store = Store(url)
    ctx = Context(store, Actor("bench", Role.ADMIN))
    audit.latest(ctx)

    def run() -> None:
        audit.latest(ctx)
        read_user(ctx, username, None)

    run.store = store  # type: ignore[attr-defined]
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--pg", default=os.environ.get("ONENET_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
    )
    parser.add_argument("--users", type=int, default=250)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--compare", type=Path, help="also the console of another checkout (e.g. before a change)")
    options = parser.parse_args()

    base = make_url(options.pg).set(drivername="postgresql+psycopg")
    schema = f"bench_rtt_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = base.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    config = Path(f"/tmp/{schema}-no-config.toml")
    env = _env(config)
    try:
        subprocess.run(
            _onenet("--db", url, "demo", "--users", str(options.users)), env=env, stdout=subprocess.DEVNULL, check=True
        )
        listed = subprocess.run(
            _onenet("--db", url, "users", "list", "--format", "json"), env=env, capture_output=True, check=True
        )
        people = json.loads(listed.stdout)
        names = [f"{p['last_name']}, {p['first_name']}".encode() for p in people]
        username = people[0]["username"]
        table = {
            delay: measure_all(url, env, names, username, delay, options.runs, options.compare)
            for delay in (0.0, ONE_WAY)
        }
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    report(table, options.users)


def measure_all(
    url: str, env: dict[str, str], names: list[bytes], username: str, delay: float, runs: int, compare: Path | None
) -> dict[str, tuple[int, int, float, float]]:
    target = make_url(url)
    with LatencyProxy((target.host or "127.0.0.1", target.port or 5432), delay=delay) as proxy:
        measure = Measure(proxy, runs)
        via = _through(proxy, url)
        rows: dict[str, tuple[int, int, float, float]] = {}
        rows["reference: psql -c 'select 1'"] = measure(
            _subprocess(["psql", "-X", "-q", "-d", _libpq(via), "-c", "select 1"], env)
        )
        rows["onenet-tui --help"] = measure(_subprocess(_onenet("--help"), env))
        rows[f"users show {username}"] = measure(_subprocess(_onenet("--db", via, "users", "show", username), env))
        rows["users list --format json"] = measure(
            _subprocess(_onenet("--db", via, "users", "list", "--format", "json"), env)
        )
        consoles = {"console: launch to first rows": None}
        if compare is not None:
            consoles["console before (--compare)"] = compare.resolve()
        for name, tree in consoles.items():
            launch = _console_to_first_rows(via, env, names, proxy, tree)
            _, _, wall, cpu = measure(launch)
            at_rows = launch.rows_counts[-1]  # type: ignore[attr-defined]
            rows[name] = (at_rows.round_trips, at_rows.connections, wall, cpu)
        page = _user_page(via, username)
        try:
            rows["console: open a user's page"] = measure(page)
        finally:
            page.store.dispose()  # type: ignore[attr-defined]
    return rows


def report(table: dict[float, dict[str, tuple[int, int, float, float]]], users: int) -> None:
    zero, slow = table[0.0], table[ONE_WAY]
    floor = slow["reference: psql -c 'select 1'"][2]
    print(f"PostgreSQL through the latency proxy, {users} users (medians)\n")
    print(
        "| action | round trips (connections) | 0 ms RTT | 50 ms RTT | added by 50 ms | 50 ms vs psql"
        " | CPU (50 ms run) |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, (trips, connections, wall, cpu) in slow.items():
        added = wall - zero[name][2]
        print(
            f"| {name} | {trips} ({connections}) | {zero[name][2]:.2f} s | {wall:.2f} s | {added:+.2f} s"
            f" | {wall / floor:.1f}x | {cpu:.2f} s |"
        )
    mismatched = [name for name in slow if slow[name][0] != zero[name][0]]
    for name in mismatched:
        print(f"\n{name}: {zero[name][0]} round trips at 0 ms, {slow[name][0]} at 50 ms (threads racing)")
    print("\nCPU: the processes' own (user + system); the in-process page read shows none.")


if __name__ == "__main__":
    main()
