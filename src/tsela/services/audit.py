"""The append-only, hash-chained audit log.

Every read of a person's data and every change is recorded with who, what, which record,
when and from where. Each entry's hash covers its fields and the previous entry's hash, so
editing, deleting or reordering an entry breaks the chain, and ``verify`` says where.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from tsela.ids import new_id
from tsela.store.db import column_values
from tsela.store.models import AuditEvent, utcnow

GENESIS = "0" * 64
# Built once (every audited request runs them).
_LOCK = text("SELECT pg_advisory_xact_lock(:k)")
_LAST = select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
_APPEND = insert(AuditEvent.__table__)
_PG_AUDIT_LOCK = 7_310_551  # advisory lock key: one writer extends the chain at a time


def _canonical(event: AuditEvent) -> bytes:
    body = {
        "seq": event.seq,
        "node": event.node,
        "at": event.at.isoformat(timespec="microseconds"),
        "actor": event.actor,
        "action": event.action,
        "entity": event.entity,
        "entity_id": event.entity_id,
        "detail": event.detail,
        "source": event.source,
        "prev_hash": event.prev_hash,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()


def entry_hash(event: AuditEvent) -> str:
    return hashlib.sha256(_canonical(event)).hexdigest()


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    node: str,
    entity: str = "",
    entity_id: object = "",
    detail: dict[str, Any] | None = None,
    source: str = "",
    at: datetime | None = None,
) -> AuditEvent:
    """Append one entry in the caller's transaction (it lands only if the change does)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_LOCK, {"k": _PG_AUDIT_LOCK})
    last = session.execute(_LAST).first()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    event = AuditEvent(
        id=new_id(),
        node=node,
        seq=seq,
        at=at or utcnow(),
        actor=actor,
        action=action,
        entity=entity,
        entity_id=str(entity_id),
        detail=detail or {},
        source=source[:64],
        prev_hash=prev,
    )
    event.hash = entry_hash(event)
    # A plain INSERT (the entry is never changed afterwards): the ORM's unit of work would
    # cost several times the statement, on every audited request.
    session.execute(_APPEND, column_values(event))
    return event


@dataclass(frozen=True)
class ChainReport:
    entries: int
    ok: bool
    problems: list[str]


def verify(session: Session) -> ChainReport:
    """Walk the log in order and report every break in the chain."""
    problems: list[str] = []
    prev_hash = GENESIS
    expected_seq = 1
    count = 0
    for event in session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).yield_per(2000):
        count += 1
        if event.seq != expected_seq:
            problems.append(
                f"entry {event.seq}: expected sequence number {expected_seq} "
                f"(entries {expected_seq}..{event.seq - 1} are missing)"
            )
        if event.prev_hash != prev_hash:
            problems.append(
                f"entry {event.seq}: does not follow the entry before it "
                "(an entry was deleted, inserted or reordered)"
            )
        if entry_hash(event) != event.hash:
            problems.append(f"entry {event.seq}: content does not match its hash (edited)")
        prev_hash = event.hash
        expected_seq = event.seq + 1
    return ChainReport(entries=count, ok=not problems, problems=problems)
