"""Every user, filtered, as JSON-ready dictionaries or as JSON text, streamed:
the command line's ``users list`` and ``users export`` at a million users
hold one batch of users in memory, never all of them.

:func:`user_dicts`: one query reads the users joined with their numbers,
sites and credential metadata, in name order, :data:`BATCH` rows at a time
(a server-side cursor on PostgreSQL); each batch's group memberships are read
with one more query. Each dictionary has exactly the keys and values of
:meth:`lookup.UserView.to_json` (a test holds them equal), without building
an ORM object per user.

:func:`user_json`: the same users as JSON text. On SQLite the database writes
the JSON itself (``json_object``), which is several times faster than
building and encoding dictionaries in Python; elsewhere the dictionaries are
encoded. A test holds both equal to ``to_json()`` on SQLite and PostgreSQL.

Which users: :func:`_conditions` is the one place the filters become SQL, so a
further scope is added there once for every listing and export.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, String, literal_column, select, type_coerce
from sqlalchemy.engine import Result
from sqlmodel import Session, col

from onenet_tui.data.context import Context
from onenet_tui.data.lookup import site_by_name
from onenet_tui.data.models import DeskPhoneCredential, Group, GroupMember, PhoneNumber, Site, Status, User, table_of

# Users read and handed on at a time: a few MB of rows, and at a million users
# 200 batches (on PostgreSQL each one fetch and one query for the groups).
BATCH = 5000

# The user columns in the order of UserView's fields (and so of to_json()).
_HEAD = ("username", "first_name", "last_name", "email")
_MIDDLE = (
    "extension",
    "device_type",
    "desk_phone_model",
    "licence",
    "services",
    "mobile",
    "contract",
    "status",
    "status_reason",
    "status_changed_at",
    "created_at",
    "portal_locked",
    "failed_logins",
    "last_account_reset_at",
    "department",
    "job_title",
    "preferred_language",
    "forward_always",
    "forward_busy",
    "forward_no_answer",
    "do_not_disturb",
    "call_waiting",
    "version",
)
_DATES = frozenset({"status_changed_at", "created_at", "last_account_reset_at"})


def _iso(value: datetime | str | None) -> str | None:
    """``datetime.isoformat()`` of a timestamp as the driver returns it: a
    datetime (PostgreSQL), or SQLite's stored text, which SQLAlchemy always
    writes as ``YYYY-MM-DD HH:MM:SS.ffffff``: turned into the same text without
    parsing it first (that parse is most of the time for 100,000 users)."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.replace(" ", "T", 1)
        return text[:-7] if text.endswith(".000000") else text
    return value.isoformat()


class _Services:
    """Service lists by their stored JSON text: a tenant has few distinct
    combinations, so each is decoded once."""

    def __init__(self) -> None:
        self._decoded: dict[str, list[str]] = {}

    def __call__(self, raw: str | list[str] | None) -> list[str]:
        if raw is None:
            return []
        if not isinstance(raw, str):  # a driver that decodes JSON itself
            return list(raw)
        decoded = self._decoded.get(raw)
        if decoded is None:
            decoded = self._decoded[raw] = json.loads(raw)
        return list(decoded)


def _raw(column: Any) -> Any:
    """The column without SQLAlchemy's result processing (see :func:`_iso`)."""
    return type_coerce(column, String).label(column.key)


def _conditions(
    session: Session, *, status: str | None, site: str | None, sites: Collection[int] | None
) -> list[ColumnElement[bool]]:
    """The WHERE of every listing. Runs its own lookups now (an unknown site
    is NotFound), before any user is handed out. ``sites`` is the operator's
    scope (R25): None for every site, else only those sites' users."""
    conditions: list[ColumnElement[bool]] = []
    if status:
        conditions.append(col(User.status) == Status(status).value)
    if site:
        conditions.append(col(User.site_id) == site_by_name(session, site, sites=sites).id)
    if sites is not None:
        conditions.append(col(User.site_id).in_(sorted(sites)))
    return conditions


def _name_order(session: Session) -> list[Any]:
    """Last name, first name, username in code point order: SQLite's binary
    collation is that order; PostgreSQL is told to use it ("C"), whatever the
    database's own collation, so both backends list alike. On SQLite the
    name index gives the order; only users of the same name are sorted."""
    columns = [col(User.last_name), col(User.first_name), col(User.username)]
    if session.connection().dialect.name == "postgresql":
        return [column.collate("C") for column in columns]
    return columns


def _streamed(session: Session, query: Select[*tuple[Any, ...]]) -> Iterator[Sequence[Sequence[Any]]]:
    """The rows of ``query`` in batches of :data:`BATCH`: the query runs now
    (so its errors come first), the rows are fetched as the caller goes on."""
    # On the statement, not the connection: the batches' own queries stay plain.
    result: Result[Any] = session.connection().execute(query.execution_options(yield_per=BATCH))
    return result.partitions(BATCH)


