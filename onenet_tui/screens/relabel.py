"""Dialogs and ``L``: a modal screen hides the app's keys, so each dialog
binds the language key itself, and built again in the new language.

:class:`RelabelledModal` suits a dialog made entirely from its own state in
``compose`` (the one-time credentials, the activation code, help): it is
composed again and the focus put back. Dialogs holding typed input override
:meth:`relabel` (``lifecycle_base.UserActionScreen``).
"""

from __future__ import annotations

from typing import ClassVar, TypeVar

from textual.binding import Binding, BindingType
from textual.css.query import NoMatches
from textual.screen import ModalScreen

from onenet_tui.widgets.field import retranslate_bindings

ResultT = TypeVar("ResultT")


class RelabelledModal(ModalScreen[ResultT]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("L", "app.switch_language", "directory.key.language", show=False, id="language"),
    ]

    async def relabel(self) -> None:
        retranslate_bindings(self)
        focused = self.focused.id if self.focused is not None else None
        await self.recompose()
        if focused:
            try:
                self.query_one(f"#{focused}").focus()
            except NoMatches:
                pass
        self.refresh_bindings()
