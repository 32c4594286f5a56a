"""Applying for a permit: the applicant found or registered, the type's rules checked,
evidence added, the application submitted.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from tsela.domain import permits as dom
from tsela.domain.permits import PermitRuleError
from tsela.kernel import clock
from tsela.kernel.access import Permission
from tsela.kernel.actor import Actor
from tsela.reference import is_country
from tsela.services import audit
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
    new_number,
)
from tsela.store.models import (
    DocumentStatus,
    Employer,
    Permit,
    Person,
    Role,
    Sex,
    TravelDocument,
)
from tsela.store.permits import PermitEvidence

OPEN_APPLICATION = (S.DRAFT, S.SUBMITTED, S.EVIDENCE_REQUESTED, S.APPROVED)


_DOC_NUMBER = re.compile(r"[A-Z0-9]{5,20}")
_EVIDENCE_KIND = re.compile(r"[a-z][a-z0-9_]{1,39}")


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
    if not actor.may(Permission.PERMIT_APPLY):
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
        raise Forbidden(f"{actor.username} may apply only for themselves")
    # Officers see the name on record; an employer or worker sees only what they typed.
    staff = actor.may(Permission.PERMIT_DECIDE)
    who = f"applicant {holder_name(person)}" if staff else "the applicant"
    problems = dom.document_problems(
        status=str(doc.status),
        expiry_date=doc.expiry_date,
        today=today,
        min_valid_days=ptype.passport_min_valid_days,
    )
    if problems:
        raise PermitRuleError(
            f"{who}: document %(document)s cannot support a {ptype.code} application: %(problems)s",
            "permit.document_unfit",
            document=f"{doc.issuing_state} {doc.number}",
            problems="; ".join(problems),
        )
    if ptype.nationalities and person.nationality not in ptype.nationalities:
        raise PermitRuleError(
            f"the {ptype.name} ({ptype.code}) is only for nationals of "
            f"{', '.join(ptype.nationalities)}"
            + (f"; applicant is {person.nationality}" if staff else ""),
            "permit.nationality",
            type=ptype.code,
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
                f"{who.removeprefix('applicant ')} has none",
                "permit.prior_required",
                type=ptype.code,
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
            + (f": {open_app}" if staff else ""),
            "permit.already_open",
            type=ptype.code,
        )
    employer_row: Employer | None = None
    if actor.role is Role.EMPLOYER:
        if actor.employer_id is None:
            raise Forbidden(f"{actor.username} is not linked to an employer")
        if employer is not None and _resolve_employer(session, employer).id != actor.employer_id:
            raise Forbidden(f"{actor.username} may apply only for their own employer's workers")
        employer = actor.employer_id
    if employer is not None:
        employer_row = _resolve_employer(session, employer)
    elif ptype.employer_required:
        raise PermitRuleError(
            f"a {ptype.name} ({ptype.code}) must name a registered employer",
            "permit.employer_required",
            type=ptype.code,
        )
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
        updated_at=now or clock.now(),
    )
    session.add(permit)
    session.flush()
    for item in evidence:
        _add_evidence_row(session, actor, permit, item)
    action = "renew" if renewal_of else "apply"
    detail = {"type": ptype.code, "renewal_of": renewal_of.number if renewal_of else None}
    event(session, actor, permit, action, None, S.DRAFT.value, "", now, detail)
    return permit


def _add_evidence_row(session: Session, actor: Actor, permit: Permit, item: EvidenceItem) -> None:
    session.add(
        PermitEvidence(
            node=actor.node,
            permit_id=permit.id,
            kind=item.kind,
            reference=item.reference.strip()[:160],
            note=item.note.strip(),
            received_by=actor.username,
        )
    )


def add_evidence(
    session: Session, actor: Actor, ref: uuid.UUID | str, items: Sequence[EvidenceItem]
) -> Permit:
    permit = load_permit(session, ref)
    check_scope(actor, permit)
    if permit.status not in (S.DRAFT, S.EVIDENCE_REQUESTED, S.SUBMITTED):
        raise PermitError(
            f"permit {permit.number} is {permit.status}: evidence can be added only to an "
            "application in draft, submitted or evidence_requested",
            "permit.evidence_closed",
        )
    if not items:
        raise PermitError("no evidence given")
    _check_evidence_kinds(dom.permit_type(permit.permit_type), items)
    for item in items:
        _add_evidence_row(session, actor, permit, item)
    session.flush()
    audit.record(
        session,
        actor=actor.username,
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
    check_scope(actor, permit)
    dom.find_transition(permit.status, S.SUBMITTED)
    kinds = evidence_kinds(session, permit)
    missing = ptype.evidence.missing(kinds)
    if missing:
        raise PermitRuleError(
            "permit %(number)s cannot be submitted: missing evidence %(missing)s",
            "permit.evidence_missing",
            number=permit.number,
            missing=", ".join(missing),
            evidence=ptype.evidence.lacking(kinds),  # the codes, said in words by the pages
        )
    move(session, actor, permit, S.SUBMITTED, None, now)
    return permit
