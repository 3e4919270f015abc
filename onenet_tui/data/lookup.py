"""Finding users, sites and groups by what people type, and the views
(plain dataclasses) that the command line and the console show."""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.exc import MultipleResultsFound
from sqlmodel import Session, col

from onenet_tui.data import phones, policy, queries
from onenet_tui.data.errors import FieldError, InvalidInput, NotFound, RuleRefused
from onenet_tui.data.models import DeskPhoneCredential, Group, GroupMember, PhoneNumber, Site, User

_Found = TypeVar("_Found")

_EXTENSION_AT_SITE = re.compile(r"^(?P<ext>\d{2,6})@(?P<site>.+)$")


# R25: ``sites`` below is the acting operator's scope (``Actor.sites``): None
# for every site, else a site administrator's site ids. Outside the scope a
# user, site or group is refused by R25 whether or not it exists elsewhere:
# the refusal names the rule, and says nothing about other sites' data.


def site_by_name(session: Session, name: str, *, sites: Collection[int] | None = None) -> Site:
    site: Site | None = session.execute(select(Site).where(col(Site.name) == name)).scalar_one_or_none()
    if policy.outside(sites, site.id if site else None):
        raise RuleRefused("R25", "site_admin.site_not_yours", site=name)
    if site is None:
        raise NotFound("site", name)
    return site


def group_by_ref(
    session: Session,
    name: str,
    *,
    site: str | None = None,
    kind: str | None = None,
    sites: Collection[int] | None = None,
) -> Group:
    """A group as a person names it (R22): the name is unique only per site
    and kind, so ``site`` and ``kind`` narrow it down. Exactly one match is
    the group; several are refused naming the candidates, so the person can
    say which one they mean."""
    query = (
        select(Group, col(Site.name))
        .join(Site, col(Site.id) == Group.site_id)
        .where(col(Group.name) == name)
        .order_by(Site.name, Group.kind)
    )
    if site is not None:
        query = query.where(col(Site.name) == site)
    if kind is not None:
        query = query.where(col(Group.kind) == kind)
    if sites is not None:
        query = query.where(col(Group.site_id).in_(sorted(sites)))
    found = session.execute(query).all()
    if not found and sites is not None:
        raise RuleRefused("R25", "site_admin.group_not_yours", group=name)
    if not found:
        raise NotFound("group", name)
    if len(found) > 1:
        raise ambiguous_group(name, [(site_name, group.kind) for group, site_name in found])
    group: Group = found[0][0]
    return group


def group_at_site(session: Session, name: str, site: Site, *, sites: Collection[int] | None = None) -> Group:
    """A group named from a user's side: members are users of the group's
    site (R22), so the name is looked up among that site's groups. Unknown
    is NotFound; elsewhere only, or several kinds of that name, InvalidInput.
    "Elsewhere" looks only at the sites of ``sites`` (R25): a site
    administrator does not learn other sites' group names."""
    at_site = list(
        session.execute(
            select(Group).where(col(Group.name) == name, col(Group.site_id) == site.id).order_by(Group.kind)
        ).scalars()
    )
    others = select(col(Group.id)).where(col(Group.name) == name)
    if sites is not None:
        others = others.where(col(Group.site_id).in_(sorted(sites)))
    elsewhere = not at_site and session.execute(others).first() is not None
    choice = group_choice(name, at_site, site.name, elsewhere)
    if isinstance(choice, Group):
        return choice
    if choice.key == "group.unknown":
        raise NotFound("group", name)
    raise InvalidInput([choice])


def group_choice(
    name: str, at_site: Sequence[Group], site_name: str, elsewhere: bool, field_name: str = "groups"
) -> Group | FieldError:
    """Which of a site's groups called ``name`` a user's side means, or why
    none: ``at_site`` are the site's groups of that name, ``elsewhere`` says
    whether another site has one."""
    if len(at_site) == 1:
        return at_site[0]
    if at_site:
        kinds = ", ".join(group.kind for group in at_site)
        return FieldError(field_name, "r22.ambiguous_kind", {"name": name, "site": site_name, "kinds": kinds})
    if elsewhere:
        return FieldError(field_name, "group.other_site", {"group": name, "site": site_name})
    return FieldError(field_name, "group.unknown", {"group": name})


