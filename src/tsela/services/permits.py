"""Permit use cases: apply, decide, issue a signed permit, suspend/revoke, renew, verify,
lists of expiring permits, and what the border check needs to know.

Each function works inside the caller's session (one transaction per use case: the caller
commits). Every change of state writes a ``PermitEvent`` (the permit's own history, with
the reason) and an ``AuditEvent`` (the node's hash-chained log).
"""

from __future__ import annotations

import csv
import io
import re
import secrets
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, bindparam, insert, or_, select, update
from sqlalchemy.orm import Session

from tsela.domain import credentials as cred
from tsela.domain import permits as dom
from tsela.domain.permits import PermitRuleError, PermitStatus
from tsela.ids import new_id
from tsela.reference import is_country
from tsela.services import audit, exchange_outbox
from tsela.services.keys import KeyStore
from tsela.store.models import (
    DocumentStatus,
    Employer,
    Permit,
    Person,
    Role,
    Sex,
    TravelDocument,
    User,
    utcnow,
)
from tsela.store.permits import Employment, PermitEvent, PermitEvidence

S = PermitStatus
OPEN_APPLICATION = (S.DRAFT, S.SUBMITTED, S.EVIDENCE_REQUESTED, S.APPROVED)
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_DOC_NUMBER = re.compile(r"[A-Z0-9]{5,20}")
_EVIDENCE_KIND = re.compile(r"[a-z][a-z0-9_]{1,39}")


class PermitError(ValueError):
    """A user-facing problem with a permit operation; the message says what and where."""


class NotFound(PermitError):
    pass


class Forbidden(PermitError):
    """The actor may not see or act on this permit (not theirs, not their employer's)."""


@dataclass(frozen=True)
class Actor:
    """Who acts, with which role, on which node (employers and workers see only theirs)."""

    name: str
    role: Role
    node: str = "LS"
    employer_id: uuid.UUID | None = None
    person_id: uuid.UUID | None = None

    @classmethod
    def of(cls, user: User, node: str) -> Actor:
        return cls(user.username, user.role, node, user.employer_id, user.person_id)


@dataclass(frozen=True)
class Applicant:
    """An applicant as written on their travel document (found or registered on apply)."""

    surname: str
    given_names: str
    birth_date: date | None
    nationality: str
    document_number: str
    document_expiry: date | None
    issuing_state: str | None = None  # defaults to the nationality
    document_type: str = "P"
    sex: str = "X"


@dataclass(frozen=True)
class EvidenceItem:
    kind: str
    reference: str = ""
    note: str = ""


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


def _check_scope(actor: Actor, permit: Permit) -> None:
    if actor.role in (Role.PERMIT_OFFICER, Role.ADMIN):
        return
    if (
        actor.role is Role.EMPLOYER
        and actor.employer_id
        and permit.employer_id == actor.employer_id
    ):
        return
    if actor.role is Role.WORKER and actor.person_id and permit.person_id == actor.person_id:
        return
    raise Forbidden(f"{actor.name} ({actor.role.value}) may not act on permit {permit.number}")


