"""The node exchange: sequencing the outbox, serving signed batches, pulling and applying a
partner's, trust set-up, status and evidence (docs/exchange.md).

- **Sequencing.** Outbox entries are written unsequenced in the transactions of the changes
  they report (``exchange_outbox``). Transactions commit out of id order, so a reader that
  followed ids could skip an entry committed late; as for the audit log, a sequencer gives
  committed entries their sequence numbers and chain links in one short transaction under one
  lock, and the feed serves only sequenced entries.
- **Serving.** ``serve_batch`` reads the entries after the partner's cursor, projects each
  through the agreement again, signs the batch with the node key and audits what was served.
- **Pulling.** ``pull`` fetches the partner's batch over mutual TLS (pinning the partner's
  certificate from its anchor), verifies it (``exchange.batch.verify_batch``), and applies
  its records, advances the cursor and keeps the signed batch in the message log in ONE
  transaction. A refused batch applies nothing; the refusal is kept in the partner's status
  and audited.
"""

from __future__ import annotations

import json
import logging
import ssl
import threading
import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import (
    CursorResult,
    Engine,
    Executable,
    bindparam,
    delete,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from tsela.config import Settings
from tsela.exchange import agreement as terms
from tsela.exchange import kinds
from tsela.exchange.anchor import Anchor, AnchorError, certificate_node_der, check_update
from tsela.exchange.anchor import parse_anchor as _parse_anchor
from tsela.exchange.batch import (
    SIGNATURE_HEADER,
    BatchRefused,
    SignedBatch,
    VerifiedBatch,
    make_batch_from_texts,
    verify_batch,
    verify_signature,
)
from tsela.exchange.canonical import canonical
from tsela.exchange.chain import GENESIS, sealed, verify_chain
from tsela.ids import new_id
from tsela.kernel import clock
from tsela.services import audit
from tsela.services.node_identity import NodeIdentity
from tsela.store.db import session_factory, transaction
from tsela.store.exchange import MessageLogEntry, OutboxEntry, Partner, ReceivedRecord

log = logging.getLogger(__name__)

SEQUENCE_BATCH = 10_000
_OUT = OutboxEntry.__table__


def _rows_changed(session: Session, statement: Executable) -> int:
    """How many rows an UPDATE or DELETE changed (the compare-and-set and the clean-up
    below depend on it)."""
    result = session.execute(statement)
    assert isinstance(result, CursorResult)  # what DML statements give
    return result.rowcount


_LAST = (
    select(_OUT.c.seq, _OUT.c.hash)
    .where(_OUT.c.seq.is_not(None))
    .order_by(_OUT.c.seq.desc())
    .limit(1)
)
_UNSEQUENCED = (
    select(_OUT.c.id, _OUT.c.node, _OUT.c.kind, _OUT.c.created_at, _OUT.c.payload)
    .where(_OUT.c.seq.is_(None))
    .order_by(_OUT.c.created_at, _OUT.c.id)
)
_SEQUENCE = (
    update(_OUT)
    .where(_OUT.c.id == bindparam("b_id"), _OUT.c.seq.is_(None))
    .values(
        seq=bindparam("b_seq"),
        digest=bindparam("b_digest"),
        hash=bindparam("b_hash"),
        body=bindparam("b_body"),
        terms=bindparam("b_terms"),
    )
)
_TRY_LOCK = text("SELECT pg_try_advisory_xact_lock(:k, hashtext(current_schema()))")
_PG_SEQUENCE_LOCK = 7_310_552
_ANY_UNSEQUENCED = select(_OUT.c.id).where(_OUT.c.seq.is_(None)).limit(1)
_SQLITE_WRITE_LOCK = text("UPDATE exchange_outbox SET seq = seq WHERE 0")
_sequencing = threading.Lock()


def feed_record(row: Any, seq: int) -> dict[str, Any]:
    return {
        "seq": seq,
        "kind": row.kind,
        "id": str(row.id),
        "node": row.node,
        "created_at": row.created_at.isoformat(),
        "payload": row.payload,
    }


def sequence(session: Session, limit: int = SEQUENCE_BATCH) -> int:
    """Give up to ``limit`` committed, unsequenced outbox entries their place in the feed and
    their chain links, oldest first; how many. One sequencer at a time (PostgreSQL: an
    advisory lock, another busy sequencer makes this return 0; SQLite: the write lock and the
    unique ``seq``)."""
    if session.execute(_ANY_UNSEQUENCED).first() is None:
        return 0  # the usual case: no lock taken
    pg = session.get_bind().dialect.name == "postgresql"
    if pg and not session.execute(_TRY_LOCK, {"k": _PG_SEQUENCE_LOCK}).scalar():
        return 0
    if not pg:
        # Take SQLite's write lock before reading: pysqlite starts a transaction only at the
        # first write, so the reads below would otherwise each see their own moment.
        session.execute(_SQLITE_WRITE_LOCK)
    last = session.execute(_LAST).first()
    seq, prev = (last[0], last[1]) if last else (0, GENESIS)
    agreement = terms.load()
    done = []
    for row in session.execute(_UNSEQUENCED.limit(limit)):
        seq += 1
        record = feed_record(row, seq)
        record["payload"] = agreement.project(row.kind, row.payload)  # the second projection
        d, prev, body = sealed(record, prev)
        done.append(
            {
                "b_id": row.id,
                "b_seq": seq,
                "b_digest": d,
                "b_hash": prev,
                "b_body": body,
                "b_terms": agreement.digest,
            }
        )
    if done:
        session.execute(_SEQUENCE, done)
    return len(done)


def sequence_pending(engine: Engine) -> int:
    """Sequence everything committed so far, in batches (what the server runs)."""
    total = 0
    with _sequencing:
        while True:
            with session_factory(engine)() as session:
                try:
                    count = sequence(session)
                    session.commit()
                except DBAPIError as exc:  # another process's sequencer won the race
                    session.rollback()
                    log.info("outbox not sequenced this time: %s", exc.orig)
                    return total
            total += count
            if count < SEQUENCE_BATCH:
                return total


# --------------------------------------------------------------------------- trust


class TrustError(ValueError):
    """A partner cannot be added or found; the message says why."""


def parse_anchor(document: Any) -> Anchor:
    try:
        return _parse_anchor(document)
    except AnchorError as exc:
        raise TrustError(f"trust anchor refused ({exc.code}): {exc}") from None


def read_anchor_file(path: Path) -> Anchor:
    try:
        doc = json.loads(path.read_text("utf-8"))
    except OSError as exc:
        raise TrustError(f"cannot read {path}: {exc.strerror}") from None
    except ValueError:
        raise TrustError(f"{path} is not a JSON trust anchor") from None
    return parse_anchor(doc)


def write_anchor_file(identity: NodeIdentity, path: Path, now: datetime, days: int) -> Anchor:
    """Export this node's signed trust anchor, valid ``days``, to ``path`` (for the partner's
    operator, with its fingerprint read to them by another channel)."""
    doc = identity.anchor(now, days=days)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2) + "\n", "utf-8")
    return parse_anchor(doc)


