"""Use cases of the governance tracker: bodies and sessions, progress updates, the review
before a session, session notes applied in one go, and the public view.

Who may do what (checked here, so the API and the command line agree):
- the secretariat (role ``secretariat``; the command line acts as the secretariat) edits
  everything: plans, dates, owners, what is public, who speaks for which body;
- a user bound to a body (``gov_body_member``) reads the tracker and reports progress
  (status, notes, evidence) on activities owned by that body or a body under it;
- anyone else sees only the public view: what the secretariat marked public.

Every change writes an audit event in the same transaction as the change.
"""

from __future__ import annotations

import csv
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from importlib import resources
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from tsela.domain.governance import (
    CLOSED,
    BodyKind,
    GovernanceError,
    Review,
    ReviewEntry,
    Status,
    build_review,
    check_acyclic,
    check_dates,
    check_transition,
    effective_status,
    local_today,
    parse_choice,
    parse_status,
    progress_towards,
    rollup,
    zone,
)
from tsela.services import audit, indicators
from tsela.store.governance import (
    Activity,
    ActivityDependency,
    Body,
    BodyMember,
    Evidence,
    IndicatorTarget,
    Instrument,
    Meeting,
    Objective,
    ProgressNote,
)
from tsela.store.models import Role, User

BODIES_FILE = "governance/bodies.csv"


class NotFound(GovernanceError):
    """A code that names nothing (the message lists what exists where that helps)."""


class AccessDenied(PermissionError):
    pass


@dataclass(frozen=True)
class Actor:
    """Who is acting, as the tracker's rules see them."""

    username: str
    secretariat: bool
    body_ids: frozenset[uuid.UUID] = frozenset()  # bodies they speak for, with those under
    source: str = ""  # where the request came from, for the audit log

    @property
    def reads(self) -> bool:
        return self.secretariat or bool(self.body_ids)

    def may_update(self, activity: Activity) -> bool:
        """Report progress on it: the secretariat, or a member of its owner (or above it)."""
        return self.secretariat or activity.owner_id in self.body_ids


def operator(username: str) -> Actor:
    """The command line runs on the server, by the secretariat."""
    return Actor(username=username, secretariat=True)


def actor_for(session: Session, user: User, source: str = "") -> Actor:
    member = session.get(BodyMember, user.id)
    ids: frozenset[uuid.UUID] = frozenset()
    if member is not None:
        ids = frozenset(descendants(session, member.body_id))
    return Actor(
        user.username, secretariat=user.role is Role.SECRETARIAT, body_ids=ids, source=source
    )


def require_secretariat(actor: Actor, doing: str) -> None:
    if not actor.secretariat:
        raise AccessDenied(f"only the secretariat may {doing}")


def require_reader(actor: Actor) -> None:
    if not actor.reads:
        raise AccessDenied(
            "you are not a member of any governance body; ask the secretariat to add you "
            "(the public view is open to all)"
        )


def require_updater(actor: Actor, activity: Activity) -> None:
    if actor.may_update(activity):
        return
    raise AccessDenied(
        f"activity {activity.code} belongs to {activity.owner.code}; "
        "only its owner or the secretariat may update it"
    )


def record_change(
    session: Session,
    actor: Actor,
    node: str,
    action: str,
    entity: str,
    entity_id: object,
    detail: dict[str, Any],
) -> None:
    audit.record(
        session,
        actor=actor.username,
        action=f"governance.{action}",
        node=node,
        entity=entity,
        entity_id=entity_id,
        detail=detail,
        source=actor.source,
    )


# --- Bodies, members, meetings -----------------------------------------------------------


def bodies(session: Session) -> list[Body]:
    return list(session.scalars(select(Body).order_by(Body.code)))


def body_by_code(session: Session, code: str) -> Body:
    found = session.scalar(select(Body).where(Body.code == code.strip().upper()))
    if found is None:
        known = ", ".join(b.code for b in bodies(session)) or "none yet"
        raise NotFound(f"unknown body {code!r}: known bodies are {known}")
    return found


