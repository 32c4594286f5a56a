"""Time to the first screening after a restart, with a large watchlist: the index rebuilt
from the database (every start before issue 14) against the index mapped from disk.

    .venv/bin/python bench/coldstart.py --entries 1000000 [--keep] [--workers 2]
    .venv/bin/python bench/coldstart.py --entries 50000        # a quick look

1. A scratch SQLite database under ``bench/out/coldstart/`` with a person list of
   ``--entries`` synthetic entries (``checks_load.load_watchlists``: a bulk insert of the
   columns the importer writes) and a border officer with an API token. ``--keep`` keeps it
   (and the index on disk) for the next run.
2. A fresh process for each way of starting (``--child``), each timed from before its
   interpreter starts to the first ``screen()`` answered:

   - ``rebuild``: the index built from the database, in memory (what every start did);
   - ``first start``: no index on disk yet: built, saved under the var dir, then mapped
     (the first process to start after an import);
   - ``restart``: the saved index mapped (``store.index_files``), checksums verified.

   Each prints its memory from ``/proc/self/status``: resident (RSS), of which anonymous
   (private to the process) and file-backed (the mapped index: page-cache pages, one copy
   for every process that maps them), and the peak RSS.
3. The real server (``tsela serve --workers W``) started on the saved index: time from spawn
   to the first ``POST /v1/checks`` answered (201; the check screens the traveller), and each
   worker's RSS and anonymous memory, and the CPU time it had used (a second after the first
   check: its start-up's cost, which other work on the machine inflates far less than the
   wall clock).

The page cache is warm in every run (the database file and, for a restart, the index were
read moments before), as on a server restarted in place; a first boot reads the index from
disk once.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
OUT = HERE / "out" / "coldstart"
QUERY = "Lineo Mokoena"


def memory(pid: int | str = "self") -> dict[str, float]:
    """Resident memory of a process in MB: total, anonymous, file-backed, peak."""
    fields = {"VmRSS": "rss", "RssAnon": "anon", "RssFile": "file", "VmHWM": "peak"}
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in fields:
            out[fields[key]] = int(value.split()[0]) / 1024
    return out


def cpu_seconds(pid: int | str) -> float:
    """User + system CPU time a process has used so far: what its start-up cost, much less
    dependent than the wall clock on what else the machine is doing."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def child(mode: str, url: str, var_dir: str, spawned: float) -> None:
    """One start: the first screening answered, then the figures as JSON on stdout."""
    from tsela.services import screening
    from tsela.store.db import make_engine

    engine = make_engine(url)
    if mode != "rebuild":
        screening.keep_index_on_disk(engine, Path(var_dir))
    hits = screening.screen(engine, QUERY, today=date(2026, 12, 2))
    answered = time.time()
    index = screening.current_index(engine)
    print(
        json.dumps(
            {
                "seconds": answered - spawned,
                "entries": len(index),
                "hits": len(hits),
                **memory(),
            }
        )
    )


