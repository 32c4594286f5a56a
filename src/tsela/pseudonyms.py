"""Pseudonyms for travellers: an HMAC of their record id with a secret the node keeps outside
the database (``<var dir>/keys/pseudonym.key``, made on first use).

One key per use: the observatory's analysis copy (``traveller_key``) and the case summaries
sent to the AU Continental Operational Centre and the partner node (``case_person_key``) use
the same secret with a different label, so a traveller keeps one pseudonym within each use
(repeat cases of one person can be linked) but the two cannot be joined without the secret.
Lean: no optional extra needed.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from pathlib import Path


def pseudonym_secret(var_dir: Path) -> bytes:
    """The node's secret for traveller keys; created on first use, kept outside the database."""
    path = var_dir / "keys" / "pseudonym.key"
    if path.exists():
        return bytes.fromhex(path.read_text().strip())
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_bytes(32)
    path.write_text(secret.hex())
    path.chmod(0o600)
    return secret


def traveller_key(secret: bytes, person_id_hex: str) -> str:
    """The observatory's key of a traveller (20 hex digits)."""
    return hmac.new(secret, person_id_hex.encode(), hashlib.sha256).hexdigest()[:20]


def case_person_key(secret: bytes, person_id_hex: str) -> str:
    """The key of a traveller in case summaries (20 hex digits): HMAC-SHA256 of
    ``"case:" + person id (32 hex digits)``, so it differs from ``traveller_key``."""
    message = f"case:{person_id_hex}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()[:20]
