"""The border officer's other pages (issue 21): find a traveller by name and date of birth,
and print a check's secondary-inspection sheet.

The search is a POST form (names travel in the body, never in an address or a server log);
its result pages are POST too, and each traveller found can be checked from there by their
document.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from tsela.api.auth import client_source
from tsela.api.deps import clock_of, get_session, get_settings
from tsela.config import Settings
from tsela.kernel.access import Permission
from tsela.kernel.actor import Actor
from tsela.reference import country_name
from tsela.services import port_live
from tsela.services import traveller_search as svc
from tsela.store.models import User
from tsela.web.console import DECISIONS, _ports, stored_check
from tsela.web.errors import Refused, attempt
from tsela.web.i18n import N_
from tsela.web.nav import add_nav
from tsela.web.render import render
from tsela.web.security import page_for

router = APIRouter(include_in_schema=False)

add_nav("/console/search", N_("Find a traveller"), Permission.CHECK_RECORD)


def _search_page(
    request: Request,
    session: Session,
    user: User,
    *,
    typed: dict[str, str] | None = None,
    results: svc.Results | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    posted, ports = _ports(session, user)
    ctx = {
        "typed": {"surname": "", "given_names": "", "birth_date": "", "port": ""} | (typed or {}),
        "results": results,
        "error": error,
        "posted": posted,
        "ports": ports,
    }
    return render(request, "console_search.html", ctx, status_code)


@router.get("/console/search")
def search_form(
    request: Request,
    user: User = Depends(page_for(Permission.CHECK_RECORD)),
    session: Session = Depends(get_session),
) -> Response:
    """Border officers and supervisors: find a traveller by name and date of birth."""
    return _search_page(request, session, user)


@router.post("/console/search")
def search(
    request: Request,
    user: User = Depends(page_for(Permission.CHECK_RECORD)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
    surname: str = Form(""),
    given_names: str = Form(""),
    birth_date: str = Form(""),
    port: str = Form(""),
    page: int = Form(1),
) -> Response:
    """Border officers and supervisors: the travellers found (a page of them), each with
    their documents and last crossing (the search is audited)."""
    typed = {
        "surname": surname.strip()[:120],
        "given_names": given_names.strip()[:160],
        "birth_date": birth_date.strip()[:10],
        "port": port.strip().upper()[:8],
    }
    born: date | None = None
    if typed["birth_date"]:
        try:
            born = date.fromisoformat(typed["birth_date"])
        except ValueError:
            return _search_page(
                request, session, user, typed=typed, status_code=400,
                error=N_("The date of birth is not a date: write it as YYYY-MM-DD."),
            )  # fmt: skip
    if not typed["surname"] or born is None:
        return _search_page(
            request, session, user, typed=typed, status_code=400,
            error=N_("Type the surname and the date of birth."),
        )  # fmt: skip
    found = attempt(
        request,
        session,
        lambda: svc.search(
            session,
            node=settings.node,
            actor=Actor.of(user, settings.node),
            surname=typed["surname"],
            given_names=typed["given_names"],
            birth_date=born,
            page=page,
            source=client_source(request),
        ),
        actor=user.username,
        node=settings.node,
    )
    if isinstance(found, Refused):
        return _search_page(
            request, session, user, typed=typed, error=found.message, status_code=found.status
        )
    return _search_page(request, session, user, typed=typed, results=found)


@router.get("/console/checks/{check_id}/sheet")
def sheet(
    check_id: uuid.UUID,
    request: Request,
    user: User = Depends(page_for(Permission.CHECK_RECORD)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> Response:
    """Border officers and supervisors: the secondary-inspection sheet of a check, to print
    and take along with the traveller: why the check referred them, who they are, their
    document, stay and crossings, and the boxes the inspecting officer fills in."""
    shown = stored_check(request, session, user, settings, check_id)
    if isinstance(shown, Refused):
        kind = "forbidden" if shown.status == 403 else "missing"
        return render(request, "error.html", {"error": kind}, shown.status)
    result = shown.result
    ctx = {
        "shown": shown,
        "r": result.as_dict(),
        "decision": DECISIONS[result.check.decision.value],
        "checked_at": result.check.checked_at,
        "country_name": country_name,
    }
    return render(request, "console_sheet.html", ctx)


# --- a port's day, live, for its supervisor -------------------------------------------------

add_nav("/ports", N_("Ports today"), Permission.PORT_LIVE_READ)


@router.get("/ports")
def ports_today(
    request: Request,
    user: User = Depends(page_for(Permission.PORT_LIVE_READ)),
    session: Session = Depends(get_session),
) -> Response:
    """Supervisors: the ports, each leading to its day."""
    _posted, ports = _ports(session, user)
    if _posted is not None:
        ports = [_posted]
    return render(request, "ports.html", {"ports": ports})


@router.get("/ports/{code}")
def port_today(
    code: str,
    request: Request,
    user: User = Depends(page_for(Permission.PORT_LIVE_READ)),
    session: Session = Depends(get_session),
) -> Response:
    """Supervisors: a port's day so far (or a past day, ?day=YYYY-MM-DD): crossings per hour
    and direction, checks per decision, watchlist matches, each officer's checks and
    overrides. Refreshes itself every minute."""
    today = clock_of(request).today()
    day = today
    raw = request.query_params.get("day", "")
    if raw:
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            return render(request, "error.html", {"error": "missing"}, 404)
    found = attempt(request, session, lambda: port_live.port_day(session, code[:8], day))
    if isinstance(found, Refused):
        return render(request, "error.html", {"error": "missing"}, found.status)
    ctx = {
        "p": found,
        "live": day == today,
        "updated": clock_of(request).now(),
        "previous": (day - timedelta(days=1)).isoformat(),
        "following": (day + timedelta(days=1)).isoformat() if day < today else None,
    }
    return render(request, "port_day.html", ctx)
