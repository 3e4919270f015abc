"""Status badges: a symbol and a word, so a status reads without colour
(SPEC section 4); the colour comes from the stylesheet by status name."""

from __future__ import annotations

from rich.cells import cell_len

from onenet_tui.data.enums import Status
from onenet_tui.i18n import t
from onenet_tui.terminal import glyph

SYMBOLS: dict[str, str] = {
    Status.PENDING.value: "●",
    Status.ACTIVATED.value: "✓",
    Status.FAILED.value: "✗",
}
UNKNOWN_SYMBOL = "?"


def badge_label(status: str) -> str:
    """The word alone, e.g. "Active" / "Aktiviert"."""
    return t(f"directory.badge.{status}")


def badge(status: str) -> str:
    """Symbol and word, e.g. "✓ Active" ("+ Active" without UTF-8)."""
    return f"{glyph(SYMBOLS.get(status, UNKNOWN_SYMBOL))} {badge_label(status)}"


def badge_width() -> int:
    """Cells the widest badge needs in the current language."""
    return max(cell_len(badge(status)) for status in SYMBOLS)
