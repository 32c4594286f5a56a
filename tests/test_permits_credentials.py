"""Signed permits checked offline: forgery, unknown keys, expiry, revocation, key rotation, QR."""

from __future__ import annotations

import json
import stat
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tsela.domain.credentials import (
    CredentialError,
    KeySet,
    PermitClaims,
    PublicKey,
    RevocationList,
    Signer,
    Verifier,
    VerifyStatus,
    b64d,
    b64e,
    make_kid,
    sign_revocation_list,
)
from tsela.services.keys import KeyStore, KeyStoreError, load_keysets
from tsela.services.permit_qr import QRError, decode_image, render_png, render_svg

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
TODAY = date(2026, 3, 2)


def claims(**kw: object) -> PermitClaims:
    base: dict[str, object] = dict(
        permit_id="0195a1c2-7e00-7000-8000-00000000abcd",
        number="LS-LEP-7F3K-9QX2-M4PA",
        issuer="LS",
        issued_at=int(NOW.timestamp()),
        permit_type="LEP",
        type_name="Lesotho Exemption Permit",
        holder="MOKOENA, LINEO",
        birth_date=date(1990, 3, 14),
        nationality="LSO",
        document="RA1234567",
        rights=("work", "study", "business", "reside"),
        country="ZAF",
        valid_from=date(2024, 2, 1),
        valid_to=date(2027, 5, 28),
        employer="Ficksburg Cherry Farms",
    )
    base.update(kw)
    return PermitClaims(**base)  # type: ignore[arg-type]


@pytest.fixture
def store(tmp_path: Path) -> KeyStore:
    return KeyStore(tmp_path, "LS")


@pytest.fixture
def token(store: KeyStore) -> str:
    return store.signer(NOW).sign(claims().to_claims())


def test_genuine_token_verifies_with_holder_type_rights_validity(
    store: KeyStore, token: str
) -> None:
    got = Verifier(store.keyset()).verify(token, TODAY)
    assert got.status is VerifyStatus.VALID
    assert got.claims == claims()
    assert got.kid == store.active().kid  # type: ignore[union-attr]
    # No revocation list given: the answer says so rather than implying it was checked.
    assert "revocation not checked" in got.message


def test_a_standard_jwt_library_accepts_our_tokens(store: KeyStore, token: str) -> None:
    # Interoperability: PyJWT (independent code) checks the same signature and exp.
    public = store.signer(NOW).private_key.public_key()
    decoded = jwt.decode(token, public, algorithms=["EdDSA"])
    assert decoded["sub"] == "LS-LEP-7F3K-9QX2-M4PA"
    assert jwt.get_unverified_header(token)["kid"] == store.active().kid  # type: ignore[union-attr]


@pytest.mark.parametrize("backend", ["libsodium", "cryptography"])
def test_one_bit_flipped_anywhere_never_verifies(store: KeyStore, token: str, backend: str) -> None:
    verifier = Verifier(store.keyset(), backend=backend)
    raw = bytearray(token.encode())
    statuses = set()
    for i in range(len(raw)):
        for bit in range(8):
            raw[i] ^= 1 << bit
            try:
                flipped = raw.decode()
            except UnicodeDecodeError:
                flipped = raw.decode("latin-1")
            got = verifier.verify(flipped, TODAY)
            raw[i] ^= 1 << bit
            # Never valid: a flip that breaks the text's structure makes it unreadable, one
            # that leaves it well-formed makes the signature fail (forged).
            assert got.status in (
                VerifyStatus.FORGED,
                VerifyStatus.UNKNOWN_KEY,
                VerifyStatus.UNREADABLE,
            ), (i, bit)
            assert got.claims is None
            statuses.add(got.status)
    assert VerifyStatus.FORGED in statuses and VerifyStatus.UNREADABLE in statuses


def test_padding_bits_of_the_signature_cannot_be_changed(store: KeyStore, token: str) -> None:
    # The last base64url character of a 64-byte signature carries 4 unused bits; changing
    # them gives a different string for the same bytes, which must not verify.
    head, body, sig = token.split(".")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(sig[-1])
    twin = alphabet[(last & ~0b1111) | ((last + 1) & 0b1111)]
    other = f"{head}.{body}.{sig[:-1]}{twin}"
    assert b64d(sig, "s") == __import__("base64").urlsafe_b64decode(sig[:-1] + twin + "==")
    got = Verifier(store.keyset()).verify(other, TODAY)
    assert got.status is VerifyStatus.FORGED
    assert "not canonical base64url" in got.message


