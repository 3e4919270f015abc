"""The console's carrier simulator stays quiet while nothing can change
(issue 20: idle CPU at a million users): once no pending user is left to
wait for, a pass is one look at the audit trail until someone changes
something (every change is audited, R15). Counted in passes, not timed."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from onenet_tui.data import audit, carrier, demo, simulator
from onenet_tui.data.context import Context, carrier_context, resolve_actor
from onenet_tui.data.models import User, utcnow
from onenet_tui.data.storage import Store


class Turns(threading.Event):
    """A stop event whose waits return at once, run ``between`` (with the
    wait's number) and stop the loop after ``turns`` waits."""

    def __init__(self, turns: int, between: Callable[[int], None]) -> None:
        super().__init__()
        self.turns, self.between, self.calls = turns, between, 0

    def wait(self, timeout: float | None = None) -> bool:
        self.calls += 1
        self.between(self.calls)
        if self.calls >= self.turns:
            self.set()
        return self.is_set()


def test_the_simulator_searches_again_only_after_a_change_and_while_someone_waits(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = Context(store, resolve_actor(store, "alice"))
    demo.build(ctx, users=30, seed=3)
    since = utcnow()  # the demo's own pending users are left alone, as in the console
    passes: list[int] = []
    run_once = carrier.run_once

    def counted(*args: object, **kwargs: object) -> list[carrier.Transition]:
        passes.append(1)
        return run_once(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(carrier, "run_once", counted)

    def between(turn: int) -> None:
        with store.transaction() as session:
            if turn == 3:  # a change that makes nobody pending
                audit.record(session, ctx.actor, "test.change", "someone")
            if turn == 5:  # a user pending now: due in an hour, looked at on every pass
                user_id = session.execute(select(User.id).limit(1)).scalar_one()
                session.execute(
                    update(User).where(User.id == user_id).values(status="pending", status_changed_at=utcnow())
                )
                audit.record(session, ctx.actor, "test.pending", "someone", details={"user_id": user_id})

    applied = simulator.run(
        carrier_context(store), delay=timedelta(hours=1), pending_since=since, stop=Turns(8, between)
    )
    assert applied == 0
    # Passes at turns 1 (then quiet), 4 (the change; quiet again), 6, 7 and 8 (someone waits).
    assert len(passes) == 5
