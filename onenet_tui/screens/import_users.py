"""Users in from a CSV file in the console (R23, SPEC section 12): a file
name in the export directory, then a preview of what every row would do,
then, once the administrator confirms, the import in one transaction.

The preview is the service's dry run (:func:`import_users.plan`, a read in a
worker): how many rows add, change, are unchanged or fail, and every row in a
virtual table with its outcome; ``n`` / ``N`` jump between failing rows, and
the lines under the table say for the row under the cursor what fails
(column and rule) or what changes (old -> new). Nothing is written until
the administrator confirms in a dialog where Cancel has focus. The import
plans again inside its transaction (:func:`import_users.apply`), so a tenant
changed meanwhile cannot be written over unchecked; a progress bar follows
it. New desk phone users' credentials are then shown once and exported as
bulk credentials are (R8, R10, section 8).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Button, Label, ProgressBar, Static

from onenet_tui import keys
from onenet_tui.data import export_dir, import_users, user_csv
from onenet_tui.data.context import Context
from onenet_tui.data.credentials import BulkResult, IssuedCredentials
from onenet_tui.data.errors import DomainError
from onenet_tui.data.import_users import ImportRefused, ImportResult, Outcome, Plan, RowPlan
from onenet_tui.data.user_csv import ImportFile
from onenet_tui.i18n import t
from onenet_tui.screens.bulk_result import BulkResultScreen
from onenet_tui.screens.relabel import LanguageChanged
from onenet_tui.screens.save_file import ConfirmScreen, PathPromptScreen
from onenet_tui.screens.workers import ReportsWorkerFailures, post_unless_cancelled
from onenet_tui.visible import visible
from onenet_tui.widgets.field import literal
from onenet_tui.widgets.footer import TranslatedFooter
from onenet_tui.widgets.plain_table import PlainTable

# The lines under the table that explain the cursor row; more are cut.
DETAIL_LINES = 4


class ImportPathScreen(PathPromptScreen):
    """Which file in the export directory to import: the export's path
    prompt, reading instead of writing. The file is read (and its header
    checked) in the prompt's worker; a file that cannot be read or is not
    such a CSV is refused there, naming the column. Dismisses with the path;
    :attr:`file` then holds what was read."""

    WORDS = "csv_console.import_path"

    def __init__(self, default_name: str = "users.csv", *, directory: Path | None = None) -> None:
        super().__init__(
            lambda: t("csv_console.import_path.title"),
            default_name,
            note=lambda: t("csv_console.import_path.note"),
            directory=directory,
        )
        self.file: ImportFile | None = None

    def _confirm_overwrite(self, path: Path) -> None:
        # The prompt asks before replacing an existing file; a file to read must exist.
        self._start(path, overwrite=False)

    def write(self, path: Path, overwrite: bool) -> Path:
        # Nothing through a link: the export directory rule, as for writing.
        export_dir.refuse_link(path)
        self.file = user_csv.read_path(path)
        return path


def outcome_word(outcome: Outcome) -> str:
    return t(f"csv_console.outcome.{outcome.value}")


def _cell(value: Any) -> str:
    if isinstance(value, list | tuple | set):
        return " ".join(str(item) for item in value)
    return "" if value is None else str(value)


def row_summary(row: RowPlan) -> str:
    """The table's last cell: the first failure, or which columns change."""
    if row.failures:
        more = len(row.failures) - 1
        first = row.failures[0].text()
        return t("csv_console.row.more", text=first, count=more) if more else first
    return ", ".join(row.changes)


def row_details(row: RowPlan) -> list[str]:
    """Every failure (``column: rule: message``) or change (``column: old -> new``)."""
    if row.failures:
        return [t("csv_console.detail.failure", line=f.line, text=f.text()) for f in row.failures]
    return [
        t("csv_console.detail.change", column=column, old=_cell(old), new=_cell(new))
        for column, (old, new) in row.changes.items()
    ]


def relabel(button: Button, label: str) -> None:
    """A new label, and the width it needs (Button's label does not lay out again)."""
    button.label = label
    button.refresh(layout=True)


