"""What the user lifecycle screens (detail, edit, profile, groups, delete,
credentials, account reset) share: how an action maps to the policy table,
how a refusal or a domain error reads, and a modal base that loads the user
off the UI thread and shows either the refusal or the screen's own form.

The rules live in :mod:`onenet_tui.data.policy`; nothing here decides, it
only asks :func:`~onenet_tui.data.policy.decide` and explains the answer.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.message_pump import MessagePump
from textual.widget import Widget
from textual.widgets import Button, Label, Static
from textual.worker import WorkerState

from onenet_tui import keys
from onenet_tui.data import users
from onenet_tui.data.errors import DomainError, FieldError, InvalidInput, RuleRefused, StaleData
from onenet_tui.data.lookup import UserView
from onenet_tui.data.models import Role
from onenet_tui.data.policy import Decision, decide
from onenet_tui.i18n import format_moment, t
from onenet_tui.screens.relabel import RelabelledModal, enter, entered, rebuild_keeping_input
from onenet_tui.screens.workers import ReportsWorkerFailures, post_unless_cancelled
from onenet_tui.widgets.badges import badge
from onenet_tui.widgets.field import FieldRow, literal, refusal_text
from onenet_tui.widgets.footer import TranslatedFooter

CSS_FILE = "lifecycle.tcss"

# The console's user action ids (the key registry's, shared with the
# directory's keys); the registry holds the one policy action of each.
CHANGE_ACTIONS: tuple[str, ...] = keys.USER_ACTIONS


def decision_for(action_id: str, role: Role | str, view: UserView | None) -> Decision:
    """The policy's answer for one of the console's action ids on ``view``
    (or, before the user is loaded, for the operator's role alone)."""
    action = keys.policy(action_id)
    if view is None:
        return decide(action, role)
    return decide(action, role, view.status, view.device_type)


def error_text(error: DomainError) -> str:
    """A domain error as one line: a rule refusal names its rule."""
    if isinstance(error, RuleRefused):
        return t("lifecycle.refused", rule=error.rule, reason=error.reason())
    return error.message()


def format_time(moment: datetime | None) -> str:
    """A timestamp as the language writes it, labelled UTC."""
    if moment is None:
        return t("lifecycle.never")
    return format_moment(moment)


def subject(view: UserView) -> Content:
    """``Jürgen Müller · juergen.mueller · 5001@Berlin · ✓ Active``."""
    return Content.assemble(
        literal(view.name),
        " · ",
        literal(view.username),
        " · ",
        literal(f"{view.extension}@{view.site}"),
        " · ",
        badge(view.status),
    )


Fact = tuple[str, str]


def account_facts(view: UserView) -> list[Fact]:
    return [
        (t("lifecycle.detail.portal_locked"), t("lifecycle.locked" if view.portal_locked else "lifecycle.not_locked")),
        (t("lifecycle.detail.failed_logins"), str(view.failed_logins)),
        (t("lifecycle.detail.last_reset"), format_time(view.last_account_reset_at)),
    ]


class Facts(Widget):
    """Label / value pairs in two columns; values are data, shown literally."""

    def __init__(self, facts: Iterable[Fact], *, id: str | None = None) -> None:
        super().__init__(id=id, classes="facts")
        self.facts = list(facts)

    def compose(self) -> ComposeResult:
        for label, value in self.facts:
            yield Label(literal(label), classes="facts--label")
            yield Label(literal(value), classes="facts--value")


ResultT = TypeVar("ResultT")


class Banner(Static):
    """One line for what just happened (an error, a stale edit, a notice);
    hidden while empty."""

    def show(self, text: str | None, kind: str = "error") -> None:
        self.update(literal(text or ""))
        self.display = bool(text)
        for name in ("error", "warning", "info"):
            self.set_class(name == kind, f"-{name}")


class RefusalPanel(Vertical):
    """Why the action is not possible, shown instead of the form."""

    def __init__(self, decision: Decision) -> None:
        super().__init__(classes="lifecycle-refusal")
        self.decision = decision

    def compose(self) -> ComposeResult:
        yield Label(t("lifecycle.not_possible"), classes="lifecycle-refusal--title")
        yield Static(literal(refusal_text(self.decision)), id="refusal-reason", classes="lifecycle-refusal--reason")
        with Horizontal(classes="lifecycle-buttons"):
            yield Button(t("lifecycle.button.close"), id="close", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#close", Button).focus()


class CancelSaveButtons(MessagePump):
    """A form's Cancel (``#cancel``) and Save (``#save``) buttons do what its
    keys do: :meth:`action_close` and :meth:`action_save`, which the form has."""

    if TYPE_CHECKING:

        def action_close(self) -> None: ...

        def action_save(self) -> None: ...

    @on(Button.Pressed, "#cancel")
    def _cancel(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_close()

    @on(Button.Pressed, "#save")
    def _save_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_save()


class UserActionScreen(ReportsWorkerFailures, RelabelledModal[ResultT]):
    """A dialog about one user: it loads the user in a thread, asks the
    policy table, and shows the refusal (with its rule) or the form.

    Subclasses set ``ACTION_ID`` and ``TITLE_KEY`` and implement
    :meth:`build_body`; :meth:`load_extra` fetches anything else the form
    needs in the same worker (free numbers, the site's groups ...).
    """

    CSS_PATH = CSS_FILE
    BINDINGS: ClassVar[list[BindingType]] = [
        keys.binding("lifecycle.cancel", "close"),
        # Once the action is done there is nothing left to cancel: the same
        # key then says what it does (see :attr:`done`).
        keys.binding("lifecycle.close", "finish"),
    ]
    ACTION_ID: ClassVar[str]
    TITLE_KEY: ClassVar[str]
    # Forms need the whole height at 80x24; confirmations size to their content.
    DIALOG_CLASSES: ClassVar[str] = "lifecycle-dialog"

    class UserLoaded(Message):
        def __init__(self, view: UserView, extra: Any) -> None:
            super().__init__()
            self.view, self.extra = view, extra

    class LoadRefused(Message):
        def __init__(self, error: DomainError) -> None:
            super().__init__()
            self.error = error

    class Saved(Message):
        """The service did it; ``result`` is what :meth:`saved` shows."""

        def __init__(self, result: Any) -> None:
            super().__init__()
            self.result = result

    class SaveRefused(Message):
        def __init__(self, error: DomainError) -> None:
            super().__init__()
            self.error = error

    class SaveStale(Message):
        """Someone else changed the user since it was loaded."""

    def __init__(self, ctx: Any, username: str) -> None:
        super().__init__()
        self.ctx = ctx
        self.username = username
        self.view: UserView | None = None
        # How the subject line and the body were made: made again, in the
        # other language, when the operator presses L.
        self._subject: Callable[[], str | Content] = lambda: ""
        self._body: Callable[[], Iterable[Widget]] | None = None
        # Set once the action is done and its result is shown: escape closes
        # the result instead of cancelling, and the footer says so.
        self.done = False

    # -- layout ------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes=self.DIALOG_CLASSES):
            yield Label(t(self.TITLE_KEY), id="dialog-title", classes="lifecycle-title")
            yield Static("", id="dialog-subject", classes="lifecycle-subject")
            yield Banner("", id="banner", classes="lifecycle-banner")
            with Vertical(id="dialog-body", classes="lifecycle-body"):
                yield Static(t("lifecycle.loading"), classes="lifecycle-loading")
        # The dialog's own keys (escape, ctrl+s), not the screen's underneath.
        yield TranslatedFooter(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one(Banner).show(None)
        self.load_user()

    @property
    def banner(self) -> Banner:
        return self.query_one(Banner)

    async def show_body(self, build: Callable[[], Iterable[Widget]]) -> None:
        """The widgets ``build`` makes, as the dialog's body."""
        self._body = build
        body = self.query_one("#dialog-body")
        await body.remove_children()
        await body.mount_all(build())

    def show_subject(self, build: Callable[[], str | Content]) -> None:
        self._subject = build
        self.query_one("#dialog-subject", Static).update(build())

    async def relabel(self) -> None:
        """``L``: the dialog in the other language (the app switched it). The
        body is made again; what was typed, ticked and chosen, and the focus,
        stay. Not while a save is under way: its result decides what comes."""
        self.query_one("#dialog-title", Label).update(t(self.TITLE_KEY))
        self.show_subject(self._subject)
        saving = any(w.group == "lifecycle-save" and w.state is WorkerState.RUNNING for w in self.workers)
        build = self._body
        if build is not None and not saving:
            await rebuild_keeping_input(self.query_one("#dialog-body"), lambda: self.show_body(build))
            # Its words were the old language's; the fields say again what is wrong.
            self.banner.show(None)
        self.refresh_bindings()

    # -- loading -----------------------------------------------------------

    @work(thread=True, exclusive=True, group="lifecycle-load", exit_on_error=False)
    def load_user(self) -> None:
        try:
            view = users.view(self.ctx, self.username)
            extra = self.load_extra(view)
        except DomainError as error:
            post_unless_cancelled(self, self.LoadRefused(error))
            return
        post_unless_cancelled(self, self.UserLoaded(view, extra))

    def load_extra(self, view: UserView) -> Any:
        """Runs in the worker thread: more data the form needs."""
        return None

    @on(UserLoaded)
    async def _user_loaded(self, message: UserLoaded) -> None:
        await self._loaded(message.view, message.extra)

    @on(LoadRefused)
    async def _load_refused(self, message: LoadRefused) -> None:
        await self.show_load_error(message.error)

    async def _loaded(self, view: UserView, extra: Any) -> None:
        self.view = view
        self.username = view.username
        self.show_subject(lambda: subject(view))
        decision = self.decision(view)
        if not decision.allowed:
            await self.show_body(lambda: [RefusalPanel(decision)])
            return
        await self.show_body(lambda: self.build_body(view, extra))
        self.body_ready(view, extra)

    def decision(self, view: UserView) -> Decision:
        return decision_for(self.ACTION_ID, self.ctx.actor.role, view)

    def build_body(self, view: UserView, extra: Any) -> list[Widget]:
        raise NotImplementedError

    def body_ready(self, view: UserView, extra: Any) -> None:
        """Called once the body is mounted: focus, initial state."""

    async def show_load_error(self, error: DomainError) -> None:
        await self._show_load_failure(error_text(error))

    async def _show_load_failure(self, text: str) -> None:
        """Instead of the form: why it could not be loaded, and Close."""
        await self.show_body(
            lambda: [
                Static(literal(text), classes="lifecycle-refusal--reason"),
                Horizontal(
                    Button(t("lifecycle.button.close"), id="close", variant="primary"), classes="lifecycle-buttons"
                ),
            ]
        )
        self.query_one("#close", Button).focus()

    def show_error(self, error: DomainError) -> None:
        """A refusal or failure from the service, in the banner."""
        self.banner.show(error_text(error))

    async def show_worker_failure(self, group: str | None, reason: str) -> None:
        if group == "lifecycle-load":
            await self._show_load_failure(t("workers.failed.load", reason=reason))
            return
        key = "workers.failed.save" if group == "lifecycle-save" else "workers.failed.check"
        self.banner.show(t(key, reason=reason))
        self.save_stopped()

    def save_stopped(self) -> None:
        """The save ended without success: what was disabled for it is back."""

    @on(SaveRefused)
    def _save_refused(self, message: SaveRefused) -> None:
        self.show_error(message.error)
        self.save_stopped()

    @on(SaveStale)
    def _save_stale(self) -> None:
        self.show_stale()

    def show_stale(self) -> None:
        """Someone else changed the user: say so and show their data (SPEC 7)."""
        self.banner.show(t("lifecycle.stale", username=self.username), "warning")
        self.load_user()

    @on(Saved)
    async def _saved(self, message: Saved) -> None:
        shown = self.saved(message.result)
        if inspect.isawaitable(shown):
            await shown

    def saved(self, result: Any) -> Awaitable[None] | None:
        """Show what the service did (runs on the UI thread)."""
        raise NotImplementedError

    # -- closing -----------------------------------------------------------

    def show_done(self) -> None:
        """The result is shown: the footer's escape reads Close, not Cancel."""
        self.done = True
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "close":
            return not self.done
        if action == "finish":
            return self.done
        return True

    def action_close(self) -> None:
        self.dismiss(None)

    def action_finish(self) -> None:
        self.action_close()

    @on(Button.Pressed, "#close")
    def _close_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_close()


class UserForm(VerticalScroll):
    """Fields filled from a UserView; subclasses list them in :attr:`rows`
    by the service's field names, so a service error lands under its field."""

    @property
    def rows(self) -> dict[str, FieldRow]:
        raise NotImplementedError

    def entered(self) -> list[object]:
        """What the form's fields hold now, in screen order (see relabel.entered)."""
        return entered(self)

    def reveal_all(self) -> None:
        for row in self.rows.values():
            row.reveal()

    def first_error(self) -> FieldRow | None:
        return next((row for row in self.rows.values() if row.error is not None), None)

    def show_errors(self, errors: InvalidInput) -> list[FieldError]:
        """Put each error under its field; returns those without a field here."""
        unplaced = []
        for error in errors.errors:
            row = self.rows.get(error.field)
            if row is None:
                unplaced.append(error)
            else:
                row.set_external_error(error)
        return unplaced


class UserFormScreen(CancelSaveButtons, UserActionScreen[UserView | None]):
    """A form about one user that saves through a service taking the loaded
    version: a stale save is refused, explained, and the form reloaded with
    the fresh data. Dismisses with the new UserView once saved."""

    DIALOG_CLASSES = "lifecycle-dialog -form"
    BINDINGS: ClassVar[list[BindingType]] = [
        keys.binding("lifecycle.save"),
    ]

    def __init__(self, ctx: Any, username: str) -> None:
        super().__init__(ctx, username)
        # What the fields held when the form was shown: anything else is typed work.
        self.as_loaded: list[object] = []
        # After a stale save: the fields as loaded then and as typed, so what
        # was changed can be put back over the fresh data.
        self._typed_before_reload: tuple[list[object], list[object]] | None = None

    @property
    def form(self) -> UserForm | None:
        forms = self.query(UserForm)
        return forms.first() if forms else None

    def build_form(self, view: UserView, extra: Any) -> UserForm:
        raise NotImplementedError

    def prepare(self, view: UserView, form: UserForm) -> Any:
        """The validated change(s) to send, or None when nothing changed;
        raises InvalidInput for input the schema refuses."""
        raise NotImplementedError

    def send(self, payload: Any) -> Any:
        """Runs in a worker thread: call the service(s)."""
        raise NotImplementedError

    def build_body(self, view: UserView, extra: Any) -> list[Widget]:
        return [
            self.build_form(view, extra),
            Horizontal(
                Button(t("lifecycle.button.cancel"), id="cancel"),
                Button(t("lifecycle.button.save"), id="save", variant="primary"),
                classes="lifecycle-buttons",
            ),
        ]

    def body_ready(self, view: UserView, extra: Any) -> None:
        form = self.form
        if form is None:
            return
        self.as_loaded = form.entered()
        kept, self._typed_before_reload = self._typed_before_reload, None
        if kept is not None:
            self._put_back(form, *kept)
        next(iter(form.rows.values())).control.focus()

    def _put_back(self, form: UserForm, before: list[object], typed: list[object]) -> None:
        """The fields this operator changed get what they typed; the others
        show the fresh data. The form counts as changed, so Esc asks."""
        fresh = self.as_loaded
        if not (len(before) == len(typed) == len(fresh)):
            return  # built differently (another device type ...): the fresh data alone
        enter(form, [mine if mine != then else now for then, mine, now in zip(before, typed, fresh, strict=True)])

    def show_stale(self) -> None:
        """Someone else changed the user: nothing was saved. The form shows
        their data again, with what this operator changed put back on top,
        field by field, to check and save again (SPEC 7)."""
        form = self.form
        if form is not None:
            self._typed_before_reload = (self.as_loaded, form.entered())
        self.banner.show(t("lifecycle.stale_kept", username=self.username), "warning")
        self.load_user()

    def has_typed_changes(self) -> bool:
        """Whether a field holds something other than what was loaded."""
        form = self.form
        return form is not None and form.entered() != self.as_loaded

    def action_close(self) -> None:
        """Esc or Cancel: what was typed is not thrown away without asking
        (the wizard's question, with "Keep editing" focused)."""
        if not self.has_typed_changes():
            self.dismiss(None)
            return

        # save_file builds on this module (its dialogs share the stylesheet).
        from onenet_tui.screens.save_file import ask_to_discard

        ask_to_discard(
            self, lambda: t("lifecycle.discard.title"), lambda: t("lifecycle.discard.question", username=self.username)
        )

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "save":
            return self.form is not None
        return super().check_action(action, parameters)

    def action_save(self) -> None:
        form, view = self.form, self.view
        if form is None or view is None:
            return
        form.reveal_all()
        wrong = form.first_error()
        if wrong is not None:
            self.banner.show(t("lifecycle.fix_fields"))
            wrong.control.focus()
            return
        try:
            payload = self.prepare(view, form)
        except InvalidInput as errors:
            self.show_invalid(errors)
            return
        if payload is None:
            self.banner.show(t("lifecycle.nothing_changed"), "info")
            return
        self.banner.show(t("lifecycle.saving"), "info")
        self.submit(payload)

    class SaveInvalid(Message):
        def __init__(self, errors: InvalidInput) -> None:
            super().__init__()
            self.errors = errors

    @work(thread=True, exclusive=True, group="lifecycle-save", exit_on_error=False)
    def submit(self, payload: Any) -> None:
        message: Message
        try:
            message = self.Saved(self.send(payload))
        except StaleData:
            message = self.SaveStale()
        except InvalidInput as errors:
            message = self.SaveInvalid(errors)
        except DomainError as error:
            message = self.SaveRefused(error)
        post_unless_cancelled(self, message)

    @on(SaveInvalid)
    def _save_invalid(self, message: SaveInvalid) -> None:
        self.show_invalid(message.errors)

    def show_invalid(self, errors: InvalidInput) -> None:
        form = self.form
        unplaced = form.show_errors(errors) if form else errors.errors
        self.banner.show("; ".join(e.message() for e in unplaced) or t("lifecycle.fix_fields"))
