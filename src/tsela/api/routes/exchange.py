"""The exchange's status for supervisors (GET /v1/exchange/status). The feed itself is on the
mutual-TLS listener (tsela.api.exchange), never on this API."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Query
from sqlalchemy.orm import Session

from tsela.api.auth import require
from tsela.api.deps import get_clock, get_session, get_settings
from tsela.api.schemas import ExchangeStatusOut
from tsela.config import Settings
from tsela.kernel.access import Permission
from tsela.kernel.clock import Clock
from tsela.services import exchange_ops as ops
from tsela.store.models import User

router = APIRouter(prefix="/v1/exchange", tags=["exchange"])


@router.get("/status", response_model=ExchangeStatusOut)
def exchange_status(
    days: int = Query(
        ops.UNMATCHED_DAYS,
        ge=1,
        le=ops.MAX_DAYS,
        description="Border days the unmatched counts cover, today included.",
    ),
    _user: User = Depends(require(Permission.EXCHANGE_READ)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
    clock: Clock = Depends(get_clock),
) -> ExchangeStatusOut:
    """Partners, last batch, lag (seconds; records behind when known), errors and refusals;
    ``lag_alert`` when the lag passes TSELA_EXCHANGE_LAG_ALERT_S (``lag_alert_s``); and the
    matching counts of the last ``days`` border days: exits with no entry after the window
    and the reverse, mismatches, pairs still within the window (lines: the posts and days
    with anything but matched pairs)."""
    try:
        found = ops.overview(
            session,
            node=settings.node,
            now=clock.now(),
            lag_alert_s=settings.exchange_lag_alert_s,
            days=days,
        )
    except ops.OpsInputError as exc:  # the query bounds catch it first
        raise HTTPException(422, str(exc)) from None
    return ExchangeStatusOut(**found)
