"""The directory's read model (no Textual): loading, filtering in any number
format, status filter and counts, sorting, and change detection through the
audit trail. Runs on SQLite and PostgreSQL (the ``world`` fixture).

The small tenant built here is shared with the screen tests.
"""

from __future__ import annotations

import gc
import random

import pytest
from sqlalchemy import update

from onenet_tui.data import carrier, credentials, handover, phones, users
from onenet_tui.data import directory as model
from onenet_tui.data.context import carrier_context
from onenet_tui.data.directory import Directory, DirectoryData, SortColumn, needles
from onenet_tui.data.models import Status, User
from onenet_tui.data.phones import national_number
from onenet_tui.data.schemas import ConfigChange, ProfileChange
from onenet_tui.data.storage import Store
from onenet_tui.visible import visible
from tests.helpers import PEOPLE, World, add_person, build_people, plainly_matches


def loaded(store: Store) -> Directory:
    directory = Directory(model.load(store))
    directory.finish()
    return directory


def names(directory: Directory) -> list[str]:
    directory.finish()
    return [row.name for row in directory.rows(0, len(directory))]


# --- loading ---------------------------------------------------------------------


def test_loads_every_user_with_display_columns(world: World) -> None:
    build_people(world)
    data = model.load(world.store)
    assert len(data) == len(PEOPLE)
    row = next(data.row(i) for i in range(len(data)) if data.names[i] == "Müller, Jürgen")
    assert row.status == "activated"
    assert (row.extension, row.number, row.site, row.country) == ("5001", "+493012345001", "Berlin", "DE")
    assert (row.device, row.device_type, row.licence) == ("yealink-t54w", "desk_phone", "standard")
    smith = next(data.row(i) for i in range(len(data)) if data.names[i] == "Smith, Oliver")
    assert (smith.device, smith.device_type) == ("none", "none")


def test_rows_are_sorted_by_name_with_accents_folded(world: World) -> None:
    build_people(world)
    assert names(loaded(world.store)) == [
        "Jones, Grace",
        "Lefèvre, Zoë",
        "Müller, Jürgen",
        "Nowak, Łukasz",
        "Schmidt, Anna",
        "Smith, Oliver",
        "Weiß, Hans-Peter",
        "Yılmaz, Fatma",
    ]


def test_rows_read_by_name_are_kept_in_id_order_for_lookups(world: World) -> None:
    usernames = build_people(world)
    data = model.load(world.store)
    assert list(data.ids) == sorted(data.ids)
    for user_id in data.ids:
        row = data.row_by_id(user_id)
        assert row is not None and row.id == user_id
    assert {data.row(i).name for i in range(len(data))} == {f"{last}, {first}" for first, last, *_ in PEOPLE}
    assert len(usernames) == len(data)


def test_long_lived_answers_are_not_walked_by_the_garbage_collector(world: World) -> None:
    """Containers of one entry per user must be ones Python's collector
    skips: at 100,000 users each full pass over lists of them held up
    keystrokes for tens of milliseconds. The columns are lists (patches
    change them in place): skipped once frozen as the console freezes them,
    and a patch keeps them so."""
    build_people(world)
    directory = loaded(world.store)
    model.keep_long_lived()
    try:
        for query in ("s", "sm", "030", ""):
            directory.set_query(query)
            directory.finish()
        data = directory.data
        renamed = data.row(0)._replace(name="Aaberg, Anna")
        change = DirectoryData.build(
            {**{name: getattr(data, name)[:1] for name in model.COLUMNS}, "names": [renamed.name]}, data.countries, 9
        )
        directory.replace_data(data.patched(change, set(), 9))
        gc.collect()  # tuples of strings stop being tracked at their first collection
        data = directory.data
        containers = [getattr(data, name) for name in model.COLUMNS] + [data.codes, data.name_order]
        for answer in [directory._base_slice(), *directory._results.values()]:
            containers += [answer.indexes, answer.codes, answer.hays]
        in_generations = {id(o) for o in gc.get_objects()}
        # Untracked (tuples of strings), tracked without entries to visit
        # (arrays), or frozen (out of the collector's generations).
        walked = [
            c
            for c in containers
            if c is not None and gc.is_tracked(c) and len(gc.get_referents(c)) > 1 and id(c) in in_generations
        ]
        assert not [type(c).__name__ for c in walked]
        assert isinstance(data.names, list) and data.names[0] == "Aaberg, Anna"
    finally:
        gc.unfreeze()


