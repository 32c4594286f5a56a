"""Identity at the border: one new record's candidate search + scoring against N persons.

    .venv/bin/python bench/identity_realtime.py                     # 1,000,000 persons
    .venv/bin/python bench/identity_realtime.py --persons 100000 --queries 500

Builds an SQLite database holding only the identity tables, loaded directly with bulk
inserts: ``--persons`` people from ``tsela.synth.identities.population`` (with 5% second
records of the same people: other spelling, MRZ, typos, swapped birth dates, new passports,
married names...), each record's folded features in ``identity_record`` (linked records
sharing an ``identity_id``, as batch resolution leaves them) and its blocking keys in
``identity_key``; a model trained by Splink (DuckDB, EM) on a 20,000-record sample is the
active ``identity_model``.

Then times ``tsela.services.identity.realtime.also_known_as`` for ``--queries`` new
records, as the border check calls it: half are second records of loaded people that were
held out of the load (they should find their person), half people never seen. Beside it,
in the same run: the first version (one query for the records of up to 400 blocking-key
rows, each candidate scored alone by ``score_pair``), how many answers differ from scoring
every candidate read (cap 400), and the obvious alternative: read every record and score
each one (``score_pair``) — run on the first ``--scan`` records and extrapolated linearly
to N. Every query is run both ways once before anything is timed (a warm cache for both).

``--db FILE`` keeps the database; ``--reuse`` times against it again without loading.
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, create_engine, event, select, union_all
from sqlalchemy.orm import Session

from tsela.domain.identity import (
    FEATURES,
    PersonRecord,
    blocking_keys,
    features,
    score_pair,
    thresholds,
)
from tsela.services.identity import engine as splink_engine
from tsela.services.identity.realtime import (
    _K,
    _R,
    _SCORED,
    _SHOWN,
    also_known_as,
    parameters,
)
from tsela.store.identity import IdentityKey, IdentityModel, IdentityRecord
from tsela.synth.identities import population

COLUMNS = [c for c in FEATURES if c not in ("record_key", "source", "node")]
RECORD_SQL = (
    "INSERT INTO identity_record (id, node, created_at, record_key, source, record_node, "
    "person_id, identity_id, surname, given_names, document_number, document_country, "
    + ", ".join(COLUMNS)
    + ", updated_at) VALUES ("
    + ", ".join("?" * (13 + len(COLUMNS)))
    + ")"
)
NOW = "2026-12-01 00:00:00.000000"
OLD_CAP = 400
# The first version's one query: up to 400 blocking-key rows' records and the own identity.
OLD_FOUND = union_all(
    select(*_SHOWN, *_SCORED).where(
        _R.record_key.in_(
            select(_K.record_key)
            .where(_K.key.in_(bindparam("keys", expanding=True)), _K.record_key != bindparam("own"))
            .limit(bindparam("cap"))
        )
    ),
    select(*_SHOWN, *_SCORED).where(
        _R.identity_id
        == select(_R.identity_id).where(_R.record_key == bindparam("own")).scalar_subquery()
    ),
)


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def held_out(persons: int, queries: int, seed: int) -> tuple[list[PersonRecord], dict]:  # type: ignore[type-arg]
    """The query records and their truths of a database ``build`` made with these options."""
    held: list[PersonRecord] = []
    truth_of: dict[str, int] = {}
    for item in population(persons, dup_share=0.05, seed=seed):
        if len(held) >= queries // 2:
            break  # the rest were loaded
        if item.kind != "original":
            held.append(item.record)
            truth_of[item.record.key] = item.truth
    return _with_new(held, queries, seed), truth_of


def _with_new(held: list[PersonRecord], queries: int, seed: int) -> list[PersonRecord]:
    # Never-seen people: another seed, keys made distinct.
    for item in population(queries - len(held), dup_share=0.0, seed=seed + 1000):
        r = item.record
        held.append(
            PersonRecord(
                f"new:{item.truth}", "person", "LS", r.surname, r.given_names, r.birth_date,
                r.sex, r.nationality, r.document_number, r.document_country,
            )
        )  # fmt: skip
    return held


def build(path: Path, persons: int, queries: int, seed: int) -> tuple[list[PersonRecord], dict]:  # type: ignore[type-arg]
    """Load the identity tables; return the held-out query records and their truths."""
    engine = create_engine(f"sqlite:///{path}")
    for table in (IdentityRecord, IdentityKey, IdentityModel):
        table.__table__.create(engine)  # type: ignore[attr-defined]
    engine.dispose()
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=OFF")
    con.execute("PRAGMA synchronous=OFF")
    con.execute("PRAGMA cache_size=-2000000")
    held: list[PersonRecord] = []
    truth_of: dict[str, int] = {}
    identity: dict[int, str] = {}
    records: list[tuple[Any, ...]] = []
    keys: list[tuple[str, str]] = []
    sample: list[dict[str, Any]] = []
    loaded = 0
    t0 = time.perf_counter()

    def flush() -> None:
        con.executemany(RECORD_SQL, records)
        records.clear()

    for item in population(persons, dup_share=0.05, seed=seed):
        r = item.record
        if item.kind != "original" and len(held) < queries // 2:
            held.append(r)
            truth_of[r.key] = item.truth
            continue
        row = features(r)
        ident = identity.setdefault(item.truth, uuid.uuid4().hex)
        records.append(
            (
                uuid.uuid4().hex, r.node, NOW, r.key, r.source, r.node, None, ident,
                r.surname, r.given_names, r.document_number, r.document_country,
                *(row[c] for c in COLUMNS), NOW,
            )
        )  # fmt: skip
        keys.extend((k, r.key) for k in blocking_keys(row))
        if len(sample) < 20_000:  # the first 20,000: people with their second records
            sample.append(row)
        loaded += 1
        if len(records) >= 50_000:
            flush()
    flush()
    keys.sort()
    con.executemany("INSERT INTO identity_key (key, record_key) VALUES (?, ?)", keys)
    con.commit()
    t_load = time.perf_counter() - t0
    print(f"loaded {loaded:,} records and {len(keys):,} blocking keys in {t_load:.0f} s")
    del keys

    t0 = time.perf_counter()
    trained = splink_engine.resolve(sample, engine="duckdb")
    print(f"trained on {len(sample):,} records in {time.perf_counter() - t0:.0f} s")
    import json

    con.execute(
        "INSERT INTO identity_model (id, node, created_at, version, format, engine, records, "
        "model, active) VALUES (?, 'LS', ?, ?, ?, 'duckdb', ?, ?, 1)",
        (
            uuid.uuid4().hex,
            NOW,
            trained.version,
            int(trained.model.get("tsela_identity_format", 1)),
            len(sample),
            json.dumps(trained.model),
        ),
    )
    con.commit()
    con.close()
    return _with_new(held, queries, seed), truth_of


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--persons", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=2000)
    ap.add_argument("--scan", type=int, default=20_000, help="records the full scan reads")
    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument("--db", type=Path, default=None, help="keep the database here")
    ap.add_argument(
        "--reuse", action="store_true", help="time against --db as an earlier run left it"
    )
    args = ap.parse_args()

    print(f"{platform.platform()}, Python {platform.python_version()}, {os.cpu_count()} cores")
    tmp = tempfile.TemporaryDirectory()
    path = args.db or Path(tmp.name) / "identity.sqlite"
    if args.reuse and path.exists():
        queries, truth_of = held_out(args.persons, args.queries, args.seed)
    else:
        if path.exists():
            path.unlink()
        queries, truth_of = build(path, args.persons, args.queries, args.seed)

    engine = create_engine(f"sqlite:///{path}")

    @event.listens_for(engine, "connect")
    def _pragma(dbapi: Any, _record: Any) -> None:
        dbapi.execute("PRAGMA cache_size=-500000")

    with Session(engine) as s:
        params = parameters(s)
        assert params is not None
        # Warm up (the page cache, SQLAlchemy's statement cache) with every query both ways,
        # so that neither way is timed on a colder cache than the other; and compare the
        # answers with those of scoring every candidate read (up to 400).
        differ = 0
        for q in queries:
            now = [(a.record_key, a.linked) for a in also_known_as(s, q)]
            wide = [(a.record_key, a.linked) for a in also_known_as(s, q, cap=OLD_CAP)]
            differ += now != wide
        times: list[float] = []
        found = expected = shown = 0
        for q in queries:
            t0 = time.perf_counter()
            got = also_known_as(s, q)
            times.append((time.perf_counter() - t0) * 1000)
            shown += len(got)
            if q.key in truth_of:
                expected += 1
                want = f"person:{truth_of[q.key]}"
                found += any(a.record_key == want for a in got)

        # The first version, in the same run: one query for up to 400 blocking-key rows'
        # records, each candidate scored alone by score_pair; and the query alone.
        pair_times: list[float] = []
        search_times: list[float] = []
        conn = s.connection()
        review = thresholds()[0]
        for q in queries:
            row = features(q)
            bind = {"keys": blocking_keys(row) or ["-"], "own": q.key, "cap": OLD_CAP}
            t0 = time.perf_counter()
            rows = conn.execute(OLD_FOUND, bind).all()
            search_times.append((time.perf_counter() - t0) * 1000)
            seen = {q.key}
            for other in rows:
                if other.record_key not in seen:
                    seen.add(other.record_key)
                    score_pair(params, row, other._mapping).probability >= review  # noqa: B015
            pair_times.append((time.perf_counter() - t0) * 1000)

        # The obvious alternative: read every record, score each.
        cols = [getattr(IdentityRecord, c) for c in COLUMNS]
        scan_times: list[float] = []
        for q in queries[: 5 if args.scan >= 50_000 else 20]:
            t0 = time.perf_counter()
            row = features(q)
            hits = 0
            for values in s.execute(select(*cols).limit(args.scan)):
                if (
                    score_pair(params, row, dict(zip(COLUMNS, values, strict=True))).probability
                    >= 0.3
                ):
                    hits += 1
            scan_times.append((time.perf_counter() - t0) * 1000)
    size = path.stat().st_size / 2**20
    print(f"database: {size:,.0f} MiB")
    print(
        f"also_known_as (candidate search + scoring), {len(times):,} records against "
        f"{args.persons:,} persons: p50 {_pct(times, 50):.2f} ms, p99 {_pct(times, 99):.2f} ms, "
        f"max {max(times):.2f} ms, mean {statistics.mean(times):.2f} ms"
    )
    print(
        f"  answers that differ from scoring every candidate read (cap {OLD_CAP}): "
        f"{differ}/{len(queries)}"
    )
    print(
        f"  first version (one query, up to {OLD_CAP} candidates, score_pair each): p50 "
        f"{_pct(pair_times, 50):.2f} ms, p99 {_pct(pair_times, 99):.2f} ms, "
        f"mean {statistics.mean(pair_times):.2f} ms; the candidate query alone: p50 "
        f"{_pct(search_times, 50):.2f} ms, p99 {_pct(search_times, 99):.2f} ms"
    )
    print(
        f"  held-out second records that found their person: {found}/{expected} "
        f"({found / max(expected, 1):.1%}); records shown per check: {shown / len(times):.2f}"
    )
    per = statistics.median(scan_times)
    print(
        f"full scan scoring every record: {per:,.0f} ms per record at {args.scan:,} records "
        f"-> {per * args.persons / args.scan / 1000:,.1f} s at {args.persons:,} (extrapolated)"
    )
    tmp.cleanup()


if __name__ == "__main__":
    main()
