"""The governance tracker over HTTP: plans, progress, the review, the road-map report.

Roles: the secretariat edits everything; staff users bound to a body (see
``tsela governance member``) read the tracker and report progress on their body's
activities (checked in ``services.governance``); ``GET /v1/governance/public`` is open.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import date
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, Depends, File, HTTPException, Query, UploadFile, status
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from tsela.api.auth import acting
from tsela.api.deps import get_clock, get_session, get_settings
from tsela.api.errors import error_responses, service_errors, status_of
from tsela.api.schemas import (
    ActivityOut,
    ActivitySummaryOut,
    BodyAddedOut,
    BodyOut,
    MeetingAddedOut,
    MemberBoundOut,
    PlanImportOut,
    PublicViewOut,
    PublishedOut,
    ReviewOut,
    SessionNotesOut,
)
from tsela.config import Settings
from tsela.domain.governance import GovernanceError, Status, effective_status, parse_status
from tsela.kernel.access import Permission
from tsela.kernel.actor import Actor
from tsela.kernel.clock import Clock
from tsela.kernel.errors import TselaError
from tsela.services import governance as g
from tsela.services import governance_import as gi
from tsela.services import governance_report as gr
from tsela.services.indicators import IndicatorError

router = APIRouter(prefix="/v1/governance", tags=["governance"], responses=error_responses(404))

MAX_UPLOAD = 5 * 1024 * 1024


KNOWN = (g.NotFound, g.AccessDenied, GovernanceError, IndicatorError)


def _http(exc: Exception) -> HTTPException:
    """Tracker errors as HTTP answers: 404 unknown, 403 not allowed, 422 bad input (a file's
    bad lines listed)."""
    if isinstance(exc, g.LineErrors):
        return HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            {
                "message": str(exc).split("\n", 1)[0],
                "errors": [{"line": e.line, "message": e.message} for e in exc.errors],
            },
        )
    if isinstance(exc, TselaError):
        return HTTPException(status_of(exc), str(exc))
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc))


def _answers(session: Session | None = None) -> AbstractContextManager[None]:
    """Reads pass no session; changes pass theirs, committed when the block succeeds."""
    return service_errors(session, KNOWN, _http)


def _actor(permission: Permission) -> Callable[..., Actor]:
    """A dependency: the signed-in user holding ``permission``, with the bodies they speak
    for."""

    def dependency(
        session: Session = Depends(get_session), actor: Actor = Depends(acting(permission))
    ) -> Actor:
        return g.actor_for(session, actor)

    return dependency


@router.get("/public", response_model=PublicViewOut)
def public(
    session: Session = Depends(get_session), clock: Clock = Depends(get_clock)
) -> dict[str, Any]:
    """Public on purpose: the instruments, objectives (with measured indicators) and
    activities the secretariat marked public, so citizens can follow what was agreed.
    Notes, evidence and anything unmarked stay private."""
    return g.public_view(session, clock.now())


class BodyIn(BaseModel):
    code: str = Field(min_length=1, max_length=24)
    name: str = Field(min_length=1, max_length=200)
    kind: str
    country: str = Field("", max_length=3)
    timezone: str = "Africa/Maseru"
    parent: str = ""


@router.get("/bodies", response_model=list[BodyOut])
def list_bodies(
    session: Session = Depends(get_session),
    actor: Actor = Depends(_actor(Permission.GOVERNANCE_READ)),
) -> list[dict[str, Any]]:
    with _answers():
        g.require_reader(actor)
        return [
            {
                "code": b.code,
                "name": b.name,
                "kind": b.kind.value,
                "country": b.country,
                "timezone": b.timezone,
                "parent": b.parent.code if b.parent else None,
            }
            for b in g.bodies(session)
        ]


@router.post("/bodies", status_code=201, response_model=BodyAddedOut)
def add_body(
    body: BodyIn,
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
    actor: Actor = Depends(_actor(Permission.GOVERNANCE_EDIT)),
) -> dict[str, str]:
    with _answers(session):
        made = g.add_body(session, actor, settings.node, g.BodyInput(**body.model_dump()))
    return {"code": made.code}


class MeetingIn(BaseModel):
    body: str
    held_on: date
    place: str = Field("", max_length=120)
    title: str = Field("", max_length=200)


@router.post("/meetings", status_code=201, response_model=MeetingAddedOut)
def add_meeting(
    meeting: MeetingIn,
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
    actor: Actor = Depends(_actor(Permission.GOVERNANCE_EDIT)),
) -> dict[str, str]:
    with _answers(session):
        m = g.add_meeting(
            session,
            actor,
            settings.node,
            meeting.body,
            meeting.held_on,
            meeting.place,
            meeting.title,
        )
    return {"body": m.body.code, "held_on": m.held_on.isoformat()}


class MemberIn(BaseModel):
    body: str | None = Field(None, description="Body code, or null: speaks for no body")


@router.put("/members/{username}", response_model=MemberBoundOut)
def bind_member(
    username: str,
    member: MemberIn,
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
    actor: Actor = Depends(_actor(Permission.GOVERNANCE_EDIT)),
) -> dict[str, str | None]:
    with _answers(session):
        g.bind_member(session, actor, settings.node, username, member.body)
    return {"username": username.lower(), "body": member.body.upper() if member.body else None}


@router.get("/activities", response_model=list[ActivitySummaryOut])
def list_activities(
    body: str | None = Query(None, description="Only the plans of this body"),
    owner: str | None = Query(None, description="Only activities this body owns"),
    status_: str | None = Query(None, alias="status", description="Only this status"),
    session: Session = Depends(get_session),
    actor: Actor = Depends(_actor(Permission.GOVERNANCE_READ)),
    clock: Clock = Depends(get_clock),
) -> list[dict[str, Any]]:
    now = clock.now()
    with _answers():
        g.require_reader(actor)
        wanted = parse_status(status_) if status_ else None
        acts = g.activities_of(
            session,
            g.body_by_code(session, body) if body else None,
            g.body_by_code(session, owner) if owner else None,
        )
        return [
            g.activity_json(a, now, full=False)
            for a in acts
            if wanted is None or effective_status(a, now, a.owner.timezone) is wanted
        ]


@router.get("/activities/{code}", response_model=ActivityOut)
def get_activity(
    code: str,
    session: Session = Depends(get_session),
    actor: Actor = Depends(_actor(Permission.GOVERNANCE_READ)),
    clock: Clock = Depends(get_clock),
) -> dict[str, Any]:
    with _answers():
        g.require_reader(actor)
        return g.activity_json(g.activity_by_code(session, code), clock.now())


@router.post("/activities", status_code=201, response_model=ActivityOut)
def add_activity(
    row: dict[str, str],
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
    actor: Actor = Depends(_actor(Permission.GOVERNANCE_EDIT)),
    clock: Clock = Depends(get_clock),
) -> dict[str, Any]:
    """Add one activity, given as the columns of a plan row (see docs/governance.md)."""
    with _answers(session):
        unknown = sorted(set(row) - set(gi.PLAN_COLUMNS))
        if unknown:
            raise GovernanceError(f"unknown field(s) {', '.join(unknown)}")
        report = gi.import_plan(session, actor, settings.node, [(1, row)], clock.now(), "api")
        if report.errors:
            raise GovernanceError(report.errors[0].message)
    return g.activity_json(g.activity_by_code(session, report.created[0]), clock.now())


class ChangesIn(BaseModel):
    title: str | None = Field(None, max_length=300)
    owner: str | None = None
    start_date: date | None = None
    due_date: date | None = None
    depends_on: list[str] | None = None
    public: bool | None = None
    note: str = Field("", max_length=4000, description="Needed when the dates move")


@router.patch("/activities/{code}", response_model=ActivityOut)
def edit_activity(
    code: str,
    changes: ChangesIn,
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
    actor: Actor = Depends(_actor(Permission.GOVERNANCE_EDIT)),
    clock: Clock = Depends(get_clock),
) -> dict[str, Any]:
    """Re-plan an activity (secretariat)."""
    now = clock.now()
    data = changes.model_dump(exclude={"note"})
    with _answers(session):
        a = g.edit_activity(
            session,
            actor,
            settings.node,
            code,
            g.ActivityChanges(**data),
            changes.note,
            now,
        )
    return g.activity_json(a, now)


class EvidenceIn(BaseModel):
    location: str = Field(min_length=1, max_length=2000, description="A link or a file path")
    description: str = Field("", max_length=300)


class ProgressIn(BaseModel):
    status: Status | None = None
    note: str = Field("", max_length=4000)
    evidence: list[EvidenceIn] = Field(default_factory=list)


@router.post("/activities/{code}/progress", response_model=ActivityOut)
def report_progress(
    code: str,
    progress: ProgressIn,
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
    actor: Actor = Depends(_actor(Permission.GOVERNANCE_READ)),
    clock: Clock = Depends(get_clock),
) -> dict[str, Any]:
    """Report progress: the owner body's members or the secretariat."""
    now = clock.now()
    with _answers(session):
        a = g.report_progress(
            session,
            actor,
            settings.node,
            g.ProgressUpdate(
                code=code,
                status=progress.status,
                note=progress.note,
                evidence=tuple(
                    g.EvidenceInput(e.location, e.description) for e in progress.evidence
                ),
            ),
            now,
        )
    return g.activity_json(a, now)


