"""Users in by CSV (SPEC section 12): 10,000 rows through whole ``onenet-tui``
processes, as an administrator runs them.

    python benchmarks/user_import.py [--rows 10000] [--runs 3] [--db URL]

Targets: ``users import --dry-run`` of 10,000 rows <= 3 s, the import <= 10 s,
memory <= +150 MB, on SQLite and PostgreSQL. Each figure is one process from
start to exit (Python start and imports included), the median of ``--runs``
runs for the dry runs; an import runs once per tenant (it changes it). Memory
is the process's peak resident set (``wait4``'s ``ru_maxrss``) minus that of
the same command on a one-row file.

The tenant is fresh: one site with a pool of 10,000 numbers (``sites add``,
``numbers add``). The file adds 10,000 users, seven in ten with a desk phone
(their new credentials go to a 0600 file); then the tenant is exported and
that export imported again (every row unchanged). ``--db`` names a
PostgreSQL server: a schema of its own is created there and dropped after.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text

from onenet_tui.data import user_csv


def run(args: list[str], env: dict[str, str]) -> tuple[float, float, float, str]:
    """One ``onenet-tui`` process: wall seconds, peak RSS in MB, CPU seconds, stderr."""
    start = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "onenet_tui", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert process.stderr is not None
    err = process.stderr.read().decode()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode not in (0,):
        raise SystemExit(f"onenet-tui {' '.join(args)} failed ({process.returncode}): {err}")
    return wall, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime, err


def people(path: Path, rows: int) -> None:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(user_csv.COLUMNS)
        for n in range(rows):
            desk = n % 10 < 7
            cells = {
                "username": f"person.{n:05d}",
                "first_name": f"Vorname{n}",
                "last_name": f"Nachname{n % 997}",
                "email": f"person.{n:05d}@example.com",
                "site": "Berlin",
                "number": f"030 1234{n:04d}",
                "device_type": "desk_phone" if desk else "none",
                "desk_phone_model": "yealink-t54w" if desk else "",
                "licence": "standard",
                "services": "voicemail" if n % 3 else "",
                "mobile": "" if desk else "0151 23456789",
                "contract": "" if desk else "7654321",
            }
            writer.writerow([cells.get(c, "") for c in user_csv.COLUMNS])


def median_run(args: list[str], env: dict[str, str], runs: int) -> tuple[float, float, float]:
    results = [run(args, env) for _ in range(runs)]
    return (
        statistics.median(r[0] for r in results),
        max(r[1] for r in results),
        statistics.median(r[2] for r in results),
    )


def measure(url: str, rows: int, runs: int, folder: Path) -> dict[str, tuple[float, float, float]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONENET_")}
    env.update({"ONENET_DB_URL": url, "ONENET_OPERATOR": "bench", "ONENET_CONFIG": str(folder / "none.toml")})
    run(["sites", "add", "Berlin", "--country", "DE", "--domain", "berlin.sip.example.net"], env)
    run(["numbers", "add", "--site", "Berlin", f"030 1234 0000-{rows - 1:04d}"], env)
    big, small = folder / "people.csv", folder / "one.csv"
    people(big, rows)
    people(small, 1)
    figures: dict[str, tuple[float, float, float]] = {}
    figures["baseline: dry run of 1 row"] = median_run(["users", "import", str(small), "--dry-run"], env, runs)
    figures["dry run, 10,000 new users"] = median_run(["users", "import", str(big), "--dry-run"], env, runs)
    figures["import, 10,000 new users (+ credentials CSV)"] = run(
        ["users", "import", str(big), "--export", str(folder / "credentials.csv")], env
    )[:3]
    export = folder / "export.csv"
    figures["export, 10,000 users"] = median_run(["users", "export", "--output", str(export), "--force"], env, runs)
    figures["dry run of that export (all unchanged)"] = median_run(
        ["users", "import", str(export), "--dry-run"], env, runs
    )
    figures["import of that export (all unchanged)"] = run(["users", "import", str(export)], env)[:3]
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--db", help="a PostgreSQL URL (default: SQLite in a temporary folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if args.db:
            schema = f"bench_{uuid.uuid4().hex[:10]}"
            admin = create_engine(args.db)
            with admin.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            sep = "&" if "?" in args.db else "?"
            try:
                figures = measure(f"{args.db}{sep}options=-csearch_path%3D{schema}", args.rows, args.runs, folder)
            finally:
                with admin.begin() as conn:
                    conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                admin.dispose()
        else:
            figures = measure(f"sqlite:///{folder / 'bench.db'}", args.rows, args.runs, folder)
    base = figures["baseline: dry run of 1 row"][1]
    print(f"{'what':48} {'wall s':>7} {'CPU s':>6} {'peak MB':>8} {'growth MB':>10}")
    for what, (wall, rss, cpu) in figures.items():
        print(f"{what:48} {wall:7.2f} {cpu:6.2f} {rss:8.0f} {rss - base:+10.0f}")


if __name__ == "__main__":
    main()
