"""The bulk credentials result, shown once (R10), and its CSV export.

One row per user: user, extension, SIP username, password and SIP domain in a
scrollable table. The bulk screen has already written them to the CSV file
the operator named before confirming (:func:`onenet_tui.data.bulk.reset_and_export`),
and this screen says where it is. Only when that write failed does the
operator export them here (``ctrl+s``, into the export directory: atomic,
0600, spreadsheet-safe cells) or note them; another copy can be saved the
same way. Leaving without any export asks first, because the passwords are
gone for good afterwards. On leaving, the screen empties its table and its
list, so nothing here can show them again.

The export dialog never holds the secrets: it asks for a path and calls back
into this screen to write.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Button, Label, Static

from onenet_tui import keys
from onenet_tui.data import bulk, export_dir
from onenet_tui.data.credentials import BulkResult, IssuedCredentials
from onenet_tui.i18n import t
from onenet_tui.screens.relabel import LanguageChanged
from onenet_tui.screens.save_file import ConfirmScreen, PathPromptScreen, folder_text
from onenet_tui.widgets.field import literal
from onenet_tui.widgets.footer import TranslatedFooter
from onenet_tui.widgets.plain_table import PlainTable

# Writes the credentials to a path (overwrite or not); raises like bulk.export_credentials.
Writer = Callable[[Path, bool], Path]


class BulkResultScreen(Screen[None]):
    """The new passwords, once. ``exported`` is the file they were written to
    before this screen opened; ``write_error`` why it could not be written.
    ``now`` fixes the export file's default name (tests)."""

    CSS_PATH = "bulk.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        keys.binding("bulk.export"),
        keys.binding("bulk.leave"),
        # The app's quit key would drop the passwords without a word: ask first here.
        keys.binding("bulk.quit"),
    ]

    def __init__(
        self,
        result: BulkResult,
        *,
        exported: Path | None = None,
        write_error: str | None = None,
        now: datetime | None = None,
    ) -> None:
        super().__init__(id="bulk-result")
        # Own lists: the caller's BulkResult can go as soon as it is handed over.
        self.issued: list[IssuedCredentials] = list(result.issued)
        self.skipped_count = len(result.skipped)
        self.exported: Path | None = exported
        self._write_error = write_error
        self._now = now

    @property
    def holds_unsaved_secrets(self) -> bool:
        """True while passwords are on screen and not exported (an app may ask before quitting)."""
        return bool(self.issued) and self.exported is None

    # -- layout ------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Label(t("bulk.result.title", count=len(self.issued)), id="bulk-result-title", classes="bulk-title")
        yield Static(t("bulk.result.warning"), id="bulk-result-warning", classes="bulk-warning")
        yield Static(
            t("bulk.result.summary", issued=len(self.issued), skipped=self.skipped_count, count=len(self.issued)),
            id="bulk-result-summary",
            classes="bulk-summary",
        )
        yield PlainTable(self._titles(), strong=[3], id="bulk-result-table")
        yield Static("", id="bulk-result-status", classes="bulk-banner")
        with Horizontal(classes="bulk-buttons"):
            yield Button(t("bulk.result.button.export"), id="bulk-export", variant="primary", compact=True)
            yield Button(t("bulk.result.button.done"), id="bulk-done", compact=True)
        yield TranslatedFooter(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        table = self.query_one("#bulk-result-table", PlainTable)
        table.set_rows(
            (item.username, item.extension, item.sip_username, item.password, item.sip_domain) for item in self.issued
        )
        self.query_one("#bulk-result-status").display = False
        if self.exported is not None:
            self._show_exported()
        elif self._write_error is not None:
            self.show_status(t("ssh.bulk.write_failed", error=self._write_error), "error")
        table.focus()

    def _show_exported(self) -> None:
        assert self.exported is not None
        self.show_status(t("bulk.result.exported", count=len(self.issued), path=folder_text(self.exported)))

    def on_language_changed(self, message: LanguageChanged) -> None:
        self.relabel()

    def relabel(self) -> None:
        """``L``: every word in the other language; the passwords stay on
        screen, as does whether they were exported."""
        self.query_one("#bulk-result-title", Label).update(t("bulk.result.title", count=len(self.issued)))
        self.query_one("#bulk-result-warning", Static).update(t("bulk.result.warning"))
        self.query_one("#bulk-result-summary", Static).update(
            t("bulk.result.summary", issued=len(self.issued), skipped=self.skipped_count, count=len(self.issued))
        )
        self.query_one("#bulk-result-table", PlainTable).set_titles(self._titles())
        self.query_one("#bulk-export", Button).label = t("bulk.result.button.export")
        self.query_one("#bulk-done", Button).label = t("bulk.result.button.done")
        if self.exported is not None:
            self._show_exported()
        elif self._write_error is not None:
            self.show_status(t("ssh.bulk.write_failed", error=self._write_error), "error")
        self.refresh_bindings()

    @staticmethod
    def _titles() -> list[str]:
        columns = ("user", "extension", "sip_username", "password", "sip_domain")
        return [t(f"bulk.result.column.{column}") for column in columns]

    def show_status(self, text: str, kind: str = "info") -> None:
        status = self.query_one("#bulk-result-status", Static)
        status.update(literal(text))
        status.display = True
        for name in ("error", "info"):
            status.set_class(name == kind, f"-{name}")

    # -- export ---------------------------------------------------------------

    @on(Button.Pressed, "#bulk-export")
    def _export_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_export()

    def action_export(self) -> None:
        if not self.issued:
            return

        def done(path: Path | None) -> None:
            if path is not None:
                self.exported = path
                self._show_exported()

        self.app.push_screen(ExportCsvScreen(bulk.default_export_name(self._now), self._write), done)

    def _write(self, path: Path, overwrite: bool) -> Path:
        """Runs in the export dialog's worker thread. The dialog gave a plain
        name in the export directory; neither the folder nor an existing file
        under the name may be a link."""
        return bulk.export_credentials(export_dir.claim(path), self.issued, overwrite=overwrite)

    # -- leaving --------------------------------------------------------------

    @on(Button.Pressed, "#bulk-done")
    def _done_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_leave()

    def action_leave(self) -> None:
        if not self.holds_unsaved_secrets:
            self._forget_and_leave()
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._forget_and_leave()

        self.app.push_screen(
            ConfirmScreen(
                lambda: t("bulk.leave.title"),
                lambda: t("bulk.leave.question", count=len(self.issued)),
                lambda: t("bulk.leave.button"),
            ),
            answered,
        )

    def _forget_and_leave(self) -> None:
        """The passwords go for good (R10, as R8): list and table emptied first."""
        self.issued = []
        self.query_one("#bulk-result-table", PlainTable).clear()
        self.dismiss(None)


class ExportCsvScreen(PathPromptScreen):
    """Which file in the export directory to save the CSV to; written through
    ``writer`` (atomic, 0600), which this dialog calls without ever holding
    the secrets itself."""

    CSS_PATH = "bulk.tcss"
    DIALOG_CLASSES = "bulk-dialog"
    WORDS = "bulk.export"

    def __init__(self, default_name: str, writer: Writer, *, directory: Path | None = None) -> None:
        super().__init__(
            lambda: t("bulk.export.title"), default_name, note=lambda: t("bulk.export.note"), directory=directory
        )
        self._writer = writer

    def write(self, path: Path, overwrite: bool) -> Path:
        return self._writer(path, overwrite)
