"""Benchmark: the audit log with 1,000,000 events beside the directory (R26).

    python benchmarks/audit_log.py [--events 1000000] [--users 100000] [--keystrokes 40]

Builds (once, cached under benchmarks/results/) the directory benchmark's
tenant of ``--users`` users with ``--events`` audit events added by bulk
inserts (a realistic mix: changes with old and new values, carrier outcomes,
credentials, group saves, by twenty operators over a year), then measures in
subprocesses, headless at 120x40, on that same database:

- the audit log: launch to first rows painted; each filter term applied
  (typed terms of the kinds help names, set at once as a paste would) to
  rows repainted; filter keystrokes (a username and free text typed key by
  key) to rows repainted; page down to repaint, over the pages read as the
  cursor goes down;
- the directory, measured as ``benchmarks/directory.py`` measures it (launch,
  filter keystrokes, page down), as the reference "as fast as the directory".

Frames are timed where Textual hands them to the driver, as in
benchmarks/directory.py. Needs the bench extra (psutil).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.directory import (  # noqa: E402 - after the path is set
    SIZE,
    Frames,
    _frame,
    _moves,
    _settle,
    measure,
    p,
    rss_mb,
    tenant_url,
)

RESULTS = ROOT / "benchmarks" / "results"
OPERATORS = [f"op{n:02d}" for n in range(18)] + ["alice", "bob"]
# (action, share): what a year of a tenant's audit trail is made of.
ACTIONS = [
    ("user.edit_profile", 20),
    ("user.change_configuration", 15),
    ("user.edit_call_services", 15),
    ("carrier.activated", 12),
    ("user.add", 10),
    ("credentials.handed_over", 8),
    ("user.set_groups", 6),
    ("credentials.regenerate", 5),
    ("account.reset", 4),
    ("carrier.failed", 2),
    ("user.delete", 2),
    ("group.set_members", 1),
]
# The filters measured, each applied at once; the first user's name is added.
TERMS = [
    "operator:bob",
    "action:credentials",
    "action:user.edit_profile",
    "since:2026-11-01 until:2026-11-30",
    "operator:alice action:account since:2026-06-01",
    "porting",  # free text, in the details
    "qzxv",  # free text found nowhere
]
BATCH = 50_000


# --- the database ----------------------------------------------------------------


def audit_url(users: int, events: int) -> str:
    """The directory benchmark's tenant with ``events`` audit events, built once."""
    path = RESULTS / f"audit-{users}-{events}.db"
    url = f"sqlite:///{path}"
    if path.exists():
        return url
    tenant = Path(tenant_url(users).removeprefix("sqlite:///"))
    started = time.perf_counter()
    try:
        shutil.copyfile(tenant, path)
        _add_events(path, events)
    except BaseException:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        raise
    print(f"added {events:,} audit events in {time.perf_counter() - started:.1f} s: {path}", file=sys.stderr)
    return url


def _add_events(path: Path, events: int) -> None:
    # The schema is the app's (migrated on open); rows go in by executemany,
    # far faster than the ORM for a million of them.
    from onenet_tui.data.storage import Store

    Store(f"sqlite:///{path}").dispose()
    db = sqlite3.connect(path)
    people = db.execute("SELECT id, username, site_id FROM users").fetchall()
    rng = random.Random(26)
    names = [a for a, share in ACTIONS for _ in range(share)]
    start = datetime(2025, 12, 1, tzinfo=UTC)
    step = timedelta(days=365) / events
    rows = []
    for n in range(events):
        user_id, username, site_id = rng.choice(people)
        action = rng.choice(names)
        details = _details(rng, action, user_id)
        at = (start + step * n).strftime("%Y-%m-%d %H:%M:%S.%f")
        rows.append((at, rng.choice(OPERATORS), action, username, user_id, site_id, json.dumps(details)))
        if len(rows) == BATCH:
            _insert(db, rows)
            rows = []
    _insert(db, rows)
    db.execute("ANALYZE")
    db.commit()
    db.close()


