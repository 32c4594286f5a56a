"""Whose permits this node trusts, and with what it verifies them (docs/permits.md).

A node verifies its own permits against its register, and a partner's permits offline with
what the partner publishes through the exchange (docs/exchange.md), as the EU Digital COVID
Certificate gateway does between countries: the partner's permit-signing key set (JWKS) and
its signed revocation list, written under ``<var>/keys/<PARTNER>/`` as they arrive, plus
(online, on the node) the permit status changes it reports, which arrive in the very batch of
the change while the signed list follows a moment later. Key sets and lists imported by hand
(``tsela permit fetch``, ``<var>/verifier/``) are trusted the same way.

Every verifier uses this module: the officer's CLI (offline, files only), the API and the
web pages (public, employers), and the port's offline bundle (``bundle``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from tsela.domain import credentials as cred
from tsela.kernel import clock
from tsela.services.keys import (
    KeyStore,
    KeyStoreError,
    load_keysets,
    local_keysets,
    local_revocation_lists,
)

REINSTATED = frozenset({"issued"})
WITHDRAWN_STATES = frozenset({"revoked", "suspended"})


def key_files(var_dir: Path) -> list[Path]:
    """Every key set this machine trusts: its own node's and the partners' (received
    through the exchange) under ``keys/``, and those imported under ``verifier/``."""
    return [*local_keysets(var_dir), *sorted((Path(var_dir) / "verifier").glob("keys-*"))]


def revocation_files(var_dir: Path) -> list[Path]:
    """Every signed revocation list on this machine: the partners' (received through the
    exchange) under ``keys/``, and those fetched or exported under ``verifier/``."""
    fetched = sorted((Path(var_dir) / "verifier").glob("revocations-*.jws"))
    return [*local_revocation_lists(var_dir), *fetched]


@dataclass
class Trust:
    """The keys and the (verified) revocation lists a verifier uses."""

    keys: cred.KeySet
    revocations: list[cred.RevocationList] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # lists refused, in words

    def verifier(self, *, except_node: str | None = None) -> cred.Verifier:
        lists = [rl for rl in self.revocations if rl.node != except_node]
        return cred.Verifier(self.keys, lists)

    def list_of(self, node: str) -> cred.RevocationList | None:
        found = [rl for rl in self.revocations if rl.node == node]
        return max(found, key=lambda rl: rl.issued_at) if found else None


def load_trust(
    var_dir: Path,
    *,
    keys: Sequence[Path] = (),
    revocations: Sequence[Path] = (),
) -> Trust:
    """The key sets and revocation lists on this machine (or those given). A list that does
    not verify with the key sets is left out and named in ``problems``; a key set that
    cannot be read raises KeyStoreError."""
    files = list(keys) or key_files(var_dir)
    keyset = load_keysets(files) if files else cred.KeySet()
    trust = Trust(keyset)
    checker = cred.Verifier(keyset)
    for path in list(revocations) or revocation_files(var_dir):
        try:
            text = path.read_text("utf-8")
        except OSError as exc:
            trust.problems.append(f"cannot read revocation list {path}: {exc.strerror}")
            continue
        try:
            trust.revocations.append(checker.parse_revocations(text))
        except cred.CredentialError as exc:
            trust.problems.append(f"revocation list {path} refused: {exc}")
    return trust


def partner_note(result: cred.Verification, trust: Trust, node: str) -> str | None:
    """How a partner's permit was checked, in words (None for this node's own)."""
    issuer = result.issued_by
    if issuer is None or issuer == node:
        return None
    listed = trust.list_of(issuer)
    where = (
        f"its signed revocation list of {listed.issued_at.date().isoformat()}"
        if listed is not None
        else "no revocation list of it yet"
    )
    return (
        f"issued by node {issuer}; checked with the permit keys node {issuer} publishes "
        f"through the exchange and {where}"
    )


def _with(result: cred.Verification, *notes: str | None) -> cred.Verification:
    extra = tuple(n for n in notes if n)
    return replace(result, reasons=(*result.reasons, *extra)) if extra else result


def verify(
    session: Session, var_dir: Path, node: str, token: str, today: date
) -> cred.Verification:
    """Verify a permit on this node (API, public page, employers): its own permits against
    the register, a partner's with the partner's keys, revocation list and status changes."""
    from tsela.services.permits import verify_online
    from tsela.store.partner_permits import status_of

    KeyStore(var_dir, node).ensure(clock.now())  # the first permit key, if none
    trust = load_trust(var_dir)
    lists = [rl for rl in trust.revocations if rl.node != node]  # ours: the register says
    result = verify_online(session, token, trust.keys, node, today, lists)
    issuer, claims = result.issued_by, result.claims
    note = partner_note(result, trust, node)
    if issuer is None or issuer == node or claims is None:
        return _with(result, note)
    if result.status in (cred.VerifyStatus.FORGED, cred.VerifyStatus.KEY_WITHDRAWN):
        return _with(result, note)
    changed = status_of(session, issuer, claims.permit_id)
    listed = trust.list_of(issuer)
    if changed is None or (listed is not None and changed.changed_at <= listed.issued_at):
        return _with(result, note)  # the signed list is as new as what we were told
    when = clock.border_day(changed.changed_at).isoformat()
    told = f"status change received from node {issuer} through the exchange"
    if changed.status in WITHDRAWN_STATES:
        return _with(
            cred.Verification(
                cred.VerifyStatus(changed.status),
                (f"permit {claims.number} was {changed.status} on {when} ({told})",),
                claims,
                result.kid,
                issuer,
            ),
            note,
        )
    if changed.status in REINSTATED and result.status in (
        cred.VerifyStatus.REVOKED,
        cred.VerifyStatus.SUSPENDED,
    ):
        # Reinstated after the partner's last list: checked again without that list.
        again = cred.Verifier(trust.keys, [rl for rl in lists if rl.node != issuer])
        redone = again.verify(token, today)
        reasons = tuple(r for r in redone.reasons if not r.startswith("revocation not checked"))
        return _with(replace(redone, reasons=reasons), f"reinstated on {when} ({told})", note)
    return _with(result, note)


def verify_offline(trust: Trust, token: str, today: date, node: str) -> cred.Verification:
    """Verify with key sets and lists only (the officer's CLI, a port offline); ``node``:
    the node this verifier belongs to."""
    result = trust.verifier().verify(token, today)
    return _with(result, partner_note(result, trust, node))


# --------------------------------------------------------------------------- port bundle


def bundle(session: Session, var_dir: Path, node: str, now: datetime) -> dict[str, Any]:
    """What a port needs to verify permits offline: every node's key set (this node's and
    the partners') and their signed revocation lists (this node's signed now)."""
    from tsela.services.permits import signed_revocation_list

    keysets: dict[str, Any] = {}
    revocations: dict[str, str] = {}
    for path in local_keysets(var_dir):
        try:
            keysets[path.parent.name] = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise KeyStoreError(f"cannot read key set {path}: {exc}") from None
    for path in local_revocation_lists(var_dir):
        if path.parent.name != node:
            revocations[path.parent.name] = path.read_text("utf-8").strip()
    store = KeyStore(var_dir, node)
    if store.active() is not None:
        revocations[node] = signed_revocation_list(session, store, now)
    return {"keysets": keysets, "revocations": revocations}


def check_bundle(document: Any) -> Trust:
    """A port's bundle as a Trust; CredentialError when a key set or list does not verify
    (the port keeps its previous bundle)."""
    if not isinstance(document, dict):
        raise cred.CredentialError("the permit bundle is not a JSON object")
    keysets = document.get("keysets") or {}
    keys = cred.KeySet.from_jwks(*keysets.values()) if keysets else cred.KeySet()
    trust = Trust(keys)
    checker = cred.Verifier(keys)
    for name, token in (document.get("revocations") or {}).items():
        listed = checker.parse_revocations(str(token))
        if listed.node != name:
            raise cred.CredentialError(f"the revocation list filed as {name} is {listed.node}'s")
        trust.revocations.append(listed)
    return trust
