"""The directory filter's terms (``site:berlin device:none status:failed
locked:yes licence:premium dept:einkauf``): the parser on its own, then the
directory's answers to them, compared with a plain row-by-row search."""

from __future__ import annotations

import pytest
from sqlmodel import select

from onenet_tui.data import audit
from onenet_tui.data import directory as model
from onenet_tui.data.directory import Directory
from onenet_tui.data.directory.terms import Field, Term, TermError, covers, parse
from onenet_tui.data.models import User
from onenet_tui.data.storage import Store
from tests.helpers import World, build_people, plainly_matches

# --- the parser --------------------------------------------------------------------------


def test_free_words_stay_free_words() -> None:
    parsed = parse("Müller  berlin müller")
    assert parsed.words == ("müller", "berlin")
    assert parsed.terms == () and parsed.errors == ()


def test_a_phone_number_is_still_its_digits() -> None:
    assert parse("030 1234").words == ("0301234",)
    assert parse("status:failed 030 1234").words == ("0301234",)


def test_every_term_of_the_issue() -> None:
    parsed = parse("site:berlin device:none status:failed locked:yes licence:premium dept:einkauf")
    assert parsed.terms == (
        Term(Field.SITE, "berlin"),
        Term(Field.DEVICE, "none"),
        Term(Field.STATUS, "failed"),
        Term(Field.LOCKED, "yes"),
        Term(Field.LICENCE, "premium"),
        Term(Field.DEPARTMENT, "einkauf"),
    )
    assert parsed.errors == () and parsed.words == ()


@pytest.mark.parametrize(
    ("typed", "term"),
    [
        ("standort:Berlin", Term(Field.SITE, "berlin")),
        ("STANDORT:BÉRLIN", Term(Field.SITE, "berlin")),
        ("Gerät:T54W", Term(Field.DEVICE, "t54w")),
        ("model:t54w", Term(Field.DEVICE, "t54w")),
        ("lizenz:prämie", Term(Field.LICENCE, "pramie")),
        ("abteilung:Einkauf", Term(Field.DEPARTMENT, "einkauf")),
        ("gesperrt:ja", Term(Field.LOCKED, "ja")),
        ("durchwahl:50", Term(Field.EXTENSION, "50")),
        ("nummer:+49(30)", Term(Field.NUMBER, "4930")),
        ('site:"New  York"', Term(Field.SITE, "new york")),
        ('site:"new yo', Term(Field.SITE, "new yo")),  # a quote still open while typing
    ],
)
def test_names_and_values_fold_case_accents_and_german(typed: str, term: Term) -> None:
    assert parse(typed).terms == (term,)


def test_an_empty_value_asks_for_nothing_yet() -> None:
    assert parse("site:") == parse("")


def test_unknown_names_are_errors_naming_the_term() -> None:
    parsed = parse("sitee:berlin müller")
    assert parsed.errors == (TermError("sitee", "unknown"),)
    assert parsed.words == ("müller",)


@pytest.mark.parametrize("typed", ["locked:maybe", "status:asleep"])
def test_values_a_term_cannot_take_are_errors(typed: str) -> None:
    name, value = typed.split(":")
    assert parse(typed).errors == (TermError(name, "value", value),)


@pytest.mark.parametrize("typed", ["locked:y", "locked:j", "locked:n", "status:akt", "status:f"])
def test_prefixes_of_known_values_are_fine(typed: str) -> None:
    assert parse(typed).errors == ()


def test_not_terms_a_time_a_number_or_control_characters() -> None:
    assert parse("12:30").words == ("12:30",)
    # A pasted control character cannot pose as the directory's own markers.
    assert parse("a\x00site\x00b").words == ("a", "site", "b")


def test_terms_cover_only_terms_of_their_field_with_a_shorter_value() -> None:
    ber, berlin = parse("site:ber").keys, parse("site:berlin").keys
    assert covers(ber, berlin) and not covers(berlin, ber)
    assert not covers(parse("ber").keys, berlin)  # a free word: a site term's users need not hold it
    assert not covers(parse("dept:ber").keys, berlin)
    assert covers(parse("50").keys, parse("ext:50").keys)  # the extension's line holds "50"


# --- the directory's answers ---------------------------------------------------------------


