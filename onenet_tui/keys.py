"""The console's key registry: every action of every screen with an id,
its default keys, the words that describe it and, for the actions about a
user, the policy action asked before it runs (R14, and the status rules).

Screens build their ``BINDINGS`` from it (:func:`binding`); footers
(``widgets.key_footer``, ``widgets.footer``), help and the command palette
(``palette``) read it; ``[keys]`` in the config file remaps by id
(Textual's keymap), e.g.::

    [keys]
    filter = "slash,ctrl+f"
    mark = "space,x"
    wizard.next = "ctrl+n,f8"

Keys use Textual's names ("slash", "question_mark", "ctrl+p", "O"). Bindings
carry catalog keys as their description; whoever draws them translates
(:func:`words`), so a language switch changes no binding.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from textual.binding import Binding, BindingType
from textual.screen import Screen

from onenet_tui.data.policy import Action
from onenet_tui.i18n import t


class Scope(StrEnum):
    """Where a key works. Ids are shared where the key means the same thing
    (``edit`` on the directory and the detail screen, ``lifecycle.cancel`` in
    every dialog), so one ``[keys]`` entry remaps it everywhere."""

    APP = "app"  # everywhere (dialogs bind ``language`` themselves)
    DIRECTORY = "directory"
    DETAIL = "detail"  # the user detail screen (besides the directory's user actions)
    WIZARD = "wizard"  # the add-user wizard
    FIELD = "field"  # keys of a form field (the number field's free numbers)
    DIALOG = "dialog"  # the user dialogs, confirmations and file prompts
    CREDENTIALS = "credentials"  # the one-time credentials screen
    BULK = "bulk"  # bulk credentials and their result
    AUDIT = "audit"  # the audit log and a user's history (R26)
    HISTORY = "history"  # one audit event in full
    SITES = "sites"  # sites and their number pools (SPEC section 11)
    GROUPS = "groups"  # the groups, one group's members and the member picker
    IMPORT = "import"  # the import preview (users in by CSV)
    HELP = "help"


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
    label_key: str = ""  # catalog key of the short words; default directory.key.<id>
    help_key: str = ""  # catalog key of the help sentence; default <label_key>.help
    name_key: str = ""  # catalog key of the action's name in a sentence ("Delete: R5 ...")
    group: Binding.Group | None = None  # shown as one footer entry with its neighbours

    @property
    def label_catalog_key(self) -> str:
        return self.label_key or f"directory.key.{self.id}"

    @property
    def help_catalog_key(self) -> str:
        return self.help_key or f"{self.label_catalog_key}.help"

    @property
    def label(self) -> str:
        """Short words for the footer and the palette."""
        return t(self.label_catalog_key)

    @property
    def description(self) -> str:
        """A sentence for the help screen."""
        return t(self.help_catalog_key)

    @property
    def name(self) -> str:
        """The action named in a sentence, e.g. a refusal's title."""
        return t(self.name_key) if self.name_key else self.label

    def binding(self, action: str | None = None, *, show: bool | None = None) -> Binding:
        """A Textual binding whose description and tooltip are catalog keys,
        translated where they are drawn. ``action``: the screen's own method
        when it is not the registry's (a dialog's escape closes or cancels)."""
        return Binding(
            self.keys,
            action or self.action,
            self.label_catalog_key,
            show=self.footer if show is None else show,
            priority=self.priority,
            tooltip=self.help_catalog_key,
            id=self.id,
            group=self.group,
        )


D, A = Scope.DIRECTORY, Scope.APP


def flow(key_id: str, keys: str, **options: object) -> KeyAction:
    """A directory key that opens another screen: the action is
    ``open_flow('<id>')`` (see ``DirectoryScreen.action_open_flow``)."""
    return KeyAction(key_id, keys, f"open_flow('{key_id}')", D, **options)  # type: ignore[arg-type]  # options are KeyAction's own fields


def key(key_id: str, keys: str, action: str, scope: Scope, label_key: str, **options: object) -> KeyAction:
    """A key of a screen other than the directory: its words are the
    screen's own catalog keys, its help sentence the label unless given."""
    options.setdefault("help_key", label_key)
    options.setdefault("footer", True)
    return KeyAction(key_id, keys, action, scope, label_key=label_key, **options)  # type: ignore[arg-type]  # options are KeyAction's own fields


_FREE_NUMBERS = Binding.Group("field_widget.key.free_numbers", compact=True)

# The user actions. Which groups a user may join depends on the group (R4),
# which the group panel asks per group; opening the assignments needs only
# the right to change membership at all (R14). LEAVE_GROUP says exactly
# that: admin-only, and never refused for a status (leaving is always
# possible; joining pickup and call park groups is too, R4), so a pending
# user's pickup groups can still be changed.
_USER_ACTIONS = {
    "edit": Action.EDIT_CONFIGURATION,
    "profile": Action.EDIT_PROFILE,
    "groups": Action.LEAVE_GROUP,
    "credentials": Action.REGENERATE_CREDENTIALS,
    "reset_account": Action.RESET_ACCOUNT,
    "delete": Action.DELETE_USER,
}


