"""A screen that keeps working while another screen covers it (it looks for
changes every second) without re-sending the terminal each time."""

from __future__ import annotations

from typing import TypeVar

from textual.screen import Screen

ResultT = TypeVar("ResultT")


class QuietBeneath(Screen[ResultT]):
    def _compositor_refresh(self) -> None:
        super()._compositor_refresh()
        if self is not self.app.screen:
            # Beneath help, a dialog or the wizard, Textual hands the changed
            # regions up to the screen on top and then marks this screen for a
            # full repaint, which every later message (each change check)
            # carries out: the whole terminal re-sent twice a second while
            # idle. The regions handed up are all that changed.
            self._repaint_required = False
