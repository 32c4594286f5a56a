"""Supervisor review: REFER and DENY decisions, overrides and watchlist hits, per port and
per day, each signed off with a note."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import date, datetime

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from tsela.api.deps import clock_of, get_session, get_settings
from tsela.config import Settings
from tsela.kernel.access import Permission, allows
from tsela.kernel.actor import Actor
from tsela.kernel.clock import border_day
from tsela.reference import UnknownPortError
from tsela.services import audit
from tsela.services import checks as svc
from tsela.store.models import PortOfEntry, User
from tsela.web.errors import Refused, attempt
from tsela.web.i18n import N_
from tsela.web.nav import add_nav
from tsela.web.render import render
from tsela.web.security import page_for

router = APIRouter(include_in_schema=False)

add_nav("/review", N_("Review"), Permission.CHECK_OVERRIDES_READ)


def _filters(request: Request) -> tuple[str, date | None, bool, str | None]:
    """Port code, day and 'include reviewed' from the query (codes and dates only)."""
    port = request.query_params.get("port", "").strip().upper()
    raw_day = request.query_params.get("day", "").strip()
    problem = None
    day: date | None = clock_of(request).today()
    if raw_day == "all":
        day = None
    elif raw_day:
        try:
            day = date.fromisoformat(raw_day)
        except ValueError:
            problem = N_("The day must be a date like 2026-11-25.")
    return port, day, request.query_params.get("reviewed") == "1", problem


def _border_day(moment: str) -> str:
    """The day at the border (UTC+2) of a stored UTC time."""
    return border_day(datetime.fromisoformat(moment)).isoformat()


def _back(port: str, day: str, reviewed: str) -> str:
    params = [
        f"port={port}" if port else "",
        f"day={day}" if day else "",
        "reviewed=1" if reviewed == "1" else "",
    ]
    query = "&".join(p for p in params if p)
    return "/review" + ("?" + query if query else "")


@router.get("/review")
def review_list(
    request: Request,
    user: User = Depends(page_for(Permission.CHECK_OVERRIDES_READ)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> Response:
    """Supervisors: what needs a second look, filtered by port and day."""
    port, day, include_reviewed, problem = _filters(request)
    items: list[dict[str, object]] = []
    if problem is None:
        try:
            items = svc.overrides(
                session, port_code=port or None, day=day, pending_only=not include_reviewed
            )
        except UnknownPortError as exc:
            problem = str(exc)
    # Traveller names are shown: the read is logged like any read of personal data.
    audit.record(
        session,
        actor=user.username,
        action="overrides.read",
        node=settings.node,
        entity="check",
        detail={"port": port or None, "day": day.isoformat() if day else None, "count": len(items)},
    )
    session.commit()
    per_port_day = Counter((str(i["port"]), _border_day(str(i["checked_at"]))) for i in items)
    ports = list(session.scalars(select(PortOfEntry.code).order_by(PortOfEntry.code)))
    return render(
        request,
        "review.html",
        {
            "items": items,
            "summary": sorted(per_port_day.items()),
            "ports": ports,
            "port": port,
            "day": day.isoformat() if day else "all",
            "include_reviewed": include_reviewed,
            "problem": problem,
            "can_review": allows(user.role, Permission.CHECK_REVIEW),
            "done": request.query_params.get("done") == "1",
        },
        400 if problem else 200,
    )


@router.post("/review/{check_id}")
def sign_off(
    request: Request,
    check_id: str,
    user: User = Depends(page_for(Permission.CHECK_REVIEW)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
    note: str = Form(""),
    port: str = Form(""),
    day: str = Form(""),
    reviewed: str = Form(""),
) -> Response:
    """Supervisors: sign off a REFER/DENY decision or an override, with a note."""
    try:
        check_uuid = uuid.UUID(check_id)
    except ValueError:
        return render(request, "error.html", {"error": "missing"}, 404)
    done = attempt(
        request,
        session,
        lambda: svc.review(
            session,
            node=settings.node,
            supervisor=Actor.of(user, settings.node),
            check_id=check_uuid,
            note=note,
            now=clock_of(request).now(),
        ),
    )
    if isinstance(done, Refused):
        return render(
            request,
            "review_error.html",
            {"message": done.message, "back": _back(port, day, reviewed)},
            done.status,
        )
    target = _back(port, day, reviewed)
    return RedirectResponse(target + ("&" if "?" in target else "?") + "done=1", status_code=303)
