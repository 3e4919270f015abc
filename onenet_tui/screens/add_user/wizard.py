"""The add-user wizard (SPEC sections 3 and 4, issue 5).

Five steps: device type, details (validated as you type, with the command
line's messages), licence and services, groups, review. The user is created
pending (R3) with the chosen groups in one service call, off the UI thread;
a desk phone user's credentials are then shown once (R8) and forgotten. The
wizard returns the added user (without its credentials) or None.

The screen owns no rule: field rules come from ``validation``, the ones that
need the database (a free number, extension or username) from ``checks``
through read-only ``users`` functions in worker threads, what the operator
may do from ``policy.decide``; the service checks everything again, and a
refusal from it is put back on the field it names.

This module is the screen itself: the steps container, moving between
steps, and the create worker. The step forms are in :mod:`.steps`, the
checks against the database as the form changes in :mod:`.live_checks`,
the review step in :mod:`.review`.
"""

from __future__ import annotations

import dataclasses
from functools import partial
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Button, ContentSwitcher, Label, RadioButton, Select, SelectionList, Static

from onenet_tui import keys
from onenet_tui.data import catalogs, users
from onenet_tui.data.errors import Conflict, DomainError, FieldError, InvalidInput
from onenet_tui.data.models import DeviceType
from onenet_tui.data.users import AddedUser
from onenet_tui.i18n import language, t
from onenet_tui.screens.add_user.review import ReviewStep
from onenet_tui.screens.add_user.steps import (
    DEFAULT_LICENCE,
    DETAILS,
    DEVICE,
    FIELD_STEP,
    GROUPS,
    REVIEW,
    SERVICES,
    STEPS,
)
from onenet_tui.screens.credentials_once import CredentialsOnceScreen
from onenet_tui.screens.save_file import ConfirmScreen, ask_to_discard
from onenet_tui.screens.workers import ReportsWorkerFailures
from onenet_tui.widgets.choices import ChoiceSet
from onenet_tui.widgets.field import FieldRow, literal, literal_text
from onenet_tui.widgets.footer import TranslatedFooter

# A unique value lost to another administrator between check and create.
CONFLICT_FIELD = {
    "conflict.number": "number",
    "conflict.extension": "extension",
    "conflict.username": "username",
}


