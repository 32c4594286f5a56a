"""Governance pages: the review before a session with the road-map chart, one activity with
its notes and a progress form for its owner, and the public view.

The same rules as the API apply (``services.governance``): the secretariat and members of
a body read; a body's members report progress on its activities; anyone sees what is
public. Charts are server-rendered SVG shown as images (the pages' CSP allows no script).
"""

from __future__ import annotations

import base64
from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from tsela.api.deps import clock_of, get_session, get_settings
from tsela.config import Settings
from tsela.domain.governance import Status, effective_status, parse_status
from tsela.kernel.access import Permission
from tsela.kernel.actor import Actor
from tsela.services import governance as g
from tsela.services import governance_report as gr
from tsela.store.governance import Body, Instrument
from tsela.store.models import User
from tsela.web.errors import Refused, attempt
from tsela.web.i18n import N_
from tsela.web.nav import add_nav
from tsela.web.render import render
from tsela.web.security import page_for, public_page

router = APIRouter(include_in_schema=False)


def _actor(session: Session, user: User) -> Actor:
    """The user with the bodies they speak for (the tracker's services use no node)."""
    return g.actor_for(session, Actor.of(user, user.node))


def _reads_governance(session: Session, user: User) -> bool:
    """The page answers 403 to staff bound to no body: no link for them."""
    return g.reads(_actor(session, user))


add_nav("/governance", N_("Governance"), Permission.GOVERNANCE_READ, _reads_governance)

STATUS_LABELS = {
    Status.NOT_STARTED: N_("not started"),
    Status.ON_TRACK: N_("on track"),
    Status.AT_RISK: N_("at risk"),
    Status.LATE: N_("late"),
    Status.DONE: N_("done"),
    Status.DROPPED: N_("dropped"),
}
STATUS_TONES = {
    Status.LATE: "bad",
    Status.AT_RISK: "warn",
    Status.DONE: "ok",
    Status.ON_TRACK: "info",
    Status.NOT_STARTED: "info",
    Status.DROPPED: "info",
}
GROUP_TITLES = {
    Status.LATE: N_("Late"),
    Status.AT_RISK: N_("At risk"),
    Status.DONE: N_("Done since the last session"),
    Status.ON_TRACK: N_("On track"),
    Status.NOT_STARTED: N_("Not started"),
    Status.DROPPED: N_("Dropped"),
}


def _context() -> dict[str, Any]:
    return {"status_labels": STATUS_LABELS, "tones": STATUS_TONES}


def _bodies_with_plans(session: Session) -> list[Body]:
    ids = set(session.scalars(select(Instrument.body_id)))
    parents = {b.id: b.parent_id for b in g.bodies(session)}
    # A committee's plans are reviewed at its parent's sessions too.
    for bid in list(ids):
        parent = parents.get(bid)
        while parent is not None:
            ids.add(parent)
            parent = parents.get(parent)
    return [b for b in g.bodies(session) if b.id in ids]


def _refused(request: Request, message: str) -> Response:
    return render(request, "governance/refused.html", {"message": message}, 403)


