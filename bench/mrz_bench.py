"""MRZ parsing speed and correctness: Tsela against the ``mrz`` package, on the same lines.

    .venv/bin/pip install -e '.[bench]'      # the GPL ``mrz`` package, for comparison only
    .venv/bin/python bench/mrz_bench.py [--size 50000] [--seed 7] [--details FILE.csv]

Makes ``--size`` MRZs of every ICAO 9303 format (TD1, TD2, TD3, MRV-A, MRV-B): about half
valid, the rest broken in one known way (a changed digit, a wrong check digit, an impossible
date, an unknown country code, sex X). Because each case is broken on purpose, the right
verdict under ICAO Doc 9303 is known without asking either parser. Prints MRZs per second
for both (single process: Python uses one core), how often each is right per kind of case,
and every kind of disagreement with examples and who is right (all of them with --details).
Target: 100,000 MRZs per second per core for Tsela.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import os
import platform
import random
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta

from tsela.domain.mrz import MRVA, MRVB, TD1, TD2, TD3, MrzFields, check_digit, generate, parse

SURNAMES = ["MOKOENA", "MOSHOESHOE", "NTHATISI", "VAN DER MERWE", "DLAMINI", "LETSIE",
            "MAKHETHA", "O'NEIL", "SMITH-JONES", "MOLAPO", "KHAUOE", "NKOSI"]  # fmt: skip
GIVEN = ["LINEO", "TSEPO", "PALESA", "THABO", "MPHO LERATO", "NTATE", "ANNA MARIA", "JAN",
         "REITUMETSE", "KAMOHELO", "MATSELISO", ""]  # fmt: skip
# Issuing states and organisations; nationalities are persons' (no organisation codes).
STATES = ["LSO", "ZAF", "BWA", "SWZ", "MOZ", "ZWE", "GBR", "D", "UTO", "UNO", "EUE", "XDC",
          "GBN", "NLD", "XPO", "XOM"]  # fmt: skip
NATIONALITIES = ["LSO", "ZAF", "BWA", "SWZ", "MOZ", "ZWE", "GBR", "D", "UTO", "XXA", "XXB",
                 "XXC", "XXX", "GBN", "GBD", "NLD"]  # fmt: skip
SPECIAL = {"D", "UNO", "EUE", "XDC", "GBN", "GBD", "XPO", "XOM", "XXA", "XXB", "XXC", "XXX"}
ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
DOC_TYPES = {TD1: ["I", "ID", "IR", "AC", "C"], TD2: ["I", "IR", "A"], TD3: ["P", "PD", "PO"],
             MRVA: ["V", "VS"], MRVB: ["V", "VT"]}  # fmt: skip
OPTIONAL_ROOM = {TD1: 15, TD2: 7, TD3: 14, MRVA: 16, MRVB: 8}


@dataclass
class Case:
    kind: str
    fmt: str
    lines: list[str]
    truth: bool  # valid under ICAO Doc 9303
    why: str  # what makes it valid or not, in the standard's terms
    fields: MrzFields


# Valid cases each exercise one rule of the standard, so a disagreement has one cause.
FEATURES = {
    "plain": "valid MRZ",
    "special": "valid MRZ, an ICAO special code (Part 3) as issuing state or nationality",
    "long number": "valid MRZ, document number over 9 characters (Part 5/6 note j)",
    "AC": "valid MRZ, crew member certificate code AC (Part 5 note k: C follows A only there)",
    "optional 0": "valid MRZ, TD3 without optional data, its check digit 0 (Part 4)",
}
PLAIN_STATES = [s for s in STATES if s not in SPECIAL]
PLAIN_NATIONALITIES = [s for s in NATIONALITIES if s not in SPECIAL]


def random_fields(rng: random.Random, today: date, feature: str = "plain") -> MrzFields:
    if feature in ("long number", "AC"):
        fmt = rng.choice([TD1, TD2])
    elif feature == "optional 0":
        fmt = TD3
    else:
        fmt = rng.choice([TD1, TD2, TD3, TD3, MRVA, MRVB])
    size = rng.randint(10, 12) if feature == "long number" else rng.randint(6, 9)
    number = "".join(rng.choice(ALNUM) for _ in range(size))
    room = OPTIONAL_ROOM[fmt] - (size - 9 + 2 if size > 9 else 0)
    optional = ""
    if feature != "optional 0" and room > 2 and rng.random() < 0.5:
        optional = "".join(rng.choice(ALNUM) for _ in range(rng.randint(1, room)))
    birth = today - timedelta(days=rng.randint(0, 36000))
    expiry = today + timedelta(days=rng.randint(-3650, 3650))
    if expiry <= birth:
        expiry = birth + timedelta(days=3650)
    issuing, nationality = rng.choice(PLAIN_STATES), rng.choice(PLAIN_NATIONALITIES)
    if feature == "special":
        if rng.random() < 0.5:
            issuing = rng.choice([s for s in STATES if s in SPECIAL])
        else:
            nationality = rng.choice([s for s in NATIONALITIES if s in SPECIAL])
    doc_type = "AC" if feature == "AC" else rng.choice([t for t in DOC_TYPES[fmt] if t != "AC"])
    return MrzFields(
        format=fmt,
        document_type=doc_type,
        issuing_state=issuing,
        surname=rng.choice(SURNAMES),
        given_names=rng.choice(GIVEN),
        document_number=number,
        nationality=nationality,
        birth_date=birth,
        expiry_date=expiry,
        sex=rng.choice("MFX"),
        optional_data=optional,
        optional_data_2=rng.choice(["", "LS12345", "ABC"]) if fmt == TD1 else "",
    )


# Where each format keeps its check digits: (line, position of the digit, [field spans]).
def check_layout(fmt: str) -> list[tuple[int, int, list[tuple[int, int, int]]]]:
    if fmt == TD1:
        composite = [(0, 5, 30), (1, 0, 7), (1, 8, 15), (1, 18, 29)]
        return [(0, 14, [(0, 5, 14)]), (1, 6, [(1, 0, 6)]), (1, 14, [(1, 8, 14)]),
                (1, 29, composite)]  # fmt: skip
    layout = [(1, 9, [(1, 0, 9)]), (1, 19, [(1, 13, 19)]), (1, 27, [(1, 21, 27)])]
    if fmt == TD3:
        layout += [(1, 42, [(1, 28, 42)]), (1, 43, [(1, 0, 10), (1, 13, 20), (1, 21, 43)])]
    elif fmt == TD2:
        layout += [(1, 35, [(1, 0, 10), (1, 13, 20), (1, 21, 35)])]
    return layout


def put(lines: list[str], line: int, pos: int, text: str) -> list[str]:
    out = list(lines)
    out[line] = out[line][:pos] + text + out[line][pos + len(text) :]
    return out


def recompute(lines: list[str], fmt: str) -> list[str]:
    """Every check digit written anew (fields in order; the composite last)."""
    for line, at, spans in check_layout(fmt):
        text = "".join(lines[i][a:b] for i, a, b in spans)
        if fmt == TD3 and at == 42 and not text.strip("<"):
            continue
        lines = put(lines, line, at, str(check_digit(text)))
    return lines


def covered_digits(lines: list[str], fmt: str) -> list[tuple[int, int]]:
    covered = {
        (i, p) for _, _, spans in check_layout(fmt) for i, a, b in spans for p in range(a, b)
    }
    covered |= {(line, at) for line, at, _ in check_layout(fmt)}
    return sorted((i, p) for i, p in covered if lines[i][p].isdigit())


def birth_at(fmt: str) -> tuple[int, int]:
    return (1, 0) if fmt == TD1 else (1, 13)


def nationality_at(fmt: str) -> tuple[int, int]:
    return (1, 15) if fmt == TD1 else (1, 10)


def sex_at(fmt: str) -> tuple[int, int]:
    return (1, 7) if fmt == TD1 else (1, 20)


def make_cases(size: int, seed: int, today: date) -> list[Case]:
    rng = random.Random(seed)
    cases: list[Case] = []
    while len(cases) < size:
        roll = rng.random()
        feature = "plain"
        if roll < 0.5:
            feature = rng.choices(list(FEATURES), weights=[60, 15, 10, 5, 10])[0]
        fields = random_fields(rng, today, feature)
        fmt = fields.format
        lines = generate(fields)
        if roll < 0.5:
            if feature == "optional 0":
                lines = put(lines, 1, 42, "0")  # '<' and '0' both allowed; both value 0
            cases.append(Case("valid", fmt, lines, True, FEATURES[feature], fields))
        elif roll < 0.65:
            i, p = rng.choice(covered_digits(lines, fmt))
            new = rng.choice([d for d in "0123456789" if d != lines[i][p]])
            cases.append(Case("digit changed", fmt, put(lines, i, p, new), False,
                              "a digit under a check digit changed", fields))  # fmt: skip
        elif roll < 0.75:
            line, at, _ = rng.choice(check_layout(fmt))
            old = lines[line][at]
            new = rng.choice([d for d in "0123456789" if d != old])
            if old == "<":
                continue  # an empty TD3 optional field: '<' and '0' are both right
            cases.append(Case("wrong check digit", fmt, put(lines, line, at, new), False,
                              "a check digit does not match", fields))  # fmt: skip
        elif roll < 0.85:
            bad = rng.choice(["13", "00", "99"]) if rng.random() < 0.5 else None
            i, p = birth_at(fmt)
            # A month that does not exist, or 31 February.
            broken = put(lines, i, p + 2, bad or "0231")
            why = "birth date is no calendar date (check digits right)"
            cases.append(Case("impossible date", fmt, recompute(broken, fmt), False, why, fields))
        elif roll < 0.88:
            if fmt not in (TD1, TD2):
                continue
            why = "document code AI: I may not follow A on a card (Part 5 note k)"
            cases.append(Case("document code AI", fmt, put(lines, 0, 0, "AI"), False, why, fields))
        elif roll < 0.94:
            i, p = nationality_at(fmt)
            code = rng.choice(["ZZZ", "QQQ", "ABC", "XYZ"])
            why = f"nationality {code} is neither ISO 3166-1 nor ICAO"
            cases.append(Case("unknown country", fmt, put(lines, i, p, code), False, why, fields))
        else:
            i, p = sex_at(fmt)
            why = "sex must be M, F or < in the MRZ (X only in the VIZ)"
            cases.append(Case("sex X in the MRZ", fmt, put(lines, i, p, "X"), False, why, fields))
    return cases


def mrz_checkers() -> dict[str, Callable[[str], object]]:
    try:
        from mrz.checker.mrva import MRVACodeChecker
        from mrz.checker.mrvb import MRVBCodeChecker
        from mrz.checker.td1 import TD1CodeChecker
        from mrz.checker.td2 import TD2CodeChecker
        from mrz.checker.td3 import TD3CodeChecker
    except ImportError:
        sys.exit("the comparison needs the mrz package: .venv/bin/pip install -e '.[bench]'")
    return {TD1: TD1CodeChecker, TD2: TD2CodeChecker, TD3: TD3CodeChecker,
            MRVA: MRVACodeChecker, MRVB: MRVBCodeChecker}  # fmt: skip


def best_of(runs: int, work: Callable[[], None]) -> float:
    """Least CPU seconds of this process over ``runs`` runs (other jobs share the machine)."""
    times = []
    for _ in range(runs):
        t0 = time.process_time()
        work()
        times.append(time.process_time() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--size", type=int, default=50_000, help="MRZs to make (default 50,000)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--details", help="write every disagreement to this CSV file")
    args = ap.parse_args()
    today = date.today()
    checkers = mrz_checkers()

    cases = make_cases(args.size, args.seed, today)
    texts = ["\n".join(c.lines) for c in cases]
    pairs = [(checkers[c.fmt], t) for c, t in zip(cases, texts, strict=True)]
    print(f"MRZ benchmark, {date.today()}, {platform.python_implementation()} "
          f"{platform.python_version()}, {os.cpu_count()} cores, {platform.machine()}")  # fmt: skip
    print(f"{len(cases):,} MRZs: " + ", ".join(f"{k} {n:,}" for k, n in
          sorted(Counter(c.fmt for c in cases).items())))  # fmt: skip
    print("kinds: " + ", ".join(f"{k} {n:,}" for k, n in Counter(c.kind for c in cases).items()))

    def run_tsela() -> None:
        for t in texts:
            parse(t, today)

    def run_mrz() -> None:
        for checker, t in pairs:
            # The package raises on some inputs; that counts as its verdict.
            with contextlib.suppress(Exception):
                checker(t)

    parse(texts[0], today)  # warm the import-time tables
    valid_texts = [t for c, t in zip(cases, texts, strict=True) if c.truth]
    valid_pairs = [p for c, p in zip(cases, pairs, strict=True) if c.truth]

    def run_tsela_valid() -> None:
        for t in valid_texts:
            parse(t, today)

    def run_mrz_valid() -> None:
        for checker, t in valid_pairs:
            with contextlib.suppress(Exception):
                checker(t)

    repeat = 1 if len(cases) > 20_000 else 3
    rows = [
        ("tsela, all cases", len(texts), best_of(3, run_tsela)),
        ("mrz, all cases", len(texts), best_of(repeat, run_mrz)),
        ("tsela, valid cases only", len(valid_texts), best_of(3, run_tsela_valid)),
        ("mrz, valid cases only", len(valid_texts), best_of(repeat, run_mrz_valid)),
    ]
    print()
    print("CPU time of this process (one core; the machine is shared, so wall time is noisier)")
    print(f"{'':28}{'MRZs/s':>12}{'us/MRZ':>10}")
    for label, count, seconds in rows:
        print(f"{label:28}{count / seconds:>12,.0f}{seconds / count * 1e6:>10.2f}")
    print(
        f"tsela is {rows[1][2] / rows[0][2]:.1f}x faster on all cases, "
        f"{rows[3][2] / rows[2][2]:.1f}x on valid ones (target: 100,000 MRZs/s per core)."
    )
    print("tsela also finds the format itself and returns the fields; the mrz checker is told "
          "the format and only validates.")  # fmt: skip

    # Verdicts, against what each case was made to be.
    right: dict[str, Counter[str]] = defaultdict(Counter)
    disagreements: dict[tuple[str, str], list[tuple[Case, bool, bool, str, str]]] = defaultdict(
        list
    )
    for case, text in zip(cases, texts, strict=True):
        ours = parse(text, today)
        try:
            theirs_obj = checkers[case.fmt](text)
            theirs = bool(theirs_obj)
            their_report = "; ".join(getattr(theirs_obj, "report").errors)  # noqa: B009
        except Exception as exc:
            theirs, their_report = False, f"raised {type(exc).__name__}: {exc}"
        right[case.kind]["cases"] += 1
        right[case.kind]["tsela"] += ours.valid == case.truth
        right[case.kind]["mrz"] += theirs == case.truth
        if ours.valid != theirs:
            key = (case.kind, case.why)
            disagreements[key].append((case, ours.valid, theirs, "; ".join(ours.errors),
                                       their_report))  # fmt: skip
    print()
    print(f"{'kind of case':22}{'cases':>8}{'tsela right':>13}{'mrz right':>11}")
    for kind, counts in right.items():
        print(f"{kind:22}{counts['cases']:>8,}{counts['tsela']:>13,}{counts['mrz']:>11,}")

    total = sum(len(v) for v in disagreements.values())
    print(f"\n{total:,} disagreements (verdict valid/invalid differs), by cause:")
    for (kind, why), items in sorted(disagreements.items(), key=lambda kv: -len(kv[1])):
        case, ours_ok, theirs_ok, our_errors, their_errors = items[0]
        winner = "tsela" if ours_ok == case.truth else "mrz" if theirs_ok == case.truth else "none"
        verdict = {True: "valid", False: "invalid"}
        print(
            f"\n* {len(items):,} x {kind}: {why}. ICAO says {verdict[case.truth]}; tsela says "
            f"{verdict[ours_ok]}, mrz says {verdict[theirs_ok]} -> {winner} is right"
        )
        codes = Counter(
            code
            for case, *_ in items
            for code in {case.fields.issuing_state, case.fields.nationality} & SPECIAL
        )
        if codes and "special code" in why:
            print("    codes involved: " + ", ".join(f"{c} {n:,}" for c, n in codes.most_common()))
        by_reason = Counter(e for *_, e in items)
        for reason, count in by_reason.most_common(3):
            print(f"    mrz reports: {reason or '(nothing)'}  [{count:,}]")
        for case, _, _, our_errors, their_errors in items[:2]:
            print("    e.g. " + " | ".join(case.lines))
            print(f"         tsela: {our_errors or 'valid'}")
            print(f"         mrz:   {their_errors or 'valid'}")
    if args.details:
        with open(args.details, "w", newline="", encoding="utf-8") as f:
            out = csv.writer(f)
            out.writerow(["kind", "format", "mrz_lines", "icao_verdict", "tsela", "mrz",
                          "right", "tsela_errors", "mrz_errors"])  # fmt: skip
            for items in disagreements.values():
                for case, ours_ok, theirs_ok, our_errors, their_errors in items:
                    out.writerow([case.kind, case.fmt, " ".join(case.lines), case.truth,
                                  ours_ok, theirs_ok,
                                  "tsela" if ours_ok == case.truth else "mrz",
                                  our_errors, their_errors])  # fmt: skip
        print(f"\nevery disagreement written to {args.details}")

    # Field readings where both call the MRZ valid.
    field_diffs = compare_fields(cases, texts, checkers, today)
    print(f"\nfield readings that differ where both say valid: {sum(field_diffs.values()):,}")
    for (field, note), count in field_diffs.most_common():
        print(f"  {count:,} x {field}: {note}")


def compare_fields(
    cases: list[Case], texts: list[str], checkers: dict[str, Callable[[str], object]], today: date
) -> Counter[tuple[str, str]]:
    diffs: Counter[tuple[str, str]] = Counter()
    for case, text in zip(cases, texts, strict=True):
        if case.kind != "valid":
            continue
        ours = parse(text, today)
        try:
            theirs_obj = checkers[case.fmt](text)
        except Exception:
            continue
        if not (ours.valid and bool(theirs_obj)):
            continue
        f = theirs_obj.fields()  # type: ignore[attr-defined]
        want = replace(case.fields)
        if f.document_number != ours.document_number:
            right = "tsela" if ours.document_number == want.document_number else "mrz"
            diffs[("document number", f"mrz reads {f.document_number!r} for "
                   f"{want.document_number!r}; {right} is right")] += 1  # fmt: skip
        if (f.surname, f.name) != (ours.surname, ours.given_names):
            diffs[("names", "split or cleaned differently")] += 1
        if f.optional_data != ours.optional_data:
            diffs[("optional data", "read differently")] += 1
    # Collapse the per-number notes into one line per field and verdict.
    collapsed: Counter[tuple[str, str]] = Counter()
    for (field, note), count in diffs.items():
        collapsed[(field, note.split("; ")[-1] if field == "document number" else note)] += count
    return collapsed


if __name__ == "__main__":
    main()
