"""The directory at a million users (issue 20): columns built a batch at a
time by C loops, read through the driver's own cursor, and patched in place.
Each shortcut must give exactly what the plain way gives: the per-row
haystack, one read of everything, a rebuild of the patched data."""

from __future__ import annotations

from array import array
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from onenet_tui.data import directory as model
from onenet_tui.data import phones, users
from onenet_tui.data.directory import DirectoryData, loading
from onenet_tui.data.directory.columns import read_columns
from onenet_tui.data.directory.rows import COLUMNS, _made_in_order, haystack
from onenet_tui.data.schemas import ConfigChange
from onenet_tui.visible import visible
from tests.helpers import World, build_people

SITES = {1: ("Berlin", "DE"), 2: ("London", "GB"), 3: ("Wien", "AT")}

# Rows as loading._rows_query selects them; hostile and unusual ones among them.
ROWS: list[tuple[Any, ...]] = [
    (
        1,
        "pending",
        "Müller, Jürgen",
        "jmueller",
        "j.mueller@example.com",
        "100",
        "+493012345678",
        1,
        "none",
        "standard",
        1,
        None,
        False,
    ),
    (
        2,
        "activated",
        "Smith, Anna",
        "ASmith",
        "Anna.Smith@Example.COM",
        "200",
        "+442071234567",
        2,
        "yealink-t54w",
        "premium",
        3,
        "Sales",
        True,
    ),
    (
        3,
        "failed",
        "\x1b[31mEvil\x07, Eve",
        "eve",
        "eve@example.com",
        "3\x1b0",
        "+441234567890",
        1,
        "desk_phone",
        "standard",
        1,
        "R\x1bD",
        0,
    ),
    (
        4,
        "activated",
        "Lefèvre, Zoë",
        "zoe",
        "zoe@example.com",
        "400",
        "+4315551234",
        3,
        "cisco-8851",
        "standard",
        2,
        "Einkauf",
        1,
    ),
    (
        5,
        "pending",
        "Nul\x00l, Null",
        "null",
        "nu\x00ll@example.com",
        "500",
        "+493099999999",
        1,
        "none",
        "standard",
        1,
        "",
        False,
    ),
    (
        6,
        "pending",
        "STRASSE, Groß",
        "GROSS",
        "GROSS@EXAMPLE.COM",
        "600",
        "+49301111",
        2,
        "none",
        "standard",
        1,
        "Straße",
        False,
    ),
]


def _per_row(rows: list[tuple[Any, ...]], sites: dict[int, tuple[str, str]]) -> dict[str, list[Any]]:
    """The columns as reading row by row made them (the reference)."""
    columns: dict[str, list[Any]] = {name: [] for name in COLUMNS}
    for (
        user_id,
        status,
        name,
        username,
        email,
        extension,
        e164,
        site_id,
        device,
        licence,
        version,
        dept,
        locked,
    ) in rows:
        site, country = sites[site_id]
        name, extension, dept = visible(name), visible(extension), visible(dept or "")
        values = {
            "ids": user_id,
            "statuses": status,
            "names": name,
            "extensions": extension,
            "numbers": int(e164[1:]),
            "sites": site,
            "devices": device,
            "licences": licence,
            "versions": version,
            "haystacks": haystack(name, username, email, extension, e164, country),
            "departments": dept,
            "locked": 1 if locked else 0,
            "facets": (site, device, dept),
        }
        for column, value in values.items():
            columns[column].append(value)
    return columns


@pytest.mark.parametrize("batch", [1, 2, 4, len(ROWS)])
def test_columns_built_a_batch_at_a_time_are_those_built_row_by_row(batch: int) -> None:
    batches = [ROWS[start : start + batch] for start in range(0, len(ROWS), batch)]
    built = read_columns(batches, SITES)
    expected = _per_row(ROWS, SITES)
    for name in COLUMNS:
        assert list(built[name]) == expected[name], name
    # Facets are shared: one tuple per combination, whichever batch met it first.
    assert built["facets"][0] is built["facets"][4]


def test_national_digits_of_many_numbers_are_those_of_each() -> None:
    numbers = ["+493012345678", "+442071234567", "+4930", "++4930123", "+49 30", "+", "4930"]
    for country in ("DE", "GB", "AT", "US", "ZZ"):
        assert phones.national_digits_many(numbers, country) == [phones.national_digits(n, country) for n in numbers]
        assert phones.national_digits_many(numbers[:2], country) == [
            phones.national_digits(n, country) for n in numbers[:2]
        ]
    assert phones.national_digits_many([], "DE") == []


def test_haystacks_made_again_in_name_order_keep_their_rows() -> None:
    hays = ["b\x01x", "a", "c\x00d", "aa"]
    order = [1, 3, 0, 2]
    remade = _made_in_order(hays, order)
    assert remade == hays and all(isinstance(text, str) for text in remade)


