"""Wait times at the ports: public figures (no sign-in, no personal data) and the queue
events desks and ticket machines record."""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Literal

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from tsela.api.auth import require
from tsela.api.deps import get_clock, get_session, get_settings
from tsela.api.errors import error_responses
from tsela.api.schemas import (
    HourForecastOut,
    HourWaitOut,
    PortForecastOut,
    PortHistoryOut,
    PortWaitOut,
    QueueEventOut,
    StaffingOut,
    StaffingPlanOut,
    WaitsOut,
)
from tsela.config import Settings
from tsela.domain.values import Direction
from tsela.kernel.access import Permission
from tsela.kernel.clock import Clock
from tsela.services import waits as svc
from tsela.store.models import User
from tsela.store.waits import QueueEventKind

router = APIRouter(prefix="/v1", tags=["wait times"])


def port_wait_out(w: svc.PortWait) -> PortWaitOut:
    minutes = w.estimate.minutes
    return PortWaitOut(
        port_code=w.port_code,
        port_name=w.port_name,
        direction=w.direction.value,
        lane=w.lane,
        wait_minutes=None if minutes is None else math.ceil(minutes),
        basis=w.estimate.basis.value,
        queue=w.estimate.queue,
        desks=w.estimate.desks,
        served_per_hour=round(w.estimate.served_per_hour, 1),
    )


@router.get("/waits", response_model=WaitsOut)
def waits_now(
    session: Session = Depends(get_session), clock: Clock = Depends(get_clock)
) -> WaitsOut:
    """Public: the expected wait now at every port, each direction and lane. Computed on
    each request from the queue events and the desks' decisions of the last 30 minutes."""
    now = clock.now()
    return WaitsOut(updated_at=now, ports=[port_wait_out(w) for w in svc.current(session, now)])


def _hour_out(h: svc.dom.HourWait) -> HourWaitOut:
    return HourWaitOut(hour=h.hour, median_minutes=round(h.median_minutes, 1), samples=h.samples)


@router.get(
    "/waits/{port_code}/history", response_model=PortHistoryOut, responses=error_responses(404)
)
def wait_history(
    port_code: str,
    direction: Literal["entry", "exit"] = "entry",
    weeks: int = 8,
    session: Session = Depends(get_session),
    clock: Clock = Depends(get_clock),
) -> PortHistoryOut:
    """Public: the median wait by hour on today's weekday over past weeks, and the quietest
    hours to cross. Hours with fewer than five travellers are left out."""
    weeks = max(1, min(weeks, 52))
    h = svc.history(session, port_code, Direction(direction), clock.now(), weeks)
    return PortHistoryOut(
        port_code=h.port_code,
        port_name=h.port_name,
        direction=h.direction.value,
        weekday=h.weekday,
        weeks=h.weeks,
        hours=[_hour_out(x) for x in h.hours],
        best_hours=[_hour_out(x) for x in h.best],
    )


@router.get(
    "/waits/{port_code}/staffing",
    response_model=StaffingPlanOut,
    responses=error_responses(401, 403, 404),
)
def staffing(
    port_code: str,
    direction: Literal["entry", "exit"] = "entry",
    weeks: int = 8,
    session: Session = Depends(get_session),
    clock: Clock = Depends(get_clock),
    _user: User = Depends(require(Permission.WAITS_STAFFING_READ)),
) -> StaffingPlanOut:
    """Supervisors and analysts: desks per hour of today's weekday that keep the mean wait
    under the target, from the arrivals and service times of past weeks (Erlang C)."""
    weeks = max(1, min(weeks, 52))
    h = svc.history(session, port_code, Direction(direction), clock.now(), weeks)
    return StaffingPlanOut(
        port_code=h.port_code,
        direction=h.direction.value,
        weekday=h.weekday,
        weeks=h.weeks,
        target_minutes=svc.TARGET_MINUTES,
        service_minutes=None if h.service_minutes is None else round(h.service_minutes, 2),
        hours=[
            StaffingOut(
                hour=s.hour,
                arrivals_per_hour=round(s.arrivals_per_hour, 1),
                desks=s.desks,
                mean_wait_minutes=round(s.mean_wait_minutes, 1),
            )
            for s in h.staffing
        ],
    )


