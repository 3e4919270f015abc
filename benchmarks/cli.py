"""Command-line timings (SPEC section 9) on a demo tenant of 100,000 users.

    python benchmarks/cli.py [--users 100000] [--keep DIR]

Runs the real console script in subprocesses, as a user would, and prints
wall-clock times next to the targets: ``onenet-tui --help`` (<= 0.3 s),
``demo --users 100000`` (< 15 s) and ``users list --format json`` (< 5 s).
Timings are medians of a few runs where a run is cheap.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall-clock and CPU seconds of one run. On a shared machine the CPU
    time shows what the wall clock would be without the neighbours."""
    cpu, started = _children_cpu(), time.perf_counter()
    subprocess.run([sys.executable, "-m", "onenet_tui", *args], env=env, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started, _children_cpu() - cpu


def median(runs: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, help="build the database in this folder and keep it")
    options = parser.parse_args()

    folder = options.keep or Path(tempfile.mkdtemp(prefix="onenet-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / f"cli-{options.users}.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONENET_")}
    env.update(
        {
            "ONENET_DB_URL": f"sqlite:///{db}",
            "ONENET_OPERATOR": "bench",
            "ONENET_CONFIG": str(folder / "no-config.toml"),
        }
    )

    rows: list[tuple[str, tuple[float, float], str]] = [
        ("onenet-tui --help (median of 5)", median([timed(["--help"], env) for _ in range(5)]), "<= 0.3 s"),
        (
            f"demo --users {options.users} --force",
            timed(["demo", "--users", str(options.users), "--force"], env),
            "< 15 s",
        ),
        (
            "users list --format json (median of 3)",
            median([timed(["users", "list", "--format", "json"], env) for _ in range(3)]),
            "< 5 s",
        ),
        ("users list (table)", timed(["users", "list"], env), "-"),
    ]
    width = max(len(name) for name, _, _ in rows)
    print(f"{'what':<{width}}  {'wall s':>7}  {'CPU s':>7}  target")
    for name, (wall, cpu), target in rows:
        print(f"{name:<{width}}  {wall:7.2f}  {cpu:7.2f}  {target}")
    print(f"\n{os.cpu_count()} CPUs, load average now {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if not options.keep:
        for path in folder.iterdir():
            path.unlink()
        folder.rmdir()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
