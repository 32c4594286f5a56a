"""A traveller's own "how long may I still stay" check (issue 20, item 4), public and
rate-limited, as the EU Entry/Exit System offers its travellers.

The traveller gives what is printed in their passport: its number, their birth date and the
passport's expiry date. All three must match one passport Tsela knows; the answer is then
the days used and the latest lawful exit under the rule that applies (the same count the
border check makes: ``services.stay_left``) and nothing else — no name, no crossings, no
permits beyond whether one lifts the limit. Any mismatch (no such passport, a wrong birth
date, a wrong expiry) gives one and the same answer, so the check cannot tell a stranger
whether a passport exists or whose it is.

Every attempt is counted against the caller's address in the database (so every worker of
the server shares the count): ``FREE_ATTEMPTS`` a day, then one attempt per wait, the wait
doubling up to an hour. Every attempt is audited with the address and whether it matched,
never with the passport number.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import case, null, or_, select, update
from sqlalchemy.orm import Session

from tsela.domain import throttle
from tsela.domain.screening import normalise_document
from tsela.services import audit
from tsela.services.stay_left import StayLeft, stay_left
from tsela.store.auth import LoginThrottle, add_throttle_key, seconds_until_allowed
from tsela.store.models import Person, TravelDocument

__all__ = ["POLICY", "SelfCheckThrottled", "StayLeft", "count_attempt", "self_check"]

# Ten checks a day from one address are free (a family at one phone); then one every 30 s,
# 60 s, ... up to one an hour. Failures are forgotten after a day without attempts.
POLICY = throttle.Policy(
    "selfcheck", free=10, first_wait=timedelta(seconds=30), max_wait=timedelta(hours=1)
)
AUDIT_ACTION = "stay.self_check"


class SelfCheckThrottled(Exception):
    """Too many checks from one address: try again after ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many checks from this address: try again in {retry_after} s")
        self.retry_after = retry_after


@dataclass(frozen=True)
class _Attempt:
    allowed: bool
    retry_after: int


def count_attempt(
    session: Session, node: str, source: str, now: datetime, policy: throttle.Policy = POLICY
) -> _Attempt:
    """Count one attempt for ``source`` under ``policy`` (its scope names the key) in one
    atomic UPDATE, if the key lets it through. Other public forms count theirs here too."""
    key = f"{policy.scope}:{source}"[:200]
    table = LoginThrottle.__table__
    add_throttle_key(session, node, key, now)
    t = table.c
    forgotten = or_(t.last_failure_at.is_(None), t.last_failure_at < now - throttle.FORGET_AFTER)
    counted = case((forgotten, 1), else_=t.failures + 1)
    row = session.execute(
        update(table)
        .where(
            t.key == key,
            or_(forgotten, t.next_allowed_at.is_(None), t.next_allowed_at <= now),
        )
        .values(failures=counted, last_failure_at=now, next_allowed_at=null())
        .returning(t.failures)
    ).first()
    if row is None:
        return _Attempt(False, seconds_until_allowed(session, key, now))
    wait_next = policy.wait_after(row[0])
    if wait_next:
        session.execute(update(table).where(t.key == key).values(next_allowed_at=now + wait_next))
    return _Attempt(True, 0)


def _passport_holder(
    session: Session, number: str, birth_date: date, expiry: date
) -> Person | None:
    wanted = normalise_document(number)
    if not wanted or len(wanted) > 20:
        return None
    found = session.scalars(
        select(Person)
        .join(TravelDocument, TravelDocument.person_id == Person.id)
        .where(
            TravelDocument.number == wanted,
            TravelDocument.expiry_date == expiry,
            Person.birth_date == birth_date,
        )
        .limit(2)
    ).all()
    # Two people with one number, birth date and expiry (two issuing states) cannot be told
    # apart from what the traveller typed: no answer rather than someone else's.
    return found[0] if len(found) == 1 else None


def self_check(
    session: Session,
    *,
    node: str,
    source: str,
    number: str,
    birth_date: date,
    expiry: date,
    today: date,
    now: datetime,
) -> StayLeft | None:
    """The traveller's days of stay, or None when the details match no one passport (or no
    stay rule applies to its holder). Raises :class:`SelfCheckThrottled` past the limit;
    the caller commits in both cases (the attempt counts)."""
    attempt = count_attempt(session, node, source, now)
    if not attempt.allowed:
        audit.record(
            session, actor="public", action=AUDIT_ACTION, node=node, source=source,
            detail={"outcome": "throttled"}, at=now,
        )  # fmt: skip
        raise SelfCheckThrottled(attempt.retry_after)
    holder = _passport_holder(session, number, birth_date, expiry)
    answer = stay_left(session, holder, today) if holder is not None else None
    audit.record(
        session, actor="public", action=AUDIT_ACTION, node=node, source=source,
        detail={"outcome": "answered" if answer is not None else "no_match"}, at=now,
    )  # fmt: skip
    return answer
