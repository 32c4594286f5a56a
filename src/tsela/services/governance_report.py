"""The road-map: a timeline chart of activities and the report for a body's next session
(what was agreed, what was done, what is late, what is new), as HTML or PDF."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from tsela import reporting
from tsela.domain.governance import ReviewItem, Status, local_today
from tsela.kernel.actor import Actor
from tsela.services.governance import (
    BodyReview,
    IndicatorProgress,
    indicator_progress,
    objective_status,
    review,
)
from tsela.store.governance import Activity, Instrument, Objective

# Late is red; the rest are told apart without relying on red/green alone.
STATUS_COLOURS: dict[Status, str] = {
    Status.LATE: "#c62828",
    Status.AT_RISK: "#ef6c00",
    Status.ON_TRACK: "#1565c0",
    Status.NOT_STARTED: "#9e9e9e",
    Status.DONE: "#2e7d32",
    Status.DROPPED: "#d7ccc8",
}
LABEL_CHARS = 52


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def roadmap_rows(items: list[ReviewItem], activities: dict[str, Activity]) -> list[dict[str, Any]]:
    """One bar per activity: start to the end of its due day, coloured by what the calendar
    says (late items red), grouped by objective, labelled with the owner."""
    rows = []
    for order, item in enumerate(sorted(items, key=lambda i: i.entry.code)):
        e = item.entry
        obj = activities[e.code].objective
        owner = e.owner + (f" · {item.days_late} d late" if item.days_late else "")
        rows.append(
            {
                "order": order,
                "activity": _short(f"{e.code} {e.title}", LABEL_CHARS),
                "objective": _short(f"{obj.code} {obj.title}", 90),
                "owner": owner,
                "start": e.start_date.isoformat(),
                "end": (e.due_date + timedelta(days=1)).isoformat(),  # the due day counts
                "due": e.due_date.isoformat(),
                "status": item.effective.label,
            }
        )
    return rows


def roadmap_chart(rows: list[dict[str, Any]], today: date, title: str = "") -> Any:
    import altair as alt

    statuses = list(STATUS_COLOURS)
    colour = alt.Color(
        "status:N",
        title="Status",
        scale=alt.Scale(
            domain=[s.label for s in statuses], range=[STATUS_COLOURS[s] for s in statuses]
        ),
        legend=alt.Legend(orient="top", direction="horizontal"),
    )
    x = alt.X(
        "start:T",
        title=None,
        scale=alt.Scale(type="utc"),
        axis=alt.Axis(format="%b %Y", labelAngle=0, grid=True),
    )
    y = alt.Y(
        "activity:N",
        title=None,
        sort=alt.EncodingSortField("order"),
        axis=alt.Axis(labelLimit=330),
    )
    base = alt.Chart()
    bars = base.mark_bar(height={"band": 0.7}, cornerRadius=2).encode(
        x=x,
        x2="end:T",
        y=y,
        color=colour,
        tooltip=["activity:N", "owner:N", "start:T", "due:T", "status:N"],
    )
    owners = base.mark_text(align="left", dx=4, fontSize=10).encode(
        x="end:T", y=y, text="owner:N", color=colour
    )
    today_rule = base.mark_rule(color="#b71c1c", strokeDash=[5, 3], size=1.5).encode(
        x=alt.datum(alt.DateTime(year=today.year, month=today.month, date=today.day, utc=True))
    )
    layered = alt.layer(bars, owners, today_rule, data=alt.Data(values=rows)).properties(
        width=330, height=alt.Step(17)
    )
    return (
        layered.facet(
            row=alt.Row(
                "objective:N",
                title=None,
                header=alt.Header(
                    labelAngle=0,
                    labelAlign="left",
                    labelAnchor="start",
                    labelOrient="top",
                    labelFontWeight="bold",
                    labelLimit=640,
                ),
            ),
            spacing=6,
        )
        .resolve_scale(y="independent")
        .properties(title=alt.TitleParams(title, subtitle="dashed red line: today"))
        .configure_view(stroke="#e0e0e0")
    )


@dataclass(frozen=True)
class ObjectiveSummary:
    objective: Objective
    status: Status
    indicators: list[IndicatorProgress]


@dataclass(frozen=True)
class InstrumentSummary:
    instrument: Instrument
    objectives: list[ObjectiveSummary]
    chart_svg: str


@dataclass(frozen=True)
class RoadmapReport:
    body_review: BodyReview
    generated_at: datetime
    today: date
    instruments: list[InstrumentSummary]


def build_report(
    session: Session, actor: Actor, body_code: str, now: datetime, since: date | None = None
) -> RoadmapReport:
    br = review(session, actor, body_code, now, since)
    today = local_today(now, br.body.timezone)
    by_code = {a.code: a for a in br.activities}
    items_by_instrument: dict[str, list[ReviewItem]] = {}
    for item in br.review.items():
        inst = by_code[item.entry.code].objective.instrument
        items_by_instrument.setdefault(inst.code, []).append(item)
    instruments: dict[str, Instrument] = {}
    for a in br.activities:
        instruments.setdefault(a.objective.instrument.code, a.objective.instrument)
    summaries = []
    for code, inst in sorted(instruments.items()):
        items = items_by_instrument.get(code, [])
        svg = ""
        if items:
            chart = roadmap_chart(roadmap_rows(items, by_code), today, _short(inst.title, 90))
            svg = reporting.chart_to_svg(chart)
        summaries.append(
            InstrumentSummary(
                instrument=inst,
                objectives=[
                    ObjectiveSummary(
                        o, objective_status(o, now), indicator_progress(session, o, today)
                    )
                    for o in inst.objectives
                ],
                chart_svg=svg,
            )
        )
    return RoadmapReport(
        body_review=br, generated_at=now.astimezone(UTC), today=today, instruments=summaries
    )


def report_html(report: RoadmapReport) -> str:
    return reporting.render(
        "governance/report.html",
        report=report,
        body=report.body_review.body,
        last=report.body_review.last_session,
        rv=report.body_review.review,
        colours={s.value: c for s, c in STATUS_COLOURS.items()},
    )


def report_pdf(report: RoadmapReport) -> bytes:
    return reporting.html_to_pdf(report_html(report))
