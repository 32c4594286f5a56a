"""The partner node's permits as its status changes tell them (issued, suspended, revoked...).

One row per partner permit, holding its latest known status: what an online verifier on this
node adds to the partner's signed revocation list, which is published a moment after the
change (so "revoked in Maseru" is known at Ficksburg with the very batch that reports it).
The partner owns these records: a change older than the one held is ignored, so applying a
batch twice, or out of order, never moves a permit back.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Date, String, Uuid, insert, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from tsela.kernel import clock
from tsela.store.models import Base


class PartnerPermit(Base):
    """A permit of the partner node, as of its latest status change received here."""

    __tablename__ = "partner_permit"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)  # the partner's permit id
    node: Mapped[str] = mapped_column(String(2), nullable=False)  # the node that issued it
    number: Mapped[str] = mapped_column(String(32), nullable=False)
    permit_type: Mapped[str] = mapped_column(String(40), nullable=False)
    country: Mapped[str] = mapped_column(String(3), nullable=False)  # where it is valid
    status: Mapped[str] = mapped_column(String(24), nullable=False)
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    changed_at: Mapped[datetime] = mapped_column(nullable=False)  # at the partner
    change_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    received_at: Mapped[datetime] = mapped_column(nullable=False, default=clock.now)


@dataclass(frozen=True)
class PartnerPermitStatus:
    node: str
    number: str
    status: str
    changed_at: datetime


def _day(value: Any, field: str) -> date | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"{field}: not an ISO date: {value!r}") from None


def _text(payload: Mapping[str, Any], field: str, max_len: int) -> str:
    value = payload.get(field)
    if not isinstance(value, str) or not value.strip() or len(value) > max_len:
        raise ValueError(f"{field}: expected text of at most {max_len} characters, got {value!r}")
    return value.strip()


def validate(node: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    """One received status change as column values; ValueError naming the first bad field."""
    if payload.get("node") != node:
        raise ValueError(f"node: a change made by {payload.get('node')!r} arrived from {node}")
    try:
        permit_id = uuid.UUID(str(payload["permit_id"]))
        change_id = uuid.UUID(str(payload["id"]))
    except (KeyError, ValueError):
        raise ValueError("id, permit_id: expected UUIDs") from None
    try:
        changed = datetime.fromisoformat(str(payload["changed_at"]))
    except (KeyError, ValueError):
        raise ValueError(f"changed_at: not an ISO time: {payload.get('changed_at')!r}") from None
    if changed.tzinfo is None:
        raise ValueError("changed_at: no time zone")
    return {
        "id": permit_id,
        "node": node,
        "number": _text(payload, "number", 32),
        "permit_type": _text(payload, "permit_type", 40),
        "country": _text(payload, "country", 3),
        "status": _text(payload, "status", 24),
        "valid_from": _day(payload.get("valid_from"), "valid_from"),
        "valid_to": _day(payload.get("valid_to"), "valid_to"),
        "changed_at": changed.astimezone(UTC),
        "change_id": change_id,
    }


def apply_partner_permits(
    session: Session, node: str, payloads: Sequence[Mapping[str, Any]]
) -> int:
    """Keep the latest status of each permit partner ``node`` reported; how many changed."""
    latest: dict[uuid.UUID, dict[str, Any]] = {}
    for i, payload in enumerate(payloads):
        try:
            clean = validate(node, payload)
        except ValueError as exc:
            raise ValueError(f"permit status {i}: {exc}") from None
        kept = latest.get(clean["id"])
        if kept is None or (clean["changed_at"], clean["change_id"]) > (
            kept["changed_at"],
            kept["change_id"],
        ):
            latest[clean["id"]] = clean
    if not latest:
        return 0
    table = PartnerPermit.__table__
    held: dict[uuid.UUID, tuple[str, datetime, uuid.UUID]] = {}
    ids = list(latest)
    for start in range(0, len(ids), 1000):  # one query per thousand, not one per permit
        chunk = ids[start : start + 1000]
        for row in session.execute(
            select(table.c.id, table.c.node, table.c.changed_at, table.c.change_id).where(
                table.c.id.in_(chunk)
            )
        ):
            held[row.id] = (row.node, row.changed_at, row.change_id)
    now = clock.now()
    fresh = [{**c, "received_at": now} for i, c in latest.items() if i not in held]
    if fresh:
        session.execute(insert(table), fresh)
    changed = len(fresh)
    for permit_id, clean in latest.items():
        have = held.get(permit_id)
        if have is None or have[0] != node:
            continue  # new (inserted above), or another node's permit: never overwritten
        if (clean["changed_at"], clean["change_id"]) > (have[1], have[2]):
            values = {k: v for k, v in clean.items() if k != "id"}
            session.execute(
                update(table).where(table.c.id == permit_id).values(**values, received_at=now)
            )
            changed += 1
    return changed


def status_of(session: Session, node: str, permit_id: str) -> PartnerPermitStatus | None:
    """The latest status change received for this permit of partner ``node``."""
    try:
        key = uuid.UUID(permit_id)
    except ValueError:
        return None
    row = session.execute(
        select(
            PartnerPermit.node,
            PartnerPermit.number,
            PartnerPermit.status,
            PartnerPermit.changed_at,
        ).where(PartnerPermit.id == key, PartnerPermit.node == node)
    ).first()
    return None if row is None else PartnerPermitStatus(*row)
