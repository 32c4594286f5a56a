"""The fast lane for frequent crossers in the browser (issue 20, item 2), English and Sesotho.

Workers apply and show their card (``/me/fast-lane``); border officers and supervisors vet
the applications (``/fast-lane``: the screening, the crossing history, the interview) and
supervisors decide, suspend and reinstate; at the lane (``/lane``) one scan of the card
gives CLEAR or REFER. The rules and the records are ``services.fast_lane``'s.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from tsela.api.auth import client_source
from tsela.api.deps import clock_of, get_session, get_settings, lane_draw, screening_of
from tsela.config import Settings
from tsela.domain import fast_lane as dom
from tsela.domain.values import Direction
from tsela.kernel.access import Permission
from tsela.kernel.actor import Actor
from tsela.services import fast_lane as svc
from tsela.store.fast_lane import FastLaneMembership
from tsela.store.models import PortOfEntry, User
from tsela.web.console import stored_check
from tsela.web.errors import Refused, attempt
from tsela.web.i18n import N_
from tsela.web.nav import add_nav
from tsela.web.render import render
from tsela.web.security import page_for
from tsela.web.worker import qr_svg

router = APIRouter(include_in_schema=False)

add_nav("/me/fast-lane", N_("Fast lane"), Permission.FASTLANE_APPLY)
add_nav("/fast-lane", N_("Fast-lane vetting"), Permission.FASTLANE_VET)
add_nav("/lane", N_("Fast lane"), Permission.CHECK_RECORD)

CATEGORIES = {
    "commuter": N_("I live on one side and work or study on the other"),
    "border_resident": N_("I live in a district on the border"),
    "permit_holder": N_("I hold a permit of this country"),
}
STATUSES = {
    "applied": N_("Waiting for a decision"),
    "active": N_("Member"),
    "refused": N_("Refused"),
    "suspended": N_("Suspended"),
}
TONES = {"applied": "warn", "active": "ok", "refused": "bad", "suspended": "bad"}
ANSWERS = {
    "CLEAR": (N_("CLEAR"), "ok", N_("Let the member through.")),
    "REFER": (N_("REFER"), "warn", N_("Send the traveller to secondary inspection.")),
}
DONE = {
    "applied": N_("Your application has been sent. An officer will invite you to an interview."),
    "interview": N_("The interview is recorded."),
    "approved": N_("Approved: the member's card is issued."),
    "refused": N_("The application is refused; the applicant sees the reason."),
    "suspended": N_("The membership is suspended."),
    "reinstated": N_("The membership is active again."),
}


def _ports(session: Session) -> list[PortOfEntry]:
    return list(
        session.scalars(
            select(PortOfEntry).where(PortOfEntry.active.is_(True)).order_by(PortOfEntry.code)
        )
    )


def _labels() -> dict[str, object]:
    return {
        "categories": CATEGORIES,
        "statuses": STATUSES,
        "tones": TONES,
        "shown_number": dom.shown_number,
    }


# --------------------------------------------------------------------------- the member


def _member_page(
    request: Request,
    session: Session,
    user: User,
    settings: Settings,
    *,
    error: str | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    if user.person_id is None:
        return render(request, "worker_unlinked.html", {}, 409)
    actor = Actor.of(user, settings.node)
    memberships = svc.mine(session, actor)
    current = next((m for m in memberships if m.status in dom.OPEN), None)
    card = current if current is not None and current.status is dom.Status.ACTIVE else None
    return render(
        request,
        "fast_lane_member.html",
        {
            **_labels(),
            "earlier": [m for m in memberships if m is not current],
            "current": current,
            "qr": Markup(qr_svg(card.token)) if card is not None and card.token else None,
            "documents": svc.documents_of(session, user.person_id),
            "ports": _ports(session),
            "error": error,
            "values": values or {},
            "done": DONE.get(request.query_params.get("done", "")),
        },
        status_code,
    )


@router.get("/me/fast-lane")
def member(
    request: Request,
    user: User = Depends(page_for(Permission.FASTLANE_APPLY)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> Response:
    """Workers: their fast-lane application or membership, the card to show at the lane,
    and the form to apply."""
    return _member_page(request, session, user, settings)


@router.post("/me/fast-lane")
def apply(
    request: Request,
    user: User = Depends(page_for(Permission.FASTLANE_APPLY)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
    document_id: str = Form(""),
    category: str = Form(""),
    port: str = Form(""),
    statement: str = Form(""),
) -> Response:
    """Workers: apply for the fast lane with one of their passports."""
    values = {
        "document_id": document_id,
        "category": category,
        "port": port,
        "statement": statement[: dom.MAX_TEXT],
    }
    done = attempt(
        request,
        session,
        lambda: svc.apply(
            session,
            Actor.of(user, settings.node, client_source(request)),
            document_id=document_id,
            category=category,
            port_code=port,
            statement=statement,
            now=clock_of(request).now(),
        ),
    )
    if isinstance(done, Refused):
        return _member_page(
            request,
            session,
            user,
            settings,
            error=done.message,
            values=values,
            status_code=done.status,
        )
    return RedirectResponse("/me/fast-lane?done=applied", status_code=303)


# --------------------------------------------------------------------------- vetting


@router.get("/fast-lane")
def vetting_queue(
    request: Request,
    user: User = Depends(page_for(Permission.FASTLANE_VET)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> Response:
    """Border officers and supervisors: applications waiting (the longest first), and the
    members by status (?status=active, suspended, refused)."""
    asked = request.query_params.get("status", "applied")
    status = dom.Status(asked) if asked in STATUSES else dom.Status.APPLIED
    rows = svc.queue(session, Actor.of(user, settings.node), status)
    return render(
        request, "fast_lane_queue.html", {**_labels(), "rows": rows, "status": status.value}
    )


def _dossier_page(
    request: Request,
    session: Session,
    user: User,
    settings: Settings,
    membership_id: uuid.UUID,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    actor = Actor.of(user, settings.node, client_source(request))
    found = attempt(
        request,
        session,
        lambda: svc.dossier(
            session,
            actor,
            membership_id,
            screening=screening_of(request),
            now=clock_of(request).now(),
        ),
    )
    if isinstance(found, Refused):
        return render(request, "error.html", {"error": "missing"}, found.status)
    blocking = found.vetting.blocking()
    return render(
        request,
        "fast_lane_dossier.html",
        {
            **_labels(),
            "d": found,
            "m": found.membership,
            "blocking": blocking,
            "may_decide": actor.may(Permission.FASTLANE_DECIDE),
            "error": error,
            "done": DONE.get(request.query_params.get("done", "")),
        },
        status_code,
    )


@router.get("/fast-lane/{membership_id}")
def dossier(
    membership_id: uuid.UUID,
    request: Request,
    user: User = Depends(page_for(Permission.FASTLANE_VET)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> Response:
    """Border officers and supervisors: an application's vetting: the screening against the
    watchlists and entry bans, the crossing history, the interview; the decision."""
    return _dossier_page(request, session, user, settings, membership_id)


def _act(
    request: Request,
    session: Session,
    user: User,
    settings: Settings,
    membership_id: uuid.UUID,
    work: object,
    done_word: str,
) -> Response:
    assert callable(work)
    done = attempt(request, session, work, actor=user.username, node=settings.node)
    if isinstance(done, Refused):
        if done.not_found:
            return render(request, "error.html", {"error": "missing"}, 404)
        return _dossier_page(
            request,
            session,
            user,
            settings,
            membership_id,
            error=done.message,
            status_code=done.status,
        )
    return RedirectResponse(f"/fast-lane/{membership_id}?done={done_word}", status_code=303)


@router.post("/fast-lane/{membership_id}/interview")
def record_interview(
    membership_id: uuid.UUID,
    request: Request,
    user: User = Depends(page_for(Permission.FASTLANE_VET)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
    outcome: str = Form(""),
    note: str = Form(""),
) -> Response:
    """Border officers and supervisors: record the interview with the applicant."""
    actor = Actor.of(user, settings.node, client_source(request))
    return _act(
        request,
        session,
        user,
        settings,
        membership_id,
        lambda: svc.interview(
            session, actor, membership_id, outcome=outcome, note=note, now=clock_of(request).now()
        ),
        "interview",
    )


@router.post("/fast-lane/{membership_id}/decide")
def decide(
    membership_id: uuid.UUID,
    request: Request,
    user: User = Depends(page_for(Permission.FASTLANE_DECIDE)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
    decision: str = Form(""),
    reason: str = Form(""),
) -> Response:
    """Supervisors: approve (the card is signed and issued) or refuse with a reason."""
    actor = Actor.of(user, settings.node, client_source(request))
    approve = decision == "approve"
    return _act(
        request,
        session,
        user,
        settings,
        membership_id,
        lambda: svc.decide(
            session,
            actor,
            membership_id,
            approve=approve,
            reason_text=reason,
            screening=screening_of(request),
            var_dir=settings.var_dir,
            now=clock_of(request).now(),
        ),
        "approved" if approve else "refused",
    )


@router.post("/fast-lane/{membership_id}/suspend")
def suspend(
    membership_id: uuid.UUID,
    request: Request,
    user: User = Depends(page_for(Permission.FASTLANE_DECIDE)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
    reason: str = Form(""),
) -> Response:
    """Supervisors: suspend a membership, with a reason."""
    actor = Actor.of(user, settings.node, client_source(request))
    return _act(
        request,
        session,
        user,
        settings,
        membership_id,
        lambda: svc.suspend(
            session, actor, membership_id, reason_text=reason, now=clock_of(request).now()
        ),
        "suspended",
    )


@router.post("/fast-lane/{membership_id}/reinstate")
def reinstate(
    membership_id: uuid.UUID,
    request: Request,
    user: User = Depends(page_for(Permission.FASTLANE_DECIDE)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
    reason: str = Form(""),
) -> Response:
    """Supervisors: reinstate a suspended membership after looking into it, with a reason."""
    actor = Actor.of(user, settings.node, client_source(request))
    return _act(
        request,
        session,
        user,
        settings,
        membership_id,
        lambda: svc.reinstate(
            session, actor, membership_id, reason_text=reason, now=clock_of(request).now()
        ),
        "reinstated",
    )


# --------------------------------------------------------------------------- the lane


def _lane(
    request: Request,
    session: Session,
    user: User,
    *,
    direction: str = "entry",
    port_code: str = "",
    answer: Mapping[str, object] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    posted = session.get(PortOfEntry, user.port_id) if user.port_id else None
    return render(
        request,
        "lane.html",
        {
            "posted": posted,
            "ports": [] if posted else _ports(session),
            "port_code": posted.code if posted else port_code,
            "direction": direction if direction in ("entry", "exit") else "entry",
            "answer": answer,
            "verdict": ANSWERS[str(answer["answer"])] if answer else None,
            "error": error,
        },
        status_code,
    )


@router.get("/lane")
def lane(
    request: Request,
    user: User = Depends(page_for(Permission.CHECK_RECORD)),
    session: Session = Depends(get_session),
) -> Response:
    """Border officers and supervisors: the fast lane, ready for the next card."""
    q = request.query_params
    return _lane(
        request,
        session,
        user,
        direction=q.get("direction", "entry"),
        port_code=q.get("port", "").upper()[:8],
    )


@router.post("/lane/scan")
def lane_scan(
    request: Request,
    user: User = Depends(page_for(Permission.CHECK_RECORD)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
    card: str = Form(""),
    direction: str = Form("entry"),
    port: str = Form(""),
) -> Response:
    """Border officers and supervisors: one scan of a member's card, one answer. A scan
    that ran a check shows its answer on the check's own lane page (reload sends nothing);
    a card that named no one is answered here."""
    way = Direction.EXIT if direction == "exit" else Direction.ENTRY
    posted = session.get(PortOfEntry, user.port_id) if user.port_id else None
    port_code = posted.code if posted else port.strip().upper()[:8]
    if not port_code:
        return _lane(
            request,
            session,
            user,
            direction=way.value,
            error=N_("Choose the port."),
            status_code=400,
        )
    if not card.strip():
        return _lane(
            request,
            session,
            user,
            direction=way.value,
            port_code=port_code,
            error=N_("Scan the member's card."),
            status_code=400,
        )
    done = attempt(
        request,
        session,
        lambda: svc.scan(
            session,
            node=settings.node,
            officer=Actor.of(user, settings.node),
            card_text=card[: dom.MAX_TOKEN + 1],
            port=port_code,
            direction=way,
            now=clock_of(request).now(),
            screening=screening_of(request),
            keys=svc.card_keys(settings.var_dir, settings.node),
            draw=lane_draw(request),
            rate=settings.fast_lane_refer_rate,
            source=client_source(request),
        ),
        actor=user.username,
        node=settings.node,
    )
    if isinstance(done, Refused):
        return _lane(
            request,
            session,
            user,
            direction=way.value,
            port_code=port_code,
            error=done.message,
            status_code=done.status,
        )
    if done.check_id is not None:
        return RedirectResponse(
            f"/lane/scans/{done.check_id}?direction={way.value}", status_code=303
        )
    return _lane(
        request,
        session,
        user,
        direction=way.value,
        port_code=port_code,
        answer={**done.as_dict(), "recorded": done.crossing_id is not None},
    )


@router.get("/lane/scans/{check_id}")
def lane_answer(
    check_id: uuid.UUID,
    request: Request,
    user: User = Depends(page_for(Permission.CHECK_RECORD)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> Response:
    """Border officers and supervisors: the answer of one scan at the lane, from the check
    as stored, with the scan box ready for the next card."""
    shown = stored_check(request, session, user, settings, check_id)
    direction = request.query_params.get("direction", "entry")
    if isinstance(shown, Refused):
        return _lane(
            request,
            session,
            user,
            direction=direction,
            error=shown.message,
            status_code=shown.status,
        )
    result = shown.result
    member = next((r for r in result.reasons if r.code == "fastlane.member"), None)
    suspended = session.scalar(
        select(FastLaneMembership.number).where(FastLaneMembership.suspension_check_id == check_id)
    )
    answer = {
        "answer": dom.answer(result.check.decision).value,
        "reasons": [r.as_dict() for r in result.reasons],
        "check_id": str(check_id),
        "number": member.params.get("number") if member else None,
        "holder": f"{result.person.given_names} {result.person.primary_name}".strip(),
        "recorded": shown.recorded,
        "suspended": suspended is not None,
        "selected_at_random": any(r.code == "fastlane.random" for r in result.reasons),
    }
    return _lane(
        request, session, user, direction=direction, port_code=shown.port_code, answer=answer
    )
