"""Worker portal (English and Sesotho): apply for a permit, follow it, show it with its
QR code, answer a request for evidence, and see how many days of stay remain."""

from __future__ import annotations

import re
from functools import lru_cache

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup
from sqlalchemy.orm import Session

from tsela.api.deps import clock_of, get_session, get_settings
from tsela.config import Settings
from tsela.domain import permits as dom
from tsela.domain.permits import PermitStatus
from tsela.kernel.access import Permission
from tsela.kernel.actor import Actor
from tsela.services import permit_qr
from tsela.services import permits as svc
from tsela.services.stay_left import stay_left
from tsela.store.models import Permit, Person, User
from tsela.store.permits import PermitEvent
from tsela.web.applying import evidence_from, form_fields, open_types
from tsela.web.errors import Refused, attempt
from tsela.web.i18n import N_
from tsela.web.labels import evidence_lacking, language_of
from tsela.web.nav import add_nav
from tsela.web.render import render
from tsela.web.security import page_for

router = APIRouter(include_in_schema=False)
S = PermitStatus

add_nav("/me", N_("My permits"), Permission.WORKER_PORTAL)

DONE = {
    "applied": N_("Your application has been sent. You will see the decision here."),
    "draft": N_("Your application is saved but not sent: some evidence is still missing."),
    "answered": N_("Your evidence has been sent to the permit office."),
}


@lru_cache(maxsize=128)
def qr_svg(token: str) -> str:
    """The permit's QR code as inline SVG that scales to its box (segno writes a fixed
    width and height; a viewBox lets CSS size it without clipping). Cached: drawing a
    QR code of a whole signed permit takes tens of milliseconds, and tokens never change."""
    svg = permit_qr.render_svg(token, scale=4)
    return re.sub(r'width="(\d+)" height="(\d+)"', r'viewBox="0 0 \1 \2"', svg, count=1)


def _person(session: Session, user: User) -> Person | None:
    return session.get(Person, user.person_id) if user.person_id else None


def _unlinked(request: Request) -> Response:
    return render(request, "worker_unlinked.html", {}, 409)


