"""Children at the check: what the officer records about a child's travel (the case, the
documents seen, the accompanying adults named by their document), the adults' checks at the
same desk found, and the links kept (``CheckCompanion``). The rules are
``tsela.domain.children``'s."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tsela.domain import children as rules
from tsela.ids import new_id
from tsela.kernel.errors import Invalid
from tsela.store.checks import BorderCheck, CheckCompanion
from tsela.store.models import Person, TravelDocument

SAME_DESK = timedelta(hours=2)  # an adult's check this recent, at this port, accompanies
MAX_ADULTS = 4


@dataclass(frozen=True)
class ChildTravel:
    """As typed at the desk or sent to POST /v1/checks."""

    case: str
    documents_seen: tuple[str, ...] = ()
    adults: tuple[str, ...] = ()  # document numbers of adults checked at the same desk


@dataclass(frozen=True)
class Companion:
    check_id: uuid.UUID
    person_id: uuid.UUID
    document_number: str
    name: str


@dataclass(frozen=True)
class ChildInput:
    """What the check needs: the recorded travel (validated) and the adults' checks."""

    travel: rules.Travel | None
    companions: tuple[Companion, ...] = ()


def _numbers(adults: tuple[str, ...]) -> list[str]:
    out: list[str] = []
    for typed in adults:
        number = typed.strip().upper().replace(" ", "")
        if number and number not in out:
            out.append(number)
    if len(out) > MAX_ADULTS:
        raise Invalid("child.too_many_adults", "name at most %(max)s adults", max=MAX_ADULTS)
    for number in out:
        if len(number) > 20 or "\x00" in number or not number.isascii():
            raise Invalid(
                "child.bad_adult_document",
                "an accompanying adult's document number is 1 to 20 letters and digits",
            )
    return out


def prepare(
    session: Session,
    recorded: ChildTravel | None,
    *,
    port_id: uuid.UUID,
    direction: Any,
    at: datetime,
    day: date,
    child_person_id: uuid.UUID,
) -> ChildInput:
    """The child's travel as the check weighs it; each adult named is found by the latest
    check of their document at this port, in this direction, in the last ``SAME_DESK``
    (``Invalid`` if none, or if that traveller is a child or the child themself)."""
    if recorded is None:
        return ChildInput(None)
    found: list[Companion] = []
    for number in _numbers(recorded.adults):
        row = session.execute(
            select(
                BorderCheck.id,
                Person.id,
                Person.birth_date,
                Person.given_names,
                Person.primary_name,
            )
            .join(TravelDocument, TravelDocument.id == BorderCheck.document_id)
            .join(Person, Person.id == BorderCheck.person_id)
            .where(
                TravelDocument.number == number,
                BorderCheck.port_id == port_id,
                BorderCheck.direction == direction,
                BorderCheck.checked_at >= at - SAME_DESK,
                BorderCheck.checked_at <= at,
            )
            .order_by(BorderCheck.checked_at.desc())
            .limit(1)
        ).first()
        if row is None:
            raise Invalid(
                "child.adult_not_checked",
                "no check of document %(number)s at this port in the last %(hours)s hours: "
                "check the accompanying adult first",
                number=number,
                hours=int(SAME_DESK.total_seconds() // 3600),
            )
        check_id, person_id, birth, given, surname = row
        if person_id == child_person_id:
            raise Invalid(
                "child.adult_is_child",
                "document %(number)s is the child's own",
                number=number,
            )
        if rules.is_child(birth, day):
            raise Invalid(
                "child.adult_is_minor",
                "the holder of document %(number)s is under %(age)s: not an accompanying adult",
                number=number,
                age=rules.rules().age_of_majority,
            )
        found.append(Companion(check_id, person_id, number, f"{given} {surname}".strip()))
    travel = rules.travel(recorded.case, recorded.documents_seen, len(found))
    return ChildInput(travel, tuple(found))


def columns(child: ChildInput) -> dict[str, Any]:
    """The check's child columns."""
    if child.travel is None:
        return {}
    seen = [d for d in rules.rules().documents if d in child.travel.seen]
    return {"child_case": child.travel.case, "child_documents": seen}


def link(
    session: Session, *, node: str, check_id: uuid.UUID, child: ChildInput, now: datetime
) -> None:
    """Keep the links from the child's check to the adults' checks."""
    for c in child.companions:
        session.add(
            CheckCompanion(
                id=new_id(),
                node=node,
                created_at=now,
                check_id=check_id,
                adult_check_id=c.check_id,
                adult_person_id=c.person_id,
                document_number=c.document_number,
            )
        )
    if child.companions:
        session.flush()


def summary(birth: date | None, day: date, child: ChildInput) -> dict[str, Any] | None:
    """What the check answers about a child (None for an adult)."""
    if birth is None or not rules.is_child(birth, day):
        return None
    known = rules.rules()
    travel = child.travel
    case = known.cases[travel.case] if travel else None
    return {
        "age": rules.age_on(birth, day),
        "case": travel.case if travel else None,
        "documents_required": [list(g) for g in case.required] if case else [],
        "documents_seen": [d for d in known.documents if travel and d in travel.seen],
        "documents_missing": [list(g) for g in rules.missing(case, travel.seen)]
        if case and travel
        else [],
        "accompanied_by": [
            {
                "check_id": str(c.check_id),
                "person_id": str(c.person_id),
                "document_number": c.document_number,
                "name": c.name,
            }
            for c in child.companions
        ],
    }
