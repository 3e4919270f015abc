"""The references of ``benchmarks/launch.py``, each a whole process:

    python benchmarks/launch_reference.py bare|fastdatatable|datatable sqlite:///tenant.db

``bare`` paints one word ("launched"); the tables show the directory's
columns of every user, read with stdlib sqlite3 in the directory's order, the
way a small Textual app on this database would be written.
"""

from __future__ import annotations

import sqlite3
import sys

from textual.app import App, ComposeResult
from textual.widgets import Static

LABELS = ["Status", "Name", "Ext.", "Number", "Site", "Device", "Licence"]
SQL = """
SELECT users.status, users.last_name || ', ' || users.first_name, users.extension, phone_numbers.e164,
       sites.name, coalesce(users.desk_phone_model, users.device_type), users.licence
FROM users JOIN phone_numbers ON phone_numbers.id = users.number_id JOIN sites ON sites.id = users.site_id
ORDER BY users.last_name, users.first_name, users.id
"""


def rows(url: str) -> list[tuple[str, ...]]:
    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        return conn.execute(SQL).fetchall()


class Bare(App[None]):
    def compose(self) -> ComposeResult:
        yield Static("launched")


def main() -> None:
    impl, url = sys.argv[1], sys.argv[2]
    if impl == "bare":
        Bare().run()
        return
    records = rows(url)
    if impl == "fastdatatable":
        from textual_fastdatatable import ArrowBackend, DataTable

        backend = ArrowBackend.from_records(records, column_names=LABELS)

        class Fast(App[None]):
            def compose(self) -> ComposeResult:
                yield DataTable(backend=backend, render_markup=False)

        Fast().run()
        return
    from textual.widgets import DataTable as Stock

    class Table(App[None]):
        def compose(self) -> ComposeResult:
            yield Stock()

        def on_mount(self) -> None:
            table = self.query_one(Stock)
            table.add_columns(*LABELS)
            table.add_rows(records)

    Table().run()


if __name__ == "__main__":
    main()
