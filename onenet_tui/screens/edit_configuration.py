"""Changing an activated user's configuration (R5), key ``e``.

Names, username, number (a free number of the user's site), extension,
device type, desk phone model, licence, services, One Net mobile and contract
number, checked as you type with the same rules the service applies. Only the
fields that differ from the loaded user are sent, with the version that was
loaded: if someone else changed the user meanwhile the service refuses
(StaleData), the form says so and shows the fresh data. A new desk phone or a
new number means new SIP credentials, shown once (R8).

For a pending or failed user the form is not shown at all: the R5 reason is.
"""

from __future__ import annotations

from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.message import Message
from textual.widgets import Select, SelectionList, Static

from onenet_tui.data import catalogs, phones, users, validation
from onenet_tui.data.credentials import IssuedCredentials
from onenet_tui.data.errors import FieldError
from onenet_tui.data.free_numbers import FreeNumbers
from onenet_tui.data.lookup import UserView
from onenet_tui.data.models import DeviceType
from onenet_tui.data.schemas import ConfigChange, validate
from onenet_tui.data.users import SitePool
from onenet_tui.i18n import language, t
from onenet_tui.screens.credentials_once import CredentialsOnceScreen
from onenet_tui.screens.lifecycle_base import UserForm, UserFormScreen
from onenet_tui.screens.workers import post_unless_cancelled
from onenet_tui.widgets.choices import TickList
from onenet_tui.widgets.field import FieldRow, NumberField, ValidatedField, literal, rule_check


def changed_fields(view: UserView, form: dict[str, Any]) -> dict[str, Any]:
    """The ConfigChange input for what differs between ``view`` and the
    values typed (``form``); always carries the loaded version."""
    data: dict[str, Any] = {"expected_version": view.version}
    for name in ("first_name", "last_name", "username", "extension", "licence", "device_type"):
        if form[name] != getattr(view, name):
            data[name] = form[name]
    if phones.to_e164(form["number"], view.country) != view.number:
        data["number"] = form["number"]
    model = form["desk_phone_model"]
    if form["device_type"] == DeviceType.DESK_PHONE.value and model != view.desk_phone_model:
        data["desk_phone_model"] = model
    if set(form["services"]) != set(view.services):
        data["services"] = list(form["services"])
    for name, clear in (("mobile", "clear_mobile"), ("contract", "clear_contract")):
        typed, stored = form[name], getattr(view, name)
        if not typed:
            if stored:
                data[clear] = True
            continue
        normalised = phones.to_e164(typed, view.country) if name == "mobile" else typed
        if normalised != stored:
            data[name] = typed
    return data


