"""The key registry: every key of SPEC section 4 and every binding of every
screen, translated in both languages, remappable through ``[keys]`` in the
config file, and the one mapping of user actions to the policy table."""

from __future__ import annotations

import importlib
import pkgutil

import pytest
from textual.binding import Binding
from textual.dom import DOMNode
from textual.screen import Screen

import onenet_tui
from onenet_tui import keys
from onenet_tui.data.models import Role, Status
from onenet_tui.data.policy import Action, decide
from onenet_tui.flows import FLOWS
from onenet_tui.i18n import catalog
from onenet_tui.keys import Scope
from tests.helpers import World, build_people, make_app, notifications, ready

# The directory's and the app's keys: the table of SPEC section 4.
SPEC_TABLE = keys.specs(Scope.DIRECTORY, Scope.APP)

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
    "E": "export",
    "i": "import",
    "L": "language",
    "question_mark": "help",
    "ctrl+p": "palette",
    "q": "quit",
    # SPEC section 11: the sites-and-numbers screen and the groups screen.
    "S": "sites",
    "G": "all_groups",
}


# Screens do not depend on the backend; the services are tested on both.
pytestmark = pytest.mark.sqlite_only


def test_every_key_of_the_spec_is_in_the_table_with_its_default() -> None:
    defaults = {spec.keys: spec.id for spec in SPEC_TABLE}
    assert defaults == SPEC_KEYS


def test_every_key_that_opens_a_screen_has_its_flow() -> None:
    # The directory runs a key's flow without looking first: none may be missing.
    flow_ids = {spec.id for spec in SPEC_TABLE if spec.action.startswith("open_flow(")}
    assert flow_ids == set(FLOWS)


def test_ids_and_actions_are_unique() -> None:
    assert len(keys.BY_ID) == len(keys.KEY_TABLE)
    assert len(keys.BY_ACTION) == len(SPEC_TABLE)


@pytest.mark.parametrize("lang", ["en", "de"])
def test_every_key_has_words_in_both_languages(lang: str) -> None:
    words = catalog(lang)
    for spec in keys.KEY_TABLE:
        assert words.get(spec.label_catalog_key), spec.id
        assert words.get(spec.help_catalog_key), spec.id
        if spec.name_key:
            assert words.get(spec.name_key), spec.id
        if spec.group is not None:
            assert words.get(spec.group.description), spec.id


def test_both_languages_have_the_same_directory_keys() -> None:
    english = {k for k in catalog("en") if k.startswith("directory.")}
    german = {k for k in catalog("de") if k.startswith("directory.")}
    assert english == german


def test_bindings_carry_ids_for_the_keymap() -> None:
    for scope in keys.Scope:
        for binding in keys.bindings(scope):
            assert isinstance(binding, Binding) and binding.id in keys.BY_ID


# --- every binding of every screen is in the registry ----------------------------------


def _console_classes() -> list[type[DOMNode]]:
    """Every screen and widget class the console defines (its modules imported)."""
    for package in ("screens", "widgets"):
        for module in pkgutil.iter_modules([f"{onenet_tui.__path__[0]}/{package}"]):
            importlib.import_module(f"onenet_tui.{package}.{module.name}")
    importlib.import_module("onenet_tui.app")
    found: list[type[DOMNode]] = []
    todo: list[type[DOMNode]] = [DOMNode]
    while todo:
        for sub in todo.pop().__subclasses__():
            todo.append(sub)
            if sub.__module__.startswith("onenet_tui.") and sub not in found:
                found.append(sub)
    return sorted(found, key=lambda cls: f"{cls.__module__}.{cls.__qualname__}")


CLASSES = _console_classes()
SCREENS = [cls for cls in CLASSES if issubclass(cls, Screen)]


def _own_bindings(cls: type[DOMNode]) -> list[Binding]:
    """The bindings ``cls`` and its console base classes declare (not Textual's own)."""
    return [
        binding
        for base in cls.__mro__
        if base.__module__.startswith("onenet_tui.") and "BINDINGS" in base.__dict__
        for binding in Binding.make_bindings(base.__dict__["BINDINGS"])
    ]


def test_the_walk_finds_the_screens() -> None:
    # A broken walk would make the tests below pass on nothing.
    names = {cls.__name__ for cls in SCREENS}
    assert {"DirectoryScreen", "AddUserWizard", "AuditLogScreen", "HelpScreen", "ConfirmScreen"} <= names
    assert len(SCREENS) >= 15


@pytest.mark.parametrize("cls", SCREENS, ids=lambda cls: cls.__name__)
def test_every_binding_of_every_screen_has_an_id_of_the_registry(cls: type[Screen[object]]) -> None:
    own = _own_bindings(cls)
    missing = [(b.key, b.action) for b in own if b.id not in keys.BY_ID]
    assert missing == []
    # The words are the registry's: the footer, help and palette say the same.
    for binding in own:
        assert binding.description == keys.BY_ID[binding.id or ""].label_catalog_key, binding.id


@pytest.mark.parametrize("cls", [c for c in CLASSES if c.__dict__.get("BINDINGS")], ids=lambda c: c.__name__)
def test_every_binding_id_of_a_widget_is_in_the_registry(cls: type[DOMNode]) -> None:
    unknown = [b.id for b in _own_bindings(cls) if b.id is not None and b.id not in keys.BY_ID]
    assert unknown == []


