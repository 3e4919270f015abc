"""Groups (R22) and single memberships (R4, R6): hunt groups and call
centers need an activated user; pickup and call park groups take anyone.

Groups are added, renamed and deleted here, and read for the groups screen
(:func:`group_summaries`, :func:`group_detail`, :func:`candidates`). A save
of many memberships at once is :mod:`onenet_tui.data.memberships`."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic_core import PydanticCustomError
from sqlalchemy import delete, func, select
from sqlmodel import Session, col

from onenet_tui.data import audit, checks, tenant_checks, versions
from onenet_tui.data.context import Context
from onenet_tui.data.errors import FieldError, InvalidInput, NotFound, RuleRefused, StaleData
from onenet_tui.data.lookup import group_by_ref, site_by_name, user_by_ref
from onenet_tui.data.memberships import MEMBER, membership_word
from onenet_tui.data.models import CallCenterRole, Group, GroupKind, GroupMember, Site, User
from onenet_tui.data.policy import JOIN_ACTION, Action, Decision, decide, enforce, enforce_role
from onenet_tui.data.sites import checked
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


def add_member(
    ctx: Context,
    group_name: str,
    user_ref: str,
    role: CallCenterRole | str | None = None,
    *,
    site: str | None = None,
    kind: str | None = None,
) -> list[str]:
    """Add (or change the role of) a member. Returns notice keys: R6 says a
    supervisor without the supervisor service is allowed, but worth a word."""
    # R14 before the lookups: which join rule applies needs the group's kind.
    enforce_role(ctx.actor.role, *JOIN_ACTION.values())
    with change(ctx) as session:
        group = group_by_ref(session, group_name, site=site, kind=kind, sites=ctx.actor.sites)
        user = user_by_ref(session, user_ref, sites=ctx.actor.sites)
        enforce(JOIN_ACTION[GroupKind(group.kind)], ctx.actor.role, user.status)
        if group.site_id != user.site_id:
            raise InvalidInput.single("group", "group.other_site", group=group.name, site=_site_name(session, user))
        role_value = checks.member_role(group, role)
        membership = session.get(GroupMember, (group.id, user.id))
        old_role = None if membership is None else (membership.role or MEMBER)
        if membership is None:
            session.add(GroupMember(group_id=group.id, user_id=user.id, role=role_value))  # type: ignore[arg-type]  # a stored row's id is set (SQLModel: optional)
        else:
            membership.role = role_value
        assert group.id is not None and user.id is not None
        # Both sides changed: a save of either based on what it was is stale (R22).
        versions.bump_group(session, group.id)
        versions.bump_users(session, [user.id])
        audit.record(
            session,
            ctx.actor,
            "group.add_member",
            group.name,
            user_id=user.id,
            site_id=group.site_id,
            username=user.username,
            role=role_value,
            changed={"member": [old_role, role_value or MEMBER]},
        )
        notice = checks.supervisor_notice(role_value, user.services)
        return [notice] if notice else []


def remove_member(
    ctx: Context, group_name: str, user_ref: str, *, site: str | None = None, kind: str | None = None
) -> None:
    enforce(Action.LEAVE_GROUP, ctx.actor.role)  # R14 before the lookups
    with change(ctx) as session:
        group = group_by_ref(session, group_name, site=site, kind=kind, sites=ctx.actor.sites)
        user = user_by_ref(session, user_ref, sites=ctx.actor.sites)
        enforce(Action.LEAVE_GROUP, ctx.actor.role, user.status)
        membership = session.get(GroupMember, (group.id, user.id))
        if membership is None:
            raise NotFound("membership", f"{user.username} @ {group.name}")
        old_role = membership.role or MEMBER
        session.delete(membership)
        assert group.id is not None and user.id is not None
        versions.bump_group(session, group.id)
        versions.bump_users(session, [user.id])
        audit.record(
            session,
            ctx.actor,
            "group.remove_member",
            group.name,
            user_id=user.id,
            site_id=group.site_id,
            username=user.username,
            changed={"member": [old_role, None]},
        )


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
            query = query.where(col(Site.id) == site_by_name(session, site, sites=ctx.actor.sites).id)
        if ctx.actor.sites is not None:  # R25: their sites' groups only
            query = query.where(col(Group.site_id).in_(sorted(ctx.actor.sites)))
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


# --- the groups themselves (R22) ---------------------------------------------------


@dataclass(frozen=True)
class GroupSummary:
    """A group in a list: the groups screen's row."""

    id: int
    name: str
    kind: str
    site: str
    members: int
    version: int


