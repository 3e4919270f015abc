"""The directory's rows: statuses and sort columns, the filter's text forms,
the labels shown, and :class:`DirectoryData`, every user as compact columns."""

from __future__ import annotations

import gc
import itertools
import unicodedata
from array import array
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from typing import TYPE_CHECKING, Any, NamedTuple

from onenet_tui.data import catalogs, phones
from onenet_tui.data.enums import DeviceType, Status
from onenet_tui.data.phones import national_digits
from onenet_tui.i18n import language, t
from onenet_tui.visible import visible

if TYPE_CHECKING:
    from onenet_tui.data.directory.grams import GramView

# The order in which ``f`` cycles the status filter; None shows everyone.
STATUS_CYCLE: tuple[Status | None, ...] = (None, Status.PENDING, Status.ACTIVATED, Status.FAILED)
STATUSES: tuple[str, ...] = tuple(s.value for s in Status)
_STATUS_CODES = {status: code for code, status in enumerate(STATUSES)}


def status_code(status: str) -> int:
    """A status as a small number (its place in STATUSES; unknown ones after them)."""
    return _STATUS_CODES.get(status, len(STATUSES))


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
    # Their portal account is locked (data.accounts resets it).
    locked: bool = False
    department: str = ""
    username: str = ""
    email: str = ""

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


# --- what is shown -------------------------------------------------------------


# Haystack lines: the extension's starts with this, the numbers' with the
# other, so ``ext:`` and ``number:`` terms match the start of those lines only
# (directory.terms); a typed query holds no control characters.
EXTENSION_LINE = "\x02"
NUMBER_LINE = "\x01"
# Between the folded and the original form of a username or email that folding
# changed: the directory shows the original, read back from the haystack, so
# no column of its own is needed for them (memory at 100,000 users).
AS_TYPED = "\x03"


def _with_original(text: str) -> str:
    folded = text.casefold()
    return folded if folded == text else f"{folded}{AS_TYPED}{text}"


def haystack(name: str, username: str, email: str, extension: str, e164: str, country: str) -> str:
    """What the filter searches, one line per form. Starts with the sort key
    of the name (its folded "last, first"); the username and email are the
    fifth and fourth lines from the end (:func:`username_and_email`)."""
    lowered = name.casefold()
    folded = strip_accents(lowered)
    names = folded if folded == lowered else f"{folded}\n{lowered}"
    return (
        f"{names}\n{_with_original(username)}\n{_with_original(email)}\n{EXTENSION_LINE}{extension}"
        f"\n{NUMBER_LINE}{national_digits(e164, country)}\n{NUMBER_LINE}{e164[1:]}"
    )


def username_and_email(hay: str) -> tuple[str, str]:
    """The username and email as typed, read back from a haystack; display-safe."""
    lines = hay.rsplit("\n", 5)
    if len(lines) < 6:
        return "", ""
    return visible(lines[-5].rpartition(AS_TYPED)[2]), visible(lines[-4].rpartition(AS_TYPED)[2])


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


# Rows whose haystacks are made again at once (a few megabytes of text at a time).
_REMADE_ROWS = 65_536


def _made_in_order(hays: list[str], order: Sequence[int]) -> list[str]:
    """The haystacks, each made again, in ``order``: the strings then lie in
    memory in the order the filter walks them, and a search touching every
    row ran about four times faster than over strings made in id order
    (benchmark, a million users). ``hays`` is emptied first, so the new
    strings take the old ones' place instead of adding to the memory used."""
    count = len(order)
    texts: list[str] = []
    for start in range(0, count, _REMADE_ROWS):
        part = list(map(hays.__getitem__, order[start : start + _REMADE_ROWS]))
        text = "\x00".join(part)
        if text.count("\x00") != len(part) - 1:
            return hays  # a haystack holds the separator: kept as they are
        texts.append(text)
    part = []
    hays.clear()
    by_row: list[str] = [""] * count
    for n, start in enumerate(range(0, count, _REMADE_ROWS)):
        for made, row in zip(texts[n].split("\x00"), order[start : start + _REMADE_ROWS], strict=True):
            by_row[row] = made
        texts[n] = ""  # each joined text goes once split
    return by_row


# (site, device, department): a row's facet.
Facet = tuple[str, str, str]


