"""What the server refuses before any route runs, and how it answers when the database is away.

- ``BodyLimit`` (ASGI middleware): a request body larger than its route class allows gets
  ``413`` before anyone is authenticated, so a stranger cannot make the server hold 100 MB
  to learn they are not signed in. A declared ``Content-Length`` is judged at once; a chunked
  body is counted as it streams and cut off at the limit.
- ``database_unavailable``: the database unreachable (connection refused, pool exhausted)
  is the server's temporary trouble, not a bug: ``503`` with ``Retry-After``, a JSON
  ``detail`` for the API and a page for browsers, instead of ``500``.
- ``extra_missing``: a request that needs an optional extra this install lacks (the
  observatory on a lean border server, ``tsela.extras``): ``503`` with the one line saying
  which extra to install, instead of ``500``.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("tsela")

# Routes that take files; every other route takes a JSON document or a small form.
UPLOAD_ROUTES: tuple[tuple[str, str], ...] = (
    ("POST", r"/v1/watchlists/[^/]+/import"),  # watchlists (CSV / FtM, can be large)
    ("POST", r"/v1/governance/import"),  # plans (.csv / .xlsx)
    ("POST", r"/employer/verify"),  # a photo of a permit's QR code
    ("POST", r"/verify"),  # the same, public
)
# Uploads open to strangers (the public verify page) are photos: capped lower.
PUBLIC_UPLOADS: tuple[tuple[str, str], ...] = (("POST", r"/verify"),)
PUBLIC_UPLOAD_MAX = 10 * 1024 * 1024
SESSION_COOKIE = b"tsela_session="

DB_RETRY_AFTER_S = 5
DB_DOWN = "the database is unavailable: try again in a few seconds"


class BodyTooLarge(Exception):
    pass


def _compile(routes: Sequence[tuple[str, str]]) -> list[tuple[str, re.Pattern[str]]]:
    return [(method, re.compile(pattern)) for method, pattern in routes]


@dataclass(frozen=True)
class BodyLimits:
    default: int  # bytes, for JSON and forms
    upload: int  # bytes, for the routes in UPLOAD_ROUTES


class BodyLimit:
    """ASGI middleware: ``413`` for a body over its route's limit, read or not."""

    def __init__(self, app: ASGIApp, limits: BodyLimits) -> None:
        self.app = app
        self.limits = limits
        self._uploads = _compile(UPLOAD_ROUTES)
        self._public = _compile(PUBLIC_UPLOADS)

    def limit_for(self, scope: Scope) -> int:
        method, path = scope["method"], scope["path"]
        if not any(m == method and p.fullmatch(path) for m, p in self._uploads):
            return self.limits.default
        if any(m == method and p.fullmatch(path) for m, p in self._public):
            return min(self.limits.upload, PUBLIC_UPLOAD_MAX)
        # An upload that needs a signed-in user: a caller showing no credentials at all gets
        # the small limit (a wrong credential is refused once the route runs).
        headers = dict(scope["headers"])
        if b"authorization" in headers or SESSION_COOKIE in headers.get(b"cookie", b""):
            return self.limits.upload
        return self.limits.default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            if not declared.isdigit():
                await _answer(send, 400, "Content-Length must be a whole number of bytes")
                return
            if int(declared) > limit:
                await _too_large(send, limit)
                return
        received = 0
        started = False
        refused = False

        async def counted_receive() -> Message:
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    if not started:
                        refused = True
                        await _too_large(send, limit)
                    raise BodyTooLarge()
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused:
                return  # the 413 is the answer; drop what the app made of the cut-off body
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except BodyTooLarge:
            if not refused:
                raise


async def _too_large(send: Send, limit: int) -> None:
    await _answer(send, 413, f"request body over the limit of {limit:,} bytes for this route")


async def _answer(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),  # the rest of the body is not read
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def wants_page(request: Request) -> bool:
    """A browser page (HTML) rather than the JSON API."""
    path = request.url.path
    if path.startswith(("/v1/", "/health", "/openapi", "/docs", "/redoc")):
        return False
    return "text/html" in request.headers.get("accept", "") or request.method == "GET"


async def database_unavailable(request: Request, exc: Exception) -> Response:
    log.warning("database unavailable for %s %s: %s", request.method, request.url.path, exc)
    headers = {"Retry-After": str(DB_RETRY_AFTER_S)}
    if wants_page(request):
        from tsela.web.render import render

        page = render(request, "error.html", {"error": "unavailable"}, 503)
        page.headers.update(headers)
        return page
    return JSONResponse(status_code=503, content={"detail": DB_DOWN}, headers=headers)


async def extra_missing(request: Request, exc: Exception) -> Response:
    from tsela.extras import missing_extra

    line = missing_extra(exc)
    if line is None:
        raise exc  # a real bug: the server error it is
    log.warning("%s %s: %s", request.method, request.url.path, line)
    if wants_page(request):
        return PlainTextResponse(line, status_code=503)
    return JSONResponse(status_code=503, content={"detail": line})
