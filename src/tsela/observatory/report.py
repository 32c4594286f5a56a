"""The monthly report for the NCC: headline figures, their change from the previous month
and from the same month a year before, charts, in HTML, CSV or PDF.

Every figure comes from an indicator of ``tsela.observatory.indicators`` computed once over
the thirteen months ending with the report's month, so the month and both comparisons are
counted the same way. A comparison month without data shows "no data", never 0.
"""

from __future__ import annotations

import base64
import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pyarrow as pa

from tsela import __version__
from tsela.kernel import clock
from tsela.observatory import charts
from tsela.observatory.engine import NoDataError, Observatory, Period
from tsela.observatory.indicators import Result, no_data_message, run
from tsela.observatory.indicators import get as get_indicator

FORMATS = ("html", "csv", "pdf")


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    unit: str
    indicator: str
    value: float | None
    previous_month: float | None
    previous_year: float | None
    # A percentage change means nothing for a figure that can change sign (net flow) or is
    # itself a rate: those show the difference only.
    relative: bool = True

    @staticmethod
    def _pct(now: float | None, before: float | None) -> float | None:
        if now is None or before is None or before == 0:
            return None
        return round(100.0 * (now - before) / abs(before), 1)

    @staticmethod
    def _diff(now: float | None, before: float | None) -> float | None:
        return None if now is None or before is None else round(now - before, 2)

    @property
    def change_month_pct(self) -> float | None:
        return self._pct(self.value, self.previous_month) if self.relative else None

    @property
    def change_year_pct(self) -> float | None:
        return self._pct(self.value, self.previous_year) if self.relative else None

    @property
    def difference_month(self) -> float | None:
        return self._diff(self.value, self.previous_month)

    @property
    def difference_year(self) -> float | None:
        return self._diff(self.value, self.previous_year)

    def change_text(self, which: str) -> str:
        """'+13.9%' for counts; '-23' or '+1.2 points' for net flows and rates."""
        if self.relative:
            pct = self.change_month_pct if which == "month" else self.change_year_pct
            return "–" if pct is None else f"{pct:+.1f}%"
        diff = self.difference_month if which == "month" else self.difference_year
        if diff is None:
            return "–"
        text = f"{diff:+,.0f}" if float(diff).is_integer() else f"{diff:+,.2f}"
        return text + (" points" if self.unit == "%" else "")


@dataclass
class MonthlyReport:
    month: Period
    previous_month: Period
    previous_year: Period
    ports: tuple[str, ...]
    figures: list[Figure]
    highlights: list[str]
    charts: list[tuple[str, str]]  # (title, SVG)
    notes: list[str] = field(default_factory=list)
    coverage: str = ""
    generated_at: datetime = field(default_factory=clock.now)

    def figure(self, key: str) -> Figure:
        return next(f for f in self.figures if f.key == key)


def _by_month(
    result: Result | None, value: Callable[[list[dict[str, Any]]], float | None]
) -> dict[str, float | None]:
    """Per month label, ``value`` of that month's rows (months without rows are absent)."""
    if result is None:
        return {}
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in result.table.to_pylist():
        groups.setdefault(row["month"], []).append(row)
    return {m: value(rows) for m, rows in groups.items()}


def _sum(field_name: str, where: Callable[[dict[str, Any]], bool] = lambda r: True) -> Any:
    return lambda rows: float(sum(r[field_name] for r in rows if where(r)))


def _first(field_name: str) -> Any:
    return lambda rows: None if rows[0][field_name] is None else float(rows[0][field_name])


def _try(obs: Observatory, indicator: str, period: Period, ports: Sequence[str]) -> Result | None:
    try:
        return run(obs, indicator, period, list(ports))
    except NoDataError:
        return None


