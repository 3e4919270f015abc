"""The policy table: may this operator take this action on this user, and if
not, which rule says no and why.

R3 (who sets the status), R4, R5, R7, R13 and R14 live here and nowhere else,
R14 for sites, numbers and groups (SPEC section 11) included, and R25: a site
administrator takes administrator actions on their own sites only (the
``sites`` and ``site_id`` dimension of :func:`decide`) and never manages
operators, sites or the tenant-wide carrier simulator.
The services call :func:`enforce`; the console calls :func:`decide` to dim an
action and explain it before the operator tries.

The activation status is the carrier's (R3): the simulator acts as the
``carrier`` operator, and an administrator may apply an outcome the carrier
reported by hand (R14); no other action ever sets it.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum

from onenet_tui.data.enums import DeviceType, GroupKind, Role, Status
from onenet_tui.data.errors import RuleRefused


class Action(StrEnum):
    # Deliberately no "deactivate": R13, the source product removed it.
    VIEW = "view"
    VIEW_AUDIT = "view_audit"
    ADD_USER = "add_user"
    EDIT_CONFIGURATION = "edit_configuration"
    EDIT_PROFILE = "edit_profile"
    EDIT_CALL_SERVICES = "edit_call_services"
    JOIN_HUNT_GROUP = "join_hunt_group"
    JOIN_CALL_CENTER = "join_call_center"
    JOIN_PICKUP = "join_pickup"
    JOIN_CALL_PARK = "join_call_park"
    LEAVE_GROUP = "leave_group"
    DELETE_USER = "delete_user"
    REGENERATE_CREDENTIALS = "regenerate_credentials"
    BULK_CREDENTIALS = "bulk_credentials"
    RESET_ACCOUNT = "reset_account"
    # By hand (`carrier activate|fail`) or by the carrier actor itself.
    SET_CARRIER_STATUS = "set_carrier_status"
    # One pass of the simulator, which acts as the carrier.
    SIMULATE_CARRIER = "simulate_carrier"
    # `carrier run`: a person starts the simulator process.
    START_CARRIER_SIMULATOR = "start_carrier_simulator"
    ADD_OPERATOR = "add_operator"
    # A real tenant (SPEC section 11): sites (R20), number pools (R21), groups (R22).
    MANAGE_SITES = "manage_sites"
    MANAGE_NUMBERS = "manage_numbers"
    # The carrier's flag on a number, set or cleared by hand or by the carrier.
    FLAG_NUMBER = "flag_number"
    MANAGE_GROUPS = "manage_groups"
    # The directory's users to a CSV file from the console (SPEC section 12):
    # a hand-over of the tenant's people, for administrators.
    EXPORT_USERS = "export_users"
    # The registrar's read-only database role (SPEC section 13): a grant on the tenant's database.
    MANAGE_REGISTRAR = "manage_registrar"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    rule: str | None = None
    reason_key: str | None = None

    def __bool__(self) -> bool:
        return self.allowed


ALLOWED = Decision(True)
ADMINISTRATORS_ONLY = Decision(False, "R14", "r14.admins_only")
CARRIER_ONLY = Decision(False, "R3", "r3.carrier_only")
# R25: what only the enterprise administrator does, asked by a site administrator.
ENTERPRISE_ONLY = Decision(False, "R25", "site_admin.enterprise_only")
# R25: a site administrator acting on a user, number or group of another site.
OTHER_SITE = Decision(False, "R25", "site_admin.other_site")

_EVERYONE = frozenset(Role)
# Administrator actions: the enterprise administrator's and, on their own
# sites (R25), a site administrator's.
_ADMIN = frozenset({Role.ADMIN, Role.SITE_ADMIN})
# The whole tenant's: operators, the sites themselves, the carrier simulator.
_ENTERPRISE = frozenset({Role.ADMIN})

# Who may take each action at all (R14, R3).
ROLES: dict[Action, frozenset[Role]] = {
    Action.VIEW: _EVERYONE,
    Action.VIEW_AUDIT: _EVERYONE,
    Action.ADD_USER: _ADMIN,
    Action.EDIT_CONFIGURATION: _ADMIN,
    Action.EDIT_PROFILE: _ADMIN,
    Action.EDIT_CALL_SERVICES: _ADMIN,
    Action.JOIN_HUNT_GROUP: _ADMIN,
    Action.JOIN_CALL_CENTER: _ADMIN,
    Action.JOIN_PICKUP: _ADMIN,
    Action.JOIN_CALL_PARK: _ADMIN,
    Action.LEAVE_GROUP: _ADMIN,
    Action.DELETE_USER: _ADMIN,
    Action.REGENERATE_CREDENTIALS: _ADMIN,
    Action.BULK_CREDENTIALS: _ADMIN,
    Action.RESET_ACCOUNT: _ADMIN,
    Action.SET_CARRIER_STATUS: frozenset({*_ADMIN, Role.CARRIER}),
    Action.SIMULATE_CARRIER: frozenset({Role.CARRIER}),
    Action.START_CARRIER_SIMULATOR: _ENTERPRISE,
    Action.ADD_OPERATOR: _ENTERPRISE,
    Action.MANAGE_SITES: _ENTERPRISE,
    Action.MANAGE_NUMBERS: _ADMIN,
    Action.FLAG_NUMBER: frozenset({*_ADMIN, Role.CARRIER}),
    Action.MANAGE_GROUPS: _ADMIN,
    # Reading, which helpdesk may do (R14): the same users `users list --format csv` gives them.
    Action.EXPORT_USERS: _EVERYONE,
    # The registrar's role reads every site's digests: the whole tenant's (R25).
    Action.MANAGE_REGISTRAR: _ENTERPRISE,
}

_NOT_ACTIVE = (Status.PENDING, Status.FAILED)

# What the user's status forbids (R3, R4, R5, R7); anything absent is allowed.
STATUS_REFUSALS: dict[Action, dict[Status, Decision]] = {
    Action.EDIT_CONFIGURATION: {s: Decision(False, "R5", f"r5.configuration_{s}") for s in _NOT_ACTIVE},
    Action.DELETE_USER: {s: Decision(False, "R5", f"r5.delete_{s}") for s in _NOT_ACTIVE},
    Action.JOIN_HUNT_GROUP: {s: Decision(False, "R4", f"r4.hunt_group_{s}") for s in _NOT_ACTIVE},
    Action.JOIN_CALL_CENTER: {s: Decision(False, "R4", f"r4.call_center_{s}") for s in _NOT_ACTIVE},
    Action.SET_CARRIER_STATUS: {Status.ACTIVATED: Decision(False, "R3", "r3.already_activated")},
}

# Actions that only make sense for a user with a desk phone (R8-R10).
NEEDS_DESK_PHONE: dict[Action, Decision] = {
    Action.REGENERATE_CREDENTIALS: Decision(False, "R9", "r9.no_desk_phone"),
    Action.BULK_CREDENTIALS: Decision(False, "R10", "r10.no_desk_phone"),
}

JOIN_ACTION: dict[GroupKind, Action] = {
    GroupKind.HUNT_GROUP: Action.JOIN_HUNT_GROUP,
    GroupKind.CALL_CENTER: Action.JOIN_CALL_CENTER,
    GroupKind.PICKUP: Action.JOIN_PICKUP,
    GroupKind.CALL_PARK: Action.JOIN_CALL_PARK,
}

# Every action a save of memberships may need (R22: joins of any kind, leaves).
MEMBERSHIP_ACTIONS = (*JOIN_ACTION.values(), Action.LEAVE_GROUP)

# Actions that change something: a helpdesk operator sees them dimmed.
CHANGES = frozenset(a for a, roles in ROLES.items() if Role.HELPDESK not in roles)


def decide(
    action: Action,
    role: Role | str,
    status: Status | str | None = None,
    device_type: DeviceType | str | None = None,
    *,
    sites: Collection[int] | None = None,
    site_id: int | None = None,
) -> Decision:
    """The decision for ``action`` by an operator of ``role`` on a user in
    ``status`` (None when the action has no target user). Role first: a
    helpdesk operator is told "administrators only", not a status rule.

    ``sites`` is the operator's scope (None: every site) and ``site_id`` the
    site of the target user, number or group (None: no target). A target
    outside the scope is refused by R25 before any status rule, so nothing
    about another site's user is told."""
    role = Role(role)
    if role not in ROLES[action]:
        if role is Role.SITE_ADMIN and Role.ADMIN in ROLES[action]:
            return ENTERPRISE_ONLY
        return CARRIER_ONLY if action is Action.SIMULATE_CARRIER else ADMINISTRATORS_ONLY
    if site_id is not None and outside(sites, site_id):
        return OTHER_SITE
    if status is not None:
        refusal = STATUS_REFUSALS.get(action, {}).get(Status(status))
        if refusal is not None:
            return refusal
    if device_type is not None and DeviceType(device_type) is DeviceType.NONE and action in NEEDS_DESK_PHONE:
        return NEEDS_DESK_PHONE[action]
    return ALLOWED


