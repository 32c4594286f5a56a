"""Wait times at the ports (issue 20, item 1): record queue events, read each queue's state
for the pure estimate in ``tsela.domain.waits``, and the history of waits travellers had.

Nothing here is personal: arrivals and turns are moments (a ticket number at most) and the
desks' decisions are counted from the border checks by time and officer only.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from tsela.domain import waits as dom
from tsela.domain.values import Direction
from tsela.kernel.clock import border_day, border_time, day_start
from tsela.kernel.errors import Invalid, NotFound
from tsela.store.checks import BorderCheck
from tsela.store.models import PortOfEntry
from tsela.store.waits import QueueEvent, QueueEventKind

__all__ = ["QueueEventKind", "current", "forecast", "history", "record"]

LANES = ("general", "fast")
GENERAL, FAST = LANES
# A moment more than this ahead of the server's clock is a device with a wrong clock.
CLOCK_SLACK = timedelta(minutes=5)
# A queue event older than this is not "now" any more: a device replaying an old buffer
# records history, which the history tables read, but the caller must say so explicitly.
OLDEST = timedelta(days=2)
# The mean wait a port aims for when the staffing advice counts desks.
TARGET_MINUTES = 30.0


@dataclass(frozen=True)
class PortWait:
    port_code: str
    port_name: str
    direction: Direction
    lane: str
    estimate: dom.WaitEstimate


def _port(session: Session, code: str) -> PortOfEntry:
    port = session.scalar(select(PortOfEntry).where(PortOfEntry.code == code.strip().upper()))
    if port is None or not port.active:
        raise NotFound("waits.unknown_port", "unknown port %(port)r", port=code)
    return port


def record(
    session: Session,
    *,
    node: str,
    port_code: str,
    direction: Direction,
    kind: QueueEventKind,
    now: datetime,
    at: datetime | None = None,
    lane: str = GENERAL,
    ticket: str | None = None,
    desk: str | None = None,
    officer_id: uuid.UUID | None = None,
) -> QueueEvent:
    """Record one arrival or one turn (the caller commits). An unknown port is ``Invalid``
    here: the caller named it in what it sent."""
    if lane not in LANES:
        raise Invalid("waits.unknown_lane", "unknown lane %(lane)r: lanes are %(lanes)s",
                      lane=lane, lanes=", ".join(LANES))  # fmt: skip
    moment = at or now
    if moment > now + CLOCK_SLACK:
        raise Invalid("waits.future", "%(at)s is in the future: check the device's clock",
                      at=moment.isoformat())  # fmt: skip
    if moment < now - OLDEST:
        raise Invalid("waits.too_old", "%(at)s is more than two days old", at=moment.isoformat())
    try:
        port = _port(session, port_code)
    except NotFound as exc:
        raise Invalid(exc.code, exc.template, **exc.values) from None
    event = QueueEvent(
        node=node,
        port_id=port.id,
        direction=direction,
        lane=lane,
        kind=kind,
        at=moment,
        ticket=(ticket or "").strip()[:16] or None,
        desk=(desk or "").strip()[:16] or None,
        officer_id=officer_id,
    )
    session.add(event)
    session.flush()
    return event


def _queues(
    session: Session, ports: Sequence[PortOfEntry], since: datetime, until: datetime
) -> dict[tuple[uuid.UUID, Direction, str], dom.Queue]:
    """Each (port, direction, lane)'s queue between two moments. A desk's decisions count for
    the lane of its officer's latest turn (the general lane when it has none)."""
    ids = [p.id for p in ports]
    events = session.execute(
        select(QueueEvent.port_id, QueueEvent.direction, QueueEvent.lane, QueueEvent.kind,
               QueueEvent.at, QueueEvent.officer_id, QueueEvent.desk)
        .where(QueueEvent.port_id.in_(ids), QueueEvent.at >= since, QueueEvent.at <= until)
        .order_by(QueueEvent.at)
    ).all()  # fmt: skip
    checks = session.execute(
        select(BorderCheck.port_id, BorderCheck.direction, BorderCheck.checked_at,
               BorderCheck.officer_id)
        .where(BorderCheck.port_id.in_(ids), BorderCheck.checked_at >= since,
               BorderCheck.checked_at <= until)
        .order_by(BorderCheck.checked_at)
    ).all()  # fmt: skip
    arrivals: dict[tuple[uuid.UUID, Direction, str], list[datetime]] = defaultdict(list)
    turns: dict[tuple[uuid.UUID, Direction, str], list[tuple[datetime, str]]]
    turns = defaultdict(list)
    lane_of: dict[uuid.UUID, str] = {}
    for port_id, direction, lane, kind, at, officer, desk in events:
        if kind == QueueEventKind.ARRIVAL:
            arrivals[(port_id, direction, lane)].append(at)
            continue
        turns[(port_id, direction, lane)].append((at, desk or str(officer or "")))
        if officer is not None:
            lane_of[officer] = lane
    decisions: dict[tuple[uuid.UUID, Direction, str], list[tuple[datetime, str]]]
    decisions = defaultdict(list)
    for port_id, direction, at, officer in checks:
        lane = lane_of.get(officer, GENERAL) if officer is not None else GENERAL
        decisions[(port_id, direction, lane)].append((at, str(officer)))
    keys = set(arrivals) | set(turns) | set(decisions)
    return {k: dom.Queue(arrivals[k], turns[k], decisions[k]) for k in keys}