def _user(key_id: str, keys: str, target: Target = Target.CURSOR) -> KeyAction:
    name = "account_reset" if key_id == "reset_account" else key_id
    return flow(
        key_id, keys, footer=True, policy=_USER_ACTIONS[key_id], target=target, name_key=f"lifecycle.action.{name}"
    )


# In the order help lists them; the footer has its own (FOOTER_FIRST).
KEY_TABLE: tuple[KeyAction, ...] = (
    flow("add", "a", footer=True, policy=Action.ADD_USER),
    _user("edit", "e"),
    _user("profile", "p"),
    _user("groups", "g"),
    _user("credentials", "c", Target.SELECTION),
    _user("reset_account", "k"),
    _user("delete", "d"),
    KeyAction("help", "question_mark", "help", A, footer=True),
    # A priority key: handled as it arrives, so the keys typed right after it
    # reach the filter (see DirectoryScreen.action_filter). Keys that open a
    # screen need not be: the keys after them meet that screen's bindings.
    KeyAction("filter", "slash", "filter", D, footer=True, priority=True, help_key="directory_terms.key.filter.help"),
    KeyAction("quit", "q", "quit", A, footer=True),
    KeyAction("clear_filter", "escape", "clear_filter", D),
    # In the footer after the change keys: shown where those are not (a
    # helpdesk operator's footer, wider terminals).
    KeyAction("status_filter", "f", "cycle_status", D, footer=True),
    KeyAction("sort", "o", "cycle_sort", D, footer=True),
    KeyAction("reverse_sort", "O", "reverse_sort", D),
    KeyAction("mark", "space", "mark", D),
    KeyAction("mark_all", "asterisk", "mark_all", D),
    KeyAction("clear_marks", "u", "clear_marks", D),
    flow("open", "enter", target=Target.CURSOR, footer=True),
    flow("audit", "l", policy=Action.VIEW_AUDIT, footer=True),
    # A real tenant (SPEC section 11): everyone sees them; the changes inside
    # are dimmed for helpdesk (R14). Not in the footer: 80 columns are full.
    flow("sites", "S", label_key="tenant_ui.key.sites"),
    flow("all_groups", "G", label_key="tenant_ui.key.all_groups"),
    # Users out and in by CSV (SPEC section 12): what the directory shows, and
    # a file checked in a preview before anything is written (R23).
    flow("export", "E", policy=Action.EXPORT_USERS, label_key="csv_console.key.export"),
    flow("import", "i", policy=Action.ADD_USER, label_key="csv_console.key.import"),
    KeyAction("language", "L", "switch_language", A),
    KeyAction("palette", "ctrl+p", "command_palette", A, priority=True),
    # The user detail screen; it also binds the user actions above.
    key("back", "escape", "back", Scope.DETAIL, "lifecycle.key.back"),
    key("copy_summary", "y", "copy_summary", Scope.DETAIL, "lifecycle.key.copy_summary", footer=False),
    key("save_summary", "s", "save_summary", Scope.DETAIL, "lifecycle.key.save_summary", footer=False),
    # R26: the user's history; whoever may see the user may see what happened to them.
    key(
        "history",
        "l",
        "history",
        Scope.DETAIL,
        "history.key.history",
        policy=Action.VIEW,
        help_key="history.key.history.help",
    ),
    # The add-user wizard.
    key("wizard.back", "ctrl+b", "previous_step", Scope.WIZARD, "wizard.key.back"),
    key("wizard.next", "ctrl+n", "next_step", Scope.WIZARD, "wizard.key.next"),
    key("wizard.create", "ctrl+s", "create", Scope.WIZARD, "wizard.key.create"),
    key("wizard.cancel", "escape", "cancel", Scope.WIZARD, "wizard.key.cancel"),
    key("number.previous_free", "up", "step(-1)", Scope.FIELD, "field_widget.key.previous_free", group=_FREE_NUMBERS),
    key("number.next_free", "down", "step(1)", Scope.FIELD, "field_widget.key.next_free", group=_FREE_NUMBERS),
    # Dialogs: user forms, confirmations, file prompts, account reset.
    key("lifecycle.cancel", "escape", "close", Scope.DIALOG, "lifecycle.key.cancel"),
    # The same key once a dialog shows its result (the delete's people to tell).
    key("lifecycle.close", "escape", "finish", Scope.DIALOG, "lifecycle.key.close"),
    key("lifecycle.save", "ctrl+s", "save", Scope.DIALOG, "lifecycle.key.save"),
    key("lifecycle.next", "ctrl+n", "next", Scope.DIALOG, "lifecycle.key.next"),
    key("credentials.next", "ctrl+n", "next", Scope.CREDENTIALS, "credentials_once.key.next"),
    # Bulk credentials and their result.
    key("bulk.cancel", "escape", "cancel", Scope.BULK, "bulk.key.cancel"),
    key("bulk.confirm", "ctrl+s", "confirm", Scope.BULK, "bulk.key.confirm"),
    key("bulk.export", "ctrl+s", "export", Scope.BULK, "bulk.result.key.export"),
    key("bulk.leave", "escape", "leave", Scope.BULK, "bulk.result.key.done"),
    # The app's quit key would drop the passwords without a word: it asks first there.
    key("bulk.quit", "q", "leave", Scope.BULK, "bulk.result.key.done", footer=False),
    # The import preview: failing rows, and nothing written before a confirmation.
    key("import.next_failure", "n", "next_failure", Scope.IMPORT, "csv_console.key.next_failure"),
    key("import.previous_failure", "N", "previous_failure", Scope.IMPORT, "csv_console.key.previous_failure"),
    key("import.confirm", "ctrl+s", "confirm", Scope.IMPORT, "csv_console.key.confirm"),
    key("import.cancel", "escape", "cancel", Scope.IMPORT, "csv_console.key.cancel"),
    # The audit log.
    key("audit.back", "escape", "app.pop_screen", Scope.AUDIT, "audit.key.back"),
    key("audit.reload", "r", "reload", Scope.AUDIT, "audit.key.reload"),
    key(
        "audit.filter",
        "slash",
        "filter",
        Scope.AUDIT,
        "history.key.filter",
        priority=True,
        help_key="history.key.filter.help",
    ),
    key("audit.open", "enter", "open_event", Scope.AUDIT, "history.key.open", help_key="history.key.open.help"),
    key("history.back", "escape", "app.pop_screen", Scope.HISTORY, "audit.key.back"),
    # Sites and numbers (R20, R21): the policy action dims a key for helpdesk (R14).
    key(
        "site.add",
        "a",
        "add_site",
        Scope.SITES,
        "tenant_ui.key.add_site",
        policy=Action.MANAGE_SITES,
        help_key="tenant_ui.key.add_site.help",
    ),
    key(
        "site.add_numbers",
        "n",
        "add_numbers",
        Scope.SITES,
        "tenant_ui.key.add_numbers",
        policy=Action.MANAGE_NUMBERS,
        help_key="tenant_ui.key.add_numbers.help",
    ),
    key(
        "site.flag",
        "f",
        "flag",
        Scope.SITES,
        "tenant_ui.key.flag",
        policy=Action.FLAG_NUMBER,
        help_key="tenant_ui.key.flag.help",
    ),
    key(
        "site.unflag",
        "u",
        "unflag",
        Scope.SITES,
        "tenant_ui.key.unflag",
        policy=Action.FLAG_NUMBER,
        help_key="tenant_ui.key.unflag.help",
    ),
    key("site.back", "escape", "back", Scope.SITES, "tenant_ui.key.back", help_key="tenant_ui.key.back.help"),
    # The groups (R22), one group's members, the member picker (R4, R6).
    key(
        "group_list.add",
        "a",
        "add_group",
        Scope.GROUPS,
        "tenant_ui.key.add_group",
        policy=Action.MANAGE_GROUPS,
        help_key="tenant_ui.key.add_group.help",
    ),
    key(
        "group_list.open",
        "enter",
        "open_group",
        Scope.GROUPS,
        "tenant_ui.key.open_group",
        help_key="tenant_ui.key.open_group.help",
    ),
    key(
        "group_list.filter",
        "slash",
        "filter",
        Scope.GROUPS,
        "tenant_ui.key.filter",
        help_key="tenant_ui.key.filter.help",
    ),
    key("group_list.back", "escape", "back", Scope.GROUPS, "tenant_ui.key.back", help_key="tenant_ui.key.back.help"),
    key(
        "group.add_members",
        "a",
        "add_members",
        Scope.GROUPS,
        "tenant_ui.key.add_members",
        policy=Action.LEAVE_GROUP,
        help_key="tenant_ui.key.add_members.help",
    ),
    key(
        "group.remove",
        "d",
        "remove_member",
        Scope.GROUPS,
        "tenant_ui.key.remove_member",
        policy=Action.LEAVE_GROUP,
        help_key="tenant_ui.key.remove_member.help",
    ),
    key(
        "group.role",
        "s",
        "toggle_role",
        Scope.GROUPS,
        "tenant_ui.key.toggle_role",
        policy=Action.LEAVE_GROUP,
        help_key="tenant_ui.key.toggle_role.help",
    ),
    key(
        "group.rename",
        "r",
        "rename",
        Scope.GROUPS,
        "tenant_ui.key.rename",
        policy=Action.MANAGE_GROUPS,
        help_key="tenant_ui.key.rename.help",
    ),
    key(
        "group.delete",
        "D",
        "delete_group",
        Scope.GROUPS,
        "tenant_ui.key.delete_group",
        policy=Action.MANAGE_GROUPS,
        help_key="tenant_ui.key.delete_group.help",
    ),
    key("group.back", "escape", "back", Scope.GROUPS, "tenant_ui.key.back", help_key="tenant_ui.key.back.help"),
    key("picker.pick", "space", "pick", Scope.GROUPS, "tenant_ui.key.pick", help_key="tenant_ui.key.pick.help"),
    key(
        "picker.save",
        "ctrl+s",
        "save",
        Scope.GROUPS,
        "tenant_ui.key.picker_save",
        help_key="tenant_ui.key.picker_save.help",
    ),
    key(
        "picker.cancel", "escape", "cancel", Scope.GROUPS, "tenant_ui.key.cancel", help_key="tenant_ui.key.cancel.help"
    ),
    # Help.
    key("help.close", "escape,question_mark,q", "dismiss", Scope.HELP, "keys.help.close", footer=False),
)

