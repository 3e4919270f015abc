"""Benchmark: who never got their credentials handed over (R8-R10), at a
million audit events.

    python benchmarks/handover.py [--db URL] [--repeat 7]

Times, on the database at ``--db`` (default: benchmarks/audit_log.py's
100,000 users with 1,000,000 audit events, built and cached once), in this
process and with the code on ``sys.path``:

- ``handover.never_handed_over`` (what the directory asks on its first page,
  its full load and each refresh after a change);
- ``handover.pending_exports`` (asked at start for lost bulk exports);
- ``loading.load_first_page`` (the directory's first rows, hand-over marks
  included).

Each is the median and the best of ``--repeat`` runs after one warm-up.
Opening a database of an older schema migrates it first; that time is
reported as ``migrate_s``. The same script run against another checkout
(``PYTHONPATH``) on a copy of the same file gives the before and after.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _timed(run: Callable[[], Any], repeat: int) -> dict[str, float]:
    run()  # warm-up: the page cache and SQLAlchemy's statement cache
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return {"median_ms": statistics.median(times) * 1000, "best_ms": min(times) * 1000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="SQLAlchemy URL (default: the audit log benchmark's database)")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    url = args.db
    if url is None:
        from benchmarks.audit_log import audit_url

        url = audit_url(100_000, 1_000_000)
    from onenet_tui.data import handover
    from onenet_tui.data.directory import loading
    from onenet_tui.data.storage import Store, current_revision

    started = time.perf_counter()
    store = Store(url)
    migrate_s = time.perf_counter() - started
    try:

        def unhanded() -> frozenset[int]:
            with store.read() as session:
                return handover.never_handed_over(session)

        def pending() -> list[handover.PendingExport]:
            with store.read() as session:
                return handover.pending_exports(session)

        result: dict[str, Any] = {
            "code": str(Path(handover.__file__).resolve().parent.parent.parent),
            "revision": current_revision(store.engine),
            "migrate_s": round(migrate_s, 2),
            "unhanded_users": len(unhanded()),
            "never_handed_over": _timed(unhanded, args.repeat),
            "pending_exports": _timed(pending, args.repeat),
            "load_first_page": _timed(lambda: loading.load_first_page(store), args.repeat),
        }
        with store.read() as session:
            from sqlalchemy import func, select

            from onenet_tui.data.models import AuditEvent

            result["audit_events"] = session.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
    finally:
        store.dispose()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