def add_partner(
    session: Session, *, node: str, anchor: Anchor, actor: str, now: datetime
) -> tuple[Partner, bool]:
    """Trust ``anchor``'s node (its fingerprint confirmed out of band by the caller); an
    existing partner's anchor is replaced only by a newer one. (partner, created)."""
    if anchor.node == node:
        raise TrustError(f"this is node {node}'s own anchor; add the partner's")
    if now > anchor.valid_to:
        raise TrustError(f"the anchor of node {anchor.node} expired at {anchor.valid_to}")
    partner = session.scalar(select(Partner).where(Partner.partner == anchor.node))
    created = partner is None
    if partner is None:
        partner = Partner(
            id=new_id(),
            node=node,
            created_at=now,
            partner=anchor.node,
            anchor=anchor.document,
            fingerprint=anchor.fingerprint,
            added_by=actor[:60],
            last_seq=0,
            last_hash=GENESIS,
            applied=0,
            refusals=0,
        )
        session.add(partner)
    else:
        current = parse_anchor(partner.anchor)
        if anchor.issued_at <= current.issued_at:
            raise TrustError(
                f"node {anchor.node} is trusted with an anchor issued {current.issued_at}; "
                f"this one ({anchor.issued_at}) is not newer"
            )
        partner.anchor = anchor.document
        partner.fingerprint = anchor.fingerprint
    audit.record(
        session,
        actor=actor,
        action="exchange.trust_add" if created else "exchange.trust_update",
        node=node,
        entity="exchange_partner",
        entity_id=anchor.node,
        detail={"fingerprint": anchor.fingerprint, "endpoint": anchor.endpoint},
    )
    session.flush()
    return partner, created


def partners(session: Session) -> list[Partner]:
    return list(session.scalars(select(Partner).order_by(Partner.partner)))


