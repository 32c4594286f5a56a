"""Refusals of entry and entry bans (issue 18): POST/GET /v1/refusals, the refusal notice,
POST/GET /v1/entry-bans and their lifting or shortening, the grounds catalogue."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from tsela.api.auth import client_source, require
from tsela.api.deps import clock_of, get_session, get_settings
from tsela.api.errors import error_responses
from tsela.api.schemas.refusals import (
    BanChangeOut,
    EntryBanOut,
    EntryBanPageOut,
    GroundOut,
    RefusalOut,
    RefusalPageOut,
)
from tsela.config import Settings
from tsela.domain import refusals as rules
from tsela.kernel.access import Permission
from tsela.services import audit
from tsela.services import refusals as svc
from tsela.store.models import User

router = APIRouter(prefix="/v1", tags=["refusals and entry bans"])


class TravellerIn(BaseModel):
    surname: str = Field(min_length=1, max_length=120)
    given_names: str = Field("", max_length=160)
    nationality: str = Field(min_length=1, max_length=3)
    birth_date: date | None = None
    document_country: str | None = Field(None, max_length=3)
    document_number: str | None = Field(None, max_length=20)


class RefusalIn(BaseModel):
    grounds: list[str] = Field(min_length=1, max_length=9, examples=[["C", "E"]])
    remarks: str = Field("", max_length=2000)
    check_id: uuid.UUID | None = Field(None, description="The entry check it is made from")
    port: str | None = Field(None, max_length=8, description="Without a check: the port")
    traveller: TravellerIn | None = Field(None, description="Without a check: who")
    at: datetime | None = Field(None, description="Without a check: when (default now)")


class EntryBanIn(BaseModel):
    starts_on: date
    ends_on: date = Field(description="Last day of the ban (included)")
    refusal_id: uuid.UUID | None = None
    traveller: TravellerIn | None = None
    ground: str | None = Field(None, max_length=2, description="A refusal ground code")
    legal_basis: str | None = Field(None, max_length=2000)


class BanChangeIn(BaseModel):
    action: Literal["lift", "shorten"]
    reason: str = Field(min_length=1, max_length=2000)
    new_end: date | None = Field(None, description="For shorten: the new last day")
    appeal_reference: str | None = Field(None, max_length=80)


def _traveller(t: TravellerIn | None) -> svc.Traveller | None:
    return svc.Traveller(**t.model_dump()) if t else None


def _read(session: Session, settings: Settings, user: User, request: Request, **what: Any) -> None:
    audit.record(
        session,
        actor=user.username,
        action="refusal.read",
        node=settings.node,
        detail={k: str(v) for k, v in what.items()},
        source=client_source(request),
    )
    session.commit()


@router.get("/refusal-grounds", response_model=list[GroundOut])
def grounds(
    _user: User = Depends(require(Permission.REFUSAL_GROUNDS_READ)),
) -> list[dict[str, Any]]:
    """The grounds a refusal names (codes A to I), each with its provision in each country."""
    return [g.as_dict() for g in rules.catalogue().grounds.values()]


@router.post(
    "/refusals",
    status_code=status.HTTP_201_CREATED,
    response_model=RefusalOut,
    responses=error_responses(403, 404, 409, 422),
)
def create_refusal(
    body: RefusalIn,
    request: Request,
    user: User = Depends(require(Permission.REFUSAL_RECORD)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> dict[str, Any]:
    """Refuse a traveller entry, from an entry check or typed in; offered to the partner.
    An unknown ground, a citizen of this country, a check already recorded or refused:
    4xx, nothing recorded, the refusal audited."""
    refusal = svc.refuse(
        session,
        node=settings.node,
        officer=user,
        grounds=body.grounds,
        remarks=body.remarks,
        check_id=body.check_id,
        port=body.port,
        traveller=_traveller(body.traveller),
        at=body.at,
        now=clock_of(request).now(),
        source=client_source(request),
    )
    out = svc.refusal_out(refusal)
    session.commit()
    return out


@router.get("/refusals", response_model=RefusalPageOut)
def list_refusals(
    request: Request,
    offset: int = Query(0, ge=0),
    limit: int = Query(50, ge=1, le=svc.MAX_PAGE),
    user: User = Depends(require(Permission.REFUSAL_RECORD)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> dict[str, Any]:
    """Refusals, this node's and the partner's, newest first, a page at a time."""
    rows, total = svc.list_refusals(session, offset=offset, limit=limit)
    items = [svc.refusal_out(r) for r in rows]
    _read(session, settings, user, request, list="refusals", offset=offset, n=len(items))
    return {"items": items, "total": total, "offset": offset, "limit": limit}


@router.get("/refusals/{refusal_id}", response_model=RefusalOut, responses=error_responses(404))
def get_refusal(
    refusal_id: uuid.UUID,
    request: Request,
    user: User = Depends(require(Permission.REFUSAL_RECORD)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> dict[str, Any]:
    out = svc.refusal_out(svc.get_refusal(session, refusal_id))
    _read(session, settings, user, request, refusal=refusal_id)
    return out


@router.get(
    "/refusals/{refusal_id}/notice",
    response_class=Response,
    responses={
        200: {
            "content": {
                "text/html": {"schema": {"type": "string"}},
                "application/pdf": {"schema": {"type": "string", "format": "binary"}},
            },
            "description": "The notice for the traveller",
        },
        **error_responses(404, 422),
    },
)
def refusal_notice(
    refusal_id: uuid.UUID,
    request: Request,
    lang: str = Query("en", max_length=8, description="en or st"),
    format: Literal["html", "pdf"] = Query("html"),
    user: User = Depends(require(Permission.REFUSAL_RECORD)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> Response:
    """The refusal notice for the traveller, in English or Sesotho, as a page or a PDF:
    the grounds, their legal basis, any entry ban, and how to appeal."""
    refusal = svc.get_refusal(session, refusal_id)
    if format == "pdf":
        body: bytes | str = svc.notice_pdf(session, refusal, lang)
    else:
        body = svc.notice_html(session, refusal, lang)
    _read(session, settings, user, request, notice=refusal_id, lang=lang, format=format)
    if format == "pdf":
        return Response(
            body,
            media_type="application/pdf",
            headers={"Content-Disposition": f'inline; filename="refusal-{refusal_id}-{lang}.pdf"'},
        )
    return HTMLResponse(body)


@router.post(
    "/entry-bans",
    status_code=status.HTTP_201_CREATED,
    response_model=EntryBanOut,
    responses=error_responses(404, 409, 422),
)
def create_ban(
    body: EntryBanIn,
    request: Request,
    user: User = Depends(require(Permission.ENTRY_BAN_DECIDE)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> dict[str, Any]:
    """Ban a traveller from entering this country, from a refusal or named here. An end
    before the start, an unknown ground, a citizen: 4xx, nothing recorded, audited."""
    ban = svc.create_ban(
        session,
        node=settings.node,
        user=user,
        starts_on=body.starts_on,
        ends_on=body.ends_on,
        refusal_id=body.refusal_id,
        traveller=_traveller(body.traveller),
        ground=body.ground,
        legal_basis=body.legal_basis,
        now=clock_of(request).now(),
        source=client_source(request),
    )
    out = svc.ban_out(session, ban)
    session.commit()
    return out


@router.get("/entry-bans", response_model=EntryBanPageOut)
def list_bans(
    request: Request,
    offset: int = Query(0, ge=0),
    limit: int = Query(50, ge=1, le=svc.MAX_PAGE),
    user: User = Depends(require(Permission.REFUSAL_RECORD)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> dict[str, Any]:
    """Entry bans, this node's and the partner's, newest first."""
    rows, total = svc.list_bans(session, offset=offset, limit=limit)
    items = [svc.ban_out(session, b) for b in rows]
    _read(session, settings, user, request, list="entry_bans", offset=offset, n=len(items))
    return {"items": items, "total": total, "offset": offset, "limit": limit}


@router.get("/entry-bans/{ban_id}", response_model=EntryBanOut, responses=error_responses(404))
def get_ban(
    ban_id: uuid.UUID,
    request: Request,
    user: User = Depends(require(Permission.REFUSAL_RECORD)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> dict[str, Any]:
    out = svc.ban_out(session, svc.get_ban(session, ban_id))
    _read(session, settings, user, request, entry_ban=ban_id)
    return out


@router.post(
    "/entry-bans/{ban_id}/changes",
    status_code=status.HTTP_201_CREATED,
    response_model=BanChangeOut,
    responses=error_responses(404, 409, 422),
)
def change_ban(
    ban_id: uuid.UUID,
    body: BanChangeIn,
    request: Request,
    user: User = Depends(require(Permission.ENTRY_BAN_DECIDE)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> dict[str, Any]:
    """Lift or shorten a ban this node issued (on appeal or otherwise), approved by the
    supervisor calling, with the reason; the partner receives the ban's new state."""
    change = svc.change_ban(
        session,
        node=settings.node,
        supervisor=user,
        ban_id=ban_id,
        action=body.action,
        reason=body.reason,
        new_end=body.new_end,
        appeal_reference=body.appeal_reference,
        now=clock_of(request).now(),
        source=client_source(request),
    )
    from tsela.store.refusals import as_dict

    out = as_dict(change)
    session.commit()
    return out
