"""Rendering for the command line: aligned text tables, JSON and CSV.

Text that comes from data (names, emails, reasons) is printed literally but
never as terminal control: control characters and bidi overrides are replaced
before they reach the terminal (:func:`onenet_tui.visible.visible`); JSON
escapes them as ``\\uHHHH``; CSV as :func:`onenet_tui.data.exports.neutralise`
documents.
"""

from __future__ import annotations

import json
import re
import tempfile
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import partial
from typing import Any, TextIO, TypeVar

from onenet_tui.visible import visible

Item = TypeVar("Item")

# Hidden characters json.dumps(ensure_ascii=False) leaves raw: DEL and C1, the
# soft hyphen, bidi marks, overrides and isolates, zero-width characters and
# joiners, the line and paragraph separators, the byte order mark, tags.
_JSON_UNSAFE = re.compile(
    "[\x7f-\x9f\xad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\U000e0000-\U000e007f]"
)


def width(text: str) -> int:
    """Columns ``text`` takes in a terminal (wide East Asian characters count
    two, combining marks none)."""
    if text.isascii():
        return len(text)
    total = 0
    for ch in text:
        if unicodedata.combining(ch):
            continue
        total += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return total


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    """Lines of a left-aligned table with a header and a rule under it."""
    cells = [[visible(c) for c in row] for row in rows]
    heads = [visible(h) for h in headers]
    widths = [width(h) for h in heads]
    for row in cells:
        _widen(widths, row)
    return [_line(heads, widths), _rule(widths), *(_line(row, widths) for row in cells)]


def table_lines(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> Iterator[str]:
    """The lines :func:`table` makes, for any number of rows in constant
    memory: the columns are as wide as their widest cell, known only after the
    last row, so the shown cells go to an unnamed temporary file (deleted when
    closed, by the system if the process dies) as they come and are read back
    padded. A shown cell holds neither NUL nor a line end (:func:`visible`
    replaces them), so those separate the cells and rows there."""
    heads = [visible(h) for h in headers]
    widths = [width(h) for h in heads]
    with tempfile.TemporaryFile("w+", encoding="utf-8", newline="\n") as spool:
        for row in rows:
            cells = [visible(c) for c in row]
            _widen(widths, cells)
            spool.write("\x00".join(cells) + "\n")
        spool.seek(0)
        yield _line(heads, widths)
        yield _rule(widths)
        for text in spool:
            yield _line(text[:-1].split("\x00"), widths)


def _widen(widths: list[int], row: Sequence[str]) -> None:
    for i, cell in enumerate(row):
        w = width(cell)
        if w > widths[i]:
            widths[i] = w


def _line(row: Sequence[str], widths: Sequence[int]) -> str:
    padded = [cell + " " * (widths[i] - width(cell)) for i, cell in enumerate(row)]
    return "  ".join(padded).rstrip()


def _rule(widths: Sequence[int]) -> str:
    return "  ".join("-" * w for w in widths)


class Counted:
    """The items of an iterable, counted as they pass (a streamed listing
    knows how many it wrote only at its end)."""

    def __init__(self, items: Iterable[Item]):
        self._items = iter(items)
        self.count = 0

    def __iter__(self) -> Iterator[Any]:
        for item in self._items:
            self.count += 1
            yield item


def pairs(items: Iterable[tuple[str, object]]) -> list[str]:
    """``label: value`` lines with the values aligned."""
    items = [(visible(label), visible(value)) for label, value in items]
    longest = max((width(label) for label, _ in items), default=0)
    return [f"{label}:{' ' * (longest - width(label) + 1)}{value}".rstrip() for label, value in items]


def _safe_json(text: str) -> str:
    return _JSON_UNSAFE.sub(_json_escape, text)


def _json_escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x10000:
        return f"\\u{code:04x}"
    # JSON writes a character beyond the BMP as its UTF-16 surrogate pair.
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def dumps(value: Any, *, ascii_only: bool = False, indent: int | None = 2) -> str:
    return _safe_json(json.dumps(value, ensure_ascii=ascii_only, indent=indent))


def write_json(stream: TextIO, value: Any, *, ascii_only: bool = False) -> None:
    stream.write(dumps(value, ascii_only=ascii_only))
    stream.write("\n")


def write_json_list(stream: TextIO, items: Iterable[Any], *, chunk: int = 1000) -> None:
    """A JSON list written a chunk at a time, so 100,000 users never become
    one giant string. Non-ASCII is escaped (``\\u00fc``): the text is plain
    ASCII, safe for any terminal and encoding, and each chunk is encoded by
    one call into the C encoder with no per-item post-processing."""
    encode = json.JSONEncoder(ensure_ascii=True).encode
    _write_chunked_list(stream, items, chunk, lambda batch: encode(batch)[1:-1], stream.write)


def write_json_texts(stream: TextIO, texts: Iterable[str], *, chunk: int = 1000) -> None:
    """A JSON list of already encoded JSON values, one per line, written a
    chunk at a time; DEL, C1 controls and bidi overrides (which JSON
    encoders leave raw) are escaped on the way."""
    _write_chunked_list(stream, texts, chunk, ",\n".join, partial(_write_safely, stream))


def _write_chunked_list(
    stream: TextIO,
    items: Iterable[Item],
    chunk: int,
    encode: Callable[[list[Item]], str],
    write: Callable[[str], object],
) -> None:
    """``[``, the items ``chunk`` at a time (``encode`` makes a batch's
    values, one per line; ``write`` puts them out), ``]``."""
    stream.write("[")
    batch: list[Item] = []
    first = True
    for item in items:
        batch.append(item)
        if len(batch) == chunk:
            write(("\n" if first else ",\n") + encode(batch))
            batch.clear()
            first = False
    if batch:
        write(("\n" if first else ",\n") + encode(batch))
        first = False
    stream.write("]\n" if first else "\n]\n")


# UTF-8 bytes that start a character of _JSON_UNSAFE: DEL, U+0080-U+00BF,
# U+061C, U+180E, U+2000-U+207F, U+FEFF, the tags. Searching bytes for them is
# far cheaper than a regular expression over the text, and seldom finds anything.
_UNSAFE_UTF8 = (b"\x7f", b"\xc2", b"\xd8\x9c", b"\xe1\xa0\x8e", b"\xe2\x80", b"\xe2\x81", b"\xef\xbb\xbf", b"\xf3\xa0")


def _write_safely(stream: TextIO, text: str) -> None:
    buffer = getattr(stream, "buffer", None)
    if buffer is None or (getattr(stream, "encoding", "") or "").lower().replace("-", "") != "utf8":
        stream.write(_safe_json(text))
        return
    data = text.encode("utf-8", "surrogatepass")
    if any(marker in data for marker in _UNSAFE_UTF8):
        data = _safe_json(text).encode("utf-8", "surrogatepass")
    stream.flush()
    buffer.write(data)
