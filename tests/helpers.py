"""The one toolbox of the tests: the small tenant, the host app that opens one
screen, the waits (``settle``, ``until``, ``ready``), typing, and the command
line runners. Test modules import from here (fixtures live in conftest.py),
never from one another."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from array import array
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Input, Select, Static

from onenet_tui import cli
from onenet_tui.app import OneNetApp
from onenet_tui.data import carrier, handover, phones, user_csv, users
from onenet_tui.data.context import Actor, Context, carrier_context
from onenet_tui.data.directory import Directory, DirectoryData
from onenet_tui.data.models import GroupKind, Role
from onenet_tui.data.storage import Store
from onenet_tui.data.tenant import create_group, create_site, create_tenant
from onenet_tui.data.user_csv import ImportFile
from onenet_tui.data.users import AddedUser
from onenet_tui.screens.add_user import AddUserWizard
from onenet_tui.screens.bulk_credentials import BulkCredentialsScreen, ConfirmResetScreen
from onenet_tui.screens.bulk_result import BulkResultScreen
from onenet_tui.screens.directory import DirectoryScreen
from onenet_tui.screens.user_detail import UserDetailScreen
from onenet_tui.widgets.field import FieldRow
from onenet_tui.widgets.status_header import StatusHeader
from onenet_tui.widgets.user_table import UserTable

# --- the small tenant ---------------------------------------------------------------

BERLIN_NUMBERS = [f"+4930123450{n:02d}" for n in range(40)]
LONDON_NUMBERS = [f"+4420794600{n:02d}" for n in range(20)]
FLAGGED = {"+493012345039": "porting not finished"}
DE_MOBILE = "+4915123456789"
GB_MOBILE = "+447400123456"


@dataclass
class World:
    store: Store
    admin: Context
    helpdesk: Context
    carrier: Context


def build_world(store: Store) -> World:
    """Two sites (Berlin DE, London GB) with number pools and all four kinds of group."""
    with store.transaction() as session:
        create_tenant(session, "Test tenant")
        berlin = create_site(session, "Berlin", "DE", "berlin.sip.example.net", BERLIN_NUMBERS, FLAGGED)
        london = create_site(session, "London", "GB", "london.sip.example.net", LONDON_NUMBERS)
        for site, prefix in ((berlin, "BER"), (london, "LON")):
            create_group(session, site, f"{prefix} Hunt", GroupKind.HUNT_GROUP)
            create_group(session, site, f"{prefix} Callcenter", GroupKind.CALL_CENTER)
            create_group(session, site, f"{prefix} Pickup", GroupKind.PICKUP)
            create_group(session, site, f"{prefix} Park", GroupKind.CALL_PARK)
    return World(
        store,
        Context(store, Actor("alice", Role.ADMIN)),
        Context(store, Actor("hugo", Role.HELPDESK)),
        carrier_context(store),
    )


def new_user_data(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "first_name": "Jürgen",
        "last_name": "Müller",
        "email": "juergen.mueller@example.com",
        "site": "Berlin",
        "number": "030 12345001",
        "device_type": "desk_phone",
        "desk_phone_model": "yealink-t54w",
    }
    data.update(overrides)
    return data


def add(world: World, **overrides: object) -> AddedUser:
    return users.add_user_from(world.admin, new_user_data(**overrides))


def add_active(world: World, **overrides: object) -> AddedUser:
    added = add(world, **overrides)
    carrier.set_status(world.carrier, added.user.username, "activated")
    return added


# (first, last, site, number, device model or None, final status)
PEOPLE = [
    ("Jürgen", "Müller", "Berlin", "030 12345001", "yealink-t54w", "activated"),
    ("Anna", "Schmidt", "Berlin", "030 12345002", "cisco-8851", "pending"),
    ("Oliver", "Smith", "London", "020 7946 0001", None, "activated"),
    ("Fatma", "Yılmaz", "Berlin", "030 12345003", "yealink-t46u", "failed"),
    ("Zoë", "Lefèvre", "London", "020 7946 0002", "polycom-vvx450", "pending"),
    ("Hans-Peter", "Weiß", "Berlin", "030 12345004", None, "activated"),
    ("Grace", "Jones", "London", "020 7946 0003", "gigaset-maxwell3", "activated"),
    ("Łukasz", "Nowak", "Berlin", "030 12345005", "yealink-t54w", "pending"),
]


def add_person(world: World, first: str, last: str, site: str, number: str, model_code: str | None, status: str) -> str:
    country_mobile = DE_MOBILE if site == "Berlin" else GB_MOBILE
    extra: dict[str, object] = (
        {"device_type": "desk_phone", "desk_phone_model": model_code}
        if model_code
        else {"device_type": "none", "desk_phone_model": None, "mobile": country_mobile, "contract": "1234567"}
    )
    email = f"{phones.digits(number)}@example.com"
    added = users.add_user_from(
        world.admin, new_user_data(first_name=first, last_name=last, site=site, number=number, email=email, **extra)
    )
    username = added.user.username
    if added.credentials is not None:
        # Seen and left with Next, as in the wizard: no never-handed-over marker.
        handover.record_handed_over(world.admin, username, added.user.id)
    if status == "activated":
        carrier.set_status(world.carrier, username, "activated")
    elif status == "failed":
        carrier.set_status(world.carrier, username, "failed", "porting not finished")
    return username


def build_people(world: World, people: list[tuple[str, str, str, str, str | None, str]] = PEOPLE) -> list[str]:
    """The fixed tenant of the directory tests; returns the usernames."""
    return [add_person(world, *person) for person in people]


# --- one screen in a host app -----------------------------------------------------------

SIZE = (80, 24)
UNSET = object()


class Host(App[None]):
    """Stands in for the directory: opens one screen, keeps what it returns.

    ``ctx`` is for screens that, like in the console, take the context from the
    app; ``title`` is the name on the snapshots' window frame."""

    def __init__(self, make: Callable[[], Screen[Any]], ctx: Context | None = None, title: str = "Host") -> None:
        super().__init__()
        self.title = title
        self._make = make
        if ctx is not None:
            self.ctx = ctx
        self.shown: Screen[Any] | None = None
        self.results: list[Any] = []

    def on_mount(self) -> None:
        self.shown = self._make()
        self.push_screen(self.shown, self.results.append)

    @property
    def result(self) -> Any:
        """What the screen returned last, or UNSET while it is open."""
        return self.results[-1] if self.results else UNSET


