"""The key table: every key of SPEC section 4, translated in both languages,
remappable through ``[keys]`` in the config file."""

from __future__ import annotations

import pytest

from onenet_tui import keys
from onenet_tui.flows import FLOWS
from onenet_tui.i18n import catalog
from tests.helpers import World, build_people, make_app, notifications, ready

# SPEC section 4, in its words: key -> what it does.
SPEC_KEYS = {
    "slash": "filter",
    "escape": "clear_filter",
    "f": "status_filter",
    "o": "sort",
    "O": "reverse_sort",
    "space": "mark",
    "asterisk": "mark_all",
    "u": "clear_marks",
    "enter": "open",
    "a": "add",
    "e": "edit",
    "p": "profile",
    "g": "groups",
    "c": "credentials",
    "k": "reset_account",
    "d": "delete",
    "l": "audit",
    "L": "language",
    "question_mark": "help",
    "ctrl+p": "palette",
    "q": "quit",
}


# Screens do not depend on the backend; the services are tested on both.
pytestmark = pytest.mark.sqlite_only


def test_every_key_of_the_spec_is_in_the_table_with_its_default() -> None:
    defaults = {spec.keys: spec.id for spec in keys.KEY_TABLE}
    assert defaults == SPEC_KEYS


def test_every_key_that_opens_a_screen_has_its_flow() -> None:
    # The directory runs a key's flow without looking first: none may be missing.
    flow_ids = {spec.id for spec in keys.KEY_TABLE if spec.action.startswith("open_flow(")}
    assert flow_ids == set(FLOWS)


def test_ids_and_actions_are_unique() -> None:
    assert len(keys.BY_ID) == len(keys.KEY_TABLE)
    assert len(keys.BY_ACTION) == len(keys.KEY_TABLE)


@pytest.mark.parametrize("lang", ["en", "de"])
def test_every_key_has_words_in_both_languages(lang: str) -> None:
    words = catalog(lang)
    for spec in keys.KEY_TABLE:
        assert words.get(f"directory.key.{spec.id}"), spec.id
        assert words.get(f"directory.key.{spec.id}.help"), spec.id


def test_both_languages_have_the_same_directory_keys() -> None:
    english = {k for k in catalog("en") if k.startswith("directory.")}
    german = {k for k in catalog("de") if k.startswith("directory.")}
    assert english == german


def test_bindings_carry_ids_for_the_keymap() -> None:
    for scope in keys.Scope:
        for _, binding in keys.bindings_map(scope):
            assert binding.id in keys.BY_ID


def test_config_file_remapping_and_unknown_ids() -> None:
    assert keys.unknown_ids({"mark": "x", "delete_everything": "D"}) == ["delete_everything"]
    assert keys.effective_keys(keys.BY_ID["mark"], {"mark": "space, x"}) == ["space", "x"]
    assert keys.effective_keys(keys.BY_ID["filter"], {}) == ["slash"]


async def test_a_remapped_key_works_and_the_old_one_no_longer(world: World) -> None:
    build_people(world)
    async with make_app(world, keys={"mark": "x", "filter": "ctrl+f"}).run_test(size=(80, 24)) as pilot:
        screen = await ready(pilot)
        await pilot.press("space")
        assert screen.marks == set()
        await pilot.press("x")
        assert len(screen.marks) == 1
        await pilot.press("ctrl+f")
        assert pilot.app.focused is screen.filter_input


async def test_an_unknown_id_in_the_config_is_reported(world: World, tmp_path) -> None:  # type: ignore[no-untyped-def]
    config = tmp_path / "config.toml"
    async with make_app(world, keys={"nonsense": "z"}, config_file=config).run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        assert notifications(pilot.app) == [f": Unknown action ids in [keys] of {config}: nonsense"]
