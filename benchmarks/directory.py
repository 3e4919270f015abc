"""Benchmark: the directory beside Textual's DataTable and textual-fastdatatable.

    python benchmarks/directory.py [--users 100000] [--keystrokes 50]

Builds (once, cached under benchmarks/results/) a tenant of ``--users`` users,
then runs each implementation in its own subprocess, so resident memory is
fair, on the same rows (the directory's own query), headless at 120x40:

- launch to first rows painted: from creating the app to the first frame
  that shows rows (the directory paints its first page while the rest loads;
  "all rows" is when the whole tenant is loaded and counted). The clock
  starts after the imports and the store's opening, which a user waits for
  too: ``benchmarks/launch.py`` measures launch as users meet it, whole
  processes in a terminal;
- filter keystroke to repaint: typing into the filter; "rows" is the frame
  that shows the new answer, "settled" the last frame (counts updated);
- page down to repaint: "repaint" is the frame with the moved cursor,
  "settled" the last one (the directory redraws the footer's dimmed keys
  after the rows); the same for cursor down (``--pagedowns`` of each);
- resident memory after loading and after the interactions;
- idle CPU: the share of one core the console uses over ``--idle`` seconds
  after the interactions above, doing nothing (its change poll and, in a demo tenant, the
  carrier simulator run meanwhile);
- changes by another admin: a second process changes ``--changes`` users
  (new first and last names, a few per change poll) while the directory is
  shown; "longest stall" is the longest the event loop could not run (a
  5 ms heartbeat), until every change is shown.

``--tenant URL`` uses an existing database (a demo of a million users:
``onenet-tui --db sqlite:///X demo --force --users 1000000``) instead of
building one. Such a demo keeps a directory snapshot, so the first console
starts from it; ``--drop-snapshot`` deletes it first, to measure the normal
load (the first console on a tenant built otherwise, say by import).

Frames are timed where Textual hands them to the driver (``App._display``,
with the terminal output encoded as a real driver would), so pilot's own
waiting is not counted. The references get their filter the
obvious way: DataTable clear + add_rows, fastdatatable a new table; they
show E.164 numbers (no national formatting of 100,000 numbers for them).
Needs the bench extra: ``pip install textual-fastdatatable psutil``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

RESULTS = ROOT / "benchmarks" / "results"
IMPLEMENTATIONS = ("directory", "datatable", "fastdatatable")
SIZE = (120, 40)
# DataTable needs seconds per filter keystroke at 100,000 rows; nothing needs this long.
FRAME_TIMEOUT = 120.0
# Realistic typing: words, numbers in several formats, backspaces, and a rare
# letter pair typed from scratch (the slowest case: nothing on screen to stop at).
TYPING = [
    *"schmidt",
    *["backspace"] * 7,
    *"030 1234",
    *["backspace"] * 8,
    *"+4930",
    *["backspace"] * 5,
    *"anna",
    *["backspace"] * 4,
    *"qx",
    *["backspace"] * 2,
    *"müller",
    *["backspace"] * 6,
]

# Filter terms typed key by key, alone and beside free words: each prefix of a
# term is a query of its own ("s", "si", ... "site:b", "site:be" ...).
TERM_TYPING = [
    *"site:berlin",
    *["backspace"] * 11,
    *"device:none",
    *["backspace"] * 11,
    *"status:failed locked:yes",
    *["backspace"] * 24,
    *"dept:einkauf müller",
    *["backspace"] * 19,
    *"licence:premium device:t54w",
    *["backspace"] * 27,
    *"ext:50 number:+4930",
    *["backspace"] * 19,
]


def keystrokes(count: int, typing: list[str] = TYPING) -> list[str]:
    keys = list(typing)
    while len(keys) < count:
        keys += typing
    return [k if k != " " else "space" for k in keys[:count]]


# --- the tenant ----------------------------------------------------------------


def tenant_url(users: int) -> str:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"tenant-{users}.db"
    url = f"sqlite:///{path}"
    if path.exists():
        return url
    started = time.perf_counter()
    try:
        _build(url, users)
    except BaseException:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        raise
    print(f"built a tenant of {users:,} users in {time.perf_counter() - started:.1f} s: {path}", file=sys.stderr)
    return url


def _build(url: str, users: int) -> None:
    from onenet_tui.data.context import Context, resolve_actor
    from onenet_tui.data.storage import Store

    try:
        from onenet_tui.data import demo
    except ImportError:
        demo = None  # type: ignore[assignment]
    if demo is not None and users <= demo.MAX_USERS:
        store = Store(url)
        demo.build(Context(store, resolve_actor(store, "benchmark")), users=users, seed=1)
        store.dispose()
    else:
        from benchmarks.common import build_tenant

        build_tenant(url, users)


# --- measuring inside one process ------------------------------------------------


class Frames:
    """Every frame the headless driver writes, with the state it showed."""

    def __init__(self, state: Callable[[], Any]) -> None:
        self.state = state
        self.log: list[tuple[float, Any]] = []

    def install(self) -> None:
        """Time frames where the app hands them to the driver. Headless apps
        skip the output itself, so it is encoded here as a terminal would get it."""
        from textual._compositor import CompositorUpdate
        from textual.app import App

        frames = self
        display = App._display

        def timed_display(app: App[Any], screen: Any, renderable: Any) -> None:
            display(app, screen, renderable)
            if renderable is not None and not app._batch_count:
                if isinstance(renderable, CompositorUpdate):
                    renderable.render_segments(app.console)
                frames.log.append((time.perf_counter(), frames.state()))

        App._display = timed_display  # type: ignore[method-assign]

    def first(self, since: float, wanted: Callable[[Any], bool]) -> float | None:
        return next((at for at, state in self.log if at >= since and wanted(state)), None)

    def last(self, since: float) -> float | None:
        times = [at for at, _ in self.log if at >= since]
        return times[-1] if times else None


def rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 1e6


async def _settle(pilot: Any) -> None:
    await pilot.pause()
    await pilot.pause()


class Heartbeat:
    """The event loop's longest stall: a task that sleeps ``TICK`` and notes how late it wakes."""

    TICK = 0.005

    def __init__(self) -> None:
        self.longest = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _beat(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(self.TICK)
            self.longest = max(self.longest, time.perf_counter() - before - self.TICK)

    def __enter__(self) -> Heartbeat:
        self._task = asyncio.get_running_loop().create_task(self._beat())
        return self

    def __exit__(self, *_: object) -> None:
        assert self._task is not None
        self._task.cancel()


def cpu_seconds() -> float:
    """CPU time of this process, every thread."""
    return time.process_time()


async def _index_built(pilot: Any, app: Any) -> float | None:
    """Waits for the directory's gram index (built in a worker while the user
    may already type); the longest the event loop could not run meanwhile
    (ms), None when the directory is too small to get one."""
    from onenet_tui.data.directory import loading

    directory = app.screen.directory
    if len(directory.data) <= loading.INDEXED_ROWS:
        return None
    deadline = time.perf_counter() + FRAME_TIMEOUT
    with Heartbeat() as building:
        while directory.data.grams is None:
            if time.perf_counter() > deadline:
                raise SystemExit("the directory's gram index never came")
            await pilot.pause(0.01)
    return building.longest * 1000


async def _idle_cpu(pilot: Any, seconds: float) -> float:
    """Percent of one core used while nothing happens for ``seconds``."""
    await pilot.pause(1.0)  # the last frames and workers of loading
    cpu, wall = cpu_seconds(), time.perf_counter()
    await asyncio.sleep(seconds)
    return 100 * (cpu_seconds() - cpu) / (time.perf_counter() - wall)


async def _changes(pilot: Any, app: Any, url: str, count: int) -> dict[str, Any]:
    """Another process changes ``count`` users; the longest stall until the directory shows them all."""
    command = [sys.executable, str(Path(__file__).resolve()), "--edit", str(count), "--db", url]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    directory = app.screen.directory
    started = time.perf_counter()
    with Heartbeat() as heartbeat:
        editor = await asyncio.create_subprocess_exec(*command, env=env, stdout=asyncio.subprocess.PIPE)
        out, _ = await editor.communicate()
        last_stamp = int(out.decode().split()[-1])
        deadline = time.perf_counter() + FRAME_TIMEOUT
        while directory.data.stamp < last_stamp or not directory.complete:
            if time.perf_counter() > deadline:
                raise SystemExit("the directory never showed the other admin's changes")
            await pilot.pause(0.05)
        await _settle(pilot)
    return {
        "changes": count,
        "changes_seconds": time.perf_counter() - started,
        "change_stall_ms": heartbeat.longest * 1000,
        "patched": directory.data.touched is not None,
    }


def drop_snapshots(url: str) -> None:
    """No directory snapshot left (``demo`` keeps one for a large tenant): the next load is a normal one."""
    from sqlalchemy import delete

    from onenet_tui.data.models import DirectorySnapshot
    from onenet_tui.data.storage import Store

    store = Store(url)
    with store.transaction() as session:
        session.execute(delete(DirectorySnapshot))
    store.dispose()


def edit_users(url: str, count: int) -> None:
    """The second admin: ``count`` activated users given a new first or last
    name (each moves in the name order), a few per change poll; prints the
    last audit event's id."""
    import random

    from sqlalchemy import select

    from onenet_tui.data import audit, users
    from onenet_tui.data.context import Actor, Context
    from onenet_tui.data.models import Role, Status, User
    from onenet_tui.data.schemas import ConfigChange
    from onenet_tui.data.storage import Store

    store = Store(url)
    ctx = Context(store, Actor("colleague", Role.ADMIN))
    with store.read() as session:
        top = session.execute(select(User.id).order_by(User.id.desc()).limit(1)).scalar_one()  # type: ignore[attr-defined]
    # Seeded by the clock: each run gives new names (the same ones again change nothing).
    rng = random.Random(time.time_ns())
    done = 0
    while done < count:
        with store.read() as session:
            found = session.execute(
                select(User.username, User.version, User.status).where(User.id == rng.randrange(1, top + 1))
            ).first()
        if found is None or found.status != Status.ACTIVATED.value:
            continue
        change = (
            ConfigChange(expected_version=found.version, last_name=f"Zimmer{rng.randrange(10**6)}")
            if done % 2
            else ConfigChange(expected_version=found.version, first_name=f"Erika{rng.randrange(10**6)}")
        )
        users.change_configuration(ctx, found.username, change)
        done += 1
        time.sleep(0.3)
    print(audit.latest(ctx))
    store.dispose()


async def measure(
    url: str, impl: str, keystroke_count: int, pagedowns: int, idle: float = 0.0, changes: int = 0
) -> dict[str, Any]:
    from onenet_tui.i18n import set_language

    set_language("en")
    app, state, loaded, query_of, cursor_of = _app(impl, url)
    frames = Frames(lambda: state(app))
    frames.install()
    result: dict[str, Any] = {"impl": impl}
    started = time.perf_counter()
    async with app.run_test(headless=True, size=SIZE) as pilot:
        while not loaded(app):
            await asyncio.sleep(0.005)
        await _settle(pilot)
        first_rows = frames.first(started, lambda s: s["rows"] > 0)
        all_rows = frames.first(started, lambda s: s["complete"])
        result["first_rows"] = (first_rows or time.perf_counter()) - started
        result["all_rows"] = (all_rows or time.perf_counter()) - started
        result["rss_loaded"] = rss_mb()
        if impl == "directory":
            # A large directory's filter gets its gram index seconds after the
            # rows (the console's load worker builds it); until then it scans.
            # Typed into once it is there, and the wait is a figure of its own.
            stall = await _index_built(pilot, app)
            result["index_built"] = time.perf_counter() - started
            if stall is not None:
                result["index_stall_ms"] = stall

        await pilot.press("slash")
        await _settle(pilot)
        result["filter_rows_ms"], result["filter_settled_ms"] = await _typing(
            pilot, frames, app, query_of, keystrokes(keystroke_count)
        )
        if impl == "directory":
            # The references have no filter terms: only the directory types them.
            result["terms_rows_ms"], result["terms_settled_ms"] = await _typing(
                pilot, frames, app, query_of, keystrokes(len(TERM_TYPING), TERM_TYPING), start=query_of(app)
            )

        # Every row again, as esc does in the directory; paging starts once
        # the table has finished showing them (DataTable takes half a minute).
        since, filtered = time.perf_counter(), bool(query_of(app))
        await pilot.press("escape")
        if filtered:
            await _frame(pilot, frames, since, lambda s: s["query"] == "")
        await _quiet(pilot, frames)
        _focus_table(app, impl)
        await _settle(pilot)
        result["pagedown_ms"], result["pagedown_settled_ms"] = await _moves(
            pilot, frames, app, cursor_of, "pagedown", pagedowns
        )
        result["down_ms"], _ = await _moves(pilot, frames, app, cursor_of, "down", pagedowns)
        result["rss_end"] = rss_mb()
        # Last, so the figures above are those of a run without them.
        if impl == "directory" and idle:
            result["idle_cpu_percent"] = await _idle_cpu(pilot, idle)
        if impl == "directory" and changes:
            result.update(await _changes(pilot, app, url, changes))
    return result


async def _typing(
    pilot: Any, frames: Frames, app: Any, query_of: Callable[[Any], Any], keys: list[str], start: str = ""
) -> tuple[list[float], list[float]]:
    """Type ``keys`` into the filter: ms to the frame with the new answer, and to the last frame."""
    rows_latency, settled_latency = [], []
    typed = start
    for key in keys:
        typed = typed[:-1] if key == "backspace" else typed + (" " if key == "space" else key)
        since = time.perf_counter()
        await pilot.press(key)
        shown = await _frame(pilot, frames, since, lambda s, q=typed: s["query"] == q)
        await _settle(pilot)
        last = frames.last(since)
        rows_latency.append((shown - since) * 1000)
        settled_latency.append(((last or since) - since) * 1000)
        assert query_of(app) == typed, (query_of(app), typed)
    return rows_latency, settled_latency


async def _moves(
    pilot: Any, frames: Frames, app: Any, cursor_of: Callable[[Any], Any], key: str, count: int
) -> tuple[list[float], list[float]]:
    """Press ``key`` ``count`` times: ms to the frame with the moved cursor, and to the last frame."""
    repaint, settled = [], []
    for _ in range(count):
        before = cursor_of(app)
        since = time.perf_counter()
        await pilot.press(key)
        moved = await _frame(pilot, frames, since, lambda s, b=before: s["cursor"] != b)
        await _settle(pilot)
        repaint.append((moved - since) * 1000)
        settled.append(((frames.last(since) or moved) - since) * 1000)
    return repaint, settled


async def _quiet(pilot: Any, frames: Frames, seconds: float = 1.0) -> None:
    """Until no frame has been painted for ``seconds``."""
    while frames.log and time.perf_counter() - frames.log[-1][0] < seconds:
        await pilot.pause(0.05)


async def _frame(pilot: Any, frames: Frames, since: float, wanted: Callable[[Any], bool]) -> float:
    """When the first frame since ``since`` that shows ``wanted`` was handed
    over, waiting for it as long as it takes (a slow table paints late)."""
    deadline = time.perf_counter() + FRAME_TIMEOUT
    while (at := frames.first(since, wanted)) is None:
        if time.perf_counter() > deadline:
            raise SystemExit(
                f"no frame showed the change within {FRAME_TIMEOUT:.0f} s (is the tenant large enough for --pagedowns?)"
            )
        await pilot.pause(0.001)
    return at


def _focus_table(app: Any, impl: str) -> None:
    from textual.widgets import Input

    for widget in app.screen.query("*"):
        if widget.can_focus and not isinstance(widget, Input):
            widget.focus()
            return


def _app(impl: str, url: str):  # type: ignore[no-untyped-def]
    """(app, frame state, loaded?, applied query) for one implementation."""
    if impl == "directory":
        from onenet_tui.app import OneNetApp
        from onenet_tui.data.context import Actor, Context
        from onenet_tui.data.models import Role
        from onenet_tui.data.storage import Store

        app = OneNetApp(Context(Store(url), Actor("benchmark", Role.ADMIN)), theme="textual-dark")

        def state(app: Any) -> dict[str, Any]:
            screen = app.screen
            directory = getattr(screen, "directory", None)
            if directory is None:
                return {"rows": 0, "complete": False, "query": None, "cursor": None}
            table = screen.table
            return {
                "rows": len(directory),
                "complete": bool(directory.total) and directory.data.complete and directory.complete,
                "query": directory.query,
                "cursor": table.cursor,
            }

        def loaded(app: Any) -> bool:
            directory = getattr(app.screen, "directory", None)
            return directory is not None and bool(directory.total) and directory.data.complete and directory.complete

        return app, state, loaded, lambda app: app.screen.directory.query, lambda app: app.screen.table.cursor
    from benchmarks.common import reference_app

    app = reference_app(impl, url)
    return app, app.frame_state, lambda app: app.loaded, lambda app: app.applied_query, lambda app: app.cursor_row


# --- running and reporting -------------------------------------------------------


def run_one(
    impl: str, url: str, keystroke_count: int, pagedowns: int, idle: float = 0.0, changes: int = 0
) -> dict[str, Any]:
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--run",
        impl,
        "--db",
        url,
        "--keystrokes",
        str(keystroke_count),
        "--pagedowns",
        str(pagedowns),
        "--idle",
        str(idle),
        "--changes",
        str(changes),
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{impl} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def p(values: list[float], q: float) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def report(results: dict[str, dict[str, Any]], users: int, keystroke_counts: dict[str, int]) -> str:
    mine = results["directory"]
    rows = [
        ("launch to first rows painted (s)", lambda r: r["first_rows"], "{:.3f}", "<= 0.5 s"),
        ("launch to all rows loaded and counted (s)", lambda r: r["all_rows"], "{:.3f}", ""),
        ("launch to the filter's gram index built (s)", lambda r: r["index_built"], "{:.3f}", ""),
        ("longest stall while the index was built (ms)", lambda r: r["index_stall_ms"], "{:.1f}", "<= 16 ms"),
        ("filter keystroke to rows repainted p50 (ms)", lambda r: p(r["filter_rows_ms"], 50), "{:.1f}", ""),
        ("filter keystroke to rows repainted p95 (ms)", lambda r: p(r["filter_rows_ms"], 95), "{:.1f}", "<= 25 ms"),
        ("filter keystroke to settled (counts) p95 (ms)", lambda r: p(r["filter_settled_ms"], 95), "{:.1f}", ""),
        ("filter term keystroke to rows repainted p50 (ms)", lambda r: p(r["terms_rows_ms"], 50), "{:.1f}", ""),
        ("filter term keystroke to rows repainted p95 (ms)", lambda r: p(r["terms_rows_ms"], 95), "{:.1f}", "<= 25 ms"),
        ("filter term keystroke to settled (counts) p95 (ms)", lambda r: p(r["terms_settled_ms"], 95), "{:.1f}", ""),
        ("page down to repaint p50 (ms)", lambda r: p(r["pagedown_ms"], 50), "{:.1f}", ""),
        ("page down to repaint p95 (ms)", lambda r: p(r["pagedown_ms"], 95), "{:.1f}", "<= 16 ms"),
        ("page down to settled (footer) p95 (ms)", lambda r: p(r["pagedown_settled_ms"], 95), "{:.1f}", ""),
        ("cursor down to repaint p50 (ms)", lambda r: p(r["down_ms"], 50), "{:.1f}", ""),
        ("cursor down to repaint p95 (ms)", lambda r: p(r["down_ms"], 95), "{:.1f}", "<= 16 ms"),
        ("idle CPU over --idle seconds (% of a core)", lambda r: r["idle_cpu_percent"], "{:.2f}", "<= 1 %"),
        ("changes by another admin: longest stall (ms)", lambda r: r["change_stall_ms"], "{:.1f}", "<= 16 ms"),
        ("resident memory after loading (MB)", lambda r: r["rss_loaded"], "{:.0f}", ""),
        ("resident memory at the end (MB)", lambda r: r["rss_end"], "{:.0f}", "<= 150 MB"),
    ]
    others = [impl for impl in IMPLEMENTATIONS if impl in results and impl != "directory"]
    header = ["what", "directory", *others, *(f"ratio vs {o}" for o in others), "target"]
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    lines = [
        f"Directory benchmark: {users:,} users, {SIZE[0]}x{SIZE[1]}, Python {sys.version.split()[0]}, "
        f"{os.cpu_count()} CPUs, load average {load}; "
        f"filter keystrokes: " + ", ".join(f"{k} {v}" for k, v in keystroke_counts.items()),
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]

    def measured(result: dict[str, Any], get: Callable[[dict[str, Any]], float]) -> float | None:
        try:
            return get(result)
        except KeyError:
            return None  # not measured for this implementation (filter terms)

    for label, get, fmt, target in rows:
        value = measured(mine, get)
        if value is None:
            continue  # not asked for in this run (--idle, --changes)
        cells = [label, fmt.format(value)]
        theirs = [measured(results[o], get) for o in others]
        cells += ["-" if v is None else fmt.format(v) for v in theirs]
        cells += [f"{value / v:.2f}x" if v else "-" for v in theirs]
        cells.append(target)
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("Ratios are directory / reference: below 1 means the directory is faster or smaller.")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--keystrokes", type=int, default=50)
    parser.add_argument(
        "--reference-keystrokes",
        type=int,
        default=10,
        help="filter keystrokes for the references (each can take seconds)",
    )
    parser.add_argument("--pagedowns", type=int, default=50)
    parser.add_argument("--only", choices=IMPLEMENTATIONS, action="append")
    parser.add_argument("--tenant", help="an existing database URL instead of a tenant built here")
    parser.add_argument("--idle", type=float, default=10.0, help="seconds of idle CPU measured (0: none)")
    parser.add_argument("--changes", type=int, default=20, help="users another admin changes (0: none)")
    parser.add_argument(
        "--drop-snapshot",
        action="store_true",
        help="delete the tenant's directory snapshots first, to measure the normal load (writes to --tenant)",
    )
    parser.add_argument("--edit", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--run", choices=IMPLEMENTATIONS, help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.edit is not None:
        edit_users(args.db, args.edit)
        return
    if args.run:
        result = asyncio.run(measure(args.db, args.run, args.keystrokes, args.pagedowns, args.idle, args.changes))
        print(json.dumps(result))
        return
    url = args.tenant or tenant_url(args.users)
    if args.drop_snapshot:
        drop_snapshots(url)
    results: dict[str, dict[str, Any]] = {}
    counts: dict[str, int] = {}
    for impl in args.only or IMPLEMENTATIONS:
        count = args.keystrokes if impl == "directory" else args.reference_keystrokes
        print(f"measuring {impl} ...", file=sys.stderr)
        idle, changes = (args.idle, args.changes) if impl == "directory" else (0.0, 0)
        results[impl] = run_one(impl, url, count, args.pagedowns, idle, changes)
        counts[impl] = count
    print(report(results, args.users, counts))


if __name__ == "__main__":
    main()
