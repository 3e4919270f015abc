"""Saving a piece of text (a support summary, the people to tell after a
delete) to a file the operator names.

The path starts as a file name in the current directory; the line under the
input shows where the file will land. An existing file is never replaced
without a confirmation where Cancel has focus, and the file is created with
``open(..., "x")`` so a file that appears between the question and the write
is not silently overwritten either. These files hold no secrets.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Input, Label, Static

from onenet_tui.i18n import t
from onenet_tui.screens.lifecycle_base import CSS_FILE
from onenet_tui.widgets.field import literal, translate_bindings

_UNSAFE_IN_FILE_NAME = re.compile(r"[^A-Za-z0-9._]+")


def file_name_part(text: str) -> str:
    """A username (which may hold ``/`` or accents) made safe for a file name."""
    return _UNSAFE_IN_FILE_NAME.sub("_", text).strip("._") or "user"


def resolve_path(typed: str) -> Path | None:
    """Where a typed path points: ``~`` expanded, relative to the current directory."""
    typed = typed.strip()
    if not typed:
        return None
    path = Path(typed).expanduser()
    return path if path.is_absolute() else Path.cwd() / path


class ConfirmScreen(ModalScreen[bool]):
    """A question with Cancel focused: Enter alone never confirms."""

    CSS_PATH = CSS_FILE
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "lifecycle.key.cancel", id="lifecycle.cancel"),
    ]

    def __init__(self, title: str, question: str | Content, confirm_label: str, *, variant: str = "error") -> None:
        super().__init__()
        self._bindings = translate_bindings(self._bindings)
        self._title = title
        self._question = question
        self._confirm_label = confirm_label
        self._variant = variant

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="lifecycle-dialog -confirm"):
            yield Label(literal(self._title), classes="lifecycle-title")
            question = self._question if isinstance(self._question, Content) else literal(self._question)
            yield Static(question, id="question", classes="lifecycle-question")
            with Horizontal(classes="lifecycle-buttons"):
                yield Button(t("lifecycle.button.cancel"), id="cancel")
                yield Button(self._confirm_label, id="confirm", variant=self._variant)  # type: ignore[arg-type]
        yield Footer(compact=True, show_command_palette=False)

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


class SaveTextScreen(ModalScreen[Path | None]):
    """Ask for a path and write ``text`` there; dismisses with the path
    written, or None when the operator gave up."""

    CSS_PATH = CSS_FILE
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "lifecycle.key.cancel", id="lifecycle.cancel"),
    ]

    def __init__(self, title: str, default_name: str, text: str) -> None:
        super().__init__()
        self._bindings = translate_bindings(self._bindings)
        self._title = title
        self._default_name = default_name
        self._text = text

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="lifecycle-dialog -confirm"):
            yield Label(literal(self._title), classes="lifecycle-title")
            yield Label(t("lifecycle.save.path"), classes="lifecycle-label")
            yield Input(self._default_name, id="path", compact=True)
            yield Static("", id="path-message", classes="lifecycle-message")
            with Horizontal(classes="lifecycle-buttons"):
                yield Button(t("lifecycle.button.cancel"), id="cancel")
                yield Button(t("lifecycle.button.save"), id="save", variant="primary")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        path_input = self.query_one("#path", Input)
        path_input.focus()
        path_input.cursor_position = len(path_input.value)
        self._show_target(path_input.value)

    @property
    def message(self) -> Static:
        return self.query_one("#path-message", Static)

    def _show_target(self, typed: str, error: str | None = None) -> None:
        if error is not None:
            self.message.update(literal(error))
            self.message.add_class("-error")
            return
        path = resolve_path(typed)
        self.message.remove_class("-error")
        self.message.update(literal(t("lifecycle.save.target", path=str(path)) if path else t("lifecycle.save.empty")))

    @on(Input.Changed, "#path")
    def _typed(self, event: Input.Changed) -> None:
        self._show_target(event.value)

    @on(Input.Submitted, "#path")
    @on(Button.Pressed, "#save")
    def _save(self, event: Input.Submitted | Button.Pressed) -> None:
        event.stop()
        typed = self.query_one("#path", Input).value
        path = resolve_path(typed)
        if path is None:
            self._show_target(typed, t("lifecycle.save.empty"))
            return
        if path.is_dir():
            self._show_target(typed, t("lifecycle.save.is_directory", path=str(path)))
            return
        if path.exists():
            self._confirm_overwrite(path)
            return
        self._write(path, overwrite=False)

    def _confirm_overwrite(self, path: Path) -> None:
        def answered(yes: bool | None) -> None:
            if yes:
                self._write(path, overwrite=True)

        self.app.push_screen(
            ConfirmScreen(
                t("lifecycle.save.exists_title"),
                t("lifecycle.save.exists", path=str(path)),
                t("lifecycle.button.overwrite"),
            ),
            answered,
        )

    def _write(self, path: Path, *, overwrite: bool) -> None:
        typed = self.query_one("#path", Input).value
        try:
            with open(path, "w" if overwrite else "x", encoding="utf-8", newline="") as handle:
                handle.write(self._text)
        except FileExistsError:
            # Appeared since we looked: ask, as for any existing file.
            self._confirm_overwrite(path)
            return
        except OSError as error:
            self._show_target(typed, t("lifecycle.save.failed", path=str(path), error=error.strerror or str(error)))
            return
        self.dismiss(path)

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#cancel")
    def _cancel(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(None)
