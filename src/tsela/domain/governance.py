"""Rules of the governance tracker: statuses, lateness, dependencies and the review listing.

Pure logic: no database, no clock. Callers pass ``now`` (a timezone-aware instant) and
the owning body's time zone, because a due date is a *local* calendar date of the body
that owns the activity: an activity due on 30 June is late from 00:00 on 1 July in
Maseru, which is 22:00 UTC on 30 June.

Notes are required (see ``check_transition``) when an activity moves to at risk, late,
done or dropped, and when a done or dropped activity is reopened: those are the changes
a commission will ask "why?" about, and the note is the answer on the record.
"""

from __future__ import annotations

import graphlib
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Protocol, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tsela.kernel import errors


class GovernanceError(errors.Invalid, ValueError):
    """Bad input to the tracker; the message says what is wrong and where."""

    default_code = "governance.invalid"

    def __init__(self, message: str, code: str | None = None, **values: Any) -> None:
        super().__init__(code or self.default_code, message, **values)


class DateOrderError(GovernanceError):
    pass


class DependencyCycleError(GovernanceError):
    def __init__(self, message: str, cycle: Sequence[object]) -> None:
        super().__init__(message)
        self.cycle = list(cycle)


class NoteRequiredError(GovernanceError):
    pass


class Status(StrEnum):
    NOT_STARTED = "not_started"
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    LATE = "late"
    DONE = "done"
    DROPPED = "dropped"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")


CLOSED = frozenset({Status.DONE, Status.DROPPED})
NOTE_REQUIRED_TO = frozenset({Status.AT_RISK, Status.LATE, Status.DONE, Status.DROPPED})


class InstrumentKind(StrEnum):
    AGREEMENT = "agreement"
    RESOLUTION = "resolution"
    TERMS_OF_REFERENCE = "terms_of_reference"
    STRATEGIC_PLAN = "strategic_plan"
    ACTIVITY_PLAN = "activity_plan"
    ADVOCACY_STRATEGY = "advocacy_strategy"
    ROAD_MAP = "road_map"


class BodyKind(StrEnum):
    COMMISSION = "commission"
    COMMITTEE = "committee"
    MINISTRY = "ministry"
    AGENCY = "agency"
    SECRETARIAT = "secretariat"
    OTHER = "other"


E = TypeVar("E", bound=StrEnum)


def parse_choice(enum: type[E], raw: str, what: str) -> E:
    """Accept ``On track``, ``on-track`` or ``on_track``; say the choices when it is none."""
    key = "_".join(raw.strip().lower().replace("-", " ").split())
    try:
        return enum(key)
    except ValueError:
        choices = ", ".join(m.value for m in enum)
        raise GovernanceError(f"unknown {what} {raw!r}: expected one of {choices}") from None


def parse_status(raw: str) -> Status:
    return parse_choice(Status, raw, "status")


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise GovernanceError(
            f"unknown time zone {name!r}: use an IANA name such as Africa/Maseru"
        ) from None