@dataclass(frozen=True)
class GroupMemberRow:
    username: str
    first_name: str
    last_name: str
    status: str
    role: str | None
    # R6: a supervisor without the supervisor service is allowed, worth a word.
    notice: str | None

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@dataclass(frozen=True)
class GroupDetail:
    """A group with its members (by name) and the version a save of its
    members is checked against (R22)."""

    id: int
    name: str
    kind: str
    site: str
    version: int
    members: list[GroupMemberRow]

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "kind": self.kind,
            "site": self.site,
            "version": self.version,
            "members": [{"username": m.username, "role": m.role} for m in self.members],
        }


def add_group(ctx: Context, site_name: str, kind: GroupKind | str, name: str) -> GroupSummary:
    enforce(Action.MANAGE_GROUPS, ctx.actor.role)  # R14 before a bad field
    errors: list[FieldError] = []
    wanted, group_kind = "", GroupKind.PICKUP
    try:
        wanted = tenant_checks.group_name(name)
    except PydanticCustomError as err:
        errors.append(FieldError("name", err.type, dict(err.context or {})))
    try:
        group_kind = tenant_checks.group_kind(str(kind))
    except PydanticCustomError as err:
        errors.append(FieldError("kind", err.type, dict(err.context or {})))
    if errors:
        raise InvalidInput(errors)
    with change(ctx) as session:
        site = site_by_name(session, site_name, sites=ctx.actor.sites)
        clash = tenant_checks.group_name_clash(session, wanted, site.id, group_kind.value)
        if clash is not None:
            raise InvalidInput([clash])
        group = Group(name=wanted, site_id=site.id, kind=group_kind.value)  # type: ignore[arg-type]  # a stored row's id is set (SQLModel: optional)
        session.add(group)
        session.flush()
        assert group.id is not None
        audit.record(
            session,
            ctx.actor,
            "group.add",
            group.name,
            site_id=site.id,
            group_id=group.id,
            site=site.name,
            kind=group.kind,
            changed=audit.created({"name": group.name, "site": site.name, "kind": group.kind}),
        )
        return GroupSummary(group.id, group.name, group.kind, site.name, 0, group.version)


def rename_group(
    ctx: Context,
    name: str,
    new_name: str,
    *,
    expected_version: int | None = None,
    site: str | None = None,
    kind: str | None = None,
) -> GroupSummary:
    enforce(Action.MANAGE_GROUPS, ctx.actor.role)
    wanted: str = checked(tenant_checks.group_name, "new_name", new_name)
    with change(ctx) as session:
        group = group_by_ref(session, name, site=site, kind=kind, sites=ctx.actor.sites)
        assert group.id is not None
        clash = tenant_checks.group_name_clash(session, wanted, group.site_id, group.kind, group.id)
        if clash is not None:
            raise InvalidInput([FieldError("new_name", clash.key, clash.params)])
        versions.bump_group(session, group.id, expected_version, name=group.name)
        old = group.name
        group.name = wanted
        audit.record(
            session,
            ctx.actor,
            "group.rename",
            wanted,
            site_id=group.site_id,
            group_id=group.id,
            old_name=old,
            new_name=wanted,
            changed={"name": [old, wanted]},
        )
        home = session.get(Site, group.site_id)
        assert home is not None
        count = session.execute(
            select(func.count()).select_from(GroupMember).where(col(GroupMember.group_id) == group.id)
        ).scalar_one()
        return GroupSummary(group.id, wanted, group.kind, home.name, int(count), group.version)


@dataclass(frozen=True)
class DeletedGroup:
    name: str
    kind: str
    site: str
    # Who was in it and should be told (R22).
    members: list[GroupMemberRow]


def delete_group(
    ctx: Context, name: str, *, expected_version: int | None = None, site: str | None = None, kind: str | None = None
) -> DeletedGroup:
    """R22: the group goes with its memberships; the answer lists the members,
    who should be told. With ``expected_version``, a group whose members
    changed since they were shown is refused as stale."""
    enforce(Action.MANAGE_GROUPS, ctx.actor.role)
    with change(ctx) as session:
        group = group_by_ref(session, name, site=site, kind=kind, sites=ctx.actor.sites)
        assert group.id is not None
        if expected_version is not None and versions.lock_group(session, group.id) != expected_version:
            raise StaleData(group.name)
        detail = _detail(session, group)
        member_ids = [m.user_id for m in _member_ids(session, group.id)]
        session.execute(delete(GroupMember).where(col(GroupMember.group_id) == group.id))
        # The users' memberships changed: a save based on what they were is stale.
        versions.bump_users(session, member_ids)
        audit.record(
            session,
            ctx.actor,
            "group.delete",
            group.name,
            site_id=group.site_id,
            group_id=group.id,
            site=detail.site,
            kind=group.kind,
            members=[{"username": m.username, "role": m.role} for m in detail.members],
            changed=audit.removed(
                {
                    "name": group.name,
                    "site": detail.site,
                    "kind": group.kind,
                    "members": [membership_word(m.username, m.role) for m in detail.members],
                }
            ),
            # Each member left: their histories say so (R26).
            about_users=member_ids,
        )
        session.delete(group)
        return DeletedGroup(detail.name, detail.kind, detail.site, detail.members)


