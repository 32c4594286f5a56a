"""Days of stay a worker has left in the other country, as the border check counts them.

Composed from the same public pieces as the check (``stays_from_history``, the stay rule
files, ``staylib.evaluate`` with permits that lift the limit), read-only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from tsela.domain import decisions as dec
from tsela.domain import stay as staylib
from tsela.services import matching as exchange_matching
from tsela.services import permits as permit_service
from tsela.store.models import Person


@dataclass(frozen=True)
class StayLeft:
    country: str
    inside: bool  # the last recorded crossing into that country has no exit yet
    days_used: int
    days_remaining: int | None  # None when a permit lifts the limit
    latest_exit: date | None
    permit_number: str | None  # the permit that lifts the limit, if any
    rule: str


def stay_left(session: Session, person: Person, today: date) -> StayLeft | None:
    """None for a traveller with no stay rule (or no other country to count)."""
    country = (
        "ZAF" if person.nationality == "LSO" else "LSO" if person.nationality == "ZAF" else None
    )
    if country is None:
        return None
    try:
        rule = staylib.select_rule(staylib.load_rules(), person.nationality, country, today)
    except staylib.UnknownRuleError:
        return None
    # That country's records (the partner's, when it is the partner's country), with the
    # other country's filling their gaps.
    history, evidence = exchange_matching.stay_records(session, person.id, country)
    stays = dec.stays_from_history(history, evidence)
    covering = [
        p
        for p in permit_service.valid_permits_for(session, person.id, today)
        if p.country == country and p.overrides_stay_limit
    ]
    covers = [
        staylib.PermitCover(p.valid_from, p.valid_to, p.permit_type)
        for p in covering
        if p.valid_from and p.valid_to
    ]
    try:
        assessment = staylib.evaluate(
            rule, [staylib.Stay(a, b) for a, b in stays], as_of=today, permits=covers
        )
    except staylib.StayInputError:
        return None
    return StayLeft(
        country=country,
        inside=bool(stays) and stays[-1][1] is None,
        days_used=assessment.days_used,
        days_remaining=None if covering else assessment.days_remaining,
        latest_exit=None if covering else assessment.latest_exit,
        permit_number=covering[0].number if covering else None,
        rule=rule.id,
    )
