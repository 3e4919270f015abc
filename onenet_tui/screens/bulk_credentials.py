"""New desk phone passwords for many users at once (R10, R11): key ``c``
with marked users, or every user matching a filter.

The screen receives the context and the chosen user ids. It loads, in a
thread, who will get a new password and who is skipped and why (the policy
table answers; the service decides again inside its transaction). The
operator picks system-generated passwords (a different random one per user)
or one admin-chosen password for all, typed twice and checked live against
R11 for every chosen user. The confirmation (Cancel focused) asks for the
CSV file's name in the export directory too; then the reset and the export
run as one step in a thread (:func:`onenet_tui.data.bulk.reset_and_export`:
the file is claimed first, so a file that cannot be written resets nobody,
and a dropped SSH link after the confirmation cannot leave reset passwords
without their CSV), with a progress bar. The result is shown once on
:class:`~onenet_tui.screens.bulk_result.BulkResultScreen`, which says where
the file is.

The secrets travel from the worker straight to the result screen; this
screen keeps no reference to them, and it empties the password inputs as
soon as the transaction has run.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Button, Input, Label, ProgressBar, RadioButton, RadioSet, Static

from onenet_tui import keys
from onenet_tui.data import bulk, export_dir, secrets
from onenet_tui.data.bulk import ExportedReset, Preview
from onenet_tui.data.context import Context
from onenet_tui.data.credentials import BulkTarget
from onenet_tui.data.errors import DomainError, FieldError, InvalidInput, RuleRefused
from onenet_tui.data.models import CredentialMode
from onenet_tui.data.policy import Action, decide
from onenet_tui.i18n import t
from onenet_tui.screens.bulk_result import BulkResultScreen, ExportCsvScreen
from onenet_tui.screens.relabel import LanguageChanged
from onenet_tui.screens.workers import ReportsWorkerFailures, post_unless_cancelled
from onenet_tui.widgets.choices import Choice
from onenet_tui.widgets.field import ValidatedField, literal, refusal_text
from onenet_tui.widgets.footer import TranslatedFooter
from onenet_tui.widgets.plain_table import PlainTable

SOURCES = ("marked", "filter")


class BulkCredentialsScreen(ReportsWorkerFailures, Screen[int | None]):
    """Choose how, confirm, run. Dismisses with the number of users who got
    a new password, or None when the operator left without resetting."""

    CSS_PATH = "bulk.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        keys.binding("bulk.cancel"),
        keys.binding("bulk.confirm"),
    ]

    class PreviewLoaded(Message):
        def __init__(self, preview: Preview) -> None:
            super().__init__()
            self.preview = preview

    class Progress(Message):
        def __init__(self, done: int, total: int) -> None:
            super().__init__()
            self.done, self.total = done, total

    class ResetRefused(Message):
        """Nothing changed: the service refused (one transaction)."""

        def __init__(self, error: DomainError) -> None:
            super().__init__()
            self.error = error

    class ResetDone(Message):
        def __init__(self, outcome: ExportedReset) -> None:
            super().__init__()
            self.outcome = outcome

    def __init__(
        self,
        ctx: Context,
        user_ids: Sequence[int],
        *,
        source: str,
        directory: Path | None = None,
        now: datetime | None = None,
    ) -> None:
        if source not in SOURCES:
            raise ValueError(f"source must be one of {SOURCES}, not {source!r}")
        super().__init__(id="bulk-credentials")
        self.ctx = ctx
        self.user_ids = list(dict.fromkeys(user_ids))
        self.source = source
        self.preview: Preview | None = None
        self.running = False
        # The export directory (None: the configured one) and the clock of the file's default name.
        self._directory = directory
        self._now = now

    # -- layout ------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Label(self._title(), id="bulk-title", classes="bulk-title")
        yield Static(t("bulk.loading"), id="bulk-summary", classes="bulk-summary")
        # The user column is cut (with "…") so that the reason fits in 80 columns.
        yield PlainTable(self._titles(), limits=[32, 6, 12], id="bulk-preview")
        with Horizontal(id="bulk-mode-line"):
            yield Label(t("bulk.mode.label"), id="bulk-mode-label")
            with RadioSet(id="bulk-mode", compact=True):
                yield Choice(t("bulk.mode.system"), value=True, id="mode-system")
                yield Choice(t("bulk.mode.admin"), id="mode-admin")
        yield Static(self._mode_hint(), id="bulk-mode-hint", classes="bulk-hint")
        with Vertical(id="bulk-admin-password"):
            yield ValidatedField(
                t("bulk.password"),
                field="password",
                check=self._check_password,
                input_widget=Input(password=True, compact=True, max_length=secrets.ADMIN_PASSWORD_MAX + 20),
            )
            yield ValidatedField(
                t("bulk.password_again"),
                field="password_again",
                check=self._check_repeat,
                input_widget=Input(password=True, compact=True, max_length=secrets.ADMIN_PASSWORD_MAX + 20),
            )
        yield Static("", id="bulk-banner", classes="bulk-banner")
        yield ProgressBar(id="bulk-progress", show_eta=False)
        with Horizontal(id="bulk-buttons", classes="bulk-buttons"):
            yield Button(t("bulk.button.cancel"), id="bulk-cancel", compact=True)
            yield Button(t("bulk.button.confirm"), id="bulk-confirm", variant="warning", compact=True, disabled=True)
        yield TranslatedFooter(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one("#bulk-admin-password").display = False
        self.query_one("#bulk-progress").display = False
        self.show_banner(None)
        self.query_one(RadioSet).focus()
        refusal = decide(Action.BULK_CREDENTIALS, self.ctx.actor.role)
        if not refusal.allowed:
            self.show_banner(refusal_text(refusal))
        self._load()

    @staticmethod
    def _titles() -> list[str]:
        return [t(f"bulk.column.{column}") for column in ("user", "extension", "site", "outcome")]

    def _title(self) -> str:
        where = t(f"bulk.source.{self.source}", count=len(self.user_ids))
        return t("bulk.title", source=where)

    def _mode_hint(self) -> str:
        if self.admin_mode:
            return t("bulk.mode.admin.hint", min=secrets.ADMIN_PASSWORD_MIN, max=secrets.ADMIN_PASSWORD_MAX)
        return t("bulk.mode.system.hint", length=secrets.SYSTEM_PASSWORD_LENGTH)

    def show_banner(self, text: str | None, kind: str = "error") -> None:
        banner = self.query_one("#bulk-banner", Static)
        banner.update(literal(text or ""))
        banner.display = bool(text)
        for name in ("error", "info"):
            banner.set_class(name == kind, f"-{name}")

    def on_language_changed(self, message: LanguageChanged) -> None:
        self.relabel()

    def relabel(self) -> None:
        """The language changed (key ``L``): the words follow."""
        self.query_one("#bulk-title", Label).update(self._title())
        self.query_one("#mode-system", RadioButton).label = t("bulk.mode.system")
        self.query_one("#mode-admin", RadioButton).label = t("bulk.mode.admin")
        self.query_one("#bulk-mode-label", Label).update(t("bulk.mode.label"))
        self.query_one("#bulk-mode-hint", Static).update(self._mode_hint())
        self.query_one("#password-field", ValidatedField).set_label(t("bulk.password"))
        self.query_one("#password_again-field", ValidatedField).set_label(t("bulk.password_again"))
        self.query_one("#bulk-cancel", Button).label = t("bulk.button.cancel")
        self.query_one("#bulk-confirm", Button).label = t("bulk.button.confirm")
        self.query_one("#bulk-preview", PlainTable).set_titles(self._titles())
        if self.preview is not None:
            self._show_preview(self.preview)
        self.refresh_bindings()

    # -- loading the preview (a thread) ---------------------------------------

    @work(thread=True, exclusive=True, group="bulk-preview", exit_on_error=False, description="bulk preview")
    def _load(self) -> None:
        self.post_message(self.PreviewLoaded(bulk.preview(self.ctx, self.user_ids)))

    @on(PreviewLoaded)
    def _preview_loaded(self, message: PreviewLoaded) -> None:
        self.preview = message.preview
        self._show_preview(message.preview)
        for field in self.query(ValidatedField):
            field.revalidate()
        allowed = decide(Action.BULK_CREDENTIALS, self.ctx.actor.role).allowed
        self.query_one("#bulk-confirm", Button).disabled = not (allowed and message.preview.issue)
        if allowed and not message.preview.issue:
            self.show_banner(t("bulk.nobody"), "info")

    def _show_preview(self, preview: Preview) -> None:
        summary = t("bulk.summary", issue=len(preview.issue), count=len(preview.issue), skipped=len(preview.skipped))
        if preview.missing:
            summary += t("bulk.summary.missing", missing=preview.missing)
        self.query_one("#bulk-summary", Static).update(summary)
        # Skipped users first: they are the ones the operator has to act on.
        rows = [
            (*self._cells(skipped.target), t("bulk.outcome.skipped", rule=skipped.rule, reason=t(skipped.reason_key)))
            for skipped in preview.skipped
        ]
        new_password = t("bulk.outcome.new")
        rows += [(*self._cells(target), new_password) for target in preview.issue]
        self.query_one("#bulk-preview", PlainTable).set_rows(rows, emphasised=range(len(preview.skipped)))

    @staticmethod
    def _cells(target: BulkTarget) -> tuple[str, str, str]:
        return t("bulk.user_value", name=target.name, username=target.username), target.extension, target.site

    # -- the mode and the admin-chosen password --------------------------------

    @property
    def admin_mode(self) -> bool:
        radios = self.query("#mode-admin")
        return bool(radios) and radios.first(RadioButton).value

    @on(RadioSet.Changed, "#bulk-mode")
    def _mode_changed(self) -> None:
        admin = self.admin_mode
        self.query_one("#bulk-admin-password").display = admin
        self.query_one("#bulk-mode-hint", Static).update(self._mode_hint())
        # The focus stays on the choice: the next Tab goes to the password
        # field that just appeared, as Tab goes to the next field everywhere.
        # (Moving it there made that Tab land in "Repeat".)

    def _check_password(self, value: str) -> FieldError | None:
        targets = self.preview.issue if self.preview is not None else []
        problem = bulk.admin_password_problem(value, targets)
        if problem is None:
            return None
        reasons = "; ".join(error.message() for error in problem.errors)
        if problem.user is None:
            return FieldError("password", "bulk.password.problems", {"reasons": reasons})
        user = problem.user
        return FieldError(
            "password",
            "bulk.password.problem_for",
            {
                "reasons": reasons,
                "user": user.username,
                "extension": user.extension,
                "sip_username": user.sip_username,
            },
        )

    def _check_repeat(self, value: str) -> FieldError | None:
        fields = self.query("#password")
        first = fields.first(Input).value if fields else ""
        return None if value == first else FieldError("password_again", "bulk.password.mismatch")

    @on(ValidatedField.Changed, "#password-field")
    def _password_changed(self) -> None:
        self.query_one("#password_again-field", ValidatedField).revalidate()

    def _password_fields(self) -> list[ValidatedField]:
        return [
            self.query_one("#password-field", ValidatedField),
            self.query_one("#password_again-field", ValidatedField),
        ]

    def _clear_passwords(self) -> None:
        for field in self._password_fields():
            field.set_value("")
            field.revealed = False
            field.revalidate()

    # -- confirm and run ------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "confirm":
            return not self.query_one("#bulk-confirm", Button).disabled and not self.running
        return True

    @on(Button.Pressed, "#bulk-confirm")
    def _confirm_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_confirm()

    def action_confirm(self) -> None:
        preview = self.preview
        if self.running or preview is None or not preview.issue:
            return
        refusal = decide(Action.BULK_CREDENTIALS, self.ctx.actor.role)
        if not refusal.allowed:
            return
        password: str | None = None
        if self.admin_mode:
            fields = self._password_fields()
            for field in fields:
                field.reveal()
            wrong = next((field for field in fields if field.error is not None), None)
            if wrong is not None:
                self.show_banner(t("bulk.password.fix"))
                wrong.control.focus()
                return
            password = fields[0].value
        self.show_banner(None)
        mode = CredentialMode.ADMIN if password is not None else CredentialMode.SYSTEM
        question = t(f"bulk.confirm.question.{mode.value}", count=len(preview.issue))
        if preview.skipped:
            question += " " + t("bulk.confirm.skipped", count=len(preview.skipped))

        dialog = ConfirmResetScreen(
            question,
            t("bulk.confirm.button", count=len(preview.issue)),
            bulk.default_export_name(self._now),
            directory=self._directory,
        )

        def answered(path: Path | None) -> None:
            if path is not None:
                self._start(preview.ids, mode, password, path, dialog.overwrite)

        self.app.push_screen(dialog, answered)

    def _start(self, ids: list[int], mode: CredentialMode, password: str | None, path: Path, overwrite: bool) -> None:
        self.running = True
        self.query_one("#bulk-confirm", Button).disabled = True
        self.query_one("#bulk-cancel", Button).disabled = True
        self.query_one(RadioSet).disabled = True
        self.query_one("#bulk-admin-password").disabled = True
        bar = self.query_one("#bulk-progress", ProgressBar)
        bar.update(total=len(ids), progress=0)
        bar.display = True
        self.show_banner(t("bulk.working"), "info")
        self.refresh_bindings()
        self._reset(ids, mode, password, path, overwrite)

    @work(thread=True, exclusive=True, group="bulk-reset", exit_on_error=False, description="bulk credentials")
    def _reset(self, ids: list[int], mode: CredentialMode, password: str | None, path: Path, overwrite: bool) -> None:
        # Nothing is returned: a worker keeps its result, and this one is secret.
        def progress(done: int, total: int) -> None:
            post_unless_cancelled(self, self.Progress(done, total))

        try:
            outcome = bulk.reset_and_export(
                self.ctx,
                ids,
                export_dir.claim(path),
                overwrite=overwrite,
                mode=mode,
                password=password,
                progress=progress,
            )
        except DomainError as error:
            post_unless_cancelled(self, self.ResetRefused(error))
            return
        post_unless_cancelled(self, self.ResetDone(outcome))
        del outcome

    @on(Progress)
    def _show_progress(self, message: Progress) -> None:
        self.query_one("#bulk-progress", ProgressBar).update(total=message.total, progress=message.done)

    def _stopped(self) -> None:
        self.running = False
        self.query_one("#bulk-progress").display = False
        self.query_one("#bulk-cancel", Button).disabled = False
        self.query_one("#bulk-confirm", Button).disabled = False
        self.query_one(RadioSet).disabled = False
        self.query_one("#bulk-admin-password").disabled = False
        self.refresh_bindings()

    @on(ResetRefused)
    def _failed(self, message: ResetRefused) -> None:
        """Nothing changed (one transaction): say why, and look again at who
        is chosen when users vanished meanwhile."""
        error = message.error
        self._stopped()
        if isinstance(error, RuleRefused):
            reason = t("bulk.refused", rule=error.rule, reason=error.reason())
        elif isinstance(error, InvalidInput):
            password_error = error.for_field("password")
            reason = self._password_error_text(password_error) if password_error else error.message()
        else:
            reason = error.message()
        self.show_banner(t("bulk.failed", reason=reason))
        if isinstance(error, RuleRefused) and error.rule == "R10":
            self._load()

    @staticmethod
    def _password_error_text(error: FieldError) -> str:
        user = error.params.get("user")
        message = FieldError(error.field, error.key, {k: v for k, v in error.params.items() if k != "user"}).message()
        return t("bulk.password.service_for", reason=message, user=user) if user else message

    def show_worker_failure(self, group: str | None, reason: str) -> None:
        if group == "bulk-reset":
            self._stopped()
            self.show_banner(t("bulk.unexpected", error=reason))
        elif group == "bulk-preview":
            self.show_banner(t("bulk.preview_failed", error=reason))

    @on(ResetDone)
    def _finished(self, message: ResetDone) -> None:
        outcome = message.outcome
        self.running = False
        self._clear_passwords()
        self.query_one("#bulk-progress").display = False
        self.show_banner(None)
        issued = len(outcome.result.issued)
        failed = outcome.write_error
        reason = None if failed is None else getattr(failed, "strerror", None) or str(failed)
        screen = BulkResultScreen(outcome.result, exported=outcome.path, write_error=reason, now=self._now)

        def result_closed(_: None) -> None:
            # Not awaited: the callback runs in this screen's own message loop.
            self.dismiss(issued)

        self.app.push_screen(screen, result_closed)

    # -- leaving --------------------------------------------------------------

    @on(Button.Pressed, "#bulk-cancel")
    def _cancel_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_cancel()

    def action_cancel(self) -> None:
        if self.running:
            # One transaction is under way: it ends by itself, all or nothing.
            self.notify(t("bulk.still_running"), markup=False)
            return
        self._clear_passwords()
        self.dismiss(None)


class ConfirmResetScreen(ExportCsvScreen):
    """The bulk confirmation: the question, and the CSV file's name in the
    export directory. Cancel has focus and Enter in the name only checks it.
    Nothing is written here: the dialog dismisses with the chosen path (an
    existing file asked about first, ``overwrite`` saying the answer), and
    the bulk screen resets and writes in one step."""

    CAREFUL = True

    def __init__(self, question: str, confirm_label: str, default_name: str, *, directory: Path | None) -> None:
        super().__init__(default_name, self._choose, directory=directory)
        self._title = t("bulk.confirm.title")
        self._note = f"{question}\n{t('bulk.export.note')}"
        self._confirm_label = confirm_label
        self.overwrite = False

    def words(self, suffix: str, **params: object) -> str:
        return self._confirm_label if suffix == "button.save" else super().words(suffix, **params)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#save", Button).variant = "warning"

    def _choose(self, path: Path, overwrite: bool) -> Path:
        self.overwrite = overwrite
        return path


def open_bulk_credentials(directory: Any, picked: Any) -> None:
    """The directory's ``credentials`` flow (key ``c``): the marked users get
    the bulk screen (R10); without marks the cursor user gets new credentials
    on their own (R9). The directory looks again once the screen closes."""

    def closed(_: object) -> None:
        refresh = getattr(directory, "refresh_now", None)
        if refresh is not None:
            refresh()

    if picked.marked:
        directory.app.push_screen(BulkCredentialsScreen(directory.ctx, picked.ids, source="marked"), closed)
        return
    if picked.cursor is None:
        return
    from onenet_tui.screens.regenerate import RegenerateScreen

    directory.app.push_screen(RegenerateScreen(directory.ctx, picked.cursor.ref), closed)
