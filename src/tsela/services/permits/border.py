"""What the border check needs to know of a person's permits: the valid ones and the
findings an officer should see.
"""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import Session

from tsela.domain import permits as dom
from tsela.kernel.clock import border_day
from tsela.services.permits.common import PermitView, S, view_of, view_query
from tsela.store.models import Permit
from tsela.store.permits import Employment, PermitEvent


def valid_permits_for(session: Session, person_id: uuid.UUID, on: date) -> list[PermitView]:
    """The permits a person holds that are valid on ``on`` (as the border check sees them)."""
    rows = session.execute(_AT_BORDER, {"person_id": person_id}).all()
    return [view_of(*r, on) for r in rows if _valid_on(r[0], on)]


def _valid_on(permit: Permit, on: date) -> bool:
    """The one statement of when a permit lets its holder through."""
    return (
        permit.status == S.ISSUED.value
        and permit.valid_from is not None
        and permit.valid_to is not None
        and permit.valid_from <= on <= permit.valid_to
    )


def stay_override(
    session: Session, person_id: uuid.UUID, country: str, on: date
) -> PermitView | None:
    """A valid permit that lifts the visitor stay limit in ``country`` on ``on``, if any."""
    for p in valid_permits_for(session, person_id, on):
        if p.country == country and p.overrides_stay_limit:
            return p
    return None


def permit_findings(session: Session, person_id: uuid.UUID, on: date) -> list[str]:
    """Plain-language reasons about a person's permits that a border officer should see."""
    return permits_at_border(session, person_id, on)[1]


# Built once: every border check runs it.
_AT_BORDER = (
    view_query()
    .where(
        Permit.person_id == bindparam("person_id"),
        # Not IN (...): a list parameter is expanded into the SQL on every execution.
        or_(*(Permit.status == s for s in (S.ISSUED, S.SUSPENDED, S.REVOKED, S.EXPIRED))),
    )
    .order_by(Permit.valid_to.desc())
)


def permits_at_border(
    session: Session, person_id: uuid.UUID, on: date
) -> tuple[list[PermitView], list[str]]:
    """What the border check needs in one query: the permits valid on ``on`` (as
    ``valid_permits_for``) and the findings an officer should see (as ``permit_findings``)."""
    rows = session.execute(_AT_BORDER, {"person_id": person_id}).all()
    valid: list[PermitView] = []
    out: list[str] = []
    for permit, person, employer in rows:
        v = view_of(permit, person, employer, on)
        if _valid_on(permit, on):
            valid.append(v)
        label = f"{v.type_name} {v.number}"
        if v.effective_status is S.EXPIRED and v.valid_to:
            out.append(f"{label} expired on {v.valid_to.isoformat()}")
        elif v.effective_status in (S.REVOKED, S.SUSPENDED):
            last = session.scalars(
                select(PermitEvent)
                .where(PermitEvent.permit_id == permit.id, PermitEvent.to_status == permit.status)
                .order_by(PermitEvent.at.desc())
            ).first()
            when = f" on {border_day(last.at).isoformat()}" if last else ""
            why = f": {last.reason}" if last and last.reason else ""
            out.append(f"{label} was {v.effective_status.value}{when}{why}")
        elif v.effective_status is S.ISSUED and v.valid_from and on < v.valid_from:
            out.append(f"{label} is valid only from {v.valid_from.isoformat()}")
        elif v.effective_status is S.ISSUED and v.employer and "work" in v.rights:
            ptype = dom.permit_type(v.permit_type)
            if ptype.employer_required:
                ended = session.scalars(
                    select(Employment).where(
                        Employment.permit_id == permit.id, Employment.end_date.is_not(None)
                    )
                ).first()
                if ended is not None and ended.end_date and ended.end_date <= on:
                    out.append(
                        f"{label}: employment with {v.employer} ended on "
                        f"{ended.end_date.isoformat()} ({ended.end_reason})"
                    )
    return valid, out
