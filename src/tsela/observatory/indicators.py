"""The observatory's indicator tables: each indicator's SQL, its words from the catalogue.

What an indicator is (id, title, description, formula, unit, parameters) is written once in
the catalogue ``tsela.domain.indicators`` (``reference/indicators.toml``), which the
governance tracker (``tsela.services.indicators``) reads too; here is how the observatory
computes it (``QUERIES``). Every indicator is a DuckDB query over the views the engine
defines for a period and ports (``crossings``, ``crossing_counts``, ``travellers``,
``permits``, ``selected_ports``, ``period_bounds``, ``season_windows``; see
``tsela.observatory.engine``) and the ``stays`` defined here. The CLI, the API, the
dashboard, the monthly report and the open-data release all read from here, so a figure
means the same thing wherever it appears. Where a plan can follow an indicator too, the
tracker's figure is a sum of this table's cells (``Target.question``), held to it by
``tests/test_indicators_catalogue.py``.

Counting conventions (they matter for reading the figures):

- A crossing is one record: leaving one country and entering the other at a port makes two
  records (one kept by each side), so a round trip is four. "Entries into ZAF" counts people
  arriving in South Africa; "exits from LSO" the same people leaving Lesotho.
- Days, months and hours are border-local (UTC+2, no daylight saving in either country).
- Age is the age reached in the year of the crossing (year of crossing minus birth year).
- A stay in a country is an entry into it followed by the traveller's next record at that
  country's side being an exit; stays of the country's own nationals are not stays abroad and
  are left out. Both the entry day and the exit day count as days of stay, as in the stay rules.
  An exit is paired with an entry made up to ``STAY_LOOKBACK_DAYS`` before the period began.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from dateutil.easter import easter

from tsela.domain.indicators import Definition, Param, catalogue
from tsela.observatory.engine import (
    NoDataError,
    Observatory,
    ObservatoryError,
    Period,
    check_ports,
    local_time,
)

if TYPE_CHECKING:
    import pyarrow as pa  # the 'observatory' extra: the engine's answers are Arrow tables


def _default(indicator_id: str, name: str) -> int:
    (value,) = (p.default for p in catalogue()[indicator_id].params if p.name == name)
    return int(value)


# The 30-day visa exemption for Lesotho citizens visiting South Africa
# (reference/stay_rules/lso-to-zaf.toml, version "30-day visa exemption"): the catalogue's
# default limit_days of stays.overstays.
VISITOR_LIMIT_DAYS = _default("stays.overstays", "limit_days")
# How far before the period an exit's entry may be (stays longer are not seen).
STAY_LOOKBACK_DAYS = 365
AGE_BANDS = ("0-17", "18-24", "25-34", "35-44", "45-54", "55-64", "65+", "unknown")


def parse_param(p: Param, raw: object, indicator_id: str) -> int | str:
    """A parameter's value from text (a query string, ``--set``), checked."""
    if p.choices:
        value = str(raw).strip().upper()
        if value not in p.choices:
            raise ObservatoryError(
                f"{indicator_id}: {p.name} must be one of {', '.join(p.choices)}, got {raw!r}"
            )
        return value
    try:
        number = int(str(raw).strip())
    except ValueError:
        raise ObservatoryError(
            f"{indicator_id}: {p.name} must be a whole number, got {raw!r}"
        ) from None
    if p.minimum is not None and number < p.minimum:
        raise ObservatoryError(
            f"{indicator_id}: {p.name} must be at least {p.minimum}, got {number}"
        )
    if p.maximum is not None and number > p.maximum:
        raise ObservatoryError(
            f"{indicator_id}: {p.name} must be at most {p.maximum}, got {number}"
        )
    return number


@dataclass(frozen=True)
class Query:
    """How the observatory computes an indicator: its SQL and what the SQL reads."""

    sql: str
    counts: bool = False  # reads the daily rollup ``crossing_counts`` (counts only)
    lookback_days: int = 0  # reads ``stays``: exits in the period, entries this far before


