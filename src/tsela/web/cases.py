"""Trafficking and smuggling cases on pages (issue 18, item 4): the desk opens a case from a
check; the case officers list cases (by status and kind, a page at a time) and work one
(indicators, notes, referral, take, hand over, close), in English or Sesotho.

Every read is audited by the service; a role without the case permissions gets the 403 page
and the attempt is audited (``tsela.kernel.access.AUDITED_DENIALS``).
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from tsela.api.auth import client_source
from tsela.api.deps import clock_of, get_session, get_settings
from tsela.config import Settings
from tsela.domain import cases as rules
from tsela.domain.cases import CaseKind, CaseStatus
from tsela.kernel.access import Permission
from tsela.kernel.actor import Actor
from tsela.services import cases as svc
from tsela.store.models import User
from tsela.web.errors import Refused, attempt
from tsela.web.i18n import N_, choose_language
from tsela.web.nav import add_nav
from tsela.web.render import render
from tsela.web.security import page_for

router = APIRouter(include_in_schema=False)

add_nav("/cases", N_("Cases"), Permission.CASE_READ)

PAGE = 25

STATUS_LABELS = {
    CaseStatus.OPEN.value: (N_("Open"), "warn"),
    CaseStatus.REFERRED.value: (N_("Referred"), "info"),
    CaseStatus.CLOSED.value: (N_("Closed"), "ok"),
}
EVENT_LABELS = {
    "opened": N_("Case opened"),
    "indicators": N_("Indicators changed"),
    "note": N_("Note"),
    "referred": N_("Referred"),
    "assigned": N_("Assigned"),
    "handed_over": N_("Handed over"),
    "closed": N_("Case closed"),
}


def _actor(request: Request, user: User, settings: Settings) -> Actor:
    return Actor.of(user, settings.node, client_source(request))


def _words(lang: str) -> dict[str, Any]:
    """The catalogue's words in the page's language, for the templates."""
    cat = rules.catalogue()
    return {
        "kinds": {k: n.said(lang) for k, n in cat.kinds.items()},
        "checklist": [
            (group.said(lang), [(i.code, i.said(lang)) for i in items])
            for group, items in cat.grouped()
        ],
        "indicator_words": {c: i.said(lang) for c, i in cat.indicators.items()},
        "agencies": {k: n.said(lang) for k, n in cat.referrals.items()},
        "outcomes": {k: n.said(lang) for k, n in cat.outcomes.items()},
        "status_labels": STATUS_LABELS,
        "event_labels": EVENT_LABELS,
    }


def _lang(request: Request) -> str:
    return choose_language(request)[0]


# --------------------------------------------------------------------------- opening


def _opening_form(
    request: Request,
    session: Session,
    actor: Actor,
    check_id: uuid.UUID,
    *,
    error: str | None = None,
    kind: str = "",
    chosen: tuple[str, ...] = (),
    note: str = "",
    status_code: int = 200,
) -> Response:
    opening = attempt(
        request,
        session,
        lambda: svc.for_opening(session, actor, check_id),
        actor=actor.username,
        node=actor.node,
    )
    if isinstance(opening, Refused):
        raise HTTPException(opening.status, opening.message)
    ctx = {
        "opening": opening,
        "error": error,
        "kind": kind or ("trafficking" if opening.protect else ""),
        "chosen": chosen,
        "note": note,
        **_words(_lang(request)),
    }
    return render(request, "case_open.html", ctx, status_code)


@router.get("/console/checks/{check_id}/case")
def open_form(
    check_id: uuid.UUID,
    request: Request,
    user: User = Depends(page_for(Permission.CASE_OPEN)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> Response:
    """Border officers, supervisors and case officers: open a case from this check (its kind,
    the indicators seen, a note)."""
    return _opening_form(request, session, _actor(request, user, settings), check_id)


@router.post("/console/checks/{check_id}/case")
def open_case(
    check_id: uuid.UUID,
    request: Request,
    user: User = Depends(page_for(Permission.CASE_OPEN)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
    kind: str = Form(""),
    indicators: list[str] = Form(default_factory=list),
    note: str = Form(""),
) -> Response:
    """Open the case; the desk goes back to the check, a case officer to the case."""
    actor = _actor(request, user, settings)
    case = attempt(
        request,
        session,
        lambda: svc.open_case(
            session,
            actor,
            check_id=check_id,
            kind=kind,
            indicators=indicators[:100],
            note=note[: rules.MAX_NOTE + 1],
            now=clock_of(request).now(),
        ),
        actor=user.username,
        node=settings.node,
    )
    if isinstance(case, Refused):
        return _opening_form(
            request,
            session,
            actor,
            check_id,
            error=case.message,
            kind=kind[:40],
            chosen=tuple(indicators[:100]),
            note=note[: rules.MAX_NOTE],
            status_code=case.status,
        )
    if actor.may(Permission.CASE_READ):
        return RedirectResponse(f"/cases/{case.id}", status_code=303)
    return RedirectResponse(f"/console/checks/{check_id}?case=opened", status_code=303)


# --------------------------------------------------------------------------- the list


@router.get("/cases")
def case_list(
    request: Request,
    user: User = Depends(page_for(Permission.CASE_READ)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> Response:
    """Case officers: the cases, not closed first then the newest, filtered by status and
    kind, a page at a time (``?status=&kind=&page=``). The read is audited."""
    q = request.query_params
    status = q.get("status", "")
    status = status if status in {s.value for s in CaseStatus} else ""
    kind = q.get("kind", "")
    kind = kind if kind in {k.value for k in CaseKind} else ""
    try:
        page = max(1, min(int(q.get("page", "1")), 100_000))
    except ValueError:
        page = 1
    actor = _actor(request, user, settings)
    found = attempt(
        request,
        session,
        lambda: svc.list_cases(
            session,
            actor,
            status=status or None,
            kind=kind or None,
            offset=(page - 1) * PAGE,
            limit=PAGE,
        ),
        actor=user.username,
        node=settings.node,
    )
    if isinstance(found, Refused):
        raise HTTPException(found.status, found.message)
    items, total = found
    pages = max(1, -(-total // PAGE))

    def link(to: int) -> str:
        return f"/cases?status={status}&kind={kind}&page={to}"

    ctx = {
        "cases": items,
        "total": total,
        "status": status,
        "kind": kind,
        "statuses": [s.value for s in CaseStatus],
        "kind_codes": [k.value for k in CaseKind],
        "listing": {
            "pages": pages,
            "page": page,
            "previous": page - 1 if page > 1 else None,
            "next": page + 1 if page < pages else None,
        },
        "link": link,
        **_words(_lang(request)),
    }
    return render(request, "cases.html", ctx)


# --------------------------------------------------------------------------- one case


def _case_page(
    request: Request,
    session: Session,
    actor: Actor,
    case_id: uuid.UUID,
    *,
    error: Refused | None = None,
) -> Response:
    shown = attempt(
        request,
        session,
        lambda: svc.get_case(session, actor, case_id),
        actor=actor.username,
        node=actor.node,
    )
    if isinstance(shown, Refused):
        raise HTTPException(shown.status, shown.message)
    ctx = {
        "case": shown.as_dict(),
        "officers": svc.case_officers(session),
        "me": actor.username,
        "error": error.message if error else None,
        "error_lang": error.lang if error else None,
        **_words(_lang(request)),
    }
    return render(request, "case.html", ctx, error.status if error else 200)


@router.get("/cases/{case_id}")
def case_page(
    case_id: uuid.UUID,
    request: Request,
    user: User = Depends(page_for(Permission.CASE_READ)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> Response:
    """Case officers: a case, its checklist, notes and events; refer, take, hand over or
    close it. The read is audited."""
    return _case_page(request, session, _actor(request, user, settings), case_id)


def _done(
    request: Request,
    session: Session,
    user: User,
    settings: Settings,
    case_id: uuid.UUID,
    work: Any,
) -> Response:
    """Run a change of the case; back to the case page (with the refusal, if refused)."""
    actor = _actor(request, user, settings)
    done = attempt(
        request,
        session,
        lambda: work(actor, clock_of(request).now()),
        actor=user.username,
        node=settings.node,
    )
    if isinstance(done, Refused):
        if done.not_found:
            raise HTTPException(404, done.message)
        return _case_page(request, session, actor, case_id, error=done)
    return RedirectResponse(f"/cases/{case_id}", status_code=303)


@router.post("/cases/{case_id}/indicators")
def set_indicators(
    case_id: uuid.UUID,
    request: Request,
    user: User = Depends(page_for(Permission.CASE_WORK)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
    indicators: list[str] = Form(default_factory=list),
) -> Response:
    """Case officers: the indicators now ticked."""
    return _done(
        request, session, user, settings, case_id,
        lambda a, now: svc.set_indicators(session, a, case_id, indicators[:100], now),
    )  # fmt: skip


@router.post("/cases/{case_id}/notes")
def add_note(
    case_id: uuid.UUID,
    request: Request,
    user: User = Depends(page_for(Permission.CASE_WORK)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
    note: str = Form(""),
) -> Response:
    """Case officers: add a note to the case."""
    return _done(
        request, session, user, settings, case_id,
        lambda a, now: svc.add_note(session, a, case_id, note[: rules.MAX_NOTE + 1], now),
    )  # fmt: skip


@router.post("/cases/{case_id}/refer")
def refer(
    case_id: uuid.UUID,
    request: Request,
    user: User = Depends(page_for(Permission.CASE_WORK)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
    agency: str = Form(""),
    note: str = Form(""),
) -> Response:
    """Case officers: refer the case to the police or to social development."""
    return _done(
        request, session, user, settings, case_id,
        lambda a, now: svc.refer(
            session, a, case_id, agency[:40], note[: rules.MAX_NOTE + 1], now
        ),
    )  # fmt: skip


@router.post("/cases/{case_id}/assign")
def assign(
    case_id: uuid.UUID,
    request: Request,
    user: User = Depends(page_for(Permission.CASE_WORK)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
    to: str = Form(""),
) -> Response:
    """Case officers: give a case nobody has to a case officer (oneself: take it)."""
    return _done(
        request, session, user, settings, case_id,
        lambda a, now: svc.assign(session, a, case_id, to[:60] or a.username, now),
    )  # fmt: skip


@router.post("/cases/{case_id}/hand-over")
def hand_over(
    case_id: uuid.UUID,
    request: Request,
    user: User = Depends(page_for(Permission.CASE_WORK)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
    to: str = Form(""),
    note: str = Form(""),
) -> Response:
    """Case officers: pass the case to another case officer, with a hand-over note."""
    return _done(
        request, session, user, settings, case_id,
        lambda a, now: svc.hand_over(
            session, a, case_id, to[:60], note[: rules.MAX_NOTE + 1], now
        ),
    )  # fmt: skip


@router.post("/cases/{case_id}/close")
def close(
    case_id: uuid.UUID,
    request: Request,
    user: User = Depends(page_for(Permission.CASE_WORK)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
    outcome: str = Form(""),
    note: str = Form(""),
) -> Response:
    """Case officers: close the case with its outcome and a closing note."""
    return _done(
        request, session, user, settings, case_id,
        lambda a, now: svc.close(
            session, a, case_id, outcome[:40], note[: rules.MAX_NOTE + 1], now
        ),
    )  # fmt: skip
