"""The carrier simulator as a long-running loop (``onenet-tui carrier run``).

Each pass is :func:`carrier.run_once`, one transaction of conditional updates,
so several simulators against one database never apply a transition twice: a
loser finds the user no longer pending and skips it.

A person starts it (:func:`start`, administrators only, R14); its passes then
act as the carrier, the one ``carrier`` operator of the audit trail (R3).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from onenet_tui.data import audit, carrier
from onenet_tui.data.carrier import Transition
from onenet_tui.data.context import Context, carrier_context
from onenet_tui.data.errors import Conflict
from onenet_tui.data.policy import Action, enforce

BATCH = 500


def start(ctx: Context, **options: Any) -> int:
    """``onenet-tui carrier run``: ``ctx``'s operator must be an administrator;
    the simulator then runs as the carrier (see :func:`run` for ``options``)."""
    enforce(Action.START_CARRIER_SIMULATOR, ctx.actor.role)
    return run(carrier_context(ctx.store), **options)


def run(
    ctx: Context,
    *,
    delay: timedelta | None = None,
    interval: float = 2.0,
    once: bool = False,
    report: Callable[[Transition], None] | None = None,
    stop: threading.Event | None = None,
    batch: int = BATCH,
    pending_since: datetime | None = None,
) -> int:
    """Apply carrier outcomes until ``stop`` is set (or, with ``once``, until
    nothing is due right now). ``delay`` None uses the tenant's setting.
    Returns how many transitions this process applied."""
    stop = stop or threading.Event()
    applied = 0
    # The audit trail's newest event when no pending user was left: until
    # another event, nobody can become pending (every change is audited,
    # R15), so a pass is one cheap max(id) instead of a search through the
    # pending users (0.15 s of CPU every 2 s in a million-user demo: the
    # console's idle load).
    quiet_at: int | None = None
    while not stop.is_set():
        stamp = audit.latest(ctx)
        if quiet_at is not None:
            if stamp == quiet_at:
                if once or stop.wait(interval):
                    break
                continue
            quiet_at = None
        try:
            done = carrier.run_once(ctx, delay=delay, batch=batch, pending_since=pending_since)
        except Conflict:
            # Another writer won a race (PostgreSQL lock or serialisation
            # failure): nothing was applied, try again on the next pass.
            done = []
            if stop.wait(min(interval, 0.5)):
                break
            continue
        for transition in done:
            applied += 1
            if report:
                report(transition)
        if len(done) == batch:
            continue  # more are due right now
        if not done and not carrier.waiting(ctx, pending_since):
            quiet_at = stamp
        if once or stop.wait(interval):
            break
    return applied
