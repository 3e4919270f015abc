"""One save of memberships (R22): a group's members, or a user's groups, set
to what was chosen in one service call.

One transaction, so a refusal halfway (R4 for one of them, a user of another
site) leaves everything as it was; one audit event listing who joined, who
left and whose role changed; refused as stale (``StaleData``, exit 5) when
the group or the user changed since the caller read it: the caller passes
the version it saw, and a change of memberships bumps the group's version and
every affected user's (:mod:`onenet_tui.data.versions`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select
from sqlmodel import Session, col

from onenet_tui.data import audit, checks, versions
from onenet_tui.data.context import Context
from onenet_tui.data.errors import InvalidInput, RuleRefused, StaleData
from onenet_tui.data.lookup import group_at_site, group_by_ref, user_by_ref
from onenet_tui.data.models import CallCenterRole, Group, GroupKind, GroupMember, Site, User
from onenet_tui.data.policy import JOIN_ACTION, MEMBERSHIP_ACTIONS, Action, decide, enforce_role
from onenet_tui.data.unit import change
from onenet_tui.i18n import t


class MemberRefused(RuleRefused):
    """A rule refuses one of the chosen memberships (R4): names whom, and the
    rule's own reason, translated when shown."""

    def __init__(self, rule: str, reason_key: str, *, user: str, group: str):
        super().__init__(rule, reason_key, user=user, group=group)

    def reason(self) -> str:
        return t(
            "r22.member_refused",
            lang=None,
            user=self.params["user"],
            group=self.params["group"],
            reason=t(self.reason_key, lang=None),
        )


@dataclass(frozen=True)
class Notice:
    """Allowed, but worth a word (R6): ``key`` about ``username`` in ``group``."""

    username: str
    group: str
    key: str


@dataclass(frozen=True)
class MembershipChange:
    """What a save did: joined (name and role), left, roles changed
    (name, old, new), and the R6 notices."""

    joined: list[tuple[str, str | None]] = field(default_factory=list)
    left: list[str] = field(default_factory=list)
    roles: list[tuple[str, str | None, str | None]] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.joined or self.left or self.roles)

    @property
    def count(self) -> int:
        return len(self.joined) + len(self.left) + len(self.roles)

    def audit_details(self, other: str) -> dict[str, Any]:
        """The change as an audit event's details; ``other`` names the other
        side of each membership (``username`` for a group, ``group`` for a user)."""
        return {
            "joined": [{other: name, "role": role} for name, role in self.joined],
            "left": sorted(self.left),
            "roles": [{other: name, "from": old, "to": new} for name, old, new in self.roles],
        }

    def sort(self) -> None:
        """Joined and left by name, as the answer lists them."""
        self.joined.sort()
        self.left.sort()


# A membership without a role (every group but call centers), as history shows it.
MEMBER = "member"


def membership_word(group: str, role: str | None) -> str:
    """A membership as a history lists it: "Hotline (supervisor)", "Empfang"."""
    return f"{group} ({role})" if role else group


def _membership_of(session: Session, membership: GroupMember) -> str:
    group = session.get(Group, membership.group_id)
    return membership_word(group.name if group else str(membership.group_id), membership.role)


def _username(session: Session, user_id: int) -> str:
    user = session.get(User, user_id)
    return user.username if user else str(user_id)


def _refuse_join(group: Group, user: User, role: str) -> None:
    """R4 (and R14 again) for one user joining ``group``."""
    decision = decide(JOIN_ACTION[GroupKind(group.kind)], role, user.status)
    if not decision.allowed:
        assert decision.rule and decision.reason_key
        raise MemberRefused(decision.rule, decision.reason_key, user=user.username, group=group.name)


def _refuse_leave(group: Group, user: User, role: str) -> None:
    decision = decide(Action.LEAVE_GROUP, role, user.status)
    if not decision.allowed:
        assert decision.rule and decision.reason_key
        raise MemberRefused(decision.rule, decision.reason_key, user=user.username, group=group.name)


def _site_name(session: Session, site_id: int) -> str:
    site = session.get(Site, site_id)
    return site.name if site else ""


def _site(session: Session, site_id: int) -> Site:
    site = session.get(Site, site_id)
    assert site is not None  # a foreign key
    return site


def _chunks(ids: list[int], size: int = 900) -> list[list[int]]:
    """At most ``size`` ids per IN list (SQLite before 3.32 takes 999 parameters)."""
    return [ids[i : i + size] for i in range(0, len(ids), size)]


def _join_or_change_role(
    session: Session,
    ctx: Context,
    chosen: Mapping[int, tuple[Group, User, str | None]],
    current: Mapping[int, GroupMember],
    result: MembershipChange,
    *,
    by_group: bool = True,
) -> list[int]:
    """Each chosen membership (group, user, role) that is new joins (R4
    asked) and each whose role differs takes the new role; R6 notices are
    collected. ``chosen`` and ``current`` are keyed alike (group ids for a
    user's groups, user ids for a group's members); the answer names the
    groups (``by_group``) or the users. The keys that changed, in order."""
    changed: list[int] = []
    for key, (group, user, role) in chosen.items():
        name = group.name if by_group else user.username
        membership = current.get(key)
        if membership is None:
            _refuse_join(group, user, ctx.actor.role)
            assert group.id is not None and user.id is not None  # both read from the database
            session.add(GroupMember(group_id=group.id, user_id=user.id, role=role))
            result.joined.append((name, role))
        elif membership.role != role:
            result.roles.append((name, membership.role, role))
            membership.role = role
        else:
            continue
        changed.append(key)
        notice = checks.supervisor_notice(role, list(user.services))
        if notice:
            result.notices.append(Notice(user.username, group.name, notice))
    return changed


