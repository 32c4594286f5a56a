"""Permit desk (permit officers): the queue of applications, one application with its
evidence and history, decisions with a reason, and issuing the signed permit."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from tsela.api.deps import clock_of, get_session, get_settings
from tsela.config import Settings
from tsela.domain import permits as dom
from tsela.domain.permits import PermitStatus
from tsela.kernel.access import Permission
from tsela.kernel.actor import Actor
from tsela.services import permits as svc
from tsela.services.keys import KeyStore, KeyStoreError
from tsela.store.models import User
from tsela.store.permits import Employment, PermitEvidence
from tsela.web.errors import Refused, attempt
from tsela.web.i18n import N_
from tsela.web.labels import evidence_lacking, language_of
from tsela.web.nav import add_nav
from tsela.web.render import render
from tsela.web.security import page_for

router = APIRouter(include_in_schema=False)
S = PermitStatus

add_nav("/desk", N_("Permit desk"), Permission.PERMIT_DECIDE)

QUEUE = (S.SUBMITTED, S.EVIDENCE_REQUESTED, S.APPROVED)
DONE = {
    "decided": N_("The decision is recorded."),
    "issued": N_("The permit is issued and signed."),
    "evidence": N_("The evidence is recorded."),
    "renewed": N_("The renewal application is open, with the evidence carried over."),
    "extended": N_("The permit is extended to the end of its programme and signed again."),
    "ended": N_("The end of the employment is recorded."),
}
CONFIRM = (S.REJECTED, S.REVOKED)  # final: the officer says yes once more before it is done


@router.get("/desk")
def queue(
    request: Request,
    user: User = Depends(page_for(Permission.PERMIT_DECIDE)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> Response:
    """Permit officers: applications waiting for a decision (the longest waiting first, with
    its age in days), then approved ones to issue; search and the expiring lists."""
    actor = Actor.of(user, settings.node)
    today = clock_of(request).today()
    groups = [(status, svc.waiting(session, actor, today, status)) for status in QUEUE]
    session.commit()  # the listing is audited
    return render(
        request,
        "desk_queue.html",
        {"groups": groups, "statuses": list(S), "bands": dom.REMINDER_BANDS},
    )


def _int(text: str | None, default: int) -> int:
    try:
        return int(text or default)
    except ValueError:
        return default


def _search(
    request: Request,
    session: Session,
    user: User,
    settings: Settings,
    q: str,
    status: str,
    page: int,
) -> Response:
    actor = Actor.of(user, settings.node)
    q = " ".join(q.split())[:80]
    if status not in {s.value for s in S}:
        status = ""
    found = svc.search_permits(
        session, actor, clock_of(request).today(), text=q, status=status or None, page=max(1, page)
    )
    session.commit()  # the search is audited

    def link(to: int) -> str:
        return "/desk/search?" + urlencode({"status": status, "page": to})

    return render(
        request,
        "desk_search.html",
        {"found": found, "q": q, "status": status, "statuses": list(S), "link": link},
    )


@router.get("/desk/search")
def search(
    request: Request,
    user: User = Depends(page_for(Permission.PERMIT_DECIDE)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> Response:
    """Permit officers: permits and applications by status, a page at a time (a name or
    number is searched by POST: it never goes into a URL, a log or the history)."""
    status = request.query_params.get("status", "")
    page = _int(request.query_params.get("page"), 1)
    return _search(request, session, user, settings, "", status, page)


@router.post("/desk/search")
def search_by_name(
    request: Request,
    user: User = Depends(page_for(Permission.PERMIT_DECIDE)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
    q: str = Form(""),
    status: str = Form(""),
    page: str = Form("1"),
) -> Response:
    """Permit officers: permits and applications by number or holder name, and status."""
    return _search(request, session, user, settings, q, status, _int(page, 1))


@router.get("/desk/expiring")
def expiring(
    request: Request,
    user: User = Depends(page_for(Permission.PERMIT_DECIDE)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> Response:
    """Permit officers: permits in force whose last day is within 30, 60 or 90 days."""
    actor = Actor.of(user, settings.node)
    within = _int(request.query_params.get("within"), dom.REMINDER_BANDS[0])
    if within not in dom.REMINDER_BANDS:
        within = dom.REMINDER_BANDS[0]
    permits = svc.list_permits(session, actor, clock_of(request).today(), expiring_within=within)
    session.commit()  # the listing is audited
    return render(
        request,
        "desk_expiring.html",
        {"permits": permits, "within": within, "bands": dom.REMINDER_BANDS},
    )


def _detail(
    request: Request,
    session: Session,
    user: User,
    settings: Settings,
    permit_id: str,
    error: str | None = None,
    status_code: int = 200,
    error_lang: str = "en",
) -> Response:
    actor = Actor.of(user, settings.node)
    try:
        view = svc.view(session, actor, permit_id, clock_of(request).today())
    except svc.NotFound:
        return render(request, "error.html", {"error": "missing"}, 404)
    evidence = list(
        session.scalars(
            select(PermitEvidence)
            .where(PermitEvidence.permit_id == view.id)
            .order_by(PermitEvidence.created_at)
        )
    )
    history = svc.history(session, actor, view.id)
    job = session.scalars(
        select(Employment).where(Employment.permit_id == view.id, Employment.end_date.is_(None))
    ).first()
    session.commit()  # the read is audited
    ptype = dom.permit_type(view.permit_type)
    targets = [
        t
        for t in dom.allowed_targets(view.status, user.role)
        # Issuing signs (its own button; reinstating a suspended permit is a decision);
        # expiry follows from the dates.
        if t is not S.EXPIRED and not (t is S.ISSUED and view.status == S.APPROVED)
    ]
    return render(
        request,
        "desk_permit.html",
        {
            "p": view,
            "ptype": ptype,
            "evidence": evidence,
            "missing": evidence_lacking(
                ptype.evidence.lacking(e.kind for e in evidence), language_of(request)
            ),
            "history": history,
            "targets": targets,
            "can_issue": view.status == S.APPROVED,
            "in_force": view.effective_status in (S.ISSUED, S.SUSPENDED),
            "can_renew": view.effective_status in (S.ISSUED, S.EXPIRED) and ptype.renewable,
            "employment": job,
            "today": clock_of(request).today(),
            "error": error,
            "error_lang": error_lang,
            "done": DONE.get(request.query_params.get("done", "")),
        },
        status_code,
    )


@router.get("/desk/permits/{permit_id}")
def permit_page(
    request: Request,
    permit_id: str,
    user: User = Depends(page_for(Permission.PERMIT_DECIDE)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> Response:
    """Permit officers: one application or permit, its evidence, history and next steps."""
    return _detail(request, session, user, settings, permit_id)


def _after(permit_id: str, done: str) -> RedirectResponse:
    return RedirectResponse(f"/desk/permits/{permit_id}?done={done}", status_code=303)


@router.post("/desk/permits/{permit_id}/decide")
def decide(
    request: Request,
    permit_id: str,
    user: User = Depends(page_for(Permission.PERMIT_DECIDE)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
    target: str = Form(""),
    reason: str = Form(""),
    confirmed: str = Form(""),
) -> Response:
    """Permit officers: request evidence, approve, reject, suspend, reinstate or revoke
    (rejecting and revoking are final: a page asks to confirm first)."""
    actor = Actor.of(user, settings.node)
    why = reason.strip() or None
    if target in CONFIRM and confirmed != "yes":

        def check() -> svc.PermitView:
            permit = svc.load_permit(session, permit_id)
            svc.check_move(actor, permit, dom.parse_status(target), why)
            return svc.view(session, actor, permit.id, clock_of(request).today())

        ready = attempt(request, session, check)
        if isinstance(ready, Refused):
            return _refused(request, session, user, settings, permit_id, ready)
        return render(
            request, "desk_confirm.html", {"p": ready, "target": target, "reason": why or ""}
        )
    done = attempt(request, session, lambda: svc.decide(session, actor, permit_id, target, why))
    if isinstance(done, Refused):
        return _refused(request, session, user, settings, permit_id, done)
    return _after(permit_id, "decided")


def _refused(
    request: Request,
    session: Session,
    user: User,
    settings: Settings,
    permit_id: str,
    refused: Refused,
) -> Response:
    """A permit that is not there is a missing page; any other refusal the permit's page with
    the reason (400)."""
    if refused.not_found:
        return render(request, "error.html", {"error": "missing"}, 404)
    return _detail(request, session, user, settings, permit_id, refused.message, 400, refused.lang)


@router.post("/desk/permits/{permit_id}/issue")
def issue(
    request: Request,
    permit_id: str,
    user: User = Depends(page_for(Permission.PERMIT_DECIDE)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> Response:
    """Permit officers: issue an approved permit, signed with this node's active key."""
    return _signed(request, session, user, settings, permit_id, svc.issue, "issued")


