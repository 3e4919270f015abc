"""The virtual user table: column layout by terminal width, rendering only the
lines on screen, and snapshots of the directory (80x24, 120x40, NO_COLOR,
the ANSI theme, marks, a filter)."""

from __future__ import annotations

import pytest

from onenet_tui.app import ANSI_THEME, choose_theme, few_colours
from onenet_tui.data import credentials
from onenet_tui.data.directory import Directory
from onenet_tui.i18n import set_language
from onenet_tui.widgets.lines import fit
from onenet_tui.widgets.user_table import UserTable, column_specs, layout
from tests.helpers import TableApp, World, build_people, lines, make_app, ready, synthetic

# Screens do not depend on the backend; the services are tested on both.
pytestmark = pytest.mark.sqlite_only


# --- layout ---------------------------------------------------------------------------


def keys_at(width: int) -> list[str]:
    return [spec.key for spec, _ in layout(width, column_specs())]


def test_at_120_columns_every_column_but_the_email_fits() -> None:
    columns = layout(119, column_specs())
    assert [spec.key for spec, _ in columns] == [
        "mark",
        "status",
        "name",
        "username",
        "extension",
        "number",
        "site",
        "device",
        "licence",
    ]
    assert sum(width for _, width in columns) + len(columns) - 1 <= 119


def test_at_160_columns_the_email_too() -> None:
    columns = layout(159, column_specs())
    assert [spec.key for spec, _ in columns][-1] == "email"
    assert dict((spec.key, width) for spec, width in columns)["name"] >= 24
    assert sum(width for _, width in columns) + len(columns) - 1 <= 159


def test_at_80_columns_the_name_takes_what_short_sites_and_models_leave() -> None:
    """Names were cut at 14 cells while the site and device columns held
    spaces: columns that fit their content give the rest to the name."""
    content = {"site": 6, "device": 13, "licence": 13}
    widths = dict((spec.key, width) for spec, width in layout(79, column_specs(), content))
    assert widths["site"] == 8 and widths["device"] == 13  # the site's minimum; the longest model
    assert sum(widths.values()) + len(widths) - 1 == 79  # nothing left over
    assert widths["name"] == 22


def test_narrow_terminals_drop_licence_then_device_then_site() -> None:
    assert keys_at(79) == ["mark", "status", "name", "extension", "number", "site", "device"]
    assert keys_at(62) == ["mark", "status", "name", "extension", "number", "site"]
    assert keys_at(50) == ["mark", "status", "name", "extension", "number"]
    assert keys_at(30) == ["mark", "status", "name", "extension"]


def test_german_badges_widen_the_status_column() -> None:
    try:
        set_language("de")
        status = next(spec for spec in column_specs() if spec.key == "status")
        assert status.preferred == len("✗ Fehlgeschlagen") + 1
        assert "name" in keys_at(79)
    finally:
        set_language("en")


def test_fit_cuts_with_an_ellipsis_and_pads_by_cells() -> None:
    assert fit("Müller, Jürgen", 8) == "Müller,…"
    assert fit("Ab", 5) == "Ab   "
    assert fit("12", 5, right=True) == "   12"
    assert fit("東京", 3) == "東…"  # wide characters count two cells


# --- only the lines on screen ------------------------------------------------------------


class CountingDirectory(Directory):
    fetched = 0

    def row(self, position):  # type: ignore[no-untyped-def]
        CountingDirectory.fetched += 1
        return super().row(position)


async def test_a_hundred_thousand_users_cost_only_the_lines_on_screen() -> None:
    directory = CountingDirectory(synthetic(100_000))
    async with TableApp(directory).run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        table = pilot.app.query_one(UserTable)
        assert table.virtual_size.height == 100_001
        # The page on screen and the pages drawn ahead of it, above and below.
        pages = 5 * 24
        first = CountingDirectory.fetched
        assert 0 < first <= pages
        await pilot.press("pagedown")
        await pilot.pause()
        assert CountingDirectory.fetched - first <= pages
        await pilot.press("end")
        await pilot.pause()
        assert table.cursor == 99_999
        assert "User 099999" in "".join(s.text for s in table.render_line(table.size.height - 1))