def partner_for_certificate(session: Session, der: bytes) -> Partner | None:
    """The partner whose anchor holds exactly this TLS certificate and whose node id the
    certificate names; None for any other certificate."""
    named = certificate_node_der(der)
    if named is None:
        return None
    partner = session.scalar(select(Partner).where(Partner.partner == named))
    if partner is None:
        return None
    if parse_anchor(partner.anchor).certificate_der != der:
        return None
    return partner


def trusted_certificates(session: Session) -> str:
    """The PEM bundle of every trusted partner's TLS certificate (the listener's CA list)."""
    return "".join(str(p.anchor["tls_certificate"]) for p in partners(session))


# --------------------------------------------------------------------------- serving


_SERVE = (
    select(_OUT.c.seq, _OUT.c.body, _OUT.c.terms, _OUT.c.kind, _OUT.c.digest)
    .where(_OUT.c.seq > bindparam("after"))
    .order_by(_OUT.c.seq)
)


class FeedError(ValueError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def serve_batch(
    session: Session,
    *,
    identity: NodeIdentity,
    partner: str,
    after: int,
    limit: int,
    now: datetime | None = None,
    source: str = "",
) -> SignedBatch:
    """The signed batch of the records after ``after`` (at most ``limit``), for ``partner``;
    audited (which partner, which records, when). In the caller's transaction."""
    now = now or clock.now()
    if after < 0:
        raise FeedError(422, "after must be 0 or more")
    head = session.scalar(select(func.max(_OUT.c.seq))) or 0
    if after > head:
        raise FeedError(
            409, f"after={after} is past this node's newest record ({head}): was this node reset?"
        )
    prev = GENESIS
    if after:
        prev = session.scalar(select(_OUT.c.hash).where(_OUT.c.seq == after)) or ""
    agreement = terms.load()
    texts: list[str] = []
    kinds_served: dict[str, int] = defaultdict(int)
    last = after
    for row in session.execute(_SERVE.limit(limit), {"after": after}):
        body = row.body
        if row.terms != agreement.digest:
            # Chained under other terms (defence in depth): projected again now; its original
            # digest keeps the chain verifiable while the dropped fields stay at home.
            record = json.loads(body)
            payload = agreement.project(row.kind, record["payload"])
            if payload != record["payload"]:
                record["payload"] = payload
                record["digest"] = row.digest
                body = canonical(record).decode("ascii")
        texts.append(body)
        kinds_served[row.kind] += 1
        last = row.seq
    # Read again after the records: on SQLite each statement sees the latest commit, and the
    # sequencer may have numbered more records meanwhile (head must not be below last).
    head = max(last, session.scalar(select(func.max(_OUT.c.seq))) or 0)
    kid, key = identity.signer(now)
    batch_id = str(new_id())
    signed = make_batch_from_texts(
        batch_id=batch_id,
        sender=identity.node,
        receiver=partner,
        after_seq=after,
        last_seq=last,
        prev_hash=prev,
        head_seq=head,
        record_texts=texts,
        served_at=now,
        kid=kid,
        key=key,
    )
    if texts:
        audit.record(
            session,
            actor=f"node:{partner}",
            action="exchange.serve",
            node=identity.node,
            entity="exchange_partner",
            entity_id=partner,
            source=source,
            detail={
                "batch": batch_id,
                "first_seq": after + 1,
                "last_seq": last,
                "records": len(texts),
                "kinds": dict(kinds_served),
                "kid": kid,
            },
        )
    return signed


# --------------------------------------------------------------------------- applying


_RECEIVE = insert(ReceivedRecord.__table__)


def _keep(session: Session, partner: str, records: Sequence[Mapping[str, Any]], ctx: Any) -> int:
    now, batch_id = ctx
    session.execute(
        _RECEIVE,
        [
            {
                "id": uuid.UUID(r["id"]),
                "node": partner,
                "created_at": datetime.fromisoformat(r["created_at"]),
                "seq": r["seq"],
                "kind": r["kind"],
                "record_id": str(r["payload"].get("id", r["id"]))[:64],
                "payload": r["payload"],
                "received_at": now,
                "batch_id": batch_id,
            }
            for r in records
        ],
    )
    return len(records)


def _partner_crossings() -> Any:
    """The matching feature's table of received crossings, once it is there (contract:
    ``tsela.store.partner_crossings.apply_partner_crossings(session, node, rows) -> int``)."""
    try:
        from tsela.store.partner_crossings import apply_partner_crossings
    except ImportError:
        return None
    return apply_partner_crossings


def _partner_alerts() -> Any:
    from tsela.store.partner_alerts import apply_partner_alerts

    return apply_partner_alerts


def _partner_permits() -> Any:
    from tsela.store.partner_permits import apply_partner_permits

    return apply_partner_permits


def _partner_refusals() -> Any:
    from tsela.services.refusals import apply_partner_refusals

    return apply_partner_refusals


def _partner_bans() -> Any:
    from tsela.services.refusals import apply_partner_bans

    return apply_partner_bans


# Kinds this node acts on besides keeping them as received: the partner's document alerts
# and entry bans reach the border check, its permit status changes the permit verifiers.
_ACTED_ON = {
    kinds.DOCUMENT_ALERT: _partner_alerts,
    kinds.PERMIT_STATUS: _partner_permits,
    kinds.REFUSAL: _partner_refusals,
    kinds.ENTRY_BAN: _partner_bans,
}


@dataclass
class Applied:
    records: int
    new: int
    anchor_updated: bool = False


def apply_batch(
    session: Session,
    *,
    me: str,
    partner: Partner,
    verified: VerifiedBatch,
    raw: bytes,
    signature: str,
    now: datetime,
) -> Applied | None:
    """Apply a verified batch: records, cursor, message log, audit entry: all in the caller's
    transaction. None when another puller applied it first (nothing done)."""
    moved = _rows_changed(
        session,
        update(Partner.__table__)
        .where(
            Partner.__table__.c.partner == partner.partner,
            Partner.__table__.c.last_seq == partner.last_seq,
            Partner.__table__.c.last_hash == partner.last_hash,
        )
        .values(
            last_seq=verified.last_seq,
            last_hash=verified.last_hash,
            head_seq=verified.head_seq,
            applied=Partner.__table__.c.applied + len(verified.records),
            last_batch_id=verified.batch_id,
            last_batch_at=now,
            last_success_at=now,
            last_attempt_at=now,
            last_error_code=None,
            last_error=None,
            **(
                {"last_record_at": datetime.fromisoformat(verified.records[-1]["created_at"])}
                if verified.records
                else {}
            ),
        ),
    )
    if moved != 1:
        return None
    if not verified.records:
        return Applied(0, 0)
    batch_id = uuid.UUID(verified.batch_id)
    session.execute(
        insert(MessageLogEntry.__table__),
        {
            "id": batch_id,
            "node": partner.partner,
            "created_at": verified.served_at,
            "received_at": now,
            "first_seq": verified.records[0]["seq"],
            "last_seq": verified.last_seq,
            "records": len(verified.records),
            "kid": verified.kid,
            "body": raw.decode("ascii"),
            "signature": signature,
        },
    )
    by_kind: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in verified.records:
        by_kind[r["kind"]].append(r)
    new = 0
    anchor_updated = False
    for kind, records in by_kind.items():
        if kind == kinds.NODE_ANCHOR:
            for r in records:
                _update_anchor(session, partner, r["payload"].get("anchor"), now)
                anchor_updated = True
            new += _keep(session, partner.partner, records, (now, batch_id))
            continue
        try:
            if kind == kinds.CROSSING and (apply_crossings := _partner_crossings()) is not None:
                new += apply_crossings(session, partner.partner, [r["payload"] for r in records])
                continue
            custom = kinds.applier(kind)
            if custom is not None:
                new += custom(session, partner.partner, records)
            else:
                new += _keep(session, partner.partner, records, (now, batch_id))
            acting = _ACTED_ON.get(kind)
            if acting is not None:  # kept as received, and acted on here
                acting()(session, partner.partner, [r["payload"] for r in records])
        except (ValueError, KeyError, TypeError) as exc:
            # a record the receiving tables cannot take: the whole batch is refused (rolled
            # back by the caller), never half applied
            raise BatchRefused("bad_record", f"a {kind} record cannot be applied: {exc}") from None
    audit.record(
        session,
        actor=f"node:{partner.partner}",
        action="exchange.apply",
        node=me,
        entity="exchange_partner",
        entity_id=partner.partner,
        detail={
            "batch": verified.batch_id,
            "first_seq": verified.records[0]["seq"],
            "last_seq": verified.last_seq,
            "records": len(verified.records),
            "kid": verified.kid,
        },
    )
    return Applied(len(verified.records), new, anchor_updated)


def _update_anchor(session: Session, partner: Partner, document: Any, now: datetime) -> None:
    """A partner's updated anchor, received through its feed: accepted only if signed by a
    key trusted now (else the whole batch is refused)."""
    try:
        new = _parse_anchor(document)
        check_update(parse_anchor(partner.anchor), new, now)
    except AnchorError as exc:
        if exc.code == "stale_anchor":
            return  # an older update, superseded by one applied already
        raise BatchRefused(exc.code, f"updated anchor refused: {exc}") from None
    session.execute(
        update(Partner.__table__)
        .where(Partner.__table__.c.partner == partner.partner)
        .values(anchor=new.document, fingerprint=new.fingerprint)
    )
    partner.anchor = new.document


# --------------------------------------------------------------------------- pulling


@dataclass
class PullResult:
    partner: str
    batches: int = 0
    records: int = 0
    behind: int | None = None
    error_code: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error_code is None


def client_context(identity: NodeIdentity, anchor: Anchor) -> ssl.SSLContext:
    """TLS for pulling: present this node's certificate, trust only the partner's."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(identity.cert_path, identity.tls_key_path)
    ctx.load_verify_locations(cadata=anchor.certificate_pem)
    ctx.check_hostname = True
    return ctx


def fetch(
    identity: NodeIdentity,
    anchor: Anchor,
    *,
    after: int,
    limit: int,
    max_bytes: int,
    timeout: float = 30.0,
    client: Any = None,
) -> tuple[bytes, str]:
    """GET the partner's batch after ``after`` over mutual TLS; (body, signature). The
    partner must present exactly its anchor's certificate, naming its node."""
    return _get_pinned(
        identity,
        anchor,
        FEED_PATH,
        {"after": after, "limit": limit},
        max_bytes=max_bytes,
        timeout=timeout,
        client=client,
    )


FEED_PATH = "/v1/exchange/feed"
CHECKPOINTS_PATH = "/v1/exchange/audit-checkpoints"


def fetch_checkpoints(
    identity: NodeIdentity,
    anchor: Anchor,
    *,
    limit: int,
    max_bytes: int,
    timeout: float = 30.0,
) -> list[str]:
    """The checkpoints of this node's audit log that the partner keeps (JSON lines, oldest
    first, the newest ``limit``), over mutual TLS with the partner's certificate pinned."""
    body, _ = _get_pinned(
        identity, anchor, CHECKPOINTS_PATH, {"limit": limit}, max_bytes=max_bytes, timeout=timeout
    )
    return [line for line in body.decode("utf-8").splitlines() if line.strip()]


def _get_pinned(
    identity: NodeIdentity,
    anchor: Anchor,
    path: str,
    params: dict[str, Any],
    *,
    max_bytes: int,
    timeout: float = 30.0,
    client: Any = None,
) -> tuple[bytes, str]:
    """GET ``path`` of the partner's exchange listener over mutual TLS; (body, signature
    header). The partner must present exactly its anchor's certificate, naming its node."""
    import httpx

    url = f"{anchor.endpoint.rstrip('/')}{path}"
    own = client is None
    if own:
        client = httpx.Client(verify=client_context(identity, anchor), timeout=timeout)
    try:
        with client.stream(
            "GET",
            url,
            params=params,
            headers={"Tsela-Node": identity.node},
        ) as answer:
            stream = answer.extensions.get("network_stream")
            ssl_object = stream.get_extra_info("ssl_object") if stream is not None else None
            der = ssl_object.getpeercert(True) if ssl_object is not None else None
            if der != anchor.certificate_der:
                raise BatchRefused(
                    "certificate", "the partner's TLS certificate is not the one in its anchor"
                )
            if certificate_node_der(der) != anchor.node:
                raise BatchRefused(
                    "certificate_node", f"the TLS certificate does not name node {anchor.node}"
                )
            declared = answer.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise BatchRefused(
                    "too_large", f"an answer of {int(declared):,} bytes (limit {max_bytes:,})"
                )
            chunks: list[bytes] = []
            size = 0
            for chunk in answer.iter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise BatchRefused(
                        "too_large", f"an answer of more than {max_bytes:,} bytes; refused"
                    )
                chunks.append(chunk)
            body = b"".join(chunks)
            if answer.status_code != 200:
                detail = body[:300].decode("utf-8", "replace")
                raise BatchRefused(f"http_{answer.status_code}", f"the partner said: {detail}")
            signature = answer.headers.get(SIGNATURE_HEADER, "")
            return body, signature
    finally:
        if own:
            client.close()


def _connection_error(exc: Exception) -> tuple[str, str]:
    text_ = str(exc) or type(exc).__name__
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLError):
            return "tls", f"TLS refused: {cause}"
        cause = cause.__cause__ or cause.__context__
    if "CERTIFICATE" in text_.upper() or "SSL" in text_.upper():
        return "tls", f"TLS refused: {text_}"
    return "unreachable", f"partner unreachable: {text_}"


