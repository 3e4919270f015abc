"""Which rows may hold a needle: a gram index over the directory's haystacks.

A bitmap per character and per frequent pair of characters (bigram), in row
(id) order, so a rename never shifts it; rare bigrams as postings (row
lists). A needle of one or two characters is answered exactly; a longer one
by the AND of its bigrams, a superset the caller verifies with the real
substring test on those rows only. A needle the index cannot answer (a
character it left out) gets None: the caller scans, never a wrong answer.

The index itself never changes once built: each DirectoryData holds a
:class:`GramView`, the index and the rows changed since it was built (by
patches), whose answers are worked out from their haystacks directly. Old
data keeps its own view, so it answers as before while newer data is read.

Imported only where an index is built or asked (numpy is not on the launch
path before the first frame)."""

from __future__ import annotations

from array import array
from collections.abc import Collection, Hashable, Sequence
from typing import Any

import numpy as np

# Rows per build step (a multiple of 8: each step fills whole bytes of the
# bitmaps). Its temporaries: a few MB (presence flags, the step's text as code points).
_CHUNK = 2_048
# Characters given a bitmap (ids 0..254); any further one is left out, and a
# needle holding it gets no answer (the caller scans).
_UNINDEXED = 255
# Bigrams given an entry at all; further ones are answered by their characters.
_MAX_PAIRS = 8_192
# A bigram in more than this share of the first step's rows gets a bitmap;
# the others postings (4 bytes a row: smaller below 1/32).
_FREQUENT = 1 / 32
# Changed rows a view answers by their haystacks before it gives up (None):
# each costs a substring test per needle.
MAX_CHANGED = 20_000
# Rows numbered per step by their facet (one C loop each, about a
# millisecond of the interpreter: the interface runs between the steps).
_FACET_CHUNK = 4_096


# Between rows in a step's joined text: a character never indexed, so no
# bigram spans two rows. A needle holding it is scanned.
_SEPARATOR = "\x00"
_UNSEEN, _NEVER = -1, -2  # a bigram's slot before it is first met; one with an unindexed character


def _code_points(part: Sequence[str]) -> tuple[Any, Any]:
    """The code points of ``part`` joined by the separator, and the row (within ``part``) of each."""
    lengths = np.fromiter(map(len, part), np.intp, len(part)) + 1
    text = _SEPARATOR.join(part).encode("utf-32-le", "surrogatepass")
    points = np.frombuffer(text, np.uint32)
    return points, np.repeat(np.arange(len(part), dtype=np.int32), lengths)[: len(points)]


class FacetCodes:
    """Each row's facet (its combination of site, desk phone model and
    department, a few thousand at a million users) as a number into
    ``distinct``: the rows of the facets a free word names are then a gather
    in C, where a set lookup a row took about 50 ms at a million users."""

    def __init__(self, facets: Sequence[Hashable]) -> None:
        numbers: dict[Hashable, int] = {}
        # Gathered in an array, not numpy: numpy's calls let go of the
        # interpreter and take it straight back, which starved the waiting
        # interface thread for the whole numbering (60-75 ms at a million
        # rows; heartbeat thread), where these steps hand it over.
        codes = array("i")
        for start in range(0, len(facets), _FACET_CHUNK):
            part = facets[start : start + _FACET_CHUNK]
            for facet in set(part).difference(numbers):
                numbers[facet] = len(numbers)
            codes.extend(map(numbers.__getitem__, part))
        self.codes = np.frombuffer(codes, np.intc) if len(codes) else np.zeros(0, np.intc)
        self.distinct = list(numbers)

    def among(self, accepted: Collection[Hashable]) -> Any:
        """A bool mask over the rows whose facet is in ``accepted``."""
        held = np.fromiter(map(accepted.__contains__, self.distinct), bool, len(self.distinct))
        return held[self.codes]


