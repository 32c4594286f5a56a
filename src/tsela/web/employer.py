"""Employer portal: the permits of the employer's workers, registering a worker (an
application on their behalf), and verifying a permit by pasting it or uploading its QR."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import PlainTextResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from tsela.api.deps import clock_of, get_session, get_settings
from tsela.config import Settings
from tsela.domain import permits as dom
from tsela.kernel.access import Permission
from tsela.kernel.actor import Actor
from tsela.services import audit
from tsela.services import employers as employer_service
from tsela.services import permits as svc
from tsela.store.models import Employer, User
from tsela.store.permits import Employment
from tsela.web.applying import evidence_from, form_fields, open_types
from tsela.web.desk import end_date_of
from tsela.web.errors import Refused, attempt
from tsela.web.i18n import N_
from tsela.web.nav import add_nav
from tsela.web.render import render
from tsela.web.security import page_for
from tsela.web.verify import Checked, check_token, token_from_form

router = APIRouter(include_in_schema=False)

add_nav("/employer", N_("My workers"), Permission.EMPLOYER_PORTAL)
add_nav("/employer/verify", N_("Verify a permit"), Permission.EMPLOYER_PORTAL)

DONE = {
    "ended": N_("The end of the employment is recorded."),
    "registered": N_("The worker is registered and the application is sent."),
    "draft": N_("The worker is registered; the application waits for missing evidence."),
}


def _employer(session: Session, user: User) -> Employer | None:
    return session.get(Employer, user.employer_id) if user.employer_id else None


@router.get("/employer")
def workers(
    request: Request,
    user: User = Depends(page_for(Permission.EMPLOYER_PORTAL)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> Response:
    """Employers: the permits and applications of their own workers."""
    employer = _employer(session, user)
    if employer is None:
        return render(request, "employer_unlinked.html", {}, 409)
    actor = Actor.of(user, settings.node)
    permits = employer_service.workers_permits(
        session, actor, employer.id, clock_of(request).today()
    )
    session.commit()  # the listing is audited
    return render(
        request,
        "employer_home.html",
        {
            "employer": employer,
            "permits": permits,
            "done": DONE.get(request.query_params.get("done", "")),
        },
    )


def _register_page(
    request: Request,
    employer: Employer,
    fields: dict[str, str],
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    types = open_types(clock_of(request).today(), None, employer_types=True)
    chosen = next(
        (t for t in types if t.type.code == (fields.get("type_code") or fields.get("type"))), None
    )
    return render(
        request,
        "employer_register.html",
        {"types": types, "chosen": chosen, "error": error, "values": fields, "employer": employer},
        status_code,
    )


@router.get("/employer/workers/new")
def register_form(
    request: Request,
    user: User = Depends(page_for(Permission.EMPLOYER_PORTAL)),
    session: Session = Depends(get_session),
) -> Response:
    """Employers: register a worker by applying for a work permit on their behalf."""
    employer = _employer(session, user)
    if employer is None:
        return render(request, "employer_unlinked.html", {}, 409)
    return _register_page(request, employer, {"type": request.query_params.get("type", "")})


def _day(text: str, field: str) -> date | None:
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise svc.PermitError(f"{field}: {text!r} is not a date like 1990-04-30") from None


@router.post("/employer/workers/new")
def register(
    request: Request,
    user: User = Depends(page_for(Permission.EMPLOYER_PORTAL)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
    fields: dict[str, str] = Depends(form_fields),
) -> Response:
    """Employers: open (and send, when complete) an application for a worker."""
    employer = _employer(session, user)
    if employer is None:
        return render(request, "employer_unlinked.html", {}, 409)
    types = open_types(clock_of(request).today(), None, employer_types=True)
    chosen = next((t for t in types if t.type.code == fields.get("type_code")), None)
    if chosen is None:
        return _register_page(request, employer, fields, N_("Choose a permit type."), 400)
    actor = Actor.of(user, settings.node)

    def register() -> bool:
        applicant = svc.Applicant(
            surname=fields.get("surname", ""),
            given_names=fields.get("given_names", ""),
            birth_date=_day(fields.get("birth_date", ""), "date of birth"),
            nationality=fields.get("nationality", ""),
            document_number=fields.get("document_number", ""),
            document_expiry=_day(fields.get("document_expiry", ""), "passport expiry date"),
            sex=fields.get("sex", "X") or "X",
        )
        permit = svc.apply(
            session,
            actor,
            type_code=chosen.type.code,
            today=clock_of(request).today(),
            applicant=applicant,
            country=fields.get("country") or None,
            evidence=evidence_from(fields, chosen.type),
        )
        complete = not chosen.type.evidence.missing(svc.evidence_kinds(session, permit))
        if complete:
            svc.submit(session, actor, permit.id, clock_of(request).today())
        return complete

    complete = attempt(request, session, register)
    if isinstance(complete, Refused):
        return _register_page(request, employer, fields, complete.message, 400)
    return RedirectResponse(
        f"/employer?done={'registered' if complete else 'draft'}", status_code=303
    )


def _check_audited(
    session: Session, settings: Settings, user: User, token: str, today: date
) -> Checked:
    checked = check_token(session, settings, token, today)
    result = checked.verification
    if result is not None:
        audit.record(
            session,
            actor=user.username,
            action="permit.verify",
            node=settings.node,
            entity="permit",
            entity_id=result.claims.permit_id if result.claims else "",
            detail={"status": result.status.value},
        )
        session.commit()
    return checked


@router.get("/employer/verify")
def verify_form(
    request: Request, _user: User = Depends(page_for(Permission.EMPLOYER_PORTAL))
) -> Response:
    """Employers: check a permit a job seeker shows them."""
    return render(request, "employer_verify.html", {"checked": None})


@router.post("/employer/verify")
async def verify_submit(
    request: Request,
    user: User = Depends(page_for(Permission.EMPLOYER_PORTAL)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
    token: str = Form(""),
    image: UploadFile | None = File(None),
) -> Response:
    """Employers: verify by pasted token or uploaded QR image (the check is audited)."""
    text, checked = await token_from_form(token, image)
    if text is not None:
        checked = await run_in_threadpool(
            _check_audited, session, settings, user, text, clock_of(request).today()
        )
    status = 200 if checked.problem is None else 400
    return render(request, "employer_verify.html", {"checked": checked}, status)


def _within(request: Request) -> int:
    text = request.query_params.get("within", "")
    return int(text) if text.isdigit() and int(text) in dom.REMINDER_BANDS else 90


@router.get("/employer/expiring")
def expiring(
    request: Request,
    user: User = Depends(page_for(Permission.EMPLOYER_PORTAL)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> Response:
    """Employers: their workers' permits ending within 30, 60 or 90 days, soonest first."""
    employer = _employer(session, user)
    if employer is None:
        return render(request, "employer_unlinked.html", {}, 409)
    within = _within(request)
    actor = Actor.of(user, settings.node)
    permits = svc.list_permits(session, actor, clock_of(request).today(), expiring_within=within)
    session.commit()  # the listing is audited
    return render(
        request,
        "employer_expiring.html",
        {"employer": employer, "permits": permits, "within": within, "bands": dom.REMINDER_BANDS},
    )


