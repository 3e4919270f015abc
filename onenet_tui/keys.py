"""The console's key table: every action with an id, its default keys and
the words that describe it. Footer (:class:`KeyFooter`), help screen and
command palette (:class:`KeyCommands`) are all generated from it; ``[keys]`` in the config file remaps by id, e.g.::

    [keys]
    filter = "slash,ctrl+f"
    mark = "space,x"

Keys use Textual's names ("slash", "question_mark", "ctrl+p", "O").
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import partial

from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingsMap
from textual.command import DiscoveryHit, Hit, Hits, Provider

from onenet_tui.data.policy import Action
from onenet_tui.i18n import t
from onenet_tui.widgets.lines import TextLines


class Scope(StrEnum):
    """Where a key works: everywhere, or on the directory."""

    APP = "app"
    DIRECTORY = "directory"


class Target(StrEnum):
    """Whom the action is about, for the policy question (R14 and the status rules)."""

    NONE = "none"  # no user: add a user, the audit log
    CURSOR = "cursor"  # the user under the cursor
    SELECTION = "selection"  # the marked users, else the cursor user


@dataclass(frozen=True)
class KeyAction:
    id: str  # the name in the config file's [keys] table
    keys: str  # default keys, comma-separated
    action: str  # the action method: "filter" runs action_filter
    scope: Scope
    footer: bool = False  # also shown in the footer (the help lists every key)
    policy: Action | None = None  # asked before the action runs, to dim and explain
    target: Target = Target.NONE
    priority: bool = False

    @property
    def label(self) -> str:
        """Short words for the footer and the palette."""
        return t(f"directory.key.{self.id}")

    @property
    def description(self) -> str:
        """A sentence for the help screen."""
        return t(f"directory.key.{self.id}.help")

    def binding(self) -> Binding:
        return Binding(
            self.keys,
            self.action,
            self.label,
            show=self.footer,
            priority=self.priority,
            tooltip=self.description,
            id=self.id,
        )


D, A = Scope.DIRECTORY, Scope.APP


def flow(key_id: str, keys: str, **options: object) -> KeyAction:
    """A directory key that opens another screen: the action is
    ``open_flow('<id>')`` (see ``DirectoryScreen.action_open_flow``)."""
    return KeyAction(key_id, keys, f"open_flow('{key_id}')", D, **options)  # type: ignore[arg-type]  # options are KeyAction's own fields


# In footer order: the keys that can be dimmed first, then help, filter and
# quit, so that what the policy refuses stays visible in 80 columns.
KEY_TABLE: tuple[KeyAction, ...] = (
    flow("add", "a", footer=True, policy=Action.ADD_USER),
    flow("edit", "e", footer=True, policy=Action.EDIT_CONFIGURATION, target=Target.CURSOR),
    flow("profile", "p", footer=True, policy=Action.EDIT_PROFILE, target=Target.CURSOR),
    # Which groups a user may join depends on the group (R4); the screen says
    # so per group. Here only the role matters (R14).
    flow("groups", "g", footer=True, policy=Action.JOIN_PICKUP, target=Target.CURSOR),
    flow("credentials", "c", footer=True, policy=Action.REGENERATE_CREDENTIALS, target=Target.SELECTION),
    flow("reset_account", "k", footer=True, policy=Action.RESET_ACCOUNT, target=Target.CURSOR),
    flow("delete", "d", footer=True, policy=Action.DELETE_USER, target=Target.CURSOR),
    KeyAction("help", "question_mark", "help", A, footer=True),
    # A priority key: handled as it arrives, so the keys typed right after it
    # reach the filter (see DirectoryScreen.action_filter). Keys that open a
    # screen need not be: the keys after them meet that screen's bindings.
    KeyAction("filter", "slash", "filter", D, footer=True, priority=True),
    KeyAction("quit", "q", "quit", A, footer=True),
    KeyAction("clear_filter", "escape", "clear_filter", D),
    KeyAction("status_filter", "f", "cycle_status", D),
    KeyAction("sort", "o", "cycle_sort", D),
    KeyAction("reverse_sort", "O", "reverse_sort", D),
    KeyAction("mark", "space", "mark", D),
    KeyAction("mark_all", "asterisk", "mark_all", D),
    KeyAction("clear_marks", "u", "clear_marks", D),
    flow("open", "enter", target=Target.CURSOR),
    flow("audit", "l", policy=Action.VIEW_AUDIT),
    KeyAction("language", "L", "switch_language", A),
    KeyAction("palette", "ctrl+p", "command_palette", A, priority=True),
)

BY_ID: dict[str, KeyAction] = {spec.id: spec for spec in KEY_TABLE}
FOOTER_ORDER: dict[str, int] = {spec.id: n for n, spec in enumerate(KEY_TABLE)}
BY_ACTION: dict[str, KeyAction] = {spec.action: spec for spec in KEY_TABLE}


def specs(scope: Scope) -> list[KeyAction]:
    return [spec for spec in KEY_TABLE if spec.scope is scope]


def bindings_map(scope: Scope, *extra: Binding) -> BindingsMap:
    """The bindings of ``scope`` in the current language (plus ``extra`` ones)."""
    return BindingsMap([*(spec.binding() for spec in specs(scope)), *extra])


def unknown_ids(keymap: dict[str, str]) -> list[str]:
    """Ids in a [keys] table that name no action: typos the operator should hear about."""
    return sorted(set(keymap) - BY_ID.keys())


def effective_keys(spec: KeyAction, keymap: dict[str, str]) -> list[str]:
    """The keys that run ``spec`` once the config file's remapping applies."""
    return [key.strip() for key in keymap.get(spec.id, spec.keys).split(",") if key.strip()]


