"""The Textual console. Imported only when the console opens, so the command
line starts fast without Textual."""

from __future__ import annotations

from textual.app import App

from onenet_tui.config import Settings
from onenet_tui.data.context import Context, resolve_actor
from onenet_tui.data.storage import Store
from onenet_tui.i18n import set_language


class OneNetApp(App[None]):
    """Holds the tenant context; every screen receives it explicitly."""

    TITLE = "onenet-tui"

    def __init__(self, ctx: Context, *, keys: dict[str, str] | None = None) -> None:
        super().__init__()
        self.ctx = ctx
        self.keys = keys or {}

    def on_mount(self) -> None:
        # Replaced by the directory screen (issue 4).
        from textual.widgets import Static

        from onenet_tui.i18n import t

        self.mount(Static(t("app.placeholder", operator=self.ctx.actor.name), markup=False))


def run_console(settings: Settings) -> int:
    set_language(settings.lang)
    store = Store(settings.db_url)
    actor = resolve_actor(store, settings.operator)
    OneNetApp(Context(store, actor), keys=settings.keys).run()
    store.dispose()
    return 0
