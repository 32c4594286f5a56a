"""An officer's decisions and issuing: approve, reject, suspend, revoke; issue a signed
permit (one or many at once); re-issue when a programme is extended.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import and_, bindparam, insert, select, update
from sqlalchemy.orm import Session

from tsela.domain import credentials as cred
from tsela.domain import permits as dom
from tsela.domain.permits import PermitStatus
from tsela.ids import new_id
from tsela.kernel import clock
from tsela.kernel.access import Permission
from tsela.kernel.actor import Actor
from tsela.services import audit, exchange_outbox
from tsela.services.permits.common import (
    Forbidden,
    NotFound,
    PermitError,
    S,
    check_scope,
    event,
    holder_name,
    load_permit,
    move,
)
from tsela.store.models import Employer, Permit, Person, TravelDocument
from tsela.store.permits import Employment, PermitEvent


def decide(
    session: Session,
    actor: Actor,
    ref: uuid.UUID | str,
    target: PermitStatus | str,
    reason: str | None = None,
    now: datetime | None = None,
) -> Permit:
    """An officer's decision: request evidence, approve, reject, suspend, reinstate, revoke."""
    permit = load_permit(session, ref)
    target = dom.parse_status(target)
    if target in (S.ISSUED,) and permit.status == S.APPROVED:
        raise PermitError("use issue to issue an approved permit (it signs the credential)")
    move(session, actor, permit, target, reason, now)
    return permit


def revoke(
    session: Session, actor: Actor, ref: uuid.UUID | str, reason: str, now: datetime | None = None
) -> Permit:
    return decide(session, actor, ref, S.REVOKED, reason, now)


def _claims(
    permit: Permit,
    person: Person,
    doc: TravelDocument | None,
    employer: Employer | None,
    ptype: dom.PermitType,
    issued_at: datetime,
) -> cred.PermitClaims:
    assert permit.valid_from and permit.valid_to
    return cred.PermitClaims(
        permit_id=str(permit.id),
        number=permit.number,
        issuer=permit.node,
        issued_at=cred.utc_seconds(issued_at),
        permit_type=ptype.code,
        type_name=ptype.name,
        holder=holder_name(person),
        birth_date=person.birth_date,
        nationality=person.nationality,
        document=doc.number if doc else "",
        rights=ptype.rights,
        country=permit.country,
        valid_from=permit.valid_from,
        valid_to=permit.valid_to,
        employer=employer.name if employer else None,
    )


def issue(
    session: Session,
    actor: Actor,
    ref: uuid.UUID | str,
    signer: cred.Signer,
    today: date,
    now: datetime | None = None,
) -> Permit:
    """Issue an approved permit: fix its validity, sign the credential, open the employment."""
    now = now or clock.now()
    permit = load_permit(session, ref)
    if signer.node != permit.node:
        raise PermitError(
            f"permit {permit.number} belongs to node {permit.node}; "
            f"node {signer.node} cannot sign it"
        )
    ptype = dom.permit_type(permit.permit_type)
    check_scope(actor, permit)
    dom.transition(permit.status, S.ISSUED, actor.role)  # fail before computing anything
    permit.valid_from, permit.valid_to = ptype.validity(today)
    person = session.get(Person, permit.person_id)
    assert person is not None
    doc = session.get(TravelDocument, permit.document_id) if permit.document_id else None
    employer = session.get(Employer, permit.employer_id) if permit.employer_id else None
    permit.token = signer.sign(_claims(permit, person, doc, employer, ptype, now).to_claims())
    permit.kid = signer.kid
    permit.issued_at = now
    if employer is not None:
        session.add(
            Employment(
                node=actor.node,
                person_id=person.id,
                employer_id=employer.id,
                permit_id=permit.id,
                start_date=permit.valid_from,
            )
        )
    move(session, actor, permit, S.ISSUED, None, now, {"kid": signer.kid})
    return permit


