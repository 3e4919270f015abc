"""The directory's columns built from rows, whoever read them: the database
driver's own cursor in :mod:`.loading`, or stdlib sqlite3 for the console's
first frame (:mod:`onenet_tui.data.launch`), which must not wait for the ORM's import.

Built a batch at a time and a column at a time: each column of a batch is
one C loop (``map``, ``join``, ``casefold`` over the joined batch), and only
the values that need it (a name with accents, an address with capitals, a
control character) take a Python call. At a million users the per-row
Python of reading row by row took about 12 s of the 21 s load (benchmark)."""

from __future__ import annotations

import sys
from array import array
from collections.abc import Iterable, Sequence
from itertools import compress, repeat
from operator import add, eq, not_
from typing import Any

from onenet_tui.data.directory.rows import (
    ARRAY_COLUMNS,
    AS_TYPED,
    COLUMNS,
    EXTENSION_LINE,
    NUMBER_LINE,
    DirectoryData,
    Facet,
    shared_facets,
    strip_accents,
)
from onenet_tui.data.phones import national_digits_many
from onenet_tui.visible import visible

# Joins a batch's values into one string that C code folds or checks at
# once; none of the values can hold it (visible() shows control characters
# as pictures, and the driver's text has no NUL).
_JOIN = "\x00"


def assemble(
    columns: dict[str, Any], sites: dict[int, tuple[str, str]], stamp: int, *, complete: bool, sort: bool = True
) -> DirectoryData:
    """One DirectoryData of :func:`read_columns`' ``columns``."""
    countries = {sys.intern(name): country for name, country in sites.values()}
    facet_values = frozenset(columns["facets"])
    if not sort:
        return DirectoryData(**columns, countries=countries, stamp=stamp, complete=complete, facet_values=facet_values)
    return DirectoryData.build(columns, countries, stamp, complete=complete, facet_values=facet_values)


def read_columns(batches: Iterable[Sequence[Sequence[Any]]], sites: dict[int, tuple[str, str]]) -> dict[str, Any]:
    """The directory's columns from ``batches`` of rows as :func:`loading._rows_query`
    selects them; ``sites`` by id: (display-safe name, country)."""
    # A function of its own: when it returns, the columns are held by the
    # returned dict only, so build() can let each go as it reorders it.
    columns: dict[str, Any] = {name: array(ARRAY_COLUMNS[name]) if name in ARRAY_COLUMNS else [] for name in COLUMNS}
    builder = _Builder(sites)
    for batch in batches:
        if len(batch):
            for name, values in builder.batch(batch).items():
                columns[name].extend(values)
    return columns


class _Builder:
    """Turns batches of rows into columns; remembers what repeats across
    batches (folded names, facets) so each distinct value is worked out once."""

    def __init__(self, sites: dict[int, tuple[str, str]]) -> None:
        self.site_names = {site_id: sys.intern(name) for site_id, (name, _) in sites.items()}
        self.site_countries = {site_id: country for site_id, (_, country) in sites.items()}
        self.name_lines: dict[str, str] = {}
        self.combinations: dict[Facet, Facet] = {}

    def batch(self, rows: Sequence[Sequence[Any]]) -> dict[str, Any]:
        (
            ids,
            statuses,
            read_names,
            usernames,
            emails,
            read_extensions,
            e164s,
            site_ids,
            read_devices,
            licences,
            versions,
            read_departments,
            locked,
        ) = zip(*rows, strict=True)
        pool = sys.intern
        # Strings that repeat (statuses, sites, models, common names) are
        # interned: one copy each, and a status can be compared by identity.
        names = list(map(pool, _visible(read_names)))
        extensions = list(map(pool, _visible(read_extensions)))
        departments = list(map(pool, _visible([d or "" for d in read_departments])))
        devices = list(map(pool, read_devices))
        sites = list(map(self.site_names.__getitem__, site_ids))
        facets = shared_facets(sites, devices, departments, self.combinations)
        international = list(map(str.lstrip, e164s, repeat("+")))
        hays = list(
            map(
                "\n".join,
                zip(
                    self._name_lines(names),
                    _with_original(usernames),
                    _with_original(emails),
                    map(add, repeat(EXTENSION_LINE), extensions),
                    map(add, repeat(NUMBER_LINE), self._national(e164s, site_ids)),
                    map(add, repeat(NUMBER_LINE), international),
                    strict=True,
                ),
            )
        )
        return {
            "ids": ids,
            "statuses": map(pool, statuses),
            "names": names,
            "extensions": extensions,
            "numbers": map(int, international),
            "sites": sites,
            "devices": devices,
            "licences": map(pool, licences),
            "versions": versions,
            "haystacks": hays,
            "departments": departments,
            "locked": map(int, map(bool, locked)),
            "facets": facets,
        }

    def _name_lines(self, names: list[str]) -> list[str]:
        """The haystack's first line(s) of each name: folded without accents,
        then as lower case when that differs (see rows.haystack)."""
        lines = self.name_lines
        lowered = _folded(names)
        for name in set(lowered).difference(lines):
            folded = strip_accents(name)
            lines[name] = name if folded == name else f"{folded}\n{name}"
        return list(map(lines.__getitem__, lowered))

    def _national(self, e164s: Sequence[str], site_ids: Sequence[int]) -> list[str]:
        """The numbers as dialled in their site's country, a country at a time."""
        countries = list(map(self.site_countries.__getitem__, site_ids))
        distinct = set(countries)
        if len(distinct) == 1:
            return national_digits_many(e164s, countries[0])
        found = list(e164s)
        for country in distinct:
            at = list(compress(range(len(countries)), map(eq, countries, repeat(country))))
            for i, digits in zip(at, national_digits_many([e164s[i] for i in at], country), strict=True):
                found[i] = digits
        return found


def _folded(values: Sequence[str]) -> list[str]:
    """Each value case-folded: one casefold of the joined batch."""
    joined = _JOIN.join(values)
    if joined.count(_JOIN) != len(values) - 1:
        return [value.casefold() for value in values]  # a value held the separator: one by one
    return joined.casefold().split(_JOIN)


def _with_original(values: Sequence[str]) -> list[str]:
    """Each value folded, followed by itself as typed where folding changed it (rows._with_original)."""
    folded = _folded(values)
    for at in compress(range(len(values)), map(not_, map(eq, folded, values))):
        folded[at] = f"{folded[at]}{AS_TYPED}{values[at]}"
    return folded


def _visible(values: Sequence[str]) -> Sequence[str]:
    """The values display-safe: checked at once, changed one by one only if one needs it."""
    return values if "".join(values).isprintable() else list(map(visible, values))
