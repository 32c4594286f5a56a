"""Document alerts (lost, stolen, revoked) received from the partner node, for the border check.

The partner owns these records: they keep the partner's UUIDv7 ``id`` and ``node``. Each
alert names the list version it belongs to (``list_name``, ``list_version``) and how many
alerts that version holds (``list_size``): once every alert of a newer version of a list has
arrived, the alerts of its older versions are dropped, so a passport the partner no longer
lists (found again, a mistake corrected) stops being refused here, and a version split over
two batches never leaves a moment with the list half gone. (A list cannot be imported
empty; a marker record naming a version of size 0, without a document, would empty it.)
Applying a batch twice changes nothing (an alert whose id is known is skipped).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, Index, Integer, String, Uuid, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from tsela.domain.decisions import PartnerAlert as Reported
from tsela.domain.icao_codes import iso_country
from tsela.domain.screening.scoring import normalise_document
from tsela.domain.values import AlertStatus
from tsela.kernel import clock
from tsela.store.models import Base, str_enum


class PartnerDocumentAlert(Base):
    """A travel document the partner node reported lost, stolen or revoked."""

    __tablename__ = "partner_document_alert"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)  # the partner's id
    node: Mapped[str] = mapped_column(String(2), nullable=False)  # the partner that reported it
    issuing_state: Mapped[str] = mapped_column(String(3), nullable=False)  # ISO alpha-3
    number: Mapped[str] = mapped_column(String(30), nullable=False)  # upper-case, alphanumeric
    status: Mapped[AlertStatus] = mapped_column(
        str_enum(AlertStatus, "alert_status"), nullable=False
    )
    reported_on: Mapped[date | None] = mapped_column(Date)
    list_name: Mapped[str | None] = mapped_column(String(80))  # the partner's list
    list_version: Mapped[int | None] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(nullable=False, default=clock.now)

    __table_args__ = (
        Index("ix_partner_document_alert_number", "issuing_state", "number"),
        Index("ix_partner_document_alert_list", "node", "list_name", "list_version"),
    )


_T = PartnerDocumentAlert.__table__


def for_document(session: Session, issuing_state: str, number: str) -> list[Reported]:
    """The partners' alerts on this document (none for a state outside ISO 3166, which no
    document list can name)."""
    state = iso_country(issuing_state)
    norm = normalise_document(number)
    if state is None or not norm:
        return []
    rows = session.execute(
        select(_T.c.node, _T.c.status, _T.c.reported_on, _T.c.list_name)
        .where(_T.c.issuing_state == state, _T.c.number == norm)
        .order_by(_T.c.node, _T.c.status)
    )
    seen: set[tuple[str, str]] = set()
    out = []
    for node, status, reported_on, list_name in rows:
        key = (node, AlertStatus(status).value)
        if key in seen:  # the same report on two of the partner's lists: say it once
            continue
        seen.add(key)
        out.append(Reported(node, key[1], reported_on, list_name))
    return out


def _day(value: Any, field: str) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"{field}: not an ISO date: {value!r}") from None


def _version(value: Any) -> int | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"list_version: expected a positive whole number, got {value!r}")
    return value


def validate(node: str, payload: Mapping[str, Any]) -> dict[str, Any] | None:
    """One received alert as column values; None for a list marker (no document) or a
    record that names no document; ValueError naming the first bad field."""
    if payload.get("number") in (None, "") and payload.get("list") is None:
        return None  # names neither a document nor a list: nothing to act on
    row_node = payload.get("node")
    if row_node != node:
        raise ValueError(f"node: an alert made by {row_node!r} arrived from {node}")
    if payload.get("number") in (None, ""):
        return None  # the marker of a list version published empty
    try:
        row_id = uuid.UUID(str(payload["id"]))
    except (KeyError, ValueError):
        raise ValueError(f"id: not a UUID: {payload.get('id')!r}") from None
    state = iso_country(str(payload.get("issuing_state") or ""))
    if state is None:
        raise ValueError(f"issuing_state: not an ISO country: {payload.get('issuing_state')!r}")
    number = normalise_document(str(payload["number"]))
    if not number or len(number) > 30:
        raise ValueError(f"number: empty or longer than 30 characters: {payload['number']!r}")
    try:
        status = AlertStatus(str(payload.get("status")))
    except ValueError:
        allowed = ", ".join(s.value for s in AlertStatus)
        raise ValueError(f"status: {payload.get('status')!r} is not one of {allowed}") from None
    name = payload.get("list")
    if name is not None and (not isinstance(name, str) or len(name) > 80):
        raise ValueError(f"list: expected a list name of at most 80 characters, got {name!r}")
    return {
        "id": row_id,
        "node": node,
        "issuing_state": state,
        "number": number,
        "status": status,
        "reported_on": _day(payload.get("reported_on"), "reported_on"),
        "list_name": name,
        "list_version": _version(payload.get("list_version")),
    }


def apply_partner_alerts(session: Session, node: str, payloads: Sequence[Mapping[str, Any]]) -> int:
    """Store the alerts partner ``node`` sent and retire the list versions they replace;
    how many alerts were new. Every record is validated before anything is written."""
    values: dict[uuid.UUID, dict[str, Any]] = {}
    versions: dict[tuple[str, int], int] = {}  # (list, version) -> the version's size
    for i, payload in enumerate(payloads):
        try:
            clean = validate(node, payload)
            name, version = payload.get("list"), _version(payload.get("list_version"))
            size = payload.get("list_size")
            if name is not None and version is not None:
                if isinstance(size, bool) or not isinstance(size, int) or size < 0:
                    raise ValueError(f"list_size: expected a whole number, got {size!r}")
                versions[(str(name), version)] = size
        except ValueError as exc:
            raise ValueError(f"document alert {i}: {exc}") from None
        if clean is not None:
            values.setdefault(clean["id"], clean)
    new = 0
    if values:
        received_at = clock.now()
        params = [{**v, "received_at": received_at} for v in values.values()]
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        stmt = insert(_T).on_conflict_do_nothing(index_elements=["id"]).returning(_T.c.id)
        new = len(session.execute(stmt, params).all())
    for (name, version), size in sorted(versions.items()):
        mine = (_T.c.node == node, _T.c.list_name == name)
        have = session.scalar(
            select(func.count()).select_from(_T).where(*mine, _T.c.list_version == version)
        )
        if (have or 0) >= size:  # the whole version is here: the older ones go
            session.execute(delete(_T).where(*mine, _T.c.list_version < version))
    return new


def alerts_of(session: Session) -> list[dict[str, Any]]:
    """Every partner alert, for a port's offline snapshot."""
    rows = session.execute(
        select(
            _T.c.id,
            _T.c.node,
            _T.c.issuing_state,
            _T.c.number,
            _T.c.status,
            _T.c.reported_on,
            _T.c.list_name,
            _T.c.list_version,
        ).order_by(_T.c.node, _T.c.issuing_state, _T.c.number)
    ).mappings()
    return [
        {
            **dict(r),
            "id": str(r["id"]),
            "status": AlertStatus(r["status"]).value,
            "reported_on": r["reported_on"].isoformat() if r["reported_on"] else None,
        }
        for r in rows
    ]


def replace_all(session: Session, rows: Sequence[Mapping[str, Any]]) -> int:
    """Make the table hold exactly ``rows`` (a port loading its snapshot); how many."""
    session.execute(delete(_T))
    values = []
    for i, row in enumerate(rows):
        try:
            clean = validate(str(row.get("node")), {**row, "list": row.get("list_name")})
        except ValueError as exc:
            raise ValueError(f"partner alert {i}: {exc}") from None
        if clean is not None:
            values.append({**clean, "received_at": clock.now()})
    if values:
        session.execute(_T.insert(), values)
    return len(values)
