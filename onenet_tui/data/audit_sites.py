"""Which audit events a site administrator reads (R25): those of their
sites, and those about several sites when every one of them is theirs (a
Berlin and Hamburg administrator's own bulk reset over both). An event of
one site names it in ``audit_events.site_id``; an event of several lists
them in ``audit_event_sites`` and has no ``site_id``."""

from __future__ import annotations

from collections.abc import Collection, Iterable

from sqlalchemy import ColumnElement, and_, false, or_, select
from sqlmodel import Session, col

from onenet_tui.data import bulk_insert
from onenet_tui.data.models import AuditEvent, AuditEventSite, User, table_of

# Users per IN list when looking up their sites.
_CHUNK = 5000


def sites_of_users(session: Session, user_ids: Iterable[int]) -> set[int]:
    """The sites these users are at (users deleted already count for none)."""
    ids = list(dict.fromkeys(user_ids))
    found: set[int] = set()
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        found.update(session.execute(select(col(User.site_id)).where(col(User.id).in_(chunk)).distinct()).scalars())
    return found


def record_sites(session: Session, event: AuditEvent, site_ids: Collection[int]) -> None:
    """Where an event of no one site is of: one site goes in its
    ``site_id``, several in ``audit_event_sites`` (the event has its id)."""
    if len(site_ids) == 1:
        event.site_id = next(iter(site_ids))
    elif site_ids:
        session.flush()
        rows = [{"event_id": event.id, "site_id": site_id} for site_id in sorted(site_ids)]
        bulk_insert.insert_rows(session, table_of(AuditEventSite), rows)


def visible_to(site_ids: Collection[int]) -> ColumnElement[bool]:
    """Events of these sites: of one of them, or of several all among them."""
    if not site_ids:
        return false()
    mine = sorted(site_ids)
    sites_event = col(AuditEventSite.event_id)
    of_mine = select(sites_event).where(col(AuditEventSite.site_id).in_(mine))
    of_others = select(sites_event).where(col(AuditEventSite.site_id).not_in(mine))
    return or_(
        col(AuditEvent.site_id).in_(mine),
        and_(col(AuditEvent.site_id).is_(None), col(AuditEvent.id).in_(of_mine.except_(of_others))),
    )
