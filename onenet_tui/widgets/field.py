"""Form fields with a live message line: a label, a control beside it, an
optional character counter (``12/23``) and, under the control, the message the
command line would print for the same input (SPEC sections 3 and 4).

The rules themselves live in :mod:`onenet_tui.data.validation`; a field only
runs the check it was given and shows the result. A field shows its own rule's
message once the operator has typed into it (or the form asked it to
:meth:`~FieldRow.reveal`), so an untouched form is not a wall of red; an
error found by a lookup (a taken extension) or by the service is shown at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.reactive import reactive
from textual.suggester import Suggester
from textual.widget import Widget
from textual.widgets import Input, Label, Static

from onenet_tui import keys
from onenet_tui.data import phones, validation
from onenet_tui.data.errors import FieldError
from onenet_tui.data.free_numbers import FreeNumbers
from onenet_tui.data.validation import char_count
from onenet_tui.i18n import t
from onenet_tui.visible import visible

# Re-exported: the directory imports it from refusal.py, without these checks.
from onenet_tui.widgets.refusal import refusal_text as refusal_text

# ---------------------------------------------------------------- shared helpers


def literal(text: object) -> Content:
    """Text from data, shown exactly as stored: never parsed as markup, and
    control or format characters (escape sequences, bidi overrides) shown as
    visible stand-ins so they cannot reach the terminal."""
    return Content(visible(text))


def literal_text(text: object) -> Text:
    """:func:`literal` as Rich ``Text``, for widgets that search their
    labels as they are typed (``Select``), which only read Text or str."""
    return Text(literal(text).plain)


Check = Callable[[str], FieldError | None]


def rule_check(rule: Callable[..., Any], field: str, *args: Any, optional: bool = False) -> Check:
    """A live check for one field from a :mod:`validation` rule, the same the
    schema runs on submit; an optional field passes while blank."""

    def check(value: str) -> FieldError | None:
        if optional and not value.strip():
            return None
        return validation.check(rule, field, value, *args)

    return check


class Counter(Widget):
    """``12/23``: a fixed-size label that repaints without a new layout."""

    DEFAULT_CSS = """
    Counter {
        width: 7;
        height: 1;
    }
    """

    text: reactive[str] = reactive("")

    def render(self) -> Content:
        return Content(self.text)


LABEL_WIDTH = 22


class FieldRow(Vertical):
    """A labelled control with its message line underneath."""

    DEFAULT_CSS = f"""
    FieldRow {{
        height: auto;
        width: 1fr;
    }}
    FieldRow > .field--line {{
        height: auto;
        width: 1fr;
    }}
    FieldRow .field--label {{
        width: {LABEL_WIDTH};
        height: auto;
        padding-right: 1;
        color: $text-muted;
    }}
    /* A rule on the row itself makes Textual restyle the row's children on focus changes. */
    FieldRow:focus-within {{
        background-tint: $foreground 4%;
    }}
    FieldRow:focus-within .field--label {{
        color: $text-accent;
        text-style: bold;
    }}
    FieldRow .field--line > Input, FieldRow .field--line > Select {{
        width: 1fr;
    }}
    /* A compact control has no border: a tinted well shows where to type. */
    FieldRow .field--line > Input.-textual-compact,
    FieldRow .field--line > Select.-textual-compact > SelectCurrent {{
        background: $boost;
    }}
    FieldRow .field--line > Input.-textual-compact:focus,
    FieldRow .field--line > Select.-textual-compact:focus > SelectCurrent {{
        background: $primary 30%;
    }}
    FieldRow .field--line > Input.-textual-compact:ansi {{
        text-style: underline;
    }}
    FieldRow .field--counter {{
        width: 7;
        height: 1;
        text-align: right;
        color: $text-muted;
    }}
    FieldRow .field--counter.-over {{
        color: $text-error;
        text-style: bold;
    }}
    FieldRow .field--message {{
        height: auto;
        min-height: 1;
        margin-left: {LABEL_WIDTH};
        color: $text-muted;
    }}
    FieldRow .field--message.-error {{
        color: $text-error;
    }}
    """

    def __init__(
        self,
        label: str,
        control: Widget,
        *,
        limit: int | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.control = control
        self.limit = limit
        self._label_widget = Label(literal(label), classes="field--label")
        self._counter = Counter(classes="field--counter") if limit is not None else None
        self._message = Static("", classes="field--message")
        self._shown_text = ""
        self._local: FieldError | None = None
        self._external: FieldError | None = None
        self._hint: str | None = None
        self.revealed = False

    def compose(self) -> ComposeResult:
        with Horizontal(classes="field--line"):
            yield self._label_widget
            yield self.control
            if self._counter is not None:
                yield self._counter
        yield self._message

    # -- state -------------------------------------------------------------

    @property
    def error(self) -> FieldError | None:
        """What is wrong now, shown or not yet: the form's validity uses this."""
        return self._external or self._local

    @property
    def shown_error(self) -> FieldError | None:
        return self._external or (self._local if self.revealed else None)

    @property
    def message_text(self) -> str:
        """The message line as the operator sees it."""
        error = self.shown_error
        if error is not None:
            return t("field_widget.error", message=error.message())
        return self._hint or ""

    def set_label(self, label: str) -> None:
        self._label_widget.update(literal(label))

    def refresh_message(self) -> None:
        """Show the message again, e.g. in another language."""
        self._show()

    def set_local_error(self, error: FieldError | None) -> None:
        self._local = error
        self._show()

    def set_external_error(self, error: FieldError | None) -> None:
        """An error found by a lookup or by the service: shown at once."""
        self._external = error
        self._show()

    def set_hint(self, hint: str | None) -> None:
        self._hint = hint
        self._show()

    def reveal(self) -> None:
        """Show this field's own message even if nobody typed here yet."""
        self.revealed = True
        self._show()

    def set_count(self, count: int) -> None:
        if self._counter is None or self.limit is None:
            return
        self._counter.text = t("field_widget.counter", count=count, limit=self.limit)
        self._counter.set_class(count > self.limit, "-over")

    def _show(self) -> None:
        text = self.message_text
        # Only a changed message is laid out again: this runs on every key press.
        if text != self._shown_text:
            self._shown_text = text
            self._message.update(literal(text))
        self._message.set_class(self.shown_error is not None, "-error")


