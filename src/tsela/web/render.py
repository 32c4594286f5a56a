"""Rendering pages: one Jinja2 environment per language, role-based navigation, and the
headers every page gets (no caching of personal data, a strict content security policy).

Other areas add their pages to the navigation with ``web.nav.add_nav`` and extend ``base.html``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import date, datetime
from functools import cache
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from tsela.domain import reasons
from tsela.kernel.clock import border_time
from tsela.store.models import Role
from tsela.web.i18n import LANG_COOKIE, LANGUAGES, N_, choose_language, translations
from tsela.web.labels import FILTERS
from tsela.web.nav import current_nav
from tsela.web.security import CSRF_FIELD, FORM_COOKIE, Caller, cookies_secure, form_token

# No inline script or style: the CSP forbids them, so injected markup cannot run.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


ROLE_LABELS: dict[Role, str] = {
    Role.BORDER_OFFICER: N_("Border officer"),
    Role.SUPERVISOR: N_("Supervisor"),
    Role.PERMIT_OFFICER: N_("Permit officer"),
    Role.ANALYST: N_("Analyst"),
    Role.ADMIN: N_("Administrator"),
    Role.EMPLOYER: N_("Employer"),
    Role.WORKER: N_("Worker"),
    Role.SECRETARIAT: N_("Secretariat"),
    Role.CASE_OFFICER: N_("Case officer"),
}


def _fmt_date(value: date | datetime | str | None) -> str:
    """Dates as ISO days; moments in border time (UTC+2), from objects or ISO strings."""
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
        except ValueError:
            return value
        value = parsed
    if isinstance(value, datetime):
        return border_time(value).strftime("%Y-%m-%d %H:%M")
    return value.isoformat()


def _fmt_clock(value: datetime) -> str:
    """A moment as the border's clock shows it (HH:MM, UTC+2)."""
    return border_time(value).strftime("%H:%M")


@cache
def environment(lang: str) -> Environment:
    env = Environment(
        loader=PackageLoader("tsela.web", "templates"),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # Added to the Environment by the i18n extension at run time: not in its type.
    env.install_gettext_translations(translations(lang), newstyle=True)  # type: ignore[attr-defined]
    env.filters["day"] = _fmt_date
    env.filters["clock"] = _fmt_clock
    env.filters.update(FILTERS)
    # Border-check reasons in the page's language, from the domain's catalogue.
    env.filters["reason_words"] = functools.partial(reasons.words, lang=lang)
    env.filters["reason_lang"] = functools.partial(reasons.language_of, lang=lang)
    env.globals["LANGUAGES"] = LANGUAGES
    env.globals["CSRF_FIELD"] = CSRF_FIELD
    return env


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    lang, chosen = choose_language(request)
    caller: Caller | None = getattr(request.state, "web_caller", None)
    user = caller.user if caller else None
    nav = caller.nav if caller else []
    token, new_cookie = form_token(request)
    env = environment(lang)
    page = env.get_template(template).render(
        request=request,
        path=request.url.path,
        lang=lang,
        user=user,
        role_label=ROLE_LABELS.get(user.role, "") if user else "",
        nav=nav,
        current_nav=current_nav(nav, request.url.path),
        csrf_token=token,
        **(context or {}),
    )
    response = HTMLResponse(page, status_code=status_code)
    response.headers.update(SECURITY_HEADERS)
    response.headers["Content-Language"] = lang
    secure = cookies_secure(request)
    if chosen:
        response.set_cookie(
            LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax", secure=secure, httponly=True
        )
    if new_cookie:
        response.set_cookie(FORM_COOKIE, token, samesite="lax", secure=secure, httponly=True)
    return response


def gettext_for(request: Request) -> Any:
    """The ``_`` of the request's language, for messages built in Python."""
    lang, _chosen = choose_language(request)
    return translations(lang).gettext
