"""One user, everything about them, and the actions on them (SPEC section 4).

The screen shows the status with what it means (R3), for a failed user the
advice and a support summary to copy or save, then configuration, profile,
call services, groups, portal account and credential metadata (never a
secret). The action keys open the lifecycle dialogs; an action the policy
refuses (R4, R5, R7, R9, R14) stays in the footer, dimmed, and pressing it
says which rule refuses it and why.

Other administrators and the carrier change users too: the screen polls the
audit trail's newest id (cheap) every second and reloads the user when it
moved (SPEC section 7: changes visible within 2 s).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, ClassVar

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Label, Static

from onenet_tui import config, keys
from onenet_tui.data import audit, catalogs, handover, phones, users
from onenet_tui.data.context import Context
from onenet_tui.data.errors import DomainError, NotFound
from onenet_tui.data.lookup import UserView
from onenet_tui.data.models import CredentialMode, DeviceType, Status
from onenet_tui.data.policy import Decision
from onenet_tui.i18n import language, t
from onenet_tui.screens.account_reset import AccountResetScreen
from onenet_tui.screens.audit_log import AuditLogScreen
from onenet_tui.screens.delete_user import DeleteUserScreen
from onenet_tui.screens.edit_configuration import EditConfigurationScreen
from onenet_tui.screens.group_assignments import GroupAssignmentsScreen
from onenet_tui.screens.lifecycle_base import (
    CHANGE_ACTIONS,
    CSS_FILE,
    Facts,
    account_facts,
    decision_for,
    error_text,
    format_time,
)
from onenet_tui.screens.profile import ProfileScreen
from onenet_tui.screens.quiet import QuietBeneath
from onenet_tui.screens.regenerate import RegenerateScreen
from onenet_tui.screens.relabel import LanguageChanged
from onenet_tui.screens.save_file import SaveTextScreen, file_name_part
from onenet_tui.screens.workers import ReportsWorkerFailures, post_unless_cancelled
from onenet_tui.stored_words import carrier_reason
from onenet_tui.visible import visible
from onenet_tui.widgets.badges import badge
from onenet_tui.widgets.field import literal, refusal_text
from onenet_tui.widgets.footer import TranslatedFooter

# ---------------------------------------------------------------- what is shown

Fact = tuple[str, str]


def support_summary(view: UserView) -> str:
    """What the One Net Business team needs to look into a failed activation
    (R3): user, number, site, reason, time. Plain text, one fact a line."""
    lines = [
        t("lifecycle.summary.title"),
        t("lifecycle.summary.user", name=view.name, username=view.username),
        t("lifecycle.summary.number", number=view.number, extension=view.extension),
        t("lifecycle.summary.site", site=view.site),
        t(
            "lifecycle.summary.reason",
            reason=shown_reason(view),
        ),
        t("lifecycle.summary.time", time=format_time(view.status_changed_at)),
    ]
    return "\n".join(visible(line) for line in lines) + "\n"


def _number(e164: str | None, country: str) -> str:
    if not e164:
        return t("lifecycle.none")
    return f"{phones.national(e164, country)}  ({e164})"


def _yes_no(flag: bool, yes: str = "lifecycle.on", no: str = "lifecycle.off") -> str:
    return t(yes if flag else no)


def configuration_facts(view: UserView) -> list[Fact]:
    lang = language()
    none = t("lifecycle.none")
    services = [catalogs.label("services", code, lang) for code in view.services]
    return [
        (t("field.username"), view.username),
        (t("field.site"), view.site),
        (t("field.number"), _number(view.number, view.country)),
        (t("field.extension"), view.extension),
        (t("field.device_type"), t(f"device.{view.device_type}")),
        (t("field.desk_phone_model"), catalogs.label("desk_phones", view.desk_phone_model, lang) or none),
        (t("field.licence"), catalogs.label("licences", view.licence, lang)),
        (t("field.services"), ", ".join(services) or none),
        (t("field.mobile"), _number(view.mobile, view.country)),
        (t("field.contract"), view.contract or none),
    ]


def profile_facts(view: UserView) -> list[Fact]:
    none = t("lifecycle.none")
    languages = {"de": t("lifecycle.language.de"), "en": t("lifecycle.language.en")}
    return [
        (t("field.email"), view.email),
        (t("field.department"), view.department or none),
        (t("field.job_title"), view.job_title or none),
        (t("field.preferred_language"), languages.get(view.preferred_language or "", none)),
    ]


def _forward(target: str | None, country: str) -> str:
    if not target:
        return t("lifecycle.off")
    return phones.national(target, country) if target.startswith("+") else target


def call_service_facts(view: UserView) -> list[Fact]:
    return [
        (t("field.forward_always"), _forward(view.forward_always, view.country)),
        (t("field.forward_busy"), _forward(view.forward_busy, view.country)),
        (t("field.forward_no_answer"), _forward(view.forward_no_answer, view.country)),
        (t("field.do_not_disturb"), _yes_no(view.do_not_disturb)),
        (t("field.call_waiting"), _yes_no(view.call_waiting)),
    ]


def group_facts(view: UserView) -> list[Fact]:
    facts = []
    for group in view.groups:
        name = group.name if not group.role else f"{group.name} ({t(f'role.{group.role}')})"
        facts.append((t(f"kind.{group.kind}"), name))
    return facts


def credential_facts(view: UserView) -> list[Fact]:
    if view.device_type == DeviceType.NONE.value:
        return [(t("lifecycle.detail.credentials"), t("lifecycle.detail.no_desk_phone"))]
    info = view.credentials
    if info is None:
        return [(t("lifecycle.detail.credentials"), t("lifecycle.detail.no_credentials"))]
    mode = "lifecycle.detail.mode_admin" if info.mode == CredentialMode.ADMIN.value else "lifecycle.detail.mode_system"
    return [
        (t("lifecycle.detail.sip_username"), info.sip_username),
        (t("lifecycle.detail.sip_domain"), info.sip_domain),
        (t("lifecycle.detail.generated_at"), format_time(info.generated_at)),
        (t("lifecycle.detail.generated_by"), info.generated_by),
        (t("lifecycle.detail.password"), t(mode)),
    ]


def status_facts(view: UserView) -> list[Fact]:
    facts = [(t("lifecycle.detail.status_since"), format_time(view.status_changed_at))]
    if view.status == Status.FAILED.value:
        facts.append((t("field.reason"), shown_reason(view)))
    return facts


def shown_reason(view: UserView) -> str:
    """The carrier's reason in the operator's language when it is one of the known ones."""
    return carrier_reason(view.status_reason) if view.status_reason else t("lifecycle.none")


def blocked_actions(role: str, view: UserView) -> list[str]:
    """One line per reason an action is refused, e.g. ``Delete: R5: ...``.
    A helpdesk operator gets one line: every change is for administrators."""
    by_reason: dict[tuple[str | None, str | None], tuple[Decision, list[str]]] = {}
    for action_id in CHANGE_ACTIONS:
        decision = decision_for(action_id, role, view)
        if not decision.allowed:
            entry = by_reason.setdefault((decision.rule, decision.reason_key), (decision, []))
            entry[1].append(keys.BY_ID[action_id].name)
    lines = []
    for decision, names in by_reason.values():
        label = t("lifecycle.detail.all_changes") if len(names) == len(CHANGE_ACTIONS) else ", ".join(names)
        lines.append(t("lifecycle.detail.blocked_line", actions=label, reason=refusal_text(decision)))
    return lines


# ---------------------------------------------------------------- widgets


def _heading(key: str) -> Label:
    return Label(t(key), classes="detail-heading")


def read_user(ctx: Context, username: str, user_id: int | None) -> tuple[UserView, bool]:
    """The user the page shows, and whether their credentials were never
    handed over: two statements, which with the audit id read before them
    make three round trips to a remote database for opening the page (a
    fourth only when someone renamed the user meanwhile)."""
    try:
        view = users.view(ctx, username)
    except NotFound:
        if user_id is None:
            raise
        # Renamed by someone else meanwhile: follow the same user.
        view = users.view_by_id(ctx, user_id)
    return view, handover.user_never_handed_over(ctx, view)


def contact_advice(support_contact: str | None) -> str:
    """What to do about a failed activation, naming how to reach the team
    when the config file says (``support_contact``)."""
    if support_contact is None:
        return t("lifecycle.detail.contact_team_unset")
    return t("lifecycle.detail.contact_team_at", contact=support_contact)


def detail_sections(
    view: UserView, role: str, *, unhanded: bool = False, support_contact: str | None = None
) -> list[Widget]:
    """The body of the detail screen for ``view`` as seen by ``role``;
    ``unhanded``: their latest credentials never reached anybody;
    ``support_contact``: how to reach the One Net Business team."""
    # The header already names the status; the body starts with what it means (R3).
    meaning = Static(literal(t(f"lifecycle.status.{view.status}_meaning")), id="status-meaning", classes="detail-note")
    meaning.add_class(f"-{view.status}")
    widgets: list[Widget] = [meaning, Facts(status_facts(view), id="status-facts")]
    if view.status == Status.FAILED.value:
        # The contact is the config file's text: literal, never markup.
        widgets.append(Static(literal(contact_advice(support_contact)), id="failed-advice", classes="detail-note"))
        lines = support_summary(view).rstrip("\n").split("\n")
        widgets.append(Static(Content("\n").join(literal(line) for line in lines), id="support-summary"))
        widgets.append(Static(literal(t("lifecycle.detail.summary_keys")), classes="detail-hint"))
    blocked = blocked_actions(role, view)
    if blocked:
        widgets.append(_heading("lifecycle.detail.section.blocked"))
        widgets.extend(Static(literal(line), classes="detail-blocked") for line in blocked)
    widgets += [
        _heading("lifecycle.detail.section.configuration"),
        Facts(configuration_facts(view), id="configuration-facts"),
        _heading("lifecycle.detail.section.profile"),
        Facts(profile_facts(view), id="profile-facts"),
        _heading("lifecycle.detail.section.call_services"),
        Facts(call_service_facts(view), id="call-facts"),
        _heading("lifecycle.detail.section.groups"),
    ]
    groups = group_facts(view)
    widgets.append(
        Facts(groups, id="group-facts") if groups else Static(t("lifecycle.detail.no_groups"), classes="detail-hint")
    )
    widgets += [
        _heading("lifecycle.detail.section.account"),
        Facts(account_facts(view), id="account-facts"),
        _heading("lifecycle.detail.section.credentials"),
        Facts(credential_facts(view), id="credential-facts"),
    ]
    if unhanded:
        widgets.append(Static(t("secrets.never_handed_over"), id="credentials-unhanded", classes="detail-note"))
    return widgets


# ---------------------------------------------------------------- command palette


class DetailCommands(Provider):
    """The detail screen's actions in the command palette. A refused one is
    listed with its rule and reason, and choosing it explains the refusal
    instead of opening anything (R14 for helpdesk, R5/R7/R9 by status)."""

    def _entries(self) -> list[tuple[str, str, Callable[[], object]]]:
        screen = self.screen
        if not isinstance(screen, UserDetailScreen):
            return []
        entries: list[tuple[str, str, Callable[[], object]]] = []
        for action_id in CHANGE_ACTIONS:
            name = keys.BY_ID[action_id].name
            if screen.check_action(action_id, ()):
                entries.append((name, name, partial(screen.run_action, action_id)))
            else:
                reason = screen.refusal_reason(action_id)
                title = t("lifecycle.palette.refused", action=name, reason=reason)
                entries.append((title, reason, partial(screen.explain_refusal, action_id)))
        return entries

    async def discover(self) -> Hits:
        for title, help_text, command in self._entries():
            yield DiscoveryHit(title, command, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, command in self._entries():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), command, help=help_text)


# ---------------------------------------------------------------- the screen


class UserDetailScreen(ReportsWorkerFailures, QuietBeneath[None]):
    """Everything about one user, with the lifecycle actions on its keys."""

    CSS_PATH = CSS_FILE
    # The directory's user actions under the same ids, so one keymap entry
    # remaps both; here each opens its dialog straight away.
    BINDINGS: ClassVar[list[BindingType]] = [
        keys.binding("back"),
        *(keys.binding(action_id, action_id) for action_id in keys.USER_ACTIONS),
        # Not in the footer (no room at 80 columns): the summary names them beside itself.
        keys.binding("copy_summary"),
        keys.binding("save_summary"),
        keys.binding("history"),
    ]
    COMMANDS = {DetailCommands}
    POLL_SECONDS = 1.0

    def __init__(self, ctx: Context, username: str, *, poll_seconds: float | None = POLL_SECONDS) -> None:
        super().__init__()
        self.ctx = ctx
        self.username = username
        self.user_id: int | None = None
        self.view: UserView | None = None
        self.unhanded = False  # the directory's never-handed-over marker (data.handover)
        self.gone = False
        self._poll_seconds = poll_seconds
        # The audit trail's newest id when the shown data was read.
        self._seen: int | None = None
        self.support_contact = config.support_contact()

    def compose(self) -> ComposeResult:
        with Horizontal(id="detail-header"):
            yield Label(literal(self.username), id="detail-name")
            yield Label("", id="detail-badge")
        with VerticalScroll(id="detail-body"):
            yield Static(t("lifecycle.loading"), classes="detail-hint")
        yield TranslatedFooter(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one("#detail-body").focus()
        self.reload()
        if self._poll_seconds:
            self.set_interval(self._poll_seconds, self._tick)

    # -- loading -----------------------------------------------------------

    def reload(self) -> None:
        self._fetch(force=True)

    def poll_changes(self) -> None:
        """Reload if anything was recorded since the shown data was read."""
        self._fetch(force=False)

    def _tick(self) -> None:
        self.poll_changes()

    class Loaded(Message):
        """The user as read in the worker, with the audit trail's newest id then."""

        def __init__(self, view: UserView, seen: int, unhanded: bool) -> None:
            super().__init__()
            self.view, self.seen, self.unhanded = view, seen, unhanded

    class Gone(Message):
        """The user was deleted meanwhile."""

    class Refused(Message):
        """The service would not show the user."""

        def __init__(self, error: DomainError) -> None:
            super().__init__()
            self.error = error

    @work(thread=True, group="detail-load", exit_on_error=False)
    def _fetch(self, force: bool) -> None:
        answer: Message
        try:
            seen = audit.latest(self.ctx)
            if not force and seen == self._seen:
                return
            view, unhanded = read_user(self.ctx, self.username, self.user_id)
            answer = self.Loaded(view, seen, unhanded)
        except NotFound:
            answer = self.Gone()
        except DomainError as error:
            answer = self.Refused(error)
        post_unless_cancelled(self, answer)

    async def on_language_changed(self, message: LanguageChanged) -> None:
        await self.relabel()

    async def relabel(self) -> None:
        """``L``: the same user in the other language (the app switched it)."""
        if self.view is not None:
            view, seen = self.view, self._seen or 0
            self.view = None  # forces the redraw below
            await self._show(view, seen, self.unhanded)
        self.refresh_bindings()

    async def _show(self, view: UserView, seen: int, unhanded: bool) -> None:
        if self._seen is not None and seen < self._seen:
            return  # an older read that finished late
        changed = view != self.view or self.gone or unhanded != self.unhanded
        self.view, self._seen, self.gone, self.unhanded = view, seen, False, unhanded
        self.username, self.user_id = view.username, view.id
        if not changed:
            return
        self.query_one("#detail-name", Label).update(literal(view.name))
        header_badge = self.query_one("#detail-badge", Label)
        header_badge.update(badge(view.status))
        for status in Status:
            header_badge.set_class(view.status == status.value, f"-{status.value}")
        await self._replace_body(
            detail_sections(view, self.ctx.actor.role, unhanded=unhanded, support_contact=self.support_contact)
        )
        self.refresh_bindings()

    @on(Loaded)
    async def _loaded(self, message: Loaded) -> None:
        await self._show(message.view, message.seen, message.unhanded)

    @on(Gone)
    async def _show_gone(self) -> None:
        self.gone = True
        self.view = None
        self.query_one("#detail-badge", Label).update("")
        await self._replace_body([Static(literal(t("lifecycle.detail.gone", username=self.username)), id="gone")])
        self.refresh_bindings()

    @on(Refused)
    async def _show_error(self, message: Refused) -> None:
        await self._replace_body([Static(literal(error_text(message.error)), classes="detail-blocked")])

    async def show_worker_failure(self, group: str | None, reason: str) -> None:
        await self._replace_body([Static(literal(t("workers.failed.load", reason=reason)), classes="detail-blocked")])

    async def _replace_body(self, widgets: list[Widget]) -> None:
        body = self.query_one("#detail-body", VerticalScroll)
        # Keep the operator's place when a poll brings fresh data.
        scroll_y = body.scroll_y
        with self.app.batch_update():
            await body.remove_children()
            await body.mount_all(widgets)
        body.scroll_to(y=scroll_y, animate=False, immediate=True)

    # -- which actions are possible ---------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in CHANGE_ACTIONS:
            if self.gone:
                return None
            return True if decision_for(action, self.ctx.actor.role, self.view).allowed else None
        if action in ("copy_summary", "save_summary"):
            return self.view is not None and self.view.status == Status.FAILED.value
        return True

    def on_key(self, event: events.Key) -> None:
        """A dimmed action key explains itself instead of doing nothing."""
        active = self.active_bindings.get(event.key)
        if active is None or active.enabled or active.node is not self:
            return
        action = active.binding.action
        if action not in CHANGE_ACTIONS:
            return
        event.stop()
        event.prevent_default()
        self.explain_refusal(action)

    def refusal_reason(self, action_id: str) -> str:
        if self.gone:
            return t("lifecycle.detail.gone", username=self.username)
        return refusal_text(decision_for(action_id, self.ctx.actor.role, self.view))

    def explain_refusal(self, action_id: str) -> None:
        title = t("lifecycle.not_available", action=keys.BY_ID[action_id].name)
        self.notify(self.refusal_reason(action_id), title=title, severity="warning", markup=False)

    # -- actions -----------------------------------------------------------

    def action_back(self) -> None:
        self.dismiss(None)

    def _open(self, screen: Screen[Any]) -> None:
        def done(result: Any) -> None:
            if isinstance(result, UserView):
                self.username = result.username
            self.reload()

        self.app.push_screen(screen, done)

    def action_edit(self) -> None:
        self._open(EditConfigurationScreen(self.ctx, self.username))

    def action_profile(self) -> None:
        self._open(ProfileScreen(self.ctx, self.username))

    def action_groups(self) -> None:
        self._open(GroupAssignmentsScreen(self.ctx, self.username))

    def action_credentials(self) -> None:
        self._open(RegenerateScreen(self.ctx, self.username))

    def action_reset_account(self) -> None:
        self._open(AccountResetScreen(self.ctx, self.username))

    def action_delete(self) -> None:
        def done(report: Any) -> None:
            if report is not None:
                # The user no longer exists: back to where we came from.
                self.dismiss(None)
            else:
                self.reload()

        self.app.push_screen(DeleteUserScreen(self.ctx, self.username), done)

    def action_history(self) -> None:
        """R26: what happened to this user, newest first."""
        if self.user_id is None:
            return
        self.app.push_screen(AuditLogScreen(self.ctx, user_id=self.user_id, username=self.username))

    def action_copy_summary(self) -> None:
        if self.view is None:
            return
        self.app.copy_to_clipboard(support_summary(self.view))
        self.notify(t("lifecycle.detail.copied"), markup=False)

    def action_save_summary(self) -> None:
        if self.view is None:
            return

        def saved(path: Any) -> None:
            if path is not None:
                self.notify(t("lifecycle.saved", path=str(path)), markup=False)

        self.app.push_screen(
            SaveTextScreen(
                lambda: t("lifecycle.detail.save_summary_title"),
                f"support-{file_name_part(self.username)}.txt",
                support_summary(self.view),
            ),
            saved,
        )
