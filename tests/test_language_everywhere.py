"""``L`` on every screen at 80x24, both ways (SPEC section 5, issue 15 item 5):
after the switch no English text of the catalogs is left on the terminal,
and switching back draws the English screen again, character for character."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Input

from onenet_tui.data import carrier
from onenet_tui.data.credentials import BulkResult, IssuedCredentials
from onenet_tui.i18n import catalog, language, t
from onenet_tui.screens.account_reset import AccountResetScreen, ActivationCodeScreen
from onenet_tui.screens.bulk_result import BulkResultScreen
from onenet_tui.screens.credentials_once import CredentialsOnceScreen
from onenet_tui.screens.delete_user import DeleteUserScreen
from onenet_tui.screens.edit_configuration import EditConfigurationScreen
from onenet_tui.screens.export_users import ExportUsersScreen
from onenet_tui.screens.group_assignments import GroupAssignmentsScreen
from onenet_tui.screens.profile import ProfileScreen
from onenet_tui.screens.regenerate import RegenerateScreen
from onenet_tui.screens.save_file import ConfirmScreen, SaveTextScreen
from onenet_tui.screens.user_detail import UserDetailScreen
from tests.helpers import World, add, add_active, make_app, ready, settle

# Screens do not depend on the backend; the services are tested on both.
pytestmark = pytest.mark.sqlite_only

SIZE = (80, 24)
ISSUED = IssuedCredentials("anna.schmidt", "Anna Schmidt", "5002", "493012345002", "s3cret-Pa55", "berlin.sip.example")


def picture(pilot: Pilot[Any]) -> str:
    """What the terminal shows, as text."""
    return "\n".join(strip.text for strip in pilot.app.screen._compositor.render_strips())


def texts_of(words: dict[str, Any]) -> dict[str, str]:
    """Every text of a catalog, a counted entry's forms as keys of their own."""
    texts: dict[str, str] = {}
    for key, entry in words.items():
        forms = entry.items() if isinstance(entry, dict) else [("", entry)]
        texts.update({f"{key}.{form}" if form else key: text for form, text in forms})
    return texts


def english_left(english: str, german: str) -> list[str]:
    """Catalog texts that read differently in German but are on the German
    screen as they were on the English one."""
    de = texts_of(catalog("de"))
    german_texts = set(de.values())
    left = []
    for key, text in texts_of(catalog("en")).items():
        if "{" in text or len(text) < 4 or text == de.get(key) or not any(c.isalpha() for c in text):
            continue
        if any(text in other for other in german_texts):
            continue  # the same letters are German too ("Status", "Name")
        if text in english and text in german:
            left.append(text)
    return sorted(left)


async def switch(pilot: Pilot[Any]) -> str:
    await pilot.press("L")
    await settle(pilot)
    pilot.app.clear_notifications()
    await settle(pilot)
    return picture(pilot)


# --- how each screen is opened, over the directory as its key would ------------------
# Each takes the tenant before the console starts (so the directory behind
# the screen does not change meanwhile) and returns what opens the screen.

Opener = Callable[[Pilot[Any]], Awaitable[None]]


async def nothing(pilot: Pilot[Any]) -> None:
    pass


def press(*keys: str) -> Opener:
    async def open_it(pilot: Pilot[Any]) -> None:
        await pilot.press(*keys)

    return open_it


def push(make: Callable[[], Screen[Any]]) -> Opener:
    async def open_it(pilot: Pilot[Any]) -> None:
        await pilot.app.push_screen(make())
        await settle(pilot)
        # In a text field L is a letter: the operator steps to a button first.
        buttons = pilot.app.screen.query("#cancel")
        if isinstance(pilot.app.focused, Input) and buttons:
            buttons.first().focus()

    return open_it


def directory(world: World) -> Opener:
    add(world)
    return nothing


def detail(world: World) -> Opener:
    added = add(world)
    carrier.set_status(world.carrier, added.user.username, "failed", "porting not finished")
    return push(lambda: UserDetailScreen(world.admin, added.user.username, poll_seconds=None))


def dialog(make: Callable[[World, str], Screen[Any]], *, active: bool = True) -> Callable[[World], Opener]:
    def setup(world: World) -> Opener:
        username = (add_active(world) if active else add(world)).user.username
        return push(lambda: make(world, username))

    return setup


def audit_log(world: World) -> Opener:
    add(world)
    return press("l")


def bulk_credentials(world: World) -> Opener:
    add(world)
    add(world, number="030 12345002", first_name="Eva")
    return press("asterisk", "c")


