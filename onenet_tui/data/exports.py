"""CSV exports (SPEC section 8), above all the ones that hold secrets.

A file with secrets is written atomically: the rows go to a private file
(mode 0600) in the target's own directory that has no name yet (see
:class:`SecretCsv`), which is flushed and fsynced and only then given its
final name, so a reader never sees half a file and a crash, even ``kill -9``,
never leaves one behind. An existing file is never replaced unless the
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

import contextlib
import csv
import errno
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
    writer = csv.writer(stream, lineterminator="\r\n")  # type: ignore[arg-type]  # any object with write(); csv checks at run time
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
        target.commit(header, rows)          # complete, 0600, then named

    On Linux :meth:`prepare` opens an unnamed file (``O_TMPFILE``) in the
    target's directory; :meth:`commit` fills and fsyncs it and only then gives
    it its name (``link`` of ``/proc/self/fd/N``). Until then the file has no
    name at all, so a process killed at any moment, even by SIGKILL, leaves no
    file behind: the kernel frees it with the process.

    Fallback where ``O_TMPFILE`` is missing (other systems, file systems that
    refuse it): :meth:`prepare` checks that the directory takes a new file and
    removes the probe at once; :meth:`commit` writes a hidden
    ``.NAME.XXXX.tmp`` and renames it. Only a SIGKILL during that write can
    then leave the hidden temporary file behind.

    ``discard()`` lets the unfinished file go when the caller gives up.
    """

    def __init__(self, path: Path | str, *, overwrite: bool = False):
        self.path = Path(path)
        self.overwrite = overwrite
        self._fd: int | None = None
        self._prepared = False

    @property
    def directory(self) -> Path:
        return self.path.parent if str(self.path.parent) else Path(".")

    def prepare(self) -> SecretCsv:
        if self.path.is_dir():
            raise InvalidInput.single("export", "export.is_directory", path=str(self.path))
        self._refuse_existing()
        if not self.directory.is_dir():
            raise InvalidInput.single("export", "export.no_directory", directory=str(self.directory))
        try:
            self._fd = _unnamed_file(self.directory)
            if self._fd is None:
                _probe(self.directory, self.path.name)
        except OSError as exc:
            raise InvalidInput.single(
                "export", "export.not_writable", path=str(self.path), error=exc.strerror
            ) from None
        self._prepared = True
        return self

    def commit(self, header: Sequence[str], rows: Iterable[Sequence[object]]) -> Path:
        if not self._prepared:
            self.prepare()
        try:
            if self._fd is not None:
                self._commit_unnamed(header, rows)
            else:
                self._commit_named(header, rows)
        finally:
            self.discard()
        _fsync_directory(self.directory)
        return self.path

    def discard(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self._prepared = False

    def _refuse_existing(self) -> None:
        if not self.overwrite and (self.path.exists() or self.path.is_symlink()):
            raise Conflict("export.exists", path=str(self.path))

    def _commit_unnamed(self, header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
        assert self._fd is not None
        # The stream must not close the descriptor: link() below still needs it.
        with open(self._fd, "w", encoding="utf-8", newline="", closefd=False) as handle:
            write_rows(handle, header, rows)
            handle.flush()
            os.fsync(handle.fileno())
        directory = os.open(self.directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            self._link_into(directory)
        finally:
            os.close(directory)

    def _link_into(self, directory: int) -> None:
        # With a directory descriptor os.link() calls linkat() with
        # AT_SYMLINK_FOLLOW, which names the file behind /proc/self/fd/N
        # (plain link() would refuse it as a cross-device link).
        source = f"/proc/self/fd/{self._fd}"
        while True:
            try:
                # linkat() fails if the name exists: no window in which another
                # process's file could be replaced between a check and a link.
                os.link(source, self.path.name, dst_dir_fd=directory)
                return
            except FileExistsError:
                if not self.overwrite:
                    raise Conflict("export.exists", path=str(self.path)) from None
                # Replacing: the old file goes first; if the process dies right
                # here the audit trail still says the export never completed.
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.path.name, dir_fd=directory)

    def _commit_named(self, header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
        # mkstemp creates the file 0600, readable by its owner only.
        fd, name = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.directory)
        tmp = Path(name)
        try:
            with open(fd, "w", encoding="utf-8", newline="") as handle:
                write_rows(handle, header, rows)
                handle.flush()
                os.fsync(handle.fileno())
            self._publish_named(tmp)
        finally:
            tmp.unlink(missing_ok=True)

    def _publish_named(self, tmp: Path) -> None:
        if self.overwrite:
            os.replace(tmp, self.path)
            return
        try:
            os.link(tmp, self.path)
        except FileExistsError:
            raise Conflict("export.exists", path=str(self.path)) from None
        except OSError:
            # File systems without hard links: check, then rename.
            self._refuse_existing()
            os.replace(tmp, self.path)


def _unnamed_file(directory: Path) -> int | None:
    """An open, nameless 0600 file in ``directory``; None where the system or
    the file system cannot make one (the caller falls back)."""
    flag = getattr(os, "O_TMPFILE", None)
    if flag is None or not Path("/proc/self/fd").is_dir():
        return None
    try:
        return os.open(directory, flag | os.O_WRONLY | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        # EOPNOTSUPP: the file system has no unnamed files; EISDIR: the kernel
        # predates O_TMPFILE and took it for O_DIRECTORY.
        if exc.errno in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL):
            return None
        raise


def _probe(directory: Path, name: str) -> None:
    """Prove that ``directory`` takes a new file, leaving nothing there."""
    fd, probe = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=directory)
    os.close(fd)
    os.unlink(probe)


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
