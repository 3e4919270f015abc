"""Setting up a real tenant at scale (SPEC section 11), the whole command-line
process timed as an administrator runs it.

    python benchmarks/tenant_setup.py [--runs 3] [--db URL]

- ``numbers add`` of a 10,000 range (target: under 2 s on SQLite), into an
  empty pool and into a tenant that already holds 50,000 numbers;
- ``numbers remove`` of the same 10,000 free numbers;
- ``groups set-members`` of a pickup group with 2,000 members (one
  transaction, one audit event) and ``groups show`` of it.

Each run starts from a fresh database (SQLite in a temporary folder, or, with
``--db``, a PostgreSQL database whose tables are dropped first). Wall-clock
and CPU seconds, medians of ``--runs``.
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
from collections.abc import Callable
from pathlib import Path

RANGE = "+493012340000-+493012349999"


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cli(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall-clock and CPU seconds of one ``onenet-tui`` process."""
    cpu, started = _children_cpu(), time.perf_counter()
    subprocess.run([sys.executable, "-m", "onenet_tui", *args], env=env, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started, _children_cpu() - cpu


def fresh_env(folder: Path, db: str | None, run: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONENET_")}
    url = db or f"sqlite:///{folder / f'tenant-{run}.db'}"
    if db:
        from sqlalchemy import create_engine, text

        engine = create_engine(db.replace("postgresql://", "postgresql+psycopg://", 1))
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        engine.dispose()
    env.update({"ONENET_DB_URL": url, "ONENET_OPERATOR": "bench", "ONENET_CONFIG": str(folder / "no-config.toml")})
    return env


def site(env: dict[str, str]) -> None:
    cli(["sites", "add", "Berlin", "--country", "DE", "--domain", "berlin.sip.example.net"], env)


def empty_pool(env: dict[str, str]) -> tuple[float, float]:
    site(env)
    return cli(["numbers", "add", "--site", "Berlin", RANGE], env)


def full_tenant(env: dict[str, str]) -> tuple[float, float]:
    site(env)
    for block in range(5):
        start = 12350000 + block * 10_000
        cli(["numbers", "add", "--site", "Berlin", f"+4930{start}-+4930{start + 9999}"], env)
    return cli(["numbers", "add", "--site", "Berlin", RANGE], env)


def remove(env: dict[str, str]) -> tuple[float, float]:
    site(env)
    cli(["numbers", "add", "--site", "Berlin", RANGE], env)
    return cli(["numbers", "remove", RANGE], env)


def _members(env: dict[str, str]) -> list[str]:
    """2,000 users of one site, straight into the tables (the benchmark is the
    membership save, not adding users one by one)."""
    from sqlalchemy import insert, select

    from onenet_tui.data.models import PhoneNumber, User, utcnow
    from onenet_tui.data.storage import Store

    store = Store(env["ONENET_DB_URL"])
    try:
        with store.transaction() as session:
            numbers = session.execute(select(PhoneNumber).order_by(PhoneNumber.e164).limit(2000)).scalars().all()
            now = utcnow()
            rows = [
                {
                    "first_name": f"Vorname{i}",
                    "last_name": f"Nachname{i}",
                    "username": f"user{i:04d}",
                    "site_id": n.site_id,
                    "number_id": n.id,
                    "extension": n.e164[-4:],
                    "device_type": "none",
                    "licence": "standard",
                    "services": [],
                    "email": f"user{i}@example.com",
                    "mobile": "+4915123456789",
                    "contract": "1234567",
                    "created_at": now,
                    "status_changed_at": now,
                }
                for i, n in enumerate(numbers)
            ]
            session.execute(insert(User), rows)
        return [r["username"] for r in rows]
    finally:
        store.dispose()


def set_members(env: dict[str, str]) -> tuple[float, float]:
    site(env)
    cli(["numbers", "add", "--site", "Berlin", RANGE], env)
    cli(["groups", "add", "--site", "Berlin", "--kind", "pickup", "Empfang"], env)
    members = _members(env)
    return cli(["groups", "set-members", "Empfang", *members], env)


def show(env: dict[str, str]) -> tuple[float, float]:
    set_members(env)
    return cli(["groups", "show", "Empfang", "--format", "json"], env)


CASES: list[tuple[str, Callable[[dict[str, str]], tuple[float, float]], str]] = [
    ("numbers add, 10,000 range, empty pool", empty_pool, "< 2 s (SQLite)"),
    ("numbers add, 10,000 range, 50,000 numbers there", full_tenant, "< 2 s (SQLite)"),
    ("numbers remove, 10,000 free numbers", remove, "-"),
    ("groups set-members, 2,000 members", set_members, "-"),
    ("groups show --format json, 2,000 members", show, "-"),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--db", help="a PostgreSQL URL to use instead of SQLite (its tables are dropped)")
    options = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="onenet-tenant-bench-"))
    results = []
    run = 0
    for name, case, target in CASES:
        timings = []
        for _ in range(options.runs):
            run += 1
            timings.append(case(fresh_env(folder, options.db, run)))
        wall = statistics.median(w for w, _ in timings)
        cpu = statistics.median(c for _, c in timings)
        results.append((name, wall, cpu, target))
    width = max(len(name) for name, *_ in results)
    print(f"{'what':<{width}}  {'wall s':>7}  {'CPU s':>7}  target")
    for name, wall, cpu, target in results:
        print(f"{name:<{width}}  {wall:7.2f}  {cpu:7.2f}  {target}")
    backend = "PostgreSQL" if options.db else "SQLite"
    print(f"\n{backend}; {os.cpu_count()} CPUs, load average now {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for path in folder.iterdir():
        path.unlink()
    folder.rmdir()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
