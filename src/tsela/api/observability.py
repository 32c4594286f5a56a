"""What an operator watches: Prometheus metrics, JSON logs with request ids, health probes.

**Metrics** (``GET /metrics``, Prometheus text format):

- ``tsela_http_request_duration_seconds{method,route,status}``: latency per route template
  (``/v1/persons/{person_id}``, never the raw path), so 503s per route too;
- ``tsela_requests_shed_total``: requests refused with 503 by admission control;
- ``tsela_checks_total{decision,port}``: border checks answered, by decision and port;
- collected when scraped, from the database and this process: ``tsela_audit_unsealed_entries``,
  ``tsela_audit_oldest_unsealed_age_seconds``, ``tsela_audit_backdated_entries`` (left
  unsealed, see ``services.audit``), ``tsela_audit_checkpoint_age_seconds``,
  ``tsela_screening_index_loaded`` / ``_version`` / ``_age_seconds``.

With ``tsela serve --workers N`` the counters and histograms use prometheus-client's
multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``, set by ``tsela.api.serve`` to
``<var>/metrics``): any worker's answer sums every worker's. The screening index gauges are
the answering worker's own (each worker holds its own index) and carry its ``pid`` label.

**Access.** ``/metrics`` counts things and names no one, but it tells an outsider how busy a
port is. It answers callers on the loopback interface (a Prometheus on the same host, or an
SSH tunnel), or anyone presenting ``Authorization: Bearer $TSELA_METRICS_TOKEN`` when that is
set; others get 403. Behind a reverse proxy on the same host every caller looks local unless
the proxy is in ``TSELA_TRUSTED_PROXIES``: name it, set the token, or do not route
``/metrics`` through the proxy.

**Logs.** One JSON object a line (``python -m json.tool``-able), through the standard logging
module; every line written while handling a request carries its ``request_id``: the caller's
``X-Request-ID`` when it is a sensible token, else a new one; the response echoes it.

**Health.** ``/health/live``: the process answers (restart it if not). ``/health/ready``: the
database answers, the screening index is loaded and the schema is at the code's migrations
(send it traffic only then). ``/health`` stays as it was (liveness with a database ping).
"""

from __future__ import annotations

import contextvars
import hmac
import json
import logging
import os
import re
import time
from collections.abc import Iterable, Iterator
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import SQLAlchemyError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tsela.api.schemas import LiveOut, ReadyOut
from tsela.ids import new_id

log = logging.getLogger("tsela.request")

REQUEST_ID_HEADER = "X-Request-ID"
_SENSIBLE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")  # else a new one: logs stay clean
request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
LATENCY = Histogram(
    "tsela_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template and status.",
    ["method", "route", "status"],
    buckets=BUCKETS,
)
SHED = Counter("tsela_requests_shed", "Requests refused with 503 by admission control.")
CHECKS = Counter(
    "tsela_checks", "Border checks answered, by decision and port.", ["decision", "port"]
)


def count_check(decision: str, port: str) -> None:
    CHECKS.labels(decision=decision, port=port).inc()


# --- request ids, access log, latency ---------------------------------------------------


class Observe:
    """ASGI middleware: a request id for every request (in, out, and on every log line),
    one access-log line, and the latency histogram. Outermost, so shed requests count."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = _header(scope, b"x-request-id")
        rid = given if given and _SENSIBLE_ID.match(given) else new_id().hex
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 500
        raw_id = rid.encode()

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", raw_id)]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            elapsed = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", None)
            LATENCY.labels(scope["method"], route or "unmatched", str(status)).observe(elapsed)
            log.info(
                "request",
                extra={
                    "method": scope["method"],
                    "route": route,
                    "path": None if route else scope["path"][:200],
                    "status": status,
                    "ms": round(elapsed * 1000, 2),
                },
            )
            request_id.reset(token)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1").strip()
    return None


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, request id, and the extras a
    call passed. (A dozen lines; a library would add a dependency for no more.)"""

    # The record's own attributes, and uvicorn's colourised copy of the message.
    _STANDARD = set(vars(logging.makeLogRecord({}))) | {
        "message",
        "asctime",
        "taskName",
        "color_message",
    }

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created)
            .astimezone()
            .isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "pid": record.process,
            "message": record.getMessage(),
        }
        rid = request_id.get()
        if rid:
            out["request_id"] = rid
        for key, value in vars(record).items():
            if key not in self._STANDARD and value is not None:
                out[key] = value
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


def log_config(level: str = "info") -> dict[str, Any]:
    """uvicorn's ``log_config``: every logger (uvicorn's and ours) as JSON lines on stderr.
    uvicorn's own access log is off: ``Observe`` writes one with the request id."""
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "tsela.api.observability.JsonFormatter"}},
        "handlers": {"default": handler},
        "root": {"handlers": ["default"], "level": level.upper()},
        "loggers": {
            "uvicorn": {"handlers": [], "propagate": True},
            "uvicorn.error": {"handlers": [], "propagate": True},
            "uvicorn.access": {"handlers": [], "propagate": False, "level": "WARNING"},
        },
    }


# --- metrics collected when scraped -----------------------------------------------------