def _event(
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
    at = now or utcnow()
    session.add(
        PermitEvent(
            node=actor.node,
            permit_id=permit.id,
            action=action,
            from_status=from_status,
            to_status=to_status,
            actor=actor.name,
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
        actor=actor.name,
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


def _move(
    session: Session,
    actor: Actor,
    permit: Permit,
    target: PermitStatus,
    reason: str | None,
    now: datetime | None,
    detail: dict[str, Any] | None = None,
) -> dom.Transition:
    _check_scope(actor, permit)
    try:
        dom.transition(permit.status, target, actor.role, reason)
    except dom.IllegalTransition as exc:
        raise type(exc)(f"permit {permit.number}: {exc}") from None
    found = dom.find_transition(permit.status, target)
    before = permit.status
    permit.status = target.value
    permit.updated_at = now or utcnow()
    _event(
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


# --- applicants and applications ---------------------------------------------------------


NO_MATCH = (
    "applicant: the document number and surname do not match our records: "
    "check them against the document"
)


def _find_or_register(
    session: Session, actor: Actor, a: Applicant
) -> tuple[Person, TravelDocument]:
    surname = a.surname.strip().upper()
    if not surname:
        raise PermitError("applicant: surname is empty")
    nationality = a.nationality.strip().upper()
    if not is_country(nationality):
        raise PermitError(
            f"applicant: nationality {a.nationality!r} is not an ISO 3166 alpha-3 code"
        )
    state = (a.issuing_state or nationality).strip().upper()
    if not is_country(state):
        raise PermitError(f"applicant: issuing state {state!r} is not an ISO 3166 alpha-3 code")
    number = a.document_number.strip().upper().replace(" ", "")
    if not _DOC_NUMBER.fullmatch(number):
        raise PermitError(
            f"applicant: document number {a.document_number!r} must be 5 to 20 letters or digits"
        )
    if a.sex not in {s.value for s in Sex}:
        raise PermitError(f"applicant: sex must be M, F or X, not {a.sex!r}")
    doc = session.scalars(
        select(TravelDocument).where(
            TravelDocument.issuing_state == state, TravelDocument.number == number
        )
    ).first()
    if doc is not None:
        person = doc.holder
        # The refusals name nothing on record: whoever types a document number must not learn
        # whose it is (issue 14: any worker or employer could read the surname registered to
        # any passport). A worker's own record is the only one they may apply with at all.
        not_theirs = actor.role is Role.WORKER and actor.person_id != person.id
        if not_theirs or person.primary_name.upper() != surname:
            raise PermitError(NO_MATCH)
        if a.document_expiry and doc.expiry_date != a.document_expiry:
            # Never overwrite a document record silently: one of the two is wrong.
            raise PermitError(
                "applicant: the document's expiry date does not match our records: "
                "check the document"
            )
        return person, doc
    person = Person(
        node=actor.node,
        primary_name=surname,
        given_names=a.given_names.strip().upper(),
        sex=Sex(a.sex),
        birth_date=a.birth_date,
        nationality=nationality,
    )
    session.add(person)
    session.flush()
    doc = TravelDocument(
        node=actor.node,
        person_id=person.id,
        document_type=a.document_type,
        issuing_state=state,
        number=number,
        expiry_date=a.document_expiry,
    )
    session.add(doc)
    session.flush()
    return person, doc


def _best_document(session: Session, person: Person) -> TravelDocument:
    docs = list(
        session.scalars(
            select(TravelDocument)
            .where(TravelDocument.person_id == person.id)
            .order_by(TravelDocument.expiry_date.desc())
        )
    )
    valid = [d for d in docs if d.status == DocumentStatus.VALID]
    if not (valid or docs):
        raise PermitError(f"applicant {holder_name(person)} has no travel document on record")
    return (valid or docs)[0]


def _resolve_employer(session: Session, ref: uuid.UUID | str) -> Employer:
    if isinstance(ref, uuid.UUID):
        found = session.get(Employer, ref)
    else:
        text = str(ref).strip()
        try:
            found = session.get(Employer, uuid.UUID(text))
        except ValueError:
            found = session.scalars(
                select(Employer).where(Employer.registration_number == text)
            ).first()
    if found is None:
        raise NotFound(f"no registered employer {ref!s}")
    return found


def _check_evidence_kinds(ptype: dom.PermitType, items: Iterable[EvidenceItem]) -> None:
    known = ptype.evidence.kinds
    for item in items:
        if not _EVIDENCE_KIND.fullmatch(item.kind):
            raise PermitError(
                f"evidence kind {item.kind!r} must be a lower-case word like 'passport'"
            )
        if item.kind not in known:
            raise PermitError(
                f"evidence {item.kind!r} is not asked for by the {ptype.name} ({ptype.code}); "
                f"expected: {', '.join(sorted(known))}"
            )


def apply(
    session: Session,
    actor: Actor,
    *,
    type_code: str,
    today: date,
    applicant: Applicant | None = None,
    person_id: uuid.UUID | None = None,
    employer: uuid.UUID | str | None = None,
    country: str | None = None,
    evidence: Sequence[EvidenceItem] = (),
    now: datetime | None = None,
    renewal_of: Permit | None = None,
) -> Permit:
    """Open an application (a permit in 'draft'), checking the type's rules first."""
    if actor.role not in (Role.WORKER, Role.EMPLOYER, Role.PERMIT_OFFICER, Role.ADMIN):
        raise Forbidden(f"a {actor.role.value} may not apply for a permit")
    ptype = dom.permit_type(type_code)
    ptype.check_open(today)
    if applicant is not None:
        person, doc = _find_or_register(session, actor, applicant)
    elif person_id is not None:
        found = session.get(Person, person_id)
        if found is None:
            raise NotFound(f"no person with id {person_id}")
        person, doc = found, _best_document(session, found)
    else:
        raise PermitError("an application needs the applicant's details or a person id")
    if actor.role is Role.WORKER and actor.person_id != person.id:
        raise Forbidden(f"{actor.name} may apply only for themselves")
    # Officers see the name on record; an employer or worker sees only what they typed.
    staff = actor.role in (Role.PERMIT_OFFICER, Role.ADMIN)
    who = f"applicant {holder_name(person)}" if staff else "the applicant"
    problems = dom.document_problems(
        status=str(doc.status),
        expiry_date=doc.expiry_date,
        today=today,
        min_valid_days=ptype.passport_min_valid_days,
    )
    if problems:
        raise PermitRuleError(
            f"{who}: document {doc.issuing_state} {doc.number} cannot "
            f"support a {ptype.code} application: {'; '.join(problems)}"
        )
    if ptype.nationalities and person.nationality not in ptype.nationalities:
        raise PermitRuleError(
            f"the {ptype.name} ({ptype.code}) is only for nationals of "
            f"{', '.join(ptype.nationalities)}"
            + (f"; applicant is {person.nationality}" if staff else "")
        )
    if ptype.requires_prior:
        held = session.scalars(
            select(Permit.number).where(
                Permit.person_id == person.id,
                Permit.permit_type.in_(ptype.requires_prior),
                Permit.status.in_([S.ISSUED, S.EXPIRED, S.SUSPENDED]),
            )
        ).first()
        if held is None:
            names = " or ".join(f"{dom.permit_type(c).name} ({c})" for c in ptype.requires_prior)
            raise PermitRuleError(
                f"the {ptype.name} ({ptype.code}) is only for holders of a {names}; "
                f"{who.removeprefix('applicant ')} has none"
            )
    open_app = session.scalars(
        select(Permit.number).where(
            Permit.person_id == person.id,
            Permit.permit_type == ptype.code,
            Permit.status.in_(OPEN_APPLICATION),
        )
    ).first()
    if open_app is not None:
        raise PermitRuleError(
            f"{who} already has an open {ptype.code} application"
            + (f": {open_app}" if staff else "")
        )
    employer_row: Employer | None = None
    if actor.role is Role.EMPLOYER:
        if actor.employer_id is None:
            raise Forbidden(f"{actor.name} is not linked to an employer")
        if employer is not None and _resolve_employer(session, employer).id != actor.employer_id:
            raise Forbidden(f"{actor.name} may apply only for their own employer's workers")
        employer = actor.employer_id
    if employer is not None:
        employer_row = _resolve_employer(session, employer)
    elif ptype.employer_required:
        raise PermitRuleError(f"a {ptype.name} ({ptype.code}) must name a registered employer")
    where = (country or ptype.countries[0]).strip().upper()
    if where not in ptype.countries:
        raise PermitRuleError(
            f"a {ptype.name} ({ptype.code}) is valid in {', '.join(ptype.countries)}, not {where}"
        )
    _check_evidence_kinds(ptype, evidence)
    permit = Permit(
        node=actor.node,
        number=new_number(actor.node, ptype.code),
        person_id=person.id,
        permit_type=ptype.code,
        status=S.DRAFT.value,
        employer_id=employer_row.id if employer_row else None,
        country=where,
        document_id=doc.id,
        renewal_of_id=renewal_of.id if renewal_of else None,
        updated_at=now or utcnow(),
    )
    session.add(permit)
    session.flush()
    for item in evidence:
        _add_evidence_row(session, actor, permit, item)
    action = "renew" if renewal_of else "apply"
    detail = {"type": ptype.code, "renewal_of": renewal_of.number if renewal_of else None}
    _event(session, actor, permit, action, None, S.DRAFT.value, "", now, detail)
    return permit


def _add_evidence_row(session: Session, actor: Actor, permit: Permit, item: EvidenceItem) -> None:
    session.add(
        PermitEvidence(
            node=actor.node,
            permit_id=permit.id,
            kind=item.kind,
            reference=item.reference.strip()[:160],
            note=item.note.strip(),
            received_by=actor.name,
        )
    )


def add_evidence(
    session: Session, actor: Actor, ref: uuid.UUID | str, items: Sequence[EvidenceItem]
) -> Permit:
    permit = load_permit(session, ref)
    _check_scope(actor, permit)
    if permit.status not in (S.DRAFT, S.EVIDENCE_REQUESTED, S.SUBMITTED):
        raise PermitError(
            f"permit {permit.number} is {permit.status}: evidence can be added only to an "
            "application in draft, submitted or evidence_requested"
        )
    if not items:
        raise PermitError("no evidence given")
    _check_evidence_kinds(dom.permit_type(permit.permit_type), items)
    for item in items:
        _add_evidence_row(session, actor, permit, item)
    session.flush()
    audit.record(
        session,
        actor=actor.name,
        action="permit.evidence",
        node=actor.node,
        entity="permit",
        entity_id=permit.id,
        detail={"number": permit.number, "kinds": [i.kind for i in items]},
    )
    return permit


def evidence_kinds(session: Session, permit: Permit) -> list[str]:
    return list(
        session.scalars(select(PermitEvidence.kind).where(PermitEvidence.permit_id == permit.id))
    )


def submit(
    session: Session, actor: Actor, ref: uuid.UUID | str, today: date, now: datetime | None = None
) -> Permit:
    """Send an application (or answer a request for evidence); the evidence must be complete."""
    permit = load_permit(session, ref)
    ptype = dom.permit_type(permit.permit_type)
    if permit.status == S.DRAFT:  # a resubmission may finish after the window closes
        ptype.check_open(today)
    _check_scope(actor, permit)
    dom.find_transition(permit.status, S.SUBMITTED)
    missing = ptype.evidence.missing(evidence_kinds(session, permit))
    if missing:
        raise PermitRuleError(
            f"permit {permit.number} cannot be submitted: missing evidence {', '.join(missing)}"
        )
    _move(session, actor, permit, S.SUBMITTED, None, now)
    return permit


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
    _move(session, actor, permit, target, reason, now)
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
    now = now or utcnow()
    permit = load_permit(session, ref)
    if signer.node != permit.node:
        raise PermitError(
            f"permit {permit.number} belongs to node {permit.node}; "
            f"node {signer.node} cannot sign it"
        )
    ptype = dom.permit_type(permit.permit_type)
    _check_scope(actor, permit)
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
    _move(session, actor, permit, S.ISSUED, None, now, {"kid": signer.kid})
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
    now = now or utcnow()
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
                "actor": actor.name,
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
        actor=actor.name,
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
    if actor.role not in (Role.PERMIT_OFFICER, Role.ADMIN):
        raise Forbidden(f"a {actor.role.value} may not extend permits")
    now = now or utcnow()
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
    extended = []
    for permit, person, doc, employer in rows:
        assert permit.valid_from and permit.valid_to
        _, end = ptype.validity(permit.valid_from)
        if end <= permit.valid_to:
            continue
        before = permit.valid_to
        permit.valid_to = end
        permit.token = signer.sign(_claims(permit, person, doc, employer, ptype, now).to_claims())
        permit.kid = signer.kid
        permit.updated_at = now
        reason = f"{ptype.code} programme extended: last day {before} -> {end}"
        _event(session, actor, permit, "extend", permit.status, permit.status, reason, now)
        extended.append(permit)
    return extended


def renew(
    session: Session, actor: Actor, ref: uuid.UUID | str, today: date, now: datetime | None = None
) -> Permit:
    """Open a renewal application for an expiring (or expired) permit, carrying its evidence."""
    old = load_permit(session, ref)
    _check_scope(actor, old)
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
        _move(session, actor, permit, S.EXPIRED, None, now)
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
    if actor.role not in (Role.EMPLOYER, Role.PERMIT_OFFICER, Role.ADMIN):
        raise Forbidden(f"a {actor.role.value} may not report the end of an employment")
    _check_scope(actor, permit)
    if not reason.strip():
        raise PermitError("a reason is required to report the end of an employment")
    job = session.scalars(
        select(Employment).where(Employment.permit_id == permit.id, Employment.end_date.is_(None))
    ).first()
    if job is None:
        raise PermitError(f"permit {permit.number} has no open employment to end")
    if job.start_date and end_date < job.start_date:
        raise PermitError(
            f"end date {end_date.isoformat()} is before the employment started "
            f"({job.start_date.isoformat()})"
        )
    job.end_date = end_date
    job.end_reason = reason.strip()
    job.reported_by = actor.name
    _event(
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


# --- reading ------------------------------------------------------------------------------


def _view_query() -> Select[tuple[Permit, Person, Employer]]:
    return (
        select(Permit, Person, Employer)
        .join(Person, Person.id == Permit.person_id)
        .outerjoin(Employer, Employer.id == Permit.employer_id)
    )


def _view(permit: Permit, person: Person, employer: Employer | None, today: date) -> PermitView:
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


def view(session: Session, actor: Actor, ref: uuid.UUID | str, today: date) -> PermitView:
    permit = load_permit(session, ref)
    _check_scope(actor, permit)
    row = session.execute(_view_query().where(Permit.id == permit.id)).one()
    audit.record(
        session,
        actor=actor.name,
        action="permit.read",
        node=actor.node,
        entity="permit",
        entity_id=permit.id,
    )
    return _view(*row, today)


def history(session: Session, actor: Actor, ref: uuid.UUID | str) -> list[PermitEvent]:
    permit = load_permit(session, ref)
    _check_scope(actor, permit)
    return list(
        session.scalars(
            select(PermitEvent)
            .where(PermitEvent.permit_id == permit.id)
            .order_by(PermitEvent.id)  # UUIDv7: the order they were written
        )
    )


def valid_permits_for(session: Session, person_id: uuid.UUID, on: date) -> list[PermitView]:
    """The permits a person holds that are valid on ``on`` (as the border check sees them)."""
    rows = session.execute(_AT_BORDER, {"person_id": person_id}).all()
    return [_view(*r, on) for r in rows if _valid_on(r[0], on)]


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
    _view_query()
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
        v = _view(permit, person, employer, on)
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
            when = f" on {last.at.date().isoformat()}" if last else ""
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
    q = _view_query()
    if actor.role is Role.EMPLOYER:
        if actor.employer_id is None or (employer_id and employer_id != actor.employer_id):
            raise Forbidden(f"{actor.name} may list only their own employer's permits")
        employer_id = actor.employer_id
    elif actor.role is Role.WORKER:
        if actor.person_id is None:
            raise Forbidden(f"{actor.name} is not linked to a person")
        q = q.where(Permit.person_id == actor.person_id)
    elif actor.role not in (Role.PERMIT_OFFICER, Role.ADMIN):
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
        actor=actor.name,
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
    return [_view(*r, today) for r in rows]


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


# --- revocation lists and verification ----------------------------------------------------


def revocation_list(session: Session, node: str, now: datetime) -> cred.RevocationList:
    """Every permit of ``node`` that is revoked or suspended (by id, as in the tokens' jti)."""
    rows = session.execute(
        select(Permit.id, Permit.status).where(
            Permit.node == node,
            Permit.status.in_([S.REVOKED, S.SUSPENDED]),
            Permit.token.is_not(None),
        )
    ).all()
    return cred.RevocationList(
        node=node,
        issued_at=now.astimezone(UTC),
        revoked=frozenset(str(i) for i, s in rows if s == S.REVOKED),
        suspended=frozenset(str(i) for i, s in rows if s == S.SUSPENDED),
    )


def signed_revocation_list(session: Session, keys: KeyStore, now: datetime) -> str:
    return cred.sign_revocation_list(revocation_list(session, keys.node, now), keys.signer(now))


def verify_online(
    session: Session, token: str, keyset: cred.KeySet, node: str, today: date
) -> cred.Verification:
    """Verify a token and, for this node's permits, check the register for its status now."""
    result = cred.Verifier(keyset).verify(token, today)
    claims = result.claims
    if claims is None or claims.issuer != node:
        return result
    try:
        permit = session.get(Permit, uuid.UUID(claims.permit_id))
    except ValueError:
        permit = None
    if permit is None or permit.token != token.strip():
        # Signed by our key but not a credential we hold: a leaked key or a replaced token.
        return cred.Verification(
            cred.VerifyStatus.FORGED,
            (f"permit {claims.number} is not in the register of node {node} with this token",),
            None,
            result.kid,
        )
    rest = tuple(r for r in result.reasons if not r.startswith("revocation not checked"))
    if permit.status in (S.REVOKED, S.SUSPENDED):
        last = session.scalars(
            select(PermitEvent)
            .where(PermitEvent.permit_id == permit.id, PermitEvent.to_status == permit.status)
            .order_by(PermitEvent.at.desc())
        ).first()
        why = f": {last.reason}" if last and last.reason else ""
        when = f" on {last.at.date().isoformat()}" if last else ""
        return cred.Verification(
            cred.VerifyStatus(permit.status),
            (f"permit {claims.number} was {permit.status}{when}{why}",),
            claims,
            result.kid,
        )
    return cred.Verification(
        result.status, (*rest, f"status checked in the register of node {node}"), claims, result.kid
    )
