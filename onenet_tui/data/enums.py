"""The entities' enumerations, without the ORM: the policy table, the key
registry and the directory's first paint use them before SQLAlchemy and
SQLModel are imported (they cost a third of a second at launch).
``onenet_tui.data.models`` re-exports them, so either import works."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    PENDING = "pending"
    ACTIVATED = "activated"
    FAILED = "failed"


class DeviceType(StrEnum):
    DESK_PHONE = "desk_phone"
    NONE = "none"


class GroupKind(StrEnum):
    HUNT_GROUP = "hunt_group"
    CALL_CENTER = "call_center"
    PICKUP = "pickup"
    CALL_PARK = "call_park"


class CallCenterRole(StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"


class Role(StrEnum):
    # The enterprise administrator: every site, operators and sites too.
    ADMIN = "admin"
    # R25: an administrator of some sites only (``operator_sites``).
    SITE_ADMIN = "site_admin"
    HELPDESK = "helpdesk"
    # The carrier simulator acts as an operator of its own so its status
    # changes are audited like any other change (R15).
    CARRIER = "carrier"


class CredentialMode(StrEnum):
    SYSTEM = "system"
    ADMIN = "admin"
