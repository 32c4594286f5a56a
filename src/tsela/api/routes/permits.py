"""Permits and employers over HTTP: the workflow, signed permits, and their verification.

Roles: applicants (worker) and employers apply and follow their own permits; permit
officers and administrators decide and issue (the permissions PERMIT_APPLY, PERMIT_SPONSOR
and PERMIT_DECIDE of ``tsela.kernel.access``). Verification, the public key set and the
signed revocation list are public (see each route's docstring for why).
"""

from __future__ import annotations

import uuid
from contextlib import AbstractContextManager
from datetime import date
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from tsela.api.auth import acting, require
from tsela.api.deps import get_clock, get_session, get_settings
from tsela.api.errors import error_responses, service_errors, status_of
from tsela.api.schemas import (
    EmployerOut,
    EmploymentEndedOut,
    IssuedPermitOut,
    JwksOut,
    PermitOut,
    PermitTypeOut,
    PermitViewOut,
    VerificationOut,
)
from tsela.config import Settings
from tsela.domain import permits as dom
from tsela.kernel.access import Permission
from tsela.kernel.actor import Actor
from tsela.kernel.clock import Clock
from tsela.kernel.errors import TselaError
from tsela.services import employers as emp
from tsela.services import permit_trust
from tsela.services import permits as svc
from tsela.services.keys import KeyStore, KeyStoreError
from tsela.services.permit_qr import render_png, render_svg
from tsela.store.models import User
from tsela.web.labels import issued_by

# Any permit or employer route may find nothing, or a transition the permit cannot make.
router = APIRouter(tags=["permits"], responses=error_responses(404, 409))

JWT_MEDIA = "application/jwt"


def _keys(settings: Settings) -> KeyStore:
    return KeyStore(settings.var_dir, settings.node)


def _http(exc: Exception) -> HTTPException:
    """The status of each kind of refusal (tsela.api.errors); the message is the service's."""
    if isinstance(exc, TselaError):
        return HTTPException(status_of(exc), str(exc))
    if isinstance(exc, KeyStoreError):
        return HTTPException(503, f"signing keys unavailable: {exc}")
    return HTTPException(422, str(exc))


def _service(session: Session | None) -> AbstractContextManager[None]:
    """One use case in the request's transaction; every service refusal is a ValueError."""
    return service_errors(session, ValueError, _http)


def _keys_errors() -> AbstractContextManager[None]:
    """Public routes that only read: an unusable key store is 503, anything else a bug."""
    return service_errors(None, KeyStoreError, _http)


# --- models -------------------------------------------------------------------------------


class ApplicantIn(BaseModel):
    surname: str = Field(..., max_length=120)
    given_names: str = Field("", max_length=160)
    birth_date: date | None = None
    nationality: str = Field(..., min_length=3, max_length=3, examples=["LSO"])
    document_number: str = Field(..., max_length=20, examples=["RA1234567"])
    document_expiry: date
    issuing_state: str | None = Field(None, min_length=3, max_length=3)
    sex: Literal["M", "F", "X"] = "X"


class EvidenceIn(BaseModel):
    kind: str = Field(..., max_length=40, examples=["passport"])
    reference: str = Field("", max_length=160)
    note: str = Field("", max_length=2000)


class ApplicationIn(BaseModel):
    """Either ``applicant`` (as on the travel document) or ``person_id`` of a known person."""

    permit_type: str = Field(..., examples=["SEASONAL"])
    applicant: ApplicantIn | None = None
    person_id: uuid.UUID | None = None
    employer: str | None = Field(None, description="Employer id or registration number")
    country: str | None = Field(None, min_length=3, max_length=3)
    evidence: list[EvidenceIn] = Field(default_factory=list, max_length=50)


class DecisionIn(BaseModel):
    decision: Literal[
        "approve", "reject", "request_evidence", "suspend", "reinstate", "revoke", "expire"
    ]
    reason: str | None = Field(None, max_length=2000)


class EndEmploymentIn(BaseModel):
    end_date: date
    reason: str = Field(..., max_length=2000)


class VerifyIn(BaseModel):
    token: str = Field(..., max_length=8000, description="The signed permit (from its QR code)")


class EmployerIn(BaseModel):
    registration_number: str = Field(..., max_length=60, examples=["2019/123456/07"])
    name: str = Field(..., max_length=200)
    sector: str = Field(..., max_length=60)
    address: str = Field("", max_length=2000)
    contact: str = Field("", max_length=200)
    country: str = Field("ZAF", min_length=3, max_length=3)


