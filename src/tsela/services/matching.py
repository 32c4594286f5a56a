"""Exit/entry matching between this node's crossings and those received from the partner.

The matching itself is pure (``tsela.domain.matching``); this module reads the two tables
(``crossing`` with its traveller, document and port; ``partner_crossing``), asks it, and
answers three questions: the report per port and day, the other side's record of the
traveller at the border check, and the partner's records as evidence for the stay rules.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from tsela.domain import decisions as dec
from tsela.domain import matching as m
from tsela.kernel import clock
from tsela.reference import country_name, ports
from tsela.store.models import Crossing, Person, PortOfEntry, TravelDocument
from tsela.store.partner_crossings import PartnerCrossing

if TYPE_CHECKING:
    import pyarrow as pa  # the 'observatory' extra: imported where a table is built

# Reports are per border calendar day (tsela.kernel.clock).
HISTORY_LIMIT = 1000  # partner records looked at per traveller (as the check's own history)
REPORT_ITEMS = 500  # records listed one by one in a report; the counts cover all


def _port_name(code: str, country: str) -> str:
    info = ports().get(code)
    if info is None:
        return code
    return info.name_ls if country == "LSO" else info.name_za


# --------------------------------------------------------------------------- loading


def _local(start: datetime, end: datetime) -> Select[*tuple[Any, ...]]:
    c, p, d, port = Crossing, Person, TravelDocument, PortOfEntry
    return (
        select(
            c.id,
            c.node,
            port.code,
            c.direction,
            c.country,
            c.crossed_at,
            d.number,
            d.issuing_state,
            p.primary_name,
            p.given_names,
            p.birth_date,
        )
        .join(port, port.id == c.port_id)
        .join(p, p.id == c.person_id)
        .outerjoin(d, d.id == c.document_id)
        .where(c.crossed_at >= start, c.crossed_at < end)
    )


def _partner(start: datetime, end: datetime) -> Select[*tuple[Any, ...]]:
    pc = PartnerCrossing
    return select(
        pc.id,
        pc.node,
        pc.port_code,
        pc.direction,
        pc.country,
        pc.crossed_at,
        pc.document_number,
        pc.document_country,
        pc.surname,
        pc.given_names,
        pc.birth_date,
    ).where(pc.crossed_at >= start, pc.crossed_at < end)


def load_crossings(session: Session, start: datetime, end: datetime) -> pa.Table:
    """Both sides' crossings from ``start`` to ``end`` as the matcher's table."""
    import pyarrow as pa

    names = list(m.COLUMNS[:11])
    cols: dict[str, list[Any]] = {n: [] for n in names}
    for stmt in (_local(start, end), _partner(start, end)):
        for row in session.execute(stmt):
            for n, v in zip(names, row, strict=True):
                cols[n].append(v)
    cols["id"] = [str(v) for v in cols["id"]]
    cols["direction"] = [getattr(v, "value", v) for v in cols["direction"]]
    cols["crossed_at"] = [v.astimezone(UTC) for v in cols["crossed_at"]]
    # No resolved identities yet: the same person is recognised by name and birth date.
    cols["person"] = [None] * len(cols["id"])
    return pa.table(cols, schema=m.schema())


# --------------------------------------------------------------------------- the report


@dataclass(frozen=True)
class MatchingReport:
    day: date
    port: str | None
    as_of: datetime
    window_minutes: int
    lines: list[m.PortDay]
    items: list[dict[str, Any]] = field(default_factory=list)  # what did not simply match
    more_items: int = 0


def matching_report(
    session: Session,
    *,
    day: date,
    port: str | None = None,
    now: datetime | None = None,
    window: timedelta = m.WINDOW,
) -> MatchingReport:
    """Matched, mismatched, unmatched and pending crossings at ``port`` (or every port) on
    border day ``day``, as they stand at ``now``; and the records behind all but the
    matched ones. Records up to a window either side of the day are read, so a crossing
    just before midnight still finds its other half."""
    now = now or clock.now()
    start, end = clock.day_start(day), clock.day_end(day)
    margin = window + m.TOLERANCE
    table = load_crossings(session, start - margin, end + margin)
    result = m.match(table, as_of=now, window=window)
    code = port.strip().upper() if port else None
    lines = [
        line for line in result.report() if line.day == day and (code is None or line.port == code)
    ]
    ordinal = (day - date(1970, 1, 1)).days
    is_exit = [d == "exit" for d in table["direction"].to_pylist()]
    port_col = table["port"].to_pylist()
    items: list[dict[str, Any]] = []
    total = 0
    rows = table.to_pylist()
    for i, row in enumerate(rows):
        outcome = result.outcome_of(i)
        if outcome is m.Outcome.MATCHED or int(result.day[i]) != ordinal:
            continue
        if code is not None and port_col[i] != code:
            continue
        other = int(result.counterpart[i])
        if other >= 0 and not is_exit[i]:
            continue  # a pair is listed once, at its exit
        total += 1
        if len(items) >= REPORT_ITEMS:
            continue
        items.append(_item(row, outcome, result, i, rows[other] if other >= 0 else None))
    items.sort(key=lambda it: (it["outcome"], it["crossed_at"]))
    return MatchingReport(
        day=day,
        port=code,
        as_of=now,
        window_minutes=int(window / timedelta(minutes=1)),
        lines=lines,
        items=items,
        more_items=total - len(items),
    )


def matching_counts(
    session: Session,
    *,
    first_day: date,
    last_day: date,
    now: datetime | None = None,
    window: timedelta = m.WINDOW,
) -> list[m.PortDay]:
    """The report's counts for every post and border day from ``first_day`` to ``last_day``
    (one read and one matching for the whole span, as ``matching_report`` reads one day:
    a window either side, so the first and last days' pairs are found)."""
    now = now or clock.now()
    start, end = clock.day_start(first_day), clock.day_end(last_day)
    margin = window + m.TOLERANCE
    table = load_crossings(session, start - margin, end + margin)
    if table.num_rows == 0:
        return []
    result = m.match(table, as_of=now, window=window)
    return [line for line in result.report() if first_day <= line.day <= last_day]


def _record(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "node": row["node"],
        "port": row["port"],
        "port_name": _port_name(row["port"], row["country"]),
        "direction": row["direction"],
        "country": row["country"],
        "crossed_at": row["crossed_at"].isoformat(),
        "document_number": row["document_number"],
        "document_country": row["document_country"],
        "surname": row["surname"],
        "given_names": row["given_names"],
        "birth_date": row["birth_date"].isoformat() if row["birth_date"] else None,
    }


def _item(
    row: dict[str, Any],
    outcome: m.Outcome,
    result: m.Matching,
    i: int,
    other: dict[str, Any] | None,
) -> dict[str, Any]:
    differs = m.Differs(int(result.differs[i]))
    return {
        "outcome": outcome.value,
        **_record(row),
        "differs": [str(f.name).lower() for f in m.Differs if f and f in differs],
        "counterpart": _record(other) if other is not None else None,
    }


# --------------------------------------------------------------------------- at the check


@dataclass(frozen=True)
class AtCheck:
    """What the partner's records add to a border check."""

    history: list[dec.PastCrossing]  # this country's history with the gaps they fill
    reasons: list[dec.Reason]  # one per partner record used for the stay
    shown: dict[str, Any] | None  # the other side's record of this crossing, if any
    # The partner's records of the traveller's documents, newest first (the risk rules look
    # for the same document at another post: services.risk.at_check).
    found: list[PartnerCrossing] = field(default_factory=list)


def _evidence(session: Session, person_id: uuid.UUID) -> list[PartnerCrossing]:
    """The partner's records of any document of this traveller, newest first."""
    pc, d = PartnerCrossing, TravelDocument
    stmt = (
        select(pc)
        .join(d, (d.number == pc.document_number) & (d.issuing_state == pc.document_country))
        .where(d.person_id == person_id)
        .order_by(pc.crossed_at.desc())
        .limit(HISTORY_LIMIT)
    )
    return list(session.scalars(stmt))


def _ago(minutes: int) -> str:
    if minutes < 1:
        return "just now"
    if minutes < 120:
        return f"{minutes} minute{'s' if minutes != 1 else ''} ago"
    hours = minutes // 60
    return f"{hours} hours ago"


def describe(rec: PartnerCrossing, at: datetime, person: Any | None = None) -> dict[str, Any]:
    """The partner's record as the officer sees it: "left Lesotho at Maseru Bridge 14:02,
    11 minutes ago" (English here; the console words it in the officer's language)."""
    where = _port_name(rec.port_code, rec.country)
    land = country_name(rec.country) or rec.country
    local = clock.border_time(rec.crossed_at)
    minutes = max(0, int((at - rec.crossed_at) / timedelta(minutes=1)))
    verb = "left" if rec.direction.value == "exit" else "entered"
    differs = []
    if person is not None:
        for name, mine, theirs in (
            ("surname", person.primary_name, rec.surname),
            ("given_names", person.given_names, rec.given_names),
            ("birth_date", person.birth_date, rec.birth_date),
        ):
            if theirs is None or mine is None:
                continue
            if isinstance(mine, str):
                mine, theirs = " ".join(mine.upper().split()), " ".join(str(theirs).upper().split())
            if mine != theirs:
                differs.append(name)
    return {
        "id": str(rec.id),
        "node": rec.node,
        "direction": rec.direction.value,
        "country": rec.country,
        "country_name": land,
        "port": rec.port_code,
        "port_name": where,
        "crossed_at": rec.crossed_at.isoformat(),
        "local_time": local.strftime("%H:%M"),
        "minutes_before": minutes,
        "summary": f"{verb} {land} at {where} {local:%H:%M}, {_ago(minutes)}",
        "differs": differs,
    }


def at_check(
    session: Session,
    *,
    person: Any,
    issuing_state: str,
    number: str,
    at: datetime,
    direction: str,
    history: Sequence[dec.PastCrossing],
    window: timedelta = m.WINDOW,
) -> AtCheck:
    """The partner's side of a border check (one query): its record of this crossing (the
    latest of this document within ``window`` before ``at``, the other half preferred), and
    its older records as evidence for the stay (``decisions.with_partner_records``)."""
    found = _evidence(session, person.id)
    if not found:
        return AtCheck(list(history), [], None)
    posts = m.shared_posts()
    records = [
        dec.PartnerRecord(
            record_id=str(r.id),
            node=r.node,
            direction=r.direction.value,
            country=r.country,
            crossed_at=r.crossed_at,
            port=r.port_code,
            port_name=_port_name(r.port_code, r.country),
            shared_post=r.port_code in posts,
        )
        for r in found
    ]
    until = at - window
    latest = found[0]
    if (
        direction == "entry"
        and latest.direction.value == "exit"
        and latest.crossed_at <= at + m.TOLERANCE
        and (not history or latest.crossed_at > history[-1].crossed_at)
    ):
        # The partner's last word is that the traveller left for this country, and we have
        # recorded nothing since: that exit is the other half of this entry, however long
        # the queue was, not evidence of an earlier entry we missed.
        until = min(until, latest.crossed_at)
    merged, reasons = dec.with_partner_records(history, records, until=until)
    recent = [
        r
        for r in found
        if r.document_number == number
        and r.document_country == issuing_state
        and at - window <= r.crossed_at <= at + m.TOLERANCE
    ]
    shown = None
    if recent:
        # The other half of this crossing is preferred: an exit there for an entry here.
        half = "exit" if direction == "entry" else "entry"
        best = max(recent, key=lambda r: (r.direction.value == half, r.crossed_at))
        shown = describe(best, at, person)
    return AtCheck(merged, reasons, shown, found)


# --------------------------------------------------------------------------- stay records


def stay_records(
    session: Session, person_id: uuid.UUID, country: str
) -> tuple[list[dec.PastCrossing], list[dec.PartnerRecord]]:
    """A traveller's crossings into and out of ``country`` (oldest first) as known here, and
    the records of the other country as evidence for their gaps.

    ``country``'s own records are first-hand: this node's when it is this node's country,
    the partner's (received through the exchange) when it is the partner's. A record of the
    same crossing held twice (a single node keeping both sides, as in the demo) counts once.
    """
    c, port = Crossing, PortOfEntry
    local = session.execute(
        select(c.id, c.node, c.direction, c.country, c.crossed_at, port.code)
        .join(port, port.id == c.port_id)
        .where(c.person_id == person_id)
        .order_by(c.crossed_at.desc())
        .limit(2 * HISTORY_LIMIT)
    ).all()
    rows = [(str(i), n, d.value, k, t, code) for i, n, d, k, t, code in local]
    rows += [
        (str(r.id), r.node, r.direction.value, r.country, r.crossed_at, r.port_code)
        for r in _evidence(session, person_id)
    ]
    rows.sort(key=lambda r: r[4])
    history: list[dec.PastCrossing] = []
    evidence: list[dec.PartnerRecord] = []
    posts = m.shared_posts()
    for record_id, node, direction, where, at, code in rows:
        if where == country:
            same = [
                h
                for h in history[-3:]
                if h.direction == direction and abs(h.crossed_at - at) <= m.TOLERANCE
            ]
            if not same:
                history.append(dec.PastCrossing(direction, at, code))
        else:
            evidence.append(
                dec.PartnerRecord(
                    record_id=record_id,
                    node=node,
                    direction=direction,
                    country=where,
                    crossed_at=at,
                    port=code,
                    port_name=_port_name(code, where),
                    shared_post=code in posts,
                )
            )
    return history[-HISTORY_LIMIT:], evidence
