"""Who is calling, and may they? Every route declares its permission through ``require``
(or ``acting``, which also gives the route the caller as a ``tsela.kernel.Actor``); which
roles hold each permission is the table in ``tsela.kernel.access``.

A caller proves identity with ``Authorization: Bearer <token>`` (API clients, port
clients) or the ``tsela_session`` cookie (browsers; unsafe methods then also need the
session's CSRF token in ``X-CSRF-Token``). Routes open to anyone are listed in
``PUBLIC_ROUTES`` with the reason, and tests prove every other route refuses strangers
(``tests/test_auth.py``) and each role gets what the table says (``tests/test_access.py``).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Depends, HTTPException, Request, status
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from tsela.api.deps import get_settings
from tsela.config import Settings
from tsela.kernel.access import AUDITED_DENIALS, Permission, allows, roles_for
from tsela.kernel.actor import Actor
from tsela.services import accounts
from tsela.store.models import Role, User

SESSION_COOKIE = "tsela_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}

# (method, path) -> why it is public. Anything not listed must declare a permission.
PUBLIC_ROUTES: dict[tuple[str, str], str] = {
    ("GET", "/health"): "liveness probe for load balancers; reveals no data",
    ("POST", "/v1/stay/self-check"): (
        "a traveller's own days of stay: needs the passport's number, birth date and expiry "
        "together, answers the same to any mismatch, rate-limited per address, audited"
    ),
    ("GET", "/health/live"): "liveness probe: the process answers; reveals no data",
    ("GET", "/health/ready"): (
        "readiness probe for load balancers: database, screening index, migrations ok or not"
    ),
    ("GET", "/metrics"): (
        "Prometheus scrape: counts only, no personal data; answers loopback callers or the "
        "bearer of TSELA_METRICS_TOKEN (checked in the route, 403 otherwise)"
    ),
    ("GET", "/v1/ports"): "ports of entry are public reference data",
    ("POST", "/v1/declarations"): (
        "a traveller's pre-arrival declaration, made before reaching the border without an "
        "account; bound to the passport, useful only with it at the desk; rate-limited per "
        "address, audited without the passport number"
    ),
    ("GET", "/v1/declarations/purposes"): "the purposes a declaration can give: reference data",
    ("GET", "/declare"): "web form of a pre-arrival declaration (the form only)",
    ("POST", "/declare"): "web form of POST /v1/declarations: same rules, same limit",
    ("GET", "/v1/waits"): "wait times at the ports: counts and minutes, no personal data",
    ("GET", "/v1/waits/{port_code}/forecast"): (
        "a holiday's expected queue from past years: counts and minutes, no personal data"
    ),
    ("GET", "/v1/waits/{port_code}/history"): (
        "median waits by hour over past weeks: counts and minutes, no personal data"
    ),
    ("POST", "/v1/auth/login"): "how a caller obtains credentials",
    ("POST", "/v1/permits/verify"): (
        "police and employers check a permit shown to them; the answer repeats only "
        "what the signed permit itself shows"
    ),
    ("GET", "/v1/permits/keys"): "public keys for offline permit verification",
    ("GET", "/v1/permits/revocations"): "signed revocation list for offline verifiers",
    ("GET", "/v1/permit-types"): "permit types, rights and rules are public information",
    ("GET", "/v1/governance/public"): "governance items the secretariat marked public",
    ("GET", "/login"): "web sign-in page: how a browser user obtains a session",
    ("POST", "/login"): "web sign-in form (CSRF-checked with a double-submit cookie)",
    ("GET", "/verify"): "web page to check a permit shown to you; the token is the secret",
    ("GET", "/stay-check"): "web form of a traveller's own days of stay (the form only)",
    ("POST", "/stay-check"): "web form of POST /v1/stay/self-check: same rules, same limit",
    ("POST", "/verify"): "web verify form: answers only what the signed permit itself shows",
    ("GET", "/governance/public"): "web page of the governance items marked public",
    ("GET", "/waits"): "web page of GET /v1/waits: counts and minutes, no personal data",
    ("GET", "/waits/{port_code}"): "web page of a port's wait now and by hour: no personal data",
    ("GET", "/openapi.json"): "API description",
    ("GET", "/docs"): "API documentation page",
    ("GET", "/docs/oauth2-redirect"): "API documentation helper",
    ("GET", "/redoc"): "API documentation page",
    ("GET", "/favicon.ico"): "the site's icon, asked for by every browser",
}


def _unauthorised(
    detail: str = "sign in first: send a Bearer token or a session cookie",
) -> HTTPException:
    return HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail=detail,
        headers={"WWW-Authenticate": "Bearer"},
    )


class TokenUsers:
    """The user behind each API token this worker has looked up, trusted for ``ttl`` seconds.

    Why: looking a token up on every call costs a query and a hop to a worker thread, a
    sizeable share of a border check. The price, stated: a token revoked or expired, or a
    user deactivated, in the database is still accepted for up to ``ttl`` seconds by a
    worker that looked it up just before (default 1 s, ``TSELA_TOKEN_CACHE_MS``; 0 looks
    every token up on every call). Unknown tokens are remembered too, so a caller trying
    forged tokens costs one query per token, and at most ``size`` tokens are kept.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        ttl: float,
        size: int = 4096,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessions = sessions
        self._ttl = ttl
        self._size = size
        self._clock = clock
        self._known: dict[str, tuple[float, User | None]] = {}

    async def user(self, secret: str) -> User | None:
        now = self._clock()
        hit = self._known.get(secret)
        if hit is not None and hit[0] > now:
            return hit[1]
        user = await run_in_threadpool(self._look_up, secret)
        if self._ttl > 0:
            self._known.pop(secret, None)
            while len(self._known) >= self._size:
                del self._known[next(iter(self._known))]  # the oldest
            self._known[secret] = (now + self._ttl, user)
        return user

    def forget(self, secret: str) -> None:
        """Drop a token this worker trusts (its holder signed out here)."""
        self._known.pop(secret, None)

    def forget_user(self, user_id: object) -> None:
        """Drop every token of a user (deactivated or password changed here); other worker
        processes drop theirs within ``ttl``."""
        for secret, (_, user) in list(self._known.items()):
            if user is not None and user.id == user_id:
                self._known.pop(secret, None)

    def _look_up(self, secret: str) -> User | None:
        # Its own short session: the request's session takes no connection until the route
        # runs, so no request holds a connection while it waits for a thread.
        with self._sessions() as session:
            return accounts.user_for_token(session, secret)  # detached, fully loaded


