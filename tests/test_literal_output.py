"""Text from data reaches the terminal literally on every path (SPEC section
10, issue 12): the CSV the command line prints, as real processes, and the
console's header with a hostile operator name. ESC, BEL, OSC 52, C1 and bidi
controls never arrive raw; CSV keeps the text, escaped reversibly."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from sqlalchemy import update

from onenet_tui.app import OneNetApp
from onenet_tui.data import exports
from onenet_tui.data.context import Actor, Context
from onenet_tui.data.models import AuditEvent, Role, User
from onenet_tui.visible import visible
from onenet_tui.widgets.status_header import StatusHeader
from tests.helpers import World, add, cli_env, ready, run_cli

OSC52 = "\x1b]52;c;cm0gLXJmIH4=\x07"  # would put "rm -rf ~" on the reader's clipboard
TITLE = "\x1b]0;owned\x07"
HOSTILE_NAME = f"Eve{OSC52}\u202eevil\u2028\x9b31m"
HOSTILE_OPERATOR = f"mallory{TITLE}\x1b[31m[red]x[/]\x1b[2J"
RAW_CONTROL = ("\x1b", "\x07", "\x9b", "\u202e", "\u2028")


def csv_rows(text: str) -> list[dict[str, str]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [exports.restore(cell) for cell in next(reader)]
    return [dict(zip(header, (exports.restore(cell) for cell in row), strict=True)) for row in reader]


@pytest.mark.sqlite_only
def test_csv_of_users_and_audit_escapes_controls_and_reads_back(world: World, db_url: str, tmp_path: Path) -> None:
    added = add(world)
    with world.store.transaction() as session:
        session.execute(update(User).where(User.id == added.user.id).values(first_name=HOSTILE_NAME))
        session.add(AuditEvent(operator=HOSTILE_OPERATOR, action="user.add", target=HOSTILE_NAME, details={}))
    env = cli_env(tmp_path, db_url)
    listed = run_cli("users", "list", "--format", "csv", env=env)
    audit = run_cli("audit", "--format", "csv", env=env)
    for done in (listed, audit):
        assert done.code == 0, done.err
        assert not [ch for ch in RAW_CONTROL if ch in done.out]
    assert [row["first_name"] for row in csv_rows(listed.out)] == [HOSTILE_NAME]
    events = csv_rows(audit.out)
    assert events[-1]["operator"] == HOSTILE_OPERATOR and events[-1]["target"] == HOSTILE_NAME
    assert "Eve\\x1b]52;c;cm0gLXJmIH4=\\x07\\u202eevil\\u2028\\x9b31m" in listed.out


@pytest.mark.sqlite_only
def test_json_and_tables_escape_separators_and_bidi_marks_too(world: World, db_url: str, tmp_path: Path) -> None:
    name = HOSTILE_NAME + "\u200f\u061c\ufeff\U000e0041"
    added = add(world)
    with world.store.transaction() as session:
        session.execute(update(User).where(User.id == added.user.id).values(first_name=name))
    env = cli_env(tmp_path, db_url)
    as_json = run_cli("users", "list", "--format", "json", env=env)
    shown = run_cli("users", "show", added.user.username, env=env)
    for done in (as_json, shown):
        assert done.code == 0, done.err
        assert not [ch for ch in (*RAW_CONTROL, "\u200f", "\u061c", "\ufeff", "\U000e0041") if ch in done.out]
    assert as_json.json()[0]["first_name"] == name  # escaped, not lost
    assert visible(name) in shown.out


@pytest.mark.sqlite_only
async def test_header_shows_a_hostile_operator_name_literally(world: World, db_url: str) -> None:
    app = OneNetApp(Context(world.store, Actor(HOSTILE_OPERATOR, Role.ADMIN)), theme="textual-dark", poll_seconds=0.1)
    async with app.run_test(size=(120, 24)) as pilot:
        screen = await ready(pilot)
        top = screen.query_one(StatusHeader).plain().splitlines()[0]
        assert top.startswith(visible(HOSTILE_OPERATOR) + " · Administrator")
        assert "[red]x[/]" in top  # markup shown as typed, not as colour
        # What the terminal would be sent for the whole screen: colours, but
        # none of the name's own sequences.
        sent = screen._compositor.render_full_update().render_segments(app.console)
        assert "\x07" not in sent and "\x1b]0;" not in sent and "\x1b[2J" not in sent
        assert "\x1b[31m[red]" not in sent
