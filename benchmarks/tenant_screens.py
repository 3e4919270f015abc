"""The sites and groups screens at scale (SPEC section 11): a site with
10,000 more numbers and a group with 2,000 members stay instant.

    python benchmarks/tenant_screens.py [--runs 5]

Builds (once, in a temporary folder) the benchmark tenant of 10,000 users
over five sites (``common.build_tenant``), adds a 10,000 range to Berlin and
puts Berlin's 2,000 users into one pickup group. Then, headless at 80x24:

- opening the sites screen until Berlin's 12,010 numbers are listed;
- a key in that list (``end``, ``pagedown``, ``home``);
- opening the group until its 2,000 members are listed, and a key there;
- the member picker: opening it with 2,000 users, one keystroke of the filter.

Medians of ``--runs`` in milliseconds; a key is timed from the press until
the screen has handled it (Textual's Pilot, so it includes the pilot's own
wait for the screen to be idle).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import build_tenant  # noqa: E402
from onenet_tui.data import groups, memberships, numbers  # noqa: E402
from onenet_tui.data.context import Actor, Context  # noqa: E402
from onenet_tui.data.models import Role  # noqa: E402
from onenet_tui.data.storage import Store  # noqa: E402

SIZE = (80, 24)
GROUP = "Abholung Berlin"


def build(folder: Path) -> Context:
    url = f"sqlite:///{folder / 'tenant-screens.db'}"
    build_tenant(url, 10_000)
    ctx = Context(Store(url), Actor("bench", Role.ADMIN))
    numbers.add_numbers(ctx, "Berlin", ["+493012340000-+493012349999"])
    groups.add_group(ctx, "Berlin", "pickup", GROUP)
    berlin = [c.username for c in groups.candidates(ctx, GROUP)]
    memberships.set_group_members(ctx, GROUP, [(name, None) for name in berlin])
    return ctx


async def until(pilot: Any, condition: Callable[[], bool]) -> None:
    while not condition():
        await pilot.pause(0.001)


async def timed(action: Callable[[], Awaitable[None]]) -> float:
    started = time.perf_counter()
    await action()
    return (time.perf_counter() - started) * 1000


async def one_run(ctx: Context) -> dict[str, float]:
    from textual.app import App

    from onenet_tui.screens.groups import GroupScreen, MemberPicker
    from onenet_tui.screens.sites import SitesScreen

    found: dict[str, float] = {}

    class Bench(App[None]):
        pass

    app = Bench()
    async with app.run_test(size=SIZE) as pilot:
        sites_screen = SitesScreen(ctx)

        async def open_sites() -> None:
            await app.push_screen(sites_screen)
            await until(pilot, lambda: sites_screen.number_table.row_count > 12_000)
            await pilot.pause()

        found["sites: open, 12,010 numbers listed"] = await timed(open_sites)
        sites_screen.number_table.focus()
        await pilot.pause()
        # What a key costs the pilot itself: one no screen binds.
        found["baseline: a key nothing binds"] = await timed(lambda: pilot.press("f12"))
        for key in ("end", "pageup", "home"):
            found[f"sites: {key} in the numbers"] = await timed(lambda key=key: pilot.press(key))
        app.pop_screen()
        await pilot.pause()

        group_screen = GroupScreen(ctx, GROUP)

        async def open_group() -> None:
            await app.push_screen(group_screen)
            await until(pilot, lambda: len(group_screen.members) >= 2_000)
            await pilot.pause()

        found["group: open, 2,000 members listed"] = await timed(open_group)
        for key in ("end", "home"):
            found[f"group: {key} in the members"] = await timed(lambda key=key: pilot.press(key))

        async def open_picker() -> None:
            await pilot.press("a")
            await until(pilot, lambda: isinstance(app.screen, MemberPicker) and app.screen.loaded)
            await pilot.pause()

        found["picker: open, 2,000 users"] = await timed(open_picker)
        found["picker: a filter keystroke"] = await timed(lambda: pilot.press("m"))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        ctx = build(Path(folder))
        runs = [asyncio.run(one_run(ctx)) for _ in range(options.runs)]
        ctx.store.dispose()
    for name in runs[0]:
        print(f"{name:42} {statistics.median(r[name] for r in runs):8.1f} ms")


if __name__ == "__main__":
    main()
