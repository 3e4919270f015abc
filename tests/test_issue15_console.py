"""Issue 15's console defects at 80x24, each through the keys a person
presses: the delete result's buttons, choices legible without colour, the
cursor after adding a desk phone user, ``c`` with a filter, help's
scrollbar, the friction that lost typed work, and Enter in the wizard."""

from __future__ import annotations

from typing import Any

import pytest
from textual.widgets import Button

from onenet_tui.data import groups
from onenet_tui.screens.delete_user import DeleteUserScreen
from tests.helpers import Host, World, add_active, footer_words, settle, type_text

# Screens do not depend on the backend; the services are tested on both.
pytestmark = pytest.mark.sqlite_only


def crowded_groups(world: World) -> str:
    """An activated user in every Berlin group, each with many colleagues:
    the delete's list of people to tell is longer than any screen."""
    username = add_active(world).user.username
    colleagues = [
        add_active(
            world,
            first_name=f"Kollege{n}",
            last_name="Langername",
            email=f"k{n}@example.com",
            number=f"030 123450{n + 10:02d}",
        ).user.username
        for n in range(12)
    ]
    for group in ("BER Hunt", "BER Callcenter", "BER Pickup", "BER Park"):
        for member in [username, *colleagues]:
            groups.add_member(world.admin, group, member)
    return username


def fully_shown(widget: Any, screen: Any) -> bool:
    """The widget lies wholly on the screen, above the footer, uncovered."""
    region = widget.region
    footer_top = screen.size.height - 1
    return region.height >= 1 and region.y >= 0 and region.bottom <= footer_top and widget.visible


# ---------------------------------------------------------------- 1: delete result


@pytest.mark.parametrize("size", [(80, 24), (80, 30), (120, 40)])
async def test_r7_delete_result_shows_its_buttons_and_says_close(world: World, size: tuple[int, int]) -> None:
    username = crowded_groups(world)
    app = Host(lambda: DeleteUserScreen(world.admin, username))
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        screen = app.screen
        assert "esc Cancel" in footer_words(screen)
        screen.query_one("#confirm-extension").focus()
        await type_text(pilot, "5001")
        screen.query_one("#delete", Button).press()
        await settle(pilot)
        assert screen.report is not None
        for button_id in ("save-text", "save-csv", "close"):
            button = screen.query_one(f"#{button_id}", Button)
            assert fully_shown(button, screen), (button_id, button.region)
            # Its label row too, not only the top edge of its box.
            assert button.content_region.height >= 1
        words = footer_words(screen)
        assert "esc Close" in words and "Cancel" not in words
        if size == (80, 24):
            # The list is longer than the room for it: it scrolls.
            assert screen.query_one("#delete-result-groups").max_scroll_y > 0
        await pilot.press("escape")
        assert app.results == [screen.report]
