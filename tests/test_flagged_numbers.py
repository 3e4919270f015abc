"""R21: a number the carrier flagged is offered to a new user only with its
flag and reason shown, and only an explicit yes creates the user on it; R16:
a number of another site's pool is named as that site's, whatever country."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import update

from onenet_tui.data import audit, users
from onenet_tui.data.errors import FieldError, InvalidInput, NotFound, RuleRefused
from onenet_tui.data.models import PhoneNumber
from tests.helpers import World, add, call, cli_env, copy_database, new_user_data

FLAGGED_NATIONAL = "030 12345039"  # "porting not finished" in the test tenant


def test_r21_the_flag_and_its_reason_are_told_before_the_user_exists(world: World) -> None:
    notice = users.number_notice(world.admin, "Berlin", "+493012345039")
    assert notice == FieldError("number", "r21.flagged", {"number": FLAGGED_NATIONAL, "reason": "porting not finished"})
    assert "porting not finished" in notice.message() and "R21" in notice.message()
    # The site's pool carries the flags of its free numbers for the wizard.
    assert users.site_pool(world.admin, "Berlin").flags == {"+493012345039": notice}
    # Not flagged, or not free: no flag notice (number_problem says why not).
    assert users.number_notice(world.admin, "Berlin", "030 12345001") is None
    assert users.number_notice(world.admin, "Berlin", "030 99999999") is None


def test_r21_adding_on_a_flagged_number_is_refused_without_a_yes(world: World) -> None:
    with pytest.raises(RuleRefused) as refused:
        add(world, number=FLAGGED_NATIONAL)
    assert refused.value.rule == "R21" and refused.value.exit_code == 3
    assert "porting not finished" in refused.value.message()
    with pytest.raises(NotFound):  # nothing was created
        users.view(world.admin, "juergen.mueller")
    added = add(world, number=FLAGGED_NATIONAL, accept_flagged=True)
    assert added.user.number == "+493012345039" and added.user.status == "pending"
    with world.store.read() as session:
        event = audit.events(session, limit=1)[0]
    assert (event.action, event.details["flagged_number_accepted"], event.details["flag_reason"]) == (
        "user.add",
        True,
        "porting not finished",
    )


def test_r21_a_flag_without_a_reason_is_still_told(world: World) -> None:
    with world.store.transaction() as session:
        session.execute(update(PhoneNumber).where(PhoneNumber.e164 == "+493012345002").values(flagged=True))  # type: ignore[arg-type]
    notice = users.number_notice(world.admin, "Berlin", "030 12345002")
    assert notice == FieldError("number", "r21.flagged_no_reason", {"number": "030 12345002"})
    with pytest.raises(RuleRefused) as refused:
        add(world, number="030 12345002")
    assert refused.value.reason_key == "r21.refused_no_reason"


def test_r21_a_flagged_number_is_refused_only_after_every_field_error(world: World) -> None:
    with pytest.raises(InvalidInput) as refused:
        add(world, number=FLAGGED_NATIONAL, email="not-an-address")
    assert refused.value.for_field("email") is not None


@pytest.mark.parametrize("typed", ["+44 20 7946 0001", "+442079460001", "0044 20 7946 0001"])
def test_r16_a_london_number_typed_for_berlin_is_named_as_londons(world: World, typed: str) -> None:
    problem = users.number_problem(world.admin, "Berlin", typed)
    assert problem == FieldError("number", "r16.other_site", {"site": "Berlin", "owner": "London"})
    assert problem.message() == "this number belongs to site London, not Berlin (R16)"
    with pytest.raises(InvalidInput) as refused:
        users.add_user_from(world.admin, new_user_data(number=typed))
    assert refused.value.for_field("number") == problem


def test_r16_a_berlin_number_typed_for_london_is_named_as_berlins(world: World) -> None:
    problem = users.number_problem(world.admin, "London", "+49 30 12345001")
    assert problem == FieldError("number", "r16.other_site", {"site": "London", "owner": "Berlin"})
    # A number valid for neither site's pool keeps the country message.
    assert users.number_problem(world.admin, "Berlin", "+44 20 7946 9999") == FieldError(
        "number", "r16.invalid", {"country": "DE"}
    )


def _flagged_free(env: dict[str, str]) -> dict[str, str]:
    numbers = call("numbers", "list", "--format", "json", env=env).json()
    return next(n for n in numbers if n["flagged"] and n["free"] and n["site"] == "Berlin")


def test_r21_users_add_on_the_command_line_refuses_then_accepts_with_the_flag(template: Path, tmp_path: Path) -> None:
    env = cli_env(tmp_path, copy_database(template, tmp_path / "onenet.db"))
    number = _flagged_free(env)
    args = [
        "users", "add", "--site", "Berlin", "--first", "Bea", "--last", "Boehm", "--email", "bea@example.com",
        "--number", number["number"], "--desk-phone", "yealink-t54w",
    ]  # fmt: skip
    refused = call(*args, env=env)
    assert refused.code == 3
    assert "R21" in refused.err and number["flag_reason"] in refused.err and "--accept-flagged-number" in refused.err
    assert call("users", "show", "bea.boehm", env=env).code == 5
    accepted = call(*args, "--accept-flagged-number", "--format", "json", env=env)
    assert accepted.code == 0, accepted.err
    assert accepted.json()["number"] == number["number"]