def loaded(store: Store) -> Directory:
    directory = Directory(model.load(store))
    directory.finish()
    return directory


def names(directory: Directory) -> list[str]:
    directory.finish()
    return [row.name for row in directory.rows(0, len(directory))]


def set_fields(world: World, **by_last_name: dict[str, object]) -> None:
    with world.store.transaction() as session:
        for last, values in by_last_name.items():
            user = session.exec(select(User).where(User.last_name == last)).one()
            for name, value in values.items():
                setattr(user, name, value)


@pytest.fixture
def tenant(world: World) -> World:
    build_people(world)
    set_fields(
        world,
        Müller={"department": "Einkauf", "portal_locked": True, "licence": "premium"},
        Smith={"department": "Sales"},
        Weiß={"department": "Einkauf Nord"},
        Nowak={"department": "Vertrieb Süd"},
    )
    return world


def test_the_issue_s_free_text_finds_people(tenant: World) -> None:
    directory = loaded(tenant.store)
    directory.set_query("müller berlin")
    assert names(directory) == ["Müller, Jürgen"]
    directory.set_query("T54W")
    assert names(directory) == ["Müller, Jürgen", "Nowak, Łukasz"]
    directory.set_query("Einkauf")
    assert names(directory) == ["Müller, Jürgen", "Weiß, Hans-Peter"]


@pytest.mark.parametrize("query", ["Süd", "sud", "SÜD", "dept:süd", "abteilung:SUD"])
def test_departments_are_found_with_or_without_accents(tenant: World, query: str) -> None:
    directory = loaded(tenant.store)
    directory.set_query(query)
    assert names(directory) == ["Nowak, Łukasz"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("site:berlin device:none", ["Weiß, Hans-Peter"]),
        ("device:none", ["Smith, Oliver", "Weiß, Hans-Peter"]),
        ("gerät:ohne", ["Smith, Oliver", "Weiß, Hans-Peter"]),
        ("status:failed", ["Yılmaz, Fatma"]),
        ("status:aktiv site:lon", ["Jones, Grace", "Smith, Oliver"]),
        ("locked:yes", ["Müller, Jürgen"]),
        ("licence:premium", ["Müller, Jürgen"]),
        ("dept:einkauf", ["Müller, Jürgen", "Weiß, Hans-Peter"]),
        ("dept:nord", ["Weiß, Hans-Peter"]),  # the start of a word of it
        ("device:t54w", ["Müller, Jürgen", "Nowak, Łukasz"]),
        ("ext:500", ["Müller, Jürgen", "Nowak, Łukasz", "Schmidt, Anna", "Weiß, Hans-Peter", "Yılmaz, Fatma"]),
        ("number:+44", ["Jones, Grace", "Lefèvre, Zoë", "Smith, Oliver"]),
        ("number:020", ["Jones, Grace", "Lefèvre, Zoë", "Smith, Oliver"]),
        ("number:7946", []),  # the start of the number, not its middle: that is what free digits do
        ("7946", ["Jones, Grace", "Lefèvre, Zoë", "Smith, Oliver"]),
        ("sitee:berlin", []),
    ],
)
def test_terms_find_their_users(tenant: World, query: str, expected: list[str]) -> None:
    directory = loaded(tenant.store)
    directory.set_query(query)
    assert names(directory) == expected
    data = directory.data
    assert sorted(expected) == sorted(data.names[i] for i in range(len(data)) if plainly_matches(data, i, query))


def test_typing_terms_key_by_key_equals_a_plain_search(tenant: World) -> None:
    """Narrowing from earlier answers must never change an answer, with terms
    growing, shrinking and mixed with free words."""
    directory = loaded(tenant.store)
    directory.KEEP_HAYSTACKS = 0
    data = directory.data
    typed = ""
    for key in [*"site:berlin", *"\b" * 4, *" device:n", *"\b" * 9, *" status:a", *" locked:n", *" x", "\b", *"an"]:
        typed = typed[:-1] if key == "\b" else typed + key
        directory.set_query(typed)
        directory.ensure(1)
        expected = sorted(
            (data.names[i] for i in range(len(data)) if plainly_matches(data, i, typed)), key=model.strip_accents
        )
        assert names(directory) == expected, typed


