"""The web application: server-rendered pages (FastAPI + Jinja2) in English and Sesotho.

``install(app)`` adds the pages, the static files under ``/static`` and the handlers that
turn "sign in first", "not your role", "forged form" and "no such page" into pages. Pages
live in the modules of this package, each with its own router; templates extend
``base.html``.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException


def install(app: FastAPI) -> None:
    from tsela.web import (
        admin,
        cases,
        console,
        declare,
        desk,
        employer,
        exchange,
        fast_lane,
        governance,
        identity,
        observatory,
        officer,
        refusals,
        review,
        risk,
        routes,
        sdg,
        self_check,
        verify,
        waits,
        worker,
    )
    from tsela.web.security import CsrfRejected, LoginRequired, PageForbidden

    for module in (
        routes,
        verify,
        self_check,
        declare,
        waits,
        desk,
        worker,
        employer,
        console,
        fast_lane,
        officer,
        refusals,
        cases,
        review,
        risk,
        observatory,
        sdg,
        governance,
        exchange,
        identity,
        admin,
    ):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(packages=[("tsela.web", "static")]), name="static")
    app.add_exception_handler(LoginRequired, routes.on_login_required)
    app.add_exception_handler(PageForbidden, routes.on_forbidden)
    app.add_exception_handler(CsrfRejected, routes.on_csrf)
    app.add_exception_handler(StarletteHTTPException, routes.on_http_error)
