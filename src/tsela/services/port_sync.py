"""What a port needs to keep working offline, and taking back what it recorded meanwhile.

The snapshot carries the watchlists (persons and documents) in Tsela's own import format
(CSV), so the port client loads them with the very importer the server uses, into a local
database with the same schema: offline checks then run the same code as online ones.
"""

from __future__ import annotations

import csv
import io
import logging
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tsela.domain.icao_codes import iso_country
from tsela.domain.values import DocumentStatus
from tsela.kernel import clock
from tsela.kernel.actor import Actor
from tsela.services import checks as svc
from tsela.services import permit_trust
from tsela.services.keys import KeyStoreError
from tsela.store import partner_alerts
from tsela.store.models import Crossing, Person, PortOfEntry, TravelDocument
from tsela.store.watchlists import (
    PUBLISHED,
    DocumentAlert,
    Watchlist,
    WatchlistEntry,
    WatchlistKind,
)

PERSON_COLUMNS = (
    "id",
    "name",
    "aliases",
    "birth_date",
    "nationality",
    "category",
    "reason",
    "valid_from",
    "valid_to",
    "documents",
)
DOCUMENT_COLUMNS = ("issuing_state", "number", "status", "reported_on")
log = logging.getLogger(__name__)

REGISTER_LIST = "Tsela document register"  # documents this node itself knows are lost etc.

# The port's travellers in the snapshot (docs/operations.md, "The port's local copy"): those
# who crossed at this port in the last TRAVELLER_DAYS, the most recent TRAVELLERS_MAX of them,
# each with their documents and their last CROSSINGS_EACH crossings (at any port) within
# CROSSING_DAYS: what an offline check needs for the stay (an exit closes the stay the entry
# opened) and to find a traveller by a typed document number. At most 5,000 x 40 = 200,000
# crossings (about 150 bytes each in the JSON: 30 MB at worst).
TRAVELLER_DAYS = 180
TRAVELLERS_MAX = 5000
CROSSING_DAYS = 365
CROSSINGS_EACH = 40