@contextlib.asynccontextmanager
async def opened(make: Callable[[], Screen[Any]], **host: Any) -> AsyncIterator[tuple[Host, Pilot[Any]]]:
    """``make()``'s screen on a :class:`Host` at 80x24, its first lookups
    answered (``host``: the Host's ``ctx`` or ``title``)."""
    app = Host(make, **host)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        yield app, pilot


# --- waiting and typing -------------------------------------------------------------------


async def settle(pilot: Pilot[Any]) -> None:
    """Let lookups in worker threads finish and their answers reach the screen.
    At least three rounds: an answer's rows lay out (a DataTable sizes its
    columns when idle) a round after they arrive."""
    for round_ in range(10):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        if round_ >= 2 and not any(worker.is_running for worker in pilot.app.workers):
            return


async def until(pilot: Any, condition: Callable[[], bool]) -> None:
    """Let the app work until ``condition`` holds (workers run in threads)."""
    for _ in range(1000):
        if condition():
            return
        await pilot.pause(0.01)
    raise AssertionError("the screen never got there")


async def type_text(pilot: Pilot[Any], text: str) -> None:
    """Type ``text`` key by key and let the checks it starts finish."""
    await pilot.press(*text)
    await settle(pilot)


async def focus(pilot: Pilot[Any], widget: Any) -> None:
    """Focus a field directly (focus is applied on the next message loop turn)."""
    widget.focus()
    await pilot.pause()
    assert pilot.app.focused is widget


async def clear_focused(pilot: Pilot[Any]) -> None:
    focused = pilot.app.focused
    assert isinstance(focused, Input)
    await pilot.press("end", *["backspace"] * len(focused.value))


# --- the console and its directory ------------------------------------------------------------

ADMIN = Actor("alice", Role.ADMIN)
HELPDESK = Actor("hugo", Role.HELPDESK)


