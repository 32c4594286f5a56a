"""Writing to the exchange outbox, in the transaction of the change it reports.

Each function here is the one line a feature calls when something the agreement lets cross
the border happens: the record is projected through the agreement and appended unsequenced
(``services.exchange.sequence`` chains it once committed). Kept apart from the serving and
pulling code so the hot paths (recording a crossing) import nothing more.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from tsela.exchange import agreement as terms
from tsela.exchange import kinds
from tsela.ids import new_id
from tsela.kernel import clock
from tsela.store.exchange import OutboxEntry
from tsela.store.models import Crossing, Person, PortOfEntry, TravelDocument

_APPEND = insert(OutboxEntry.__table__)


def _json(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if hasattr(value, "value"):  # a StrEnum
        return value.value
    return value


def append_many(
    session: Session,
    node: str,
    kind: str,
    items: Sequence[tuple[str, Mapping[str, Any]]],
    now: datetime | None = None,
) -> int:
    """Append (record id, payload) pairs of one kind; only the agreed fields are kept, and a
    kind the agreement does not list is not written at all."""
    agreement = terms.load()
    if not items or not agreement.allows(kind):
        return 0
    at = now or clock.now()
    rows = [
        {
            "id": new_id(),
            "node": node,
            "created_at": at,
            "kind": kind,
            "record_id": str(record_id),
            "payload": {k: _json(v) for k, v in agreement.project(kind, payload).items()},
            "seq": None,
            "digest": None,
            "hash": None,
        }
        for record_id, payload in items
    ]
    session.execute(_APPEND, rows)
    return len(rows)


def append(
    session: Session, node: str, kind: str, record_id: object, payload: Mapping[str, Any]
) -> None:
    append_many(session, node, kind, [(str(record_id), payload)])


_C, _P, _D, _O = (t.__table__.c for t in (Crossing, Person, TravelDocument, PortOfEntry))
_CROSSING = (
    select(
        _C.id,
        _C.node,
        _O.code.label("port_code"),
        _C.direction,
        _C.country,
        _C.crossed_at,
        _D.number.label("document_number"),
        _D.issuing_state.label("document_country"),
        _P.nationality,
        _P.primary_name.label("surname"),
        _P.given_names,
        _P.birth_date,
        _P.sex,
        _C.decision,
        _C.officer_id,  # not in the agreement: the projection drops it (tested)
        _C.person_id,
    )
    .join_from(Crossing.__table__, Person.__table__, _P.id == _C.person_id)
    .join(PortOfEntry.__table__, _O.id == _C.port_id)
    .outerjoin(TravelDocument.__table__, _D.id == _C.document_id)
)


def crossing(session: Session, recorded: Crossing) -> None:
    """A crossing was recorded (services/checks.py, and offline crossings uploaded through
    services/port_sync.py, which records them with the same function)."""
    session.flush()
    row = session.execute(_CROSSING.where(_C.id == recorded.id)).mappings().one()
    append(session, recorded.node, kinds.CROSSING, recorded.id, dict(row))


def published_document_alerts(session: Session, watchlist_id: uuid.UUID) -> int:
    """The document alerts (lost, stolen, revoked) of a list version being published, in the
    transaction that publishes it (an import abandoned half-way offers nothing)."""
    from tsela.store.watchlists import DocumentAlert, Watchlist

    wl = session.get(Watchlist, watchlist_id)
    if wl is None:
        return 0
    table = DocumentAlert.__table__
    rows = list(
        session.execute(select(table).where(table.c.watchlist_id == watchlist_id)).mappings()
    )
    # Each alert names its list version and that version's size: the partner drops the
    # older versions once the whole new one has arrived (store/partner_alerts.py).
    version = {"list": wl.name, "list_version": wl.version, "list_size": len(rows)}
    items = [(str(r["id"]), {**r, **version}) for r in rows]
    return append_many(session, wl.node, kinds.DOCUMENT_ALERT, items)


def permit_status(
    session: Session,
    *,
    node: str,
    permit: Any,
    from_status: str | None,
    to_status: str,
    at: datetime,
) -> None:
    """A permit changed status (issued, suspended, revoked, expired...)."""
    if permit.node != node:
        return  # only a node's own permits are its to report
    change = new_id()
    append(
        session,
        node,
        kinds.PERMIT_STATUS,
        change,
        {
            "id": change,
            "node": node,
            "permit_id": permit.id,
            "number": permit.number,
            "permit_type": permit.permit_type,
            "country": permit.country,
            "from_status": from_status,
            "status": to_status,
            "valid_from": permit.valid_from,
            "valid_to": permit.valid_to,
            "changed_at": at,
        },
    )
