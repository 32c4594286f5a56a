"""``tsela release``: open-data tables that reveal no individual.

For a period, the release holds a few two-way count tables with their totals, as CSV, and
a Frictionless Data ``datapackage.json`` describing every file, field and the disclosure
control applied (``tsela.observatory.sdc``: primary and secondary cell suppression, then an
audit that tries to recover every hidden cell from what is published), and the same tables
in SDMX 2.1 under ``sdmx/`` (``sdmx_out``). A suppressed cell is written ``x`` in the CSV.

The release is written into a temporary folder and renamed at the end: an interrupted
release leaves nothing behind, and an existing folder is never overwritten.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tsela import __version__
from tsela.kernel import clock
from tsela.observatory import sdmx_out
from tsela.observatory.engine import NoDataError, Observatory, ObservatoryError, Period
from tsela.observatory.indicators import AGE_BANDS, ensure_stays, prepare
from tsela.observatory.sdc import TOTAL, CountTable, Outcome, check_threshold, protect

SUPPRESSED = "x"
DEFAULT_THRESHOLD = 10
LENGTH_BANDS = ("1 day", "2-7 days", "8-30 days", "31-90 days", "91+ days")
SDMX_DIR = "sdmx"


@dataclass(frozen=True)
class TableSpec:
    name: str
    title: str
    description: str
    measure: str
    row_dim: str
    col_dim: str
    # A query giving (row, col, count, contributors, row is total, col is total) per cell.
    sql: str
    row_order: tuple[str, ...] = ()
    col_order: tuple[str, ...] = ()


def _cube(row: str, col: str, count: str, source: str) -> str:
    return f"""
    SELECT coalesce(CAST({row} AS VARCHAR), 'unknown') AS r,
           coalesce(CAST({col} AS VARCHAR), 'unknown') AS c,
           {count} AS n, count(DISTINCT traveller_key) AS k,
           grouping(r) AS total_r, grouping(c) AS total_c
    FROM {source}
    GROUP BY GROUPING SETS ((r, c), (r), (c), ())
    """


SPECS = (
    TableSpec(
        name="crossings_by_port_month",
        title="Crossings by port of entry and month",
        description="Crossing records (entries and exits, both countries) by port and "
        "border-local month.",
        measure="crossings",
        row_dim="port",
        col_dim="month",
        sql=_cube("port", "strftime(month, '%Y-%m')", "count(*)", "crossings"),
    ),
    TableSpec(
        name="crossings_by_nationality_month",
        title="Crossings by nationality and month",
        description="Crossing records by the traveller's nationality (ISO 3166-1 alpha-3) and "
        "border-local month.",
        measure="crossings",
        row_dim="nationality",
        col_dim="month",
        sql=_cube("nationality", "strftime(month, '%Y-%m')", "count(*)", "crossings"),
    ),
    TableSpec(
        name="travellers_by_age_sex",
        title="Travellers by age band and sex",
        description="Distinct people who crossed at least once in the period, by age band "
        "(age reached in the period's first year) and sex (X: unspecified).",
        measure="travellers",
        row_dim="age_band",
        col_dim="sex",
        sql=_cube(
            "age_band(year(first_day) - birth_year)",
            "sex",
            "count(DISTINCT traveller_key)",
            "(SELECT DISTINCT traveller_key, birth_year, sex FROM crossings), period_bounds",
        ),
        row_order=AGE_BANDS,
    ),
    TableSpec(
        name="stays_in_south_africa_by_nationality_length",
        title="Completed stays in South Africa by nationality and length",
        description="Stays in South Africa by non-citizens that ended in the period (entry "
        "paired with the next exit), by nationality and length in days (entry and exit days "
        "both count).",
        measure="stays",
        row_dim="nationality",
        col_dim="length",
        sql="WITH banded AS (SELECT *, CASE WHEN days <= 1 THEN '1 day' "
        "WHEN days <= 7 THEN '2-7 days' WHEN days <= 30 THEN '8-30 days' "
        "WHEN days <= 90 THEN '31-90 days' ELSE '91+ days' END AS band FROM stays)"
        + _cube("nationality", "band", "count(*)", "banded"),
        col_order=LENGTH_BANDS,
    ),
)


def _order(found: set[str], preferred: tuple[str, ...]) -> list[str]:
    ordered = [v for v in preferred if v in found]
    return ordered + sorted(found - set(ordered))


def build_table(obs: Observatory, spec: TableSpec) -> CountTable | None:
    """The spec's counts with margins; None when the period has nothing to count."""
    rows = obs.sql(spec.sql).fetchall()
    if not rows:
        return None
    cells = {
        (None if tr else r, None if tc else c): (int(n), int(k)) for r, c, n, k, tr, tc in rows
    }
    inner_rows = _order({r for r, _c, _n, _k, tr, _tc in rows if not tr}, spec.row_order)
    inner_cols = _order({c for _r, c, _n, _k, _tr, tc in rows if not tc}, spec.col_order)
    if not inner_rows or not inner_cols:
        return None
    shape = (len(inner_rows) + 1, len(inner_cols) + 1)
    values = np.zeros(shape, dtype=np.int64)
    people = np.zeros(shape, dtype=np.int64)
    for i, r in enumerate([*inner_rows, None]):
        for j, c in enumerate([*inner_cols, None]):
            values[i, j], people[i, j] = cells.get((r, c), (0, 0))
    return CountTable(
        name=spec.name,
        title=spec.title,
        description=spec.description,
        measure=spec.measure,
        row_dim=spec.row_dim,
        col_dim=spec.col_dim,
        rows=[str(r) for r in inner_rows],
        cols=[str(c) for c in inner_cols],
        values=values,
        contributors=people,
    )