def test_token_from_an_unknown_key(store: KeyStore) -> None:
    stranger = Ed25519PrivateKey.generate()
    kid = make_kid("LS", stranger.public_key().public_bytes_raw())
    fake = Signer(kid, "LS", stranger).sign(claims().to_claims())
    got = Verifier(store.keyset()).verify(fake, TODAY)
    assert got.status is VerifyStatus.UNKNOWN_KEY
    assert f"signed with key '{kid}', which is not in the key set" in got.message


def test_token_signed_by_another_key_claiming_our_kid_is_forged(store: KeyStore) -> None:
    ours = store.active() or store.ensure(NOW)
    impostor = Signer(ours.kid, "LS", Ed25519PrivateKey.generate())
    got = Verifier(store.keyset()).verify(impostor.sign(claims().to_claims()), TODAY)
    assert got.status is VerifyStatus.FORGED
    assert f"signature does not match key {ours.kid}" in got.message


def test_altered_claims_with_original_signature_are_forged(store: KeyStore, token: str) -> None:
    head, body, sig = token.split(".")
    data = json.loads(b64d(body, "payload"))
    data["valid_to"] = "2099-12-31"
    got = Verifier(store.keyset()).verify(f"{head}.{b64e(json.dumps(data).encode())}.{sig}", TODAY)
    assert got.status is VerifyStatus.FORGED


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda t: "", "empty"),
        (lambda t: "hello", "expected 3 parts"),
        (lambda t: t + ".x", "found 4"),
        (lambda t: "!!." + t.split(".", 1)[1], "header is not"),
        (lambda t: t + "A" * 5000, "too long"),
        (lambda t: t[: len(t) - 22], "signature has 48 bytes"),  # a scan cut short
    ],
)
def test_text_that_is_no_token_is_unreadable_not_forged(
    token: str, store: KeyStore, mangle, message
) -> None:  # type: ignore[no-untyped-def]
    # A typo or a bad scan is not a forgery: the person is told it could not be read.
    got = Verifier(store.keyset()).verify(mangle(token), TODAY)
    assert got.status is VerifyStatus.UNREADABLE
    assert message in got.message
    assert got.claims is None


def test_a_header_naming_another_algorithm_is_forged(token: str, store: KeyStore) -> None:
    got = Verifier(store.keyset()).verify("e30." + token.split(".", 1)[1], TODAY)
    assert got.status is VerifyStatus.FORGED
    assert "algorithm None is not EdDSA" in got.message


def test_alg_none_is_refused(store: KeyStore) -> None:
    head = b64e(
        json.dumps(
            {"alg": "none", "kid": store.ensure(NOW).kid, "typ": "tsela-permit+jwt"}
        ).encode()
    )
    body = b64e(json.dumps(claims().to_claims()).encode())
    got = Verifier(store.keyset()).verify(f"{head}.{body}.", TODAY)
    assert got.status is VerifyStatus.FORGED
    assert "algorithm 'none' is not EdDSA" in got.message


def test_expired_and_not_yet_valid(store: KeyStore, token: str) -> None:
    v = Verifier(store.keyset())
    late = v.verify(token, date(2027, 5, 29))
    assert late.status is VerifyStatus.EXPIRED
    assert "expired on 2027-05-28" in late.message
    assert late.claims is not None and late.claims.holder == "MOKOENA, LINEO"
    assert v.verify(token, date(2027, 5, 28)).status is VerifyStatus.VALID
    assert v.verify(token, date(2024, 1, 31)).status is VerifyStatus.NOT_YET_VALID


