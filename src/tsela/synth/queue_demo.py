"""Queue history and a live queue for the demo (issue 20, item 5): the public wait page
shows figures while the demo runs.

For three ports of each node (Maseru Bridge at an ordinary day's volume, Ficksburg Bridge at
half, Caledonspoort at a fifth), both directions: the same weekday of the past four weeks,
and today up to now — written again up to the new now each time it is called (the demo calls
it every half minute while it serves). Days from 15 December to 5 January are peak days.
The simulated days are seeded by node, port, direction and day, so a second call writes the
same history and only today's new moments.
"""

from __future__ import annotations

import math
import zlib
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, insert, select

from tsela.domain.values import Direction
from tsela.ids import new_id
from tsela.kernel.clock import border_day, day_start
from tsela.store.db import session_factory, transaction
from tsela.store.models import PortOfEntry
from tsela.store.waits import QueueEvent, QueueEventKind
from tsela.synth.queues import ORDINARY, ORDINARY_DESKS, peak_day, simulate_day

PORTS = {"MSU": 1.0, "FKB": 0.5, "CAL": 0.2}
WEEKS = 4


def _is_peak(day: date) -> bool:
    return (day.month == 12 and day.day >= 15) or (day.month == 1 and day.day <= 5)


def _rows(node: str, port: tuple[str, Any], direction: Direction, day: date, scale: float,
          since: datetime | None, until: datetime) -> list[dict[str, Any]]:  # fmt: skip
    rates, desks = peak_day() if _is_peak(day) else (list(ORDINARY), list(ORDINARY_DESKS))
    code, port_id = port
    seed = zlib.crc32(f"{node}{code}{direction.value}{day.isoformat()}".encode())
    sim = simulate_day(
        day,
        per_hour=[r * scale for r in rates],
        desks=[max(1, math.ceil(d * scale)) for d in desks],
        seed=seed,
    )
    base = {"node": node, "port_id": port_id, "direction": direction, "lane": "general"}

    def keep(at: datetime) -> bool:
        return at <= until and (since is None or at > since)

    rows = [{**base, "id": new_id(), "kind": QueueEventKind.ARRIVAL, "at": at, "desk": None}
            for at in sim.arrivals if keep(at)]  # fmt: skip
    rows += [{**base, "id": new_id(), "kind": QueueEventKind.TURN, "at": at, "desk": desk}
             for at, desk in sim.turns if keep(at)]  # fmt: skip
    return rows


def write(engine: Engine, node: str, now: datetime) -> int:
    """Write what is missing up to ``now``; the number of queue events written."""
    today = border_day(now)
    written = 0
    with transaction(session_factory(engine)) as s:
        ports = {p.code: p.id for p in s.scalars(
            select(PortOfEntry).where(PortOfEntry.code.in_(PORTS)))}  # fmt: skip
        for code, scale in PORTS.items():
            port_id = ports.get(code)
            if port_id is None:
                continue
            for direction in Direction:
                # The demo's queues are the general lane's: a fast-lane scan already recorded
                # today must not make the general lane's day look written.
                where = (
                    QueueEvent.port_id == port_id,
                    QueueEvent.direction == direction,
                    QueueEvent.lane == "general",
                )
                started = s.scalar(select(func.min(QueueEvent.at)).where(*where))
                rows: list[dict[str, Any]] = []
                if started is None or started >= day_start(today):
                    for weeks in range(WEEKS, 0, -1):
                        day = today - timedelta(weeks=weeks)
                        rows += _rows(node, (code, port_id), direction, day, scale, None,
                                      day_start(day + timedelta(days=1)))  # fmt: skip
                latest = s.scalar(select(func.max(QueueEvent.at)).where(
                    *where, QueueEvent.at >= day_start(today)))  # fmt: skip
                rows += _rows(node, (code, port_id), direction, today, scale, latest, now)
                if rows:
                    s.execute(insert(QueueEvent.__table__), rows)
                    written += len(rows)
    return written
