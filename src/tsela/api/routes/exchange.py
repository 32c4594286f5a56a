"""The exchange's status for supervisors (GET /v1/exchange/status). The feed itself is on the
mutual-TLS listener (tsela.api.exchange), never on this API."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from tsela.api.auth import require_roles
from tsela.api.deps import get_session, get_settings
from tsela.api.schemas import ExchangeStatusOut
from tsela.config import Settings
from tsela.domain.values import Role
from tsela.kernel import clock
from tsela.services import exchange as svc
from tsela.store.models import User

router = APIRouter(prefix="/v1/exchange", tags=["exchange"])


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