def _csv(header: tuple[str, ...], rows: list[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def _birth(e: WatchlistEntry) -> str:
    if e.birth_date:
        return e.birth_date.isoformat()
    if e.birth_year and e.birth_month:
        return f"{e.birth_year:04d}-{e.birth_month:02d}"
    return f"{e.birth_year:04d}" if e.birth_year else ""


def snapshot(
    session: Session,
    *,
    node: str,
    port: str,
    var_dir: Path | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    lists: list[dict[str, Any]] = []
    for wl in session.scalars(select(Watchlist).where(PUBLISHED).order_by(Watchlist.name)):
        if wl.kind is WatchlistKind.PERSON:
            rows = [
                [
                    str(e.id),
                    e.names[0] if e.names else "",
                    ";".join(e.names[1:]),
                    _birth(e),
                    ";".join(e.nationalities or []),
                    e.category.value,
                    e.reason,
                    e.valid_from.isoformat() if e.valid_from else "",
                    e.valid_to.isoformat() if e.valid_to else "",
                    ";".join(e.documents or []),
                ]
                for e in session.scalars(
                    select(WatchlistEntry).where(WatchlistEntry.watchlist_id == wl.id)
                )
            ]
            data = _csv(PERSON_COLUMNS, rows)
        else:
            rows = [
                [
                    a.issuing_state,
                    a.number,
                    a.status.value,
                    a.reported_on.isoformat() if a.reported_on else "",
                ]
                for a in session.scalars(
                    select(DocumentAlert).where(DocumentAlert.watchlist_id == wl.id)
                )
            ]
            data = _csv(DOCUMENT_COLUMNS, rows)
        lists.append(
            {
                "name": wl.name,
                "kind": wl.kind.value,
                "category": wl.category.value,
                "source": wl.source,
                "version": wl.version,
                "data": data,
            }
        )
    flagged = session.execute(
        select(TravelDocument.issuing_state, TravelDocument.number, TravelDocument.status).where(
            TravelDocument.status != DocumentStatus.VALID
        )
    ).all()
    lists.append(
        {
            "name": REGISTER_LIST,
            "kind": WatchlistKind.DOCUMENT.value,
            "category": "other",
            "source": f"node {node}",
            "version": 0,
            # Document lists hold ISO countries only: a flagged UN laissez-passer or refugee
            # travel document (UNO, XXB...) would be a bad row in the port's import.
            "data": _csv(
                DOCUMENT_COLUMNS,
                [[s, n, st.value, ""] for s, n, st in flagged if iso_country(s) is not None],
            ),
        }
    )
    now = now or clock.now()
    out: dict[str, Any] = {
        "node": node,
        "port": port,
        "generated_at": now.isoformat(),
        "lists": lists,
        # The partner's document alerts (docs/exchange.md): refused offline as online.
        "partner_alerts": partner_alerts.alerts_of(session),
        "travellers": travellers(session, port=port, now=now),
    }
    if var_dir is not None:  # every node's permit keys and revocation list (docs/permits.md)
        try:
            out["permits"] = permit_trust.bundle(session, var_dir, node, now)
        except KeyStoreError as exc:  # the port keeps the bundle it has
            log.error("the port snapshot carries no permit keys: %s", exc)
    return out


def travellers(session: Session, *, port: str, now: datetime) -> list[dict[str, Any]]:
    """The port's recent travellers with their documents and crossings (see TRAVELLER_DAYS)."""
    port_id = session.scalar(select(PortOfEntry.id).where(PortOfEntry.code == port))
    if port_id is None:
        return []
    c = Crossing.__table__.c
    last = func.max(c.crossed_at)
    people = list(
        session.scalars(
            select(c.person_id)
            .where(c.port_id == port_id, c.crossed_at >= now - timedelta(days=TRAVELLER_DAYS))
            .group_by(c.person_id)
            .order_by(last.desc(), c.person_id)
            .limit(TRAVELLERS_MAX)
        )
    )
    codes = dict(session.execute(select(PortOfEntry.id, PortOfEntry.code)).tuples().all())
    out: list[dict[str, Any]] = []
    for at in range(0, len(people), 500):  # bounded IN lists
        chunk = people[at : at + 500]
        documents: dict[Any, list[dict[str, Any]]] = {}
        for d in session.scalars(
            select(TravelDocument)
            .where(TravelDocument.person_id.in_(chunk))
            .order_by(TravelDocument.person_id, TravelDocument.id)
        ):
            documents.setdefault(d.person_id, []).append(
                {
                    "id": str(d.id), "node": d.node, "document_type": d.document_type,
                    "issuing_state": d.issuing_state, "number": d.number,
                    "expiry_date": d.expiry_date.isoformat() if d.expiry_date else None,
                    "status": d.status.value,
                }
            )  # fmt: skip
        ranked = (
            select(
                c.id, c.node, c.person_id, c.document_id, c.port_id, c.direction, c.country,
                c.crossed_at,
                func.row_number()
                .over(partition_by=c.person_id, order_by=(c.crossed_at.desc(), c.id.desc()))
                .label("n"),
            )
            .where(c.person_id.in_(chunk), c.crossed_at >= now - timedelta(days=CROSSING_DAYS))
            .subquery()
        )  # fmt: skip
        crossings: dict[Any, list[dict[str, Any]]] = {}
        for row in session.execute(
            select(ranked)
            .where(ranked.c.n <= CROSSINGS_EACH)
            .order_by(ranked.c.person_id, ranked.c.crossed_at)
        ):
            crossings.setdefault(row.person_id, []).append(
                {
                    "id": str(row.id), "node": row.node,
                    "document_id": str(row.document_id) if row.document_id else None,
                    "port": codes.get(row.port_id, ""), "direction": str(row.direction.value
                    if hasattr(row.direction, "value") else row.direction),
                    "country": row.country, "crossed_at": row.crossed_at.isoformat(),
                }
            )  # fmt: skip
        for p in session.scalars(select(Person).where(Person.id.in_(chunk)).order_by(Person.id)):
            out.append(
                {
                    "id": str(p.id), "node": p.node, "primary_name": p.primary_name,
                    "given_names": p.given_names, "sex": p.sex.value,
                    "birth_date": p.birth_date.isoformat() if p.birth_date else None,
                    "nationality": p.nationality,
                    "documents": documents.get(p.id, []),
                    "crossings": crossings.get(p.id, []),
                }
            )  # fmt: skip
    return out


def accept_offline_crossing(
    session: Session,
    *,
    node: str,
    officer: Actor,
    request: svc.CheckRequest,
    idempotency_key: str,
    payload_hash: str,
    local_decision: str,
    officer_reason: str | None,
    screening: svc.Screening | None,
    source: str = "",
    now: datetime | None = None,
) -> tuple[dict[str, Any], bool]:
    """Check (as of the time it happened) and record a crossing made while offline.

    The traveller has crossed already, so the crossing is always recorded; where the server's
    decision is not CLEAR it is recorded as an override for a supervisor to review.
    Returns (result, created); an identical retry returns the first result. ``screening``:
    the server's (``app.state.screening``), as for an online check.

    Its time must lie between ``svc.OFFLINE_RETENTION`` before the server's time ``now``
    and ``svc.CLOCK_SKEW`` after it; else ``Invalid`` and nothing is recorded.
    """
    now = now or clock.now()

    existing = svc.replayed_crossing(session, idempotency_key, payload_hash)
    if existing is not None:
        return {"crossing_id": str(existing.id), "decision": existing.decision.value}, False
    result = svc.run_check(
        session,
        node=node,
        officer=officer,
        request=request,
        screening=screening,
        offline=True,
        source=source,
        now=now,
    )
    reason = None
    if result.check.decision.value != "CLEAR":
        reason = f"Crossed while the port was offline (local decision {local_decision})" + (
            f": {officer_reason}" if officer_reason else ""
        )
    done = svc.record_crossing(
        session,
        node=node,
        officer=officer,
        check_id=result.check.id,
        idempotency_key=idempotency_key,
        payload_hash=payload_hash,
        override_reason=reason,
        source=source,
        now=now,
    )
    return {
        "crossing_id": str(done.crossing.id),
        "check_id": str(result.check.id),
        "decision": result.check.decision.value,
        "local_decision": local_decision,
        "crossed_at": done.crossing.crossed_at.isoformat(),
    }, True


DISCARDED = "port.crossing_discarded"


def record_discard(
    session: Session,
    *,
    node: str,
    officer: Actor,
    port: str,
    idempotency_key: str,
    detail: dict[str, Any],
    source: str = "",
) -> bool:
    """A port operator dropped a queued crossing that never reached the server: the audit
    log says who, why and which crossing. False when this discard was reported before."""
    from tsela.services import audit
    from tsela.store.models import AuditEvent

    seen = session.scalar(
        select(AuditEvent.id).where(
            AuditEvent.action == DISCARDED, AuditEvent.entity_id == idempotency_key
        )
    )
    if seen is not None:
        return False
    audit.record(
        session,
        actor=officer.username,
        action=DISCARDED,
        node=node,
        entity="queued_crossing",
        entity_id=idempotency_key,
        detail={"port": port, **detail},
        source=source,
    )
    return True