def descendants(session: Session, body_id: uuid.UUID) -> set[uuid.UUID]:
    """The body and every body under it (committees of a commission, units of a ministry)."""
    children: dict[uuid.UUID | None, list[uuid.UUID]] = {}
    for bid, parent in session.execute(select(Body.id, Body.parent_id)):
        children.setdefault(parent, []).append(bid)
    found, stack = set(), [body_id]
    while stack:
        current = stack.pop()
        if current not in found:
            found.add(current)
            stack.extend(children.get(current, []))
    return found


@dataclass(frozen=True)
class BodyInput:
    code: str
    name: str
    kind: str
    country: str = ""
    timezone: str = "Africa/Maseru"
    parent: str = ""


def add_body(session: Session, actor: Actor, node: str, data: BodyInput) -> Body:
    require_secretariat(actor, "add bodies")
    code = data.code.strip().upper()
    if not code or len(code) > 24:
        raise GovernanceError(f"body code {data.code!r} must be 1 to 24 characters")
    if not data.name.strip():
        raise GovernanceError(f"body {code}: a name is required")
    if session.scalar(select(Body.id).where(Body.code == code)):
        raise GovernanceError(f"body {code} already exists")
    zone(data.timezone)
    body = Body(
        node=node,
        code=code,
        name=data.name.strip(),
        kind=parse_choice(BodyKind, data.kind, "body kind"),
        country=data.country.strip().upper(),
        timezone=data.timezone,
        parent_id=body_by_code(session, data.parent).id if data.parent.strip() else None,
    )
    session.add(body)
    session.flush()
    record_change(session, actor, node, "body.add", "gov_body", body.id, {"code": code})
    return body


def reference_bodies() -> list[BodyInput]:
    """The bodies shipped as reference data (commission, committee, ministries, agencies)."""
    text = resources.files("tsela.reference").joinpath(BODIES_FILE).read_text("utf-8")
    return [BodyInput(**row) for row in csv.DictReader(text.splitlines())]


def load_bodies(
    session: Session, actor: Actor, node: str, rows: Iterable[BodyInput] | None = None
) -> int:
    """Add the bodies that are missing (parents before children); returns how many."""
    require_secretariat(actor, "add bodies")
    have = {b.code for b in bodies(session)}
    added = 0
    for row in rows if rows is not None else reference_bodies():
        if row.code.strip().upper() not in have:
            add_body(session, actor, node, row)
            have.add(row.code.strip().upper())
            added += 1
    return added


def bind_member(
    session: Session, actor: Actor, node: str, username: str, body_code: str | None
) -> BodyMember | None:
    """Make a user speak for a body (or for none, with ``body_code=None``)."""
    require_secretariat(actor, "say who speaks for a body")
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        raise NotFound(f"unknown user {username!r}")
    current = session.get(BodyMember, user.id)
    body = body_by_code(session, body_code) if body_code else None
    if current is not None:
        session.delete(current)
        session.flush()
    member = None
    if body is not None:
        member = BodyMember(user_id=user.id, body_id=body.id, node=node)
        session.add(member)
    record_change(
        session,
        actor,
        node,
        "member.bind",
        "app_user",
        user.id,
        {"username": user.username, "body": body.code if body else None},
    )
    session.flush()
    return member


def add_meeting(
    session: Session,
    actor: Actor,
    node: str,
    body_code: str,
    held_on: date,
    place: str = "",
    title: str = "",
) -> Meeting:
    require_secretariat(actor, "record sessions")
    body = body_by_code(session, body_code)
    if session.scalar(
        select(Meeting.id).where(Meeting.body_id == body.id, Meeting.held_on == held_on)
    ):
        raise GovernanceError(f"{body.code} already has a session on {held_on.isoformat()}")
    meeting = Meeting(node=node, body_id=body.id, held_on=held_on, place=place, title=title)
    session.add(meeting)
    session.flush()
    record_change(
        session,
        actor,
        node,
        "meeting.add",
        "gov_meeting",
        meeting.id,
        {"body": body.code, "held_on": held_on.isoformat(), "place": place},
    )
    return meeting


