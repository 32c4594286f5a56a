"""The node exchange (issue 16): the pure parts, no I/O.

- ``canonical``: the bytes hashes and signatures cover;
- ``chain``: the feed's hash chain;
- ``batch``: signed batches, and every check a receiver makes before applying one;
- ``anchor``: trust anchors (node identity, keys with rotation and withdrawal, certificate);
- ``agreement``: the fields each kind of record may carry across the border;
- ``kinds``: the registry of record kinds and how a receiver applies each.

The adapters: ``tsela.store.exchange`` (tables), ``tsela.services.exchange`` (outbox, serve,
pull and apply), ``tsela.services.node_identity`` (keys and certificate on disk),
``tsela.api.exchange`` (the mutual-TLS feed listener) and ``tsela.cli.exchange``.
"""

from tsela.exchange.agreement import Agreement, AgreementError
from tsela.exchange.anchor import Anchor, AnchorError, NodeKey, check_update, parse_anchor
from tsela.exchange.batch import BatchRefused, SignedBatch, VerifiedBatch, make_batch, verify_batch
from tsela.exchange.canonical import canonical
from tsela.exchange.chain import GENESIS, ChainError, digest, link, verify_chain

__all__ = [
    "GENESIS",
    "Agreement",
    "AgreementError",
    "Anchor",
    "AnchorError",
    "BatchRefused",
    "ChainError",
    "NodeKey",
    "SignedBatch",
    "VerifiedBatch",
    "canonical",
    "check_update",
    "digest",
    "link",
    "make_batch",
    "parse_anchor",
    "verify_batch",
    "verify_chain",
]
