"""The catalogue of indicators: each defined once, with the words every view shows.

Pure: reads ``reference/indicators.toml``. An indicator has an id, title, description,
formula, unit and the records it is counted from (``source``). Two engines compute them, and
both take these definitions from here:

- the observatory (``tsela.observatory.indicators``, the optional 'observatory' extra) answers
  an indicator as a table over a period and ports, from the Parquet analytics copy;
- the governance tracker (``tsela.services.indicators``, lean) measures the one figure a
  plan's target follows (the indicator's ``Target``) at a date, from the store.

An indicator both compute is one figure: the tracker's value is the sum of the target's
``column`` over the table rows its parameters select, for the target's period
(``Target.question``); ``tests/test_indicators_catalogue.py`` holds the engines to it.
Ids that plans used before the two were joined are aliases (``[aliases]`` in the file) and
keep working. Importing this module needs nothing beyond the lean install.
"""

from __future__ import annotations

import calendar
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from typing import Any, Literal

from tsela.reference import UnknownPortError, port, reference_file

PERIODS = ("last_complete_month", "day")
SELECTS = ("port", "rows", "param")


class IndicatorError(ValueError):
    """An unknown indicator, or parameters it does not accept; the message says which."""


class CatalogueError(ValueError):
    """``reference/indicators.toml`` is wrong (found when it is read)."""


@dataclass(frozen=True)
class Param:
    """A parameter of an indicator's table, with its default and what values are allowed."""

    name: str
    default: int | str
    help: str
    minimum: int | None = None
    maximum: int | None = None
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class TargetParam:
    """A parameter of the figure a plan follows, and what it selects in the table."""

    name: str
    help: str
    required: bool = False
    choices: tuple[str, ...] = ()
    selects: Literal["port", "rows", "param"] = "rows"
    column: str = ""  # for selects="rows": the table column that must hold the value


@dataclass(frozen=True)
class Question:
    """What to ask the observatory's table for the same figure as the tracker's."""

    start: date
    end: date
    ports: tuple[str, ...]
    params: dict[str, str]  # the table's own parameters
    rows: dict[str, str]  # column -> value the summed rows must hold
    column: str  # the column summed


@dataclass(frozen=True)
class Target:
    """The one figure of an indicator that a governance plan's target follows, at a date."""

    title: str
    unit: str
    period: Literal["last_complete_month", "day"]
    column: str = ""
    params: tuple[TargetParam, ...] = ()

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params if p.required)

    def period_on(self, on: date) -> tuple[date, date]:
        """The border-local days the figure measured on ``on`` counts, first and last."""
        if self.period == "day":
            return on, on
        # The last month that has fully happened by the end of ``on``.
        last_day = calendar.monthrange(on.year, on.month)[1]
        month_end = on if on.day == last_day else on.replace(day=1) - timedelta(days=1)
        return month_end.replace(day=1), month_end

    def describe(self, params: Mapping[str, str]) -> str:
        shown = ", ".join(f"{k}={v}" for k, v in sorted(params.items()))
        return f"{self.title} ({shown})" if shown else self.title

    def question(self, on: date, params: Mapping[str, str]) -> Question:
        """The observatory's question whose answer, summed, is this figure on ``on``."""
        start, end = self.period_on(on)
        by_name = {p.name: p for p in self.params}
        ports: tuple[str, ...] = ()
        table: dict[str, str] = {}
        rows: dict[str, str] = {}
        for name, value in params.items():
            p = by_name[name]
            if p.selects == "port":
                ports = (port(value).code,)
            elif p.selects == "param":
                table[name] = value
            else:
                rows[p.column] = value
        return Question(start, end, ports, table, rows, self.column)


@dataclass(frozen=True)
class Definition:
    id: str
    title: str
    description: str
    formula: str
    unit: str
    source: str = "crossings"  # the records it is counted from
    subject: str = "crossings"  # what "no data" is missing, in words
    by_port: bool = True  # False: the port filter does not apply
    params: tuple[Param, ...] = ()
    target: Target | None = field(default=None)  # None: plans cannot follow it


def _param(raw: dict[str, Any]) -> Param:
    raw["choices"] = tuple(raw.get("choices", ()))
    return Param(**raw)


def _target(indicator_id: str, raw: dict[str, Any]) -> Target:
    params = []
    for p in raw.pop("params", []):
        p["choices"] = tuple(p.get("choices", ()))
        tp = TargetParam(**p)
        if tp.selects not in SELECTS or (tp.selects == "rows") != bool(tp.column):
            raise CatalogueError(f"{indicator_id}: target parameter {tp.name} selects wrongly")
        params.append(tp)
    target = Target(**raw, params=tuple(params))
    if target.period not in PERIODS:
        raise CatalogueError(f"{indicator_id}: target period must be one of {PERIODS}")
    return target


@cache
def _read() -> tuple[dict[str, Definition], dict[str, str]]:
    data = tomllib.loads(reference_file("indicators.toml"))
    out: dict[str, Definition] = {}
    for raw in data["indicator"]:
        params = tuple(_param(p) for p in raw.pop("params", []))
        target = _target(raw["id"], raw.pop("target")) if "target" in raw else None
        d = Definition(**raw, params=params, target=target)
        if d.id in out:
            raise CatalogueError(f"indicator {d.id!r} is defined twice")
        out[d.id] = d
    aliases = dict(data.get("aliases", {}))
    for old, new in aliases.items():
        if old in out or new not in out:
            raise CatalogueError(f"alias {old!r} -> {new!r}: must name a defined indicator")
    return out, aliases


def catalogue() -> Mapping[str, Definition]:
    """Every indicator by id, in the file's order."""
    return _read()[0]


def aliases() -> Mapping[str, str]:
    """Old id -> the id it now means."""
    return _read()[1]


def canonical(indicator_id: str) -> str:
    return aliases().get(indicator_id, indicator_id)


def definition(indicator_id: str) -> Definition:
    """The indicator an id (or an old id) names; unknown ids name the known ones."""
    try:
        return catalogue()[canonical(indicator_id)]
    except KeyError:
        known = ", ".join(catalogue())
        raise IndicatorError(
            f"unknown indicator {indicator_id!r}: known indicators are {known}"
        ) from None


def check_target_params(indicator_id: str, params: Mapping[str, str]) -> Target:
    """The indicator's target, if a plan may follow it with these parameters."""
    d = catalogue().get(canonical(indicator_id))
    if d is None or d.target is None:
        followed = ", ".join(i for i, x in catalogue().items() if x.target)
        old = ", ".join(a for a, i in aliases().items() if catalogue()[i].target)
        what = (
            f"unknown indicator {indicator_id!r}"
            if d is None
            else f"{indicator_id!r} is a table of the observatory, not a figure a plan can follow"
        )
        raise IndicatorError(f"{what}: plans can follow {followed} (and the old ids {old})")
    target = d.target
    taken = {p.name: p for p in target.params}
    unknown = sorted(set(params) - set(taken))
    if unknown:
        accepted = ", ".join(taken) or "none"
        raise IndicatorError(
            f"indicator {indicator_id} does not take {', '.join(unknown)} "
            f"(parameters it takes: {accepted})"
        )
    missing = [name for name in target.required if name not in params]
    if missing:
        raise IndicatorError(f"indicator {indicator_id} needs {', '.join(missing)}=...")
    for name, value in params.items():
        p = taken[name]
        if p.choices and value not in p.choices:
            raise IndicatorError(f"{name} must be {' or '.join(p.choices)}, not {value!r}")
        if p.selects == "port":
            try:
                port(value)
            except UnknownPortError as exc:
                raise IndicatorError(str(exc)) from None
    return target
