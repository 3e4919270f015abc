"""The loaded directory kept in the database (issue 20.2): a console reads
one row of columns and catches up with the audit trail, instead of reading
and rebuilding a million users.

In the database, not a cache file: the same access control as the data, no
personal data left in a home directory, and stamped with the audit event it
was read at, so what changed since is found as :func:`loading.refresh` finds
it. One row per operator scope (R25): a site administrator's snapshot holds
their sites only, and a load never reads another scope's.

The payload is parsed from a database that may be hostile: no pickle, no
marshal. A JSON header, then raw sections: integer columns as ``array``
bytes, little-endian; string columns as UTF-8 joined by NUL (no value holds
one: columns._JOIN); the haystacks in name order, so they are made in memory
in the order the filter walks them (rows._made_in_order) and the name order
needs no sort. Everything is checked on reading; any doubt and the caller
loads normally. A cache: never audited, written by any operator who loads."""

from __future__ import annotations

import json
import logging
import sys
import weakref
import zlib
from array import array
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from operator import le, lt
from typing import Any

from sqlalchemy import delete, select
from sqlmodel import Session, col

from onenet_tui.data import audit
from onenet_tui.data.directory.columns import _visible as columns_visible
from onenet_tui.data.directory.rows import ARRAY_COLUMNS, DirectoryData, Facet, shared_facets
from onenet_tui.data.models import DirectorySnapshot, Site, Tenant
from onenet_tui.data.storage import Store
from onenet_tui.visible import visible

log = logging.getLogger(__name__)

# Bumped whenever the payload's layout or a column's meaning changes: an
# older snapshot is then ignored (and replaced after the normal load).
FORMAT = 1
# A snapshot this many audit events behind what it was caught up to is
# written again. A snapshot more than loading.CATCH_UP_LIMIT behind is useless
# (the catch-up reads everything again); well before that, each launch pays
# for the catch-up (the changed users re-read, and for an event naming no
# user every user's version compared), while a rewrite costs seconds of a
# background worker: about once per five hundred changes.
STALE_AFTER = 500
# Directories smaller than this are not kept: they load in about a second
# (100,000 users: 1.2 s, benchmark), a snapshot would save little of it, and
# reading one peaks higher in memory than the load it replaces, where the
# SPEC's 150 MB at 100,000 users leaves little room.
KEEP_FROM = 200_000
# Rows per piece when writing: one join or compression of this many values
# holds the interpreter for a few milliseconds, so the interface never
# stalls for long while a snapshot is written (benchmark: heartbeat).
PIECE_ROWS = 16_384
# zlib level 1: about a quarter of the size in the database for a fraction
# of the read time (README, issue 20.2); zlib releases the interpreter lock.
COMPRESS_LEVEL = 1

_SEP = "\x00"
# The string columns that repeat, interned as columns.py interns them (a
# status is compared by identity), stored as their distinct values and each
# row's index into them: a load makes each distinct string once instead of a
# million (measured: splitting a million strings per column was most of the
# snapshot's load). All are shown on screen as they are: each distinct value
# must be display-safe as visible() makes it.
_CODED = ("statuses", "names", "extensions", "sites", "devices", "licences", "departments")
_ARRAYS = (*ARRAY_COLUMNS, "name_order", *(f"{name}.index" for name in _CODED))
_TYPECODES = {**ARRAY_COLUMNS, "name_order": "i", **{f"{name}.index": "i" for name in _CODED}}
# In the payload's order; the haystacks (distinct, one per user) in name order.
_SECTIONS = (*_ARRAYS, *(f"{name}.values" for name in _CODED), "haystacks")

Scope = Collection[int] | None


def scope_key(sites: Scope) -> str:
    """The row a scope reads and writes: ``all``, or its sorted site ids."""
    return "all" if sites is None else ",".join(map(str, sorted(sites)))


def tenant_identity(session: Session) -> str:
    """Which tenant the data is of: a rebuilt one (``demo --force``) keeps the
    audit trail, and SQLite may give its users the old ids, so the stamp
    alone would not tell."""
    found = session.execute(select(col(Tenant.id), col(Tenant.created_at)).order_by(col(Tenant.id))).first()
    return "none" if found is None else f"{found[0]}@{found[1].isoformat()}"


