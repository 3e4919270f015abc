"""One path for workers that fail unexpectedly (a bug, a lost database).

Textual posts a worker's ``StateChanged`` to the screen that started it and
does not let it bubble: :class:`ReportsWorkerFailures` hands a failure on to
the app, whose single ``on_worker_state_changed`` asks the screen to show it
where it belongs (:meth:`show_worker_failure`) and notifies. Workers run with
``exit_on_error=False``, so a failure never ends the console.
"""

from __future__ import annotations

from collections.abc import Awaitable

from textual.message import Message
from textual.message_pump import MessagePump
from textual.worker import Worker, WorkerState, get_current_worker

from onenet_tui.visible import visible


def failure_reason(error: BaseException | None) -> str:
    """What went wrong, in one line: a database error's SQL and parameters
    (lines two onwards) are for the log, not the screen."""
    text = str(error).strip() if error is not None else ""
    first = text.splitlines()[0] if text else type(error).__name__
    return visible(first)


def post_unless_cancelled(target: MessagePump, message: Message) -> None:
    """From a worker thread: hand ``message`` to ``target``, unless the
    worker was cancelled meanwhile (a newer one replaced it, or its screen
    closed): a stale answer must not overwrite a fresh one."""
    if not get_current_worker().is_cancelled:
        target.post_message(message)


class ReportsWorkerFailures(MessagePump):
    """Mixed into a screen: its workers' failures reach the app's one handler."""

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR:
            self.app.post_message(Worker.StateChanged(event.worker, event.state))

    def show_worker_failure(self, group: str | None, reason: str) -> Awaitable[None] | None:
        """Show on this screen that the work of ``group`` failed with ``reason``."""
        return None
