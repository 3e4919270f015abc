"""One service call = one transaction, with database-level failures turned
into domain errors: a lost race on a unique value is a conflict, a lost race
on a user's version is stale data."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session

from onenet_tui.data import queries
from onenet_tui.data.context import Context
from onenet_tui.data.errors import Conflict, StaleData
from onenet_tui.data.storage import Store

# Which unique value a violated constraint protects, found in the driver's
# message (SQLite names columns, PostgreSQL names constraints).
_CONSTRAINTS = (
    ("number_id", "conflict.number"),
    ("sip_username", "conflict.sip_username"),
    ("extension", "conflict.extension"),
    ("username", "conflict.username"),
    ("group_members", "conflict.membership"),
    ("operators", "conflict.operator"),
    # A real tenant's structure (R20-R22), raced for by two administrators.
    ("sites.name", "conflict.site_name"),
    ("sites_name_key", "conflict.site_name"),
    ("sites.sip_domain", "conflict.sip_domain"),
    ("uq_sites_sip_domain", "conflict.sip_domain"),
    ("phone_numbers.e164", "conflict.pool_number"),
    ("phone_numbers_e164_key", "conflict.pool_number"),
    # R22: per site and kind (SQLite names the columns, the last groups.name).
    ("groups.name", "conflict.group_name"),
    ("uq_groups_site_kind_name", "conflict.group_name"),
)


@contextmanager
def change(ctx: Context) -> Iterator[Session]:
    try:
        with ctx.store.transaction() as session:
            yield session
    except IntegrityError as exc:
        raise conflict_from(exc, ctx.store) from None
    except StaleDataError:
        raise StaleData() from None
    except OperationalError as exc:
        # PostgreSQL serialisation / lock failures surface here under load.
        if "could not serialize" in str(exc) or "deadlock" in str(exc):
            raise StaleData() from None
        raise


def conflict_from(exc: IntegrityError, store: Store | None = None) -> Conflict:
    """The conflict a violated constraint means. A user taking a number
    usually takes its default extension too, so both may clash; the driver
    names whichever index it checked first, and the number is what the admin
    must hear about (R16): with ``store``, an extension clash on a number
    someone else now holds is reported as the number's."""
    key = constraint_key(exc)
    if key == "conflict.extension" and store is not None and _number_taken(store, exc.params):
        key = "conflict.number"
    if key is None:
        return Conflict("conflict.generic", detail=str(exc.orig).splitlines()[0])
    return Conflict(key)


def constraint_key(exc: IntegrityError) -> str | None:
    """The message key for the unique value ``exc`` violated, if known."""
    text = str(exc.orig).lower()
    return next((key for marker, key in _CONSTRAINTS if marker in text), None)


def _number_taken(store: Store, params: Any) -> bool:
    """Whether the number the failed statement wrote is held by another user,
    asked in a fresh transaction (the failed one is aborted): the winner of
    the race has committed by the time the loser hears of it."""
    if not isinstance(params, dict) or params.get("number_id") is None:
        return False
    own = params.get("users_id", params.get("id"))
    with store.read() as session:
        holder = queries.number_holder(session, params["number_id"])
        return holder is not None and holder.id != own
