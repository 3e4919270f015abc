"""A large tenant for the benchmarks, inserted in bulk.

The demo builder (``onenet_tui.data.demo``) is used when it exists; until then
this module writes users straight into the tables, which takes seconds rather
than the minutes 100,000 service calls would.
"""

from __future__ import annotations

import random
from pathlib import Path

from sqlalchemy import insert, select

from onenet_tui.data.models import PhoneNumber, Status, User, utcnow
from onenet_tui.data.storage import Store
from onenet_tui.data.tenant import create_site, create_tenant

FIRST = [
    "Jürgen",
    "Anna",
    "Lukas",
    "Sophie",
    "Mehmet",
    "Zoë",
    "Olivia",
    "Noah",
    "Émile",
    "Grace",
    "Fatma",
    "Karl",
    "Ingrid",
    "Oliver",
    "Amelia",
    "Jack",
    "Hannah",
    "Björn",
    "Chloé",
    "Ravi",
]
LAST = [
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Becker",
    "Smith",
    "Jones",
    "Taylor",
    "Brown",
    "Williams",
    "Wilson",
    "Yılmaz",
    "Kowalski",
    "O'Brien",
    "Nguyen",
    "Hoffmann",
    "Schäfer",
    "Koch",
    "Richter",
    "Klein",
    "Wolf",
    "Patel",
]
# (name, country, SIP domain, number template): each template yields valid numbers.
SITES = [
    ("Berlin", "DE", "berlin.sip.example.net", "+49301{:07d}"),
    ("Hamburg", "DE", "hamburg.sip.example.net", "+49402{:07d}"),
    ("München", "DE", "muenchen.sip.example.net", "+49891{:07d}"),
    ("London", "GB", "london.sip.example.net", "+44203{:07d}"),
    ("Manchester", "GB", "manchester.sip.example.net", "+441614{:06d}"),
]
MODELS = ["yealink-t54w", "yealink-t46u", "cisco-8851", "polycom-vvx450", "gigaset-maxwell3"]
LICENCES = ["standard", "standard", "standard", "premium", "common_area"]
STATUSES = [Status.ACTIVATED.value] * 8 + [Status.PENDING.value, Status.FAILED.value]