def test_revoked_and_suspended_via_the_signed_list(store: KeyStore, token: str) -> None:
    signer = store.signer(NOW)
    pid = claims().permit_id
    v = Verifier(store.keyset())
    v.load_revocations(sign_revocation_list(RevocationList("LS", NOW, frozenset({pid})), signer))
    got = v.verify(token, TODAY)
    assert got.status is VerifyStatus.REVOKED
    assert "LS-LEP-7F3K-9QX2-M4PA is revoked (revocation list of 2026-03-02)" in got.message
    later = RevocationList("LS", NOW + timedelta(hours=1), frozenset(), frozenset({pid}))
    v.load_revocations(sign_revocation_list(later, signer))
    assert v.verify(token, TODAY).status is VerifyStatus.SUSPENDED
    # An older list does not replace a newer one.
    v.load_revocations(sign_revocation_list(RevocationList("LS", NOW, frozenset()), signer))
    assert v.verify(token, TODAY).status is VerifyStatus.SUSPENDED


def test_stale_revocation_list_is_reported(store: KeyStore, token: str) -> None:
    v = Verifier(store.keyset(), max_list_age_days=7)
    v.load_revocations(
        sign_revocation_list(RevocationList("LS", NOW, frozenset()), store.signer(NOW))
    )
    got = v.verify(token, TODAY + timedelta(days=10))
    assert got.status is VerifyStatus.VALID
    assert "is 10 days old: fetch a fresh one" in got.message


def test_forged_revocation_list_and_type_confusion_are_refused(store: KeyStore, token: str) -> None:
    v = Verifier(store.keyset())
    stranger = Ed25519PrivateKey.generate()
    fake = Signer(store.ensure(NOW).kid, "LS", stranger)
    # Someone trying to "un-revoke" by publishing their own empty list.
    with pytest.raises(CredentialError, match="signature does not match"):
        v.load_revocations(sign_revocation_list(RevocationList("LS", NOW, frozenset()), fake))
    # A permit token is not a revocation list, and the other way round.
    with pytest.raises(CredentialError, match="token type is 'tsela-permit\\+jwt'"):
        v.load_revocations(token)
    rl = sign_revocation_list(RevocationList("LS", NOW, frozenset()), store.signer(NOW))
    got = v.verify(rl, TODAY)
    # Another kind of signed text is not a permit: it cannot be read as one (not forged).
    assert got.status is VerifyStatus.UNREADABLE and "tsela-revocations+jwt" in got.message


def test_key_rotation_keeps_old_tokens_verifiable(store: KeyStore, token: str) -> None:
    old_kid = store.active().kid  # type: ignore[union-attr]
    retired, new = store.rotate(NOW + timedelta(days=1))
    assert retired is not None and retired.kid == old_kid and retired.status == "retired"
    assert new.kid != old_kid and store.active() == new
    assert not (store.dir / f"{old_kid}.pem").exists()  # the old private key is gone
    new_token = store.signer(NOW + timedelta(days=2)).sign(claims().to_claims())
    v = Verifier(store.keyset())
    assert v.verify(token, TODAY).status is VerifyStatus.VALID
    assert v.verify(new_token, TODAY).status is VerifyStatus.VALID
    assert v.verify(new_token, TODAY).kid == new.kid
    # A token claiming to be signed by the retired key after its retirement is refused.
    jwks = store.jwks()
    assert {k["status"] for k in jwks["keys"]} == {"active", "retired"}  # type: ignore[index]


def test_token_signed_with_a_retired_key_after_retirement_is_forged(tmp_path: Path) -> None:
    private = Ed25519PrivateKey.generate()
    raw = private.public_key().public_bytes_raw()
    kid = make_kid("LS", raw)
    keys = KeySet([PublicKey(kid, "LS", raw, "retired", NOW - timedelta(days=30), NOW)])
    late = Signer(kid, "LS", private).sign(
        claims(issued_at=int((NOW + timedelta(days=1)).timestamp())).to_claims()
    )
    got = Verifier(keys).verify(late, TODAY)
    assert got.status is VerifyStatus.FORGED
    assert "after it was retired on 2026-03-02" in got.message
    early = Signer(kid, "LS", private).sign(claims().to_claims())
    assert Verifier(keys).verify(early, TODAY).status is VerifyStatus.VALID


def test_private_keys_are_private_files(store: KeyStore) -> None:
    key = store.ensure(NOW)
    pem = store.dir / f"{key.kid}.pem"
    assert stat.S_IMODE(pem.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.dir.stat().st_mode) == 0o700
    assert "PRIVATE" not in store.keyset_path.read_text()


