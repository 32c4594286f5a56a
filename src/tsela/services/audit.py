"""The append-only, hash-chained audit log.

Every read of a person's data and every change is recorded with who, what, which record,
when and from where. Each entry's hash covers its fields and the previous entry's hash, so
editing, deleting or reordering an entry breaks the chain, and ``verify`` says where.

Entries are chained by a sequencer, not by the transactions that write them. Extending the
chain inside every audited transaction made every request wait for one lock held until its
commit: the border-check benchmark found that lock to be the limit (about 150 checks/s on two
cores, with the processors half idle). So ``record`` appends an entry *unsealed* (no
sequence number, no hash) in the caller's transaction, and ``seal`` gives the entries written
since the last seal their sequence numbers and hashes, in the order they were written, in one
short transaction under one lock. The server seals every ``TSELA_AUDIT_SEAL_MS`` (default one
second; the entries of the last half minute, and all of them once a minute, so an entry of a
transaction that ran longer is chained then, after younger ones) and when it stops;
``tsela audit verify`` seals first. Until it is sealed, about a second, an entry is not yet
protected by the chain (a certificate-transparency log has the same kind of window, its
merge delay).

The chain alone cannot show that its newest entries were deleted, or that it was rewritten
from an edited entry on (hashes recomputed): ``tsela.services.audit_checkpoints`` anchors it
outside the database with signed checkpoints. And an unsealed entry dated well before the
entries already sealed (``LATE``) is not what a transaction of the server writes: someone
with write access to the table may have back-dated it, so the sequencer leaves it unsealed
and ``verify`` reports it (``tsela audit verify --seal-late`` seals it after a look).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, bindparam, func, insert, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from tsela.ids import new_id
from tsela.kernel import clock
from tsela.kernel.errors import TselaError
from tsela.store.db import column_values, session_factory
from tsela.store.models import AuditEvent

log = logging.getLogger(__name__)

GENESIS = "0" * 64
BATCH = 10_000  # entries sealed per transaction, at most
_TABLE = AuditEvent.__table__
_APPEND = insert(_TABLE)  # built once: every audited request runs it
LAST_SEALED = (
    select(_TABLE.c.seq, _TABLE.c.hash, _TABLE.c.at)
    .where(_TABLE.c.seq.is_not(None))
    .order_by(_TABLE.c.seq.desc())
    .limit(1)
)
_UNSEALED = select(_TABLE).where(_TABLE.c.seq.is_(None)).order_by(_TABLE.c.at, _TABLE.c.id)
# Sealing updates each entry once, which leaves its unsealed version behind until the table
# is vacuumed: a look for "seq IS NULL" over the whole table wades through all of them (70 ms
# at 300,000 on a table never vacuumed). The server's rounds mostly look only at the entries
# written recently, an index range that skips them; a full look now and then seals entries
# of a transaction that ran longer.
_UNSEALED_SINCE = _UNSEALED.where(_TABLE.c.at >= bindparam("since"))
RECENT = timedelta(seconds=30)
# An unsealed entry dated this long before the newest sealed one is suspicious: the server's
# transactions take seconds, so an entry cannot legitimately wait that long for its seal.
LATE = timedelta(minutes=10)
_SEAL = (
    update(_TABLE)
    .where(_TABLE.c.id == bindparam("b_id"), _TABLE.c.seq.is_(None))
    .values(seq=bindparam("b_seq"), prev_hash=bindparam("b_prev"), hash=bindparam("b_hash"))
)
# One sequencer extends a chain at a time. Advisory locks are per database: the schema's name
# is part of the key, so that nodes (or test runs) in other schemas do not wait for this one.
_TRY_LOCK = text("SELECT pg_try_advisory_xact_lock(:k, hashtext(current_schema()))")
_PG_SEAL_LOCK = 7_310_551
_sealing = threading.Lock()  # ... and one per process (SQLite has no advisory locks)


def _canonical(event: Any, seq: int | None = None, prev_hash: str | None = None) -> bytes:
    """The bytes an entry's hash covers; ``seq`` and ``prev_hash`` as given, when sealing."""
    body = {
        "seq": event.seq if seq is None else seq,
        "node": event.node,
        "at": event.at.isoformat(timespec="microseconds"),
        "actor": event.actor,
        "action": event.action,
        "entity": event.entity,
        "entity_id": event.entity_id,
        "detail": event.detail,
        "source": event.source,
        "prev_hash": event.prev_hash if prev_hash is None else prev_hash,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()


def entry_hash(event: Any, seq: int | None = None, prev_hash: str | None = None) -> str:
    """The hash of an entry (an ``AuditEvent`` or a row of its table)."""
    return hashlib.sha256(_canonical(event, seq, prev_hash)).hexdigest()


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
    """Append one entry, unsealed, in the caller's transaction (it lands only if the change
    does); the sequencer chains it (``seal``)."""
    event = AuditEvent(
        id=new_id(),
        node=node,
        seq=None,
        at=at or clock.now(),
        actor=actor,
        action=action,
        entity=entity,
        entity_id=str(entity_id),
        detail=detail or {},
        source=source[:64],
        prev_hash="",
        hash="",
    )
    # A plain INSERT (the entry is never changed by its writer): the ORM's unit of work would
    # cost several times the statement, on every audited request.
    session.execute(_APPEND, column_values(event))
    return event


def record_refusal(
    session: Session, exc: TselaError, *, actor: str, node: str, source: str = ""
) -> None:
    """Write the entry a refusal asks for (``exc.audit``; nothing if none), its words in the
    detail. The caller rolled back the refused unit of work first, and commits after."""
    note = exc.audit
    if note is None:
        return
    record(
        session,
        actor=actor,
        action=note.action,
        node=node,
        entity=note.entity,
        entity_id=note.entity_id,
        detail={**note.detail, "refusal": exc.message},
        source=source,
    )


def seal(
    session: Session,
    limit: int = BATCH,
    since: datetime | None = None,
    *,
    include_late: bool = False,
) -> int:
    """Chain up to ``limit`` unsealed entries, oldest first; how many were sealed. With
    ``since``, only entries written since then (older ones wait for a call without it).
    Entries dated more than ``LATE`` before the newest sealed one are left unsealed (see
    ``late_entries``) unless ``include_late``.

    In the caller's transaction (commit it to keep the seal). On PostgreSQL one sequencer at a
    time: another one busy sealing makes this return 0 at once. Sealing is deterministic (the
    same entries after the same last entry get the same numbers and hashes), and ``seq`` is
    unique, so two sequencers racing on SQLite either agree or one fails on commit.
    """
    pg = session.get_bind().dialect.name == "postgresql"
    if pg and not session.execute(_TRY_LOCK, {"k": _PG_SEAL_LOCK}).scalar():
        return 0
    last = session.execute(LAST_SEALED).first()
    seq, prev = (last[0], last[1]) if last else (0, GENESIS)
    if last is not None and not include_late:
        cutoff = last[2] - LATE
        since = cutoff if since is None else max(since, cutoff)
    # Core rows and one executemany: the server seals every second, beside the checks.
    sealed = []
    if since is None:
        rows = session.execute(_UNSEALED.limit(limit))
    else:
        rows = session.execute(_UNSEALED_SINCE.limit(limit), {"since": since})
    for row in rows:
        seq += 1
        digest = entry_hash(row, seq, prev)
        sealed.append({"b_id": row.id, "b_seq": seq, "b_prev": prev, "b_hash": digest})
        prev = digest
    if sealed:
        session.execute(_SEAL, sealed)
    return len(sealed)


def seal_pending(engine: Engine, *, recent_only: bool = False, include_late: bool = False) -> int:
    """Seal everything written so far (with ``recent_only``, in the last ``RECENT``), in
    batches; what the server runs every second. Back-dated entries only with
    ``include_late`` (see ``seal``)."""
    since = clock.now() - RECENT if recent_only else None
    total = 0
    with _sealing:
        while True:
            with session_factory(engine)() as session:
                try:
                    count = seal(session, since=since, include_late=include_late)
                    session.commit()
                except DBAPIError as exc:  # e.g. another process's sequencer won the race
                    session.rollback()
                    log.info("audit entries not sealed this time: %s", exc.orig)
                    return total
            total += count
            if count < BATCH:
                return total


@dataclass(frozen=True)
class LateEntry:
    """An unsealed entry dated well before the sealed log's newest: back-dated?"""

    id: str
    at: datetime
    actor: str
    action: str

    def describe(self) -> str:
        return (
            f"unsealed entry {self.id} ({self.action} by {self.actor}) is dated "
            f"{self.at.isoformat(timespec='seconds')}, before entries already sealed: "
            "back-dated? left unsealed"
        )


@dataclass(frozen=True)
class ChainReport:
    entries: int
    ok: bool
    problems: list[str]
    unsealed: int = 0  # written but not yet chained: not checked
    late: tuple[LateEntry, ...] = ()  # suspicious unsealed entries (also in problems)
    checkpoints: int = 0  # outside checkpoints compared with the chain
    last_seq: int = 0
    last_hash: str = GENESIS


def late_entries(session: Session, limit: int = 100) -> list[LateEntry]:
    """Unsealed entries the sequencer will not seal: dated more than ``LATE`` before the
    newest sealed entry (at most ``limit``)."""
    last = session.execute(LAST_SEALED).first()
    if last is None:
        return []
    rows = session.execute(
        select(_TABLE.c.id, _TABLE.c.at, _TABLE.c.actor, _TABLE.c.action)
        .where(_TABLE.c.seq.is_(None), _TABLE.c.at < last[2] - LATE)
        .order_by(_TABLE.c.at, _TABLE.c.id)
        .limit(limit)
    )
    return [LateEntry(str(r.id), r.at, r.actor, r.action) for r in rows]


def verify(
    session: Session,
    anchors: Mapping[int, str] | None = None,
    kept_by: Mapping[int, str] | None = None,
) -> ChainReport:
    """Walk the sealed log in order and report every break in the chain.

    ``anchors`` (sequence number -> hash, from signed checkpoints kept outside the database):
    each must name an entry of the chain with that hash, else the log lost entries or was
    rewritten from an edited one on. ``kept_by`` names where a checkpoint came from (e.g.
    "kept by node ZA"), for the problems it shows.
    """
    kept = dict(kept_by or {})

    def by(seq: int) -> str:
        return f" ({kept[seq]})" if seq in kept else ""

    problems: list[str] = []
    prev_hash = GENESIS
    expected_seq = 1
    count = 0
    anchors = dict(anchors or {})
    checked = 0
    sealed = select(AuditEvent).where(AuditEvent.seq.is_not(None)).order_by(AuditEvent.seq)
    for event in session.scalars(sealed).yield_per(2000):
        count += 1
        anchored = anchors.pop(event.seq or 0, None)
        if anchored is not None:
            checked += 1
            if anchored != event.hash:
                problems.append(
                    f"entry {event.seq}: differs from the signed checkpoint of it"
                    f"{by(event.seq or 0)} (the log was rewritten from an edited entry on)"
                )
        if event.seq != expected_seq:
            problems.append(
                f"entry {event.seq}: expected sequence number {expected_seq} "
                f"(entries {expected_seq}..{(event.seq or 0) - 1} are missing)"
            )
        if event.prev_hash != prev_hash:
            problems.append(
                f"entry {event.seq}: does not follow the entry before it "
                "(an entry was deleted, inserted or reordered)"
            )
        if entry_hash(event) != event.hash:
            problems.append(f"entry {event.seq}: content does not match its hash (edited)")
        prev_hash = event.hash
        expected_seq = (event.seq or 0) + 1
    if anchors:  # checkpoints naming entries the log no longer has
        checked += len(anchors)
        last = expected_seq - 1
        if max(anchors) > last:
            problems.append(
                f"the log ends at entry {last} but a signed checkpoint{by(max(anchors))} names "
                f"entry {max(anchors)}: the newest entries were deleted"
            )
        inside = sorted(s for s in anchors if s <= last)
        if inside:
            problems.append(
                f"entries {', '.join(map(str, inside[:10]))} named by signed checkpoints "
                "are missing (deleted)"
            )
    unsealed = session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.seq.is_(None))
    )
    late = tuple(late_entries(session))
    problems.extend(entry.describe() for entry in late)
    return ChainReport(
        entries=count,
        ok=not problems,
        problems=problems,
        unsealed=unsealed or 0,
        late=late,
        checkpoints=checked,
        last_seq=expected_seq - 1,
        last_hash=prev_hash,
    )


