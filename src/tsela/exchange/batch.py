"""Feed batches: what a node serves its partner, signed with its node key.

A batch is canonical JSON::

    {"type": "tsela-feed-batch", "v": 1, "id": ..., "from": "ZA", "to": "LS",
     "first_seq": 101, "last_seq": 200, "head_seq": 950, "prev_hash": ...,
     "records": [{"seq", "kind", "id", "node", "created_at", "payload", "hash"}, ...],
     "served_at": ..., "kid": ...}

sent as the body of the answer, with a detached Ed25519 signature over exactly those bytes
(header ``Tsela-Signature``). The receiver keeps bytes and signature as evidence: the
signature outlives the TLS connection. ``head_seq`` is the serving node's newest record
(how far behind the receiver is).

Pure: the clock, keys and the receiver's cursor are passed in.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tsela.exchange.anchor import Anchor, AnchorError
from tsela.exchange.canonical import b64d, b64e, canonical
from tsela.exchange.chain import ChainError, verify_chain

BATCH_TYPE = "tsela-feed-batch"
VERSION = 1
SIGNATURE_HEADER = "Tsela-Signature"


class BatchRefused(ValueError):
    """A batch that is not applied; ``code`` (for status pages and the audit log) says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class SignedBatch:
    body: bytes  # canonical JSON, as sent
    signature: str  # base64url Ed25519 over ``body``


def make_batch(
    *,
    batch_id: str,
    sender: str,
    receiver: str,
    after_seq: int,
    prev_hash: str,
    head_seq: int,
    records: Sequence[Mapping[str, Any]],
    served_at: datetime,
    kid: str,
    key: Ed25519PrivateKey,
) -> SignedBatch:
    last = records[-1]["seq"] if records else after_seq
    doc = {
        "type": BATCH_TYPE,
        "v": VERSION,
        "id": batch_id,
        "from": sender,
        "to": receiver,
        "first_seq": after_seq + 1,
        "last_seq": last,
        "head_seq": head_seq,
        "prev_hash": prev_hash,
        "records": list(records),
        "served_at": served_at.isoformat(),
        "kid": kid,
    }
    raw = canonical(doc)
    return SignedBatch(raw, b64e(key.sign(raw)))


_HOLE = "\x00records\x00"


def make_batch_from_texts(
    *,
    batch_id: str,
    sender: str,
    receiver: str,
    after_seq: int,
    last_seq: int,
    prev_hash: str,
    head_seq: int,
    record_texts: Sequence[str],
    served_at: datetime,
    kid: str,
    key: Ed25519PrivateKey,
) -> SignedBatch:
    """As ``make_batch``, from records already in canonical JSON (``chain.sealed``): the same
    bytes, without decoding and encoding every record again."""
    doc = {
        "type": BATCH_TYPE,
        "v": VERSION,
        "id": batch_id,
        "from": sender,
        "to": receiver,
        "first_seq": after_seq + 1,
        "last_seq": last_seq,
        "head_seq": head_seq,
        "prev_hash": prev_hash,
        "records": _HOLE,
        "served_at": served_at.isoformat(),
        "kid": kid,
    }
    head = canonical(doc)
    hole = canonical(_HOLE)
    raw = head.replace(hole, b"[" + ",".join(record_texts).encode("ascii") + b"]", 1)
    return SignedBatch(raw, b64e(key.sign(raw)))


@dataclass(frozen=True)
class VerifiedBatch:
    doc: dict[str, Any]
    records: list[dict[str, Any]]
    last_seq: int
    last_hash: str
    head_seq: int
    served_at: datetime

    @property
    def batch_id(self) -> str:
        return str(self.doc["id"])

    @property
    def kid(self) -> str:
        return str(self.doc["kid"])


