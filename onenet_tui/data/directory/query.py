"""The operator's view of the directory: filter, status filter and sort,
answered lazily as far as the screen needs."""

from __future__ import annotations

from array import array
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from itertools import compress, repeat
from operator import contains, eq, methodcaller, or_
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from onenet_tui.data.directory import terms
from onenet_tui.data.directory.rows import (
    EMPTY,
    SORT_CYCLE,
    SORTED_BY,
    STATUS_CYCLE,
    STATUSES,
    DirectoryData,
    DirectoryRow,
    SortColumn,
    device_label,
    licence_label,
    status_code,
    strip_accents,
    with_grams,
)
from onenet_tui.data.directory.terms import Field, Parsed, Term
from onenet_tui.data.enums import DeviceType, Status
from onenet_tui.i18n import language

if TYPE_CHECKING:
    from onenet_tui.data.directory.grams import GramView


def _value_key(column: SortColumn, lang: str) -> Callable[[Any], Any]:
    """The sort key of one value of the column a sort reads (not NAME)."""
    if column is SortColumn.NUMBER:
        return str
    if column is SortColumn.EXTENSION:
        # Digits only (R2): padding makes text order the numeric order.
        return methodcaller("zfill", 8)
    # Typed here: the lambdas alone would make every label an untyped function.
    by_column: dict[SortColumn, Callable[[str], Any]] = {
        SortColumn.STATUS: lambda s: STATUSES.index(s) if s in STATUSES else len(STATUSES),
        SortColumn.SITE: strip_accents,
        SortColumn.DEVICE: lambda d: strip_accents(device_label(d, lang)),
        SortColumn.LICENCE: lambda code: strip_accents(licence_label(code, lang)),
    }
    return by_column[column]


def _sort_keys(column: SortColumn, data: DirectoryData, lang: str) -> list[Any]:
    """One key per row, computed by C loops and per-value lookups (a Python
    function per row would cost a tenth of a second at 100,000 users)."""
    values = getattr(data, SORTED_BY[column])
    key = _value_key(column, lang)
    if column in (SortColumn.NUMBER, SortColumn.EXTENSION):
        return list(map(key, values))
    keys = {value: key(value) for value in set(values)}
    return list(map(keys.__getitem__, values))


def _row_key(column: SortColumn, data: DirectoryData, lang: str) -> Callable[[int], Any]:
    """The key a row has in the order of :meth:`Directory._base_slice`: the
    column's key, then the haystack (the stable sort keeps the name order,
    which is the haystack order). Haystacks hold the number, so no two rows
    share one: every row has its own place, found by bisection."""
    hays = data.haystacks
    if column is SortColumn.NAME:
        return hays.__getitem__
    values, key = getattr(data, SORTED_BY[column]), _value_key(column, lang)
    return lambda i: (key(values[i]), hays[i])


def _place(indexes: Sequence[int], key: Any, key_of: Callable[[int], Any], descending: bool) -> int:
    """Where a row of ``key`` goes in ``indexes`` (sorted by ``key_of``): bisection, O(log n)."""
    low, high = 0, len(indexes)
    while low < high:
        middle = (low + high) // 2
        other = key_of(indexes[middle])
        if (key < other) if descending else (other < key):
            low = middle + 1
        else:
            high = middle
    return low


def _recounted(
    counts: dict[str, int],
    before: _Slice,
    old_key: Callable[[int], Any],
    touched: Sequence[int],
    member: Callable[[int], bool],
    codes: Sequence[int],
    descending: bool,
) -> dict[str, int]:
    """``counts`` of the rows of ``before`` (sorted by ``old_key``) after the
    ``touched`` rows left it and those that are ``member`` came back with their ``codes``."""
    counts = dict(counts)
    for i in touched:
        at = _find(before.indexes, i, old_key, descending)
        if at is not None and before.codes[at] < len(STATUSES):
            counts[STATUSES[before.codes[at]]] -= 1
        if member(i) and codes[i] < len(STATUSES):
            counts[STATUSES[codes[i]]] += 1
    return counts


