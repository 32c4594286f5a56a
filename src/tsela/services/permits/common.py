"""What every permit use case shares: errors, the permit as users see it,
loading a permit, the scope check, and the history/audit entry written for each change.
"""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from tsela.domain import permits as dom
from tsela.domain.permits import PermitStatus
from tsela.kernel import clock, errors
from tsela.kernel.access import Permission
from tsela.kernel.actor import Actor
from tsela.services import audit, exchange_outbox
from tsela.store.models import Employer, Permit, Person, Role
from tsela.store.permits import PermitEvent

S = PermitStatus


_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


class PermitError(errors.Invalid, ValueError):
    """A user-facing problem with a permit operation; the message says what and where (a
    refusal of ``tsela.kernel.errors``: invalid unless a subclass says otherwise)."""

    default_code = "permit.refused"

    def __init__(self, message: str, code: str | None = None, **values: Any) -> None:
        super().__init__(code or self.default_code, message, **values)


class NotFound(errors.NotFound, PermitError):
    default_code = "permit.not_found"


class Forbidden(errors.Forbidden, PermitError):
    """The actor may not see or act on this permit (not theirs, not their employer's)."""

    default_code = "permit.forbidden"


@dataclass(frozen=True)
class PermitView:
    """A permit as users and the border check see it, with its status on a given day."""

    id: uuid.UUID
    number: str
    person_id: uuid.UUID
    holder: str
    permit_type: str
    type_name: str
    status: PermitStatus  # stored status
    effective_status: PermitStatus  # on the day asked about (an issued permit can be expired)
    country: str
    rights: tuple[str, ...]
    overrides_stay_limit: bool
    fast_lane: bool
    valid_from: date | None
    valid_to: date | None
    days_left: int | None
    employer_id: uuid.UUID | None
    employer: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "number": self.number,
            "person_id": str(self.person_id),
            "holder": self.holder,
            "permit_type": self.permit_type,
            "type_name": self.type_name,
            "status": self.status.value,
            "effective_status": self.effective_status.value,
            "country": self.country,
            "rights": list(self.rights),
            "overrides_stay_limit": self.overrides_stay_limit,
            "fast_lane": self.fast_lane,
            "valid_from": self.valid_from.isoformat() if self.valid_from else None,
            "valid_to": self.valid_to.isoformat() if self.valid_to else None,
            "days_left": self.days_left,
            "employer_id": str(self.employer_id) if self.employer_id else None,
            "employer": self.employer,
        }


# --- helpers ------------------------------------------------------------------------------


def new_number(node: str, type_code: str) -> str:
    """A permit number people can read out: LS-LEP-7F3K-9QX2-M4PA (60 random bits)."""
    bits = secrets.randbits(60)
    chars = "".join(_CROCKFORD[(bits >> (5 * i)) & 31] for i in range(11, -1, -1))
    return f"{node}-{type_code}-{chars[:4]}-{chars[4:8]}-{chars[8:]}"


def holder_name(person: Person) -> str:
    return (
        f"{person.primary_name}, {person.given_names}"
        if person.given_names
        else person.primary_name
    )


def _uuid(value: uuid.UUID | str, what: str) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise NotFound(f"{what} {value!r} is not a valid id") from None


def load_permit(session: Session, ref: uuid.UUID | str) -> Permit:
    """A permit by id or by number."""
    permit: Permit | None = None
    if isinstance(ref, str) and not re.fullmatch(r"[0-9a-fA-F-]{32,36}", ref.strip()):
        permit = session.scalars(select(Permit).where(Permit.number == ref.strip().upper())).first()
        if permit is None:
            raise NotFound(f"no permit numbered {ref!r}")
        return permit
    permit = session.get(Permit, _uuid(ref, "permit"))
    if permit is None:
        raise NotFound(f"no permit with id {ref}")
    return permit


def check_scope(actor: Actor, permit: Permit) -> None:
    if actor.may(Permission.PERMIT_DECIDE):
        return
    if (
        actor.role is Role.EMPLOYER
        and actor.employer_id
        and permit.employer_id == actor.employer_id
    ):
        return
    if actor.role is Role.WORKER and actor.person_id and permit.person_id == actor.person_id:
        return
    raise Forbidden(f"{actor.username} ({actor.role.value}) may not act on permit {permit.number}")


def event(
    session: Session,
    actor: Actor,
    permit: Permit,
    action: str,
    from_status: str | None,
    to_status: str,
    reason: str = "",
    now: datetime | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    at = now or clock.now()
    session.add(
        PermitEvent(
            node=actor.node,
            permit_id=permit.id,
            action=action,
            from_status=from_status,
            to_status=to_status,
            actor=actor.username,
            role=actor.role.value,
            reason=reason,
            at=at,
        )
    )
    exchange_outbox.permit_status(
        session, node=actor.node, permit=permit, from_status=from_status, to_status=to_status, at=at
    )
    # The audit entry keeps the time it was written (the log's own order); ``at`` above is
    # the time of the act, which a caller may give.
    audit.record(
        session,
        actor=actor.username,
        action=f"permit.{action.replace(' ', '_')}",
        node=actor.node,
        entity="permit",
        entity_id=permit.id,
        detail={
            "number": permit.number,
            "from": from_status,
            "to": to_status,
            "reason": reason,
            "role": actor.role.value,
            **(detail or {}),
        },
    )


def check_move(actor: Actor, permit: Permit, target: PermitStatus, reason: str | None) -> None:
    """Refuse (as :func:`move` would) a move the actor may not make now; change nothing."""
    check_scope(actor, permit)
    try:
        dom.transition(permit.status, target, actor.role, reason)
    except dom.IllegalTransition as exc:
        # The same refusal (its code and values: the pages say it in words) naming the permit.
        raise type(exc)(f"permit {permit.number}: {exc.template}", exc.code, **exc.values) from None


def move(
    session: Session,
    actor: Actor,
    permit: Permit,
    target: PermitStatus,
    reason: str | None,
    now: datetime | None,
    detail: dict[str, Any] | None = None,
) -> dom.Transition:
    check_move(actor, permit, target, reason)
    found = dom.find_transition(permit.status, target)
    before = permit.status
    permit.status = target.value
    permit.updated_at = now or clock.now()
    event(
        session,
        actor,
        permit,
        found.action,
        before,
        target.value,
        (reason or "").strip(),
        now,
        detail,
    )
    return found


def view_query() -> Select[Permit, Person, Employer]:
    return (
        select(Permit, Person, Employer)
        .join(Person, Person.id == Permit.person_id)
        .outerjoin(Employer, Employer.id == Permit.employer_id)
    )


def view_of(permit: Permit, person: Person, employer: Employer | None, today: date) -> PermitView:
    ptype = dom.permit_type(permit.permit_type)
    state = dom.expiry_status(permit.status, permit.valid_from, permit.valid_to, today)
    return PermitView(
        id=permit.id,
        number=permit.number,
        person_id=permit.person_id,
        holder=holder_name(person),
        permit_type=ptype.code,
        type_name=ptype.name,
        status=PermitStatus(permit.status),
        effective_status=state.status,
        country=permit.country,
        rights=ptype.rights,
        overrides_stay_limit=ptype.overrides_stay_limit,
        fast_lane=ptype.fast_lane,
        valid_from=permit.valid_from,
        valid_to=permit.valid_to,
        days_left=state.days_left,
        employer_id=permit.employer_id,
        employer=employer.name if employer else None,
    )
