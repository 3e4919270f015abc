"""The directory's read model: every user as one compact row, loaded in one
query, then filtered, sorted and counted in memory (no Textual here).

Built for 100,000 users:

- the rows are stored by column (arrays of integers, tuples of shared
  strings); strings that repeat (status, site, device, licence, extension,
  name) are interned, one copy each; a row tuple is made only for a line
  on screen;
- each row has one lower-case "haystack" string (name with and without
  accents, username, email, extension, number in national and international
  digits), so a filter is a plain substring test per row, run by C code;
- the haystack starts with the accent-folded "last, first", so sorting the
  haystacks sorts by name; other columns are stable sorts of the name order;
- a query is answered lazily, as far as the screen needs (see
  :class:`Directory`); a query that grows is filtered from the previous
  answer, and recent answers are kept, so typing and backspace stay cheap;
- what lives long is kept in containers Python's garbage collector skips
  (arrays, and tuples of strings, which it stops tracking): a full
  collection pass does not walk 100,000 rows, which held up keystrokes for
  tens of milliseconds (benchmark);
- change detection asks the audit trail (every change writes an event, R15)
  for what happened since the data was read and reloads only those users.
"""

from __future__ import annotations

import sys
import unicodedata
from array import array
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from itertools import compress, repeat
from operator import contains, eq, methodcaller
from typing import Any, NamedTuple

import phonenumbers
from sqlalchemy import ColumnElement, Select, case, func, select
from sqlmodel import Session, col

from onenet_tui.data import audit, catalogs, handover, phones
from onenet_tui.data.models import AuditEvent, DeviceType, PhoneNumber, Site, Status, User
from onenet_tui.data.storage import Store
from onenet_tui.i18n import language, t
from onenet_tui.visible import visible

# The order in which ``f`` cycles the status filter; None shows everyone.
STATUS_CYCLE: tuple[Status | None, ...] = (None, Status.PENDING, Status.ACTIVATED, Status.FAILED)
STATUSES: tuple[str, ...] = tuple(s.value for s in Status)
_STATUS_CODES = {status: code for code, status in enumerate(STATUSES)}


def status_code(status: str) -> int:
    """A status as a small number (its place in STATUSES; unknown ones after them)."""
    return _STATUS_CODES.get(status, len(STATUSES))


# How many rows the first, quick query brings, so the screen has rows to
# paint while the whole directory loads.
FIRST_PAGE = 200
# More changed users than this since the last look: read everything again.
PATCH_LIMIT = 2_000
# Users fetched per ``IN (...)`` query when reloading changed users.
ID_CHUNK = 500
# Rows fetched from the driver per batch: keeps the transient memory small.
FETCH_BATCH = 5_000


class SortColumn(StrEnum):
    NAME = "name"
    STATUS = "status"
    EXTENSION = "extension"
    NUMBER = "number"
    SITE = "site"
    DEVICE = "device"
    LICENCE = "licence"


SORT_CYCLE: tuple[SortColumn, ...] = tuple(SortColumn)
# The column of DirectoryData each sort reads.
SORTED_BY = {
    SortColumn.NAME: "haystacks",
    SortColumn.STATUS: "statuses",
    SortColumn.EXTENSION: "extensions",
    SortColumn.NUMBER: "numbers",
    SortColumn.SITE: "sites",
    SortColumn.DEVICE: "devices",
    SortColumn.LICENCE: "licences",
}


class DirectoryRow(NamedTuple):
    """One user as the directory shows it; text already safe to display."""

    id: int
    status: str
    name: str  # "Last, First"
    extension: str
    number: str  # E.164
    site: str
    country: str
    device: str  # desk phone model code, "desk_phone" when unknown, or "none"
    licence: str
    version: int
    # Their latest desk phone credentials never reached anybody (data.handover).
    unhanded: bool = False

    @property
    def device_type(self) -> str:
        return DeviceType.NONE.value if self.device == DeviceType.NONE.value else DeviceType.DESK_PHONE.value

    @property
    def ref(self) -> str:
        """How the services find this user (``lookup.user_by_ref``): the number."""
        return self.number


