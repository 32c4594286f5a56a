"""Stay rules over HTTP: ``POST /v1/stay/evaluate``."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, HTTPException, Request, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from tsela.api.auth import client_source, require
from tsela.api.deps import get_clock, get_session, get_settings
from tsela.api.errors import error_responses
from tsela.api.schemas import SelfCheckOut, StayEvaluateOut
from tsela.config import Settings
from tsela.domain.stay import (
    PermitCover,
    Stay,
    StayInputError,
    UnknownRuleError,
    evaluate,
    get_rule,
)
from tsela.kernel.access import Permission
from tsela.kernel.clock import Clock
from tsela.services import stay_self_check
from tsela.store.models import User

router = APIRouter(prefix="/v1/stay", tags=["stay"])


class StayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    entry: date
    exit: date | None = Field(default=None, description="None while still in the country.")


class PermitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    permit_type: str = Field(min_length=1, max_length=32, examples=["LEP"])
    valid_from: date
    valid_to: date


class StayEvaluateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rule: str = Field(min_length=1, max_length=64, examples=["LSO-ZAF-VISITOR"])
    as_of: date | None = Field(default=None, description="Default: today at the border (UTC+2).")
    stays: list[StayIn] = Field(default_factory=list, max_length=10_000)
    permits: list[PermitIn] = Field(default_factory=list, max_length=100)


@router.post("/evaluate", response_model=StayEvaluateOut)
def evaluate_stays(
    body: StayEvaluateIn,
    user: User = Depends(require(Permission.STAY_EVALUATE)),
    clock: Clock = Depends(get_clock),
) -> StayEvaluateOut:
    """Apply a stay rule to the stays given: days used, days remaining, latest lawful exit,
    overstay days (in all and per stay) and the reasons in words.

    Pure arithmetic on the dates sent: nothing is read from or written to the database, so
    there is no personal data to audit. 422 names the offending stay or permit.
    """
    del user  # the role check is the point; the answer does not depend on who asks
    as_of = body.as_of or clock.today()
    try:
        rule = get_rule(body.rule)
        result = evaluate(
            rule,
            [Stay(s.entry, s.exit) for s in body.stays],
            as_of,
            [PermitCover(p.valid_from, p.valid_to, p.permit_type.upper()) for p in body.permits],
        )
    except (StayInputError, UnknownRuleError) as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    return StayEvaluateOut.model_validate(result.as_dict())


class SelfCheckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    document_number: str = Field(min_length=1, max_length=30, examples=["RA1234567"])
    birth_date: date
    expiry_date: date = Field(description="The passport's date of expiry, as printed in it.")


@router.post("/self-check", response_model=SelfCheckOut, responses=error_responses(429))
def self_check(
    body: SelfCheckIn,
    request: Request,
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
    clock: Clock = Depends(get_clock),
) -> SelfCheckOut:
    """Public, no sign-in: a traveller's own days of stay under the rule that applies to
    them, from their passport's number, their birth date and the passport's expiry date.

    All three must match one passport; any mismatch answers ``found: false`` and nothing
    else. Rate-limited per address (429 with Retry-After); every attempt is audited, without
    the passport number."""
    try:
        left = stay_self_check.self_check(
            session,
            node=settings.node,
            source=client_source(request),
            number=body.document_number,
            birth_date=body.birth_date,
            expiry=body.expiry_date,
            today=clock.today(),
            now=clock.now(),
        )
    except stay_self_check.SelfCheckThrottled as exc:
        session.commit()  # the refused attempt is audited
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            str(exc),
            headers={"Retry-After": str(exc.retry_after)},
        ) from None
    session.commit()
    if left is None:
        return SelfCheckOut(found=False)
    return SelfCheckOut(
        found=True,
        country=left.country,
        rule=left.rule,
        inside=left.inside,
        days_used=left.days_used,
        days_remaining=left.days_remaining,
        latest_exit=left.latest_exit,
        permit_lifts_limit=left.permit_number is not None,
    )
