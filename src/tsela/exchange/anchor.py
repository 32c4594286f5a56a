"""Trust anchors: the signed file by which two operators make their nodes trust each other.

An anchor names a node (id and country), its node signing keys with their validity, its TLS
certificate, the endpoint of its feed and the anchor's own validity, and is signed by the
node's keys. The receiving operator checks its fingerprint with the sending operator by
another channel (telephone, letter) before adding it; after that, an updated anchor (a new
key, a withdrawn key, a new endpoint) travels through the feed itself and is accepted only
when signed by a key the partner already trusts (as X-Road's global configuration is).

Pure: times are passed in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.x509.oid import ExtensionOID

from tsela.exchange.canonical import b64d, b64e, canonical, sha256_hex

ANCHOR_TYPE = "tsela-trust-anchor"
VERSION = 1
NODE_URN = "urn:tsela:node:"
COUNTRIES = {"LS": "LSO", "ZA": "ZAF"}


class AnchorError(ValueError):
    """An anchor (or a key it names) cannot be trusted; ``code`` says why, for status pages."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class NodeKey:
    kid: str
    raw: bytes  # Ed25519 public key
    valid_from: datetime
    valid_to: datetime | None = None  # end of the overlap after a rotation
    withdrawn_at: datetime | None = None

    def problem_at(self, moment: datetime) -> str | None:
        """Why this key may not sign at ``moment`` (a code), or None."""
        if self.withdrawn_at is not None and moment >= self.withdrawn_at:
            return "withdrawn_key"
        if moment < self.valid_from or (self.valid_to is not None and moment > self.valid_to):
            return "expired_key"
        return None

    def public(self) -> Ed25519PublicKey:
        return Ed25519PublicKey.from_public_bytes(self.raw)

    def to_json(self) -> dict[str, Any]:
        return {
            "kid": self.kid,
            "alg": "Ed25519",
            "x": b64e(self.raw),
            "valid_from": _iso(self.valid_from),
            "valid_to": _iso(self.valid_to),
            "withdrawn_at": _iso(self.withdrawn_at),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> NodeKey:
        try:
            raw = b64d(str(data["x"]))
            if len(raw) != 32 or data.get("alg") != "Ed25519":
                raise ValueError("not an Ed25519 public key")
            return cls(
                kid=str(data["kid"]),
                raw=raw,
                valid_from=_time(data["valid_from"]),
                valid_to=_time(data.get("valid_to")),
                withdrawn_at=_time(data.get("withdrawn_at")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise AnchorError("malformed", f"malformed node key in the anchor: {exc}") from None


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _time(value: Any) -> Any:
    if value is None:
        return None
    moment = datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        raise ValueError(f"time {value!r} has no time zone")
    return moment


@dataclass(frozen=True)
class Anchor:
    document: dict[str, Any]  # as signed and exchanged
    node: str
    country: str
    endpoint: str
    issued_at: datetime
    valid_from: datetime
    valid_to: datetime
    keys: tuple[NodeKey, ...]
    certificate_pem: str

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.document)

    @property
    def certificate_der(self) -> bytes:
        from cryptography.hazmat.primitives.serialization import Encoding

        return x509.load_pem_x509_certificate(self.certificate_pem.encode()).public_bytes(
            Encoding.DER
        )

    def key(self, kid: str) -> NodeKey | None:
        return next((k for k in self.keys if k.kid == kid), None)

    def signing_key(self, kid: str, at: datetime) -> NodeKey:
        """The key ``kid`` if it may sign at ``at``; else AnchorError (unknown, withdrawn,
        expired)."""
        key = self.key(kid)
        if key is None:
            raise AnchorError("unknown_key", f"key {kid} is not a key of node {self.node}")
        problem = key.problem_at(at)
        if problem == "withdrawn_key":
            raise AnchorError(
                problem, f"key {kid} of node {self.node} was withdrawn at {_iso(key.withdrawn_at)}"
            )
        if problem:
            raise AnchorError(problem, f"key {kid} of node {self.node} is not valid at {_iso(at)}")
        return key

    def check_valid(self, at: datetime) -> None:
        if at < self.valid_from or at > self.valid_to:
            raise AnchorError(
                "anchor_expired",
                f"the trust anchor of node {self.node} is valid from {_iso(self.valid_from)} "
                f"to {_iso(self.valid_to)}, not at {_iso(at)}",
            )


def body(document: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k != "signatures"}


def fingerprint(document: Mapping[str, Any]) -> str:
    """SHA-256 of the anchor's signed content, in groups of four for reading aloud."""
    digest = sha256_hex(canonical(body(document))).upper()
    return " ".join(digest[i : i + 4] for i in range(0, len(digest), 4))


def make_anchor(
    *,
    node: str,
    endpoint: str,
    keys: Sequence[NodeKey],
    certificate_pem: str,
    issued_at: datetime,
    valid_to: datetime,
    signers: Sequence[tuple[str, Ed25519PrivateKey]],
) -> dict[str, Any]:
    """A signed anchor document, signed by each of ``signers`` (kid, private key)."""
    doc: dict[str, Any] = {
        "type": ANCHOR_TYPE,
        "v": VERSION,
        "node": node,
        "country": COUNTRIES.get(node, ""),
        "endpoint": endpoint,
        "issued_at": issued_at.isoformat(),
        "valid_from": issued_at.isoformat(),
        "valid_to": valid_to.isoformat(),
        "keys": [k.to_json() for k in keys],
        "tls_certificate": certificate_pem,
    }
    signed = canonical(doc)
    doc["signatures"] = [{"kid": kid, "sig": b64e(key.sign(signed))} for kid, key in signers]
    return doc


def certificate_node(cert: x509.Certificate) -> str | None:
    """The node id a certificate names in its subject alternative name (urn:tsela:node:XX)."""
    try:
        san = cert.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
    except x509.ExtensionNotFound:
        return None
    names = san.value
    if not isinstance(names, x509.SubjectAlternativeName):
        return None
    uris = names.get_values_for_type(x509.UniformResourceIdentifier)
    nodes = [u[len(NODE_URN) :] for u in uris if u.startswith(NODE_URN)]
    return nodes[0] if len(nodes) == 1 else None


def certificate_node_der(der: bytes) -> str | None:
    try:
        return certificate_node(x509.load_der_x509_certificate(der))
    except ValueError:
        return None


def parse_anchor(document: Any) -> Anchor:
    """Check an anchor's form and its signatures (each by a key it names, at least one by a
    key valid when it was issued) and that its certificate names its node."""
    if not isinstance(document, dict):
        raise AnchorError("malformed", "a trust anchor is a JSON object")
    if document.get("type") != ANCHOR_TYPE or document.get("v") != VERSION:
        raise AnchorError("malformed", f"not a version {VERSION} Tsela trust anchor")
    try:
        node = str(document["node"])
        keys = tuple(NodeKey.from_json(k) for k in document["keys"])
        issued_at = _time(document["issued_at"])
        anchor = Anchor(
            document=document,
            node=node,
            country=str(document["country"]),
            endpoint=str(document["endpoint"]),
            issued_at=issued_at,
            valid_from=_time(document["valid_from"]),
            valid_to=_time(document["valid_to"]),
            keys=keys,
            certificate_pem=str(document["tls_certificate"]),
        )
        signatures = list(document["signatures"])
    except (KeyError, TypeError, ValueError) as exc:
        raise AnchorError("malformed", f"malformed trust anchor: missing or bad {exc}") from None
    if COUNTRIES.get(node) != anchor.country:
        raise AnchorError("malformed", f"node {node!r} with country {anchor.country!r}")
    if not anchor.endpoint.startswith("https://"):
        raise AnchorError("malformed", f"the endpoint {anchor.endpoint!r} is not https://")
    try:
        cert = x509.load_pem_x509_certificate(anchor.certificate_pem.encode())
    except ValueError:
        raise AnchorError(
            "malformed", "the anchor's TLS certificate is not a PEM certificate"
        ) from None
    named = certificate_node(cert)
    if named != node:
        raise AnchorError(
            "certificate_node",
            f"the anchor's TLS certificate names node {named!r}, the anchor node {node!r}",
        )
    signed = canonical(body(document))
    good = 0
    for entry in signatures:
        if not isinstance(entry, dict):
            raise AnchorError("malformed", "malformed signature entry")
        key = anchor.key(str(entry.get("kid")))
        if key is None:
            raise AnchorError(
                "unknown_key", f"signed by {entry.get('kid')}, a key it does not name"
            )
        try:
            key.public().verify(b64d(str(entry.get("sig"))), signed)
        except (InvalidSignature, ValueError):
            raise AnchorError("bad_signature", f"signature by {key.kid} does not verify") from None
        if key.problem_at(issued_at) is None:
            good += 1
    if not good:
        raise AnchorError("bad_signature", "not signed by any key valid when it was issued")
    return anchor


def check_update(current: Anchor, new: Anchor, now: datetime) -> None:
    """An updated anchor of a partner is accepted only if it is newer, for the same node, and
    signed by a key the current anchor trusts now; withdrawals are never undone."""
    if new.node != current.node:
        raise AnchorError(
            "wrong_node", f"an anchor of node {new.node} cannot replace {current.node}"
        )
    if new.issued_at <= current.issued_at:
        raise AnchorError(
            "stale_anchor",
            f"anchor of {_iso(new.issued_at)} is not newer than the one trusted "
            f"({_iso(current.issued_at)})",
        )

    def vouches(entry: Any) -> bool:
        key = current.key(str(entry.get("kid")))
        same = new.key(key.kid) if key is not None else None
        # parse_anchor verified the signature with the key as the new anchor names it
        return (
            key is not None
            and key.problem_at(now) is None
            and same is not None
            and (same.raw == key.raw)
        )

    trusted = any(isinstance(e, dict) and vouches(e) for e in new.document.get("signatures", []))
    if not trusted:
        raise AnchorError(
            "untrusted_update",
            f"the updated anchor of node {new.node} is not signed by a key trusted now",
        )
    for old in current.keys:
        if old.withdrawn_at is not None:
            kept = new.key(old.kid)
            if kept is None or kept.withdrawn_at is None or kept.raw != old.raw:
                raise AnchorError(
                    "untrusted_update", f"the update would bring back withdrawn key {old.kid}"
                )