def _find(indexes: Sequence[int], index: int, key_of: Callable[[int], Any], descending: bool) -> int | None:
    """The position of row ``index`` in ``indexes`` (sorted by ``key_of``), None when absent."""
    at = _place(indexes, key_of(index), key_of, descending)
    return at if at < len(indexes) and indexes[at] == index else None


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
    def of(cls, data: DirectoryData, order: array[int], keep_haystacks: int) -> _Slice:
        """Every row of ``data`` in ``order``, haystacks gathered if at most ``keep_haystacks``."""
        every = cls(order, array("b", map(data.codes.__getitem__, order)), None)
        return every if every.size > keep_haystacks else every.with_haystacks(data)

    def with_haystacks(self, data: DirectoryData) -> _Slice:
        """The same rows with their haystacks gathered from ``data`` (once, a tuple)."""
        return self._replace(hays=tuple(map(data.haystacks.__getitem__, self.indexes)))

    def reversed(self) -> _Slice:
        return _Slice(self.indexes[::-1], self.codes[::-1], None if self.hays is None else self.hays[::-1])

    def part(self, start: int, stop: int) -> _Slice:
        hays = None if self.hays is None else self.hays[start:stop]
        return _Slice(self.indexes[start:stop], self.codes[start:stop], hays)

    def matching(self, test: _Test, data: DirectoryData) -> _Slice:
        """The rows that pass ``test``, in C loops: a substring test of the
        haystacks, and set lookups of a column's values."""
        mask: list[Any] | None = None
        if test.needle is not None:
            hays = self.hays if self.hays is not None else map(data.haystacks.__getitem__, self.indexes)
            mask = list(map(contains, hays, repeat(test.needle)))
        for column, accepted in test.columns:
            values = self.codes if column == "codes" else map(getattr(data, column).__getitem__, self.indexes)
            found = map(accepted.__contains__, values)
            mask = list(found) if mask is None else list(map(or_, mask, found))
        if mask is None:
            mask = [False] * self.size
        return _Slice(array("i", compress(self.indexes, mask)), array("b", compress(self.codes, mask)), None)

    def with_status(self, code: int) -> array[int]:
        return array("i", compress(self.indexes, map(eq, self.codes, repeat(code))))


def _by_index(source: _Slice, test: _Test, data: DirectoryData) -> _Slice | None:
    """The rows of ``source`` that pass ``test``, all at once through the
    data's gram index (directory.grams): a mask over the rows, gathered into
    the source's order, verified by the substring test where the index gives
    a superset. None when the index cannot answer (the scan does)."""
    grams = data.grams
    if grams is None or test.needle is None or any(column != "facets" for column, _ in test.columns):
        return None
    found = grams.candidates(test.needle, data.haystacks)
    if found is None:
        return None
    import numpy as np  # with the index: never on the launch path

    mask, exact = found
    indexes = np.frombuffer(source.indexes, np.int32)
    passed = mask[indexes]
    if not exact:
        maybe = np.flatnonzero(passed)
        hays = data.haystacks.__getitem__
        held = map(
            contains,
            map(hays, indexes[maybe].tolist()) if source.hays is None else map(source.hays.__getitem__, maybe.tolist()),
            repeat(test.needle),
        )
        passed[maybe] = np.fromiter(held, bool, len(maybe))
    for _, accepted in test.columns:
        # The rows of the few combinations of site, model and department that hold the word.
        facets = grams.among(accepted, data.facets)
        if facets is None:
            return None
        passed |= facets[indexes]
    kept_indexes, kept_codes = array("i"), array("b")
    kept_indexes.frombytes(indexes[passed].tobytes())
    kept_codes.frombytes(np.frombuffer(source.codes, np.int8)[passed].tobytes())
    return _Slice(kept_indexes, kept_codes, None)


class _Test(NamedTuple):
    """One needle of a query, ready to run: a row passes if its haystack holds
    ``needle`` or the value of one of ``columns`` is among the accepted ones
    (a free word also finds a site, desk phone model or department; a term
    is a set of accepted values of one column)."""

    key: str
    needle: str | None
    columns: tuple[tuple[str, frozenset[Any]], ...] = ()