class KeyCommands(Provider):
    """The command palette (ctrl+p) offers the same actions as the keys, in
    the same words; refused actions are explained, as when their key is pressed."""

    def _specs(self) -> list[KeyAction]:
        on_directory = hasattr(self.screen, "run_key_action")
        return [spec for spec in KEY_TABLE if spec.id != "palette" and (on_directory or spec.scope is Scope.APP)]

    def _help(self, spec: KeyAction) -> str:
        decision = getattr(self.screen, "decision", None)
        refusal = decision(spec) if decision and spec.scope is Scope.DIRECTORY else None
        if refusal is not None and not refusal.allowed and refusal.reason_key:
            return t("directory.palette.refused", description=spec.description, reason=t(refusal.reason_key))
        return spec.description

    async def _run(self, key_id: str) -> None:
        runner = getattr(self.screen, "run_key_action", None)
        if runner is not None:
            await runner(key_id)
        else:
            await self.app.run_action(BY_ID[key_id].action)

    async def discover(self) -> Hits:
        for spec in self._specs():
            yield DiscoveryHit(spec.label, partial(self._run, spec.id), help=self._help(spec))

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for spec in self._specs():
            score = matcher.match(spec.label)
            if score > 0:
                yield Hit(score, matcher.highlight(spec.label), partial(self._run, spec.id), help=self._help(spec))


class KeyFooter(TextLines):
    """The keys of the current screen on one line, dimmed where the screen's
    ``check_action`` says None. Textual's Footer mounts a widget per key and
    rebuilds them all whenever a key is dimmed or lit again (on cursor moves
    between users of different status); this one only repaints, its line
    going to the screen as drawn (``widgets.lines``)."""

    DEFAULT_CSS = """
    KeyFooter {
        dock: bottom;
        height: 1;
    }
    """

    COMPONENT_CLASSES = {"key-footer--key", "key-footer--description", "key-footer--disabled"}

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: object) -> None:
        self.refresh()

    def text_lines(self, width: int) -> list[Text]:
        key_style = self.get_component_rich_style("key-footer--key", partial=True)
        description_style = self.get_component_rich_style("key-footer--description", partial=True)
        disabled = self.get_component_rich_style("key-footer--disabled", partial=True)
        shown = [active for active in self.screen.active_bindings.values() if active.binding.show]
        # The key table's order, whichever widget or screen holds the binding:
        # the keys that can be dimmed first, so they stay visible in 80 columns.
        shown.sort(key=lambda active: FOOTER_ORDER.get(active.binding.id or "", len(FOOTER_ORDER)))
        line = Text(no_wrap=True, overflow="ellipsis", end="")
        for active in shown:
            binding = active.binding
            dim = Style() if active.enabled else disabled
            line.append(self.app.get_key_display(binding), key_style + dim)
            line.append(f" {binding.description} ", description_style + dim)
        line.rstrip()
        line.truncate(width, overflow="ellipsis")
        return [line]