@router.post("/desk/permits/{permit_id}/evidence")
def add_evidence(
    request: Request,
    permit_id: str,
    user: User = Depends(page_for(Permission.PERMIT_DECIDE)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
    kind: str = Form(""),
    reference: str = Form(""),
    note: str = Form(""),
) -> Response:
    """Permit officers: record evidence received at the counter."""
    actor = Actor.of(user, settings.node)

    def record() -> None:
        said = " ".join(reference.split())
        if not kind.strip() or not said:
            raise svc.PermitError(
                "evidence: give its kind and a reference", "permit.evidence_empty"
            )
        svc.add_evidence(session, actor, permit_id, [svc.EvidenceItem(kind.strip(), said, note)])

    done = attempt(request, session, record)
    if isinstance(done, Refused):
        return _refused(request, session, user, settings, permit_id, done)
    return _after(permit_id, "evidence")


@router.post("/desk/permits/{permit_id}/renew")
def renew(
    request: Request,
    permit_id: str,
    user: User = Depends(page_for(Permission.PERMIT_DECIDE)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> Response:
    """Permit officers: open the renewal of an issued or expired permit (evidence carried)."""
    actor = Actor.of(user, settings.node)
    clock = clock_of(request)
    new = attempt(
        request, session, lambda: svc.renew(session, actor, permit_id, clock.today(), clock.now())
    )
    if isinstance(new, Refused):
        return _refused(request, session, user, settings, permit_id, new)
    return _after(str(new.id), "renewed")


@router.post("/desk/permits/{permit_id}/extend")
def extend(
    request: Request,
    permit_id: str,
    user: User = Depends(page_for(Permission.PERMIT_DECIDE)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> Response:
    """Permit officers: extend a permit in force to its programme's end (signed again)."""
    return _signed(request, session, user, settings, permit_id, svc.extend, "extended")


def _signed(
    request: Request,
    session: Session,
    user: User,
    settings: Settings,
    permit_id: str,
    sign: Callable[..., object],
    done_word: str,
) -> Response:
    """Issue or extend: the permit signed again with this node's active key (a key that
    cannot be read is a refusal shown on the page, like the service's own)."""
    actor = Actor.of(user, settings.node)
    clock = clock_of(request)
    now: datetime = clock.now()

    def work() -> None:
        signer = KeyStore(settings.var_dir, settings.node).signer(now)
        sign(session, actor, permit_id, signer, clock.today(), now)

    done = attempt(request, session, work, also=(KeyStoreError,))
    if isinstance(done, Refused):
        return _refused(request, session, user, settings, permit_id, done)
    return _after(permit_id, done_word)


def end_date_of(text: str) -> date:
    """A day typed in a form (YYYY-MM-DD), or a refusal saying how to write it."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise svc.PermitError(
            f"{text!r} is not a date like 2026-04-30", "permit.bad_date"
        ) from None


@router.post("/desk/permits/{permit_id}/end-employment")
def end_employment(
    request: Request,
    permit_id: str,
    user: User = Depends(page_for(Permission.PERMIT_DECIDE)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
    end_date: str = Form(""),
    reason: str = Form(""),
) -> Response:
    """Permit officers: record that the holder's employment under this permit ended."""
    actor = Actor.of(user, settings.node)
    clock = clock_of(request)
    done = attempt(
        request,
        session,
        lambda: svc.end_employment(
            session, actor, permit_id, end_date_of(end_date), reason, clock.now()
        ),
    )
    if isinstance(done, Refused):
        return _refused(request, session, user, settings, permit_id, done)
    return _after(permit_id, "ended")
