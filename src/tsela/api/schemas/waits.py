"""Answers of the wait-time routes: public, no personal data."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from tsela.api.schemas.common import Day, Id, Moment, Out

__all__ = [
    "HourForecastOut",
    "HourWaitOut",
    "PortForecastOut",
    "PortHistoryOut",
    "PortWaitOut",
    "QueueEventOut",
    "StaffingOut",
    "StaffingPlanOut",
    "WaitsOut",
]


class PortWaitOut(Out):
    port_code: str
    port_name: str
    direction: Literal["entry", "exit"]
    lane: str
    wait_minutes: int | None = Field(
        description="Expected wait for a traveller joining the queue now, rounded up; null "
        "when it cannot be known (see basis)."
    )
    basis: Literal["empty", "rate", "no_service", "no_arrivals"] = Field(
        description="empty: nobody waits; rate: the queue divided by the desks' throughput "
        "over the last 30 minutes; no_service: people wait but no desk served anyone in "
        "30 minutes; no_arrivals: the port counts no arrivals today, the queue is unknown."
    )
    queue: int = Field(description="Travellers waiting now.")
    desks: int = Field(description="Desks that decided at least once in the last 30 minutes.")
    served_per_hour: float


class WaitsOut(Out):
    updated_at: Moment
    ports: list[PortWaitOut]


class HourWaitOut(Out):
    hour: int = Field(description="Hour of arrival, border time (UTC+2), 0–23.")
    median_minutes: float
    samples: int


class StaffingOut(Out):
    hour: int
    arrivals_per_hour: float
    desks: int = Field(description="Fewest desks whose mean wait stays under the target.")
    mean_wait_minutes: float


class PortHistoryOut(Out):
    port_code: str
    port_name: str
    direction: Literal["entry", "exit"]
    weekday: int = Field(description="0 Monday … 6 Sunday: today's weekday at the border.")
    weeks: int = Field(description="How many past weeks of the same weekday were read.")
    hours: list[HourWaitOut]
    best_hours: list[HourWaitOut]


class QueueEventOut(Out):
    id: Id
    port_code: str
    direction: Literal["entry", "exit"]
    lane: str
    kind: Literal["arrival", "turn"]
    at: Moment


class StaffingPlanOut(Out):
    port_code: str
    direction: Literal["entry", "exit"]
    weekday: int
    weeks: int
    target_minutes: float
    service_minutes: float | None = Field(
        description="One desk's observed mean time per traveller."
    )
    hours: list[StaffingOut]


class HourForecastOut(Out):
    hour: int = Field(description="Hour, border time (UTC+2), 0–23.")
    arrivals: float = Field(description="Expected travellers in the hour.")
    desks_last_time: float = Field(description="Desks that served in that hour on those days.")
    wait_last_time_minutes: float | None = Field(
        description="Mean wait with as many desks as last time (Erlang C); null when they "
        "cannot keep up with the arrivals."
    )
    desks_needed: int = Field(description="The fewest desks for a mean wait under the target.")


class PortForecastOut(Out):
    port_code: str
    port_name: str
    direction: Literal["entry", "exit"]
    day: Day
    season: Literal["easter", "december"] | None = Field(
        description="The holiday season of the day; null for an ordinary day (no forecast)."
    )
    days_found: list[Day] = Field(description="The same days of past years that had data.")
    target_minutes: float
    service_minutes: float | None
    hours: list[HourForecastOut]
    message: str = Field(description="What the forecast rests on, or why there is none.")