def test_an_unknown_term_finds_nobody_and_says_so(tenant: World) -> None:
    directory = loaded(tenant.store)
    directory.set_query("müller foo:bar")
    assert names(directory) == []
    assert [error.name for error in directory.errors] == ["foo"]
    directory.set_query("müller")
    assert directory.errors == () and names(directory) == ["Müller, Jürgen"]


def test_rows_carry_the_lock_department_username_and_email(tenant: World) -> None:
    directory = loaded(tenant.store)
    directory.set_query("locked:yes")
    row = directory.row(0)
    assert row is not None
    assert row.locked and row.department == "Einkauf"
    assert row.username == "juergen.mueller" and row.email == "03012345001@example.com"


def test_a_username_and_email_in_capitals_are_shown_as_typed(world: World) -> None:
    build_people(world)
    set_fields(world, Smith={"email": "Oliver.Smith@Example.COM"})
    directory = loaded(world.store)
    directory.set_query("oliver.smith@example.com")
    row = directory.row(0)
    assert row is not None and row.email == "Oliver.Smith@Example.COM"


def test_a_lock_reset_elsewhere_shows_after_a_refresh(tenant: World) -> None:
    data = model.load(tenant.store)
    set_fields(tenant, Müller={"portal_locked": False})
    # A change made behind the services' back writes no audit event: compare versions.
    from onenet_tui.data import audit

    with tenant.store.transaction() as session:
        audit.record(session, tenant.admin.actor, "account.reset", "juergen.mueller")
    fresh = model.refresh(tenant.store, data)
    assert fresh is not None
    directory = Directory(fresh)
    directory.set_query("locked:yes")
    assert names(directory) == []


def test_a_department_a_change_brings_is_found_after_the_refresh(tenant: World) -> None:
    """Free words look into the sites, models and departments found while
    loading; a patch adds the new ones."""
    from onenet_tui.data import audit

    data = model.load(tenant.store)
    directory = Directory(data)
    directory.set_query("kundendienst")
    assert names(directory) == []
    set_fields(tenant, Smith={"department": "Kundendienst"})
    with tenant.store.transaction() as session:
        audit.record(session, tenant.admin.actor, "user.edit", "oliver.smith")
    fresh = model.refresh(tenant.store, data)
    assert fresh is not None and ("London", "none", "Kundendienst") in fresh.facet_values
    directory.replace_data(fresh)
    assert names(directory) == ["Smith, Oliver"]
    directory.set_query("dept:kunden")
    assert names(directory) == ["Smith, Oliver"]


# --- group: (members of a group whose name holds the value) ---------------------------------


def test_group_terms_parse_in_english_and_german() -> None:
    assert parse("group:Hotline").terms == (Term(Field.GROUP, "hotline"),)
    assert parse("Gruppe:EMPFÄNG").terms == (Term(Field.GROUP, "empfang"),)
    assert parse('group:"BER Pick"').terms == (Term(Field.GROUP, "ber pick"),)
    assert covers(parse("group:emp").keys, parse("group:empfang").keys)
    assert not covers(parse("group:emp").keys, parse("site:empfang").keys)


def group_names(store: Store, sites: set[int] | None = None) -> dict[int, list[str]]:
    """User id -> the names of their groups, read plainly (of ``sites``)."""
    from onenet_tui.data.models import Group, GroupMember

    with store.read() as session:
        query = select(GroupMember.user_id, Group.name, Group.site_id).join(Group, Group.id == GroupMember.group_id)
        found: dict[int, list[str]] = {}
        for user_id, name, site_id in session.exec(query):
            if sites is None or site_id in sites:
                found.setdefault(user_id, []).append(name)
    return found


def grouped_directory(store: Store, sites: set[int] | None = None) -> Directory:
    from onenet_tui.data.directory.groups import GroupIndex

    directory = Directory(model.load(store, sites))
    directory.groups = GroupIndex(store, sites)
    directory.groups.catch_up(directory.data.stamp)  # as the screen's load worker does
    return directory


