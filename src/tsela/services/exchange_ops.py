"""The exchange as operations see it: partners, last batch, lag and its alert, errors, and the
crossings that found no counterpart on the other side.

One answer for ``tsela exchange status``, ``GET /v1/exchange/status`` and the supervisors'
page ``/exchange``: ``overview`` (the partners' status of ``services.exchange.status`` with the
unmatched counts of ``services.matching``), and the lists an operator pages through — the
refusals and connection errors recorded in the audit log, and the signed batches kept in the
message log (whose ids ``tsela exchange evidence`` takes).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tsela.domain.matching import WINDOW, PortDay
from tsela.kernel import clock
from tsela.services import exchange as svc
from tsela.services.matching import matching_counts
from tsela.store.exchange import MessageLogEntry
from tsela.store.models import AuditEvent

UNMATCHED_DAYS = 7  # border days the unmatched counts cover by default (today included)
MAX_DAYS = 31
COUNTS = (
    "matched",
    "mismatches",
    "unmatched_exits",
    "unmatched_entries",
    "pending",
    "no_counterpart_port",
)


class OpsInputError(ValueError):
    """A parameter out of range; the message says which and what is allowed."""


@dataclass(frozen=True)
class Unmatched:
    """The matching report's counts over the last ``days`` border days: totals, and the
    lines (post and day) with anything other than matched pairs, newest day first."""

    first_day: date
    last_day: date
    window_minutes: int
    totals: dict[str, int]
    lines: list[PortDay]

    def as_dict(self) -> dict[str, Any]:
        return {
            "first_day": self.first_day.isoformat(),
            "last_day": self.last_day.isoformat(),
            "window_minutes": self.window_minutes,
            "totals": dict(self.totals),
            "lines": [{**vars(line), "day": line.day.isoformat()} for line in self.lines],
        }


def check_days(days: int) -> int:
    if not 1 <= days <= MAX_DAYS:
        raise OpsInputError(f"days must be from 1 to {MAX_DAYS}, not {days}")
    return days


def unmatched(session: Session, now: datetime, days: int = UNMATCHED_DAYS) -> Unmatched:
    """Exits with no entry after the window and the reverse (and mismatches, pairs still
    within the window, crossings at a post with no counterpart) over the last ``days``
    border days up to ``now``."""
    last = clock.border_day(now)
    first = last - timedelta(days=check_days(days) - 1)
    lines = matching_counts(session, first_day=first, last_day=last, now=now)
    totals = {name: sum(getattr(line, name) for line in lines) for name in COUNTS}
    problems = [line for line in lines if any(getattr(line, n) for n in COUNTS[1:])]
    problems.sort(key=lambda line: (-line.day.toordinal(), line.port))
    return Unmatched(
        first_day=first,
        last_day=last,
        window_minutes=int(WINDOW / timedelta(minutes=1)),
        totals=totals,
        lines=problems,
    )


def overview(
    session: Session, *, node: str, now: datetime, lag_alert_s: int, days: int = UNMATCHED_DAYS
) -> dict[str, Any]:
    """Everything ``tsela exchange status`` and ``GET /v1/exchange/status`` show."""
    found = svc.status(session, now, lag_alert_s)
    return {
        "node": node,
        "as_of": now.isoformat(),
        "lag_alert_s": lag_alert_s,
        **found,
        "unmatched": unmatched(session, now, days).as_dict(),
    }


def refusals(session: Session, *, limit: int, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """Refused batches and failed connections to partners, newest first (from the audit log,
    where ``services.exchange`` records each), and how many there are in all."""
    where = AuditEvent.action == "exchange.refused"
    total = session.scalar(select(func.count()).select_from(AuditEvent).where(where)) or 0
    rows = session.scalars(
        select(AuditEvent)
        .where(where)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(limit)
        .offset(offset)
    )
    items = [
        {
            "at": e.at.isoformat(),
            "partner": e.entity_id,
            "code": str(e.detail.get("code", "")),
            "message": str(e.detail.get("message", "")),
        }
        for e in rows
    ]
    return items, total


def batches(session: Session, *, limit: int, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """The signed batches received (the message log, kept for the retention period), newest
    first, and how many are kept."""
    m = MessageLogEntry
    total = session.scalar(select(func.count()).select_from(m)) or 0
    rows = session.execute(
        select(m.id, m.node, m.received_at, m.first_seq, m.last_seq, m.records, m.kid)
        .order_by(m.received_at.desc(), m.last_seq.desc())
        .limit(limit)
        .offset(offset)
    )
    items = [
        {
            "id": str(r.id),
            "partner": r.node,
            "received_at": r.received_at.isoformat(),
            "first_seq": r.first_seq,
            "last_seq": r.last_seq,
            "records": r.records,
            "kid": r.kid,
        }
        for r in rows
    ]
    return items, total
