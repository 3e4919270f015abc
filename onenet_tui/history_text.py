"""An audit event's details in words (R26): the fields changed, old -> new,
what was replaced (never what it is), and the rest of the details as
stored. Plain strings: whoever draws them shows them literally."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from onenet_tui.data import audit
from onenet_tui.i18n import t

# Kept by every user event for the columns and the hand-over logic; the
# details screen names the user by the target already.
_QUIET = frozenset({"user_id", audit.CHANGES, audit.REPLACED})
# A summary cell stays one line, short enough to read at a glance.
SUMMARY_MAX = 200


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: str
    new: str


def value_text(value: object) -> str:
    """A stored value as history shows it: nothing as a dash, lists joined."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return t("history.value.yes") if value else t("history.value.no")
    if isinstance(value, list):
        return ", ".join(value_text(item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def changes(details: Mapping[str, Any]) -> list[FieldChange]:
    """The fields changed, in the order the event names them."""
    found = details.get(audit.CHANGES)
    if not isinstance(found, Mapping):
        return []
    listed: list[FieldChange] = []
    for name, pair in found.items():
        if isinstance(pair, list) and len(pair) == 2:
            listed.append(FieldChange(str(name), value_text(pair[0]), value_text(pair[1])))
        else:
            listed.append(FieldChange(str(name), "—", value_text(pair)))
    return listed


def replaced(details: Mapping[str, Any]) -> list[str]:
    """What the change replaced without showing it ("desk phone credentials")."""
    found = details.get(audit.REPLACED)
    if not isinstance(found, list):
        return []
    return [_known(f"history.replaced.{item}", str(item)) for item in found]


def others(details: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The remaining details, key and value as stored."""
    return [(str(key), value_text(value)) for key, value in details.items() if key not in _QUIET]


def summary(details: Mapping[str, Any]) -> str:
    """One line for the audit log's details column: the changes when the
    event names them, else the details as stored."""
    listed = changes(details)
    # A new value where there was none says just the value: an added user's
    # fields fit the column; the details screen still says "— → value".
    parts = [
        t("history.change.set", field=c.field, new=c.new)
        if c.old == "—"
        else t("history.change", field=c.field, old=c.old, new=c.new)
        for c in listed
    ]
    parts += [t("history.replaced", what=what) for what in replaced(details)]
    if not parts:
        rest = {key: value for key, value in details.items() if key != "user_id"}
        text = json.dumps(rest, ensure_ascii=False, sort_keys=True) if rest else ""
    else:
        text = "; ".join(parts)
    return text if len(text) <= SUMMARY_MAX else text[: SUMMARY_MAX - 1] + "…"


def _known(key: str, fallback: str) -> str:
    words = t(key)
    return fallback if words == key else words
