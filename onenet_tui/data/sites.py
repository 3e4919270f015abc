"""Sites (R20): add, rename, delete, and the list with what each holds.

Each change is one transaction with its audit event (R15); an administrator
only (R14). :func:`list_sites` is the read the sites screen and ``sites
list`` share: one row per site with its counts, in one query.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from pydantic_core import PydanticCustomError
from sqlalchemy import ColumnElement, Integer, delete, func, select
from sqlmodel import col

from onenet_tui.data import audit, tenant_checks
from onenet_tui.data.context import Context
from onenet_tui.data.errors import FieldError, InvalidInput
from onenet_tui.data.lookup import site_by_name
from onenet_tui.data.models import Group, OperatorSite, PhoneNumber, Site, User
from onenet_tui.data.policy import Action, enforce
from onenet_tui.data.unit import change


def checked(rule: Callable[[str], Any], field: str, value: str) -> Any:
    """``rule(value)``, or InvalidInput naming ``field`` with the rule's message."""
    try:
        return rule(value)
    except PydanticCustomError as err:
        raise InvalidInput.single(field, err.type, **(err.context or {})) from None


def raise_all(errors: Sequence[FieldError | None]) -> None:
    found = [e for e in errors if e is not None]
    if found:
        raise InvalidInput(found)


@dataclass(frozen=True)
class SiteSummary:
    """A site and what it holds: the sites screen's row, ``sites list``'s line."""

    id: int
    name: str
    country: str
    sip_domain: str
    users: int
    numbers: int
    free: int
    assigned: int
    flagged: int
    groups: int

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("id")
        return data


def add_site(ctx: Context, name: str, country: str, domain: str) -> SiteSummary:
    enforce(Action.MANAGE_SITES, ctx.actor.role)  # R14 before a bad field
    errors: list[FieldError] = []
    values: dict[str, str] = {}
    for field, rule, value in (
        ("name", tenant_checks.site_name, name),
        ("country", tenant_checks.country, country),
        ("domain", tenant_checks.sip_domain, domain),
    ):
        try:
            values[field] = rule(value)
        except PydanticCustomError as err:
            errors.append(FieldError(field, err.type, dict(err.context or {})))
    raise_all(errors)
    with change(ctx) as session:
        raise_all(
            [
                tenant_checks.site_name_clash(session, values["name"]),
                tenant_checks.domain_clash(session, values["domain"]),
            ]
        )
        site = Site(name=values["name"], country=values["country"], sip_domain=values["domain"])
        session.add(site)
        session.flush()
        assert site.id is not None
        audit.record(
            session,
            ctx.actor,
            "site.add",
            site.name,
            site_id=site.id,
            country=site.country,
            sip_domain=site.sip_domain,
            changed=audit.created({"name": site.name, "country": site.country, "sip_domain": site.sip_domain}),
        )
        return SiteSummary(site.id, site.name, site.country, site.sip_domain, 0, 0, 0, 0, 0, 0)


def rename_site(ctx: Context, name: str, new_name: str) -> str:
    """The new name. Users, numbers and groups stay with the site."""
    enforce(Action.MANAGE_SITES, ctx.actor.role)
    wanted: str = checked(tenant_checks.site_name, "new_name", new_name)
    with change(ctx) as session:
        site = site_by_name(session, name)
        clash = tenant_checks.site_name_clash(session, wanted, site.id)
        if clash is not None:
            raise InvalidInput([FieldError("new_name", clash.key, clash.params)])
        old = site.name
        site.name = wanted
        audit.record(
            session,
            ctx.actor,
            "site.rename",
            wanted,
            site_id=site.id,
            old_name=old,
            new_name=wanted,
            changed={"name": [old, wanted]},
        )
        return wanted


def delete_site(ctx: Context, name: str) -> None:
    """R20: only an empty site (no users, numbers or groups) is deleted."""
    enforce(Action.MANAGE_SITES, ctx.actor.role)
    with change(ctx) as session:
        site = site_by_name(session, name)
        refusal = tenant_checks.site_delete_refusal(session, site)
        if refusal is not None:
            raise refusal
        audit.record(
            session,
            ctx.actor,
            "site.delete",
            site.name,
            site_id=site.id,
            country=site.country,
            changed=audit.removed({"name": site.name, "country": site.country, "sip_domain": site.sip_domain}),
        )
        # R25: a site administrator of this site administers it no more.
        session.execute(delete(OperatorSite).where(col(OperatorSite.site_id) == site.id))
        session.delete(site)


def list_sites(ctx: Context) -> list[SiteSummary]:
    """Every site by name with its counts of users, numbers (free, assigned,
    flagged) and groups."""
    with ctx.store.read() as session:
        users = (
            select(col(User.site_id), func.count().label("n")).group_by(col(User.site_id)).subquery("users_per_site")
        )
        numbers = (
            select(
                col(PhoneNumber.site_id),
                func.count().label("n"),
                func.count(col(User.id)).label("assigned"),
                func.sum(func.cast(col(PhoneNumber.flagged), Integer)).label("flagged"),
            )
            .outerjoin(User, col(User.number_id) == PhoneNumber.id)
            .group_by(col(PhoneNumber.site_id))
            .subquery("numbers_per_site")
        )
        groups = (
            select(col(Group.site_id), func.count().label("n")).group_by(col(Group.site_id)).subquery("groups_per_site")
        )
        rows = session.execute(
            select(
                col(Site.id),
                col(Site.name),
                col(Site.country),
                col(Site.sip_domain),
                func.coalesce(users.c.n, 0),
                func.coalesce(numbers.c.n, 0),
                func.coalesce(numbers.c.assigned, 0),
                func.coalesce(numbers.c.flagged, 0),
                func.coalesce(groups.c.n, 0),
            )
            .outerjoin(users, users.c.site_id == Site.id)
            .outerjoin(numbers, numbers.c.site_id == Site.id)
            .outerjoin(groups, groups.c.site_id == Site.id)
            .where(*_in_scope(ctx))
            .order_by(Site.name)
        ).all()
        return [
            SiteSummary(
                sid,
                name,
                country,
                domain,
                int(n_users),
                int(n_numbers),
                int(n_numbers) - int(n_assigned),
                int(n_assigned),
                int(n_flagged),
                int(n_groups),
            )
            for sid, name, country, domain, n_users, n_numbers, n_assigned, n_flagged, n_groups in rows
        ]


def _in_scope(ctx: Context) -> list[ColumnElement[bool]]:
    """R25: a site administrator lists their own sites only."""
    return [] if ctx.actor.sites is None else [col(Site.id).in_(sorted(ctx.actor.sites))]
