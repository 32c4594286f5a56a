"""Activities: finding them, their dependencies, the secretariat's edits, and what is
public.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tsela.domain.governance import GovernanceError, check_acyclic, check_dates
from tsela.kernel.actor import Actor
from tsela.services.governance.access import NotFound, record_change, require_secretariat
from tsela.services.governance.bodies import body_by_code
from tsela.store.governance import Activity, ActivityDependency, Instrument, Objective, ProgressNote


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
