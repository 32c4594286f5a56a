"""Observatory speed: DuckDB over the Parquet copy, against pandas and PostgreSQL.

    .venv/bin/python bench/observatory_bench.py [--crossings 5000000] [--dir /tmp/obs-bench]
        [--pandas-rows N] [--pg-rows 1000000] [--month 2026-06]

Generates synthetic crossings straight to Parquet (the ``tsela synth --no-store`` path) into
``--dir`` unless a copy of that size is already there, then times, in the same run:

- DuckDB: the tables built once per analytics copy (daily rollup, stays); monthly flows by
  port and direction (indicator ``crossings.monthly``) over every month, and for one month;
  the full monthly report (all figures and charts, HTML and PDF);
- pandas (the ``bench`` extra): the same aggregate over the largest number of rows that fits
  in the memory available (reading the Parquet columns, then grouping);
- PostgreSQL: the same aggregate over ``--pg-rows`` rows loaded with COPY into a scratch
  schema of TSELA_BENCH_PG_URL (default the local ``test`` database), and DuckDB over the
  very same rows for a like-for-like figure.

Targets (issue 8): on 100M crossings, monthly flows by port and direction in < 2 s and the
full monthly report in < 30 s. For 100M: --crossings 100000000 (about 1.5M persons; the
Parquet copy takes about 4 GB).
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import io
import os
import platform
import resource
import shutil
import time
import uuid
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds

from tsela.observatory import report as rep
from tsela.observatory.engine import Observatory, Period, local_time
from tsela.observatory.indicators import run, stays_source

PG_URL = os.environ.get("TSELA_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
START, END = date(2025, 1, 1), date(2026, 10, 31)
CROSSINGS_PER_PERSON = 67.0  # what the generator makes over these 22 months


def generate(out: Path, crossings: int) -> int:
    from tsela.observatory.parquet import pseudonym_secret
    from tsela.synth.generator import SynthConfig, make_population, make_trips
    from tsela.synth.load import new_hex_ids, write_parquet

    marker = out / "BENCH_SIZE"
    if marker.exists() and marker.read_text().split()[0] == str(crossings):
        return int(marker.read_text().split()[1])
    persons = max(100, round(crossings / CROSSINGS_PER_PERSON))
    cfg = SynthConfig(persons=persons, start=START, end=END, seed=8, chunk_size=1_000_000)
    t0 = time.perf_counter()
    pop = make_population(cfg)
    trips = make_trips(pop, cfg)
    ids = new_hex_ids(len(pop))
    rows = write_parquet(out, pop, trips, cfg, ids, pseudonym_secret(out))
    marker.write_text(f"{crossings} {rows}\n")
    print(
        f"generated {rows:,} crossings of {persons:,} persons in {time.perf_counter() - t0:.0f} s"
    )
    return rows


def note(results: list[tuple[str, str, int, str]], row: tuple[str, str, int, str]) -> None:
    results.append(row)
    print(" | ".join(str(x) for x in row), flush=True)


def timed(fn, repeat: int = 3) -> tuple[float, float, object]:  # type: ignore[no-untyped-def]
    """(first run, best run) in seconds, and the last result."""
    times = []
    result = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return times[0], min(times), result


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def available_bytes() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    return 4 << 30


def pandas_flows(copy: Path, rows: int) -> tuple[float, float, int, float]:
    """(read s, group s, rows, RSS MB): read the four columns, then the monthly aggregate."""
    import numpy as np

    t0 = time.perf_counter()
    dataset = ds.dataset(copy / "crossings", format="parquet", partitioning="hive")
    scanner = dataset.scanner(columns=["port", "country", "direction", "crossed_at"])
    batches, n = [], 0
    for batch in scanner.to_batches():
        batches.append(batch.slice(0, rows - n))
        n += len(batches[-1])
        if n >= rows:
            break
    table = pa.Table.from_batches(batches).combine_chunks()
    table = table.set_column(
        0, "port", table.column("port").dictionary_encode()
    )  # categories keep the frame small
    for name in ("country", "direction"):
        i = table.schema.get_field_index(name)
        table = table.set_column(i, name, table.column(name).dictionary_encode())
    frame = table.to_pandas()
    del table, batches
    read = time.perf_counter() - t0
    t1 = time.perf_counter()
    local = frame["crossed_at"].to_numpy(dtype="datetime64[s]") + np.timedelta64(2, "h")
    frame["month"] = local.astype("datetime64[M]")
    out = frame.groupby(["month", "port", "country", "direction"], observed=True).size()
    group = time.perf_counter() - t1
    assert out.sum() == len(frame)
    size = len(frame)
    del frame
    gc.collect()
    return read, group, size, rss_mb()


def postgres_flows(copy: Path, rows: int) -> tuple[float, float, float, int]:
    """(load s, first query s, best query s, rows) on a scratch schema, dropped after."""
    import psycopg

    schema = f"obs_bench_{uuid.uuid4().hex[:8]}"
    dataset = ds.dataset(copy / "crossings", format="parquet", partitioning="hive")
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
        try:
            conn.execute(
                f'CREATE TABLE "{schema}".crossing (port text, country text, direction text, '
                "crossed_at timestamptz)"
            )
            t0 = time.perf_counter()
            n = 0
            with (
                conn.cursor() as cur,
                cur.copy(f'COPY "{schema}".crossing FROM STDIN WITH (FORMAT csv)') as copy_in,
            ):
                for batch in dataset.scanner(
                    columns=["port", "country", "direction", "crossed_at"], batch_size=200_000
                ).to_batches():
                    batch = batch.slice(0, rows - n)
                    buf = io.BytesIO()
                    import pyarrow.csv as pacsv

                    pacsv.write_csv(batch, buf, pacsv.WriteOptions(include_header=False))
                    copy_in.write(buf.getvalue())
                    n += len(batch)
                    if n >= rows:
                        break
            conn.execute(f'ANALYZE "{schema}".crossing')
            load = time.perf_counter() - t0
            query = (
                "SELECT date_trunc('month', crossed_at AT TIME ZONE 'Africa/Johannesburg') AS m, "
                f'port, country, direction, count(*) FROM "{schema}".crossing GROUP BY 1, 2, 3, 4'
            )
            first, best, _ = timed(lambda: conn.execute(query).fetchall())
        finally:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    return load, first, best, n


def duckdb_sample(copy: Path, rows: int, tmp: Path) -> tuple[float, float]:
    """DuckDB over a Parquet file holding the same rows as the PostgreSQL table."""
    import duckdb
    import pyarrow.parquet as pq

    dataset = ds.dataset(copy / "crossings", format="parquet", partitioning="hive")
    table = dataset.head(rows, columns=["port", "country", "direction", "crossed_at"])
    path = tmp / "sample.parquet"
    pq.write_table(table, path)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    query = (
        "SELECT date_trunc('month', CAST(crossed_at AS TIMESTAMP) + INTERVAL 2 HOUR) AS m, "
        f"port, country, direction, count(*) FROM read_parquet('{path}') GROUP BY ALL"
    )
    first, best, _ = timed(lambda: con.execute(query).fetchall())
    path.unlink()
    return first, best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crossings", type=int, default=5_000_000)
    parser.add_argument("--dir", type=Path, default=None, help="Where the Parquet copy goes.")
    parser.add_argument("--pandas-rows", type=int, default=None, help="Default: all that fit.")
    parser.add_argument("--pg-rows", type=int, default=1_000_000)
    parser.add_argument("--month", default="2026-06", help="Month of the report.")
    parser.add_argument("--skip-pg", action="store_true")
    args = parser.parse_args()
    copy = args.dir or Path(f"/tmp/tsela-obs-bench-{args.crossings}")
    copy.mkdir(parents=True, exist_ok=True)
    rows = generate(copy, args.crossings)
    size = sum(p.stat().st_size for p in (copy / "crossings").rglob("*.parquet"))
    print(
        f"{platform.machine()}, {os.cpu_count()} cores; {rows:,} crossings, "
        f"{size / 2**20:,.0f} MiB of Parquet in {copy}"
    )
    results: list[tuple[str, str, int, str]] = []

    shutil.rmtree(copy / "rollup", ignore_errors=True)
    with Observatory(copy) as obs:
        whole = obs.default_period()
        # Without the rollup: the same aggregate straight from the crossings.
        local = local_time("crossed_at")
        raw = (
            f"SELECT date_trunc('month', {local}) AS m, port, country, direction, count(*) "
            f"FROM read_parquet({obs._files(list(obs.partitions))}) GROUP BY ALL"
        )
        first, best, _ = timed(lambda: obs.con.execute(raw).fetchall(), repeat=2)
        note(
            results,
            (
                "DuckDB",
                "monthly flows by port and direction from the raw crossings",
                rows,
                f"{first:.2f} s first, {best:.2f} s best",
            ),
        )
        t0 = time.perf_counter()
        obs.rollup()
        note(
            results,
            (
                "DuckDB",
                "daily rollup, built once per analytics copy",
                rows,
                f"{time.perf_counter() - t0:.1f} s",
            ),
        )
        t0 = time.perf_counter()
        stays_source(obs)
        note(
            results,
            (
                "DuckDB",
                "stays (every exit paired with its entry), built once per analytics copy",
                rows,
                f"{time.perf_counter() - t0:.1f} s; peak RSS so far {rss_mb() / 1024:.1f} GiB",
            ),
        )
        first, best, result = timed(lambda: run(obs, "crossings.monthly", whole))
        n_rows = result.table.num_rows  # type: ignore[attr-defined]
        note(
            results,
            (
                "DuckDB",
                "monthly flows by port and direction, every month",
                rows,
                f"{first:.2f} s first, {best:.2f} s best ({n_rows} result rows)",
            ),
        )
        month = Period.month(args.month)
        first, best, _ = timed(lambda: run(obs, "crossings.monthly", month))
        note(
            results,
            (
                "DuckDB",
                f"monthly flows by port and direction, {args.month}",
                rows,
                f"{first:.2f} s first, {best:.2f} s best",
            ),
        )
        t0 = time.perf_counter()
        report = rep.build_monthly(obs, args.month)
        built = time.perf_counter() - t0
        t1 = time.perf_counter()
        html = rep.to_html(report)
        t2 = time.perf_counter()
        pdf = rep.to_pdf(report)
        t3 = time.perf_counter()
        note(
            results,
            (
                "DuckDB",
                f"full monthly report {args.month} (figures + charts)",
                rows,
                f"{built:.1f} s; +HTML {t2 - t1:.1f} s ({len(html) // 1024} KiB); "
                f"+PDF {t3 - t2:.1f} s ({len(pdf) // 1024} KiB)",
            ),
        )
    with Observatory(copy) as fresh:  # a new connection: the stays read from the kept table
        first, _best, _ = timed(lambda: run(fresh, "stays.overstays", month), repeat=1)
        note(
            results,
            (
                "DuckDB",
                f"overstays {args.month}, new connection (from the stays built once)",
                rows,
                f"{first:.1f} s",
            ),
        )

    # pandas: the largest size that fits (about 60 bytes a row while converting).
    if importlib.util.find_spec("pandas") is None:
        print("pandas is not installed (the bench extra): skipped")
    else:
        budget = int(available_bytes() * 0.6 / 60)
        p_rows = min(rows, args.pandas_rows or rows, budget)
        read, group, done, peak = pandas_flows(copy, p_rows)
        note(results, ("pandas", "read 4 columns from Parquet", done, f"{read:.1f} s"))
        note(
            results,
            (
                "pandas",
                "monthly flows by port and direction (groupby)",
                done,
                f"{group:.2f} s; peak RSS {peak / 1024:.1f} GiB",
            ),
        )

    if not args.skip_pg:
        pg_rows = min(args.pg_rows, rows)
        load, first, best, n = postgres_flows(copy, pg_rows)
        note(results, ("PostgreSQL", "COPY + ANALYZE", n, f"{load:.1f} s"))
        note(
            results,
            (
                "PostgreSQL",
                "monthly flows by port and direction",
                n,
                f"{first:.2f} s first, {best:.2f} s best",
            ),
        )
        first, best = duckdb_sample(copy, n, copy)
        note(
            results,
            (
                "DuckDB",
                "same aggregate, same rows (one Parquet file)",
                n,
                f"{first:.2f} s first, {best:.2f} s best",
            ),
        )

    print()
    print("| engine | what | rows | time |")
    print("|---|---|---:|---|")
    for engine, what, n, time_text in results:
        print(f"| {engine} | {what} | {n:,} | {time_text} |")


if __name__ == "__main__":
    main()