def _record_error(engine: Engine, me: str, partner: str, code: str, message: str) -> None:
    now = clock.now()
    refusal = not code.startswith(("unreachable", "http_5"))
    with transaction(session_factory(engine)) as session:
        values: dict[str, Any] = {
            "last_attempt_at": now,
            "last_error_code": code,
            "last_error": message[:2000],
            "last_error_at": now,
        }
        if refusal:
            values["refusals"] = Partner.__table__.c.refusals + 1
        session.execute(
            update(Partner.__table__).where(Partner.__table__.c.partner == partner).values(values)
        )
        if refusal:
            audit.record(
                session,
                actor=f"node:{partner}",
                action="exchange.refused",
                node=me,
                entity="exchange_partner",
                entity_id=partner,
                detail={"code": code, "message": message[:500]},
            )


def pull(
    engine: Engine,
    settings: Settings,
    identity: NodeIdentity,
    partner_node: str,
    *,
    max_batches: int | None = None,
    now: Any = None,
    client: Any = None,
) -> PullResult:
    """Pull and apply the partner's feed until caught up (or ``max_batches``); the first
    refusal or connection error stops it and is recorded in the partner's status.

    While one batch is being applied the next is already fetched (its cursor is known once
    the batch is verified), so the network and the partner's serving overlap the applying.
    """
    import httpx

    now_of = now or clock.now
    result = PullResult(partner_node)
    factory = session_factory(engine)
    own = client is None
    pool = ThreadPoolExecutor(1, thread_name_prefix="tsela-prefetch")
    pending: tuple[int, Future[tuple[bytes, str]]] | None = None
    try:
        while max_batches is None or result.batches < max_batches:
            with factory() as session:
                partner = session.scalar(select(Partner).where(Partner.partner == partner_node))
                if partner is None:
                    raise TrustError(f"node {partner_node} is not a trusted partner")
                session.expunge(partner)
            try:
                anchor = parse_anchor(partner.anchor)
                if now_of() > anchor.valid_to:  # (a valid_from a moment ahead: clocks differ)
                    raise BatchRefused(
                        "anchor_expired",
                        f"the trust anchor of node {partner_node} expired at "
                        f"{anchor.valid_to.isoformat()}; its operator must send a new one",
                    )
                if client is None:
                    client = httpx.Client(verify=client_context(identity, anchor), timeout=30.0)
                options = {
                    "limit": settings.exchange_batch,
                    "max_bytes": settings.exchange_max_bytes,
                    "client": client,
                }
                if pending is not None and pending[0] == partner.last_seq:
                    raw, signature = pending[1].result()
                else:
                    raw, signature = fetch(identity, anchor, after=partner.last_seq, **options)
                pending = None
                verified = verify_batch(
                    raw,
                    signature,
                    anchor=anchor,
                    receiver=identity.node,
                    after_seq=partner.last_seq,
                    prev_hash=partner.last_hash,
                    now=now_of(),
                    max_skew=timedelta(seconds=settings.exchange_max_skew_s),
                    max_records=settings.exchange_batch,
                )
                more = verified.records and verified.head_seq > verified.last_seq
                if more and (max_batches is None or result.batches + 1 < max_batches):
                    ahead = pool.submit(fetch, identity, anchor, after=verified.last_seq, **options)
                    pending = (verified.last_seq, ahead)
                with transaction(factory) as session:
                    applied = apply_batch(
                        session,
                        me=identity.node,
                        partner=partner,
                        verified=verified,
                        raw=raw,
                        signature=signature,
                        now=clock.now(),
                    )
            except (BatchRefused, TrustError) as exc:
                code = exc.code if isinstance(exc, BatchRefused) else "untrusted"
                _record_error(engine, identity.node, partner_node, code, str(exc))
                result.error_code, result.error = code, str(exc)
                return result
            except (httpx.HTTPError, OSError, ssl.SSLError) as exc:
                code, message = _connection_error(exc)
                _record_error(engine, identity.node, partner_node, code, message)
                result.error_code, result.error = code, message
                return result
            if applied is None:  # another puller got there first: look again
                continue
            result.batches += 1
            result.records += applied.records
            result.behind = verified.head_seq - verified.last_seq
            if applied.records and {kinds.PERMIT_KEYS, kinds.REVOCATION_LIST} & {
                r["kind"] for r in verified.records
            }:
                publish_partner_credentials(engine, settings.var_dir, partner_node)
            if not verified.records or result.behind <= 0:
                return result
        return result
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        if own and client is not None:
            client.close()