def make_app(world: World, actor: Actor = ADMIN, **options: object) -> OneNetApp:
    options.setdefault("theme", "textual-dark")
    options.setdefault("poll_seconds", 0.1)
    return OneNetApp(Context(world.store, actor), **options)  # type: ignore[arg-type]


async def ready(pilot) -> DirectoryScreen:  # type: ignore[no-untyped-def]
    """Wait until the directory is loaded and answered."""
    for _ in range(500):
        screen = pilot.app.screen
        if isinstance(screen, DirectoryScreen) and screen.directory.data.complete and screen.directory.complete:
            if not screen._worker_running("directory-load"):
                break
        await pilot.pause(0.01)
    await pilot.pause()
    return pilot.app.screen


def lines(screen: DirectoryScreen) -> list[str]:
    table = screen.table
    return ["".join(segment.text for segment in table.render_line(y)).rstrip() for y in range(table.size.height)]


def cursor_name(screen: DirectoryScreen) -> str | None:
    row = screen.table.cursor_row
    return row.name if row else None


def footer_words(screen: Screen[Any]) -> str:
    """The footer as drawn: binding descriptions are catalog keys, the footers
    translate them as they draw (the directory's KeyFooter, the others' Footer)."""
    from textual.widgets._footer import FooterKey, FooterLabel

    from onenet_tui.widgets.key_footer import KeyFooter

    for footer in screen.query(KeyFooter):
        return footer.text_lines(400)[0].plain
    parts = [f"{key.key_display} {key.description}".strip() for key in screen.query(FooterKey)]
    parts += [str(label.content) for label in screen.query(FooterLabel)]
    return " ".join(parts)


def notifications(app: OneNetApp) -> list[str]:
    return [f"{n.title}: {n.message}" for n in app._notifications]


def header(screen: DirectoryScreen) -> str:
    return screen.query_one(StatusHeader).plain()


# --- the add-user wizard ----------------------------------------------------------------------

FIXED_PASSWORD = "Fixed7Desk9Phone4Secret"
# Short on purpose: every key is a real key press, and each one costs time.
FIRST, LAST, EMAIL, USERNAME = "Jörg", "Lutz", "jl@ex.de", "joerg.lutz"


def wizard_host(ctx: Context, site: str | None = None) -> Host:
    # The wizard's pictures were taken in a host of that name.
    return Host(lambda: AddUserWizard(ctx, site=site), title="WizardHost")


@contextlib.asynccontextmanager
async def wizard_at_details(
    ctx: Context, site: str | None = None, *, desk_phone: bool = True
) -> AsyncIterator[tuple[Host, Pilot[Any]]]:
    """The wizard at 80x24 on step 2 (details), the first name focused."""
    app = wizard_host(ctx, site)
    async with app.run_test(size=SIZE) as pilot:
        await to_details(pilot, desk_phone=desk_phone)
        yield app, pilot


def wizard_of(app: Host) -> AddUserWizard:
    assert isinstance(app.shown, AddUserWizard)
    return app.shown


def row(app: Host, field: str) -> FieldRow:
    return wizard_of(app).query_one(f"#{field}-field", FieldRow)


def message(app: Host, field: str) -> str:
    return row(app, field).message_text


def focused_id(app: App[Any]) -> str | None:
    return app.focused.id if app.focused is not None else None


def paste(app: Host, field: str, text: str) -> None:
    """Put text in a field as a paste would (one change), to spare key presses."""
    wizard_of(app).query_one(f"#{field}", Input).insert_text_at_cursor(text)


async def to_details(pilot: Pilot[Any], *, desk_phone: bool = True) -> None:
    """Step 1 by keys: the radio set has focus, desk phone is pressed."""
    await settle(pilot)
    if not desk_phone:
        await pilot.press("down", "space")  # space chooses; enter would also move on
    await pilot.press("ctrl+n")
    await settle(pilot)
    assert focused_id(pilot.app) == "first_name"


async def fill_names_and_email(pilot: Pilot[Any], first: str = FIRST, last: str = LAST, email: str = EMAIL) -> None:
    await type_text(pilot, first)
    await pilot.press("tab")
    await type_text(pilot, last)
    await pilot.press("tab", "tab")  # the proposed username stays
    await type_text(pilot, email)