# --- text -------------------------------------------------------------------


def strip_accents(text: str) -> str:
    """Lower case without accents (``ä`` -> ``a``): what people type when they search."""
    text = text.casefold()
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


_PHONE_CHARACTERS = frozenset("0123456789 +-/().")


def needles(query: str) -> tuple[str, ...]:
    """The substrings a row must contain to match ``query``.

    A query that looks like a phone number (digits and ``+ - / ( ) .``) is
    reduced to its digits, so ``030 1234``, ``+4930`` and ``4930`` all find
    the number; anything else is split into words that must all occur.
    """
    query = query.strip()
    if not query.strip("+("):
        return ()  # a number being typed: nothing to look for yet
    if all(ch in _PHONE_CHARACTERS for ch in query) and any(ch.isdigit() for ch in query):
        return (phones.digits(query),)
    return tuple(dict.fromkeys(query.casefold().split()))


# --- phone numbers ------------------------------------------------------------


@lru_cache(maxsize=8)
def _dialling(country: str) -> tuple[str, str]:
    """Country calling code and national trunk prefix, e.g. ("49", "0")."""
    code = phonenumbers.country_code_for_region(country)
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(country)
    prefix = (metadata.national_prefix if metadata else None) or ""
    return (str(code) if code else "", prefix)


def national_digits(e164: str, country: str) -> str:
    """The digits as dialled in the country: ``+493012345678`` -> ``03012345678``."""
    international = e164.lstrip("+")
    code, prefix = _dialling(country)
    if code and international.startswith(code):
        return prefix + international[len(code) :]
    return international


# Display layouts learnt from phonenumbers, by country, leading digits and
# length: numbers of one pool share a layout, so formatting the rows on
# screen costs microseconds instead of a full parse each.
_LAYOUTS: dict[tuple[str, str, int], str] = {}
_LAYOUTS_MAX = 4_096
_DIGIT = "#"


def national_number(e164: str, country: str) -> str:
    """National format for display, e.g. ``030 12345678`` (``phones.national``)."""
    digits = national_digits(e164, country)
    key = (country, e164[:8], len(e164))
    layout = _LAYOUTS.get(key)
    if layout is None:
        formatted = visible(phones.national(e164, country))
        layout = "".join(_DIGIT if ch.isdigit() else ch for ch in formatted)
        if phones.digits(formatted) != digits or _DIGIT in formatted:
            layout = ""  # not a plain digit layout: always ask phonenumbers
        if len(_LAYOUTS) < _LAYOUTS_MAX:
            _LAYOUTS[key] = layout
        return formatted
    if not layout:
        return visible(phones.national(e164, country))
    pieces = iter(digits)
    return "".join(next(pieces) if ch == _DIGIT else ch for ch in layout)


def haystack(name: str, username: str, email: str, extension: str, e164: str, country: str) -> str:
    """What the filter searches, one line per form. Starts with the sort key
    of the name (its folded "last, first")."""
    lowered = name.casefold()
    folded = strip_accents(lowered)
    names = folded if folded == lowered else f"{folded}\n{lowered}"
    return (
        f"{names}\n{username.casefold()}\n{email.casefold()}\n{extension}\n{national_digits(e164, country)}\n{e164[1:]}"
    )


@lru_cache(maxsize=64)
def catalog_label(catalog: str, code: str, lang: str) -> str:
    return visible(catalogs.label(catalog, code, lang))


def device_label(device: str, lang: str | None = None) -> str:
    """ "Yealink T54W", "Without desk phone" ... in ``lang``."""
    if device in (DeviceType.NONE.value, DeviceType.DESK_PHONE.value):
        return t(f"directory.device.{device}", lang=lang)
    return catalog_label("desk_phones", device, lang or language())


def licence_label(licence: str, lang: str | None = None) -> str:
    return catalog_label("licences", licence, lang or language())


# --- the data -----------------------------------------------------------------


def _take(column: Any, indexes: Iterable[int]) -> Any:
    """The entries of a column at ``indexes``: an array from an array, else a list."""
    if isinstance(column, array):
        return array(column.typecode, map(column.__getitem__, indexes))
    return list(map(column.__getitem__, indexes))


