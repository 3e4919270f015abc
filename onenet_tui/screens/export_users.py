"""The directory's users to a CSV file (SPEC section 12): exactly the users
the directory shows, filter and status filter applied, in the order shown,
in the columns an import reads, so the file re-imports as "unchanged".

The ids are taken from the directory when the key is pressed; the dialog
(the export directory's path prompt) reads the users and writes the file in
its worker. The file holds no secrets: credentials are never among the
columns, and every cell is neutralised for spreadsheets (section 8).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from onenet_tui.data import export_dir, user_csv
from onenet_tui.data.context import Context
from onenet_tui.data.models import utcnow
from onenet_tui.data.policy import Action, enforce
from onenet_tui.i18n import t
from onenet_tui.screens.save_file import PathPromptScreen


def default_export_name(now: datetime | None = None) -> str:
    moment = now or utcnow()
    return f"users-{moment:%Y%m%d-%H%M%S}.csv"


def users_csv_text(ctx: Context, ids: Sequence[int]) -> tuple[str, int]:
    """The export's text for ``ids`` in that order, and how many users it holds."""
    stream = io.StringIO(newline="")
    with user_csv.export_users(ctx, ids=ids) as chosen:
        user_csv.write(stream, chosen)
    return stream.getvalue(), chosen.count


class ExportUsersScreen(PathPromptScreen):
    """Which file in the export directory the directory's users go to.
    Dismisses with the path written, or None; :attr:`count` then says how
    many users the file holds."""

    WORDS = "csv_console.export"

    def __init__(
        self, ctx: Context, ids: Sequence[int], *, directory: Path | None = None, now: datetime | None = None
    ) -> None:
        super().__init__(
            lambda: t("csv_console.export.title", count=len(ids)),
            default_export_name(now),
            note=lambda: t("csv_console.export.note"),
            directory=directory,
        )
        self.ctx = ctx
        self.ids = list(ids)
        self.count = 0

    def write(self, path: Path, overwrite: bool) -> Path:
        # The service layer's word, not only the dimmed key (R14).
        enforce(Action.EXPORT_USERS, self.ctx.actor.role)
        text, self.count = users_csv_text(self.ctx, self.ids)
        return export_dir.write_text(self.directory, path.name, text, overwrite=overwrite)
