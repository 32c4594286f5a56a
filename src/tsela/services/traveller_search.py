"""The officer's search for a traveller by name and date of birth (issue 21): for a traveller
whose document cannot be read, or who has none at hand.

The date of birth narrows the register to the few born that day; their names are compared as
the watchlists compare them (``tsela.domain.screening.lookup``: both Sesotho spellings). A
search reads personal data, and the audit log says who searched and whom it showed (the names
asked for are not written there: they are personal data too).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tsela.domain.screening import ScreeningInputError, normalise_name
from tsela.domain.screening.lookup import name_matches
from tsela.kernel.actor import Actor
from tsela.kernel.errors import Invalid
from tsela.reference import country_name, port_display_name
from tsela.services import audit
from tsela.store.models import Crossing, Person, PortOfEntry, TravelDocument

PAGE_SIZE = 20
MAX_BORN_SAME_DAY = 5000  # the register's people born on one day, looked at in one search


@dataclass(frozen=True)
class Found:
    person_id: uuid.UUID
    surname: str
    given_names: str
    birth_date: date | None
    nationality: str
    nationality_name: str | None
    documents: list[dict[str, Any]]  # type, issuing_state, number, expiry_date, status
    last_crossing: dict[str, Any] | None  # direction, country, crossed_at, port_name


@dataclass(frozen=True)
class Results:
    found: list[Found]
    total: int
    page: int
    pages: int


def search(
    session: Session,
    *,
    node: str,
    actor: Actor,
    surname: str,
    given_names: str,
    birth_date: date | None,
    page: int = 1,
    source: str = "",
) -> Results:
    """The travellers of that surname (and given names, if typed) born on ``birth_date``,
    ``PAGE_SIZE`` a page, by name."""
    if not surname.strip() or birth_date is None:
        raise Invalid("search.incomplete", "give the surname and the date of birth")
    try:
        family = normalise_name(surname[:120], "surname")
        given = normalise_name(given_names[:160], "given names") if given_names.strip() else None
    except ScreeningInputError as exc:
        raise Invalid("search.name", "%(why)s", why=str(exc)) from None
    rows = session.execute(
        select(Person.id, Person.primary_name, Person.given_names, Person.nationality)
        .where(Person.birth_date == birth_date)
        .order_by(Person.primary_name, Person.given_names, Person.id)
        .limit(MAX_BORN_SAME_DAY)
    ).all()
    matched = [r for r in rows if name_matches(family, given, r[1], r[2])]
    pages = max(1, -(-len(matched) // PAGE_SIZE))
    page = min(max(page, 1), pages)
    shown = matched[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    ids = [r[0] for r in shown]
    documents: dict[uuid.UUID, list[dict[str, Any]]] = {i: [] for i in ids}
    if ids:
        for d in session.scalars(
            select(TravelDocument)
            .where(TravelDocument.person_id.in_(ids))
            .order_by(TravelDocument.expiry_date.desc())
        ):
            documents[d.person_id].append(
                {
                    "type": d.document_type,
                    "issuing_state": d.issuing_state,
                    "number": d.number,
                    "expiry_date": d.expiry_date.isoformat() if d.expiry_date else None,
                    "status": d.status.value,
                }
            )
    found = [
        Found(
            person_id=pid,
            surname=name,
            given_names=given_of,
            birth_date=birth_date,
            nationality=nationality,
            nationality_name=country_name(nationality),
            documents=documents[pid],
            last_crossing=_last_crossing(session, pid),
        )
        for pid, name, given_of, nationality in shown
    ]
    audit.record(
        session,
        actor=actor.username,
        action="person.search",
        node=node,
        entity="person",
        source=source,
        detail={"found": len(matched), "page": page, "shown": [str(i) for i in ids]},
    )
    return Results(found, len(matched), page, pages)


def _last_crossing(session: Session, person_id: uuid.UUID) -> dict[str, Any] | None:
    row = session.execute(
        select(Crossing.direction, Crossing.country, Crossing.crossed_at, PortOfEntry)
        .join(PortOfEntry, PortOfEntry.id == Crossing.port_id)
        .where(Crossing.person_id == person_id)
        .order_by(Crossing.crossed_at.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    direction, country, at, port = row
    return {
        "direction": direction.value,
        "country": country,
        "crossed_at": at.isoformat(),
        "port_name": port_display_name(port.name_za, port.name_ls),
    }