def _editable(column: Any) -> Any:
    """A copy of a column that can be changed in place."""
    return column[:] if isinstance(column, array) else list(column)


# The per-row columns of DirectoryData.
COLUMNS = ("ids", "statuses", "names", "extensions", "numbers", "sites", "devices", "licences", "versions", "haystacks")


@dataclass(frozen=True, eq=False, repr=False)
class DirectoryData:
    """All users as read at one moment, by column, in user id order; never
    changed, only replaced."""

    ids: array[int] = field(default_factory=lambda: array("q"))  # ascending: found by bisection
    statuses: Sequence[str] = ()
    names: Sequence[str] = ()
    extensions: Sequence[str] = ()
    numbers: array[int] = field(default_factory=lambda: array("q"))  # E.164 digits as integers
    sites: Sequence[str] = ()
    devices: Sequence[str] = ()
    licences: Sequence[str] = ()
    versions: array[int] = field(default_factory=lambda: array("q"))
    haystacks: Sequence[str] = ()
    # -- not per row
    countries: dict[str, str] = field(default_factory=dict)  # site name -> country
    name_order: array[int] = field(default_factory=lambda: array("i"))  # row indexes sorted by name
    stamp: int = 0  # newest audit event id when read: changes come after it
    complete: bool = True  # False for the first page shown while the rest loads
    # Ids of users whose latest credentials were never handed over (data.handover).
    unhanded: frozenset[int] = frozenset()
    # Columns that differ from the data this was patched from (all, when read afresh).
    changed: frozenset[str] = frozenset(COLUMNS)
    # status_code() of each row: filters and counts compare small numbers.
    codes: array[int] = field(init=False)

    def __post_init__(self) -> None:
        # Built as lists, kept as tuples (see the module's notes on the collector).
        for name in COLUMNS:
            column = getattr(self, name)
            if isinstance(column, list):
                object.__setattr__(self, name, tuple(column))
        object.__setattr__(self, "codes", array("b", map(status_code, self.statuses)))

    def columns(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in COLUMNS}

    @classmethod
    def build(
        cls,
        columns: dict[str, Any],
        countries: dict[str, str],
        stamp: int,
        *,
        complete: bool = True,
        order: Iterable[int] | None = None,
    ) -> DirectoryData:
        """From columns (which it takes over): sorted by id if they are not, with the name order
        computed. ``order`` (the rows as given, when not) is a nearly sorted
        start for it: rows read by name are sorted in about linear time."""
        ids = columns["ids"]
        if any(a >= b for a, b in zip(ids, ids[1:], strict=False)):
            by_id = array("i", sorted(range(len(ids)), key=ids.__getitem__))
            # Column by column, in place (build owns ``columns``), so each old
            # one is let go before the next is copied.
            for name, column in columns.items():
                taken = _take(column, by_id)
                columns[name] = taken if isinstance(taken, array) else tuple(taken)
            moved_to = array("i", bytes(4 * len(by_id)))
            for new, old in enumerate(by_id):
                moved_to[old] = new
            order = map(moved_to.__getitem__, range(len(ids)) if order is None else order)
        hays = columns["haystacks"]
        candidates = range(len(hays)) if order is None else order
        # The haystack starts with the folded "last, first": its order is the name order.
        name_order = array("i", sorted(candidates, key=hays.__getitem__))
        return cls(**columns, countries=countries, name_order=name_order, stamp=stamp, complete=complete)

    def __len__(self) -> int:
        return len(self.ids)

    def __repr__(self) -> str:
        # Short: workers and logs print their arguments.
        return f"<DirectoryData {len(self)} users, stamp {self.stamp}, complete={self.complete}>"

    def row(self, index: int) -> DirectoryRow:
        site = self.sites[index]
        return DirectoryRow(
            self.ids[index],
            self.statuses[index],
            self.names[index],
            self.extensions[index],
            f"+{self.numbers[index]}",
            site,
            self.countries.get(site, ""),
            self.devices[index],
            self.licences[index],
            self.versions[index],
            self.ids[index] in self.unhanded,
        )

    def index_of(self, user_id: int) -> int | None:
        index = bisect_left(self.ids, user_id)
        return index if index < len(self.ids) and self.ids[index] == user_id else None

    def row_by_id(self, user_id: int) -> DirectoryRow | None:
        index = self.index_of(user_id)
        return None if index is None else self.row(index)

    def patched(self, changes: DirectoryData, removed: set[int], stamp: int) -> DirectoryData:
        """A copy with the rows of ``changes`` replaced or added and ``removed`` ids gone."""
        columns = {name: _editable(column) for name, column in self.columns().items()}
        countries = {**self.countries, **changes.countries}
        hays = columns["haystacks"]
        renamed = False
        added: list[int] = []
        changed: set[str] = set()
        for j, user_id in enumerate(changes.ids):
            i = self.index_of(user_id)
            if i is None:
                added.append(j)
                continue
            renamed = renamed or hays[i] != changes.haystacks[j]
            for name, column in columns.items():
                value = getattr(changes, name)[j]
                if column[i] != value:
                    column[i] = value
                    changed.add(name)
        if not (renamed or added or removed):
            # Statuses and other columns changed, the name order did not.
            return DirectoryData(
                **columns, countries=countries, name_order=self.name_order, stamp=stamp, changed=frozenset(changed)
            )
        previous: list[int] = list(self.name_order)
        if removed:
            keep = [i for i, user_id in enumerate(columns["ids"]) if user_id not in removed]
            renumber = {old: new for new, old in enumerate(keep)}
            columns = {name: _take(column, keep) for name, column in columns.items()}
            previous = [renumber[i] for i in previous if i in renumber]
        previous += range(len(columns["ids"]), len(columns["ids"]) + len(added))
        for name, column in columns.items():
            column.extend(_take(getattr(changes, name), added))
        # The previous order is almost sorted, which Python's sort finishes in
        # about linear time: no long pause while the interface waits.
        return DirectoryData.build(columns, countries, stamp, order=previous)


