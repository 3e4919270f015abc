"""Which users an operator means: named users, everyone, or everyone matching
a status and/or a site. Used by ``credentials reset`` on the command line and
by the console's bulk actions, so both pick the same users the same way."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlmodel import Session, col

from onenet_tui.data.errors import InvalidInput
from onenet_tui.data.lookup import site_by_name, user_by_ref
from onenet_tui.data.models import Site, Status, User


@dataclass(frozen=True)
class Selection:
    """Exactly one way of choosing: ``refs`` (usernames, ``ext@site`` or E.164
    numbers), ``everyone``, or a filter by ``status`` and/or ``site``."""

    refs: tuple[str, ...] = field(default_factory=tuple)
    everyone: bool = False
    status: str | None = None
    site: str | None = None

    def problem(self) -> str | None:
        """A message key when the selection is empty or mixes ways of choosing."""
        ways = sum((bool(self.refs), self.everyone, bool(self.status or self.site)))
        if ways == 0:
            return "selection.nothing"
        if ways > 1:
            return "selection.mixed"
        return None


def user_ids(session: Session, selection: Selection, *, sites: Collection[int] | None = None) -> list[int]:
    """The chosen users' ids: named users in the order given (each once),
    otherwise ordered by site, last name, first name. ``sites`` is the
    operator's scope (R25): everyone and a filter mean everyone of those
    sites; a named user of another site is refused, naming R25.

    Raises NotFound for an unknown user or site, InvalidInput for a bad
    selection or status."""
    problem = selection.problem()
    if problem:
        raise InvalidInput.single("users", problem)
    if selection.refs:
        ids = [user_by_ref(session, ref, sites=sites).id for ref in selection.refs]
        return list(dict.fromkeys(uid for uid in ids if uid is not None))
    query = (
        select(col(User.id))
        .join(Site, col(Site.id) == User.site_id)
        .order_by(col(Site.name), col(User.last_name), col(User.first_name), col(User.id))
    )
    if selection.status:
        try:
            status = Status(selection.status)
        except ValueError:
            raise InvalidInput.single("status", "selection.unknown_status", status=selection.status) from None
        query = query.where(col(User.status) == status.value)
    if selection.site:
        site = site_by_name(session, selection.site, sites=sites)
        query = query.where(col(User.site_id) == site.id)
    if sites is not None:
        query = query.where(col(User.site_id).in_(sorted(sites)))
    return list(session.execute(query).scalars())


def choose(
    session: Session,
    refs: Sequence[str] = (),
    *,
    everyone: bool = False,
    status: str | None = None,
    site: str | None = None,
    sites: Collection[int] | None = None,
) -> list[int]:
    """Shorthand for ``user_ids(session, Selection(...), sites=sites)``."""
    return user_ids(session, Selection(tuple(refs), everyone, status, site), sites=sites)