@router.get(
    "/waits/{port_code}/forecast",
    response_model=PortForecastOut,
    responses=error_responses(404, 422),
)
def wait_forecast(
    port_code: str,
    day: date,
    direction: Literal["entry", "exit"] = "entry",
    years: int = 3,
    session: Session = Depends(get_session),
) -> PortForecastOut:
    """Public: a holiday day's queue (Easter weekend, 10 December to 10 January) from the
    same days of past years — travellers per hour, the mean wait with as many desks as last
    time, and the desks that keep it under the target. An ordinary day has no forecast (see
    the history instead); the answer says so, and says when the past years have no data."""
    years = max(1, min(years, 10))
    f = svc.forecast(session, port_code, Direction(direction), day, years)
    if f.season is None:
        message = "an ordinary day: no forecast (the history by hour shows a usual day)"
    elif not f.days_found:
        message = f"no queue data on the same days of the past {years} years"
    else:
        found = ", ".join(d.isoformat() for d in f.days_found)
        message = f"from {found}"
    return PortForecastOut(
        port_code=f.port_code,
        port_name=f.port_name,
        direction=f.direction.value,
        day=f.day,
        season=f.season.value if f.season else None,
        days_found=f.days_found,
        target_minutes=svc.TARGET_MINUTES,
        service_minutes=None if f.service_minutes is None else round(f.service_minutes, 2),
        hours=[
            HourForecastOut(
                hour=h.hour,
                arrivals=round(h.arrivals, 1),
                desks_last_time=round(h.desks_last_time, 1),
                wait_last_time_minutes=None
                if h.wait_last_time is None
                else round(h.wait_last_time, 1),
                desks_needed=h.desks_needed,
            )
            for h in f.hours
        ],
        message=message,
    )


class QueueEventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["arrival", "turn"] = Field(
        description="arrival: a traveller joined the queue (ticket issued, lane sensor); "
        "turn: a desk called the next traveller."
    )
    direction: Literal["entry", "exit"]
    lane: str = Field("general", max_length=16)
    at: datetime | None = Field(
        None, description="When it happened (default: now); at most two days old."
    )
    ticket: str | None = Field(None, max_length=16)
    desk: str | None = Field(
        None, max_length=16, description="The booth that called a turn (default: the caller)."
    )


@router.post(
    "/ports/{port_code}/queue",
    response_model=QueueEventOut,
    status_code=201,
    responses=error_responses(401, 403, 422),
)
def record_queue_event(
    port_code: str,
    body: QueueEventIn,
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
    clock: Clock = Depends(get_clock),
    user: User = Depends(require(Permission.QUEUE_RECORD)),
) -> QueueEventOut:
    """Border officers and supervisors (and ticket machines signed in as one): a traveller
    joined the queue, or a desk called the next one. A turn is the caller's desk."""
    if body.at is not None and body.at.tzinfo is None:
        raise HTTPException(422, "'at' needs a time zone (e.g. 2026-12-18T06:05:00+02:00)")
    event = svc.record(
        session,
        node=settings.node,
        port_code=port_code,
        direction=Direction(body.direction),
        kind=QueueEventKind(body.kind),
        now=clock.now(),
        at=body.at,
        lane=body.lane,
        ticket=body.ticket,
        desk=body.desk,
        officer_id=user.id if body.kind == "turn" else None,
    )
    session.commit()
    return QueueEventOut(
        id=event.id,
        port_code=port_code.strip().upper(),
        direction=event.direction.value,
        lane=event.lane,
        kind=event.kind.value,
        at=event.at,
    )