def _member_ids(session: Session, group_id: int) -> list[GroupMember]:
    return list(session.execute(select(GroupMember).where(col(GroupMember.group_id) == group_id)).scalars())


def _detail(session: Session, group: Group) -> GroupDetail:
    assert group.id is not None
    site = session.get(Site, group.site_id)
    assert site is not None
    rows = session.execute(
        select(
            col(User.username),
            col(User.first_name),
            col(User.last_name),
            col(User.status),
            col(GroupMember.role),
            col(User.services),
        )
        .join(User, col(User.id) == GroupMember.user_id)
        .where(col(GroupMember.group_id) == group.id)
        .order_by(User.last_name, User.first_name, User.username)
    ).all()
    members = [
        GroupMemberRow(username, first, last, status, role, checks.supervisor_notice(role, list(services or [])))
        for username, first, last, status, role, services in rows
    ]
    return GroupDetail(group.id, group.name, group.kind, site.name, group.version, members)


def group_detail(ctx: Context, name: str, *, site: str | None = None, kind: str | None = None) -> GroupDetail:
    """Read only: a group and its members by name (2,000 members in one query)."""
    with ctx.store.read() as session:
        return _detail(session, group_by_ref(session, name, site=site, kind=kind, sites=ctx.actor.sites))


def group_detail_by_id(ctx: Context, group_id: int, shown_as: str) -> GroupDetail:
    """Read only: a group shown on a screen, read again by its id, so a
    rename by someone else meanwhile is followed (``shown_as``, the name the
    screen knew it by, names it in a refusal): NotFound once it is deleted,
    R25 for a site administrator when it is not of their sites."""
    with ctx.store.read() as session:
        group = session.get(Group, group_id)
        if group is None:
            raise NotFound("group", shown_as)
        if ctx.actor.sites is not None and group.site_id not in ctx.actor.sites:
            raise RuleRefused("R25", "site_admin.group_not_yours", group=shown_as)
        return _detail(session, group)


def group_summaries(ctx: Context, *, site: str | None = None) -> list[GroupSummary]:
    """Read only: every group (of one site) with its member count, by site,
    kind and name, without loading the members."""
    with ctx.store.read() as session:
        counts = (
            select(col(GroupMember.group_id), func.count().label("n"))
            .group_by(col(GroupMember.group_id))
            .subquery("members_per_group")
        )
        query = (
            select(
                col(Group.id),
                col(Group.name),
                col(Group.kind),
                col(Site.name),
                func.coalesce(counts.c.n, 0),
                col(Group.version),
            )
            .join(Site, col(Site.id) == Group.site_id)
            .outerjoin(counts, counts.c.group_id == Group.id)
            .order_by(Site.name, Group.kind, Group.name)
        )
        if site is not None:
            query = query.where(col(Site.id) == site_by_name(session, site, sites=ctx.actor.sites).id)
        if ctx.actor.sites is not None:  # R25: their sites' groups only
            query = query.where(col(Group.site_id).in_(sorted(ctx.actor.sites)))
        return [GroupSummary(gid, n, k, s, int(c), v) for gid, n, k, s, c, v in session.execute(query)]


@dataclass(frozen=True)
class Candidate:
    """A user of the group's site as the member picker shows them: whether
    they may join (R4, R14) and why not, and the R6 word for a supervisor."""

    username: str
    first_name: str
    last_name: str
    status: str
    services: tuple[str, ...]
    member: bool
    role: str | None
    decision: Decision


def candidates(ctx: Context, name: str, *, site: str | None = None, kind: str | None = None) -> list[Candidate]:
    """Read only: every user of the group's site, by name, with the decision
    to add them (R4 by the group's kind and the user's status, R14 by the
    operator's role), so a picker can disable them with the reason."""
    with ctx.store.read() as session:
        group = group_by_ref(session, name, site=site, kind=kind, sites=ctx.actor.sites)
        action = JOIN_ACTION[GroupKind(group.kind)]
        members = {m.user_id: m.role for m in _member_ids(session, group.id)} if group.id is not None else {}
        rows = session.execute(
            select(
                col(User.id),
                col(User.username),
                col(User.first_name),
                col(User.last_name),
                col(User.status),
                col(User.services),
            )
            .where(col(User.site_id) == group.site_id)
            .order_by(User.last_name, User.first_name, User.username)
        ).all()
        return [
            Candidate(
                username,
                first,
                last,
                status,
                tuple(services or ()),
                uid in members,
                members.get(uid),
                decide(action, ctx.actor.role, status),
            )
            for uid, username, first, last, status, services in rows
        ]