@pytest.mark.parametrize("cls", SCREENS, ids=lambda cls: cls.__name__)
def test_every_binding_of_every_screen_can_be_remapped(cls: type[Screen[object]]) -> None:
    ids = {b.id for b in _own_bindings(cls) if b.id}
    assert keys.unknown_ids(dict.fromkeys(ids, "f9")) == []
    for key_id in ids:
        remapped = cls._merge_bindings()
        remapped.apply_keymap({key_id: "f9"})
        moved = [b for b in remapped.key_to_bindings.get("f9", []) if b.id == key_id]
        assert moved, key_id
        left = [b for group in remapped.key_to_bindings.values() for b in group if b.id == key_id and b.key != "f9"]
        assert left == [], key_id


# --- the one policy mapping (R14, R4) ---------------------------------------------------


def test_the_user_actions_ask_one_policy_action_each() -> None:
    from onenet_tui.screens import lifecycle_base

    assert lifecycle_base.CHANGE_ACTIONS == keys.USER_ACTIONS
    for action_id in keys.USER_ACTIONS:
        spec = keys.BY_ID[action_id]
        assert spec.policy is keys.policy(action_id)
        for role in Role:
            for status in Status:
                view = type("View", (), {"status": status.value, "device_type": "desk_phone"})()
                expected = decide(spec.policy, role, status, "desk_phone")
                assert lifecycle_base.decision_for(action_id, role, view) == expected  # type: ignore[arg-type]


def test_r4_r14_group_assignments_open_for_every_status_but_only_for_administrators() -> None:
    # Which groups may be joined is asked per group (R4); opening the screen
    # needs only the right to change membership (R14), whatever the status.
    assert keys.policy("groups") is Action.LEAVE_GROUP
    for status in Status:
        assert decide(keys.policy("groups"), Role.ADMIN, status).allowed
        assert decide(keys.policy("groups"), Role.HELPDESK, status).rule == "R14"


def test_config_file_remapping_and_unknown_ids() -> None:
    assert keys.unknown_ids({"mark": "x", "delete_everything": "D"}) == ["delete_everything"]
    # The wizard's and the dialogs' ids are ids, not typos.
    assert keys.unknown_ids({"wizard.next": "f8", "lifecycle.cancel": "ctrl+g", "audit.reload": "R"}) == []
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


async def test_a_remapped_wizard_key_works_and_help_and_palette_list_the_screen_keys(world: World) -> None:
    from textual.command import CommandPalette

    from onenet_tui.screens.add_user import STEPS, AddUserWizard
    from onenet_tui.screens.audit_log import AuditLogScreen
    from onenet_tui.screens.help import HelpScreen
    from tests.helpers import settle

    build_people(world)
    async with make_app(world, keys={"wizard.next": "f8", "audit.reload": "R"}).run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("a")
        await settle(pilot)
        wizard = pilot.app.screen
        assert isinstance(wizard, AddUserWizard)
        await pilot.press("ctrl+n")  # the old key no longer
        await settle(pilot)
        assert STEPS[wizard.step] == "device"
        await pilot.press("f8")
        await settle(pilot)
        assert STEPS[wizard.step] == "details"
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("l")
        await settle(pilot)
        assert isinstance(pilot.app.screen, AuditLogScreen)
        await pilot.press("question_mark")
        await settle(pilot)
        help_screen = pilot.app.screen
        assert isinstance(help_screen, HelpScreen)
        own = dict(help_screen.screen_lines())
        # The audit log's keys, remapped as configured.
        assert own == {
            "esc": "Back",
            "R": "Reload",
            "/": "Filter by user:, operator:, action:, since:, until: and free words",
        }
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("ctrl+p")
        await settle(pilot)
        palette = pilot.app.screen
        assert isinstance(palette, CommandPalette)
        from onenet_tui.palette import KeyCommands

        provider = KeyCommands(pilot.app.screen_stack[-2])
        titles = [hit.display for hit in [hit async for hit in provider.discover()]]
        assert "Reload" in titles and "Back" in titles and "Edit" not in titles


def test_config_ids_with_a_dot_may_be_written_with_or_without_quotes(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from onenet_tui import config

    path = tmp_path / "config.toml"
    path.write_text('[keys]\nwizard.next = "f8"\n"lifecycle.save" = "ctrl+w"\nmark = "space,x"\nwizrd.nxt = "z"\n')
    monkeypatch.setenv("ONENET_CONFIG", str(path))
    settings = config.resolve(db="sqlite://")
    assert settings.keys == {"wizard.next": "f8", "lifecycle.save": "ctrl+w", "mark": "space,x", "wizrd.nxt": "z"}
    assert keys.unknown_ids(settings.keys) == ["wizrd.nxt"]


def test_snapshot_help_over_the_bulk_result_lists_its_keys_first(world: World, snap_compare) -> None:  # type: ignore[no-untyped-def]
    from onenet_tui.data.credentials import BulkResult, IssuedCredentials
    from onenet_tui.screens.bulk_result import BulkResultScreen
    from tests.helpers import settle

    issued = IssuedCredentials("anna.schmidt", "Anna Schmidt", "5002", "493012345002", "s3cret-Pa55", "sip.example")

    async def open_help(pilot) -> None:  # type: ignore[no-untyped-def]
        await ready(pilot)
        await pilot.app.push_screen(BulkResultScreen(BulkResult([issued], [])))
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)

    from pathlib import Path

    app = make_app(world, keys={"bulk.export": "ctrl+s,x"}, config_file=Path("/etc/onenet-tui/config.toml"))
    assert snap_compare(app, terminal_size=(80, 24), run_before=open_help)