@dataclass(frozen=True)
class _Origin:
    tenant: str
    # The stamp of the snapshot the data was caught up from; None: read in full.
    basis: int | None


# How each loaded DirectoryData came about, for keep() to decide on writing.
_ORIGINS: weakref.WeakKeyDictionary[DirectoryData, _Origin] = weakref.WeakKeyDictionary()


def remember(data: DirectoryData, tenant: str, basis: int | None) -> DirectoryData:
    _ORIGINS[data] = _Origin(tenant, basis)
    return data


def due(data: DirectoryData) -> bool:
    """Whether ``data`` (as :func:`loading.load` returned it) should be kept:
    read in full, or caught up over more than STALE_AFTER events."""
    origin = _ORIGINS.get(data)
    if origin is None or not data.complete:
        return False  # not from a load (a patch, a first page): nothing known of it
    if len(data) < KEEP_FROM:
        return False
    return origin.basis is None or data.stamp - origin.basis > STALE_AFTER


# --- reading --------------------------------------------------------------------


def read(session: Session, sites: Scope, tenant: str) -> DirectoryData | None:
    """The snapshot of ``sites``' scope as DirectoryData, or None when there
    is none or it is of another ``tenant`` (:func:`tenant_identity`), format
    or stamp, or fails any check."""
    try:
        # In a savepoint: on PostgreSQL a failed statement (no such table, a
        # database not migrated yet) would abort the load's whole transaction.
        with session.begin_nested():
            found = session.execute(
                select(
                    col(DirectorySnapshot.stamp),
                    col(DirectorySnapshot.format),
                    col(DirectorySnapshot.tenant),
                    col(DirectorySnapshot.rows),
                    col(DirectorySnapshot.payload),
                ).where(col(DirectorySnapshot.scope) == scope_key(sites))
            ).first()
    except Exception:  # noqa: BLE001 - a cache: a database without the table loads normally
        log.debug("directory snapshot not readable", exc_info=True)
        return None
    if found is None:
        return None
    stamp, format_, stored_tenant, rows, payload = found
    if format_ != FORMAT or tenant != stored_tenant or not 0 <= stamp <= audit.latest_id(session):
        return None
    known = {
        sys.intern(visible(name)): country
        for name, country in session.execute(select(col(Site.name), col(Site.country)))
    }
    try:
        return _parsed(bytes(payload), rows, stamp, known)
    except Exception:  # noqa: BLE001 - whatever a crafted payload makes the parsing raise: a normal load
        log.debug("directory snapshot of scope %s rejected", scope_key(sites), exc_info=True)
        return None


def _parsed(payload: bytes, rows: int, stamp: int, countries: dict[str, str]) -> DirectoryData | None:
    stored = _sections(payload, rows)
    if stored is None:
        return None
    sections = _Unpacked(*stored)
    columns: dict[str, Any] = {}
    for name in _ARRAYS:
        column = array(_TYPECODES[name])
        column.frombytes(sections[name])
        if sys.byteorder == "big":
            column.byteswap()
        if len(column) != rows:
            return None
        columns[name] = column
    distinct: dict[str, list[str]] = {}
    for name in _CODED:
        values = distinct[name] = list(map(sys.intern, _texts(sections[f"{name}.values"])))
        index = columns.pop(f"{name}.index")
        if rows and (min(index) < 0 or max(index) >= len(values)):
            return None
        columns[name] = list(map(values.__getitem__, index))
    columns["haystacks"] = _texts(sections["haystacks"]) if rows else []
    if len(columns["haystacks"]) != rows:
        return None
    order = columns.pop("name_order")
    if not _valid(columns, distinct, countries):
        return None
    columns["haystacks"] = _by_row(columns["haystacks"], order)
    if columns["haystacks"] is None:
        return None
    combinations: dict[Facet, Facet] = {}
    columns["facets"] = shared_facets(columns["sites"], columns["devices"], columns["departments"], combinations)
    return DirectoryData(
        **columns,
        countries=countries,
        name_order=order,
        stamp=stamp,
        complete=True,
        facet_values=frozenset(combinations),
    )