# --- terminals ----------------------------------------------------------------------------


def test_ansi_theme_for_terminals_with_few_colours() -> None:
    assert few_colours({"TERM": "screen"})
    assert few_colours({"TERM": "xterm"})
    assert not few_colours({"TERM": "xterm-256color"})
    assert not few_colours({"TERM": "screen", "COLORTERM": "truecolor"})
    assert choose_theme(None, {"TERM": "screen"}) == ANSI_THEME.name
    assert choose_theme("ansi", {"COLORTERM": "truecolor"}) == ANSI_THEME.name
    assert choose_theme(None, {"TERM": "xterm-256color"}) == "textual-dark"
    assert choose_theme("textual-dark", {"NO_COLOR": "1", "TERM": "xterm-256color"}) == ANSI_THEME.name


# --- snapshots (fixed data, fixed operator, no clock) ---------------------------------------


async def _loaded(pilot) -> None:  # type: ignore[no-untyped-def]
    await ready(pilot)


def test_snapshot_directory_80x24(snap_compare, world: World) -> None:  # type: ignore[no-untyped-def]
    build_people(world)
    assert snap_compare(make_app(world), terminal_size=(80, 24), run_before=_loaded)


def test_snapshot_directory_120x40(snap_compare, world: World) -> None:  # type: ignore[no-untyped-def]
    build_people(world)
    assert snap_compare(make_app(world), terminal_size=(120, 40), run_before=_loaded)


def test_snapshot_directory_no_color(snap_compare, world: World, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    build_people(world)
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app(world)
    assert app.no_color and app.theme == ANSI_THEME.name
    assert snap_compare(app, terminal_size=(80, 24), run_before=_loaded)


def test_snapshot_directory_ansi_theme(snap_compare, world: World) -> None:  # type: ignore[no-untyped-def]
    build_people(world)
    assert snap_compare(make_app(world, theme="ansi"), terminal_size=(80, 24), run_before=_loaded)


def test_snapshot_directory_with_marks(snap_compare, world: World) -> None:  # type: ignore[no-untyped-def]
    build_people(world)

    async def marked(pilot) -> None:  # type: ignore[no-untyped-def]
        await ready(pilot)
        await pilot.press("space", "down", "down", "space", "down")

    assert snap_compare(make_app(world), terminal_size=(80, 24), run_before=marked)


def test_snapshot_directory_with_filter(snap_compare, world: World) -> None:  # type: ignore[no-untyped-def]
    build_people(world)

    async def filtered(pilot) -> None:  # type: ignore[no-untyped-def]
        await ready(pilot)
        await pilot.press("slash", *"030", "enter", "f")
        await pilot.pause()

    assert snap_compare(make_app(world), terminal_size=(80, 24), run_before=filtered)


# --- credentials never handed over -------------------------------------------------------


async def test_r9_a_user_whose_credentials_never_reached_anybody_is_marked_without_colour(world: World) -> None:
    build_people(world)
    credentials.regenerate(world.admin, "anna.schmidt")  # shown to nobody
    async with make_app(world).run_test(size=(80, 24)) as pilot:
        screen = await ready(pilot)
        shown = lines(screen)
        assert any("⚠ Schmidt, An" in line for line in shown), shown
        assert sum("⚠" in line for line in shown) == 1


def test_snapshot_directory_marks_never_handed_over(snap_compare, world: World) -> None:  # type: ignore[no-untyped-def]
    build_people(world)
    credentials.regenerate(world.admin, "anna.schmidt")
    assert snap_compare(make_app(world), terminal_size=(80, 24), run_before=_loaded)