def test_first_page_is_complete_for_a_small_tenant_and_partial_for_a_big_one(world: World) -> None:
    build_people(world)
    small = model.load_first_page(world.store)
    assert small.complete and len(small) == len(PEOPLE)
    first = model.load_first_page(world.store, limit=3)
    assert not first.complete
    assert [first.names[i] for i in first.name_order] == ["Jones, Grace", "Lefèvre, Zoë", "Müller, Jürgen"]


def test_empty_tenant(world: World) -> None:
    directory = loaded(world.store)
    assert len(directory) == 0 and directory.total == 0
    assert directory.counts() == {"pending": 0, "activated": 0, "failed": 0}
    assert directory.row(0) is None


# --- filtering ---------------------------------------------------------------------


def test_filter_matches_name_username_email_extension(world: World) -> None:
    usernames = build_people(world)
    directory = loaded(world.store)
    for query, expected in [
        ("müller", ["Müller, Jürgen"]),
        ("MULLER", ["Müller, Jürgen"]),  # accents folded, case ignored
        ("jürgen müller", ["Müller, Jürgen"]),  # words in any order
        ("müller jürgen", ["Müller, Jürgen"]),
        ("weiss", ["Weiß, Hans-Peter"]),  # ß is ss
        ("lukasz", ["Nowak, Łukasz"]),
        (usernames[1], ["Schmidt, Anna"]),
        ("12345003@example", ["Yılmaz, Fatma"]),
        ("nobody", []),
    ]:
        directory.set_query(query)
        assert names(directory) == expected, query


def test_filter_matches_numbers_in_any_format(world: World) -> None:
    build_people(world)
    directory = loaded(world.store)
    for query in ("030 12345002", "03012345002", "+49 30 12345002", "+4930 1234 5002", "4930123450 02", "12345002"):
        directory.set_query(query)
        assert names(directory) == ["Schmidt, Anna"], query
    directory.set_query("+4930")
    assert len(names(directory)) == 5
    directory.set_query("4930")
    assert len(names(directory)) == 5
    directory.set_query("020 7946")
    assert names(directory) == ["Jones, Grace", "Lefèvre, Zoë", "Smith, Oliver"]
    directory.set_query("5003")  # the extension
    assert names(directory) == ["Yılmaz, Fatma"]


def test_needles_reduce_phone_numbers_to_digits_and_split_words() -> None:
    assert needles("  ") == ()
    assert needles("+") == needles("(") == ()  # a number being typed: no digits yet
    assert needles("030 / 1234-5") == ("03012345",)
    assert needles("+44 (20) 7946") == ("44207946",)
    assert needles("Jürgen  MÜLLER jürgen") == ("jürgen", "müller")


@pytest.mark.parametrize("keep_haystacks", [0, 1_000_000], ids=["answers-without-haystacks", "answers-with-haystacks"])
def test_filter_results_equal_a_plain_search_while_typing_and_deleting(world: World, keep_haystacks: int) -> None:
    """Narrowing from earlier answers and the answer cache must never change
    an answer: compare every step with a brute-force search."""
    build_people(world)
    directory = loaded(world.store)
    directory.KEEP_HAYSTACKS = keep_haystacks
    data = directory.data
    typed = ""
    rng = random.Random(4)
    for key in [*"müller", *"\b\b\b\b\b\b", *"030 1", *"\b\b\b\b\b", *"an", "\b", *"sm", *"\b\b"] + rng.sample(
        "aeiou", 3
    ):
        typed = typed[:-1] if key == "\b" else typed + key
        directory.set_query(typed)
        directory.ensure(1)  # the first screenful first, as the screen does
        expected = sorted(
            (data.names[i] for i in range(len(data)) if plainly_matches(data, i, typed)),
            key=lambda name: model.strip_accents(name),
        )
        assert names(directory) == expected, typed