# The column of DirectoryData a term of few values is matched against.
_TERM_COLUMNS = {
    Field.SITE: "sites",
    Field.DEPARTMENT: "departments",
    Field.DEVICE: "devices",
    Field.LICENCE: "licences",
}
# Where each column's distinct values are in DirectoryData.facet_values.
_FACET_PARTS: dict[str, int | None] = {"sites": 0, "devices": 1, "departments": 2, "facets": None}
_NO_DEVICE = DeviceType.NONE.value
_ANY_DESK_PHONE = DeviceType.DESK_PHONE.value


class GroupMembers(Protocol):
    def members(self, value: str) -> frozenset[int]: ...


class GroupSource(Protocol):
    """Who is in which group (data.directory.groups.GroupIndex), asked only
    by a ``group:`` term: the memberships its workers last read."""

    def current(self) -> GroupMembers: ...

    def catch_up(self, stamp: int) -> None: ...


class _NoGroups:
    def members(self, value: str) -> frozenset[int]:
        return frozenset()


_NO_GROUPS = _NoGroups()


def _uses_groups(parsed: Parsed) -> bool:
    return any(term.field is Field.GROUP for term in parsed.terms)


def _forms(text: str) -> tuple[str, ...]:
    folded, lowered = strip_accents(text), text.casefold()
    return (folded,) if folded == lowered else (folded, lowered)


def _free_value(value: str) -> bool:
    """Whether free words look into this site, model or department: not the
    generic "no desk phone" / "desk phone" words, not an empty department."""
    return bool(value) and value not in (_NO_DEVICE, _ANY_DESK_PHONE)


class _Values:
    """The distinct values of the data's few-valued columns with their folded
    forms, found once per data: terms and free words are matched against a
    handful of sites, models and departments, never against every row."""

    def __init__(self, data: DirectoryData, groups: Callable[[], GroupMembers] = lambda: _NO_GROUPS) -> None:
        self.data = data
        self.groups = groups
        self._forms: dict[str, dict[Any, tuple[str, ...]]] = {}

    def forms(self, column: str) -> dict[Any, tuple[str, ...]]:
        found = self._forms.get(column)
        if found is None:
            found = self._forms[column] = {value: self._fold(column, value) for value in self._distinct(column)}
        return found

    def _distinct(self, column: str) -> Iterable[Any]:
        facets = self.data.facet_values
        if column in _FACET_PARTS and (facets or not len(self.data)):
            # Known since loading: no pass over every row on a keystroke.
            part = _FACET_PARTS[column]
            return facets if part is None else {facet[part] for facet in facets}
        return set(getattr(self.data, column))

    def _fold(self, column: str, value: Any) -> tuple[str, ...]:
        """Every form a value is found by: without accents (what terms, and
        most typing, use) and with them (free words keep theirs: "süd")."""
        if column == "facets":
            return ()  # looked up by its parts' forms
        if column == "devices":
            if value == _NO_DEVICE:
                return (*terms.NO_DEVICE_FORMS, *_forms(device_label(value, "en")), _NO_DEVICE)
            return (value.casefold(), *{f for lang in ("en", "de") for f in _forms(device_label(value, lang))})
        if column == "licences":
            return (value.casefold(), *{f for lang in ("en", "de") for f in _forms(licence_label(value, lang))})
        return _forms(value) if value else ()

    def accepted(self, column: str, value: str, *, prefix: bool) -> frozenset[Any]:
        return frozenset(v for v, forms in self.forms(column).items() if terms.matching(value, forms, prefix=prefix))

    def free(self, word: str) -> _Test:
        """A free word: the haystack, and the rows whose site, desk phone
        model (not the "no desk phone" words) or department holds it, found
        among the data's few combinations of the three."""
        held = {
            column: {v for v, folded in self.forms(column).items() if _free_value(v) and any(word in f for f in folded)}
            for column in ("sites", "devices", "departments")
        }
        if not any(held.values()):
            return _Test(word, word)
        sites, devices, departments = held["sites"], held["devices"], held["departments"]
        facets = frozenset(
            facet
            for facet in self.forms("facets")
            if facet[0] in sites or facet[1] in devices or facet[2] in departments
        )
        return _Test(word, word, (("facets", facets),))

    def term(self, term: Term) -> _Test:
        if term.in_haystack:
            return _Test(term.key, term.key)
        value = term.value
        if term.field is Field.STATUS:
            return _Test(term.key, None, (("codes", frozenset(map(status_code, terms.statuses(value)))),))
        if term.field is Field.GROUP:
            # Members by user id: the data's ids column holds them.
            return _Test(term.key, None, (("ids", self.groups().members(value)),))
        if term.field is Field.LOCKED:
            return _Test(term.key, None, (("locked", frozenset(int(v) for v in terms.locked_values(value))),))
        column = _TERM_COLUMNS[term.field]
        prefix = term.field in (Field.SITE, Field.DEPARTMENT)
        return _Test(term.key, None, ((column, self.accepted(column, value, prefix=prefix)),))