# --------------------------------------------------------------------------- credentials


def publish_credentials(session: Session, var_dir: Path, node: str, now: datetime) -> int:
    """Put this node's permit-signing key set (JWKS) and signed revocation list in the
    outbox when they differ from the last ones published; how many records were added."""
    from tsela.services import exchange_outbox
    from tsela.services.keys import KeyStore
    from tsela.services.permits import revocation_list

    keys = KeyStore(var_dir, node)
    if keys.active() is None:
        return 0
    added = 0
    jwks = keys.jwks()
    rl = revocation_list(session, node, now)
    # The list is signed again when it changes, and once a day even if it does not: a
    # verifier calls a list older than a week stale (domain.credentials.Verifier).
    day = clock.border_day(now).isoformat()
    state = {"revoked": sorted(rl.revoked), "suspended": sorted(rl.suspended), "day": day}
    for kind, fingerprint in ((kinds.PERMIT_KEYS, jwks), (kinds.REVOCATION_LIST, state)):
        last = session.scalar(
            select(_OUT.c.record_id)
            .where(_OUT.c.kind == kind, _OUT.c.node == node)
            .order_by(_OUT.c.created_at.desc())
            .limit(1)
        )
        mark = digest_of(fingerprint)[:64]
        if last == mark:
            continue
        if kind == kinds.PERMIT_KEYS:
            payload: dict[str, Any] = {"node": node, "jwks": jwks}
        else:
            from tsela.domain.credentials import sign_revocation_list

            token = sign_revocation_list(rl, keys.signer(now))
            payload = {"node": node, "issued_at": now.isoformat(), "token": token}
        exchange_outbox.append(session, node, kind, mark, payload)
        added += 1
    return added


