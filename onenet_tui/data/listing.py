"""Every user, filtered, as JSON-ready dictionaries or as JSON text: a few
queries, however many users (the command line's ``users list`` on 100,000
users).

:func:`user_dicts`: one query fetches the users joined with their numbers and
sites, one all group memberships, one all credential metadata. Each
dictionary has exactly the keys and values of :meth:`lookup.UserView.to_json`
(a test holds them equal), without building an ORM object per user.

:func:`user_json`: the same users as JSON text. On SQLite the database writes
the JSON itself (``json_object``), which is several times faster than
building and encoding dictionaries in Python; elsewhere the dictionaries are
encoded. A test holds both equal to ``to_json()`` on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import String, select, text, type_coerce
from sqlmodel import Session, col

from onenet_tui.data.context import Context
from onenet_tui.data.lookup import site_by_name
from onenet_tui.data.models import DeskPhoneCredential, Group, GroupMember, PhoneNumber, Site, Status, User

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


def user_dicts(
    session: Session,
    *,
    status: str | None = None,
    site: str | None = None,
    sites: Collection[int] | None = None,
) -> Iterator[dict[str, Any]]:
    """Users as ``UserView.to_json()`` dictionaries, ordered by last name,
    first name, username; the queries run at once, the dictionaries are made
    one at a time as the caller iterates, so it can stream them.
    ``status`` and ``site`` filter; an unknown site is NotFound. ``sites`` is
    the operator's scope (R25): None for every site, else only those users."""
    columns = [_raw(getattr(User, c)) if c in _DATES or c == "services" else getattr(User, c) for c in _MIDDLE]
    query = (
        select(
            col(User.id),
            *(getattr(User, c) for c in _HEAD),
            col(Site.name),
            col(Site.country),
            col(PhoneNumber.e164),
            *columns,
        )
        .join(Site, col(Site.id) == User.site_id)
        .join(PhoneNumber, col(PhoneNumber.id) == User.number_id)
    )
    if status:
        query = query.where(col(User.status) == Status(status).value)
    if site:
        query = query.where(col(User.site_id) == site_by_name(session, site, sites=sites).id)
    if sites is not None:
        query = query.where(col(User.site_id).in_(sorted(sites)))
    connection = session.connection()
    # Sorted here, not by the database: the name index does not cover the
    # username, so SQLite would sort through a temporary B-tree. Python's
    # code point order equals SQLite's binary collation.
    rows = sorted(connection.execute(query).all(), key=_by_name(3, 2, 1))
    # Every query runs now, so errors (an unknown site) come before the first
    # user is handed out, not in the middle of a caller's output.
    return _dicts(rows, _groups_by_user(session), _credentials_by_user(session))


def _by_name(last: int, first: int, username: int) -> Callable[[Sequence[Any]], str]:
    """Sort key of a row: last name, first name, username, as one string
    (NUL sorts before every character, and names hold none: R1, R19), which
    compares about 2.5 times faster than the tuple of the three."""
    return lambda row: f"{row[last]}\x00{row[first]}\x00{row[username]}"


def _dicts(
    rows: Sequence[Any], groups: dict[int, list[dict[str, Any]]], credentials: dict[int, dict[str, Any]]
) -> Iterator[dict[str, Any]]:
    services = _Services()
    keys = (*_HEAD, "site", "country", "number", *_MIDDLE)
    dates = [key for key in keys if key in _DATES]
    for row in rows:
        data = dict(zip(keys, row[1:], strict=True))
        for key in dates:
            data[key] = _iso(data[key])
        data["services"] = services(data["services"])
        data["groups"] = groups.get(row[0]) or []
        data["credentials"] = credentials.get(row[0])
        yield data


def user_json(
    session: Session,
    *,
    status: str | None = None,
    site: str | None = None,
    sites: Collection[int] | None = None,
) -> Iterator[str]:
    """Users as JSON objects (text), in the order and with the content of
    :func:`user_dicts`. Non-ASCII characters are not escaped; control
    characters are (DEL and C1 controls excepted: callers that print to a
    terminal escape those)."""
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    if session.connection().dialect.name != "sqlite":
        return (encode(user) for user in user_dicts(session, status=status, site=site, sites=sites))
    conditions: list[str] = []
    params: dict[str, object] = {}
    if status:
        conditions.append("u.status = :status")
        params["status"] = Status(status).value
    if site:
        conditions.append("u.site_id = :site_id")
        params["site_id"] = site_by_name(session, site, sites=sites).id
    if sites is not None:
        # Ids of the operator's own sites (R25): integers, bound one by one.
        names = [f":scope_{i}" for i in range(len(sites))]
        conditions.append(f"u.site_id IN ({', '.join(names) or 'NULL'})")
        params.update({f"scope_{i}": site_id for i, site_id in enumerate(sorted(sites))})
    where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
    rows = sorted(
        session.connection().execute(text(_SQLITE_USER_JSON.format(where=where)), params).all(), key=_by_name(0, 1, 2)
    )
    # Group memberships are few: encoded here and put in place of the empty
    # list the database wrote, which is cheaper than a correlated subquery per
    # user and keeps their order. The key cannot occur inside a JSON string
    # (quotes there are escaped), and it is the last but one of the object.
    groups = {user_id: encode(memberships) for user_id, memberships in _groups_by_user(session).items()}
    return (user if user_id not in groups else _with_groups(user, groups[user_id]) for *_, user_id, user in rows)


