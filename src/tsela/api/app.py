"""The FastAPI application: versioned JSON API under /v1, OpenAPI at /openapi.json."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import inspect
import itertools
import logging
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from sqlalchemy import Engine, text
from sqlalchemy.exc import DisconnectionError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from tsela import __version__
from tsela.api import errors as api_errors
from tsela.api.auth import TokenUsers, declared_roles
from tsela.api.errors import declare_common_errors, request_validation_error
from tsela.api.schemas import HealthOut
from tsela.config import Settings, clock_for, load_settings
from tsela.kernel.clock import Clock
from tsela.reference import UnknownPortError
from tsela.store.db import make_engine, session_factory

log = logging.getLogger("tsela")


def create_app(
    settings: Settings | None = None,
    engine: Engine | None = None,
    clock: Clock | None = None,
    *,
    preload: bool = False,
) -> FastAPI:
    """The app for ``settings`` (default: from the environment). ``clock`` is the time every
    route reads (``tsela.api.deps.get_clock``): default the machine's, or the instant
    ``TSELA_CLOCK`` names (tests and demonstrations only). ``preload`` (a server starting):
    start mapping the screening index from disk in a thread at once, while the routes are
    imported and built (reading and checksumming the index's files runs beside them on
    another core; the start-up then waits for it as before, so no check is ever answered
    without the index)."""
    settings = settings or load_settings()
    # One connection for each request in progress (see tsela.api.serve): never a wait for one.
    # Should one be short all the same, the request gets 503 after about the queue timeout,
    # not 30 s (SQLAlchemy's default) after its client gave up.
    engine = engine or make_engine(
        settings.url,
        pool_size=max(settings.max_in_flight, 5),
        pool_timeout=max(settings.queue_timeout_ms / 1000, 1.0),
    )
    if preload:
        _preload_index(settings, engine)
    app = FastAPI(
        lifespan=_lifespan,
        title="Tsela",
        version=__version__,
        description="Migration management between Lesotho and South Africa.",
        docs_url=None,  # served from the package by tsela.api.docs (no CDN)
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = session_factory(engine)
    app.state.token_users = TokenUsers(app.state.sessions, settings.token_cache_ms / 1000)
    # The server's time as the routes see it (tests give their own, to stand on one day).
    app.state.clock = clock or clock_for(settings)
    from tsela.services.screening_link import BorderScreening

    # The one wiring of screening into the border check (the port client builds the same).
    app.state.screening = BorderScreening()
    # The fast lane's draw for referrals at random: unpredictable unless seeded.
    seed = settings.fast_lane_seed
    app.state.lane_draw = (
        random.Random(seed).random if seed is not None else random.SystemRandom().random
    )
    if settings.clock_at is not None:
        log.warning(
            "TSELA_CLOCK: the clock stands at %s (tests and demonstrations only)",
            settings.clock_at.isoformat(),
        )
    app.add_exception_handler(RequestValidationError, request_validation_error)
    api_errors.install(app)  # services' refusals: one status per kind

    from tsela.api.guards import database_unavailable, extra_missing

    for unreachable in (OperationalError, DisconnectionError, PoolTimeout):
        app.add_exception_handler(unreachable, database_unavailable)
    app.add_exception_handler(ImportError, extra_missing)  # an optional extra not installed

    @app.exception_handler(UnknownPortError)
    async def _unknown_port(_request: Request, exc: UnknownPortError) -> JSONResponse:
        return JSONResponse(status_code=422, content={"detail": str(exc)})

    @app.get("/health", tags=["health"], response_model=HealthOut)
    def health() -> dict[str, str]:
        """Liveness and database reachability."""
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return {"status": "ok", "node": settings.node, "version": __version__}

    from tsela.api.routes import (
        auth,
        checks,
        documents,
        governance,
        permits,
        port,
        reference,
        screening,
        users,
    )

    for module in (reference, auth, users, documents, checks, port, permits, governance, screening):
        app.include_router(module.router)
    from tsela.api.routes import stay as stay_routes

    app.include_router(stay_routes.router)
    from tsela.api.routes import observatory as observatory_routes

    app.include_router(observatory_routes.router)
    app.include_router(observatory_routes.tables_router)
    from tsela.api.routes import exchange as exchange_routes

    app.include_router(exchange_routes.router)
    from tsela.api.routes import matching as matching_routes

    app.include_router(matching_routes.router)
    from tsela.api.routes import waits as waits_routes

    app.include_router(waits_routes.router)
    from tsela.api.routes import refusals as refusal_routes

    app.include_router(refusal_routes.router)
    from tsela.api.routes import risk as risk_routes

    app.include_router(risk_routes.router)
    from tsela.api.routes import declarations as declaration_routes

    app.include_router(declaration_routes.router)
    from tsela.api.routes import lane as lane_routes

    app.include_router(lane_routes.router)
    from tsela.api.routes import sdg as sdg_routes

    app.include_router(sdg_routes.router)
    from tsela.api.routes import identity as identity_routes

    app.include_router(identity_routes.router)

    from tsela.api.routes import cases as case_routes

    app.include_router(case_routes.router)
    from tsela.web import install as install_web

    install_web(app)  # the browser pages and /static
    from tsela.api import docs

    docs.install(app)
    from tsela.api.guards import BodyLimit, BodyLimits

    if settings.trusted_proxies:
        from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

        # Only these may say who the caller is (X-Forwarded-For); anyone else is the source.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=list(settings.trusted_proxies))
    # Before any route (so before authentication) reads a body.
    app.add_middleware(
        BodyLimit,
        limits=BodyLimits(
            default=settings.max_body_kb * 1024, upload=settings.max_upload_kb * 1024
        ),
    )
    from tsela.api import observability

    app.include_router(observability.router)  # /metrics, /health/live, /health/ready
    _tell_the_truth_about_errors(app)
    if settings.max_in_flight:
        from tsela.api.serve import AdmissionControl

        # Outermost, so a waiting or refused request costs almost nothing.
        app.add_middleware(
            AdmissionControl,
            limit=settings.max_in_flight,
            queue_timeout=settings.queue_timeout_ms / 1000,
        )
    # Outside admission control: shed requests get a request id and are counted too.
    app.add_middleware(observability.Observe)
    return app


def _preload_index(settings: Settings, engine: Engine) -> None:
    """Load the screening index in a thread (``_lifespan`` waits for it: ``current_index``
    takes the same lock)."""
    import threading

    from tsela.services import screening

    screening.keep_index_on_disk(engine, settings.var_dir)

    def load() -> None:
        try:
            screening.current_index(engine)
        except SQLAlchemyError as exc:  # the start-up tries again, and says why
            log.info("screening index not preloaded (%s)", exc)

    threading.Thread(target=load, name="screening-index-preload", daemon=True).start()


def process_age() -> float | None:
    """Seconds since this process started (Linux), for the start-up's log line."""
    import os
    from pathlib import Path

    try:
        started = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return uptime - started / os.sysconf("SC_CLK_TCK")