BY_ID: dict[str, KeyAction] = {spec.id: spec for spec in KEY_TABLE}
# The directory's footer, most used keys first: as many as fit, then "?" for
# the rest (``widgets.key_footer``). Other screens' keys follow in table order.
FOOTER_FIRST: tuple[str, ...] = (
    "filter",
    "open",
    "credentials",
    "reset_account",
    "edit",
    "add",
    "profile",
    "groups",
    "delete",
    "status_filter",
    "sort",
    "audit",
    "quit",
)
FOOTER_ORDER: dict[str, int] = {
    key_id: n for n, key_id in enumerate([*FOOTER_FIRST, *(s.id for s in KEY_TABLE if s.id not in FOOTER_FIRST)])
}
# Where the rest of the keys are: always the footer's last entry.
FOOTER_LAST = "help"
# The directory's and the app's actions by method name (the directory's check_action).
BY_ACTION: dict[str, KeyAction] = {spec.action: spec for spec in KEY_TABLE if spec.scope in (D, A)}
# The actions about one user, in the order the detail screen lists them.
USER_ACTIONS: tuple[str, ...] = tuple(_USER_ACTIONS)


def specs(*scopes: Scope) -> list[KeyAction]:
    return [spec for spec in KEY_TABLE if spec.scope in scopes]


