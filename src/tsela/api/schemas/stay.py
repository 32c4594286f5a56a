"""Days of stay evaluated under a rule."""

from __future__ import annotations

from datetime import date

from tsela.api.schemas.common import Out

__all__ = ["StayEvaluateOut", "StayOutcomeOut"]


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
