"""Globally unique, time-ordered record ids (UUIDv7, RFC 9562).

Both countries' nodes create records independently; a UUIDv7 never clashes and sorts by
creation time, so exchanged data merges without renumbering.
"""

from __future__ import annotations

import uuid

import uuid_utils


def new_id() -> uuid.UUID:
    """A fresh UUIDv7 as a standard-library UUID."""
    return uuid.UUID(bytes=uuid_utils.uuid7().bytes)


def new_ids(n: int) -> list[uuid.UUID]:
    """Many fresh UUIDv7s at once (bulk loads)."""
    return [uuid.UUID(bytes=uuid_utils.uuid7().bytes) for _ in range(n)]
