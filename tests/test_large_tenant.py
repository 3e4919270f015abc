"""A large tenant (issue 20, item 2): the demo's further sites, and listings
and exports that stream a batch of users at a time with the output they
had when they held every user at once. No timings here: those are in
``benchmarks/large_tenant.py``."""

from __future__ import annotations

import io
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text

from onenet_tui import cli_output as out
from onenet_tui.data import demo, listing, phones, user_csv, validation
from onenet_tui.data.context import Context, resolve_actor
from onenet_tui.data.errors import Conflict
from onenet_tui.data.models import PhoneNumber, Site, User
from onenet_tui.data.storage import Store
from tests.test_demo import NOW


def admin(store: Store) -> Context:
    return Context(store, resolve_actor(store, "demo.admin"))


# --- the demo's sites ------------------------------------------------------------------


def test_a_million_users_fit_and_more_refused() -> None:
    shares = demo.site_shares(demo.MAX_USERS)
    assert demo.MAX_USERS == 1_000_000 == sum(shares)
    assert max(shares) <= demo.USERS_PER_SITE and len(shares) <= len(demo.SITES)
    assert len({s.name for s in demo.SITES}) == len({s.sip_domain for s in demo.SITES}) == len(demo.SITES)
    assert len({s.prefix for s in demo.SITES}) == len(demo.SITES)  # every site its own number block
    assert all(s.sip_domain.isascii() and " " not in s.sip_domain for s in demo.SITES)
    # The first 20 are those of the tenants built before (same seed, same tenant).
    assert [s.name for s in demo.SITES[:3]] == ["Berlin", "München", "London"]
    assert demo.SITES[19].name == "Liverpool"