def _browser_user(sessions: sessionmaker[Session], secret: str) -> tuple[User, str] | None:
    """The user of a live browser session and its CSRF token; keeps the idle timer moving."""
    with sessions() as session:
        found = accounts.session_user(session, secret)
        if found is None:
            return None
        user, web = found
        csrf = web.csrf_token
        session.commit()
        return user, csrf


async def current_user(request: Request) -> User | None:
    """The authenticated user, or None. Caches on the request.

    Async: an API token is usually answered from ``TokenUsers`` without I/O; a lookup runs
    in a worker thread with its own session.
    """
    if hasattr(request.state, "user"):
        cached: User | None = request.state.user
        return cached
    user: User | None = None
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        user = await request.app.state.token_users.user(header[7:].strip())
        if user is None:
            raise _unauthorised("the token is unknown, expired or revoked")
    else:
        cookie = request.cookies.get(SESSION_COOKIE)
        if cookie:
            found = await run_in_threadpool(_browser_user, request.app.state.sessions, cookie)
            if found is not None:
                user, csrf = found
                request.state.csrf_token = csrf
                if request.method not in SAFE_METHODS:
                    sent = request.headers.get(CSRF_HEADER, "")
                    if not secrets.compare_digest(sent, csrf):
                        raise HTTPException(
                            status.HTTP_403_FORBIDDEN, "missing or wrong CSRF token"
                        )
    request.state.user = user
    return user


def require(permission: Permission) -> Callable[..., Coroutine[Any, Any, User]]:
    """A dependency admitting the roles holding ``permission``; 401 for strangers, 403 for
    other roles. It carries ``tsela_permission`` so a route's permission can be listed."""

    # async: it does no I/O (but for an audited refusal), and a sync dependency would cost a
    # hop to a worker thread.
    async def dependency(request: Request, user: User | None = Depends(current_user)) -> User:
        if user is None:
            raise _unauthorised()
        if not allows(user.role, permission):
            if permission in AUDITED_DENIALS:
                await run_in_threadpool(audit_denial, request, user, permission)
            names = ", ".join(sorted(r.value for r in roles_for(permission)))
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"your role ({user.role.value}) may not do this; allowed: {names}",
            )
        return user

    # A mark read by declared_roles and the access test (a function attribute).
    dependency.tsela_permission = permission  # type: ignore[attr-defined]
    return dependency


def audit_denial(request: Request, user: User, permission: Permission) -> None:
    """Write that ``user`` was refused ``permission`` (``access.refused``: the method, the
    path, the role), in a short session of its own: the request does nothing else."""
    from tsela.services import audit

    with request.app.state.sessions() as session:
        audit.record(
            session,
            actor=user.username,
            action="access.refused",
            node=request.app.state.settings.node,
            entity="permission",
            entity_id=permission.value,
            detail={
                "method": request.method,
                "path": request.url.path,
                "role": Role(user.role).value,
            },
            source=client_source(request),
        )
        session.commit()


def acting(permission: Permission) -> Callable[..., Coroutine[Any, Any, Actor]]:
    """Like ``require``, but the route receives the caller as an ``Actor`` of this node, with
    the request's source address for the audit log."""
    gate = require(permission)

    async def dependency(
        request: Request,
        user: User = Depends(gate),
        settings: Settings = Depends(get_settings),
    ) -> Actor:
        return Actor.of(user, settings.node, client_source(request))

    return dependency


def declared_permission(route: Any) -> Permission | None:
    """The permission a route declares, found in its dependency tree (None when public)."""
    stack = [route.dependant]
    while stack:
        dep = stack.pop()
        permission = getattr(dep.call, "tsela_permission", None)
        if permission is not None:
            return Permission(permission)
        stack.extend(dep.dependencies)
    return None


def declared_roles(route: Any) -> frozenset[Role] | None:
    """The roles a route admits (those holding its permission; None when it declares none)."""
    permission = declared_permission(route)
    return None if permission is None else roles_for(permission)


def bearer_secret(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    return header[7:].strip() if header.lower().startswith("bearer ") else None


def client_source(request: Request) -> str:
    return request.client.host if request.client else ""
