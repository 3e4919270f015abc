"""The directory's gram index (issue 20.2): which rows may hold a needle.
Its answer always equals the plain substring test, on hostile text, after
patches and rebuilds, for old data still read after a patch, and through
the directory (answers and counts with and without it, loaded from SQLite
and PostgreSQL). No timed assertions: benchmarks/filter_counts.py times it."""

from __future__ import annotations

import dataclasses
import random
import threading
from typing import Any

import numpy as np
import pytest

from onenet_tui.data import directory as model
from onenet_tui.data import users
from onenet_tui.data.directory import Directory, DirectoryData, grams, loading
from onenet_tui.data.directory.rows import with_grams
from onenet_tui.data.models import Status
from onenet_tui.data.schemas import ConfigChange
from tests.helpers import SIZE, World, add_person, build_people, lines, make_app, until
from tests.test_directory_patch import _data, _person, activate_and_rename

HOSTILE = [
    "Müller\u0301, Zoë",  # a combining mark
    "👩\u200d💻 emoji, 🇩🇪",  # astral characters, a joiner
    "\x00\x01\x02\x03 controls",
    "x" * 5000 + "needle" + "y" * 5000,  # very long
    "",
    "ﬁ ligature, ß, İstanbul",
    "\ud800 lone surrogate",
    "tab\tand\nnewline",
]


def _hostile_haystacks(rng: random.Random, count: int) -> list[str]:
    pieces = [*HOSTILE, "schmidt", "anna", "030 1234", "4930", "müller", "mü", "a", "s"]
    return ["".join(rng.choice(pieces) for _ in range(rng.randrange(0, 5))) for _ in range(count)]


def _no_facets(haystacks: list[str]) -> list[None]:
    return [None] * len(haystacks)


def _needles(haystacks: list[str], rng: random.Random) -> list[str]:
    """Substrings of the haystacks (found) and text from nowhere (not found)."""
    found = []
    for hay in rng.sample(haystacks, min(60, len(haystacks))):
        if hay:
            start = rng.randrange(len(hay))
            found.append(hay[start : start + rng.randrange(1, 6)])
    return [*found, "", "s", "sc", "schm", "zz", "qx", "\x00", "\x02", "🇩", "\u0301", "€", "ü", "ß", "needle"]


def _assert_index_answers(view: grams.GramView, haystacks: Any, needles: list[str]) -> None:
    for needle in needles:
        truth = np.fromiter((needle in hay for hay in haystacks), bool, len(haystacks))
        found = view.candidates(needle, haystacks)
        if found is None:
            continue  # the index cannot tell: the directory scans
        mask, exact = found
        assert (mask == truth).all() if exact else (mask >= truth).all(), repr(needle)


def test_the_index_answer_is_the_substring_test_on_hostile_text() -> None:
    rng = random.Random(20_2)
    haystacks = _hostile_haystacks(rng, 3_000)
    view = grams.view(haystacks, _no_facets(haystacks))
    _assert_index_answers(view, haystacks, _needles(haystacks, rng))
    # A needle of a known character is answered exactly, not left to a scan.
    assert view.candidates("s", haystacks) is not None and view.candidates("s", haystacks)[1]  # type: ignore[index]


def test_the_index_answers_demo_like_data_exactly_for_short_needles() -> None:
    rng = random.Random(3)
    data = _data([_person(rng, user_id) for user_id in range(1, 2_001)], stamp=1)
    view = grams.view(data.haystacks, data.facets)
    _assert_index_answers(view, data.haystacks, _needles(list(data.haystacks), rng))
    for needle in ("s", "sc", "03", "mü"):
        found = view.candidates(needle, data.haystacks)
        assert found is not None and found[1], needle


def test_characters_beyond_the_alphabet_it_keeps_are_left_to_the_scan() -> None:
    haystacks = [chr(0x4E00 + i) * 2 for i in range(400)]  # 400 characters, more than it indexes
    view = grams.view(haystacks, _no_facets(haystacks))
    assert not view.index.every_char
    assert view.candidates(chr(0x4E00 + 399), haystacks) is None
    _assert_index_answers(view, haystacks, [chr(0x4E00 + i) for i in range(0, 400, 7)] + ["\x00"])


def _patched(old: DirectoryData, people: list[dict[str, Any]], changed: dict[int, dict[str, Any]]) -> DirectoryData:
    for index, fields in changed.items():
        people[index] = dict(people[index], **fields, version=people[index]["version"] + 1)
    changes = _data([people[i] for i in sorted(changed)], stamp=old.stamp + 1)
    return old.patched(changes, set(), old.stamp + 1)


