"""A read-only summary of one user for ``enter``; the full detail screen
replaces it (it is registered as the "open" flow of the app)."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from onenet_tui.data.context import Context
from onenet_tui.data.directory import device_label, licence_label, literal, national_number
from onenet_tui.data.errors import NotFound
from onenet_tui.data.lookup import UserView, user_by_id, user_view
from onenet_tui.i18n import t
from onenet_tui.widgets.badges import badge


def summary_lines(view: UserView) -> list[tuple[str, str]]:
    device = (
        device_label(view.desk_phone_model or view.device_type) if view.device_type != "none" else device_label("none")
    )
    lines = [
        ("field.name", f"{view.first_name} {view.last_name}"),
        ("field.username", view.username),
        ("field.email", view.email),
        ("field.status", badge(view.status) + (f" — {view.status_reason}" if view.status_reason else "")),
        ("field.site", view.site),
        ("field.number", national_number(view.number, view.country)),
        ("field.extension", view.extension),
        ("field.device_type", device),
        ("field.licence", licence_label(view.licence)),
        ("field.groups", ", ".join(g.name for g in view.groups) or "—"),
    ]
    return [(t(key), literal(value)) for key, value in lines]


class UserPane(ModalScreen[None]):
    BINDINGS = [Binding("escape,enter,q", "dismiss", show=False)]

    def __init__(self, ctx: Context, user_id: int) -> None:
        super().__init__(id="user-pane")
        self.ctx = ctx
        self.user_id = user_id

    def compose(self) -> ComposeResult:
        with Vertical(id="user-pane-dialog"):
            yield Label(t("directory.pane.title"), id="user-pane-title")
            yield Static(Content(t("directory.pane.loading")), id="user-pane-body")
            yield Label(t("directory.pane.close"), id="user-pane-close")

    def on_mount(self) -> None:
        self._load()

    @work(thread=True, exclusive=True, group="user-pane")
    def _load(self) -> None:
        try:
            with self.ctx.store.read() as session:
                view = user_view(session, user_by_id(session, self.user_id))
        except NotFound as error:
            self.app.call_from_thread(self._show_text, error.message())
            return
        self.app.call_from_thread(self._show, view)

    def _show(self, view: UserView) -> None:
        lines = summary_lines(view)
        width = max(len(label) for label, _ in lines) + 2
        self._show_text("\n".join(f"{label:<{width}}{value}" for label, value in lines))

    def _show_text(self, text: str) -> None:
        # Data is shown literally: no markup, control characters made visible.
        self.query_one("#user-pane-body", Static).update(Content(text))


def open_user_pane(screen, selection) -> None:  # type: ignore[no-untyped-def]
    """The "open" flow until the detail screen exists."""
    if selection.cursor is not None:
        screen.app.push_screen(UserPane(screen.ctx, selection.cursor.id))
