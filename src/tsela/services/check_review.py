"""The supervisor's review list (issue 21): REFER and DENY decisions, overrides and watchlist
hits, filtered by port, border day, decision and officer, a page at a time; and signing off
several at once with one note (each signed off as ``checks.review`` does, all or none).
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, aliased

from tsela.domain.values import Decision
from tsela.kernel import clock
from tsela.kernel.actor import Actor
from tsela.kernel.errors import Invalid
from tsela.reference import port as port_info
from tsela.services import checks
from tsela.store.checks import BorderCheck
from tsela.store.models import Person, PortOfEntry, User

PAGE_SIZE = 25
MAX_BULK = 100  # checks signed off in one go
SUMMARY_LIMIT = 10_000  # checks counted per port and day for the summary


@dataclass(frozen=True)
class Filters:
    port_code: str | None = None
    day: date | None = None
    decision: str | None = None  # "REFER" or "DENY"
    officer: str | None = None  # the username of the officer who ran the check
    pending_only: bool = True


@dataclass(frozen=True)
class Listing:
    items: list[dict[str, Any]]
    total: int
    page: int
    pages: int
    per_port_day: list[tuple[tuple[str, str], int]]  # ((port, border day), count)


_Officer = aliased(User)
_Overrider = aliased(User)


def _filtered(q: Select[Any], f: Filters) -> Select[Any]:
    q = q.where(BorderCheck.decision != Decision.CLEAR)
    if f.port_code:
        q = q.where(PortOfEntry.code == port_info(f.port_code).code)
    if f.day:
        q = q.where(
            BorderCheck.checked_at >= clock.day_start(f.day),
            BorderCheck.checked_at < clock.day_end(f.day),
        )
    if f.decision:
        try:
            q = q.where(BorderCheck.decision == Decision(f.decision))
        except ValueError:
            raise Invalid(
                "review.decision", "decision %(decision)r is not REFER or DENY", decision=f.decision
            ) from None
    if f.officer:
        q = q.where(_Officer.username == f.officer)
    if f.pending_only:
        q = q.where(BorderCheck.reviewed_at.is_(None))
    return q


def _base(*columns: Any) -> Select[Any]:
    return (
        select(*columns)
        .select_from(BorderCheck)
        .join(PortOfEntry, PortOfEntry.id == BorderCheck.port_id)
        .join(Person, Person.id == BorderCheck.person_id)
        .outerjoin(_Officer, _Officer.id == BorderCheck.officer_id)
        .outerjoin(_Overrider, _Overrider.id == BorderCheck.overridden_by)
    )


def listing(session: Session, f: Filters, *, page: int = 1) -> Listing:
    """The checks to review under ``f``, newest first, ``PAGE_SIZE`` a page."""
    total = session.scalar(_filtered(_base(func.count()), f)) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(page, 1), pages)
    rows = session.execute(
        _filtered(
            _base(BorderCheck, PortOfEntry.code, Person, _Officer.username, _Overrider.username),
            f,
        )
        .order_by(BorderCheck.checked_at.desc(), BorderCheck.id)
        .offset((page - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE)
    ).all()
    items = [
        {
            "check_id": str(check.id),
            "port": code,
            "checked_at": check.checked_at.isoformat(),
            "direction": check.direction.value,
            "decision": check.decision.value,
            "traveller": f"{person.given_names} {person.primary_name}".strip(),
            "officer": officer,
            "reasons": list(check.reasons),
            "overridden": check.override_reason is not None,
            "override_reason": check.override_reason,
            "overridden_by": by,
            "watchlist": any(r["code"].startswith("watchlist.") for r in check.reasons),
            "reviewed": check.reviewed_at is not None,
        }
        for check, code, person, officer, by in rows
    ]
    moments = session.execute(
        _filtered(_base(PortOfEntry.code, BorderCheck.checked_at), f).limit(SUMMARY_LIMIT)
    ).all()
    counted = Counter((code, clock.border_day(at).isoformat()) for code, at in moments)
    return Listing(items, total, page, pages, sorted(counted.items()))


def officers(session: Session) -> list[str]:
    """The usernames of the officers whose checks there are to review (the filter's choices)."""
    return list(
        session.scalars(
            select(User.username)
            .where(
                User.id.in_(
                    select(BorderCheck.officer_id).where(BorderCheck.decision != Decision.CLEAR)
                )
            )
            .order_by(User.username)
        )
    )


def chosen(session: Session, check_ids: list[uuid.UUID]) -> list[dict[str, Any]]:
    """The checks picked for a sign-off in bulk, as the confirmation lists them."""
    rows = session.execute(
        _base(BorderCheck, PortOfEntry.code, Person, _Officer.username, _Overrider.username)
        .where(BorderCheck.id.in_(check_ids))
        .order_by(BorderCheck.checked_at.desc())
    ).all()
    return [
        {
            "check_id": str(check.id),
            "port": code,
            "checked_at": check.checked_at.isoformat(),
            "decision": check.decision.value,
            "traveller": f"{person.given_names} {person.primary_name}".strip(),
            "overridden": check.override_reason is not None,
            "reviewed": check.reviewed_at is not None,
        }
        for check, code, person, _officer, _by in rows
    ]


def review_many(
    session: Session,
    *,
    node: str,
    supervisor: Actor,
    check_ids: list[uuid.UUID],
    note: str,
    now: datetime,
) -> int:
    """Sign off every check of ``check_ids`` with ``note`` (each audited as one review); a
    refusal of one (already signed off, unknown) refuses them all."""
    unique = list(dict.fromkeys(check_ids))
    if not unique:
        raise Invalid("review.none_chosen", "choose the decisions to sign off")
    if len(unique) > MAX_BULK:
        raise Invalid("review.too_many", "sign off at most %(max)s decisions at once", max=MAX_BULK)
    for check_id in unique:
        checks.review(
            session, node=node, supervisor=supervisor, check_id=check_id, note=note, now=now
        )
    return len(unique)