@router.get("/employer/expiring.csv")
def expiring_csv(
    request: Request,
    user: User = Depends(page_for(Permission.EMPLOYER_PORTAL)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> Response:
    """Employers: the same list as a spreadsheet (CSV, cells safe to open)."""
    employer = _employer(session, user)
    if employer is None:
        return render(request, "employer_unlinked.html", {}, 409)
    within = _within(request)
    actor = Actor.of(user, settings.node)
    today = clock_of(request).today()
    permits = svc.list_permits(session, actor, today, expiring_within=within)
    session.commit()  # the listing is audited
    name = f"permits-ending-within-{within}-days-{today.isoformat()}.csv"
    return PlainTextResponse(
        svc.to_csv(permits),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _permit_page(
    request: Request,
    session: Session,
    user: User,
    settings: Settings,
    permit_id: str,
    error: Refused | None = None,
) -> Response:
    employer = _employer(session, user)
    if employer is None:
        return render(request, "employer_unlinked.html", {}, 409)
    actor = Actor.of(user, settings.node)
    try:
        view = svc.view(session, actor, permit_id, clock_of(request).today())
    except (svc.NotFound, svc.Forbidden):  # another employer's permit is not there for them
        return render(request, "error.html", {"error": "missing"}, 404)
    job = session.scalars(
        select(Employment).where(Employment.permit_id == view.id, Employment.end_date.is_(None))
    ).first()
    session.commit()  # the read is audited
    return render(
        request,
        "employer_permit.html",
        {
            "p": view,
            "employment": job,
            "today": clock_of(request).today(),
            "error": error,
            "done": DONE.get(request.query_params.get("done", "")),
        },
        400 if error else 200,
    )


@router.get("/employer/permits/{permit_id}")
def permit_page(
    request: Request,
    permit_id: str,
    user: User = Depends(page_for(Permission.EMPLOYER_PORTAL)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> Response:
    """Employers: one of their workers' permits, and ending the employment under it."""
    return _permit_page(request, session, user, settings, permit_id)


@router.post("/employer/permits/{permit_id}/end-employment")
def end_employment(
    request: Request,
    permit_id: str,
    user: User = Depends(page_for(Permission.EMPLOYER_PORTAL)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
    end_date: str = Form(""),
    reason: str = Form(""),
) -> Response:
    """Employers: report that a worker's employment under a permit has ended."""
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
        if done.not_found or done.status == 403:
            return render(request, "error.html", {"error": "missing"}, 404)
        return _permit_page(request, session, user, settings, permit_id, done)
    return RedirectResponse(f"/employer/permits/{permit_id}?done=ended", status_code=303)
