"""The observatory's indicators: their definitions and their values."""

from __future__ import annotations

from pydantic import Field

from tsela.api.schemas.common import Day, Out

__all__ = [
    "IndicatorOut",
    "IndicatorParamOut",
    "IndicatorPeriodOut",
    "IndicatorValuesOut",
    "StandardOut",
    "StandardTableDefOut",
    "StandardTableOut",
    "StandardTablesOut",
]


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


class StandardOut(Out):
    code: str
    name: str
    cite: str = Field(description="Where the standard is published")


class StandardTableDefOut(Out):
    id: str
    title: str
    description: str
    standards: list[StandardOut]


class StandardTableOut(StandardTableDefOut):
    status: str = Field(
        description="published; empty (nothing to count this month); withheld (fewer people "
        "in the whole table than the threshold); not_available (the data is not kept yet)"
    )
    note: str = Field(description="Why a table has no cells; empty when it is published")
    measure: str
    row_dimension: str
    column_dimension: str
    rows: list[str]
    columns: list[str]
    cells: list[list[int | None]] = Field(
        description="One line per row and a last line of totals; each line one value per "
        "column and the row's total last; null = suppressed by the disclosure control"
    )
    suppressed_cells: int


class StandardTablesOut(Out):
    month: str
    country: str
    threshold: int
    source: str = Field(description="parquet (the analytics copy) or store")
    disclosure_control: str
    tables: list[StandardTableOut]
    notes: list[str]
