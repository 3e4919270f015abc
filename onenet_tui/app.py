"""The Textual console. Imported only when the console opens, so the command
line starts fast without Textual."""

from __future__ import annotations

import gc
import inspect
import os
import sys
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from textual import _border, events, on, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.command import CommandPalette
from textual.driver import Driver
from textual.drivers.linux_driver import LinuxDriver
from textual.message import Message
from textual.screen import Screen
from textual.scrollbar import ScrollBarRender
from textual.theme import Theme
from textual.widgets import Checkbox, RadioButton
from textual.widgets._toggle_button import ToggleButton
from textual.worker import Worker, WorkerState

from onenet_tui import keys, terminal
from onenet_tui.config import Settings, config_path, read_config_file
from onenet_tui.data.actor import Actor, Context
from onenet_tui.data.directory import DirectoryData
from onenet_tui.flows import FLOWS
from onenet_tui.i18n import LANGUAGES, language, set_language, t
from onenet_tui.palette import KeyCommands
from onenet_tui.screens.directory import DirectoryScreen, Flow
from onenet_tui.screens.help import HelpScreen
from onenet_tui.screens.relabel import LanguageChanged
from onenet_tui.screens.workers import failure_reason
from onenet_tui.visible import visible
from onenet_tui.widgets.choices import toggle_mark

if TYPE_CHECKING:
    from onenet_tui.data.launch import LookAhead
    from onenet_tui.data.storage import Store

ANSI_THEME = Theme(
    # The 16 colours every terminal has (SPEC section 4), used as the
    # terminal defines them: right on `TERM=screen`, a serial console or an
    # old SSH client.
    name="onenet-ansi",
    ansi=True,
    primary="ansi_blue",
    secondary="ansi_cyan",
    warning="ansi_yellow",
    error="ansi_red",
    success="ansi_green",
    accent="ansi_cyan",
    foreground="ansi_default",
    background="ansi_default",
    surface="ansi_default",
    panel="ansi_default",
    boost="ansi_default",
    dark=True,
    variables={
        "ansi-background": "ansi_black",
        "ansi-foreground": "ansi_white",
        "border": "ansi_blue",
        "border-blurred": "ansi_bright_black",
        "block-cursor-foreground": "ansi_black",
        "block-cursor-background": "ansi_white",
        "block-cursor-text-style": "bold",
        "block-cursor-blurred-foreground": "ansi_black",
        "block-cursor-blurred-background": "ansi_bright_black",
        "footer-key-foreground": "ansi_bright_cyan",
        "footer-description-foreground": "ansi_default",
        "input-cursor-background": "ansi_white",
        "input-cursor-foreground": "ansi_black",
        "input-cursor-text-style": "none",
        "input-selection-background": "ansi_bright_blue",
        "input-selection-foreground": "ansi_black",
        "screen-selection-background": "ansi_bright_blue",
        "screen-selection-foreground": "ansi_black",
    },
)
DEFAULT_THEME = "textual-dark"
# Names the config file and ONENET_THEME accept besides Textual's theme names.
THEME_ALIASES = {"ansi": ANSI_THEME.name, "default": DEFAULT_THEME}


# Textual's own palette commands, by the English words Textual gives them.
SYSTEM_COMMAND_KEYS = {
    "Bell": "system.bell",
    "Theme": "system.theme",
    "Quit": "system.quit",
    "Keys": "system.keys",
    "Minimize": "system.minimize",
    "Maximize": "system.maximize",
    "Screenshot": "system.screenshot",
}
SYSTEM_HELP_KEYS = {
    "Ring the bell": "system.bell.help",
    "Change the current theme": "system.theme.help",
    "Quit the application as soon as possible": "system.quit.help",
    "Hide the keys and widget help panel": "system.keys.hide",
    "Show help for the focused widget and a summary of available keys": "system.keys.show",
    "Minimize the widget and restore to normal size": "system.minimize.help",
    "Maximize the focused widget": "system.maximize.help",
    "Save an SVG 'screenshot' of the current screen": "system.screenshot.help",
}


