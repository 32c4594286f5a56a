"""Pre-arrival declarations over HTTP: ``POST /v1/declarations`` (public, no sign-in)."""

from __future__ import annotations

import base64
from datetime import date

from fastapi import APIRouter, Depends, HTTPException, Request, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from tsela.api.auth import client_source
from tsela.api.deps import clock_of, get_session, get_settings
from tsela.api.errors import error_responses
from tsela.api.schemas import DeclarationOut, PurposeOut
from tsela.config import Settings
from tsela.domain import declarations as dom
from tsela.services import declarations as svc
from tsela.services.permit_qr import render_png

router = APIRouter(prefix="/v1", tags=["declarations"])


class ChildIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=dom.MAX_NAME, examples=["Palesa Mokoena"])
    birth_date: date


class DeclarationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    document_number: str = Field(max_length=30, examples=["RA1234567"])
    issuing_state: str = Field(max_length=3, examples=["LSO"])
    birth_date: date = Field(description="The traveller's, as printed in the passport")
    port: str = Field(max_length=8, examples=["MSU"], description="The port expected")
    direction: str = Field(examples=["entry"], description="entry or exit")
    purpose: str = Field(
        max_length=24, examples=["family"], description="A code of GET /v1/declarations/purposes"
    )
    address: str = Field(max_length=dom.MAX_ADDRESS + 50, description="Address at destination")
    stay_days: int = Field(examples=[5], description="Expected length of stay, in days")
    children: list[ChildIn] = Field(default_factory=list, max_length=dom.MAX_CHILDREN + 5)


@router.get("/declarations/purposes", response_model=list[PurposeOut])
def list_purposes() -> list[PurposeOut]:
    """Public: the purposes a declaration can give, with their words in English and Sesotho."""
    return [PurposeOut(code=p.code, en=p.words["en"], st=p.words["st"])
            for p in dom.purposes().values()]  # fmt: skip


@router.post(
    "/declarations",
    status_code=status.HTTP_201_CREATED,
    response_model=DeclarationOut,
    responses=error_responses(429),
)
def make_declaration(
    body: DeclarationIn,
    request: Request,
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> DeclarationOut:
    """Public, no sign-in: a traveller's pre-arrival declaration, bound to their passport
    (number, issuing state, birth date). Answers the reference to write down and the QR code
    to show at the desk with the passport, valid 72 hours for one crossing.

    422 names every refused answer (nothing is kept); rate-limited per address (429 with
    Retry-After); every declaration is audited without the passport number."""
    given = dom.DeclarationInput(
        document_number=body.document_number,
        issuing_state=body.issuing_state,
        birth_date=body.birth_date,
        port=body.port,
        direction=body.direction,
        purpose=body.purpose,
        address=body.address,
        stay_days=body.stay_days,
        children=tuple(dom.Child(c.name, c.birth_date) for c in body.children),
    )
    # A refusal (DeclarationInvalid, Unavailable) keeps nothing: tsela.api.errors answers it.
    try:
        done = svc.declare(
            session,
            node=settings.node,
            source=client_source(request),
            var_dir=settings.var_dir,
            given=given,
            now=clock_of(request).now(),
        )
    except svc.DeclarationThrottled as exc:
        session.commit()  # the refused attempt is audited
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            str(exc),
            headers={"Retry-After": str(exc.retry_after)},
        ) from None
    session.commit()
    return DeclarationOut(
        reference=done.reference,
        valid_until=done.declaration.valid_until,
        qr_text=done.token,
        qr_png=base64.b64encode(render_png(done.token)).decode("ascii"),
    )