_NO_GROUPS = '"groups":[]'


def _with_groups(user: str, memberships: str) -> str:
    at = user.rindex(_NO_GROUPS)
    return f'{user[:at]}"groups":{memberships}{user[at + len(_NO_GROUPS) :]}'


def _sqlite_iso(column: str) -> str:
    """SQL for :func:`_iso` on SQLite's stored timestamp text."""
    return f"replace(replace({column}, ' ', 'T'), '.000000', '')"


def _sqlite_bool(column: str) -> str:
    return f"json(CASE WHEN {column} THEN 'true' ELSE 'false' END)"


# Per user: the sort key, the id and the JSON object (keys in to_json()
# order) with no groups, which user_json() puts in. Sorted in Python,
# as user_dicts() does: SQLite's ORDER BY sorted the long JSON rows in a
# temporary B-tree (2.3 s against 1.4 s at 100,000 users).
_SQLITE_USER_JSON = f"""
SELECT u.last_name, u.first_name, u.username, u.id, json_object(
    'username', u.username, 'first_name', u.first_name, 'last_name', u.last_name, 'email', u.email,
    'site', s.name, 'country', s.country, 'number', p.e164,
    'extension', u.extension, 'device_type', u.device_type, 'desk_phone_model', u.desk_phone_model,
    'licence', u.licence, 'services', json(u.services), 'mobile', u.mobile, 'contract', u.contract,
    'status', u.status, 'status_reason', u.status_reason,
    'status_changed_at', {_sqlite_iso("u.status_changed_at")}, 'created_at', {_sqlite_iso("u.created_at")},
    'portal_locked', {_sqlite_bool("u.portal_locked")}, 'failed_logins', u.failed_logins,
    'last_account_reset_at', {_sqlite_iso("u.last_account_reset_at")},
    'department', u.department, 'job_title', u.job_title, 'preferred_language', u.preferred_language,
    'forward_always', u.forward_always, 'forward_busy', u.forward_busy, 'forward_no_answer', u.forward_no_answer,
    'do_not_disturb', {_sqlite_bool("u.do_not_disturb")}, 'call_waiting', {_sqlite_bool("u.call_waiting")},
    'version', u.version, 'groups', json('[]'),
    'credentials', json(CASE WHEN c.user_id IS NULL THEN NULL ELSE json_object(
        'sip_username', c.sip_username, 'sip_domain', c.realm,
        'generated_at', {_sqlite_iso("c.generated_at")}, 'generated_by', c.generated_by, 'mode', c.mode
    ) END)
)
FROM users u
JOIN sites s ON s.id = u.site_id
JOIN phone_numbers p ON p.id = u.number_id
LEFT JOIN desk_phone_credentials c ON c.user_id = u.id
{{where}}
"""


def _groups_by_user(session: Session) -> dict[int, list[dict[str, Any]]]:
    memberships: dict[int, list[dict[str, Any]]] = {}
    rows = (
        session.connection()
        .execute(
            select(col(GroupMember.user_id), col(Group.name), col(Group.kind), col(GroupMember.role))
            .join(Group, col(Group.id) == GroupMember.group_id)
            .order_by(Group.name)
        )
        .all()
    )
    for user_id, name, kind, role in rows:
        memberships.setdefault(user_id, []).append({"name": name, "kind": kind, "role": role})
    return memberships


def _credentials_by_user(session: Session) -> dict[int, dict[str, Any]]:
    """Credential metadata only: the table holds no secret, only digests,
    and the digests are not read here either."""
    rows = (
        session.connection()
        .execute(
            select(
                col(DeskPhoneCredential.user_id),
                col(DeskPhoneCredential.sip_username),
                col(DeskPhoneCredential.realm),
                _raw(col(DeskPhoneCredential.generated_at)),
                col(DeskPhoneCredential.generated_by),
                col(DeskPhoneCredential.mode),
            )
        )
        .all()
    )
    return {
        user_id: {"sip_username": sip, "sip_domain": realm, "generated_at": _iso(at), "generated_by": by, "mode": mode}
        for user_id, sip, realm, at, by, mode in rows
    }


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