def issue_many(
    session: Session,
    actor: Actor,
    permit_ids: Sequence[uuid.UUID],
    signer: cred.Signer,
    today: date,
    now: datetime | None = None,
) -> int:
    """Issue many approved permits at once (bulk path: one read, batched writes).

    Each permit still gets its own history entry; the audit log gets one entry for the
    batch listing every permit, since the hash chain is written one entry at a time.
    """
    now = now or clock.now()
    if not permit_ids:
        return 0
    dom.transition(S.APPROVED, S.ISSUED, actor.role)
    rows = session.execute(
        select(Permit, Person, TravelDocument, Employer)
        .join(Person, Person.id == Permit.person_id)
        .outerjoin(TravelDocument, TravelDocument.id == Permit.document_id)
        .outerjoin(Employer, Employer.id == Permit.employer_id)
        .where(Permit.id.in_(list(permit_ids)))
    ).all()
    found = {r[0].id for r in rows}
    missing = [str(i) for i in permit_ids if i not in found]
    if missing:
        raise NotFound(f"no permit with id {missing[0]} ({len(missing)} missing)")
    bad = [r[0].number for r in rows if r[0].status != S.APPROVED or r[0].node != signer.node]
    if bad:
        raise dom.IllegalTransition(
            f"{len(bad)} permit(s) are not approved permits of node {signer.node}, e.g. {bad[0]}"
        )
    claims, updates, events, jobs = [], [], [], []
    for permit, person, doc, employer in rows:
        ptype = dom.permit_type(permit.permit_type)
        start, end = ptype.validity(today)
        permit.valid_from, permit.valid_to = start, end
        claims.append(_claims(permit, person, doc, employer, ptype, now).to_claims())
        updates.append({"pid": permit.id, "valid_from": start, "valid_to": end})
        events.append(
            {
                "id": new_id(),
                "node": actor.node,
                "created_at": now,
                "permit_id": permit.id,
                "action": "issue",
                "from_status": S.APPROVED.value,
                "to_status": S.ISSUED.value,
                "actor": actor.username,
                "role": actor.role.value,
                "reason": "",
                "at": now,
            }
        )
        if employer is not None:
            jobs.append(
                {
                    "id": new_id(),
                    "node": actor.node,
                    "created_at": now,
                    "person_id": person.id,
                    "employer_id": employer.id,
                    "permit_id": permit.id,
                    "start_date": start,
                    "end_date": None,
                    "end_reason": "",
                    "reported_by": "",
                }
            )
    tokens = signer.sign_many(claims)
    for u, token in zip(updates, tokens, strict=True):
        u["token"] = token
    # The ORM objects were only used to read; detach them so the Core update is the truth.
    for r in rows:
        session.expunge(r[0])
    stmt = (
        update(Permit.__table__)
        .where(
            and_(Permit.__table__.c.id == bindparam("pid"), Permit.__table__.c.status == "approved")
        )
        .values(
            status=S.ISSUED.value,
            valid_from=bindparam("valid_from"),
            valid_to=bindparam("valid_to"),
            token=bindparam("token"),
            kid=signer.kid,
            issued_at=now,
            updated_at=now,
        )
    )
    session.connection().execute(stmt, updates)
    session.execute(insert(PermitEvent.__table__), events)
    for permit, *_ in rows:
        exchange_outbox.permit_status(
            session,
            node=actor.node,
            permit=permit,
            from_status="approved",
            to_status="issued",
            at=now,
        )
    if jobs:
        session.execute(insert(Employment.__table__), jobs)
    audit.record(
        session,
        actor=actor.username,
        action="permit.issue_many",
        node=actor.node,
        entity="permit",
        entity_id=f"batch of {len(rows)}",
        detail={"kid": signer.kid, "permits": [str(r[0].id) for r in rows]},
    )
    return len(rows)


def extend_programme(
    session: Session,
    actor: Actor,
    type_code: str,
    signer: cred.Signer,
    today: date,
    now: datetime | None = None,
) -> list[Permit]:
    """Re-issue the still-valid permits of a type after its programme end moved later
    (as the LEP was extended to 2024, then 2027): new last day, newly signed token.

    Old tokens stay genuine and show as expired after their old last day; holders get the
    new QR code.
    """
    if not actor.may(Permission.PERMIT_DECIDE):
        raise Forbidden(f"a {actor.role.value} may not extend permits")
    now = now or clock.now()
    ptype = dom.permit_type(type_code)
    rows = session.execute(
        select(Permit, Person, TravelDocument, Employer)
        .join(Person, Person.id == Permit.person_id)
        .outerjoin(TravelDocument, TravelDocument.id == Permit.document_id)
        .outerjoin(Employer, Employer.id == Permit.employer_id)
        .where(
            Permit.permit_type == ptype.code,
            Permit.status.in_([S.ISSUED, S.SUSPENDED]),
            Permit.node == signer.node,
            Permit.valid_to >= today,
        )
        .order_by(Permit.number)
    ).all()
    return [p for p in (_extend(session, actor, signer, ptype, now, *r) for r in rows) if p]


def _extend(
    session: Session,
    actor: Actor,
    signer: cred.Signer,
    ptype: dom.PermitType,
    now: datetime,
    permit: Permit,
    person: Person,
    doc: TravelDocument | None,
    employer: Employer | None,
) -> Permit | None:
    """Move a permit's last day to its programme's end, newly signed (None: already there)."""
    assert permit.valid_from and permit.valid_to
    _, end = ptype.validity(permit.valid_from)
    if end <= permit.valid_to:
        return None
    before = permit.valid_to
    permit.valid_to = end
    permit.token = signer.sign(_claims(permit, person, doc, employer, ptype, now).to_claims())
    permit.kid = signer.kid
    permit.updated_at = now
    reason = f"{ptype.code} programme extended: last day {before} -> {end}"
    event(session, actor, permit, "extend", permit.status, permit.status, reason, now)
    return permit


def extend(
    session: Session,
    actor: Actor,
    ref: uuid.UUID | str,
    signer: cred.Signer,
    today: date,
    now: datetime | None = None,
) -> Permit:
    """Extend one issued (or suspended) permit to its programme's present end, as
    :func:`extend_programme` does for every permit of a type."""
    if not actor.may(Permission.PERMIT_DECIDE):
        raise Forbidden(f"a {actor.role.value} may not extend permits")
    now = now or clock.now()
    permit = load_permit(session, ref)
    check_scope(actor, permit)
    if permit.node != signer.node:
        raise PermitError(
            f"permit {permit.number} belongs to node {permit.node}; "
            f"node {signer.node} cannot sign it",
            "permit.other_node",
        )
    valid = dom.expiry_status(permit.status, permit.valid_from, permit.valid_to, today).status
    if valid not in (S.ISSUED, S.SUSPENDED):
        raise PermitError(
            f"permit {permit.number} is {valid.value}: only a permit in force can be extended",
            "permit.not_in_force",
        )
    person = session.get(Person, permit.person_id)
    assert person is not None
    doc = session.get(TravelDocument, permit.document_id) if permit.document_id else None
    employer = session.get(Employer, permit.employer_id) if permit.employer_id else None
    ptype = dom.permit_type(permit.permit_type)
    done = _extend(session, actor, signer, ptype, now, permit, person, doc, employer)
    if done is None:
        raise PermitError(
            f"permit {permit.number} already runs to the end of its programme ({permit.valid_to})",
            "permit.not_extended",
        )
    return done
