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
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, ClassVar, TypeVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import (
    Button,
    ContentSwitcher,
    Label,
    RadioButton,
    RadioSet,
    Select,
    SelectionList,
    Static,
)

from onenet_tui import keys
from onenet_tui.data import catalogs, phones, users, validation
from onenet_tui.data.context import Context
from onenet_tui.data.errors import Conflict, DomainError, FieldError, InvalidInput
from onenet_tui.data.models import DeviceType, Status
from onenet_tui.data.policy import Action, decide
from onenet_tui.data.users import AddedUser
from onenet_tui.i18n import language, t
from onenet_tui.screens.credentials_once import CredentialsOnceScreen
from onenet_tui.screens.relabel import RelabelledModal
from onenet_tui.screens.save_file import ConfirmScreen
from onenet_tui.screens.workers import ReportsWorkerFailures, post_unless_cancelled
from onenet_tui.widgets.choices import Choice, ChoiceSet, TickList
from onenet_tui.widgets.field import (
    FieldRow,
    FreeNumbers,
    NumberField,
    ValidatedField,
    literal,
    literal_text,
    rule_check,
)
from onenet_tui.widgets.footer import TranslatedFooter
from onenet_tui.widgets.group_panel import GroupOption, GroupPanel

Result = TypeVar("Result")

STEPS = ("device", "details", "services", "groups", "review")
DEVICE, DETAILS, SERVICES, GROUPS, REVIEW = range(len(STEPS))

# Where each field the service may name lives, in the order of the form.
FIELD_STEP: dict[str, int] = {
    "device_type": DEVICE,
    "first_name": DETAILS,
    "last_name": DETAILS,
    "username": DETAILS,
    "email": DETAILS,
    "site": DETAILS,
    "number": DETAILS,
    "extension": DETAILS,
    "desk_phone_model": DETAILS,
    "mobile": DETAILS,
    "contract": DETAILS,
    "licence": SERVICES,
    "services": SERVICES,
    "groups": GROUPS,
    "role": GROUPS,
}
DETAIL_FIELDS = tuple(name for name, step in FIELD_STEP.items() if step == DETAILS)

# A unique value lost to another administrator between check and create.
CONFLICT_FIELD = {
    "conflict.number": "number",
    "conflict.extension": "extension",
    "conflict.username": "username",
}

DEFAULT_LICENCE = "standard"


@dataclass(frozen=True)
class SiteData:
    """What the wizard needs of the chosen site, loaded off the UI thread."""

    name: str
    id: int
    country: str
    numbers: FreeNumbers
    groups: tuple[GroupOption, ...]
    # R21: the free numbers the carrier flagged, each with its notice.
    flags: dict[str, FieldError] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True)
class Problem:
    """Why a step is not complete yet, for the review and for Next."""

    step: int
    field: str | None
    message: str