def ambiguous_group(name: str, candidates: list[tuple[str, str]]) -> InvalidInput:
    """R22: several groups answer to ``name``; ``candidates`` are (site, kind)."""
    listed = ", ".join(f"{site} ({kind})" for site, kind in candidates)
    return InvalidInput.single("group", "r22.ambiguous", name=name, candidates=listed)


def user_by_ref(session: Session, ref: str, *, sites: Collection[int] | None = None) -> User:
    """A user by username, ``extension@site`` or E.164 number, among the
    users of ``sites`` (R25, see above)."""
    user: User | None = session.execute(_user_query(ref)).scalar_one_or_none()
    return _in_scope(user, ref, sites)


def _user_query(ref: str) -> Select[User]:
    query = select(User)
    ref = ref.strip()
    match = _EXTENSION_AT_SITE.match(ref)
    if match:
        return query.join(Site, col(Site.id) == User.site_id).where(
            col(User.extension) == match["ext"], col(Site.name) == match["site"]
        )
    if ref.startswith("+"):
        return query.join(PhoneNumber, col(PhoneNumber.id) == User.number_id).where(col(PhoneNumber.e164) == ref)
    # R19: BJOERN.BOEHM finds bjoern.boehm; there is only one of them.
    return query.where(queries.same_username(ref))


def user_by_id(session: Session, user_id: int, *, sites: Collection[int] | None = None) -> User:
    return _in_scope(session.get(User, user_id), user_id, sites)


def _in_scope(user: User | None, ref: object, sites: Collection[int] | None) -> User:
    return _scoped(user, user.site_id if user else None, ref, sites)


def _scoped(found: _Found | None, site_id: int | None, ref: object, sites: Collection[int] | None) -> _Found:
    """``found`` if it is at one of ``sites``; R25 in the same words whether
    it exists or not, so nothing about other sites leaks."""
    if policy.outside(sites, site_id):
        raise RuleRefused("R25", "site_admin.user_not_yours", user=ref)
    if found is None:
        raise NotFound("user", ref)
    return found


@dataclass(frozen=True)
class GroupRef:
    name: str
    kind: str
    role: str | None


@dataclass(frozen=True)
class CredentialInfo:
    """Metadata of a user's desk phone credentials: never the secret."""

    sip_username: str
    sip_domain: str
    generated_at: datetime
    generated_by: str
    mode: str


@dataclass(frozen=True)
class UserView:
    id: int
    username: str
    first_name: str
    last_name: str
    email: str
    site: str
    country: str
    number: str
    extension: str
    device_type: str
    desk_phone_model: str | None
    licence: str
    services: list[str]
    mobile: str | None
    contract: str | None
    status: str
    status_reason: str | None
    status_changed_at: datetime
    created_at: datetime
    portal_locked: bool
    failed_logins: int
    last_account_reset_at: datetime | None
    department: str | None
    job_title: str | None
    preferred_language: str | None
    forward_always: str | None
    forward_busy: str | None
    forward_no_answer: str | None
    do_not_disturb: bool
    call_waiting: bool
    version: int
    groups: list[GroupRef] = field(default_factory=list)
    credentials: CredentialInfo | None = None

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def national_number(self) -> str:
        return phones.national(self.number, self.country)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("id")
        data["groups"] = [asdict(g) for g in self.groups]
        for key in ("status_changed_at", "created_at", "last_account_reset_at"):
            data[key] = data[key].isoformat() if data[key] else None
        if self.credentials:
            data["credentials"]["generated_at"] = self.credentials.generated_at.isoformat()
        return data


def user_view(session: Session, user: User) -> UserView:
    assert user.id is not None
    found = _view_where(session, col(User.id) == user.id)
    assert found is not None
    return found[0]


def view_by_ref(session: Session, ref: str, *, sites: Collection[int] | None = None) -> UserView:
    """:func:`user_by_ref`'s user as a view, in one statement (one round trip)."""
    found = _view_where(session, col(User.id).in_(_user_query(ref).with_only_columns(col(User.id))))
    view, site_id = found if found else (None, None)
    return _scoped(view, site_id, ref, sites)