def parse_unverified(raw: bytes) -> dict[str, Any]:
    try:
        doc = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise BatchRefused("malformed", "the answer is not a JSON batch") from None
    if not isinstance(doc, dict) or doc.get("type") != BATCH_TYPE:
        raise BatchRefused("malformed", "the answer is not a Tsela feed batch")
    if doc.get("v") != VERSION:
        raise BatchRefused(
            "malformed", f"batch version {doc.get('v')!r}; this node reads {VERSION}"
        )
    return doc


def verify_signature(raw: bytes, signature: str, anchor: Anchor, now: datetime) -> dict[str, Any]:
    """The batch document, if ``signature`` over ``raw`` is by a key of ``anchor`` that may
    sign now (known, not withdrawn, within its validity)."""
    doc = parse_unverified(raw)
    kid = doc.get("kid")
    if not isinstance(kid, str):
        raise BatchRefused("malformed", "the batch names no signing key")
    try:
        key = anchor.signing_key(kid, now)
    except AnchorError as exc:
        raise BatchRefused(exc.code, str(exc)) from None
    try:
        key.public().verify(b64d(signature), raw)
    except (InvalidSignature, ValueError):
        raise BatchRefused(
            "bad_signature", f"the batch's signature by {kid} does not verify (altered in transit?)"
        ) from None
    return doc


def verify_batch(
    raw: bytes,
    signature: str,
    *,
    anchor: Anchor,
    receiver: str,
    after_seq: int,
    prev_hash: str,
    now: datetime,
    max_skew: timedelta,
    max_records: int,
) -> VerifiedBatch:
    """Everything a receiver checks before applying a batch; raises ``BatchRefused``."""
    doc = verify_signature(raw, signature, anchor, now)
    try:
        served_at = datetime.fromisoformat(str(doc["served_at"]))
        first, last, head = int(doc["first_seq"]), int(doc["last_seq"]), int(doc["head_seq"])
        records = doc["records"]
        given_prev = str(doc["prev_hash"])
        sender, to = doc["from"], doc["to"]
        if served_at.tzinfo is None or not isinstance(records, list):
            raise ValueError("bad field")
    except (KeyError, TypeError, ValueError):
        raise BatchRefused("malformed", "the batch lacks a field or has a malformed one") from None
    if sender != anchor.node or to != receiver:
        raise BatchRefused(
            "wrong_node", f"a batch from {sender!r} to {to!r}; expected {anchor.node} to {receiver}"
        )
    skew = abs(served_at - now)
    if skew > max_skew:
        hours = skew.total_seconds() / 3600
        raise BatchRefused(
            "clock_skew",
            f"the partner's clock is {hours:.1f} h off ours (batch served at "
            f"{served_at.isoformat()}, received at {now.isoformat()}); check both clocks (NTP)",
        )
    if first < after_seq + 1:
        raise BatchRefused(
            "replay", f"the batch starts at {first}; records up to {after_seq} are applied already"
        )
    if first > after_seq + 1:
        raise BatchRefused(
            "gap", f"the batch starts at {first}; the next record expected is {after_seq + 1}"
        )
    if given_prev != prev_hash:
        raise BatchRefused(
            "chain", "the batch does not follow the last one applied (its prev_hash differs)"
        )
    if len(records) > max_records:
        raise BatchRefused("too_large", f"{len(records)} records; at most {max_records} accepted")
    if last != after_seq + len(records) or head < last:
        raise BatchRefused("malformed", "the batch's sequence numbers do not match its records")
    for record in records:
        if not isinstance(record, dict) or not isinstance(record.get("payload"), dict):
            raise BatchRefused("malformed", "a record is not an object with a payload")
        if record.get("node") != sender:
            raise BatchRefused(
                "wrong_node", f"record {record.get('seq')} claims node {record.get('node')!r}"
            )
    try:
        last_hash = verify_chain(records, after_seq=after_seq, prev_hash=prev_hash)
    except (ChainError, KeyError, TypeError) as exc:
        code = exc.code if isinstance(exc, ChainError) else "malformed"
        raise BatchRefused(code, f"chain broken: {exc}") from None
    return VerifiedBatch(doc, records, last, last_hash, head, served_at)
