"""Group membership (R4, R6): hunt groups and call centers need an activated
user; pickup and call park groups take anyone."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlmodel import Session, col

from onenet_tui.data import audit, checks
from onenet_tui.data.context import Context
from onenet_tui.data.errors import InvalidInput, NotFound
from onenet_tui.data.lookup import group_by_name, user_by_ref
from onenet_tui.data.models import CallCenterRole, Group, GroupKind, GroupMember, Site, User
from onenet_tui.data.policy import JOIN_ACTION, Action, enforce, enforce_role
from onenet_tui.data.unit import change


@dataclass(frozen=True)
class MemberView:
    username: str
    name: str
    role: str | None
    status: str


@dataclass(frozen=True)
class GroupView:
    id: int
    name: str
    kind: str
    site: str
    members: list[MemberView]

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "kind": self.kind,
            "site": self.site,
            "members": [{"username": m.username, "role": m.role} for m in self.members],
        }


def add_member(ctx: Context, group_name: str, user_ref: str, role: CallCenterRole | str | None = None) -> list[str]:
    """Add (or change the role of) a member. Returns notice keys: R6 says a
    supervisor without the supervisor service is allowed, but worth a word."""
    # R14 before the lookups: which join rule applies needs the group's kind.
    enforce_role(ctx.actor.role, *JOIN_ACTION.values())
    with change(ctx) as session:
        group = group_by_name(session, group_name)
        user = user_by_ref(session, user_ref)
        enforce(JOIN_ACTION[GroupKind(group.kind)], ctx.actor.role, user.status)
        if group.site_id != user.site_id:
            raise InvalidInput.single("group", "group.other_site", group=group.name, site=_site_name(session, user))
        role_value = checks.member_role(group, role)
        membership = session.get(GroupMember, (group.id, user.id))
        if membership is None:
            session.add(GroupMember(group_id=group.id, user_id=user.id, role=role_value))  # type: ignore[arg-type]  # a stored row's id is set (SQLModel: optional)
        else:
            membership.role = role_value
        audit.record(
            session, ctx.actor, "group.add_member", group.name, user_id=user.id, username=user.username, role=role_value
        )
        notice = checks.supervisor_notice(role_value, user.services)
        return [notice] if notice else []


def remove_member(ctx: Context, group_name: str, user_ref: str) -> None:
    enforce(Action.LEAVE_GROUP, ctx.actor.role)  # R14 before the lookups
    with change(ctx) as session:
        group = group_by_name(session, group_name)
        user = user_by_ref(session, user_ref)
        enforce(Action.LEAVE_GROUP, ctx.actor.role, user.status)
        membership = session.get(GroupMember, (group.id, user.id))
        if membership is None:
            raise NotFound("membership", f"{user.username} @ {group.name}")
        session.delete(membership)
        audit.record(session, ctx.actor, "group.remove_member", group.name, user_id=user.id, username=user.username)


def _site_name(session: Session, user: User) -> str:
    site = session.get(Site, user.site_id)
    return site.name if site else ""


def list_groups(ctx: Context, *, site: str | None = None) -> list[GroupView]:
    with ctx.store.read() as session:
        query = (
            select(Group, col(Site.name))
            .join(Site, col(Site.id) == Group.site_id)
            .order_by(Site.name, Group.kind, Group.name)
        )
        if site:
            query = query.where(col(Site.name) == site)
        groups = session.execute(query).all()
        members: dict[int, list[MemberView]] = {}
        rows = session.execute(
            select(
                col(GroupMember.group_id),
                col(User.username),
                col(User.first_name),
                col(User.last_name),
                col(GroupMember.role),
                col(User.status),
            )
            .join(User, col(User.id) == GroupMember.user_id)
            .order_by(User.username)
        )
        for gid, username, first, last, role, status in rows:
            members.setdefault(gid, []).append(MemberView(username, f"{first} {last}", role, status))
        return [GroupView(g.id, g.name, g.kind, site_name, members.get(g.id, [])) for g, site_name in groups]