def meeting_on(session: Session, body_code: str, held_on: date) -> Meeting:
    body = body_by_code(session, body_code)
    found = session.scalar(
        select(Meeting).where(Meeting.body_id == body.id, Meeting.held_on == held_on)
    )
    if found is None:
        raise NotFound(
            f"{body.code} has no session on {held_on.isoformat()}: record it first "
            f"(tsela governance meeting --body {body.code} --date {held_on.isoformat()})"
        )
    return found


def last_session(session: Session, body: Body, now: datetime) -> Meeting | None:
    """The body's most recent session before today (its local today)."""
    today = local_today(now, body.timezone)
    return session.scalar(
        select(Meeting)
        .where(Meeting.body_id == body.id, Meeting.held_on < today)
        .order_by(Meeting.held_on.desc())
        .limit(1)
    )


# --- Activities ----------------------------------------------------------------------------


def activity_by_code(session: Session, code: str) -> Activity:
    found = session.scalar(select(Activity).where(Activity.code == code.strip()))
    if found is None:
        raise NotFound(f"unknown activity {code!r}")
    return found


def dependency_graph(session: Session) -> dict[uuid.UUID, set[uuid.UUID]]:
    graph: dict[uuid.UUID, set[uuid.UUID]] = {}
    for a, b in session.execute(
        select(ActivityDependency.activity_id, ActivityDependency.depends_on_id)
    ):
        graph.setdefault(a, set()).add(b)
    return graph


def code_label(session: Session) -> dict[uuid.UUID, str]:
    return {id_: code for id_, code in session.execute(select(Activity.id, Activity.code))}


@dataclass
class ActivityChanges:
    """What the secretariat may change about a planned activity (None = unchanged)."""

    title: str | None = None
    owner: str | None = None
    start_date: date | None = None
    due_date: date | None = None
    depends_on: list[str] | None = None
    public: bool | None = None


def edit_activity(
    session: Session,
    actor: Actor,
    node: str,
    code: str,
    changes: ActivityChanges,
    note: str,
    now: datetime,
) -> Activity:
    """Re-plan an activity. Moving its dates needs a note: slippage is explained on record."""
    require_secretariat(actor, "change a plan")
    activity = activity_by_code(session, code)
    where = f"activity {activity.code}"
    before = _snapshot(activity)
    start = changes.start_date or activity.start_date
    due = changes.due_date or activity.due_date
    check_dates(start, due, where)
    moved = (start, due) != (activity.start_date, activity.due_date)
    if moved and not note.strip():
        raise GovernanceError(f"{where}: moving its dates needs a note saying why")
    if changes.title is not None:
        if not changes.title.strip():
            raise GovernanceError(f"{where}: the title cannot be empty")
        activity.title = changes.title.strip()
    if changes.owner is not None:
        activity.owner = body_by_code(session, changes.owner)
    activity.start_date, activity.due_date = start, due
    if changes.public is not None:
        activity.public = changes.public
    if changes.depends_on is not None:
        _set_dependencies(session, activity, changes.depends_on)
    activity.updated_at = now
    if note.strip():
        session.add(
            ProgressNote(
                node=node, activity=activity, written_at=now, author=actor.username, text=note
            )
        )
    session.flush()
    after = _snapshot(activity)
    changed = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
    record_change(
        session,
        actor,
        node,
        "activity.edit",
        "gov_activity",
        activity.id,
        {"code": activity.code, "changed": changed, "note": note},
    )
    return activity


def _snapshot(activity: Activity) -> dict[str, Any]:
    return {
        "title": activity.title,
        "owner": activity.owner.code,
        "start_date": activity.start_date.isoformat(),
        "due_date": activity.due_date.isoformat(),
        "public": activity.public,
        "depends_on": sorted(depends_on_codes(activity)),
    }


