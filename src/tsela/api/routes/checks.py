"""Border control: check a traveller (POST /v1/checks), record the crossing (POST /v1/crossings),
and the supervisor's review of overrides."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from functools import partial
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Request, Response, status
from pydantic import BaseModel, Field
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from tsela.api.auth import acting, client_source
from tsela.api.deps import clock_of, get_session, get_settings, screening_of
from tsela.api.errors import error_responses
from tsela.api.observability import count_check
from tsela.api.schemas import CheckOut, CrossingRecordedOut, OverrideOut, ReviewedOut
from tsela.config import Settings
from tsela.domain.values import Direction
from tsela.kernel.access import Permission
from tsela.kernel.actor import Actor
from tsela.services import audit, declarations
from tsela.services import checks as svc
from tsela.services.permits import presented as presented_permits

router = APIRouter(prefix="/v1", tags=["border control"])


class TravellerIn(BaseModel):
    surname: str = Field(min_length=1, max_length=120)
    given_names: str = Field("", max_length=160)
    nationality: str = Field(min_length=1, max_length=3, description="ICAO/ISO alpha-3 code")
    birth_date: date | None = None
    sex: str = Field("X", pattern="^[MFX]$")
    expiry_date: date | None = None
    document_type: str = Field("P", max_length=2)


class ChildIn(BaseModel):
    """A child traveller (under 18): how the child travels, the documents the officer saw,
    and the accompanying adults by the document number checked at the same desk."""

    case: Literal["both_parents", "one_parent", "other_adult", "alone"]
    documents_seen: list[str] = Field(
        default_factory=list,
        max_length=10,
        examples=[["birth_certificate", "consent_affidavit"]],
        description="Document codes (docs/security.md, reference/children.toml)",
    )
    adults: list[str] = Field(
        default_factory=list,
        max_length=4,
        description="Document numbers of the accompanying adults, checked at this port",
    )


class CheckIn(BaseModel):
    port: str = Field(min_length=2, max_length=8, examples=["MSU"])
    direction: Direction
    at: datetime | None = Field(None, description="Crossing time with zone; default now")
    mrz: str | None = Field(None, max_length=200, description="The MRZ as scanned")
    document_number: str | None = Field(None, max_length=20)
    issuing_state: str | None = Field(None, max_length=3)
    traveller: TravellerIn | None = None
    child: ChildIn | None = Field(None, description="For a traveller under 18 (optional)")
    declaration: str | None = Field(
        None,
        max_length=2000,
        description="The pre-arrival declaration's QR code as scanned, or its reference as "
        "typed: checked against the passport, used once, shown on the result",
    )
    permit: str | None = Field(
        None,
        max_length=4000,
        description="A permit's QR code as scanned (the signed credential the holder shows), "
        "above all one the partner node issued: verified with the issuing node's published "
        "keys and revocation list, matched with the traveller's document and birth date; "
        "valid, it counts in the stay as this node's own permits do",
    )


class CrossingIn(BaseModel):
    check_id: uuid.UUID
    override_reason: str | None = Field(None, max_length=2000)


class ReviewIn(BaseModel):
    note: str = Field(min_length=1, max_length=2000)


@router.post("/checks", status_code=status.HTTP_201_CREATED, response_model=CheckOut)
async def check_traveller(
    body: CheckIn,
    request: Request,
    user: Actor = Depends(acting(Permission.CHECK_RECORD)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> dict[str, Any]:
    """Check a traveller at a port: document, permits, days of stay, watchlists, history.

    Answers CLEAR, REFER or DENY with every reason, the traveller's summary, recent
    crossings, days remaining and a check id to record the crossing with.
    """
    # In a worker thread, never on the event loop: a check waits on the database (a lock held
    # by another writer, a connection, a network hiccup), and on the loop that wait froze the
    # whole process: requests waiting for a turn were not refused after the queue timeout and
    # new ones were not read, so under load some got no answer at all (issue 14). The loop
    # saved a thread hop (~20% capacity on PostgreSQL); an answer for every request matters more.
    return await run_in_threadpool(partial(_check, body, request, user, session, settings))


def _check(
    body: CheckIn, request: Request, user: Actor, session: Session, settings: Settings
) -> dict[str, Any]:
    traveller = svc.TravellerDetails(**body.traveller.model_dump()) if body.traveller else None
    now = clock_of(request).now()
    req = svc.CheckRequest(
        port=body.port,
        direction=body.direction,
        at=body.at or now,
        mrz=body.mrz,
        document_number=body.document_number,
        issuing_state=body.issuing_state,
        traveller=traveller,
        child=svc.child_service.ChildTravel(
            body.child.case, tuple(body.child.documents_seen), tuple(body.child.adults)
        )
        if body.child
        else None,
    )
    # A refusal (tsela.kernel.errors) keeps nothing and is answered by tsela.api.errors.
    result = svc.run_check(
        session,
        node=settings.node,
        officer=user,
        request=req,
        screening=screening_of(request),
        source=client_source(request),
        now=now,
        declaration=declarations.presented(body.declaration, settings.var_dir, settings.node),
        permit=presented_permits.presented(body.permit, settings.var_dir),
    )
    session.commit()
    count_check(result.check.decision.value, body.port.upper())
    return result.as_dict()


@router.post(
    "/crossings",
    status_code=status.HTTP_201_CREATED,
    response_model=CrossingRecordedOut,
    responses={
        200: {"model": CrossingRecordedOut, "description": "A retry: the crossing recorded before"},
        **error_responses(404, 409),
    },
)
def record_crossing(
    body: CrossingIn,
    request: Request,
    response: Response,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
    user: Actor = Depends(acting(Permission.CHECK_RECORD)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> dict[str, Any]:
    """Record the crossing of a checked traveller. A retry with the same Idempotency-Key and
    body returns the crossing already recorded (200) and never records twice. A check records
    one crossing: under another key (a second desk, a double click) the answer is 409 naming
    the crossing recorded, also when both requests arrive at once."""
    payload = svc.request_hash(body.model_dump(mode="json"))
    attempt = 0
    while True:
        try:
            done = svc.record_crossing(
                session,
                node=settings.node,
                officer=user,
                check_id=body.check_id,
                idempotency_key=idempotency_key or "",
                payload_hash=payload,
                override_reason=body.override_reason,
                source=client_source(request),
                now=clock_of(request).now(),
            )
            session.commit()
            break
        except IntegrityError:
            # A concurrent request recorded this check first (the database allows one
            # crossing per check and per key): asked again, the service answers as it would
            # have after it: a replay for the same key and body, else 409.
            session.rollback()
            attempt += 1
            if attempt > 1:
                raise
    if not done.created:
        response.status_code = status.HTTP_200_OK
    c = done.crossing
    return {
        "crossing_id": str(c.id),
        "check_id": str(done.check.id),
        "direction": c.direction.value,
        "country": c.country,
        "crossed_at": c.crossed_at.isoformat(),
        "decision": c.decision.value,
        "overridden": done.check.override_reason is not None,
        "replayed": not done.created,
    }


@router.get("/overrides", response_model=list[OverrideOut])
def list_overrides(
    port: str | None = None,
    day: date | None = None,
    include_reviewed: bool = False,
    *,
    request: Request,
    user: Actor = Depends(acting(Permission.CHECK_OVERRIDES_READ)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> list[dict[str, Any]]:
    """REFER and DENY decisions (overridden or not) and watchlist hits awaiting review."""
    found = svc.overrides(session, port_code=port, day=day, pending_only=not include_reviewed)
    audit.record(
        session,
        actor=user.username,
        action="overrides.read",
        node=settings.node,
        entity="check",
        detail={
            "port": port,
            "day": str(day) if day else None,
            "checks": [f["check_id"] for f in found],
        },
        source=client_source(request),
    )
    session.commit()
    return [{**f, "reasons": [r["message"] for r in f["reasons"]]} for f in found]


@router.post(
    "/overrides/{check_id}/review", response_model=ReviewedOut, responses=error_responses(404, 409)
)
def review_override(
    check_id: uuid.UUID,
    body: ReviewIn,
    request: Request,
    user: Actor = Depends(acting(Permission.CHECK_REVIEW)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> dict[str, str]:
    """A supervisor signs off a REFER/DENY decision or an override, with a note."""
    check = svc.review(
        session,
        node=settings.node,
        supervisor=user,
        check_id=check_id,
        note=body.note,
        now=clock_of(request).now(),
    )
    session.commit()
    assert check.reviewed_at is not None  # review() has just set it
    return {"check_id": str(check.id), "reviewed_at": check.reviewed_at.isoformat()}