def _indexed(seed: int, count: int) -> tuple[random.Random, list[dict[str, Any]], DirectoryData]:
    """People, and their data with its gram index."""
    rng = random.Random(seed)
    people = [_person(rng, user_id) for user_id in range(1, count + 1)]
    data = _data(people, stamp=1)
    object.__setattr__(data, "grams", grams.view(data.haystacks, data.facets))
    return rng, people, data


def test_patched_data_answers_with_its_changed_rows_and_old_data_as_before() -> None:
    rng, people, old = _indexed(7, 1_000)
    old_haystacks = list(old.haystacks)
    # A rename, a status change, an email change (the haystack holds the username and email).
    new = _patched(old, people, {0: {"name": "Qxyz, Quentin"}, 1: {"status": "failed"}, 2: {"name": "Zz, Ab"}})
    assert new.grams is not None and new.grams is not old.grams
    needles = ["qx", "qxyz", "quentin", "zz", "s", "sc", *_needles(list(new.haystacks), rng)]
    _assert_index_answers(new.grams, new.haystacks, needles)
    # The old data reads its old haystacks (the overlay) with its own view: as before.
    assert list(old.haystacks) == old_haystacks
    _assert_index_answers(old.grams, old.haystacks, needles)  # type: ignore[arg-type]
    newer = _patched(new, people, {0: {"name": "Back, Again"}})
    assert newer.grams is not None
    _assert_index_answers(newer.grams, newer.haystacks, ["qx", "back", "again", *needles])
    _assert_index_answers(new.grams, new.haystacks, ["qx", "back", *needles])


def _assert_facets_answer(view: grams.GramView, data: DirectoryData) -> None:
    for facet in sorted(set(data.facets))[::3]:
        accepted = frozenset({facet, ("Nowhere", "", "")})
        truth = np.fromiter((f in accepted for f in data.facets), bool, len(data))
        mask = view.among(accepted, data.facets)
        assert mask is not None and (mask == truth).all(), facet


def test_the_rows_of_a_facet_are_found_by_its_number_before_and_after_patches() -> None:
    _, people, old = _indexed(11, 800)
    old_facets = list(old.facets)
    assert old.grams is not None
    _assert_facets_answer(old.grams, old)
    # Moved to another site and department: a facet the index numbered for other rows, and one it never saw.
    moved = {0: {"site": people[5]["site"], "department": people[5]["department"]}, 1: {"department": "Neu"}}
    new = _patched(old, people, moved)
    assert new.grams is not None and ("Neu" in {f[2] for f in new.facets})
    _assert_facets_answer(new.grams, new)
    assert list(old.facets) == old_facets  # the old data answers for its own rows as before
    _assert_facets_answer(old.grams, old)
    assert new.grams.among(frozenset(), new.facets[:-1]) is None  # not the rows it was built for
    with pytest.raises(ValueError):
        grams.build(["a"], [])


def test_data_rebuilt_with_users_added_goes_without_the_index() -> None:
    rng = random.Random(8)
    people = [_person(rng, user_id) for user_id in range(1, 101)]
    old = _data(people, stamp=1)
    object.__setattr__(old, "grams", grams.view(old.haystacks, old.facets))
    added = old.patched(_data([_person(rng, 500)], stamp=2), set(), 2)
    assert added.grams is None  # the rows moved: the scan answers until a worker builds it again


def test_too_many_changed_rows_drop_the_view() -> None:
    view = grams.view(["a", "b"], [None, None])
    assert view.with_changed(()) is view
    assert view.with_changed(range(grams.MAX_CHANGED + 1)) is None


QUERIES = ("", "s", "sc", "schm", "müll", "mü", "03", "4930", "030 1234", "+4930", "an", "anna", "zz", "qx")
QUERIES += ("site:ber s", "dept:ein m", "status:fail s", "ber", "einkauf", "ext:1", "number:+49")


def _answers(data: DirectoryData, status: Status | None = None) -> list[Any]:
    directory = Directory(data)
    directory.set_status(status)
    found = []
    for query in (*QUERIES, *reversed(QUERIES)):  # narrowing, then backspacing into cached answers
        directory.set_query(query)
        first = directory.rows(0, 5)  # a screenful scanned first, then the rest at once
        directory.finish()
        assert first == directory.rows(0, 5)
        found.append((query, directory.ids(), directory.counts()))
    return found