async def to_groups(pilot: Pilot[Any]) -> None:
    await to_details(pilot)
    await fill_names_and_email(pilot)
    await pilot.press("tab", "tab", "down", "tab", "tab", "enter", "down", "enter")
    await settle(pilot)
    await pilot.press("ctrl+n", "ctrl+n")
    await settle(pilot)
    assert wizard_of(pilot.app).step == 3  # type: ignore[arg-type]


async def at_groups(pilot: Pilot[Any]) -> None:
    """Step 4 (groups) with the answers ``to_groups`` types, put in as pastes
    and picks: the later steps' pictures need the answers, not the walk."""
    app = pilot.app
    assert isinstance(app, Host)
    await to_details(pilot)
    for field, text in (("first_name", FIRST), ("last_name", LAST), ("email", EMAIL), ("number", "030 12345000")):
        paste(app, field, text)
        await settle(pilot)
    wizard_of(app).query_one("#desk_phone_model", Select).value = "yealink-t54w"
    await settle(pilot)
    await pilot.press("ctrl+n", "ctrl+n")
    await settle(pilot)
    assert wizard_of(app).step == 3


async def steady(pilot: Pilot[Any]) -> None:
    """No blinking cursor in a picture."""
    await settle(pilot)
    for widget in pilot.app.screen.query(Input):
        widget.cursor_blink = False
    await pilot.pause()


# --- the command line -----------------------------------------------------------------------


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def users_add(
    number: str,
    *options: str,
    first: str = "Jürgen",
    last: str = "Müller",
    email: str = "juergen.mueller@example.com",
    site: str = "Berlin",
    desk_phone: str | None = "yealink-t54w",
) -> list[str]:
    """The ``users add`` command line for one person; ``options`` follow
    (``--format json``, ``--mobile`` ...); ``desk_phone=None`` is ``--no-desk-phone``."""
    device = ["--desk-phone", desk_phone] if desk_phone else ["--no-desk-phone"]
    person = ["--site", site, "--first", first, "--last", last, "--email", email, "--number", number]
    return ["users", "add", *person, *device, *options]


def cli_env(tmp: Path, db_url: str | None = None, **extra: str) -> dict[str, str]:
    """A clean environment: no config file, no inherited ONENET_* settings."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("ONENET_")}
    env.update({"ONENET_CONFIG": str(tmp / "no-config.toml"), "ONENET_OPERATOR": "alice"})
    if db_url:
        env["ONENET_DB_URL"] = db_url
    env.update(extra)
    return env


def run_cli(*args: str, env: dict[str, str], stdin: str | None = None) -> Result:
    """``python -m onenet_tui ARGS``: the same entry point as the onenet-tui script."""
    done = subprocess.run(
        [sys.executable, "-m", "onenet_tui", *args],
        env=env,
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=180,
    )
    return Result(done.returncode, done.stdout, done.stderr)


def call(*args: str, env: dict[str, str], stdin: str = "") -> Result:
    """``cli.main(ARGS)`` in this process, with ``env`` as the environment."""
    out, err = io.StringIO(), io.StringIO()
    with (
        mock.patch.dict(os.environ, env, clear=True),
        mock.patch.object(sys, "stdin", io.StringIO(stdin)),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        code = cli.main(list(args))
    return Result(code, out.getvalue(), err.getvalue())


def copy_database(template: Path, target: Path) -> str:
    """A private copy of a closed SQLite database; returns its URL."""
    shutil.copyfile(template, target)
    for suffix in ("-wal", "-shm"):
        extra = Path(f"{template}{suffix}")
        if extra.exists():
            shutil.copyfile(extra, Path(f"{target}{suffix}"))
    return f"sqlite:///{target}"


OPEN_AT_ONCE = textwrap.dedent(
    """
    import os, sys, time
    from onenet_tui.data.storage import Store
    go = sys.argv[2]
    while not os.path.exists(go):
        time.sleep(0.001)
    Store(sys.argv[1]).dispose()
    """
)


def open_at_once(tmp_path: Path, url: str, processes: int) -> list[tuple[int, str]]:
    """Start ``processes`` processes that wait for one signal, then all open
    ``url`` at the same moment; returns each one's exit code and stderr."""
    go = tmp_path / f"go-{time.monotonic_ns()}"
    children = [
        subprocess.Popen([sys.executable, "-c", OPEN_AT_ONCE, url, str(go)], stderr=subprocess.PIPE, text=True)
        for _ in range(processes)
    ]
    time.sleep(2.5)  # let every child import SQLAlchemy and reach the wait
    go.touch()
    outcomes = []
    for child in children:
        _, err = child.communicate(timeout=120)
        outcomes.append((child.returncode, (err.strip().splitlines() or [""])[-1]))
    return outcomes