class GramIndex:
    """Bitmaps (packed, big-endian bit order, one bit a row) and postings of
    the characters and bigrams of ``size`` haystacks, and the rows' facets.
    Built by :func:`build`."""

    def __init__(
        self,
        size: int,
        chars: dict[str, int],
        char_bits: Any,
        pairs: dict[str, int],
        pair_bits: Any,
        postings: dict[str, Any],
        *,
        every_char: bool,
        every_pair: bool,
        facets: FacetCodes,
    ) -> None:
        self.size = size
        self.facets = facets
        self.chars, self.char_bits = chars, char_bits
        self.pairs, self.pair_bits = pairs, pair_bits
        self.postings = postings
        # Whether no character (bigram) was left out: one it does not know is then in no row.
        self.every_char, self.every_pair = every_char, every_pair

    @property
    def nbytes(self) -> int:
        postings = sum(p.nbytes for p in self.postings.values())
        return int(self.char_bits.nbytes + self.pair_bits.nbytes + postings + self.facets.codes.nbytes)

    def candidates(self, needle: str) -> tuple[Any, bool] | None:
        """A bool mask over the rows that may hold ``needle`` and whether it is
        exact (every row in it does); None when the index cannot tell."""
        n = self.size
        if not needle:
            return np.ones(n, bool), True
        for ch in needle:
            if ch not in self.chars:
                # The separator is never indexed: rows holding it are not known.
                return (np.zeros(n, bool), True) if self.every_char and ch != _SEPARATOR else None
        if len(needle) == 1:
            return self._unpacked(self.char_bits[self.chars[needle]]), True
        bitmaps: list[Any] = []
        lists: list[Any] = []
        exact = len(needle) == 2
        for pair in dict.fromkeys(needle[k : k + 2] for k in range(len(needle) - 1)):
            if pair in self.pairs:
                bitmaps.append(self.pair_bits[self.pairs[pair]])
            elif pair in self.postings:
                lists.append(self.postings[pair])
            elif self.every_pair:
                return np.zeros(n, bool), True  # a bigram no row has
            else:
                exact = False
                bitmaps += [self.char_bits[self.chars[ch]] for ch in pair]
        if not lists:
            return self._unpacked(np.bitwise_and.reduce(bitmaps)), exact
        mask = self._unpacked(np.bitwise_and.reduce(bitmaps)) if bitmaps else np.ones(n, bool)
        for rows in lists:
            listed = np.zeros(n, bool)
            listed[rows] = True
            mask &= listed
        return mask, exact

    def _unpacked(self, bits: Any) -> Any:
        return np.unpackbits(bits, count=self.size).view(bool)


def _numbered(table: Any, new: Any, used: int, limit: int, left_out: int) -> int:
    """The ``new`` keys of ``table`` numbered from ``used`` on, below ``limit``;
    the rest marked ``left_out``. How many got a number."""
    room = min(len(new), limit - used)
    table[new[:room]] = np.arange(used, used + room)
    table[new[room:]] = left_out
    return room


