"""Reading permits: one permit, its history, filtered lists, and those lists as CSV and
counts by reminder band.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from tsela.domain import permits as dom
from tsela.kernel.access import Permission
from tsela.kernel.actor import Actor
from tsela.kernel.clock import border_day
from tsela.services import audit
from tsela.services.permits.common import (
    Forbidden,
    PermitError,
    PermitView,
    S,
    check_scope,
    load_permit,
    view_of,
    view_query,
)
from tsela.store.models import Permit, Person, Role
from tsela.store.permits import PermitEvent


def view(session: Session, actor: Actor, ref: uuid.UUID | str, today: date) -> PermitView:
    permit = load_permit(session, ref)
    check_scope(actor, permit)
    row = session.execute(view_query().where(Permit.id == permit.id)).one()
    audit.record(
        session,
        actor=actor.username,
        action="permit.read",
        node=actor.node,
        entity="permit",
        entity_id=permit.id,
    )
    return view_of(*row, today)


def history(session: Session, actor: Actor, ref: uuid.UUID | str) -> list[PermitEvent]:
    permit = load_permit(session, ref)
    check_scope(actor, permit)
    return list(
        session.scalars(
            select(PermitEvent)
            .where(PermitEvent.permit_id == permit.id)
            .order_by(PermitEvent.id)  # UUIDv7: the order they were written
        )
    )


def list_permits(
    session: Session,
    actor: Actor,
    today: date,
    *,
    employer_id: uuid.UUID | None = None,
    type_code: str | None = None,
    status: str | None = None,
    expiring_within: int | None = None,
) -> list[PermitView]:
    """Permits the actor may see, filtered; ``expiring_within`` N days keeps issued permits
    whose last day is within N days (the 30/60/90-day reminder lists), soonest first."""
    q = view_query()
    if actor.role is Role.EMPLOYER:
        if actor.employer_id is None or (employer_id and employer_id != actor.employer_id):
            raise Forbidden(f"{actor.username} may list only their own employer's permits")
        employer_id = actor.employer_id
    elif actor.role is Role.WORKER:
        if actor.person_id is None:
            raise Forbidden(f"{actor.username} is not linked to a person")
        q = q.where(Permit.person_id == actor.person_id)
    elif not actor.may(Permission.PERMIT_DECIDE):
        raise Forbidden(f"a {actor.role.value} may not list permits")
    if employer_id:
        q = q.where(Permit.employer_id == employer_id)
    if type_code:
        q = q.where(Permit.permit_type == dom.permit_type(type_code).code)
    if status:
        q = q.where(Permit.status == dom.parse_status(status).value)
    if expiring_within is not None:
        if expiring_within < 0:
            raise PermitError(f"expiring within {expiring_within} days: must be 0 or more")
        q = q.where(
            Permit.status.in_([S.ISSUED, S.SUSPENDED]),
            Permit.valid_to >= today,
            Permit.valid_to <= today + timedelta(days=expiring_within),
        )
    rows = session.execute(q.order_by(Permit.valid_to, Permit.number)).all()
    audit.record(
        session,
        actor=actor.username,
        action="permit.list",
        node=actor.node,
        entity="permit",
        detail={
            "employer_id": str(employer_id) if employer_id else None,
            "type": type_code,
            "status": status,
            "expiring_within": expiring_within,
            "count": len(rows),
        },
    )
    return [view_of(*r, today) for r in rows]


CSV_COLUMNS = (
    "number",
    "holder",
    "permit_type",
    "type_name",
    "employer",
    "country",
    "status",
    "valid_from",
    "valid_to",
    "days_left",
    "band",
)


def to_csv(views: Iterable[PermitView]) -> str:
    """Spreadsheet-safe CSV (cells starting with = + - @ are quoted as text)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for v in views:
        band = next(
            (b for b in dom.REMINDER_BANDS if v.days_left is not None and 0 <= v.days_left <= b), ""
        )
        cells = [
            v.number,
            v.holder,
            v.permit_type,
            v.type_name,
            v.employer or "",
            v.country,
            v.effective_status.value,
            v.valid_from.isoformat() if v.valid_from else "",
            v.valid_to.isoformat() if v.valid_to else "",
            "" if v.days_left is None else v.days_left,
            band,
        ]
        w.writerow([_csv_safe(c) for c in cells])
    return buf.getvalue()