class NoteIn(BaseModel):
    activity: str
    status: str = ""
    note: str = Field("", max_length=4000)
    evidence: str = ""
    evidence_description: str = ""


class SessionNotesIn(BaseModel):
    body: str | None = None
    meeting_date: date | None = None
    notes: list[NoteIn] = Field(min_length=1)


@router.post("/session-notes", response_model=SessionNotesOut)
def session_notes(
    notes: SessionNotesIn,
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
    actor: Actor = Depends(_actor(Permission.GOVERNANCE_EDIT)),
    clock: Clock = Depends(get_clock),
) -> dict[str, Any]:
    """Notes taken at a session, applied in one go: all, or none (errors name each line,
    counting the notes from 1)."""
    with _answers(session):
        if (notes.body is None) != (notes.meeting_date is None):
            raise GovernanceError("give both body and meeting_date, or neither")
        meeting = (
            g.meeting_on(session, notes.body, notes.meeting_date)
            if notes.body and notes.meeting_date
            else None
        )
        done = g.apply_session_notes(
            session,
            actor,
            settings.node,
            [(i, n.model_dump()) for i, n in enumerate(notes.notes, start=1)],
            clock.now(),
            meeting,
        )
    return {"updated": [a.code for a in done]}


@router.post("/import", response_model=PlanImportOut, responses=error_responses(413))
async def import_plan(
    file: UploadFile = File(..., description="A plan as .csv or .xlsx"),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
    actor: Actor = Depends(_actor(Permission.GOVERNANCE_EDIT)),
    clock: Clock = Depends(get_clock),
) -> dict[str, Any]:
    """Load a plan: good rows are saved, bad rows come back with their line numbers."""
    name = Path(file.filename or "plan.csv").name
    content = await file.read(MAX_UPLOAD + 1)
    if len(content) > MAX_UPLOAD:
        raise HTTPException(413, f"{name}: larger than {MAX_UPLOAD // (1024 * 1024)} MB")
    with _answers(session), tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(content)
        rows = gi.read_table(path, gi.PLAN_COLUMNS)
        report = gi.import_plan(session, actor, settings.node, rows, clock.now(), name)
    return {
        "rows": report.rows,
        "created": report.created,
        "instruments": report.instruments,
        "errors": [{"line": e.line, "message": e.message} for e in report.errors],
    }


