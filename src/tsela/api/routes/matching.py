"""Exit/entry matching over HTTP: ``GET /v1/exchange/matching?port=&day=``."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.orm import Session

from tsela.api.auth import client_source, require
from tsela.api.deps import clock_of, get_session, get_settings
from tsela.api.schemas import MatchingOut
from tsela.config import Settings
from tsela.kernel.access import Permission
from tsela.reference import port as port_info
from tsela.services import audit
from tsela.services.matching import matching_report
from tsela.store.models import User

router = APIRouter(prefix="/v1/exchange", tags=["exchange"])


@router.get("/matching", response_model=MatchingOut)
def matching(
    request: Request,
    port: str | None = Query(None, min_length=2, max_length=8, examples=["MSU"]),
    day: date | None = Query(None, description="Border day (UTC+2); default today"),
    user: User = Depends(require(Permission.MATCHING_READ)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> dict[str, Any]:
    """Exits matched with the partner's entries (and the reverse) per port and border day:
    matched, mismatches, exits with no entry after the window and the reverse, those still
    within it, and crossings at a post with no counterpart; with the records behind all but
    the matched ones."""
    clock = clock_of(request)
    now = clock.now()
    code = port_info(port).code if port else None  # unknown port: 422 naming the known ones
    the_day = day or clock.today()
    report = matching_report(session, day=the_day, port=code, now=now)
    audit.record(
        session,
        actor=user.username,
        action="matching.report",
        node=settings.node,
        entity="port",
        entity_id=code or "",
        detail={"day": the_day.isoformat(), "items": len(report.items)},
        source=client_source(request),
    )
    session.commit()
    return {
        "day": report.day,
        "port": report.port,
        "as_of": report.as_of,
        "window_minutes": report.window_minutes,
        "lines": [vars(line) for line in report.lines],
        "items": report.items,
        "more_items": report.more_items,
    }
