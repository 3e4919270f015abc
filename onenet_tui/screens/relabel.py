"""``L``: the app switches the language and tells every open screen with a
:class:`LanguageChanged` message; each redraws the words it made (binding
descriptions are catalog keys, translated by the footers as they draw).

A modal screen hides the app's keys, so each dialog binds the language key
itself.

:class:`RelabelledModal` suits a dialog made from its own state in
``compose`` (the one-time credentials, the activation code, help): it is
composed again. Dialogs whose body is made later rebuild just that
(``lifecycle_base.UserActionScreen``). Either way
:func:`rebuild_keeping_input` puts back what was typed, ticked and chosen,
and the focus.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import ClassVar, TypeVar

from textual.binding import BindingType
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Checkbox, Input, RadioButton, Select, SelectionList

from onenet_tui import keys

ResultT = TypeVar("ResultT")


class LanguageChanged(Message):
    """The operator switched the language: redraw the words made from the
    catalogs (titles, labels, headers, placeholders, formatted dates)."""

    bubble = False


# What a dialog is handed to show: a function that makes it from the
# catalogs (``lambda: t("bulk.leave.title")``) is called again on ``L``; a
# string or Content as it is (text from data, or words in one language only).
Words = str | Content | Callable[[], str | Content]


def in_words(words: Words) -> str | Content:
    """``words`` in the language now."""
    return words() if callable(words) else words


# What an operator types, ticks and chooses in a dialog.
ENTRIES = (Input, Checkbox, RadioButton, Select, SelectionList)


def entries(root: Widget) -> list[Widget]:
    return [widget for widget in root.query("*") if isinstance(widget, ENTRIES)]


def entered(root: Widget) -> list[object]:
    """What the operator typed, ticked and chose under ``root``, in screen order."""
    return [list(w.selected) if isinstance(w, SelectionList) else w.value for w in entries(root)]  # type: ignore[attr-defined]  # every ENTRIES widget has a value


def enter(root: Widget, values: list[object]) -> None:
    """Put :func:`entered` ``values`` back into a body built the same way;
    the widgets' change events update what depends on them."""
    widgets = entries(root)
    if len(widgets) != len(values):
        return  # built differently (the user changed meanwhile): nothing to carry over
    for widget, value in zip(widgets, values, strict=True):
        if isinstance(widget, SelectionList):
            widget.deselect_all()
            for chosen in value:  # type: ignore[attr-defined]  # a SelectionList's entry is a list
                widget.select(chosen)
        elif widget.value != value:  # type: ignore[attr-defined]  # every ENTRIES widget has a value
            widget.value = value  # type: ignore[attr-defined]  # every ENTRIES widget has a value


async def rebuild_keeping_input(root: Widget, rebuild: Callable[[], Awaitable[object]]) -> None:
    """Run ``rebuild``, which makes ``root``'s widgets again, and put back
    what was typed, ticked and chosen under ``root`` and where the focus was
    (by place: the widgets of a form have no ids of their own)."""
    values = entered(root)
    focused = root.screen.focused
    focusable = [w for w in root.query("*") if w.focusable]
    place = focusable.index(focused) if focused in focusable else None
    await rebuild()
    enter(root, values)
    focusable = [w for w in root.query("*") if w.focusable]
    if place is not None and place < len(focusable):
        focusable[place].focus()


class RelabelledModal(ModalScreen[ResultT]):
    BINDINGS: ClassVar[list[BindingType]] = [keys.binding("language", "app.switch_language", show=False)]

    async def on_language_changed(self, message: LanguageChanged) -> None:
        await self.relabel()

    async def relabel(self) -> None:
        """The dialog in the new language: composed again, keeping what was entered."""
        await rebuild_keeping_input(self, self.recompose)
        self.refresh_bindings()
