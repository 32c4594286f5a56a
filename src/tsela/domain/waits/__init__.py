"""Waiting at the border (issue 20, item 1): how long the queue at a port is now, which hours
are quietest, and how many desks keep the wait under a target.

Pure functions over moments the store has kept: travellers' arrivals (a queue ticket issued,
or a lane sensor), the start of each traveller's turn at a desk ("next traveller" in the
console), and each desk's decisions (the border checks). No I/O; ``now`` is always given.
"""

from tsela.domain.waits.estimate import (
    Basis,
    Queue,
    WaitEstimate,
    estimate_wait,
    naive_wait,
    observed_waits,
    service_times,
)
from tsela.domain.waits.forecast import HourForecast, Season, forecast, same_days, season_of
from tsela.domain.waits.history import HourWait, best_hours, hourly_waits
from tsela.domain.waits.staffing import StaffingAdvice, desks_needed, erlang_c, mean_wait

__all__ = [
    "Basis",
    "HourForecast",
    "HourWait",
    "Queue",
    "Season",
    "StaffingAdvice",
    "WaitEstimate",
    "best_hours",
    "desks_needed",
    "erlang_c",
    "estimate_wait",
    "forecast",
    "hourly_waits",
    "mean_wait",
    "naive_wait",
    "observed_waits",
    "same_days",
    "season_of",
    "service_times",
]