def test_large_answers_are_computed_on_demand(world: World) -> None:
    build_people(world)
    data = model.load(world.store)
    directory = Directory(data)
    directory.STEP = directory.FIRST_STEP = 2  # tiny steps: see the laziness at 8 users
    directory.set_query("example")  # every email
    directory.ensure(2)
    assert not directory.complete and directory.counts() is None
    assert len(directory) >= 2
    while not directory.advance():
        pass
    assert directory.complete and len(directory) == len(PEOPLE)
    assert directory.counts() == {"pending": 3, "activated": 4, "failed": 1}


# --- status filter, counts, sort, reverse --------------------------------------------


def test_status_filter_cycles_and_counts_follow_the_query(world: World) -> None:
    build_people(world)
    directory = loaded(world.store)
    assert directory.counts() == {"pending": 3, "activated": 4, "failed": 1}
    seen = []
    for _ in range(4):
        status = directory.cycle_status()
        directory.finish()
        seen.append((status, len(directory)))
    assert seen == [(Status.PENDING, 3), (Status.ACTIVATED, 4), (Status.FAILED, 1), (None, 8)]
    directory.set_query("London")  # the site's name is searched too
    assert names(directory) == ["Jones, Grace", "Lefèvre, Zoë", "Smith, Oliver"]
    directory.set_query("Londonderry")
    assert names(directory) == []
    directory.set_query("020 7946")
    directory.set_status(Status.PENDING)
    assert names(directory) == ["Lefèvre, Zoë"]
    # Counts are per status for the query, whatever the status filter.
    assert directory.counts() == {"pending": 1, "activated": 2, "failed": 0}


def test_sort_cycle_and_reverse(world: World) -> None:
    build_people(world)
    directory = loaded(world.store)
    order = []
    for _ in model.SORT_CYCLE:
        order.append(directory.cycle_sort())
    assert order == [*model.SORT_CYCLE[1:], SortColumn.NAME]
    directory.set_sort(SortColumn.STATUS)
    statuses = [row.status for row in directory.rows(0, 8)]
    assert statuses == sorted(statuses, key=model.STATUSES.index)
    # Stable: within a status, by name.
    assert names(directory)[:3] == ["Lefèvre, Zoë", "Nowak, Łukasz", "Schmidt, Anna"]
    directory.set_sort(SortColumn.NUMBER)
    numbers = [row.number for row in directory.rows(0, 8)]
    assert numbers == sorted(numbers)
    directory.reverse()
    assert [row.number for row in directory.rows(0, 8)] == sorted(numbers, reverse=True)
    directory.set_sort(SortColumn.EXTENSION)
    assert [row.extension for row in directory.rows(0, 3)] == ["0001", "0002", "0003"]
    directory.set_sort(SortColumn.SITE)
    assert [row.site for row in directory.rows(0, 8)] == ["Berlin"] * 5 + ["London"] * 3


def test_position_of_follows_filters_and_sort(world: World) -> None:
    build_people(world)
    directory = loaded(world.store)
    data = directory.data
    muller = data.ids[data.names.index("Müller, Jürgen")]
    assert directory.position_of(muller) == 2
    directory.reverse()
    assert directory.position_of(muller) == 5
    directory.set_status(Status.PENDING)
    assert directory.position_of(muller) is None
    assert directory.position_of(999_999) is None


# --- text shown literally ----------------------------------------------------------


