"""The observatory dashboard for analysts: headline figures and charts for a period and
port, and the monthly report to download.

Charts are rendered on the server to SVG (vl-convert) and shown as images: no JavaScript,
nothing fetched from elsewhere, and the page's content security policy stays strict.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from tsela.api.deps import clock_of, get_settings
from tsela.api.routes.observatory import parquet_dir
from tsela.config import Settings
from tsela.kernel.access import Permission
from tsela.observatory.engine import (
    MissingCopyError,
    NoDataError,
    Observatory,
    ObservatoryError,
    Period,
    check_ports,
)
from tsela.observatory.indicators import Result, run
from tsela.reference import ports as reference_ports
from tsela.store.models import User
from tsela.web.i18n import N_
from tsela.web.nav import add_nav
from tsela.web.render import render
from tsela.web.security import page_for

router = APIRouter(include_in_schema=False)

add_nav("/observatory", N_("Observatory"), Permission.OBSERVATORY_READ)

DAILY_CHART_MAX_DAYS = 93  # beyond about a quarter a daily line is unreadable


@dataclass(frozen=True)
class Headline:
    label: str
    value: str
    hint: str = ""


def _svg_data(chart: Any) -> str:
    from tsela.reporting import chart_to_svg

    return base64.b64encode(chart_to_svg(chart).encode()).decode("ascii")


def _default_period(obs: Observatory, today: date) -> Period:
    """The last three complete months the copy holds (longer periods are a filter away).

    The month in progress is left out: its few days made every chart end in a cliff and its
    seasonality index meaningless. When the copy holds only that month, it is shown."""
    whole = obs.default_period()
    end = whole.end
    month_start = today.replace(day=1)
    if end >= month_start and month_start - timedelta(days=1) >= whole.start:
        end = month_start - timedelta(days=1)
    start = Period(end.replace(day=1), end).shifted_months(-2).start
    return Period(max(start, whole.start), end)


def _try(obs: Observatory, ind: str, period: Period, ports: tuple[str, ...]) -> Result | None:
    try:
        return run(obs, ind, period, ports)
    except NoDataError:
        return None


def _headlines(monthly: Result, over: Result | None, referrals: Result | None) -> list[Headline]:
    rows = monthly.table.to_pylist()

    def total(country: str | None = None, direction: str | None = None) -> int:
        return sum(
            r["crossings"]
            for r in rows
            if (country is None or r["country"] == country)
            and (direction is None or r["direction"] == direction)
        )

    net = total("ZAF", "entry") - total("ZAF", "exit")
    out = [
        Headline(N_("Crossings recorded"), f"{total():,}"),
        Headline(N_("Entries into South Africa"), f"{total('ZAF', 'entry'):,}"),
        Headline(N_("Entries into Lesotho"), f"{total('LSO', 'entry'):,}"),
        Headline(N_("Net flow into South Africa"), f"{net:+,}"),
    ]
    if over is not None:
        stays = sum(r["stays"] for r in over.table.to_pylist())
        overstays = sum(r["overstays"] for r in over.table.to_pylist())
        rate = f"{100 * overstays / stays:.1f}%" if stays else "–"
        out.append(Headline(N_("Overstays"), f"{overstays:,}", rate))
    if referrals is not None:
        referred = sum(r["referred"] + r["denied"] for r in referrals.table.to_pylist())
        out.append(Headline(N_("Referred or refused"), f"{referred:,}"))
    return out


@router.get("/observatory")
def dashboard(
    request: Request,
    user: User = Depends(page_for(Permission.OBSERVATORY_READ)),
    settings: Settings = Depends(get_settings),
) -> Response:
    """Analysts: flows, travellers, stays and busy hours for a period and a port."""
    query = request.query_params
    start, end = query.get("from", "").strip(), query.get("to", "").strip()
    port = query.get("port", "").strip().upper()
    context: dict[str, Any] = {
        "start": start,
        "end": end,
        "port": port,
        "ports": sorted(reference_ports()),
        "problem": None,
        "empty": None,
        "headlines": [],
        "figures": [],
        "notes": [],
        "period": None,
        "months": [],
    }
    try:
        obs = Observatory(parquet_dir(settings))
    except MissingCopyError as exc:
        context["problem"] = str(exc)
        return render(request, "observatory/dashboard.html", context, 503)
    with obs:
        try:
            chosen = check_ports([port]) if port else ()
            period = Period.between(
                start or None, end or None, _default_period(obs, clock_of(request).today())
            )
        except ObservatoryError as exc:
            context["problem"] = str(exc)
            return render(request, "observatory/dashboard.html", context, 422)
        context["period"] = period
        context["start"] = start or f"{period.start:%Y-%m}"
        context["end"] = end or f"{period.end:%Y-%m}"
        context["months"] = [f"{y}-{m:02d}" for y, m in obs.partitions]
        try:
            monthly = run(obs, "crossings.monthly", period, chosen)
        except NoDataError as exc:
            context["empty"] = str(exc)
            return render(request, "observatory/dashboard.html", context)
        over = _try(obs, "stays.overstays", period, chosen)
        referrals = _try(obs, "screening.referrals", period, chosen)
        context["headlines"] = _headlines(monthly, over, referrals)
        context["notes"] = monthly.notes + (over.notes if over else [])
        context["figures"] = _figures(obs, period, chosen, monthly, over)
    return render(request, "observatory/dashboard.html", context)


def _figures(
    obs: Observatory,
    period: Period,
    ports: tuple[str, ...],
    monthly: Result,
    over: Result | None,
) -> list[tuple[str, str, str]]:
    """(title, description for screen readers, SVG as base64) per chart."""
    from tsela.observatory import charts  # Altair: the 'report' extra

    made: list[tuple[str, str, Any]] = [
        (
            N_("Entries per month"),
            N_("Bars per month: people entering South Africa and entering Lesotho."),
            charts.monthly_by_flow(monthly.table, ""),
        )
    ]
    if not ports or len(ports) > 1:
        made.append(
            (
                N_("Crossings per month by port"),
                N_("One line per port, the busiest ports shown apart."),
                charts.monthly_by_port(monthly.table, ""),
            )
        )
    if period.days <= DAILY_CHART_MAX_DAYS:
        daily = _try(obs, "crossings.daily", period, ports)
        if daily is not None:
            made.append(
                (
                    N_("Entries per day"),
                    N_("One line per country entered."),
                    charts.daily_entries(daily.table, ""),
                )
            )
    hours = _try(obs, "busy.hours", period, ports)
    if hours is not None:
        made.append(
            (
                N_("Busiest hours (average crossings per hour)"),
                N_("Darker squares are busier hours of the week: plan staffing there."),
                charts.busy_hours(hours.table, ""),
            )
        )
    ages = _try(obs, "crossings.by_sex_age", period, ports)
    if ages is not None:
        made.append(
            (
                N_("Crossings by age band and sex"),
                N_("Bars per age band, one per sex."),
                charts.sex_age(ages.table, ""),
            )
        )
    nationality = _try(obs, "crossings.by_nationality", period, ports)
    if nationality is not None:
        made.append(
            (
                N_("Crossings by nationality"),
                N_("Bars per nationality on a compressed scale."),
                charts.nationalities(nationality.table, ""),
            )
        )
    season = _try(obs, "seasonality.monthly", period, ports)
    if season is not None:
        made.append(
            (
                N_("Seasonality: crossings per day against the average day"),
                N_("100 is an ordinary day; Easter and December months are marked."),
                charts.seasonality(season.table, ""),
            )
        )
    if over is not None:
        made.append(
            (
                N_("Overstay rate by month of departure"),
                N_("Share of completed stays in South Africa beyond 30 days without a permit."),
                charts.overstays(over.table, ""),
            )
        )
    return [(title, text, _svg_data(chart)) for title, text, chart in made]


@router.get("/observatory/report")
def monthly_report(
    request: Request,
    user: User = Depends(page_for(Permission.OBSERVATORY_READ)),
    settings: Settings = Depends(get_settings),
) -> Response:
    """The monthly report for the NCC as HTML, CSV or PDF (a download)."""
    from tsela.observatory import report as rep

    month = request.query_params.get("month", "").strip()
    output = request.query_params.get("format", "pdf").strip().lower()
    port = request.query_params.get("port", "").strip().upper()
    problem: str | None = None
    status_code = 422
    if output not in rep.FORMATS:
        problem = f"the format must be one of {', '.join(rep.FORMATS)}, not {output!r}"
    else:
        try:
            Period.month(month)
            with Observatory(parquet_dir(settings)) as obs:
                report = rep.build_monthly(
                    obs, month, [port] if port else [], with_charts=output != "csv"
                )
        except MissingCopyError as exc:
            problem, status_code = str(exc), 503
        except NoDataError as exc:
            problem, status_code = str(exc), 404
        except ObservatoryError as exc:
            problem = str(exc)
    if problem is not None:
        context = {
            "start": "",
            "end": "",
            "port": port,
            "ports": sorted(reference_ports()),
            "problem": problem,
            "empty": None,
            "headlines": [],
            "figures": [],
            "notes": [],
            "period": None,
            "months": [],
        }
        return render(request, "observatory/dashboard.html", context, status_code)
    media = {"html": "text/html", "csv": "text/csv", "pdf": "application/pdf"}[output]
    body: bytes
    if output == "html":
        body = rep.to_html(report).encode()
    elif output == "csv":
        body = rep.to_csv(report).encode()
    else:
        body = rep.to_pdf(report)
    name = f"observatory-{month}{'-' + port if port else ''}.{output}"
    return Response(
        body,
        media_type=media,
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


# Tables people would rather look at than read: a chart beside the numbers.
CHARTED = ("flows.port", "stays.length", "workers.categories")


@router.get("/observatory/tables")
def standard_tables_page(
    request: Request,
    user: User = Depends(page_for(Permission.OBSERVATORY_READ)),
    settings: Settings = Depends(get_settings),
) -> Response:
    """The standard tables of a month, each naming its standard, protected as the release."""
    from tsela.observatory.standard_tables import COUNTRIES, compute, definitions

    query = request.query_params
    month = query.get("month", "").strip()
    country = query.get("country", "ZAF").strip().upper() or "ZAF"
    context: dict[str, Any] = {
        "month": month,
        "country": country,
        "countries": COUNTRIES,
        "definitions": definitions(),
        "result": None,
        "problem": None,
        "empty": None,
        "months": [],
        "charts": {},
    }
    try:
        obs = Observatory(parquet_dir(settings))
    except MissingCopyError as exc:
        context["problem"] = str(exc)
        return render(request, "observatory/tables.html", context, 503)
    with obs:
        context["months"] = [f"{y}-{m:02d}" for y, m in obs.partitions]
        if not month:
            if not context["months"]:
                context["empty"] = f"no crossings in the analytics copy {obs.dir}"
                return render(request, "observatory/tables.html", context)
            month = context["month"] = context["months"][-1]
        try:
            result = compute(obs, month, country)
        except NoDataError as exc:
            context["empty"] = str(exc)
            return render(request, "observatory/tables.html", context)
        except ObservatoryError as exc:
            context["problem"] = str(exc)
            return render(request, "observatory/tables.html", context, 422)
    from tsela.observatory.charts import standard_table_bars

    for t in result.tables:
        if t.id in CHARTED and t.cells:
            chart = standard_table_bars(
                t.rows, t.cols, t.cells, t.definition.title, t.row_dim.replace("_", " ")
            )
            context["charts"][t.id] = _svg_data(chart)
    context["result"] = result
    return render(request, "observatory/tables.html", context)