SCREENS: dict[str, Callable[[World], Opener]] = {
    "directory": directory,
    "detail": detail,
    "wizard": lambda world: press("a"),
    "edit": dialog(lambda w, u: EditConfigurationScreen(w.admin, u)),
    "profile": dialog(lambda w, u: ProfileScreen(w.admin, u)),
    "groups": dialog(lambda w, u: GroupAssignmentsScreen(w.admin, u)),
    "delete": dialog(lambda w, u: DeleteUserScreen(w.admin, u)),
    "delete_refused": dialog(lambda w, u: DeleteUserScreen(w.admin, u), active=False),
    "regenerate": dialog(lambda w, u: RegenerateScreen(w.admin, u)),
    "account_reset": dialog(lambda w, u: AccountResetScreen(w.admin, u)),
    "audit_log": audit_log,
    "help": lambda world: press("question_mark"),
    "credentials_once": lambda world: push(lambda: CredentialsOnceScreen([ISSUED])),
    "activation_code": lambda world: push(lambda: ActivationCodeScreen("anna.schmidt", "K7Q-2M9")),
    "bulk_credentials": bulk_credentials,
    "bulk_result": lambda world: push(lambda: BulkResultScreen(BulkResult([ISSUED], []))),
    # SPEC section 11: sites and numbers, the groups, one group, the member picker.
    "sites": lambda world: press("S"),
    "all_groups": lambda world: press("G"),
    "group": lambda world: press("G", "enter"),
    "member_picker": lambda world: press("G", "enter", "a", "down"),
    # Yes/no and file-name prompts, in place too (the README's key table, L).
    "confirm": lambda world: press("G", "enter", "D"),
    "save_file": lambda world: push(
        lambda: SaveTextScreen(lambda: t("lifecycle.detail.save_summary_title"), "support.txt", "text\n")
    ),
    "export_prompt": lambda world: push(lambda: ExportUsersScreen(world.admin, [1, 2])),
}


@pytest.mark.parametrize("name", SCREENS)
async def test_l_switches_everything_visible_both_ways(world: World, name: str) -> None:
    open_screen = SCREENS[name](world)
    async with make_app(world).run_test(size=SIZE) as pilot:
        await ready(pilot)
        await open_screen(pilot)
        await settle(pilot)
        shown = pilot.app.screen
        english = picture(pilot)
        german = await switch(pilot)
        assert language() == "de"
        assert pilot.app.screen is shown
        assert german != english
        assert english_left(english, german) == []
        back = await switch(pilot)
        assert language() == "en"
        assert back == english


