"""Running the HTTP server: one or more uvicorn worker processes, with admission control.

Two things uvicorn does not do for us:

- **Admission control.** A process works on at most ``limit`` requests at once; the next wait
  their turn (cheaply, holding no thread or connection) for up to ``queue_timeout`` seconds,
  then get ``503`` with ``Retry-After``. Past its capacity a server that takes every request
  answers none in time (each waits behind thousands abandoned by their clients); this one
  keeps answering at capacity, and clients (the port client retries) know to come back. The
  pool has a connection for every request admitted (see ``app.create_app``), so none waits
  for one.
- **TCP_NODELAY with several workers.** uvicorn's multi-worker listener is created without
  ``proto=IPPROTO_TCP``, so asyncio never sets ``TCP_NODELAY`` on its connections and every
  keep-alive answer waits ~40 ms for the client's delayed ACK (uvicorn issue #3149).
  ``listening_socket`` makes the socket with the protocol set.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

RETRY_AFTER_S = 1
BUSY = b'{"detail":"the server is busy: try again in a second"}'


class AdmissionControl:
    """ASGI middleware: at most ``limit`` HTTP requests in progress; others wait up to
    ``queue_timeout`` seconds for a turn, then get 503."""

    def __init__(self, app: ASGIApp, limit: int, queue_timeout: float) -> None:
        self.app = app
        self.limit = limit
        self.queue_timeout = queue_timeout
        self._turns: asyncio.Semaphore | None = None  # made in the server's event loop
        self.in_flight = 0
        self.shed = 0
        from tsela.api.observability import SHED

        self._shed_metric = SHED

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.limit <= 0:
            await self.app(scope, receive, send)
            return
        if self._turns is None:
            self._turns = asyncio.Semaphore(self.limit)
        turns = self._turns
        try:
            await asyncio.wait_for(turns.acquire(), self.queue_timeout)
        except TimeoutError:
            self.shed += 1
            self._shed_metric.inc()
            await _busy(send)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
            turns.release()


async def _busy(send: Send) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"application/json"),
                (b"retry-after", str(RETRY_AFTER_S).encode()),
                (b"content-length", str(len(BUSY)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": BUSY})


def listening_socket(host: str, port: int) -> socket.socket:
    """A bound TCP socket whose connections asyncio will set to TCP_NODELAY."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def run(
    host: str,
    port: int,
    *,
    workers: int = 1,
    log_level: str = "info",
    exchange_port: int = 0,
) -> None:
    """Serve ``create_app()`` (settings from the environment) with ``workers`` processes;
    with ``exchange_port``, the mutual-TLS exchange feed beside it (one process)."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    # uvicorn's own proxy handling trusts X-Forwarded-For from 127.0.0.1 by default: anyone on
    # the server's machine could name any source in the audit log. The app trusts only
    # TSELA_TRUSTED_PROXIES (see create_app).
    from tsela.api.observability import log_config

    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_level": log_level,
        "proxy_headers": False,
        "log_config": log_config(log_level),
        "access_log": False,  # the app writes one line per request, with its request id
    }
    if exchange_port:
        if workers > 1:
            raise ValueError(
                "the exchange listener runs in a single process: serve the API with --workers N "
                "and run `tsela exchange serve` beside it"
            )
        _run_with_exchange(options, exchange_port, log_level)
        return
    if workers <= 1:
        from tsela.api.app import create_app

        uvicorn.run(create_app(preload=True), **options)
        return
    _metrics_dir()
    # Each worker process builds the app from the environment (the factory).
    config = uvicorn.Config("tsela.api.serve:worker_app", factory=True, workers=workers, **options)
    Multiprocess(config, sockets=[listening_socket(host, port)]).run()


def worker_app() -> Any:
    """The app of one worker process: built with the cyclic garbage collector off (turned on
    again once it is ready, see cli/main.py) and the screening index preloaded."""
    import gc

    gc.disable()
    from tsela.api.app import create_app

    return create_app(preload=True)


def _run_with_exchange(options: dict[str, Any], exchange_port: int, log_level: str) -> None:
    """The API and the exchange listener in one process and event loop; a signal stops both."""
    import uvicorn

    from tsela.api.app import create_app
    from tsela.api.exchange import exchange_config

    app = create_app(preload=True)
    settings, engine = app.state.settings, app.state.engine
    exchange = uvicorn.Server(exchange_config(settings, engine, exchange_port, log_level))

    class _Both(uvicorn.Server):
        def handle_exit(self, sig: int, frame: Any) -> None:
            exchange.should_exit = True
            super().handle_exit(sig, frame)

    main = _Both(uvicorn.Config(app, **options))

    async def both() -> None:
        await asyncio.gather(main.serve(), exchange._serve())

    asyncio.run(both())


def _metrics_dir() -> None:
    """Workers share their counters through files (prometheus-client's multiprocess mode):
    ``<var>/metrics``, emptied at start so a restart does not add the last run's counts.
    Set before the workers start: each reads it when it first imports prometheus-client."""
    import os
    from pathlib import Path

    from tsela.config import load_settings

    path = Path(os.environ.get("PROMETHEUS_MULTIPROC_DIR") or load_settings().var_dir / "metrics")
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(path)
