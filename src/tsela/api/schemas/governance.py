"""The governance tracker: bodies, activities with their notes and evidence, the review of a
body's commitments, and the public view."""

from __future__ import annotations

from pydantic import Field

from tsela.api.schemas.common import Day, Moment, Out
from tsela.domain.governance import BodyKind, InstrumentKind, Status

__all__ = [
    "ActivityEvidenceOut",
    "ActivityNoteOut",
    "ActivityOut",
    "ActivitySummaryOut",
    "BodyAddedOut",
    "BodyOut",
    "MeetingAddedOut",
    "MemberBoundOut",
    "PlanImportOut",
    "PlanLineProblemOut",
    "PublicInstrumentOut",
    "PublicMeasurementOut",
    "PublicObjectiveOut",
    "PublicViewOut",
    "PublishedOut",
    "ReviewCountsOut",
    "ReviewItemOut",
    "ReviewOut",
    "SessionNotesOut",
]


class BodyOut(Out):
    code: str
    name: str
    kind: BodyKind
    country: str
    timezone: str
    parent: str | None = Field(description="The parent body's code")


class BodyAddedOut(Out):
    code: str


class MeetingAddedOut(Out):
    body: str
    held_on: Day


class MemberBoundOut(Out):
    username: str
    body: str | None = Field(description="The body the user speaks for, or none")


class ActivitySummaryOut(Out):
    code: str
    title: str
    instrument: str
    objective: str
    output: str | None
    owner: str = Field(description="The owner body's code")
    start_date: Day
    due_date: Day
    status: Status = Field(description="As last reported")
    effective_status: Status = Field(description="What the calendar says about it today")
    closed_on: Day | None


class ActivityNoteOut(Out):
    written_at: Moment
    author: str
    text: str
    status_from: Status | None
    status_to: Status | None


class ActivityEvidenceOut(Out):
    kind: str
    location: str
    description: str


class ActivityOut(ActivitySummaryOut):
    public: bool
    last_reviewed: Day | None
    notes: list[ActivityNoteOut]
    evidence: list[ActivityEvidenceOut]
    depends_on: list[str]


class SessionNotesOut(Out):
    updated: list[str] = Field(description="The activities the notes changed")


class PlanLineProblemOut(Out):
    line: int
    message: str


class PlanImportOut(Out):
    rows: int
    created: list[str]
    instruments: list[str]
    errors: list[PlanLineProblemOut]


class ReviewItemOut(Out):
    code: str
    title: str
    objective: str
    owner: str
    due_date: Day
    status: Status
    effective_status: Status
    days_late: int
    closed_on: Day | None
    new: bool
    last_note: str


class ReviewCountsOut(Out):
    late: int
    at_risk: int
    done: int
    on_track: int
    not_started: int
    dropped: int
    new: int


class ReviewOut(Out):
    """A body's commitments since its last session, grouped by what the calendar says."""

    body: str
    since: Day | None
    as_of: Moment
    counts: ReviewCountsOut
    late: list[ReviewItemOut]
    at_risk: list[ReviewItemOut]
    done: list[ReviewItemOut]
    on_track: list[ReviewItemOut]
    not_started: list[ReviewItemOut]
    dropped: list[ReviewItemOut]
    new: list[str] = Field(description="Codes of the commitments agreed since the last session")


class PublicInstrumentOut(Out):
    code: str
    kind: InstrumentKind
    title: str
    body: str = Field(description="The body's name")
    adopted_on: Day | None
    source: str
    text: str


class PublicMeasurementOut(Out):
    indicator: str
    params: str
    label: str
    unit: str
    baseline: float
    target: float
    target_on: Day | None
    measured: float | None
    measured_as_of: Day
    source: str
    progress: float | None = Field(description="Share of the way from baseline to target")


class PublicObjectiveOut(Out):
    instrument: str
    code: str
    title: str
    status: Status
    indicators: list[PublicMeasurementOut]


class PublicViewOut(Out):
    as_of: Moment
    instruments: list[PublicInstrumentOut]
    objectives: list[PublicObjectiveOut]
    activities: list[ActivitySummaryOut]


class PublishedOut(Out):
    kind: str
    code: str
    public: bool