def outside(sites: Collection[int] | None, site_id: int | None) -> bool:
    """R25: whether site ``site_id`` (None: no such site) is outside the scope
    ``sites`` of an operator (None: every site). The lookups ask this before
    they hand a user, site or group to a service, so a site administrator's
    every command is scoped before any other rule is weighed."""
    return sites is not None and (site_id is None or site_id not in sites)


def enforce(
    action: Action,
    role: Role | str,
    status: Status | str | None = None,
    device_type: DeviceType | str | None = None,
    *,
    sites: Collection[int] | None = None,
    site_id: int | None = None,
) -> None:
    decision = decide(action, role, status, device_type, sites=sites, site_id=site_id)
    if not decision.allowed:
        assert decision.rule and decision.reason_key
        raise RuleRefused(decision.rule, decision.reason_key)


def enforce_role(role: Role | str, *actions: Action) -> None:
    """R14 before anything else: refuse at once when ``role`` may take none
    of ``actions``. For callers that must look something up before they know
    the exact action (which kind of group?), so that an operator without the
    role hears "administrators only", not about a missing user or a bad field."""
    decisions = [decide(action, role) for action in actions]
    if not any(decisions):
        enforce(actions[0], role)


def matrix() -> list[tuple[Action, Role, Status | None, Decision]]:
    """Every action x role x status with its decision: for help and for tests."""
    return [
        (action, role, status, decide(action, role, status))
        for action in Action
        for role in Role
        for status in (None, *Status)
    ]