def test_a_load_a_batch_at_a_time_equals_one_read_of_everything(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """On SQLite and PostgreSQL (a server-side cursor there): batches of 2
    rows give the directory one read without batches gives."""
    build_people(world)
    monkeypatch.setattr(loading, "FETCH_BATCH", 2)
    with world.store.read() as session:
        batched = loading._read(session, [loading._rows_query()], 1, fetch_batch=2)
        whole = loading._read(session, [loading._rows_query()], 1, fetch_batch=None)
    assert len(batched) == len(whole) > 2
    for name in COLUMNS:
        assert list(getattr(batched, name)) == list(getattr(whole, name)), name
    assert list(batched.name_order) == list(whole.name_order)
    loaded = model.load(world.store)
    assert list(loaded.ids) == sorted(loaded.ids)
    names = [loaded.names[i] for i in loaded.name_order]
    assert names == sorted(names, key=lambda n: model.strip_accents(n))


def _row_change(data: DirectoryData, index: int, **values: Any) -> DirectoryData:
    columns: dict[str, Any] = {}
    for name in COLUMNS:
        column = getattr(data, name)
        value = values.get(name, column[index])
        columns[name] = array(column.typecode, [value]) if isinstance(column, array) else [value]
    return DirectoryData(**columns, countries=data.countries, stamp=data.stamp + 1, facet_values=data.facet_values)


def _snapshot(data: DirectoryData) -> dict[str, list[Any]]:
    return {name: list(getattr(data, name)) for name in (*COLUMNS, "name_order", "codes")}


def test_a_patch_changes_the_columns_in_place_and_the_data_it_was_made_from_still_reads_its_old_values(
    world: World,
) -> None:
    build_people(world)
    first = model.load(world.store)
    before = _snapshot(first)
    names = first.names
    second = first.patched(_row_change(first, 0, names="Zander, Zoë", haystacks="zander, zoe\nzz"), set(), 2)
    # Shared, changed in place: no million-entry copy, nothing let go.
    assert second.names is names and names[0] == "Zander, Zoë"
    assert _snapshot(first) == before
    after_second = _snapshot(second)
    third = second.patched(_row_change(second, 1, statuses="failed", names="Aaron, Al"), set(), 3)
    assert third.names is names
    # Each earlier instance still reads what it had, through its overlay and the next one's.
    assert _snapshot(first) == before
    assert _snapshot(second) == after_second
    assert third.names[0] == "Zander, Zoë" and third.names[1] == "Aaron, Al" and third.statuses[1] == "failed"
    # A patch of data already patched (stale) copies: the newer data is not changed.
    stale = first.patched(_row_change(first, 2, names="Stale, Sam"), set(), 4)
    assert third.names[2] == before["names"][2] and stale.names[2] == "Stale, Sam"
    assert _snapshot(first) == before
    # The patched data is the data read afresh, name order included.
    rebuilt = DirectoryData.build({name: list(getattr(third, name)) for name in COLUMNS}, third.countries, 3)
    for name in (*COLUMNS, "name_order", "codes"):
        assert list(getattr(third, name)) == list(getattr(rebuilt, name)), name


def test_a_change_by_another_admin_is_patched_in_place_and_equals_a_fresh_load(world: World) -> None:
    """Both backends: the change check's patch shares the loaded columns and
    gives what loading everything again gives."""
    people = build_people(world)
    data = model.load(world.store)
    names = data.names
    version = users.view(world.admin, people[0]).version
    users.change_configuration(world.admin, people[0], ConfigChange(expected_version=version, last_name="Zander"))
    users.change_configuration(
        world.admin,
        people[2],
        ConfigChange(expected_version=users.view(world.admin, people[2]).version, extension="4711"),
    )
    fresh = model.refresh(world.store, data)
    assert fresh is not None and fresh.touched is not None
    assert fresh.names is names
    reloaded = model.load(world.store)
    for name in (*COLUMNS, "name_order", "codes"):
        assert list(getattr(fresh, name)) == list(getattr(reloaded, name)), name


def test_a_database_error_of_the_drivers_cursor_is_raised_as_sqlalchemy_raises_it(world: World) -> None:
    """Read through the driver's own cursor, a failure still comes as the
    errors the services know (a locked SQLite becomes Busy from them)."""
    build_people(world)
    with world.store.transaction() as session:
        session.execute(text("ALTER TABLE phone_numbers RENAME TO phone_numbers_gone"))
    with pytest.raises(DBAPIError):
        model.load(world.store)


@pytest.mark.parametrize("enabled", [True, False])
def test_a_full_load_reads_with_the_collector_paused_and_leaves_it_as_it_found_it(
    world: World, monkeypatch: pytest.MonkeyPatch, enabled: bool
) -> None:
    """Its full passes walk every list built so far and held the screen for
    up to 125 ms each in a load of a million users."""
    import gc

    build_people(world)
    seen: list[bool] = []
    read_columns_then = loading.read_columns

    def watched(*args: Any, **kwargs: Any) -> dict[str, Any]:
        seen.append(gc.isenabled())
        return read_columns_then(*args, **kwargs)

    monkeypatch.setattr(loading, "read_columns", watched)
    was = gc.isenabled()
    try:
        gc.enable() if enabled else gc.disable()
        data = loading.load(world.store)
        assert gc.isenabled() is enabled
    finally:
        gc.enable() if was else gc.disable()
    assert seen == [False] and len(data) > 2
