"""The first run on an empty database (SPEC section 11): the directory says
what to do first, and the key for it: create a site, then add its numbers,
then the first user. The first operator is the admin, as always
(:func:`~onenet_tui.data.context.resolve_actor`)."""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import App
from textual.binding import Binding

from onenet_tui import keys
from onenet_tui.data.actor import Context
from onenet_tui.i18n import t


@dataclass(frozen=True)
class FirstSteps:
    sites: int
    numbers: int


def first_steps(ctx: Context) -> FirstSteps:
    """Read only (in a worker): how far the tenant is set up."""
    from onenet_tui.data import sites  # here: the first frame needs no ORM

    found = sites.list_sites(ctx)
    return FirstSteps(len(found), sum(site.numbers for site in found))


def key_shown(app: App[object], key_id: str) -> str:
    """The first key of ``key_id`` as the footer draws it, [keys] remapping applied."""
    keymap: dict[str, str] = getattr(app, "keys", None) or {}
    shown = keys.effective_keys(keys.BY_ID[key_id], keymap)
    return app.get_key_display(Binding(shown[0], "")) if shown else key_id


def first_steps_hint(steps: FirstSteps | None, app: App[object]) -> str | None:
    """What an empty directory says: the next step and its key; None before it is known."""
    if steps is None:
        return None
    if not steps.sites:
        return t("tenant_ui.first_run.no_site", key=key_shown(app, "sites"))
    if not steps.numbers:
        return t("tenant_ui.first_run.no_numbers", key=key_shown(app, "sites"))
    return t("tenant_ui.first_run.no_user", key=key_shown(app, "add"))
