"""Building a tenant: sites with number pools, and groups. Used by the demo
and by tests; the number pools are inserted in bulk."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import insert
from sqlmodel import Session

from onenet_tui.data.models import Group, GroupKind, PhoneNumber, Site, Tenant


def create_tenant(session: Session, name: str, *, simulated: bool = False, carrier_delay_seconds: int = 30) -> Tenant:
    tenant = Tenant(name=name, simulated=simulated, carrier_delay_seconds=carrier_delay_seconds)
    session.add(tenant)
    return tenant


def create_site(
    session: Session,
    name: str,
    country: str,
    sip_domain: str,
    numbers: Iterable[str],
    flagged: dict[str, str] | None = None,
) -> Site:
    site = Site(name=name, country=country, sip_domain=sip_domain)
    session.add(site)
    session.flush()
    flagged = flagged or {}
    rows = [
        {"e164": e164, "site_id": site.id, "flagged": e164 in flagged, "flag_reason": flagged.get(e164)}
        for e164 in numbers
    ]
    if rows:
        session.execute(insert(PhoneNumber), rows)
    return site


def create_group(session: Session, site: Site, name: str, kind: GroupKind) -> Group:
    group = Group(name=name, site_id=site.id, kind=kind.value)  # type: ignore[arg-type]  # a stored row's id is set (SQLModel: optional)
    session.add(group)
    session.flush()
    return group


def simulated_since(session: Session) -> datetime | None:
    """For a simulated tenant (the demo), the moment it was built: the users
    it was seeded with were pending before then and stay so, to show what
    pending means; everyone made pending later (in the console, or by the
    command line before the console started) is the simulator's. None for
    a real tenant, whose carrier is real."""
    from sqlalchemy import select

    if not is_simulated(session):
        return None
    tenant = session.execute(select(Tenant)).scalars().first()
    return tenant.created_at if tenant else None


def is_simulated(session: Session) -> bool:
    """Whether the tenant is a demo whose carrier the console simulates."""
    from sqlalchemy import select

    tenant = session.execute(select(Tenant)).scalars().first()
    return bool(tenant and tenant.simulated)