def few_colours(environ: Mapping[str, str]) -> bool:
    """Whether the terminal is unlikely to show more than 16 colours."""
    if environ.get("COLORTERM", "").lower() in ("truecolor", "24bit"):
        return False
    term = environ.get("TERM", "")
    return "256color" not in term and "direct" not in term


def choose_theme(requested: str | None, environ: Mapping[str, str]) -> str:
    """The ANSI theme without colour (NO_COLOR: the terminal's own default
    colours plus bold, dim and reverse) or with few colours; else as asked."""
    if "NO_COLOR" in environ:
        return ANSI_THEME.name
    if requested:
        return THEME_ALIASES.get(requested, requested)
    return ANSI_THEME.name if few_colours(environ) else DEFAULT_THEME


class FrugalDriver(LinuxDriver):
    """Textual's terminal driver for a far end that needs care: over SSH the
    mouse reports clicks only (not every motion, each a message on the
    wire); without UTF-8 the output is written in the terminal's charset,
    with ASCII stand-ins for what it cannot show."""

    terminal = terminal.Terminal()

    def __init__(self, app: App[Any], **options: Any) -> None:
        super().__init__(app, **options)
        if self.terminal.ascii:
            stream = sys.__stderr__
            assert stream is not None
            self._file = open(  # noqa: SIM115 - lives as long as the driver
                stream.fileno(), "w", encoding=self.terminal.charset, errors=terminal.ERRORS, closefd=False
            )

    def _enable_mouse_support(self) -> None:
        if not (self._mouse and self.terminal.ssh):
            super()._enable_mouse_support()
            return
        self.write("\x1b[?1000h")  # button presses and releases only
        self.write("\x1b[?1006h")  # in SGR coordinates
        self.flush()


_MISSING = object()


def _ascii_glyph_values() -> dict[tuple[type, str], object]:
    return {
        (ToggleButton, "BUTTON_LEFT"): "[",
        (ToggleButton, "BUTTON_RIGHT"): "]",
        (ToggleButton, "_button"): property(toggle_mark),
        (Checkbox, "BUTTON_INNER"): "x",
        (RadioButton, "BUTTON_LEFT"): "(",
        (RadioButton, "BUTTON_RIGHT"): ")",
        (RadioButton, "BUTTON_INNER"): "*",
        (ScrollBarRender, "VERTICAL_BARS"): [" "] * 8,
        (ScrollBarRender, "HORIZONTAL_BARS"): [" "] * 8,
    }


@contextmanager
def ascii_glyphs(enabled: bool) -> Iterator[None]:
    """While the console runs on a terminal without UTF-8: every border drawn
    with ``-|+``, check boxes ``[x]``, radio buttons ``(*)``, scrollbars
    without block characters. Textual keeps these per process; they are put
    back when the console closes (tests run many apps in one process)."""
    if not enabled:
        yield
        return
    borders = dict(_border.BORDER_CHARS)
    values = _ascii_glyph_values()
    saved = {(cls, attribute): cls.__dict__.get(attribute, _MISSING) for cls, attribute in values}
    for edge, rows in borders.items():
        _border.BORDER_CHARS[edge] = tuple(tuple(terminal.fallback(c) for c in row) for row in rows)  # type: ignore[assignment]  # still 3x3: a comprehension loses tuple lengths
    for (cls, attribute), value in values.items():
        setattr(cls, attribute, value)
    _border.get_box.cache_clear()
    try:
        yield
    finally:
        _border.BORDER_CHARS.update(borders)
        for (cls, attribute), value in saved.items():
            if value is _MISSING:
                delattr(cls, attribute)
            else:
                setattr(cls, attribute, value)
        _border.get_box.cache_clear()


