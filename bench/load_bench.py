"""Generate and load synthetic crossings into SQLite and PostgreSQL; bulk path vs naive ORM.

    .venv/bin/python bench/load_bench.py [--crossings 1000000] [--orm-sample 20000]

Prints rows/s for: the generator alone, the bulk load (executemany batches on SQLite, COPY on
PostgreSQL) and, on a smaller sample in the same run, the naive one-object-per-row ORM
insert. Target (issue #2): 1M crossings generated and loaded in under 60 s on each back end.
PostgreSQL: TSELA_BENCH_PG_URL (default the local test database), in a scratch schema.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import Engine, create_engine, func, select, text

from tsela.services.setup import seed_ports
from tsela.store.bulk import bulk_writer
from tsela.store.db import make_engine, migrate, session_factory
from tsela.store.models import Crossing, Direction, PortOfEntry
from tsela.synth.generator import SynthConfig, estimate_crossings, make_population, make_trips
from tsela.synth.load import load_crossings, load_population, port_ids

PG_URL = os.environ.get("TSELA_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def bulk(engine: Engine, cfg: SynthConfig) -> tuple[int, float, float]:
    t0 = time.perf_counter()
    pop = make_population(cfg)
    trips = make_trips(pop, cfg)
    t_gen = time.perf_counter() - t0
    ports = port_ids(engine)
    t1 = time.perf_counter()
    with bulk_writer(engine) as writer:
        stored = load_population(writer, pop, "LS")
        n = load_crossings(writer, ports, pop, trips, cfg, stored)
    return n, t_gen, time.perf_counter() - t1


def orm(engine: Engine, rows: int) -> float:
    """The obvious alternative: one ORM object per crossing, committed at the end."""
    factory = session_factory(engine)
    with factory() as s:
        person_id = s.execute(text("SELECT id FROM person LIMIT 1")).scalar_one()
        port = s.scalars(select(PortOfEntry).limit(1)).one()
        pid = person_id if isinstance(person_id, uuid.UUID) else uuid.UUID(str(person_id))
        t0 = time.perf_counter()
        for i in range(rows):
            s.add(
                Crossing(
                    node="LS",
                    person_id=pid,
                    port_id=port.id,
                    direction=Direction.ENTRY if i % 2 else Direction.EXIT,
                    country="ZAF",
                    crossed_at=datetime(2026, 1, 1, tzinfo=UTC),
                )
            )
            s.flush() if i % 1000 == 999 else None
        s.commit()
        return time.perf_counter() - t0


def run(name: str, engine: Engine, cfg: SynthConfig, orm_rows: int) -> None:
    migrate(engine)
    seed_ports(engine, "LS")
    expected = estimate_crossings(make_trips(make_population(cfg), cfg), cfg)
    n, t_gen, t_load = bulk(engine, cfg)
    assert n == expected
    with session_factory(engine)() as s:
        assert s.scalar(select(func.count()).select_from(Crossing)) == n
    t_orm = orm(engine, orm_rows)
    total = t_gen + t_load
    print(
        f"{name:<10} bulk: {n:>10,} crossings  generate {t_gen:6.1f} s  load {t_load:6.1f} s  "
        f"total {total:6.1f} s  -> {n / t_load:>9,.0f} rows/s  "
        f"({'PASS' if total < 60 else 'FAIL'} < 60 s)"
    )
    speedup = (n / t_load) / (orm_rows / t_orm)
    print(
        f"{name:<10} ORM : {orm_rows:>10,} crossings  load {t_orm:6.1f} s  -> "
        f"{orm_rows / t_orm:>9,.0f} rows/s  (bulk is {speedup:.0f}x faster)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--crossings", type=int, default=1_000_000)
    ap.add_argument("--orm-sample", type=int, default=20_000)
    ap.add_argument("--skip-postgres", action="store_true")
    args = ap.parse_args()
    # Calibrate: how many crossings does one person make over the period, on average?
    probe = SynthConfig(persons=3000, start=date(2025, 1, 1), end=date(2026, 11, 24), seed=11)
    per_person = estimate_crossings(make_trips(make_population(probe), probe), probe) / 3000
    persons = max(1, round(args.crossings / per_person))
    cfg = SynthConfig(persons=persons, start=probe.start, end=probe.end, seed=11)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(f"target ~{args.crossings:,} crossings ({persons:,} persons)")
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        run("SQLite", engine, cfg, args.orm_sample)
        engine.dispose()
    if args.skip_postgres:
        return
    schema = f"bench_{os.getpid()}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        engine = make_engine(PG_URL, schema=schema)
        run("PostgreSQL", engine, cfg, args.orm_sample)
        engine.dispose()
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


if __name__ == "__main__":
    main()
