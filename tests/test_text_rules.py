"""R1, R11 and R19 judged by what a person sees (issue 12): characters are
grapheme clusters, invisible fillers are blank, line separators and other
controls are refused, usernames are one NFC string however they are typed.
Service tests run on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from pydantic_core import PydanticCustomError

from onenet_tui.data import lookup, queries, secrets, validation
from onenet_tui.data.errors import InvalidInput
from onenet_tui.i18n import t
from tests.helpers import World, add, message, paste, row, settle, type_text, wizard_at_details

X_ACUTE = "x\u0301"  # no precomposed form: NFC keeps two code points
FLAG = "\U0001f1e9\U0001f1ea"  # 🇩🇪, two regional indicators
FILLERS = ["\u3164", "\u2800", "\u115f", "\u1160", "\uffa0", "\u3164\u2800 \u115f", "\u00a0\u3164", "\u034f"]
UNICODE_SPACES = ["\u00a0", "\u2007", "\u2009", "\u202f", "\u3000", "\u1680"]


def refused(world: World, **overrides: object) -> dict[str, tuple[str, dict[str, object]]]:
    with pytest.raises(InvalidInput) as caught:
        add(world, **overrides)
    return {e.field: (e.key, e.params) for e in caught.value.errors}


def rule_key(rule, value: str) -> str | None:  # type: ignore[no-untyped-def]
    try:
        rule(value)
    except PydanticCustomError as err:
        return err.type
    return None


# --- R1 -------------------------------------------------------------------------


def test_r1_a_letter_with_combining_accents_is_one_character(world: World) -> None:
    added = add(world, first_name=X_ACUTE * 23, last_name="Ü" * 29 + FLAG)
    assert added.user.first_name == X_ACUTE * 23 and added.user.last_name.endswith(FLAG)
    key, params = refused(world, number="030 12345002", first_name=X_ACUTE * 24)["first_name"]
    assert key == "r1.too_long" and params == {"max": 23, "count": 24}
    assert validation.char_count(FLAG) == 1
    assert validation.char_count("e\u0301\u0302") == 1  # stacked accents: still one


def test_r1_names_of_invisible_fillers_are_blank(world: World) -> None:
    for filler in FILLERS:
        assert refused(world, first_name=filler)["first_name"][0] == "r1.blank", repr(filler)
        assert rule_key(validation.last_name, filler) == "r1.blank", repr(filler)
    # A filler beside real letters is no longer blank.
    assert rule_key(validation.first_name, "An\u3164na") is None


@pytest.mark.parametrize("separator", ["\u2028", "\u2029"])
def test_r1_line_and_paragraph_separators_are_control_characters(world: World, separator: str) -> None:
    assert refused(world, last_name=f"Mül{separator}ler")["last_name"][0] == "r1.control"
    assert rule_key(validation.first_name, f"An{separator}na") == "r1.control"


@pytest.mark.sqlite_only
async def test_r1_wizard_counter_counts_what_people_see(world: World) -> None:
    async with wizard_at_details(world.admin) as (app, pilot):
        paste(app, "first_name", X_ACUTE * 22)
        await type_text(pilot, "Z")
        field = row(app, "first_name")
        assert "23/23" in str(field.query_one(".field--counter").render())
        assert message(app, "first_name") == ""
        paste(app, "first_name", FLAG)
        await settle(pilot)
        assert message(app, "first_name") == "✗ " + t("r1.too_long", max=23, count=24)
        assert "24/23" in str(field.query_one(".field--counter").render())


# --- R19 ------------------------------------------------------------------------


def test_r19_usernames_are_nfc_when_checked_stored_and_looked_up(world: World) -> None:
    decomposed, composed = "zoe\u0308.vogel", "zo\u00eb.vogel"
    added = add(world, username=decomposed)
    assert added.user.username == composed
    with world.store.read() as session:
        assert lookup.user_by_ref(session, decomposed).id == added.user.id
        assert lookup.user_by_ref(session, composed).id == added.user.id
        assert queries.username_taken(session, decomposed)
    assert refused(world, number="030 12345002", username=composed)["username"][0] == "r19.taken"
    assert validation.username(decomposed) == composed


@pytest.mark.parametrize("space", UNICODE_SPACES)
def test_r19_unicode_spaces_are_refused_like_a_space(world: World, space: str) -> None:
    key, params = refused(world, username=f"anna{space}berg")["username"]
    assert (key, params) == ("r19.space", {})


def test_r19_line_separators_and_invisible_format_characters_are_refused() -> None:
    for bad in ("\u2028", "\u2029", "\u200b", "\u202e", "\x1b"):
        assert rule_key(validation.username, f"anna{bad}berg") == "r19.control", repr(bad)


# --- R11 ------------------------------------------------------------------------


@pytest.mark.parametrize("control", ["\x00", "\x1b", "\x07", "\u2028", "\u202e", "\u200b", "\x9b"])
def test_r11_admin_password_refuses_control_characters(control: str) -> None:
    keys = [e.key for e in secrets.admin_password_errors(f"Sommer{control}2026xy", "493012345001", "5001")]
    assert keys == ["r11.control"]


@pytest.mark.parametrize("digit", ["\u0661", "\u00b2", "\u2460", "\uff11", "\u0966"])
def test_r11_a_digit_means_0_to_9(digit: str) -> None:
    keys = [e.key for e in secrets.admin_password_errors(f"Sommerzeit{digit}", "493012345001", "5001")]
    assert keys == ["r11.letter_and_digit"]
    assert secrets.admin_password_errors("Sommerzeit7", "493012345001", "5001") == []
