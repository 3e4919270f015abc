"""Deleting a user, key ``d`` (R7): irreversible, so deliberate.

Only an activated user can be deleted (a pending or failed one gets the
reason instead of the dialog, R5/R7). The confirmation has Cancel focused,
says what goes (user, credentials, services, portal account, every group
membership; the number is free again at once), lists the affected groups with
their remaining members — the people to tell — and enables Delete only once
the user's extension is typed. Afterwards that list can be saved as plain
text or CSV. The dialog dismisses with the DeletionReport (None if cancelled).
"""

from __future__ import annotations

from typing import Any

from textual import events, on, work
from textual.containers import Horizontal, VerticalScroll
from textual.widget import Widget
from textual.widgets import Button, Input, Label, Static

from onenet_tui.data import exports, phones, users
from onenet_tui.data.errors import DomainError, StaleData
from onenet_tui.data.lookup import UserView
from onenet_tui.data.users import DeletionReport
from onenet_tui.i18n import t
from onenet_tui.screens.lifecycle_base import UserActionScreen
from onenet_tui.screens.save_file import SaveTextScreen, file_name_part
from onenet_tui.screens.workers import post_unless_cancelled
from onenet_tui.widgets.field import literal

DIGITS = frozenset("0123456789")


def group_lines(report: DeletionReport) -> list[str]:
    """``BER Hunt (Hunt group): anna.schmidt, bob.jones`` per affected group."""
    lines = []
    for group in report.groups:
        members = ", ".join(group.remaining) if group.remaining else t("lifecycle.delete.no_other_members")
        lines.append(t("lifecycle.delete.group_line", group=group.name, kind=t(f"kind.{group.kind}"), members=members))
    return lines


def people_to_tell_text(report: DeletionReport) -> str:
    # National, as everywhere in the console (an E.164 number names its own country).
    number = phones.national(report.number)
    header = t("lifecycle.delete.people_title", name=report.name, username=report.username, number=number)
    body = group_lines(report) or [t("lifecycle.delete.no_groups")]
    return "\n".join([header, "", *body]) + "\n"


def people_to_tell_csv(report: DeletionReport) -> str:
    """One row per remaining member (a group left empty gets a row of its own)."""
    rows: list[tuple[str, str, str, str]] = []
    for group in report.groups:
        for member in group.remaining or [""]:
            rows.append((report.username, group.name, group.kind, member))
    return exports.csv_text(("deleted_user", "group", "kind", "member"), rows)