def view_by_id(session: Session, user_id: int, *, sites: Collection[int] | None = None) -> UserView:
    found = _view_where(session, col(User.id) == user_id)
    view, site_id = found if found else (None, None)
    return _scoped(view, site_id, user_id, sites)


def _view_where(session: Session, condition: ColumnElement[bool]) -> tuple[UserView, int] | None:
    """The user meeting ``condition`` with their site, number, credentials
    and groups: one statement, one row per group (or one without any), so a
    remote database answers a user's page in a single round trip. With
    the view, the user's site id, for R25."""
    rows = session.execute(
        select(
            User,
            Site,
            col(PhoneNumber.e164),
            col(DeskPhoneCredential.sip_username),
            col(DeskPhoneCredential.realm),
            col(DeskPhoneCredential.generated_at),
            col(DeskPhoneCredential.generated_by),
            col(DeskPhoneCredential.mode),
            col(Group.name),
            col(Group.kind),
            col(GroupMember.role),
        )
        .join(Site, col(Site.id) == User.site_id)
        .join(PhoneNumber, col(PhoneNumber.id) == User.number_id)
        .outerjoin(DeskPhoneCredential, col(DeskPhoneCredential.user_id) == User.id)
        .outerjoin(GroupMember, col(GroupMember.user_id) == User.id)
        .outerjoin(Group, col(Group.id) == GroupMember.group_id)
        .where(condition)
        .order_by(col(User.id), col(Group.name), col(Group.kind))
    ).all()
    if not rows:
        return None
    if len({row[0].id for row in rows}) > 1:
        raise MultipleResultsFound("more than one user answers to this reference")
    user, site, e164, sip_username, realm, generated_at, generated_by, mode = rows[0][:8]
    groups = [GroupRef(name, kind, role) for *_, name, kind, role in rows if name is not None]
    credentials = (
        None if sip_username is None else CredentialInfo(sip_username, realm, generated_at, generated_by, mode)
    )
    return build_view(user, site, e164, groups, credentials), user.site_id


def build_view(
    user: User, site: Site, e164: str, groups: list[GroupRef], credentials: CredentialInfo | None
) -> UserView:
    assert user.id is not None
    return UserView(
        id=user.id,
        username=user.username,
        first_name=user.first_name,
        last_name=user.last_name,
        email=user.email,
        site=site.name,
        country=site.country,
        number=e164,
        extension=user.extension,
        device_type=user.device_type,
        desk_phone_model=user.desk_phone_model,
        licence=user.licence,
        services=list(user.services),
        mobile=user.mobile,
        contract=user.contract,
        status=user.status,
        status_reason=user.status_reason,
        status_changed_at=user.status_changed_at,
        created_at=user.created_at,
        portal_locked=user.portal_locked,
        failed_logins=user.failed_logins,
        last_account_reset_at=user.last_account_reset_at,
        department=user.department,
        job_title=user.job_title,
        preferred_language=user.preferred_language,
        forward_always=user.forward_always,
        forward_busy=user.forward_busy,
        forward_no_answer=user.forward_no_answer,
        do_not_disturb=user.do_not_disturb,
        call_waiting=user.call_waiting,
        version=user.version,
        groups=groups,
        credentials=credentials,
    )


def refuse_outside(session: Session, user_ids: Sequence[int], sites: Collection[int] | None) -> None:
    """R25, all or nothing: refuse a change of many users when any of
    ``user_ids`` is a user of a site outside ``sites`` (None: every site)."""
    if sites is None or not user_ids:
        return
    outside = 0
    for start in range(0, len(user_ids), 500):
        chunk = list(user_ids[start : start + 500])
        outside += len(
            session.execute(
                select(col(User.id)).where(col(User.id).in_(chunk), col(User.site_id).not_in(sorted(sites)))
            ).all()
        )
    if outside:
        raise RuleRefused("R25", "site_admin.users_outside", count=outside)
