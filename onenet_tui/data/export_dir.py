"""The export directory rule: files the console writes go only into one
directory, by a plain file name.

The console often runs over SSH on a shared service account. A save prompt
that took any path would let an operator overwrite ``~/.ssh/rc`` or
``~/.ssh/authorized_keys`` with text from the database (a user's name can hold
shell syntax) and so get a shell. So a name is refused unless it is a plain
file name: no ``/``, no leading dot (which also rules out ``..`` and hidden
files such as ``.ssh``), no NUL or other control characters, not over-long.
The directory is created 0700 and never followed through a symlink, nor is
the file itself.

The command line's ``--export`` / ``--output`` are not confined: the shell
user chose those paths, with the shell's rights.

No Textual here (the domain layer stays free of the UI).
"""

from __future__ import annotations

import errno
import os
import stat
import unicodedata
from pathlib import Path

from onenet_tui.data.errors import RuleRefused

RULE = "export_dir"
# Bytes, not characters: the file system's limit is 255 bytes, and the
# atomic writer's temporary name adds a dot, a random part and ".tmp".
NAME_MAX_BYTES = 200


def name_problem(name: str) -> str | None:
    """The message key saying why ``name`` is not a plain file name, or None."""
    if "/" in name or "\\" in name:
        return "ssh.export.refused.slash"
    if name.startswith("."):
        return "ssh.export.refused.dot"
    if any(unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp") for char in name):
        return "ssh.export.refused.control"
    if len(name.encode("utf-8", "surrogatepass")) > NAME_MAX_BYTES:
        return "ssh.export.refused.long"
    return None


def check_name(name: str, directory: Path) -> Path:
    """The file ``name`` in ``directory``; RuleRefused (naming the rule and
    the directory) unless it is a plain file name."""
    problem = name_problem(name)
    if problem is not None:
        raise RuleRefused(RULE, problem, directory=str(directory), max=NAME_MAX_BYTES)
    return directory / name


def prepare(directory: Path) -> Path:
    """Create ``directory`` (0700) when missing; refuse it when it is a
    symlink or not a directory, so nothing is written through a link."""
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    except FileExistsError:
        pass  # a symlink or a file: the check below names it
    try:
        info = os.lstat(directory)
    except FileNotFoundError:
        raise RuleRefused(RULE, "ssh.export.refused.no_directory", directory=str(directory)) from None
    if stat.S_ISLNK(info.st_mode):
        raise RuleRefused(RULE, "ssh.export.refused.link", path=str(directory))
    if not stat.S_ISDIR(info.st_mode):
        raise RuleRefused(RULE, "ssh.export.refused.no_directory", directory=str(directory))
    return directory


def refuse_link(path: Path) -> None:
    """An existing entry under the name must be a plain file, never a link
    (or a FIFO, which would block the writer)."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISREG(info.st_mode):
        raise RuleRefused(RULE, "ssh.export.refused.link", path=str(path))


def claim(path: Path) -> Path:
    """Before writing ``path`` (a checked name in the export directory):
    the directory exists and is no link, and neither is the file."""
    prepare(path.parent)
    refuse_link(path)
    return path


def write_text(directory: Path, name: str, text: str, *, overwrite: bool = False) -> Path:
    """Write ``text`` to ``name`` in ``directory`` (0600). The directory is
    opened without following links and the file is opened relative to it
    with O_NOFOLLOW, so a link swapped in after the checks is not followed
    either. Raises FileExistsError when the file exists and ``overwrite`` is
    False, RuleRefused for a name or place the rule refuses, OSError."""
    path = claim(check_name(name, directory))
    folder = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
        flags |= os.O_TRUNC if overwrite else os.O_EXCL
        try:
            fd = os.open(name, flags, 0o600, dir_fd=folder)
        except OSError as error:
            if error.errno == errno.ELOOP:  # a link appeared under the name
                raise RuleRefused(RULE, "ssh.export.refused.link", path=str(path)) from None
            raise
    finally:
        os.close(folder)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise RuleRefused(RULE, "ssh.export.refused.link", path=str(path))
        handle.write(text)
    return path
