"""Bulk desk phone credentials (SPEC section 9): new system-generated passwords
for 10,000 desk phone users in one transaction, plus the CSV export.

    python benchmarks/bulk_credentials.py [--users 10000] [--runs 3] [--db URL] [--keep DIR]

Target: <= 3 s wall time and <= +100 MB memory for ``bulk_reset`` + writing
the CSV. The tenant comes from the demo builder (bulk inserts), built in a
child process so that its memory does not count here; the database is
SQLite in a temporary folder unless ``--db`` names another (PostgreSQL
included: ``postgresql+psycopg://postgres@127.0.0.1:5432/test``, whose demo
tenant is then replaced).

Memory is measured twice: the growth of the process's peak resident set
(``ru_maxrss``) over the first run, and the peak of Python allocations under
``tracemalloc`` in a separate run (tracemalloc slows Python down, so that
run is not timed). Wall times are medians over ``--runs`` runs; CPU time is
shown beside them because the machine may be shared.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from sqlalchemy import select

from onenet_tui.data import bulk, credentials, demo
from onenet_tui.data.context import Actor, Context
from onenet_tui.data.models import DeviceType, Role, User
from onenet_tui.data.storage import Store

ADMIN = Actor("bench", Role.ADMIN)
# The demo gives about three users in four a desk phone; build enough of them.
DESK_SHARE = 0.7


def build(url: str, users: int) -> None:
    """Runs in a child process: the demo tenant, replacing any tenant there."""
    store = Store(url)
    demo.build(Context(store, ADMIN), users=min(demo.MAX_USERS, int(users / DESK_SHARE) + 100), force=True)
    store.dispose()


def desk_phone_ids(store: Store, count: int) -> list[int]:
    query = select(User.id).where(User.device_type == DeviceType.DESK_PHONE.value)  # type: ignore[call-overload]
    with store.read() as session:
        ids = list(session.execute(query.order_by(User.id).limit(count)).scalars())
    if len(ids) < count:
        raise SystemExit(f"the tenant has only {len(ids)} desk phone users; use a bigger demo")
    return ids


def peak_rss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def one_run(ctx: Context, ids: list[int], export: Path) -> dict[str, float]:
    wall0, cpu0 = time.perf_counter(), time.process_time()
    result = credentials.bulk_reset(ctx, ids)
    wall1, cpu1 = time.perf_counter(), time.process_time()
    bulk.export_credentials(export, result.issued)
    wall2, cpu2 = time.perf_counter(), time.process_time()
    assert len(result.issued) == len(ids)
    return {
        "reset_wall": wall1 - wall0,
        "reset_cpu": cpu1 - cpu0,
        "csv_wall": wall2 - wall1,
        "csv_cpu": cpu2 - cpu1,
        "total_wall": wall2 - wall0,
        "total_cpu": cpu2 - cpu0,
    }


def preview_seconds(ctx: Context, ids: list[int]) -> float:
    started = time.perf_counter()
    preview = bulk.preview(ctx, ids)
    assert len(preview.issue) == len(ids)
    return time.perf_counter() - started


def result_screen_seconds(ctx: Context, ids: list[int]) -> float:
    """The result screen with every row, headless: from push to first paint."""
    from textual.app import App

    from onenet_tui.screens.bulk_result import BulkResultScreen

    result = credentials.bulk_reset(ctx, ids)

    class Host(App[None]):
        pass

    async def show() -> float:
        app = Host()
        async with app.run_test(size=(80, 24)) as pilot:
            started = time.perf_counter()
            await app.push_screen(BulkResultScreen(result))
            await pilot.pause()
            return time.perf_counter() - started

    return asyncio.run(show())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=10_000, help="desk phone users to reset (default 10,000)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--db", help="database URL (default: SQLite in a temporary folder)")
    parser.add_argument("--keep", type=Path, help="folder for the SQLite database and the CSV files, kept")
    parser.add_argument("--build-only", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()

    folder = options.keep or Path(tempfile.mkdtemp(prefix="onenet-bulk-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    url = options.db or f"sqlite:///{folder / f'bulk-{options.users}.db'}"
    if options.build_only:
        build(url, options.users)
        return 0

    started = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            __file__,
            "--users",
            str(options.users),
            "--build-only",
            "--keep",
            str(folder),
            *(["--db", options.db] if options.db else []),
        ],
        check=True,
    )
    build_seconds = time.perf_counter() - started

    store = Store(url)
    ctx = Context(store, ADMIN)
    ids = desk_phone_ids(store, options.users)

    rss_before = peak_rss_kib()
    runs = [one_run(ctx, ids, folder / f"run-{n}.csv") for n in range(options.runs)]
    rss_growth_mb = (peak_rss_kib() - rss_before) / 1024

    tracemalloc.start()
    one_run(ctx, ids, folder / "traced.csv")
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    traced_mb = traced_peak / 1024 / 1024

    preview = preview_seconds(ctx, ids)
    screen = result_screen_seconds(ctx, ids)
    csv_size = (folder / "run-0.csv").stat().st_size / 1024 / 1024
    store.dispose()

    def med(key: str) -> float:
        return statistics.median(r[key] for r in runs)

    total = med("total_wall")
    backend = url.split(":", 1)[0]
    rows = [
        ("`bulk_reset` (one transaction)", f"{med('reset_wall'):.2f} s", f"{med('reset_cpu'):.2f} s", ""),
        ("CSV export (atomic, 0600)", f"{med('csv_wall'):.2f} s", f"{med('csv_cpu'):.2f} s", ""),
        (
            "**reset + CSV**",
            f"**{total:.2f} s**",
            f"{med('total_cpu'):.2f} s",
            "<= 3 s " + ("✓" if total <= 3 else "✗"),
        ),
        (
            "peak RSS growth over the runs",
            f"+{rss_growth_mb:.0f} MB",
            "",
            "<= +100 MB " + ("✓" if rss_growth_mb <= 100 else "✗"),
        ),
        (
            "peak Python allocations (tracemalloc)",
            f"{traced_mb:.0f} MB",
            "",
            "<= 100 MB " + ("✓" if traced_mb <= 100 else "✗"),
        ),
        ("preview (who gets a password, who is skipped)", f"{preview:.2f} s", "", ""),
        ("result screen, 10,000 rows, push to paint (headless)", f"{screen:.2f} s", "", ""),
    ]
    print(
        f"\n{options.users:,} desk phone users, system-generated passwords, {backend}; "
        f"median of {options.runs} runs; CSV {csv_size:.1f} MB; demo tenant built in {build_seconds:.1f} s\n"
    )
    print("| what | wall | CPU | target |")
    print("| --- | ---: | ---: | --- |")
    for what, wall, cpu, target in rows:
        print(f"| {what} | {wall} | {cpu} | {target} |")
    return 0 if total <= 3 and rss_growth_mb <= 100 else 1


if __name__ == "__main__":
    sys.exit(main())