@pytest.fixture
def grouped(tenant: World) -> World:
    """Reception groups of one name at both sites (R22 allows it), and Berlin's pickup."""
    from onenet_tui.data import groups, memberships

    groups.add_group(tenant.admin, "Berlin", "pickup", "Empfang")
    groups.add_group(tenant.admin, "London", "pickup", "Empfang")
    memberships.set_group_members(
        tenant.admin, "Empfang", [("juergen.mueller", None), ("anna.schmidt", None)], site="Berlin"
    )
    memberships.set_group_members(tenant.admin, "Empfang", [("grace.jones", None)], site="London")
    memberships.set_group_members(tenant.admin, "BER Pickup", [("anna.schmidt", None), ("lukasz.nowak", None)])
    return tenant


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("group:empfang", ["Jones, Grace", "Müller, Jürgen", "Schmidt, Anna"]),
        ("gruppe:EMPFÄNG site:lon", ["Jones, Grace"]),
        ("group:pick", ["Nowak, Łukasz", "Schmidt, Anna"]),
        ('group:"ber pickup" status:pending', ["Nowak, Łukasz", "Schmidt, Anna"]),
        ("group:fang müller", ["Müller, Jürgen"]),  # the middle of a name, beside a free word
        ("group:hunt", []),  # a group without members
        ("group:nowhere", []),
    ],
)
def test_group_terms_find_the_members_of_every_group_so_named(grouped: World, query: str, expected: list[str]) -> None:
    directory = grouped_directory(grouped.store)
    directory.set_query(query)
    assert names(directory) == expected
    data, held = directory.data, group_names(grouped.store)
    assert sorted(expected) == sorted(data.names[i] for i in range(len(data)) if plainly_matches(data, i, query, held))


def test_typing_a_group_term_key_by_key_equals_a_plain_search(grouped: World) -> None:
    directory = grouped_directory(grouped.store)
    directory.KEEP_HAYSTACKS = 0
    data, held = directory.data, group_names(grouped.store)
    typed = ""
    for key in [*"gruppe:empf", *"\b" * 3, *"pick", " ", *"s", *"\b" * 2, *"ang", *" status:p"]:
        typed = typed[:-1] if key == "\b" else typed + key
        directory.set_query(typed)
        directory.ensure(1)
        expected = sorted(
            (data.names[i] for i in range(len(data)) if plainly_matches(data, i, typed, held)), key=model.strip_accents
        )
        assert names(directory) == expected, typed


def test_group_answers_follow_every_membership_change(grouped: World) -> None:
    """A group: answer kept by the directory is made again once the data is
    newer than a change of members, a user's groups, a rename or a delete."""
    from onenet_tui.data import groups, memberships

    directory = grouped_directory(grouped.store)
    directory.set_query("group:empfang")
    assert names(directory) == ["Jones, Grace", "Müller, Jürgen", "Schmidt, Anna"]

    def refreshed() -> list[str]:
        fresh = model.refresh(grouped.store, directory.data)
        assert fresh is not None and directory.groups is not None
        directory.groups.catch_up(fresh.stamp)  # as the screen's refresh worker does
        directory.replace_data(fresh)
        assert names(directory) == sorted(
            (fresh.names[i] for i in range(len(fresh)) if plainly_matches(fresh, i, directory.query, held())),
            key=model.strip_accents,
        )
        return names(directory)

    def held() -> dict[int, list[str]]:
        return group_names(grouped.store)

    memberships.set_group_members(grouped.admin, "Empfang", [("juergen.mueller", None)], site="Berlin")
    assert refreshed() == ["Jones, Grace", "Müller, Jürgen"]
    memberships.set_user_groups(grouped.admin, "lukasz.nowak", {"BER Pickup": None, "Empfang": None})
    assert refreshed() == ["Jones, Grace", "Müller, Jürgen", "Nowak, Łukasz"]
    groups.rename_group(grouped.admin, "Empfang", "Rezeption", site="London")
    assert refreshed() == ["Müller, Jürgen", "Nowak, Łukasz"]
    directory.set_query("group:rezeption")
    assert names(directory) == ["Jones, Grace"]
    directory.set_query("group:empfang")
    groups.delete_group(grouped.admin, "Empfang", site="Berlin")
    assert refreshed() == []
    # Back to an answer kept from before the delete: made again, not reused.
    directory.set_query("group:rezeption")
    assert names(directory) == ["Jones, Grace"]


