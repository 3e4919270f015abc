"""R25 for audit events about several sites: a change of users of two
sites at once (a bulk reset over Berlin and London) lists both sites, so a
site administrator of both sees their own change, an administrator of one
of them does not, and an event about one site's users names that site. On
SQLite and PostgreSQL, through the services and the migration's backfill."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import select, text

from onenet_tui.data import audit_log, credentials, operators, users
from onenet_tui.data.audit_log import AuditFilter
from onenet_tui.data.context import Context, resolve_actor
from onenet_tui.data.errors import NotFound
from onenet_tui.data.migrations.config import alembic_config
from onenet_tui.data.models import AuditEvent, Site
from onenet_tui.data.schemas import NewOperator
from onenet_tui.data.storage import HEAD_REVISION, current_revision, upgrade_schema
from tests.helpers import World

BULK = "credentials.bulk_reset"


def site_admin(world: World, name: str, *site_names: str) -> Context:
    operators.add_operator(world.admin, NewOperator(name=name, role="site_admin", sites=site_names))
    return Context(world.store, resolve_actor(world.store, name))


def ids(ctx: Context, *names: str) -> list[int]:
    return [users.view(ctx, name).id for name in names]


def site_id(world: World, name: str) -> int:
    with world.store.read() as session:
        found: int = session.scalars(select(Site.id).where(Site.name == name)).one()
        return found


def bulk_events(ctx: Context) -> list[AuditEvent]:
    return audit_log.read_page(ctx, audit_log.build(action=BULK)).events


def event_sites(world: World, event_id: int | None) -> list[int]:
    with world.store.read() as session:
        query = text("SELECT site_id FROM audit_event_sites WHERE event_id = :e ORDER BY site_id")
        return list(session.execute(query, {"e": event_id}).scalars())


def test_r25_site_admin_of_both_sites_sees_their_bulk_reset_over_both(world: World, people: list[str]) -> None:
    both = site_admin(world, "sabine", "Berlin", "London")
    berlin_only = site_admin(world, "bert", "Berlin")
    credentials.bulk_reset(both, ids(both, "juergen.mueller", "grace.jones"))
    (mine,) = bulk_events(both)
    assert mine.site_id is None and mine.operator == "sabine"
    assert event_sites(world, mine.id) == sorted([site_id(world, "Berlin"), site_id(world, "London")])
    assert mine.id is not None and audit_log.event(both, mine.id).id == mine.id
    assert [e.id for e in bulk_events(world.admin)] == [mine.id]
    # An administrator of one of the two sites does not see the other's users in it.
    assert bulk_events(berlin_only) == []
    with pytest.raises(NotFound):
        audit_log.event(berlin_only, mine.id)
    # Free words and the poll for newer events are scoped alike.
    assert [e.id for e in audit_log.read_page(both, audit_log.parse("grace")).events if e.action == BULK]
    assert not [e for e in audit_log.read_newer(berlin_only, AuditFilter(), 0, limit=500).events if e.action == BULK]


def test_r25_a_change_of_one_sites_users_names_that_site(world: World, people: list[str]) -> None:
    berlin_only = site_admin(world, "bert", "Berlin")
    credentials.bulk_reset(world.admin, ids(world.admin, "juergen.mueller", "anna.schmidt"))
    (event,) = bulk_events(berlin_only)
    assert event.site_id == site_id(world, "Berlin") and event_sites(world, event.id) == []
    assert bulk_events(site_admin(world, "lara", "London")) == []


def test_r25_migration_backfills_the_sites_of_events_about_many(world: World, people: list[str]) -> None:
    credentials.bulk_reset(world.admin, ids(world.admin, "juergen.mueller", "grace.jones"))
    credentials.bulk_reset(world.admin, ids(world.admin, "anna.schmidt"))
    one, two = (e.id for e in bulk_events(world.admin))  # newest first
    # As before this migration: events of many users had no site at all.
    with world.store.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0009_handed_over")
        conn.execute(text("UPDATE audit_events SET site_id = NULL WHERE action = :a"), {"a": BULK})
    upgrade_schema(world.store.engine)
    assert current_revision(world.store.engine) == HEAD_REVISION
    berlin, london = site_id(world, "Berlin"), site_id(world, "London")
    assert event_sites(world, two) == sorted([berlin, london]) and event_sites(world, one) == []
    with world.store.read() as session:
        got = dict(session.execute(select(AuditEvent.id, AuditEvent.site_id).where(AuditEvent.action == BULK)).all())
    assert got == {two: None, one: berlin}
    assert [e.id for e in bulk_events(site_admin(world, "sabine", "Berlin", "London"))] == [one, two]