def test_visible_makes_control_characters_visible() -> None:
    assert visible("plain Jürgen") == "plain Jürgen"
    assert visible("Evil\x1b[31mRed") == "Evil␛[31mRed"
    assert visible("a\tb\nc\x7f") == "a␉b␊c␡"
    assert visible("right\u202eleft") == "right\\u202eleft"
    assert visible("[bold]x[/bold]") == "[bold]x[/bold]"  # markup is not our business here: plain text


def test_names_with_escape_sequences_are_stored_for_display_literally(world: World) -> None:
    build_people(world)
    with world.store.transaction() as session:
        session.execute(update(User).where(User.last_name == "Smith").values(last_name="Evil\x1b[31mRed"))
    directory = loaded(world.store)
    directory.set_query("evil")
    assert names(directory) == ["Evil␛[31mRed, Oliver"]


def test_national_number_matches_phonenumbers() -> None:
    for e164, country in [
        ("+493012345001", "DE"),
        ("+493012345999", "DE"),
        ("+442079460001", "GB"),
        ("+4989123456", "DE"),
        ("+4915123456789", "DE"),
        ("+447400123456", "GB"),
    ]:
        assert national_number(e164, country) == phones.national(e164, country)
        assert national_number(e164, country) == phones.national(e164, country)  # the learnt layout


# --- change detection -------------------------------------------------------------


def test_refresh_is_none_when_nothing_changed(world: World) -> None:
    build_people(world)
    data = model.load(world.store)
    assert model.refresh(world.store, data) is None


def test_refresh_sees_a_carrier_status_change_from_another_connection(world: World) -> None:
    usernames = build_people(world)
    data = model.load(world.store)
    other = Store(world.store.url)
    try:
        carrier.set_status(carrier_context(other), usernames[1], "activated")
    finally:
        other.dispose()
    fresh = model.refresh(world.store, data)
    assert fresh is not None and fresh.stamp > data.stamp
    index = fresh.names.index("Schmidt, Anna")
    assert fresh.statuses[index] == "activated"
    assert fresh.name_order is data.name_order  # a status change keeps the name order
    assert model.refresh(world.store, fresh) is None


