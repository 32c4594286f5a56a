"""The node exchange: 1,000,000 crossings from one node to the other, served, signed, sent over
loopback mutual TLS, verified and applied; beside it, one record per request on a sample
(extrapolated); and the lag while the serving node records a steady 200 crossings/s.

    .venv/bin/python bench/exchange_bench.py [--records 1000000] [--batch 10000]
        [--sample 2000] [--lag-seconds 30] [--serving sqlite|postgresql]
        [--receiving sqlite|postgresql]

The serving node (ZA) is a real ``tsela exchange serve`` process (its own database, its
node key, its TLS certificate); the receiving node (LS) pulls in this process with the
same code as ``tsela exchange pull`` (``services.exchange.pull``). Both identities and the
trust between them are made as ``tsela exchange init`` / ``trust add`` make them.

The crossings are written straight into the serving node's outbox (the payload
``services.exchange_outbox.crossing`` builds, for synthetic travellers), then chained by the
sequencer, timed on its own: in service the sequencer chains records as they are written.
PostgreSQL: TSELA_BENCH_PG_URL (default the local ``test`` database), a scratch schema.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, func, insert, select, text

from tsela.config import Settings
from tsela.ids import new_ids
from tsela.services import exchange as svc
from tsela.services.node_identity import NodeIdentity
from tsela.store.db import make_engine, migrate, session_factory, transaction
from tsela.store.exchange import OutboxEntry
from tsela.store.partner_crossings import PartnerCrossing

PG_URL = os.environ.get("TSELA_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
T0 = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)
SURNAMES = ["MOKOENA", "NKOSI", "MOLAPO", "DLAMINI", "LETSIE", "MOFOKENG", "KHUMALO", "SEEISO"]
GIVEN = ["LINEO", "THABO", "PALESA", "SIPHO", "MPHO", "NTOMBI", "TEBOHO", "LERATO"]
PORTS = ["MSU", "FIC", "VAN", "CAL", "QAC", "TEL", "SAN", "MAP"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def database(kind: str, path: Path, schemas: list[str]) -> tuple[str, Engine]:
    if kind == "sqlite":
        url = f"sqlite:///{path}"
        return url, make_engine(url)
    schema = f"xb_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    schemas.append(schema)
    url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    return url, make_engine(url)


def crossing_payload(i: int, cid: uuid.UUID) -> dict[str, Any]:
    return {
        "id": str(cid),
        "node": "ZA",
        "port_code": PORTS[i % len(PORTS)],
        "direction": "exit" if i % 2 else "entry",
        "country": "ZAF",
        "crossed_at": (T0 + timedelta(milliseconds=50 * i)).isoformat(),
        "document_number": f"A{i:08d}",
        "document_country": "LSO",
        "nationality": "LSO",
        "surname": SURNAMES[i % len(SURNAMES)],
        "given_names": GIVEN[(i // 8) % len(GIVEN)],
        "birth_date": f"19{60 + i % 40}-0{1 + i % 9}-1{i % 10}",
        "sex": "F" if i % 3 else "M",
        "decision": "CLEAR",
    }


def fill_outbox(engine: Engine, n: int, start: int = 0, at: datetime | None = None) -> None:
    chunk = 20_000
    for lo in range(start, start + n, chunk):
        count = min(chunk, start + n - lo)
        ids, cids = new_ids(count), new_ids(count)
        created = at or T0
        rows = [
            {
                "id": ids[k],
                "node": "ZA",
                "created_at": created + timedelta(microseconds=lo + k),
                "kind": "crossing",
                "record_id": str(cids[k]),
                "payload": crossing_payload(lo + k, cids[k]),
                "seq": None,
                "digest": None,
                "hash": None,
            }
            for k in range(count)
        ]
        with engine.begin() as conn:
            conn.execute(insert(OutboxEntry.__table__), rows)


def receiver(kind: str, tmp: Path, name: str, za: NodeIdentity, schemas: list[str]) -> Engine:
    _url, engine = database(kind, tmp / f"{name}.db", schemas)
    migrate(engine)
    with transaction(session_factory(engine)) as s:
        svc.add_partner(
            s, node="LS", anchor=svc.parse_anchor(za.anchor(now())), actor="bench", now=now()
        )
    return engine


def now() -> datetime:
    return datetime.now(UTC)


def settings(engine: Engine, var: Path, batch: int) -> Settings:
    return Settings(
        database_url=engine.url.render_as_string(hide_password=False),
        node="LS",
        var_dir=var,
        exchange_batch=batch,
        exchange_max_bytes=512 * 1024 * 1024,
    )


def received(engine: Engine) -> int:
    """Crossings applied into the receiving node's table of partner crossings."""
    with session_factory(engine)() as s:
        return s.scalar(select(func.count()).select_from(PartnerCrossing)) or 0


