"""The directory filter's terms (``site:berlin device:none status:failed
locked:yes licence:premium dept:einkauf``): the parser on its own, then the
directory's answers to them, compared with a plain row-by-row search."""

from __future__ import annotations

import pytest
from sqlmodel import select

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
