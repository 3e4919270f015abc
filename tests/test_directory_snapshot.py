"""The directory's snapshot in the database (issue 20.2): a load from it,
caught up with the audit trail, is the normal full load exactly; it is kept
per scope (R25); a hostile or stale one is ignored; writing it never fails
the console."""

from __future__ import annotations

import functools
import json
import zlib
from collections.abc import Callable
from typing import Any

import pytest
from alembic import command
from sqlalchemy import inspect, select, text, update

from onenet_tui.data import audit, carrier, demo, users
from onenet_tui.data import directory as model
from onenet_tui.data.context import Actor, Context
from onenet_tui.data.directory import DirectoryData, loading, snapshot
from onenet_tui.data.migrations.config import alembic_config
from onenet_tui.data.models import DirectorySnapshot, Role, Site, User
from onenet_tui.data.schemas import ConfigChange
from onenet_tui.data.storage import HEAD_REVISION, Store, current_revision, upgrade_schema
from tests.helpers import HELPDESK, SIZE, World, add_person, build_people, make_app, ready, until


@pytest.fixture(autouse=True)
def kept_at_any_size(monkeypatch: pytest.MonkeyPatch) -> None:
    """Snapshots kept for directories of any size (the tests' are small)."""
    monkeypatch.setattr(snapshot, "KEEP_FROM", 0)


