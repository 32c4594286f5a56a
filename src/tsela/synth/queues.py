"""A simulated day of queuing at a port: arrivals, desks opening and closing by the hour,
first come first served. The demo writes such days as queue history; ``bench/waits.py``
measures the wait estimate against the waits the simulation knows to be true.

Each traveller takes a ticket on arrival, waits for the first desk that is open and free,
and is served for a lognormal time (a long tail: most checks are quick, a few need a
second look). Desk ``d`` is open in hour ``h`` when ``d < desks[h]``; a desk finishes the
traveller it is serving when its shift ends.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from tsela.kernel.clock import day_start

# Travellers per hour on an ordinary weekday at Maseru Bridge, one direction (the bridge
# sees about 15,000 crossings a day in both directions together): a morning and an evening
# commuter peak.
ORDINARY = (
    0, 0, 0, 0, 0, 60, 420, 760, 820, 560, 430, 400,
    420, 430, 470, 560, 780, 840, 620, 380, 220, 120, 0, 0,
)  # fmt: skip
# Desks open per hour, as a port rosters them for an ordinary day.
ORDINARY_DESKS = (
    2, 2, 2, 2, 2, 3, 9, 13, 14, 10, 8, 8,
    8, 8, 9, 10, 13, 14, 11, 7, 4, 3, 2, 2,
)  # fmt: skip


@dataclass(frozen=True)
class SimulatedDay:
    arrivals: list[datetime]
    turns: list[datetime]  # sorted
    decisions: list[tuple[datetime, str]]  # sorted by time
    waits: list[tuple[datetime, float]]  # (arrival, true minutes waited), arrival order


def _open_at(desk: int, moment: datetime, desks: Sequence[int], start: datetime) -> datetime:
    """The first moment ≥ ``moment`` at which ``desk`` is on shift (far future if never)."""
    t = moment
    for _ in range(48):
        hour = min(int((t - start) / timedelta(hours=1)), 23)  # the night shift stays on
        if desk < desks[hour]:
            return t
        if hour == 23:
            break
        t = start + timedelta(hours=hour + 1)
    return start + timedelta(days=30)


def simulate_day(
    day: date,
    *,
    per_hour: Sequence[float] = ORDINARY,
    desks: Sequence[int] = ORDINARY_DESKS,
    service_minutes: float = 1.0,
    seed: int = 0,
) -> SimulatedDay:
    """One border day's queue (``per_hour`` and ``desks`` give 24 hourly figures)."""
    rng = random.Random(seed)
    start = day_start(day)
    arrivals: list[datetime] = []
    for hour, rate in enumerate(per_hour):
        t = 0.0
        while rate > 0:
            t += rng.expovariate(rate)  # hours
            if t >= 1:
                break
            arrivals.append(start + timedelta(hours=hour + t))
    # Lognormal with the given mean and a coefficient of variation of about 0.8.
    sigma = math.sqrt(math.log(1 + 0.8**2))
    mu = math.log(service_minutes) - sigma**2 / 2
    free = [start] * max(desks, default=0)
    turns: list[datetime] = []
    decisions: list[tuple[datetime, str]] = []
    waits: list[tuple[datetime, float]] = []
    for arrived in arrivals:
        ready = [_open_at(d, max(free[d], arrived), desks, start) for d in range(len(free))]
        desk = min(range(len(free)), key=ready.__getitem__)
        turn = ready[desk]
        done = turn + timedelta(minutes=rng.lognormvariate(mu, sigma))
        free[desk] = done
        turns.append(turn)
        decisions.append((done, f"desk-{desk}"))
        waits.append((arrived, (turn - arrived) / timedelta(minutes=1)))
    turns.sort()
    decisions.sort()
    return SimulatedDay(arrivals, turns, decisions, waits)


def peak_day(
    morning: float = 1.8, rest: float = 1.2, extra_desks: int = 2
) -> tuple[list[float], list[int]]:
    """A December (or Easter) day: the morning rush ``morning`` times an ordinary one, the rest
    of the day ``rest`` times, a few more desks than usual. The queue builds up for hours,
    waits of four to five hours at its worst ("arrived at 6, crossed at 10")."""
    per_hour = [rate * (morning if 5 <= hour <= 11 else rest) for hour, rate in enumerate(ORDINARY)]
    desks = [d + extra_desks for d in ORDINARY_DESKS]
    return per_hour, desks