def build_tenant(url: str, users: int, *, seed: int = 7) -> None:
    """A tenant of ``users`` users spread over five sites, most activated."""
    rng = random.Random(seed)
    now = utcnow()
    store = Store(url)
    per_site = users // len(SITES) + 1
    with store.transaction() as session:
        create_tenant(session, "Benchmark tenant")
        sites = [
            create_site(session, name, country, domain, (template.format(n) for n in range(per_site + 10)))
            for name, country, domain, template in SITES
        ]
        numbers = {
            site.id: list(
                session.execute(
                    select(PhoneNumber.id, PhoneNumber.e164)
                    .where(PhoneNumber.site_id == site.id)
                    .order_by(PhoneNumber.id)
                ).all()
            )
            for site in sites
        }
        rows = []
        for n in range(users):
            site = sites[n % len(SITES)]
            number_id, e164 = numbers[site.id][n // len(SITES)]
            first, last = rng.choice(FIRST), rng.choice(LAST)
            desk = rng.random() < 0.8
            username = f"{first}.{last}.{n}".lower().replace("'", "")
            rows.append(
                {
                    "first_name": first,
                    "last_name": last,
                    "username": username,
                    "site_id": site.id,
                    "number_id": number_id,
                    "extension": e164[-5:],
                    "device_type": "desk_phone" if desk else "none",
                    "desk_phone_model": rng.choice(MODELS) if desk else None,
                    "licence": rng.choice(LICENCES),
                    "services": [],
                    "mobile": None if desk else "+4915123456789",
                    "contract": None if desk else "123456",
                    "email": f"{username}@example.com",
                    "status": rng.choice(STATUSES),
                    "status_reason": None,
                    "version": 1,
                    "created_at": now,
                    "status_changed_at": now,
                }
            )
            if len(rows) == 10_000:
                session.execute(insert(User), rows)
                rows.clear()
        if rows:
            session.execute(insert(User), rows)
    store.dispose()


def tenant_file(folder: Path, users: int) -> str:
    """A SQLite URL with ``users`` users, built once and reused by later runs."""
    path = folder / f"directory-{users}.db"
    url = f"sqlite:///{path}"
    if not path.exists():
        try:
            build_tenant(url, users)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
    return url


# --- the references: the same rows in Textual's DataTable and textual-fastdatatable ---


def reference_app(impl: str, url: str):  # type: ignore[no-untyped-def]
    """A minimal app showing the directory's rows in a reference table, with
    a filter input filtering the obvious way (rebuild the table's rows)."""
    from textual import on, work
    from textual.app import App, ComposeResult
    from textual.binding import Binding
    from textual.widgets import DataTable, Input

    from onenet_tui.data import directory as model
    from onenet_tui.widgets.badges import badge

    labels = ["Status", "Name", "Ext.", "Number", "Site", "Device", "Licence"]

    class ReferenceApp(App[None]):
        CSS = "Input { height: 1; border: none; padding: 0 1; } DataTable { height: 1fr; }"
        AUTO_FOCUS = None
        BINDINGS = [Binding("slash", "show_filter"), Binding("escape", "hide_filter")]

        def __init__(self) -> None:
            super().__init__()
            self.loaded = False
            self.applied_query = ""
            self.cells: list[tuple[str, ...]] = []
            self.hays: list[str] = []
            self.table = None

        def compose(self) -> ComposeResult:
            yield Input(id="filter")
            if impl == "datatable":
                self.table = DataTable(id="table")
                yield self.table

        def on_mount(self) -> None:
            self.query_one(Input).display = False
            self.load()

        def frame_state(self, app: object) -> dict[str, object]:
            rows = self.table.row_count if self.table is not None else 0
            return {"rows": rows, "complete": self.loaded, "query": self.applied_query, "cursor": self.cursor_row}

        @property
        def cursor_row(self) -> int | None:
            return None if self.table is None else self.table.cursor_coordinate.row

        @work(thread=True)
        def load(self) -> None:
            data = model.load(Store(url))
            cells = [
                (
                    badge(row.status),
                    row.name,
                    row.extension,
                    row.number,
                    row.site,
                    model.device_label(row.device),
                    model.licence_label(row.licence),
                )
                for row in map(data.row, range(len(data)))
            ]
            backend = None
            if impl == "fastdatatable":
                from textual_fastdatatable import ArrowBackend

                backend = ArrowBackend.from_records(cells, column_names=labels)
            self.call_from_thread(self.show, cells, data.haystacks, backend)

        async def show(self, cells: list[tuple[str, ...]], hays: list[str], backend: object) -> None:
            self.cells, self.hays = cells, hays
            if impl == "datatable":
                assert self.table is not None
                self.table.add_columns(*labels)
                self.table.add_rows(cells)
                self.table.focus()
            else:
                await self._mount_fast(backend)
            self.loaded = True

        async def _mount_fast(self, backend: object) -> None:
            from textual_fastdatatable import DataTable as FastDataTable

            if self.table is not None:
                await self.table.remove()
            self.table = FastDataTable(backend=backend, render_markup=False, id="table")
            await self.mount(self.table)
            if not isinstance(self.focused, Input):
                self.table.focus()

        def action_show_filter(self) -> None:
            self.query_one(Input).display = True
            self.query_one(Input).focus()

        def action_hide_filter(self) -> None:
            # As esc in the directory: the filter is cleared and every row shown again.
            self.query_one(Input).value = ""
            self.query_one(Input).display = False
            if self.table is not None:
                self.table.focus()

        @on(Input.Changed)
        async def filter_rows(self, event: Input.Changed) -> None:
            wanted = model.needles(event.value)
            rows = [cell for cell, hay in zip(self.cells, self.hays, strict=True) if all(n in hay for n in wanted)]
            if impl == "datatable":
                assert self.table is not None
                self.table.clear()
                self.table.add_rows(rows)
            else:
                from textual_fastdatatable import create_backend

                await self._mount_fast(create_backend(rows, column_names=labels))
            self.applied_query = event.value

    return ReferenceApp()
