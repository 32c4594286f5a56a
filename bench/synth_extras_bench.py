"""How long the demo's synthetic extras take (employers, permits, pending applications,
watchlists), issuing in weekly batches (``issue_many``) vs one permit at a time (``issue``),
and how long the whole ``tsela demo`` setup takes.

    .venv/bin/python bench/synth_extras_bench.py [--persons 2000] [--pg] [--no-demo|--demo-only]

For each back end: the population load (persons, documents, crossings), then the extras
twice on two copies of the same population, bulk and one at a time; then the wall time of
``tsela demo --single --no-serve`` (one node) and ``tsela demo --no-serve`` (both nodes, with
their keys, trust and walkthrough data) on fresh SQLite databases (the brief: about 60 s).
PostgreSQL (--pg): TSELA_BENCH_PG_URL (default the local test database), scratch schemas.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import Engine, create_engine, text

from tsela.services.keys import KeyStore
from tsela.services.setup import seed_ports
from tsela.store.db import make_engine, migrate
from tsela.synth.extras import add_extras, population_in_store
from tsela.synth.generator import SynthConfig
from tsela.synth.run import synthesise

PG_URL = os.environ.get("TSELA_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@contextmanager
def database(kind: str, tmp: Path) -> Iterator[Engine]:
    if kind == "sqlite":
        engine = make_engine(f"sqlite:///{tmp / f'bench-{uuid.uuid4().hex[:6]}.db'}")
        migrate(engine)
        seed_ports(engine, "LS")
        yield engine
        engine.dispose()
        return
    schema = f"bench_extras_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(PG_URL, schema=schema)
    try:
        migrate(engine)
        seed_ports(engine, "LS")
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def run(kind: str, cfg: SynthConfig, tmp: Path) -> list[tuple[str, str, int, float]]:
    rows = []
    today = cfg.end + timedelta(days=1)
    for bulk in (True, False):
        with database(kind, tmp) as engine:
            t0 = time.perf_counter()
            loaded = synthesise(cfg, node="LS", engine=engine)
            t_load = time.perf_counter() - t0
            # The same people the load stored (ids read back by document number).
            found = population_in_store(engine, cfg.seed, [cfg.persons])
            assert found is not None
            pop, ids = found
            keys = KeyStore(tmp / f"keys-{kind}-{bulk}", "LS")
            t1 = time.perf_counter()
            summary = add_extras(
                engine, pop, ids, node="LS", keys=keys, today=today, seed=cfg.seed, bulk_issue=bulk
            )
            t_extras = time.perf_counter() - t1
            permits = sum(summary.permits.values())
            if bulk:
                rows.append((kind, "population load", loaded.crossings, t_load))
            label = "extras, issue_many weekly" if bulk else "extras, issue one at a time"
            rows.append((kind, label, permits, t_extras))
    return rows


def demo_wall(persons: int, tmp: Path, *options: str) -> float:
    var = tmp / ("demo" + "".join(options))
    env = {
        **os.environ,
        "TSELA_VAR_DIR": str(var),
        "TSELA_DATABASE_URL": f"sqlite:///{var / 'tsela.db'}",
    }
    exe = Path(sys.executable).with_name("tsela")
    t0 = time.perf_counter()
    subprocess.run(
        [str(exe), "demo", *options, "--no-serve", "--persons", str(persons)],
        env=env,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--persons", type=int, default=2000)
    ap.add_argument("--pg", action="store_true", help="also PostgreSQL")
    ap.add_argument("--no-demo", action="store_true", help="skip the tsela demo wall time")
    ap.add_argument("--demo-only", action="store_true", help="only the tsela demo wall times")
    args = ap.parse_args()
    end = date.today() - timedelta(days=1)
    cfg = SynthConfig(persons=args.persons, start=date(2025, 1, 1), end=end, seed=2026)
    print(f"{platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
    print(f"{args.persons:,} persons, crossings {cfg.start} to {cfg.end}")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        rows = []
        for kind in ("sqlite", "postgresql") if args.pg else ("sqlite",):
            rows += [] if args.demo_only else run(kind, cfg, tmp)
        print("| back end | step | rows | time |")
        print("|---|---|---:|---:|")
        for kind, step, n, t in rows:
            print(f"| {kind} | {step} | {n:,} | {t:.1f} s |")
        if not args.no_demo:
            wall = demo_wall(args.persons, tmp, "--single")
            print(f"| sqlite | `tsela demo --single --no-serve` (all of it) | | {wall:.1f} s |")
            wall = demo_wall(args.persons, tmp)
            print(f"| sqlite | `tsela demo --no-serve`, both nodes (all of it) | | {wall:.1f} s |")
    print(f"load at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
