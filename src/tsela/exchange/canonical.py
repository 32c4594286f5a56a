"""Canonical JSON: the one byte spelling of a value that hashes and signatures cover.

Keys sorted, no spaces, ASCII only (escapes for anything else), no NaN: two nodes with
different JSON libraries produce the same bytes for the same value.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any

_ENCODE = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
).encode


def canonical(value: Any) -> bytes:
    """The canonical JSON bytes of ``value`` (dicts, lists, str, int, bool, None)."""
    return _ENCODE(value).encode("ascii")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def b64e(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def b64d(text: str) -> bytes:
    """Unpadded base64url, refusing any other spelling of the same bytes."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError, TypeError):
        raise ValueError("not valid base64url") from None
    if b64e(raw) != text:
        raise ValueError("not canonical base64url")
    return raw
