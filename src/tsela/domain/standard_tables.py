"""The observatory's standard tables, as data: which standard each follows, the classes of
stays by length, the operational definitions of frontier and seasonal workers and returnees.

Pure: reads ``reference/standard_tables.toml`` (every boundary and definition is there,
next to its source) and the permit types. The tables are computed by
``tsela.observatory.standard_tables``; this module also classes one stay in plain Python
(``stay_class``), the definition the SQL is tested against.
"""

from __future__ import annotations

import calendar
import itertools
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from typing import Any

from tsela.domain.permits import permit_types
from tsela.reference import reference_file


class StandardTablesError(ValueError):
    """``reference/standard_tables.toml`` is wrong (found when it is read)."""


@dataclass(frozen=True)
class Standard:
    code: str
    name: str
    cite: str


@dataclass(frozen=True)
class StayClass:
    """Stays of at least ``min_months`` and, when ``max_months`` is set, fewer than it."""

    code: str
    words: str
    min_months: int
    max_months: int | None


@dataclass(frozen=True)
class WorkerCategory:
    code: str
    words: str
    definition: str  # the standard's words
    operational: str  # what Tsela counts


@dataclass(frozen=True)
class TableDef:
    id: str
    title: str
    description: str
    standards: tuple[Standard, ...]


@dataclass(frozen=True)
class Catalogue:
    standards: Mapping[str, Standard]
    tables: Mapping[str, TableDef]
    stay_classes: tuple[StayClass, ...]
    stay_source: str
    stay_lookback_days: int
    workers: Mapping[str, WorkerCategory]
    workers_source: str
    min_returns_per_week: int
    seasonal_types: tuple[str, ...]
    returnee_window_days: int
    sdg_10_7_1_needs: str

    def work_types(self) -> tuple[str, ...]:
        """Permit types that give the right to work (``permit_types.toml``)."""
        return tuple(code for code, t in permit_types().items() if "work" in t.rights)


def _standards(doc: Mapping[str, Any], codes: Any, where: str) -> tuple[Standard, ...]:
    known = doc["standards"]
    out = []
    for code in codes or ():
        if code not in known:
            raise StandardTablesError(f"{where}: unknown standard {code!r}")
        out.append(Standard(code, str(known[code]["name"]), str(known[code]["cite"])))
    if not out:
        raise StandardTablesError(f"{where}: names no standard")
    return tuple(out)


def parse(text: str) -> Catalogue:
    doc = tomllib.loads(text)
    standards = {
        code: Standard(code, str(s["name"]), str(s["cite"]))
        for code, s in doc.get("standards", {}).items()
    }
    tables = {
        tid: TableDef(
            tid,
            str(t["title"]),
            str(t["description"]),
            _standards(doc, t.get("standard"), f"tables.{tid}"),
        )
        for tid, t in doc.get("tables", {}).items()
    }
    stays = doc["stays"]
    classes = tuple(
        StayClass(
            str(c["code"]),
            str(c["en"]),
            int(c["min_months"]),
            int(c["max_months"]) if "max_months" in c else None,
        )
        for c in stays["class"]
    )
    # The classes must cover every length once: each starts where the one before ends.
    if not classes or classes[0].min_months != 0 or classes[-1].max_months is not None:
        raise StandardTablesError("stays.class: the classes must start at 0 and end open")
    for before, after in itertools.pairwise(classes):
        if before.max_months != after.min_months:
            raise StandardTablesError(
                f"stays.class: {before.code} ends at {before.max_months} months but "
                f"{after.code} starts at {after.min_months}"
            )
    w = doc["workers"]
    workers = {
        code: WorkerCategory(
            code, str(w[code]["en"]), str(w[code]["definition"]), str(w[code]["operational"])
        )
        for code in ("frontier", "seasonal", "other", "returnee")
    }
    seasonal = tuple(str(x) for x in w["seasonal"]["permit_types"])
    unknown = sorted(set(seasonal) - set(permit_types()))
    if unknown:
        raise StandardTablesError(f"workers.seasonal: unknown permit types {unknown}")
    return Catalogue(
        standards=standards,
        tables=tables,
        stay_classes=classes,
        stay_source=str(stays["source"]),
        stay_lookback_days=int(stays["lookback_days"]),
        workers=workers,
        workers_source=str(w["source"]),
        min_returns_per_week=int(w["frontier"]["min_returns_per_week"]),
        seasonal_types=seasonal,
        returnee_window_days=int(w["returnee"]["window_days"]),
        sdg_10_7_1_needs=str(doc["sdg_10_7_1"]["needs"]),
    )


@cache
def catalogue() -> Catalogue:
    return parse(reference_file("standard_tables.toml"))


def add_months(day: date, months: int) -> date:
    """The same day ``months`` calendar months later (the month's last day if shorter)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def stay_class(entry_day: date, exit_day: date) -> str:
    """The class of a stay (entry and exit day both count): the definition in words."""
    after = exit_day + timedelta(days=1)
    for c in catalogue().stay_classes:
        if c.max_months is None or after < add_months(entry_day, c.max_months):
            return c.code
    raise AssertionError("the last class is open")  # pragma: no cover