def _tell_the_truth_about_errors(app: FastAPI) -> None:
    """The OpenAPI document declares every error answer (``ErrorOut``), and a 405 lists in
    ``Allow`` every method of its path (Starlette names only those of the first route it
    tried, e.g. ``POST`` for /v1/permits, which has ``GET`` too)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            declare_common_errors(
                build(), api_routes(app), needs_role=lambda r: declared_roles(r) is not None
            )
        assert app.openapi_schema is not None
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to extend it

    answer = app.exception_handlers.get(StarletteHTTPException, http_exception_handler)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 405:
            path = request.scope["path"]
            methods = sorted(
                {m for r in api_routes(app) if r.path_regex.match(path) for m in r.methods or ()}
            )
            exc.headers = {**(exc.headers or {}), "Allow": ", ".join(methods)}
        answered = answer(request, exc)
        return await answered if inspect.isawaitable(answered) else answered


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Load or build the screening index before taking requests (building it for a
    million-entry list takes a minute or more, which would otherwise fall on the first
    traveller checked), and run the audit log's sequencer while serving."""
    import anyio.to_thread

    from tsela.services import screening
    from tsela.services.keys import KeyStore, require_signing_keys

    # Every admitted request may need a worker thread (sync routes, token look-ups); anyio's
    # default of 40 would make requests past it wait for one outside admission control.
    limiter = anyio.to_thread.current_default_thread_limiter()
    limiter.total_tokens = max(limiter.total_tokens, app.state.settings.max_in_flight + 8)
    settings = app.state.settings
    # Refuse to serve (the error's one line is the reason) rather than sign with a new key.
    await anyio.to_thread.run_sync(
        require_signing_keys, app.state.engine, KeyStore(settings.var_dir, settings.node)
    )
    # Loaded from the var dir when it was built for the current list versions (seconds, even
    # for a million entries), else built and saved there for the next start and the other
    # workers.
    screening.keep_index_on_disk(app.state.engine, app.state.settings.var_dir)
    entries = None
    try:
        index = await anyio.to_thread.run_sync(screening.current_index, app.state.engine)
        entries = len(index)
    except SQLAlchemyError as exc:  # e.g. a database not yet initialised
        log.warning("screening index not built at start-up (%s); the first check builds it", exc)
    if not gc.isenabled():
        # Turned off while the server started (cli/main.py, api/serve.py). What start-up made
        # lives as long as the process: frozen, the collector never walks it again (the few
        # thousand objects of garbage among them are not worth a full collection before the
        # first check; they are freed when a list change replaces the index).
        gc.freeze()
        gc.enable()
    age = process_age()
    log.info(
        "ready: screening index of %s entries loaded%s",
        f"{entries:,}" if entries is not None else "no",
        f", {age:.1f} s after the process started" if age is not None else "",
    )
    interval = settings.audit_seal_ms / 1000
    sequencer = (
        asyncio.create_task(_seal_audit(app.state.engine, interval, settings)) if interval else None
    )
    from tsela.api.exchange import run_tasks

    exchange = asyncio.create_task(run_tasks(settings, app.state.engine))
    try:
        yield
    finally:
        exchange.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await exchange
        if sequencer is not None:
            sequencer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sequencer
            await _seal_once(app.state.engine)  # what the last requests wrote