def run_child(mode: str, url: str, var_dir: Path) -> dict[str, Any]:
    spawned = time.time()
    out = subprocess.run(
        [
            *(sys.executable, __file__, "--child", mode, "--url", url),
            *("--var", str(var_dir), "--spawned", repr(spawned)),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def prepare(url: str, entries: int) -> dict[str, str]:
    """The database with the list (none for 0), an officer's token; returns request
    headers."""
    sys.path.insert(0, str(HERE))
    from checks_load import load_watchlists  # type: ignore[import-not-found]
    from tsela.services.accounts import create_user, issue_api_token
    from tsela.services.setup import seed_ports
    from tsela.store.db import make_engine, migrate, session_factory, transaction
    from tsela.store.models import Role

    engine = make_engine(url)
    migrate(engine)
    seed_ports(engine, "LS")
    if entries:
        t0 = time.perf_counter()
        load_watchlists(engine, entries)
        print(f"  loaded {entries:,} entries in {time.perf_counter() - t0:.0f} s")
    with transaction(session_factory(engine)) as s:
        user = create_user(
            s,
            node="LS",
            username="officer",
            password="correct horse 1",
            role=Role.BORDER_OFFICER,
            port_code="MSU",
        )
        token = issue_api_token(s, user, label="coldstart")
    engine.dispose()
    return {"Authorization": f"Bearer {token}"}


def mrz() -> str:
    sys.path.insert(0, str(HERE.parent / "tests"))
    from factories import passport  # type: ignore[import-not-found]

    return passport(expiry=date(2036, 5, 1))


def serve(url: str, var_dir: Path, workers: int, headers: dict[str, str]) -> dict[str, Any]:
    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "TSELA_DATABASE_URL": url, "TSELA_VAR_DIR": str(var_dir)}
    log = (OUT / "server.log").open("wb")
    spawned = time.time()
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "tsela.cli.main", "serve"),
            *("--port", str(port), "--workers", str(workers)),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    body = {"port": "MSU", "direction": "entry", "mrz": mrz()}
    try:
        while True:  # up: the index is loaded before the first request is taken
            if proc.poll() is not None:
                raise SystemExit(f"server stopped; see {OUT / 'server.log'}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=600).status_code == 200:
                    break
            time.sleep(0.05)
        up = time.time() - spawned
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"server stopped; see {OUT / 'server.log'}")
            with contextlib.suppress(httpx.HTTPError):
                r = httpx.post(
                    f"http://127.0.0.1:{port}/v1/checks", json=body, headers=headers, timeout=600
                )
                if r.status_code == 201:
                    break
            time.sleep(0.05)
        seconds = time.time() - spawned
        time.sleep(1.0)  # the other workers finish starting
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
        # The workers: the children that took requests (not multiprocessing's helpers).
        pids = [p for p in children if memory(p)["rss"] > 50] if workers > 1 else [str(proc.pid)]
        return {
            "up": up,
            "seconds": seconds,
            "workers": [{**memory(p), "cpu": cpu_seconds(p)} for p in pids],
        }
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep the database for next time")
    parser.add_argument(
        "--server-only", action="store_true", help="only the server starts (after a --keep run)"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--var", help=argparse.SUPPRESS)
    parser.add_argument("--spawned", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.url, args.var, args.spawned)
        return

    print(
        f"coldstart: {args.entries:,} entries; {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
    )
    db = OUT / f"coldstart-{args.entries}.db"
    var_dir = OUT / f"var-{args.entries}"
    url = f"sqlite:///{db}"
    token_file = OUT / f"token-{args.entries}.json"
    if not (args.keep and db.exists() and token_file.exists()):
        for path in OUT.glob(f"coldstart-{args.entries}.db*"):
            path.unlink()
        shutil.rmtree(var_dir, ignore_errors=True)
        OUT.mkdir(parents=True, exist_ok=True)
        token_file.write_text(json.dumps(prepare(url, args.entries)))
    headers = json.loads(token_file.read_text())
    modes = (
        ("rebuild from the database (before)", "rebuild"),
        ("first start: build, save, map", "first"),
        ("restart: map the saved index", "restart"),
    )
    if args.server_only:  # the saved index of an earlier --keep run
        modes = ()
    else:
        shutil.rmtree(var_dir, ignore_errors=True)  # every run times the first build and save
    for label, mode in modes:
        figures = run_child(mode, url, var_dir)
        print(
            f"  {label:<38} first screening {figures['seconds']:7.1f} s   "
            f"RSS {figures['rss']:6.0f} MB (anon {figures['anon']:6.0f}, "
            f"file {figures['file']:5.0f}), peak {figures['peak']:6.0f} MB"
        )
    size = sum(f.stat().st_size for f in var_dir.rglob("*.npy")) / 1024**2 if modes else 0
    print(f"  index on disk: {size:.0f} MB")
    # The same server on a database without any watchlist: what starting costs anyway
    # (the interpreter, the app's imports, uvicorn's worker processes).
    empty = f"sqlite:///{OUT / 'coldstart-empty.db'}"
    for path in OUT.glob("coldstart-empty.db*"):
        path.unlink()
    empty_headers = prepare(empty, 0)
    for label, (db_url, hdrs, var) in (
        ("no watchlist", (empty, empty_headers, OUT / "var-empty")),
        (f"{args.entries:,} entries, index on disk", (url, headers, var_dir)),
    ):
        server = serve(db_url, var, args.workers, hdrs)
        print(
            f"  server start, {args.workers} workers, {label}: /health {server['up']:.1f} s, "
            f"first check answered {server['seconds']:.1f} s after spawn"
        )
        for i, w in enumerate(server["workers"], start=1):
            print(
                f"    worker {i}: RSS {w['rss']:.0f} MB "
                f"(anon {w['anon']:.0f}, file {w['file']:.0f}), CPU {w['cpu']:.1f} s"
            )
    if not args.keep:
        shutil.rmtree(OUT, ignore_errors=True)


if __name__ == "__main__":
    main()