def shared_facets(
    sites: Iterable[str], devices: Iterable[str], departments: Iterable[str], made: dict[Facet, Facet]
) -> list[Facet]:
    """Each row's (site, device, department), one tuple per combination,
    kept in ``made`` (shared across batches): a million rows hold a few
    thousand tuples instead of a million."""
    facets = list(zip(sites, devices, departments, strict=True))
    return list(map(made.setdefault, facets, facets))


def _editable(name: str, column: Any) -> Any:
    """A copy of column ``name`` that can be changed in place, of its own
    type (the column may be an overlay, :class:`_Before`, of an array)."""
    if isinstance(column, array):
        return column[:]
    return array(ARRAY_COLUMNS[name], column) if name in ARRAY_COLUMNS else list(column)


_SERIALS = itertools.count(1)

# The per-row columns of DirectoryData.
COLUMNS = (
    "ids",
    "statuses",
    "names",
    "extensions",
    "numbers",
    "sites",
    "devices",
    "licences",
    "versions",
    "haystacks",
    "departments",
    "locked",
    "facets",
)
# The columns held as arrays of integers (with their type codes).
ARRAY_COLUMNS = {"ids": "q", "numbers": "q", "versions": "q", "locked": "b"}


@dataclass(frozen=True, eq=False, repr=False)
class DirectoryData:
    """All users as read at one moment, by column, in user id order. Its
    values never change: a patch (:meth:`patched`) that changes a column in
    place leaves this instance an overlay of its old values.

    The string columns are lists, so a patch can change them in place; the
    console moves them out of the garbage collector's generations once
    loaded (``gc.freeze``), so its passes do not walk them."""

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
    departments: Sequence[str] = ()  # "" for none
    locked: array[int] = field(default_factory=lambda: array("b"))  # 1: the portal account is locked
    # (site, device, department) of each row, one shared tuple per combination
    # (shared_facets): a free word is looked for in a few hundred combinations,
    # then a set lookup per row, or the gram index's numbers, find their rows.
    facets: Sequence[Facet] = ()
    # -- not per row
    countries: dict[str, str] = field(default_factory=dict)  # site name -> country
    name_order: array[int] = field(default_factory=lambda: array("i"))  # row indexes sorted by name
    stamp: int = 0  # newest audit event id when read: changes come after it
    complete: bool = True  # False for the first page shown while the rest loads
    # Ids of users whose latest credentials were never handed over (data.handover).
    unhanded: frozenset[int] = frozenset()
    # Every (site, device, department) the rows have, found as they were read
    # (perhaps a few more after a patch): what free words and terms look
    # into, without a pass over every row on the first keystroke.
    facet_values: frozenset[Facet] = frozenset()
    # Columns that differ from the data this was patched from (all, when read afresh).
    changed: frozenset[str] = frozenset(COLUMNS)
    # Set by :meth:`patched` when every row kept its index: the indexes of the
    # rows whose values changed, and the :attr:`serial` of the data they changed from.
    # The directory then moves just those rows in its answers (a change by
    # another admin at a million users) instead of gathering them all again.
    touched: tuple[int, ...] | None = None
    patched_from: int | None = None
    # status_code() of each row: filters and counts compare small numbers.
    # Computed from the statuses unless a patch hands them over.
    codes: array[int] = field(default_factory=lambda: array("b"))
    # Which instance this is, in this process: a patch names the one it was
    # made from (two loads may share a stamp; their row indexes need not agree).
    serial: int = field(init=False)
    # Set once a patch changed this instance's columns in place: a later
    # patch of it (stale data) copies instead of changing the newer one's.
    superseded: bool = field(default=False, init=False)
    # Which rows may hold a needle (directory.grams), set by the loader's
    # worker after a full load; None until then, for small data and after
    # users were added or removed (the filter then scans every row).
    grams: GramView | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "serial", next(_SERIALS))
        if len(self.codes) != len(self.statuses):
            # status_code() per distinct status, then a C lookup per row.
            codes = {status: status_code(status) for status in set(self.statuses)}
            object.__setattr__(self, "codes", array("b", map(codes.__getitem__, self.statuses)))

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
        facet_values: frozenset[Facet] = frozenset(),
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
                columns[name] = _take(column, by_id)
            moved_to = array("i", bytes(4 * len(by_id)))
            for new, old in enumerate(by_id):
                moved_to[old] = new
            order = map(moved_to.__getitem__, range(len(ids)) if order is None else order)
        hays = columns["haystacks"]
        candidates = range(len(hays)) if order is None else order
        # The haystack starts with the folded "last, first": its order is the name order.
        name_order = array("i", sorted(candidates, key=hays.__getitem__))
        if order is None and isinstance(hays, list):
            columns["haystacks"] = _made_in_order(hays, name_order)
        return cls(
            **columns,
            countries=countries,
            name_order=name_order,
            stamp=stamp,
            complete=complete,
            facet_values=facet_values,
        )

    def __len__(self) -> int:
        return len(self.ids)

    def __repr__(self) -> str:
        # Short: workers and logs print their arguments.
        return f"<DirectoryData {len(self)} users, stamp {self.stamp}, complete={self.complete}>"

    def row(self, index: int) -> DirectoryRow:
        site = self.sites[index]
        username, email = username_and_email(self.haystacks[index])
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
            bool(self.locked[index]),
            self.departments[index],
            username,
            email,
        )

    def index_of(self, user_id: int) -> int | None:
        index = bisect_left(self.ids, user_id)
        return index if index < len(self.ids) and self.ids[index] == user_id else None

    def row_by_id(self, user_id: int) -> DirectoryRow | None:
        index = self.index_of(user_id)
        return None if index is None else self.row(index)

    def patched(self, changes: DirectoryData, removed: set[int], stamp: int) -> DirectoryData:
        """The data with the rows of ``changes`` replaced or added and ``removed`` ids gone.

        When no row is added or removed, the work is proportional to the
        changes, not to the directory: the columns are changed in place and
        shared with the result, this instance keeps reading its old values
        through a small overlay (:class:`_Before`), the name order has its
        renamed rows moved, and the result names its :attr:`touched` rows.
        (At a million users, copying a changed column and letting the old
        one go held the interpreter, and with it the interface, for tens of
        milliseconds per change by another admin: benchmark.)"""
        countries = {**self.countries, **changes.countries}
        # The same set when nothing new came: what is found from it is kept (query._keep_values).
        facet_values = (
            self.facet_values if changes.facet_values <= self.facet_values else self.facet_values | changes.facet_values
        )
        where = [(j, self.index_of(user_id)) for j, user_id in enumerate(changes.ids)]
        if removed or any(i is None for _, i in where):
            return self._rebuilt(changes, removed, stamp, countries, facet_values)
        # What changes, worked out before anything is written.
        writes: dict[str, dict[int, Any]] = {}
        for j, i in where:
            assert i is not None
            for name in COLUMNS:
                value = getattr(changes, name)[j]
                if getattr(self, name)[i] != value:
                    writes.setdefault(name, {})[i] = value
        columns: dict[str, Any] = self.columns()
        # Lists and arrays are shared with the result, changed in place
        # below; the rest (a tuple, once) copied where written. (Copying the
        # versions array, which every change writes, held the interpreter
        # for 3-6 ms per change by another admin at a million users.)
        shared = [name for name, column in columns.items() if isinstance(column, list | array) and not self.superseded]
        # Stale data (superseded) reads its arrays through overlays: the
        # result gets arrays of its own again, which C code and lookups expect.
        copied = writes.keys() - shared if not self.superseded else writes.keys() | ARRAY_COLUMNS.keys()
        for name in copied:
            column = columns[name] = _editable(name, columns[name])
            for i, value in writes.get(name, {}).items():
                column[i] = value
        touched = sorted({i for changed in writes.values() for i in changed})
        codes = self.codes
        if "statuses" in writes:
            codes = codes[:]
            for i, status in writes["statuses"].items():
                codes[i] = status_code(status)
        new = DirectoryData(
            **columns,
            countries=countries,
            name_order=self.name_order,
            stamp=stamp,
            changed=frozenset(writes),
            facet_values=facet_values,
            unhanded=self.unhanded,
            touched=tuple(touched),
            patched_from=self.serial,
            codes=codes,
            # Its own view: this instance's keeps answering for the old haystacks.
            grams=None if self.grams is None else self.grams.with_changed(touched),
        )
        # This instance reads every shared column through an overlay first
        # (a later patch of the result may change any of them), then the
        # shared columns change: whoever still reads it never sees a new value.
        object.__setattr__(self, "superseded", True)
        for name in shared:
            column = columns[name]
            object.__setattr__(self, name, _Before(new, name, {i: column[i] for i in writes.get(name, ())}))
        for name in shared:
            column = columns[name]
            for i, value in writes.get(name, {}).items():
                column[i] = value
        renamed = sorted(writes.get("haystacks", ()))
        if renamed:
            name_order = _moved(self.name_order, renamed, self.haystacks, new.haystacks)
            object.__setattr__(new, "name_order", name_order)
        return new

    def _rebuilt(
        self,
        changes: DirectoryData,
        removed: set[int],
        stamp: int,
        countries: dict[str, str],
        facet_values: frozenset[Facet],
    ) -> DirectoryData:
        """:meth:`patched` when users were added or removed: row indexes move, so every column is made again."""
        columns = {name: _editable(name, column) for name, column in self.columns().items()}
        added: list[int] = []
        for j, user_id in enumerate(changes.ids):
            i = self.index_of(user_id)
            if i is None:
                added.append(j)
                continue
            for name, column in columns.items():
                column[i] = getattr(changes, name)[j]
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
        # about linear time.
        return DirectoryData.build(columns, countries, stamp, order=previous, facet_values=facet_values)