DECISION_TARGET = {
    "approve": "approved",
    "reject": "rejected",
    "request_evidence": "evidence_requested",
    "suspend": "suspended",
    "reinstate": "issued",
    "revoke": "revoked",
    "expire": "expired",
}


def _permit_out(session: Session, actor: Actor, ref: str, today: date) -> dict[str, Any]:
    view = svc.view(session, actor, ref, today).as_dict()
    view["history"] = [
        {
            "at": e.at.isoformat(),
            "action": e.action,
            "from": e.from_status,
            "to": e.to_status,
            "by": e.actor,
            "role": e.role,
            "reason": e.reason,
        }
        for e in svc.history(session, actor, ref)
    ]
    return view


# --- public: types, keys, revocations, verify ---------------------------------------------


@router.get("/v1/permit-types", response_model=list[PermitTypeOut])
def list_permit_types() -> list[dict[str, Any]]:
    """Permit types with rights, validity, evidence and conditions.

    Public: the rules for permits are public information applicants need before applying.
    """
    return [
        {
            "code": t.code,
            "name": t.name,
            "description": t.description,
            "countries": list(t.countries),
            "nationalities": list(t.nationalities),
            "rights": list(t.rights),
            "overrides_stay_limit": t.overrides_stay_limit,
            "validity_days": t.validity_days,
            "valid_until": t.valid_until.isoformat() if t.valid_until else None,
            "applications_open": t.applications_open.isoformat() if t.applications_open else None,
            "applications_close": t.applications_close.isoformat()
            if t.applications_close
            else None,
            "renewable": t.renewable,
            "employer_required": t.employer_required,
            "evidence": {
                "required": list(t.evidence.required),
                "any_of": [list(g) for g in t.evidence.any_of],
            },
            "conditions": list(t.conditions),
            "fee_zar": t.fee_zar,
        }
        for t in dom.permit_types().values()
    ]


@router.get("/v1/permits/keys", response_model=JwksOut, response_model_exclude_unset=True)
def permit_keys(
    response: Response,
    settings: Settings = Depends(get_settings),
    clock: Clock = Depends(get_clock),
) -> dict[str, Any]:
    """This node's public key set (JWKS), active and retired keys.

    Public: offline verifiers (police, employers, port scanners) download it; it holds only
    public keys.
    """
    with _keys_errors():
        store = _keys(settings)
        store.ensure(clock.now())
        keys = store.jwks()
    response.headers["Cache-Control"] = "public, max-age=3600"
    return keys


@router.get(
    "/v1/permits/revocations",
    response_class=Response,
    responses={
        200: {"description": "A JWS", "content": {JWT_MEDIA: {"schema": {"type": "string"}}}}
    },
)
def permit_revocations(
    settings: Settings = Depends(get_settings),
    session: Session = Depends(get_session),
    clock: Clock = Depends(get_clock),
) -> Response:
    """The signed list of this node's revoked and suspended permits (a JWS, by permit id).

    Public: offline verifiers download it to stay current; it names no person, only the
    ids already printed in the permits' own tokens, and is signed so it cannot be faked.
    """
    with _keys_errors():
        signed = svc.signed_revocation_list(session, _keys(settings), clock.now())
    return Response(signed, media_type=JWT_MEDIA, headers={"Cache-Control": "no-cache"})


@router.post("/v1/permits/verify", response_model=VerificationOut)
def verify_permit(
    body: VerifyIn,
    settings: Settings = Depends(get_settings),
    session: Session = Depends(get_session),
    clock: Clock = Depends(get_clock),
) -> dict[str, Any]:
    """Verify a permit: valid, expired, suspended, revoked, forged, unknown or withdrawn key.

    Public: a police officer or an employer checks a permit someone shows them; the answer
    repeats only what the signed permit itself carries (holder, type, rights, validity) and
    which country issued it. This node's register says whether one of its own permits was
    revoked or suspended since; a partner's permit is checked with the keys, revocation list
    and status changes the partner publishes through the exchange.
    """
    with _keys_errors():
        result = permit_trust.verify(
            session, settings.var_dir, settings.node, body.token, clock.today()
        )
    return svc.verification_answer(result, issued_by(result.issued_by))


# --- applications and decisions ------------------------------------------------------------


