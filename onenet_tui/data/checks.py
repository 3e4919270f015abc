"""The rules that need the database, or a group, to answer (R2, R6, R11 for
one user, R16, R19 uniqueness, R21 flagged numbers, the call-center role).

Each is written once here. The services call them inside their transaction;
the console asks the same question through a read-only service function
(``users.number_problem`` ...) from a worker thread, so the form shows, as
it is typed, the message a submit would get. Rules on one field's text
alone are in :mod:`onenet_tui.data.validation`; who may do what is in
:mod:`onenet_tui.data.policy`.
"""

from __future__ import annotations

from typing import Protocol

from pydantic_core import PydanticCustomError
from sqlmodel import Session

from onenet_tui.data import phones, queries, secrets, validation
from onenet_tui.data.catalogs import SUPERVISOR_SERVICE
from onenet_tui.data.errors import FieldError, InvalidInput
from onenet_tui.data.models import CallCenterRole, Group, GroupKind, PhoneNumber, Site

SUPERVISOR_WITHOUT_SERVICE = "r6.supervisor_without_service"


class Holder(Protocol):
    """Who holds a number, an extension or a username."""

    @property
    def id(self) -> int | None: ...

    @property
    def username(self) -> str: ...


class Lookup(Protocol):
    """What the uniqueness rules below ask of the tenant. A session answers
    (:class:`SessionLookup`); so does an import's in-memory picture of the
    tenant as the file's earlier rows leave it (``data.import_users``), so
    that one file of 10,000 rows is checked by these same rules."""

    def number_row(self, e164: str) -> PhoneNumber | None: ...

    def number_holder(self, number_id: int) -> Holder | None: ...

    def site(self, site_id: int) -> Site | None: ...

    def extension_holder(self, site_id: int, extension: str) -> Holder | None: ...

    def username_holder(self, username: str) -> Holder | None: ...


class SessionLookup:
    """The rules' questions answered by the database."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def number_row(self, e164: str) -> PhoneNumber | None:
        return queries.number_row(self.session, e164)

    def number_holder(self, number_id: int) -> Holder | None:
        return queries.number_holder(self.session, number_id)

    def site(self, site_id: int) -> Site | None:
        return self.session.get(Site, site_id)

    def extension_holder(self, site_id: int, extension: str) -> Holder | None:
        return queries.extension_holder(self.session, site_id, extension)

    def username_holder(self, username: str) -> Holder | None:
        return queries.username_holder(self.session, username)


def _lookup(source: Session | Lookup) -> Lookup:
    return SessionLookup(source) if isinstance(source, Session) else source


def number_claim(
    session: Session | Lookup, site: Site, text: str, user_id: int | None = None
) -> tuple[PhoneNumber | None, FieldError | None]:
    """R16: a valid number of the site's country, from this site's pool,
    free (or already ``user_id``'s). The number's row when it may be taken,
    else why not. A number of another site's pool is named as that site's,
    whatever its country (a London number typed for Berlin)."""
    look = _lookup(session)
    try:
        e164 = validation.number_for_site(text, site.country)
    except PydanticCustomError as err:
        return None, _elsewhere(look, site, text) or FieldError("number", err.type, dict(err.context or {}))
    row = look.number_row(e164)
    if row is None:
        return None, _elsewhere(look, site, text) or FieldError("number", "r16.not_in_pool", {"site": site.name})
    if row.site_id != site.id:
        return None, _other_site(look, site, row)
    assert row.id is not None
    holder = look.number_holder(row.id)
    if holder is not None and holder.id != user_id:
        return None, FieldError("number", "r16.not_free", {"holder": holder.username})
    return row, None


def _elsewhere(look: Lookup, site: Site, text: str) -> FieldError | None:
    """R16 when ``text``, read as a number of another country, is in another
    site's pool: say whose it is rather than that it is not valid here."""
    for country in phones.COUNTRIES:
        if country == site.country:
            continue
        e164 = phones.to_e164(text, country)
        row = look.number_row(e164) if e164 else None
        if row is not None and row.site_id != site.id:
            return _other_site(look, site, row)
    return None


def _other_site(look: Lookup, site: Site, row: PhoneNumber) -> FieldError:
    owner = look.site(row.site_id)
    assert owner is not None
    return FieldError("number", "r16.other_site", {"site": site.name, "owner": owner.name})


def number_flag(row: PhoneNumber, country: str) -> FieldError | None:
    """R21: a number the carrier flagged (e.g. porting not finished) may be
    given to a new user, but activation will fail: the flag and its reason
    are shown before the user is created. None for an unflagged number."""
    if not row.flagged:
        return None
    shown = phones.national(row.e164, country)
    if row.flag_reason:
        return FieldError("number", "r21.flagged", {"number": shown, "reason": row.flag_reason})
    return FieldError("number", "r21.flagged_no_reason", {"number": shown})


def extension_clash(
    session: Session | Lookup, site_id: int, extension: str, user_id: int | None = None
) -> FieldError | None:
    """R2: an extension is unique within its site."""
    extension = extension.strip()
    holder = _lookup(session).extension_holder(site_id, extension)
    if holder is None or holder.id == user_id:
        return None
    return FieldError("extension", "r2.taken", {"extension": extension, "holder": holder.username})


def username_clash(session: Session | Lookup, username: str, user_id: int | None = None) -> FieldError | None:
    """R19: a username is unique in the tenant, whatever its case
    (``BJOERN.BOEHM`` is taken by ``bjoern.boehm``); ``user_id`` may
    change the case of their own."""
    wanted = validation.username_key(username)
    holder = _lookup(session).username_holder(wanted)
    if holder is None or holder.id == user_id:
        return None
    if holder.username != wanted:
        return FieldError("username", "r19.taken_other_case", {"username": wanted, "holder": holder.username})
    return FieldError("username", "r19.taken", {"username": wanted})


def member_role(group: Group, role: CallCenterRole | str | None) -> str | None:
    """The role a member holds in ``group``: a call center's members are
    agents unless made supervisors; other groups have no roles."""
    if group.kind == GroupKind.CALL_CENTER.value:
        return CallCenterRole(role or CallCenterRole.AGENT).value
    if role is not None:
        raise InvalidInput.single("role", "group.role_only_call_center", group=group.name)
    return None


def supervisor_notice(role: str | None, services: list[str]) -> str | None:
    """R6: a supervisor without the supervisor service is allowed, but worth
    a word (the message key), else None."""
    if role == CallCenterRole.SUPERVISOR.value and SUPERVISOR_SERVICE not in services:
        return SUPERVISOR_WITHOUT_SERVICE
    return None


def password_errors(password: str, sip_username: str, extension: str, *, user: str | None = None) -> list[FieldError]:
    """R11 for one user's admin-chosen password; with ``user`` (a bulk
    reset of many) each message names whose SIP username or extension it
    is."""
    problems = secrets.admin_password_errors(password, sip_username, extension)
    if user is None:
        return problems
    return [FieldError(p.field, p.key, {**p.params, "user": user}) for p in problems]
