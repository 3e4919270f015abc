"""Adding, changing and deleting users (R1-R7, R16-R19), one transaction each."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from pydantic_core import PydanticCustomError
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from onenet_tui.data import audit, checks, credentials, lookup, queries, validation, versions
from onenet_tui.data.context import Context
from onenet_tui.data.credentials import IssuedCredentials
from onenet_tui.data.errors import Conflict, FieldError, InvalidInput, NotFound, RuleRefused, StaleData
from onenet_tui.data.lookup import UserView, group_at_site, site_by_name, user_by_ref, user_view
from onenet_tui.data.memberships import membership_word
from onenet_tui.data.models import (
    CallCenterRole,
    DeskPhoneCredential,
    DeviceType,
    Group,
    GroupKind,
    GroupMember,
    PhoneNumber,
    Site,
    Status,
    User,
)
from onenet_tui.data.policy import JOIN_ACTION, Action, enforce
from onenet_tui.data.schemas import (
    CallServicesChange,
    ConfigChange,
    NewUser,
    ProfileChange,
    validate,
)
from onenet_tui.data.unit import change, constraint_key


@dataclass(frozen=True)
class AddedUser:
    user: UserView
    # Present for a desk phone user: show once (R8), then forget.
    credentials: IssuedCredentials | None
    notices: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class AffectedGroup:
    name: str
    kind: str
    remaining: list[str]


@dataclass(frozen=True)
class DeletionReport:
    """Who to tell after a delete (R7)."""

    username: str
    name: str
    number: str
    groups: list[AffectedGroup]


class _Errors:
    """Collects field errors so one submit reports every bad field at once."""

    def __init__(self) -> None:
        self.items: list[FieldError] = []

    def run(self, field_name: str, rule: Any, *args: Any) -> Any:
        try:
            return rule(*args)
        except PydanticCustomError as err:
            self.items.append(FieldError(field_name, err.type, dict(err.context or {})))
            return None

    def add(self, field_name: str, key: str, **params: object) -> None:
        self.items.append(FieldError(field_name, key, params))

    def collect(self, problem: FieldError | None) -> None:
        if problem is not None:
            self.items.append(problem)

    def raise_any(self) -> None:
        if self.items:
            raise InvalidInput(self.items)


def _claim_number(
    session: Session, errors: _Errors, site: Site, text: str, user: User | None = None
) -> PhoneNumber | None:
    row, problem = checks.number_claim(session, site, text, user.id if user else None)
    errors.collect(problem)
    return row


def _check_extension(session: Session, errors: _Errors, site: Site, extension: str, user: User | None = None) -> None:
    assert site.id is not None
    errors.collect(checks.extension_clash(session, site.id, extension, user.id if user else None))


def _check_username(session: Session, errors: _Errors, username: str, user: User | None = None) -> None:
    errors.collect(checks.username_clash(session, username, user.id if user else None))


def add_user(ctx: Context, data: NewUser) -> AddedUser:
    """Create a user, pending (R3), with the chosen groups, in one transaction."""
    enforce(Action.ADD_USER, ctx.actor.role)
    errors = _Errors()
    errors.items.extend(data.dependency_errors())
    with change(ctx) as session:
        site = site_by_name(session, data.site, sites=ctx.actor.sites)
        number = _claim_number(session, errors, site, data.number)
        extension = data.extension or (validation.default_extension(number.e164) if number else None)
        if extension:
            _check_extension(session, errors, site, extension)
        mobile = errors.run("mobile", validation.mobile_for_site, data.mobile, site.country) if data.mobile else None
        if data.username:
            _check_username(session, errors, data.username)
        groups = _resolve_groups(session, errors, site, data, ctx.actor.sites)
        errors.raise_any()
        assert number is not None and extension is not None
        flag = checks.number_flag(number, site.country)
        if flag is not None and not data.accept_flagged:
            # R21: activation will fail on this number; only a caller who
            # showed the flag and its reason may go on.
            raise RuleRefused("R21", flag.key.replace("r21.flagged", "r21.refused"), **flag.params)
        fields: dict[str, Any] = {
            "first_name": data.first_name,
            "last_name": data.last_name,
            "site_id": site.id,
            "number_id": number.id,
            "extension": extension,
            "device_type": data.device_type.value,
            "desk_phone_model": data.desk_phone_model,
            "licence": data.licence,
            "services": list(data.services),
            "mobile": mobile,
            "contract": data.contract,
            "email": data.email,
            "status": Status.PENDING.value,
        }
        user = _insert_user(session, data, fields)
        notices: list[str] = []
        for group, role in groups:
            # R4 against the new user's status: pending, so call groups refuse.
            enforce(JOIN_ACTION[GroupKind(group.kind)], ctx.actor.role, user.status)
            session.add(GroupMember(group_id=group.id, user_id=user.id, role=role))  # type: ignore[arg-type]  # a stored row's id is set (SQLModel: optional)
            # The group's members changed: a save of them as they were is stale (R22).
            versions.bump_group(session, group.id)  # type: ignore[arg-type]  # a stored row's id is set
            notice = checks.supervisor_notice(role, user.services)
            if notice is not None:
                notices.append(notice)
        issued = None
        if user.device_type == DeviceType.DESK_PHONE.value:
            issued = credentials.issue(session, ctx.actor, user, site, number.e164)
        session.flush()
        audit.record(
            session,
            ctx.actor,
            "user.add",
            user.username,
            user_id=user.id,
            site_id=site.id,
            number=number.e164,
            site=site.name,
            device_type=user.device_type,
            groups=[g.name for g, _ in groups],
            changed=audit.created(
                {
                    **_config_snapshot(user, number.e164),
                    "site": site.name,
                    "email": user.email,
                    "status": user.status,
                    "groups": [membership_word(g.name, role) for g, role in groups],
                }
            ),
            **_extra(issued, number if flag else None),
        )
        return AddedUser(user_view(session, user), issued, notices)


def _extra(issued: IssuedCredentials | None, flagged: PhoneNumber | None) -> dict[str, Any]:
    """Details only some events carry: new credentials (named, not shown,
    R26) and a flagged number taken knowingly (R21)."""
    extra: dict[str, Any] = {}
    if issued is not None:
        extra[audit.REPLACED] = ["desk_phone_credentials"]
    if flagged is not None:
        extra.update(flagged_number_accepted=True, flag_reason=flagged.flag_reason)
    return extra


# How often a proposed username is proposed again after a concurrent add took it.
_USERNAME_ATTEMPTS = 5


def _insert_user(session: Session, data: NewUser, fields: dict[str, Any]) -> User:
    """Insert the new user under a savepoint. Another admin adding the same
    name may take the proposed username (R19) between proposing and
    inserting: then the next free suffix is proposed. Only a username the
    admin typed is refused as taken."""
    for _ in range(_USERNAME_ATTEMPTS):
        username = data.username or queries.unique_username(session, data.first_name, data.last_name)
        user = User(username=username, **fields)
        try:
            with session.begin_nested():
                session.add(user)
                session.flush()
        except IntegrityError as exc:
            if data.username or constraint_key(exc) != "conflict.username":
                raise
            continue
        return user
    raise Conflict("conflict.username")


def _resolve_groups(
    session: Session, errors: _Errors, site: Site, data: NewUser, sites: Collection[int] | None
) -> list[tuple[Group, str | None]]:
    chosen: list[tuple[Group, str | None]] = []
    for choice in data.groups:
        # Members are users of the group's site (R22): the name is the site's.
        try:
            group = group_at_site(session, choice.group, site, sites=sites)
        except NotFound:
            errors.add("groups", "group.unknown", group=choice.group)
            continue
        except InvalidInput as refused:
            errors.items.extend(refused.errors)
            continue
        chosen.append((group, _role_for(errors, group, choice.role)))
    return chosen


def _role_for(errors: _Errors, group: Group, role: CallCenterRole | str | None) -> str | None:
    try:
        return checks.member_role(group, role)
    except InvalidInput as refused:
        errors.items.extend(refused.errors)
        return None


def _load_current(ctx: Context, session: Session, ref: str, expected_version: int | None) -> User:
    user = user_by_ref(session, ref, sites=ctx.actor.sites)
    if expected_version is not None and user.version != expected_version:
        raise StaleData(user.username)
    return user


def change_configuration(ctx: Context, ref: str, data: ConfigChange) -> tuple[UserView, IssuedCredentials | None]:
    """Change configuration fields of an activated user (R5). Returns the new
    view and, when a desk phone was added, its credentials (shown once)."""
    with change(ctx) as session:
        user = _load_current(ctx, session, ref, data.expected_version)
        enforce(Action.EDIT_CONFIGURATION, ctx.actor.role, user.status)
        site = session.get(Site, user.site_id)
        old_number = session.get(PhoneNumber, user.number_id)
        assert site is not None and old_number is not None
        errors = _Errors()
        before = _config_snapshot(user, old_number.e164)

        number = old_number
        if data.number is not None:
            number = _claim_number(session, errors, site, data.number, user) or old_number
        extension = data.extension
        if (
            extension is None
            and number.id != old_number.id
            and user.extension == validation.default_extension(old_number.e164)
        ):
            # R2: the extension follows the number unless someone chose it.
            extension = validation.default_extension(number.e164)
        if extension is not None:
            _check_extension(session, errors, site, extension, user)
        if data.username is not None and data.username != user.username:
            _check_username(session, errors, data.username, user)

        device_type = data.device_type.value if data.device_type else user.device_type
        model = data.desk_phone_model if data.desk_phone_model is not None else user.desk_phone_model
        if device_type == DeviceType.NONE.value and data.desk_phone_model is None:
            model = None
        mobile = None if data.clear_mobile else (data.mobile if data.mobile is not None else user.mobile)
        if data.mobile is not None:
            mobile = errors.run("mobile", validation.mobile_for_site, data.mobile, site.country)
        contract = None if data.clear_contract else (data.contract if data.contract is not None else user.contract)
        errors.items.extend(validation.device_dependency_errors(device_type, model, mobile, contract))
        errors.raise_any()

        for name in ("first_name", "last_name", "username", "licence"):
            value = getattr(data, name)
            if value is not None:
                setattr(user, name, value)
        if data.services is not None:
            user.services = list(data.services)
        user.number_id = number.id  # type: ignore[assignment]  # a stored row's id is set (SQLModel: optional)
        if extension is not None:
            user.extension = extension
        gained_phone = device_type == DeviceType.DESK_PHONE.value and user.device_type != device_type
        user.device_type = device_type
        user.desk_phone_model = model
        user.mobile = mobile
        user.contract = contract
        session.flush()

        issued = None
        if device_type == DeviceType.NONE.value:
            session.execute(delete(DeskPhoneCredential).where(col(DeskPhoneCredential.user_id) == user.id))
        elif gained_phone or number.id != old_number.id:
            # A new SIP username (the number changed) or a new phone: new credentials.
            issued = credentials.issue(session, ctx.actor, user, site, number.e164)
        after = _config_snapshot(user, number.e164)
        audit.record(
            session,
            ctx.actor,
            "user.change_configuration",
            user.username,
            user_id=user.id,
            site_id=user.site_id,
            changed=audit.changes(before, after),
            **_extra(issued, None),
        )
        session.flush()
        return user_view(session, user), issued


def _config_snapshot(user: User, e164: str) -> dict[str, Any]:
    return {
        "first_name": user.first_name,
        "last_name": user.last_name,
        "username": user.username,
        "number": e164,
        "extension": user.extension,
        "device_type": user.device_type,
        "desk_phone_model": user.desk_phone_model,
        "licence": user.licence,
        "services": list(user.services),
        "mobile": user.mobile,
        "contract": user.contract,
    }


def edit_profile(ctx: Context, ref: str, data: ProfileChange) -> UserView:
    """Profile fields: allowed in every status (R5)."""
    with change(ctx) as session:
        user = _load_current(ctx, session, ref, data.expected_version)
        enforce(Action.EDIT_PROFILE, ctx.actor.role, user.status)
        changed = _apply(user, data, ("email", "department", "job_title", "preferred_language"))
        for name in ("department", "job_title"):
            if getattr(data, f"clear_{name}") and getattr(user, name) is not None:
                changed[name] = [getattr(user, name), None]
                setattr(user, name, None)
        audit.record(
            session,
            ctx.actor,
            "user.edit_profile",
            user.username,
            user_id=user.id,
            site_id=user.site_id,
            changed=changed,
        )
        session.flush()
        return user_view(session, user)


def edit_call_services(ctx: Context, ref: str, data: CallServicesChange) -> UserView:
    """Call forwarding, do not disturb, call waiting: allowed in every status (R5)."""
    with change(ctx) as session:
        user = _load_current(ctx, session, ref, data.expected_version)
        enforce(Action.EDIT_CALL_SERVICES, ctx.actor.role, user.status)
        site = session.get(Site, user.site_id)
        assert site is not None
        errors = _Errors()
        targets: dict[str, str | None] = {}
        for name in ("forward_always", "forward_busy", "forward_no_answer"):
            value = getattr(data, name)
            if value is None:
                continue
            targets[name] = errors.run(name, validation.forward_target, value, site.country) if value.strip() else ""
        errors.raise_any()
        changed: dict[str, list[Any]] = {}
        for name, target in targets.items():
            new = target or None
            if getattr(user, name) != new:
                changed[name] = [getattr(user, name), new]
                setattr(user, name, new)
        changed.update(_apply(user, data, ("do_not_disturb", "call_waiting")))
        audit.record(
            session,
            ctx.actor,
            "user.edit_call_services",
            user.username,
            user_id=user.id,
            site_id=user.site_id,
            changed=changed,
        )
        session.flush()
        return user_view(session, user)


def _apply(user: User, data: Any, names: tuple[str, ...]) -> dict[str, list[Any]]:
    changed: dict[str, list[Any]] = {}
    for name in names:
        value = getattr(data, name)
        if value is not None and getattr(user, name) != value:
            changed[name] = [getattr(user, name), value]
            setattr(user, name, value)
    return changed


def deletion_preview(ctx: Context, ref: str) -> DeletionReport:
    """What a delete would affect, for the confirmation screen (R7)."""
    with ctx.store.read() as session:
        user = user_by_ref(session, ref, sites=ctx.actor.sites)
        return _deletion_report(session, user)


def _deletion_report(session: Session, user: User) -> DeletionReport:
    number = session.get(PhoneNumber, user.number_id)
    assert number is not None
    groups: list[AffectedGroup] = []
    memberships = session.execute(
        select(Group)
        .join(GroupMember, col(GroupMember.group_id) == Group.id)
        .where(col(GroupMember.user_id) == user.id)
        .order_by(Group.name)
    ).scalars()
    for group in memberships:
        remaining = session.execute(
            select(col(User.username))
            .join(GroupMember, col(GroupMember.user_id) == User.id)
            .where(col(GroupMember.group_id) == group.id, col(User.id) != user.id)
            .order_by(User.username)
        ).scalars()
        groups.append(AffectedGroup(group.name, group.kind, list(remaining)))
    return DeletionReport(user.username, f"{user.first_name} {user.last_name}", number.e164, groups)


def delete_user(ctx: Context, ref: str, *, expected_version: int | None = None) -> DeletionReport:
    """R7: only activated users. Frees the number at once, removes the user
    from every group, and returns who to tell."""
    with change(ctx) as session:
        user = _load_current(ctx, session, ref, expected_version)
        enforce(Action.DELETE_USER, ctx.actor.role, user.status)
        report = _deletion_report(session, user)
        site = session.get(Site, user.site_id)
        last = {
            **_config_snapshot(user, report.number),
            "site": site.name if site else None,
            "email": user.email,
            "department": user.department,
            "job_title": user.job_title,
            "status": user.status,
            "groups": [g.name for g in report.groups],
        }
        left = session.execute(select(col(GroupMember.group_id)).where(col(GroupMember.user_id) == user.id)).scalars()
        for group_id in list(left):
            versions.bump_group(session, group_id)  # R22: the group's members changed
        session.execute(delete(GroupMember).where(col(GroupMember.user_id) == user.id))
        session.execute(delete(DeskPhoneCredential).where(col(DeskPhoneCredential.user_id) == user.id))
        session.delete(user)
        audit.record(
            session,
            ctx.actor,
            "user.delete",
            report.username,
            user_id=user.id,
            site_id=user.site_id,
            number=report.number,
            groups=[g.name for g in report.groups],
            changed=audit.removed(last),
        )
        return report


def add_user_from(ctx: Context, data: dict[str, Any]) -> AddedUser:
    """Validate raw input (a form or the command line) and add the user."""
    enforce(Action.ADD_USER, ctx.actor.role)  # R14 before any field check
    return add_user(ctx, validate(NewUser, data))


def view(ctx: Context, ref: str) -> UserView:
    # One statement (one round trip to a remote database): `users show` and
    # the user's page open with it.
    with ctx.store.quick_read() as session:
        return lookup.view_by_ref(session, ref, sites=ctx.actor.sites)


def view_by_id(ctx: Context, user_id: int) -> UserView:
    """The same user after someone renamed them."""
    with ctx.store.quick_read() as session:
        return lookup.view_by_id(session, user_id, sites=ctx.actor.sites)


# --- read-only questions a form asks while it is filled in ------------------
#
# The same checks the services above run, each in its own short read, so that
# the console shows the message a submit would get before the operator submits.


@dataclass(frozen=True)
class SitePool:
    """A site as a form for one of its users needs it."""

    name: str
    id: int
    country: str
    free_numbers: list[str]
    # (name, kind) of the site's groups, by kind then name.
    groups: list[tuple[str, str]]
    # R21: the free numbers the carrier flagged, with the flag as a notice.
    flags: dict[str, FieldError] = field(default_factory=dict)


def site_names(ctx: Context) -> list[str]:
    with ctx.store.read() as session:
        # R25: a site administrator is offered their own sites only.
        return [site.name for site in queries.sites(session) if ctx.actor.sites is None or site.id in ctx.actor.sites]


def site_pool(ctx: Context, site: str) -> SitePool:
    with ctx.store.read() as session:
        row = site_by_name(session, site, sites=ctx.actor.sites)
        assert row.id is not None
        groups = [(g.name, g.kind) for g in queries.site_groups(session, row.id)]
        flags = {
            number.e164: notice
            for number in queries.flagged_free_numbers(session, row.id)
            if (notice := checks.number_flag(number, row.country)) is not None
        }
        return SitePool(row.name, row.id, row.country, queries.free_numbers(session, row.id), groups, flags)


def proposed_username(ctx: Context, first: str, last: str) -> str:
    """R19: the username an add would choose for this name now."""
    with ctx.store.read() as session:
        return queries.unique_username(session, first, last)


def username_problem(ctx: Context, username: str, user_id: int | None = None) -> FieldError | None:
    """R19 for ``username`` (``user_id`` may keep theirs, in any case)."""
    with ctx.store.read() as session:
        return checks.username_clash(session, username, user_id)


def number_problem(ctx: Context, site: str, text: str, user_id: int | None = None) -> FieldError | None:
    """R16 for ``text`` at ``site`` (``user_id`` may keep their own number)."""
    with ctx.store.read() as session:
        return checks.number_claim(session, site_by_name(session, site, sites=ctx.actor.sites), text, user_id)[1]


def number_notice(ctx: Context, site: str, text: str, user_id: int | None = None) -> FieldError | None:
    """R21: the carrier's flag on a number ``text`` could take at ``site``
    (None when it is not flagged, or cannot be taken: see number_problem)."""
    with ctx.store.read() as session:
        row = site_by_name(session, site, sites=ctx.actor.sites)
        number, problem = checks.number_claim(session, row, text, user_id)
        return checks.number_flag(number, row.country) if number is not None and problem is None else None


def extension_problem(ctx: Context, site: str, extension: str, user_id: int | None = None) -> FieldError | None:
    """R2 for ``extension`` at ``site`` (``user_id`` may keep their own)."""
    with ctx.store.read() as session:
        row = site_by_name(session, site, sites=ctx.actor.sites)
        assert row.id is not None
        return checks.extension_clash(session, row.id, extension, user_id)