@dataclass(frozen=True)
class Indicator:
    """A catalogue indicator (its words: ``tsela.domain.indicators``) and its query."""

    definition: Definition
    query: Query

    @property
    def id(self) -> str:
        return self.definition.id

    @property
    def title(self) -> str:
        return self.definition.title

    @property
    def description(self) -> str:
        return self.definition.description

    @property
    def formula(self) -> str:
        return self.definition.formula

    @property
    def unit(self) -> str:
        return self.definition.unit

    @property
    def subject(self) -> str:
        return self.definition.subject

    @property
    def source(self) -> str:
        return self.definition.source

    @property
    def by_port(self) -> bool:
        return self.definition.by_port

    @property
    def params(self) -> tuple[Param, ...]:
        return self.definition.params

    @property
    def sql(self) -> str:
        return self.query.sql

    @property
    def counts(self) -> bool:
        return self.query.counts

    @property
    def lookback_days(self) -> int:
        return self.query.lookback_days

    def bind(self, raw: Mapping[str, object] | None) -> dict[str, int | str]:
        raw = dict(raw or {})
        known = {p.name: p for p in self.params}
        unknown = sorted(set(raw) - set(known))
        if unknown:
            takes = ", ".join(known) or "no parameters"
            raise ObservatoryError(
                f"{self.id} does not take {', '.join(unknown)} (it takes {takes})"
            )
        return {
            name: parse_param(p, raw[name], self.id) if name in raw else p.default
            for name, p in known.items()
        }

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "description": self.description,
            "formula": self.formula,
            "unit": self.unit,
            "by_port": self.by_port,
            "params": [
                {
                    "name": p.name,
                    "default": p.default,
                    "help": p.help,
                    **({"choices": list(p.choices)} if p.choices else {}),
                    **({"minimum": p.minimum} if p.minimum is not None else {}),
                    **({"maximum": p.maximum} if p.maximum is not None else {}),
                }
                for p in self.params
            ],
        }


@dataclass
class Result:
    indicator: Indicator
    period: Period
    ports: tuple[str, ...]
    params: dict[str, int | str]
    table: pa.Table
    notes: list[str] = field(default_factory=list)

    def rows(self) -> list[dict[str, Any]]:
        """Plain rows for JSON (dates as ISO text)."""
        out = []
        for row in self.table.to_pylist():
            out.append({k: v.isoformat() if isinstance(v, date) else v for k, v in row.items()})
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "indicator": self.indicator.describe(),
            "period": {"from": self.period.start.isoformat(), "to": self.period.end.isoformat()},
            "ports": list(self.ports),
            "params": self.params,
            "columns": self.table.column_names,
            "rows": self.rows(),
            "notes": self.notes,
        }


# Every traveller's records at one country's side, in time order, built once per analytics
# copy (``stays_source``): one row per exit from the country, with the day of the record just
# before it when that is an entry (else entry_day is NULL: an exit without an entry), and one
# row per entry whose next record there is not an exit (exit_day NULL: still inside, or the
# exit was never recorded). Nationals are left out before pairing: every record of a
# traveller carries the person's nationality (export and synth write it from the person), so
# this drops whole sequences and changes no pair. Two records in the same second: the entry
# first. Sorted by country and exit day, so a period reads only the row groups that hold it.
STAYS_BUILD = """
WITH records AS (
    SELECT traveller_key, country, nationality, port, direction, crossed_at,
           CAST({local} AS DATE) AS day
    FROM {crossings}
    WHERE nationality <> country
),
paired AS (
    SELECT *, lag(direction) OVER w AS prev_direction, lag(day) OVER w AS prev_day,
           lead(direction) OVER w AS next_direction
    FROM records
    WINDOW w AS (PARTITION BY traveller_key, country ORDER BY crossed_at, direction)
)
SELECT country, traveller_key, nationality,
       CASE WHEN direction = 'entry' THEN day WHEN prev_direction = 'entry' THEN prev_day END
           AS entry_day,
       CASE WHEN direction = 'exit' THEN day END AS exit_day,
       CASE WHEN direction = 'exit' THEN port END AS exit_port
FROM paired
WHERE direction = 'exit' OR (direction = 'entry' AND next_direction IS DISTINCT FROM 'exit')
ORDER BY country, exit_day
"""
# The stays in a country that ended in the period at the selected ports, read through the
# view ``stays``: a filter over the table above (an entry older than the lookback is not seen).
STAYS_VIEW = """
CREATE OR REPLACE TEMP VIEW stays AS
SELECT traveller_key, nationality, entry_day, exit_day, exit_port,
       date_diff('day', entry_day, exit_day) + 1 AS days
FROM {source}
WHERE country = '{country}' AND exit_day BETWEEN DATE '{first}' AND DATE '{last}'
  AND entry_day >= DATE '{earliest}'
  AND exit_port IN (SELECT port FROM selected_ports)
"""