class ConfigurationForm(UserForm):
    """The configuration fields of one user, filled from a UserView."""

    def __init__(self, view: UserView, site: SitePool) -> None:
        super().__init__(id="configuration-form", classes="lifecycle-form")
        self.user = view
        self.free = FreeNumbers([*site.free_numbers, view.number], view.country)
        lang = language()
        self.first_name = ValidatedField(
            t("field.first_name"),
            field="first_name",
            check=rule_check(validation.first_name, "first_name"),
            limit=validation.FIRST_NAME_MAX,
            value=view.first_name,
        )
        self.last_name = ValidatedField(
            t("field.last_name"),
            field="last_name",
            check=rule_check(validation.last_name, "last_name"),
            limit=validation.LAST_NAME_MAX,
            value=view.last_name,
        )
        self.username = ValidatedField(
            t("field.username"),
            field="username",
            check=rule_check(validation.username, "username"),
            value=view.username,
        )
        self.number = NumberField(t("field.number"), check=self._check_number)
        self.number.input.value = phones.national(view.number, view.country)
        self.number.set_free_numbers(self.free)
        self.extension = ValidatedField(
            t("field.extension"),
            field="extension",
            check=rule_check(validation.extension, "extension"),
            value=view.extension,
        )
        # R2: the extension follows the number while it is the default of the
        # number before and the operator has not edited it: once edited (even
        # cleared or typed back to the default) it is theirs, as in the wizard.
        self.last_number = view.number
        self.extension_follows = True
        # The field reports its first value too (on mount): not an edit.
        self.extension_seen = view.extension
        self.device_type: Select[str] = Select(
            [(t("device.desk_phone"), DeviceType.DESK_PHONE.value), (t("device.none"), DeviceType.NONE.value)],
            value=view.device_type,
            allow_blank=False,
            compact=True,
            id="device_type",
        )
        self.model: Select[str] = Select(
            [
                (catalogs.label("desk_phones", row["code"], lang), row["code"])
                for row in catalogs.shipped("desk_phones")
            ],
            value=view.desk_phone_model or Select.NULL,
            prompt=t("lifecycle.edit.choose_model"),
            compact=True,
            id="desk_phone_model",
            disabled=view.device_type == DeviceType.NONE.value,
        )
        self.licence: Select[str] = Select(
            [(catalogs.label("licences", row["code"], lang), row["code"]) for row in catalogs.shipped("licences")],
            value=view.licence,
            allow_blank=False,
            compact=True,
            id="licence",
        )
        self.services: SelectionList[str] = TickList(
            *[
                (catalogs.label("services", row["code"], lang), row["code"], row["code"] in view.services)
                for row in catalogs.shipped("services")
            ],
            id="services",
            compact=True,
        )
        self.mobile = ValidatedField(
            t("field.mobile"),
            field="mobile",
            check=rule_check(validation.mobile_for_site, "mobile", view.country, optional=True),
            value=phones.national(view.mobile, view.country) if view.mobile else "",
        )
        self.contract = ValidatedField(
            t("field.contract"),
            field="contract",
            check=rule_check(validation.contract, "contract", optional=True),
            value=view.contract or "",
        )
        # What a new number does besides: the extension and the old number,
        # said before saving, not found out afterwards.
        self.number_review = Static("", id="number-review", classes="lifecycle-hint")
        self.device_row = FieldRow(t("field.device_type"), self.device_type, id="device_type-field")
        self.model_row = FieldRow(t("field.desk_phone_model"), self.model, id="desk_phone_model-field")
        self.licence_row = FieldRow(t("field.licence"), self.licence, id="licence-field")
        self.services_row = FieldRow(t("field.services"), self.services, id="services-field")

    def compose(self) -> ComposeResult:
        yield self.first_name
        yield self.last_name
        yield self.username
        yield self.number
        yield self.extension
        yield self.number_review
        yield self.device_row
        yield self.model_row
        yield self.licence_row
        yield self.services_row
        yield self.mobile
        yield self.contract

    def on_mount(self) -> None:
        self.number.revalidate()
        self.check_dependencies()
        self.show_number_review()

    def show_number_review(self) -> None:
        """``Number 030 12345001 → 030 12345002 (030 12345001 is free again at
        Berlin); extension 5001 → 5002; new desk phone credentials``, while
        the number typed is a new one."""
        user = self.user
        e164 = phones.to_e164(self.number.value, user.country)
        text = ""
        if e164 is not None and e164 != user.number:
            extension = self.extension.value.strip()
            parts = [
                t(
                    "lifecycle.edit.number_review",
                    old=phones.national(user.number, user.country),
                    new=phones.national(e164, user.country),
                    site=user.site,
                )
            ]
            if extension == user.extension:
                parts.append(t("lifecycle.edit.extension_kept", extension=extension))
            else:
                parts.append(t("lifecycle.edit.extension_review", old=user.extension, new=extension or "-"))
            if self.values()["device_type"] == DeviceType.DESK_PHONE.value:
                parts.append(t("lifecycle.edit.credentials_review"))
            text = "; ".join(parts) + "."
        self.number_review.update(literal(text))
        self.number_review.display = bool(text)

    # -- the rules, live ---------------------------------------------------

    def _check_number(self, value: str) -> FieldError | None:
        error = validation.check(validation.number_for_site, "number", value, self.user.country)
        if error is not None:
            return error
        if phones.to_e164(value, self.user.country) not in self.free:
            return FieldError("number", "lifecycle.edit.number_not_free", {"site": self.user.site})
        return None

    @property
    def rows(self) -> dict[str, FieldRow]:
        return {
            "first_name": self.first_name,
            "last_name": self.last_name,
            "username": self.username,
            "number": self.number,
            "extension": self.extension,
            "device_type": self.device_row,
            "desk_phone_model": self.model_row,
            "licence": self.licence_row,
            "services": self.services_row,
            "mobile": self.mobile,
            "contract": self.contract,
        }

    def values(self) -> dict[str, Any]:
        device = self.device_type.value
        model = self.model.value
        return {
            "first_name": self.first_name.value.strip(),
            "last_name": self.last_name.value.strip(),
            "username": self.username.value.strip(),
            "number": self.number.value.strip(),
            "extension": self.extension.value.strip(),
            "device_type": device if isinstance(device, str) else self.user.device_type,
            "desk_phone_model": model if isinstance(model, str) else None,
            "licence": self.licence.value if isinstance(self.licence.value, str) else self.user.licence,
            "services": [code for code in self.services.selected],
            "mobile": self.mobile.value.strip(),
            "contract": self.contract.value.strip(),
        }

    def check_dependencies(self) -> None:
        """R17 and the desk phone model depend on the device type."""
        values = self.values()
        mobile = values["mobile"] or None
        contract = values["contract"] or None
        problems = {
            e.field: e
            for e in validation.device_dependency_errors(
                values["device_type"], values["desk_phone_model"], mobile, contract
            )
        }
        self.model_row.set_external_error(problems.get("desk_phone_model"))
        # A field's own rule (format) goes first; the dependency only when the field passes it.
        for name in ("mobile", "contract"):
            row = self.rows[name]
            assert isinstance(row, ValidatedField)
            row.set_external_error(problems.get(name))

    @on(Select.Changed, "#device_type")
    def _device_changed(self, event: Select.Changed) -> None:
        without_phone = event.value == DeviceType.NONE.value
        self.model.disabled = without_phone
        if without_phone:
            self.model.clear()
        self.check_dependencies()

    @on(Select.Changed, "#desk_phone_model")
    def _model_changed(self) -> None:
        self.check_dependencies()

    @on(ValidatedField.Changed)
    def _field_changed(self, event: ValidatedField.Changed) -> None:
        name = event.field.field_name
        if name in ("mobile", "contract"):
            self.check_dependencies()
        elif name == "extension":
            if event.by_user and event.value != self.extension_seen:
                self.extension_follows = False
            self.extension_seen = event.value
            self.show_number_review()
            self.screen.check_extension(event.value)  # type: ignore[attr-defined]  # hosted by EditConfigurationScreen
        elif name == "number":
            self.show_number_review()
            e164 = phones.to_e164(event.value, self.user.country)
            if not e164 or e164 == self.last_number:
                return
            if self.extension_follows and self.extension.value.strip() == validation.default_extension(
                self.last_number
            ):
                self.extension.set_value(validation.default_extension(e164))
                self.screen.check_extension(self.extension.value)  # type: ignore[attr-defined]  # hosted by EditConfigurationScreen
            self.last_number = e164


