"""After issue: renewal, recording expiry, the end of an employment."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from tsela.domain import permits as dom
from tsela.kernel.access import Permission
from tsela.kernel.actor import Actor
from tsela.services.permits.applying import EvidenceItem, apply
from tsela.services.permits.common import (
    Forbidden,
    PermitError,
    S,
    check_scope,
    event,
    load_permit,
    move,
)
from tsela.store.models import Permit
from tsela.store.permits import Employment, PermitEvidence


def renew(
    session: Session, actor: Actor, ref: uuid.UUID | str, today: date, now: datetime | None = None
) -> Permit:
    """Open a renewal application for an expiring (or expired) permit, carrying its evidence."""
    old = load_permit(session, ref)
    check_scope(actor, old)
    ptype = dom.permit_type(old.permit_type)
    dom.check_renewal(ptype, old.status, old.valid_to, today)
    carried = [
        EvidenceItem(e.kind, e.reference, f"carried over from {old.number}")
        for e in session.scalars(select(PermitEvidence).where(PermitEvidence.permit_id == old.id))
    ]
    return apply(
        session,
        actor,
        type_code=old.permit_type,
        today=today,
        person_id=old.person_id,
        employer=old.employer_id,
        country=old.country,
        evidence=carried,
        now=now,
        renewal_of=old,
    )


def expire_due(session: Session, actor: Actor, today: date, now: datetime | None = None) -> int:
    """Record as expired every issued or suspended permit whose last day has passed.

    Expiry already shows everywhere from the dates; this keeps the stored status tidy.
    """
    due = list(
        session.scalars(
            select(Permit).where(
                Permit.status.in_([S.ISSUED, S.SUSPENDED]),
                Permit.valid_to < today,
                Permit.node == actor.node,
            )
        )
    )
    for permit in due:
        move(session, actor, permit, S.EXPIRED, None, now)
    return len(due)


def end_employment(
    session: Session,
    actor: Actor,
    ref: uuid.UUID | str,
    end_date: date,
    reason: str,
    now: datetime | None = None,
) -> Employment:
    """An employer reports that a worker's employment under a permit has ended."""
    permit = load_permit(session, ref)
    if not actor.may(Permission.PERMIT_SPONSOR):
        raise Forbidden(f"a {actor.role.value} may not report the end of an employment")
    check_scope(actor, permit)
    if not reason.strip():
        raise PermitError(
            "a reason is required to report the end of an employment", "permit.end_reason"
        )
    job = session.scalars(
        select(Employment).where(Employment.permit_id == permit.id, Employment.end_date.is_(None))
    ).first()
    if job is None:
        raise PermitError(
            f"permit {permit.number} has no open employment to end", "permit.no_employment"
        )
    if job.start_date and end_date < job.start_date:
        raise PermitError(
            "end date %(end)s is before the employment started (%(start)s)",
            "permit.end_before_start",
            end=end_date.isoformat(),
            start=job.start_date.isoformat(),
        )
    job.end_date = end_date
    job.end_reason = reason.strip()
    job.reported_by = actor.username
    event(
        session,
        actor,
        permit,
        "end employment",
        permit.status,
        permit.status,
        reason.strip(),
        now,
        {"end_date": end_date.isoformat(), "employer_id": str(job.employer_id)},
    )
    return job