def stays_source(obs: Observatory) -> str:
    """SQL source of the stays table (``STAYS_BUILD``), built once per analytics copy."""
    query = STAYS_BUILD.format(local=local_time("crossed_at"), crossings=obs.all_crossings())
    return obs.cached("stays", query)


def ensure_stays(
    obs: Observatory, period: Period, country: str, lookback_days: int = STAY_LOOKBACK_DAYS
) -> None:
    """Make the ``stays`` view hold the stays in ``country`` that ended in the period.

    Call after ``obs.select`` (it reads ``selected_ports``).
    """
    obs.con.execute(
        STAYS_VIEW.format(
            source=stays_source(obs),
            country=country,
            first=period.start.isoformat(),
            last=period.end.isoformat(),
            earliest=(period.start - timedelta(days=lookback_days)).isoformat(),
        )
    )


# Season windows: Easter (Tuesday before Good Friday to the Tuesday after Easter Monday),
# December holidays (10 to 31 December); built per year by ``season_windows``.
DAILY_WITH_SEASON = """
cal AS (
    SELECT CAST(d AS DATE) AS day
    FROM period_bounds, unnest(generate_series(first_day, last_day, INTERVAL 1 DAY)) AS t(d)
),
agg AS (SELECT day, CAST(sum(n) AS BIGINT) AS n FROM crossing_counts GROUP BY day),
daily AS (
    SELECT cal.day, coalesce(agg.n, 0) AS n, w.label AS season, w.first_day AS w_first,
           w.last_day AS w_last
    FROM cal LEFT JOIN agg USING (day)
    LEFT JOIN season_windows w ON cal.day BETWEEN w.first_day AND w.last_day
)
"""

