"""Changes by others patched into the directory's answers (issue 20, a
million users): the changed rows move in the answers kept, and the result
is the one a directory built afresh from the new data gives, for every
sort, direction, filter and status filter, without gathering every row
again (no timed assertions: the benchmark measures the stall)."""

from __future__ import annotations

import random
from array import array
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from onenet_tui.data import carrier, users
from onenet_tui.data import directory as model
from onenet_tui.data.context import carrier_context
from onenet_tui.data.directory import Directory, DirectoryData, SortColumn
from onenet_tui.data.directory import query as query_module
from onenet_tui.data.directory.rows import haystack
from onenet_tui.data.models import Status
from onenet_tui.data.schemas import ConfigChange
from onenet_tui.data.storage import Store
from tests.helpers import SIZE, World, build_people, cursor_name, lines, make_app, ready

SITES = ("Berlin", "London", "München")
DEVICES = ("yealink-t54w", "cisco-8851", "none")
LICENCES = ("standard", "premium")
DEPARTMENTS = ("", "Einkauf", "Vertrieb")
LAST = ("Müller", "Schmidt", "Smith", "Weiß", "Jones", "Nowak", "Lefèvre", "Yılmaz")
FIRST = ("Anna", "Jürgen", "Zoë", "Grace", "Łukasz", "Oliver")


def _person(rng: random.Random, user_id: int) -> dict[str, Any]:
    return {
        "id": user_id,
        "status": rng.choice(("pending", "activated", "failed")),
        "name": f"{rng.choice(LAST)}, {rng.choice(FIRST)}",
        "extension": str(rng.randrange(100, 9999)),
        "number": 493012340000 + user_id,
        "site": rng.choice(SITES),
        "device": rng.choice(DEVICES),
        "licence": rng.choice(LICENCES),
        "department": rng.choice(DEPARTMENTS),
        "locked": rng.random() < 0.1,
        "version": 1,
    }


def _data(people: list[dict[str, Any]], stamp: int) -> DirectoryData:
    """DirectoryData as the loader makes it, from plain rows."""
    columns: dict[str, Any] = {
        name: array(model.rows.ARRAY_COLUMNS[name]) if name in model.rows.ARRAY_COLUMNS else []
        for name in model.COLUMNS
    }
    for p in people:
        columns["ids"].append(p["id"])
        columns["statuses"].append(p["status"])
        columns["names"].append(p["name"])
        columns["extensions"].append(p["extension"])
        columns["numbers"].append(p["number"])
        columns["sites"].append(p["site"])
        columns["devices"].append(p["device"])
        columns["licences"].append(p["licence"])
        columns["versions"].append(p["version"])
        columns["departments"].append(p["department"])
        columns["locked"].append(int(p["locked"]))
        columns["facets"].append((p["site"], p["device"], p["department"]))
        username = f"user{p['id']}"
        columns["haystacks"].append(
            haystack(p["name"], username, f"{username}@example.com", p["extension"], f"+{p['number']}", "DE")
        )
    return DirectoryData.build(columns, dict.fromkeys(SITES, "DE"), stamp, facet_values=frozenset(columns["facets"]))


def _shown(directory: Directory) -> tuple[list[int], dict[str, int] | None, list[Any]]:
    directory.finish()
    return directory.ids(), directory.counts(), directory.rows(0, len(directory))


