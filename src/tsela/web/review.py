"""Supervisor review: REFER and DENY decisions, overrides and watchlist hits, per port and
per day, each signed off with a note."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from tsela.api.deps import clock_of, get_session, get_settings
from tsela.config import Settings
from tsela.kernel.access import Permission, allows
from tsela.kernel.actor import Actor
from tsela.reference import UnknownPortError
from tsela.services import audit, check_review
from tsela.services import checks as svc
from tsela.store.models import PortOfEntry, User
from tsela.web.errors import Refused, attempt
from tsela.web.i18n import N_, choose_language, translations
from tsela.web.nav import add_nav
from tsela.web.render import render
from tsela.web.security import page_for

router = APIRouter(include_in_schema=False)

add_nav("/review", N_("Review"), Permission.CHECK_OVERRIDES_READ)


DECISION_CHOICES = ("REFER", "DENY")


@dataclass(frozen=True)
class _Query:
    """The list's filters and page, as the query (or a form's hidden fields) gives them:
    codes, dates and usernames only, never a traveller's name."""

    port: str = ""
    day: str = ""  # as typed: a date, "all", or "" (today)
    decision: str = ""
    officer: str = ""
    reviewed: str = ""
    page: int = 1

    @classmethod
    def of(cls, get: Callable[[str, str], str]) -> _Query:
        try:
            page = int(get("page", "1") or "1")
        except ValueError:
            page = 1
        decision = get("decision", "").strip().upper()
        return cls(
            port=get("port", "").strip().upper()[:8],
            day=get("day", "").strip()[:10],
            decision=decision if decision in DECISION_CHOICES else "",
            officer=get("officer", "").strip()[:60],
            reviewed="1" if get("reviewed", "") == "1" else "",
            page=max(page, 1),
        )

    def url(self, **changed: object) -> str:
        values = {**self.__dict__, **changed}
        params = {k: str(v) for k, v in values.items() if v and not (k == "page" and v == 1)}
        return "/review" + ("?" + urlencode(params) if params else "")


def _filters(request: Request, q: _Query) -> tuple[check_review.Filters, str | None, str]:
    """The service's filters from the query; the problem with them, if any; the day shown."""
    problem = None
    day: date | None = clock_of(request).today()
    if q.day == "all":
        day = None
    elif q.day:
        try:
            day = date.fromisoformat(q.day)
        except ValueError:
            problem = N_("The day must be a date like 2026-11-25.")
    filters = check_review.Filters(
        port_code=q.port or None,
        day=day,
        decision=q.decision or None,
        officer=q.officer or None,
        pending_only=not q.reviewed,
    )
    return filters, problem, day.isoformat() if day else "all"


@router.get("/review")
def review_list(
    request: Request,
    user: User = Depends(page_for(Permission.CHECK_OVERRIDES_READ)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> Response:
    """Supervisors: what needs a second look, filtered by port, day, decision and officer,
    a page at a time; several signed off at once after a confirmation."""
    q = _Query.of(request.query_params.get)
    filters, problem, shown_day = _filters(request, q)
    found = check_review.Listing([], 0, 1, 1, [])
    if problem is None:
        try:
            found = check_review.listing(session, filters, page=q.page)
        except UnknownPortError as exc:
            problem = str(exc)
    # Traveller names are shown: the read is logged like any read of personal data.
    audit.record(
        session,
        actor=user.username,
        action="overrides.read",
        node=settings.node,
        entity="check",
        detail={
            "port": q.port or None,
            "day": None if shown_day == "all" else shown_day,
            "decision": q.decision or None,
            "officer": q.officer or None,
            "page": found.page,
            "count": len(found.items),
            "checks": [str(i["check_id"]) for i in found.items],
        },
    )
    session.commit()
    ports = list(session.scalars(select(PortOfEntry.code).order_by(PortOfEntry.code)))
    try:
        done = int(request.query_params.get("done", "0"))
    except ValueError:
        done = 0
    return render(
        request,
        "review.html",
        {
            "items": found.items,
            "found": found,
            "summary": found.per_port_day,
            "ports": ports,
            "officers": check_review.officers(session),
            "decisions": DECISION_CHOICES,
            "q": q,
            "port": q.port,
            "day": shown_day,
            "include_reviewed": bool(q.reviewed),
            "problem": problem,
            "can_review": allows(user.role, Permission.CHECK_REVIEW),
            "done": done,
        },
        400 if problem else 200,
    )


def _back(port: str, day: str, reviewed: str, **more: str) -> str:
    return _Query.of({"port": port, "day": day, "reviewed": reviewed, **more}.get).url()


@router.post("/review/bulk")
def sign_off_many(
    request: Request,
    user: User = Depends(page_for(Permission.CHECK_REVIEW)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
    check_ids: list[str] = Form(default_factory=list),
    note: str = Form(""),
    confirmed: str = Form(""),
    port: str = Form(""),
    day: str = Form(""),
    decision: str = Form(""),
    officer: str = Form(""),
    reviewed: str = Form(""),
    page: str = Form("1"),
) -> Response:
    """Supervisors: sign off the decisions ticked, with one note; more than one is asked
    for a confirmation first, listing them."""
    q = _Query.of(
        {"port": port, "day": day, "decision": decision, "officer": officer,
         "reviewed": reviewed, "page": page}.get
    )  # fmt: skip
    ids: list[uuid.UUID] = []
    for raw in check_ids[: check_review.MAX_BULK + 1]:
        try:
            ids.append(uuid.UUID(raw))
        except ValueError:
            continue
    ids = list(dict.fromkeys(ids))
    problem = None
    if not ids:
        problem = N_("Tick the decisions to sign off.")
    elif not note.strip():
        problem = N_("Write the review note.")
    if problem is not None:
        lang, _chosen = choose_language(request)
        said = translations(lang).gettext(problem)
        return render(request, "review_error.html", {"message": said, "back": q.url()}, 400)
    if len(ids) > 1 and confirmed != "1":
        chosen = check_review.chosen(session, ids)
        ctx = {"chosen": chosen, "note": note[:2000], "q": q, "back": q.url()}
        return render(request, "review_confirm.html", ctx)
    done = attempt(
        request,
        session,
        lambda: check_review.review_many(
            session,
            node=settings.node,
            supervisor=Actor.of(user, settings.node),
            check_ids=ids,
            note=note,
            now=clock_of(request).now(),
        ),
    )
    if isinstance(done, Refused):
        return render(
            request, "review_error.html", {"message": done.message, "back": q.url()}, done.status
        )
    target = q.url(page=1)
    return RedirectResponse(
        target + ("&" if "?" in target else "?") + f"done={done}", status_code=303
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
    decision: str = Form(""),
    officer: str = Form(""),
    page: str = Form(""),
) -> Response:
    """Supervisors: sign off a REFER/DENY decision or an override, with a note."""
    back = _back(port, day, reviewed, decision=decision, officer=officer, page=page)
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
            {"message": done.message, "back": back},
            done.status,
        )
    target = back
    return RedirectResponse(target + ("&" if "?" in target else "?") + "done=1", status_code=303)