# --- the user's detail ---------------------------------------------------------------------


def detail(ctx: Context, username: str) -> Host:
    return Host(lambda: UserDetailScreen(ctx, username, poll_seconds=None))


@contextlib.asynccontextmanager
async def detail_opened(ctx: Context, username: str) -> AsyncIterator[tuple[Host, Pilot[Any]]]:
    """The user's detail screen at 80x24, loaded (see :func:`opened`)."""
    async with opened(lambda: UserDetailScreen(ctx, username, poll_seconds=None)) as shown:
        yield shown


def failed_user(world: World) -> str:
    """Fritz, on the flagged number, whose porting the carrier failed (R3)."""
    added = add(
        world,
        first_name="Fritz",
        last_name="Fehler",
        number="030 12345039",
        accept_flagged=True,
        email="fritz@example.com",
    )
    carrier.set_status(world.carrier, added.user.username, "failed", "porting not finished")
    return added.user.username


def text_of(screen: Screen[Any], selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


# --- bulk credentials -------------------------------------------------------------------------


def three_desk_phones(world: World) -> list[int]:
    """Jürgen and Anna (activated) and Carla (pending), all with desk phones."""
    added = [
        add_active(world),
        add_active(world, first_name="Anna", last_name="Schmidt", email="anna@example.com", number="030 12345002"),
        add(world, first_name="Carla", last_name="Klein", email="carla@example.com", number="030 12345003"),
    ]
    return [a.user.id for a in added if a.user.id is not None]


# A Berlin user's fields for a mobile and no desk phone (R17; R9: nothing to regenerate).
NO_DESK_PHONE: dict[str, object] = {
    "device_type": "none",
    "desk_phone_model": None,
    "mobile": DE_MOBILE,
    "contract": "1234567",
}
BOB_WITHOUT_DESK_PHONE: dict[str, object] = {
    "first_name": "Bob",
    "last_name": "Mobil",
    "email": "bob@example.com",
    "number": "030 12345004",
    **NO_DESK_PHONE,
}


def without_desk_phone(world: World) -> int:
    added = add(world, **BOB_WITHOUT_DESK_PHONE)
    assert added.user.id is not None
    return added.user.id


def bulk_host(ctx: Context, ids: list[int], source: str = "marked", **options: Any) -> Host:
    return Host(lambda: BulkCredentialsScreen(ctx, ids, source=source, **options))


@contextlib.asynccontextmanager
async def bulk_preview(
    ctx: Context, ids: list[int], source: str = "marked", **options: Any
) -> AsyncIterator[tuple[Host, Pilot[Any], BulkCredentialsScreen]]:
    """The bulk credentials screen for ``ids`` at 80x24, its preview loaded."""
    app = bulk_host(ctx, ids, source, **options)
    async with app.run_test(size=SIZE) as pilot:
        yield app, pilot, await preview_loaded(pilot)


async def preview_loaded(pilot: Pilot[Any]) -> BulkCredentialsScreen:
    await until(
        pilot, lambda: isinstance(pilot.app.screen, BulkCredentialsScreen) and pilot.app.screen.preview is not None
    )
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, BulkCredentialsScreen)
    return screen


async def confirm_reset(pilot: Pilot[Any]) -> BulkResultScreen:
    """ctrl+s, then the confirmation with the file name (Cancel focused): tab
    to the confirm button, enter; the CSV gets its default name."""
    await pilot.press("ctrl+s")
    await until(pilot, lambda: isinstance(pilot.app.screen, ConfirmResetScreen))
    assert pilot.app.focused is not None and pilot.app.focused.id == "cancel"
    await pilot.press("tab", "enter")
    await until(pilot, lambda: isinstance(pilot.app.screen, BulkResultScreen))
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, BulkResultScreen)
    return screen