def current(session: Session, now: datetime) -> list[PortWait]:
    """The wait now at every active port, both directions, each lane the port uses today
    (the general lane always)."""
    ports = list(session.scalars(select(PortOfEntry).where(PortOfEntry.active).order_by(
        PortOfEntry.code)))  # fmt: skip
    queues = _queues(session, ports, day_start(border_day(now)), now)
    empty = dom.Queue([], [], [])
    out: list[PortWait] = []
    for port in ports:
        for direction in Direction:
            lanes = sorted({lane for (p, d, lane) in queues if p == port.id and d == direction}
                           | {GENERAL})  # fmt: skip
            for lane in lanes:
                queue = queues.get((port.id, direction, lane), empty)
                out.append(PortWait(port.code, port.display_name, direction, lane,
                                    dom.estimate_wait(queue, now)))  # fmt: skip
    return out


@dataclass(frozen=True)
class PortHistory:
    port_code: str
    port_name: str
    direction: Direction
    weekday: int
    hours: list[dom.HourWait]  # the weekday's hours with enough travellers, by hour
    best: list[dom.HourWait]
    staffing: list[dom.StaffingAdvice]
    weeks: int
    service_minutes: float | None


def history(
    session: Session, port_code: str, direction: Direction, now: datetime, weeks: int = 8
) -> PortHistory:
    """The waits travellers had on the same weekday over the past ``weeks`` weeks (today
    left out: its day is not over), the quietest hours, and the desks each hour needs for
    a mean wait under ``TARGET_MINUTES`` (Erlang C with the observed arrivals and service)."""
    port = _port(session, port_code)
    today = border_day(now)
    days = [today - timedelta(weeks=w) for w in range(1, weeks + 1)]
    waits: list[tuple[datetime, float]] = []
    per_hour: dict[int, int] = defaultdict(int)
    service: list[float] = []
    for day in days:
        queues = _queues(session, [port], day_start(day), day_start(day + timedelta(days=1)))
        queue = queues.get((port.id, direction, GENERAL))
        if queue is None:
            continue
        waits += dom.observed_waits(queue)
        for at in queue.arrivals:
            per_hour[border_time(at).hour] += 1
        service += dom.service_times(queue.departures)
    hours = [h for h in dom.hourly_waits(waits) if h.weekday == today.weekday()]
    seen = sum(1 for day in days if any(border_day(at) == day for at, _ in waits))
    mean_service = sum(service) / len(service) if service else None
    staffing = []
    if seen and mean_service:
        for hour in sorted(per_hour):
            rate = per_hour[hour] / seen
            desks = dom.desks_needed(rate, mean_service, TARGET_MINUTES)
            wait = dom.mean_wait(desks, rate, mean_service)
            staffing.append(dom.StaffingAdvice(hour, rate, desks, wait))
    return PortHistory(
        port_code=port.code,
        port_name=port.display_name,
        direction=direction,
        weekday=today.weekday(),
        hours=hours,
        best=dom.best_hours(hours, today.weekday()),
        staffing=staffing,
        weeks=weeks,
        service_minutes=mean_service,
    )


@dataclass(frozen=True)
class PortForecast:
    port_code: str
    port_name: str
    direction: Direction
    day: date
    season: dom.Season | None  # None: an ordinary day, no forecast
    days_found: list[date]  # the matching days of past years that had queue data
    service_minutes: float | None
    hours: list[dom.HourForecast]


def forecast(
    session: Session, port_code: str, direction: Direction, day: date, years: int = 3
) -> PortForecast:
    """A holiday day's queue from the same days of past years (``domain.waits.forecast``)."""
    port = _port(session, port_code)
    arrivals: dict[date, list[int]] = {}
    desks: dict[date, list[int]] = {}
    service: list[float] = []
    for past in dom.same_days(day, years):
        queue = _queues(session, [port], day_start(past), day_start(past + timedelta(days=1))).get(
            (port.id, direction, GENERAL)
        )
        if queue is None or not queue.arrivals:
            continue
        counts = [0] * 24
        for at in queue.arrivals:
            counts[border_time(at).hour] += 1
        serving: list[set[str]] = [set() for _ in range(24)]
        for at, desk in queue.departures:
            serving[border_time(at).hour].add(desk)
        arrivals[past], desks[past] = counts, [len(s) for s in serving]
        service += dom.service_times(queue.departures)
    mean_service = sum(service) / len(service) if service else None
    hours = dom.forecast(arrivals, desks, mean_service, TARGET_MINUTES) if mean_service else []
    return PortForecast(port.code, port.display_name, direction, day, dom.season_of(day),
                        sorted(arrivals), mean_service, hours)  # fmt: skip