@router.get("/me")
def my_permits(
    request: Request,
    user: User = Depends(page_for(Permission.WORKER_PORTAL)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> Response:
    """Workers: their applications and permits, and the days of stay they have left."""
    person = _person(session, user)
    if person is None:
        return _unlinked(request)
    actor = Actor.of(user, settings.node)
    permits = svc.list_permits(session, actor, clock_of(request).today())
    session.commit()  # the listing is audited
    current = [p for p in permits if p.effective_status in (S.ISSUED, S.SUSPENDED)]
    return render(
        request,
        "worker_home.html",
        {
            "permits": permits,
            "current": current,
            "stay": stay_left(session, person, clock_of(request).today()),
            "done": DONE.get(request.query_params.get("done", "")),
        },
    )


@router.get("/me/apply")
def apply_form(
    request: Request,
    user: User = Depends(page_for(Permission.WORKER_PORTAL)),
    session: Session = Depends(get_session),
) -> Response:
    """Workers: choose a permit type, then fill in the application for it."""
    person = _person(session, user)
    if person is None:
        return _unlinked(request)
    types = open_types(clock_of(request).today(), person.nationality)
    chosen = next((t for t in types if t.type.code == request.query_params.get("type")), None)
    return render(
        request,
        "worker_apply.html",
        {"types": types, "chosen": chosen, "error": None, "values": {}},
    )


@router.post("/me/apply")
def apply(
    request: Request,
    user: User = Depends(page_for(Permission.WORKER_PORTAL)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
    fields: dict[str, str] = Depends(form_fields),
) -> Response:
    """Workers: open an application for themselves and send it when the evidence is complete."""
    person = _person(session, user)
    if person is None:
        return _unlinked(request)
    types = open_types(clock_of(request).today(), person.nationality)
    chosen = next((t for t in types if t.type.code == fields.get("type_code")), None)
    if chosen is None:
        ctx: dict[str, object] = {
            "types": types,
            "chosen": None,
            "error": N_("Choose a permit type."),
            "values": {},
        }
        return render(request, "worker_apply.html", ctx, 400)
    actor = Actor.of(user, settings.node)
    employer = fields.get("employer", "").strip() or None

    def apply() -> tuple[Permit, bool]:
        permit = svc.apply(
            session,
            actor,
            type_code=chosen.type.code,
            today=clock_of(request).today(),
            person_id=person.id,
            employer=employer,
            country=fields.get("country") or None,
            evidence=evidence_from(fields, chosen.type),
        )
        complete = not chosen.type.evidence.missing(svc.evidence_kinds(session, permit))
        if complete:
            svc.submit(session, actor, permit.id, clock_of(request).today())
        return permit, complete

    applied = attempt(request, session, apply)
    if isinstance(applied, Refused):
        ctx = {"types": types, "chosen": chosen, "error": applied.message, "values": fields}
        return render(request, "worker_apply.html", ctx, 400)
    permit, complete = applied
    done = "applied" if complete else "draft"
    return RedirectResponse(f"/me/permits/{permit.id}?done={done}", status_code=303)


@router.get("/me/permits/{permit_id}")
def my_permit(
    request: Request,
    permit_id: str,
    user: User = Depends(page_for(Permission.WORKER_PORTAL)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> Response:
    """Workers: one of their permits: status, the reasons given, and the QR code once issued."""
    return _permit_page(request, session, user, settings, permit_id)


def _permit_page(
    request: Request,
    session: Session,
    user: User,
    settings: Settings,
    permit_id: str,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    actor = Actor.of(user, settings.node)

    def read() -> tuple[svc.PermitView, list[PermitEvent], Permit, list[str]]:
        view = svc.view(session, actor, permit_id, clock_of(request).today())
        history = svc.history(session, actor, view.id)
        permit = svc.load_permit(session, view.id)
        return view, history, permit, svc.evidence_kinds(session, permit)

    found = attempt(request, session, read)  # committed: the read is audited
    if isinstance(found, Refused):
        if isinstance(found.error, svc.NotFound | svc.Forbidden):
            # Another person's permit looks the same as one that does not exist.
            return render(request, "error.html", {"error": "missing"}, 404)
        raise found.error
    view, history, permit, kinds = found
    ptype = dom.permit_type(view.permit_type)
    qr = None
    if permit.token and view.status in (S.ISSUED, S.SUSPENDED):
        qr = Markup(qr_svg(permit.token))
    reasons = [ev for ev in history if ev.reason]
    return render(
        request,
        "worker_permit.html",
        {
            "p": view,
            "ptype": ptype,
            "qr": qr,
            "token": permit.token if qr else None,
            "history": history,
            "reasons": reasons,
            "have": set(kinds),
            "missing": evidence_lacking(ptype.evidence.lacking(kinds), language_of(request)),
            "can_answer": view.status in (S.DRAFT, S.EVIDENCE_REQUESTED),
            "error": error,
            "done": DONE.get(request.query_params.get("done", "")),
        },
        status_code,
    )


@router.post("/me/permits/{permit_id}/evidence")
def answer(
    request: Request,
    permit_id: str,
    user: User = Depends(page_for(Permission.WORKER_PORTAL)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
    fields: dict[str, str] = Depends(form_fields),
) -> Response:
    """Workers: add the evidence asked for and send the application (again)."""
    actor = Actor.of(user, settings.node)

    def send() -> Permit:
        permit = svc.load_permit(session, permit_id)
        items = evidence_from(fields, dom.permit_type(permit.permit_type))
        if items:
            svc.add_evidence(session, actor, permit.id, items)
        else:
            svc.view(session, actor, permit.id, clock_of(request).today())  # checks it is theirs
        svc.submit(session, actor, permit.id, clock_of(request).today())
        return permit

    sent = attempt(request, session, send)
    if isinstance(sent, Refused):
        if isinstance(sent.error, svc.NotFound | svc.Forbidden):
            return render(request, "error.html", {"error": "missing"}, 404)
        return _permit_page(request, session, user, settings, permit_id, sent.message, 400)
    permit = sent
    return RedirectResponse(f"/me/permits/{permit.id}?done=answered", status_code=303)