def user_dicts(
    session: Session,
    *,
    status: str | None = None,
    site: str | None = None,
    ids: Sequence[int] | None = None,
    sites: Collection[int] | None = None,
) -> Iterator[dict[str, Any]]:
    """Users as ``UserView.to_json()`` dictionaries, ordered by last name,
    first name, username, streamed (see the module's note). ``status`` and
    ``site`` filter; an unknown site is NotFound, raised by this call, not
    by the iteration. With ``ids``: exactly those users (and only those the
    filters keep), in the order of ``ids``."""
    conditions = _conditions(session, status=status, site=site, sites=sites)
    columns = [_raw(getattr(User, c)) if c in _DATES or c == "services" else getattr(User, c) for c in _MIDDLE]
    query = (
        select(
            col(User.id),
            *(getattr(User, c) for c in _HEAD),
            col(Site.name),
            col(Site.country),
            col(PhoneNumber.e164),
            *columns,
            col(DeskPhoneCredential.sip_username),
            col(DeskPhoneCredential.realm),
            _raw(col(DeskPhoneCredential.generated_at)),
            col(DeskPhoneCredential.generated_by),
            col(DeskPhoneCredential.mode),
        )
        .join(Site, col(Site.id) == User.site_id)
        .join(PhoneNumber, col(PhoneNumber.id) == User.number_id)
        .outerjoin(DeskPhoneCredential, col(DeskPhoneCredential.user_id) == User.id)
        .where(*conditions)
    )
    if ids is None:
        batches = _streamed(session, query.order_by(*_name_order(session)))
    else:
        batches = _in_order_of(session, query, ids)
    return _dicts(session, batches)


def _in_order_of(
    session: Session, query: Select[*tuple[Any, ...]], ids: Sequence[int]
) -> Iterator[list[Sequence[Any]]]:
    """Batches of the rows of ``query`` for ``ids``, in that order (the first
    column is the user id); ids the query does not answer are left out."""
    wanted = list(ids)
    for start in range(0, len(wanted), BATCH):
        chunk = wanted[start : start + BATCH]
        found = {row[0]: row for row in session.connection().execute(query.where(col(User.id).in_(chunk)))}
        yield [found[uid] for uid in chunk if uid in found]


def _dicts(session: Session, batches: Iterable[Sequence[Sequence[Any]]]) -> Iterator[dict[str, Any]]:
    services = _Services()
    keys = (*_HEAD, "site", "country", "number", *_MIDDLE)
    dates = [key for key in keys if key in _DATES]
    width = 1 + len(keys)
    for rows in batches:
        groups = _groups_by_user(session, [row[0] for row in rows])
        for row in rows:
            data = dict(zip(keys, row[1:width], strict=True))
            for key in dates:
                data[key] = _iso(data[key])
            data["services"] = services(data["services"])
            data["groups"] = groups.get(row[0]) or []
            sip, realm, at, by, mode = row[width:]
            data["credentials"] = (
                None
                if sip is None
                else {
                    "sip_username": sip,
                    "sip_domain": realm,
                    "generated_at": _iso(at),
                    "generated_by": by,
                    "mode": mode,
                }
            )
            yield data


def user_json(
    session: Session,
    *,
    status: str | None = None,
    site: str | None = None,
    sites: Collection[int] | None = None,
) -> Iterator[str]:
    """Users as JSON objects (text), in the order and with the content of
    :func:`user_dicts`, streamed as it is. Non-ASCII characters are not
    escaped; control characters are (DEL and C1 controls excepted: callers
    that print to a terminal escape those)."""
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    if session.connection().dialect.name != "sqlite":
        return (encode(user) for user in user_dicts(session, status=status, site=site, sites=sites))
    query: Select[*tuple[Any, ...]] = (
        select(col(User.id), literal_column(_SQLITE_USER_JSON))
        .select_from(table_of(User))
        .join(Site, col(Site.id) == User.site_id)
        .join(PhoneNumber, col(PhoneNumber.id) == User.number_id)
        .outerjoin(DeskPhoneCredential, col(DeskPhoneCredential.user_id) == User.id)
        .where(*_conditions(session, status=status, site=site, sites=sites))
        .order_by(*_name_order(session))
    )
    return _json_texts(session, _streamed(session, query), encode)


