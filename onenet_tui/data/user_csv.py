"""Users as CSV (SPEC section 12): the one definition of the columns, the
export's rows, and reading a file back for an import (R23).

The export and the import share :data:`COLUMNS`, so an export re-imports as
"unchanged" row for row. Cells are neutralised as every export's are
(:mod:`onenet_tui.data.exports`) and restored on reading.

Reading accepts what spreadsheets write: UTF-8 with or without a BOM, ``,``
or ``;`` (German locales) as the separator, CRLF or LF line ends. A file that
is not such a CSV, that repeats or lacks a required column, or has a column
nobody knows, is refused whole, naming the column.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from onenet_tui.data import exports, listing
from onenet_tui.data.context import Context
from onenet_tui.data.directory import loading
from onenet_tui.data.directory.query import Directory
from onenet_tui.data.errors import Conflict, InvalidInput

# Every column an export writes and an import reads, in this order.
COLUMNS = (
    "username",
    "first_name",
    "last_name",
    "email",
    "site",
    "number",
    "extension",
    "device_type",
    "desk_phone_model",
    "licence",
    "services",
    "mobile",
    "contract",
    "status",
    "status_reason",
    "portal_locked",
    "groups",
)
# Without these a row cannot say who the user is or where: the file is refused.
REQUIRED = ("username", "first_name", "last_name", "email", "site", "number", "device_type")
# The carrier's (R3) and the portal's (R12): exported for the reader, ignored
# by an import, which never sets a status nor unlocks an account.
READ_ONLY = ("status", "status_reason", "portal_locked")
# A cell with several values: services are codes separated by spaces, groups
# ``NAME`` or ``NAME (role)`` separated by "; ".
SERVICE_SEPARATOR = " "
GROUP_SEPARATOR = "; "

# The bytes a file may be, at most (10,000 users take about 2 MB).
MAX_BYTES = 64 * 1024 * 1024


def export_row(user: Mapping[str, Any]) -> list[object]:
    """The cells of one user (a ``UserView.to_json()`` dictionary)."""
    row: list[object] = []
    for column in COLUMNS:
        value = user[column]
        if column == "services":
            value = SERVICE_SEPARATOR.join(value)
        elif column == "groups":
            value = GROUP_SEPARATOR.join(group_cell(g["name"], g["role"]) for g in value)
        elif isinstance(value, bool):
            value = "true" if value else "false"
        row.append(value)
    return row


def group_cell(name: str, role: str | None) -> str:
    return f"{name} ({role})" if role else name


def parse_groups(cell: str) -> list[tuple[str, str | None]]:
    """``Name (supervisor); Other`` -> [("Name", "supervisor"), ("Other", None)]."""
    groups: list[tuple[str, str | None]] = []
    for part in cell.split(GROUP_SEPARATOR.strip()):
        part = part.strip()
        if not part:
            continue
        role: str | None = None
        for candidate in ("agent", "supervisor"):
            suffix = f" ({candidate})"
            if part.endswith(suffix):
                part, role = part[: -len(suffix)].rstrip(), candidate
                break
        groups.append((part, role))
    return groups


def parse_services(cell: str) -> tuple[str, ...]:
    return tuple(code for code in cell.replace(",", " ").split() if code)


def write(stream: io.TextIOBase | object, users: Iterable[Mapping[str, Any]]) -> None:
    """The export: header row and one row per user, cells neutralised."""
    exports.write_rows(stream, COLUMNS, (export_row(u) for u in users))


@dataclass(frozen=True)
class Row:
    """One data row of an import file: its first line in the file, the cells
    as the file had them (restored), and by column."""

    line: int
    cells: list[str]
    values: dict[str, str]
    # Cells beyond the header's columns (a stray separator): the row fails.
    extra_cells: int = 0


@dataclass(frozen=True)
class ImportFile:
    name: str
    header: list[str]
    delimiter: str
    rows: list[Row]


def _refuse(key: str, **params: object) -> InvalidInput:
    return InvalidInput.single("file", key, **params)


def decode(data: bytes) -> str:
    """UTF-8 text, a BOM dropped; anything else is refused."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _refuse("import.not_utf8", position=exc.start) from None


def sniff_delimiter(first_line: str) -> str:
    """``;`` when the header holds more of them than commas (a German
    spreadsheet's export), else ``,``."""
    return ";" if first_line.count(";") > first_line.count(",") else ","


def read_text(text: str, name: str = "") -> ImportFile:
    """Parse an import file's text; refuses a bad header as a whole."""
    if "\x00" in text:
        raise _refuse("import.not_csv")
    first_line = text.split("\n", 1)[0]
    delimiter = sniff_delimiter(first_line)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    try:
        raw_header = next(reader, None)
        if raw_header is None or not any(cell.strip() for cell in raw_header):
            raise _refuse("import.empty")
        header = [exports.restore(cell).strip().lstrip("\ufeff") for cell in raw_header]
        _check_header(header)
        rows = list(_rows(reader, header))
    except csv.Error as exc:
        raise _refuse("import.not_csv_at", line=reader.line_num, error=str(exc)) from None
    return ImportFile(name, header, delimiter, rows)


