"""R26 at a million events: the audit log's answers do not change with the
ways it finds them quickly. Free words found through the trigram index
(SQLite FTS5, PostgreSQL pg_trgm) answer as reading every event does; a
time range answers the same whether its id bounds are looked up or only the
time compared, also where ids and times disagree in order; an action prefix
names every action it stands for. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from onenet_tui.data import audit, audit_log, audit_words
from onenet_tui.data.audit_log import AuditFilter
from onenet_tui.data.models import AuditEvent
from onenet_tui.data.storage import Store
from tests.helpers import World

WORDS = [
    "anna",  # a target
    "müller",  # non-ASCII: as typed in the target, as JSON writes it in the details
    "50%",  # LIKE's wildcards, literally
    "a_b",
    'say "hi"',  # split into two words by the filter, quotes kept
    "porting",
    "rting no",  # across a space: two words, both must match
    "alice",  # an operator
    "edit_pro",  # part of an action
    "nowhere",
    "zz",  # shorter than a trigram: read for
    # FTS5's query syntax, taken as text:
    'x"*:^',
    "NEAR(abc",
    "{operator}:bob",
    "-not",
    "a AND OR b",
]


@pytest.fixture
def trail(world: World) -> Iterator[Store]:
    from onenet_tui.data.context import Actor
    from onenet_tui.data.models import Role

    alice, bob = Actor("alice", Role.ADMIN), Actor("bob", Role.ADMIN)
    rows = [
        (alice, "user.add", "anna.schmidt", {"changed": {"last_name": [None, "Müller"]}}),
        (bob, "user.edit_profile", "Müller", {"changed": {"department": ["IT", "50% Einkauf"]}}),
        (bob, "carrier.failed", "ben", {"reason": "porting not finished", "note": "a_b"}),
        (alice, "user.edit_call_services", "zoe", {"note": 'they say "hi"', "x": "abc"}),
        (bob, "credentials.regenerate", "ab", {"replaced": ["desk_phone_credentials"]}),
    ]
    with world.store.transaction() as session:
        for actor, action, target, details in rows * 3:
            audit.record(session, actor, action, target, **details)
    yield world.store


def _pages(store: Store, typed: str, monkeypatch: pytest.MonkeyPatch) -> tuple[list[int], list[int]]:
    """The page found the quick way (words' index at once), and by reading."""
    wanted = audit_log.parse(typed)
    with store.read() as session, monkeypatch.context() as patch:
        patch.setattr(audit_words, "WINDOW", 1)  # the newest event only: the index answers the rest
        quick = [e.id or 0 for e in audit_log.page(session, wanted, limit=4)]
        quick += [e.id or 0 for e in audit_log.page(session, wanted, limit=4, before=quick[-1] if quick else None)]
    with store.read() as session, monkeypatch.context() as patch:
        patch.setattr(audit_words, "indexed", lambda *args: None)
        read = [e.id or 0 for e in audit_log.page(session, wanted, limit=8)]
    return quick, read


@pytest.mark.parametrize("typed", WORDS)
def test_r26_free_words_found_in_their_index_answer_as_reading_every_event(
    trail: Store, typed: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    quick, read = _pages(trail, typed, monkeypatch)
    assert quick == read
    nowhere = ("nowhere", "zz", 'x"*:^', "NEAR(abc", "{operator}:bob", "-not", "a AND OR b")
    assert bool(read) is (typed not in nowhere)


def test_r26_free_words_use_the_index_where_there_is_one(trail: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    with trail.read() as session:
        assert audit_words.indexed(session, "porting", "porting") is not None
        assert audit_words.indexed(session, "zz", "zz") is None  # too short for trigrams
    # Events written after the migration are in the index (SQLite: by trigger).
    quick, read = _pages(trail, "porting", monkeypatch)
    assert len(quick) == 3 and quick == read
    with trail.transaction() as session:
        audit.record(session, _actor(), "carrier.failed", "neu", reason="porting again")
    after, _ = _pages(trail, "again", monkeypatch)
    assert len(after) == 1


@pytest.mark.sqlite_only
def test_r26_without_the_words_index_free_words_are_read_for(trail: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    # As on an SQLite without FTS5's trigram tokenizer, where migration 0010 makes none.
    with trail.engine.begin() as conn:
        for trigger in ("insert", "delete", "update"):
            conn.exec_driver_sql(f"DROP TRIGGER audit_words_{trigger}")
        conn.exec_driver_sql("DROP TABLE audit_words")
    with trail.read() as session:
        assert audit_words.indexed(session, "porting", "porting") is None
    quick, read = _pages(trail, "porting", monkeypatch)
    assert len(quick) == 3 and quick == read
    with trail.transaction() as session:
        audit.record(session, _actor(), "carrier.failed", "neu", reason="porting again")
    assert len(_pages(trail, "again", monkeypatch)[0]) == 1


def _actor():  # type: ignore[no-untyped-def]
    from onenet_tui.data.context import Actor
    from onenet_tui.data.models import Role

    return Actor("carol", Role.ADMIN)


def test_r26_time_ranges_answer_the_same_with_or_without_id_bounds(
    trail: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Times out of id order, as two writers a moment apart stamp them.
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with trail.transaction() as session:
        ids = sorted(session.scalars(select(AuditEvent.id)))
        for n, event_id in enumerate(ids):
            at = start + timedelta(hours=(n * 7) % len(ids))
            session.execute(update(AuditEvent).where(AuditEvent.id == event_id).values(at=at))
    with trail.read() as session:
        events = list(session.scalars(select(AuditEvent)))
    cases = [
        ("since:2026-01-01T03:00", None),
        (None, "until:2026-01-01T05:00"),
        ("since:2026-01-01T02:00", "until:2026-01-01T09:00"),
        ("since:2027-01-01", None),
        (None, "until:2025-01-01"),
    ]
    for since, until in cases:
        typed = " ".join(t for t in (since, until) if t)
        wanted = audit_log.parse(typed)
        expected = sorted(
            (
                e.id or 0
                for e in events
                if (wanted.since is None or e.at.replace(tzinfo=UTC) >= wanted.since)
                and (wanted.until is None or e.at.replace(tzinfo=UTC) < wanted.until)
            ),
            reverse=True,
        )
        for scan in (0, 2, 10_000):  # no bound cheap enough, some, all
            monkeypatch.setattr(audit_log, "_BOUND_SCAN", scan)
            with trail.read() as session:
                got = [e.id for e in audit_log.page(session, wanted, limit=100)]
            assert got == expected, (typed, scan)


def test_r26_an_action_prefix_names_each_of_its_actions(trail: Store) -> None:
    with trail.transaction() as session:
        audit.record(session, _actor(), "credentials.handed_over", "ab")
        audit.record(session, _actor(), "credentialsx", "not of the prefix's kind, but starts with it")
    with trail.read() as session:
        assert audit_log.actions_of(session, "credentials") == [
            "credentials.handed_over",
            "credentials.regenerate",
            "credentialsx",
        ]
        assert audit_log.actions_of(session, "user.edit") == ["user.edit_call_services", "user.edit_profile"]
        assert audit_log.actions_of(session, "zzz") == []
        found = audit_log.page(session, AuditFilter(action="credentials."), limit=3)
    assert [e.action for e in found] == ["credentials.handed_over", "credentials.regenerate", "credentials.regenerate"]


# --- the typed filter answered in the keystroke's frame, or in the background ------


def _many(store: Store, count: int) -> None:
    with store.transaction() as session:
        audit.record_many(session, _actor(), [("user.edit_profile", f"u{n}", {"n": n}) for n in range(count)])


def test_r26_a_typed_filter_is_read_at_once_only_within_its_time(world: World) -> None:
    _many(world.store, 600)
    wanted = audit_log.parse("zq")  # found nowhere, too short for the index: every event is read
    at_once = audit_log.read_page_at_once(world.admin, wanted, seconds=60, limit=5)
    stopped = audit_log.read_page_at_once(world.admin, wanted, seconds=-1, limit=5)
    if world.store.engine.dialect.name == "sqlite":
        assert at_once == audit_log.read_page(world.admin, wanted, limit=5)
        assert stopped is None  # stopped, not an error: the background read answers
        # The connection is as before: the next read is not stopped.
        assert audit_log.read_page(world.admin, audit_log.parse("u599"), limit=5).events
    else:
        assert at_once is None and stopped is None  # over the network: always in the background


@pytest.mark.sqlite_only
@pytest.mark.parametrize("seconds", [60.0, -1.0])
async def test_r26_typed_filter_shows_the_latest_text_at_once_or_from_the_background(
    world: World, seconds: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    from onenet_tui.screens import audit_log as screen_module
    from onenet_tui.screens.audit_log import AuditLogScreen
    from onenet_tui.widgets.event_table import EventTable
    from tests.helpers import opened, settle, type_text

    monkeypatch.setattr(screen_module, "AT_ONCE_SECONDS", seconds)
    _many(world.store, 30)
    async with opened(lambda: AuditLogScreen(world.admin, poll_seconds=0)) as (app, pilot):
        await pilot.press("slash")
        await type_text(pilot, "u29")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, AuditLogScreen)
        assert screen.shown_filter == "u29"
        assert [row[3] for row in screen.query_one(EventTable).rows] == ["u29"]
        for _ in range(3):
            await pilot.press("backspace")
        await settle(pilot)
        assert screen.shown_filter == "" and len(screen.query_one(EventTable).rows) == 30