class EditConfigurationScreen(UserFormScreen):
    """Edit configuration; dismisses with the fresh UserView once saved."""

    ACTION_ID = "edit"
    TITLE_KEY = "lifecycle.edit.title"

    def load_extra(self, view: UserView) -> SitePool:
        return users.site_pool(self.ctx, view.site)

    def build_form(self, view: UserView, extra: SitePool) -> UserForm:
        return ConfigurationForm(view, extra)

    def prepare(self, view: UserView, form: UserForm) -> ConfigChange | None:
        assert isinstance(form, ConfigurationForm)
        data = changed_fields(view, form.values())
        return validate(ConfigChange, data) if len(data) > 1 else None

    def send(self, payload: ConfigChange) -> tuple[UserView, IssuedCredentials | None]:
        return users.change_configuration(self.ctx, self.username, payload)

    def saved(self, result: tuple[UserView, IssuedCredentials | None]) -> None:
        view, issued = result
        self.notify(t("lifecycle.edit.saved", username=view.username), markup=False)
        if issued is None:
            self.dismiss(view)
            return
        # A new desk phone or number: its credentials, once (R8), then back.

        def credentials_shown(_: None) -> None:
            # Not awaited: this runs in the dialog's own message loop.
            self.dismiss(view)

        self.app.push_screen(CredentialsOnceScreen([issued]), credentials_shown)

    # -- live uniqueness of the extension (R2) ------------------------------

    @work(thread=True, exclusive=True, group="extension-check", exit_on_error=False)
    def check_extension(self, extension: str) -> None:
        form = self.form
        if not isinstance(form, ConfigurationForm):
            return
        if validation.check(validation.extension, "extension", extension) is not None:
            return
        problem = users.extension_problem(self.ctx, form.user.site, extension, form.user.id)
        post_unless_cancelled(self, self.ExtensionChecked(form, extension, problem))

    class ExtensionChecked(Message):
        def __init__(self, form: ConfigurationForm, extension: str, problem: FieldError | None) -> None:
            super().__init__()
            self.form, self.extension, self.problem = form, extension, problem

    @on(ExtensionChecked)
    def _extension_checked(self, message: ExtensionChecked) -> None:
        form, extension, problem = message.form, message.extension, message.problem
        if form is not self.form or form.extension.value != extension:
            return  # the operator typed on meanwhile
        form.extension.set_external_error(problem)
