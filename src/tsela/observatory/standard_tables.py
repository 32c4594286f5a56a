"""The standard tables (issue 22, item 1): a month's migration statistics in the shape the
UN, the ILO and the AU ask for, each naming the standard it follows.

What each table is, its standard, the classes of stays and the operational definitions of
workers are data (``reference/standard_tables.toml``, read by
``tsela.domain.standard_tables``); here is the DuckDB SQL over the views the engine defines
for the month (``crossings``, ``permits``, ``travellers``, ``all_refusals``, ``all_bans``,
``stays``). The same SQL runs over the Parquet analytics copy or straight over the store
(``tsela.observatory.store_source``).

Every table is a two-way count table with its totals, protected as the open-data release is
(``tsela.observatory.sdc``: primary and secondary suppression, then the audit), all tables of
the month together. A month with no crossings is a ``NoDataError`` that says which months
the copy holds; a table with nothing to count in a month that has data says so in its note
(``empty``), as does one too small to publish at all (``withheld``) and SDG 10.7.1, whose
registered contracts Tsela does not keep yet (``not_available``). Never an empty table
without a word.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tsela.domain import standard_tables as std
from tsela.observatory.engine import NoDataError, ObservatoryError, Period, local_time
from tsela.observatory.indicators import AGE_BANDS, ensure_stays, prepare
from tsela.observatory.release import DEFAULT_THRESHOLD, TableSpec, build_table
from tsela.observatory.sdc import CountTable, check_threshold, protect

if TYPE_CHECKING:
    from tsela.observatory.engine import Observatory

COUNTRIES = ("ZAF", "LSO")
DEFAULT_COUNTRY = "ZAF"
DIRECTIONS = ("arrival", "departure")
SEXES = ("F", "M", "X")
PUBLISHED, EMPTY, WITHHELD, NOT_AVAILABLE = "published", "empty", "withheld", "not_available"


def _sql_list(values: Sequence[str]) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values) or "NULL"


def _cube(row: str, col: str, weight: str, source: str) -> str:
    """(row, col, count, people, row is total, col is total) per cell, margins included.

    ``weight`` is what one source row counts (1, or a pre-aggregated ``n``). The distinct
    people of each margin are counted from the (row, column, person) groups, one plain
    aggregation per margin: DuckDB's DISTINCT inside GROUPING SETS costs about twice that.
    """
    return f"""
    WITH src AS (
        SELECT coalesce(CAST({row} AS VARCHAR), 'unknown') AS r,
               coalesce(CAST({col} AS VARCHAR), 'unknown') AS c, traveller_key, {weight} AS w
        FROM {source}
    ),
    rc AS (SELECT r, c, traveller_key, sum(w) AS n FROM src GROUP BY ALL),
    rk AS (SELECT r, traveller_key, sum(n) AS n FROM rc GROUP BY ALL),
    ck AS (SELECT c, traveller_key, sum(n) AS n FROM rc GROUP BY ALL),
    tk AS (SELECT traveller_key, sum(n) AS n FROM rk GROUP BY ALL)
    SELECT r, c, CAST(sum(n) AS BIGINT) AS n, count(*) AS k, 0 AS total_r, 0 AS total_c
    FROM rc GROUP BY r, c
    UNION ALL SELECT r, NULL, CAST(sum(n) AS BIGINT), count(*), 0, 1 FROM rk GROUP BY r
    UNION ALL SELECT NULL, c, CAST(sum(n) AS BIGINT), count(*), 1, 0 FROM ck GROUP BY c
    UNION ALL SELECT NULL, NULL, CAST(coalesce(sum(n), 0) AS BIGINT), count(*), 1, 1 FROM tk
    """


@dataclass(frozen=True)
class Spec:
    """How one standard table is computed: its cube and what an empty one means."""

    id: str
    measure: str  # what a cell counts, for the disclosure control's cell keys
    row_dim: str
    col_dim: str
    sql: str
    empty: str  # the note of a month where nothing was counted
    row_order: tuple[str, ...] = ()
    col_order: tuple[str, ...] = ()


def stay_class_sql() -> str:
    """The catalogue's classes as a CASE over ``entry_day``/``exit_day`` (see
    ``tsela.domain.standard_tables.stay_class``: the day after the exit against the entry
    day plus whole calendar months; DuckDB's month arithmetic keeps the month's last day)."""
    cases = [
        f"WHEN exit_day + 1 < entry_day + INTERVAL {c.max_months} MONTH THEN '{c.code}'"
        for c in std.catalogue().stay_classes
        if c.max_months is not None
    ]
    last = std.catalogue().stay_classes[-1].code
    return "CASE " + " ".join(cases) + f" ELSE '{last}' END"


def specs(country: str) -> list[Spec]:
    cat = std.catalogue()
    other = "LSO" if country == "ZAF" else "ZAF"
    flows = "flow_base"
    return [
        Spec("flows.port", f"crossings at the {country} border", "port", "direction",
             _cube("port", "direction", "n", flows),
             f"no crossings into or out of {country} recorded", col_order=DIRECTIONS),
        Spec("flows.citizenship", f"crossings at the {country} border", "citizenship",
             "direction", _cube("nationality", "direction", "n", flows),
             f"no crossings into or out of {country} recorded", col_order=DIRECTIONS),
        Spec("flows.arrivals_sex_age", f"arrivals into {country}", "age_band", "sex",
             _cube("age_band", "sex", "n", f"{flows} WHERE direction = 'arrival'"),
             f"no arrivals into {country} recorded", AGE_BANDS, SEXES),
        Spec("flows.departures_sex_age", f"departures from {country}", "age_band", "sex",
             _cube("age_band", "sex", "n", f"{flows} WHERE direction = 'departure'"),
             f"no departures from {country} recorded", AGE_BANDS, SEXES),
        Spec("flows.purpose", f"crossings at the {country} border", "purpose", "direction",
             _cube("purpose", "direction", "n", flows),
             f"no crossings into or out of {country} recorded", col_order=DIRECTIONS),
        Spec("stays.length", f"stays in {country} ended", "citizenship", "length_class",
             _cube("nationality", stay_class_sql(), "1", "stays"),
             f"no stay in {country} by a non-citizen ended",
             col_order=tuple(c.code for c in cat.stay_classes)),
        Spec("workers.categories", f"migrant workers with a permit for {country}", "category",
             "sex", _cube("category", "sex", "1", "workers"),
             f"nobody held a work permit for {country}",
             ("frontier", "seasonal", "other"), SEXES),
        Spec("workers.returnees", f"returned migrant workers from {country}", "age_band", "sex",
             _cube("age_band", "sex", "1", "returnees"),
             f"nobody came home to {other} (or elsewhere) after a work permit for {country} ended",
             AGE_BANDS, SEXES),
        Spec("refusals.citizenship_port", f"refusals of entry into {country}", "citizenship",
             "port", _cube("nationality", "port", "1", "refusals"),
             f"no refusal of entry into {country} recorded"),
        Spec("refusals.grounds", f"grounds cited in refusals of entry into {country}", "ground",
             "citizenship",
             _cube("ground", "nationality", "1",
                   "(SELECT nationality, traveller_key, unnest(grounds) AS ground FROM refusals)"),
             f"no refusal of entry into {country} recorded"),
        Spec("bans.citizenship_ground", f"entry bans issued by {country}", "citizenship",
             "ground", _cube("nationality", "coalesce(ground, 'none')", "1", "bans"),
             f"no entry ban into {country} issued"),
    ]  # fmt: skip


@dataclass
class StandardTable:
    """One table of the month: its definition, its cells (totals last; None = suppressed)."""

    definition: std.TableDef
    status: str
    note: str = ""
    measure: str = ""
    row_dim: str = ""
    col_dim: str = ""
    rows: list[str] = field(default_factory=list)
    cols: list[str] = field(default_factory=list)
    cells: list[list[int | None]] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.definition.id

    @property
    def suppressed(self) -> int:
        return sum(v is None for line in self.cells for v in line)

    def as_dict(self) -> dict[str, Any]:
        d = self.definition
        return {
            "id": d.id,
            "title": d.title,
            "description": d.description,
            "standards": [{"code": s.code, "name": s.name, "cite": s.cite} for s in d.standards],
            "status": self.status,
            "note": self.note,
            "measure": self.measure,
            "row_dimension": self.row_dim,
            "column_dimension": self.col_dim,
            "rows": self.rows,
            "columns": self.cols,
            "cells": self.cells,
            "suppressed_cells": self.suppressed,
        }


@dataclass
class StandardTables:
    month: str
    country: str
    threshold: int
    source: str  # "parquet" or "store"
    tables: list[StandardTable]
    notes: list[str] = field(default_factory=list)

    def get(self, table_id: str) -> StandardTable:
        for t in self.tables:
            if t.id == table_id:
                return t
        raise ObservatoryError(
            f"unknown standard table {table_id!r}: the tables are "
            + ", ".join(t.id for t in self.tables)
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "month": self.month,
            "country": self.country,
            "threshold": self.threshold,
            "source": self.source,
            "disclosure_control": disclosure_words(self.threshold),
            "tables": [t.as_dict() for t in self.tables],
            "notes": self.notes,
        }


def disclosure_words(threshold: int) -> str:
    return (
        f"cells to which fewer than {threshold} distinct people contribute are suppressed, "
        "with secondary suppression so that no row or column total gives one away, and an "
        "audit (linear programming) that no suppressed cell can be worked out from the "
        "published figures; the tables of the month are protected together, as the "
        "open-data release is"
    )


def check_country(country: str) -> str:
    value = country.strip().upper()
    if value not in COUNTRIES:
        raise ObservatoryError(
            f"country must be one of {', '.join(COUNTRIES)} (ISO 3166-1 alpha-3), got {country!r}"
        )
    return value


def define_views(obs: Observatory, period: Period, country: str) -> None:
    """The month's base tables the specs read (after ``obs.select`` and ``prepare``)."""
    cat = std.catalogue()
    con = obs.con
    c = f"'{country}'"
    first, last = period.start.isoformat(), period.end.isoformat()
    # Flows: one row per person and combination of categories, the person as a 64-bit hash
    # of the key (grouping on it costs far less than on the text). Two people whose hashes
    # collide (about one chance in a million among five million people) would count as one
    # contributor: a cell could then be hidden that need not be, never the reverse.
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE flow_base AS
        SELECT port, CASE direction WHEN 'entry' THEN 'arrival' ELSE 'departure' END AS direction,
               coalesce(nationality, 'unknown') AS nationality, coalesce(sex, 'X') AS sex,
               age_band(year(day) - birth_year) AS age_band,
               coalesce(purpose, 'not_stated') AS purpose,
               hash(traveller_key) AS traveller_key, count(*) AS n
        FROM crossings WHERE country = {c} GROUP BY ALL
    """)  # fmt: skip
    ensure_stays(obs, period, country, cat.stay_lookback_days)
    work_types = _sql_list(cat.work_types())
    seasonal = _sql_list(cat.seasonal_types)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE workers AS
        WITH work AS (
            SELECT p.traveller_key, p.permit_type, p.valid_from, p.valid_to
            FROM permits p, period_bounds b
            WHERE p.country = {c} AND p.issued_at IS NOT NULL
              AND p.permit_type IN ({work_types})
              AND p.valid_from <= b.last_day AND p.valid_to >= b.first_day
        ),
        people AS (
            SELECT w.traveller_key, bool_or(w.permit_type IN ({seasonal})) AS seasonal
            FROM work w LEFT JOIN travellers t USING (traveller_key)
            WHERE t.nationality IS DISTINCT FROM {c}
            GROUP BY w.traveller_key
        ),
        weeks AS (
            SELECT CAST(d AS DATE) AS monday
            FROM period_bounds, unnest(generate_series(first_day, last_day, INTERVAL 1 DAY)) AS t(d)
            WHERE isodow(d) = 1 AND CAST(d AS DATE) + 6 <= last_day
        ),
        covered AS (
            SELECT DISTINCT w.traveller_key, k.monday
            FROM work w JOIN weeks k ON k.monday >= w.valid_from AND k.monday + 6 <= w.valid_to
        ),
        returns AS (
            SELECT traveller_key, day - CAST(isodow(day) - 1 AS INTEGER) AS monday,
                   count(*) AS n
            FROM crossings WHERE country = {c} AND direction = 'exit' GROUP BY ALL
        ),
        frontier AS (
            SELECT v.traveller_key FROM covered v LEFT JOIN returns r USING (traveller_key, monday)
            GROUP BY v.traveller_key HAVING min(coalesce(r.n, 0)) >= {cat.min_returns_per_week}
        )
        SELECT p.traveller_key, coalesce(t.sex, 'X') AS sex,
               CASE WHEN f.traveller_key IS NOT NULL THEN 'frontier'
                    WHEN p.seasonal THEN 'seasonal' ELSE 'other' END AS category
        FROM people p LEFT JOIN travellers t USING (traveller_key)
        LEFT JOIN frontier f USING (traveller_key)
    """)  # fmt: skip
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE returnees AS
        WITH home AS (
            SELECT x.traveller_key, x.day, coalesce(x.sex, 'X') AS sex,
                   age_band(year(x.day) - x.birth_year) AS age_band
            FROM crossings x
            WHERE x.country <> {c} AND x.direction = 'entry'
              AND x.nationality IS DISTINCT FROM {c}
              AND EXISTS (
                  SELECT 1 FROM permits p
                  WHERE p.traveller_key = x.traveller_key AND p.country = {c}
                    AND p.issued_at IS NOT NULL AND p.permit_type IN ({work_types})
                    AND p.valid_to <= x.day AND p.valid_to >= x.day - {cat.returnee_window_days})
              AND NOT EXISTS (
                  SELECT 1 FROM permits p
                  WHERE p.traveller_key = x.traveller_key AND p.country = {c}
                    AND p.issued_at IS NOT NULL AND p.permit_type IN ({work_types})
                    AND p.valid_from <= x.day AND p.valid_to > x.day)
        )
        SELECT traveller_key, arg_min(sex, day) AS sex, arg_min(age_band, day) AS age_band
        FROM home GROUP BY traveller_key
    """)  # fmt: skip
    refused_day = f"CAST({local_time('refused_at')} AS DATE)"
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE refusals AS
        SELECT traveller_key, coalesce(nationality, 'unknown') AS nationality, port, grounds
        FROM all_refusals
        WHERE country = {c} AND {refused_day} BETWEEN DATE '{first}' AND DATE '{last}'
    """)  # fmt: skip
    issued_day = f"CAST({local_time('issued_at')} AS DATE)"
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE bans AS
        SELECT traveller_key, coalesce(nationality, 'unknown') AS nationality, ground
        FROM all_bans
        WHERE issuing_country = {c} AND {issued_day} BETWEEN DATE '{first}' AND DATE '{last}'
    """)  # fmt: skip


def _table_from(count: CountTable) -> tuple[list[str], list[str], list[list[int | None]]]:
    width = len(count.cols) + 1
    cells = [
        [None if count.suppressed[i, j] else int(count.values[i, j]) for j in range(width)]
        for i in range(len(count.rows) + 1)
    ]
    return count.rows, count.cols, cells


def compute(
    obs: Observatory,
    month: str,
    country: str = DEFAULT_COUNTRY,
    threshold: int = DEFAULT_THRESHOLD,
) -> StandardTables:
    """Every standard table of one month for one country, protected together."""
    period = Period.month(month)
    country = check_country(country)
    check_threshold(threshold)
    missing = obs.months_without_data(period)
    if missing:
        raise NoDataError(
            f"no crossings in {period.label()} in {obs.describe_source()} (it holds crossings "
            f"for {obs.coverage()}): there are no standard tables for a month without data"
        )
    obs.select(period)
    prepare(obs, period)
    seen = obs.sql(f"SELECT count(*) FROM crossings WHERE country = '{country}'").fetchall()
    if not seen[0][0]:
        raise NoDataError(
            f"no crossings into or out of {country} in {period.label()} in "
            f"{obs.describe_source()}: there are no standard tables for a month without data"
        )
    define_views(obs, period, country)
    cat = std.catalogue()
    found: list[tuple[Spec, CountTable | None]] = []
    for spec in specs(country):
        release_spec = TableSpec(
            name=spec.id, title=cat.tables[spec.id].title,
            description=cat.tables[spec.id].description, measure=spec.measure,
            row_dim=spec.row_dim, col_dim=spec.col_dim, sql=spec.sql,
            row_order=spec.row_order, col_order=spec.col_order,
        )  # fmt: skip
        found.append((spec, build_table(obs, release_spec)))
    publishable = [t for _s, t in found if t is not None and t.contributors[-1, -1] >= threshold]
    outcome_tables = {t.name for t in publishable}
    # Tables share figures only within one measure (a cell's key is its measure and its
    # categories): each such group is protected on its own, which is the same protection
    # and keeps every audit's linear programmes small.
    groups: dict[str, list[CountTable]] = {}
    for t in publishable:
        groups.setdefault(t.measure, []).append(t)
    for group in groups.values():
        protect(group, threshold)
    tables: list[StandardTable] = []
    for spec, count in found:
        definition = cat.tables[spec.id]
        base = StandardTable(
            definition, EMPTY, measure=spec.measure, row_dim=spec.row_dim, col_dim=spec.col_dim
        )
        if count is None:
            base.note = f"{spec.empty} in {period.label()}"
        elif count.name not in outcome_tables:
            base.status = WITHHELD
            base.note = (
                f"withheld: fewer than {threshold} people in the whole table in "
                f"{period.label()} (the disclosure control's threshold)"
            )
        else:
            base.status = PUBLISHED
            base.rows, base.cols, base.cells = _table_from(count)
        tables.append(base)
    tables.append(
        StandardTable(
            cat.tables["sdg.10_7_1"],
            NOT_AVAILABLE,
            note=f"not available yet: needs {cat.sdg_10_7_1_needs}",
        )
    )
    return StandardTables(
        month=period.label(),
        country=country,
        threshold=threshold,
        source=obs.source_kind,
        tables=tables,
        notes=_notes(obs, found),
    )


def _notes(obs: Observatory, found: list[tuple[Spec, CountTable | None]]) -> list[str]:
    notes = []
    if not obs.has_permits:
        notes.append(
            "no permits in the analytics copy: the workers' tables count nobody (write the "
            "copy from the database with `tsela export parquet`)"
        )
    if not obs.has_refusals:
        notes.append(
            "no refusals or entry bans in the analytics copy: write it from the database with "
            "`tsela export parquet`"
        )
    purpose = next((t for s, t in found if s.id == "flows.purpose"), None)
    if purpose is not None and purpose.rows == ["not_stated"]:
        notes.append(
            "no crossing of the month used a pre-arrival declaration: every purpose is 'not stated'"
        )
    return notes


def definitions() -> list[dict[str, Any]]:
    """Every table with its standard(s), for lists (no data needed)."""
    return [
        {
            "id": d.id,
            "title": d.title,
            "description": d.description,
            "standards": [{"code": s.code, "name": s.name, "cite": s.cite} for s in d.standards],
        }
        for d in std.catalogue().tables.values()
    ]