def test_a_small_directory_is_not_kept(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    build_people(world)
    monkeypatch.setattr(snapshot, "KEEP_FROM", 200_000)
    data = model.load(world.store)
    assert not snapshot.due(data) and not snapshot.keep(world.store, data, None)
    assert stored(world.store) is None


def normal_load(store: Store, sites: snapshot.Scope = None) -> DirectoryData:
    with store.read() as session:
        return loading._load(session, sites)


def stored(store: Store, sites: snapshot.Scope = None) -> DirectoryData | None:
    with store.read() as session:
        return snapshot.read(session, sites, snapshot.tenant_identity(session))


def assert_same(got: DirectoryData, expected: DirectoryData) -> None:
    for name in (*model.COLUMNS, "name_order", "codes"):
        assert list(getattr(got, name)) == list(getattr(expected, name)), name
    assert got.countries == expected.countries
    # A patch may leave a combination no row has any more (rows.DirectoryData.facet_values).
    assert expected.facet_values <= got.facet_values
    assert (got.stamp, got.complete, got.unhanded) == (expected.stamp, expected.complete, expected.unhanded)


def kept_load(store: Store, sites: snapshot.Scope = None) -> DirectoryData:
    data = model.load(store, sites)
    assert snapshot.keep(store, data, sites)
    return data


def site_ids(store: Store, *names: str) -> set[int]:
    with store.read() as session:
        return set(session.execute(select(Site.id).where(Site.name.in_(names))).scalars())  # type: ignore[attr-defined]


def _rename(world: World, usernames: list[str]) -> None:
    version = users.view(world.admin, usernames[0]).version
    users.change_configuration(world.admin, usernames[0], ConfigChange(expected_version=version, last_name="Zander"))


def _status(world: World, usernames: list[str]) -> None:
    carrier.set_status(world.carrier, usernames[1], "failed", "porting not finished")


def _added(world: World, usernames: list[str]) -> None:
    add_person(world, "Aaron", "Aalto", "Berlin", "030 12345006", "yealink-t54w", "activated")


def _removed(world: World, usernames: list[str]) -> None:
    users.delete_user(world.admin, usernames[2])


def _bulk(world: World, usernames: list[str]) -> None:
    """A change whose event names no user: found by comparing versions."""
    with world.store.transaction() as session:
        session.execute(update(User).where(User.last_name == "Jones").values(status="failed", version=User.version + 1))
        audit.record(session, world.admin.actor, "test.bulk", "everyone")


CHANGES: dict[str, Callable[[World, list[str]], None]] = {
    "rename": _rename,
    "status": _status,
    "added": _added,
    "removed": _removed,
    "bulk": _bulk,
}


@pytest.mark.parametrize("change", [*CHANGES, "all"])
def test_a_load_from_the_snapshot_equals_a_normal_load_after_changes(world: World, change: str) -> None:
    usernames = build_people(world)
    kept_load(world.store)
    for name, made in CHANGES.items():
        if change in (name, "all"):
            made(world, usernames)
    assert stored(world.store) is not None  # still valid: it is caught up, not read again
    reads: list[int] = []
    real = loading._read
    loading._read = lambda *a, **k: reads.append(1) or real(*a, **k)  # type: ignore[assignment]
    try:
        got = model.load(world.store)
    finally:
        loading._read = real  # type: ignore[assignment]
    assert_same(got, normal_load(world.store))
    assert len(reads) == 1  # the changed users only, never the whole directory
    assert not snapshot.due(got)  # a handful of events behind: not written again


@pytest.mark.parametrize("one_by_one", [True, False])
def test_a_snapshot_is_caught_up_past_the_live_patch_limit_and_read_again_past_its_own(
    world: World, monkeypatch: pytest.MonkeyPatch, one_by_one: bool
) -> None:
    """At launch a snapshot many changes behind (a busy day, an import) is
    still caught up: re-reading the changed users costs far less than every
    user. Renamed rows move one by one, or past a few thousand the name
    order is sorted again; either gives the normal load exactly."""
    from onenet_tui.data.directory import rows

    usernames = build_people(world)
    kept_load(world.store)
    for index, username in enumerate(usernames[:4]):
        view = users.view(world.admin, username)
        if view.status != "activated":
            carrier.set_status(world.carrier, username, "activated")  # configuration changes need it (R5)
        version = users.view(world.admin, username).version
        change = ConfigChange(expected_version=version, last_name=f"Zz{index}")
        users.change_configuration(world.admin, username, change)
    monkeypatch.setattr(loading, "PATCH_LIMIT", 1)  # a live refresh would read everything again
    monkeypatch.setattr(rows, "_MOVED_ONE_BY_ONE", 4 if one_by_one else 1)
    got = model.load(world.store)
    assert got.touched is not None and len(got.touched) == 4  # caught up, not read in full
    assert_same(got, normal_load(world.store))
    monkeypatch.setattr(loading, "CATCH_UP_LIMIT", 3)
    again = model.load(world.store)
    assert again.touched is None  # too far behind: the normal load
    assert_same(again, normal_load(world.store))


@pytest.mark.parametrize("output", ["table", "json"])
def test_demo_of_a_large_tenant_keeps_its_snapshot_for_the_first_console(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch, output: str
) -> None:
    """``demo`` of a tenant large enough to be kept (KEEP_FROM, 0 here) writes
    the snapshot, so the first console starts from it instead of reading
    every user; one below it writes none."""
    from tests.helpers import call, cli_env

    url = f"sqlite:///{tmp_path / 'demo.db'}"
    env = cli_env(tmp_path, url)
    done = call("demo", "--users", "30", "--format", output, env=env)
    assert done.code == 0
    if output == "json":
        assert done.json()["directory_snapshot"] is True
    else:
        assert "snapshot" in done.out
    store = Store(url)
    try:
        monkeypatch.setattr(loading, "_load", lambda *a, **k: pytest.fail("every user read"))
        assert len(model.load(store)) == 30
        monkeypatch.undo()
        monkeypatch.setattr(snapshot, "KEEP_FROM", 31)
        assert (
            call("demo", "--users", "30", "--force", "--format", "json", env=env).json()["directory_snapshot"] is False
        )
        assert stored(store) is None  # the old tenant's snapshot is not this one's
        monkeypatch.setattr(snapshot, "KEEP_FROM", 0)
        monkeypatch.setattr(loading, "_load", busy)  # the tenant is built: a failed read only costs the snapshot
        forced = call("demo", "--users", "30", "--force", "--format", "json", env=env)
        assert forced.code == 0 and forced.json()["directory_snapshot"] is False
    finally:
        store.dispose()


def busy(*_: object, **__: object) -> DirectoryData:
    from onenet_tui.data.errors import Busy

    raise Busy()


def test_a_snapshot_without_changes_loads_without_reading_users(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    build_people(world)
    kept_load(world.store)
    monkeypatch.setattr(loading, "_read", lambda *a, **k: pytest.fail("read users"))
    got = model.load(world.store)
    monkeypatch.undo()
    assert_same(got, normal_load(world.store))


def test_written_after_a_full_load_or_when_stale_only(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    usernames = build_people(world)
    first = model.load(world.store)
    assert snapshot.due(first)
    assert snapshot.keep(world.store, first, None)
    again = model.load(world.store)
    assert not snapshot.due(again) and not snapshot.keep(world.store, again, None)
    monkeypatch.setattr(snapshot, "STALE_AFTER", 0)
    _status(world, usernames)
    stale = model.load(world.store)
    assert snapshot.due(stale) and snapshot.keep(world.store, stale, None)
    assert stored(world.store) is not None and stored(world.store).stamp == stale.stamp  # type: ignore[union-attr]


def test_each_scope_reads_its_own_snapshot_only(world: World) -> None:
    """R25: a site administrator never gets the full snapshot, nor an
    administrator a site administrator's."""
    build_people(world)
    berlin = site_ids(world.store, "Berlin")
    kept_load(world.store)
    assert stored(world.store, berlin) is None
    assert stored(world.store, site_ids(world.store, "Berlin", "London")) is None
    kept_load(world.store, berlin)
    theirs = stored(world.store, berlin)
    assert theirs is not None and set(theirs.sites) == {"Berlin"}
    assert_same(model.load(world.store, berlin), normal_load(world.store, berlin))
    assert len(stored(world.store)) == len(normal_load(world.store))  # type: ignore[arg-type]
    assert_same(model.load(world.store), normal_load(world.store))


def _header_and_body(payload: bytes) -> tuple[dict[str, Any], bytes]:
    size = int.from_bytes(payload[:4], "little")
    header = json.loads(payload[4 : 4 + size])
    body = payload[4 + size :]
    if not header["zlib"]:
        return header, body
    parts, at = [], 0
    for length in header["lengths"]:  # a zlib stream per section
        parts.append(zlib.decompress(body[at : at + length]))
        at += length
    return {**header, "zlib": False, "lengths": list(map(len, parts))}, b"".join(parts)


def _packed(header: dict[str, Any], body: bytes) -> bytes:
    head = json.dumps({**header, "zlib": False}).encode()
    return len(head).to_bytes(4, "little") + head + body


def _with_column(data: DirectoryData, name: str, values: list[Any]) -> bytes:
    columns = data.columns()
    columns[name] = values
    return snapshot._payload(DirectoryData(**columns, countries=data.countries, name_order=data.name_order))


def _section_swapped(payload: bytes, name: str, new: bytes) -> bytes:
    header, body = _header_and_body(payload)
    names = snapshot._SECTIONS
    at = sum(header["lengths"][: names.index(name)])
    old = header["lengths"][names.index(name)]
    header["lengths"][names.index(name)] = len(new)
    return _packed(header, body[:at] + new + body[at + old :])


HOSTILE: dict[str, Callable[[DirectoryData, bytes], bytes]] = {
    "truncated": lambda data, payload: payload[: len(payload) // 2],
    "empty": lambda data, payload: b"",
    "garbage": lambda data, payload: b"\xff" * 64,
    "deep json": lambda data, payload: (20_000).to_bytes(4, "little") + b"[" * 20_000 + payload[40:],
    "not json": lambda data, payload: (5).to_bytes(4, "little") + b"{nope" + payload[40:],
    "bad zlib": lambda data, payload: payload[:-8] + b"\x00" * 8,
    "wrong format": lambda data, payload: _packed(
        {**_header_and_body(payload)[0], "format": 99}, _header_and_body(payload)[1]
    ),
    "wrong rows": lambda data, payload: _packed(
        {**_header_and_body(payload)[0], "rows": 3}, _header_and_body(payload)[1]
    ),
    "lengths off": lambda data, payload: _section_swapped(payload, "ids", _header_and_body(payload)[1][:8]),
    "escape in name": lambda data, payload: _with_column(data, "names", ["Evil\x1b[2J", *data.names[1:]]),
    "bidi in site": lambda data, payload: _with_column(data, "sites", ["Berlin\u202e", *data.sites[1:]]),
    "unknown site": lambda data, payload: _with_column(data, "sites", ["Atlantis", *data.sites[1:]]),
    "ids unsorted": lambda data, payload: _section_swapped(
        payload, "ids", bytes(reversed(_header_and_body(payload)[1][: 8 * len(data)]))
    ),
    "order repeats": lambda data, payload: _section_swapped(payload, "name_order", b"\x00" * 4 * len(data)),
    "order out of range": lambda data, payload: _section_swapped(payload, "name_order", b"\xff" * 4 * len(data)),
    "hays unsorted": lambda data, payload: _with_column(data, "haystacks", list(reversed(data.haystacks))),
    "locked not 0 or 1": lambda data, payload: _with_column(data, "locked", [7] * len(data)),
}


@pytest.mark.parametrize("how", HOSTILE)
def test_a_hostile_or_corrupt_snapshot_is_ignored(world: World, how: str) -> None:
    build_people(world)
    data = kept_load(world.store)
    with world.store.read() as session:
        payload = session.execute(select(DirectorySnapshot.payload)).scalar_one()
    with world.store.transaction() as session:
        session.execute(update(DirectorySnapshot).values(payload=HOSTILE[how](data, payload)))
    assert stored(world.store) is None
    got = model.load(world.store)
    assert_same(got, normal_load(world.store))
    assert snapshot.due(got)  # read in full: written anew, over the one of the same stamp
    assert snapshot.keep(world.store, got, None) and stored(world.store) is not None


def test_a_snapshot_of_the_tenant_before_demo_force_is_ignored(store: Store) -> None:
    admin = Context(store, Actor("alice", Role.ADMIN))
    demo.build(admin, users=40, seed=1)
    kept_load(store)
    demo.build(admin, users=40, seed=2, force=True)  # SQLite gives the new users the old ids
    assert stored(store) is None
    got = model.load(store)
    assert_same(got, normal_load(store))
    assert snapshot.keep(store, got, None) and stored(store) is not None


def test_racing_writers_keep_the_newest(world: World) -> None:
    usernames = build_people(world)
    older = model.load(world.store)
    _status(world, usernames)
    newer = model.load(world.store)
    assert snapshot.keep(world.store, newer, None)
    assert not snapshot.keep(world.store, older, None)  # the slower console, with older data
    assert stored(world.store).stamp == newer.stamp  # type: ignore[union-attr]


def test_data_patched_while_written_is_not_kept(world: World) -> None:
    usernames = build_people(world)
    data = model.load(world.store)
    _rename(world, usernames)
    assert model.refresh(world.store, data) is not None  # changes data's columns in place
    assert not snapshot.keep(world.store, data, None) and stored(world.store) is None


def test_a_failing_write_leaves_the_console_going(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    build_people(world)
    data = model.load(world.store)

    def refused() -> Any:
        raise PermissionError("read-only database")

    monkeypatch.setattr(world.store, "transaction", refused)
    assert not snapshot.keep(world.store, data, None)
    monkeypatch.undo()
    assert stored(world.store) is None


@pytest.mark.sqlite_only
def test_a_read_only_database_is_left_alone(tmp_path: Any) -> None:
    path = tmp_path / "ro.db"
    Store(f"sqlite:///{path}").dispose()
    store = Store(f"sqlite:///file:{path}?mode=ro&uri=true", upgrade=False)
    data = model.load(store)
    assert not snapshot.keep(store, data, None)
    store.dispose()


def test_migration_up_and_down(world: World) -> None:
    build_people(world)
    kept_load(world.store)
    with world.store.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0010_audit_speed")
    assert "directory_snapshots" not in inspect(world.store.engine).get_table_names()
    with world.store.engine.begin() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM users")).scalar_one() == len(normal_load(world.store))
    assert_same(model.load(world.store), normal_load(world.store))  # no table: a normal load
    upgrade_schema(world.store.engine)
    assert current_revision(world.store.engine) == HEAD_REVISION
    assert stored(world.store) is None
    kept_load(world.store)
    assert stored(world.store) is not None


@pytest.mark.parametrize("operator", ["admin", "helpdesk"])
async def test_the_console_keeps_a_snapshot_after_a_full_load(
    world: World, monkeypatch: pytest.MonkeyPatch, operator: str
) -> None:
    """The load worker writes it, helpdesk too (a cache, not a business change);
    the next console loads from it."""
    build_people(world)
    # A first page that is not the whole tenant, as at a million users: the full load follows.
    monkeypatch.setattr(model, "load_first_page", functools.partial(loading.load_first_page, limit=3))
    actor = HELPDESK if operator == "helpdesk" else None
    app = make_app(world) if actor is None else make_app(world, actor)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
    kept = stored(world.store)
    assert kept is not None and len(kept) == len(normal_load(world.store))
    async with make_app(world).run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        assert_same(screen.directory.data, normal_load(world.store))


async def test_a_load_caught_up_from_the_snapshot_is_kept_out_of_the_collectors_passes(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The load from a snapshot returns a patch (caught up with the trail) of
    columns nobody held: frozen like a load's (gc.freeze), where a change by
    another admin's patch of the frozen columns is not."""
    from onenet_tui.screens.directory import DirectoryScreen

    usernames = build_people(world)
    assert snapshot.keep(world.store, model.load(world.store), None)
    _rename(world, usernames)
    frozen: list[int] = []
    # A first page of two rows: the whole load follows it, as in a large tenant.
    monkeypatch.setattr(model, "load_first_page", functools.partial(loading.load_first_page, limit=2))
    monkeypatch.setattr(DirectoryScreen, "FREEZE_FROM", 0)
    monkeypatch.setattr(model, "keep_long_lived", lambda: frozen.append(1))
    async with make_app(world).run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        assert screen.directory.data.touched is not None  # caught up: a patch
        assert frozen
        frozen.clear()
        stamp = screen.directory.data.stamp
        _status(world, usernames)  # another admin's change, patched in
        await until(pilot, lambda: screen.directory.data.stamp > stamp)
        assert screen.directory.data.touched is not None and not frozen