def _details(rng: random.Random, action: str, user_id: int) -> dict[str, Any]:
    details: dict[str, Any] = {"user_id": user_id}
    if action == "user.edit_profile":
        details["changed"] = {"department": [rng.choice(["Einkauf", "Vertrieb", None]), rng.choice(["IT", "HR"])]}
    elif action == "user.edit_call_services":
        details["changed"] = {"do_not_disturb": [False, True]}
    elif action == "user.change_configuration":
        details["changed"] = {"licence": ["standard", "premium"]}
    elif action.startswith("carrier."):
        failed = action == "carrier.failed"
        details.update(previous="pending", reason="porting not finished" if failed else None)
        details["changed"] = {"status": ["pending", action.split(".")[1]]}
    elif action in ("credentials.regenerate", "account.reset"):
        details["replaced"] = ["desk_phone_credentials" if action.startswith("cred") else "portal_activation"]
    return details


def _insert(db: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> None:
    db.executemany(
        "INSERT INTO audit_events (at, operator, action, target, user_id, site_id, details)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        rows,
    )


# --- measuring the audit log inside one process -----------------------------------


def _audit_app(url: str) -> Any:
    from textual.app import App

    from onenet_tui.data.context import Actor, Context
    from onenet_tui.data.models import Role
    from onenet_tui.data.storage import Store
    from onenet_tui.screens.audit_log import AuditLogScreen

    ctx = Context(Store(url), Actor("benchmark", Role.ADMIN))

    class AuditApp(App[None]):
        def on_mount(self) -> None:
            self.push_screen(AuditLogScreen(ctx, poll_seconds=0))

    return AuditApp()


def _state(app: Any) -> dict[str, Any]:
    from onenet_tui.screens.audit_log import AuditLogScreen

    screen = app.screen
    if not isinstance(screen, AuditLogScreen) or not screen.is_mounted:
        return {"rows": 0, "query": None, "cursor": None}
    table = screen.table
    return {"rows": table.row_count, "query": screen.shown_filter, "cursor": table.cursor}


async def measure_audit(url: str, keystroke_count: int, pagedowns: int, first_user: str) -> dict[str, Any]:
    from onenet_tui.i18n import set_language

    set_language("en")
    app = _audit_app(url)
    frames = Frames(lambda: _state(app))
    frames.install()
    result: dict[str, Any] = {"impl": "audit log"}
    started = time.perf_counter()
    async with app.run_test(headless=True, size=SIZE) as pilot:
        at = await _frame(pilot, frames, started, lambda s: s["rows"] > 0)
        result["first_rows"] = at - started
        await _settle(pilot)
        result["rss_loaded"] = rss_mb()
        screen = app.screen
        terms = [f"user:{first_user}", *TERMS]
        applied = []
        for term in [*terms, *terms]:
            since = time.perf_counter()
            screen.filter_input.value = term
            shown = await _frame(pilot, frames, since, lambda s, q=term: s["query"] == q)
            applied.append((shown - since) * 1000)
            await _settle(pilot)
        result["terms_ms"] = applied
        result["terms"] = terms
        screen.filter_input.value = ""
        await _frame(pilot, frames, time.perf_counter() - 60, lambda s: s["query"] == "")
        screen.filter_input.focus()
        await _settle(pilot)
        typing = [*f"user:{first_user}", *["backspace"] * (len(first_user) + 5), *"müller qx"]
        typing += ["backspace"] * len("müller qx")
        typed, latency = "", []
        for key in (typing * (keystroke_count // len(typing) + 1))[:keystroke_count]:
            typed = typed[:-1] if key == "backspace" else typed + key
            since = time.perf_counter()
            await pilot.press("space" if key == " " else key)
            shown = await _frame(pilot, frames, since, lambda s, q=typed: s["query"] == q)
            latency.append((shown - since) * 1000)
            await _settle(pilot)
        result["filter_rows_ms"] = latency
        screen.filter_input.value = ""
        await _settle(pilot)
        screen.table.focus()
        await _settle(pilot)
        result["pagedown_ms"], _ = await _moves(
            pilot, frames, app, lambda a: a.screen.table.cursor, "pagedown", pagedowns
        )
        result["rows_read"] = screen.table.row_count
        result["rss_end"] = rss_mb()
    return result


# --- running and reporting ----------------------------------------------------------


def _run(args: list[str]) -> dict[str, Any]:
    command = [sys.executable, str(Path(__file__).resolve()), *args]
    done = subprocess.run(
        command, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"{args[:2]} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def report(audit: dict[str, Any], directory: dict[str, Any], users: int, events: int) -> str:
    rows = [
        ("launch to first rows painted (s)", f"{audit['first_rows']:.3f}", f"{directory['first_rows']:.3f}"),
        ("filter term applied to rows repainted p50 (ms)", f"{p(audit['terms_ms'], 50):.1f}", ""),
        ("filter term applied to rows repainted p95 (ms)", f"{p(audit['terms_ms'], 95):.1f}", ""),
        ("filter term applied, slowest (ms)", f"{max(audit['terms_ms']):.1f}", ""),
        (
            "filter keystroke to rows repainted p50 (ms)",
            f"{p(audit['filter_rows_ms'], 50):.1f}",
            f"{p(directory['filter_rows_ms'], 50):.1f}",
        ),
        (
            "filter keystroke to rows repainted p95 (ms)",
            f"{p(audit['filter_rows_ms'], 95):.1f}",
            f"{p(directory['filter_rows_ms'], 95):.1f}",
        ),
        (
            "page down to repaint p50 (ms)",
            f"{p(audit['pagedown_ms'], 50):.1f}",
            f"{p(directory['pagedown_ms'], 50):.1f}",
        ),
        (
            "page down to repaint p95 (ms)",
            f"{p(audit['pagedown_ms'], 95):.1f}",
            f"{p(directory['pagedown_ms'], 95):.1f}",
        ),
        ("resident memory after loading (MB)", f"{audit['rss_loaded']:.0f}", f"{directory['rss_loaded']:.0f}"),
        ("resident memory at the end (MB)", f"{audit['rss_end']:.0f}", f"{directory['rss_end']:.0f}"),
    ]
    count = len(audit["terms"])
    for index, term in enumerate(audit["terms"]):
        best = min(audit["terms_ms"][index], audit["terms_ms"][index + count])
        rows.append((f"`{term}` applied (ms, the better of 2)", f"{best:.1f}", ""))
    lines = [
        f"{events:,} audit events, {users:,} users, SQLite, {SIZE[0]}x{SIZE[1]} headless"
        f" (audit log: {audit['rows_read']:,} rows read after the page downs)",
        "",
        "| measure | audit log | directory |",
        "|---|---:|---:|",
    ]
    lines += [f"| {name} | {a} | {d} |" for name, a, d in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--keystrokes", type=int, default=40)
    parser.add_argument("--pagedowns", type=int, default=30)
    parser.add_argument("--run", choices=("audit", "directory"), help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--first-user", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run == "audit":
        print(json.dumps(asyncio.run(measure_audit(args.db, args.keystrokes, args.pagedowns, args.first_user))))
        return
    if args.run == "directory":
        print(json.dumps(asyncio.run(measure(args.db, "directory", args.keystrokes, args.pagedowns))))
        return
    url = audit_url(args.users, args.events)
    db = sqlite3.connect(url.removeprefix("sqlite:///"))
    (first_user,) = db.execute("SELECT username FROM users ORDER BY id LIMIT 1").fetchone()
    db.close()
    common = ["--db", url, "--keystrokes", str(args.keystrokes), "--pagedowns", str(args.pagedowns)]
    print("measuring the audit log ...", file=sys.stderr)
    audit = _run(["--run", "audit", *common, "--first-user", first_user])
    print("measuring the directory ...", file=sys.stderr)
    directory = _run(["--run", "directory", *common])
    print(report(audit, directory, args.users, args.events))


if __name__ == "__main__":
    main()