@router.post("/v1/permits", status_code=201, response_model=PermitOut)
def apply_for_permit(
    body: ApplicationIn,
    actor: Actor = Depends(acting(Permission.PERMIT_APPLY)),
    session: Session = Depends(get_session),
    clock: Clock = Depends(get_clock),
) -> dict[str, Any]:
    """Open an application (a draft permit). Workers apply for themselves, employers for
    their workers, officers at the counter."""
    applicant = svc.Applicant(**body.applicant.model_dump()) if body.applicant else None
    evidence = [svc.EvidenceItem(e.kind, e.reference, e.note) for e in body.evidence]
    with _service(session):
        permit = svc.apply(
            session,
            actor,
            type_code=body.permit_type,
            today=clock.today(),
            applicant=applicant,
            person_id=body.person_id,
            employer=body.employer,
            country=body.country,
            evidence=evidence,
        )
        return _permit_out(session, actor, permit.number, clock.today())


@router.get(
    "/v1/permits",
    response_model=list[PermitViewOut],
    responses={
        200: {
            "description": "The permits (JSON), or with format=csv a CSV file",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        }
    },
)
def list_permits(
    employer: str | None = Query(None, description="Employer id or registration number"),
    permit_type: str | None = Query(None, alias="type"),
    status: str | None = None,
    expiring_within: int | None = Query(None, ge=0, le=3650),
    format: Literal["json", "csv"] = "json",
    actor: Actor = Depends(acting(Permission.PERMIT_APPLY)),
    session: Session = Depends(get_session),
    clock: Clock = Depends(get_clock),
) -> Any:
    """Permits the caller may see (employers: their workers'; workers: their own), with
    filters; ``expiring_within=30|60|90`` gives the reminder lists; ``format=csv`` exports."""
    with _service(session):
        employer_id = emp.get_employer(session, employer).id if employer else None
        views = svc.list_permits(
            session,
            actor,
            clock.today(),
            employer_id=employer_id,
            type_code=permit_type,
            status=status,
            expiring_within=expiring_within,
        )
    if format == "csv":
        return Response(
            svc.to_csv(views),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="permits.csv"'},
        )
    return [v.as_dict() for v in views]


@router.get("/v1/permits/expiring-summary", response_model=dict[str, dict[int, int]])
def expiring_summary(
    by: Literal["employer", "type"] = "employer",
    within: int = Query(90, ge=0, le=365),
    actor: Actor = Depends(acting(Permission.PERMIT_SPONSOR)),
    session: Session = Depends(get_session),
    clock: Clock = Depends(get_clock),
) -> dict[str, dict[int, int]]:
    """Counts of permits ending within 30, 60 and 90 days, by employer or by type."""
    with _service(session):
        views = svc.list_permits(session, actor, clock.today(), expiring_within=within)
    return svc.expiring_summary(views, by)


@router.get("/v1/permits/{ref}", response_model=PermitOut)
def get_permit(
    ref: str,
    actor: Actor = Depends(acting(Permission.PERMIT_APPLY)),
    session: Session = Depends(get_session),
    clock: Clock = Depends(get_clock),
) -> dict[str, Any]:
    """A permit (by id or number) with its status today and its history."""
    with _service(session):
        return _permit_out(session, actor, ref, clock.today())


@router.post("/v1/permits/{ref}/evidence", response_model=PermitOut)
def add_evidence(
    ref: str,
    items: list[EvidenceIn],
    actor: Actor = Depends(acting(Permission.PERMIT_APPLY)),
    session: Session = Depends(get_session),
    clock: Clock = Depends(get_clock),
) -> dict[str, Any]:
    """Add evidence to an application (draft, submitted or evidence requested)."""
    evidence = [svc.EvidenceItem(e.kind, e.reference, e.note) for e in items]
    with _service(session):
        svc.add_evidence(session, actor, ref, evidence)
        return _permit_out(session, actor, ref, clock.today())


@router.post("/v1/permits/{ref}/submit", response_model=PermitOut)
def submit_application(
    ref: str,
    actor: Actor = Depends(acting(Permission.PERMIT_APPLY)),
    session: Session = Depends(get_session),
    clock: Clock = Depends(get_clock),
) -> dict[str, Any]:
    """Submit an application, or answer a request for evidence."""
    with _service(session):
        svc.submit(session, actor, ref, clock.today())
        return _permit_out(session, actor, ref, clock.today())


@router.post("/v1/permits/{ref}/decision", response_model=PermitOut)
def decide(
    ref: str,
    body: DecisionIn,
    actor: Actor = Depends(acting(Permission.PERMIT_DECIDE)),
    session: Session = Depends(get_session),
    clock: Clock = Depends(get_clock),
) -> dict[str, Any]:
    """An officer's decision; a reason is required to reject, request evidence, suspend,
    reinstate or revoke. Illegal moves answer 409 with what is possible instead."""
    with _service(session):
        svc.decide(session, actor, ref, DECISION_TARGET[body.decision], body.reason)
        return _permit_out(session, actor, ref, clock.today())


