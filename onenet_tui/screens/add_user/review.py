"""The wizard's review step: a summary of the form in the operator's
words, and what still keeps the user from being created."""

from __future__ import annotations

from textual.containers import Horizontal, Vertical
from textual.widgets import Label, SelectionList, Static

from onenet_tui.data import catalogs, phones
from onenet_tui.data.models import DeviceType
from onenet_tui.i18n import language, t
from onenet_tui.screens.add_user.live_checks import LiveChecks
from onenet_tui.screens.add_user.steps import STEPS
from onenet_tui.widgets.field import literal


class ReviewStep(LiveChecks):
    """The last step: everything entered, and every problem left, at a glance."""

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
