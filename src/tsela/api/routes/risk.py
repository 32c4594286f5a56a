"""Risk rules (issue 18, item 5): the rules and their modes (GET /v1/risk-rules), a
supervisor switching one (PUT /v1/risk-rules/{rule_id}), the officer confirming or dismissing
a hit (POST /v1/risk-hits/{hit_id}/outcome), and each rule's tally for the observatory
(GET /v1/risk-hits/summary)."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from tsela.api.auth import acting
from tsela.api.deps import clock_of, get_session, get_settings
from tsela.api.errors import error_responses
from tsela.api.schemas.risk import RiskHitOut, RiskRuleOut, RiskTallyPageOut
from tsela.config import Settings
from tsela.kernel.access import Permission
from tsela.kernel.actor import Actor
from tsela.kernel.errors import Invalid
from tsela.services import risk as svc

router = APIRouter(prefix="/v1", tags=["risk rules"])

MAX_DAYS = 366  # the tally's longest period


class ModeIn(BaseModel):
    mode: Literal["on", "inform", "off"]
    reason: str = Field(min_length=1, max_length=2000, description="Why (at least 10 characters)")


class OutcomeIn(BaseModel):
    outcome: Literal["confirmed", "dismissed"]
    note: str = Field("", max_length=2000)


@router.get("/risk-rules", response_model=list[RiskRuleOut])
def list_rules(
    _user: Actor = Depends(acting(Permission.RISK_RULES_READ)),
    session: Session = Depends(get_session),
) -> list[dict[str, Any]]:
    """Every risk rule with its parameters, source and rationale, and its mode at this node."""
    return [state.as_dict() for state in svc.list_rules(session)]


@router.put("/risk-rules/{rule_id}", response_model=RiskRuleOut, responses=error_responses(404))
def set_mode(
    rule_id: str,
    body: ModeIn,
    request: Request,
    user: Actor = Depends(acting(Permission.RISK_RULES_MANAGE)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> dict[str, Any]:
    """A supervisor switches a rule on, off or to inform only (a hit is shown and recorded but
    does not change the decision), saying why; audited. An unknown rule: 404."""
    state = svc.set_mode(
        session,
        node=settings.node,
        actor=user,
        rule_id=rule_id,
        mode=body.mode,
        reason=body.reason,
        now=clock_of(request).now(),
    )
    out = state.as_dict()
    session.commit()
    return out


@router.post(
    "/risk-hits/{hit_id}/outcome",
    response_model=RiskHitOut,
    responses=error_responses(404, 409),
)
def decide_hit(
    hit_id: uuid.UUID,
    body: OutcomeIn,
    request: Request,
    user: Actor = Depends(acting(Permission.CHECK_RECORD)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> dict[str, Any]:
    """The officer confirms a hit (the concern was real) or dismisses it, once; a border
    officer the hits of their own port's checks only. Audited."""
    hit = svc.decide_hit(
        session,
        node=settings.node,
        actor=user,
        hit_id=hit_id,
        outcome=body.outcome,
        note=body.note,
        now=clock_of(request).now(),
    )
    out = svc.hit_out(hit)
    session.commit()
    return out


def period(start: date | None, end: date | None, today: date) -> tuple[date, date]:
    """The tally's border days: the last 90 by default; at most ``MAX_DAYS``."""
    end = end or today
    start = start or end - timedelta(days=89)
    if start > end:
        raise Invalid("risk.period_reversed", "the period starts after it ends")
    if (end - start).days >= MAX_DAYS:
        raise Invalid("risk.period_long", "a period of at most %(max)s days", max=MAX_DAYS)
    return start, end


@router.get("/risk-hits/summary", response_model=RiskTallyPageOut)
def summary(
    request: Request,
    start: date | None = Query(None, description="First border day (default: 90 days ago)"),
    end: date | None = Query(None, description="Last border day (default: today)"),
    _user: Actor = Depends(acting(Permission.OBSERVATORY_READ)),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    """Each risk rule's hits at the checks of the period, how many while inform only, how many
    the officers confirmed and dismissed: a rule that only makes noise shows here."""
    first, last = period(start, end, clock_of(request).today())
    return {
        "start": first,
        "end": last,
        "rules": [t.as_dict() for t in svc.tally(session, first, last)],
    }
