"""The governance tracker's indicators: the figure a plan's target follows, from the store.

Plans name indicators (``IndicatorTarget.indicator_id``) so that progress shows what the
data says, not what was claimed. What an indicator is (its words, unit, parameters, the
period a figure covers) is in the one catalogue, ``tsela.domain.indicators``
(``reference/indicators.toml``), which the observatory reads too; this module holds how the
tracker measures each figure, in SQL on the store at a date, so it runs in a lean install
(the observatory's tables need DuckDB). Where the observatory has the indicator's table too,
the figure is a sum of that table's cells (``Target.question``) and a test holds the two
to the same answer. Old ids (``crossings.monthly_count``, ``permits.valid_count``) are
aliases in the catalogue and keep measuring what they measured.

A measurement without data has ``value=None``: never a made-up figure.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session

from tsela.domain.indicators import (
    Definition,
    IndicatorError,
    Target,
    canonical,
    check_target_params,
    definition,
)
from tsela.kernel import clock
from tsela.reference import port
from tsela.store.models import Crossing, Direction, Permit, Person, PortOfEntry

__all__ = [
    "REGISTRY",
    "Indicator",
    "IndicatorError",
    "Measurement",
    "format_params",
    "get",
    "measure",
    "parse_params",
    "validate",
]


@dataclass(frozen=True)
class Measurement:
    value: float | None
    unit: str
    as_of: date
    source: str


Compute = Callable[[Session, date, Mapping[str, str]], Measurement]


@dataclass(frozen=True)
class Indicator:
    """A catalogue indicator the tracker can measure, and how."""

    definition: Definition
    target: Target
    compute: Compute

    @property
    def id(self) -> str:
        return self.definition.id

    @property
    def label(self) -> str:
        return self.target.title

    @property
    def unit(self) -> str:
        return self.target.unit

    def describe(self, params: Mapping[str, str]) -> str:
        return self.target.describe(params)


# Canonical id -> how the tracker measures it.
REGISTRY: dict[str, Indicator] = {}


def register(indicator_id: str) -> Callable[[Compute], Compute]:
    """Measure the catalogue's indicator ``indicator_id`` (it must have a target)."""

    def add(func: Compute) -> Compute:
        d = definition(indicator_id)
        if d.id != indicator_id or d.target is None:
            raise ValueError(f"{indicator_id!r} is not a catalogue indicator with a target")
        if indicator_id in REGISTRY:
            raise ValueError(f"indicator {indicator_id!r} is registered twice")
        REGISTRY[indicator_id] = Indicator(d, d.target, func)
        return func

    return add


def get(indicator_id: str) -> Indicator:
    """The indicator an id (or an old id) names, if the tracker measures it."""
    try:
        return REGISTRY[canonical(indicator_id)]
    except KeyError:
        check_target_params(indicator_id, {})  # says why a plan cannot follow it
        raise IndicatorError(f"the tracker does not measure {indicator_id!r}") from None


def parse_params(raw: str) -> dict[str, str]:
    """``"port=MSU; direction=entry"`` -> ``{"port": "MSU", "direction": "entry"}``."""
    out: dict[str, str] = {}
    for part in raw.split(";"):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise IndicatorError(f"indicator parameter {part.strip()!r} is not name=value")
        out[key.strip().lower()] = value.strip()
    return out


def format_params(params: Mapping[str, str]) -> str:
    return ";".join(f"{k}={v}" for k, v in sorted(params.items()))


def validate(indicator_id: str, params: Mapping[str, str]) -> Indicator:
    """The indicator, if these parameters suit it; else an error naming the problem."""
    check_target_params(indicator_id, params)  # the catalogue's rules: words for every problem
    return get(indicator_id)


def measure(
    session: Session, indicator_id: str, on: date, params: Mapping[str, str] | None = None
) -> Measurement:
    params = dict(params or {})
    return validate(indicator_id, params).compute(session, on, params)


# --- Built-in indicators ----------------------------------------------------------------


@register("crossings.monthly")
def _crossings_monthly(session: Session, on: date, params: Mapping[str, str]) -> Measurement:
    month_start, month_end = get("crossings.monthly").target.period_on(on)
    code = port(params["port"]).code
    port_id = session.scalar(select(PortOfEntry.id).where(PortOfEntry.code == code))
    source = f"Tsela crossing records, port {code}, {month_start:%B %Y} (SAST)"
    if port_id is None:
        return Measurement(None, "crossings", month_end, source)
    at_port = [Crossing.port_id == port_id]
    if "direction" in params:
        at_port.append(Crossing.direction == Direction(params["direction"]))
    # No record at the port up to then means no data, not zero crossings.
    any_before = session.scalar(
        select(func.count())
        .select_from(Crossing)
        .where(*at_port, Crossing.crossed_at < clock.day_end(month_end))
    )
    if not any_before:
        return Measurement(None, "crossings", month_end, source)
    count = session.scalar(
        select(func.count())
        .select_from(Crossing)
        .where(
            *at_port,
            Crossing.crossed_at >= clock.day_start(month_start),
            Crossing.crossed_at < clock.day_end(month_end),
        )
    )
    return Measurement(float(count or 0), "crossings", month_end, source)


# A permit counts as valid on a day when issued and the day is within its dates
# (the rule of ``tsela.domain.permits.is_valid_on``, expressed in SQL).
def _valid_permit_on(on: date, country: str = "ZAF") -> list[ColumnElement[bool]]:
    return [
        Permit.status == "issued",
        Permit.country == country,
        Permit.valid_from <= on,
        Permit.valid_to >= on,
    ]


@register("permits.valid_share_lso_in_za")
def _valid_share_lso_in_za(session: Session, on: date, params: Mapping[str, str]) -> Measurement:
    del params
    source = "Tsela crossing and permit records: Lesotho nationals whose last crossing was an entry"
    cutoff = clock.day_end(on)
    last = (
        select(Crossing.person_id, func.max(Crossing.crossed_at).label("last_at"))
        .where(Crossing.crossed_at < cutoff)
        .group_by(Crossing.person_id)
        .subquery()
    )
    in_za = (
        select(Crossing.person_id)
        .join(
            last,
            and_(Crossing.person_id == last.c.person_id, Crossing.crossed_at == last.c.last_at),
        )
        .join(Person, Person.id == Crossing.person_id)
        .where(
            Person.nationality == "LSO",
            Crossing.direction == Direction.ENTRY,
            Crossing.country == "ZAF",
        )
        .distinct()
        .subquery()
    )
    present = session.scalar(select(func.count()).select_from(in_za)) or 0
    if present == 0:
        return Measurement(None, "%", on, source)
    holding = (
        session.scalar(
            select(func.count(func.distinct(Permit.person_id))).where(
                Permit.person_id.in_(select(in_za.c.person_id)), *_valid_permit_on(on)
            )
        )
        or 0
    )
    return Measurement(round(100.0 * holding / present, 1), "%", on, source)


@register("permits.summary")
def _permits_active(session: Session, on: date, params: Mapping[str, str]) -> Measurement:
    country = params.get("country", "ZAF")
    conditions = _valid_permit_on(on, country)
    if "type" in params:
        conditions.append(Permit.permit_type == params["type"])
    shown = f" of type {params['type']}" if "type" in params else ""
    where = "" if country == "ZAF" else f" valid in {country}"
    source = f"Tsela permit records{shown}{where}"
    if not session.scalar(select(func.count()).select_from(Permit)):
        return Measurement(None, "permits", on, source)
    count = session.scalar(select(func.count()).select_from(Permit).where(*conditions))
    return Measurement(float(count or 0), "permits", on, source)
