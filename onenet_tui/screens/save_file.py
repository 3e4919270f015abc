"""Saving a piece of text (a support summary, the people to tell after a
delete) to a file the operator names.

The console saves only into the export directory, by a plain file name (the
export directory rule, :mod:`onenet_tui.data.export_dir`): the prompt shows
the folder, and a name with ``/``, a leading dot or control characters is
refused as it is typed. An existing file is never replaced without a
confirmation where Cancel has focus, and the file is created exclusively so
a file that appears between the question and the write is not silently
overwritten either. These files hold no secrets.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Button, Input, Label, Static
from textual.widgets.button import ButtonVariant

from onenet_tui import config, keys
from onenet_tui.data import export_dir
from onenet_tui.data.errors import Conflict, DomainError, RuleRefused
from onenet_tui.i18n import t
from onenet_tui.screens.lifecycle_base import CSS_FILE
from onenet_tui.screens.relabel import RelabelledModal, Words, in_words
from onenet_tui.screens.workers import ReportsWorkerFailures
from onenet_tui.widgets.field import literal
from onenet_tui.widgets.footer import TranslatedFooter

_UNSAFE_IN_FILE_NAME = re.compile(r"[^A-Za-z0-9._]+")


def file_name_part(text: str) -> str:
    """A username (which may hold ``/`` or accents) made safe for a file name."""
    return _UNSAFE_IN_FILE_NAME.sub("_", text).strip("._") or "user"


def folder_text(path: Path) -> str:
    """A path in the export directory as the console shows it, the home
    directory as ``~`` (it fits in 80 columns more often)."""
    try:
        return str(Path("~") / path.relative_to(Path.home()))
    except ValueError:
        return str(path)


def literal_words(words: Words) -> Content:
    """``words`` in the language now, a string shown literally (it may hold a name from data)."""
    said = in_words(words)
    return said if isinstance(said, Content) else literal(said)


class ConfirmScreen(RelabelledModal[bool]):
    """A question with Cancel focused: Enter alone never confirms. Handed
    its words as functions (``lambda: t(...)``), it follows ``L`` in place."""

    CSS_PATH = CSS_FILE
    BINDINGS: ClassVar[list[BindingType]] = [
        keys.binding("lifecycle.cancel", "cancel"),
    ]

    def __init__(
        self,
        title: Words,
        question: Words,
        confirm_label: Words,
        *,
        variant: ButtonVariant = "error",
        cancel_label: Words | None = None,
    ) -> None:
        super().__init__()
        self._title = title
        self._question = question
        self._confirm_label = confirm_label
        self._variant = variant
        # The wizard's "Keep editing" says what not confirming means there.
        self._cancel_label = cancel_label or (lambda: t("lifecycle.button.cancel"))

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="lifecycle-dialog -confirm"):
            yield Label(literal_words(self._title), classes="lifecycle-title")
            yield Static(literal_words(self._question), id="question", classes="lifecycle-question")
            with Horizontal(classes="lifecycle-buttons"):
                yield Button(in_words(self._cancel_label), id="cancel")
                yield Button(in_words(self._confirm_label), id="confirm", variant=self._variant)
        yield TranslatedFooter(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()

    def action_cancel(self) -> None:
        self.dismiss(False)

    @on(Button.Pressed, "#cancel")
    def _cancel(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(False)

    @on(Button.Pressed, "#confirm")
    def _confirm(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(True)


def ask_to_discard(screen: Screen[Any], title: Words, question: Words) -> None:
    """Esc with typed changes: ask before throwing them away ("Keep editing"
    focused), and close ``screen`` only on Discard."""

    def answer(discard: bool | None) -> None:
        if discard:
            screen.dismiss(None)

    screen.app.push_screen(
        ConfirmScreen(
            title, question, lambda: t("wizard.discard.discard"), cancel_label=lambda: t("wizard.discard.keep")
        ),
        answer,
    )


class PathPromptScreen(ReportsWorkerFailures, RelabelledModal[Path | None]):
    """Ask for a file name in the export directory and write there, off the
    UI thread. The prompt shows the folder; the line under the input shows
    where the file will land, or why the name is refused (the export
    directory rule) as it is typed. An existing file is never replaced
    without a confirmation where Cancel has focus, and a file that appears
    between the question and the write is asked about too. Dismisses with the
    path written, or None when the operator gave up.

    Subclasses say what to write (:meth:`write`) and in which words: every
    message key is ``WORDS`` plus a suffix (``.title`` is passed in, as a
    function to follow ``L`` in place)."""

    CSS_PATH = CSS_FILE
    DIALOG_CLASSES = "lifecycle-dialog -confirm"
    WORDS = "lifecycle.save"

    class Written(Message):
        def __init__(self, path: Path) -> None:
            super().__init__()
            self.path = path

    class Appeared(Message):
        """The file came into being between the question and the write."""

        def __init__(self, path: Path) -> None:
            super().__init__()
            self.path = path

    class WriteFailed(Message):
        def __init__(self, path: Path, reason: str) -> None:
            super().__init__()
            self.path, self.reason = path, reason

    # A dialog whose Save starts something that cannot be undone focuses
    # Cancel and lets Enter in the name only check it (Enter alone never confirms).
    CAREFUL = False
    BINDINGS: ClassVar[list[BindingType]] = [
        keys.binding("lifecycle.cancel", "cancel"),
    ]

    def __init__(
        self, title: Words, default_name: str, *, note: Words | None = None, directory: Path | None = None
    ) -> None:
        super().__init__()
        self._title = title
        self._default_name = default_name
        self._note = note
        self.directory = directory if directory is not None else config.export_dir()
        self.writing = False

    def write(self, path: Path, overwrite: bool) -> Path:
        """Write the file (runs in a worker thread). Raise FileExistsError or
        Conflict if it appeared meanwhile, OSError or DomainError on failure."""
        raise NotImplementedError

    def words(self, suffix: str, **params: object) -> str:
        return t(f"{self.WORDS}.{suffix}", lang=None, **params)

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes=self.DIALOG_CLASSES):
            yield Label(literal_words(self._title), classes="lifecycle-title")
            yield Static(
                literal(t("ssh.export.folder", directory=folder_text(self.directory))),
                id="path-folder",
                classes="lifecycle-message",
            )
            with Horizontal(id="path-line"):
                yield Label(self.words("path"), id="path-label")
                yield Input(self._default_name, id="path", compact=True)
            yield Static("", id="path-message", classes="lifecycle-message")
            if self._note:
                yield Static(in_words(self._note), id="path-note", classes="lifecycle-message")
            with Horizontal(classes="lifecycle-buttons"):
                yield Button(self.words("button.cancel"), id="cancel", compact=True)
                yield Button(self.words("button.save"), id="save", variant="primary", compact=True)
        yield TranslatedFooter(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        path_input = self.query_one("#path", Input)
        path_input.cursor_position = len(path_input.value)
        (self.query_one("#cancel", Button) if self.CAREFUL else path_input).focus()
        self._show_target(path_input.value)

    async def relabel(self) -> None:
        """``L``: composed again in the new language, the name as typed, the
        line under it said again, and a write under way still shown as one."""
        await super().relabel()
        if self.writing:
            self.query_one("#save", Button).disabled = True
            self.message.update(self.words("writing"))
        else:
            self._show_target(self._typed())

    @property
    def message(self) -> Static:
        return self.query_one("#path-message", Static)

    def _typed(self) -> str:
        return self.query_one("#path", Input).value

    def target(self, typed: str) -> Path | None:
        """The file a typed name stands for in the export directory; None when
        nothing is typed. Raises RuleRefused for anything but a plain name."""
        name = typed.strip()
        if not name:
            return None
        return export_dir.check_name(name, self.directory)

    def _show_target(self, typed: str, error: str | None = None) -> None:
        if error is None:
            try:
                path = self.target(typed)
            except RuleRefused as refused:
                error = refused.message()
        if error is not None:
            self.message.update(literal(error))
            self.message.add_class("-error")
            return
        self.message.remove_class("-error")
        self.message.update(literal(self.words("target", path=folder_text(path)) if path else self.words("empty")))

    @on(Input.Changed, "#path")
    def _changed(self, event: Input.Changed) -> None:
        if not self.writing:
            self._show_target(event.value)

    @on(Input.Submitted, "#path")
    @on(Button.Pressed, "#save")
    def _save(self, event: Input.Submitted | Button.Pressed) -> None:
        event.stop()
        if self.writing:
            return
        typed = self._typed()
        if self.CAREFUL and isinstance(event, Input.Submitted):
            self._show_target(typed)
            return
        try:
            path = self.target(typed)
        except RuleRefused as refused:
            self._show_target(typed, refused.message())
            return
        if path is None:
            self._show_target(typed, self.words("empty"))
        elif path.is_dir():
            self._show_target(typed, self.words("is_directory", path=str(path)))
        elif path.exists() or path.is_symlink():
            self._confirm_overwrite(path)
        else:
            self._start(path, overwrite=False)

    def _confirm_overwrite(self, path: Path) -> None:
        def answered(yes: bool | None) -> None:
            if yes:
                self._start(path, overwrite=True)

        self.app.push_screen(
            ConfirmScreen(
                lambda: self.words("exists_title"),
                lambda: self.words("exists", path=str(path)),
                lambda: self.words("overwrite"),
            ),
            answered,
        )

    def _start(self, path: Path, *, overwrite: bool) -> None:
        self.writing = True
        self.query_one("#save", Button).disabled = True
        self.message.remove_class("-error")
        self.message.update(self.words("writing"))
        self._write_in_thread(path, overwrite)

    @work(thread=True, exclusive=True, group="path-prompt", exit_on_error=False, description="write a file")
    def _write_in_thread(self, path: Path, overwrite: bool) -> None:
        try:
            written = self.write(path, overwrite)
        except (FileExistsError, Conflict):
            self.post_message(self.Appeared(path))
        except DomainError as error:
            self.post_message(self.WriteFailed(path, error.message()))
        except OSError as error:
            self.post_message(self.WriteFailed(path, error.strerror or str(error)))
        else:
            self.post_message(self.Written(written))

    @on(Written)
    def _written(self, message: Written) -> None:
        self.dismiss(message.path)

    def _stopped(self) -> None:
        self.writing = False
        self.query_one("#save", Button).disabled = False

    @on(Appeared)
    def _appeared(self, message: Appeared) -> None:
        self._stopped()
        self._show_target(message.path.name)
        self._confirm_overwrite(message.path)

    @on(WriteFailed)
    def _write_failed(self, message: WriteFailed) -> None:
        self._failed(message.path, message.reason)

    def _failed(self, path: Path, reason: str) -> None:
        self._stopped()
        self._show_target(self._typed(), self.words("failed", path=str(path), error=reason))

    def show_worker_failure(self, group: str | None, reason: str) -> None:
        if group == "path-prompt":
            self._failed(self.directory / self._typed().strip(), reason)

    def action_cancel(self) -> None:
        if not self.writing:
            self.dismiss(None)

    @on(Button.Pressed, "#cancel")
    def _cancel(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_cancel()


class SaveTextScreen(PathPromptScreen):
    """Save a piece of text that holds no secrets (a support summary, the
    people to tell after a delete)."""

    def __init__(self, title: Words, default_name: str, text: str, *, directory: Path | None = None) -> None:
        super().__init__(title, default_name, directory=directory)
        self._text = text

    def write(self, path: Path, overwrite: bool) -> Path:
        # Exclusive unless replacing: a file that appeared since we looked is asked about.
        return export_dir.write_text(self.directory, path.name, self._text, overwrite=overwrite)