def build(haystacks: Sequence[str], facets: Sequence[Hashable]) -> GramIndex:
    """The index of ``haystacks`` and ``facets`` (row order), in steps of :data:`_CHUNK` rows."""
    n = len(haystacks)
    if len(facets) != n:
        raise ValueError(f"{len(facets)} facets for {n} haystacks")
    nbytes = (n + 7) // 8
    char_of = np.full(0x110000, -1, np.int16)  # code point -> character id
    char_of[ord(_SEPARATOR)] = _UNINDEXED
    pair_of = np.full(256 * 256, _UNSEEN, np.int32)  # (id << 8 | id) -> bigram slot
    pair_of[_UNINDEXED << 8 :] = pair_of[_UNINDEXED::256] = _NEVER
    char_bits = np.zeros((_UNINDEXED + 1, nbytes), np.uint8)
    frequent: Any = None  # slots with a bitmap, decided on the first step
    is_frequent = np.zeros(_MAX_PAIRS, bool)
    pair_bits: Any = None
    rare_slots: list[Any] = []
    rare_rows: list[Any] = []
    chars_used = pairs_used = 0
    every_char = every_pair = True
    for start in range(0, n, _CHUNK):
        part = haystacks[start : start + _CHUNK]
        rows = len(part)
        points, row = _code_points(part)
        ids = char_of[points]
        if (ids < 0).any():  # new characters get the next ids, up to the last one indexed
            new = np.unique(points[ids < 0])
            room = _numbered(char_of, new, chars_used, _UNINDEXED, _UNINDEXED)
            every_char &= room == len(new)
            chars_used += room
            ids = char_of[points]
        ids = ids.astype(np.int32)
        # Presence flags by character, then row (flat): each character's row packs contiguously.
        present = np.zeros((_UNINDEXED + 1) * rows, bool)
        present[ids * rows + row] = True
        bytes_at = slice(start // 8, start // 8 + (rows + 7) // 8)
        char_bits[:, bytes_at] = np.packbits(present.reshape(_UNINDEXED + 1, rows), axis=1)
        # Bigrams: neighbours, never across the separator nor with an unindexed character.
        keys = (ids[:-1] << 8) | ids[1:]
        slots = pair_of[keys]
        if (slots == _UNSEEN).any():
            new = np.unique(keys[slots == _UNSEEN])
            room = _numbered(pair_of, new, pairs_used, _MAX_PAIRS, _NEVER)
            every_pair &= room == len(new)
            pairs_used += room
            slots = pair_of[keys]
        pair_row = row[:-1]
        if frequent is None:
            # Decided on the first step's rows: a sample, the storage's choice only.
            present = np.zeros(pairs_used * rows, bool)
            kept = slots >= 0
            present[slots[kept] * rows + pair_row[kept]] = True
            is_frequent[:pairs_used] = np.count_nonzero(present.reshape(pairs_used, rows), axis=1) > rows * _FREQUENT
            frequent = np.flatnonzero(is_frequent)
            pair_bits = np.zeros((len(frequent), nbytes), np.uint8)
            bitmap_of = np.full(_MAX_PAIRS + 1, -1, np.int32)
            bitmap_of[frequent] = np.arange(len(frequent))
        # Slots of the bitmaps; -1: postings or none (the _NEVER ones land on bitmap_of[-2] = -1 too).
        bitmap = bitmap_of[slots]
        to_bits = bitmap >= 0
        present = np.zeros(len(frequent) * rows, bool)
        present[bitmap[to_bits] * rows + pair_row[to_bits]] = True
        pair_bits[:, bytes_at] = np.packbits(present.reshape(len(frequent), rows), axis=1)
        # Postings: this step's, by bigram, each row once (their temporaries stay small).
        listed = ~to_bits & (slots >= 0)
        listed_slots, listed_rows = _by_bigram(slots[listed].astype(np.int16), pair_row[listed] + start)
        rare_slots.append(listed_slots)
        rare_rows.append(listed_rows)
        del present, points, row, ids
    chars = {chr(p): int(char_of[p]) for p in np.flatnonzero((char_of >= 0) & (char_of < _UNINDEXED))}
    names = [""] * pairs_used
    by_id = {i: c for c, i in chars.items()}
    for key in np.flatnonzero(pair_of >= 0):
        names[pair_of[key]] = by_id[int(key) >> 8] + by_id[int(key) & 255]
    postings: dict[str, Any] = {}
    if rare_slots:
        slots = np.concatenate(rare_slots)
        slots, rows_sorted = _by_bigram(slots, np.concatenate(rare_rows))
        bounds = np.searchsorted(slots, np.arange(pairs_used + 1))
        for slot in np.flatnonzero(~is_frequent[:pairs_used]):
            low, high = bounds[slot], bounds[slot + 1]
            if high > low:
                postings[names[slot]] = rows_sorted[low:high]
    if pair_bits is None:
        pair_bits = np.zeros((0, nbytes), np.uint8)
    pairs = {names[slot]: k for k, slot in enumerate(frequent if frequent is not None else ())}
    # Postings longer than a bitmap (the first step was only a sample) become bitmaps.
    longer = [pair for pair, rows in postings.items() if len(rows) > n * _FREQUENT]
    if longer:
        extra: list[Any] = []
        for pair in longer:
            held = np.zeros(n, bool)
            held[postings.pop(pair)] = True
            pairs[pair] = len(pair_bits) + len(extra)
            extra.append(np.packbits(held))
        pair_bits = np.concatenate([pair_bits, np.stack(extra)])
    postings = {pair: rows.copy() for pair, rows in postings.items()}  # not views of the whole temporary
    return GramIndex(
        n,
        chars,
        char_bits[:chars_used].copy(),
        pairs,
        pair_bits,
        postings,
        every_char=every_char,
        every_pair=every_pair,
        facets=FacetCodes(facets),
    )


def _by_bigram(slots: Any, rows: Any) -> tuple[Any, Any]:
    """Postings (bigram slot, row; rows ascending) sorted by slot, each once."""
    order = np.argsort(slots, kind="stable")  # radix sort of 16-bit keys; rows stay ascending
    slots, rows = slots[order], rows[order]
    # A row listed twice under a bigram (it holds it twice): the two are neighbours.
    once = np.ones(len(slots), bool)
    once[1:] = (rows[1:] != rows[:-1]) | (slots[1:] != slots[:-1])
    return slots[once], rows[once]


class GramView:
    """The index as one DirectoryData sees it: built for its rows, except
    ``changed`` ones (patched since), whose haystacks are asked directly."""

    def __init__(self, index: GramIndex, changed: Collection[int] = ()) -> None:
        self.index = index
        self.changed = np.fromiter(sorted(changed), np.int64, len(changed))

    def with_changed(self, rows: Collection[int]) -> GramView | None:
        """The view for data whose ``rows`` changed too; None once too many did."""
        if not rows:
            return self
        changed = set(self.changed.tolist()) | set(rows)
        return None if len(changed) > MAX_CHANGED else GramView(self.index, changed)

    def candidates(self, needle: str, haystacks: Sequence[str]) -> tuple[Any, bool] | None:
        """As :meth:`GramIndex.candidates` for data whose haystacks are ``haystacks``."""
        if len(haystacks) != self.index.size:
            return None
        found = self.index.candidates(needle)
        if found is None or not len(self.changed):
            return found
        mask, exact = found  # a new mask each time: changed in place
        mask[self.changed] = [needle in haystacks[i] for i in self.changed.tolist()]
        return mask, exact

    def among(self, accepted: Collection[Hashable], facets: Sequence[Hashable]) -> Any | None:
        """A bool mask over the rows of data whose facets are ``facets`` that
        have one in ``accepted``; None when the index is not of its rows."""
        if len(facets) != self.index.size:
            return None
        mask = self.index.facets.among(accepted)
        if len(self.changed):
            mask[self.changed] = [facets[i] in accepted for i in self.changed.tolist()]
        return mask


def view(haystacks: Sequence[str], facets: Sequence[Hashable]) -> GramView:
    return GramView(build(haystacks, facets))