@router.get("/governance")
def review_page(
    request: Request,
    user: User = Depends(page_for(Permission.GOVERNANCE_READ)),
    session: Session = Depends(get_session),
) -> Response:
    """Members and the secretariat: every commitment since a body's last session."""
    actor = _actor(session, user)
    if not g.reads(actor):
        return _refused(request, N_("You do not speak for any governance body."))
    choices = _bodies_with_plans(session)
    code = request.query_params.get("body", "").strip().upper() or (
        choices[0].code if choices else ""
    )
    problem = None
    since: date | None = None
    raw_since = request.query_params.get("since", "").strip()
    if raw_since:
        try:
            since = date.fromisoformat(raw_since)
        except ValueError:
            problem = N_("The date of the last session must be like 2026-11-25.")
    report = None
    if code and problem is None:
        try:
            report = gr.build_report(session, actor, code, clock_of(request).now(), since)
        except g.NotFound:
            problem = N_("There is no body with that code.")
    charts = []
    groups: list[tuple[str, str, list[Any]]] = []
    if report is not None:
        for s in report.instruments:
            if s.chart_svg:
                data = base64.b64encode(s.chart_svg.encode()).decode("ascii")
                charts.append((s.instrument, data))
        groups = [
            (st.value, GROUP_TITLES[st], items)
            for st, items in report.body_review.review.groups()
            if items
        ]
    return render(
        request,
        "governance/review.html",
        {
            **_context(),
            "choices": choices,
            "code": code,
            "since": raw_since,
            "problem": problem,
            "report": report,
            "charts": charts,
            "groups": groups,
            "updatable": _updatable(report, actor),
        },
        400 if problem else 200,
    )


def _updatable(report: gr.RoadmapReport | None, actor: Actor) -> set[str]:
    if report is None:
        return set()
    return {a.code for a in report.body_review.activities if g.may_update(actor, a)}


@router.get("/governance/activity/{code}")
def activity_page(
    request: Request,
    code: str,
    user: User = Depends(page_for(Permission.GOVERNANCE_READ)),
    session: Session = Depends(get_session),
) -> Response:
    """Members and the secretariat: one activity, its notes and evidence; its owner's
    members (and the secretariat) get a form to report progress."""
    return _activity(request, code, user, session)


def _activity(
    request: Request,
    code: str,
    user: User,
    session: Session,
    problem: str | None = None,
    status_code: int = 200,
) -> Response:
    actor = _actor(session, user)
    if not g.reads(actor):
        return _refused(request, N_("You do not speak for any governance body."))
    try:
        activity = g.activity_by_code(session, code)
    except g.NotFound:
        return render(request, "error.html", {"error": "missing"}, 404)
    now = clock_of(request).now()
    return render(
        request,
        "governance/activity.html",
        {
            **_context(),
            "a": activity,
            "effective": effective_status(activity, now, activity.owner.timezone),
            "depends_on": g.depends_on_codes(activity),
            "can_update": g.may_update(actor, activity),
            "statuses": list(Status),
            "problem": problem,
            "done": request.query_params.get("done") == "1",
        },
        status_code,
    )


@router.post("/governance/activity/{code}")
def report_progress(
    request: Request,
    code: str,
    user: User = Depends(page_for(Permission.GOVERNANCE_READ)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
    status: str = Form(""),
    note: str = Form("", max_length=4000),
    evidence: str = Form("", max_length=2000),
) -> Response:
    """The owner's members or the secretariat: a new status, a note, evidence."""
    actor = _actor(session, user)

    def report() -> None:
        update = g.ProgressUpdate(
            code=code,
            status=parse_status(status) if status else None,
            note=note,
            evidence=(g.EvidenceInput(evidence.strip()),) if evidence.strip() else (),
        )
        g.report_progress(session, actor, settings.node, update, clock_of(request).now())

    done = attempt(request, session, report)
    if isinstance(done, Refused):
        if isinstance(done.error, g.AccessDenied):
            return _refused(request, done.message)
        if done.not_found:
            return render(request, "error.html", {"error": "missing"}, 404)
        return _activity(request, code, user, session, done.message, 400)
    return RedirectResponse(f"/governance/activity/{code}?done=1", status_code=303)


@router.get("/governance/public")
def public_view(
    request: Request,
    _anyone: User | None = Depends(public_page),
    session: Session = Depends(get_session),
) -> Response:
    """Public: what the secretariat marked public (no notes, no evidence)."""
    view = g.public_view(session, clock_of(request).now())
    for a in view["activities"]:
        a["effective"] = Status(a["effective_status"])
    for o in view["objectives"]:
        o["status"] = Status(o["status"])
    return render(request, "governance/public.html", {**_context(), "view": view})
