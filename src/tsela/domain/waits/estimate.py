"""The current wait at one port, direction and lane.

The estimate is the time the queue now standing needs to be served at the rate the desks
served travellers over the last half hour: ``queue ÷ throughput``. It counts every desk
that is working, so it needs no assumption about how many are open or how long one
traveller takes. The naive estimate — queue length times the mean service time of one desk
— is kept beside it because it is what a port would write on a board by hand; the benchmark
(``bench/waits.py``) measures both against simulated true waits.

When no traveller was served in the window but people are queuing, the wait is unknown
(``None``, basis ``no_service``): a desk may be closed, and a number would mislead.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from itertools import pairwise

# How far back the service rate looks: long enough to see several travellers at a quiet
# desk, short enough to follow a shift change.
RATE_WINDOW = timedelta(minutes=30)
# A gap between two decisions of one desk longer than this is a break, not a service time.
LONGEST_SERVICE = timedelta(minutes=20)


class Basis(StrEnum):
    """How the figure was reached (words for each are attached at the edge)."""

    EMPTY = "empty"  # nobody is waiting
    RATE = "rate"  # queue ÷ the desks' recent throughput
    NO_SERVICE = "no_service"  # people wait but no desk served anyone in the window
    NO_ARRIVALS = "no_arrivals"  # the port counts no arrivals: the queue is unknown


@dataclass(frozen=True)
class Queue:
    """What the store knows of one queue for one border day, each list sorted by time.

    ``arrivals``: when each traveller joined (ticket or sensor); ``turns``: when each turn at
    a desk started; ``decisions``: (moment, desk) of each decision, the desk being the
    officer who made it.
    """

    arrivals: Sequence[datetime]
    turns: Sequence[datetime]
    decisions: Sequence[tuple[datetime, str]]


@dataclass(frozen=True)
class WaitEstimate:
    minutes: float | None
    basis: Basis
    queue: int  # travellers waiting now
    desks: int  # desks that decided at least once in the window
    served_per_hour: float  # throughput over the window, all desks together


def _count_until(moments: Sequence[datetime], now: datetime) -> int:
    return bisect_right(moments, now)


def queue_length(queue: Queue, now: datetime) -> int:
    """Travellers who arrived and whose turn has not started, at ``now``."""
    return max(0, _count_until(queue.arrivals, now) - _count_until(queue.turns, now))


def _recent(queue: Queue, now: datetime) -> list[tuple[datetime, str]]:
    since = now - RATE_WINDOW
    return [(at, desk) for at, desk in queue.decisions if since < at <= now]


def estimate_wait(queue: Queue, now: datetime) -> WaitEstimate:
    """The wait a traveller joining the queue at ``now`` can expect, in minutes."""
    recent = _recent(queue, now)
    desks = len({desk for _, desk in recent})
    per_hour = len(recent) * (timedelta(hours=1) / RATE_WINDOW)
    if not queue.arrivals:
        return WaitEstimate(None, Basis.NO_ARRIVALS, 0, desks, per_hour)
    waiting = queue_length(queue, now)
    if waiting == 0:
        return WaitEstimate(0.0, Basis.EMPTY, 0, desks, per_hour)
    if not recent:
        return WaitEstimate(None, Basis.NO_SERVICE, waiting, 0, 0.0)
    return WaitEstimate(waiting / per_hour * 60, Basis.RATE, waiting, desks, per_hour)


def service_times(decisions: Sequence[tuple[datetime, str]]) -> list[float]:
    """Minutes each desk spent per traveller: the gaps between a desk's successive
    decisions, breaks (gaps over ``LONGEST_SERVICE``) left out."""
    by_desk: dict[str, list[datetime]] = {}
    for at, desk in decisions:
        by_desk.setdefault(desk, []).append(at)
    return [
        (later - earlier) / timedelta(minutes=1)
        for moments in by_desk.values()
        for earlier, later in pairwise(moments)
        if later - earlier <= LONGEST_SERVICE
    ]


def mean_service_minutes(queue: Queue, now: datetime) -> float | None:
    """One desk's mean time per traveller over the window."""
    gaps = service_times(_recent(queue, now))
    return sum(gaps) / len(gaps) if gaps else None


def naive_wait(queue: Queue, now: datetime) -> float | None:
    """Queue length times one desk's mean service time (the figure a board shows by hand)."""
    waiting = queue_length(queue, now)
    if waiting == 0:
        return 0.0
    service = mean_service_minutes(queue, now)
    return None if service is None else waiting * service


def observed_waits(queue: Queue) -> list[tuple[datetime, float]]:
    """(arrival, minutes waited) for each traveller whose turn has come: turns are matched
    to arrivals first come, first served (one queue, one ticket roll)."""
    return [
        (arrived, (turn - arrived) / timedelta(minutes=1))
        for arrived, turn in zip(queue.arrivals, queue.turns, strict=False)
        if turn >= arrived
    ]