EMPTY = DirectoryData()


# --- loading ------------------------------------------------------------------


def _device_column() -> ColumnElement[str]:
    none = DeviceType.NONE.value
    return case((col(User.device_type) == none, none), else_=func.coalesce(User.desk_phone_model, User.device_type))


def _rows_query() -> Select[*tuple[Any, ...]]:
    return (
        select(
            col(User.id),
            col(User.status),
            # One string from the database instead of two: fewer objects made and dropped.
            col(User.last_name) + ", " + col(User.first_name),
            col(User.username),
            col(User.email),
            col(User.extension),
            col(PhoneNumber.e164),
            col(User.site_id),
            _device_column(),
            col(User.licence),
            col(User.version),
        )
        .join(PhoneNumber, col(PhoneNumber.id) == User.number_id)
        .order_by(col(User.id))
    )


def _read(
    session: Session,
    queries: Iterable[Select[*tuple[Any, ...]]],
    stamp: int,
    *,
    complete: bool = True,
    sort: bool = True,
) -> DirectoryData:
    """The rows of ``queries`` (each a :func:`_rows_query`) as one DirectoryData."""
    # Names, numbers and labels are made display-safe once, here at load.
    sites = {
        site_id: (visible(name), country)
        for site_id, name, country in session.execute(select(col(Site.id), col(Site.name), col(Site.country)))
    }
    columns = _read_columns(session, queries, sites)
    countries = {sys.intern(name): country for name, country in sites.values()}
    if not sort:
        return DirectoryData(**columns, countries=countries, stamp=stamp, complete=complete)
    return DirectoryData.build(columns, countries, stamp, complete=complete)