def digest_of(value: Any) -> str:
    import hashlib

    return hashlib.sha256(canonical(value)).hexdigest()


def publish_partner_credentials(engine: Engine, var_dir: Path, partner: str) -> bool:
    """Write the partner's latest permit key set and signed revocation list where the
    verifiers look (``<var>/keys/<PARTNER>/keyset.json`` and ``revocations.jws``, see
    ``services.keys.local_keysets`` and ``local_revocation_lists``): the officer's CLI, the
    API and web verifiers, and the ports' offline bundles. Only files that differ are
    written; True when one was."""
    from tsela.services.keys import write_private

    latest = {}
    with session_factory(engine)() as session:
        for kind in (kinds.PERMIT_KEYS, kinds.REVOCATION_LIST):
            latest[kind] = session.scalar(
                select(ReceivedRecord.payload)
                .where(ReceivedRecord.node == partner, ReceivedRecord.kind == kind)
                .order_by(ReceivedRecord.seq.desc())
                .limit(1)
            )
    folder = Path(var_dir) / "keys" / partner
    wanted: dict[str, bytes] = {}
    keys = latest[kinds.PERMIT_KEYS]
    if keys and "jwks" in keys:
        wanted["keyset.json"] = (json.dumps(keys["jwks"], indent=2) + "\n").encode()
    listed = latest[kinds.REVOCATION_LIST]
    if listed and isinstance(listed.get("token"), str):
        wanted["revocations.jws"] = listed["token"].encode("ascii", "replace")
    written = False
    for name, data in wanted.items():
        target = folder / name
        if target.exists() and target.read_bytes() == data:
            continue
        folder.mkdir(parents=True, exist_ok=True)
        write_private(target, data, 0o644)
        written = True
    return written


