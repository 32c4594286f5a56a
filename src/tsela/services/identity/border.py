"""The traveller's identity within a border check (issue 17 item 3).

The check shows the traveller's other records ("also known as": linked ones and candidates,
``realtime.also_known_as``) and REFERs when the *linked* records (never mere candidates)
show what the traveller's own record does not: two valid passports of different states, an
entry ban, a watchlist hit or an overstay on another record of the same person.

The traveller's stay and crossing history are those of the whole identity: ``linked_people``
gives the persons of this node linked to the traveller's (an old passport's and a new one's),
whose crossings the check reads as one traveller's (``services.checks.run_check``).

Without a trained model the check is what it was: nothing shown, no reason, the traveller's
own crossings only.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import Session

from tsela.domain import decisions as dec
from tsela.domain import stay as staylib
from tsela.domain.identity import PersonRecord
from tsela.domain.reasons import Reason, Severity, reason
from tsela.domain.values import Direction, DocumentStatus
from tsela.services import refusals as refusal_service
from tsela.services.identity.realtime import AlsoKnownAs, also_known_as, parameters
from tsela.services.identity.records import person_key
from tsela.store.identity import IdentityRecord
from tsela.store.models import TravelDocument

NOBODY = uuid.UUID(int=0)  # a partner's record names no person of this node

Screen = Callable[[AlsoKnownAs, date], Sequence[dec.WatchlistFinding]]
History = Callable[[uuid.UUID], Sequence[dec.PastCrossing]]


@dataclass
class AtCheck:
    shown: list[dict[str, Any]] = field(default_factory=list)  # "also known as"
    reasons: list[Reason] = field(default_factory=list)


_R = IdentityRecord.__table__.c
# The persons of this node (its ``person`` rows, whichever node created them) in the
# traveller's resolved identity, but the traveller's own.
_LINKED = (
    select(_R.person_id)
    .where(
        _R.identity_id
        == select(_R.identity_id).where(_R.record_key == bindparam("own")).scalar_subquery(),
        _R.source == "person",
        _R.person_id.is_not(None),
        _R.record_key != bindparam("own"),
    )
    .order_by(_R.person_id)
)


def linked_people(session: Session, person_id: uuid.UUID) -> list[uuid.UUID]:
    """The other persons of this node linked to ``person_id`` (the same resolved identity:
    linked by the model above the auto-link threshold or by a supervisor; never a mere
    candidate). None without an active model."""
    if parameters(session) is None:
        return []
    rows = session.connection().execute(_LINKED, {"own": person_key(person_id)})
    return [p for (p,) in rows if p is not None]


def _document(other: AlsoKnownAs) -> str:
    if other.document_number:
        return f"{other.document_country or '?'} {other.document_number}"
    return other.record_key


def _birth(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _two_passports(
    session: Session, people: list[uuid.UUID], issuing_state: str, day: date
) -> list[Reason]:
    docs = session.execute(
        select(TravelDocument.issuing_state, TravelDocument.number)
        .where(
            TravelDocument.person_id.in_(people),
            TravelDocument.document_type.like("P%"),
            TravelDocument.status == DocumentStatus.VALID,
            or_(TravelDocument.expiry_date.is_(None), TravelDocument.expiry_date >= day),
        )
        .order_by(TravelDocument.issuing_state, TravelDocument.number)
    ).all()
    states = {s for s, _n in docs}
    if len(states) < 2:
        return []
    mine = issuing_state if issuing_state in states else sorted(states)[0]
    out: list[Reason] = []
    said: set[str] = set()
    for state, number in docs:
        if state == mine or state in said:
            continue
        said.add(state)
        out.append(
            reason(
                "identity.two_passports", other_country=state, other_document=f"{state} {number}"
            )
        )
    return out


def at_check(
    session: Session,
    *,
    record: PersonRecord,
    country: str,
    direction: str,
    day: date,
    screen: Screen | None,
    history: History,
) -> AtCheck:
    """The "also known as" of the traveller's ``record`` and the reasons its linked records
    give (``screen``: the watchlists, as the check screens its traveller; ``history``: a
    person's crossings into and out of ``country``, oldest first)."""
    params = parameters(session)
    if params is None:
        return AtCheck()
    others = also_known_as(session, record, params=params)
    out = AtCheck(shown=[o.as_dict() for o in others])
    linked = [o for o in others if o.linked]
    if not linked:
        return out
    people = [p for p in (record.person_id, *(o.person_id for o in linked)) if p is not None]
    out.reasons += _two_passports(session, people, record.document_country or "", day)
    for other in linked:
        doc = _document(other)
        bans = refusal_service.ban_reasons(
            session,
            person_id=other.person_id or NOBODY,
            surname=other.surname,
            birth_date=_birth(other.birth_date),
            nationality=other.nationality or "",
            issuing_state=other.document_country or "",
            number=other.document_number or "",
            country=country,
            direction=direction,
            day=day,
        )
        if any(b.severity >= Severity.REFER for b in bans):
            out.reasons.append(reason("identity.other_record", "ban", document=doc))
        if screen is not None:
            hits = screen(other, day)
            if hits:
                best = max(hits, key=lambda h: h.score)
                out.reasons.append(
                    reason("identity.other_record", "watchlist", document=doc, list=best.list_name)
                )
        if other.person_id is not None and other.nationality and other.nationality != country:
            stay, _said = staylib.assess_crossing(
                nationality=other.nationality,
                country=country,
                direction=Direction.EXIT,
                day=day,
                history=history(other.person_id),
            )
            if stay is not None and stay.overstay_days > 0:
                out.reasons.append(
                    reason(
                        "identity.other_record", "overstay", document=doc, days=stay.overstay_days
                    )
                )
    return out


def shown(session: Session, record: PersonRecord) -> list[dict[str, Any]]:
    """The "also known as" of a check shown again (read as the identities stand now)."""
    params = parameters(session)
    if params is None:
        return []
    return [o.as_dict() for o in also_known_as(session, record, params=params)]


def traveller_record(
    *,
    node: str,
    person_id: uuid.UUID,
    surname: str,
    given_names: str,
    birth_date: date | None,
    sex: str | None,
    nationality: str,
    number: str,
    issuing_state: str,
) -> PersonRecord:
    """The person record of the traveller at the desk, with the document presented."""
    return PersonRecord(
        key=person_key(person_id),
        source="person",
        node=node,
        surname=surname,
        given_names=given_names,
        birth_date=birth_date,
        sex=sex if sex in ("M", "F") else None,
        nationality=nationality,
        document_number=number,
        document_country=issuing_state,
        person_id=person_id,
    )