class LiveState(Collector):
    """Gauges read at scrape time: the audit sequencer's lag from the database, the audit
    checkpoints' age from their file, and this worker's screening index."""

    def __init__(self, engine: Engine, var_dir: Path, node: str) -> None:
        self.engine, self.var_dir, self.node = engine, var_dir, node

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield from self._audit()
        yield from self._screening()

    def _audit(self) -> Iterable[GaugeMetricFamily]:
        from tsela.kernel import clock
        from tsela.services import audit
        from tsela.services.audit_checkpoints import latest_checkpoint
        from tsela.store.models import AuditEvent

        now = clock.now()
        try:
            with self.engine.connect() as conn:
                unsealed = select(func.count(), func.min(AuditEvent.at)).where(
                    AuditEvent.seq.is_(None)
                )
                count, oldest = conn.execute(unsealed).one()
                last = conn.execute(audit.LAST_SEALED).first()
                backdated = 0
                if last is not None and count:
                    backdated = (
                        conn.scalar(
                            select(func.count()).where(
                                AuditEvent.seq.is_(None), AuditEvent.at < last[2] - audit.LATE
                            )
                        )
                        or 0
                    )
        except SQLAlchemyError:
            return  # readiness says the database is away; no made-up numbers here
        yield _gauge("tsela_audit_unsealed_entries", "Audit entries not yet chained.", count)
        age = (now - oldest).total_seconds() if oldest is not None else 0.0
        yield _gauge(
            "tsela_audit_oldest_unsealed_age_seconds",
            "Age of the oldest audit entry not yet chained (the sequencer's lag).",
            age,
        )
        yield _gauge(
            "tsela_audit_backdated_entries",
            "Unsealed audit entries dated before sealed ones: left unsealed, look at them.",
            backdated or 0,
        )
        latest = latest_checkpoint(self.var_dir, self.node)
        if latest is not None:
            try:
                at = datetime.fromisoformat(str(latest["at"]))
                yield _gauge(
                    "tsela_audit_checkpoint_age_seconds",
                    "Age of the newest signed checkpoint of the audit log.",
                    (now - at).total_seconds(),
                )
            except (KeyError, ValueError):
                pass

    def _screening(self) -> Iterable[GaugeMetricFamily]:
        loaded, version, age = screening_index_state(self.engine)
        pid = str(os.getpid())
        yield _gauge(
            "tsela_screening_index_loaded",
            "1 when this worker holds a screening index.",
            1 if loaded else 0,
            pid,
        )
        if version is not None:
            yield _gauge(
                "tsela_screening_index_version",
                "Sum of the person lists' versions in this worker's screening index.",
                version,
                pid,
            )
        if age is not None:
            yield _gauge(
                "tsela_screening_index_age_seconds",
                "Time since this worker loaded its screening index.",
                age,
                pid,
            )


def _gauge(name: str, doc: str, value: float, pid: str | None = None) -> GaugeMetricFamily:
    if pid is None:
        return GaugeMetricFamily(name, doc, value=value)
    family = GaugeMetricFamily(name, doc, labels=["pid"])
    family.add_metric([pid], value)
    return family


def screening_index_state(engine: Engine) -> tuple[bool, int | None, float | None]:
    """Whether this process holds a screening index for ``engine``, its version (sum of the
    lists' versions) and age in seconds."""
    from tsela.services import screening

    state = screening.index_state(engine)
    return state.loaded, state.version, state.age_s


def metrics_text(live: Collector) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_Process())
    registry.register(live)
    return generate_latest(registry)


class _Process(Collector):
    """The process's own registry (one worker: no multiprocess files)."""

    def collect(self) -> Iterator[Any]:
        yield from REGISTRY.collect()


# --- the routes ---------------------------------------------------------------------------

router = APIRouter(tags=["health"])
_LOOPBACK = {"127.0.0.1", "::1"}


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    """Prometheus metrics: loopback callers, or the bearer of TSELA_METRICS_TOKEN."""
    settings = request.app.state.settings
    if not _may_scrape(request, settings.metrics_token):
        return JSONResponse(
            status_code=403,
            content={
                "detail": "metrics answer loopback callers, or Authorization: Bearer "
                "<TSELA_METRICS_TOKEN> when the server has one"
            },
        )
    live = LiveState(request.app.state.engine, settings.var_dir, settings.node)
    return Response(metrics_text(live), media_type=CONTENT_TYPE_LATEST)


def _may_scrape(request: Request, token: str) -> bool:
    given = request.headers.get("authorization", "")
    if token and given.startswith("Bearer "):
        return hmac.compare_digest(given.removeprefix("Bearer ").strip(), token)
    if token:
        return False
    host = request.client.host if request.client else ""
    return host in _LOOPBACK


@router.get("/health/live", response_model=LiveOut)
def live() -> dict[str, str]:
    """The process answers (no database look)."""
    return {"status": "ok"}


@router.get(
    "/health/ready",
    response_model=ReadyOut,
    responses={503: {"model": ReadyOut, "description": "Not ready: the checks say why"}},
)
def ready(request: Request, response: Response) -> dict[str, Any]:
    """Ready for traffic: database reachable, screening index loaded, migrations current."""
    engine: Engine = request.app.state.engine
    checks: dict[str, str] = {}
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            applied = set(conn.scalars(text("SELECT version_num FROM alembic_version")))
        checks["database"] = "ok"
        missing = _heads() - applied
        checks["migrations"] = (
            "ok" if not missing else f"not applied: {', '.join(sorted(missing))} (tsela init)"
        )
    except SQLAlchemyError as exc:
        checks["database"] = (
            f"unreachable or not initialised: {type(getattr(exc, 'orig', None) or exc).__name__}"
        )
        checks["migrations"] = "unknown"
    loaded, _, _ = screening_index_state(engine)
    checks["screening_index"] = "ok" if loaded else "not loaded yet"
    ok = all(v == "ok" for v in checks.values())
    response.status_code = 200 if ok else 503
    return {"status": "ready" if ok else "not ready", "checks": checks}


@cache
def _heads() -> set[str]:
    from alembic.script import ScriptDirectory

    from tsela.store.db import alembic_config

    return set(ScriptDirectory.from_config(alembic_config()).get_heads())
