"""Textual's footer, its words drawn in the language now set.

Bindings carry catalog keys as their description (see :mod:`onenet_tui.keys`);
this footer translates them each time it is composed, which Textual does
whenever the screen's bindings are refreshed, a language switch included.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer

# Private, knowingly (checked against Textual 8.2.8; pyproject allows 8.x
# only): textual.widgets exports only Footer, whose compose reads each
# binding's description straight from screen.active_bindings into a
# FooterKey, with no hook to change the words. The public ways out cost
# more than they save: bindings holding translated words would have to be
# rebuilt on every screen on L (Screen._bindings is private too), and a
# footer drawn by hand (as the directory's KeyFooter is) would lose the
# clickable keys and change every dialog's look. The German footer tests
# (test_language_everywhere, the German snapshots) fail if a Textual
# upgrade moves these classes or their attributes.
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
