"""What a holiday will look like at a port, from the same days of past years.

Easter and the December holidays are when the bridge queues for hours. A day in one of those
seasons is matched with the same day of past years: for Easter, the same distance from
Easter Sunday (Good Friday with Good Friday, whatever the date); for December and early
January, the same calendar day. The arrivals of those days, hour by hour, averaged, are the
forecast; Erlang C then says the mean wait with as many desks as were open last time, and
how many desks keep it under the target.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from dateutil.easter import easter

from tsela.domain.waits.staffing import desks_needed, mean_wait

# The Easter weekend as the border lives it: from the Thursday before to Easter Monday.
EASTER_FROM, EASTER_TO = -3, 1
# December holidays: from 10 December to 10 January.
DECEMBER_FROM = (12, 10)
JANUARY_TO = (1, 10)


class Season(StrEnum):
    EASTER = "easter"
    DECEMBER = "december"


def season_of(day: date) -> Season | None:
    """The holiday season ``day`` falls in, or None for an ordinary day."""
    offset = (day - easter(day.year)).days
    if EASTER_FROM <= offset <= EASTER_TO:
        return Season.EASTER
    if (day.month, day.day) >= DECEMBER_FROM or (day.month, day.day) <= JANUARY_TO:
        return Season.DECEMBER
    return None


def same_days(day: date, years: int) -> list[date]:
    """The days of the ``years`` past years that match ``day`` (empty for an ordinary day)."""
    season = season_of(day)
    if season is Season.EASTER:
        offset = day - easter(day.year)
        return [easter(day.year - y) + offset for y in range(1, years + 1)]
    if season is Season.DECEMBER:
        out = []
        for y in range(1, years + 1):
            try:
                out.append(day.replace(year=day.year - y))
            except ValueError:  # 29 February cannot be a December day; kept for safety
                out.append(day.replace(year=day.year - y, day=28))
        return out
    return []


@dataclass(frozen=True)
class HourForecast:
    hour: int
    arrivals: float  # expected travellers in the hour (mean of the matching days)
    desks_last_time: float  # desks that served in that hour on the matching days (mean)
    wait_last_time: float | None  # mean wait with that many desks (None: cannot keep up)
    desks_needed: int  # the fewest desks for a mean wait under the target


def forecast(
    arrivals_by_day: Mapping[date, Sequence[int]],
    desks_by_day: Mapping[date, Sequence[int]],
    service_minutes: float,
    target_minutes: float,
) -> list[HourForecast]:
    """Hour by hour, from the matching days' arrivals and desks (24 figures a day each)."""
    days = list(arrivals_by_day)
    if not days:
        return []
    out = []
    for hour in range(24):
        rate = sum(arrivals_by_day[d][hour] for d in days) / len(days)
        if rate == 0:
            continue
        open_desks = sum(desks_by_day.get(d, [0] * 24)[hour] for d in days) / len(days)
        rounded = round(open_desks)
        wait = mean_wait(rounded, rate, service_minutes) if rounded else float("inf")
        out.append(
            HourForecast(
                hour=hour,
                arrivals=rate,
                desks_last_time=open_desks,
                wait_last_time=None if wait == float("inf") else wait,
                desks_needed=desks_needed(rate, service_minutes, target_minutes),
            )
        )
    return out
