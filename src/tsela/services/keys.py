"""Signing keys of a node, kept on disk outside the database.

Layout under ``<TSELA_VAR_DIR>/keys/<NODE>/``:

- ``<kid>.pem``     the active Ed25519 private key (PKCS#8 PEM, mode 0600);
- ``keyset.json``   the public key set (JWKS) with every key the node ever used, active
                    and retired, so tokens signed before a rotation stay verifiable.

Rotation makes a new active key, marks the old one retired (with the time) and deletes the
old private key: nothing can be signed with it any more, and verifiers refuse a token that
claims to be signed by it after its retirement.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, inspect, select
from sqlalchemy.exc import OperationalError

from tsela.config import validate_node
from tsela.domain.credentials import CredentialError, KeySet, PublicKey, Signer, make_kid


class KeyStoreError(ValueError):
    """The key directory is missing, unreadable or inconsistent; the message says how."""


def write_private(path: Path, data: bytes, mode: int) -> None:
    """Write atomically with the final permissions from the start (no readable window)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass
class KeyStore:
    var_dir: Path
    node: str

    def __post_init__(self) -> None:
        self.node = validate_node(self.node)
        self.dir = Path(self.var_dir) / "keys" / self.node

    @property
    def keyset_path(self) -> Path:
        return self.dir / "keyset.json"

    def _read(self) -> list[PublicKey]:
        if not self.keyset_path.exists():
            return []
        try:
            keys = KeySet.from_jwks(self.keyset_path.read_text("utf-8"))
        except (OSError, CredentialError) as exc:
            raise KeyStoreError(f"cannot read key set {self.keyset_path}: {exc}") from None
        return list(keys.keys.values())

    def _write(self, keys: list[PublicKey]) -> None:
        text = json.dumps(KeySet(keys).to_jwks(), indent=2) + "\n"
        write_private(self.keyset_path, text.encode(), 0o644)

    def keyset(self) -> KeySet:
        """Every public key of this node (active and retired)."""
        return KeySet(self._read())

    def jwks(self) -> dict[str, object]:
        return self.keyset().to_jwks()

    def active(self) -> PublicKey | None:
        live = [k for k in self._read() if k.status == "active"]
        if len(live) > 1:
            raise KeyStoreError(f"{self.keyset_path}: more than one active key")
        return live[0] if live else None

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """One process at a time creates or rotates keys (API workers, CLI)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.dir, 0o700)
        with open(self.dir / ".lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def ensure(self, now: datetime) -> PublicKey:
        """The active key, created on first use."""
        current = self.active()
        if current is not None:
            return current
        with self._locked():
            current = self.active()  # another process may have made it meanwhile
            return current if current is not None else self._new_key(now, self._read())

    def _new_key(self, now: datetime, existing: list[PublicKey]) -> PublicKey:
        self.dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.dir, 0o700)
        private = Ed25519PrivateKey.generate()
        raw = private.public_key().public_bytes_raw()
        key = PublicKey(kid=make_kid(self.node, raw), node=self.node, raw=raw, created=now)
        pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        write_private(self.dir / f"{key.kid}.pem", pem, 0o600)
        self._write([*existing, key])
        return key

    def signer(self, now: datetime) -> Signer:
        key = self.ensure(now)
        path = self.dir / f"{key.kid}.pem"
        try:
            private = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except FileNotFoundError:
            raise KeyStoreError(
                f"the private key of active key {key.kid} is missing ({path}); "
                "rotate the keys to make a new one"
            ) from None
        if not isinstance(private, Ed25519PrivateKey):
            raise KeyStoreError(f"{path} is not an Ed25519 private key")
        if private.public_key().public_bytes_raw() != key.raw:
            raise KeyStoreError(f"{path} does not match the public key {key.kid} in the key set")
        return Signer(kid=key.kid, node=self.node, private_key=private)

    def rotate(self, now: datetime) -> tuple[PublicKey | None, PublicKey]:
        """Retire the active key (keeping its public half) and make a new one."""
        with self._locked():
            return self._rotate(now)

    def _rotate(self, now: datetime) -> tuple[PublicKey | None, PublicKey]:
        keys = self._read()
        old = next((k for k in keys if k.status == "active"), None)
        kept = [
            PublicKey(k.kid, k.node, k.raw, "retired", k.created, now) if k is old else k
            for k in keys
        ]
        new = self._new_key(now, kept)
        if old is not None:
            (self.dir / f"{old.kid}.pem").unlink(missing_ok=True)
            old = next(k for k in kept if k.kid == old.kid)
        return old, new

    def withdraw(self, kid: str, now: datetime) -> tuple[PublicKey, PublicKey | None]:
        """Withdraw a key (say its private half leaked): every verifier that gets the key set
        (the partner through the exchange, ports with their next snapshot) refuses whatever
        it signed, before or after. Its private half is deleted; if it was the active key a
        new one is made. (the withdrawn key, the new active key or None)."""
        with self._locked():
            keys = self._read()
            target = next((k for k in keys if k.kid == kid), None)
            if target is None:
                known = ", ".join(k.kid for k in keys) or "none"
                raise KeyStoreError(f"no key {kid} in {self.keyset_path} (keys: {known})")
            if target.status == "withdrawn":
                raise KeyStoreError(f"key {kid} was withdrawn already")
            gone = PublicKey(
                target.kid,
                target.node,
                target.raw,
                "withdrawn",
                target.created,
                target.retired or now,
                now,
            )
            kept = [gone if k.kid == kid else k for k in keys]
            (self.dir / f"{kid}.pem").unlink(missing_ok=True)
            if target.status == "active":
                return gone, self._new_key(now, kept)
            self._write(kept)
            return gone, None


def local_revocation_lists(var_dir: Path) -> list[Path]:
    """Signed revocation lists of partner nodes received through the exchange
    (``<var>/keys/<PARTNER>/revocations.jws``, written by ``services.exchange``)."""
    root = Path(var_dir) / "keys"
    return sorted(root.glob("*/revocations.jws")) if root.exists() else []


def load_keysets(paths: list[Path]) -> KeySet:
    """Merge JWKS files (for an offline verifier that trusts both nodes)."""
    docs: list[str] = []
    for path in paths:
        try:
            docs.append(path.read_text("utf-8"))
        except OSError as exc:
            raise KeyStoreError(f"cannot read key set {path}: {exc.strerror}") from None
    try:
        return KeySet.from_jwks(*docs)
    except CredentialError as exc:
        raise KeyStoreError(f"{exc} (files: {', '.join(map(str, paths))})") from None


def local_keysets(var_dir: Path) -> list[Path]:
    """Key set files of every node found under ``<var>/keys``."""
    root = Path(var_dir) / "keys"
    return sorted(root.glob("*/keyset.json")) if root.exists() else []


def missing_signing_keys(engine: Engine, store: KeyStore) -> list[str]:
    """Keys that signed permits in the database but are not in the node's key set.

    A node restored without its ``keys`` directory would otherwise make a new key on first
    use, and every permit issued before would then verify as ``unknown_key``.
    """
    from tsela.store.models import Permit

    try:
        tables = inspect(engine)
        columns = tables.get_columns("permit") if tables.has_table("permit") else []
        if not any(c["name"] == "kid" for c in columns):
            return []  # a database not yet initialised (or migrated) has signed nothing
        with engine.connect() as conn:
            used = conn.scalars(select(Permit.kid).where(Permit.kid.is_not(None)).distinct())
            kids = sorted(str(k) for k in used)
    except OperationalError:
        # The database is away: nothing can be looked at, nor signed, until it is back. A
        # server still starts (and says it is not ready); the signing commands fail on it.
        return []
    known = store.keyset()
    return [kid for kid in kids if known.get(kid) is None]


def require_signing_keys(engine: Engine, store: KeyStore) -> None:
    """Refuse (KeyStoreError, one line) when permits were signed by keys this node lacks."""
    missing = missing_signing_keys(engine, store)
    if missing:
        raise KeyStoreError(
            f"permits in the database were signed with key(s) {', '.join(missing)}, which are "
            f"not in {store.dir}: restore the node's keys (tsela restore BACKUP, or copy "
            "var/keys back) before starting; a new key would leave those permits unverifiable"
        )