def read_path(path: Path | str) -> ImportFile:
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise _refuse("import.no_file", path=str(path)) from None
    except IsADirectoryError:
        raise _refuse("import.is_directory", path=str(path)) from None
    except OSError as exc:
        raise _refuse("import.unreadable", path=str(path), error=exc.strerror or str(exc)) from None
    if len(data) > MAX_BYTES:
        raise _refuse("import.too_big", max=MAX_BYTES // (1024 * 1024))
    return read_text(decode(data), path.name)


def _check_header(header: list[str]) -> None:
    seen: set[str] = set()
    for column in header:
        if column not in COLUMNS:
            raise _refuse("import.unknown_column", column=column, known=", ".join(COLUMNS))
        if column in seen:
            raise _refuse("import.duplicate_column", column=column)
        seen.add(column)
    for column in REQUIRED:
        if column not in seen:
            raise InvalidInput.single(column, "import.missing_column", column=column)


def _rows(reader: Any, header: list[str]) -> Iterator[Row]:
    """Data rows with the line each starts on (a quoted cell may span lines);
    blank lines are skipped, as spreadsheets leave them at the end."""
    restore = exports.restore
    width = len(header)
    last_line = reader.line_num
    for cells in reader:
        line = last_line + 1
        last_line = reader.line_num
        if not cells or not any(cell.strip() for cell in cells):
            continue
        restored = [restore(cell) for cell in cells]
        values = dict(zip(header, restored, strict=False))
        if len(restored) < width:
            values.update({column: "" for column in header[len(restored) :]})
        yield Row(line, restored, values, max(0, len(restored) - width))


# --- the export's users ------------------------------------------------------------


def export_users(
    ctx: Context,
    *,
    status: str | None = None,
    site: str | None = None,
    text: str | None = None,
    ids: Sequence[int] | None = None,
) -> UserStream:
    """The users to export as ``UserView.to_json()`` dictionaries: those of
    ``status`` and ``site`` matching the directory's filter ``text`` (the
    console's own: name, username, number, extension, email), by name; or,
    with ``ids``, exactly those users in that order (what the directory shows,
    sorted as shown). Secrets are never among them: credentials are metadata.

    Streamed in one read transaction, a batch of users at a time (see
    :mod:`listing`): the filters are checked by this call (an unknown site is
    NotFound before anything is written), the users come as the caller
    iterates. ``text`` needs the directory's index of every user in memory
    to match the console's filter; the users themselves are still streamed."""
    if text and ids is None:
        directory = Directory(loading.load(ctx.store, sites=ctx.actor.sites))
        directory.set_query(text)
        directory.finish()
        ids = directory.ids()
    with contextlib.ExitStack() as stack:  # ends the read at once if the filters fail
        session = stack.enter_context(ctx.store.read())
        users = listing.user_dicts(session, status=status, site=site, ids=ids, sites=ctx.actor.sites)
        return UserStream(users, stack.pop_all())


class UserStream:
    """Users as they are read, in a read transaction that ends when the last
    one is taken, on an error, or on :meth:`close` (``with`` closes it, so a
    caller that gives up early, say because the file exists, ends it too).
    :attr:`count` says how many were taken: an export knows how many users it
    wrote only once it has written them."""

    def __init__(self, users: Iterator[dict[str, Any]], reading: contextlib.ExitStack):
        self._users = users
        self._reading = reading
        self.count = 0

    def __iter__(self) -> UserStream:
        return self

    def __next__(self) -> dict[str, Any]:
        try:
            user = next(self._users)
        except BaseException:
            self.close()
            raise
        self.count += 1
        return user

    def close(self) -> None:
        self._reading.close()

    def __enter__(self) -> UserStream:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def write_json_file(path: Path | str, users: Iterable[Mapping[str, Any]], *, overwrite: bool = False) -> Path:
    """The export as a JSON list in a file, written as a CSV export is:
    complete before it has its name, never replacing a file unasked. The
    users are written as they come, one at a time; the text is exactly
    ``json.dumps(list(users), ensure_ascii=False, indent=1)`` and a newline."""
    target = Path(path)
    if target.is_dir():
        raise InvalidInput.single("export", "export.is_directory", path=str(target))
    if not overwrite and (target.exists() or target.is_symlink()):
        raise Conflict("export.exists", path=str(target))
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        raise InvalidInput.single("export", "export.no_directory", directory=str(directory))
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    tmp = Path(name)
    try:
        with open(fd, "w", encoding="utf-8") as handle:
            _write_json_list(handle, users)
            handle.flush()
            os.fsync(handle.fileno())
        if overwrite:
            os.replace(tmp, target)
        else:
            try:
                os.link(tmp, target)
            except FileExistsError:
                raise Conflict("export.exists", path=str(target)) from None
    finally:
        tmp.unlink(missing_ok=True)
    return target


def _write_json_list(handle: io.TextIOBase | Any, users: Iterable[Mapping[str, Any]]) -> None:
    """``json.dumps(list(users), ensure_ascii=False, indent=1)`` and a
    newline, one user at a time: each user's own text indented one level
    more, as the list's encoder does (JSON strings hold no raw newline, so
    the lines are the encoder's)."""
    encode = json.JSONEncoder(ensure_ascii=False, indent=1).encode
    separator = "[\n "
    for user in users:
        handle.write(separator)
        handle.write(encode(user).replace("\n", "\n "))
        separator = ",\n "
    handle.write("[]\n" if separator == "[\n " else "\n]\n")
