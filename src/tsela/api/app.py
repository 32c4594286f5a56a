"""The FastAPI application: versioned JSON API under /v1, OpenAPI at /openapi.json."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from sqlalchemy import Engine, text

from tsela import __version__
from tsela.config import Settings, load_settings
from tsela.reference import UnknownPortError
from tsela.store.db import make_engine, session_factory


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    settings = settings or load_settings()
    engine = engine or make_engine(settings.url)
    app = FastAPI(
        title="Tsela",
        version=__version__,
        description="Migration management between Lesotho and South Africa.",
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = session_factory(engine)

    @app.exception_handler(UnknownPortError)
    async def _unknown_port(_request: Request, exc: UnknownPortError) -> JSONResponse:
        return JSONResponse(status_code=422, content={"detail": str(exc)})

    @app.get("/health", tags=["health"])
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
    )

    for module in (reference, auth, documents, checks, port, permits, governance, screening):
        app.include_router(module.router)
    from tsela.api.routes import stay as stay_routes

    app.include_router(stay_routes.router)
    from tsela.api.routes import observatory as observatory_routes

    app.include_router(observatory_routes.router)
    from tsela.web import install as install_web

    install_web(app)  # the browser pages and /static
    if settings.max_in_flight:
        from tsela.api.serve import LoadShedding

        # Outermost, so a shed request costs almost nothing.
        app.add_middleware(LoadShedding, limit=settings.max_in_flight)
    return app


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
