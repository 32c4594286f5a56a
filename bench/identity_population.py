"""Identity resolution on a synthetic population with injected duplicates (issue 17).

``tsela.synth.identities.population(N)``: N distinct people and, for 5% of them, a second
record as another source writes it — the South African Sesotho spelling on the partner's
record, MRZ transliteration, a typo, day and month swapped, only the birth year, a new
passport after a loss, a married name on a new passport, an OCR-misread document number.

Tsela's resolution (Splink on DuckDB, trained by EM on the same records) beside the obvious
alternative, deduplication on exact name + birth date + sex (what MOSIP does), in the same
run: precision and recall of the pairs, time, and the process's peak memory.
Recall counts a duplicate found when its pair is linked automatically ("auto") or, at the
review threshold, when it is linked or waits in the review queue.

    python bench/identity_population.py [--persons 1000000] [--dup-share 0.05]
"""

from __future__ import annotations

import argparse
import platform
import resource
import time
from collections import Counter, defaultdict

from tsela.domain.identity import features, thresholds
from tsela.services.identity import engine
from tsela.synth.identities import population


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--dup-share", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args()

    start = time.perf_counter()
    people = list(population(args.persons, args.dup_share, args.seed))
    truth = {p.record.key: p.truth for p in people}
    kind = {p.record.key: p.kind for p in people}
    dups = [p for p in people if p.kind != "original"]
    rows = [features(p.record) for p in people]
    made = time.perf_counter() - start
    print(
        f"{args.persons:,} persons, {len(dups):,} duplicates injected "
        f"({dict(Counter(p.kind for p in dups))}); made in {made:.0f} s"
    )
    print(f"machine: {platform.machine()}, Python {platform.python_version()}")

    # The obvious alternative: exact surname + given names + birth date + sex.
    start = time.perf_counter()
    groups: dict[tuple[object, ...], list[str]] = defaultdict(list)
    for p in people:
        r = p.record
        groups[(r.surname.lower(), r.given_names.lower(), r.birth_date, r.sex)].append(r.key)
    exact_pairs = [
        (g[i], g[j]) for g in groups.values() if len(g) > 1
        for i in range(len(g)) for j in range(i + 1, len(g))
    ]  # fmt: skip
    exact_time = time.perf_counter() - start

    start = time.perf_counter()
    result = engine.resolve(rows)
    took = time.perf_counter() - start
    review, auto = thresholds()

    def judge(pairs: list[tuple[str, str]]) -> tuple[float, float, Counter[str]]:
        tp = [(a, b) for a, b in pairs if truth[a] == truth[b]]
        found = {a if kind[a] != "original" else b for a, b in tp}
        missed = Counter(p.kind for p in dups if p.record.key not in found)
        precision = len(tp) / len(pairs) if pairs else 0.0
        return precision, len(found) / len(dups), missed

    print(f"{'method':<44} {'precision':>9} {'recall':>7} {'time s':>7}  missed")
    lines = [
        ("exact name + birth date + sex", exact_pairs, exact_time),
        (f"Tsela, linked automatically (p >= {auto})",
         [(p.left, p.right) for p in result.pairs if p.probability >= auto], took),
        (f"Tsela, linked or queued (p >= {review})",
         [(p.left, p.right) for p in result.pairs if p.probability >= review], took),
    ]  # fmt: skip
    for name, pairs, secs in lines:
        precision, recall, missed = judge(pairs)
        print(f"{name:<44} {precision:>9.4f} {recall:>7.4f} {secs:>7.0f}  {dict(missed)}")
    print(f"peak memory of this process: {peak_mib():,.0f} MiB (Splink's DuckDB included)")


if __name__ == "__main__":
    main()
