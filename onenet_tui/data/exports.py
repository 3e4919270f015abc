"""CSV exports (SPEC section 8), above all the ones that hold secrets.

A file with secrets is written atomically: the rows go to a private temporary
file (mode 0600) in the target's own directory, which is flushed and fsynced
and only then given its final name, so a reader never sees half a file and a
crash never leaves one behind. An existing file is never replaced unless the
caller says so (``overwrite=True``).

Terminal and spreadsheet safety, in this order, undone in reverse by
:func:`restore` and :func:`read_csv`:

1. Control characters, bidi controls, line separators and other hidden
   characters are written as ``\\xHH`` / ``\\uHHHH`` / ``\\UHHHHHHHH``
   (:func:`onenet_tui.visible.escape`), so neither a terminal printing the file
   nor a reader's editor obeys them. A backslash is doubled only where it
   would otherwise start such an escape (before ``\\``, ``x``, ``u``, ``U``).
2. A cell that then starts with ``= + - @``, a tab or a carriage return would
   be taken for a formula by a spreadsheet, so it gets a single quote ``'`` in
   front. A cell that already starts with ``'`` gets one too, which keeps the
   rule reversible: reading back, strip exactly one leading ``'`` from every
   cell that has one. E.164 numbers start with ``+`` and therefore appear as
   ``'+4930...`` in the file.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

from onenet_tui.data.errors import Conflict, InvalidInput
from onenet_tui.visible import escape, unescape

# A leading ' is included so that restore() can always strip exactly one.
_RISKY_FIRST = ("=", "+", "-", "@", "\t", "\r", "'")
QUOTE = "'"


def neutralise(value: object) -> str:
    """The cell text for ``value``, safe to print and to open in a spreadsheet."""
    text = escape("" if value is None else str(value))
    if text.startswith(_RISKY_FIRST):
        return QUOTE + text
    return text


def restore(cell: str) -> str:
    """The original text of a cell written by :func:`neutralise`."""
    return unescape(cell[1:] if cell.startswith(QUOTE) else cell)


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """The whole CSV document as text (header row first, every cell neutralised)."""
    buffer = io.StringIO()
    write_rows(buffer, header, rows)
    return buffer.getvalue()


def write_rows(stream: io.TextIOBase | object, header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """Write a header row and ``rows`` as CSV to an open text stream."""
    writer = csv.writer(stream, lineterminator="\r\n")  # type: ignore[arg-type]
    writer.writerow([neutralise(cell) for cell in header])
    for row in rows:
        writer.writerow([neutralise(cell) for cell in row])


def read_csv(path: Path | str) -> list[dict[str, str]]:
    """Read an export back, undoing :func:`neutralise` in every cell."""
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = [restore(cell) for cell in next(reader, [])]
        return [dict(zip(header, (restore(cell) for cell in row), strict=False)) for row in reader]


class SecretCsv:
    """A secret CSV file in two steps, so a caller can find out that the file
    cannot be written *before* it creates secrets that would then be lost::

        target = SecretCsv(path).prepare()   # refuses an existing file now
        result = make_secrets()
        target.commit(header, rows)          # atomic, 0600

    ``discard()`` removes the temporary file when the caller gives up.
    """

    def __init__(self, path: Path | str, *, overwrite: bool = False):
        self.path = Path(path)
        self.overwrite = overwrite
        self._tmp: Path | None = None

    def prepare(self) -> SecretCsv:
        self._refuse_existing()
        directory = self.path.parent if str(self.path.parent) else Path(".")
        if not directory.is_dir():
            raise InvalidInput.single("export", "export.no_directory", directory=str(directory))
        try:
            # mkstemp creates the file 0600, readable by its owner only.
            fd, name = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=directory)
        except OSError as exc:
            raise InvalidInput.single(
                "export", "export.not_writable", path=str(self.path), error=exc.strerror
            ) from None
        os.close(fd)
        self._tmp = Path(name)
        return self

    def commit(self, header: Sequence[str], rows: Iterable[Sequence[object]]) -> Path:
        if self._tmp is None:
            self.prepare()
        assert self._tmp is not None
        try:
            with open(self._tmp, "w", encoding="utf-8", newline="") as handle:
                write_rows(handle, header, rows)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(self._tmp, 0o600)
            self._publish()
        except BaseException:
            self.discard()
            raise
        self._tmp = None
        _fsync_directory(self.path.parent)
        return self.path

    def discard(self) -> None:
        if self._tmp is not None:
            self._tmp.unlink(missing_ok=True)
            self._tmp = None

    def _refuse_existing(self) -> None:
        if not self.overwrite and (self.path.exists() or self.path.is_symlink()):
            raise Conflict("export.exists", path=str(self.path))

    def _publish(self) -> None:
        assert self._tmp is not None
        if self.overwrite:
            os.replace(self._tmp, self.path)
            return
        try:
            # link() fails if the name exists: no window in which another
            # process's file could be replaced between a check and a rename.
            os.link(self._tmp, self.path)
        except FileExistsError:
            raise Conflict("export.exists", path=str(self.path)) from None
        except OSError:
            # File systems without hard links: check, then rename.
            self._refuse_existing()
            os.replace(self._tmp, self.path)
            return
        self._tmp.unlink()


def write_secret_csv(
    path: Path | str, header: Sequence[str], rows: Iterable[Sequence[object]], *, overwrite: bool = False
) -> Path:
    """Write a CSV file that holds secrets: atomic, 0600, no silent overwrite."""
    return SecretCsv(path, overwrite=overwrite).prepare().commit(header, rows)


def _fsync_directory(directory: Path) -> None:
    """Make the new name durable too (best effort: not every platform can)."""
    try:
        fd = os.open(directory if str(directory) else ".", os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


CREDENTIAL_COLUMNS = ("username", "name", "extension", "sip_username", "password", "sip_domain")


def credential_rows(issued: Iterable[object]) -> list[tuple[str, ...]]:
    """Rows of :data:`CREDENTIAL_COLUMNS` for issued credentials (R10 export)."""
    return [tuple(str(getattr(item, column)) for column in CREDENTIAL_COLUMNS) for item in issued]
