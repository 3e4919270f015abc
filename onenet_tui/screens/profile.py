"""Profile and call services, key ``p``: allowed in every status (R5).

Email (R18), department, job title and preferred language; call forwarding
always / when busy / on no answer, each to an extension or a number of the
site's country, do not disturb and call waiting. Profile and call services are
two services, each with the loaded version: the second is sent with the
version the first returned. A stale edit is refused and the form reloaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.app import ComposeResult
from textual.widgets import Label, Select

from onenet_tui.data import phones, users, validation
from onenet_tui.data.lookup import UserView
from onenet_tui.data.schemas import CallServicesChange, ProfileChange, validate
from onenet_tui.i18n import t
from onenet_tui.screens.lifecycle_base import UserForm, UserFormScreen
from onenet_tui.widgets.choices import TickBox
from onenet_tui.widgets.field import FieldRow, ValidatedField, rule_check

FORWARDS = ("forward_always", "forward_busy", "forward_no_answer")


def _shown_target(target: str | None, country: str) -> str:
    if not target:
        return ""
    return phones.national(target, country) if target.startswith("+") else target


def profile_changes(view: UserView, form: dict[str, Any]) -> dict[str, Any] | None:
    """ProfileChange input for what differs, or None when nothing does."""
    data: dict[str, Any] = {"expected_version": view.version}
    if form["email"] != view.email:
        data["email"] = form["email"]
    for name in ("department", "job_title"):
        typed, stored = form[name], getattr(view, name) or ""
        if typed != stored:
            if typed:
                data[name] = typed
            else:
                data[f"clear_{name}"] = True
    if form["preferred_language"] and form["preferred_language"] != view.preferred_language:
        data["preferred_language"] = form["preferred_language"]
    return data if len(data) > 1 else None


def call_service_changes(view: UserView, form: dict[str, Any]) -> dict[str, Any] | None:
    """CallServicesChange input for what differs, or None; an emptied
    forwarding target is sent as ``""``, which switches it off."""
    data: dict[str, Any] = {"expected_version": view.version}
    for name in FORWARDS:
        typed = form[name]
        valid = typed and validation.check(validation.forward_target, name, typed, view.country) is None
        normalised = validation.forward_target(typed, view.country) if valid else typed
        if normalised != (getattr(view, name) or ""):
            data[name] = typed
    for name in ("do_not_disturb", "call_waiting"):
        if form[name] != getattr(view, name):
            data[name] = form[name]
    return data if len(data) > 1 else None


@dataclass(frozen=True)
class ProfileUpdate:
    profile: ProfileChange | None
    calls: CallServicesChange | None


class ProfileForm(UserForm):
    def __init__(self, view: UserView) -> None:
        super().__init__(id="profile-form", classes="lifecycle-form")
        self.user = view
        self.email = ValidatedField(
            t("field.email"), field="email", check=rule_check(validation.email, "email"), value=view.email
        )
        self.department = ValidatedField(t("field.department"), field="department", value=view.department or "")
        self.job_title = ValidatedField(t("field.job_title"), field="job_title", value=view.job_title or "")
        self.language: Select[str] = Select(
            [(t("lifecycle.language.de"), "de"), (t("lifecycle.language.en"), "en")],
            value=view.preferred_language or Select.NULL,
            # The service cannot unset a language once chosen, so no blank then.
            allow_blank=view.preferred_language is None,
            prompt=t("lifecycle.none"),
            compact=True,
            id="preferred_language",
        )
        self.language_row = FieldRow(t("field.preferred_language"), self.language, id="preferred_language-field")
        self.forwards = {
            name: ValidatedField(
                t(f"field.{name}"),
                field=name,
                check=rule_check(validation.forward_target, name, view.country, optional=True),
                placeholder=t("lifecycle.profile.forward_placeholder"),
                value=_shown_target(getattr(view, name), view.country),
            )
            for name in FORWARDS
        }
        self.do_not_disturb = TickBox(t("field.do_not_disturb"), view.do_not_disturb, id="do_not_disturb", compact=True)
        self.call_waiting = TickBox(t("field.call_waiting"), view.call_waiting, id="call_waiting", compact=True)

    def compose(self) -> ComposeResult:
        yield Label(t("lifecycle.profile.section.profile"), classes="lifecycle-section")
        yield self.email
        yield self.department
        yield self.job_title
        yield self.language_row
        yield Label(t("lifecycle.profile.section.call_services"), classes="lifecycle-section")
        yield from self.forwards.values()
        yield self.do_not_disturb
        yield self.call_waiting

    @property
    def rows(self) -> dict[str, FieldRow]:
        return {
            "email": self.email,
            "department": self.department,
            "job_title": self.job_title,
            "preferred_language": self.language_row,
            **self.forwards,
        }

    def values(self) -> dict[str, Any]:
        language = self.language.value
        return {
            "email": self.email.value.strip(),
            "department": self.department.value.strip(),
            "job_title": self.job_title.value.strip(),
            "preferred_language": language if isinstance(language, str) else None,
            **{name: field.value.strip() for name, field in self.forwards.items()},
            "do_not_disturb": self.do_not_disturb.value,
            "call_waiting": self.call_waiting.value,
        }


class ProfileScreen(UserFormScreen):
    """Profile and call services; dismisses with the fresh UserView once saved."""

    ACTION_ID = "profile"
    TITLE_KEY = "lifecycle.profile.title"

    def build_form(self, view: UserView, extra: Any) -> UserForm:
        return ProfileForm(view)

    def prepare(self, view: UserView, form: UserForm) -> ProfileUpdate | None:
        assert isinstance(form, ProfileForm)
        values = form.values()
        profile_data = profile_changes(view, values)
        calls_data = call_service_changes(view, values)
        if profile_data is None and calls_data is None:
            return None
        # Both checked before either is sent, so a bad call service cannot
        # leave a saved profile behind.
        return ProfileUpdate(
            validate(ProfileChange, profile_data) if profile_data else None,
            validate(CallServicesChange, calls_data) if calls_data else None,
        )

    def send(self, payload: ProfileUpdate) -> UserView:
        view = None
        if payload.profile is not None:
            view = users.edit_profile(self.ctx, self.username, payload.profile)
        calls = payload.calls
        if calls is not None:
            if view is not None:
                # The profile change moved the version on.
                calls = calls.model_copy(update={"expected_version": view.version})
            view = users.edit_call_services(self.ctx, self.username, calls)
        assert view is not None
        return view

    def saved(self, result: UserView) -> None:
        self.notify(t("lifecycle.profile.saved", username=result.username), markup=False)
        self.dismiss(result)