@dataclass(frozen=True)
class ReleaseSummary:
    out_dir: Path
    tables: list[str]
    cells: int
    suppressed: int
    primary: int


def write_csv(table: CountTable, path: Path) -> int:
    """Wide CSV: one row per row category, one column per column category, totals last."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow([table.row_dim, *table.cols, TOTAL])
        for i, label in enumerate([*table.rows, TOTAL]):
            writer.writerow(
                [label]
                + [
                    SUPPRESSED if table.suppressed[i, j] else int(table.values[i, j])
                    for j in range(len(table.cols) + 1)
                ]
            )
    return int(table.values.size)


def datapackage(
    tables: list[CountTable], outcome: Outcome, period: Period, threshold: int
) -> dict[str, Any]:
    resources = []
    for t in tables:
        fields: list[dict[str, Any]] = [
            {"name": t.row_dim, "type": "string", "description": f"{t.row_dim}, or {TOTAL}"}
        ]
        fields += [
            {
                "name": c,
                "type": "integer",
                "description": f"{t.measure} with {t.col_dim} {c}",
                "constraints": {"minimum": 0},
            }
            for c in t.cols
        ]
        fields.append({"name": TOTAL, "type": "integer", "description": f"all {t.col_dim} values"})
        resources.append(
            {
                "name": t.name.replace("_", "-"),
                "path": f"{t.name}.csv",
                "profile": "tabular-data-resource",
                "title": t.title,
                "description": t.description,
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "schema": {
                    "fields": fields,
                    "primaryKey": [t.row_dim],
                    "missingValues": [SUPPRESSED],
                },
                "tsela:measure": t.measure,
                "tsela:dimensions": [t.row_dim, t.col_dim],
                "tsela:cells": int(t.values.size),
                "tsela:suppressed_cells": int(t.suppressed.sum()),
            }
        )
    return {
        "profile": "tabular-data-package",
        "name": f"tsela-migration-{period.label().replace('..', '-to-')}",
        "title": f"Border crossings between Lesotho and South Africa, {period.label()}",
        "description": "Aggregate counts from the Tsela migration observatory. No table "
        "reveals an individual: see tsela:disclosure_control.",
        "version": "1.0.0",
        "created": clock.now().isoformat(timespec="seconds"),
        "licenses": [
            {
                "name": "CC-BY-4.0",
                "path": "https://creativecommons.org/licenses/by/4.0/",
                "title": "Creative Commons Attribution 4.0",
            }
        ],
        "sources": [{"title": f"Tsela crossing records (software version {__version__})"}],
        "tsela:period": {"from": period.start.isoformat(), "to": period.end.isoformat()},
        "tsela:time_zone": "border-local time, UTC+2 (no daylight saving)",
        "tsela:disclosure_control": {
            "method": "cell suppression with secondary suppression and an audit",
            "threshold": threshold,
            "suppressed_marker": SUPPRESSED,
            "primary": f"a cell (totals included) to which fewer than {threshold} distinct "
            "people contribute is suppressed; zero cells are published",
            "secondary": "every row and column (with its total) holding a suppressed cell holds "
            "at least two; tables sharing totals are protected together",
            "audit": "for every suppressed cell, linear programming finds the least and "
            "greatest value consistent with all published figures, the additivity of every "
            "table and non-negative counts; no suppressed cell is determined, and every "
            f"primarily suppressed cell's range is at least {threshold} wide",
            "rounds": outcome.rounds,
            "cells": int(sum(t.values.size for t in tables)),
            "suppressed_cells": outcome.suppressed_count(),
            "primary_suppressed": outcome.primary_count(),
        },
        "resources": resources,
    }


def sdmx_resources(names: list[str]) -> list[dict[str, Any]]:
    """The SDMX files as data package resources (not tabular: described, not schema'd)."""
    out = []
    for name in names:
        structure = name == sdmx_out.STRUCTURE_FILE
        kind = "structure" if structure else "structurespecificdata"
        out.append(
            {
                "name": f"sdmx-{name.removesuffix('.xml').replace('_', '-')}",
                "path": f"{SDMX_DIR}/{name}",
                "format": "xml",
                "mediatype": f"application/vnd.sdmx.{kind}+xml;version=2.1",
                "description": "SDMX 2.1 structure: concepts, code lists, one data structure "
                "definition per table (annotated with the disclosure control)"
                if structure
                else f"SDMX 2.1 data of {name.removesuffix('.xml')}.csv: suppressed cells "
                "have no value and CONF_STATUS C (primary) or D (secondary)",
            }
        )
    return out


def release(
    obs: Observatory, period: Period, out_dir: Path, threshold: int = DEFAULT_THRESHOLD
) -> ReleaseSummary:
    """Compute, protect and write the release for the period into a new folder."""
    check_threshold(threshold)
    out_dir = Path(out_dir)
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise ObservatoryError(
            f"{out_dir} already exists and is not empty: a release goes into a new folder"
        )
    obs.select(period)
    prepare(obs, period)
    ensure_stays(obs, period, "ZAF")
    tables = [t for spec in SPECS if (t := build_table(obs, spec)) is not None]
    if not tables or tables[0].measure != "crossings":
        raise NoDataError(
            f"no crossings in {period.label()} in the analytics copy {obs.dir} "
            f"(it holds crossings for {obs.coverage()})"
        )
    outcome = protect(tables, threshold)
    tmp = out_dir.parent / f".{out_dir.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        cells = sum(write_csv(t, tmp / f"{t.name}.csv") for t in tables)
        meta = datapackage(tables, outcome, period, threshold)
        # The same tables in SDMX, read back against their own DSDs before anything is
        # published; the DSDs carry the disclosure control in an annotation.
        control = meta["tsela:disclosure_control"]
        disclosure = (
            f"{control['method']}: {control['primary']}; {control['secondary']}; {control['audit']}"
        )
        written = sdmx_out.write(tables, tmp / SDMX_DIR, period.label(), disclosure)
        sdmx_out.check(tables, tmp / SDMX_DIR)
        meta["resources"] += sdmx_resources(written)
        (tmp / "datapackage.json").write_text(json.dumps(meta, indent=2) + "\n")
        if out_dir.exists():
            out_dir.rmdir()  # empty, checked above
        tmp.rename(out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return ReleaseSummary(
        out_dir=out_dir,
        tables=[t.name for t in tables],
        cells=cells,
        suppressed=outcome.suppressed_count(),
        primary=outcome.primary_count(),
    )
