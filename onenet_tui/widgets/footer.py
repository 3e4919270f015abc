"""Textual's footer, its words drawn in the language now set.

Bindings carry catalog keys as their description (see :mod:`onenet_tui.keys`);
this footer translates them each time it is composed, which Textual does
whenever the screen's bindings are refreshed, a language switch included.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer
from textual.widgets._footer import FooterKey, FooterLabel

from onenet_tui.keys import words


class TranslatedFooter(Footer):
    def compose(self) -> ComposeResult:
        for widget in super().compose():
            if isinstance(widget, FooterKey):
                widget.description = words(widget.description)
                if widget.tooltip is not None:
                    widget.tooltip = words(str(widget.tooltip))
            elif isinstance(widget, FooterLabel):
                widget = FooterLabel(words(str(widget.content)))
            yield widget