def _covers(broader: tuple[str, ...], narrower: tuple[str, ...]) -> bool:
    """Whether every row matching ``narrower`` also matches ``broader``."""
    return terms.covers(broader, narrower)


class _Scan:
    """A query being answered: rows of ``source`` are examined in order, on
    demand, so the first screenful is ready long before the last row is read."""

    def __init__(
        self, data: DirectoryData, source: _Slice, apply: tuple[_Test, ...], key: tuple[str, ...], status: int | None
    ) -> None:
        self.data = data
        self.source = source
        self.apply = apply  # tests the source is not yet filtered by
        self.key = key  # every needle of the query: the cache key of the answer
        self.status = status  # a status code, or None for every status
        # Directory.counts() of ``counted``, the matched rows they were counted in.
        self.counts: dict[str, int] | None = None
        self.counted: _Slice | None = None
        # Whether the data's gram index was asked for it (Directory._by_index).
        self.indexed = False
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
        for test in self.apply:
            part = part.matching(test, self.data)
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
    # Every row's haystacks gathered in display order, up to this many rows:
    # a scan of them runs faster than through the data's, but a tuple of a
    # million strings takes tens of milliseconds to let go, the first time a
    # change by another admin patches the answer (see :meth:`_moved`); the
    # strings lie in name order in memory anyway (rows._made_in_order).
    BASE_HAYSTACKS = 250_000
    # Data patched in at most this many rows moves just those rows in every
    # answer kept (see :meth:`_patch`); more, and the answers are made again.
    PATCH_ROWS = 1_000
    # Sources larger than this are filtered through the data's gram index,
    # when it has one, in one step; smaller ones are scanned lazily.
    INDEXED_SOURCE = 20_000

    def __init__(self, data: DirectoryData = EMPTY) -> None:
        self.data = data
        self.query = ""
        self.status: Status | None = None
        self.sort = SortColumn.NAME
        self.descending = False
        self._ascending: _Slice | None = None
        self._base: _Slice | None = None
        self._results: OrderedDict[tuple[str, ...], _Slice] = OrderedDict()
        # The query each kept result answers: a patch asks it of the rows that changed.
        self._parsed_of: dict[tuple[str, ...], Parsed] = {}
        self._values: _Values | None = None
        self.parsed: Parsed = terms.parse("")
        # For group: terms (set by the screen); the memberships the kept answers used.
        self.groups: GroupSource | None = None
        self._memberships: GroupMembers = _NO_GROUPS
        self._scan = self._start()

    # -- parameters

    def replace_data(self, data: DirectoryData) -> None:
        """New data; the sort order is kept when nothing it depends on changed
        (a carrier status change while sorted by name: no sorting at all).
        Data patched from the current one has its changed rows moved in the
        answers kept instead (:meth:`_patch`)."""
        if self._patchable(data):
            self._patch(data)
        else:
            self._replace(data)
        if _uses_groups(self.parsed) and self._groups_moved():
            self._scan = self._start()  # memberships changed: the group answer is made again

    def _replace(self, data: DirectoryData) -> None:
        keep_order = (
            self._ascending is not None
            and data.name_order is self.data.name_order
            and SORTED_BY[self.sort] not in data.changed
        )
        self.data = data
        self._values = None
        if keep_order:
            assert self._ascending is not None
            order = self._ascending.indexes
            self._ascending = _Slice.of(data, order, self.BASE_HAYSTACKS)
        self._forget(keep_order=keep_order)

    def _patchable(self, data: DirectoryData) -> bool:
        return (
            data.touched is not None
            and data.patched_from == self.data.serial
            and len(data) == len(self.data)
            and len(data.touched) <= self.PATCH_ROWS
            and self._ascending is not None
        )

    def _patch(self, new: DirectoryData) -> None:
        """Take ``new``, whose :attr:`~DirectoryData.touched` rows changed
        (nothing else), by moving those rows in every answer kept: out of
        their place under the old data, into their place under the new one
        if they still belong there. Each search is a bisection, each move
        a copy in C: at a million users, a few milliseconds where gathering
        every row's status and haystack again took about a hundred."""
        old, touched = self.data, new.touched
        assert touched is not None and self._ascending is not None
        self._keep_values(new)
        if not touched:
            # Nothing shown changed (a handover mark, say): the answers stand.
            self.data = new
            self._scan.data = new
            return
        lang = language()
        keys = (_row_key(self.sort, old, lang), _row_key(self.sort, new, lang))
        self.data = new
        done: dict[int, _Slice] = {}

        def patch(answer: _Slice, member: Callable[[int], bool], descending: bool) -> _Slice:
            found = done.get(id(answer))
            if found is None:
                found = done[id(answer)] = self._moved(answer, keys, touched, member, descending)
            return found

        def everyone(_: int) -> bool:
            return True

        self._ascending = patch(self._ascending, everyone, False)
        if self._base is not None:
            self._base = patch(self._base, everyone, self.descending)
        for wanted, result in list(self._results.items()):
            self._results[wanted] = patch(result, self._member(self._parsed_of[wanted]), self.descending)
        scan = self._scan
        scan.data = new
        if not scan.complete:
            self._scan = self._start()  # under way: it starts again from the patched answers
            return
        if self.parsed.errors:
            return  # finds nobody, whatever changed
        member = self._member(self.parsed)
        before = scan.matched
        scan.matched = patch(before, member, self.descending)
        if scan.counts is not None and scan.counted is before:
            # The counts follow the moved rows: no count over a million codes on this thread.
            scan.counts = _recounted(scan.counts, before, keys[0], touched, member, new.codes, self.descending)
            scan.counted = scan.matched
        # Finished: what it read from is not read again.
        scan.source, scan.examined = scan.matched, scan.matched.size
        if scan.status is None:
            scan.visible = scan.matched.indexes
        else:
            status = scan.status
            codes = new.codes
            scan.visible = self._moved_indexes(
                scan.visible, keys, touched, lambda i: codes[i] == status and member(i), self.descending
            )

    def _keep_values(self, new: DirectoryData) -> None:
        """The distinct values found for the current data serve ``new`` too
        when its sites, models and departments are the same (and no licence
        changed, whose values are not among them): found again, they cost
        milliseconds on the interface thread per change by another admin."""
        values = self._values
        if values is not None and new.facet_values is values.data.facet_values and "licences" not in new.changed:
            values.data = new
        else:
            self._values = None

    def _moved_indexes(
        self,
        indexes: array[int],
        keys: tuple[Callable[[int], Any], Callable[[int], Any]],
        touched: Sequence[int],
        member: Callable[[int], bool],
        descending: bool,
    ) -> array[int]:
        return self._moved(_Slice(indexes, array("b"), None), keys, touched, member, descending, codes=False).indexes

    def _moved(
        self,
        answer: _Slice,
        keys: tuple[Callable[[int], Any], Callable[[int], Any]],
        touched: Sequence[int],
        member: Callable[[int], bool],
        descending: bool,
        *,
        codes: bool = True,
    ) -> _Slice:
        """A copy of ``answer`` with the ``touched`` rows taken out (found
        under the old keys), then put back where the new keys place them,
        those that are ``member`` of it. (Without ``codes``, only the indexes.)"""
        old_key, new_key = keys
        data = self.data
        # Where the touched rows are (under the old keys), from the end: each
        # deletion then leaves the positions still to delete as they were.
        found = (_find(answer.indexes, i, old_key, descending) for i in touched)
        leaving = sorted((at for at in found if at is not None), reverse=True)
        joining = [i for i in touched if member(i)]
        if not leaving and not joining:
            # None of its rows changed (most kept answers, for a change of
            # one user): the same answer, with no copy made and let go.
            return answer
        indexes = answer.indexes[:]
        kept_codes = answer.codes[:] if codes else None
        # Large answers let their haystacks go rather than copy them: a
        # tuple of a million strings takes 30-45 ms to copy, which is the
        # stall this avoids; narrowing such an answer reads the data's
        # haystacks instead, as it does for every large answer.
        hays = None if answer.hays is None or answer.size > self.KEEP_HAYSTACKS else list(answer.hays)
        for at in leaving:
            del indexes[at]
            if kept_codes is not None:
                del kept_codes[at]
            if hays is not None:
                del hays[at]
        for i in joining:
            at = _place(indexes, new_key(i), new_key, descending)
            indexes.insert(at, i)
            if kept_codes is not None:
                kept_codes.insert(at, data.codes[i])
            if hays is not None:
                hays.insert(at, data.haystacks[i])
        # Haystacks back in a tuple: the garbage collector stops walking it.
        return _Slice(indexes, kept_codes or array("b"), None if hays is None else tuple(hays))

    def _member(self, parsed: Parsed) -> Callable[[int], bool]:
        """Whether a row of the data matches ``parsed``: its tests run on that one row."""
        tests = self._tests(parsed, ())
        data = self.data

        def member(i: int) -> bool:
            row = _Slice(array("i", (i,)), array("b", (data.codes[i],)), None)
            return all(row.matching(test, data).size for test in tests)

        return member

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

    def cycle_sort(self, shown: Sequence[SortColumn] = SORT_CYCLE) -> SortColumn:
        """The next sort of the cycle among ``shown`` (the columns on screen:
        a sort never names a column that is not shown)."""
        cycle = [column for column in SORT_CYCLE if column in shown] or [SortColumn.NAME]
        after = SORT_CYCLE.index(self.sort)
        following = [column for column in cycle if SORT_CYCLE.index(column) > after]
        self.set_sort((following or cycle)[0])
        return self.sort

    def reverse(self) -> None:
        self.descending = not self.descending
        self._forget(keep_order=True)

    def relabel(self) -> None:
        """The language changed: sorts by label may change order. (Terms and
        free words find models and licences by their names in both languages,
        so answers stay.)"""
        if self.sort in (SortColumn.DEVICE, SortColumn.LICENCE):
            self._forget()

    @property
    def errors(self) -> tuple[terms.TermError, ...]:
        """The query's terms that cannot be used (the filter line names them)."""
        return self.parsed.errors

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
        scan = self._scan
        if scan.counts is None or scan.counted is not scan.matched:
            # As bytes: counting one byte value runs at memory speed. Kept
            # with the answer they count: the header asks on every change.
            codes = scan.matched.codes.tobytes()
            scan.counts = {status: codes.count(code) for code, status in enumerate(STATUSES)}
            scan.counted = scan.matched
        return dict(scan.counts)

    def position_of(self, user_id: int) -> int | None:
        index = self.data.index_of(user_id)
        if index is None:
            return None
        self.finish()
        visible = self._scan.visible
        # The answer is in sort order: found by bisection, not a pass over a million rows.
        key = _row_key(self.sort, self.data, language())
        found = _find(visible, index, key, self.descending)
        if found is not None:
            return found
        try:
            return visible.index(index)
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
        if rows is None:
            scan = self._scan = self._by_index(scan)
        if not scan.complete:
            scan.step(rows or self.STEP)
        if scan.complete:
            scan.matched = scan.answer(self.KEEP_HAYSTACKS)
            self._remember(scan.key, scan.matched)

    def _forget(self, *, keep_order: bool = False) -> None:
        if not keep_order:
            self._ascending = None
        self._base = None
        self._results.clear()
        self._parsed_of.clear()
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
                self._ascending = _Slice.of(data, order, self.BASE_HAYSTACKS)
            ascending = self._ascending
            self._base = ascending.reversed() if self.descending else ascending
        return self._base

    def index_built(self, serial: int, grams: GramView) -> None:
        """The gram index of the data of ``serial`` (built by a worker), taken
        if that is still the data shown; the answer under way uses it from its
        next step."""
        if self.data.serial == serial:
            with_grams(self.data, grams)

    def groups_read(self) -> bool:
        """After the memberships were read again (by a worker): whether the
        answer shown changed with them (a ``group:`` term is in the query)."""
        moved = self._groups_moved()
        if moved and _uses_groups(self.parsed):
            self._scan = self._start()
            return True
        return False

    def _groups_moved(self) -> bool:
        """Whether the memberships are newer than those the kept answers
        used (their answers are then dropped)."""
        current = _NO_GROUPS if self.groups is None else self.groups.current()
        if current is self._memberships:
            return False
        self._memberships = current
        for wanted in [w for w, parsed in self._parsed_of.items() if _uses_groups(parsed)]:
            self._results.pop(wanted, None)
            self._parsed_of.pop(wanted)
        return True

    def _start(self) -> _Scan:
        parsed = self.parsed = terms.parse(self.query)
        if _uses_groups(parsed):
            self._groups_moved()
        if parsed.errors:
            # A term that cannot be used finds nobody: never the whole list
            # as if the term were not there.
            return _Scan(self.data, _Slice(array("i"), array("b"), ()), (), ("\x00error",), None)
        wanted = parsed.keys
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
        return _Scan(self.data, source, self._tests(parsed, done), wanted, status)

    def _by_index(self, scan: _Scan) -> _Scan:
        """``scan`` with the tests the data's gram index answers done at once,
        over its whole source when it is large; the same scan when none is.
        Asked between frames (:meth:`advance`, :meth:`finish`), not by
        :meth:`ensure`: the first screenful is found by scanning the first
        rows, sooner than a whole answer is."""
        if scan.indexed or scan.source.size <= self.INDEXED_SOURCE or self.data.grams is None:
            return scan
        scan.indexed = True  # asked once: what it cannot answer it never will for this scan
        source, scanned = scan.source, []
        for test in scan.apply:
            narrowed = _by_index(source, test, self.data)
            if narrowed is None:
                scanned.append(test)
            else:
                source = narrowed
        if len(scanned) == len(scan.apply):
            return scan
        # Started again from the narrowed rows: the rows found so far come first in it too.
        narrowed_scan = _Scan(self.data, source, tuple(scanned), scan.key, scan.status)
        narrowed_scan.indexed = True
        return narrowed_scan

    def _tests(self, parsed: Parsed, done: tuple[str, ...]) -> tuple[_Test, ...]:
        if self._values is None or self._values.data is not self.data:
            self._values = _Values(self.data, lambda: self._memberships)
        values = self._values
        tests = [values.term(term) for term in parsed.terms if term.key not in done]
        tests += [values.free(word) for word in parsed.words if word not in done]
        # The most selective first, cheapest per row: terms of one column, then haystack needles.
        tests.sort(key=lambda test: test.needle is not None)
        return tuple(tests)

    def _remember(self, wanted: tuple[str, ...], result: _Slice) -> None:
        self._results[wanted] = result
        self._parsed_of[wanted] = self.parsed
        while sum(r.size for r in self._results.values()) > self.RESULT_CACHE_ROWS and len(self._results) > 1:
            dropped, _ = self._results.popitem(last=False)
            self._parsed_of.pop(dropped, None)