def binding(key_id: str, action: str | None = None, *, show: bool | None = None) -> Binding:
    """The binding for registry entry ``key_id`` (see :meth:`KeyAction.binding`)."""
    return BY_ID[key_id].binding(action, show=show)


def bindings(scope: Scope) -> list[BindingType]:
    """Every binding of ``scope``, as a screen's ``BINDINGS``."""
    return [spec.binding() for spec in specs(scope)]


def policy(key_id: str) -> Action:
    """The one policy action asked for a user action id (``edit`` ...)."""
    action = BY_ID[key_id].policy
    assert action is not None, key_id
    return action


def words(text: str) -> str:
    """A binding's description or tooltip as drawn: a catalog key in the
    language now set; other text (Textual's own bindings) unchanged."""
    return t(text) if text else ""


def key_name(shown: str) -> str:
    """A key's name as Textual shows it ("space", "pgup") in the language now
    set; symbols and letters ("⏎", "a", "^s") are the same in every language."""
    catalog_key = f"keys.name.{shown}"
    word = t(catalog_key)
    return shown if word == catalog_key else word


def screen_keys(screen: Screen[object]) -> list[tuple[KeyAction, Binding]]:
    """The registry's keys ``screen`` binds itself (its own and its widgets',
    not the app's), enabled now, each once: for help and the palette on
    screens other than the directory, whose keys they always list."""
    found: dict[str, tuple[KeyAction, Binding]] = {}
    for active in screen.active_bindings.values():
        spec = BY_ID.get(active.binding.id or "")
        if spec is None or active.node is screen.app or not active.enabled or spec.scope is Scope.HELP:
            continue
        found.setdefault(spec.id, (spec, active.binding))
    return sorted(found.values(), key=lambda pair: FOOTER_ORDER[pair[0].id])


def unknown_ids(keymap: dict[str, str]) -> list[str]:
    """Ids in a [keys] table that name no action: typos the operator should hear about."""
    return sorted(set(keymap) - BY_ID.keys())


def effective_keys(spec: KeyAction, keymap: dict[str, str]) -> list[str]:
    """The keys that run ``spec`` once the config file's remapping applies."""
    return [key.strip() for key in keymap.get(spec.id, spec.keys).split(",") if key.strip()]