def announce_anchor(session: Session, identity: NodeIdentity, now: datetime) -> None:
    """Put this node's updated anchor in the outbox (after a rotation or withdrawal)."""
    from tsela.services import exchange_outbox

    doc = identity.anchor(now)
    exchange_outbox.append(session, identity.node, kinds.NODE_ANCHOR, new_id(), {"anchor": doc})


# --------------------------------------------------------------------------- status


@dataclass(frozen=True)
class PartnerStatus:
    partner: str
    endpoint: str
    fingerprint: str
    last_seq: int
    head_seq: int | None
    behind: int | None
    applied: int
    last_batch_id: str | None
    last_batch_at: str | None
    last_success_at: str | None
    lag_s: float | None
    lag_alert: bool
    last_error_code: str | None
    last_error: str | None
    last_error_at: str | None
    refusals: int

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def status(session: Session, now: datetime, lag_alert_s: int) -> dict[str, Any]:
    """Partners, last batch, lag (seconds and records behind, when known), errors; and this
    node's own feed (newest record, records not yet sequenced)."""
    out: list[dict[str, Any]] = []
    for p in partners(session):
        behind = None if p.head_seq is None else max(0, p.head_seq - p.last_seq)
        lag: float | None = None
        if behind and p.last_record_at:
            lag = (now - p.last_record_at).total_seconds()
        elif p.last_success_at:
            lag = (now - p.last_success_at).total_seconds()  # caught up as of then
        st = PartnerStatus(
            partner=p.partner,
            endpoint=str(p.anchor.get("endpoint")),
            fingerprint=p.fingerprint,
            last_seq=p.last_seq,
            head_seq=p.head_seq,
            behind=behind,
            applied=p.applied,
            last_batch_id=p.last_batch_id,
            last_batch_at=_iso(p.last_batch_at),
            last_success_at=_iso(p.last_success_at),
            lag_s=round(lag, 1) if lag is not None else None,
            lag_alert=lag is None or lag > lag_alert_s,
            last_error_code=p.last_error_code,
            last_error=p.last_error,
            last_error_at=_iso(p.last_error_at),
            refusals=p.refusals,
        )
        out.append(st.as_dict())
    head = session.scalar(select(func.max(_OUT.c.seq))) or 0
    pending = session.scalar(select(func.count()).select_from(_OUT).where(_OUT.c.seq.is_(None)))
    return {"partners": out, "feed": {"head_seq": head, "unsequenced": pending or 0}}