@dataclass(frozen=True)
class EntryPage:
    entries: list[AuditEvent]
    total: int  # matching entries, over all pages


def search(
    session: Session,
    *,
    actor: str = "",
    action: str = "",
    since: datetime | None = None,
    before: datetime | None = None,
    offset: int = 0,
    limit: int = 50,
) -> EntryPage:
    """Entries of the log, newest first, a page at a time: by ``actor`` (any case), by
    ``action`` (exact, or a family such as ``user.`` when it ends with a dot), written at or
    after ``since`` and before ``before``. Unsealed entries are included (not yet chained)."""
    where = []
    if actor.strip():  # usernames are kept in lower case; "cli:Name" actors need not be
        where.append(func.lower(AuditEvent.actor) == actor.strip().lower())
    if action.strip():
        name = action.strip()
        if name.endswith("."):
            escaped = name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            where.append(AuditEvent.action.like(escaped + "%", escape="\\"))
        else:
            where.append(AuditEvent.action == name)
    if since is not None:
        where.append(AuditEvent.at >= since)
    if before is not None:
        where.append(AuditEvent.at < before)
    total = session.scalar(select(func.count()).select_from(AuditEvent).where(*where)) or 0
    rows = session.scalars(
        select(AuditEvent)
        .where(*where)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .offset(max(offset, 0))
        .limit(limit)
    )
    return EntryPage(list(rows), total)


def actions(session: Session) -> list[str]:
    """The kinds of entry the log holds (for a filter's choices)."""
    return list(session.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action)))
