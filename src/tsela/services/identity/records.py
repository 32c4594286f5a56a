"""The person records identity resolution compares, read from the store.

- every ``person`` of this node, with its latest travel document;
- every traveller of the partner's exchanged crossings, one per document (issuing state and
  number), with the particulars of that document's latest crossing.

Labour registrations and permits name a ``person`` of this node, so they are covered by the
first source; a record's ``key`` says where it came from.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tsela.domain.identity import PersonRecord
from tsela.store.models import Person, TravelDocument
from tsela.store.partner_crossings import PartnerCrossing


def person_key(person_id: uuid.UUID) -> str:
    return f"person:{person_id}"


def partner_key(node: str, country: str, number: str) -> str:
    return f"partner:{node}:{country}:{number}"


def _sex(value: object) -> str | None:
    text = str(getattr(value, "value", value) or "")
    return text if text in ("M", "F") else None


def local_records(session: Session, node: str, batch: int = 5000) -> Iterator[PersonRecord]:
    latest = (
        select(
            TravelDocument.person_id,
            func.max(TravelDocument.created_at).label("at"),
        )
        .group_by(TravelDocument.person_id)
        .subquery()
    )
    doc = (
        select(TravelDocument.person_id, TravelDocument.number, TravelDocument.issuing_state)
        .join(
            latest,
            (latest.c.person_id == TravelDocument.person_id)
            & (latest.c.at == TravelDocument.created_at),
        )
        .subquery()
    )
    stmt = (
        select(Person, doc.c.number, doc.c.issuing_state)
        .outerjoin(doc, doc.c.person_id == Person.id)
        .order_by(Person.id)
        .execution_options(yield_per=batch)
    )
    seen: set[uuid.UUID] = set()
    for person, number, state in session.execute(stmt):
        if person.id in seen:  # two documents created at the same instant: keep one
            continue
        seen.add(person.id)
        yield PersonRecord(
            key=person_key(person.id),
            source="person",
            node=person.node,
            surname=person.primary_name,
            given_names=person.given_names,
            birth_date=person.birth_date,
            sex=_sex(person.sex),
            nationality=person.nationality,
            document_number=number,
            document_country=state,
            person_id=person.id,
        )


def partner_records(session: Session, batch: int = 5000) -> Iterator[PersonRecord]:
    """One record per partner document: the particulars of its latest crossing."""
    stmt = (
        select(PartnerCrossing)
        .order_by(
            PartnerCrossing.node,
            PartnerCrossing.document_country,
            PartnerCrossing.document_number,
            PartnerCrossing.crossed_at.desc(),
        )
        .execution_options(yield_per=batch)
    )
    last: tuple[str, str, str] | None = None
    for (row,) in session.execute(stmt):
        ident = (row.node, row.document_country, row.document_number)
        if ident == last:
            continue
        last = ident
        if not row.surname:
            continue  # the partner withheld the particulars: nothing to compare
        yield PersonRecord(
            key=partner_key(*ident),
            source="partner",
            node=row.node,
            surname=row.surname,
            given_names=row.given_names or "",
            birth_date=row.birth_date,
            sex=_sex(row.sex),
            nationality=row.nationality,
            document_number=row.document_number,
            document_country=row.document_country,
        )


def gather(session: Session, node: str) -> list[PersonRecord]:
    return [*local_records(session, node), *partner_records(session)]
