"""The carrier simulator (SPEC section 7, R3, R15): pending users become
activated after the delay, users on flagged numbers fail with the reason,
and several simulators at once apply every transition exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from onenet_tui.data import demo, simulator
from onenet_tui.data.carrier import Transition
from onenet_tui.data.context import Context, carrier_context, resolve_actor
from onenet_tui.data.models import AuditEvent, PhoneNumber, User
from onenet_tui.data.storage import Store

# Long ago, so every pending demo user is due at once.
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)


def pending(store: Store) -> dict[str, str | None]:
    """Pending users and, for those on flagged numbers, the flag's reason."""
    with store.read() as session:
        rows = session.execute(
            select(User.username, PhoneNumber.flagged, PhoneNumber.flag_reason)
            .join(PhoneNumber, PhoneNumber.id == User.number_id)
            .where(User.status == "pending")
        ).all()
    return {name: (reason if flagged else None) for name, flagged, reason in rows}


def carrier_events(store: Store) -> Counter[str]:
    with store.read() as session:
        targets = session.execute(
            select(AuditEvent.target).where(AuditEvent.action.in_(["carrier.activated", "carrier.failed"]))  # type: ignore[attr-defined]
        ).scalars()
        return Counter(targets)


def statuses(store: Store) -> dict[str, tuple[str, str | None]]:
    with store.read() as session:
        return {u: (s, r) for u, s, r in session.execute(select(User.username, User.status, User.status_reason))}


def test_r3_simulator_activates_pending_users_and_fails_flagged_ones(store: Store) -> None:
    demo.build(Context(store, resolve_actor(store, "alice")), users=200, seed=9, now=LONG_AGO)
    due = pending(store)
    assert any(due.values()), "the demo puts some pending users on flagged numbers"
    seen: list[Transition] = []
    applied = simulator.run(carrier_context(store), once=True, report=seen.append)
    assert applied == len(due) == len(seen)
    after = statuses(store)
    for username, reason in due.items():
        assert after[username] == (("failed", reason) if reason else ("activated", None))
    # R15: one audit event per transition, by the carrier.
    assert carrier_events(store) == Counter(list(due))
    # Nothing left: a second pass does nothing.
    assert simulator.run(carrier_context(store), once=True) == 0


def test_r3_users_stay_pending_until_the_delay_has_passed(store: Store) -> None:
    demo.build(Context(store, resolve_actor(store, "alice")), users=50, seed=9, carrier_delay=3600)
    before = pending(store)
    assert before
    assert simulator.run(carrier_context(store), once=True) == 0
    assert simulator.run(carrier_context(store), once=True, delay=timedelta(0)) == len(before)


def test_r15_two_simulators_in_parallel_apply_each_transition_once(db_url: str) -> None:
    setup = Store(db_url)
    demo.build(Context(setup, resolve_actor(setup, "alice")), users=1500, seed=4, now=LONG_AGO)
    due = pending(setup)
    assert len(due) > 250
    # Small batches force many interleaved passes between the two.
    stores = [Store(db_url), Store(db_url)]
    start = threading.Barrier(2)
    results: list[list[Transition]] = [[], []]
    errors: list[BaseException] = []

    def simulate(i: int) -> None:
        try:
            start.wait()
            simulator.run(carrier_context(stores[i]), once=True, batch=25, report=results[i].append)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=simulate, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    applied = Counter(t.username for r in results for t in r)
    assert applied == Counter(list(due))  # every due user exactly once, by one of the two
    assert carrier_events(setup) == Counter(list(due))  # and audited exactly once
    for store in (*stores, setup):
        store.dispose()


def test_simulator_stops_when_asked(store: Store) -> None:
    stop = threading.Event()
    thread = threading.Thread(
        target=simulator.run, args=(carrier_context(store),), kwargs={"interval": 0.05, "stop": stop}
    )
    thread.start()
    stop.set()
    thread.join(timeout=10)
    assert not thread.is_alive()


def test_two_carrier_run_processes_at_once_each_transition_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'sim.db'}"
    setup = Store(url)
    demo.build(Context(setup, resolve_actor(setup, "alice")), users=300, seed=6, now=LONG_AGO)
    due = pending(setup)
    # An administrator starts them (R14); they then act as the carrier.
    env = {**os.environ, "ONENET_DB_URL": url, "ONENET_CONFIG": str(tmp_path / "none.toml"), "ONENET_OPERATOR": "alice"}
    command = [sys.executable, "-m", "onenet_tui", "carrier", "run", "--once"]
    processes = [
        subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120) for p in processes]
    assert [p.returncode for p in processes] == [0, 0], outputs
    reported = Counter(line.split(":")[0] for out, _ in outputs for line in out.splitlines() if line)
    assert reported == Counter(list(due))
    assert carrier_events(setup) == Counter(list(due))
    with setup.read() as session:
        operators = set(
            session.execute(select(AuditEvent.operator).where(AuditEvent.action.startswith("carrier."))).scalars()
        )  # type: ignore[attr-defined]
    assert operators == {"carrier"}
    setup.dispose()


def test_carrier_run_process_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "ONENET_DB_URL": f"sqlite:///{tmp_path / 'sim.db'}",
        "ONENET_CONFIG": str(tmp_path / "none.toml"),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "onenet_tui", "carrier", "run", "--interval", "0.2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # Wait until it runs (it says so on stderr), then ask it to stop.
    assert process.stderr is not None
    assert "running" in process.stderr.readline()
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 0
    assert "0 status changes" in err
