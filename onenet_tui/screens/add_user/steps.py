"""The wizard's step forms: what each step asks, the field rules checked
as the operator types, and what keeps a step from being done.

The fields' rules come from ``validation``; the ones that need the database
are asked by :mod:`.live_checks`, the layer above this one.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from textual.app import ComposeResult
from textual.widgets import Label, Select, Static

from onenet_tui.data import catalogs, phones, validation
from onenet_tui.data.context import Context
from onenet_tui.data.errors import FieldError
from onenet_tui.data.free_numbers import FreeNumbers
from onenet_tui.data.models import DeviceType
from onenet_tui.data.policy import Action, decide
from onenet_tui.data.users import AddedUser
from onenet_tui.i18n import language, t
from onenet_tui.screens.relabel import RelabelledModal
from onenet_tui.widgets.choices import Choice, ChoiceSet, TickList
from onenet_tui.widgets.field import (
    FieldRow,
    NumberField,
    ValidatedField,
    literal,
    literal_text,
    rule_check,
)
from onenet_tui.widgets.group_panel import GroupOption, GroupPanel

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


class WizardSteps(RelabelledModal[AddedUser | None]):
    """The wizard's state and the forms of its steps (device, details, services)."""

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

    def _refresh_controls(self) -> None:
        """Redraw the buttons and keys after the form changed (the wizard draws them)."""

    # ------------------------------------------------------------ step forms

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