class _Unpacked:
    """The sections by name, each decompressed when asked for and let go once
    used: at most one section's bytes at a time in memory (the whole body
    decompressed at once was 180 MB beside the columns being made)."""

    def __init__(self, sections: dict[str, memoryview], compressed: bool) -> None:
        self._sections, self._compressed = sections, compressed

    def __getitem__(self, name: str) -> bytes | memoryview:
        stored = self._sections.pop(name)
        return zlib.decompress(stored) if self._compressed else stored


def _sections(payload: bytes, rows: int) -> tuple[dict[str, memoryview], bool] | None:
    """The payload's sections as stored, by name, once its header says what
    this format expects; and whether each is a zlib stream of its own."""
    size = int.from_bytes(payload[:4], "little")
    header = json.loads(payload[4 : 4 + size].decode("utf-8"))
    if not isinstance(header, dict) or header.get("format") != FORMAT or header.get("rows") != rows:
        return None
    body = memoryview(payload)[4 + size :]  # views, not copies
    lengths = header.get("lengths")
    names = _SECTIONS
    if not isinstance(lengths, list) or len(lengths) != len(names) or sum(lengths) != len(body):
        return None
    if not all(type(n) is int and n >= 0 for n in lengths):
        return None
    sections, at = {}, 0
    for name, length in zip(names, lengths, strict=True):
        sections[name] = body[at : at + length]
        at += length
    return sections, bool(header.get("zlib"))


def _texts(raw: bytes | memoryview) -> list[str]:
    # b"" is one empty value: a column of departments all "" has one distinct value.
    return str(raw, "utf-8").split(_SEP)


def _valid(columns: dict[str, Any], distinct: dict[str, list[str]], countries: dict[str, str]) -> bool:
    """What the normal load guarantees, checked of a payload from anyone."""
    ids, hays = columns["ids"], columns["haystacks"]
    if not all(map(lt, ids, islice(ids, 1, None))):
        return False  # found by bisection: strictly ascending
    if not all(map(le, hays, islice(hays, 1, None))):
        return False  # stored in name order, which the sort and bisection in patches rely on
    if columns["locked"].tobytes().strip(b"\x00\x01"):
        return False
    if not set(distinct["sites"]) <= countries.keys():
        return False  # a site renamed or gone since: its users read afresh
    # A hostile writer must not get escapes onto the screen.
    return all(map(_display_safe, distinct.values()))


def _display_safe(values: list[str]) -> bool:
    """Each value as the normal load makes it display-safe (columns._visible) leaves it."""
    made = columns_visible(values)
    return made is values or made == values


def _by_row(in_order: list[str], order: array[int]) -> list[str] | None:
    """The haystacks by row from the haystacks in name order, made in that
    order; None unless ``order`` is a permutation of the rows."""
    count = len(in_order)
    if count and (min(order) < 0 or max(order) >= count):
        return None
    by_row: list[Any] = [None] * count
    for row, hay in zip(order, in_order, strict=True):
        by_row[row] = hay
    # In range and every row set: each index came once, the order is a permutation.
    return None if by_row.count(None) else by_row


# --- writing --------------------------------------------------------------------


