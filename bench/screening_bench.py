"""Screening index at scale: build time, peak memory, query latency; against a full scan.

    .venv/bin/python bench/screening_bench.py [--entries 200000] [--queries 2000] [--scan 20]
    .venv/bin/python bench/screening_bench.py --entries 1000000      # the issue's target size

Streams ``--entries`` synthetic person entries (tests/screening_data.py) into
``ScreeningIndex.build`` and reports: build time (including normalising every name; the
generator's own time is measured in a separate pass and shown beside it), peak resident
memory of the process (``resource.getrusage``; the process holds only the index and a
sample of entries to draw queries from), and latency of ``screen`` per query, p50 and p99,
both wall-clock and CPU time of the thread (the machine is shared: wall-clock includes
time other jobs took the CPU; the load average is printed). Side by side, on the first
``--scan`` of the same queries: ``rapidfuzz.process.extract`` over every name on the list.
Targets (issue 4): 1,000,000 entries, build < 2 min, < 2 GB, query p99 < 10 ms.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # screening_data

from rapidfuzz import fuzz, process, utils

from screening_data import make_people, make_queries, today
from tsela.domain.screening import ScreeningIndex, WatchlistPerson, make_query


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=200_000)
    parser.add_argument("--queries", type=int, default=2_000)
    parser.add_argument("--scan", type=int, default=20, help="queries for the full scan")
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    print(
        f"screening_bench: {args.entries:,} entries, {args.queries} queries; "
        f"{platform.python_implementation()} {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
    )
    base = rss_mb()

    t0, c0 = time.perf_counter(), time.process_time()
    for _ in make_people(args.entries, args.seed):
        pass
    generate_s, generate_cpu = time.perf_counter() - t0, time.process_time() - c0

    every = max(1, args.entries // 20_000)
    sample: list[tuple[WatchlistPerson, list[str]]] = []
    scan_names: list[str] = []
    scan_owner: list[int] = []

    def stream():  # type: ignore[no-untyped-def]
        for i, (person, tokens) in enumerate(make_people(args.entries, args.seed)):
            if i % every == 0:
                sample.append((person, tokens))
            if args.scan:
                for n in person.names:
                    scan_names.append(utils.default_process(n))
                    scan_owner.append(i)
            yield person

    t0, c0 = time.perf_counter(), time.process_time()
    index = ScreeningIndex.build(stream())
    build_s, build_cpu = time.perf_counter() - t0, time.process_time() - c0
    gc.collect()
    gc.freeze()  # the index lives as long as the process: keep the collector off it
    stats = index.stats()
    peak = rss_mb()
    print(
        f"build: {build_s:.1f} s wall-clock including the generator ({generate_s:.1f} s alone, "
        f"so ~{build_s - generate_s:.1f} s indexing); CPU {build_cpu:.1f} s including the "
        f"generator ({generate_cpu:.1f} s alone, so ~{build_cpu - generate_cpu:.1f} s "
        f"indexing); load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"index: {stats.entries:,} entries, vocabulary "
        f"{stats.vocabulary:,}, postings {stats.postings:,}, fuzzy keys {stats.fuzzy_keys:,}; "
        f"arrays {stats.array_bytes / 1e6:.0f} MB"
    )
    scan_mb = (sum(sys.getsizeof(s) for s in scan_names) + 16 * len(scan_names)) / 1e6
    print(
        f"memory: peak RSS {peak:,.0f} MB (before build {base:,.0f} MB; includes the scan's "
        f"own copy of the names, ~{scan_mb:,.0f} MB, and a {len(sample):,}-entry sample)"
    )

    queries = make_queries(sample, args.queries * 3 // 4, args.queries // 4, args.seed + 100)
    built = [
        make_query(q.names, today=today(), birth_date=q.birth, nationality=q.nationality)
        for q in queries
    ]
    for q in built[:50]:  # warm caches
        index.screen(q)
    wall, cpu, hits = [], [], 0
    for q in built:
        w0, c0 = time.perf_counter(), time.thread_time()
        found = index.screen(q)
        cpu.append((time.thread_time() - c0) * 1000)
        wall.append((time.perf_counter() - w0) * 1000)
        hits += bool(found)
    print(
        f"tsela screen: p50 {pct(wall, 50):.2f} ms, p99 {pct(wall, 99):.2f} ms wall-clock; "
        f"CPU p50 {pct(cpu, 50):.2f} ms, p99 {pct(cpu, 99):.2f} ms; "
        f"{hits}/{len(built)} queries with a hit; load average {os.getloadavg()[0]:.1f}"
    )

    if args.scan:
        scan_wall = []
        for q in queries[: args.scan]:
            w0 = time.perf_counter()
            process.extract(
                utils.default_process(q.names[0]),
                scan_names,
                scorer=fuzz.WRatio,
                processor=None,
                limit=20,
                score_cutoff=80,
            )
            scan_wall.append((time.perf_counter() - w0) * 1000)
        print(
            f"rapidfuzz scan over {len(scan_names):,} names: p50 {pct(scan_wall, 50):.0f} ms, "
            f"p99 {pct(scan_wall, 99):.0f} ms per query ({len(scan_wall)} queries); "
            f"tsela is {pct(scan_wall, 50) / max(pct(wall, 50), 1e-9):,.0f}x faster at p50"
        )


if __name__ == "__main__":
    main()
