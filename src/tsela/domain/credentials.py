"""Verifiable permits: signed credentials (JWS compact, EdDSA/Ed25519) checked offline.

A permit credential is a JWS in compact form (RFC 7515) with ``alg`` ``EdDSA`` over
Ed25519 (RFC 8037), carrying the permit's claims as a JWT (RFC 7519). A verifier needs only
the issuing node's public key set (JWKS) and, to know about revocations, the node's signed
revocation list: both are files it can download once and use without a network.

Signing uses the ``cryptography`` package. Verifying uses libsodium (PyNaCl), which checks
the same Ed25519 signatures about twice as fast as OpenSSL here (bench/permits_bench.py);
``backend="cryptography"`` gives the OpenSSL path for comparison.

Pure: no files, no clock; keys, lists and ``today`` are passed in.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

import nacl.bindings
import nacl.exceptions
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from tsela.kernel.clock import border_day, day_end

ALG = "EdDSA"
PERMIT_TYP = "tsela-permit+jwt"
REVOCATIONS_TYP = "tsela-revocations+jwt"
MAX_TOKEN_LENGTH = 4096  # a permit token is ~600 characters; refuse absurd input early


class CredentialError(ValueError):
    """A token, key set or revocation list cannot be trusted; the message says why."""


class VerifyStatus(StrEnum):
    VALID = "valid"
    NOT_YET_VALID = "not_yet_valid"
    EXPIRED = "expired"
    SUSPENDED = "suspended"
    REVOKED = "revoked"
    FORGED = "forged"
    UNKNOWN_KEY = "unknown_key"
    # Signed by a key its node withdrew (say it leaked): nothing it signed is trusted, since
    # whoever holds it could have signed anything, with any date.
    KEY_WITHDRAWN = "key_withdrawn"
    # Not a token at all (a typo, a truncated scan, another kind of text): nothing was
    # signed, so nothing can be called forged. FORGED is kept for a signature that fails.
    UNREADABLE = "unreadable"


# --- base64url and JSON, strictly ---------------------------------------------------------


def b64e(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def b64d(segment: str, what: str) -> bytes:
    """Decode unpadded base64url, refusing any other spelling of the same bytes.

    Without the round-trip check a token whose last character differs only in unused
    bits would decode to the same signature: a different string that still "verifies".
    """
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError):
        raise CredentialError(f"{what} is not valid base64url") from None
    if b64e(raw) != segment:
        raise CredentialError(f"{what} is not canonical base64url")
    return raw


def _json(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False, sort_keys=True).encode()


def _load_object(raw: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise CredentialError(f"{what} is not valid JSON") from None
    if not isinstance(value, dict):
        raise CredentialError(f"{what} is not a JSON object")
    return value


# --- keys -------------------------------------------------------------------------------


def public_raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes_raw()


def thumbprint(public: bytes) -> str:
    """RFC 7638 JWK thumbprint of an Ed25519 public key (base64url SHA-256)."""
    canon = json.dumps(
        {"crv": "Ed25519", "kty": "OKP", "x": b64e(public)}, separators=(",", ":"), sort_keys=True
    )
    return b64e(hashlib.sha256(canon.encode()).digest())


def make_kid(node: str, public: bytes) -> str:
    return f"{node}-{thumbprint(public)[:16]}"


@dataclass(frozen=True)
class PublicKey:
    kid: str
    node: str  # the issuing node (LS or ZA)
    raw: bytes  # 32-byte Ed25519 public key
    status: str = "active"  # active | retired | withdrawn
    created: datetime | None = None
    retired: datetime | None = None
    withdrawn: datetime | None = None

    def to_jwk(self) -> dict[str, Any]:
        jwk: dict[str, Any] = {
            "kty": "OKP",
            "crv": "Ed25519",
            "x": b64e(self.raw),
            "kid": self.kid,
            "use": "sig",
            "alg": ALG,
            "iss": self.node,
            "status": self.status,
        }
        if self.created:
            jwk["created"] = self.created.isoformat()
        if self.retired:
            jwk["retired"] = self.retired.isoformat()
        if self.withdrawn:
            jwk["withdrawn"] = self.withdrawn.isoformat()
        return jwk


def _parse_time(value: Any, where: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        raise CredentialError(f"{where}: not an ISO 8601 time: {value!r}") from None
    if parsed.tzinfo is None:
        raise CredentialError(f"{where}: time {value!r} has no time zone")
    return parsed


KEY_STATUSES = ("active", "retired", "withdrawn")


def parse_jwk(jwk: Mapping[str, Any], where: str = "key") -> PublicKey:
    if not isinstance(jwk, Mapping):
        raise CredentialError(f"{where}: a key must be a JSON object")
    if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
        raise CredentialError(
            f"{where}: only Ed25519 keys (kty OKP, crv Ed25519) are accepted, got "
            f"kty={jwk.get('kty')!r} crv={jwk.get('crv')!r}"
        )
    kid = jwk.get("kid")
    if not isinstance(kid, str) or not kid:
        raise CredentialError(f"{where}: missing 'kid'")
    node = jwk.get("iss")
    if not isinstance(node, str) or not node:
        raise CredentialError(f"{where} ({kid}): missing 'iss' (the node that owns the key)")
    x = jwk.get("x")
    raw = b64d(x, f"{where} ({kid}) 'x'") if isinstance(x, str) else b""
    if len(raw) != 32:
        raise CredentialError(f"{where} ({kid}): 'x' must be a 32-byte Ed25519 public key")
    status = jwk.get("status", "active")
    if status not in KEY_STATUSES:
        raise CredentialError(
            f"{where} ({kid}): status must be active, retired or withdrawn, not {status!r}"
        )
    return PublicKey(
        kid=kid,
        node=node,
        raw=raw,
        status=status,
        created=_parse_time(jwk.get("created"), f"{where} ({kid}) 'created'"),
        retired=_parse_time(jwk.get("retired"), f"{where} ({kid}) 'retired'"),
        withdrawn=_parse_time(jwk.get("withdrawn"), f"{where} ({kid}) 'withdrawn'"),
    )


class KeySet:
    """Public keys a verifier trusts, by ``kid`` (one or several nodes' JWKS merged)."""

    def __init__(self, keys: Iterable[PublicKey] = ()) -> None:
        self.keys: dict[str, PublicKey] = {}
        for key in keys:
            known = self.keys.get(key.kid)
            if known is not None and known.raw != key.raw:
                raise CredentialError(f"two different keys share the kid {key.kid!r}")
            if known is not None and known.status == "withdrawn":
                continue  # one key set says it was withdrawn: no other brings it back
            self.keys[key.kid] = key
        self._crypto: dict[str, Ed25519PublicKey] = {}

    @classmethod
    def from_jwks(cls, *documents: Mapping[str, Any] | str | bytes) -> KeySet:
        keys: list[PublicKey] = []
        for n, doc in enumerate(documents, 1):
            parsed: Any = doc
            if isinstance(doc, str | bytes):
                try:
                    parsed = json.loads(doc)
                except json.JSONDecodeError as exc:
                    raise CredentialError(f"key set {n}: not valid JSON ({exc})") from None
            if not isinstance(parsed, Mapping) or not isinstance(parsed.get("keys"), list):
                raise CredentialError(f"key set {n}: expected a JWKS object {{'keys': [...]}}")
            keys += [parse_jwk(k, f"key set {n}, key {i}") for i, k in enumerate(parsed["keys"])]
        return cls(keys)

    def to_jwks(self) -> dict[str, Any]:
        return {"keys": [k.to_jwk() for k in self.keys.values()]}

    def get(self, kid: str) -> PublicKey | None:
        return self.keys.get(kid)

    def crypto_key(self, kid: str) -> Ed25519PublicKey:
        key = self._crypto.get(kid)
        if key is None:
            key = Ed25519PublicKey.from_public_bytes(self.keys[kid].raw)
            self._crypto[kid] = key
        return key

    def __len__(self) -> int:
        return len(self.keys)


@dataclass(frozen=True)
class Signer:
    """A node's current private key; signs permits and revocation lists."""

    kid: str
    node: str
    private_key: Ed25519PrivateKey

    def header(self, typ: str) -> str:
        return b64e(_json({"alg": ALG, "kid": self.kid, "typ": typ}))

    def sign(self, claims: Mapping[str, Any], typ: str = PERMIT_TYP) -> str:
        head = self.header(typ)
        body = b64e(_json(dict(claims)))
        signing_input = f"{head}.{body}".encode("ascii")
        return f"{head}.{body}.{b64e(self.private_key.sign(signing_input))}"

    def sign_many(self, many: Sequence[Mapping[str, Any]], typ: str = PERMIT_TYP) -> list[str]:
        """Bulk signing: one header for the batch."""
        head = self.header(typ)
        sign = self.private_key.sign
        out = []
        for claims in many:
            body = b64e(_json(dict(claims)))
            out.append(f"{head}.{body}.{b64e(sign(f'{head}.{body}'.encode('ascii')))}")
        return out


# --- permit claims ------------------------------------------------------------------------


@dataclass(frozen=True)
class PermitClaims:
    permit_id: str  # jti: the permit record's id
    number: str  # sub: the permit number people read
    issuer: str  # iss: the issuing node
    issued_at: int  # iat (seconds since the epoch)
    permit_type: str
    type_name: str
    holder: str
    birth_date: date | None
    nationality: str
    document: str  # the travel document number the holder applied with
    rights: tuple[str, ...]
    country: str
    valid_from: date
    valid_to: date
    employer: str | None = None

    def to_claims(self) -> dict[str, Any]:
        # exp: end of the last valid day in Southern Africa, for generic JWT tools.
        end = day_end(self.valid_to)
        out: dict[str, Any] = {
            "iss": self.issuer,
            "sub": self.number,
            "jti": self.permit_id,
            "iat": self.issued_at,
            "exp": int(end.timestamp()),
            "type": self.permit_type,
            "type_name": self.type_name,
            "holder": self.holder,
            "nationality": self.nationality,
            "document": self.document,
            "rights": list(self.rights),
            "country": self.country,
            "valid_from": self.valid_from.isoformat(),
            "valid_to": self.valid_to.isoformat(),
        }
        if self.birth_date:
            out["birth_date"] = self.birth_date.isoformat()
        if self.employer:
            out["employer"] = self.employer
        return out

    @classmethod
    def from_claims(cls, c: Mapping[str, Any]) -> PermitClaims:
        try:
            birth = c.get("birth_date")
            return cls(
                permit_id=str(c["jti"]),
                number=str(c["sub"]),
                issuer=str(c["iss"]),
                issued_at=int(c["iat"]),
                permit_type=str(c["type"]),
                type_name=str(c.get("type_name", c["type"])),
                holder=str(c["holder"]),
                birth_date=date.fromisoformat(birth) if birth else None,
                nationality=str(c["nationality"]),
                document=str(c.get("document", "")),
                rights=tuple(str(r) for r in c["rights"]),
                country=str(c["country"]),
                valid_from=date.fromisoformat(c["valid_from"]),
                valid_to=date.fromisoformat(c["valid_to"]),
                employer=c.get("employer"),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise CredentialError(f"permit claims are incomplete or malformed ({exc!r})") from None


# --- revocation lists ---------------------------------------------------------------------


@dataclass(frozen=True)
class RevocationList:
    node: str
    issued_at: datetime
    revoked: frozenset[str]
    suspended: frozenset[str] = frozenset()
    kid: str = ""

    def claims(self) -> dict[str, Any]:
        return {
            "node": self.node,
            "issued_at": self.issued_at.isoformat(),
            "revoked": sorted(self.revoked),
            "suspended": sorted(self.suspended),
        }


def sign_revocation_list(rl: RevocationList, signer: Signer) -> str:
    if rl.node != signer.node:
        raise CredentialError(f"node {signer.node} cannot sign a revocation list for {rl.node}")
    return signer.sign(rl.claims(), typ=REVOCATIONS_TYP)


# --- verification -------------------------------------------------------------------------


@dataclass(frozen=True)
class Verification:
    status: VerifyStatus
    reasons: tuple[str, ...]
    claims: PermitClaims | None = None
    kid: str | None = None
    issuer: str | None = None  # the node whose key signed it, when that key is known

    @property
    def valid(self) -> bool:
        return self.status is VerifyStatus.VALID

    @property
    def issued_by(self) -> str | None:
        """The node (LS or ZA) that issued the permit, when it can be told."""
        return self.claims.issuer if self.claims is not None else self.issuer

    @property
    def message(self) -> str:
        return "; ".join(self.reasons)


def _forged(reason: str, kid: str | None = None) -> Verification:
    return Verification(VerifyStatus.FORGED, (reason,), None, kid)


def _readable_object(segment: str) -> bool:
    """Whether a base64url segment spells a JSON object (canonically)."""
    try:
        _load_object(b64d(segment, "payload"), "payload")
    except CredentialError:
        return False
    return True


class _Unreadable(CredentialError):
    """The text is not a well-formed token of the expected kind (nothing to verify)."""


class Verifier:
    """Checks tokens against a key set (and revocation lists), with no network or database.

    Headers repeat across every token one key signs, so their parse is cached.
    """

    def __init__(
        self,
        keys: KeySet,
        revocations: Iterable[RevocationList] = (),
        *,
        backend: str = "libsodium",
        max_list_age_days: int = 7,
    ) -> None:
        if backend not in ("libsodium", "cryptography"):
            raise ValueError(f"unknown backend {backend!r}: libsodium or cryptography")
        self.keys = keys
        self.backend = backend
        self.max_list_age_days = max_list_age_days
        self.revocations: dict[str, RevocationList] = {}
        for rl in revocations:
            self.add_revocations(rl)
        self._headers: dict[str, tuple[str, str] | tuple[type[CredentialError], str]] = {}

    def add_revocations(self, rl: RevocationList) -> None:
        have = self.revocations.get(rl.node)
        if have is None or rl.issued_at >= have.issued_at:  # keep the freshest list per node
            self.revocations[rl.node] = rl

    def load_revocations(self, token: str) -> RevocationList:
        """Check a signed revocation list and use it; refuses a list that does not verify."""
        rl = self.parse_revocations(token)
        self.add_revocations(rl)
        return rl

    def parse_revocations(self, token: str) -> RevocationList:
        claims, kid, key = self._checked(token, REVOCATIONS_TYP, "revocation list")
        node = claims.get("node")
        if node != key.node:
            raise CredentialError(
                f"revocation list for node {node!r} is signed by {key.node}'s key {kid}"
            )
        try:
            issued = _parse_time(claims["issued_at"], "revocation list 'issued_at'")
            revoked = frozenset(str(x) for x in claims["revoked"])
            suspended = frozenset(str(x) for x in claims.get("suspended", []))
        except (KeyError, TypeError):
            raise CredentialError("revocation list: missing 'issued_at' or 'revoked'") from None
        assert issued is not None
        return RevocationList(node, issued, revoked, suspended, kid)

    def _header(self, segment: str) -> tuple[str, str]:
        """(kid, typ) of a header segment; raises CredentialError on a bad header.

        A header that cannot be read is _Unreadable; a readable one naming another
        algorithm (``none``, HS256...) is an attempt to forge, so a plain CredentialError.
        """
        cached = self._headers.get(segment)
        if cached is None:
            try:
                try:
                    raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
                    head = _load_object(raw, "header")
                except (binascii.Error, ValueError):
                    raise _Unreadable("header is not valid base64url") from None
                except CredentialError as exc:
                    raise _Unreadable(str(exc)) from None
                b64d(segment, "header")  # the canonical spelling only (forged otherwise)
                if head.get("alg") != ALG:
                    raise CredentialError(f"header: algorithm {head.get('alg')!r} is not {ALG}")
                kid, typ = head.get("kid"), head.get("typ")
                if not isinstance(kid, str) or not isinstance(typ, str):
                    raise _Unreadable("header: 'kid' and 'typ' must be strings")
                cached = (kid, typ)
            except CredentialError as exc:
                cached = (type(exc), str(exc))
            if len(self._headers) < 1024:  # bounded: garbage input must not grow memory
                self._headers[segment] = cached
        first, second = cached
        if isinstance(first, type):
            raise first(second)
        return first, second

    def _signature_ok(self, kid: str, sig: bytes, signing_input: bytes) -> bool:
        if self.backend == "libsodium":
            try:
                nacl.bindings.crypto_sign_open(sig + signing_input, self.keys.keys[kid].raw)
            except (nacl.exceptions.BadSignatureError, nacl.exceptions.ValueError):
                return False
            return True
        try:
            self.keys.crypto_key(kid).verify(sig, signing_input)
        except InvalidSignature:
            return False
        return True

    def _checked(self, token: str, typ: str, what: str) -> tuple[dict[str, Any], str, PublicKey]:
        """Claims of a genuine token of kind ``typ``; CredentialError/_UnknownKey otherwise."""
        if not isinstance(token, str) or not token:
            raise _Unreadable(f"{what}: empty")
        token = token.strip()
        if len(token) > MAX_TOKEN_LENGTH and typ == PERMIT_TYP:
            raise _Unreadable(f"{what}: {len(token)} characters is too long for a permit")
        if not token.isascii():
            raise _Unreadable(f"{what}: contains characters that cannot be in a JWS")
        parts = token.split(".")
        if len(parts) != 3:
            raise _Unreadable(
                f"{what}: not a JWS compact token (expected 3 parts separated by '.', "
                f"found {len(parts)})"
            )
        head, body, sig_b64 = parts
        kid, got_typ = self._header(head)
        if got_typ != typ:
            raise _Unreadable(f"{what}: token type is {got_typ!r}, expected {typ!r}")
        key = self.keys.get(kid)
        if key is None:
            raise _UnknownKey(kid)
        if key.status == "withdrawn":
            raise _Withdrawn(key)
        # A signature cut short or mangled by a scan is unreadable; a 64-byte signature
        # spelt in a non-canonical way is a crafted twin of a real one: forged (b64d).
        try:
            loose = base64.urlsafe_b64decode(sig_b64 + "=" * (-len(sig_b64) % 4))
        except (binascii.Error, ValueError):
            raise _Unreadable(f"{what}: signature is not valid base64url") from None
        if len(loose) != 64:
            raise _Unreadable(f"{what}: signature has {len(loose)} bytes, not 64")
        sig = b64d(sig_b64, f"{what}: signature")
        if not self._signature_ok(kid, sig, f"{head}.{body}".encode("ascii")):
            # Claims that are not even readable text were garbled (a typo, a character lost
            # in a scan), not altered: a forger changes readable claims. Neither is trusted.
            if not _readable_object(body):
                raise _Unreadable(
                    f"{what}: the claims cannot be read (a character mistyped or lost?) and "
                    f"the signature does not match key {kid}"
                )
            raise CredentialError(
                f"{what}: signature does not match key {kid}: the token was altered or "
                "not signed by that key"
            )
        # The signature covers the payload's exact text, so no canonical check is needed here.
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        except (binascii.Error, ValueError):
            raise CredentialError(f"{what}: payload is not valid base64url") from None
        return _load_object(raw, "payload"), kid, key

    def open_signed(self, token: str, typ: str, what: str) -> tuple[VerifyStatus, dict[str, Any]]:
        """A signed token of another kind than a permit (``typ``): VALID and its claims when
        genuine (its ``iss`` the node owning the key, signed before the key retired), else
        the status (UNREADABLE, FORGED, UNKNOWN_KEY, KEY_WITHDRAWN) and ``{"why": words}``.
        Dates inside the claims are the caller's to check."""
        try:
            claims, kid, key = self._checked(token, typ, what)
        except _UnknownKey as exc:
            return VerifyStatus.UNKNOWN_KEY, {"why": f"{what}: signed with unknown key {exc.kid!r}"}
        except _Withdrawn as exc:
            return VerifyStatus.KEY_WITHDRAWN, {"why": f"{what}: {exc}"}
        except _Unreadable as exc:
            return VerifyStatus.UNREADABLE, {"why": str(exc)}
        except CredentialError as exc:
            return VerifyStatus.FORGED, {"why": str(exc)}
        if claims.get("iss") != key.node:
            return VerifyStatus.FORGED, {"why": f"{what}: issuer does not own key {kid}"}
        issued = claims.get("iat")
        if key.retired is not None and (
            not isinstance(issued, int) or issued > key.retired.timestamp()
        ):
            return VerifyStatus.FORGED, {"why": f"{what}: signed with key {kid} after it retired"}
        return VerifyStatus.VALID, claims

    def verify(self, token: str, today: date) -> Verification:
        """valid / not yet valid / expired / suspended / revoked / forged / unknown key."""
        try:
            raw, kid, key = self._checked(token, PERMIT_TYP, "token")
            claims = PermitClaims.from_claims(raw)
        except _UnknownKey as exc:
            known = ", ".join(sorted(self.keys.keys)) or "none"
            return Verification(
                VerifyStatus.UNKNOWN_KEY,
                (
                    f"signed with key {exc.kid!r}, which is not in the key set "
                    f"(known: {known}); not trusted",
                ),
                None,
                exc.kid,
            )
        except _Withdrawn as exc:
            when = exc.key.withdrawn.date().isoformat() if exc.key.withdrawn else "a past day"
            return Verification(
                VerifyStatus.KEY_WITHDRAWN,
                (
                    f"signed with key {exc.key.kid}, which node {exc.key.node} withdrew on "
                    f"{when}: nothing signed with it is trusted",
                ),
                None,
                exc.key.kid,
                exc.key.node,
            )
        except _Unreadable as exc:
            return Verification(VerifyStatus.UNREADABLE, (str(exc),))
        except CredentialError as exc:
            return _forged(str(exc))
        if claims.issuer != key.node:
            return _forged(f"issuer {claims.issuer!r} does not own key {kid} ({key.node})", kid)
        if key.retired is not None and claims.issued_at > key.retired.timestamp():
            return _forged(
                f"signed with key {kid} after it was retired on "
                f"{border_day(key.retired).isoformat()}",
                kid,
            )
        reasons: list[str] = []
        rl = self.revocations.get(claims.issuer)
        if rl is None:
            reasons.append(f"revocation not checked: no revocation list from node {claims.issuer}")
        else:
            listed = f"revocation list of {border_day(rl.issued_at).isoformat()}"
            if claims.permit_id in rl.revoked:
                return Verification(
                    VerifyStatus.REVOKED,
                    (f"permit {claims.number} is revoked ({listed})",),
                    claims,
                    kid,
                )
            if claims.permit_id in rl.suspended:
                return Verification(
                    VerifyStatus.SUSPENDED,
                    (f"permit {claims.number} is suspended ({listed})",),
                    claims,
                    kid,
                )
            age = (today - border_day(rl.issued_at)).days
            if age > self.max_list_age_days:
                reasons.append(f"the {listed} is {age} days old: fetch a fresh one")
        if today < claims.valid_from:
            return Verification(
                VerifyStatus.NOT_YET_VALID,
                (f"permit {claims.number} is valid from {claims.valid_from.isoformat()}", *reasons),
                claims,
                kid,
            )
        if today > claims.valid_to:
            return Verification(
                VerifyStatus.EXPIRED,
                (f"permit {claims.number} expired on {claims.valid_to.isoformat()}", *reasons),
                claims,
                kid,
            )
        return Verification(
            VerifyStatus.VALID,
            (
                f"genuine permit {claims.number} signed by {kid}, valid until "
                f"{claims.valid_to.isoformat()}",
                *reasons,
            ),
            claims,
            kid,
        )


class _Withdrawn(CredentialError):
    def __init__(self, key: PublicKey) -> None:
        super().__init__(f"key {key.kid!r} was withdrawn by node {key.node}")
        self.key = key


class _UnknownKey(CredentialError):
    def __init__(self, kid: str) -> None:
        super().__init__(f"unknown key {kid!r}")
        self.kid = kid


def utc_seconds(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("naive datetime: pass an aware time")
    return int(moment.astimezone(UTC).timestamp())