class AddUserWizard(ReportsWorkerFailures, ReviewStep):
    """Add one user: five steps, one service call, credentials once."""

    CSS_PATH = "add_user.tcss"

    class Created(Message):
        def __init__(self, added: AddedUser) -> None:
            super().__init__()
            self.added = added

    class CreateRefused(Message):
        def __init__(self, error: DomainError) -> None:
            super().__init__()
            self.error = error

    BINDINGS: ClassVar[list[BindingType]] = [
        *keys.bindings(keys.Scope.WIZARD),
        # A modal screen hides the app's keys; typing L into a field still types an L.
    ]

    step: reactive[int] = reactive(DEVICE, init=False)

    # ------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        if not self.refusal.allowed:
            return
        with Vertical(id="wizard"):
            yield Label("", id="wizard-title")
            with Horizontal(id="wizard-steps"):
                for index, key in enumerate(STEPS):
                    if index:
                        yield Label("›", classes="wizard--sep")
                    yield Label(
                        t("wizard.step_label", number=index + 1, step=t(f"wizard.step.{key}")),
                        id=f"steplabel-{key}",
                        classes="wizard--step",
                    )
            with ContentSwitcher(initial="step-device", id="wizard-body"):
                with VerticalScroll(id="step-device"):
                    yield from self._compose_device()
                with VerticalScroll(id="step-details"):
                    yield from self._compose_details()
                with VerticalScroll(id="step-services"):
                    yield from self._compose_services()
                with VerticalScroll(id="step-groups"):
                    yield Static(t("wizard.groups_intro"), classes="wizard--intro", name="wizard.groups_intro")
                    yield Vertical(id="groups-holder")
                with VerticalScroll(id="step-review"):
                    yield Static(t("wizard.review.intro"), classes="wizard--intro", name="wizard.review.intro")
                    yield Vertical(id="review-summary")
                    yield Static("", id="review-problems")
            with Horizontal(id="wizard-buttons"):
                yield Button(t("wizard.button.back"), id="wizard-back", compact=True)
                yield Button(t("wizard.button.next"), id="wizard-next", variant="primary", compact=True)
                yield Button(t("wizard.button.create"), id="wizard-create", variant="success", compact=True)
                yield Button(t("wizard.button.cancel"), id="wizard-cancel", compact=True)
        yield TranslatedFooter()

    # ------------------------------------------------------------ start

    def on_mount(self) -> None:
        if not self.refusal.allowed:
            # R14: helpdesk operators see, but do not add.
            assert self.refusal.rule and self.refusal.reason_key
            self.app.notify(
                t("wizard.refused", rule=self.refusal.rule, reason=t(self.refusal.reason_key)), severity="error"
            )
            self.dismiss(None)
            return
        self._device_changed()
        self._show_step()
        self._load_site_names()

    # ------------------------------------------------------------ steps

    def watch_step(self) -> None:
        self._show_step()

    async def relabel(self) -> None:
        """``L``: every label of the wizard in the other language; what was
        typed, chosen and checked stays (the app switched the language)."""
        if not self.refusal.allowed:
            return
        for index, key in enumerate(STEPS):
            self.query_one(f"#steplabel-{key}", Label).update(
                t("wizard.step_label", number=index + 1, step=t(f"wizard.step.{key}"))
            )
        for name in ("back", "next", "create", "cancel"):
            self.query_one(f"#wizard-{name}", Button).label = t(f"wizard.button.{name}")
        for device in DeviceType:
            self.query_one(f"#device-{device.value}", RadioButton).label = t(f"device.{device.value}")
        for text in self.query(".wizard--intro, .wizard--hint, .wizard--label"):
            if text.name and isinstance(text, Static):
                text.update(t(text.name))
        for row in self.query(FieldRow):
            if row.id and row.id.endswith("-field"):
                row.set_label(t(f"field.{row.id.removesuffix('-field')}"))
        self.query_one("#site", Select).prompt = t("wizard.choose_site")
        self.number_field.input.placeholder = t("wizard.placeholder.number")
        self.query_one("#desk_phone_model", Select).prompt = t("wizard.choose_model")
        self._relabel_catalog_choices()
        # The hints and messages of the fields, worked out again in the new words.
        self._device_changed()
        self._username_changed()
        self._number_changed()
        self._extension_changed()
        for row in self.query(FieldRow):
            row.refresh_message()
        if self.site is not None:
            await self._show_groups(self.site)
        # Where the operator was stays focused: the next L is a key again, not a letter.
        self._show_step(refocus=False)

    def _relabel_catalog_choices(self) -> None:
        licence = self.query_one("#licence", Select)
        chosen = licence.value
        licence.set_options(
            (literal_text(catalogs.label("licences", row["code"], language())), row["code"])
            for row in catalogs.shipped("licences")
        )
        licence.value = chosen
        services = self.query_one("#services", SelectionList)
        for index, row in enumerate(catalogs.shipped("services")):
            services.replace_option_prompt_at_index(index, literal(catalogs.label("services", row["code"], language())))

    def _show_step(self, *, refocus: bool = True) -> None:
        key = STEPS[self.step]
        self.query_one("#wizard-body", ContentSwitcher).current = f"step-{key}"
        self.query_one("#wizard-title", Label).update(
            t("wizard.title_step", number=self.step + 1, total=len(STEPS), step=t(f"wizard.step.{key}"))
        )
        for index, name in enumerate(STEPS):
            label = self.query_one(f"#steplabel-{name}", Label)
            label.set_class(index == self.step, "-current")
            label.set_class(index < self.step, "-done")
        if self.step == REVIEW:
            self._show_review()
        self._refresh_controls()
        if refocus:
            self.call_after_refresh(self._focus_step)

    def _refresh_controls(self) -> None:
        if not self.refusal.allowed:
            return
        back = self.query_one("#wizard-back", Button)
        # Nothing to go back to from the first step: no button, rather than a
        # disabled one, which without colour or dim reads as if it worked.
        back.display = self.step != DEVICE
        back.disabled = self.creating
        self.query_one("#wizard-next", Button).display = self.step != REVIEW
        create = self.query_one("#wizard-create", Button)
        create.display = self.step == REVIEW
        create.disabled = self.creating or bool(self.problems())
        self.query_one("#wizard-cancel", Button).disabled = self.creating
        if self.step == REVIEW:
            self._show_problems()
        self.refresh_bindings()

    def _focus_step(self) -> None:
        if self.step == DEVICE:
            self.query_one("#device_type").focus()
        elif self.step == DETAILS:
            self._focus_field(
                next((p.field for p in self.problems(DETAILS) if p.field and self._row(p.field).revealed), "first_name")
            )
        elif self.step == SERVICES:
            self.query_one("#licence").focus()
        elif self.step == GROUPS:
            panel = self.group_panel
            enabled = [row.checkbox for row in panel.rows if not row.checkbox.disabled] if panel else []
            if enabled:
                enabled[0].focus()
            else:
                self.query_one("#wizard-next").focus()
        else:
            create = self.query_one("#wizard-create", Button)
            (create if not create.disabled else self.query_one("#wizard-back", Button)).focus()

    def _focus_field(self, name: str) -> None:
        row = self._row(name)
        row.control.focus()
        row.scroll_visible()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """True: shown; None: shown dimmed (not now); False: not in this step."""
        if not self.refusal.allowed:
            return False
        if action == "previous_step":
            return None if self.step == DEVICE or self.creating else True
        if action == "next_step":
            return self.step < REVIEW
        if action == "create":
            if self.step != REVIEW:
                return False
            return None if self.creating or self.problems() else True
        if action == "cancel":
            return None if self.creating else True
        return True

    def action_previous_step(self) -> None:
        if self.step > DEVICE and not self.creating:
            self.step -= 1

    def action_next_step(self) -> None:
        if self.step >= REVIEW:
            return
        problems = self.problems(self.step)
        if problems:
            self._reveal(self.step)
            if problems[0].field:
                self._focus_field(problems[0].field)
            return
        self.step += 1

    def _reveal(self, step: int) -> None:
        for row in self.query_one(f"#step-{STEPS[step]}").query(FieldRow):
            row.reveal()

    @on(ChoiceSet.Confirmed, "#device_type")
    def _device_confirmed(self) -> None:
        # Enter on the device step: the choice is made, on to the details.
        self.action_next_step()

    @on(Button.Pressed, "#wizard-back")
    def _back_pressed(self) -> None:
        self.action_previous_step()

    @on(Button.Pressed, "#wizard-next")
    def _next_pressed(self) -> None:
        self.action_next_step()

    @on(Button.Pressed, "#wizard-create")
    def _create_pressed(self) -> None:
        self.action_create()

    @on(Button.Pressed, "#wizard-cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()

    # ------------------------------------------------------------ create

    def form_data(self) -> dict[str, Any]:
        """The form as the service's input (``NewUser``)."""
        with_phone = self.device_type is DeviceType.DESK_PHONE
        value = lambda name: self._field(name).value.strip() or None  # noqa: E731
        return {
            "first_name": self._field("first_name").value,
            "last_name": self._field("last_name").value,
            "username": value("username"),
            "email": self._field("email").value,
            "site": self._select_value("site") or "",
            "number": self._typed_e164() or self.number_field.value,
            "extension": value("extension"),
            "device_type": self.device_type.value,
            "desk_phone_model": self._select_value("desk_phone_model") if with_phone else None,
            "licence": self._select_value("licence") or DEFAULT_LICENCE,
            "services": list(self.query_one("#services", SelectionList).selected),
            "mobile": value("mobile"),
            "contract": value("contract"),
            "groups": [{"group": name, "role": role} for name, role in self._chosen_groups.items()],
            "accept_flagged": self._flag_accepted is not None and self._flag_accepted == self._typed_e164(),
        }

    def action_create(self) -> None:
        if self.step != REVIEW or self.creating:
            return
        problems = self.problems()
        if problems:
            self._jump_to(problems[0].step, problems[0].field)
            return
        e164, flag = self._typed_e164(), self.number_flag()
        if flag is not None and self._flag_accepted != e164:
            self._ask_about_flag(e164, flag)
            return
        self.creating = True
        self.failure = None
        self._refresh_controls()
        self.run_worker(
            partial(self._create_in_thread, self.form_data()),
            thread=True,
            group="create",
            exclusive=True,
            exit_on_error=False,
        )

    def _ask_about_flag(self, e164: str | None, flag: FieldError) -> None:
        """R21: the carrier flagged the number; creating the user anyway is
        the operator's explicit choice (Cancel has focus)."""

        def answer(create: bool | None) -> None:
            if create and e164 == self._typed_e164():
                self._flag_accepted = e164
                self.action_create()

        self.app.push_screen(
            ConfirmScreen(
                lambda: t("wizard.flagged.title"),
                # The reason is the carrier's text: literal, each part its own line.
                lambda: Content("\n\n").join([literal(flag.message()), literal(t("wizard.flagged.question"))]),
                lambda: t("wizard.flagged.create"),
                variant="warning",
                cancel_label=lambda: t("wizard.flagged.back"),
            ),
            answer,
        )

    def _create_in_thread(self, data: dict[str, Any]) -> None:
        try:
            added = users.add_user_from(self.ctx, data)
        except DomainError as error:
            self.post_message(self.CreateRefused(error))
            return
        # Handed over, never returned: a worker keeps its result, and this one holds a password.
        self.post_message(self.Created(added))

    @on(Created)
    def _created(self, message: Created) -> None:
        added = message.added
        self.creating = False
        self._refresh_controls()
        # What the wizard keeps and returns carries no secret (R8).
        self.added = dataclasses.replace(added, credentials=None)
        for notice in added.notices:
            self.app.notify(t(notice), severity="warning")
        if added.credentials is not None:
            self.app.push_screen(CredentialsOnceScreen([added.credentials]), self._credentials_left)
        else:
            self._finish()

    def _credentials_left(self, _: None) -> None:
        self._finish()

    def _finish(self) -> None:
        assert self.added is not None
        user = self.added.user
        self.app.notify(t("wizard.created", name=user.name, username=user.username), markup=False)
        self.dismiss(self.added)

    def show_worker_failure(self, group: str | None, reason: str) -> None:
        if group == "create":
            self.creating = False
            self.failure = reason
        elif group == "sites":
            self._row("site").set_hint(t("workers.failed.load", reason=reason))
        elif group == "site":
            self._wanted_site = None  # choosing the site again asks again
            self.number_field.set_hint(t("workers.failed.load", reason=reason))
        elif group == "number":
            self._number_checking = False
            self.number_field.set_hint(t("workers.failed.check", reason=reason))
        elif group in ("username", "extension"):
            self._field(group).set_hint(t("workers.failed.check", reason=reason))
        self._refresh_controls()

    @on(CreateRefused)
    def _create_failed(self, message: CreateRefused) -> None:
        """Put the service's answer where it belongs; keep everything typed."""
        error = message.error
        self.creating = False
        field_errors: list[FieldError] = []
        general: list[str] = []
        if isinstance(error, InvalidInput):
            field_errors = list(error.errors)
        elif isinstance(error, Conflict) and error.key in CONFLICT_FIELD:
            field_errors = [FieldError(CONFLICT_FIELD[error.key], error.key, dict(error.params))]
        else:
            # A rule (R4, R14 ...), a vanished site: not one field's fault.
            general.append(error.message())
        form_order = list(FIELD_STEP)
        first: tuple[int, int, str | None] | None = None
        for item in field_errors:
            rows = self.query(f"#{item.field}-field")
            place: tuple[int, int, str | None]
            if item.field in FIELD_STEP and rows:
                target = rows.first(FieldRow)
                target.set_external_error(item)
                target.reveal()
                place = (FIELD_STEP[item.field], form_order.index(item.field), item.field)
            else:
                general.append(f"{t('field.' + item.field)}: {item.message()}")
                place = (FIELD_STEP.get(item.field, REVIEW), len(form_order), None)
            if first is None or place < first:
                first = place
        self.failure = "; ".join(general) if general else None
        if self.failure:
            self.app.notify(t("wizard.review.failed", message=self.failure), severity="error", markup=False)
        if first is not None and first[0] < REVIEW:
            self._jump_to(first[0], first[2])
        else:
            self._refresh_controls()

    def _jump_to(self, step: int, field: str | None) -> None:
        self._reveal(step)
        if self.step != step:
            self.step = step
        else:
            self._refresh_controls()
        if field is not None and FIELD_STEP.get(field) == DETAILS:
            self.call_after_refresh(self._focus_field, field)

    # ------------------------------------------------------------ leave

    def is_dirty(self) -> bool:
        """Has the operator put anything in that leaving would lose?"""
        typed = any(
            self._field(name).value.strip()
            for name in ("first_name", "last_name", "email", "number", "mobile", "contract")
        )
        chosen = (
            self.device_type is not DeviceType.DESK_PHONE
            or self._select_value("desk_phone_model") is not None
            or self._select_value("licence") != DEFAULT_LICENCE
            or bool(self.query_one("#services", SelectionList).selected)
            or bool(self._chosen_groups)
        )
        return typed or chosen or not self.username_follows or not self.extension_follows

    def action_cancel(self) -> None:
        if self.creating:
            return
        if not self.is_dirty():
            self.dismiss(None)
            return

        ask_to_discard(self, lambda: t("wizard.discard.title"), lambda: t("wizard.discard.question"))