class OneNetApp(App[None], inherit_bindings=False):
    """Holds the tenant context; every screen receives it explicitly."""

    TITLE = "onenet-tui"
    CSS_PATH = "app.tcss"
    COMMANDS = {KeyCommands}
    # The registry's app keys instead of Textual's; its ctrl+q stays, as people reach for it.
    BINDINGS = [*keys.bindings(keys.Scope.APP), Binding("ctrl+q", "quit", show=False, priority=True, system=True)]

    class ExportLost(Message):
        """A bulk reset whose passwords were never exported, in words."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    def __init__(
        self,
        ctx: Context,
        *,
        keys: dict[str, str] | None = None,
        theme: str | None = None,
        config_file: Path | None = None,
        poll_seconds: float | None = None,
        far_end: terminal.Terminal | None = None,
        first_page: DirectoryData | None = None,
        resume_gc: bool = False,
    ) -> None:
        chosen = choose_theme(theme, os.environ)
        # Before Textual picks its driver, which writes for this terminal.
        self.far_end = far_end or terminal.Terminal.from_environ(os.environ)
        # Decided before Textual sets up its filters: with NO_COLOR it strips
        # colours only when it knows the theme uses the terminal's own.
        super().__init__(ansi_color=True if chosen == ANSI_THEME.name else None)
        if self.far_end.ssh:
            # Every frame of an animation crosses the link: a page of help
            # scrolled in 26 repaints.
            self.animation_level = "none"
        self.ctx = ctx
        self.keys = dict(keys or {})
        self.config_file = config_file
        self.poll_seconds = poll_seconds
        # The directory's first page read before the ORM (data.launch), or None.
        self.first_page = first_page
        self._without_orm = first_page is not None
        # The garbage collector was paused for the start (cli._open_console).
        self._resume_gc = resume_gc
        # The actions other screens provide, by key id (see DirectoryScreen.action_open_flow).
        self.flows: dict[str, Flow] = dict(FLOWS)
        self._carrier_stop = threading.Event()
        # The last failure notified: a check repeated every second that keeps
        # failing the same way is said once, not once a second.
        self._failure_notified: tuple[int, str | None, str] | None = None
        self.register_theme(ANSI_THEME)
        # An unknown name in the config file must not stop the console.
        self.theme = chosen if chosen in self.available_themes else DEFAULT_THEME

    def get_driver_class(self) -> type[Driver]:
        driver = super().get_driver_class()
        if issubclass(driver, LinuxDriver) and (self.far_end.ssh or self.far_end.ascii):
            return type("FrugalDriver", (FrugalDriver, driver), {"terminal": self.far_end})
        return driver

    async def _process_messages(self, *args: Any, **kwargs: Any) -> None:
        # The glyphs hold for as long as this console runs, headless ones too.
        previous = terminal.current()
        terminal.use(self.far_end)
        try:
            with ascii_glyphs(self.far_end.ascii):
                await super()._process_messages(*args, **kwargs)
        finally:
            terminal.use(previous)

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        """Over SSH a blinking cursor sends a repaint twice a second, for
        ever: it stays on instead."""
        if self.far_end.ssh and hasattr(event.widget, "cursor_blink"):
            event.widget.cursor_blink = False

    def get_default_screen(self) -> Screen[None]:
        first, self.first_page = self.first_page, None
        return DirectoryScreen(self.ctx, poll_seconds=self.poll_seconds, first_page=first)

    def on_mount(self) -> None:
        unknown = keys.unknown_ids(self.keys)
        if unknown:
            self.notify(
                t("directory.keys.unknown", ids=", ".join(unknown), path=str(self.config_file or config_path())),
                severity="warning",
                markup=False,
            )
        self.set_keymap({k: v for k, v in self.keys.items() if k not in unknown})
        if self._resume_gc:
            self.call_after_refresh(gc.enable)
        if not self._without_orm:
            self._background()
        else:
            # Started without the ORM: these open the store, after the first frame.
            self.call_after_refresh(self._background)

    def _background(self) -> None:
        self._simulate_carrier()
        self._warn_never_exported()

    @work(thread=True, group="handover", exit_on_error=False, description="look for lost exports")
    def _warn_never_exported(self) -> None:
        """Bulk resets whose passwords changed but were never exported (a
        dropped link, a crash): say so, so the admin resets them again."""
        from onenet_tui.data import handover

        # Outside a transaction: its statements need not agree (READ COMMITTED
        # gives each its own view anyway), and BEGIN/COMMIT are round trips.
        with self.ctx.store.quick_read() as session:
            pending = handover.pending_exports(session, self.ctx.actor.sites)
        for reset in pending:
            key, params = reset.warning()
            safe = {name: visible(value) if isinstance(value, str) else value for name, value in params.items()}
            message = t(key, lang=None, **safe)
            self.post_message(self.ExportLost(message))

    @on(ExportLost)
    def _warn_export_lost(self, message: ExportLost) -> None:
        self.notify(message.text, severity="warning", timeout=30, markup=False)

    @work(thread=True, exclusive=True, group="carrier", exit_on_error=False, description="carrier simulator")
    def _simulate_carrier(self) -> None:
        """A demo tenant has no real carrier: activate its pending users here,
        as `onenet-tui carrier run` would (safe beside other simulators)."""
        from onenet_tui.data import simulator, tenant
        from onenet_tui.data.context import carrier_context

        with self.ctx.store.quick_read() as session:
            since = tenant.simulated_since(session)
        if since is None:
            return
        # A demo's seeded pending users stay pending, to show what pending
        # means; users added since it was built (by the command line before
        # the console started, too) are activated after the delay.
        simulator.run(carrier_context(self.ctx.store), stop=self._carrier_stop, pending_since=since)

    def on_unmount(self) -> None:
        self._carrier_stop.set()

    async def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Every worker that failed unexpectedly, the app's own and those the
        screens hand on: the screen it belongs to shows it, and a notification
        says the console is still running."""
        if event.state is not WorkerState.ERROR:
            return
        worker = event.worker
        reason = failure_reason(worker.error)
        node = worker.node
        screen = node if isinstance(node, Screen) else getattr(node, "screen", None)
        show = getattr(screen, "show_worker_failure", None)
        if show is not None and screen is not None and screen.is_attached:
            shown = show(worker.group, reason)
            if inspect.isawaitable(shown):
                await shown
        failure = (id(screen), worker.group, reason)
        if failure != self._failure_notified:
            self._failure_notified = failure
            self.notify(
                t("workers.failed.notice", reason=reason),
                title=t("workers.failed.title"),
                severity="error",
                timeout=15,
                markup=False,
            )

    def change_actor(self, actor: Actor) -> None:
        """The operator was promoted or demoted while the console is open: from
        now on every open screen, and the services it calls, act with the new
        role (R14), and each screen may show it (``actor_changed``)."""
        old, self.ctx = self.ctx, replace(self.ctx, actor=actor)
        for screen in self.screen_stack:
            if getattr(screen, "ctx", None) == old:
                screen.ctx = self.ctx  # type: ignore[attr-defined]  # only screens with a ctx (checked above)
                actor_changed = getattr(screen, "actor_changed", None)
                if actor_changed is not None:
                    actor_changed()
        self.refresh_bindings()

    def get_key_display(self, binding: Binding) -> str:
        """Key names in the operator's language ("Leertaste", "Pos1"); symbols
        and letters as Textual draws them."""
        shown = super().get_key_display(binding)
        if terminal.current().ascii:
            # No "⏎" on a terminal without UTF-8 (the footer shows enter now).
            shown = shown.replace("⏎", "enter")
        return "+".join(keys.key_name(token) for token in shown.split("+"))

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        """Textual's commands in the palette, in the operator's language."""
        for command in super().get_system_commands(screen):
            title = SYSTEM_COMMAND_KEYS.get(command.title)
            help_key = SYSTEM_HELP_KEYS.get(command.help)
            yield SystemCommand(
                t(title) if title else command.title,
                t(help_key) if help_key else command.help,
                command.callback,
                command.discover,
            )

    async def action_quit(self) -> None:
        """Quit, but not past passwords on screen that were never saved:
        once the console closes they are gone for good (R8, R10)."""
        if not getattr(self.screen, "holds_unsaved_secrets", False):
            self.exit()
            return
        from onenet_tui.screens.save_file import ConfirmScreen

        def answered(yes: bool | None) -> None:
            if yes:
                self.exit()

        self.push_screen(
            ConfirmScreen(
                lambda: t("app.quit.title"), lambda: t("app.quit.unsaved_secrets"), lambda: t("app.quit.button")
            ),
            answered,
        )

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            self.screen.dismiss()
        else:
            # Over another screen, help lists that screen's keys first.
            under = self.screen
            own = [] if isinstance(under, DirectoryScreen) else [spec for spec, _ in keys.screen_keys(under)]
            directory = next((s for s in self.screen_stack if isinstance(s, DirectoryScreen)), None)
            refused = directory.role_refusals() if directory is not None else {}
            self.push_screen(HelpScreen(self.keys, self.config_file or config_path(), own, refused))

    def action_command_palette(self) -> None:
        if self.use_command_palette and not CommandPalette.is_open(self):  # type: ignore[arg-type]  # Textual wants App[object]; App is invariant
            self.push_screen(CommandPalette(id="--command-palette", placeholder=t("directory.palette.placeholder")))

    async def action_switch_language(self) -> None:
        """L: Deutsch / English at run time (SPEC section 5)."""
        current = LANGUAGES.index(language())
        set_language(LANGUAGES[(current + 1) % len(LANGUAGES)])
        # Every open screen redraws its words; footers translate as they draw.
        for screen in self.screen_stack:
            screen.post_message(LanguageChanged())
            screen.refresh_bindings()
        self.notify(t("directory.language.switched"), markup=False)


