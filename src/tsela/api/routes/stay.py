"""Stay rules over HTTP: ``POST /v1/stay/evaluate``."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, HTTPException, status
from pydantic import BaseModel, ConfigDict, Field

from tsela.api.auth import STAFF, require_roles
from tsela.api.deps import get_clock
from tsela.api.schemas import StayEvaluateOut
from tsela.domain.stay import (
    PermitCover,
    Stay,
    StayInputError,
    UnknownRuleError,
    evaluate,
    get_rule,
)
from tsela.kernel.clock import Clock
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
    user: User = Depends(require_roles(*STAFF)),
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