def build_monthly(
    obs: Observatory, month: str, ports: Sequence[str] = (), *, with_charts: bool = True
) -> MonthlyReport:
    """The report for ``month`` (YYYY-MM); a month without crossings is a ``NoDataError``."""
    this = Period.month(month)
    before, year_ago = this.shifted_months(-1), this.shifted_months(-12)
    window = Period(year_ago.start, this.end)
    labels = {"this": this.label(), "before": before.label(), "year": year_ago.label()}
    monthly = _try(obs, "crossings.monthly", window, ports)
    if monthly is None or this.label() not in set(monthly.table.column("month").to_pylist()):
        raise NoDataError(
            no_data_message(obs, get_indicator("crossings.monthly"), this, tuple(ports))
        )
    chosen = monthly.ports
    figures: list[Figure] = []

    def add(
        key: str,
        label: str,
        unit: str,
        result: Result | None,
        value: Callable[[list[dict[str, Any]]], float | None],
        indicator: str,
        relative: bool = True,
    ) -> None:
        per = _by_month(result, value)
        figures.append(
            Figure(
                key,
                label,
                unit,
                indicator,
                per.get(labels["this"]),
                per.get(labels["before"]),
                per.get(labels["year"]),
                relative,
            )
        )

    def entries(country: str) -> Callable[[dict[str, Any]], bool]:
        return lambda r: r["country"] == country and r["direction"] == "entry"

    m = "crossings.monthly"
    add("crossings", "Crossings recorded", "", monthly, _sum("crossings"), m)
    add(
        "entries_zaf",
        "Entries into South Africa",
        "",
        monthly,
        _sum("crossings", entries("ZAF")),
        m,
    )
    add("entries_lso", "Entries into Lesotho", "", monthly, _sum("crossings", entries("LSO")), m)
    net = _try(obs, "flows.net", window, chosen)
    add(
        "net_zaf",
        "Net flow into South Africa (entries - exits)",
        "",
        net,
        _sum("net", lambda r: r["country"] == "ZAF"),
        "flows.net",
        relative=False,
    )

    # Figures about people (distinct travellers, stays) need a pass over each traveller's
    # records: computed for the three months compared only, not the thirteen between.
    def months_of(indicator: str) -> Result | None:
        parts = [_try(obs, indicator, p, chosen) for p in (year_ago, before, this)]
        found = [r for r in parts if r is not None]
        if not found:
            return None
        table = pa.concat_tables([r.table for r in found])
        return Result(
            found[-1].indicator,
            window,
            chosen,
            found[-1].params,
            table,
            [n for r in found for n in r.notes],
        )

    distinct = months_of("travellers.distinct")
    add(
        "travellers",
        "Distinct travellers",
        "",
        distinct,
        _sum("travellers", lambda r: r["port"] == "ALL"),
        "travellers.distinct",
    )
    frequent = months_of("travellers.frequent")
    add(
        "frequent",
        "Frequent crossers (8+ entries in the month)",
        "",
        frequent,
        _first("frequent_travellers"),
        "travellers.frequent",
    )
    stays = months_of("stays.length")
    add("stays", "Completed stays in South Africa", "", stays, _first("stays"), "stays.length")
    add(
        "stay_days",
        "Average length of stay in South Africa",
        "days",
        stays,
        _first("average_days"),
        "stays.length",
    )
    over = months_of("stays.overstays")
    add(
        "overstays",
        "Overstays (beyond 30 days without a permit)",
        "",
        over,
        _first("overstays"),
        "stays.overstays",
    )
    add(
        "overstay_rate",
        "Overstay rate",
        "%",
        over,
        _first("overstay_rate_pct"),
        "stays.overstays",
        relative=False,
    )
    referrals = _try(obs, "screening.referrals", window, chosen)
    add(
        "referrals",
        "Referred to secondary inspection or refused",
        "",
        referrals,
        lambda rows: float(sum(r["referred"] + r["denied"] for r in rows)),
        "screening.referrals",
    )
    hits = _try(obs, "screening.watchlist_hits", window, chosen)
    if hits is not None:
        add(
            "watchlist_hits",
            "Watchlist hits at border checks",
            "",
            hits,
            _sum("watchlist_hits"),
            "screening.watchlist_hits",
        )
    daily = _try(obs, "crossings.daily", this, chosen)

    notes: list[str] = []
    for result in (monthly, over):
        if result is not None:
            notes += [n for n in result.notes if n not in notes]
    highlights = _highlights(obs, this, window, chosen, monthly, daily)
    report = MonthlyReport(
        month=this,
        previous_month=before,
        previous_year=year_ago,
        ports=chosen,
        figures=figures,
        highlights=highlights,
        charts=[],
        notes=notes,
        coverage=obs.coverage(),
    )
    if with_charts:
        report.charts = _charts(obs, this, chosen, monthly, daily)
    return report