async def choose_admin_mode(pilot: Pilot[Any]) -> None:
    """The radio set has focus: move to "admin-chosen", select it, tab to the password."""
    await pilot.press("down", "enter")
    await pilot.pause()
    await pilot.press("tab")
    await pilot.pause()


def plainly_matches(data: DirectoryData, index: int, query: str, groups: dict[int, list[str]] | None = None) -> bool:
    """The filter's meaning written plainly, row by row, without the
    directory's shortcuts: every free word in the haystack, the site, the
    desk phone model's code or label, or the department; every term on its
    field (``groups``: user id -> the names of their groups). What the
    directory answers must equal it."""
    from onenet_tui.data.directory import device_label, licence_label, strip_accents, terms

    parsed = terms.parse(query)
    if parsed.errors:
        return False
    hay, device, licence = data.haystacks[index], data.devices[index], data.licences[index]
    site, department = strip_accents(data.sites[index]), strip_accents(data.departments[index])
    # Free words keep their accents ("süd"): they also look at the names as written, lower case.
    sites, departments = (site, data.sites[index].casefold()), (department, data.departments[index].casefold())
    models = (
        []
        if device in ("none", "desk_phone")
        else [device, *(f(device_label(device, lang)) for lang in ("en", "de") for f in (strip_accents, str.casefold))]
    )
    for word in parsed.words:
        held = [hay, *sites, *(departments if department else ()), *models]
        if not any(word in text for text in held):
            return False
    for term in parsed.terms:
        value, field = term.value, term.field
        if term.in_haystack:
            ok = term.key in hay
        elif field is terms.Field.SITE:
            ok = terms.prefix_of_a_word(value, site)
        elif field is terms.Field.DEPARTMENT:
            ok = terms.prefix_of_a_word(value, department)
        elif field is terms.Field.STATUS:
            ok = data.statuses[index] in terms.statuses(value)
        elif field is terms.Field.LOCKED:
            ok = bool(data.locked[index]) in terms.locked_values(value)
        elif field is terms.Field.GROUP:
            ok = any(value in strip_accents(name) for name in (groups or {}).get(data.ids[index], []))
        elif field is terms.Field.DEVICE:
            forms = [device, *(strip_accents(device_label(device, lang)) for lang in ("en", "de"))]
            if device == "none":
                forms += terms.NO_DEVICE_FORMS
            ok = any(value in form for form in forms)
        else:
            forms = [licence, *(strip_accents(licence_label(licence, lang)) for lang in ("en", "de"))]
            ok = any(value in form for form in forms)
        if not ok:
            return False
    return True


# --- the user table alone ----------------------------------------------------------------------


def synthetic(count: int) -> DirectoryData:
    columns = {
        "ids": array("q", range(1, count + 1)),
        "statuses": ["activated"] * count,
        "names": [f"User {n:06d}" for n in range(count)],
        "extensions": [f"{n % 10000:04d}" for n in range(count)],
        "numbers": array("q", (493012340000 + n % 10000 for n in range(count))),
        "sites": ["Berlin"] * count,
        "devices": ["yealink-t54w"] * count,
        "licences": ["standard"] * count,
        "versions": array("q", [1] * count),
        "haystacks": [f"user {n:06d}" for n in range(count)],
        "departments": [""] * count,
        "facets": [("Berlin", "yealink-t54w", "")] * count,
        "locked": array("b", bytes(count)),
    }
    return DirectoryData(**columns, countries={"Berlin": "DE"}, name_order=array("i", range(count)))


class TableApp(App[None]):
    def __init__(self, directory: Directory) -> None:
        super().__init__()
        self.directory = directory

    def compose(self) -> ComposeResult:
        yield UserTable(self.directory, set())

    def on_mount(self) -> None:
        self.query_one(UserTable).reload()


def import_file(*rows: dict[str, str]) -> ImportFile:
    """A users CSV (R23) of ``rows`` (column -> cell; absent columns empty), as read."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(user_csv.COLUMNS)
    for cells in rows:
        writer.writerow([cells.get(c, "") for c in user_csv.COLUMNS])
    return user_csv.read_text(buffer.getvalue(), "in.csv")
