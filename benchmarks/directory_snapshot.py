"""The directory's snapshot (issue 20.2), in-process: a normal full load, the
snapshot's write (its time, the longest stall of a 1 ms heartbeat thread
meanwhile, the write transaction's time and the database's growth), and a
load from the snapshot, with and without zlib; then loads from the snapshot
with ``--behind`` users renamed since it was written (the catch-up a console
launched after a busy day does: loading.CATCH_UP_LIMIT).

Writes to the database: run it on a copy, e.g.

    cp /tmp/d1m/base.db /tmp/x/copy.db
    python benchmarks/directory_snapshot.py sqlite:////tmp/x/copy.db
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


@contextmanager
def heartbeat() -> Iterator[list[float]]:
    """The longest gap (ms) between beats of a thread that sleeps 1 ms: how
    long the interface's thread would have waited for the interpreter."""
    gaps = [0.0]
    done = threading.Event()

    def beat() -> None:
        last = time.perf_counter()
        while not done.is_set():
            time.sleep(0.001)
            now = time.perf_counter()
            gaps[0] = max(gaps[0], (now - last) * 1000 - 1)
            last = now

    thread = threading.Thread(target=beat, daemon=True)
    thread.start()
    try:
        yield gaps
    finally:
        done.set()
        thread.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="a COPY of the tenant: the snapshot is written to it")
    parser.add_argument(
        "--behind",
        default="2000,20000,50000",
        help="users renamed behind the snapshot before each load from it, comma-separated ('' for none)",
    )
    args = parser.parse_args()

    from onenet_tui.data import directory as model
    from onenet_tui.data.directory import snapshot
    from onenet_tui.data.storage import Store

    store = Store(args.url)
    path = Path(args.url.removeprefix("sqlite:///")) if args.url.startswith("sqlite:") else None
    with store.transaction() as session:
        session.execute(snapshot.delete(snapshot.DirectorySnapshot))
    started = time.perf_counter()
    full = model.load(store)
    print(f"normal full load: {time.perf_counter() - started:.2f} s, {len(full)} users")
    model.keep_long_lived()  # as the console does once loaded: the collector's passes skip the columns
    for level in (0, 1):
        snapshot.COMPRESS_LEVEL = level
        with store.transaction() as session:
            session.execute(snapshot.delete(snapshot.DirectorySnapshot))
        before = path.stat().st_size if path else 0
        started = time.perf_counter()
        with heartbeat() as gaps:
            payload = snapshot._payload(full)
        made = time.perf_counter() - started
        snapshot.COMPRESS_LEVEL, real = level, snapshot._payload
        snapshot._payload = lambda data, payload=payload: payload  # type: ignore[assignment]
        started = time.perf_counter()
        with heartbeat() as write_gaps:
            assert snapshot.keep(store, full, None)
        written = time.perf_counter() - started
        snapshot._payload = real  # type: ignore[assignment]
        grown = (path.stat().st_size - before) / 1e6 if path else 0
        started = time.perf_counter()
        again = model.load(store)
        loaded = time.perf_counter() - started
        assert len(again) == len(full) and not snapshot.due(again)
        print(
            f"zlib level {level}: payload {len(payload) / 1e6:.0f} MB made in {made:.2f} s"
            f" (longest heartbeat stall {gaps[0]:.1f} ms); write transaction {written:.2f} s"
            f" (stall {write_gaps[0]:.1f} ms); database grew {grown:.0f} MB; load from it {loaded:.2f} s"
        )
    renamed = 0
    for behind in [int(n) for n in args.behind.split(",") if n]:
        renamed = _rename_behind(store, renamed, behind)
        started = time.perf_counter()
        caught_up = model.load(store)
        loaded = time.perf_counter() - started
        how = "caught up" if caught_up.touched is not None else "read in full"
        print(f"{behind} users renamed behind the snapshot: load {loaded:.2f} s ({how})")
    print("load average", ", ".join(f"{x:.2f}" for x in os.getloadavg()))


def _rename_behind(store: Any, done: int, wanted: int) -> int:
    """Users ``done`` up to ``wanted`` (by id) renamed, each with the event a
    configuration change records (naming the user), in one transaction: a
    bulk writer's day, made in seconds rather than through the service."""
    from sqlalchemy import select, update

    from onenet_tui.data import audit
    from onenet_tui.data.context import Actor
    from onenet_tui.data.models import Role, User

    actor = Actor("bench-colleague", Role.ADMIN)
    with store.transaction() as session:
        ids = session.execute(select(User.id).order_by(User.id).offset(done).limit(wanted - done)).scalars().all()  # type: ignore[arg-type]
        for start in range(0, len(ids), 5_000):
            chunk = ids[start : start + 5_000]
            session.execute(
                update(User)
                .where(User.id.in_(chunk))  # type: ignore[attr-defined]
                .values(last_name="Zimmermann-" + User.username, version=User.version + 1)
            )
        for user_id in ids:
            audit.record(session, actor, "user.change_configuration", str(user_id), user_id=user_id)
    return wanted


if __name__ == "__main__":
    main()
