"""A node's exchange identity on disk: its node signing keys and its TLS certificate.

Layout under ``<TSELA_VAR_DIR>/exchange/<NODE>/`` (made by ``tsela exchange init``, or
``tsela init``):

- ``node-keys.json``   every node key ever used (public half, validity, withdrawal) and the
                       endpoint partners reach this node's feed at;
- ``key-<kid>.pem``     private halves of the keys that may still sign (mode 0600);
- ``tls.pem``, ``tls-key.pem``  the TLS certificate (self-signed, naming ``urn:tsela:node:XX``
                       in its subject alternative name) and its private key (0600).

The node keys are separate from the permit-signing keys (``services/keys.py``): they sign
feed batches and trust anchors, never credentials.
"""

from __future__ import annotations

import fcntl
import ipaddress
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509.oid import NameOID

from tsela.config import validate_node
from tsela.domain.credentials import make_kid
from tsela.exchange.anchor import NODE_URN, NodeKey, make_anchor
from tsela.services.keys import write_private

CERT_DAYS = 730
ANCHOR_DAYS = 365


class IdentityError(ValueError):
    """The node identity is missing or cannot do what was asked; the message says how."""


@dataclass
class NodeIdentity:
    var_dir: Path
    node: str

    def __post_init__(self) -> None:
        self.node = validate_node(self.node)
        self.dir = Path(self.var_dir) / "exchange" / self.node

    @property
    def state_path(self) -> Path:
        return self.dir / "node-keys.json"

    @property
    def cert_path(self) -> Path:
        return self.dir / "tls.pem"

    @property
    def tls_key_path(self) -> Path:
        return self.dir / "tls-key.pem"

    def exists(self) -> bool:
        return self.state_path.exists() and self.cert_path.exists()

    # -- state ------------------------------------------------------------------------------

    def _state(self) -> dict[str, Any]:
        if not self.state_path.exists():
            raise IdentityError(
                f"node {self.node} has no exchange identity under {self.dir}; "
                "run `tsela exchange init`"
            )
        try:
            state: dict[str, Any] = json.loads(self.state_path.read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise IdentityError(f"cannot read {self.state_path}: {exc}") from None
        return state

    def _save(self, state: dict[str, Any]) -> None:
        write_private(self.state_path, (json.dumps(state, indent=2) + "\n").encode(), 0o644)

    def node_keys(self) -> list[NodeKey]:
        return [NodeKey.from_json(k) for k in self._state()["keys"]]

    @property
    def endpoint(self) -> str:
        return str(self._state()["endpoint"])

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.dir, 0o700)
        with open(self.dir / ".lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    # -- set-up -----------------------------------------------------------------------------

    def init(
        self, now: datetime, *, endpoint: str, hosts: tuple[str, ...] = ("localhost", "127.0.0.1")
    ) -> bool:
        """Make the node key and TLS certificate if missing (True if made); the endpoint is
        updated either way."""
        if not endpoint.startswith("https://"):
            raise IdentityError(f"the exchange endpoint must be https://..., not {endpoint!r}")
        with self._locked():
            if self.exists():
                state = self._state()
                state["endpoint"] = endpoint
                self._save(state)
                return False
            key = self._new_key(now)
            self._save({"node": self.node, "endpoint": endpoint, "keys": [key.to_json()]})
            self._make_certificate(now, hosts)
            return True

    def _new_key(self, now: datetime) -> NodeKey:
        private = Ed25519PrivateKey.generate()
        raw = private.public_key().public_bytes_raw()
        key = NodeKey(
            kid=make_kid(self.node, raw).replace("-", "-node-", 1), raw=raw, valid_from=now
        )
        pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        write_private(self.dir / f"key-{key.kid}.pem", pem, 0o600)
        return key

    def _make_certificate(self, now: datetime, hosts: tuple[str, ...]) -> None:
        private = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, f"Tsela node {self.node}"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Tsela"),
            ]
        )
        alt: list[x509.GeneralName] = [x509.UniformResourceIdentifier(NODE_URN + self.node)]
        for host in hosts:
            try:
                alt.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                alt.append(x509.DNSName(host))
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(private.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=CERT_DAYS))
            .add_extension(x509.SubjectAlternativeName(alt), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .sign(private, hashes.SHA256())
        )
        key_pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        write_private(self.tls_key_path, key_pem, 0o600)
        write_private(self.cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)

    def certificate_pem(self) -> str:
        try:
            return self.cert_path.read_text("ascii")
        except OSError:
            raise IdentityError(
                f"no TLS certificate at {self.cert_path}; run `tsela exchange init`"
            ) from None

    # -- signing ----------------------------------------------------------------------------

    def _private(self, kid: str) -> Ed25519PrivateKey | None:
        path = self.dir / f"key-{kid}.pem"
        if not path.exists():
            return None
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise IdentityError(f"{path} is not an Ed25519 private key")
        return key

    def signers(self, now: datetime) -> list[tuple[str, Ed25519PrivateKey]]:
        """Every key that may sign now, oldest first (the one a partner surely knows)."""
        found = []
        for key in sorted(self.node_keys(), key=lambda k: k.valid_from):
            if key.problem_at(now) is None and (private := self._private(key.kid)) is not None:
                found.append((key.kid, private))
        return found

    def signer(self, now: datetime) -> tuple[str, Ed25519PrivateKey]:
        """The key batches are signed with: the oldest that may sign now (during a rotation's
        overlap the partner may not know the new key yet)."""
        found = self.signers(now)
        if not found:
            raise IdentityError(
                f"node {self.node} has no node key that may sign now; "
                "run `tsela exchange keys rotate`"
            )
        return found[0]

    def anchor(self, now: datetime, *, days: int = ANCHOR_DAYS) -> dict[str, Any]:
        """This node's trust anchor, issued now and signed by every key that may sign."""
        signers = self.signers(now)
        if not signers:
            raise IdentityError(f"node {self.node} has no key that may sign its anchor")
        return make_anchor(
            node=self.node,
            endpoint=self.endpoint,
            keys=self.node_keys(),
            certificate_pem=self.certificate_pem(),
            issued_at=now,
            valid_to=now + timedelta(days=days),
            signers=signers,
        )

    # -- rotation and withdrawal ---------------------------------------------------------------

    def rotate(self, now: datetime, *, overlap: timedelta) -> tuple[list[NodeKey], NodeKey]:
        """A new key, valid from now; the keys valid until now stay valid for ``overlap``
        (partners learn the new key meanwhile, through the feed), then expire."""
        with self._locked():
            state = self._state()
            keys = [NodeKey.from_json(k) for k in state["keys"]]
            ending: list[NodeKey] = []
            kept: list[NodeKey] = []
            for k in keys:
                if k.problem_at(now) is None and (k.valid_to is None or k.valid_to > now + overlap):
                    k = NodeKey(k.kid, k.raw, k.valid_from, now + overlap, k.withdrawn_at)
                    ending.append(k)
                kept.append(k)
            new = self._new_key(now)
            state["keys"] = [k.to_json() for k in [*kept, new]]
            self._save(state)
            return ending, new

    def withdraw(self, kid: str, now: datetime) -> NodeKey:
        """Withdraw a key at once (e.g. compromised): its private half is deleted and partners
        refuse what it signs from the moment they learn of it."""
        with self._locked():
            state = self._state()
            keys = [NodeKey.from_json(k) for k in state["keys"]]
            target = next((k for k in keys if k.kid == kid), None)
            if target is None:
                raise IdentityError(
                    f"no node key {kid!r}; the keys are {', '.join(k.kid for k in keys)}"
                )
            if target.withdrawn_at is not None:
                raise IdentityError(f"key {kid} was withdrawn already")
            others = [
                k
                for k in keys
                if k.kid != kid and k.problem_at(now) is None and self._private(k.kid)
            ]
            if not others:
                raise IdentityError(
                    f"key {kid} is the only key that may sign: rotate first "
                    "(`tsela exchange keys rotate`), let the partner receive the new key, "
                    "then withdraw this one"
                )
            withdrawn = NodeKey(target.kid, target.raw, target.valid_from, target.valid_to, now)
            state["keys"] = [(withdrawn if k.kid == kid else k).to_json() for k in keys]
            self._save(state)
            (self.dir / f"key-{kid}.pem").unlink(missing_ok=True)
            return withdrawn