def depends_on_codes(activity: Activity) -> list[str]:
    session = Session.object_session(activity)
    if session is None:
        return []
    return list(
        session.scalars(
            select(Activity.code)
            .join(ActivityDependency, ActivityDependency.depends_on_id == Activity.id)
            .where(ActivityDependency.activity_id == activity.id)
        )
    )


def _set_dependencies(session: Session, activity: Activity, codes: Sequence[str]) -> None:
    targets = [activity_by_code(session, c) for c in dict.fromkeys(c.strip() for c in codes if c)]
    if any(t.id == activity.id for t in targets):
        raise GovernanceError(f"activity {activity.code} cannot depend on itself")
    graph = dependency_graph(session)
    graph[activity.id] = {t.id for t in targets}
    labels = code_label(session)
    check_acyclic(graph, lambda i: labels.get(i, str(i)), start=activity.id)
    for dep in session.scalars(
        select(ActivityDependency).where(ActivityDependency.activity_id == activity.id)
    ):
        session.delete(dep)
    session.flush()
    for t in targets:
        session.add(ActivityDependency(activity_id=activity.id, depends_on_id=t.id))


@dataclass(frozen=True)
class EvidenceInput:
    location: str
    description: str = ""

    @property
    def kind(self) -> str:
        return "link" if "://" in self.location else "attachment"


@dataclass(frozen=True)
class ProgressUpdate:
    """A report on one activity: maybe a new status, a note, evidence."""

    code: str
    status: Status | None = None
    note: str = ""
    evidence: tuple[EvidenceInput, ...] = ()


def check_update(session: Session, actor: Actor, update: ProgressUpdate) -> Activity:
    """Everything that can be refused about an update, refused before anything is written."""
    activity = activity_by_code(session, update.code)
    require_updater(actor, activity)
    where = f"activity {activity.code}"
    new = update.status or activity.status
    check_transition(activity.status, new, update.note, where)
    if new == activity.status and not update.note.strip() and not update.evidence:
        raise GovernanceError(f"{where}: nothing to record (no new status, note or evidence)")
    for ev in update.evidence:
        if not ev.location.strip():
            raise GovernanceError(f"{where}: evidence needs a link or a file path")
    return activity


def report_progress(
    session: Session,
    actor: Actor,
    node: str,
    update: ProgressUpdate,
    now: datetime,
    meeting: Meeting | None = None,
) -> Activity:
    activity = check_update(session, actor, update)
    _apply(session, actor, node, activity, update, now, meeting)
    return activity


def _apply(
    session: Session,
    actor: Actor,
    node: str,
    activity: Activity,
    update: ProgressUpdate,
    now: datetime,
    meeting: Meeting | None,
) -> None:
    old = activity.status
    new = update.status or old
    if new != old:
        activity.status = new
        # A session's notes date the closure to the session; otherwise to the owner's today.
        closed = meeting.held_on if meeting else local_today(now, activity.owner.timezone)
        activity.closed_on = closed if new in CLOSED else None
    if meeting is not None:
        activity.last_reviewed_meeting_id = meeting.id
    activity.updated_at = now
    session.add(
        ProgressNote(
            node=node,
            activity_id=activity.id,
            written_at=now,
            author=actor.username,
            text=update.note.strip(),
            status_from=old if new != old else None,
            status_to=new if new != old else None,
            meeting_id=meeting.id if meeting else None,
        )
    )
    for ev in update.evidence:
        session.add(
            Evidence(
                node=node,
                activity_id=activity.id,
                kind=ev.kind,
                location=ev.location.strip(),
                description=ev.description.strip(),
                added_by=actor.username,
            )
        )
    session.flush()
    record_change(
        session,
        actor,
        node,
        "activity.progress",
        "gov_activity",
        activity.id,
        {
            "code": activity.code,
            "status": [old.value, new.value] if new != old else None,
            "note": update.note.strip(),
            "evidence": [ev.location for ev in update.evidence],
            "meeting": meeting.held_on.isoformat() if meeting else None,
        },
    )


