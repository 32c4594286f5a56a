"""Bodies, their members and their meetings (sessions)."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from importlib import resources

from sqlalchemy import select
from sqlalchemy.orm import Session

from tsela.domain.governance import BodyKind, GovernanceError, local_today, parse_choice, zone
from tsela.kernel.actor import Actor
from tsela.services.governance.access import NotFound, record_change, require_secretariat
from tsela.store.governance import Body, BodyMember, Meeting
from tsela.store.models import User

BODIES_FILE = "governance/bodies.csv"


def bodies(session: Session) -> list[Body]:
    return list(session.scalars(select(Body).order_by(Body.code)))


def body_by_code(session: Session, code: str) -> Body:
    found = session.scalar(select(Body).where(Body.code == code.strip().upper()))
    if found is None:
        known = ", ".join(b.code for b in bodies(session)) or "none yet"
        raise NotFound(f"unknown body {code!r}: known bodies are {known}")
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
