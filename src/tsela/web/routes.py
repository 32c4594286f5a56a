"""Signing in and out, the home page of each role, and the error pages."""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter, Depends, Form, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException as StarletteHTTPException

from tsela.api.auth import SESSION_COOKIE, client_source
from tsela.api.deps import get_session, get_settings
from tsela.config import Settings
from tsela.kernel.access import Permission
from tsela.services import accounts
from tsela.store.models import Role, User
from tsela.web.render import render
from tsela.web.security import (
    FORM_COOKIE,
    LoginRequired,
    PageForbidden,
    cookies_secure,
    login_url,
    page_for,
    public_page,
    safe_next,
)

router = APIRouter(include_in_schema=False)

# Where each role starts; roles without their own page land on the home page's link list.
ROLE_HOME: dict[Role, str] = {
    Role.BORDER_OFFICER: "/console",
    Role.SUPERVISOR: "/review",
    Role.PERMIT_OFFICER: "/desk",
    Role.WORKER: "/me",
    Role.EMPLOYER: "/employer",
}


def home_of(user: User) -> str:
    return ROLE_HOME.get(user.role, "/")


@router.get("/")
def home(request: Request, user: User = Depends(page_for(Permission.SIGNED_IN))) -> Response:
    """Any signed-in user: their own start page, or a list of the pages open to them."""
    target = home_of(user)
    if target != "/":
        return RedirectResponse(target, status_code=303)
    caller = getattr(request.state, "web_caller", None)
    links = [item for item in (caller.nav if caller else []) if item.path != "/"]
    return render(request, "home.html", {"links": links})


@router.get("/login")
def login_form(
    request: Request, user: User | None = Depends(public_page), next: str | None = None
) -> Response:
    """Public: the sign-in page."""
    if user is not None:
        return RedirectResponse(safe_next(next) or home_of(user), status_code=303)
    notice = None
    if request.query_params.get("expired"):
        notice = "expired"
    elif request.query_params.get("bye"):
        notice = "bye"
    return render(request, "login.html", {"notice": notice, "error": None, "next": next or ""})


@router.post("/login")
def login(
    request: Request,
    _anyone: User | None = Depends(public_page),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
    username: str = Form(""),
    password: str = Form(""),
    next: str = Form(""),
) -> Response:
    """Public: check the password (rate-limited and audited) and start a browser session."""
    ctx = {"notice": None, "next": next, "username": username}
    if not username.strip() or not password:
        return render(request, "login.html", {**ctx, "error": "missing"}, 400)
    try:
        user = accounts.authenticate(
            session,
            node=settings.node,
            username=username[:60],
            password=password[:200],
            source=client_source(request),
        )
    except accounts.LoginRefused as exc:
        session.commit()  # the failure is audited and counts towards the limit
        if exc.retry_after is not None:
            page = render(
                request, "login.html", {**ctx, "error": "locked", "wait": exc.retry_after}, 429
            )
            page.headers["Retry-After"] = str(exc.retry_after)
            return page
        return render(request, "login.html", {**ctx, "error": "wrong"}, 401)
    started = accounts.start_session(session, user)
    session.commit()
    response = RedirectResponse(safe_next(next) or home_of(user), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        started.secret,
        httponly=True,
        samesite="lax",
        secure=cookies_secure(request),
        path="/",
    )
    response.delete_cookie(FORM_COOKIE, path="/")
    return response


@router.post("/logout")
def logout(
    request: Request,
    _user: User = Depends(page_for(Permission.SIGNED_IN)),
    session: Session = Depends(get_session),
) -> Response:
    """Any signed-in user: end the session here and in the database."""
    secret = request.cookies.get(SESSION_COOKIE)
    if secret:
        accounts.end_session(session, secret)
        session.commit()
    response = RedirectResponse("/login?bye=1", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# --- error pages (registered as exception handlers by tsela.web.install) ------------------


async def on_login_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    response = RedirectResponse(login_url(request, exc.expired), status_code=303)
    if exc.expired:
        response.delete_cookie(SESSION_COOKIE, path="/")
    return response


async def on_forbidden(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PageForbidden)
    return render(request, "error.html", {"error": "forbidden"}, 403)


async def on_csrf(request: Request, exc: Exception) -> Response:
    return render(request, "error.html", {"error": "csrf"}, 403)


def wants_page(request: Request) -> bool:
    """A browser asking for a page (not a program calling the JSON API)."""
    path = request.url.path
    if path.startswith(("/v1/", "/openapi.json", "/static", "/docs", "/redoc")):
        return False
    return "text/html" in request.headers.get("accept", "")


async def on_http_error(request: Request, exc: Exception) -> Response:
    """A page that does not exist is a page in the reader's language, signed in or not;
    the API and everything else keep FastAPI's JSON answer."""
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404 and wants_page(request):
        return render(request, "error.html", {"error": "not_found"}, 404)
    return await http_exception_handler(request, exc)


@router.get("/favicon.ico", include_in_schema=False)
def favicon() -> Response:
    """Public: browsers ask for it on every site; the same icon as /static/favicon.svg."""
    icon = resources.files("tsela.web") / "static" / "favicon.svg"
    return Response(
        icon.read_bytes(),
        media_type="image/svg+xml",
        headers={"Cache-Control": "public, max-age=86400"},
    )
