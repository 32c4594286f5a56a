"""Altair (Vega-Lite) charts of the observatory's indicators.

Each function takes an indicator's result table (pyarrow) and returns a chart; the
dashboard and the monthly report turn them into SVG with ``tsela.reporting.chart_to_svg``
(rendered on the server: no JavaScript, works offline, prints the same in the PDF).
Tables are summed here only across the dimensions a chart leaves out.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

import altair as alt
import pyarrow as pa

from tsela.observatory.indicators import AGE_BANDS

WIDTH = 560
HEIGHT = 220
TOP_PORTS = 6
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
COUNTRY_NAMES = {"ZAF": "South Africa", "LSO": "Lesotho"}


def _sum(
    rows: Iterable[dict[str, Any]], key: Callable[[dict[str, Any]], tuple[Any, ...]], field: str
) -> dict[tuple[Any, ...], float]:
    out: dict[tuple[Any, ...], float] = defaultdict(float)
    for row in rows:
        out[key(row)] += row[field] or 0
    return out


def _iso(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def flow_label(country: str, direction: str) -> str:
    name = COUNTRY_NAMES.get(country, country)
    return f"into {name}" if direction == "entry" else f"out of {name}"


def monthly_by_port(table: pa.Table, title: str = "Crossings per month by port") -> alt.Chart:
    """Lines per port (the busiest ones; the rest together as 'other ports')."""
    rows = table.to_pylist()
    totals = _sum(rows, lambda r: (r["port"],), "crossings")
    top = {p for (p,), _ in sorted(totals.items(), key=lambda kv: -kv[1])[:TOP_PORTS]}
    per = _sum(
        rows,
        lambda r: (r["month"], r["port"] if r["port"] in top else "other ports"),
        "crossings",
    )
    values = [
        {"month": f"{m}-01", "port": p, "crossings": int(v)} for (m, p), v in sorted(per.items())
    ]
    return (
        alt.Chart(alt.Data(values=values), title=title)
        .mark_line(point=True)
        .encode(
            x=alt.X(
                "month:T",
                title="Month",
                axis=alt.Axis(format="%b %Y", tickCount={"interval": "month", "step": 1}),
            ),
            y=alt.Y("crossings:Q", title="Crossings"),
            color=alt.Color("port:N", title="Port"),
            tooltip=["port:N", "month:T", "crossings:Q"],
        )
        .properties(width=WIDTH, height=HEIGHT)
    )


def monthly_by_flow(table: pa.Table, title: str = "Entries per month") -> alt.Chart:
    """Entries into each country per month (all selected ports)."""
    rows = [r for r in table.to_pylist() if r["direction"] == "entry"]
    per = _sum(rows, lambda r: (r["month"], flow_label(r["country"], "entry")), "crossings")
    values = [
        {"month": f"{m}-01", "flow": f, "crossings": int(v)} for (m, f), v in sorted(per.items())
    ]
    return (
        alt.Chart(alt.Data(values=values), title=title)
        .mark_bar()
        .encode(
            x=alt.X("yearmonth(month):O", title="Month"),
            xOffset=alt.XOffset("flow:N"),
            y=alt.Y("crossings:Q", title="Entries"),
            color=alt.Color("flow:N", title=None, legend=alt.Legend(orient="top")),
            tooltip=["flow:N", "yearmonth(month):O", "crossings:Q"],
        )
        .properties(width=WIDTH, height=HEIGHT)
    )


def daily_entries(table: pa.Table, title: str = "Entries per day") -> alt.Chart:
    rows = [r for r in table.to_pylist() if r["direction"] == "entry"]
    per = _sum(rows, lambda r: (_iso(r["day"]), flow_label(r["country"], "entry")), "crossings")
    values = [{"day": d, "flow": f, "crossings": int(v)} for (d, f), v in sorted(per.items())]
    return (
        alt.Chart(alt.Data(values=values), title=title)
        .mark_line()
        .encode(
            x=alt.X("day:T", title="Day"),
            y=alt.Y("crossings:Q", title="Entries"),
            color=alt.Color("flow:N", title=None, legend=alt.Legend(orient="top")),
            tooltip=["flow:N", "day:T", "crossings:Q"],
        )
        .properties(width=WIDTH, height=HEIGHT)
    )


def busy_hours(table: pa.Table, title: str = "Average crossings per hour") -> alt.Chart:
    """Heat map: weekday by hour of day, all selected ports together."""
    per = _sum(table.to_pylist(), lambda r: (r["weekday_name"], r["hour"]), "average")
    values = [{"weekday": w, "hour": h, "average": round(v, 1)} for (w, h), v in per.items()]
    return (
        alt.Chart(alt.Data(values=values), title=title)
        .mark_rect()
        .encode(
            x=alt.X("hour:O", title="Hour of day (border time)"),
            y=alt.Y("weekday:O", title=None, sort=list(WEEKDAYS)),
            color=alt.Color("average:Q", title="Crossings", scale=alt.Scale(scheme="orangered")),
            tooltip=["weekday:O", "hour:O", "average:Q"],
        )
        .properties(width=WIDTH, height=170)
    )


def sex_age(table: pa.Table, title: str = "Crossings by age band and sex") -> alt.Chart:
    per = _sum(table.to_pylist(), lambda r: (r["age_band"], r["sex"]), "crossings")
    values = [{"age_band": a, "sex": s, "crossings": int(v)} for (a, s), v in per.items()]
    return (
        alt.Chart(alt.Data(values=values), title=title)
        .mark_bar()
        .encode(
            x=alt.X("age_band:O", title="Age band", sort=list(AGE_BANDS)),
            xOffset=alt.XOffset("sex:N"),
            y=alt.Y("crossings:Q", title="Crossings"),
            color=alt.Color("sex:N", title="Sex", legend=alt.Legend(orient="top")),
            tooltip=["age_band:O", "sex:N", "crossings:Q"],
        )
        .properties(width=WIDTH, height=HEIGHT)
    )


def nationalities(table: pa.Table, title: str = "Crossings by nationality") -> alt.Chart:
    per = _sum(table.to_pylist(), lambda r: (r["nationality"],), "crossings")
    values = [{"nationality": n, "crossings": int(v)} for (n,), v in per.items()]
    top = max((v["crossings"] for v in values), default=1)
    ticks = [0] + [10**k for k in range(1, 10) if 10**k <= top]
    return (
        alt.Chart(alt.Data(values=values), title=title)
        .mark_bar()
        .encode(
            y=alt.Y("nationality:N", title=None, sort="-x"),
            x=alt.X(
                "crossings:Q",
                title="Crossings (compressed scale)",
                scale=alt.Scale(type="symlog"),
                axis=alt.Axis(values=ticks, labelExpr="format(datum.value, ',')"),
            ),
            tooltip=["nationality:N", "crossings:Q"],
        )
        .properties(width=WIDTH, height=alt.Step(16))
    )


def seasonality(
    table: pa.Table, title: str = "Crossings per day, % of the average day"
) -> alt.Chart:
    values = [
        {
            "month": f"{r['month']}-01",
            "index": r["index_pct"],
            "season": r["season"] or "ordinary",
        }
        for r in table.to_pylist()
    ]
    return (
        alt.Chart(alt.Data(values=values), title=title)
        .mark_bar()
        .encode(
            x=alt.X("yearmonth(month):O", title="Month"),
            y=alt.Y("index:Q", title="% of the average day"),
            color=alt.Color("season:N", title=None, legend=alt.Legend(orient="top")),
            tooltip=["yearmonth(month):O", "index:Q", "season:N"],
        )
        .properties(width=WIDTH, height=HEIGHT)
    )


def overstays(table: pa.Table, title: str = "Overstay rate by month of departure") -> alt.Chart:
    values = [
        {"month": f"{r['month']}-01", "rate": r["overstay_rate_pct"], "overstays": r["overstays"]}
        for r in table.to_pylist()
    ]
    return (
        alt.Chart(alt.Data(values=values), title=title)
        .mark_bar()
        .encode(
            x=alt.X("yearmonth(month):O", title="Month"),
            y=alt.Y("rate:Q", title="% of completed stays"),
            tooltip=["yearmonth(month):O", "rate:Q", "overstays:Q"],
        )
        .properties(width=WIDTH, height=HEIGHT)
    )


def port_totals(table: pa.Table, title: str = "Crossings by port") -> alt.Chart:
    per = _sum(table.to_pylist(), lambda r: (r["port"],), "crossings")
    values = [{"port": p, "crossings": int(v)} for (p,), v in per.items()]
    return (
        alt.Chart(alt.Data(values=values), title=title)
        .mark_bar()
        .encode(
            y=alt.Y("port:N", title=None, sort="-x"),
            x=alt.X("crossings:Q", title="Crossings"),
            tooltip=["port:N", "crossings:Q"],
        )
        .properties(width=WIDTH, height=alt.Step(16))
    )


def standard_table_bars(
    rows: list[str], cols: list[str], cells: list[list[int | None]], title: str, row_title: str
) -> alt.Chart:
    """A published standard table as grouped bars (inner cells only; suppressed cells are
    left out, and the chart's caption says so where there are any)."""
    values = [
        {"row": r, "column": c, "count": cells[i][j]}
        for i, r in enumerate(rows)
        for j, c in enumerate(cols)
        if cells[i][j] is not None
    ]
    return (
        alt.Chart(alt.Data(values=values), title=title)
        .mark_bar()
        .encode(
            y=alt.Y("row:N", title=row_title, sort=rows),
            x=alt.X("count:Q", title="Count", stack=None),
            color=alt.Color("column:N", title=None, sort=cols),
            yOffset=alt.YOffset("column:N", sort=cols),
            tooltip=["row:N", "column:N", "count:Q"],
        )
        .properties(width=WIDTH, height=alt.Step(10))
    )
