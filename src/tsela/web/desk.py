"""Permit desk (permit officers): the queue of applications, one application with its
evidence and history, decisions with a reason, and issuing the signed permit."""

from __future__ import annotations

from datetime import datetime

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
from tsela.store.permits import PermitEvidence
from tsela.web.errors import Refused, attempt
from tsela.web.i18n import N_
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
}


@router.get("/desk")
def queue(
    request: Request,
    user: User = Depends(page_for(Permission.PERMIT_DECIDE)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> Response:
    """Permit officers: applications waiting for a decision, then approved ones to issue."""
    actor = Actor.of(user, settings.node)
    groups = [
        (status, svc.list_permits(session, actor, clock_of(request).today(), status=status))
        for status in QUEUE
    ]
    session.commit()  # the listing is audited
    return render(request, "desk_queue.html", {"groups": groups})


def _detail(
    request: Request,
    session: Session,
    user: User,
    settings: Settings,
    permit_id: str,
    error: str | None = None,
    status_code: int = 200,
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
    session.commit()  # the read is audited
    ptype = dom.permit_type(view.permit_type)
    targets = [
        t
        for t in dom.allowed_targets(view.status, user.role)
        if t not in (S.ISSUED, S.EXPIRED)  # issuing signs (own button); expiry follows dates
    ]
    return render(
        request,
        "desk_permit.html",
        {
            "p": view,
            "ptype": ptype,
            "evidence": evidence,
            "missing": ptype.evidence.missing(e.kind for e in evidence),
            "history": history,
            "targets": targets,
            "can_issue": view.status == S.APPROVED,
            "error": error,
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
) -> Response:
    """Permit officers: request evidence, approve, reject, suspend, reinstate or revoke."""
    actor = Actor.of(user, settings.node)
    done = attempt(
        request,
        session,
        lambda: svc.decide(session, actor, permit_id, target, reason.strip() or None),
    )
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
    return _detail(request, session, user, settings, permit_id, refused.message, 400)


@router.post("/desk/permits/{permit_id}/issue")
def issue(
    request: Request,
    permit_id: str,
    user: User = Depends(page_for(Permission.PERMIT_DECIDE)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> Response:
    """Permit officers: issue an approved permit, signed with this node's active key."""
    actor = Actor.of(user, settings.node)
    now: datetime = clock_of(request).now()

    def issue() -> None:
        signer = KeyStore(settings.var_dir, settings.node).signer(now)
        svc.issue(session, actor, permit_id, signer, clock_of(request).today(), now)

    done = attempt(request, session, issue, also=(KeyStoreError,))
    if isinstance(done, Refused):
        return _refused(request, session, user, settings, permit_id, done)
    return _after(permit_id, "issued")


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
    done = attempt(
        request,
        session,
        lambda: svc.add_evidence(
            session, actor, permit_id, [svc.EvidenceItem(kind.strip(), reference, note)]
        ),
    )
    if isinstance(done, Refused):
        return _refused(request, session, user, settings, permit_id, done)
    return _after(permit_id, "evidence")
