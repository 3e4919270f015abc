"""The site's free numbers as the number field searches them
(``data.free_numbers``): completion by the digits typed, in the typed style,
and stepping through the pool with wrap-round."""

from __future__ import annotations

import pytest

from onenet_tui.data.free_numbers import FreeNumbers

BERLIN = FreeNumbers(["+493012345010", "+493012345002", "+493012345001"], "DE")
LONDON = FreeNumbers(["+442079460001", "+442079460002"], "GB")


def test_numbers_are_kept_sorted_and_known_by_e164() -> None:
    assert BERLIN.e164 == ["+493012345001", "+493012345002", "+493012345010"]
    assert len(BERLIN) == 3
    assert "+493012345002" in BERLIN
    assert "03012345002" not in BERLIN  # membership is by E.164 only


@pytest.mark.parametrize(
    ("numbers", "typed", "suggested"),
    [
        # National digits with the trunk 0: answered in national format ...
        (BERLIN, "030", "030 12345001"),
        (BERLIN, "030 1234501", "030 12345010"),
        # ... or as plain digits when that is how they were typed.
        (BERLIN, "0301234500", "03012345001"),
        (BERLIN, "+49301234501", "+493012345010"),
        (LONDON, "020", "020 7946 0001"),
        (LONDON, "0207946 0", None),  # spaced unlike either style
        (LONDON, "+4420794600", "+442079460001"),
    ],
)
def test_suggest_completes_in_the_style_typed(numbers: FreeNumbers, typed: str, suggested: str | None) -> None:
    assert numbers.suggest(typed) == suggested


@pytest.mark.parametrize("typed", ["", "  ", "abc", "031", "+4931", "+44"])
def test_suggest_is_none_without_a_free_number_to_complete(typed: str) -> None:
    assert BERLIN.suggest(typed) is None


def test_national_is_the_display_format_of_the_country() -> None:
    assert BERLIN.national("+493012345001") == "030 12345001"
    assert LONDON.national("+442079460001") == "020 7946 0001"


def test_step_moves_through_the_pool_and_wraps_round() -> None:
    assert BERLIN.step(None, 1) == "+493012345001"
    assert BERLIN.step(None, -1) == "+493012345010"
    assert BERLIN.step("+493012345001", 1) == "+493012345002"
    assert BERLIN.step("+493012345010", 1) == "+493012345001"
    assert BERLIN.step("+493012345001", -1) == "+493012345010"
    # A number not in the pool (taken meanwhile) steps to its neighbours.
    assert BERLIN.step("+493012345005", 1) == "+493012345010"
    assert BERLIN.step("+493012345005", -1) == "+493012345002"
    assert FreeNumbers([], "DE").step(None, 1) is None