# Renamed rows moved one by one, each a bisection and two copies of part of
# the order (about 0.2 ms at a million users); more, and the order is sorted
# again, which for an order this close to sorted takes about half a second.
_MOVED_ONE_BY_ONE = 2_000


def _moved(order: array[int], rows: Sequence[int], old: Sequence[str], new: Sequence[str]) -> array[int]:
    """``order`` (row indexes sorted by haystack) with ``rows`` moved from
    their place under the ``old`` haystacks to their place under the ``new``:
    every row out first, then every row in, so each search runs over rows
    sorted by one set of haystacks."""
    if len(rows) > _MOVED_ONE_BY_ONE:
        return array("i", sorted(order, key=new.__getitem__))
    order = order[:]
    for i in rows:
        at = bisect_left(order, old[i], key=old.__getitem__)
        if at >= len(order) or order[at] != i:
            at = order.index(i)  # equal haystacks: never for distinct users, but never wrong
        del order[at]
    for i in rows:
        order.insert(bisect_left(order, new[i], key=new.__getitem__), i)
    return order


def with_unhanded(data: DirectoryData, unhanded: frozenset[int]) -> DirectoryData:
    """``data`` marking ``unhanded`` (data.handover). Set in place: the
    instance is new and not shared yet, and a copy would rebuild every
    column for one small set."""
    object.__setattr__(data, "unhanded", unhanded)
    return data