class ValidatedField(FieldRow):
    """A labelled Input checked as you type."""

    @dataclass
    class Changed(Message):
        """The value changed; ``by_user`` is False for :meth:`set_value`."""

        field: ValidatedField
        value: str
        by_user: bool

        @property
        def control(self) -> ValidatedField:
            return self.field

    def __init__(
        self,
        label: str,
        *,
        field: str,
        check: Check | None = None,
        limit: int | None = None,
        placeholder: str = "",
        value: str = "",
        input_widget: Input | None = None,
        classes: str | None = None,
    ) -> None:
        self.field_name = field
        self.input = input_widget or Input(compact=True)
        self.input.id = field
        self.input.placeholder = placeholder
        self.input.value = value
        super().__init__(label, self.input, limit=limit, id=f"{field}-field", classes=classes)
        self._check = check
        # Values put in by set_value whose Changed message has not arrived yet.
        self._programmatic: list[str] = []
        self._evaluate(value)

    @property
    def value(self) -> str:
        return self.input.value

    def set_value(self, value: str) -> None:
        """Fill the field for the operator (a proposal); not a user edit."""
        if value == self.input.value:
            return
        self._programmatic.append(value)
        self.input.value = value
        self._evaluate(value)

    def revalidate(self) -> None:
        self._evaluate(self.input.value)

    def _evaluate(self, value: str) -> None:
        self.set_local_error(self._check(value) if self._check else None)
        self.set_count(char_count(value.strip()))

    def on_mount(self) -> None:
        # The rule may depend on the form around the field, known only now.
        self.revalidate()

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        if event.input is not self.input:
            return
        event.stop()
        by_user = True
        if event.value in self._programmatic:
            self._programmatic.remove(event.value)
            by_user = False
        if by_user:
            self.revealed = True
            # The operator's new text makes an older lookup or service answer moot.
            self._external = None
        self._evaluate(event.value)
        self.post_message(self.Changed(self, event.value, by_user))


# ---------------------------------------------------------------- phone numbers


class FreeNumberSuggester(Suggester):
    """Type-ahead completion from the chosen site's free numbers."""

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self.numbers: FreeNumbers | None = None

    async def get_suggestion(self, value: str) -> str | None:
        return self.numbers.suggest(value) if self.numbers else None


class NumberInput(Input):
    """An Input that steps through the free numbers with the arrow keys."""

    BINDINGS: ClassVar[list[BindingType]] = keys.bindings(keys.Scope.FIELD)

    def __init__(self) -> None:
        self.free_suggester = FreeNumberSuggester()
        super().__init__(compact=True, suggester=self.free_suggester)

    def action_step(self, delta: int) -> None:
        numbers = self.free_suggester.numbers
        if numbers is None:
            return
        current = phones.to_e164(self.value, numbers.country) if self.value.strip() else None
        chosen = numbers.step(current, delta)
        if chosen is not None:
            self.value = numbers.national(chosen)
            self.cursor_position = len(self.value)


class NumberField(ValidatedField):
    """A phone number picked from the site's free numbers: type-ahead,
    or the arrow keys to step through them."""

    def __init__(self, label: str, *, field: str = "number", check: Check | None = None, placeholder: str = "") -> None:
        self.number_input = NumberInput()
        super().__init__(label, field=field, check=check, placeholder=placeholder, input_widget=self.number_input)

    @property
    def free_numbers(self) -> FreeNumbers | None:
        return self.number_input.free_suggester.numbers

    def set_free_numbers(self, numbers: FreeNumbers | None) -> None:
        """None while the site's numbers are loading."""
        self.number_input.free_suggester.numbers = numbers