def local_today(now: datetime, tz: str | ZoneInfo) -> date:
    """The calendar date at ``now`` where the body sits."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise GovernanceError(f"naive time {now.isoformat()} given: pass a timezone-aware time")
    return now.astimezone(tz if isinstance(tz, ZoneInfo) else zone(tz)).date()


class Trackable(Protocol):
    """What lateness needs to know about an activity (store rows satisfy it)."""

    @property
    def due_date(self) -> date: ...

    @property
    def status(self) -> Status: ...


def is_late(activity: Trackable, now: datetime, tz: str | ZoneInfo) -> bool:
    """Past its due date (the whole local day has gone by) and neither done nor dropped."""
    return activity.status not in CLOSED and local_today(now, tz) > activity.due_date


def days_late(activity: Trackable, now: datetime, tz: str | ZoneInfo) -> int:
    if not is_late(activity, now, tz):
        return 0
    return (local_today(now, tz) - activity.due_date).days


def effective_status(activity: Trackable, now: datetime, tz: str | ZoneInfo) -> Status:
    """The status the calendar supports: an open activity past its due date is late,
    whatever was last reported for it."""
    if is_late(activity, now, tz):
        return Status.LATE
    return Status(activity.status)


def check_dates(start: date, due: date, where: str) -> None:
    if due < start:
        raise DateOrderError(
            f"{where}: due date {due.isoformat()} is before the start date {start.isoformat()}"
        )


def check_transition(current: Status, new: Status, note: str | None, where: str) -> None:
    """Refuse a status change that needs a note and has none (see the module docstring)."""
    if current == new or (note and note.strip()):
        return
    if new in NOTE_REQUIRED_TO:
        raise NoteRequiredError(
            f"{where}: moving from {current.label} to {new.label} needs a note saying why"
        )
    if current in CLOSED:
        raise NoteRequiredError(
            f"{where}: reopening a {current.label} activity (now {new.label}) needs a note"
        )


K = TypeVar("K", bound=Hashable)


def find_cycle(depends_on: Mapping[K, Iterable[K]]) -> list[K] | None:
    """A circular chain ``[a, b, ..., a]`` among the dependencies, or None."""
    sorter = graphlib.TopologicalSorter({k: list(v) for k, v in depends_on.items()})
    try:
        sorter.prepare()
    except graphlib.CycleError as exc:
        cycle: list[K] = list(exc.args[1])
        # graphlib lists the chain backwards (each node is a predecessor of the one before).
        return list(reversed(cycle))
    return None


def check_acyclic(
    depends_on: Mapping[K, Iterable[K]], label: Callable[[K], str] = str, start: K | None = None
) -> None:
    """Raise on a circular chain, told from ``start`` (the item being changed) if it is on it."""
    cycle = find_cycle(depends_on)
    if cycle is not None:
        if start in cycle:
            i = cycle.index(start)
            cycle = [*cycle[i:-1], *cycle[:i], start]
        chain = " -> ".join(label(k) for k in cycle)
        raise DependencyCycleError(f"circular dependency between activities: {chain}", cycle)


def progress_towards(baseline: float, target: float, measured: float | None) -> float | None:
    """Share of the way from baseline to target the measured value has come (may be < 0
    or > 1); works for targets that go down (e.g. clearance time) as well as up."""
    if measured is None or target == baseline:
        return None
    return (measured - baseline) / (target - baseline)


def rollup(statuses: Iterable[Status]) -> Status:
    """The status of an objective or output, from its activities' effective statuses:
    the worst open one wins; it is done only when everything is closed and one is done."""
    found = set(statuses)
    if not found:
        return Status.NOT_STARTED
    if found <= CLOSED:
        return Status.DONE if Status.DONE in found else Status.DROPPED
    for worst in (Status.LATE, Status.AT_RISK):
        if worst in found:
            return worst
    if found & {Status.ON_TRACK, Status.DONE}:
        return Status.ON_TRACK
    return Status.NOT_STARTED


# --- The review before a session -------------------------------------------------------


@dataclass(frozen=True)
class ReviewEntry:
    """One commitment as the review sees it."""

    code: str
    title: str
    objective: str
    owner: str
    start_date: date
    due_date: date
    status: Status
    tz: str
    closed_on: date | None = None  # when it became done or dropped
    introduced_on: date | None = None  # when it was agreed (or entered)
    last_note: str = ""


@dataclass(frozen=True)
class ReviewItem:
    entry: ReviewEntry
    effective: Status
    days_late: int
    new: bool


@dataclass
class Review:
    since: date | None
    as_of: datetime
    done: list[ReviewItem] = field(default_factory=list)
    late: list[ReviewItem] = field(default_factory=list)
    at_risk: list[ReviewItem] = field(default_factory=list)
    on_track: list[ReviewItem] = field(default_factory=list)
    not_started: list[ReviewItem] = field(default_factory=list)
    dropped: list[ReviewItem] = field(default_factory=list)
    new: list[ReviewItem] = field(default_factory=list)

    GROUPS = ("late", "at_risk", "done", "on_track", "not_started", "dropped")

    def groups(self) -> list[tuple[Status, list[ReviewItem]]]:
        return [(Status(g), getattr(self, g)) for g in self.GROUPS]

    def items(self) -> list[ReviewItem]:
        return [item for _, items in self.groups() for item in items]

    def counts(self) -> dict[str, int]:
        counts = {g: len(getattr(self, g)) for g in self.GROUPS}
        counts["new"] = len(self.new)
        return counts


def build_review(entries: Iterable[ReviewEntry], since: date | None, now: datetime) -> Review:
    """Every commitment still open after the last session (held on ``since``), grouped by
    what the calendar says about it.

    Items done or dropped on or before ``since`` were reported at that session and are
    left out; items agreed on or after it (adopted at it, or since) are new.
    ``since=None`` (no session yet) lists everything, all of it new.
    """
    review = Review(since=since, as_of=now)
    for entry in entries:
        closed_before = (
            entry.status in CLOSED
            and since is not None
            and entry.closed_on is not None
            and entry.closed_on <= since
        )
        if closed_before:
            continue
        new = since is None or (entry.introduced_on is not None and entry.introduced_on >= since)
        item = ReviewItem(
            entry=entry,
            effective=effective_status(entry, now, entry.tz),
            days_late=days_late(entry, now, entry.tz),
            new=new,
        )
        getattr(review, item.effective.value).append(item)
        if new:
            review.new.append(item)
    review.late.sort(key=lambda i: (-i.days_late, i.entry.code))
    for name in ("done", "at_risk", "on_track", "not_started", "dropped", "new"):
        getattr(review, name).sort(key=lambda i: (i.entry.due_date, i.entry.code))
    return review