# --------------------------------------------------------------------------- evidence


def purge_message_log(session: Session, now: datetime, retention_days: int) -> int:
    """Drop signed batches received more than ``retention_days`` ago (0: keep all)."""
    if retention_days <= 0:
        return 0
    cutoff = now - timedelta(days=retention_days)
    gone = _rows_changed(
        session,
        delete(MessageLogEntry.__table__).where(MessageLogEntry.__table__.c.received_at < cutoff),
    )
    return int(gone or 0)


def evidence(session: Session, batch_id: str) -> dict[str, Any]:
    """A received batch with its signature and the anchor needed to verify it offline."""
    try:
        key = uuid.UUID(batch_id)
    except ValueError:
        raise TrustError(f"{batch_id!r} is not a batch id") from None
    entry = session.get(MessageLogEntry, key)
    if entry is None:
        raise TrustError(f"no batch {batch_id} in the message log (kept for a retention period)")
    partner = session.scalar(select(Partner).where(Partner.partner == entry.node))
    if partner is None:
        raise TrustError(f"node {entry.node} is no longer a partner; its anchor is gone")
    return {
        "type": "tsela-exchange-evidence",
        "v": 1,
        "batch_id": str(entry.id),
        "from": entry.node,
        "received_at": entry.received_at.isoformat(),
        "batch": entry.body,
        "signature": entry.signature,
        "anchor": partner.anchor,
    }


@dataclass(frozen=True)
class EvidenceReport:
    ok: bool
    message: str
    records: int = 0


def verify_evidence(document: Any) -> EvidenceReport:
    """Check exported evidence offline: the batch's signature by a key of the anchor that
    could sign when the batch was served, and the chain inside the batch."""
    try:
        anchor = _parse_anchor(document["anchor"])
        raw = str(document["batch"]).encode("ascii")
        signature = str(document["signature"])
        served = datetime.fromisoformat(json.loads(raw)["served_at"])
        doc = verify_signature(raw, signature, anchor, served)
        records = doc["records"]
        first = int(doc["first_seq"])
        verify_chain(records, after_seq=first - 1, prev_hash=str(doc["prev_hash"]))
    except (KeyError, TypeError, ValueError, UnicodeError) as exc:
        code = getattr(exc, "code", "malformed")
        return EvidenceReport(False, f"evidence does NOT verify ({code}): {exc}")
    return EvidenceReport(
        True,
        f"batch {doc['id']} from node {doc['from']} to {doc['to']}, records {first}.."
        f"{doc['last_seq']}, served {doc['served_at']}, signed by {doc['kid']}: verified",
        len(records),
    )
