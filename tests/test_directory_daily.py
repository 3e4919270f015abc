"""The directory for daily work (issue 19): filter terms typed into the real
filter, the portal-locked marker, the columns by terminal width, the footer
for administrators and helpdesk, and help listing the terms; with snapshots
at 80x24, 120 and 160 columns."""

from __future__ import annotations

import pytest
from sqlmodel import select

from onenet_tui.data.context import Actor
from onenet_tui.data.models import Role, User
from onenet_tui.i18n import set_language
from onenet_tui.screens.help import HelpScreen
from onenet_tui.terminal import Terminal
from tests.helpers import (
    SIZE,
    World,
    build_people,
    header,
    lines,
    make_app,
    notifications,
    ready,
    settle,
)

# Screens do not depend on the backend; the services are tested on both.
pytestmark = pytest.mark.sqlite_only

HELPDESK = Actor("hugo", Role.HELPDESK)
ASCII = Terminal(charset="ascii")


def lock(world: World, *last_names: str, department: str = "Einkauf") -> None:
    with world.store.transaction() as session:
        for user in session.exec(select(User).where(User.last_name.in_(last_names))).all():  # type: ignore[attr-defined]
            user.portal_locked = True
            user.department = department


@pytest.fixture
def daily(world: World) -> World:
    build_people(world)
    lock(world, "Müller", "Weiß")
    return world


def shown_names(screen) -> list[str]:  # type: ignore[no-untyped-def]
    return [row.name for row in screen.directory.rows(0, len(screen.directory))]


async def typed_filter(pilot, text: str):  # type: ignore[no-untyped-def]
    screen = await ready(pilot)
    await pilot.press("slash", *text)
    await settle(pilot)
    screen.directory.finish()
    return screen


# --- terms in the real filter --------------------------------------------------------------


async def test_terms_typed_in_the_filter_find_users_without_a_desk_phone_at_a_site(daily: World) -> None:
    async with make_app(daily).run_test(size=SIZE) as pilot:
        screen = await typed_filter(pilot, "site:berlin device:none")
        assert shown_names(screen) == ["Weiß, Hans-Peter"]
        assert "1 of 8 users" in header(screen)
        await pilot.press("escape")
        await settle(pilot)
        assert len(screen.directory) == 8


async def test_the_issue_s_free_words_find_people_in_the_filter(daily: World) -> None:
    async with make_app(daily).run_test(size=SIZE) as pilot:
        screen = await typed_filter(pilot, "müller berlin")
        assert shown_names(screen) == ["Müller, Jürgen"]
        await pilot.press(*["backspace"] * len("müller berlin"), *"T54W")
        await settle(pilot)
        screen.directory.finish()
        assert shown_names(screen) == ["Müller, Jürgen", "Nowak, Łukasz"]
        await pilot.press(*["backspace"] * 4, *"Einkauf")
        await settle(pilot)
        screen.directory.finish()
        assert shown_names(screen) == ["Müller, Jürgen", "Weiß, Hans-Peter"]


async def test_locked_yes_and_status_in_german_words(daily: World) -> None:
    async with make_app(daily).run_test(size=SIZE) as pilot:
        screen = await typed_filter(pilot, "gesperrt:ja status:aktiv")
        assert shown_names(screen) == ["Müller, Jürgen", "Weiß, Hans-Peter"]


async def test_an_unknown_term_is_named_in_the_filter_line_and_finds_nobody(daily: World) -> None:
    async with make_app(daily).run_test(size=SIZE) as pilot:
        screen = await typed_filter(pilot, "abteilng:x")
        error = screen.query_one("#directory-filter-error")
        assert error.display
        assert 'Unknown term "abteilng:"' in str(error.render())
        assert len(screen.directory) == 0
        assert "term it cannot use" in lines(screen)[1]
        await pilot.press(*["backspace"] * len("abteilng:x"), *"abteilung:x")
        await settle(pilot)
        assert not error.display


async def test_a_value_a_term_cannot_take_is_named_too(daily: World) -> None:
    async with make_app(daily).run_test(size=SIZE) as pilot:
        screen = await typed_filter(pilot, "locked:[bold]x")
        # The value as typed, literally: never read as markup.
        assert 'locked: no value "[bold]x"' in str(screen.query_one("#directory-filter-error").render())


# --- the locked marker and the columns --------------------------------------------------------


@pytest.mark.parametrize(("far_end", "marker"), [(None, "⊘"), (ASCII, "#")], ids=["utf-8", "ascii"])
async def test_a_locked_user_is_marked_without_colour_and_in_ascii(
    daily: World, far_end: Terminal | None, marker: str
) -> None:
    options = {} if far_end is None else {"far_end": far_end}
    async with make_app(daily, **options).run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        shown = lines(screen)
        assert sum(marker in line for line in shown) == 2, shown
        assert any(f"{marker} Müller, Jürgen" in line for line in shown), shown
        assert any(f"{marker} Weiß, Hans-Peter" in line for line in shown), shown


async def test_help_says_what_the_locked_marker_means_in_both_languages(daily: World) -> None:
    async with make_app(daily).run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        assert "⊘ before the name" in dict(pilot.app.screen.term_lines())["locked: gesperrt:"]
        try:
            await pilot.press("L")
            await pilot.pause()
            assert "⊘ vor dem Namen" in dict(pilot.app.screen.term_lines())["locked: gesperrt:"]
        finally:
            set_language("en")


