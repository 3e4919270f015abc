"""Words for what the database stores as codes or English text, in the
language now set: audit action codes (``user.add``), the audit target of a
bulk reset ("4 users") and the carrier's failure reasons of the shipped
list. Anything else stored is data and is shown as it is.

The stored values stay as they are (the command line's ``audit`` prints
the codes, for scripts); only the console says them in words.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from onenet_tui.i18n import t


def _known(catalog_key: str, fallback: str) -> str:
    word = t(catalog_key)
    return fallback if word == catalog_key else word


def audit_action(code: str) -> str:
    """``user.add`` -> "User added"; an unknown code as it is."""
    return _known(f"audit.action.{code}", code)


def audit_target(action: str, target: str, details: Mapping[str, object]) -> str:
    """The bulk reset's "4 users" counted in words; other targets are names."""
    usernames = details.get("usernames")
    if action == "credentials.bulk_reset" and isinstance(usernames, list):
        return t("audit.target.users", count=len(usernames))
    return target


def carrier_reason(reason: str) -> str:
    """A failure reason of the shipped list in words of the language; a
    reason someone typed (``carrier fail``) as it is."""
    slug = re.sub(r"[^a-z0-9]+", "_", reason.strip().lower()).strip("_")
    return _known(f"carrier.reason.{slug}", reason) if slug else reason
