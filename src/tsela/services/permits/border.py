"""What the border check needs to know of a person's permits: the valid ones and, as
reasons from the catalogue, the findings an officer should see.
"""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import Session

from tsela.domain import permits as dom
from tsela.domain.reasons import Reason, reason
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
    """Plain-language reasons about a person's permits that a border officer should see
    (the English words of ``permits_at_border``'s reasons, as phrases)."""
    return [r.message.removesuffix(".") for r in permits_at_border(session, person_id, on)[1]]


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
) -> tuple[list[PermitView], list[Reason]]:
    """What the border check needs in one query: the permits valid on ``on`` (as
    ``valid_permits_for``) and what an officer should know about the others, as reasons
    (``permit.problem``, one case each: expired, revoked, suspended, not yet valid,
    employment ended; their severity and words are the catalogue's)."""
    rows = session.execute(_AT_BORDER, {"person_id": person_id}).all()
    valid: list[PermitView] = []
    out: list[Reason] = []
    for permit, person, employer in rows:
        v = view_of(permit, person, employer, on)
        if _valid_on(permit, on):
            valid.append(v)
        label = f"{v.type_name} {v.number}"
        if v.effective_status is S.EXPIRED and v.valid_to:
            out.append(reason("permit.problem", "expired", permit=label, day=v.valid_to))
        elif v.effective_status in (S.REVOKED, S.SUSPENDED):
            last = session.scalars(
                select(PermitEvent)
                .where(PermitEvent.permit_id == permit.id, PermitEvent.to_status == permit.status)
                .order_by(PermitEvent.at.desc())
            ).first()
            out.append(
                reason(
                    "permit.problem",
                    v.effective_status.value,
                    permit=label,
                    day=border_day(last.at).isoformat() if last else None,
                    why=last.reason if last else None,
                )
            )
        elif v.effective_status is S.ISSUED and v.valid_from and on < v.valid_from:
            out.append(reason("permit.problem", "not_yet_valid", permit=label, day=v.valid_from))
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
                        reason(
                            "permit.problem",
                            "employment_ended",
                            permit=label,
                            employer=v.employer,
                            day=ended.end_date,
                            why=ended.end_reason,
                        )
                    )
    return valid, out
