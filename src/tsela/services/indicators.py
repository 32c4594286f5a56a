"""Indicators measured from the store, by id, at a date.

Plans name indicators (``IndicatorTarget.indicator_id``) so that progress shows what the
data says, not what was claimed. Each indicator is a function registered here; the
observatory registers richer ones into the same ``REGISTRY`` with ``@register``.

A measurement without data has ``value=None``: never a made-up figure.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session

from tsela.kernel import clock
from tsela.reference import UnknownPortError, port
from tsela.store.models import Crossing, Direction, Permit, Person, PortOfEntry


class IndicatorError(ValueError):
    """An unknown indicator, or parameters it does not accept."""


@dataclass(frozen=True)
class Measurement:
    value: float | None
    unit: str
    as_of: date
    source: str


Compute = Callable[[Session, date, Mapping[str, str]], Measurement]


@dataclass(frozen=True)
class Indicator:
    id: str
    label: str
    unit: str
    compute: Compute
    params: tuple[str, ...] = ()  # parameter names it accepts
    required: tuple[str, ...] = ()  # of which these must be given
    check: Callable[[Mapping[str, str]], None] | None = None  # validates parameter values

    def describe(self, params: Mapping[str, str]) -> str:
        shown = ", ".join(f"{k}={v}" for k, v in sorted(params.items()))
        return f"{self.label} ({shown})" if shown else self.label


REGISTRY: dict[str, Indicator] = {}


def register(
    indicator_id: str,
    *,
    label: str,
    unit: str,
    params: tuple[str, ...] = (),
    required: tuple[str, ...] = (),
    check: Callable[[Mapping[str, str]], None] | None = None,
) -> Callable[[Compute], Compute]:
    def add(func: Compute) -> Compute:
        if indicator_id in REGISTRY:
            raise ValueError(f"indicator {indicator_id!r} is registered twice")
        REGISTRY[indicator_id] = Indicator(indicator_id, label, unit, func, params, required, check)
        return func

    return add


def get(indicator_id: str) -> Indicator:
    try:
        return REGISTRY[indicator_id]
    except KeyError:
        known = ", ".join(sorted(REGISTRY))
        raise IndicatorError(
            f"unknown indicator {indicator_id!r}: known indicators are {known}"
        ) from None


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
    ind = get(indicator_id)
    unknown = sorted(set(params) - set(ind.params))
    if unknown:
        accepted = ", ".join(ind.params) or "none"
        raise IndicatorError(
            f"indicator {indicator_id} does not take {', '.join(unknown)} "
            f"(parameters it takes: {accepted})"
        )
    missing = [p for p in ind.required if p not in params]
    if missing:
        raise IndicatorError(f"indicator {indicator_id} needs {', '.join(missing)}=...")
    if ind.check:
        ind.check(params)
    return ind


def measure(
    session: Session, indicator_id: str, on: date, params: Mapping[str, str] | None = None
) -> Measurement:
    params = dict(params or {})
    return validate(indicator_id, params).compute(session, on, params)


# --- Built-in indicators ----------------------------------------------------------------


def _check_port(params: Mapping[str, str]) -> None:
    try:
        port(params["port"])
    except UnknownPortError as exc:
        raise IndicatorError(str(exc)) from None
    direction = params.get("direction")
    if direction is not None and direction not in {d.value for d in Direction}:
        raise IndicatorError(f"direction must be entry or exit, not {direction!r}")


@register(
    "crossings.monthly_count",
    label="Crossings at a port in the last complete calendar month",
    unit="crossings",
    params=("port", "direction"),
    required=("port",),
    check=_check_port,
)
def _crossings_monthly_count(session: Session, on: date, params: Mapping[str, str]) -> Measurement:
    # The last month that has fully happened by the end of ``on``.
    last_day = calendar.monthrange(on.year, on.month)[1]
    month_end = on if on.day == last_day else on.replace(day=1) - timedelta(days=1)
    month_start = month_end.replace(day=1)
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
def _valid_permit_on(on: date) -> list[ColumnElement[bool]]:
    return [
        Permit.status == "issued",
        Permit.country == "ZAF",
        Permit.valid_from <= on,
        Permit.valid_to >= on,
    ]


@register(
    "permits.valid_share_lso_in_za",
    label="Share of Basotho in South Africa (by crossing records) holding a valid permit",
    unit="%",
)
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


@register(
    "permits.valid_count",
    label="Permits valid in South Africa on the day",
    unit="permits",
    params=("type",),
)
def _valid_count(session: Session, on: date, params: Mapping[str, str]) -> Measurement:
    conditions = _valid_permit_on(on)
    if "type" in params:
        conditions.append(Permit.permit_type == params["type"])
    shown = f" of type {params['type']}" if "type" in params else ""
    source = f"Tsela permit records{shown}"
    if not session.scalar(select(func.count()).select_from(Permit)):
        return Measurement(None, "permits", on, source)
    count = session.scalar(select(func.count()).select_from(Permit).where(*conditions))
    return Measurement(float(count or 0), "permits", on, source)
