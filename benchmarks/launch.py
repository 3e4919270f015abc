"""Benchmark: launch as users meet it, from the command to the first rows in a
real terminal (a pty of 120x40), whole processes, beside references started
the same way in the same run.

    python benchmarks/launch.py [--users 100000] [--runs 10] [--datatable]

Each run forks a process on a fresh pty, starts the clock just before
``exec`` and reads the bytes the process writes to its terminal until the
text of a row appears (a user's "Last, First" name, escape sequences
stripped), then kills it. Measured:

- ``console``: ``onenet-tui --db sqlite:///...`` on the cached tenant of
  ``benchmarks/directory.py`` (imports, store, actor, first page, first frame);
- ``fastdatatable``: ``benchmarks/launch_reference.py fastdatatable``, a
  textual-fastdatatable app on the same rows (read with stdlib sqlite3);
- ``datatable`` (with ``--datatable``): the same with Textual's DataTable
  (all rows added: 15 s and more);
- floors: ``python -c pass`` (to its exit) and a bare Textual app painting
  one word (``launch_reference.py bare``).

Prints median and p95 per command, the median CPU time the process used
until it was killed (user + system: on a shared machine the wall clock also
counts waiting for a core, this does not), and the console's ratio to each;
``--compare DIR`` adds the console of another checkout (the code before a
change), run the same way in the same run. Each command runs once first,
uncounted, so Python's bytecode caches exist as after an installation.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import re
import select
import signal
import sqlite3
import statistics
import struct
import sys
import termios
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# CSI and OSC sequences, and the lone ESC-x ones: what a terminal would not show.
ESCAPES = re.compile(rb"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_()][0-9A-Za-z]?")
CANDIDATE = re.compile(r"[^\s,│┃|]+, [^\s│┃|…]+")
TIMEOUT = 30.0


def names(url: str) -> frozenset[str]:
    """Every user's name as the tables show it: the marker of a painted row."""
    path = url.removeprefix("sqlite:///")
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        return frozenset(f"{last}, {first}" for last, first in conn.execute("SELECT last_name, first_name FROM users"))


def launch(
    command: list[str], env: dict[str, str], done: re.Pattern[str] | frozenset[str] | None, cwd: Path = ROOT
) -> float:
    """Seconds from exec to ``done`` seen on the terminal (None: to exit), run in ``cwd``
    (``python -c`` imports from there first)."""
    return launch_with_cpu(command, env, done, cwd)[0]


def launch_with_cpu(
    command: list[str], env: dict[str, str], done: re.Pattern[str] | frozenset[str] | None, cwd: Path = ROOT
) -> tuple[float, float]:
    """As :func:`launch`, and the CPU seconds the process used until it was killed."""
    started = time.perf_counter()
    pid, fd = os.forkpty()
    if pid == 0:  # the child: a 120x40 terminal, then the command
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        os.chdir(cwd)
        os.execvpe(command[0], command, env)
    seen = b""
    try:
        while True:
            if time.perf_counter() - started > TIMEOUT:
                raise TimeoutError(f"{command}: no row after {TIMEOUT} s; last output {seen[-400:]!r}")
            ready, _, _ = select.select([fd], [], [], 0.05)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # the child closed its terminal: it exited
                chunk = b""
            if not chunk:
                if done is None:
                    return time.perf_counter() - started, reap(pid)
                raise RuntimeError(f"{command} exited before a row: {seen[-400:]!r}")
            seen += chunk
            if done is None:
                continue
            text = ESCAPES.sub(b"", seen).decode("utf-8", "replace")
            if isinstance(done, frozenset):
                if any(found in done for found in CANDIDATE.findall(text)):
                    return time.perf_counter() - started, reap(pid)
            elif done.search(text):
                return time.perf_counter() - started, reap(pid)
    finally:
        reap(pid)
        os.close(fd)


def reap(pid: int) -> float:
    """Kill ``pid`` (once), wait for it and return the CPU seconds it used (user + system)."""
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        _, _, usage = os.wait4(pid, 0)
    except ChildProcessError:  # reaped already: the figure was taken then
        return 0.0
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--datatable", action="store_true", help="add Textual's DataTable (many seconds per run)")
    parser.add_argument("--compare", type=Path, help="also the console of another checkout (e.g. before a change)")
    args = parser.parse_args()

    from benchmarks.directory import tenant_url

    url = tenant_url(args.users)
    marker = names(url)
    env = dict(os.environ, TERM="xterm-256color", COLORTERM="truecolor", PYTHONPATH=str(ROOT))
    env.pop("NO_COLOR", None)
    # As installed: with bytecode caches (written by the warm-up run below).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    python = sys.executable
    reference = str(ROOT / "benchmarks" / "launch_reference.py")
    commands: dict[str, tuple[list[str], re.Pattern[str] | frozenset[str] | None]] = {
        "python -c pass": ([python, "-c", "pass"], None),
        "bare Textual app": ([python, reference, "bare", url], re.compile("launched")),
        "console": ([python, "-c", "from onenet_tui.cli import main; main()", "--db", url], marker),
        "fastdatatable": ([python, reference, "fastdatatable", url], marker),
    }
    if args.compare:
        commands["console (--compare)"] = (commands["console"][0], marker)
    if args.datatable:
        commands["datatable"] = ([python, reference, "datatable", url], marker)
    env["ONENET_OPERATOR"] = "benchmark"
    times: dict[str, list[float]] = {name: [] for name in commands}
    cpus: dict[str, list[float]] = {name: [] for name in commands}
    for name, (command, done) in commands.items():  # warm-up: caches, not counted
        tree = args.compare.resolve() if name == "console (--compare)" else ROOT
        launch(command, dict(env, PYTHONPATH=str(tree)), done, tree)
    # Interleaved, so a busy moment on the machine hits every command alike.
    for _ in range(args.runs):
        for name, (command, done) in commands.items():
            tree = args.compare.resolve() if name == "console (--compare)" else ROOT
            wall, cpu = launch_with_cpu(command, dict(env, PYTHONPATH=str(tree)), done, tree)
            times[name].append(wall)
            cpus[name].append(cpu)
    print(f"launch to first rows in a 120x40 pty, {args.users:,} users, {args.runs} runs")
    print(f"{'command':<22} {'median':>8} {'p95':>8} {'CPU':>8}  console / this (median)")
    console = statistics.median(times["console"])
    for name, values in times.items():
        median = statistics.median(values)
        p95 = statistics.quantiles(values, n=20)[-1] if len(values) > 1 else values[0]
        cpu = statistics.median(cpus[name])
        print(f"{name:<22} {median * 1000:7.0f}ms {p95 * 1000:7.0f}ms {cpu * 1000:6.0f}ms  {console / median:.2f}")


if __name__ == "__main__":
    main()