async def test_at_80_columns_names_are_not_cut_while_columns_hold_spaces(world: World) -> None:
    build_people(world)
    async with make_app(world).run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        assert any("Weiß, Hans-Peter" in line for line in lines(screen))  # was "Weiß, Hans-Pe…"
        top = lines(screen)[0]
        assert "Username" not in top and "Email" not in top


@pytest.mark.parametrize(("width", "extra"), [(120, ["Username"]), (160, ["Username", "Email"])])
async def test_wider_terminals_show_username_and_email(daily: World, width: int, extra: list[str]) -> None:
    async with make_app(daily).run_test(size=(width, 24)) as pilot:
        screen = await ready(pilot)
        shown = lines(screen)
        assert all(title in shown[0] for title in extra)
        assert any("juergen.mueller" in line for line in shown)
        assert any("03012345001@example.com" in line for line in shown) == ("Email" in extra)


async def test_a_sort_by_a_column_a_resize_hides_goes_back_to_the_name(daily: World) -> None:
    async with make_app(daily).run_test(size=(120, 24)) as pilot:
        screen = await ready(pilot)
        for _ in range(6):
            await pilot.press("o")
        assert screen.directory.sort.value == "licence" and "Licence ▲" in lines(screen)[0]
        await pilot.resize_terminal(80, 24)
        await settle(pilot)
        assert screen.directory.sort.value == "name"
        assert "Name ▲" in lines(screen)[0] and "sorted by Name" in header(screen)


# --- footer and help ------------------------------------------------------------------------------


async def test_the_admin_footer_shows_the_most_used_keys_first_and_question_mark_for_the_rest(daily: World) -> None:
    async with make_app(daily).run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        footer = screen.query_one("KeyFooter")
        drawn = footer.text_lines(80)[0].plain
        assert drawn.startswith("/ Filter ⏎ Open c Credentials k Account e Edit")
        assert drawn.rstrip().endswith("? More")
        assert len(drawn) <= 80 and "…" not in drawn


async def test_r14_the_helpdesk_footer_shows_the_keys_they_can_use(daily: World) -> None:
    async with make_app(daily, HELPDESK).run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        drawn = screen.query_one("KeyFooter").text_lines(80)[0].plain
        assert drawn.split() == ["/", "Filter", "⏎", "Open", "f", "Status", "o", "Sort", "l", "Audit", "log", "q"] + [
            "Quit",
            "?",
            "Help",
        ]
        # Left out of the footer, still explained when pressed.
        await pilot.press("d")
        await pilot.pause()
        assert any("R14" in n for n in notifications(pilot.app))


async def test_r14_help_lists_every_key_with_the_reason_and_the_filter_terms(daily: World) -> None:
    async with make_app(daily, HELPDESK).run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        help_screen = pilot.app.screen
        assert isinstance(help_screen, HelpScreen)
        listed = dict(help_screen.key_lines())
        assert "R14" in listed["d"] and listed["d"].startswith("Delete the user")
        assert "R14" not in listed["/"]
        terms = dict(help_screen.term_lines())
        assert "site: standort:" in terms and "site:berlin" in terms["site: standort:"]
        assert any(name.startswith("device: model:") and "gerät:" in name for name in terms)
        assert {"locked: gesperrt:", "status:", "dept: department: abteilung: abt:"} <= terms.keys()


async def test_admin_help_gives_no_reasons(daily: World) -> None:
    async with make_app(daily).run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        help_screen = pilot.app.screen
        assert isinstance(help_screen, HelpScreen)
        assert all("R14" not in description for _, description in help_screen.key_lines())


# --- snapshots (fixed data, fixed operator, no clock) ---------------------------------------


async def _loaded(pilot) -> None:  # type: ignore[no-untyped-def]
    await ready(pilot)


def test_snapshot_locked_marker_and_name_column_80x24(snap_compare, daily: World) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(make_app(daily), terminal_size=(80, 24), run_before=_loaded)


def test_snapshot_helpdesk_footer_80x24(snap_compare, daily: World) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(make_app(daily, HELPDESK), terminal_size=(80, 24), run_before=_loaded)


def test_snapshot_locked_marker_in_ascii_80x24(snap_compare, daily: World) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(make_app(daily, far_end=ASCII), terminal_size=(80, 24), run_before=_loaded)


def test_snapshot_filter_terms_80x24(snap_compare, daily: World) -> None:  # type: ignore[no-untyped-def]
    async def filtered(pilot) -> None:  # type: ignore[no-untyped-def]
        await typed_filter(pilot, "site:berlin locked:yes")

    assert snap_compare(make_app(daily), terminal_size=(80, 24), run_before=filtered)


def test_snapshot_unknown_filter_term_80x24(snap_compare, daily: World) -> None:  # type: ignore[no-untyped-def]
    async def filtered(pilot) -> None:  # type: ignore[no-untyped-def]
        await typed_filter(pilot, "abteilng:einkauf")

    assert snap_compare(make_app(daily), terminal_size=(80, 24), run_before=filtered)


def test_snapshot_directory_120_columns(snap_compare, daily: World) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(make_app(daily), terminal_size=(120, 24), run_before=_loaded)


def test_snapshot_directory_160_columns(snap_compare, daily: World) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(make_app(daily), terminal_size=(160, 24), run_before=_loaded)


def test_snapshot_help_lists_the_filter_terms(snap_compare, daily: World) -> None:  # type: ignore[no-untyped-def]
    async def terms(pilot) -> None:  # type: ignore[no-untyped-def]
        await ready(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        pilot.app.screen.query_one("#help-keys").scroll_end(animate=False)
        await settle(pilot)

    assert snap_compare(make_app(daily, HELPDESK), terminal_size=(80, 24), run_before=terms)
