"""The wizard's live checks: read-only service calls in worker threads
(the site's free numbers and groups, a free username, number and
extension) and the form's reactions to what the operator types and chooses.

Each answer comes back as a :class:`LiveChecks.LookupAnswered` message and
is applied only if it still fits the form.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

from textual import on, work
from textual.containers import Vertical
from textual.message import Message
from textual.widget import Widget
from textual.widgets import RadioSet, Select, Static

from onenet_tui.data import phones, users, validation
from onenet_tui.data.context import Context
from onenet_tui.data.errors import FieldError
from onenet_tui.data.free_numbers import FreeNumbers
from onenet_tui.data.models import DeviceType, Status
from onenet_tui.i18n import t
from onenet_tui.screens.add_user.steps import SiteData, WizardSteps
from onenet_tui.screens.workers import post_unless_cancelled
from onenet_tui.widgets.field import ValidatedField
from onenet_tui.widgets.group_panel import GroupOption, GroupPanel

Result = TypeVar("Result")


class LiveChecks(WizardSteps):
    """The step forms, kept checked against the database as they change."""

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

    # ------------------------------------------------------------ sites

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