def test_r10_refresh_reads_who_was_never_handed_credentials_after_any_change(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The answer is read from the credentials rows (milliseconds), so every
    change check asks it: no list of actions guessed to leave it alone, one
    of which could hide a change."""
    usernames = build_people(world)
    credentials.bulk_reset(world.admin, list(model.load(world.store).ids))  # and never exported
    data = model.load(world.store)
    assert len(data.unhanded) > 1
    asked: list[int] = []
    real = handover.never_handed_over
    monkeypatch.setattr(handover, "never_handed_over", lambda session: asked.append(1) or real(session))
    version = users.view(world.admin, usernames[0]).version
    users.edit_profile(world.admin, usernames[0], ProfileChange(expected_version=version, department="Einkauf"))
    fresh = model.refresh(world.store, data)
    assert fresh is not None and asked == [1] and fresh.unhanded == data.unhanded
    handed = min(data.unhanded)
    handover.record_handed_over(world.admin, users.view_by_id(world.admin, handed).username, handed)
    again = model.refresh(world.store, fresh)
    assert again is not None and asked == [1, 1]
    assert again.unhanded == data.unhanded - {handed}


def test_refresh_adds_renames_and_removes_users(world: World) -> None:
    usernames = build_people(world)
    data = model.load(world.store)
    add_person(world, "Aaron", "Aalto", "Berlin", "030 12345006", "yealink-t54w", "activated")
    version = users.view(world.admin, usernames[0]).version
    users.change_configuration(world.admin, usernames[0], ConfigChange(expected_version=version, last_name="Zander"))
    users.delete_user(world.admin, usernames[2])  # Oliver Smith, activated
    fresh = model.refresh(world.store, data)
    assert fresh is not None
    directory = Directory(fresh)
    found = names(directory)
    assert found[0] == "Aalto, Aaron" and found[-1] == "Zander, Jürgen"
    assert "Smith, Oliver" not in found and len(found) == len(PEOPLE)
    assert list(fresh.ids) == sorted(fresh.ids)


def test_refresh_without_user_ids_in_events_compares_versions(world: World) -> None:
    """A change whose audit event names no user (here: a bare update plus an
    operator event) is still found, by comparing versions."""
    from onenet_tui.data import audit

    build_people(world)
    data = model.load(world.store)
    with world.store.transaction() as session:
        session.execute(update(User).where(User.last_name == "Jones").values(status="failed", version=User.version + 1))
        audit.record(session, world.admin.actor, "test.bulk", "everyone")
    fresh = model.refresh(world.store, data)
    assert fresh is not None
    assert fresh.statuses[fresh.names.index("Jones, Grace")] == "failed"


def test_patched_keeps_ids_sorted_when_a_new_id_is_smaller() -> None:
    def data(ids: list[int]) -> DirectoryData:
        columns = {name: [] for name in model.COLUMNS}
        from array import array

        columns["ids"] = array("q", ids)
        columns["numbers"] = array("q", [4930 + i for i in ids])
        columns["versions"] = array("q", [1 for _ in ids])
        columns["locked"] = array("b", [0 for _ in ids])
        columns["facets"] = [("site", "device", "") for _ in ids]
        for name in ("statuses", "names", "extensions", "sites", "devices", "licences", "departments"):
            columns[name] = [f"{name}{i}" for i in ids]
        columns["haystacks"] = [f"user{i:03d}" for i in ids]
        return DirectoryData.build(columns, {}, 1)

    merged = data([5, 9]).patched(data([2]), set(), 2)
    assert list(merged.ids) == [2, 5, 9]
    assert [merged.haystacks[i] for i in merged.name_order] == ["user002", "user005", "user009"]
    assert merged.index_of(9) == 2 and merged.index_of(3) is None


def test_new_data_keeps_or_redoes_the_sort_as_the_change_requires(world: World) -> None:
    usernames = build_people(world)
    data = model.load(world.store)
    by_number, by_status = Directory(data), Directory(data)
    by_number.set_sort(SortColumn.NUMBER)
    by_status.set_sort(SortColumn.STATUS)
    before = [row.name for row in by_number.rows(0, 8)]
    assert [row.name for row in by_status.rows(0, 3)] == ["Lefèvre, Zoë", "Nowak, Łukasz", "Schmidt, Anna"]
    carrier.set_status(world.carrier, usernames[1], "activated")  # Schmidt
    fresh = model.refresh(world.store, data)
    assert fresh is not None and fresh.changed == {"statuses", "versions"}
    by_number.replace_data(fresh)
    by_status.replace_data(fresh)
    assert [row.name for row in by_number.rows(0, 8)] == before
    assert [row.status for row in by_number.rows(0, 8)].count("pending") == 2
    assert [row.name for row in by_status.rows(0, 2)] == ["Lefèvre, Zoë", "Nowak, Łukasz"]
    assert by_status.rows(2, 3)[0].status == "activated"


def test_r9_users_whose_new_credentials_were_never_handed_over_are_marked_until_they_are(world: World) -> None:
    build_people(world)
    issued = credentials.regenerate(world.admin, "juergen.mueller")
    data = model.load(world.store)
    marked = [data.row(i).name for i in range(len(data)) if data.row(i).unhanded]
    assert marked == ["Müller, Jürgen"]
    handover.record_handed_over(world.admin, issued.username, issued.user_id)
    fresh = model.refresh(world.store, data)
    assert fresh is not None and not any(fresh.row(i).unhanded for i in range(len(fresh)))
    # A bulk reset whose file never came marks its users, on the first page too.
    credentials.bulk_reset(world.admin, [issued.user_id or 0])
    again = model.refresh(world.store, fresh)
    assert again is not None and again.row_by_id(issued.user_id or 0).unhanded  # type: ignore[union-attr]
    first = model.load_first_page(world.store)
    assert [first.row(i).name for i in range(len(first)) if first.row(i).unhanded] == ["Müller, Jürgen"]