@router.get("/review", response_model=ReviewOut)
def review(
    body: str = Query(..., description="The body whose session is coming, e.g. BNC"),
    since: date | None = Query(None, description="Date of the last session (default: recorded)"),
    session: Session = Depends(get_session),
    actor: Actor = Depends(_actor(Permission.GOVERNANCE_READ)),
    clock: Clock = Depends(get_clock),
) -> dict[str, Any]:
    """Every commitment since the body's last session, grouped: late, at risk, done, ..."""
    now = clock.now()
    with _answers():
        br = g.review(session, actor, body, now, since)
    rv = br.review

    def item(i: Any) -> dict[str, Any]:
        e = i.entry
        return {
            "code": e.code,
            "title": e.title,
            "objective": e.objective,
            "owner": e.owner,
            "due_date": e.due_date.isoformat(),
            "status": e.status.value,
            "effective_status": i.effective.value,
            "days_late": i.days_late,
            "closed_on": e.closed_on.isoformat() if e.closed_on else None,
            "new": i.new,
            "last_note": e.last_note,
        }

    return {
        "body": br.body.code,
        "since": rv.since.isoformat() if rv.since else None,
        "as_of": now.isoformat(),
        "counts": rv.counts(),
        **{st.value: [item(i) for i in items] for st, items in rv.groups()},
        "new": [i.entry.code for i in rv.new],
    }


@router.get(
    "/report",
    response_class=HTMLResponse,
    responses={
        200: {
            "description": "The report as a web page, or a PDF",
            "content": {
                "text/html": {"schema": {"type": "string"}},
                "application/pdf": {"schema": {"type": "string", "format": "binary"}},
            },
        }
    },
)
def report(
    body: str = Query(..., description="The body whose session the report is for"),
    format: Literal["html", "pdf"] = Query("html"),
    since: date | None = Query(None),
    session: Session = Depends(get_session),
    actor: Actor = Depends(_actor(Permission.GOVERNANCE_READ)),
    clock: Clock = Depends(get_clock),
) -> Response:
    """The road-map report: timeline chart and what was agreed, done, late and new."""
    with _answers():
        built = gr.build_report(session, actor, body, clock.now(), since)
    if format == "pdf":
        filename = f"roadmap-{built.body_review.body.code}-{built.today.isoformat()}.pdf"
        return Response(
            gr.report_pdf(built),
            media_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )
    return HTMLResponse(gr.report_html(built))


class PublishIn(BaseModel):
    kind: Literal["instrument", "objective", "activity"]
    code: str = Field(description="An objective is INSTRUMENT/OBJECTIVE")
    public: bool = True


@router.post("/publish", response_model=PublishedOut)
def publish(
    item: PublishIn,
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
    actor: Actor = Depends(_actor(Permission.GOVERNANCE_EDIT)),
) -> dict[str, Any]:
    """Show an instrument, objective or activity on the public page, or stop showing it."""
    with _answers(session):
        g.set_public(session, actor, settings.node, item.kind, item.code, item.public)
    return {"kind": item.kind, "code": item.code, "public": item.public}
