"""One service call = one transaction, with database-level failures turned
into domain errors: a lost race on a unique value is a conflict, a lost race
on a user's version is stale data."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session

from onenet_tui.data.context import Context
from onenet_tui.data.errors import Conflict, StaleData

# Which unique value a violated constraint protects, found in the driver's
# message (SQLite names columns, PostgreSQL names constraints).
_CONSTRAINTS = (
    ("number_id", "conflict.number"),
    ("sip_username", "conflict.sip_username"),
    ("extension", "conflict.extension"),
    ("username", "conflict.username"),
    ("group_members", "conflict.membership"),
    ("operators", "conflict.operator"),
)


@contextmanager
def change(ctx: Context) -> Iterator[Session]:
    try:
        with ctx.store.transaction() as session:
            yield session
    except IntegrityError as exc:
        raise conflict_from(exc) from None
    except StaleDataError:
        raise StaleData() from None
    except OperationalError as exc:
        # PostgreSQL serialisation / lock failures surface here under load.
        if "could not serialize" in str(exc) or "deadlock" in str(exc):
            raise StaleData() from None
        raise


def conflict_from(exc: IntegrityError) -> Conflict:
    text = str(exc.orig).lower()
    for marker, key in _CONSTRAINTS:
        if marker in text:
            return Conflict(key)
    return Conflict("conflict.generic", detail=str(exc.orig).splitlines()[0])