async def _seal_audit(engine: Engine, interval: float, settings: Settings) -> None:
    """Chain the audit entries written since the last round, every ``interval`` seconds:
    those written in the last half minute, and all of them once a minute (and first); and
    write a signed checkpoint of the chain's head every ``audit_checkpoint_s``."""
    import time

    full_every = max(1, round(60 / interval))
    every = settings.audit_checkpoint_s
    next_checkpoint = time.monotonic() + every
    for rounds in itertools.count():
        await asyncio.sleep(interval)
        await _seal_once(engine, recent_only=rounds % full_every != 0)
        if every and time.monotonic() >= next_checkpoint:
            next_checkpoint = time.monotonic() + every
            await _checkpoint(engine, settings)


async def _checkpoint(engine: Engine, settings: Settings) -> None:
    import anyio.to_thread

    from tsela.services import audit_checkpoints
    from tsela.services.keys import KeyStoreError

    try:
        await anyio.to_thread.run_sync(
            functools.partial(
                audit_checkpoints.write_checkpoint,
                engine,
                settings.var_dir,
                settings.node,
                min_interval_s=settings.audit_checkpoint_s / 2,  # other workers wrote one
            )
        )
    except (SQLAlchemyError, KeyStoreError, OSError) as exc:
        log.warning("audit checkpoint not written this round: %s", exc)


async def _seal_once(engine: Engine, *, recent_only: bool = False) -> None:
    import anyio.to_thread

    from tsela.services import audit

    try:
        await anyio.to_thread.run_sync(
            functools.partial(audit.seal_pending, engine, recent_only=recent_only)
        )
        if not recent_only:  # once a minute: back-dated entries the sequencer leaves alone
            for entry in await anyio.to_thread.run_sync(_late_entries, engine):
                log.warning("audit: %s; run tsela audit verify", entry.describe())
    except SQLAlchemyError as exc:  # the database away for a moment: the next round catches up
        log.warning("audit entries not sealed this round: %s", exc)


def _late_entries(engine: Engine) -> list[Any]:
    from tsela.services import audit

    with session_factory(engine)() as session:
        return audit.late_entries(session, limit=10)


def api_routes(app: FastAPI) -> list[APIRoute]:
    """Every API route of the app, including those of included routers.

    (Recent FastAPI includes routers lazily, so ``app.routes`` alone does not list them.)
    """
    found: list[APIRoute] = []
    stack = list(app.routes)
    while stack:
        route = stack.pop(0)
        if isinstance(route, APIRoute):
            found.append(route)
        elif (inner := getattr(route, "original_router", None)) is not None:
            stack.extend(inner.routes)  # an included APIRouter; its paths carry its prefix
    return found