class AddUserWizard(ReportsWorkerFailures, RelabelledModal[AddedUser | None]):
    """Add one user: five steps, one service call, credentials once."""

    CSS_PATH = "add_user.tcss"

    class LookupAnswered(Message):
        """A read-only service answered; ``apply`` puts the answer in the form."""

        def __init__(self, apply: Callable[[Any], None], answer: Any) -> None:
            super().__init__()
            self.apply, self.answer = apply, answer

    class SitesLoaded(Message):
        """The tenant's site names, read in a worker when the wizard opens."""

        def __init__(self, names: list[str]) -> None:
            super().__init__()
            self.names = names

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

    def __init__(self, ctx: Context, *, site: str | None = None) -> None:
        super().__init__()
        self.ctx = ctx
        self.refusal = decide(Action.ADD_USER, ctx.actor.role)
        # Read in a worker once the wizard is shown (SitesLoaded); the site
        # list is empty until then.
        self.site_names: list[str] = []
        self._site_asked = site
        self._initial_site: str | None = None
        self._sites: dict[str, SiteData] = {}
        self._wanted_site: str | None = None
        self.site: SiteData | None = None
        self.device_type = DeviceType.DESK_PHONE
        self.username_follows = True
        self.extension_follows = True
        # The number the last lookup proved free although it was not in the cache.
        self._number_confirmed: str | None = None
        # ... and its carrier flag, if any (R21).
        self._confirmed_flag: FieldError | None = None
        self._number_checking = False
        # R21: the flagged number the operator said yes to creating the user on.
        self._flag_accepted: str | None = None
        self._chosen_groups: dict[str, str | None] = {}
        self.creating = False
        self.failure: str | None = None
        self.added: AddedUser | None = None

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

    def _compose_device(self) -> ComposeResult:
        yield Static(t("wizard.device.question"), classes="wizard--intro", name="wizard.device.question")
        with ChoiceSet(id="device_type"):
            yield Choice(t("device.desk_phone"), value=True, id="device-desk_phone")
            yield Choice(t("device.none"), id="device-none")
        yield Static("", id="device-help", classes="wizard--hint")

    def _compose_details(self) -> ComposeResult:
        yield ValidatedField(
            t("field.first_name"),
            field="first_name",
            check=rule_check(validation.first_name, "first_name"),
            limit=validation.FIRST_NAME_MAX,
        )
        yield ValidatedField(
            t("field.last_name"),
            field="last_name",
            check=rule_check(validation.last_name, "last_name"),
            limit=validation.LAST_NAME_MAX,
        )
        yield ValidatedField(t("field.username"), field="username", check=rule_check(validation.username, "username"))
        yield ValidatedField(t("field.email"), field="email", check=rule_check(validation.email, "email"))
        yield FieldRow(t("field.site"), self._site_select(), id="site-field")
        yield NumberField(t("field.number"), check=self._number_rule, placeholder=t("wizard.placeholder.number"))
        yield ValidatedField(t("field.extension"), field="extension", check=self._extension_rule)
        yield FieldRow(t("field.desk_phone_model"), self._model_select(), id="desk_phone_model-field")
        yield ValidatedField(t("field.mobile"), field="mobile", check=self._mobile_rule)
        yield ValidatedField(t("field.contract"), field="contract", check=self._contract_rule)

    def _site_select(self) -> Select[str]:
        options = [(literal_text(name), name) for name in self.site_names]
        return Select(
            options,
            value=self._initial_site or Select.NULL,
            # Blank only while there is no site to choose (or the names are loading).
            allow_blank=not options,
            prompt=t("wizard.choose_site"),
            compact=True,
            id="site",
        )

    def _model_select(self) -> Select[str]:
        options = [
            (literal_text(catalogs.label("desk_phones", row["code"], language())), row["code"])
            for row in catalogs.shipped("desk_phones")
        ]
        return Select(options, prompt=t("wizard.choose_model"), compact=True, id="desk_phone_model")

    def _compose_services(self) -> ComposeResult:
        licences = [
            (literal_text(catalogs.label("licences", row["code"], language())), row["code"])
            for row in catalogs.shipped("licences")
        ]
        yield FieldRow(
            t("field.licence"),
            Select(licences, value=DEFAULT_LICENCE, allow_blank=False, compact=True, id="licence"),
            id="licence-field",
        )
        yield Label(t("field.services"), classes="wizard--label", name="field.services")
        yield TickList(
            *(
                (literal(catalogs.label("services", row["code"], language())), row["code"])
                for row in catalogs.shipped("services")
            ),
            id="services",
        )
        yield Static(t("wizard.supervisor_hint"), classes="wizard--hint", name="wizard.supervisor_hint")

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

    @work(thread=True, exclusive=True, group="sites", exit_on_error=False, description="read the site names")
    def _load_site_names(self) -> None:
        post_unless_cancelled(self, self.SitesLoaded(users.site_names(self.ctx)))

    @on(SitesLoaded)
    async def _sites_loaded(self, message: SitesLoaded) -> None:
        names, asked = message.names, self._site_asked
        self.site_names = names
        self._initial_site = asked if asked in names else (names[0] if names else None)
        # A Select cannot stop allowing blank: the loaded list replaces the empty one.
        row = self._row("site")
        old = row.control
        had_focus = old.has_focus
        fresh = self._site_select()
        line = old.parent
        assert isinstance(line, Widget)  # the row's line holds its control
        place = line.children.index(old)
        await old.remove()
        await line.mount(fresh, before=place if place < len(line.children) else None)
        row.control = fresh
        if had_focus:
            fresh.focus()
        if self._initial_site:
            self._choose_site(self._initial_site)
        else:
            self._row("number").set_hint(t("wizard.no_sites"))

    # ------------------------------------------------------------ access

    def _row(self, field: str) -> FieldRow:
        return self.query_one(f"#{field}-field", FieldRow)

    def _field(self, field: str) -> ValidatedField:
        return self.query_one(f"#{field}-field", ValidatedField)

    @property
    def number_field(self) -> NumberField:
        return self.query_one("#number-field", NumberField)

    def _select_value(self, select_id: str) -> str | None:
        value = self.query_one(f"#{select_id}", Select).value
        return value if isinstance(value, str) else None

    @property
    def group_panel(self) -> GroupPanel | None:
        panels = self.query(GroupPanel)
        return panels.first() if panels else None

    # ------------------------------------------------------------ field rules

    def _country(self) -> str | None:
        return self.site.country if self.site else None

    def _number_rule(self, value: str) -> FieldError | None:
        if not value.strip():
            return FieldError("number", "field.required")
        if self._completion(value) is not None:
            return None  # on the way to a free number: not wrong, only not done (see _detail_problems)
        country = self._country()
        return validation.check(validation.number_for_site, "number", value, country) if country else None

    def _extension_rule(self, value: str) -> FieldError | None:
        if not value.strip():
            return FieldError("extension", "field.required")
        return validation.check(validation.extension, "extension", value)

    def _mobile_rule(self, value: str) -> FieldError | None:
        if not value.strip():
            return FieldError("mobile", "r17.mobile_required") if self.device_type is DeviceType.NONE else None
        country = self._country()
        return validation.check(validation.mobile_for_site, "mobile", value, country) if country else None

    def _contract_rule(self, value: str) -> FieldError | None:
        if not value.strip():
            return FieldError("contract", "r17.contract_required") if self.device_type is DeviceType.NONE else None
        return validation.check(validation.contract, "contract", value)

    # ------------------------------------------------------------ lookups

    def _lookup(self, group: str, query: Callable[[], Result], apply: Callable[[Result], None]) -> None:
        """Ask a read-only service in a thread; ``apply`` runs on the UI thread
        and must itself check that its answer still fits the form."""
        self.run_worker(
            partial(self._lookup_in_thread, query, apply), thread=True, exclusive=True, group=group, exit_on_error=False
        )

    def _lookup_in_thread(self, query: Callable[[], Result], apply: Callable[[Result], None]) -> None:
        post_unless_cancelled(self, self.LookupAnswered(apply, query()))

    @on(LookupAnswered)
    def _apply_answer(self, message: LookupAnswered) -> None:
        message.apply(message.answer)

    # ------------------------------------------------------------ site

    def _choose_site(self, name: str) -> None:
        if name == self._wanted_site:
            return
        self._wanted_site = name
        cached = self._sites.get(name)
        if cached is not None:
            self._apply_site(cached)
            return
        self.site = None
        self.number_field.set_free_numbers(None)
        self.number_field.set_hint(t("wizard.loading_numbers", site=name))
        self._lookup("site", partial(_load_site, self.ctx, name), self._site_loaded)

    def _site_loaded(self, data: SiteData) -> None:
        self._sites[data.name] = data
        if self._wanted_site == data.name:
            self._apply_site(data)

    def _apply_site(self, data: SiteData) -> None:
        self.site = data
        self._number_confirmed = None
        self._confirmed_flag = None
        self.number_field.set_free_numbers(data.numbers)
        self.number_field.revalidate()
        self._field("mobile").revalidate()
        self._number_changed()
        self._extension_changed()
        names = {g.name for g in data.groups}
        # Groups belong to one site: choices made for another site do not carry over.
        self._chosen_groups = {name: role for name, role in self._chosen_groups.items() if name in names}
        self.run_worker(self._show_groups(data), group="groups", exclusive=True, exit_on_error=False)
        self._refresh_controls()

    async def _show_groups(self, data: SiteData) -> None:
        holder = self.query_one("#groups-holder", Vertical)
        await holder.remove_children()
        # The new user will be pending (R3): the panel asks the policy with that status (R4).
        await holder.mount(GroupPanel(data.groups, Status.PENDING, self.ctx.actor.role, self._chosen_groups))
        self._refresh_controls()

    # ------------------------------------------------------------ reactions

    @on(RadioSet.Changed, "#device_type")
    def _device_radio(self, event: RadioSet.Changed) -> None:
        self.device_type = DeviceType.NONE if event.pressed.id == "device-none" else DeviceType.DESK_PHONE
        self._device_changed()

    def _device_changed(self) -> None:
        with_phone = self.device_type is DeviceType.DESK_PHONE
        self._row("desk_phone_model").display = with_phone
        self._check_model()
        key = "wizard.device.desk_phone_help" if with_phone else "wizard.device.none_help"
        self.query_one("#device-help", Static).update(t(key))
        placeholder = t("wizard.placeholder.optional" if with_phone else "wizard.placeholder.required")
        for name in ("mobile", "contract"):
            field = self._field(name)
            field.input.placeholder = placeholder
            field.revalidate()

    @on(Select.Changed, "#site")
    def _site_selected(self, event: Select.Changed) -> None:
        if isinstance(event.value, str):
            self._choose_site(event.value)

    @on(Select.Changed, "#desk_phone_model")
    def _model_selected(self) -> None:
        row = self._row("desk_phone_model")
        row.set_external_error(None)
        self._check_model()
        if self._select_value("desk_phone_model") is not None:
            row.reveal()

    def _check_model(self) -> None:
        missing = self.device_type is DeviceType.DESK_PHONE and self._select_value("desk_phone_model") is None
        self._row("desk_phone_model").set_local_error(
            FieldError("desk_phone_model", "device.model_required") if missing else None
        )

    @on(ValidatedField.Changed)
    def _field_changed(self, event: ValidatedField.Changed) -> None:
        name = event.field.field_name
        if name in ("first_name", "last_name") and event.by_user:
            self._propose_username()
        elif name == "username":
            if event.by_user:
                self.username_follows = False
            self._username_changed()
        elif name == "number":
            self._number_changed()
        elif name == "extension":
            if event.by_user:
                self.extension_follows = False
            self._extension_changed()

    def _propose_username(self) -> None:
        """R19: ``first.last`` while the operator has not chosen another."""
        if not self.username_follows:
            return
        first, last = self._field("first_name").value, self._field("last_name").value
        if not (first.strip() or last.strip()):
            self._field("username").set_value("")
            return
        self._field("username").set_value(validation.proposed_username(first, last))

        def apply(unique: str) -> None:
            if self.username_follows and (self._field("first_name").value, self._field("last_name").value) == (
                first,
                last,
            ):
                self._field("username").set_value(unique)

        self._lookup("username", partial(users.proposed_username, self.ctx, first, last), apply)

    def _username_changed(self) -> None:
        field = self._field("username")
        field.set_hint(t("wizard.username_follows") if self.username_follows else None)
        if self.username_follows or field.error is not None:
            return
        wanted = field.value.strip()

        def apply(problem: FieldError | None) -> None:
            if field.value.strip() == wanted:
                field.set_external_error(problem)

        self._lookup("username", partial(users.username_problem, self.ctx, wanted), apply)

    def _number_changed(self) -> None:
        """R16 live: format for the country, then free in this site's pool."""
        field = self.number_field
        site = self.site
        self._number_checking = False
        if site is None:
            return
        field.set_external_error(None)
        e164 = self._typed_e164()
        if self.extension_follows:
            self._field("extension").set_value(validation.default_extension(e164) if e164 else "")
        completion = self._completion(field.value)
        if completion is not None:
            # Typing on completes a free number: no verdict yet (R16).
            shown = phones.national(phones.to_e164(completion, site.country), site.country) or completion
            field.set_hint(t("wizard.number_partial", site=site.name, suggestion=shown))
            return
        if e164 is None:
            if not site.numbers:
                field.set_hint(t("wizard.numbers_none", site=site.name))
            else:
                field.set_hint(t("wizard.numbers_free", count=len(site.numbers), site=site.name))
            self._ask_other_site(site, field.value)
            return
        if e164 in site.numbers or e164 == self._number_confirmed:
            self._show_number_free(site, e164)
            return
        # Not in the cached pool: ask why (or whether it became free meanwhile).
        self._number_checking = True
        field.set_hint(t("wizard.checking"))

        def apply(answer: tuple[FieldError | None, FieldError | None]) -> None:
            if self.site is not site or self._typed_e164() != e164:
                return
            problem, flag = answer
            self._number_checking = False
            if problem is None:
                self._number_confirmed, self._confirmed_flag = e164, flag
                field.set_external_error(None)
                self._show_number_free(site, e164)
            else:
                field.set_external_error(problem)
            self._refresh_controls()

        self._lookup("number", partial(_check_number, self.ctx, site.name, e164), apply)

    def _show_number_free(self, site: SiteData, e164: str) -> None:
        """A number the user may take: free, or, when the carrier flagged it,
        the flag and its reason instead of "free" (R21)."""
        flag = self.number_flag(e164)
        if flag is not None:
            self.number_field.set_hint(flag.message())
        else:
            self.number_field.set_hint(t("wizard.number_free", national=site.numbers.national(e164), site=site.name))

    def number_flag(self, e164: str | None = None) -> FieldError | None:
        """R21: the carrier's flag on the typed number (or ``e164``), if any."""
        e164 = e164 or self._typed_e164()
        if e164 is None or self.site is None:
            return None
        if e164 == self._number_confirmed and e164 not in self.site.numbers:
            return self._confirmed_flag
        return self.site.flags.get(e164)

    def _ask_other_site(self, site: SiteData, typed: str) -> None:
        """R16: a number that is not valid for this site's country but is
        one of another country's: ask whose it is (a London number typed for
        Berlin belongs to London) rather than only "not valid for DE"."""
        if not any(phones.to_e164(typed, country) for country in phones.COUNTRIES if country != site.country):
            return

        def apply(problem: FieldError | None) -> None:
            if self.site is site and self.number_field.value == typed and problem is not None:
                if problem.key == "r16.other_site":
                    self.number_field.set_external_error(problem)
                    self._refresh_controls()

        self._lookup("number", partial(users.number_problem, self.ctx, site.name, typed), apply)

    def _typed_e164(self) -> str | None:
        country = self._country()
        value = self.number_field.value
        if country is None or not value.strip() or self._completion(value) or self._number_rule(value) is not None:
            return None
        return validation.number_for_site(value, country)

    def _completion(self, value: str) -> str | None:
        """A free number of the site that ``value`` is the beginning of (not
        the whole of), in the typed style; None when there is none."""
        site = self.site
        if site is None or not value.strip():
            return None
        suggestion = site.numbers.suggest(value)
        if suggestion is None or phones.digits(suggestion) == phones.digits(value):
            return None
        return suggestion

    def _extension_changed(self) -> None:
        """R2 live: digits, then unique within the site."""
        field = self._field("extension")
        field.set_hint(t("wizard.extension_follows") if self.extension_follows else None)
        site = self.site
        field.set_external_error(None)
        if site is None or field.error is not None:
            return
        wanted = field.value.strip()

        def apply(problem: FieldError | None) -> None:
            if self.site is site and field.value.strip() == wanted:
                field.set_external_error(problem)
                self._refresh_controls()

        self._lookup("extension", partial(users.extension_problem, self.ctx, site.name, wanted), apply)

    @on(GroupPanel.Changed)
    def _groups_changed(self, event: GroupPanel.Changed) -> None:
        self._chosen_groups = dict(event.chosen)

    # ------------------------------------------------------------ validity

    def problems(self, step: int | None = None) -> list[Problem]:
        """What keeps a step (or, without one, the whole form) from being done."""
        steps = [step] if step is not None else list(range(REVIEW))
        found: list[Problem] = []
        for index in steps:
            if index == DETAILS:
                found.extend(self._detail_problems())
            elif index == SERVICES:
                for name in ("licence",):
                    error = self._row(name).error
                    if error is not None:
                        found.append(Problem(SERVICES, name, error.message()))
            elif index == GROUPS and self.group_panel is None:
                found.append(Problem(GROUPS, None, t("wizard.loading_groups")))
        return found

    def _detail_problems(self) -> list[Problem]:
        found: list[Problem] = []
        for name in DETAIL_FIELDS:
            row = self._row(name)
            if not row.display:
                continue
            error = row.error
            if error is not None:
                found.append(Problem(DETAILS, name, error.message()))
            elif name == "site" and self.site is None:
                found.append(Problem(DETAILS, name, t("wizard.loading_site")))
            elif name == "number" and self._number_checking:
                found.append(Problem(DETAILS, name, t("wizard.checking")))
            elif name == "number" and self._completion(self.number_field.value) is not None:
                found.append(Problem(DETAILS, name, t("wizard.number_incomplete")))
        return found

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

    # ------------------------------------------------------------ review

    def _show_review(self) -> None:
        summary = self.query_one("#review-summary", Vertical)
        summary.remove_children()
        summary.mount_all(
            Horizontal(
                Label(label, classes="review--label"),
                Label(literal(value), classes="review--value"),
                classes="review--line",
            )
            for label, value in self._summary()
        )

    def _summary(self) -> list[tuple[str, str]]:
        lang = language()
        dash = t("wizard.review.none")
        first, last = self._field("first_name").value.strip(), self._field("last_name").value.strip()
        e164 = self._typed_e164()
        country = self._country()
        mobile = self._field("mobile").value.strip()
        mobile_e164 = phones.to_e164(mobile, country) if mobile and country else None
        services = self.query_one("#services", SelectionList).selected
        lines = [
            (t("field.device_type"), t(f"device.{self.device_type.value}")),
            (t("field.name"), f"{first} {last}".strip()),
            (t("field.username"), self._field("username").value.strip()),
            (t("field.email"), self._field("email").value.strip()),
            (t("field.site"), self._select_value("site") or dash),
            (
                t("field.number"),
                t("wizard.review.number", national=phones.national(e164, country), e164=e164)
                if e164
                else self.number_field.value.strip() or dash,
            ),
            (t("field.extension"), self._field("extension").value.strip() or dash),
        ]
        flag = self.number_flag(e164)
        if flag is not None:
            lines.append((t("wizard.review.flag"), flag.message()))
        if self.device_type is DeviceType.DESK_PHONE:
            lines.append(
                (
                    t("field.desk_phone_model"),
                    catalogs.label("desk_phones", self._select_value("desk_phone_model"), lang) or dash,
                )
            )
        lines += [
            (t("field.mobile"), phones.national(mobile_e164, country) if mobile_e164 else mobile or dash),
            (t("field.contract"), self._field("contract").value.strip() or dash),
            (t("field.licence"), catalogs.label("licences", self._select_value("licence"), lang)),
            (t("field.services"), ", ".join(catalogs.label("services", code, lang) for code in services) or dash),
            (
                t("field.groups"),
                ", ".join(
                    t("wizard.review.group_role", group=name, role=t(f"role.{role}")) if role else name
                    for name, role in sorted(self._chosen_groups.items())
                )
                or t("wizard.review.groups_none"),
            ),
            (t("field.status"), t("wizard.review.status")),
        ]
        return lines

    def _show_problems(self) -> None:
        lines: list[str] = []
        if self.failure:
            lines.append(t("wizard.review.failed", message=self.failure))
        problems = self.problems()
        if problems:
            lines.append(t("wizard.review.problems"))
            for problem in problems:
                field = t(f"field.{problem.field}") if problem.field else t(f"wizard.step.{STEPS[problem.step]}")
                lines.append(t("wizard.review.problem", step=problem.step + 1, field=field, message=problem.message))
        if self.creating:
            lines.append(t("wizard.review.creating"))
        widget = self.query_one("#review-problems", Static)
        widget.update(literal("\n".join(lines)))
        widget.set_class(bool(self.failure or problems), "-error")

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
                t("wizard.flagged.title"),
                # The reason is the carrier's text: literal, each part its own line.
                Content("\n\n").join([literal(flag.message()), literal(t("wizard.flagged.question"))]),
                t("wizard.flagged.create"),
                variant="warning",
                cancel_label=t("wizard.flagged.back"),
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

        def answer(discard: bool | None) -> None:
            if discard:
                self.dismiss(None)

        self.app.push_screen(
            ConfirmScreen(
                t("wizard.discard.title"),
                t("wizard.discard.question"),
                t("wizard.discard.discard"),
                cancel_label=t("wizard.discard.keep"),
            ),
            answer,
        )


# ---------------------------------------------------------------- worker threads


def _load_site(ctx: Context, name: str) -> SiteData:
    pool = users.site_pool(ctx, name)
    groups = tuple(GroupOption(name, kind) for name, kind in pool.groups)
    numbers = FreeNumbers(pool.free_numbers, pool.country)
    return SiteData(pool.name, pool.id, pool.country, numbers, groups, dict(pool.flags))


def _check_number(ctx: Context, site: str, e164: str) -> tuple[FieldError | None, FieldError | None]:
    """Why ``e164`` cannot be taken at ``site`` (R16), else its carrier flag (R21)."""
    problem = users.number_problem(ctx, site, e164)
    return problem, None if problem is not None else users.number_notice(ctx, site, e164)