async def test_l_in_a_file_name_prompt_keeps_the_name_typed_the_focus_and_the_question_over_it(
    world: World, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ONENET_EXPORT_DIR", str(tmp_path))
    (tmp_path / "taken.txt").write_text("already here")
    title = lambda: t("lifecycle.detail.save_summary_title")  # noqa: E731
    async with make_app(world, poll_seconds=None).run_test(size=SIZE) as pilot:
        await ready(pilot)
        prompt = SaveTextScreen(title, "support.txt", "text\n")
        await pilot.app.push_screen(prompt)
        await settle(pilot)
        path = prompt.query_one("#path", Input)
        path.value = "mine"
        await settle(pilot)
        await pilot.press("L", *".txt")  # in the name, L is a letter
        await settle(pilot)
        assert path.value == "mineL.txt" and language() == "en"
        path.value = "mine.txt"
        await settle(pilot)
        prompt.query_one("#save").focus()
        await settle(pilot)
        await pilot.press("L")
        await settle(pilot)
        assert language() == "de" and pilot.app.screen is prompt
        path = prompt.query_one("#path", Input)
        assert path.value == "mine.txt"
        assert pilot.app.focused is prompt.query_one("#save")
        shown = picture(pilot)
        assert t("lifecycle.detail.save_summary_title", lang="de") in shown
        assert "Datei:" in shown and "mine.txt" in shown and "Speichern" in shown
        assert str(prompt.message.render()).startswith("Wird gespeichert unter")  # said again, in German
        # The yes/no question over it (the file exists) follows L as well, Cancel still focused.
        path.value = "taken.txt"
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        question = pilot.app.screen
        assert isinstance(question, ConfirmScreen)
        assert "gibt es bereits" in str(question.query_one("#question").render())
        await pilot.press("L")
        await settle(pilot)
        assert language() == "en" and pilot.app.screen is question
        assert "already exists" in str(question.query_one("#question").render()) and "Overwrite" in picture(pilot)
        assert pilot.app.focused is question.query_one("#cancel")
        await pilot.press("enter")  # Cancel: back to the prompt, the name kept
        await settle(pilot)
        assert pilot.app.screen is prompt and prompt.query_one("#path", Input).value == "taken.txt"
    assert (tmp_path / "taken.txt").read_text() == "already here"


# --- the German words that did not fit -------------------------------------------------


def flat(text: str) -> str:
    """The screen's words with line breaks and borders gone, for sentences that wrap."""
    return " ".join("".join(c if c.isalnum() or c in ".,:()-" else " " for c in text).split())


async def test_german_account_reset_shows_its_whole_check_box_label(world: World) -> None:
    from onenet_tui.i18n import set_language, t

    username = add_active(world).user.username
    set_language("de")
    async with make_app(world, poll_seconds=None).run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.app.push_screen(AccountResetScreen(world.admin, username))
        await settle(pilot)
        assert flat(t("lifecycle.reset.self_service")) in flat(picture(pilot))


async def test_german_detail_keeps_labels_apart_from_their_values(world: World) -> None:
    from onenet_tui.i18n import set_language
    from onenet_tui.screens.lifecycle_base import Facts

    username = add_active(world).user.username
    set_language("de")
    async with make_app(world, poll_seconds=None).run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.app.push_screen(UserDetailScreen(world.admin, username, poll_seconds=None))
        await settle(pilot)
        rows = picture(pilot).split("\n")
        checked = 0
        for facts in pilot.app.screen.query(Facts):
            for label in facts.query(".facts--label"):
                region = label.region
                for y in range(region.y, min(region.bottom, len(rows))):
                    # The column before the values is blank on every line of a label.
                    assert rows[y][region.right - 1] == " ", rows[y]
                    checked += 1
        assert checked > 10


async def test_german_header_keeps_both_counts_at_80_columns() -> None:
    from textual.app import App, ComposeResult

    from onenet_tui.data.context import Actor
    from onenet_tui.data.models import Role
    from onenet_tui.i18n import set_language
    from onenet_tui.widgets.status_header import StatusHeader

    header = StatusHeader(Actor("alice", Role.ADMIN))

    class One(App[None]):
        def compose(self) -> ComposeResult:
            yield header

    set_language("de")
    async with One().run_test(size=SIZE):
        # What a directory of 2,000 users shows (the counts as the header draws them).
        header.counts = [("● Ausstehend 1.000", "pending", "plain"), ("✓ Aktiviert 900", "activated", "plain")]
        header.counts.append(("✗ Fehlgeschlagen 100", "failed", "plain"))
        header.shown = "2.000 von 2.000 Benutzern"
        header.short_shown = "2.000 von 2.000"
        line = header.text_lines(80)[1].plain
        assert line.endswith(" 2.000 von 2.000") and "…" not in line
        header.counts = header.counts[:1]  # room enough: the whole words
        assert header.text_lines(80)[1].plain.endswith("2.000 von 2.000 Benutzern")


# --- the wizard: where the operator was, and every word ---------------------------------


async def test_l_with_focus_on_the_site_list_keeps_the_focus_there(world: World) -> None:
    from textual.widgets import Select

    from tests.helpers import fill_names_and_email

    async with make_app(world, poll_seconds=None).run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("a")
        await settle(pilot)
        await pilot.press("ctrl+n")
        await settle(pilot)
        await fill_names_and_email(pilot)
        wizard = pilot.app.screen
        site = wizard.query_one("#site", Select)
        site.focus()
        await settle(pilot)
        number = wizard.query_one("#number", Input)
        assert number.placeholder and number.placeholder == t("wizard.placeholder.number", lang="en")
        await pilot.press("L")
        await settle(pilot)
        assert language() == "de" and pilot.app.focused is site
        assert number.placeholder == t("wizard.placeholder.number", lang="de")
        await pilot.press("L")  # a key again, not a letter typed into a field
        await settle(pilot)
        assert language() == "en" and pilot.app.focused is site
        assert number.placeholder == t("wizard.placeholder.number", lang="en")
        assert wizard.form_data()["last_name"] == "Lutz"


def test_known_carrier_reasons_and_audit_codes_in_words_typed_ones_as_they_are() -> None:
    from onenet_tui.i18n import set_language
    from onenet_tui.stored_words import audit_action, audit_target, carrier_reason

    set_language("de")
    assert carrier_reason("emergency address missing") == "Notrufadresse fehlt"
    assert carrier_reason("the PBX <b>exploded</b>") == "the PBX <b>exploded</b>"
    assert audit_action("user.delete") == "Benutzer gelöscht"
    assert audit_action("something.new") == "something.new"
    assert audit_target("credentials.bulk_reset", "4 users", {"usernames": ["a", "b", "c", "d"]}) == "4 Benutzer"
    assert audit_target("user.add", "anna.schmidt", {}) == "anna.schmidt"
