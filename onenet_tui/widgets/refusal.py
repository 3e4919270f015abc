"""A refused action in words, in a module of its own: the directory's first
frame needs it, not the field checks (and their e-mail and number parsers)
of :mod:`onenet_tui.widgets.field`."""

from __future__ import annotations

from onenet_tui.data.policy import Decision
from onenet_tui.i18n import t


def refusal_text(decision: Decision) -> str:
    """``R5: the user is pending: ...`` for a refused decision."""
    assert decision.rule and decision.reason_key
    return t("lifecycle.refused", rule=decision.rule, reason=t(decision.reason_key))