# How the observatory computes each indicator it has a table for (the words are the
# catalogue's): DuckDB SQL over the views ``select`` and ``prepare`` define.
QUERIES: dict[str, Query] = {
    "crossings.daily": Query(
        counts=True,
        sql="""
        SELECT day, port, country, direction, CAST(sum(n) AS BIGINT) AS crossings
        FROM crossing_counts GROUP BY ALL ORDER BY ALL
        """,
    ),
    "crossings.monthly": Query(
        counts=True,
        sql="""
        SELECT strftime(m, '%Y-%m') AS month, port, country, direction, crossings
        FROM (SELECT month AS m, port, country, direction,
                     CAST(sum(n) AS BIGINT) AS crossings
              FROM crossing_counts GROUP BY ALL)
        ORDER BY month, port, country, direction
        """,
    ),
    "crossings.by_nationality": Query(
        sql="""
        SELECT strftime(m, '%Y-%m') AS month, nationality, country, direction, crossings
        FROM (SELECT month AS m, nationality, country, direction, count(*) AS crossings
              FROM crossings GROUP BY ALL)
        ORDER BY month, nationality, country, direction
        """,
    ),
    "crossings.by_sex_age": Query(
        sql="""
        SELECT strftime(m, '%Y-%m') AS month, sex, age_band, country, direction, crossings
        FROM (SELECT month AS m, sex, age_band(year(day) - birth_year) AS age_band,
                     country, direction, count(*) AS crossings
              FROM crossings GROUP BY ALL)
        ORDER BY month, sex, age_band, country, direction
        """,
    ),
    "flows.net": Query(
        counts=True,
        sql="""
        SELECT strftime(m, '%Y-%m') AS month, port, country, entries, exits,
               entries - exits AS net
        FROM (SELECT month AS m, port, country,
                     CAST(coalesce(sum(n) FILTER (direction = 'entry'), 0) AS BIGINT) AS entries,
                     CAST(coalesce(sum(n) FILTER (direction = 'exit'), 0) AS BIGINT) AS exits
              FROM crossing_counts GROUP BY ALL)
        ORDER BY month, port, country
        """,
    ),
    "travellers.distinct": Query(
        sql="""
        SELECT strftime(m, '%Y-%m') AS month, coalesce(port, 'ALL') AS port, travellers
        FROM (SELECT month AS m, port, count(DISTINCT traveller_key) AS travellers
              FROM crossings GROUP BY GROUPING SETS ((month, port), (month)))
        ORDER BY month, port = 'ALL', port
        """,
    ),
    "travellers.frequent": Query(
        sql="""
        WITH per AS (
            SELECT month AS m, traveller_key, count(*) AS crossings,
                   count(*) FILTER (direction = 'entry') AS entries
            FROM crossings GROUP BY ALL
        )
        SELECT strftime(m, '%Y-%m') AS month, count(*) AS travellers,
               count(*) FILTER (entries >= {min_entries}) AS frequent_travellers,
               round(100.0 * count(*) FILTER (entries >= {min_entries}) / count(*), 1)
                   AS frequent_pct,
               round(100.0 * coalesce(sum(crossings) FILTER (entries >= {min_entries}), 0)
                     / sum(crossings), 1) AS crossings_by_frequent_pct
        FROM per GROUP BY m ORDER BY month
        """,
    ),
    "stays.length": Query(
        lookback_days=STAY_LOOKBACK_DAYS,
        sql="""
        SELECT strftime(date_trunc('month', exit_day), '%Y-%m') AS month,
               count(*) AS stays, round(avg(days), 1) AS average_days,
               median(days) AS median_days, quantile_disc(days, 0.9) AS p90_days
        FROM stays GROUP BY ALL ORDER BY month
        """,
    ),
    "stays.overstays": Query(
        lookback_days=STAY_LOOKBACK_DAYS,
        sql="""
        WITH judged AS (
            SELECT s.*, s.days > {limit_days} AS over, EXISTS (
                SELECT 1 FROM permits p
                WHERE p.traveller_key = s.traveller_key AND p.country = '{country}'
                  AND p.issued_at IS NOT NULL
                  AND p.valid_from <= s.entry_day + {limit_days} AND p.valid_to >= s.exit_day
            ) AS covered
            FROM stays s
        )
        SELECT strftime(date_trunc('month', exit_day), '%Y-%m') AS month, count(*) AS stays,
               count(*) FILTER (over AND NOT covered) AS overstays,
               round(100.0 * count(*) FILTER (over AND NOT covered) / count(*), 2)
                   AS overstay_rate_pct,
               count(*) FILTER (over AND covered) AS long_stays_with_permit
        FROM judged GROUP BY ALL ORDER BY month
        """,
    ),
    "permits.summary": Query(
        sql="""
        SELECT * FROM (
            SELECT permit_type, coalesce(nullif(sector, ''), '(none)') AS sector,
                count(*) FILTER (CAST(make_timestamp(epoch_us(issued_at) + 7200000000) AS DATE)
                                 BETWEEN first_day AND last_day) AS issued,
                count(*) FILTER (status = 'issued' AND valid_from <= last_day
                                 AND valid_to >= last_day) AS active,
                count(*) FILTER (status = 'issued' AND valid_to > last_day
                                 AND valid_to <= last_day + {expiring_days}) AS expiring
            FROM permits, period_bounds WHERE country = '{country}' GROUP BY ALL
        ) WHERE issued + active + expiring > 0
        ORDER BY permit_type, sector
        """,
    ),
    "screening.referrals": Query(
        counts=True,
        sql="""
        SELECT strftime(m, '%Y-%m') AS month, port, crossings, referred, denied,
               round(1000.0 * (referred + denied) / crossings, 2) AS per_1000
        FROM (SELECT month AS m, port, CAST(sum(n) AS BIGINT) AS crossings,
                     CAST(coalesce(sum(n) FILTER (decision = 'REFER'), 0) AS BIGINT) AS referred,
                     CAST(coalesce(sum(n) FILTER (decision = 'DENY'), 0) AS BIGINT) AS denied
              FROM crossing_counts GROUP BY ALL)
        ORDER BY month, port
        """,
    ),
    "screening.watchlist_hits": Query(
        sql="""
        SELECT strftime(m, '%Y-%m') AS month, port, checks, watchlist_hits, referred, denied,
               overridden, round(1000.0 * watchlist_hits / checks, 2) AS hits_per_1000
        FROM (SELECT month AS m, port, count(*) AS checks,
                     count(*) FILTER (watchlist_hit) AS watchlist_hits,
                     count(*) FILTER (decision = 'REFER') AS referred,
                     count(*) FILTER (decision = 'DENY') AS denied,
                     count(*) FILTER (overridden) AS overridden
              FROM checks GROUP BY ALL)
        ORDER BY month, port
        """,
    ),
    "busy.hours": Query(
        sql="""
        WITH n AS (
            SELECT isodow(d) AS weekday, count(*) AS days
            FROM period_bounds, unnest(generate_series(first_day, last_day, INTERVAL 1 DAY))
                AS t(d)
            GROUP BY ALL
        )
        SELECT port, weekday,
               dayname(DATE '2024-01-07' + CAST(weekday AS INTEGER)) AS weekday_name,
               hour, crossings, round(crossings / n.days, 1) AS average
        FROM (SELECT port, isodow(local_at) AS weekday, hour(local_at) AS hour,
                     count(*) AS crossings FROM crossings GROUP BY ALL)
        JOIN n USING (weekday)
        ORDER BY port, weekday, hour
        """,
    ),
    "busy.days": Query(
        counts=True,
        sql="""
        SELECT port, day, dayname(day) AS weekday, crossings, rank FROM (
            SELECT port, day, CAST(sum(n) AS BIGINT) AS crossings,
                   row_number() OVER (PARTITION BY port ORDER BY sum(n) DESC, day) AS rank
            FROM crossing_counts GROUP BY port, day)
        WHERE rank <= {top}
        ORDER BY port, rank
        """,
    ),
    "seasonality.monthly": Query(
        counts=True,
        sql="WITH "
        + DAILY_WITH_SEASON
        + """,
        overall AS (SELECT sum(n) / count(*) AS per_day FROM daily)
        SELECT strftime(date_trunc('month', day), '%Y-%m') AS month,
               CAST(sum(n) AS BIGINT) AS crossings,
               count(*) AS days, round(sum(n) / count(*), 1) AS per_day,
               round(100 * sum(n) / count(*) / nullif((SELECT per_day FROM overall), 0), 1)
                   AS index_pct,
               coalesce(string_agg(DISTINCT season, ', ' ORDER BY season), '') AS season
        FROM daily GROUP BY ALL ORDER BY month
        """,
    ),
    "seasonality.peaks": Query(
        counts=True,
        sql="WITH "
        + DAILY_WITH_SEASON
        + """,
        ordinary AS (SELECT avg(n) AS per_day FROM daily WHERE season IS NULL)
        SELECT season, w_first AS first_day, w_last AS last_day, count(*) AS days_in_period,
               CAST(sum(n) AS BIGINT) AS crossings, round(avg(n), 1) AS per_day,
               round((SELECT per_day FROM ordinary), 1) AS ordinary_per_day,
               round(avg(n) / nullif((SELECT per_day FROM ordinary), 0), 2) AS ratio
        FROM daily WHERE season IS NOT NULL
        GROUP BY ALL HAVING sum(n) > 0 ORDER BY first_day
        """,
    ),
}