def test_key_sets_of_both_nodes_merge_and_bad_files_are_named(tmp_path: Path) -> None:
    ls, za = KeyStore(tmp_path, "LS"), KeyStore(tmp_path, "ZA")
    ls.ensure(NOW)
    za.ensure(NOW)
    merged = load_keysets([ls.keyset_path, za.keyset_path])
    za_token = za.signer(NOW).sign(claims(issuer="ZA").to_claims())
    assert Verifier(merged).verify(za_token, TODAY).status is VerifyStatus.VALID
    # A ZA key cannot vouch for an LS permit.
    lying = za.signer(NOW).sign(claims(issuer="LS").to_claims())
    assert "does not own key" in Verifier(merged).verify(lying, TODAY).message
    bad = tmp_path / "bad.json"
    bad.write_text('{"keys": [{"kty": "RSA", "kid": "x"}]}')
    with pytest.raises(KeyStoreError, match="only Ed25519 keys"):
        load_keysets([bad])
    with pytest.raises(KeyStoreError, match=r"cannot read key set .*missing.json"):
        load_keysets([tmp_path / "missing.json"])


def test_qr_round_trip_png_and_svg(token: str, store: KeyStore, tmp_path: Path) -> None:
    png = tmp_path / "permit.png"
    png.write_bytes(render_png(token))
    (decoded,) = decode_image(png)
    assert decoded == token
    assert Verifier(store.keyset()).verify(decoded, TODAY).status is VerifyStatus.VALID
    assert render_svg(token).startswith("<svg")
    with pytest.raises(QRError, match="no QR code found"):
        from PIL import Image

        blank = tmp_path / "blank.png"
        Image.new("L", (200, 200), 255).save(blank)
        decode_image(blank)
    with pytest.raises(QRError, match="not a readable image") as refused:
        decode_image(b"not an image")
    assert "object at 0x" not in str(refused.value)  # words for a person, not Python's


_KEY = Ed25519PrivateKey.generate()
_KID = make_kid("LS", _KEY.public_key().public_bytes_raw())
_KEYSET = KeySet([PublicKey(_KID, "LS", _KEY.public_key().public_bytes_raw())])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    holder=st.text(min_size=1, max_size=60),
    employer=st.none() | st.text(max_size=40),
    start=st.dates(date(2000, 1, 1), date(2040, 1, 1)),
    days=st.integers(0, 4000),
    rights=st.lists(st.sampled_from(["work", "study", "business", "reside"]), unique=True),
)
def test_any_permit_round_trips_and_both_backends_agree(  # type: ignore[no-untyped-def]
    holder, employer, start, days, rights
) -> None:
    c = claims(
        holder=holder,
        employer=employer or None,
        valid_from=start,
        valid_to=start + timedelta(days=days),
        rights=tuple(rights),
    )
    token = Signer(_KID, "LS", _KEY).sign(c.to_claims())
    assert token.isascii()
    day = start + timedelta(days=days // 2)
    fast = Verifier(_KEYSET).verify(token, day)
    slow = Verifier(_KEYSET, backend="cryptography").verify(token, day)
    assert fast.status is slow.status is VerifyStatus.VALID
    assert fast.claims == slow.claims == c


def test_concurrent_first_use_makes_one_active_key(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    stores = [KeyStore(tmp_path, "LS") for _ in range(8)]
    with ThreadPoolExecutor(8) as pool:
        kids = set(pool.map(lambda s: s.ensure(NOW).kid, stores))
    assert len(kids) == 1
    assert len(stores[0].keyset()) == 1


def test_a_typo_in_the_claims_is_unreadable_an_altered_claim_is_forged(
    store: KeyStore, token: str
) -> None:
    """A character lost or mistyped in the claims garbles them (could not be read); claims
    that still read as JSON but do not match the signature were altered (forged)."""
    verifier = Verifier(store.keyset())
    head, body, sig = token.split(".")
    lost = verifier.verify(f"{head}.{body[:20]}{body[21:]}.{sig}", TODAY)  # one lost
    assert lost.status is VerifyStatus.UNREADABLE and "cannot be read" in lost.message
    altered = b64e(b64d(body, "b").replace(b'"LS"', b'"ZA"', 1))
    assert altered != body
    forged = verifier.verify(f"{head}.{altered}.{sig}", TODAY)
    assert forged.status is VerifyStatus.FORGED and forged.claims is None
