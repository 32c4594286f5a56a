"""The exchange's status for supervisors (GET /v1/exchange/status). The feed itself is on the
mutual-TLS listener (tsela.api.exchange), never on this API."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel
from sqlalchemy.orm import Session

from tsela.api.auth import require_roles
from tsela.api.deps import get_session, get_settings
from tsela.config import Settings
from tsela.domain.values import Role
from tsela.kernel import clock
from tsela.services import exchange as svc
from tsela.store.models import User

router = APIRouter(prefix="/v1/exchange", tags=["exchange"])


class PartnerStatusOut(BaseModel):
    partner: str
    endpoint: str
    fingerprint: str
    last_seq: int
    head_seq: int | None
    behind: int | None
    applied: int
    last_batch_at: str | None
    last_success_at: str | None
    lag_s: float | None
    lag_alert: bool
    last_error_code: str | None
    last_error: str | None
    last_error_at: str | None
    refusals: int


class FeedStatusOut(BaseModel):
    head_seq: int
    unsequenced: int


class ExchangeStatusOut(BaseModel):
    node: str
    partners: list[PartnerStatusOut]
    feed: FeedStatusOut


@router.get("/status", response_model=ExchangeStatusOut)
def exchange_status(
    _user: User = Depends(require_roles(Role.SUPERVISOR, Role.ADMIN)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> ExchangeStatusOut:
    """Partners, last batch, lag (seconds; records behind when known), errors and refusals;
    ``lag_alert`` when the lag passes TSELA_EXCHANGE_LAG_ALERT_S."""
    found = svc.status(session, clock.now(), settings.exchange_lag_alert_s)
    return ExchangeStatusOut(node=settings.node, **found)