def _csv_safe(cell: object) -> object:
    if isinstance(cell, str) and cell[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + cell
    return cell


def expiring_summary(views: Iterable[PermitView], by: str) -> dict[str, dict[int, int]]:
    """Counts of expiring permits in the 30/60/90-day bands, by 'employer' or 'type'."""
    out: dict[str, dict[int, int]] = {}
    for v in views:
        if v.days_left is None or v.days_left < 0:
            continue
        band = next((b for b in dom.REMINDER_BANDS if v.days_left <= b), None)
        if band is None:
            continue
        key = (v.employer or "(no employer)") if by == "employer" else v.permit_type
        counts = out.setdefault(key, dict.fromkeys(dom.REMINDER_BANDS, 0))
        counts[band] += 1
    return out


# --- the permit desk: search with paging, the queue with its age -------------------------

PAGE_SIZE = 25


@dataclass(frozen=True)
class PermitPage:
    """One page of a search: ``items`` on page ``page`` (from 1) of ``total`` matches."""

    items: list[PermitView]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_permits(
    session: Session,
    actor: Actor,
    today: date,
    *,
    text: str = "",
    status: str | None = None,
    page: int = 1,
    per_page: int = PAGE_SIZE,
) -> PermitPage:
    """Permits and applications for the permit office, by number or holder name (any part,
    any case) and status, newest first, one page at a time (the search is audited)."""
    if not actor.may(Permission.PERMIT_DECIDE):
        raise Forbidden(f"a {actor.role.value} may not search permits")
    if page < 1 or not 1 <= per_page <= 200:
        raise PermitError(
            f"page {page} of {per_page}: pages count from 1, 1 to 200 a page", "permit.page"
        )
    where = []
    words = " ".join(text.split())[:80]
    if words:
        pattern = _like(words)
        name = func.lower(Person.primary_name + " " + Person.given_names)
        where.append(
            or_(
                func.lower(Permit.number).like(pattern, escape="\\"),
                name.like(pattern, escape="\\"),
                func.lower(Person.given_names + " " + Person.primary_name).like(
                    pattern, escape="\\"
                ),
            )
        )
    if status:
        where.append(Permit.status == dom.parse_status(status).value)
    total = (
        session.scalar(
            select(func.count())
            .select_from(Permit)
            .join(Person, Person.id == Permit.person_id)
            .where(*where)
        )
        or 0
    )
    rows = session.execute(
        view_query()
        .where(*where)
        .order_by(Permit.created_at.desc(), Permit.number)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    audit.record(
        session,
        actor=actor.username,
        action="permit.search",
        node=actor.node,
        entity="permit",
        detail={"text": words, "status": status, "page": page, "count": total},
    )
    return PermitPage([view_of(*r, today) for r in rows], total, page, per_page)


@dataclass(frozen=True)
class Waiting:
    """An application in the desk's queue: since when it waits in its status, and how long."""

    permit: PermitView
    since: date
    age_days: int


def waiting(session: Session, actor: Actor, today: date, status: str) -> list[Waiting]:
    """Applications in ``status``, the longest waiting first (since the move into it)."""
    if not actor.may(Permission.PERMIT_DECIDE):
        raise Forbidden(f"a {actor.role.value} may not read the permit queue")
    st = dom.parse_status(status)
    entered = (
        select(PermitEvent.permit_id, func.max(PermitEvent.at).label("at"))
        .where(PermitEvent.to_status == st.value)
        .group_by(PermitEvent.permit_id)
        .subquery()
    )
    rows = session.execute(
        view_query()
        .add_columns(entered.c.at)
        .outerjoin(entered, entered.c.permit_id == Permit.id)
        .where(Permit.status == st.value)
        .order_by(func.coalesce(entered.c.at, Permit.created_at), Permit.number)
    ).all()
    audit.record(
        session,
        actor=actor.username,
        action="permit.list",
        node=actor.node,
        entity="permit",
        detail={"status": st.value, "queue": True, "count": len(rows)},
    )
    out = []
    for permit, person, employer, at in rows:
        since = border_day(at or permit.created_at)
        out.append(Waiting(view_of(permit, person, employer, today), since, (today - since).days))
    return out
