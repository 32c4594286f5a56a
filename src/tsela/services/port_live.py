"""A port's day as its supervisor follows it (issue 21): the crossings recorded per hour and
direction, the checks per decision, the watchlist matches, and each officer's checks and
overrides. Border time (UTC+2) throughout; counts only, no traveller's name.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from tsela.domain.values import Decision
from tsela.kernel import clock
from tsela.kernel.errors import NotFound
from tsela.reference import port_display_name
from tsela.store.checks import BorderCheck
from tsela.store.models import Crossing, PortOfEntry, User

HOURS = range(24)


@dataclass(frozen=True)
class OfficerDay:
    username: str
    checks: int
    refer: int
    deny: int
    overrides: int


@dataclass(frozen=True)
class PortDay:
    code: str
    name: str
    day: date
    crossings: dict[str, list[int]]  # direction -> 24 hourly counts (border time)
    peak: int  # the busiest hour's count in one direction (the bars' scale)
    checks: dict[str, int]  # decision -> count
    hits: list[dict[str, Any]]  # check_id, time, decision, codes, overridden
    officers: list[OfficerDay]

    @property
    def total(self) -> dict[str, int]:
        return {d: sum(v) for d, v in self.crossings.items()}


def port_day(session: Session, code: str, day: date) -> PortDay:
    """The day ``day`` at port ``code`` (``NotFound`` for a port not loaded)."""
    port = session.scalar(select(PortOfEntry).where(PortOfEntry.code == code.upper()))
    if port is None:
        raise NotFound("port.not_found", "no port %(port)s", port=code.upper())
    start, end = clock.day_start(day), clock.day_end(day)
    crossings: dict[str, list[int]] = {"entry": [0] * 24, "exit": [0] * 24}
    for direction, at in session.execute(
        select(Crossing.direction, Crossing.crossed_at).where(
            Crossing.port_id == port.id, Crossing.crossed_at >= start, Crossing.crossed_at < end
        )
    ):
        crossings[direction.value][clock.border_time(at).hour] += 1
    officer = aliased(User)
    decisions: Counter[str] = Counter()
    per_officer: dict[str, Counter[str]] = defaultdict(Counter)
    hits: list[dict[str, Any]] = []
    for check, username in session.execute(
        select(BorderCheck, officer.username)
        .outerjoin(officer, officer.id == BorderCheck.officer_id)
        .where(
            BorderCheck.port_id == port.id,
            BorderCheck.checked_at >= start,
            BorderCheck.checked_at < end,
        )
        .order_by(BorderCheck.checked_at)
    ):
        decision = check.decision.value
        decisions[decision] += 1
        mine = per_officer[username or "—"]
        mine["checks"] += 1
        mine[decision] += 1
        if check.override_reason is not None:
            mine["overrides"] += 1
        codes = sorted({r["code"] for r in check.reasons if r["code"].startswith("watchlist.")})
        if codes:
            hits.append(
                {
                    "check_id": str(check.id),
                    "at": check.checked_at,
                    "decision": decision,
                    "codes": codes,
                    "overridden": check.override_reason is not None,
                    "officer": username,
                }
            )
    officers = sorted(
        (
            OfficerDay(
                name,
                c["checks"],
                c[Decision.REFER.value],
                c[Decision.DENY.value],
                c["overrides"],
            )
            for name, c in per_officer.items()
        ),
        key=lambda o: (-o.overrides, -o.checks, o.username),
    )
    return PortDay(
        code=port.code,
        name=port_display_name(port.name_za, port.name_ls),
        day=day,
        crossings=crossings,
        peak=max(max(v) for v in crossings.values()),
        checks={d.value: decisions[d.value] for d in Decision},
        hits=hits,
        officers=officers,
    )