def _indicators() -> tuple[Indicator, ...]:
    defined = catalogue()
    unknown = sorted(set(QUERIES) - set(defined))
    if unknown:  # a query without its words: add it to reference/indicators.toml
        raise ValueError(f"indicators without a catalogue entry: {', '.join(unknown)}")
    return tuple(Indicator(d, QUERIES[d.id]) for d in defined.values() if d.id in QUERIES)


# The indicators the observatory has a table for, in the catalogue's order.
INDICATORS: tuple[Indicator, ...] = _indicators()
REGISTRY: dict[str, Indicator] = {ind.id: ind for ind in INDICATORS}


def get(indicator_id: str) -> Indicator:
    try:
        return REGISTRY[indicator_id]
    except KeyError:
        raise ObservatoryError(
            f"unknown indicator {indicator_id!r}: known indicators are {', '.join(REGISTRY)}"
        ) from None


def season_windows(first_year: int, last_year: int) -> list[tuple[str, date, date]]:
    out = []
    for year in range(first_year, last_year + 1):
        good_friday = easter(year) - timedelta(days=2)
        out.append(("Easter", good_friday - timedelta(days=3), good_friday + timedelta(days=4)))
        out.append(("December", date(year, 12, 10), date(year, 12, 31)))
    return out


AGE_BAND_MACRO = """
CREATE OR REPLACE MACRO age_band(age) AS CASE
    WHEN age IS NULL OR age < 0 THEN 'unknown'
    WHEN age < 18 THEN '0-17' WHEN age < 25 THEN '18-24' WHEN age < 35 THEN '25-34'
    WHEN age < 45 THEN '35-44' WHEN age < 55 THEN '45-54' WHEN age < 65 THEN '55-64'
    ELSE '65+' END
"""


