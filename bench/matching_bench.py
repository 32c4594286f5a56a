"""Exit/entry matching: 1,000,000 exit/entry pairs, the vectorised matcher beside a dict join.

    .venv/bin/python bench/matching_bench.py               # 1M pairs (issue target: < 10 s)
    .venv/bin/python bench/matching_bench.py --pairs 100000

The data: ``--pairs`` journeys across the Lesotho-South Africa border over 30 days by
``--pairs / 3`` travellers (so most documents cross several times), each an exit recorded
by one node and an entry by the other 1-90 minutes later at the same post. Noise as at a
real border: 2% of entries never recorded, 1% recorded under a misspelt surname, 0.5% of
journeys at the air port (no counterpart), and 1% entries stamped up to 10 minutes before
their exit (the nodes' clocks disagree).

Times ``tsela.domain.matching.match`` (numpy on Arrow columns) and, in the same run, the
obvious alternative: a Python dict from (document, post, direction of travel) to its entries
sorted by time, and for each exit a bisect for the nearest unused entry within the window.
Both start from the same Arrow table; both answers are compared (pairs found).
"""

from __future__ import annotations

import argparse
import bisect
import os
import platform
import time
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa

from tsela.domain.matching import OUTCOMES, TOLERANCE, WINDOW, match, schema, shared_posts

START = datetime(2026, 11, 1, tzinfo=UTC)


def make(pairs: int, seed: int = 7) -> pa.Table:
    rng = np.random.default_rng(seed)
    travellers = max(pairs // 3, 1)
    who = rng.integers(0, travellers, pairs)
    land = sorted(shared_posts())
    post = np.array([*land, "MSX"])[
        np.where(rng.random(pairs) < 0.005, len(land), rng.integers(0, len(land), pairs))
    ]
    to_zaf = rng.random(pairs) < 0.5
    exit_us = (START.timestamp() * 1e6 + rng.integers(0, 30 * 86400, pairs) * 1e6).astype(np.int64)
    gap = rng.integers(60, 90 * 60, pairs) * 1_000_000
    early = rng.random(pairs) < 0.01
    gap = np.where(early, -rng.integers(0, 10 * 60, pairs) * 1_000_000, gap)
    keep_entry = rng.random(pairs) >= 0.02
    doc = np.char.add("RA", np.char.zfill(who.astype(str), 7))
    surname = np.char.add("MOKOENA", (who % 97).astype(str))
    misspelt = np.where(rng.random(pairs) < 0.01, np.char.add(surname, "X"), surname)
    birth = (np.datetime64("1960-01-01") + (who % 15000)).astype("datetime64[D]")

    def side(is_exit: bool, mask: np.ndarray, at: np.ndarray, names: np.ndarray) -> pa.Table:
        # An exit from LSO is an entry into ZAF and vice versa.
        leaving_lso = to_zaf[mask]
        country = np.where(leaving_lso == is_exit, "LSO", "ZAF")
        k = int(mask.sum())
        return pa.table(
            {
                "id": pa.array(np.char.add("x" if is_exit else "n", np.arange(k).astype(str))),
                "node": pa.array(np.where(country == "LSO", "LS", "ZA")),
                "port": pa.array(post[mask]),
                "direction": pa.array(np.full(k, "exit" if is_exit else "entry")),
                "country": pa.array(country),
                "crossed_at": pa.array(at[mask], pa.timestamp("us", tz="UTC")),
                "document_number": pa.array(doc[mask]),
                "document_country": pa.array(np.full(k, "LSO")),
                "surname": pa.array(names[mask]),
                "given_names": pa.array(np.full(k, "LINEO")),
                "birth_date": pa.array(birth[mask]),
                "person": pa.nulls(k, pa.string()),
            },
            schema=schema(),
        )

    every = np.ones(pairs, dtype=bool)
    return pa.concat_tables(
        [side(True, every, exit_us, surname), side(False, keep_entry, exit_us + gap, misspelt)]
    )


def dict_join(table: pa.Table) -> int:
    """The obvious alternative: index entries in a dict, look up each exit (Python loop)."""
    posts = shared_posts()
    win = WINDOW // timedelta(microseconds=1)
    tol = TOLERANCE // timedelta(microseconds=1)
    cols = table.select(
        ["port", "direction", "country", "crossed_at", "document_number", "document_country"]
    ).to_pydict()
    times = table["crossed_at"].cast(pa.int64()).to_pylist()
    entries: dict[tuple[str, str, str, str], list[tuple[int, int]]] = {}
    exits = []
    for i, (port, direction, country, number, state) in enumerate(
        zip(
            cols["port"],
            cols["direction"],
            cols["country"],
            cols["document_number"],
            cols["document_country"],
            strict=True,
        )
    ):
        if port not in posts:
            continue
        towards = country if direction == "entry" else ("ZAF" if country == "LSO" else "LSO")
        key = (state, number, posts[port], towards)
        if direction == "entry":
            entries.setdefault(key, []).append((times[i], i))
        else:
            exits.append((times[i], key))
    for found in entries.values():
        found.sort()
    used: set[int] = set()
    matched = 0
    for at, key in sorted(exits):
        found = entries.get(key)
        if not found:
            continue
        best = None
        j = bisect.bisect_left(found, (at - tol, -1))
        while j < len(found) and found[j][0] <= at + win:
            t, row = found[j]
            if row not in used and (best is None or abs(t - at) < abs(best[0] - at)):
                best = (t, row)
            j += 1
        if best is not None:
            used.add(best[1])
            matched += 1
    return matched


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=1_000_000)
    args = parser.parse_args()
    t0 = time.perf_counter()
    table = make(args.pairs)
    print(
        f"{table.num_rows:,} crossings ({args.pairs:,} journeys) made in "
        f"{time.perf_counter() - t0:.1f} s; {platform.python_version()}, numpy {np.__version__}"
    )
    as_of = START + timedelta(days=31)
    t0, c0 = time.perf_counter(), time.process_time()
    result = match(table, as_of=as_of)
    vectorised, vectorised_cpu = time.perf_counter() - t0, time.process_time() - c0
    pairs = len(result.pairs())
    t0 = time.perf_counter()
    report = result.report()
    reported = time.perf_counter() - t0
    t0, c0 = time.perf_counter(), time.process_time()
    looped = dict_join(table)
    loop, loop_cpu = time.perf_counter() - t0, time.process_time() - c0
    outcomes = {o.value: int((result.outcome == i).sum()) for i, o in enumerate(OUTCOMES)}
    # CPU time beside wall time: on a shared machine the wall time includes waiting for a core.
    print(f"load average before: {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)")
    print(
        f"vectorised match:  {vectorised:6.2f} s wall, {vectorised_cpu:6.2f} s CPU  "
        f"({pairs:,} pairs; {outcomes})"
    )
    print(f"  report per port/day: {reported:6.2f} s wall  ({len(report)} lines)")
    print(
        f"dict + loop join:  {loop:6.2f} s wall, {loop_cpu:6.2f} s CPU  "
        f"({looped:,} pairs by document)"
    )
    print(f"speed-up: {loop / vectorised:.1f}x wall, {loop_cpu / vectorised_cpu:.1f}x CPU")


if __name__ == "__main__":
    main()
