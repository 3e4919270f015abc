"""A key the operator may not use is dimmed in the footer and, when pressed
anyway, explained (SPEC section 8, R14): the refusal and the rule in a
notification, instead of nothing happening. The directory and the sites and
groups screens share this; each says what it decides (:meth:`key_decision`).

Small and light on purpose: the directory's first frame imports it.
"""

from __future__ import annotations

from typing import Any

from textual import events
from textual.screen import Screen

from onenet_tui import keys
from onenet_tui.data.policy import Decision
from onenet_tui.i18n import t
from onenet_tui.widgets.refusal import refusal_text


class ExplainsDimmedKeys(Screen[Any]):
    """A screen whose ``check_action`` answers None for a refused key (shown
    dimmed) and which explains that key when pressed."""

    def key_decision(self, spec: keys.KeyAction) -> Decision:
        """Whether the operator may use ``spec`` here, and if not why."""
        raise NotImplementedError

    def on_key(self, event: events.Key) -> None:
        active = self.active_bindings.get(event.key)
        # Only this screen's own keys: a widget's disabled binding is the widget's business.
        if active is None or active.enabled or active.node is not self:
            return
        spec = keys.BY_ID.get(active.binding.id or "")
        if spec is not None:
            event.stop()
            event.prevent_default()
            self.explain(spec)

    def explain(self, spec: keys.KeyAction) -> None:
        decision = self.key_decision(spec)
        if decision.allowed:
            return
        assert decision.reason_key is not None
        # A refusal of the policy table names its rule; "no user under the cursor" has none.
        reason = refusal_text(decision) if decision.rule else t(decision.reason_key)
        self.notify(reason, title=t("directory.refused.title", action=spec.label), severity="warning", markup=False)