@contextmanager
def _nothing_gathered_again(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fails the test if the directory gathers every row into a new answer."""

    def gather(*_: object) -> None:
        raise AssertionError("every row gathered again instead of patching the answer")

    with monkeypatch.context() as patched:
        patched.setattr(query_module._Slice, "of", classmethod(gather))
        patched.setattr(query_module, "_sort_keys", gather)
        yield


QUERIES = ("", "s", "schm", "müll", "site:ber", "dept:ein", "status:fail", "device:none", "4930", "zz")


def activate_and_rename(world: World, usernames: list[str]) -> None:
    """Another console activates Schmidt (the second user); Müller becomes
    "Sander": now found by "s", sorted among the activated by name."""
    other = Store(world.store.url)  # another console's connection
    try:
        carrier.set_status(carrier_context(other), usernames[1], "activated")
    finally:
        other.dispose()
    version = users.view(world.admin, usernames[0]).version
    users.change_configuration(world.admin, usernames[0], ConfigChange(expected_version=version, last_name="Sander"))


@pytest.mark.parametrize("sort", list(SortColumn))
@pytest.mark.parametrize("descending", [False, True])
def test_a_patched_answer_is_the_answer_made_afresh(
    sort: SortColumn, descending: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(f"{sort}{descending}")
    people = [_person(rng, user_id) for user_id in range(1, 301)]
    old = _data(people, stamp=1)
    for round_ in range(3):
        changed = rng.sample(range(len(people)), 12)
        for index in changed:
            person = dict(people[index], version=people[index]["version"] + 1)
            # Status, name (the name order), site, device, department: what other admins change.
            field = rng.choice(("status", "name", "site", "device", "department", "locked"))
            person[field] = _person(rng, person["id"])[field]
            people[index] = person
        changes = _data([people[i] for i in sorted(changed)], stamp=round_ + 2)
        new = old.patched(changes, set(), round_ + 2)
        assert new.touched is not None and new.patched_from == old.serial
        for query in QUERIES:
            for status in (None, Status.PENDING, Status.FAILED):
                before = Directory(old)
                before.set_sort(sort, descending)
                before.set_query("s")  # a cached answer the query may narrow
                before.finish()
                before.set_query(query)
                before.set_status(status)
                before.finish()
                before.counts()  # counted before: the patch moves the counts with the rows
                with _nothing_gathered_again(monkeypatch):
                    before.replace_data(new)
                    patched = _shown(before)
                    # Typing on narrows the patched answers, still without a full pass.
                    before.set_query(query + "a")
                    narrowed = _shown(before)
                afresh = Directory(new)
                afresh.set_sort(sort, descending)
                afresh.set_query(query)
                afresh.set_status(status)
                assert patched == _shown(afresh), (query, status)
                afresh.set_query(query + "a")
                assert narrowed == _shown(afresh), (query + "a", status)
        old = new


def test_a_change_by_another_process_updates_row_counts_filter_and_sort_without_a_full_reload(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    usernames = build_people(world)  # Müller, Schmidt (pending), Smith, ...
    data = model.load(world.store)
    directory = Directory(data)
    directory.set_sort(SortColumn.STATUS)
    directory.set_query("s")
    directory.finish()
    before = directory.counts()
    assert before is not None
    schmidt = next(i for i in range(len(data)) if data.names[i] == "Schmidt, Anna")
    cursor_user = data.ids[schmidt]
    activate_and_rename(world, usernames)
    fresh = model.refresh(world.store, data)
    assert fresh is not None and fresh.touched is not None and len(fresh.touched) == 2
    with _nothing_gathered_again(monkeypatch):
        directory.replace_data(fresh)
        ids, counts, rows = _shown(directory)
        position = directory.position_of(cursor_user)
    assert counts is not None and counts["pending"] == before["pending"] - 1
    assert counts["activated"] > before["activated"]
    assert "Sander, Jürgen" in [row.name for row in rows if row.status == "activated"]
    assert position is not None and rows[position].id == cursor_user and rows[position].status == "activated"
    afresh = Directory(fresh)
    afresh.set_sort(SortColumn.STATUS)
    afresh.set_query("s")
    assert (ids, counts, rows) == _shown(afresh)


async def test_a_rename_by_another_admin_moves_the_row_on_screen_and_the_cursor_follows(
    world: World, people: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    async with make_app(world).run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await pilot.press("down", "down")
        assert cursor_name(screen) == "Müller, Jürgen"
        version = users.view(world.admin, people[0]).version
        users.change_configuration(world.admin, people[0], ConfigChange(expected_version=version, last_name="Zander"))
        with _nothing_gathered_again(monkeypatch):
            for _ in range(200):
                await pilot.pause(0.02)
                if cursor_name(screen) == "Zander, Jürgen":
                    break
        # Last by name now, and the cursor stayed on him.
        assert cursor_name(screen) == "Zander, Jürgen" and screen.table.cursor == len(people) - 1
        assert screen.directory.data.touched is not None
        assert "Müller" not in "\n".join(lines(screen))


def test_a_patch_is_taken_only_by_the_data_it_was_made_from() -> None:
    """Two reads may share a stamp (a reload for a new scope, R25) and still
    number their rows differently: a patch of one is no patch of the other."""
    rng = random.Random(7)
    people = [_person(rng, user_id) for user_id in range(1, 101)]
    others = [_person(rng, user_id) for user_id in range(501, 601)]
    read, other_read = _data(people, stamp=5), _data(others, stamp=5)
    people[3] = dict(people[3], status="failed", name="Aalto, Anna", version=2)
    new = read.patched(_data([people[3]], stamp=6), set(), 6)
    directory = Directory(other_read)
    directory.set_query("a")
    directory.finish()
    directory.replace_data(new)
    afresh = Directory(new)
    afresh.set_query("a")
    assert _shown(directory) == _shown(afresh)


def test_kept_answers_none_of_whose_rows_changed_are_kept_as_they_are() -> None:
    """A change of one user leaves the answers that neither held nor now hold
    them as they were: no copy of their rows made (and let go) per change."""
    rng = random.Random(12)
    people = [_person(rng, user_id) for user_id in range(1, 301)]
    old = _data(people, stamp=1)
    index = next(i for i, p in enumerate(people) if p["site"] == "Berlin")
    directory = Directory(old)
    for query in ("site:london", "site:berlin"):
        directory.set_query(query)
        directory.finish()
    london, berlin = (query_module.terms.parse(f"site:{site}").keys for site in ("london", "berlin"))
    kept = dict(directory._results)
    people[index] = dict(people[index], name="Aalto, Anna", version=2)
    directory.replace_data(old.patched(_data([people[index]], stamp=2), set(), 2))
    assert directory._results[london] is kept[london]
    assert directory._results[berlin] is not kept[berlin]
    afresh = Directory(directory.data)
    afresh.set_query("site:berlin")
    assert _shown(directory) == _shown(afresh)


def test_a_patch_changes_every_column_in_place_and_the_old_data_keeps_its_values() -> None:
    """Arrays (versions, numbers, locked) are shared and changed in place like
    the string columns: no copy of a million-entry column per change; the
    data patched keeps reading its own values through its overlay, and a
    stale patch of it (copying, as it no longer owns the columns) keeps each
    column's type."""
    rng = random.Random(11)
    people = [_person(rng, user_id) for user_id in range(1, 51)]
    old = _data(people, stamp=1)
    before = {name: list(column) for name, column in old.columns().items()}
    versions = old.versions
    changed = dict(people[7], version=5, number=493099990000, locked=not people[7]["locked"], name="Aalto, Bo")
    new = old.patched(_data([changed], stamp=2), set(), 2)
    assert new.versions is versions  # shared, not copied
    assert {name: list(column) for name, column in old.columns().items()} == before
    index = new.index_of(changed["id"])
    assert index is not None
    assert (new.versions[index], new.numbers[index], new.locked[index]) == (5, 493099990000, int(changed["locked"]))
    assert old.versions[index] == 1 and old.numbers[index] == people[7]["number"]
    stale = old.patched(_data([dict(people[8], version=9)], stamp=3), set(), 3)
    for name, code in model.rows.ARRAY_COLUMNS.items():
        column = getattr(stale, name)
        assert isinstance(column, array) and column.typecode == code, name
    assert stale.versions[stale.index_of(people[8]["id"]) or 0] == 9
    assert stale.versions[index] == 1  # the stale patch starts from the old values, not the newer data's
    assert new.versions[index] == 5