class DeleteUserScreen(UserActionScreen[DeletionReport | None]):
    ACTION_ID = "delete"
    TITLE_KEY = "lifecycle.delete.title"

    def __init__(self, ctx: Any, username: str) -> None:
        super().__init__(ctx, username)
        self.report: DeletionReport | None = None

    def load_extra(self, view: UserView) -> DeletionReport:
        return users.deletion_preview(self.ctx, view.username)

    # -- the confirmation ----------------------------------------------------

    def build_body(self, view: UserView, preview: DeletionReport) -> list[Widget]:
        number = phones.national(view.number, view.country)
        affected: list[Widget] = [Static(literal(line), classes="delete-group") for line in group_lines(preview)]
        if not affected:
            affected = [Static(t("lifecycle.delete.no_groups"), classes="delete-group")]
        return [
            Static(
                literal(t("lifecycle.delete.warning", name=view.name, number=number)),
                id="delete-warning",
                classes="lifecycle-warning",
            ),
            Label(t("lifecycle.delete.tell_heading"), classes="lifecycle-section"),
            VerticalScroll(*affected, id="delete-groups"),
            Label(
                literal(t("lifecycle.delete.type_extension", extension=view.extension)),
                classes="lifecycle-label",
            ),
            Input(id="confirm-extension", max_length=6),
            Horizontal(
                Button(t("lifecycle.button.cancel"), id="cancel"),
                Button(t("lifecycle.delete.button"), id="delete", variant="error", disabled=True),
                classes="lifecycle-buttons",
            ),
        ]

    def body_ready(self, view: UserView, extra: Any) -> None:
        # Cancel has the focus: Enter alone never deletes (R7).
        self.query_one("#cancel", Button).focus()

    def on_key(self, event: events.Key) -> None:
        """Digits typed while a button of the confirmation has the focus go
        into the extension field, and the focus stays: Enter still presses Cancel
        (R7), and nobody has to find the field first."""
        if self.done or self.report is not None or not isinstance(self.focused, Button):
            return
        fields = self.query("#confirm-extension")
        if not fields:
            return
        field = fields.first(Input)
        if event.key == "backspace":
            field.value = field.value[:-1]
        elif event.character is not None and event.character in DIGITS:
            # Digits only, as an extension is (R2): letters stay keys (L switches the language).
            field.value += event.character
        else:
            return
        event.stop()
        event.prevent_default()

    @on(Input.Changed, "#confirm-extension")
    def _typed(self, event: Input.Changed) -> None:
        ready = self.view is not None and event.value.strip() == self.view.extension
        self.query_one("#delete", Button).disabled = not ready

    @on(Button.Pressed, "#cancel")
    def _cancel(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(None)

    @on(Button.Pressed, "#delete")
    def _delete_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        view = self.view
        typed = self.query_one("#confirm-extension", Input).value.strip()
        if view is None or typed != view.extension:
            return
        event.button.disabled = True
        self.banner.show(t("lifecycle.delete.deleting"), "info")
        self.run_delete(view)

    @work(thread=True, exclusive=True, group="lifecycle-save", exit_on_error=False)
    def run_delete(self, view: UserView) -> None:
        try:
            report = users.delete_user(self.ctx, view.username, expected_version=view.version)
        except StaleData:
            post_unless_cancelled(self, self.SaveStale())
        except DomainError as error:
            post_unless_cancelled(self, self.SaveRefused(error))
        else:
            post_unless_cancelled(self, self.Saved(report))

    def save_stopped(self) -> None:
        # The typed extension stays: Delete can be pressed again.
        self.query_one("#delete", Button).disabled = False

    def show_stale(self) -> None:
        # The user changed since the confirmation was shown: show it afresh.
        self.banner.show(t("lifecycle.delete.stale", username=self.username), "warning")
        self.load_user()

    # -- afterwards: who to tell -------------------------------------------

    async def saved(self, report: DeletionReport) -> None:
        self.report = report
        self.banner.show(None)
        self.show_subject(lambda: literal(t("lifecycle.delete.deleted_subject")))
        # The whole height: the list scrolls, the buttons under it stay in
        # sight however many groups and members there are.
        self.query_one("#dialog").add_class("-result")
        await self.show_body(lambda: self._done_body(report))
        self.query_one("#close", Button).focus()
        self.show_done()
        self.notify(t("lifecycle.delete.notified", username=report.username), markup=False)

    @staticmethod
    def _done_body(report: DeletionReport) -> list[Widget]:
        lines: list[Widget] = [Static(literal(line), classes="delete-group") for line in group_lines(report)]
        return [
            Static(
                literal(
                    t(
                        "lifecycle.delete.done",
                        name=report.name,
                        username=report.username,
                        number=phones.national(report.number),
                    )
                ),
                id="delete-done",
            ),
            Label(t("lifecycle.delete.tell_heading"), classes="lifecycle-section"),
            VerticalScroll(
                *(lines or [Static(t("lifecycle.delete.no_groups"), classes="delete-group")]),
                id="delete-result-groups",
            ),
            Horizontal(
                Button(t("lifecycle.delete.save_text"), id="save-text", disabled=not report.groups),
                Button(t("lifecycle.delete.save_csv"), id="save-csv", disabled=not report.groups),
                Button(t("lifecycle.button.close"), id="close", variant="primary"),
                classes="lifecycle-buttons",
            ),
        ]

    def action_close(self) -> None:
        self.dismiss(self.report)

    @on(Button.Pressed, "#save-text")
    def _save_text(self, event: Button.Pressed) -> None:
        event.stop()
        if self.report is not None:
            self._save(people_to_tell_text(self.report), "txt")

    @on(Button.Pressed, "#save-csv")
    def _save_csv(self, event: Button.Pressed) -> None:
        event.stop()
        if self.report is not None:
            self._save(people_to_tell_csv(self.report), "csv")

    def _save(self, text: str, suffix: str) -> None:
        assert self.report is not None

        def saved(path: Any) -> None:
            if path is not None:
                self.notify(t("lifecycle.saved", path=str(path)), markup=False)

        name = f"people-to-tell-{file_name_part(self.report.username)}.{suffix}"
        self.app.push_screen(SaveTextScreen(lambda: t("lifecycle.delete.save_title"), name, text), saved)
