"""The feed's hash chain: each record names, through its hash, every record before it.

A record's *digest* covers its content (sequence number, kind, id, node, time, payload); its
*hash* (the chain link) is ``SHA-256(prev_hash || digest)``. A partner that knows the hash of
the last record it applied recomputes the links of a batch and so detects a record left out,
inserted, reordered or altered. The batch signature covers the bytes as sent; the chain
covers continuity from one batch to the next.

A record the serving node had to narrow at serve time (its agreement changed after the
record was chained) carries the ``digest`` of its original content, so the chain still
verifies while the narrowed fields stay at home.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from tsela.exchange.canonical import canonical

GENESIS = "0" * 64
CORE_FIELDS = ("seq", "kind", "id", "node", "created_at", "payload")


class ChainError(ValueError):
    """The records do not follow on from each other; ``code`` says how, the message where."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def digest(record: Mapping[str, Any]) -> str:
    """The digest of a record's content (its core fields)."""
    return hashlib.sha256(canonical({k: record[k] for k in CORE_FIELDS})).hexdigest()


def link(prev_hash: str, record_digest: str) -> str:
    return hashlib.sha256((prev_hash + record_digest).encode("ascii")).hexdigest()


def sealed(record: Mapping[str, Any], prev_hash: str) -> tuple[str, str, str]:
    """(digest, hash, text) of a record placed after ``prev_hash``: ``text`` is the record's
    canonical JSON with its hash, as a batch carries it (built once, when it is chained, so
    that serving a batch is joining texts)."""
    core = canonical({k: record[k] for k in CORE_FIELDS}).decode("ascii")
    d = hashlib.sha256(core.encode("ascii")).hexdigest()
    h = link(prev_hash, d)
    # Keys sort as created_at, hash, id, ...: the hash goes in before "id" (created_at is an
    # ISO time, which holds no quote, so the first ',"id":' is the key's).
    cut = core.index(',"id":')
    return d, h, f'{core[:cut]},"hash":"{h}"{core[cut:]}'


def verify_chain(records: Sequence[Mapping[str, Any]], *, after_seq: int, prev_hash: str) -> str:
    """Check that ``records`` follow on from (``after_seq``, ``prev_hash``), one by one and
    with no gap; the hash of the last one. Raises ``ChainError``."""
    expected = after_seq + 1
    prev = prev_hash
    for record in records:
        seq = record.get("seq")
        if seq != expected:
            code = "replay" if isinstance(seq, int) and seq < expected else "gap"
            raise ChainError(code, f"record {seq}: expected sequence number {expected}")
        given = record.get("digest")
        d = given if isinstance(given, str) else digest(record)
        h = link(prev, d)
        if record.get("hash") != h:
            raise ChainError("chain", f"record {seq}: its hash does not follow from the one before")
        prev = h
        expected += 1
    return prev