def parse_member(text: str) -> tuple[str, str | None]:
    """``USER`` or ``USER:agent|supervisor`` (the command line's form)."""
    ref, sep, role = text.rpartition(":")
    if not sep or not ref or role not in {r.value for r in CallCenterRole}:
        return text, None
    return ref, role


def set_group_members(
    ctx: Context,
    group_name: str,
    members: Sequence[tuple[str, str | None]],
    *,
    expected_version: int | None = None,
    site: str | None = None,
    kind: str | None = None,
) -> MembershipChange:
    """R22: the group's members become exactly ``members`` (user reference,
    role), all users of the group's site, R4 and R6 applied to each."""
    enforce_role(ctx.actor.role, *MEMBERSHIP_ACTIONS)  # R14 before the lookups
    with change(ctx) as session:
        group = group_by_ref(session, group_name, site=site, kind=kind, sites=ctx.actor.sites)
        assert group.id is not None
        version = versions.lock_group(session, group.id)
        if expected_version is not None and version != expected_version:
            raise StaleData(group.name)
        wanted: dict[int, tuple[User, str | None]] = {}
        for ref, role in members:
            user = user_by_ref(session, ref, sites=ctx.actor.sites)
            assert user.id is not None
            if user.id in wanted:
                raise InvalidInput.single("members", "r22.twice", user=user.username)
            if user.site_id != group.site_id:
                raise InvalidInput.single(
                    "members",
                    "r22.other_site",
                    user=user.username,
                    group=group.name,
                    site=_site_name(session, group.site_id),
                )
            wanted[user.id] = (user, checks.member_role(group, role))
        current = {
            m.user_id: m
            for m in session.execute(select(GroupMember).where(col(GroupMember.group_id) == group.id)).scalars()
        }
        # As they were, for the history: the roles below change in place.
        before = [membership_word(_username(session, user_id), m.role) for user_id, m in current.items()]
        result = MembershipChange()
        asked = {user_id: (group, user, role) for user_id, (user, role) in wanted.items()}
        changed = _join_or_change_role(session, ctx, asked, current, result, by_group=False)
        leaving = [user_id for user_id in current if user_id not in wanted]
        for user_id in leaving:
            gone = session.get(User, user_id)
            assert gone is not None
            _refuse_leave(group, gone, ctx.actor.role)
            result.left.append(gone.username)
        for part in _chunks(leaving):
            session.execute(
                delete(GroupMember).where(col(GroupMember.group_id) == group.id, col(GroupMember.user_id).in_(part))
            )
        if not result:
            return result
        versions.bump_group(session, group.id, version, name=group.name)
        # Each of them changed too: a save of their groups as they were is stale.
        versions.bump_users(session, changed + leaving)
        audit.record(
            session,
            ctx.actor,
            "group.set_members",
            group.name,
            site_id=group.site_id,
            group_id=group.id,
            changed={"members": [sorted(before), sorted(membership_word(u.username, r) for u, r in wanted.values())]},
            about_users=[*changed, *leaving],
            **result.audit_details("username"),
        )
        result.sort()
        return result


def set_user_groups(
    ctx: Context,
    user_ref: str,
    chosen: Mapping[str, str | None],
    *,
    expected_version: int | None = None,
    group_versions: Mapping[str, int] | None = None,
) -> MembershipChange:
    """R22: the user's groups become exactly ``chosen`` (group name, role),
    groups of the user's site, R4 and R6 applied to each. ``expected_version``
    is the user's version as read; ``group_versions`` those of the groups as
    read: a group in the change whose version moved on makes the save stale.
    The answer's names are the groups'."""
    enforce_role(ctx.actor.role, *MEMBERSHIP_ACTIONS)  # R14 before the lookups
    with change(ctx) as session:
        user = user_by_ref(session, user_ref, sites=ctx.actor.sites)
        assert user.id is not None
        version = versions.lock_user(session, user.id)
        if expected_version is not None and version != expected_version:
            raise StaleData(user.username)
        wanted: dict[int, tuple[Group, str | None]] = {}
        for name, role in chosen.items():
            # Members are users of the group's site (R22): the name is the site's.
            group = group_at_site(session, name, _site(session, user.site_id), sites=ctx.actor.sites)
            assert group.id is not None
            wanted[group.id] = (group, checks.member_role(group, role))
        current = {
            m.group_id: m
            for m in session.execute(select(GroupMember).where(col(GroupMember.user_id) == user.id)).scalars()
        }
        # As they were, for the history: the roles below change in place.
        before = [_membership_of(session, m) for m in current.values()]
        result = MembershipChange()
        asked = {group_id: (group, user, role) for group_id, (group, role) in wanted.items()}
        touched = [wanted[group_id][0] for group_id in _join_or_change_role(session, ctx, asked, current, result)]
        leaving = [group_id for group_id in current if group_id not in wanted]
        for group_id in leaving:
            old_group = session.get(Group, group_id)
            assert old_group is not None
            _refuse_leave(old_group, user, ctx.actor.role)
            result.left.append(old_group.name)
            touched.append(old_group)
        if leaving:
            session.execute(
                delete(GroupMember).where(col(GroupMember.user_id) == user.id, col(GroupMember.group_id).in_(leaving))
            )
        if not result:
            return result
        seen = group_versions or {}
        for group in touched:
            assert group.id is not None
            versions.bump_group(session, group.id, seen.get(group.name), name=group.name)
        versions.bump_user(session, user.id, version, username=user.username)
        after = [membership_word(group.name, role) for group, role in wanted.values()]
        audit.record(
            session,
            ctx.actor,
            "user.set_groups",
            user.username,
            user_id=user.id,
            site_id=user.site_id,
            changed={"groups": [sorted(before), sorted(after)]},
            **result.audit_details("group"),
        )
        result.sort()
        return result
