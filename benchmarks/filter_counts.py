"""Benchmark: a filter keystroke to a complete, counted answer, in process,
with and without the gram index (directory.grams), on the same data.

    python benchmarks/filter_counts.py --tenant sqlite:///COPY [--rows 100000]

Loads the tenant (``loading.load``, which builds the index), times the
index's build again, then types ``directory.TYPING`` twice into one
:class:`Directory` each: the data without its index (the lazy scan, as
before) and with it. Per keystroke: ``set_query`` until ``counts()`` is
known, what the header waits for ("settled"). ``--rows`` keeps the first
rows only (a smaller directory from the same tenant). Prints the p50, p95
and worst keystroke of each and the index's size.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def _typed(keys: list[str]) -> list[str]:
    """The query after each key of ``keys``."""
    text, queries = "", []
    for key in keys:
        text = text[:-1] if key == "backspace" else text + key
        queries.append(text)
    return queries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenant", required=True, help="database URL (a copy: nothing is written, but be safe)")
    parser.add_argument("--rows", type=int, default=0, help="only the first rows (0: all)")
    args = parser.parse_args()

    from directory import TYPING

    from onenet_tui.data.directory import grams, loading
    from onenet_tui.data.directory.query import Directory
    from onenet_tui.data.directory.rows import DirectoryData
    from onenet_tui.data.storage import Store

    started = time.perf_counter()
    data = loading.load(Store(args.tenant))
    print(f"loaded {len(data):,} users in {time.perf_counter() - started:.1f} s")
    if args.rows:
        columns = {name: column[: args.rows] for name, column in data.columns().items()}
        data = loading._indexed(DirectoryData.build(columns, data.countries, data.stamp))
    started = time.perf_counter()
    index = grams.build(data.haystacks)
    print(
        f"index of {len(data):,} rows built in {time.perf_counter() - started:.2f} s, "
        f"{index.nbytes / 1e6:.0f} MB ({len(index.pairs)} bigram bitmaps, {len(index.postings)} postings)"
    )
    queries = _typed(TYPING)
    for label, shown in (("scan", dataclasses.replace(data, grams=None)), ("index", data)):
        directory = Directory(shown)
        directory.finish()
        times = []
        for query in queries:
            started = time.perf_counter()
            directory.set_query(query)
            directory.finish()
            directory.counts()
            times.append(time.perf_counter() - started)
        ms = sorted(t * 1000 for t in times)
        p95 = ms[int(0.95 * (len(ms) - 1))]
        worst = max(zip(times, queries, strict=True))
        print(
            f"{label:>5}: settled p50 {statistics.median(ms):.1f} ms, p95 {p95:.1f} ms, "
            f"worst {worst[0] * 1000:.1f} ms ({worst[1]!r}), {len(ms)} keystrokes"
        )


if __name__ == "__main__":
    main()