def _read_columns(
    session: Session, queries: Iterable[Select[*tuple[Any, ...]]], sites: dict[int, tuple[str, str]]
) -> dict[str, Any]:
    # A function of its own: when it returns, the columns are held by the
    # returned dict only, so build() can let each go as it reorders it.
    columns: dict[str, Any] = {name: array("q") if name in ("ids", "numbers", "versions") else [] for name in COLUMNS}
    ids, statuses, names, extensions = columns["ids"], columns["statuses"], columns["names"], columns["extensions"]
    numbers, site_names, devices, licences = (
        columns["numbers"],
        columns["sites"],
        columns["devices"],
        columns["licences"],
    )
    versions, hays = columns["versions"], columns["haystacks"]
    # Strings that repeat (statuses, sites, models, common names) are interned:
    # one copy each, and a status can be compared by identity.
    pool = sys.intern
    for query in queries:
        result = session.connection().execution_options(yield_per=FETCH_BATCH).execute(query)
        for batch in result.partitions():
            for user_id, status, name, username, email, extension, e164, site_id, device, licence, version in batch:
                site, country = sites[site_id]
                name = pool(visible(name))
                ids.append(user_id)
                statuses.append(pool(status))
                names.append(name)
                extensions.append(pool(visible(extension)))
                numbers.append(int(e164[1:]))
                site_names.append(site)
                devices.append(pool(device))
                licences.append(pool(licence))
                versions.append(version)
                hays.append(haystack(name, username, email, extension, e164, country))
    return columns


def load(store: Store) -> DirectoryData:
    """Every user, in one query (run it in a worker thread)."""
    with store.read() as session:
        return _load(session)


def _load(session: Session) -> DirectoryData:
    # The stamp is read first: a change committed meanwhile is seen again
    # later, never missed.
    stamp = audit.latest_id(session)
    # Read by name, the strings are made, and lie in memory, in the order the
    # filter walks them: a search touching every row ran about four times
    # faster than over strings made in id order (benchmark).
    return _with_unhanded(_read(session, [_by_name(_rows_query())], stamp), handover.never_handed_over(session))


def _with_unhanded(data: DirectoryData, unhanded: frozenset[int]) -> DirectoryData:
    """``data`` marking ``unhanded``. Set in place: the instance is new and not
    shared yet, and a copy would rebuild every column for one small set."""
    object.__setattr__(data, "unhanded", unhanded)
    return data


def load_first_page(store: Store, limit: int = FIRST_PAGE) -> DirectoryData:
    """The first users by name, cheap through the name index: something to
    show within milliseconds while :func:`load` reads the rest. Complete by
    itself when the tenant is that small."""
    with store.read() as session:
        stamp = audit.latest_id(session)
        query = _by_name(_rows_query()).limit(limit)
        first = _read(session, [query], stamp, complete=False)
        unhanded = handover.never_handed_over(session)
    if len(first) < limit:
        first = DirectoryData.build(first.columns(), first.countries, stamp)
    return _with_unhanded(first, unhanded)


def refresh(store: Store, data: DirectoryData) -> DirectoryData | None:
    """The data with everything that changed since ``data.stamp``; None when
    nothing did. Cheap when nothing changed: one indexed ``max(id)``."""
    with store.read() as session:
        latest = audit.latest_id(session)
        if latest == data.stamp:
            return None
        if not data.complete:
            return _load(session)
        details = (
            session.execute(
                select(col(AuditEvent.details))
                .where(col(AuditEvent.id) > data.stamp)
                .order_by(col(AuditEvent.id))
                .limit(PATCH_LIMIT + 1)
            )
            .scalars()
            .all()
        )
        if len(details) > PATCH_LIMIT:
            return _load(session)
        ids = {d["user_id"] for d in details if isinstance(d.get("user_id"), int)}
        if any("user_id" not in d for d in details):
            # An event that names no user (a bulk change, a new demo tenant):
            # compare every user's version instead.
            ids |= _changed_by_version(session, data)
        if len(ids) > PATCH_LIMIT:
            return _load(session)
        wanted = sorted(ids)
        queries = (
            _rows_query().where(col(User.id).in_(wanted[start : start + ID_CHUNK]))
            for start in range(0, len(wanted), ID_CHUNK)
        )
        changes = _read(session, queries, latest, sort=False)
        found = set(changes.ids)
        removed = {user_id for user_id in ids - found if data.index_of(user_id) is not None}
        unhanded = handover.never_handed_over(session)
    return _with_unhanded(data.patched(changes, removed, latest), unhanded)


