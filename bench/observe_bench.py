"""What the request-id / metrics / JSON-log middleware (``api.observability.Observe``) costs
per request, beside the same app without it.

    .venv/bin/python bench/observe_bench.py [--requests 20000]

Drives the real app (``create_app`` on a scratch SQLite database) in-process through its ASGI
interface, so the figures are the app's own CPU time, not a network's: ``GET /health/live``
(the cheapest route: the middleware's share is the largest there) with

1. ``Observe`` removed (the app as it was before),
2. ``Observe`` with logging off (request id and latency histogram only),
3. ``Observe`` with the JSON access line written (to /dev/null), as ``tsela serve`` does.

Prints microseconds per request (best of 5 interleaved rounds) and the difference to (1).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

from tsela.api.app import create_app
from tsela.api.observability import JsonFormatter, Observe
from tsela.config import Settings
from tsela.store.db import make_engine, migrate


def _app(tmp: Path, observe: bool) -> Any:
    engine = make_engine(f"sqlite:///{tmp / 'bench.db'}")
    migrate(engine)
    settings = Settings(
        database_url=str(engine.url), node="LS", var_dir=tmp, audit_seal_ms=0, max_in_flight=0
    )
    app = create_app(settings, engine)
    if not observe:
        app.user_middleware = [m for m in app.user_middleware if m.cls is not Observe]
    return app


async def _round(app: Any, n: int) -> float:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/health/live",
        "raw_path": b"/health/live",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"bench")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(_message: dict[str, Any]) -> None:
        return None

    started = time.perf_counter()
    for _ in range(n):
        await app(dict(scope), receive, send)
    return (time.perf_counter() - started) / n * 1e6


def measure(apps: list[tuple[Any, int]], n: int, rounds: int = 5) -> list[float]:
    """Best round of each app (app, log level); rounds interleaved, so a busy moment on a
    shared machine falls on every variant alike."""
    logger = logging.getLogger("tsela.request")

    async def run() -> list[float]:
        best = [float("inf")] * len(apps)
        for app, level in apps:
            logger.setLevel(level)
            await _round(app, 200)  # builds the middleware stack, warms caches
        for _ in range(rounds):
            for i, (app, level) in enumerate(apps):
                logger.setLevel(level)
                best[i] = min(best[i], await _round(app, n))
        return best

    return asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    args = parser.parse_args()
    logger = logging.getLogger("tsela.request")
    logger.propagate = False
    sink = logging.FileHandler("/dev/null")
    sink.setFormatter(JsonFormatter())
    logger.addHandler(sink)
    with tempfile.TemporaryDirectory() as tmp:
        for sub in "abc":
            (Path(tmp) / sub).mkdir()
        bare, quiet, logged = measure(
            [
                (_app(Path(tmp) / "a", observe=False), logging.WARNING),
                (_app(Path(tmp) / "b", observe=True), logging.WARNING),
                (_app(Path(tmp) / "c", observe=True), logging.INFO),
            ],
            args.requests,
        )
    print(f"GET /health/live, {args.requests:,} requests in-process, best of 5 rounds")
    print(f"{'app':<44} {'us/request':>10} {'added':>8}")
    rows = [
        ("without Observe", bare),
        ("Observe, logging off (id + histogram)", quiet),
        ("Observe, JSON access line (as tsela serve)", logged),
    ]
    for name, us in rows:
        added = f"{us - bare:+.1f}" if name != rows[0][0] else ""
        print(f"{name:<44} {us:>10.1f} {added:>8}")


if __name__ == "__main__":
    main()
