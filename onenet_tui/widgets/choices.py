"""Check boxes, radio buttons and selection lists whose state reads without
colour and without dim.

Textual draws a ticked and an unticked box with the same mark (``▐X▌``)
and tells them apart by colour, or bold against dim on the terminal's own
colours; with ``NO_COLOR`` or on a terminal that shows no dim they are the
same bytes. Here the mark is there only when the choice is made: ``▐X▌``
against ``▐ ▌``, ``▐●▌`` against ``▐ ▌`` (``[x]`` / ``[ ]`` and ``(*)`` /
``( )`` without UTF-8), as the status badges carry a symbol besides their
colour.
"""

from __future__ import annotations

from typing import ClassVar

from rich.segment import Segment
from rich.style import Style as RichStyle
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.message import Message
from textual.strip import Strip
from textual.style import Style
from textual.widgets import Checkbox, RadioButton, RadioSet, SelectionList
from textual.widgets._toggle_button import ToggleButton

from onenet_tui import terminal

EMPTY = " "


def toggle_mark(button: ToggleButton) -> Content:
    """The box of a toggle button: its inner mark only when it is on."""
    inner = button.BUTTON_INNER if button.value else EMPTY
    button_style = button.get_visual_style("toggle--button")
    if terminal.current().ascii:
        # "[x]" and "( )": the brackets are characters, not half blocks shaded to a box.
        return Content.assemble(button.BUTTON_LEFT, (inner, button_style), button.BUTTON_RIGHT)
    side_style = Style(foreground=button_style.background, background=button.background_colors[1])
    return Content.assemble((button.BUTTON_LEFT, side_style), (inner, button_style), (button.BUTTON_RIGHT, side_style))


class TickBox(Checkbox):
    """A check box: ``▐X▌`` ticked, ``▐ ▌`` not."""

    @property
    def _button(self) -> Content:
        return toggle_mark(self)


class Choice(RadioButton):
    """A radio button: ``▐●▌`` chosen, ``▐ ▌`` not."""

    @property
    def _button(self) -> Content:
        return toggle_mark(self)


class TickList(SelectionList[str]):
    """A selection list whose unselected entries have an empty box."""

    def render_line(self, y: int) -> Strip:
        line = super().render_line(y)
        index = self.scroll_offset.y + y
        if index >= self.option_count or self.get_option_at_index(index).value in self._selected:
            return line
        segments = list(line)
        # Textual's line: left side, the mark, right side, a space, the prompt.
        if len(segments) > 1 and segments[1].text == ToggleButton.BUTTON_INNER:
            mark = segments[1]
            segments[1] = Segment(EMPTY, mark.style or RichStyle(), mark.control)
            return Strip(segments, line.cell_length)
        return line


class ChoiceSet(RadioSet):
    """Radio buttons where Enter takes the highlighted choice and says it is
    made (:class:`Confirmed`), so the form can move on as Next does, as
    installers and web forms do; space and the arrows only choose."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "toggle_button", show=False),
        Binding("enter", "confirm", show=False),
    ]

    class Confirmed(Message):
        """Enter on the choice: it is made."""

        def __init__(self, choice_set: ChoiceSet) -> None:
            super().__init__()
            self.choice_set = choice_set

        @property
        def control(self) -> ChoiceSet:
            return self.choice_set

    def action_confirm(self) -> None:
        if self._selected is not None and not self._nodes[self._selected].value:  # type: ignore[attr-defined]  # the set holds radio buttons
            self.action_toggle_button()
        self.post_message(self.Confirmed(self))