def test_a_change_that_cannot_move_members_does_not_read_the_memberships_again(
    grouped: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rename or a new desk phone (user.change_configuration) leaves every
    membership as it was: read again per such change, a million users' 55,000
    memberships held the workers, and with them the interface, for each."""
    from onenet_tui.data import memberships, users
    from onenet_tui.data.directory import groups
    from onenet_tui.data.schemas import ConfigChange

    directory = grouped_directory(grouped.store)
    assert directory.groups is not None
    reads: list[int] = []
    real = groups.read
    monkeypatch.setattr(groups, "read", lambda *a, **k: reads.append(1) or real(*a, **k))
    version = users.view(grouped.admin, "juergen.mueller").version
    users.change_configuration(
        grouped.admin, "juergen.mueller", ConfigChange(expected_version=version, last_name="Zorn")
    )
    directory.groups.catch_up(audit.latest(grouped.admin))
    assert reads == []
    memberships.set_group_members(grouped.admin, "Empfang", [("juergen.mueller", None)], site="Berlin")
    directory.groups.catch_up(audit.latest(grouped.admin))
    assert reads == [1]


def test_a_group_term_without_memberships_to_ask_finds_nobody(grouped: World) -> None:
    directory = Directory(model.load(grouped.store))  # no GroupIndex: a directory of data alone
    directory.set_query("group:empfang")
    assert names(directory) == []


def test_r25_a_site_admins_group_term_sees_their_sites_groups_only(grouped: World) -> None:
    from onenet_tui.data.models import Site

    with grouped.store.read() as session:
        berlin = {session.exec(select(Site.id).where(Site.name == "Berlin")).one()}
    directory = grouped_directory(grouped.store, berlin)
    directory.set_query("group:empfang")
    assert names(directory) == ["Müller, Jürgen", "Schmidt, Anna"]
    directory.set_query("group:lon")  # London's groups are not theirs to name
    assert names(directory) == []
    data, held = directory.data, group_names(grouped.store, berlin)
    directory.set_query("group:p")
    assert names(directory) == sorted(
        (data.names[i] for i in range(len(data)) if plainly_matches(data, i, "group:p", held)),
        key=model.strip_accents,
    )


@pytest.mark.sqlite_only
async def test_group_typed_in_the_directory_filter_shows_the_members_and_help_lists_it(grouped: World) -> None:
    from onenet_tui.screens.help import HelpScreen
    from tests.helpers import SIZE, header, make_app, ready, settle

    async with make_app(grouped).run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await pilot.press("slash", *"gruppe:empfang")
        await settle(pilot)
        screen.directory.finish()
        assert names(screen.directory) == ["Jones, Grace", "Müller, Jürgen", "Schmidt, Anna"]
        assert "3 of 8 users" in header(screen)
        await pilot.press("escape", "question_mark")
        await settle(pilot)
        assert isinstance(pilot.app.screen, HelpScreen)
        listed = dict(pilot.app.screen.term_lines())
        assert "group:hotline" in listed["group: gruppe:"]


def test_a_group_term_never_asks_the_database_on_a_key_press_and_a_failed_read_finds_nobody_then_recovers(
    grouped: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The memberships are read by the directory's workers (catch_up); a key
    press only takes what they read, so a database gone or slow never holds
    up the screen, and a failing read never reaches it."""
    from sqlalchemy.exc import OperationalError

    from onenet_tui.data.directory import groups
    from onenet_tui.data.directory.groups import GroupIndex

    real = groups.read
    asked: list[int] = []

    def gone(*args: object, **kwargs: object) -> groups.Memberships:
        asked.append(1)
        raise OperationalError("SELECT", {}, Exception("server closed the connection"))

    directory = Directory(model.load(grouped.store))
    directory.groups = index = GroupIndex(grouped.store)
    monkeypatch.setattr(groups, "read", gone)
    directory.set_query("group:empfang")
    assert names(directory) == [] and asked == []  # not read yet: nobody, and no question asked
    index.catch_up(directory.data.stamp)  # the worker's read fails: nothing raised
    assert asked == [1] and not directory.groups_read()
    assert names(directory) == []
    monkeypatch.setattr(groups, "read", real)
    index.catch_up(directory.data.stamp)
    assert directory.groups_read()  # the answer shown changed with them
    assert names(directory) == ["Jones, Grace", "Müller, Jürgen", "Schmidt, Anna"]
