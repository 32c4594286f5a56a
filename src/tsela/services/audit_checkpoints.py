"""Signed checkpoints of the audit log, kept outside the database.

The hash chain shows an edited or deleted entry only while the entries after it are intact:
whoever can write the table can delete its newest entries, delete all of them, or edit one
and recompute every hash after it, and the chain still verifies. A checkpoint records the
chain's head (sequence number and hash) at a moment, signed with the node's Ed25519 key, in
an append-only file outside the database (``<var>/audit-checkpoints.jsonl``, one JSON object
a line). ``verify`` then requires every checkpointed entry to be in the log with that hash.

The server writes one after sealing, at most every ``TSELA_AUDIT_CHECKPOINT_S`` seconds;
``tsela audit verify`` (when the log is intact) and ``tsela audit checkpoint`` write one too.
Each record is self-contained (its ``token`` is a compact JWS over the same fields, signed by
the key ``kid`` of the node's published key set), so it is also sent to the partner node (the
``audit_checkpoint`` kind of the exchange feed, written to the outbox before the file), which
keeps it as it arrived (``exchange_received``, with the node that made it). ``tsela audit
verify --against-partner`` compares the chain with the partner's copies too (``held_for``
on the partner; ``check_records`` here). Protection lasts as long as one copy of the
checkpoints is out of the tamperer's reach, and covers the log up to the newest checkpoint.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tsela.config import Settings
from tsela.domain.credentials import CredentialError, KeySet, Signer, b64d
from tsela.kernel import clock
from tsela.services import audit
from tsela.services.keys import KeyStore, require_signing_keys
from tsela.store.db import session_factory, transaction

FILE_NAME = "audit-checkpoints.jsonl"
TYP = "tsela-audit-checkpoint"
VERSION = 1
_FIELDS = ("node", "seq", "hash", "at")  # what the signature covers


class CheckpointError(ValueError):
    """A checkpoint record is malformed or its signature does not hold; the message says."""


@dataclass(frozen=True)
class Checkpoint:
    node: str
    seq: int
    hash: str
    at: datetime
    kid: str
    token: str  # compact JWS (EdDSA) over {node, seq, hash, at}

    def claims(self) -> dict[str, Any]:
        return _claims(self.node, self.seq, self.hash, self.at)

    def to_dict(self) -> dict[str, Any]:
        """The record as written to the file and sent to the partner node."""
        return {
            "type": TYP,
            "version": VERSION,
            **self.claims(),
            "kid": self.kid,
            "token": self.token,
        }


def _claims(node: str, seq: int, digest: str, at: datetime) -> dict[str, Any]:
    return {"node": node, "seq": seq, "hash": digest, "at": at.isoformat(timespec="seconds")}


def checkpoint_path(var_dir: Path) -> Path:
    return Path(var_dir) / FILE_NAME


def sign(signer: Signer, seq: int, digest: str, at: datetime) -> Checkpoint:
    at = at.replace(microsecond=0)  # what the record shows
    token = signer.sign(_claims(signer.node, seq, digest, at), typ=TYP)
    return Checkpoint(signer.node, seq, digest, at, signer.kid, token)


def parse(record: dict[str, Any], keys: KeySet) -> Checkpoint:
    """A checkpoint whose signature holds (by a key of ``keys``), from its record."""
    try:
        head, body, sig = str(record["token"]).split(".")
        header = json.loads(b64d(head, "header"))
        claims = json.loads(b64d(body, "claims"))
        signature = b64d(sig, "signature")
    except (KeyError, ValueError, CredentialError) as exc:
        raise CheckpointError(f"malformed checkpoint ({exc})") from None
    if not isinstance(header, dict) or header.get("typ") != TYP:
        raise CheckpointError("not an audit checkpoint")
    kid = str(header.get("kid", ""))
    if keys.get(kid) is None:
        raise CheckpointError(f"signed by key {kid!r}, which is not in the node's key set")
    try:
        keys.crypto_key(kid).verify(signature, f"{head}.{body}".encode("ascii"))
    except InvalidSignature:
        raise CheckpointError("signature does not hold (the checkpoint was altered)") from None
    if not isinstance(claims, dict) or any(claims.get(f) != record.get(f) for f in _FIELDS):
        raise CheckpointError("its fields differ from what was signed (the record was altered)")
    try:
        return Checkpoint(
            node=str(claims["node"]),
            seq=int(claims["seq"]),
            hash=str(claims["hash"]),
            at=datetime.fromisoformat(str(claims["at"])),
            kid=kid,
            token=str(record["token"]),
        )
    except (KeyError, ValueError) as exc:
        raise CheckpointError(f"malformed checkpoint ({exc})") from None


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    if not path.exists():
        return
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if line.strip():
                yield number, line


def _last_record(path: Path, node: str) -> dict[str, Any] | None:
    """The newest record of ``node`` (reads the file's tail only, when it can)."""
    if not path.exists():
        return None
    with path.open("rb") as fh:
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        fh.seek(max(0, size - 64 * 1024))
        tail = fh.read().decode("utf-8", "replace").splitlines()
    for line in reversed(tail):
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and record.get("node") == node:
            return record
    return None


@dataclass(frozen=True)
class FileCheck:
    anchors: dict[int, str]  # seq -> hash, from the checkpoints whose signature holds
    problems: list[str]
    count: int


def check_file(path: Path, keys: KeySet, node: str) -> FileCheck:
    """Every checkpoint of ``node`` in the file, its signature checked."""
    return check_records(((f"{path.name} line {n}", line) for n, line in _lines(path)), keys, node)


def check_records(lines: Iterable[tuple[str, str]], keys: KeySet, node: str) -> FileCheck:
    """Every checkpoint of ``node`` among JSON ``lines`` (each with where it was read), its
    signature checked: the local file, or the copies a partner keeps."""
    anchors: dict[int, str] = {}
    problems: list[str] = []
    count = 0
    for where, line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            problems.append(f"{where}: not a JSON record (the checkpoint file was altered)")
            continue
        if not isinstance(record, dict) or record.get("node") != node:
            continue  # the partner's checkpoints, if kept here, are checked by the partner
        try:
            cp = parse(record, keys)
        except CheckpointError as exc:
            problems.append(f"{where}: {exc}")
            continue
        count += 1
        if anchors.setdefault(cp.seq, cp.hash) != cp.hash:
            problems.append(f"{where}: entry {cp.seq} was checkpointed with two different hashes")
    return FileCheck(anchors, problems, count)


def append(path: Path, checkpoint: Checkpoint) -> None:
    """Add one record at the end of the file, durably."""
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(checkpoint.to_dict(), sort_keys=True, separators=(",", ":")) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def _head(engine: Engine) -> tuple[int, str] | None:
    with session_factory(engine)() as session:
        last = session.execute(audit.LAST_SEALED).first()
    return (int(last[0]), str(last[1])) if last else None


def write_checkpoint(
    engine: Engine,
    var_dir: Path,
    node: str,
    *,
    now: datetime | None = None,
    min_interval_s: float = 0,
    head: tuple[int, str] | None = None,
) -> Checkpoint | None:
    """Sign and append a checkpoint of the sealed log's head (``head``, or read from the
    database); None when the log is empty, the head is already checkpointed, or the last
    checkpoint is younger than ``min_interval_s``. One process at a time (a lock file)."""
    now = now or clock.now()
    path = checkpoint_path(var_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        last = _last_record(path, node)
        if last is not None and min_interval_s:
            try:
                age = (now - datetime.fromisoformat(str(last.get("at")))).total_seconds()
            except (TypeError, ValueError):
                age = min_interval_s
            if age < min_interval_s:
                return None
        head = head or _head(engine)
        if head is None:
            return None
        if last is not None and (last.get("seq"), last.get("hash")) == head:
            return None
        store = KeyStore(var_dir, node)
        require_signing_keys(engine, store)  # never a new key beside missing ones
        checkpoint = sign(store.signer(now), head[0], head[1], now)
        # Offered to the partner first: should that fail (the database away), nothing is
        # written and the next round signs this head again; should the file fail after it,
        # the partner holds one more copy than the file, which does no harm.
        offer(engine, checkpoint)
        append(path, checkpoint)
        return checkpoint


def offer(engine: Engine, checkpoint: Checkpoint) -> None:
    """Put the checkpoint in the exchange outbox (kind ``audit_checkpoint``), for the partner
    node to keep (docs/exchange.md); committed at once."""
    from tsela.exchange import kinds
    from tsela.services import exchange_outbox

    with transaction(session_factory(engine)) as session:
        exchange_outbox.append(
            session,
            checkpoint.node,
            kinds.AUDIT_CHECKPOINT,
            f"{checkpoint.seq}:{checkpoint.hash[:16]}",
            checkpoint.to_dict(),
        )


def held_for(session: Session, origin: str, limit: int | None = None) -> list[dict[str, Any]]:
    """The checkpoints of partner node ``origin`` this node keeps, as they arrived through
    the feed (oldest first; the newest ``limit`` of them), each with when it arrived."""
    from tsela.exchange import kinds
    from tsela.store.exchange import ReceivedRecord

    table = ReceivedRecord.__table__
    query = (
        select(table.c.payload, table.c.received_at, table.c.seq)
        .where(table.c.node == origin, table.c.kind == kinds.AUDIT_CHECKPOINT)
        .order_by(table.c.seq.desc())
    )
    if limit is not None:
        query = query.limit(limit)
    rows = list(session.execute(query))
    return [
        {**dict(payload), "received_at": received_at.isoformat()}
        for payload, received_at, _seq in reversed(rows)
    ]


def latest_checkpoint(var_dir: Path, node: str) -> dict[str, Any] | None:
    """The newest signed checkpoint of ``node``, as a dict to send to the partner node (who
    checks ``token`` with this node's published key set: ``parse``)."""
    return _last_record(checkpoint_path(var_dir), node)


@dataclass(frozen=True)
class PartnerCopies:
    """The checkpoints of this node's log that a partner keeps, as read for ``verify``."""

    label: str  # "kept by node ZA", "kept by the partner (file za-copy.jsonl)"
    lines: list[tuple[str, str]]  # (where, JSON line)


def partner_copies(
    engine: Engine, settings: Settings, source: str, limit: int = 1000
) -> PartnerCopies:
    """``source``: a file the partner's operator exported (``tsela exchange checkpoints``),
    or a trusted partner's node code, asked over the exchange's mutual TLS (its newest
    ``limit``: the newest alone anchors the whole log up to it)."""
    path = Path(source)
    if path.exists() or len(source) != 2 or not source.isalpha():
        try:
            text = path.read_text("utf-8")
        except (OSError, UnicodeError) as exc:
            raise CheckpointError(
                f"cannot read the partner's checkpoints {source}: {exc}"
            ) from None
        lines = [(f"{path.name} line {n}", line) for n, line in enumerate(text.splitlines(), 1)]
        return PartnerCopies(
            f"kept by the partner: {path.name}", [(w, ln) for w, ln in lines if ln.strip()]
        )
    import ssl

    import httpx

    from tsela.exchange.batch import BatchRefused
    from tsela.services import exchange
    from tsela.services.node_identity import NodeIdentity
    from tsela.store.exchange import Partner

    code = source.upper()
    with session_factory(engine)() as session:
        partner = session.scalar(select(Partner).where(Partner.partner == code))
    if partner is None:
        raise CheckpointError(f"node {code} is not a trusted partner (tsela exchange trust list)")
    identity = NodeIdentity(settings.var_dir, settings.node)
    try:
        got = exchange.fetch_checkpoints(
            identity,
            exchange.parse_anchor(partner.anchor),
            limit=limit,
            max_bytes=settings.exchange_max_bytes,
        )
    except BatchRefused as exc:
        raise CheckpointError(f"node {code} could not be asked ({exc.code}): {exc}") from None
    except (httpx.HTTPError, OSError, ssl.SSLError, ValueError) as exc:
        raise CheckpointError(f"node {code} could not be asked: {exc}") from None
    return PartnerCopies(
        f"kept by node {code}", [(f"node {code}'s copy {n}", ln) for n, ln in enumerate(got, 1)]
    )


@dataclass(frozen=True)
class LogCheck:
    """What ``verify_log`` found: the chain's report and every problem, from the chain, the
    checkpoint file and (when asked) the partner's copies."""

    report: audit.ChainReport
    problems: list[str]
    sealed: int  # entries chained first
    late_sealed: list[audit.LateEntry]  # back-dated entries chained as asked (seal_late)
    partner_count: int | None  # checkpoints of this log the partner keeps (None: not asked)
    partner_newest: int | None  # the entry the newest of them names
    written: Checkpoint | None  # the checkpoint written when the log was intact

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_log(
    engine: Engine,
    var_dir: Path,
    node: str,
    *,
    seal: bool = True,
    seal_late: bool = False,
    partner: PartnerCopies | None = None,
) -> LogCheck:
    """Check the whole hash chain against the signed checkpoints kept outside the database
    (and the partner's copies, if given): first chain the entries written since the last seal
    (``seal``); when intact, write a new checkpoint of the head."""
    late = []
    if seal and seal_late:
        with session_factory(engine)() as s:
            late = audit.late_entries(s, limit=1_000_000)
    sealed = audit.seal_pending(engine, include_late=seal_late) if seal else 0
    path = checkpoint_path(var_dir)
    keyset = KeyStore(var_dir, node).keyset()
    anchored = check_file(path, keyset, node)
    anchors, kept_by = dict(anchored.anchors), {}
    problems = list(anchored.problems)
    partner_count = partner_newest = None
    if partner is not None:
        held = check_records(partner.lines, keyset, node)
        problems += held.problems
        for seq, digest in sorted(held.anchors.items()):
            if anchors.get(seq, digest) != digest:
                problems.append(
                    f"entry {seq}: the checkpoint {partner.label} and the one in {path.name} "
                    "differ (the local checkpoint file was altered)"
                )
            anchors[seq] = digest  # the copy out of this node's reach decides
            kept_by[seq] = partner.label
        partner_count = held.count
        partner_newest = max(held.anchors) if held.anchors else None
    with session_factory(engine)() as s:
        report = audit.verify(s, anchors, kept_by)
    problems += report.problems
    written = None
    if not problems and report.last_seq:
        written = write_checkpoint(engine, var_dir, node, head=(report.last_seq, report.last_hash))
    return LogCheck(report, problems, sealed, late, partner_count, partner_newest, written)
