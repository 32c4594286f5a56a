"""Reading the tracker: lists, the review before a session, indicators, the public view."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from tsela.domain.governance import (
    Review,
    ReviewEntry,
    Status,
    build_review,
    effective_status,
    local_today,
    progress_towards,
    rollup,
)
from tsela.kernel.actor import Actor
from tsela.services import indicators
from tsela.services.governance.access import descendants, require_reader
from tsela.services.governance.activities import depends_on_codes
from tsela.services.governance.bodies import body_by_code, last_session
from tsela.store.governance import Activity, Body, IndicatorTarget, Instrument, Meeting, Objective


def _loaded() -> Any:
    return (
        selectinload(Activity.owner),
        selectinload(Activity.objective)
        .selectinload(Objective.instrument)
        .options(selectinload(Instrument.body), selectinload(Instrument.meeting)),
        selectinload(Activity.output),
        selectinload(Activity.last_reviewed_meeting),
        selectinload(Activity.notes),
    )


def activities_of(
    session: Session, body: Body | None = None, owner: Body | None = None
) -> list[Activity]:
    """Activities under the instruments of ``body`` (and of bodies under it), or all."""
    query = select(Activity).options(*_loaded()).order_by(Activity.code)
    if body is not None:
        ids = descendants(session, body.id)
        query = query.join(Objective).join(Instrument).where(Instrument.body_id.in_(ids))
    if owner is not None:
        query = query.where(Activity.owner_id == owner.id)
    return list(session.scalars(query))


def introduced_on(activity: Activity) -> date:
    adopted = activity.objective.instrument.adopted_on
    return adopted or local_today(activity.created_at, activity.owner.timezone)


def last_note(activity: Activity) -> str:
    texts = [n.text for n in activity.notes if n.text]
    return texts[-1] if texts else ""


def review_entry(activity: Activity) -> ReviewEntry:
    return ReviewEntry(
        code=activity.code,
        title=activity.title,
        objective=activity.objective.title,
        owner=activity.owner.code,
        start_date=activity.start_date,
        due_date=activity.due_date,
        status=activity.status,
        tz=activity.owner.timezone,
        closed_on=activity.closed_on,
        introduced_on=introduced_on(activity),
        last_note=last_note(activity),
    )


@dataclass
class BodyReview:
    body: Body
    last_session: Meeting | None
    review: Review
    activities: list[Activity] = field(default_factory=list)


def review(
    session: Session, actor: Actor, body_code: str, now: datetime, since: date | None = None
) -> BodyReview:
    """What a body's next session must look at: every commitment since its last session."""
    require_reader(actor)
    body = body_by_code(session, body_code)
    last = last_session(session, body, now)
    if since is None and last is not None:
        since = last.held_on
    acts = activities_of(session, body)
    return BodyReview(
        body=body,
        last_session=last,
        review=build_review((review_entry(a) for a in acts), since, now),
        activities=acts,
    )


@dataclass(frozen=True)
class IndicatorProgress:
    target: IndicatorTarget
    label: str
    measurement: indicators.Measurement
    progress: float | None  # share of the way from baseline to target


def indicator_progress(session: Session, objective: Objective, on: date) -> list[IndicatorProgress]:
    out = []
    for t in objective.indicators:
        params = indicators.parse_params(t.params)
        ind = indicators.get(t.indicator_id)
        m = indicators.measure(session, t.indicator_id, on, params)
        out.append(
            IndicatorProgress(
                target=t,
                label=t.label or ind.describe(params),
                measurement=m,
                progress=progress_towards(t.baseline, t.target, m.value),
            )
        )
    return out


def objective_status(objective: Objective, now: datetime) -> Status:
    return rollup(effective_status(a, now, a.owner.timezone) for a in objective.activities)


def activity_json(activity: Activity, now: datetime, *, full: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "code": activity.code,
        "title": activity.title,
        "instrument": activity.objective.instrument.code,
        "objective": activity.objective.title,
        "output": activity.output.title if activity.output else None,
        "owner": activity.owner.code,
        "start_date": activity.start_date.isoformat(),
        "due_date": activity.due_date.isoformat(),
        "status": activity.status.value,
        "effective_status": effective_status(activity, now, activity.owner.timezone).value,
        "closed_on": activity.closed_on.isoformat() if activity.closed_on else None,
    }
    if full:
        out["public"] = activity.public
        out["last_reviewed"] = (
            activity.last_reviewed_meeting.held_on.isoformat()
            if activity.last_reviewed_meeting
            else None
        )
        out["notes"] = [
            {
                "written_at": n.written_at.isoformat(),
                "author": n.author,
                "text": n.text,
                "status_from": n.status_from.value if n.status_from else None,
                "status_to": n.status_to.value if n.status_to else None,
            }
            for n in activity.notes
        ]
        out["evidence"] = [
            {"kind": e.kind, "location": e.location, "description": e.description}
            for e in activity.evidence
        ]
        out["depends_on"] = sorted(depends_on_codes(activity))
    return out


def measurement_json(p: IndicatorProgress) -> dict[str, Any]:
    t, m = p.target, p.measurement
    return {
        "indicator": t.indicator_id,
        "params": t.params,
        "label": p.label,
        "unit": t.unit or m.unit,
        "baseline": t.baseline,
        "target": t.target,
        "target_on": t.target_on.isoformat() if t.target_on else None,
        "measured": m.value,
        "measured_as_of": m.as_of.isoformat(),
        "source": m.source,
        "progress": None if p.progress is None else round(p.progress, 3),
    }


def public_view(session: Session, now: datetime) -> dict[str, Any]:
    """Only what the secretariat marked public: no notes, no evidence, no member data."""
    instruments = session.scalars(
        select(Instrument)
        .where(Instrument.public.is_(True))
        .options(selectinload(Instrument.body), selectinload(Instrument.meeting))
        .order_by(Instrument.code)
    )
    objectives = session.scalars(
        select(Objective)
        .where(Objective.public.is_(True))
        .options(selectinload(Objective.activities).selectinload(Activity.owner))
        .order_by(Objective.code)
    )
    acts = session.scalars(
        select(Activity)
        .where(Activity.public.is_(True))
        .options(*_loaded())
        .order_by(Activity.code)
    )
    return {
        "as_of": now.isoformat(),
        "instruments": [
            {
                "code": i.code,
                "kind": i.kind.value,
                "title": i.title,
                "body": i.body.name,
                "adopted_on": i.adopted_on.isoformat() if i.adopted_on else None,
                "source": i.source,
                "text": i.text,
            }
            for i in instruments
        ],
        "objectives": [
            {
                "instrument": o.instrument.code,
                "code": o.code,
                "title": o.title,
                "status": objective_status(o, now).value,
                "indicators": [
                    measurement_json(p)
                    for p in indicator_progress(
                        session, o, local_today(now, o.instrument.body.timezone)
                    )
                ],
            }
            for o in objectives
        ],
        "activities": [activity_json(a, now, full=False) for a in acts],
    }