@dataclass(frozen=True)
class LineError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class LineErrors(GovernanceError):
    """Some lines of a file are wrong; each error names its line."""

    def __init__(self, what: str, errors: Sequence[LineError]) -> None:
        self.errors = list(errors)
        lines = "\n".join(f"  {e}" for e in self.errors)
        super().__init__(f"{what}: {len(self.errors)} bad line(s), nothing saved\n{lines}")


NOTE_COLUMNS = ("activity", "status", "note", "evidence", "evidence_description")


def parse_note_rows(rows: Iterable[tuple[int, Mapping[str, str]]]) -> list[tuple[int, Any]]:
    """Session-note rows -> (line, ProgressUpdate or LineError)."""
    out: list[tuple[int, Any]] = []
    for line, row in rows:
        code = (row.get("activity") or "").strip()
        if not code:
            out.append((line, LineError(line, "the activity code is missing")))
            continue
        raw_status = (row.get("status") or "").strip()
        try:
            status = parse_status(raw_status) if raw_status else None
        except GovernanceError as exc:
            out.append((line, LineError(line, str(exc))))
            continue
        evidence = (row.get("evidence") or "").strip()
        out.append(
            (
                line,
                ProgressUpdate(
                    code=code,
                    status=status,
                    note=(row.get("note") or "").strip(),
                    evidence=(
                        (EvidenceInput(evidence, (row.get("evidence_description") or "")),)
                        if evidence
                        else ()
                    ),
                ),
            )
        )
    return out


def apply_session_notes(
    session: Session,
    actor: Actor,
    node: str,
    rows: Iterable[tuple[int, Mapping[str, str]]],
    now: datetime,
    meeting: Meeting | None = None,
) -> list[Activity]:
    """Apply notes taken at a session: all of them, or (on any bad line) none.

    Every line is checked first, so the error lists every bad line at once.
    """
    parsed = parse_note_rows(rows)
    if not parsed:
        raise GovernanceError("the notes file has no rows")
    errors: list[LineError] = [p for _, p in parsed if isinstance(p, LineError)]
    seen: dict[str, int] = {}
    checked: list[tuple[Activity, ProgressUpdate]] = []
    for line, update in parsed:
        if isinstance(update, LineError):
            continue
        if update.code in seen:
            errors.append(
                LineError(
                    line, f"activity {update.code} is already updated on line {seen[update.code]}"
                )
            )
            continue
        seen[update.code] = line
        try:
            checked.append((check_update(session, actor, update), update))
        except (GovernanceError, AccessDenied) as exc:
            errors.append(LineError(line, str(exc)))
    if errors:
        raise LineErrors("session notes", sorted(errors, key=lambda e: e.line))
    for activity, update in checked:
        _apply(session, actor, node, activity, update, now, meeting)
    return [a for a, _ in checked]


def set_public(
    session: Session, actor: Actor, node: str, what: str, code: str, public: bool
) -> None:
    """Mark an instrument, objective (``INSTRUMENT/OBJECTIVE``) or activity public or not."""
    require_secretariat(actor, "decide what is public")
    target: Instrument | Objective | Activity
    if what == "instrument":
        found_i = session.scalar(select(Instrument).where(Instrument.code == code))
        if found_i is None:
            raise NotFound(f"unknown instrument {code!r}")
        target = found_i
    elif what == "objective":
        inst, _, obj = code.partition("/")
        found_o = session.scalar(
            select(Objective).join(Instrument).where(Instrument.code == inst, Objective.code == obj)
        )
        if found_o is None:
            raise NotFound(f"unknown objective {code!r} (write INSTRUMENT/OBJECTIVE)")
        target = found_o
    elif what == "activity":
        target = activity_by_code(session, code)
    else:
        raise GovernanceError(f"cannot publish a {what!r}: instrument, objective or activity")
    target.public = public
    session.flush()
    record_change(
        session,
        actor,
        node,
        "publish" if public else "unpublish",
        f"gov_{what}",
        target.id,
        {"code": code},
    )


# --- Reading: lists, review, indicators, public view ---------------------------------------


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