def _by_name(query: Select[*tuple[Any, ...]]) -> Select[*tuple[Any, ...]]:
    return query.order_by(None).order_by(col(User.last_name), col(User.first_name), col(User.id))


def _changed_by_version(session: Session, data: DirectoryData) -> set[int]:
    current: dict[int, int] = dict(session.execute(select(col(User.id), col(User.version))).all())
    changed = {
        user_id
        for user_id, version in current.items()
        if (index := data.index_of(user_id)) is None or data.versions[index] != version
    }
    changed |= set(data.ids) - current.keys()
    return changed


# --- the operator's view -------------------------------------------------------


def _sort_keys(column: SortColumn, data: DirectoryData, lang: str) -> list[Any]:
    """One key per row, computed by C loops and per-value lookups (a Python
    function per row would cost a tenth of a second at 100,000 users)."""
    if column is SortColumn.NUMBER:
        return list(map(str, data.numbers))
    if column is SortColumn.EXTENSION:
        # Digits only (R2): padding makes text order the numeric order.
        return list(map(methodcaller("zfill", 8), data.extensions))
    # Typed here: the lambdas alone would make every label an untyped function.
    by_column: dict[SortColumn, tuple[Sequence[str], Callable[[str], Any]]] = {
        SortColumn.STATUS: (data.statuses, lambda s: STATUSES.index(s) if s in STATUSES else len(STATUSES)),
        SortColumn.SITE: (data.sites, strip_accents),
        SortColumn.DEVICE: (data.devices, lambda d: strip_accents(device_label(d, lang))),
        SortColumn.LICENCE: (data.licences, lambda code: strip_accents(licence_label(code, lang))),
    }
    values, label = by_column[column]
    keys = {value: label(value) for value in set(values)}
    return list(map(keys.__getitem__, values))


class _Slice(NamedTuple):
    """Rows in display order (indexes into the data) with their status codes
    alongside, so filtering and counting run in C; their haystacks too where
    kept, else read from the data as needed. Arrays and tuples only: nothing
    the garbage collector walks (see the module's notes)."""

    indexes: array[int]  # "i"
    codes: array[int]  # "b": status_code() of each row
    hays: Sequence[str] | None

    @property
    def size(self) -> int:
        return len(self.indexes)

    @classmethod
    def of(cls, data: DirectoryData, order: array[int]) -> _Slice:
        """Every row of ``data`` in ``order``, haystacks gathered."""
        return cls(order, array("b", map(data.codes.__getitem__, order)), None).with_haystacks(data)

    def with_haystacks(self, data: DirectoryData) -> _Slice:
        """The same rows with their haystacks gathered from ``data`` (once, a tuple)."""
        return self._replace(hays=tuple(map(data.haystacks.__getitem__, self.indexes)))

    def reversed(self) -> _Slice:
        return _Slice(self.indexes[::-1], self.codes[::-1], None if self.hays is None else self.hays[::-1])

    def part(self, start: int, stop: int) -> _Slice:
        hays = None if self.hays is None else self.hays[start:stop]
        return _Slice(self.indexes[start:stop], self.codes[start:stop], hays)

    def matching(self, needle: str, data: DirectoryData) -> _Slice:
        hays = self.hays if self.hays is not None else map(data.haystacks.__getitem__, self.indexes)
        mask = list(map(contains, hays, repeat(needle)))
        return _Slice(array("i", compress(self.indexes, mask)), array("b", compress(self.codes, mask)), None)

    def with_status(self, code: int) -> array[int]:
        return array("i", compress(self.indexes, map(eq, self.codes, repeat(code))))


def _covers(broader: tuple[str, ...], narrower: tuple[str, ...]) -> bool:
    """Whether every row matching ``narrower`` also matches ``broader``."""
    return all(any(b in n for n in narrower) for b in broader)


