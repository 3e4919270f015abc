"""Sites and their number pools (SPEC section 11, R20, R21), key ``S``.

The sites, each with its users, free, assigned and flagged numbers and its
groups; under them the numbers of the site under the cursor (a virtual
list: 10,000 numbers paint only the lines on screen). An administrator adds
a site (``a``), adds numbers or a range with a preview of how many it adds
and which are refused (``n``), flags the number under the cursor with the
carrier's reason (``f``) or clears the flag (``u``); a helpdesk operator
sees each of these dimmed (R14). Reads run in workers and come back as
messages; every change is one service call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.message import Message
from textual.widgets import Input, Select, Static

from onenet_tui import keys
from onenet_tui.data import numbers, phones, sites
from onenet_tui.data.context import Context
from onenet_tui.data.errors import DomainError, InvalidInput
from onenet_tui.data.listing import NumberRow
from onenet_tui.data.numbers import NumbersPreview
from onenet_tui.data.sites import SiteSummary
from onenet_tui.i18n import format_number, t
from onenet_tui.screens.first_run import key_shown
from onenet_tui.screens.lifecycle_base import error_text
from onenet_tui.screens.relabel import LanguageChanged
from onenet_tui.screens.tenant_base import PolicyKeys, TenantForm, field_label, literal_lines, on_result
from onenet_tui.screens.trail import FollowsTrail
from onenet_tui.screens.workers import ReportsWorkerFailures, post_unless_cancelled
from onenet_tui.widgets.cursor_table import CursorTable
from onenet_tui.widgets.field import literal
from onenet_tui.widgets.footer import TranslatedFooter

SITE_COLUMNS = ("site", "country", "domain", "users", "free", "assigned", "flagged", "groups")
NUMBER_COLUMNS = ("number", "holder", "flag")
# Refused numbers the preview names before "and N more": the dialog fits 80x24.
PREVIEW_REFUSALS = 5
# Every number of a site in one read (10,000 are a few milliseconds); the
# table paints only the lines on screen.
ALL_NUMBERS = 1_000_000


def site_cells(site: SiteSummary) -> tuple[str, ...]:
    counts = (site.users, site.free, site.assigned, site.flagged, site.groups)
    return (site.name, site.country, site.sip_domain, *(format_number(n) for n in counts))


def number_cells(row: NumberRow, national: str) -> tuple[str, str, str]:
    holder = row.username if row.username else t("tenant_ui.numbers.free")
    flag = t("tenant_ui.numbers.flagged", reason=row.flag_reason or "") if row.flagged else ""
    return (national, holder, flag)


class SitesScreen(ReportsWorkerFailures, FollowsTrail, PolicyKeys):
    BINDINGS: ClassVar[list[BindingType]] = [
        keys.binding("site.add"),
        keys.binding("site.add_numbers"),
        keys.binding("site.flag"),
        keys.binding("site.unflag"),
        keys.binding("site.back"),
    ]
    DEFAULT_CSS = """
    SitesScreen .tenant-title { height: 1; padding: 0 1; background: $panel; text-style: bold; }
    SitesScreen #sites-table { height: 9; }
    SitesScreen #numbers-title { height: 1; padding: 0 1; background: $panel; }
    SitesScreen #numbers-table { height: 1fr; }
    """

    class SitesLoaded(Message):
        def __init__(self, found: list[SiteSummary]) -> None:
            super().__init__()
            self.sites = found

    class NumbersLoaded(Message):
        def __init__(self, site: str, rows: list[NumberRow], national: list[str]) -> None:
            super().__init__()
            self.site, self.rows, self.national = site, rows, national

    class Changed(Message):
        """A change the screen made itself (unflag): what to say, or the refusal."""

        def __init__(self, text: str, error: DomainError | None = None) -> None:
            super().__init__()
            self.text, self.error = text, error

    def __init__(self, ctx: Context) -> None:
        super().__init__(id="sites")
        self.ctx = ctx
        self.sites: list[SiteSummary] = []
        self.numbers: list[NumberRow] = []
        self._national: list[str] = []
        self._formatted: dict[str, str] = {}  # E.164 -> national, filled by the numbers worker
        self._numbers_of: str | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="sites-title", classes="tenant-title")
        yield CursorTable(self._site_titles(), limits=(24, 7, 24), id="sites-table")
        yield Static("", id="numbers-title")
        yield CursorTable(self._number_titles(), limits=(20, 40, 60), id="numbers-table")
        yield TranslatedFooter(compact=True)

    def _site_titles(self) -> list[str]:
        return [t(f"tenant_ui.sites.column.{c}") for c in SITE_COLUMNS]

    def _number_titles(self) -> list[str]:
        return [t(f"tenant_ui.numbers.column.{c}") for c in NUMBER_COLUMNS]

    @property
    def site_table(self) -> CursorTable:
        return self.query_one("#sites-table", CursorTable)

    @property
    def number_table(self) -> CursorTable:
        return self.query_one("#numbers-table", CursorTable)

    @property
    def cursor_site(self) -> SiteSummary | None:
        if not self.sites:
            return None
        return self.sites[min(self.site_table.cursor, len(self.sites) - 1)]

    @property
    def cursor_number(self) -> NumberRow | None:
        if not self.numbers:
            return None
        return self.numbers[min(self.number_table.cursor, len(self.numbers) - 1)]

    def on_mount(self) -> None:
        self._show_titles()
        self.site_table.focus()
        self.reload()

    def on_language_changed(self, message: LanguageChanged) -> None:
        self.site_table.set_titles(self._site_titles())
        self.number_table.set_titles(self._number_titles())
        self.site_table.replace_rows([site_cells(s) for s in self.sites], cursor=self.site_table.cursor)
        self._show_numbers(keep=self.number_table.cursor)
        self._show_titles()
        self.refresh_bindings()

    # -- reading

    def reload(self) -> None:
        self._load_sites()

    def trail_moved(self) -> None:
        # Another administrator's site, number or flag: read both lists again.
        self.reload()

    @work(thread=True, exclusive=True, group="sites-load", exit_on_error=False, description="load the sites")
    def _load_sites(self) -> None:
        post_unless_cancelled(self, self.SitesLoaded(sites.list_sites(self.ctx)))

    @work(thread=True, exclusive=True, group="numbers-load", exit_on_error=False, description="load the numbers")
    def _load_numbers(self, site: str) -> None:
        page = numbers.number_page(self.ctx, site, limit=ALL_NUMBERS)
        # Formatted here, not on the UI thread, and once: 10,000 numbers take
        # a fifth of a second (phonenumbers), a reload after a flag no more.
        known = self._formatted
        national = [
            known.get(row.e164) or known.setdefault(row.e164, phones.national(row.e164, row.country))
            for row in page.rows
        ]
        post_unless_cancelled(self, self.NumbersLoaded(site, page.rows, national))

    @on(SitesLoaded)
    def _sites_loaded(self, message: SitesLoaded) -> None:
        keep = self.cursor_site.name if self.cursor_site else None
        self.sites = message.sites
        names = [s.name for s in self.sites]
        cursor = names.index(keep) if keep in names else self.site_table.cursor
        self.site_table.replace_rows([site_cells(s) for s in self.sites], cursor=cursor)
        self._show_titles()
        self._numbers_for_cursor(force=True)

    @on(CursorTable.Moved, "#sites-table")
    def _site_moved(self) -> None:
        self._numbers_for_cursor()

    def _numbers_for_cursor(self, force: bool = False) -> None:
        site = self.cursor_site
        if site is None:
            self.numbers, self._national, self._numbers_of = [], [], None
            self._show_numbers()
            return
        if force or site.name != self._numbers_of:
            if site.name != self._numbers_of:
                self.numbers, self._national = [], []
                self._show_numbers()
            self._load_numbers(site.name)

    @on(NumbersLoaded)
    def _numbers_loaded(self, message: NumbersLoaded) -> None:
        site = self.cursor_site
        if site is None or site.name != message.site:
            return  # the cursor moved on meanwhile
        keep = 0
        if self._numbers_of == message.site:
            # On the same number, wherever a number added or removed meanwhile put it.
            current = self.cursor_number
            where = [row.e164 for row in message.rows]
            keep = where.index(current.e164) if current and current.e164 in where else self.number_table.cursor
        self.numbers, self._national, self._numbers_of = message.rows, message.national, message.site
        self._show_numbers(keep=keep)

    def _show_numbers(self, keep: int = 0) -> None:
        flagged = [i for i, row in enumerate(self.numbers) if row.flagged]
        cells = [number_cells(row, national) for row, national in zip(self.numbers, self._national, strict=True)]
        self.number_table.replace_rows(cells, emphasised=flagged, cursor=keep)
        self._show_titles()
        self.refresh_bindings()  # flag and unflag need a number under the cursor

    def _show_titles(self) -> None:
        title = self.query_one("#sites-title", Static)
        if not self.sites:
            title.update(literal(t("tenant_ui.sites.none", key=self._key_shown("site.add"))))
        else:
            title.update(literal(t("tenant_ui.sites.title", count=len(self.sites))))
        site = self.cursor_site
        below = self.query_one("#numbers-title", Static)
        if site is None:
            below.update("")
        elif not site.numbers:
            below.update(literal(t("tenant_ui.numbers.none", site=site.name, key=self._key_shown("site.add_numbers"))))
        else:
            below.update(literal(t("tenant_ui.numbers.title", site=site.name, count=site.numbers)))

    def _key_shown(self, key_id: str) -> str:
        return key_shown(self.app, key_id)

    def show_worker_failure(self, group: str | None, reason: str) -> None:
        self.query_one("#sites-title", Static).update(literal(t("workers.failed.load", reason=reason)))

    # -- what the keys do

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        allowed = super().check_action(action, parameters)
        if allowed and action == "add_numbers" and self.cursor_site is None:
            return None
        if allowed and action in ("flag", "unflag") and self.cursor_number is None:
            return None
        return allowed

    def explain(self, spec: keys.KeyAction) -> None:
        if not self.key_decision(spec).allowed:
            super().explain(spec)
        elif spec.id == "site.add_numbers":
            self.notify(t("tenant_ui.sites.first_site"), severity="warning", markup=False)
        elif spec.id in ("site.flag", "site.unflag"):
            self.notify(t("tenant_ui.numbers.no_number"), severity="warning", markup=False)

    def action_back(self) -> None:
        self.dismiss(None)

    def action_add_site(self) -> None:
        def added(site: SiteSummary) -> None:
            self.notify(t("tenant_ui.sites.added", site=site.name), markup=False)
            self.reload()

        self.app.push_screen(AddSiteForm(self.ctx), on_result(added))

    def action_add_numbers(self) -> None:
        site = self.cursor_site
        if site is None:
            return

        def added(done: numbers.NumbersChange) -> None:
            self.notify(t("tenant_ui.numbers.added", count=done.count, site=site.name), markup=False)
            self.reload()

        self.app.push_screen(AddNumbersForm(self.ctx, site.name), on_result(added))

    def action_flag(self) -> None:
        row = self.cursor_number
        if row is None:
            return

        def flagged(done: numbers.FlagChange) -> None:
            self.notify(t("tenant_ui.numbers.flag_saved", number=phones.national(done.number)), markup=False)
            self.reload()

        self.app.push_screen(FlagForm(self.ctx, row), on_result(flagged))

    def action_unflag(self) -> None:
        row = self.cursor_number
        if row is None:
            return
        if not row.flagged:
            self.notify(t("tenant_ui.numbers.not_flagged", number=phones.national(row.e164, row.country)), markup=False)
            return
        self._unflag(row.e164)

    @work(thread=True, exclusive=True, group="sites-save", exit_on_error=False, description="clear a flag")
    def _unflag(self, e164: str) -> None:
        try:
            done = numbers.unflag_number(self.ctx, e164)
        except DomainError as error:
            post_unless_cancelled(self, self.Changed("", error))
            return
        post_unless_cancelled(self, self.Changed(t("tenant_ui.numbers.unflagged", number=phones.national(done.number))))

    @on(Changed)
    def _changed(self, message: Changed) -> None:
        if message.error is not None:
            self.notify(error_text(message.error), severity="error", markup=False)
        else:
            self.notify(message.text, markup=False)
        self.reload()


# --- the dialogs -------------------------------------------------------------------


COUNTRIES = ("DE", "GB")


class AddSiteForm(TenantForm[SiteSummary]):
    """R20: a name (1-40 characters, unique), the country, the SIP domain."""

    TITLE_KEY = "tenant_ui.site_form.title"

    def fields(self) -> ComposeResult:
        yield field_label(t("tenant_ui.site_form.name"))
        yield Input(id="site-name", max_length=200)
        yield field_label(t("tenant_ui.site_form.country"))
        yield Select(
            [(t(f"tenant_ui.country.{c}"), c) for c in COUNTRIES], value="DE", allow_blank=False, id="site-country"
        )
        yield field_label(t("tenant_ui.site_form.domain"))
        yield Input(id="site-domain", placeholder=t("tenant_ui.site_form.domain_placeholder"))

    def values(self) -> tuple[str, str, str]:
        country = self.query_one("#site-country", Select).value
        return (
            self.query_one("#site-name", Input).value,
            str(country) if country != Select.BLANK else "",
            self.query_one("#site-domain", Input).value,
        )

    def send(self, values: tuple[str, str, str]) -> SiteSummary:
        return sites.add_site(self.ctx, *values)


@dataclass(frozen=True)
class _Previewed:
    entries: tuple[str, ...]
    preview: NumbersPreview | None
    error: DomainError | None


def split_entries(text: str) -> list[str]:
    """Entries typed on one line, separated by commas or semicolons (a range
    holds spaces: ``030 1234 0000-0999``)."""
    return [part.strip() for part in text.replace(";", ",").split(",") if part.strip()]


def preview_text(preview: NumbersPreview) -> str:
    """How many numbers the entries add, or which are refused and why."""
    if preview.refused:
        shown = [f"  {r.error().message()}" for r in preview.refused[:PREVIEW_REFUSALS]]
        more = len(preview.refused) - PREVIEW_REFUSALS
        lines = [t("tenant_ui.numbers_form.refused", count=len(preview.refused)), *shown]
        if more > 0:
            lines.append(t("tenant_ui.numbers_form.more", count=more))
        return "\n".join(lines)
    if not preview.numbers:
        return t("tenant_ui.numbers_form.nothing")
    first, last = (
        phones.national(preview.numbers[0], preview.country),
        phones.national(preview.numbers[-1], preview.country),
    )
    return t("tenant_ui.numbers_form.adds", count=len(preview.numbers), first=first, last=last)


class AddNumbersForm(TenantForm[numbers.NumbersChange]):
    """R21: numbers and ranges, national or E.164, at most 10,000, all or
    nothing; the preview says, as it is typed, how many it adds and which
    are refused."""

    TITLE_KEY = "tenant_ui.numbers_form.title"
    SAVE_KEY = "tenant_ui.numbers_form.save"

    class Previewed(Message):
        def __init__(self, found: _Previewed) -> None:
            super().__init__()
            self.found = found

    def __init__(self, ctx: Context, site: str) -> None:
        super().__init__(ctx)
        self.site = site

    def title_text(self) -> str:
        return t(self.TITLE_KEY, site=self.site)

    def fields(self) -> ComposeResult:
        yield field_label(t("tenant_ui.numbers_form.entries"))
        yield Input(id="numbers-entries", placeholder=t("tenant_ui.numbers_form.placeholder"))
        yield Static(literal(t("tenant_ui.numbers_form.hint")), id="numbers-preview", classes="tenant-form--preview")

    def values(self) -> list[str]:
        return split_entries(self.query_one("#numbers-entries", Input).value)

    def send(self, values: list[str]) -> numbers.NumbersChange:
        return numbers.add_numbers(self.ctx, self.site, values)

    def error_message(self, error: DomainError) -> str:
        # Up to ten refused numbers would fill the dialog: the first here, the rest in the preview.
        if isinstance(error, InvalidInput) and len(error.errors) > 1:
            return t("tenant_ui.numbers_form.refused_banner", first=InvalidInput(error.errors[:1]).message())
        return super().error_message(error)

    @on(Input.Changed, "#numbers-entries")
    def _typed(self, event: Input.Changed) -> None:
        entries = split_entries(event.value)
        if not entries:
            self.query_one("#numbers-preview", Static).update(literal(t("tenant_ui.numbers_form.hint")))
            return
        self._preview(tuple(entries))

    @work(thread=True, exclusive=True, group="numbers-preview", exit_on_error=False, description="preview numbers")
    def _preview(self, entries: tuple[str, ...]) -> None:
        try:
            found = _Previewed(entries, numbers.preview(self.ctx, self.site, entries), None)
        except DomainError as error:
            found = _Previewed(entries, None, error)
        post_unless_cancelled(self, self.Previewed(found))

    @on(Previewed)
    def _show_preview(self, message: Previewed) -> None:
        found = message.found
        if tuple(self.values()) != found.entries:
            return  # typed on meanwhile
        if found.error is not None:
            text = error_text(found.error)
        else:
            assert found.preview is not None
            text = preview_text(found.preview)
        self.query_one("#numbers-preview", Static).update(literal_lines(text))


class FlagForm(TenantForm[numbers.FlagChange]):
    """R21: the carrier's flag on one number, with its reason (1-200
    characters); a pending user on it fails activation (R3)."""

    TITLE_KEY = "tenant_ui.flag_form.title"

    def __init__(self, ctx: Context, row: NumberRow) -> None:
        super().__init__(ctx)
        self.row = row

    def title_text(self) -> str:
        return t(self.TITLE_KEY, number=phones.national(self.row.e164, self.row.country))

    def fields(self) -> ComposeResult:
        if self.row.username:
            yield Static(
                literal(t("tenant_ui.flag_form.holder", username=self.row.username)), classes="tenant-form--note"
            )
        yield field_label(t("tenant_ui.flag_form.reason"))
        yield Input(self.row.flag_reason or "", id="flag-reason")

    def values(self) -> str:
        return self.query_one("#flag-reason", Input).value

    def send(self, values: Any) -> numbers.FlagChange:
        return numbers.flag_number(self.ctx, self.row.e164, str(values))