def _json_texts(
    session: Session, batches: Iterable[Sequence[Sequence[Any]]], encode: Callable[[Any], str]
) -> Iterator[str]:
    # Group memberships are few: encoded here and put in place of the empty
    # list the database wrote, which is cheaper than a correlated subquery per
    # user and keeps their order. The key cannot occur inside a JSON string
    # (quotes there are escaped), and it is the last but one of the object.
    for rows in batches:
        groups = {
            user_id: encode(memberships)
            for user_id, memberships in _groups_by_user(session, [r[0] for r in rows]).items()
        }
        for user_id, user in rows:
            yield user if user_id not in groups else _with_groups(user, groups[user_id])


_NO_GROUPS = '"groups":[]'


def _with_groups(user: str, memberships: str) -> str:
    at = user.rindex(_NO_GROUPS)
    return f'{user[:at]}"groups":{memberships}{user[at + len(_NO_GROUPS) :]}'


def _sqlite_iso(column: str) -> str:
    """SQL for :func:`_iso` on SQLite's stored timestamp text."""
    return f"replace(replace({column}, ' ', 'T'), '.000000', '')"


def _sqlite_bool(column: str) -> str:
    return f"json(CASE WHEN {column} THEN 'true' ELSE 'false' END)"


# Per user the JSON object (keys in to_json() order) with no groups, which
# user_json() puts in; the tables by their own names, as the query joins them.
_SQLITE_USER_JSON = f"""json_object(
    'username', users.username, 'first_name', users.first_name, 'last_name', users.last_name,
    'email', users.email, 'site', sites.name, 'country', sites.country, 'number', phone_numbers.e164,
    'extension', users.extension, 'device_type', users.device_type, 'desk_phone_model', users.desk_phone_model,
    'licence', users.licence, 'services', json(users.services), 'mobile', users.mobile,
    'contract', users.contract, 'status', users.status, 'status_reason', users.status_reason,
    'status_changed_at', {_sqlite_iso("users.status_changed_at")}, 'created_at', {_sqlite_iso("users.created_at")},
    'portal_locked', {_sqlite_bool("users.portal_locked")}, 'failed_logins', users.failed_logins,
    'last_account_reset_at', {_sqlite_iso("users.last_account_reset_at")},
    'department', users.department, 'job_title', users.job_title, 'preferred_language', users.preferred_language,
    'forward_always', users.forward_always, 'forward_busy', users.forward_busy,
    'forward_no_answer', users.forward_no_answer,
    'do_not_disturb', {_sqlite_bool("users.do_not_disturb")}, 'call_waiting', {_sqlite_bool("users.call_waiting")},
    'version', users.version, 'groups', json('[]'),
    'credentials', json(CASE WHEN desk_phone_credentials.user_id IS NULL THEN NULL ELSE json_object(
        'sip_username', desk_phone_credentials.sip_username, 'sip_domain', desk_phone_credentials.realm,
        'generated_at', {_sqlite_iso("desk_phone_credentials.generated_at")},
        'generated_by', desk_phone_credentials.generated_by, 'mode', desk_phone_credentials.mode
    ) END)
)"""


def _groups_by_user(session: Session, user_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    """The memberships of ``user_ids`` (one batch), each user's by group name."""
    memberships: dict[int, list[dict[str, Any]]] = {}
    if not user_ids:
        return memberships
    rows = session.connection().execute(
        select(col(GroupMember.user_id), col(Group.name), col(Group.kind), col(GroupMember.role))
        .join(Group, col(Group.id) == GroupMember.group_id)
        .where(col(GroupMember.user_id).in_(user_ids))
        .order_by(Group.name)
    )
    for user_id, name, kind, role in rows:
        memberships.setdefault(user_id, []).append({"name": name, "kind": kind, "role": role})
    return memberships


@dataclass(frozen=True)
class NumberRow:
    """One number of a site's pool, for ``numbers list``."""

    e164: str
    site: str
    country: str
    flagged: bool
    flag_reason: str | None
    # Who holds it; None when it is free.
    username: str | None


def number_rows(ctx: Context, *, site: str | None = None, free: bool = False) -> list[NumberRow]:
    """The numbers (of one site, only the free ones) by site, then number."""
    with ctx.store.read() as session:
        query = (
            select(  # type: ignore[call-overload]  # SQLModel's columns type as their values
                PhoneNumber.e164, Site.name, Site.country, PhoneNumber.flagged, PhoneNumber.flag_reason, User.username
            )
            .join(Site, Site.id == PhoneNumber.site_id)
            .outerjoin(User, User.number_id == PhoneNumber.id)
            .order_by(Site.name, PhoneNumber.e164)
        )
        if site is not None:
            query = query.where(PhoneNumber.site_id == site_by_name(session, site, sites=ctx.actor.sites).id)
        if ctx.actor.sites is not None:  # R25: their sites' pools only
            query = query.where(col(PhoneNumber.site_id).in_(sorted(ctx.actor.sites)))
        if free:
            query = query.where(col(User.id).is_(None))
        return [NumberRow(*row) for row in session.execute(query)]