def _highlights(
    obs: Observatory,
    this: Period,
    window: Period,
    ports: Sequence[str],
    monthly: Result,
    daily: Result | None,
) -> list[str]:
    out = []
    per_port: dict[str, int] = {}
    for r in monthly.table.to_pylist():
        if r["month"] == this.label():
            per_port[r["port"]] = per_port.get(r["port"], 0) + r["crossings"]
    port, n = max(per_port.items(), key=lambda kv: kv[1])
    share = 100 * n / sum(per_port.values())
    out.append(f"Busiest port: {port} with {n:,} crossings ({share:.0f}% of all).")
    if daily is not None:
        per_day: dict[Any, int] = {}
        for r in daily.table.to_pylist():
            per_day[r["day"]] = per_day.get(r["day"], 0) + r["crossings"]
        day, n = max(per_day.items(), key=lambda kv: (kv[1], kv[0]))
        out.append(f"Busiest day: {day:%A %d %B} with {n:,} crossings.")
    hours = _try(obs, "busy.hours", this, ports)
    if hours is not None:
        per_hour: dict[tuple[str, int], float] = {}
        for r in hours.table.to_pylist():
            key = (r["weekday_name"], r["hour"])
            per_hour[key] = per_hour.get(key, 0) + r["average"]
        (weekday, hour), average = max(per_hour.items(), key=lambda kv: kv[1])
        out.append(
            f"Busiest hour: {weekday}s {hour:02d}:00-{hour + 1:02d}:00, "
            f"{average:,.0f} crossings on average."
        )
    peaks = _try(obs, "seasonality.peaks", window, ports)
    if peaks is not None:
        for r in peaks.table.to_pylist():
            if r["first_day"] <= this.end and r["last_day"] >= this.start:
                out.append(
                    f"{r['season']} peak ({r['first_day']:%d %b} to {r['last_day']:%d %b}): "
                    f"{r['per_day']:,.0f} crossings a day, {r['ratio']:.1f} times an ordinary day."
                )
    return out


def _charts(
    obs: Observatory,
    this: Period,
    ports: Sequence[str],
    monthly: Result,
    daily: Result | None,
) -> list[tuple[str, str]]:
    from tsela.reporting import chart_to_svg

    made: list[tuple[str, Any]] = [
        ("Entries per month, last 13 months", charts.monthly_by_flow(monthly.table, "")),
    ]
    if daily is not None:
        made.append(("Entries per day", charts.daily_entries(daily.table, "")))
    month_rows = monthly.table.filter(
        [m == this.label() for m in monthly.table.column("month").to_pylist()]
    )
    made.append(("Crossings by port", charts.port_totals(month_rows, "")))
    hours = _try(obs, "busy.hours", this, ports)
    if hours is not None:
        made.append(("Average crossings per hour (staffing)", charts.busy_hours(hours.table, "")))
    ages = _try(obs, "crossings.by_sex_age", this, ports)
    if ages is not None:
        made.append(("Crossings by age band and sex", charts.sex_age(ages.table, "")))
    return [(title, chart_to_svg(chart)) for title, chart in made]


# ------------------------------------------------------------------ output formats


def _fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "no data"
    text = f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
    return f"{text}{' ' + unit if unit and unit != '%' else unit}"


def to_html(report: MonthlyReport) -> str:
    from tsela.reporting import render

    return render(
        "observatory/report.html",
        report=report,
        fmt=_fmt,
        charts=[
            (title, base64.b64encode(svg.encode()).decode("ascii")) for title, svg in report.charts
        ],
        version=__version__,
    )


CSV_COLUMNS = (
    "figure",
    "label",
    "unit",
    "indicator",
    "month",
    "value",
    "previous_month",
    "value_previous_month",
    "difference_vs_previous_month",
    "change_vs_previous_month_pct",
    "previous_year_month",
    "value_previous_year",
    "difference_vs_previous_year",
    "change_vs_previous_year_pct",
)


def to_csv(report: MonthlyReport) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)

    def cell(v: float | None) -> str:
        return "" if v is None else (f"{v:.0f}" if float(v).is_integer() else f"{v}")

    for f in report.figures:
        writer.writerow(
            [
                f.key,
                f.label,
                f.unit,
                f.indicator,
                report.month.label(),
                cell(f.value),
                report.previous_month.label(),
                cell(f.previous_month),
                cell(f.difference_month),
                cell(f.change_month_pct),
                report.previous_year.label(),
                cell(f.previous_year),
                cell(f.difference_year),
                cell(f.change_year_pct),
            ]
        )
    return buf.getvalue()


def to_pdf(report: MonthlyReport) -> bytes:
    from tsela.reporting import html_to_pdf

    return html_to_pdf(to_html(report))
