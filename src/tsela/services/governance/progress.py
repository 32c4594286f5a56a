"""Progress: one update by a body member, or the notes of a session applied in one go
(all lines checked before any is written).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tsela.domain.governance import (
    CLOSED,
    GovernanceError,
    Status,
    check_transition,
    local_today,
    parse_status,
)
from tsela.kernel.actor import Actor
from tsela.services.governance.access import AccessDenied, record_change, require_updater
from tsela.services.governance.activities import activity_by_code
from tsela.store.governance import Activity, Evidence, Meeting, ProgressNote


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
