"""The exchange's pure parts: canonical JSON, the hash chain, signed batches, trust anchors and
the agreement, with no database and no network."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tsela.exchange import agreement as terms
from tsela.exchange.anchor import AnchorError, NodeKey, check_update, fingerprint, parse_anchor
from tsela.exchange.batch import BatchRefused, make_batch, verify_batch
from tsela.exchange.canonical import canonical
from tsela.exchange.chain import GENESIS, ChainError, digest, link, verify_chain
from tsela.services.node_identity import NodeIdentity

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)


def _records(n: int, *, after: int = 0, prev: str = GENESIS, node: str = "ZA") -> list[dict]:
    out = []
    for seq in range(after + 1, after + n + 1):
        r = {
            "seq": seq,
            "kind": "crossing",
            "id": f"00000000-0000-7000-8000-{seq:012d}",
            "node": node,
            "created_at": NOW.isoformat(),
            "payload": {"id": str(seq), "surname": "MOKOENA", "direction": "exit"},
        }
        prev = link(prev, digest(r))
        out.append({**r, "hash": prev})
    return out


def test_canonical_json_is_one_spelling() -> None:
    assert canonical({"b": 1, "a": "é"}) == b'{"a":"\\u00e9","b":1}'
    assert canonical({"a": [1, 2]}) == canonical(json.loads('{ "a" : [1,2] }'))


def test_the_chain_catches_gaps_reordering_replays_and_edits() -> None:
    records = _records(5)
    assert verify_chain(records, after_seq=0, prev_hash=GENESIS) == records[-1]["hash"]
    with pytest.raises(ChainError) as gap:
        verify_chain([records[0], records[2]], after_seq=0, prev_hash=GENESIS)
    assert gap.value.code == "gap"
    with pytest.raises(ChainError) as swapped:
        verify_chain([records[1], records[0]], after_seq=0, prev_hash=GENESIS)
    assert swapped.value.code == "gap"
    with pytest.raises(ChainError) as replay:
        verify_chain(records[:2], after_seq=2, prev_hash=records[1]["hash"])
    assert replay.value.code == "replay"
    edited = [dict(r) for r in records]
    edited[3] = {**edited[3], "payload": {**edited[3]["payload"], "surname": "MOKOENE"}}
    with pytest.raises(ChainError) as changed:
        verify_chain(edited, after_seq=0, prev_hash=GENESIS)
    assert changed.value.code == "chain"


def test_a_record_narrowed_at_serve_time_keeps_the_chain_through_its_digest() -> None:
    records = _records(2)
    narrowed = {**records[0], "payload": {"id": "1"}, "digest": digest(records[0])}
    assert verify_chain([narrowed, records[1]], after_seq=0, prev_hash=GENESIS)


@pytest.fixture
def nodes(tmp_path: Path) -> tuple[NodeIdentity, NodeIdentity]:
    ls = NodeIdentity(tmp_path / "ls", "LS")
    za = NodeIdentity(tmp_path / "za", "ZA")
    ls.init(NOW, endpoint="https://127.0.0.1:9441")
    za.init(NOW, endpoint="https://127.0.0.1:9442")
    return ls, za


def _batch(za: NodeIdentity, records: list[dict], *, at: datetime = NOW, after: int = 0) -> tuple:
    kid, key = za.signer(at)
    prev = GENESIS if after == 0 else records[0]["hash"]
    signed = make_batch(
        batch_id="b1",
        sender="ZA",
        receiver="LS",
        after_seq=after,
        prev_hash=prev,
        head_seq=records[-1]["seq"] if records else after,
        records=records,
        served_at=at,
        kid=kid,
        key=key,
    )
    return signed.body, signed.signature


def _verify(za: NodeIdentity, body: bytes, sig: str, **kw: object):  # type: ignore[no-untyped-def]
    options = {
        "anchor": parse_anchor(za.anchor(NOW)),
        "receiver": "LS",
        "after_seq": 0,
        "prev_hash": GENESIS,
        "now": NOW,
        "max_skew": timedelta(minutes=5),
        "max_records": 1000,
    }
    options.update(kw)
    return verify_batch(body, sig, **options)  # type: ignore[arg-type]


def test_a_signed_batch_verifies_and_any_changed_byte_is_refused(nodes) -> None:  # type: ignore[no-untyped-def]
    _ls, za = nodes
    body, sig = _batch(za, _records(3))
    assert _verify(za, body, sig).last_seq == 3
    for i in (10, len(body) // 2, len(body) - 3):
        flipped = body[:i] + bytes([body[i] ^ 0x01]) + body[i + 1 :]
        with pytest.raises(BatchRefused) as refused:
            _verify(za, flipped, sig)
        assert refused.value.code in ("bad_signature", "malformed")


def test_batches_out_of_turn_or_from_a_skewed_clock_are_refused(nodes) -> None:  # type: ignore[no-untyped-def]
    _ls, za = nodes
    body, sig = _batch(za, _records(3))
    with pytest.raises(BatchRefused) as replay:
        _verify(za, body, sig, after_seq=3, prev_hash=_records(3)[-1]["hash"])
    assert replay.value.code == "replay"
    later = _records(2, after=5, prev="f" * 64)
    kid, key = za.signer(NOW)
    gap = make_batch(
        batch_id="b2",
        sender="ZA",
        receiver="LS",
        after_seq=5,
        prev_hash="f" * 64,
        head_seq=7,
        records=later,
        served_at=NOW,
        kid=kid,
        key=key,
    )
    with pytest.raises(BatchRefused) as skipped:
        _verify(za, gap.body, gap.signature, after_seq=3, prev_hash=_records(3)[-1]["hash"])
    assert skipped.value.code == "gap"
    body, sig = _batch(za, _records(1), at=NOW + timedelta(hours=3))
    with pytest.raises(BatchRefused) as skew:
        _verify(za, body, sig)
    assert skew.value.code == "clock_skew" and "3.0 h off" in str(skew.value)
    with pytest.raises(BatchRefused) as too_many:
        _verify(za, *_batch(za, _records(5)), max_records=4)
    assert too_many.value.code == "too_large"
    with pytest.raises(BatchRefused) as garbage:
        _verify(za, b"<html>oops</html>", sig)
    assert garbage.value.code == "malformed"


def test_anchor_signatures_fingerprint_and_certificate_node(nodes) -> None:  # type: ignore[no-untyped-def]
    ls, za = nodes
    doc = za.anchor(NOW)
    anchor = parse_anchor(doc)
    assert anchor.node == "ZA" and anchor.country == "ZAF"
    assert fingerprint(doc) == anchor.fingerprint and len(anchor.fingerprint.split()) == 16
    forged = json.loads(json.dumps(doc))
    forged["endpoint"] = "https://evil.example:443"
    with pytest.raises(AnchorError) as bad:
        parse_anchor(forged)
    assert bad.value.code == "bad_signature"
    # ZA's anchor carrying LS's certificate: the certificate names another node
    other = json.loads(json.dumps(doc))
    other["tls_certificate"] = ls.certificate_pem()
    with pytest.raises(AnchorError) as wrong:
        parse_anchor(other)
    assert wrong.value.code == "certificate_node"


def test_rotation_with_overlap_then_withdrawal(nodes) -> None:  # type: ignore[no-untyped-def]
    _ls, za = nodes
    first = parse_anchor(za.anchor(NOW))
    old_kid = first.keys[0].kid
    t1 = NOW + timedelta(hours=1)
    ending, new = za.rotate(t1, overlap=timedelta(days=2))
    assert [k.kid for k in ending] == [old_kid]
    assert za.signer(t1)[0] == old_kid  # the partner may not know the new key yet
    rotated = parse_anchor(za.anchor(t1))
    check_update(first, rotated, t1)  # signed by the key the partner trusts
    assert za.signer(t1 + timedelta(days=3))[0] == new.kid  # after the overlap
    t2 = t1 + timedelta(hours=1)
    za.withdraw(old_kid, t2)
    withdrawn = parse_anchor(za.anchor(t2))
    check_update(rotated, withdrawn, t2)
    with pytest.raises(AnchorError) as refused:
        withdrawn.signing_key(old_kid, t2 + timedelta(seconds=1))
    assert refused.value.code == "withdrawn_key"
    with pytest.raises(AnchorError) as stale:
        check_update(withdrawn, rotated, t2)  # an old anchor replayed
    assert stale.value.code == "stale_anchor"


def test_an_update_not_signed_by_a_trusted_key_is_refused(nodes, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _ls, za = nodes
    trusted = parse_anchor(za.anchor(NOW))
    impostor = NodeIdentity(tmp_path / "impostor", "ZA")
    impostor.init(NOW, endpoint="https://127.0.0.1:9442")
    later = parse_anchor(impostor.anchor(NOW + timedelta(hours=1)))
    with pytest.raises(AnchorError) as refused:
        check_update(trusted, later, NOW + timedelta(hours=1))
    assert refused.value.code == "untrusted_update"


def test_the_agreement_keeps_only_the_agreed_fields() -> None:
    agreement = terms.load()
    crossing = {"id": "x", "surname": "MOKOENA", "officer_id": "o", "reasons": ["watchlist"]}
    assert agreement.project("crossing", crossing) == {"id": "x", "surname": "MOKOENA"}
    assert agreement.outside("crossing", crossing) == ["officer_id", "reasons"]
    assert agreement.project("case_file", {"id": "x"}) == {}  # not agreed: nothing leaves
    # a refusal leaves without the officer, the check and the remarks
    refusal = {"id": "x", "grounds": ["A"], "officer_id": "o", "remarks": "r", "check_id": "c"}
    assert agreement.project("refusal", refusal) == {"id": "x", "grounds": ["A"]}
    assert set(agreement.kinds) >= {"crossing", "document_alert", "permit_status"}
    contract = {
        "id",
        "node",
        "port_code",
        "direction",
        "country",
        "crossed_at",
        "document_number",
        "document_country",
        "nationality",
        "surname",
        "given_names",
        "birth_date",
        "sex",
        "decision",
    }
    assert agreement.kinds["crossing"].fields == contract
    with pytest.raises(terms.AgreementError):
        terms.parse('[kinds.crossing]\nfields = "id"')


def test_node_keys_are_not_listed_as_usable_before_their_time() -> None:
    key = NodeKey("k", b"\x00" * 32, NOW, NOW + timedelta(days=1), None)
    assert key.problem_at(NOW - timedelta(seconds=1)) == "expired_key"
    assert key.problem_at(NOW) is None
    assert NodeKey("k", b"\x00" * 32, NOW, None, NOW).problem_at(NOW) == "withdrawn_key"
    assert Ed25519PrivateKey  # the node keys are Ed25519