def test_demo_of_a_few_thousand_users_over_every_site_is_valid(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every site a large tenant gets, built small (25 users each): numbers
    valid for the site's country, extensions the last four digits and unique
    per site, usernames unique, every kind of group."""
    monkeypatch.setattr(demo, "USERS_PER_SITE", 25)
    users = 25 * len(demo.SITES)
    summary = demo.build(admin(store), users=users, seed=3, now=NOW)
    assert summary.users == users and len(summary.sites) == len(demo.SITES)
    with store.read() as session:
        sites = {s.id: s for s in session.execute(select(Site)).scalars()}
        numbers = {n.id: n for n in session.execute(select(PhoneNumber)).scalars()}
        rows = session.execute(select(User.site_id, User.number_id, User.extension, User.username, User.mobile)).all()
        kinds = session.execute(text("SELECT site_id, count(DISTINCT kind) FROM groups GROUP BY site_id")).all()
    assert {s.name for s in sites.values()} == {p.name for p in demo.SITES}
    for number in numbers.values():
        assert phones.to_e164(number.e164, sites[number.site_id].country) == number.e164
    per_site: Counter[tuple[int, str]] = Counter()
    for site_id, number_id, extension, username, mobile in rows:
        assert numbers[number_id].site_id == site_id
        assert extension == validation.default_extension(numbers[number_id].e164)
        per_site[(site_id, extension)] += 1
        validation.username(username)
        if mobile:
            assert phones.is_mobile(mobile, sites[site_id].country)
    assert max(per_site.values()) == 1
    assert len({r[3] for r in rows}) == users
    assert sorted(count for _, count in kinds) == [4] * len(demo.SITES)


def test_demo_replaces_a_tenant_when_another_table_refers_to_it_but_holds_nothing(store: Store) -> None:
    """A table the demo does not know (another feature's) that refers to the
    users: a fast TRUNCATE cannot be used on PostgreSQL, so the rows are
    deleted; SQLite's whole-database check finds nothing dangling."""
    demo.build(admin(store), users=30, seed=1, now=NOW)
    with store.transaction() as session:
        session.execute(text("CREATE TABLE extra_notes (user_id INTEGER REFERENCES users (id))"))
    summary = demo.build(admin(store), users=40, seed=2, force=True, now=NOW)
    assert summary.replaced and summary.users == 40
    with store.read() as session:
        assert session.execute(select(func.count()).select_from(User)).scalar_one() == 40


def test_sqlite_demo_refuses_to_leave_a_reference_dangling_and_changes_nothing(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'onenet.db'}")
    try:
        demo.build(admin(store), users=30, seed=1, now=NOW)
        with store.transaction() as session:
            session.execute(text("CREATE TABLE extra_notes (user_id INTEGER REFERENCES users (id))"))
            session.execute(text("INSERT INTO extra_notes SELECT min(id) FROM users"))
        before = _users(store)
        with pytest.raises(Conflict) as caught:
            demo.build(admin(store), users=40, seed=2, force=True, now=NOW)
        assert caught.value.key == "demo.dangling" and caught.value.params == {"table": "extra_notes"}
        assert _users(store) == before
        # The build's connection has its foreign keys back on.
        with store.transaction() as session, pytest.raises(Exception, match="FOREIGN KEY"):
            session.execute(text("INSERT INTO extra_notes VALUES (999999)"))
    finally:
        store.dispose()


def _users(store: Store) -> list[str]:
    with store.read() as session:
        return list(session.execute(select(User.username).order_by(User.username)).scalars())


# --- streaming -------------------------------------------------------------------------


@pytest.fixture
def tenant(store: Store) -> Store:
    demo.build(admin(store), users=60, seed=5, now=NOW)
    return store


def test_user_dicts_are_read_a_batch_at_a_time_with_the_same_users(
    tenant: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    with tenant.read() as session:
        whole = list(listing.user_dicts(session))
    batches: list[int] = []
    real = listing._groups_by_user

    def spy(session: Any, user_ids: Any) -> Any:
        batches.append(len(user_ids))
        return real(session, user_ids)

    monkeypatch.setattr(listing, "BATCH", 7)
    monkeypatch.setattr(listing, "_groups_by_user", spy)
    with tenant.read() as session:
        users = listing.user_dicts(session)
        assert iter(users) is users  # a generator, not a list
        first = next(users)
        assert batches == [7]  # one batch read so far, not all 60 users
        rest = list(users)
        texts = [json.loads(t) for t in listing.user_json(session)]
        pending = list(listing.user_dicts(session, status="pending", site="Berlin"))
    assert [first, *rest] == whole
    assert batches[: 60 // 7 + 1] == [7] * (60 // 7) + [60 % 7]
    assert texts == whole
    assert pending == [u for u in whole if u["status"] == "pending" and u["site"] == "Berlin"] != []
    assert any(u["groups"] for u in whole) and any(u["credentials"] for u in whole)


def test_export_of_ids_keeps_their_order_across_batches(tenant: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    with tenant.read() as session:
        everyone = {u["username"]: u for u in listing.user_dicts(session)}
        ids = dict(session.execute(select(User.username, User.id)).all())
    chosen = sorted(everyone, key=lambda name: everyone[name]["number"], reverse=True)[:20]
    monkeypatch.setattr(listing, "BATCH", 6)
    with user_csv.export_users(admin(tenant), ids=[ids[name] for name in chosen] + [987654]) as stream:
        exported = list(stream)
    assert [u["username"] for u in exported] == chosen and stream.count == 20
    assert exported == [everyone[name] for name in chosen]


def test_export_stream_ends_its_read_when_closed_early(tenant: Store) -> None:
    stream = user_csv.export_users(admin(tenant))
    next(stream)
    stream.close()
    # The read is over: a writer is not held up by it (SQLite) and the store
    # has no connection checked out.
    assert tenant.engine.pool.checkedout() == 0  # type: ignore[attr-defined]


HOSTILE = [
    ("[bold]Ärger[/]", "\x1b[2Jwipe", "日本語の名前", "x"),
    ("a\x00b\nc\rd", "\u202eevil", "", None),
    ("plain", "ﾊﾝｶｸ", "e\u0301", 12),
]


def test_streamed_table_is_the_table_with_the_same_bytes() -> None:
    headers = ["Name", "Wer", "名前", "N"]
    assert list(out.table_lines(headers, iter(HOSTILE))) == out.table(headers, HOSTILE)
    assert list(out.table_lines(headers, [])) == out.table(headers, [])
    for line in out.table_lines(headers, HOSTILE):
        assert "\x1b" not in line and "\x00" not in line and "\n" not in line


@pytest.mark.parametrize("count", [0, 1, 3])
def test_json_export_file_is_written_user_by_user_as_one_dump_would(tmp_path: Path, count: int) -> None:
    users = [
        {"username": f"u{i}", "name": 'Ärger "quoted" \\ \u2028', "groups": [{"name": "G", "role": None}], "n": i}
        for i in range(count)
    ]
    path = user_csv.write_json_file(tmp_path / "users.json", iter(users))
    assert path.read_text(encoding="utf-8") == json.dumps(users, ensure_ascii=False, indent=1) + "\n"


def test_csv_export_of_a_stream_is_the_export_of_the_list(tenant: Store) -> None:
    with tenant.read() as session:
        whole = list(listing.user_dicts(session))
    as_list, as_stream = io.StringIO(), io.StringIO()
    user_csv.write(as_list, whole)
    with user_csv.export_users(admin(tenant)) as stream:
        user_csv.write(as_stream, stream)
    assert as_stream.getvalue() == as_list.getvalue()
