"""The directory's header: who is signed in, how many users per status match
the filter, how many are shown and marked, and how the list is sorted.

One widget painting two lines: it changes on every keystroke of the filter,
and a repaint is much cheaper than the layout pass that resizing labels
would start; its lines go to the screen as drawn (:mod:`.lines`).
"""

from __future__ import annotations

from rich.style import Style
from rich.text import Text

from onenet_tui.data.actor import Actor
from onenet_tui.data.directory import STATUSES, Directory
from onenet_tui.i18n import format_number, t
from onenet_tui.visible import visible
from onenet_tui.widgets.badges import badge
from onenet_tui.widgets.lines import TextLines


def count(number: int) -> str:
    """12,345 / 12.345: grouped as the language writes numbers."""
    return format_number(number)


class StatusHeader(TextLines):
    """Line 1: operator and role; the view (status filter, sort, marks).
    Line 2: users per status for the filter; how many are shown."""

    DEFAULT_CSS = """
    StatusHeader { height: 2; }
    """

    COMPONENT_CLASSES = {
        "status-header--operator",
        "status-header--view",
        "status-header--pending",
        "status-header--activated",
        "status-header--failed",
        "status-header--selected",
        "status-header--muted",
        "status-header--shown",
    }

    def __init__(self, actor: Actor, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.actor = actor
        self.operator = ""
        self.view = ""
        self.shown = ""
        self.short_shown = ""
        # (text, status, selected / muted / plain)
        self.counts: list[tuple[str, str, str]] = []
        self.show_operator()

    # -- what the screen calls

    def show_operator(self) -> None:
        # The name comes from --operator, the environment or the login: drawn as
        # plain Text (never markup) and with its control characters made visible.
        name = visible(self.actor.name)
        self.operator = t("directory.header.operator", name=name, role=t(f"role.{self.actor.role.value}"))
        if self.actor.sites is not None:
            # R25: the scope is named, so a site administrator knows why others' users are absent.
            sites = ", ".join(visible(site) for site in self.actor.site_names) or t("site_admin.no_sites")
            self.operator = t("site_admin.header", operator=self.operator, sites=sites)
        self.refresh()

    def show(self, directory: Directory, marked: int) -> None:
        numbers = directory.counts()
        selected = directory.status.value if directory.status is not None else None
        counts = []
        for status in STATUSES:
            number = "…" if numbers is None else count(numbers[status])
            emphasis = "plain" if selected is None else "selected" if selected == status else "muted"
            counts.append((f"{badge(status)} {number}", status, emphasis))
        state = (counts, self._view(directory, marked), self._shown(directory))
        if state != (self.counts, self.view, self.shown):
            self.counts, self.view, self.shown = state
            self.short_shown = self._short_shown(directory)
            self.refresh()

    def plain(self) -> str:
        """The two lines as text (for tests and screen readers' logs)."""
        return self.render().plain

    # -- painting

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(f"status-header--{name}", partial=True)

    def text_lines(self, width: int) -> list[Text]:
        top = self._line(Text(self.operator, self._style("operator")), Text(self.view, self._style("view")), width)
        counts = Text()
        for text, status, emphasis in self.counts:
            style = self._style(status)
            if emphasis != "plain":
                style += self._style(emphasis)
            counts.append(text, style)
            counts.append("  ")
        shown = self.shown
        if counts.cell_len + len(shown) >= width and self.short_shown:
            # Too long for the line (German at 80 columns with four-digit counts):
            # the numbers matter, the word "users" can go.
            shown = self.short_shown
        bottom = self._line(counts, Text(shown, self._style("shown")), width)
        return [top, bottom]

    @staticmethod
    def _line(left: Text, right: Text, width: int) -> Text:
        """``left``, then ``right`` against the right edge; cut to ``width``."""
        left.rstrip()
        gap = max(width - left.cell_len - right.cell_len, 1)
        line = Text.assemble(left, " " * gap, right)
        line.truncate(width, overflow="ellipsis")
        return line

    @staticmethod
    def _short_shown(directory: Directory) -> str:
        if directory.loading or not directory.complete:
            return ""
        return t("keys.header.shown_short", shown=count(len(directory)), total=count(directory.total))

    @staticmethod
    def _shown(directory: Directory) -> str:
        if directory.loading:
            return t("directory.header.loading", total=count(directory.total))
        if not directory.complete:
            return t("directory.header.searching")
        return t(
            "directory.header.shown", shown=count(len(directory)), total=count(directory.total), count=directory.total
        )

    @staticmethod
    def _view(directory: Directory, marked: int) -> str:
        arrow = "▼" if directory.descending else "▲"
        parts = []
        if directory.status is not None:
            parts.append(t("directory.header.status_filter", status=badge(directory.status.value)))
        parts.append(t("directory.header.sort", column=t(f"directory.column.{directory.sort.value}"), arrow=arrow))
        if marked:
            parts.append(t("directory.header.marked", count=count(marked)))
        return " · ".join(parts)