class _Scan:
    """A query being answered: rows of ``source`` are examined in order, on
    demand, so the first screenful is ready long before the last row is read."""

    def __init__(
        self, data: DirectoryData, source: _Slice, apply: tuple[str, ...], key: tuple[str, ...], status: int | None
    ) -> None:
        self.data = data
        self.source = source
        self.apply = apply  # needles the source is not yet filtered by
        self.key = key  # every needle of the query: the cache key of the answer
        self.status = status  # a status code, or None for every status
        if not apply:
            # The source already answers the query: only the status filter is left.
            self.examined = source.size
            self.matched = source
            self.visible: array[int] = source.indexes if status is None else source.with_status(status)
        else:
            self.examined = 0
            self.matched = _Slice(array("i"), array("b"), None)
            self.visible = self.matched.indexes if status is None else array("i")

    @property
    def complete(self) -> bool:
        return self.examined >= self.source.size

    def step(self, rows: int) -> None:
        stop = min(self.examined + rows, self.source.size)
        part = self.source.part(self.examined, stop)
        for needle in self.apply:
            part = part.matching(needle, self.data)
        self.examined = stop
        self.matched.indexes.extend(part.indexes)
        self.matched.codes.extend(part.codes)
        if self.status is not None:
            self.visible.extend(part.with_status(self.status))

    def answer(self, keep_haystacks: int) -> _Slice:
        """The complete answer as kept: with its haystacks when it has at most
        ``keep_haystacks`` rows."""
        matched = self.matched
        if matched.hays is not None or matched.size > keep_haystacks:
            return matched
        return matched.with_haystacks(self.data)