def prepare(obs: Observatory, period: Period) -> None:
    """Helpers every indicator may use (macros, season windows of the period's years)."""
    obs.con.execute(AGE_BAND_MACRO)
    windows = season_windows(period.start.year - 1, period.end.year)
    values = ", ".join(
        f"('{label}', DATE '{a.isoformat()}', DATE '{b.isoformat()}')" for label, a, b in windows
    )
    obs.con.execute(
        f"CREATE OR REPLACE TEMP TABLE season_windows AS SELECT * FROM (VALUES {values}) "
        "AS t(label, first_day, last_day)"
    )


def _arrow(relation: Any) -> pa.Table:
    convert = getattr(relation, "to_arrow_table", None) or relation.fetch_arrow_table
    table: pa.Table = convert()
    return table


def run(
    obs: Observatory,
    indicator_id: str,
    period: Period,
    ports: tuple[str, ...] | list[str] = (),
    params: Mapping[str, object] | None = None,
) -> Result:
    """Compute one indicator; no data is a ``NoDataError`` saying what is missing and where."""
    ind = get(indicator_id)
    values = ind.bind(params)
    chosen = check_ports(ports)
    if chosen and not ind.by_port:
        raise ObservatoryError(f"{ind.id} is not counted by port: leave out the port filter")
    obs.select(period, chosen, counts=ind.counts)
    prepare(obs, period)
    if ind.lookback_days:
        ensure_stays(obs, period, str(values["country"]), ind.lookback_days)
    table = _arrow(obs.sql(ind.sql.format(**values)))
    notes: list[str] = []
    if ind.source == "crossings":
        missing = obs.months_without_data(period)
        if missing and table.num_rows:
            shown = ", ".join(missing[:6]) + (" ..." if len(missing) > 6 else "")
            notes.append(
                f"no crossing data for {shown} (the analytics copy holds {obs.coverage()})"
            )
    if ind.id == "stays.overstays" and not obs.has_permits:
        notes.append(
            "no permit data in the analytics copy: long stays of permit holders count as overstays"
        )
    if table.num_rows == 0:
        raise NoDataError(no_data_message(obs, ind, period, chosen))
    return Result(ind, period, chosen, values, table, notes)


def no_data_message(
    obs: Observatory, ind: Indicator, period: Period, ports: tuple[str, ...]
) -> str:
    where = f" at {', '.join(ports)}" if ports else ""
    when = f"in {period.label()}"
    if ind.source in ("permits", "checks"):
        present = obs.has_permits if ind.source == "permits" else obs.has_checks
        hint = (
            ""
            if present
            else f" (the analytics copy has no {ind.source}: write it from the database with "
            "`tsela export parquet`)"
        )
        return f"no {ind.subject} {when}{where}{hint}"
    return (
        f"no {ind.subject} {when}{where} in the analytics copy {obs.dir} "
        f"(it holds crossings for {obs.coverage()})"
    )
