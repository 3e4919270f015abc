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
- what lives long is kept where Python's garbage collector does not walk
  it: arrays, tuples of strings (which it stops tracking), and the string
  columns, lists a patch changes in place, moved out of its generations
  once loaded (:func:`keep_long_lived`); a full collection pass over
  100,000 rows held up keystrokes for tens of milliseconds (benchmark);
- change detection asks the audit trail (every change writes an event, R15)
  for what happened since the data was read and reloads only those users.

The package has three parts: :mod:`.rows` (the columns and what is shown of
them), :mod:`.loading` (reading them from the database) and :mod:`.query`
(the operator's filter, status filter and sort). Callers import from here.
"""

from typing import TYPE_CHECKING, Any

from onenet_tui.data.directory.query import Directory
from onenet_tui.data.directory.rows import (
    COLUMNS,
    EMPTY,
    SORT_CYCLE,
    STATUS_CYCLE,
    STATUSES,
    DirectoryData,
    DirectoryRow,
    SortColumn,
    device_label,
    keep_long_lived,
    licence_label,
    needles,
    status_code,
    strip_accents,
)

if TYPE_CHECKING:
    from onenet_tui.data.directory.loading import FIRST_PAGE, gram_index, load, load_first_page, refresh

# Reading from the database imports the ORM: only when first called, so the
# console paints its first frame without it (issue 20).
_LOADING = frozenset({"FIRST_PAGE", "gram_index", "load", "load_first_page", "refresh"})


def __getattr__(name: str) -> Any:
    if name in _LOADING:
        from onenet_tui.data.directory import loading

        return getattr(loading, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "COLUMNS",
    "EMPTY",
    "FIRST_PAGE",
    "SORT_CYCLE",
    "STATUSES",
    "STATUS_CYCLE",
    "Directory",
    "DirectoryData",
    "DirectoryRow",
    "SortColumn",
    "device_label",
    "gram_index",
    "keep_long_lived",
    "licence_label",
    "load",
    "load_first_page",
    "needles",
    "refresh",
    "status_code",
    "strip_accents",
]
