"""Operators and their roles (R14, SPEC section 7), and the sites a site
administrator administers (R25). Only the enterprise administrator manages
operators: a site administrator is refused by R25, helpdesk by R14."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlmodel import Session, col

from onenet_tui.data import audit
from onenet_tui.data.context import Context
from onenet_tui.data.errors import InvalidInput, NotFound
from onenet_tui.data.lookup import site_by_name
from onenet_tui.data.models import Operator, OperatorSite, Role, Site
from onenet_tui.data.policy import Action, enforce
from onenet_tui.data.schemas import NewOperator
from onenet_tui.data.unit import change


@dataclass(frozen=True)
class OperatorView:
    name: str
    role: str
    created_at: datetime
    # A site administrator's sites by name (R25); empty for every other role.
    sites: tuple[str, ...] = ()


def add_operator(ctx: Context, data: NewOperator) -> OperatorView:
    """Register an operator, or change the role of an existing one. A site
    administrator needs one site at least (``data.sites``); the other roles
    act on every site and take none."""
    enforce(Action.ADD_OPERATOR, ctx.actor.role)
    _check_sites_for(data.role, data.sites)
    with change(ctx) as session:
        site_rows = _sites(session, data.sites)
        operator = session.execute(select(Operator).where(col(Operator.name) == data.name)).scalar_one_or_none()
        previous = operator.role if operator else None
        if operator is None:
            operator = Operator(name=data.name, role=data.role)
            session.add(operator)
        else:
            operator.role = data.role
        session.flush()
        assert operator.id is not None
        previous_sites = _bind(session, operator.id, site_rows)
        site_names = [s.name for s in site_rows]
        details: dict[str, Any] = {"role": data.role, "previous_role": previous}
        if site_rows or previous_sites:
            details.update(sites=site_names, previous_sites=previous_sites)
        before = {"role": previous, "sites": previous_sites or None}
        details["changed"] = audit.changes(before, {"role": data.role, "sites": site_names or None})
        audit.record(session, ctx.actor, "operator.add", data.name, **details)
        return OperatorView(operator.name, operator.role, operator.created_at, tuple(site_names))


def set_sites(ctx: Context, name: str, site_names: Sequence[str]) -> OperatorView:
    """R25: the sites of site administrator ``name`` become exactly ``site_names``."""
    enforce(Action.ADD_OPERATOR, ctx.actor.role)
    with change(ctx) as session:
        operator = session.execute(select(Operator).where(col(Operator.name) == name)).scalar_one_or_none()
        if operator is None:
            raise NotFound("operator", name)
        if operator.role != Role.SITE_ADMIN.value:
            raise InvalidInput.single("sites", "site_admin.not_site_admin", name=name)
        _check_sites_for(operator.role, tuple(site_names))
        site_rows = _sites(session, site_names)
        assert operator.id is not None
        previous = _bind(session, operator.id, site_rows)
        now = [s.name for s in site_rows]
        audit.record(
            session,
            ctx.actor,
            "operator.set_sites",
            name,
            sites=now,
            previous_sites=previous,
            changed=audit.changes({"sites": previous}, {"sites": now}),
        )
        return OperatorView(operator.name, operator.role, operator.created_at, tuple(s.name for s in site_rows))


def list_operators(ctx: Context) -> list[OperatorView]:
    with ctx.store.read() as session:
        sites: dict[int, list[str]] = {}
        for operator_id, site_name in session.execute(
            select(col(OperatorSite.operator_id), col(Site.name))
            .join(Site, col(Site.id) == OperatorSite.site_id)
            .order_by(Site.name)
        ):
            sites.setdefault(operator_id, []).append(site_name)
        return [
            OperatorView(o.name, o.role, o.created_at, tuple(sites.get(o.id or 0, ())))
            for o in session.execute(select(Operator).order_by(Operator.name)).scalars()
        ]


def _check_sites_for(role: str, site_names: Sequence[str]) -> None:
    if role == Role.SITE_ADMIN.value and not site_names:
        raise InvalidInput.single("sites", "site_admin.needs_site")
    if role != Role.SITE_ADMIN.value and site_names:
        raise InvalidInput.single("sites", "site_admin.sites_only_for_site_admin", role=role)


def _sites(session: Session, site_names: Sequence[str]) -> list[Site]:
    """The named sites by name, each once; an unknown one is NotFound."""
    found = {site.name: site for site in (site_by_name(session, name) for name in site_names)}
    return sorted(found.values(), key=lambda site: site.name)


def _bind(session: Session, operator_id: int, site_rows: Sequence[Site]) -> list[str]:
    """The operator's sites become ``site_rows``; returns the previous ones' names."""
    previous = list(
        session.execute(
            select(col(Site.name))
            .join(OperatorSite, col(OperatorSite.site_id) == Site.id)
            .where(col(OperatorSite.operator_id) == operator_id)
            .order_by(Site.name)
        ).scalars()
    )
    session.execute(delete(OperatorSite).where(col(OperatorSite.operator_id) == operator_id))
    for site in site_rows:
        assert site.id is not None
        session.add(OperatorSite(operator_id=operator_id, site_id=site.id))
    return previous
