"""The observatory's indicators: their definitions and their values."""

from __future__ import annotations

from pydantic import Field

from tsela.api.schemas.common import Day, Out

__all__ = ["IndicatorOut", "IndicatorParamOut", "IndicatorPeriodOut", "IndicatorValuesOut"]


class IndicatorParamOut(Out):
    name: str
    default: int | str
    help: str
    choices: list[str] | None = Field(None, description="Only when the values are a list")
    minimum: int | None = None
    maximum: int | None = None


class IndicatorOut(Out):
    id: str
    title: str
    description: str
    formula: str
    unit: str
    by_port: bool
    params: list[IndicatorParamOut]


class IndicatorPeriodOut(Out):
    from_: Day = Field(alias="from")
    to: Day


class IndicatorValuesOut(Out):
    indicator: IndicatorOut
    period: IndicatorPeriodOut
    ports: list[str]
    params: dict[str, int | str]
    columns: list[str]
    rows: list[dict[str, int | float | str | bool | None]] = Field(
        description="One object per row, keyed by the columns (days as ISO text)"
    )
    notes: list[str]
