"""Who is looking at a page, may they, and did the form come from us.

Pages use the same credentials as the API (the ``tsela_session`` cookie, or a Bearer
token for scripts), but answer like a web site: a stranger is sent to the sign-in page
(303) and comes back afterwards; an expired session says so; a signed-in user whose role
lacks the page's permission (``tsela.kernel.access``) gets a 403 page.

CSRF: every form carries a hidden ``csrf_token``. Signed-in users' forms carry their
session's token (kept server-side); forms shown to strangers (sign-in, public verify)
use a double-submit cookie. Every unsafe request is checked before the route runs.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from tsela.api.auth import CSRF_HEADER, SAFE_METHODS, SESSION_COOKIE, audit_denial
from tsela.api.deps import get_session
from tsela.kernel.access import AUDITED_DENIALS, Permission, allows, roles_for
from tsela.services import accounts
from tsela.store.models import Role, User
from tsela.web.nav import NavItem, nav_for

CSRF_FIELD = "csrf_token"
FORM_COOKIE = "tsela_form"  # double-submit token for forms shown before signing in
SECURE_ENV = "TSELA_COOKIE_SECURE"


class LoginRequired(Exception):
    """No signed-in user: go to the sign-in page (and say so if the session expired)."""

    def __init__(self, expired: bool) -> None:
        super().__init__("sign in first")
        self.expired = expired


class PageForbidden(Exception):
    def __init__(self, user: User, allowed: frozenset[Role]) -> None:
        super().__init__(f"role {user.role.value} may not open this page")
        self.user = user
        self.allowed = allowed


class CsrfRejected(Exception):
    """The form's token is missing or wrong (a forged or stale form)."""


@dataclass
class Caller:
    user: User | None
    via: str | None  # "cookie", "bearer" or None
    expired: bool = False
    csrf: str | None = None  # the session's CSRF token, for cookie callers
    nav: list[NavItem] = field(default_factory=list)  # the links this caller may follow


def cookies_secure(request: Request) -> bool:
    """Secure cookies when served over https; TSELA_COOKIE_SECURE=1 forces them (e.g. behind
    a TLS proxy that does not forward the scheme), =0 never (plain-http demo on localhost)."""
    forced = os.environ.get(SECURE_ENV, "").strip().lower()
    if forced in ("1", "true", "yes"):
        return True
    if forced in ("0", "false", "no"):
        return False
    return request.url.scheme == "https"


def web_caller(request: Request, session: Session = Depends(get_session)) -> Caller:
    """Identify the caller once per request (sync: it talks to the database)."""
    cached: Caller | None = getattr(request.state, "web_caller", None)
    if cached is not None:
        return cached
    caller = Caller(user=None, via=None)
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        user = accounts.user_for_token(session, header[7:].strip())
        if user is not None:
            caller = Caller(user=user, via="bearer")
    elif cookie := request.cookies.get(SESSION_COOKIE):
        found = accounts.session_user(session, cookie)
        if found is None:
            caller = Caller(user=None, via=None, expired=True)
        else:
            user, web = found
            session.commit()  # keep the idle timer moving
            caller = Caller(user=user, via="cookie", csrf=web.csrf_token)
    if caller.user is not None:
        caller = replace(caller, nav=nav_for(caller.user, session))
    request.state.web_caller = caller
    request.state.user = caller.user  # the API's current_user reuses it
    if caller.csrf:
        request.state.csrf_token = caller.csrf
    return caller


def form_token(request: Request) -> tuple[str, bool]:
    """The CSRF token to put in this page's forms, and whether a new cookie must carry it."""
    caller: Caller | None = getattr(request.state, "web_caller", None)
    if caller is not None and caller.csrf:
        return caller.csrf, False
    existing = request.cookies.get(FORM_COOKIE, "")
    if len(existing) >= 32:
        return existing, False
    fresh = getattr(request.state, "fresh_form_token", None) or secrets.token_urlsafe(32)
    request.state.fresh_form_token = fresh
    return fresh, True


async def check_csrf(request: Request, caller: Caller) -> None:
    """Refuse an unsafe request whose form token does not match (Bearer callers send no
    ambient credentials, so they cannot be forged from another site)."""
    if request.method in SAFE_METHODS or caller.via == "bearer":
        return
    form = await request.form()  # Starlette caches it: the route's Form(...) reads the same
    sent = form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER, "")
    expected = caller.csrf if caller.via == "cookie" else request.cookies.get(FORM_COOKIE)
    if not expected or not isinstance(sent, str) or not secrets.compare_digest(sent, expected):
        raise CsrfRejected()


PageDependency = Callable[..., Coroutine[Any, Any, User]]


def page_for(permission: Permission) -> PageDependency:
    """A page for the roles holding ``permission``: strangers go to sign in, other roles get
    403 (written to the audit log for the permissions in ``AUDITED_DENIALS``), forms are
    checked.

    Like ``tsela.api.auth.require`` it carries ``tsela_permission`` so the route's roles can
    be listed and tested; ``tsela_page`` tells the tests it answers as a page.
    """

    async def dependency(request: Request, caller: Caller = Depends(web_caller)) -> User:
        if caller.user is None:
            raise LoginRequired(caller.expired)
        if not allows(caller.user.role, permission):
            if permission in AUDITED_DENIALS:
                await run_in_threadpool(audit_denial, request, caller.user, permission)
            raise PageForbidden(caller.user, roles_for(permission))
        await check_csrf(request, caller)
        return caller.user

    # Marks read by the route walkers (declared_roles, the access test); functions take them.
    dependency.tsela_permission = permission  # type: ignore[attr-defined]
    dependency.tsela_page = True  # type: ignore[attr-defined]
    return dependency


async def public_page(request: Request, caller: Caller = Depends(web_caller)) -> User | None:
    """A page open to anyone (listed in PUBLIC_ROUTES); its forms are still CSRF-checked."""
    await check_csrf(request, caller)
    return caller.user


public_page.tsela_page = True  # type: ignore[attr-defined]  # a mark, as above


def is_page_route(route: Any) -> bool:
    """True for web pages (they redirect strangers to sign in instead of answering 401)."""
    stack = [route.dependant]
    while stack:
        dep = stack.pop()
        if getattr(dep.call, "tsela_page", False):
            return True
        stack.extend(dep.dependencies)
    return False


def safe_next(target: str | None) -> str | None:
    """A local path to return to after signing in (never another site)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    if any(ord(c) < 32 for c in target):
        return None
    return target


def login_url(request: Request, expired: bool) -> str:
    """Where a stranger is sent: the page they wanted is a path with ids only, never names."""
    url = "/login"
    params = []
    if request.method in SAFE_METHODS and request.url.path not in ("/", "/login"):
        params.append("next=" + quote(request.url.path, safe="/"))
    if expired:
        params.append("expired=1")
    return url + ("?" + "&".join(params) if params else "")