def with_grams(data: DirectoryData, grams: GramView) -> DirectoryData:
    """``data`` with its gram index, set in place: the index answers as a scan
    of the same rows would, so whoever reads ``data`` meanwhile sees the same
    answers, only sooner."""
    object.__setattr__(data, "grams", grams)
    return data


def keep_long_lived() -> None:
    """Everything made so far, the loaded columns above all, out of the
    garbage collector's generations (``gc.freeze``): its passes stop walking
    a list of a million strings per column, which held up keystrokes for
    tens of milliseconds. For data that lives about as long as the console:
    it is still freed when let go (reference counting), only cycles among
    what was frozen would stay. Patches change those lists in place, so
    nothing new needs freezing until the next full load."""
    gc.freeze()


class _Before(Sequence[Any]):
    """A column as it was before a patch changed it in place: the old values
    of the rows the patch wrote, the rest read through the patched data (and
    so through its own overlay, should it be patched in turn). Slower per row
    than a list: only data that was replaced meanwhile reads through it."""

    __slots__ = ("_name", "_newer", "_old")

    def __init__(self, newer: DirectoryData, name: str, old: dict[int, Any]) -> None:
        self._newer, self._name, self._old = newer, name, old

    def __len__(self) -> int:
        return len(getattr(self._newer, self._name))

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        old = self._old
        return old[index] if index in old else getattr(self._newer, self._name)[index]


EMPTY = DirectoryData()
