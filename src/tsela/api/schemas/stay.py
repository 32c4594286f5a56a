"""Days of stay evaluated under a rule."""

from __future__ import annotations

from datetime import date

from tsela.api.schemas.common import Out

__all__ = ["SelfCheckOut", "StayEvaluateOut", "StayOutcomeOut"]


class StayOutcomeOut(Out):
    entry: date
    exit: date | None
    days: int
    overstay_days: int
    first_overstay_day: date | None


class StayEvaluateOut(Out):
    days_used: int
    days_remaining: int
    latest_exit: date | None
    overstay_days: int
    explanation: list[str]
    rule: str
    rule_version: str
    as_of: date
    stays: list[StayOutcomeOut]


class SelfCheckOut(Out):
    """A traveller's own days of stay. ``found`` false: the details match no one passport
    (the same answer whatever was wrong, so nothing is learnt about a passport)."""

    found: bool
    country: str | None = None  # the country whose days are counted (ISO alpha-3)
    rule: str | None = None  # the stay rule that applies
    inside: bool | None = None  # the last recorded crossing into that country has no exit
    days_used: int | None = None
    days_remaining: int | None = None  # None when a permit lifts the limit
    latest_exit: date | None = None  # None when a permit lifts the limit
    permit_lifts_limit: bool | None = None