def keep(store: Store, data: DirectoryData, sites: Scope) -> bool:
    """Write ``data`` as its scope's snapshot when :func:`due` and newer than
    the one stored; run in a worker. Never raises: a read-only database or a
    failing write leaves the console as it was (logged at debug)."""
    origin = _ORIGINS.get(data)
    if origin is None or not due(data) or data.superseded:
        return False
    try:
        payload = _payload(data)
        if data.superseded:
            return False  # a patch changed its columns in place meanwhile: the payload may mix both
        key = scope_key(sites)
        with store.transaction() as session:
            stored = session.execute(
                select(col(DirectorySnapshot.stamp), col(DirectorySnapshot.tenant)).where(
                    col(DirectorySnapshot.scope) == key
                )
            ).first()
            if origin.tenant != tenant_identity(session):
                return False  # the tenant was rebuilt since the load
            if stored is not None and stored[1] == origin.tenant and _newer(stored[0], data.stamp, origin):
                return False  # another console kept a newer one (or this one)
            session.execute(delete(DirectorySnapshot).where(col(DirectorySnapshot.scope) == key))
            session.add(
                DirectorySnapshot(
                    scope=key, stamp=data.stamp, format=FORMAT, tenant=origin.tenant, rows=len(data), payload=payload
                )
            )
    except Exception:  # noqa: BLE001 - a cache: whatever went wrong, the console goes on
        log.debug("directory snapshot not written", exc_info=True)
        return False
    return True


def _newer(stored: int, stamp: int, origin: _Origin) -> bool:
    """Whether the stored snapshot is to be kept rather than ``stamp``'s. One of
    the same stamp is replaced after a full load: that load found it unusable
    (another format, corrupt), or a racing console wrote the same data."""
    return stored > stamp or (stored == stamp and origin.basis is not None)


def _payload(data: DirectoryData) -> bytes:
    """``data`` in the snapshot's format, made a piece at a time."""
    order = data.name_order
    count = len(data)
    coded = {name: _coded(getattr(data, name), count) for name in _CODED}
    numeric = {**{name: getattr(data, name) for name in ARRAY_COLUMNS}, "name_order": order}
    numeric |= {f"{name}.index": index for name, (_, index) in coded.items()}
    arrays: list[bytes] = []
    for name in _ARRAYS:
        column = array(_TYPECODES[name], numeric[name])
        if sys.byteorder == "big":
            column.byteswap()
        arrays.append(column.tobytes())
    texts = [_text_pieces(values, len(values)) for values, _ in coded.values()]
    texts.append(_text_pieces(data.haystacks, count, order))
    sections = [list(_split(column)) for column in arrays] + texts
    if COMPRESS_LEVEL:
        # A zlib stream per section: a load decompresses one at a time (_Unpacked).
        sections = [_compressed(pieces) for pieces in sections]
    lengths = [sum(map(len, pieces)) for pieces in sections]
    header = json.dumps({"format": FORMAT, "rows": count, "zlib": bool(COMPRESS_LEVEL), "lengths": lengths})
    head = header.encode("utf-8")
    body = [piece for pieces in sections for piece in pieces]
    return b"".join([len(head).to_bytes(4, "little"), head, *body])  # one copy of the whole


def _compressed(pieces: list[bytes]) -> list[bytes]:
    packer = zlib.compressobj(COMPRESS_LEVEL)
    packed = [packer.compress(piece) for piece in pieces]
    packed.append(packer.flush())
    return packed


def _coded(column: Sequence[str], count: int) -> tuple[list[str], array[int]]:
    """A column's distinct values, and each row's index into them."""
    positions: dict[str, int] = {}
    index = array("i")
    for start in range(0, count, PIECE_ROWS):
        part = column[start : start + PIECE_ROWS]
        for value in dict.fromkeys(part).keys() - positions.keys():
            positions[value] = len(positions)
        index.extend(map(positions.__getitem__, part))
    return list(positions), index


def _text_pieces(column: Sequence[str], count: int, order: Sequence[int] | None = None) -> list[bytes]:
    """A string column as UTF-8 joined by NUL, in pieces of PIECE_ROWS values."""
    pieces = []
    for start in range(0, count, PIECE_ROWS):
        if order is None:
            values = column[start : start + PIECE_ROWS]
        else:
            values = list(map(column.__getitem__, order[start : start + PIECE_ROWS]))
        text = _SEP.join(values)
        if text.count(_SEP) != len(values) - 1:
            raise ValueError("a value holds the separator")  # never from a load: not kept
        pieces.append((_SEP if start else "").encode() + text.encode("utf-8"))
    return pieces


def _split(raw: bytes) -> Iterator[bytes]:
    step = PIECE_ROWS * 8
    for start in range(0, len(raw), step):
        yield raw[start : start + step]
