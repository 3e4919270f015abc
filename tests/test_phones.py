"""Numbers by the site's country (SPEC section 5): national or international
input, shown in the national format, validated for DE and GB."""

from __future__ import annotations

import pytest
from pydantic_core import PydanticCustomError

from onenet_tui.data import phones, validation


@pytest.mark.parametrize(
    ("typed", "country", "e164", "shown"),
    [
        ("030 12345001", "DE", "+493012345001", "030 12345001"),
        ("+49 30 12345001", "DE", "+493012345001", "030 12345001"),
        ("0049 30 12345001", "DE", "+493012345001", "030 12345001"),
        ("089 1234567", "DE", "+49891234567", "089 1234567"),
        ("020 7946 0001", "GB", "+442079460001", "020 7946 0001"),
        ("+44 20 7946 0001", "GB", "+442079460001", "020 7946 0001"),
        ("0161 496 0000", "GB", "+441614960000", "0161 496 0000"),
    ],
)
def test_fixed_line_numbers_national_and_international(typed: str, country: str, e164: str, shown: str) -> None:
    assert validation.number_for_site(typed, country) == e164
    assert phones.national(e164, country) == shown


@pytest.mark.parametrize(
    ("typed", "country", "e164"),
    [
        ("01512 3456789", "DE", "+4915123456789"),
        ("+49 151 23456789", "DE", "+4915123456789"),
        ("07400 123456", "GB", "+447400123456"),
        ("+44 7400 123456", "GB", "+447400123456"),
    ],
)
def test_r17_mobile_numbers_of_the_site_country(typed: str, country: str, e164: str) -> None:
    assert validation.mobile_for_site(typed, country) == e164


@pytest.mark.parametrize(
    ("typed", "country"),
    [
        ("+4915123456789", "GB"),  # a German mobile for a UK user
        ("+447400123456", "DE"),  # a UK mobile for a German user
        ("030 12345001", "DE"),  # a fixed line is not a mobile
        ("020 7946 0001", "GB"),
        ("12345", "DE"),
    ],
)
def test_r17_mobile_from_another_country_or_a_fixed_line_is_refused(typed: str, country: str) -> None:
    with pytest.raises(PydanticCustomError) as caught:
        validation.mobile_for_site(typed, country)
    assert caught.value.type == "r17.mobile_invalid"


@pytest.mark.parametrize(("typed", "country"), [("+442079460001", "DE"), ("+493012345001", "GB"), ("0", "DE")])
def test_r16_number_must_belong_to_the_site_country(typed: str, country: str) -> None:
    with pytest.raises(PydanticCustomError) as caught:
        validation.number_for_site(typed, country)
    assert caught.value.type == "r16.invalid"
