"""Screens over the directory that follow changes made by others (SPEC
section 11: the sites and groups screens, as the directory does).

The directory already looks at the audit trail's newest id every second
(``data.directory.refresh``: one indexed ``max(id)`` while nothing changes)
and keeps doing so while another screen covers it. When that look finds
something new it posts :class:`TrailMoved` to each open
:class:`FollowsTrail` screen, which reads its own rows again: no second
loop, no second query per second while idle.
"""

from __future__ import annotations

from textual.app import App
from textual.message import Message
from textual.message_pump import MessagePump


class TrailMoved(Message):
    """The audit trail has events newer than the last look: someone (this
    console or another) changed something."""

    bubble = False

    def __init__(self, latest: int) -> None:
        super().__init__()
        self.latest = latest


class FollowsTrail(MessagePump):
    """Mixed into a screen: :meth:`trail_moved` runs when the directory saw a change."""

    def on_trail_moved(self, message: TrailMoved) -> None:
        self.trail_moved()

    def trail_moved(self) -> None:
        """Read again what the screen shows, keeping the cursor and what was typed."""
        raise NotImplementedError


def tell_followers(app: App[object], latest: int) -> None:
    """Every open screen that follows the trail reads again."""
    for screen in app.screen_stack:
        if isinstance(screen, FollowsTrail):
            screen.post_message(TrailMoved(latest))