@router.post("/v1/permits/{ref}/issue", response_model=IssuedPermitOut)
def issue_permit(
    ref: str,
    actor: Actor = Depends(acting(Permission.PERMIT_DECIDE)),
    settings: Settings = Depends(get_settings),
    session: Session = Depends(get_session),
    clock: Clock = Depends(get_clock),
) -> dict[str, Any]:
    """Issue an approved permit: fixes its validity and signs the credential (``token``)."""
    now = clock.now()
    with _service(session):
        permit = svc.issue(session, actor, ref, _keys(settings).signer(now), clock.today(), now)
        out = _permit_out(session, actor, ref, clock.today())
        out["token"] = permit.token
        out["kid"] = permit.kid
        return out


@router.post("/v1/permits/{ref}/renew", status_code=201, response_model=PermitOut)
def renew_permit(
    ref: str,
    actor: Actor = Depends(acting(Permission.PERMIT_APPLY)),
    session: Session = Depends(get_session),
    clock: Clock = Depends(get_clock),
) -> dict[str, Any]:
    """Open a renewal application for an expiring permit (evidence carried over)."""
    with _service(session):
        new = svc.renew(session, actor, ref, clock.today())
        return _permit_out(session, actor, new.number, clock.today())


@router.post("/v1/permits/{ref}/end-employment", response_model=EmploymentEndedOut)
def end_employment(
    ref: str,
    body: EndEmploymentIn,
    actor: Actor = Depends(acting(Permission.PERMIT_SPONSOR)),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    """An employer reports that a worker's employment under this permit has ended."""
    with _service(session):
        job = svc.end_employment(session, actor, ref, body.end_date, body.reason)
        return {
            "permit": ref,
            "employer_id": str(job.employer_id),
            "end_date": body.end_date.isoformat(),
            "reason": job.end_reason,
        }


@router.get(
    "/v1/permits/{ref}/qr.{kind}",
    response_class=Response,
    responses={
        200: {
            "description": "The QR code",
            "content": {
                "image/png": {"schema": {"type": "string", "format": "binary"}},
                "image/svg+xml": {"schema": {"type": "string"}},
            },
        }
    },
)
def permit_qr(
    ref: str,
    kind: Literal["png", "svg"],
    actor: Actor = Depends(acting(Permission.PERMIT_APPLY)),
    session: Session = Depends(get_session),
    clock: Clock = Depends(get_clock),
) -> Response:
    """The QR code of an issued permit's signed credential, to print on the card."""
    with _service(session):
        permit = svc.load_permit(session, ref)
        svc.view(session, actor, ref, clock.today())  # scope check, and the read is audited
        if not permit.token:
            raise svc.PermitError(f"permit {permit.number} has not been issued ({permit.status})")
        token = permit.token
    if kind == "png":
        return Response(render_png(token), media_type="image/png")
    return Response(render_svg(token), media_type="image/svg+xml")


# --- employers --------------------------------------------------------------------------------


@router.post("/v1/employers", status_code=201, response_model=EmployerOut)
def register_employer(
    body: EmployerIn,
    actor: Actor = Depends(acting(Permission.PERMIT_DECIDE)),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    """Register an employer."""
    with _service(session):
        return _employer_out(emp.register_employer(session, actor, **body.model_dump()))


def _employer_out(e: Any) -> dict[str, Any]:
    return {
        "id": str(e.id),
        "registration_number": e.registration_number,
        "name": e.name,
        "sector": e.sector,
        "address": e.address,
        "contact": e.contact,
        "country": e.country,
    }


@router.get("/v1/employers", response_model=list[EmployerOut])
def list_employers(
    sector: str | None = None,
    user: User = Depends(require(Permission.PERMIT_DECIDE)),
    session: Session = Depends(get_session),
) -> list[dict[str, Any]]:
    """The registry of employers."""
    del user
    return [_employer_out(e) for e in emp.list_employers(session, sector)]


@router.get("/v1/employers/{ref}/permits", response_model=list[PermitViewOut])
def employer_permits(
    ref: str,
    request: Request,
    actor: Actor = Depends(acting(Permission.PERMIT_SPONSOR)),
    session: Session = Depends(get_session),
    clock: Clock = Depends(get_clock),
) -> list[dict[str, Any]]:
    """The permits of an employer's workers (an employer sees only its own)."""
    del request
    with _service(session):
        views = emp.workers_permits(session, actor, ref, clock.today())
    return [v.as_dict() for v in views]