@pytest.fixture
def indexed_small(monkeypatch: pytest.MonkeyPatch) -> None:
    """The index built and used for a directory of any size (tests are small)."""
    monkeypatch.setattr(loading, "INDEXED_ROWS", 0)
    monkeypatch.setattr(Directory, "INDEXED_SOURCE", 0)


@pytest.mark.parametrize("status", [None, Status.PENDING])
def test_the_directory_answers_and_counts_the_same_with_and_without_the_index(
    indexed_small: None, status: Status | None
) -> None:
    rng = random.Random(9)
    data = _data([_person(rng, user_id) for user_id in range(1, 1_501)], stamp=1)
    indexed = dataclasses.replace(data, grams=grams.view(data.haystacks, data.facets))
    assert _answers(indexed, status) == _answers(data, status)


def test_loaded_data_has_its_index_and_answers_as_the_scan_after_a_refresh(world: World, indexed_small: None) -> None:
    usernames = build_people(world)
    data = model.load(world.store)
    assert data.grams is None  # built after the rows are handed over (the console's load worker)
    view = model.gram_index(data)
    assert view is not None and model.gram_index(with_grams(data, view)) is None  # once
    assert _answers(data) == _answers(dataclasses.replace(data, grams=None))
    activate_and_rename(world, usernames)
    fresh = model.refresh(world.store, data)
    assert fresh is not None and fresh.touched and fresh.grams is not None
    assert _answers(fresh) == _answers(dataclasses.replace(fresh, grams=None))
    assert any("Sander" in fresh.names[i] for i in range(len(fresh)))


async def test_the_console_shows_every_row_first_then_filters_with_the_index_and_changes_wait_for_it(
    world: World, indexed_small: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    usernames = build_people(world)
    building, go_on = threading.Event(), threading.Event()
    build = loading.gram_index

    def held_build(data: DirectoryData) -> Any:
        building.set()
        go_on.wait(10)  # the seconds of a million users
        return build(data)

    monkeypatch.setattr(model, "gram_index", held_build)
    refresh, looks = loading.refresh, []

    def counted_refresh(*args: Any) -> Any:
        looks.append(building.is_set() and not go_on.is_set())
        return refresh(*args)

    monkeypatch.setattr(model, "refresh", counted_refresh)
    async with make_app(world).run_test(size=SIZE) as pilot:
        screen = pilot.app.screen
        await until(pilot, lambda: building.is_set() and screen.directory.data.complete)
        # Every row shown and counted while the index is built.
        assert screen.directory.data.grams is None and screen.directory.counts() is not None
        stamp = screen.directory.data.stamp
        version = users.view(world.admin, usernames[0]).version
        users.change_configuration(
            world.admin, usernames[0], ConfigChange(expected_version=version, last_name="Sander")
        )
        await pilot.pause(0.5)  # five change polls' time
        # No change check while the rows shown are being indexed: they stay the rows shown.
        assert screen.directory.data.stamp == stamp and not any(looks)
        go_on.set()
        await until(pilot, lambda: screen.directory.data.grams is not None)
        await until(pilot, lambda: screen.directory.data.stamp > stamp)  # then the change comes in
        assert screen.directory.data.grams is not None  # patched, with its own view
        await pilot.press("slash", *"sand")
        await until(pilot, lambda: screen.directory.complete)
        assert any("Sander" in line for line in lines(screen))
        plain = Directory(dataclasses.replace(screen.directory.data, grams=None))
        plain.set_query("sand")
        plain.finish()
        assert (screen.directory.ids(), screen.directory.counts()) == (plain.ids(), plain.counts())


def test_a_refresh_indexes_again_only_data_that_had_an_index(world: World, indexed_small: None) -> None:
    build_people(world)
    data = model.load(world.store)
    add_person(world, "Nora", "Neu", "Berlin", "030 12345030", None, "pending")
    unindexed = model.refresh(world.store, data)  # a snapshot caught up in the load, say
    assert unindexed is not None and unindexed.grams is None
    indexed = with_grams(data, grams.view(data.haystacks, data.facets))
    add_person(world, "Otto", "Neu", "Berlin", "030 12345031", None, "pending")
    rebuilt = model.refresh(world.store, indexed)
    assert rebuilt is not None and rebuilt.touched is None  # users added: the rows moved
    assert rebuilt.grams is not None
    assert _answers(rebuilt) == _answers(dataclasses.replace(rebuilt, grams=None))
