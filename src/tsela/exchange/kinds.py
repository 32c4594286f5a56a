"""The kinds of record the feed carries, and what a receiving node does with each.

A kind is registered with the function that applies a partner's records of it (inside the
transaction that advances the cursor). New kinds register here and get a line in
``reference/exchange_agreement.toml``; until both are done they never leave a node.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

CROSSING = "crossing"
DOCUMENT_ALERT = "document_alert"
PERMIT_STATUS = "permit_status"
PERMIT_KEYS = "permit_keys"
REVOCATION_LIST = "revocation_list"
NODE_ANCHOR = "node_anchor"
AUDIT_CHECKPOINT = "audit_checkpoint"  # kept as received: the partner's outside anchor
REFUSAL = "refusal"  # kept, and applied by services.refusals.apply_partner_refusals
ENTRY_BAN = "entry_ban"  # kept, and applied by services.refusals.apply_partner_bans

# applier(session, partner_node, records) -> records newly applied
Applier = Callable[[Any, str, Sequence[Mapping[str, Any]]], int]

_APPLIERS: dict[str, Applier] = {}


def register(kind: str, applier: Applier) -> None:
    """Make ``applier`` the way this node applies a partner's records of ``kind``."""
    _APPLIERS[kind] = applier


def applier(kind: str) -> Applier | None:
    return _APPLIERS.get(kind)


def registered() -> list[str]:
    return sorted(_APPLIERS)
