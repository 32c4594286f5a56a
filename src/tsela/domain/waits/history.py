"""The quietest hours to cross, from the waits travellers actually had."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from statistics import median

from tsela.kernel.clock import border_time


@dataclass(frozen=True)
class HourWait:
    weekday: int  # 0 Monday … 6 Sunday
    hour: int  # border time, 0–23
    median_minutes: float
    samples: int


def hourly_waits(waits: Iterable[tuple[datetime, float]], fewest: int = 5) -> list[HourWait]:
    """Median wait per weekday and hour of arrival (border time); hours with fewer than
    ``fewest`` travellers are left out rather than shown as a figure one person made."""
    groups: dict[tuple[int, int], list[float]] = {}
    for arrived, minutes in waits:
        local = border_time(arrived)
        groups.setdefault((local.weekday(), local.hour), []).append(minutes)
    return [
        HourWait(weekday, hour, median(values), len(values))
        for (weekday, hour), values in sorted(groups.items())
        if len(values) >= fewest
    ]


def best_hours(hours: Iterable[HourWait], weekday: int, count: int = 3) -> list[HourWait]:
    """The ``count`` hours of ``weekday`` with the shortest median wait, earliest first on a tie."""
    day = [h for h in hours if h.weekday == weekday]
    return sorted(day, key=lambda h: (h.median_minutes, h.hour))[:count]