class Directory:
    """The users the table shows: the data through the operator's query,
    status filter and sort. A position (0 = top line) indexes the result.

    Answers are computed lazily: :meth:`row` examines only as many rows as the
    position needs, :meth:`advance` continues in steps (the screen calls it
    between frames) and :meth:`finish` completes. Counts and the full length
    are known once :attr:`complete`.
    """

    # Rows examined per step: a few milliseconds of work.
    STEP = 8_192
    FIRST_STEP = 1_024
    # Recent complete query results kept for backspace and for narrowing.
    RESULT_CACHE_ROWS = 300_000
    # Answers up to this size keep their haystacks: narrowing them is then as
    # fast per row as narrowing everyone. Larger ones are narrowed by reading
    # the data's haystacks (slower per row, but they are rarely narrowed).
    KEEP_HAYSTACKS = 25_000

    def __init__(self, data: DirectoryData = EMPTY) -> None:
        self.data = data
        self.query = ""
        self.status: Status | None = None
        self.sort = SortColumn.NAME
        self.descending = False
        self._ascending: _Slice | None = None
        self._base: _Slice | None = None
        self._results: OrderedDict[tuple[str, ...], _Slice] = OrderedDict()
        self._scan = self._start()

    # -- parameters

    def replace_data(self, data: DirectoryData) -> None:
        """New data; the sort order is kept when nothing it depends on changed
        (a carrier status change while sorted by name: no sorting at all)."""
        keep_order = (
            self._ascending is not None
            and data.name_order is self.data.name_order
            and SORTED_BY[self.sort] not in data.changed
        )
        self.data = data
        if keep_order:
            assert self._ascending is not None
            order = self._ascending.indexes
            self._ascending = _Slice.of(data, order)
        self._forget(keep_order=keep_order)

    def set_query(self, query: str) -> None:
        if query != self.query:
            self.query = query
            self._scan = self._start()

    def set_status(self, status: Status | str | None) -> None:
        self.status = None if status is None else Status(status)
        self._scan = self._start()

    def cycle_status(self) -> Status | None:
        self.set_status(STATUS_CYCLE[(STATUS_CYCLE.index(self.status) + 1) % len(STATUS_CYCLE)])
        return self.status

    def set_sort(self, column: SortColumn | str, descending: bool = False) -> None:
        self.sort, self.descending = SortColumn(column), descending
        self._forget()

    def cycle_sort(self) -> SortColumn:
        self.set_sort(SORT_CYCLE[(SORT_CYCLE.index(self.sort) + 1) % len(SORT_CYCLE)])
        return self.sort

    def reverse(self) -> None:
        self.descending = not self.descending
        self._forget(keep_order=True)

    def relabel(self) -> None:
        """The language changed: sorts by label may change order."""
        if self.sort in (SortColumn.DEVICE, SortColumn.LICENCE):
            self._forget()

    # -- reading

    @property
    def complete(self) -> bool:
        return self._scan.complete

    @property
    def loading(self) -> bool:
        """Only the first page of the data is there yet."""
        return not self.data.complete

    @property
    def total(self) -> int:
        return len(self.data)

    def __len__(self) -> int:
        """Rows found so far; the final count once :attr:`complete`."""
        return len(self._scan.visible)

    def row(self, position: int) -> DirectoryRow | None:
        self.ensure(position + 1)
        visible = self._scan.visible
        return self.data.row(visible[position]) if 0 <= position < len(visible) else None

    def rows(self, start: int, stop: int) -> list[DirectoryRow]:
        self.ensure(stop)
        return [self.data.row(i) for i in self._scan.visible[max(start, 0) : stop]]

    def counts(self) -> dict[str, int] | None:
        """Users per status matching the query (whatever the status filter);
        None until the answer is complete."""
        if not self.complete:
            return None
        # As bytes: counting one byte value runs at memory speed.
        codes = self._scan.matched.codes.tobytes()
        return {status: codes.count(code) for code, status in enumerate(STATUSES)}

    def position_of(self, user_id: int) -> int | None:
        index = self.data.index_of(user_id)
        if index is None:
            return None
        self.finish()
        try:
            return self._scan.visible.index(index)
        except ValueError:
            return None

    def ids(self) -> list[int]:
        """Every user id of the answer, in order."""
        self.finish()
        return list(map(self.data.ids.__getitem__, self._scan.visible))

    # -- work

    def ensure(self, count: int) -> None:
        """Examine rows until ``count`` are found or every row was examined;
        small steps first, as a screenful is often found in the first few."""
        scan, rows = self._scan, self.FIRST_STEP
        while len(scan.visible) < count and not scan.complete:
            self._step(rows)
            rows = min(rows * 4, self.STEP)

    def advance(self) -> bool:
        """One step of work; True once the answer is complete."""
        if not self._scan.complete:
            self._step()
        return self._scan.complete

    def finish(self) -> None:
        while not self._scan.complete:
            self._step()

    def _step(self, rows: int | None = None) -> None:
        scan = self._scan
        scan.step(rows or self.STEP)
        if scan.complete:
            scan.matched = scan.answer(self.KEEP_HAYSTACKS)
            self._remember(scan.key, scan.matched)

    def _forget(self, *, keep_order: bool = False) -> None:
        if not keep_order:
            self._ascending = None
        self._base = None
        self._results.clear()
        self._scan = self._start()

    def _base_slice(self) -> _Slice:
        """Every row in display order: the start of every answer."""
        if self._base is None:
            if self._ascending is None:
                data = self.data
                order: array[int] = data.name_order
                if self.sort is not SortColumn.NAME:
                    keys = _sort_keys(self.sort, data, language())
                    # Stable: rows with equal keys stay in name order.
                    order = array("i", sorted(order, key=keys.__getitem__))
                self._ascending = _Slice.of(data, order)
            ascending = self._ascending
            self._base = ascending.reversed() if self.descending else ascending
        return self._base

    def _start(self) -> _Scan:
        wanted = needles(self.query)
        status = None if self.status is None else status_code(self.status.value)
        source = self._base_slice()
        done: tuple[str, ...] = ()
        cached = self._results.get(wanted) if wanted else None
        if cached is not None:
            self._results.move_to_end(wanted)
            source, done = cached, wanted
        else:
            # Narrowing: start from the smallest earlier answer that holds every match.
            # One without its haystacks only when much smaller: each of its rows costs more.
            for previous, result in self._results.items():
                size = result.size if result.hays is not None else 2 * result.size
                if _covers(previous, wanted) and size < source.size:
                    source, done = result, previous
        return _Scan(self.data, source, tuple(n for n in wanted if n not in done), wanted, status)

    def _remember(self, wanted: tuple[str, ...], result: _Slice) -> None:
        self._results[wanted] = result
        while sum(r.size for r in self._results.values()) > self.RESULT_CACHE_ROWS and len(self._results) > 1:
            self._results.popitem(last=False)
