"""The directory's columns built from rows, whoever read them: SQLAlchemy in
:mod:`.loading`, or stdlib sqlite3 for the console's first frame
(:mod:`onenet_tui.data.launch`), which must not wait for the ORM's import."""

from __future__ import annotations

import sys
from array import array
from collections.abc import Iterable, Sequence
from typing import Any

from onenet_tui.data.directory.rows import ARRAY_COLUMNS, COLUMNS, DirectoryData, haystack
from onenet_tui.visible import visible


def assemble(
    columns: dict[str, Any], sites: dict[int, tuple[str, str]], stamp: int, *, complete: bool, sort: bool = True
) -> DirectoryData:
    """One DirectoryData of :func:`read_columns`' ``columns``."""
    countries = {sys.intern(name): country for name, country in sites.values()}
    facet_values = frozenset(columns["facets"])
    if not sort:
        return DirectoryData(**columns, countries=countries, stamp=stamp, complete=complete, facet_values=facet_values)
    return DirectoryData.build(columns, countries, stamp, complete=complete, facet_values=facet_values)


def read_columns(batches: Iterable[Iterable[Sequence[Any]]], sites: dict[int, tuple[str, str]]) -> dict[str, Any]:
    """The directory's columns from ``batches`` of rows as :func:`loading._rows_query`
    selects them; ``sites`` by id: (display-safe name, country)."""
    # A function of its own: when it returns, the columns are held by the
    # returned dict only, so build() can let each go as it reorders it.
    columns: dict[str, Any] = {name: array(ARRAY_COLUMNS[name]) if name in ARRAY_COLUMNS else [] for name in COLUMNS}
    ids, statuses, names, extensions = columns["ids"], columns["statuses"], columns["names"], columns["extensions"]
    numbers, site_names, devices, licences = (
        columns["numbers"],
        columns["sites"],
        columns["devices"],
        columns["licences"],
    )
    versions, hays = columns["versions"], columns["haystacks"]
    departments, locked, facets = columns["departments"], columns["locked"], columns["facets"]
    combinations: dict[tuple[str, str, str], tuple[str, str, str]] = {}
    # Strings that repeat (statuses, sites, models, common names) are interned:
    # one copy each, and a status can be compared by identity.
    pool = sys.intern
    for batch in batches:
        for (
            user_id,
            status,
            name,
            username,
            email,
            extension,
            e164,
            site_id,
            device,
            licence,
            version,
            department,
            portal_locked,
        ) in batch:
            site, country = sites[site_id]
            name = pool(visible(name))
            ids.append(user_id)
            statuses.append(pool(status))
            names.append(name)
            extensions.append(pool(visible(extension)))
            numbers.append(int(e164[1:]))
            site_names.append(site)
            device = pool(device)
            devices.append(device)
            licences.append(pool(licence))
            versions.append(version)
            department = pool(visible(department or ""))
            departments.append(department)
            facet = (site, device, department)
            facets.append(combinations.setdefault(facet, facet))
            locked.append(1 if portal_locked else 0)
            hays.append(haystack(name, username, email, extension, e164, country))
    return columns