def cpu() -> float:
    t = os.times()
    return t.user + t.system


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) of another process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--batch", type=int, default=10_000)
    ap.add_argument("--sample", type=int, default=2_000)
    ap.add_argument("--lag-seconds", type=int, default=30)
    ap.add_argument("--serving", choices=["sqlite", "postgresql"], default="sqlite")
    ap.add_argument("--receiving", choices=["sqlite", "postgresql"], default="sqlite")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="tsela-exchange-bench-"))
    schemas: list[str] = []
    proc = None
    print(
        f"Tsela exchange bench, {platform.node()}, {os.cpu_count()} cores, python "
        f"{platform.python_version()}; serving {args.serving}, receiving {args.receiving}"
    )
    try:
        ls = NodeIdentity(tmp / "ls", "LS")
        za = NodeIdentity(tmp / "za", "ZA")
        port = _free_port()
        ls.init(now(), endpoint="https://127.0.0.1:1")
        za.init(now(), endpoint=f"https://127.0.0.1:{port}")
        za_url, za_engine = database(args.serving, tmp / "za.db", schemas)
        migrate(za_engine)
        with transaction(session_factory(za_engine)) as s:
            svc.add_partner(
                s, node="ZA", anchor=svc.parse_anchor(ls.anchor(now())), actor="bench", now=now()
            )
        t = time.perf_counter()
        fill_outbox(za_engine, args.records)
        print(
            f"written to the serving node's outbox: {args.records:,} crossings in "
            f"{time.perf_counter() - t:.1f} s (set-up, not timed below)"
        )
        t = time.perf_counter()
        svc.sequence_pending(za_engine)
        seq_s = time.perf_counter() - t
        print(
            f"sequenced (chained) by the sequencer: {args.records / seq_s:,.0f}/s "
            f"({seq_s:.1f} s); in service this happens as crossings are recorded"
        )

        env = {
            **os.environ,
            "TSELA_DATABASE_URL": za_url,
            "TSELA_NODE": "ZA",
            "TSELA_VAR_DIR": str(tmp / "za"),
            "TSELA_EXCHANGE_PULL_MS": "0",
            "TSELA_EXCHANGE_BATCH": str(args.batch),
        }
        proc = subprocess.Popen(
            [sys.executable, "-m", "tsela.cli.main", "exchange", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with socket.socket() as s, __import__("contextlib").suppress(OSError):
                s.connect(("127.0.0.1", port))
                break
            time.sleep(0.2)

        # 1. batches of --batch records
        ls_engine = receiver(args.receiving, tmp, "ls", za, schemas)
        cfg = settings(ls_engine, tmp / "ls", args.batch)
        c0, s0, t = cpu(), process_cpu(proc.pid), time.perf_counter()
        result = svc.pull(ls_engine, cfg, ls, "ZA")
        wall = time.perf_counter() - t
        receiving_cpu, serving_cpu = cpu() - c0, process_cpu(proc.pid) - s0
        assert result.ok, result.error
        got = received(ls_engine)
        assert got == args.records, got
        print(
            f"\n1. batches of {args.batch:,}: {args.records:,} crossings served, signed, sent, "
            f"verified and applied in {wall:.1f} s = {args.records / wall:,.0f}/s "
            f"({result.batches} batches)\n   CPU: serving process {serving_cpu:.1f} s, "
            f"receiving process {receiving_cpu:.1f} s (they overlap: the next batch is fetched "
            "while one is applied)"
        )

        # 2. one record per request, on a sample
        one_engine = receiver(args.receiving, tmp, "ls1", za, schemas)
        cfg1 = settings(one_engine, tmp / "ls", 1)
        c1, s1, t = cpu(), process_cpu(proc.pid), time.perf_counter()
        r1 = svc.pull(one_engine, cfg1, ls, "ZA", max_batches=args.sample)
        w1 = time.perf_counter() - t
        cpu1 = cpu() - c1 + process_cpu(proc.pid) - s1
        assert r1.ok and r1.records == args.sample, r1.error
        per = w1 / args.sample
        print(
            f"2. one record per request (same connection, same checks): {args.sample:,} in "
            f"{w1:.1f} s = {1 / per:,.0f}/s; {args.records:,} would take "
            f"{per * args.records / 60:,.0f} min, {per * args.records / wall:,.0f}x the batched "
            f"time\n   CPU (both processes) {cpu1 / args.sample * 1000:.1f} ms per record, "
            f"against {(serving_cpu + receiving_cpu) / args.records * 1e6:.0f} µs batched"
        )

        # 3. lag while the serving node records 200 crossings/s
        if args.lag_seconds:
            lag_run(za_engine, ls_engine, cfg, ls, args.lag_seconds, args.records)
    finally:
        if proc is not None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(30)
        if schemas:
            admin = create_engine(PG_URL)
            with admin.begin() as conn:
                for schema in schemas:
                    conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
        shutil.rmtree(tmp, ignore_errors=True)


def lag_run(
    za_engine: Engine,
    ls_engine: Engine,
    cfg: Settings,
    ls: NodeIdentity,
    seconds: int,
    start: int,
) -> None:
    """A writer appends 200 crossings a second (in 20 transactions of 10) to the serving node
    while the receiving node pulls every 200 ms; lag = applied on LS minus written on ZA."""
    stop = threading.Event()
    written: dict[str, float] = {}

    def write() -> None:
        i = start
        tick = time.monotonic()
        while not stop.is_set():
            wall = time.time()
            fill_outbox(za_engine, 10, start=i, at=now())
            with session_factory(za_engine)() as s:
                for rid in s.scalars(
                    select(OutboxEntry.record_id).where(OutboxEntry.seq.is_(None))
                ):
                    written.setdefault(rid, wall)
            svc.sequence_pending(za_engine)  # the serving node's sequencer (200 ms rounds)
            i += 10
            tick += 0.05
            time.sleep(max(0.0, tick - time.monotonic()))

    applied: dict[str, float] = {}
    begun = now()
    writer = threading.Thread(target=write)
    writer.start()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        r = svc.pull(ls_engine, cfg, ls, "ZA")
        assert r.ok, r.error
        t = time.time()
        with session_factory(ls_engine)() as s:
            for rid in s.scalars(
                select(PartnerCrossing.id).where(PartnerCrossing.received_at >= begun)
            ):
                applied.setdefault(str(rid), t)
        time.sleep(0.2)
    stop.set()
    writer.join()
    lags = sorted(applied[r] - w for r, w in written.items() if r in applied)
    if not lags:
        print("3. lag: nothing applied")
        return
    p = lambda q: lags[min(len(lags) - 1, int(q * len(lags)))]  # noqa: E731
    print(
        f"3. lag at 200 crossings/s for {seconds} s ({len(written):,} written, {len(lags):,} "
        f"applied): p50 {p(0.5):.2f} s, p95 {p(0.95):.2f} s, max {lags[-1]:.2f} s "
        f"(pull every 0.2 s)"
    )


if __name__ == "__main__":
    main()