def _theme_setting(settings: Settings) -> str | None:
    """ONENET_THEME, else ``theme = "ansi"`` in the config file."""
    if os.environ.get("ONENET_THEME"):
        return os.environ["ONENET_THEME"]
    file = read_config_file(settings.config_file) if settings.config_file else {}
    value = file.get("theme")
    return str(value) if value else None


def run_console(settings: Settings, ahead: LookAhead | None = None) -> int:
    """Run the console; its exit code (1 after an unexpected error, which
    :func:`~onenet_tui.console_guard.report_crash` has put in one line).
    ``ahead``: the first look, started before this module was imported."""
    from onenet_tui.console_guard import GuardedConsole, report_crash
    from onenet_tui.data.launch import LookAhead, OpeningStore

    set_language(settings.lang)
    # A tenant at the current schema (SQLite, or PostgreSQL through psycopg):
    # the first frame is painted before the ORM is imported, which the
    # store's first worker does.
    look = (ahead or LookAhead(settings.db_url, settings.operator)).result()
    store = OpeningStore(settings.db_url, look.handover if look is not None else None)
    try:
        if look is None:
            from onenet_tui.data.context import resolve_actor

            opened = store.opened()
            ctx = Context(opened, resolve_actor(opened, settings.operator))
            # Connects while Textual starts, in parallel, not one by one later.
            opened.warm(2)
        else:
            ctx = Context(cast("Store", store), look.actor)
        app = GuardedConsole(
            ctx,
            keys=settings.keys,
            theme=_theme_setting(settings),
            config_file=settings.config_file,
            first_page=look.page if look is not None else None,
            resume_gc=not gc.isenabled(),
        )
        app.run()
    finally:
        store.dispose()
    if app.crash is not None:
        report_crash(app.crash, app.crash_log)
    return app.return_code or 0