class ImportTable(PlainTable):
    """The preview's rows; says when its cursor moves, so the lines under it follow."""

    class CursorMoved(Message):
        pass

    def move_cursor(self, position: int) -> None:
        before = self.cursor
        super().move_cursor(position)
        if self.cursor != before:
            self.post_message(self.CursorMoved())


class ImportPreviewScreen(ReportsWorkerFailures, Screen[None]):
    """The dry run of one file, and the import once confirmed."""

    CSS_PATH = "bulk.tcss"
    DEFAULT_CSS = """
    ImportPreviewScreen #import-table { height: 1fr; }
    ImportPreviewScreen #import-detail { height: auto; max-height: 4; padding: 0 1; }
    ImportPreviewScreen #import-progress { padding: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        keys.binding("import.next_failure"),
        keys.binding("import.previous_failure"),
        keys.binding("import.confirm"),
        keys.binding("import.cancel"),
    ]

    class Planned(Message):
        def __init__(self, plan: Plan) -> None:
            super().__init__()
            self.plan = plan

    class Failed(Message):
        """The plan or the import was refused as a whole (a domain error)."""

        def __init__(self, reason: str) -> None:
            super().__init__()
            self.reason = reason

    class Progress(Message):
        def __init__(self, done: int, total: int) -> None:
            super().__init__()
            self.done, self.total = done, total

    class Applied(Message):
        def __init__(self, result: ImportResult) -> None:
            super().__init__()
            self.result = result

    def __init__(self, ctx: Context, file: ImportFile) -> None:
        super().__init__(id="import-preview")
        self.ctx = ctx
        self.file = file
        self.plan: Plan | None = None
        self.applying = False
        self.result: ImportResult | None = None
        self._status: tuple[str, dict[str, object], str] | None = None

    # -- layout ------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Label(self._title(), id="import-title", classes="bulk-title")
        yield Static(t("csv_console.preview.checking"), id="import-counts", classes="bulk-summary")
        yield ImportTable(self._titles(), limits=(6, 20, 10), id="import-table")
        yield Static("", id="import-detail")
        yield ProgressBar(id="import-progress", show_eta=False)
        yield Static("", id="import-status", classes="bulk-banner")
        with Horizontal(classes="bulk-buttons"):
            yield Button(t("csv_console.button.cancel"), id="import-cancel", compact=True)
            yield Button(t("csv_console.button.import"), id="import-confirm", variant="primary", compact=True)
        yield TranslatedFooter(compact=True, show_command_palette=False)

    def _title(self) -> Any:
        return literal(t("csv_console.preview.title", file=self.file.name))

    @staticmethod
    def _titles() -> list[str]:
        return [t(f"csv_console.column.{name}") for name in ("line", "username", "outcome", "what")]

    @property
    def table(self) -> ImportTable:
        return self.query_one("#import-table", ImportTable)

    def on_mount(self) -> None:
        self.query_one("#import-progress").display = False
        self.query_one("#import-status").display = False
        self.query_one("#import-confirm", Button).disabled = True
        self.query_one("#import-cancel", Button).focus()
        self._plan()

    # -- the dry run ---------------------------------------------------------

    @work(thread=True, exclusive=True, group="import-plan", exit_on_error=False, description="import preview")
    def _plan(self) -> None:
        try:
            planned = import_users.plan(self.ctx, self.file)
        except DomainError as error:
            post_unless_cancelled(self, self.Failed(error.message()))
            return
        post_unless_cancelled(self, self.Planned(planned))

    @on(Planned)
    def _planned(self, message: Planned) -> None:
        self.plan = message.plan
        rows = message.plan.rows
        self.table.set_rows(
            ((row.line, row.username, outcome_word(row.outcome), row_summary(row)) for row in rows),
            emphasised=(n for n, row in enumerate(rows) if row.outcome is Outcome.FAIL),
        )
        self._show_plan()
        if message.plan.failed:
            self._jump(1, start=-1)
        self.table.focus()

    def _show_plan(self) -> None:
        planned = self.plan
        assert planned is not None
        counts = planned.counts()
        self.query_one("#import-counts", Static).update(t("csv_console.preview.counts", None, **counts))
        confirm = self.query_one("#import-confirm", Button)
        writes = counts[Outcome.ADD.value] + counts[Outcome.CHANGE.value]
        if counts[Outcome.FAIL.value]:
            relabel(confirm, t("csv_console.button.import_valid", count=writes))
        else:
            relabel(confirm, t("csv_console.button.import"))
        confirm.disabled = writes == 0 or self.result is not None
        if self.result is None:
            key = "csv_console.preview.fails" if counts[Outcome.FAIL.value] else "csv_console.preview.ready"
            if not writes:
                key = "csv_console.preview.nothing"
            self._set_status(key, {"count": counts[Outcome.FAIL.value]}, "error" if key.endswith("fails") else "info")
        self._show_detail()

    def _show_detail(self) -> None:
        detail = self.query_one("#import-detail", Static)
        if self.plan is None or not self.plan.rows:
            detail.update("")
            return
        row = self.plan.rows[self.table.cursor]
        lines = row_details(row)
        if len(lines) > DETAIL_LINES:
            lines = [*lines[: DETAIL_LINES - 1], t("csv_console.detail.more", count=len(lines) - DETAIL_LINES + 1)]
        detail.update(literal("\n".join(lines)))

    @on(ImportTable.CursorMoved)
    def _cursor_moved(self) -> None:
        self._show_detail()

    def _set_status(self, key: str, params: dict[str, object], kind: str = "info") -> None:
        self._status = (key, params, kind)
        status = self.query_one("#import-status", Static)
        status.update(literal(t(key, None, **params)))
        status.display = True
        for name in ("error", "info"):
            status.set_class(name == kind, f"-{name}")

    # -- n / N ---------------------------------------------------------------

    def _jump(self, step: int, *, start: int | None = None) -> None:
        if self.plan is None:
            return
        rows = self.plan.rows
        failing = [n for n, row in enumerate(rows) if row.outcome is Outcome.FAIL]
        if not failing:
            self.notify(t("csv_console.preview.no_failures"), markup=False)
            return
        here = self.table.cursor if start is None else start
        if step > 0:
            target = next((n for n in failing if n > here), failing[0])
        else:
            target = next((n for n in reversed(failing) if n < here), failing[-1])
        self.table.move_cursor(target)

    def action_next_failure(self) -> None:
        self._jump(1)

    def action_previous_failure(self) -> None:
        self._jump(-1)

    # -- confirm and apply ---------------------------------------------------

    @on(Button.Pressed, "#import-confirm")
    def _confirm_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_confirm()

    def action_confirm(self) -> None:
        planned = self.plan
        if planned is None or self.applying or self.result is not None:
            return
        counts = planned.counts()
        if not counts[Outcome.ADD.value] + counts[Outcome.CHANGE.value]:
            return

        def question() -> str:  # made again on L while the question is open
            text = t("csv_console.confirm.question", None, **counts)
            if counts[Outcome.FAIL.value]:
                text += "\n" + t("csv_console.confirm.skipped", count=counts[Outcome.FAIL.value])
            if planned.credentials_needed:
                text += "\n" + t("csv_console.confirm.credentials", count=planned.credentials_needed)
            return text

        skip_invalid = bool(counts[Outcome.FAIL.value])

        def answered(yes: bool | None) -> None:
            if yes:
                self._start(skip_invalid)

        self.app.push_screen(
            ConfirmScreen(
                lambda: t("csv_console.confirm.title"),
                question,
                lambda: t("csv_console.button.import"),
                variant="primary",
            ),
            answered,
        )

    def _start(self, skip_invalid: bool) -> None:
        self.applying = True
        self.query_one("#import-confirm", Button).disabled = True
        bar = self.query_one("#import-progress", ProgressBar)
        bar.update(total=None, progress=0)
        bar.display = True
        self._set_status("csv_console.applying", {})
        self._apply(skip_invalid)

    @work(thread=True, exclusive=True, group="import-apply", exit_on_error=False, description="import users")
    def _apply(self, skip_invalid: bool) -> None:
        def progress(done: int, total: int) -> None:
            post_unless_cancelled(self, self.Progress(done, total))

        try:
            result = import_users.apply(self.ctx, self.file, skip_invalid=skip_invalid, progress=progress)
        except ImportRefused as refused:
            # The tenant changed since the preview and a row fails now: nothing was written.
            post_unless_cancelled(self, self.Planned(refused.plan))
            post_unless_cancelled(self, self.Failed(refused.message()))
            return
        except DomainError as error:
            post_unless_cancelled(self, self.Failed(error.message()))
            return
        post_unless_cancelled(self, self.Applied(result))

    @on(Progress)
    def _progress(self, message: Progress) -> None:
        self.query_one("#import-progress", ProgressBar).update(total=message.total, progress=message.done)

    @on(Failed)
    def _failed(self, message: Failed) -> None:
        self._stopped()
        self._set_status("csv_console.failed", {"reason": message.reason}, "error")
        if self.plan is None:
            self.query_one("#import-confirm", Button).disabled = True

    def _stopped(self) -> None:
        self.applying = False
        self.query_one("#import-progress").display = False
        if self.plan is not None and self.result is None:
            counts = self.plan.counts()
            writes = counts[Outcome.ADD.value] + counts[Outcome.CHANGE.value]
            self.query_one("#import-confirm", Button).disabled = writes == 0

    @on(Applied)
    def _applied(self, message: Applied) -> None:
        self.result = message.result
        self._stopped()
        self.query_one("#import-confirm", Button).disabled = True
        relabel(self.query_one("#import-cancel", Button), t("csv_console.button.close"))
        counts = message.result.plan.counts()
        self._set_status("csv_console.done", dict(counts))
        issued = message.result.issued
        if issued:
            # Shown once (R8, R10); this screen closes with that one.
            self.app.push_screen(ImportCredentialsScreen(self.ctx, issued), self._credentials_closed)

    def _credentials_closed(self, _result: object) -> None:
        self.dismiss(None)

    def show_worker_failure(self, group: str | None, reason: str) -> None:
        self._stopped()
        self._set_status("csv_console.failed", {"reason": reason}, "error")

    # -- leaving -------------------------------------------------------------

    @on(Button.Pressed, "#import-cancel")
    def _cancel_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_cancel()

    def action_cancel(self) -> None:
        if self.applying:
            return  # the transaction runs to its end; it cannot be half done
        self.dismiss(None)

    # -- language --------------------------------------------------------------

    def on_language_changed(self, message: LanguageChanged) -> None:
        self.query_one("#import-title", Label).update(self._title())
        self.table.set_titles(self._titles())
        cancel = "csv_console.button.close" if self.result is not None else "csv_console.button.cancel"
        relabel(self.query_one("#import-cancel", Button), t(cancel))
        if self.plan is not None:
            cursor = self.table.cursor
            self.table.rows = [
                tuple(visible(cell) for cell in (row.line, row.username, outcome_word(row.outcome), row_summary(row)))
                for row in self.plan.rows
            ]
            self.table.set_titles(self._titles())
            self.table.move_cursor(cursor)
            self._show_plan()
        else:
            self.query_one("#import-counts", Static).update(t("csv_console.preview.checking"))
        if self._status is not None:
            key, params, kind = self._status
            self._set_status(key, params, kind)
        self.refresh_bindings()


class ImportCredentialsScreen(BulkResultScreen):
    """The import's new desk phone credentials, once, exported as bulk
    credentials are; a complete file is recorded as their hand-over."""

    def __init__(self, ctx: Context, issued: list[IssuedCredentials]) -> None:
        super().__init__(BulkResult(list(issued), []))
        self.ctx = ctx

    def _write(self, path: Path, overwrite: bool) -> Path:
        written = super()._write(path, overwrite)
        import_users.record_exported(self.ctx, self.issued, str(written))
        return written


def open_import(app: App[Any], ctx: Context, after: Callable[[Any], None] | None = None) -> None:
    """The import flow: the file prompt, then the preview (``after`` runs
    when the preview closes, imported or not)."""
    prompt = ImportPathScreen()

    def chosen(path: Path | None) -> None:
        if path is not None and prompt.file is not None:
            app.push_screen(ImportPreviewScreen(ctx, prompt.file), after)

    app.push_screen(prompt, chosen)
