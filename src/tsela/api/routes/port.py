"""For port clients that must keep working offline: a snapshot to check against, and the
upload of crossings recorded while the link was down."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Request, Response, status
from pydantic import BaseModel, Field
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tsela.api.auth import acting, client_source
from tsela.api.deps import clock_of, get_session, get_settings, screening_of
from tsela.api.routes.checks import CheckIn
from tsela.api.schemas import DiscardOut, OfflineCrossingOut, SnapshotOut
from tsela.config import Settings
from tsela.kernel.access import Permission
from tsela.kernel.actor import Actor
from tsela.services import checks as svc
from tsela.services import port_sync

router = APIRouter(prefix="/v1/port", tags=["offline ports"])


class OfflineCrossingIn(CheckIn):
    local_decision: str = Field(pattern="^(CLEAR|REFER|DENY)$")
    override_reason: str | None = Field(None, max_length=2000)


class DiscardIn(BaseModel):
    """A crossing a port operator dropped from the queue (``tsela port discard``)."""

    port: str = Field(min_length=1, max_length=10)
    reason: str = Field(min_length=1, max_length=2000)
    kind: str = Field(pattern="^(online|offline)$")
    crossing: dict[str, Any]  # the request that was queued, as it was
    queued_at: str = Field(max_length=40)
    discarded_at: str = Field(max_length=40)
    refusal: str | None = Field(None, max_length=2000)  # the server's refusal, if any


@router.get("/snapshot", response_model=SnapshotOut)
def port_snapshot(
    port: str,
    request: Request,
    user: Actor = Depends(acting(Permission.CHECK_RECORD)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> dict[str, Any]:
    """Watchlists and document alerts (this node's and the partner's) for a port's offline
    copy (the officer's own port), and every node's permit keys and signed revocation list
    for verifying permits offline."""
    found = svc.find_port(session, port)
    svc.ensure_posted(session, user, found, "download the snapshot")
    from tsela.services import audit

    audit.record(
        session,
        actor=user.username,
        action="port.snapshot",
        node=settings.node,
        entity="port",
        entity_id=found.code,
        source=client_source(request),
    )
    session.commit()
    return port_sync.snapshot(
        session,
        node=settings.node,
        port=found.code,
        var_dir=settings.var_dir,
        now=clock_of(request).now(),
    )


@router.post(
    "/crossings",
    status_code=status.HTTP_201_CREATED,
    response_model=OfflineCrossingOut,
    response_model_exclude_unset=True,
    responses={200: {"model": OfflineCrossingOut, "description": "A retry: recorded before"}},
)
def upload_offline_crossing(
    body: OfflineCrossingIn,
    request: Request,
    response: Response,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
    user: Actor = Depends(acting(Permission.CHECK_RECORD)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> dict[str, Any]:
    """A crossing recorded while the port was offline: checked as of its time and recorded
    once, whatever the retries (Idempotency-Key)."""
    if not idempotency_key:
        raise HTTPException(422, "an Idempotency-Key header is required")
    if body.at is None:
        raise HTTPException(422, "an offline crossing must say when it happened ('at')")
    traveller = svc.TravellerDetails(**body.traveller.model_dump()) if body.traveller else None
    req = svc.CheckRequest(
        port=body.port,
        direction=body.direction,
        at=body.at,
        mrz=body.mrz,
        document_number=body.document_number,
        issuing_state=body.issuing_state,
        traveller=traveller,
    )
    payload = svc.request_hash(body.model_dump(mode="json"))
    for attempt in range(2):
        try:
            result, created = port_sync.accept_offline_crossing(
                session,
                node=settings.node,
                officer=user,
                request=req,
                idempotency_key=idempotency_key,
                payload_hash=payload,
                local_decision=body.local_decision,
                officer_reason=body.override_reason,
                screening=screening_of(request),
                source=client_source(request),
                now=clock_of(request).now(),
            )
            session.commit()
            break
        except IntegrityError:
            session.rollback()  # a concurrent retry recorded it first: answer as a replay
            if attempt:
                raise
    if not created:
        response.status_code = status.HTTP_200_OK
    return {**result, "replayed": not created}


@router.post(
    "/discards",
    status_code=status.HTTP_201_CREATED,
    response_model=DiscardOut,
    responses={200: {"model": DiscardOut, "description": "A retry: reported before"}},
)
def report_discard(
    body: DiscardIn,
    request: Request,
    response: Response,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=80)] = None,
    user: Actor = Depends(acting(Permission.CHECK_RECORD)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> DiscardOut:
    """A port operator discarded a queued crossing (the Idempotency-Key it was queued with):
    recorded in the audit log, once whatever the retries."""
    if not idempotency_key:
        raise HTTPException(422, "an Idempotency-Key header is required")
    found = svc.find_port(session, body.port)
    svc.ensure_posted(session, user, found, "discard a crossing")
    created = port_sync.record_discard(
        session,
        node=settings.node,
        officer=user,
        port=found.code,
        idempotency_key=idempotency_key,
        detail=body.model_dump(exclude={"port"}),
        source=client_source(request),
    )
    session.commit()
    if not created:
        response.status_code = status.HTTP_200_OK
    return DiscardOut(recorded=True, replayed=not created)
