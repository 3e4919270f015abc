"""The credentials-once screen (R8), on its own: shown, then forgotten."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from textual.widgets import Button, Static

from onenet_tui.data import credentials, handover
from onenet_tui.data.context import Context
from onenet_tui.data.credentials import IssuedCredentials
from onenet_tui.data.models import AuditEvent
from onenet_tui.i18n import set_language, t
from onenet_tui.screens.credentials_once import CredentialsOnceScreen
from onenet_tui.screens.user_detail import UserDetailScreen
from tests.helpers import UNSET, Host, World, add, build_people, make_app, ready, settle

ONE = IssuedCredentials(
    username="juergen.mueller",
    name="Jürgen Müller",
    extension="5001",
    sip_username="493012345001",
    password="Kx7pQ2mW9rT4vB8nZ3hJ",
    sip_domain="berlin.sip.example.net",
)
TWO = IssuedCredentials(
    username="chloe.boe",
    name="Chloé Bö",
    extension="0000",
    sip_username="442079460000",
    password="Hy4cN8sD2fG6kP9qR3tV",
    sip_domain="london.sip.example.net",
)


def credentials_host(issued: list[IssuedCredentials]) -> Host:
    # The screen's pictures were taken in a host of that name.
    return Host(lambda: CredentialsOnceScreen(issued), title="CredentialsHost")


def visible_text(screen: CredentialsOnceScreen) -> str:
    return "\n".join(str(widget.render()) for widget in screen.query("Label, Static"))


async def test_r8_shows_sip_username_password_and_domain_with_next() -> None:
    app = credentials_host([ONE])
    async with app.run_test(size=(80, 24)):
        screen = app.shown
        text = visible_text(screen)
        for value in (ONE.sip_username, ONE.password, ONE.sip_domain, ONE.extension, "Jürgen Müller (juergen.mueller)"):
            assert value in text
        assert t("credentials_once.warning") in text
        assert "(R8)" in text
        assert app.focused is not None and app.focused.id == "credentials-next"
        assert screen.query_one("#credentials").border_title == t("credentials_once.title")


async def test_r8_after_next_the_secrets_are_gone() -> None:
    app = credentials_host([ONE])
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.shown
        await pilot.press("enter")
        await pilot.pause()
        assert app.result is None
        assert screen.issued == ()
        assert not screen.query(".credentials--value")
        assert ONE.password not in repr(vars(screen))
        assert app.screen is not screen


async def test_r8_escape_does_not_skip_the_credentials() -> None:
    app = credentials_host([ONE])
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is app.shown
        assert app.result is UNSET
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert app.result is None


async def test_several_users_are_listed_one_block_each() -> None:
    app = credentials_host([ONE, TWO])
    async with app.run_test(size=(80, 24)):
        screen = app.shown
        assert len(screen.query(".credentials--block")) == 2
        text = visible_text(screen)
        assert ONE.password in text and TWO.password in text
        assert screen.query_one("#credentials").border_title == t("credentials_once.title_many", count=2)


async def test_names_are_shown_literally() -> None:
    odd = IssuedCredentials("x.y", "[b]X[/b] \x1b]0;evil\x07", "12", "4930", "Pw3xKq9rTz4mN7vB2cHd", "r.example")
    app = credentials_host([odd])
    async with app.run_test(size=(80, 24)):
        text = visible_text(app.shown)
        assert "[b]X[/b]" in text
        assert "\x1b" not in text and "\x07" not in text


async def test_german_labels() -> None:
    set_language("de")
    app = credentials_host([ONE])
    async with app.run_test(size=(80, 24)):
        screen = app.shown
        text = visible_text(screen)
        assert "SIP-Benutzername" in text and "Kennwort" in text
        assert str(screen.query_one("#credentials-next", Button).label) == "Weiter ▶"


def test_snapshot_credentials_once(snap_compare: Any) -> None:
    assert snap_compare(credentials_host([ONE]), terminal_size=(80, 24))


def test_snapshot_credentials_once_for_two_users(snap_compare: Any) -> None:
    assert snap_compare(credentials_host([ONE, TWO]), terminal_size=(80, 24))


# --- the hand-over record -----------------------------------------------------------


def handover_host(ctx: Context, issued: IssuedCredentials) -> Host:
    """The screen as the console opens it: the app holds the context."""
    return Host(lambda: CredentialsOnceScreen([issued]), ctx=ctx)


def never_handed_over(world: World) -> frozenset[int]:
    with world.store.read() as session:
        return handover.never_handed_over(session)


@pytest.mark.sqlite_only
async def test_r8_next_records_the_hand_over_without_the_secret(world: World) -> None:
    added = add(world)
    assert added.credentials is not None
    assert never_handed_over(world) == {added.user.id}
    app = handover_host(world.admin, added.credentials)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
    assert never_handed_over(world) == frozenset()
    with world.store.read() as session:
        event = session.execute(select(AuditEvent).where(AuditEvent.action == "credentials.handed_over")).scalar_one()
    assert event.target == added.user.username and event.details == {"user_id": added.user.id}
    assert added.credentials.password not in str(event.details)


@pytest.mark.sqlite_only
async def test_r8_a_screen_never_left_with_next_stays_never_handed_over(world: World) -> None:
    added = add(world)
    assert added.credentials is not None
    app = handover_host(world.admin, added.credentials)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("escape")
        await pilot.pause()
    # The console went away (a dropped link) with the password on screen.
    assert never_handed_over(world) == {added.user.id}


@pytest.mark.sqlite_only
async def test_r9_the_detail_of_a_never_handed_over_user_says_to_regenerate(world: World) -> None:
    build_people(world)
    issued = credentials.regenerate(world.admin, "anna.schmidt")  # the link dropped before Next
    app = make_app(world)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("down", "down", "down", "down", "enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, UserDetailScreen) and screen.username == "anna.schmidt"
        hint = screen.query_one("#credentials-unhanded", Static)
        assert str(hint.render()) == "credentials never handed over: regenerate"
        handover.record_handed_over(world.admin, issued.username, issued.user_id)
        screen.poll_changes()
        await settle(pilot)
        assert not screen.query("#credentials-unhanded")
