"""The fast lane (issue 20, item 2): one scan of a member's card, one answer (CLEAR or
REFER to secondary inspection), the crossing recorded when CLEAR."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from pydantic import BaseModel, Field
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from tsela.api.auth import acting, client_source
from tsela.api.deps import clock_of, get_session, get_settings, lane_draw, screening_of
from tsela.api.observability import count_check
from tsela.api.schemas import LaneScanOut
from tsela.config import Settings
from tsela.domain.fast_lane import MAX_TOKEN
from tsela.domain.values import Direction
from tsela.kernel.access import Permission
from tsela.kernel.actor import Actor
from tsela.services import fast_lane as svc

router = APIRouter(prefix="/v1", tags=["border control"])


class LaneScanIn(BaseModel):
    port: str = Field(min_length=2, max_length=8, examples=["MSU"])
    direction: Direction
    card: str = Field(
        min_length=1,
        max_length=MAX_TOKEN + 1,
        description="The fast-lane card's QR code as scanned (a token the node signed)",
    )


def scan_card(
    body: LaneScanIn,
    request: Request,
    user: Actor,
    session: Session,
    settings: Settings,
    idempotency_key: str | None,
) -> dict[str, Any]:
    """One scan, in one transaction; a racing retry under the same key is asked again once
    (the crossing's unique key lets one in; the other then finds it)."""
    for attempt in range(2):
        try:
            done = svc.scan(
                session,
                node=settings.node,
                officer=user,
                card_text=body.card,
                port=body.port,
                direction=body.direction,
                now=clock_of(request).now(),
                screening=screening_of(request),
                keys=svc.card_keys(settings.var_dir, settings.node),
                draw=lane_draw(request),
                rate=settings.fast_lane_refer_rate,
                idempotency_key=idempotency_key,
                source=client_source(request),
            )
            session.commit()
            break
        except IntegrityError:
            session.rollback()
            if attempt:
                raise
    count_check(done.answer.value, body.port.upper())
    return done.as_dict()


@router.post("/lane/scans", response_model=LaneScanOut)
async def lane_scan(
    body: LaneScanIn,
    request: Request,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=80)] = None,
    user: Actor = Depends(acting(Permission.CHECK_RECORD)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> dict[str, Any]:
    """The fast lane: one scan of a member's card answers CLEAR (the crossing is recorded)
    or REFER (to secondary inspection, where the officer opens the check by its id). The
    card's signature, the membership, and the ordinary check of the passport the card is
    bound to (entry bans, watchlists, document, stay, history) decide; a share of clear
    scans is referred at random. A watchlist hit, a document alert or an entry ban suspends
    the membership. A card that is not genuine, unreadable or unknown is REFER with the
    reason, and no check (there is no one to check). A retry with the same Idempotency-Key
    answers the crossing recorded before."""
    return await run_in_threadpool(
        partial(scan_card, body, request, user, session, settings, idempotency_key)
    )
