"""The exchange's services on SQLite and PostgreSQL: the outbox written with the change and
sequenced after commit, batches served and applied in one transaction, refusals that apply
nothing, the agreement, the message log as evidence."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from _exchange import T0, arrived, carry, partner_crossings, record_crossings, trust
from tsela.exchange import agreement as terms
from tsela.exchange.batch import BatchRefused
from tsela.services import exchange as svc
from tsela.services import exchange_outbox
from tsela.services.node_identity import NodeIdentity
from tsela.services.setup import seed_ports
from tsela.store.db import make_engine, migrate, session_factory, transaction
from tsela.store.exchange import MessageLogEntry, OutboxEntry, Partner, ReceivedRecord
from tsela.store.models import AuditEvent


@pytest.fixture
def other(tmp_path: Path) -> Iterator[Engine]:
    """A second node's own database (SQLite), beside the ``engine`` under test."""
    eng = make_engine(f"sqlite:///{tmp_path / 'other.db'}")
    migrate(eng)
    seed_ports(eng, "ZA")
    yield eng
    eng.dispose()


@pytest.fixture
def ids(tmp_path: Path) -> tuple[NodeIdentity, NodeIdentity]:
    ls = NodeIdentity(tmp_path / "ls", "LS")
    za = NodeIdentity(tmp_path / "za", "ZA")
    ls.init(T0, endpoint="https://127.0.0.1:9441")
    za.init(T0, endpoint="https://127.0.0.1:9442")
    return ls, za


def _count(engine: Engine, model: type, *where: object) -> int:
    with session_factory(engine)() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where)) or 0


def test_crossings_go_out_projected_and_arrive_once_in_order(engine, other, ids) -> None:  # type: ignore[no-untyped-def]
    ls, za = ids
    # the node under test serves (LS, `engine`); the other node (ZA) receives
    trust(other, "ZA", ls, T0)
    sent = record_crossings(engine, "LS", 7)
    with session_factory(engine)() as s:
        payload = s.scalars(select(OutboxEntry.payload)).first()
    assert payload is not None
    assert set(payload) == terms.load().kinds["crossing"].fields  # officer_id etc. dropped
    first = carry(engine, ls, other, za, limit=4, now=T0)
    second = carry(engine, ls, other, za, limit=4, now=T0)
    assert first is not None and first.records == 4
    assert second is not None and second.records == 3
    with session_factory(other)() as s:
        partner = s.scalar(select(Partner))
    assert arrived(other, "LS") == sent  # in order, each once
    stored = partner_crossings(other, "LS")
    assert sorted(str(r["id"]) for r in stored) == sorted(sent)
    assert {r["node"] for r in stored} == {"LS"} and {r["port_code"] for r in stored} == {"MSU"}
    assert partner is not None and partner.last_seq == 7 and partner.head_seq == 7
    assert _count(other, MessageLogEntry) == 2
    # nothing new: an empty batch moves nothing
    empty = carry(engine, ls, other, za, now=T0)
    assert empty is not None and empty.records == 0
    assert len(partner_crossings(other, "LS")) == 7
    # every batch served is audited on the serving node: which partner, which records
    with session_factory(engine)() as s:
        served = list(s.scalars(select(AuditEvent).where(AuditEvent.action == "exchange.serve")))
    assert sorted((e.detail["first_seq"], e.detail["last_seq"]) for e in served) == [(1, 4), (5, 7)]
    assert {e.entity_id for e in served} == {"ZA"}


def test_the_receiving_node_on_each_back_end(engine, other, ids) -> None:  # type: ignore[no-untyped-def]
    ls, za = ids
    # the other node (ZA, SQLite) serves; the node under test (`engine`) receives
    trust(engine, "LS", za, T0)
    sent = record_crossings(other, "ZA", 5)
    assert carry(other, za, engine, ls, now=T0).records == 5  # type: ignore[union-attr]
    assert arrived(engine, "ZA") == sent
    assert sorted(str(r["id"]) for r in partner_crossings(engine, "ZA")) == sorted(sent)


def test_an_entry_committed_late_is_sequenced_after_and_never_skipped(engine, other, ids) -> None:  # type: ignore[no-untyped-def]
    ls, za = ids
    trust(other, "ZA", ls, T0)
    if engine.dialect.name == "sqlite":
        pytest.skip("SQLite has one writer at a time: no transaction commits out of turn")
    factory = session_factory(engine)
    slow = factory()
    exchange_outbox.append(slow, "LS", "document_alert", "slow", {"id": "slow"})  # first...
    slow.flush()
    with transaction(factory) as fast:
        exchange_outbox.append(fast, "LS", "document_alert", "fast", {"id": "fast"})
    svc.sequence_pending(engine)
    carry(engine, ls, other, za, now=T0)  # the feed serves only what is sequenced
    slow.commit()  # ... committed last
    slow.close()
    carry(engine, ls, other, za, now=T0)
    with session_factory(other)() as s:
        got = list(s.scalars(select(ReceivedRecord.record_id).order_by(ReceivedRecord.seq)))
    assert got == ["fast", "slow"]
    assert arrived(other, "LS", "document_alert") == ["fast", "slow"]


def test_a_refused_batch_applies_nothing_and_is_reported(engine, other, ids) -> None:  # type: ignore[no-untyped-def]
    ls, za = ids
    trust(engine, "LS", za, T0)
    record_crossings(other, "ZA", 3)

    def flip(body: bytes) -> bytes:
        i = body.index(b"MOKOENA1")
        return body[:i] + b"N" + body[i + 1 :]

    with pytest.raises(BatchRefused) as refused:
        carry(other, za, engine, ls, now=T0, tamper=flip)
    assert refused.value.code == "bad_signature"
    assert partner_crossings(engine, "ZA") == [] and _count(engine, MessageLogEntry) == 0
    with session_factory(engine)() as s:
        partner = s.scalar(select(Partner))
    assert partner is not None and partner.last_seq == 0


def test_the_same_batch_applied_twice_is_applied_once(engine, other, ids) -> None:  # type: ignore[no-untyped-def]
    ls, za = ids
    trust(engine, "LS", za, T0)
    record_crossings(other, "ZA", 2)
    svc.sequence_pending(other)
    with session_factory(engine)() as s:
        stale = s.scalar(select(Partner))
        assert stale is not None
        s.expunge(stale)
    assert carry(other, za, engine, ls, now=T0).records == 2  # type: ignore[union-attr]
    # a second puller that read the cursor before the first applied: it applies nothing
    from tsela.exchange.batch import verify_batch

    with transaction(session_factory(other)) as s:
        batch = svc.serve_batch(s, identity=za, partner="LS", after=0, limit=10, now=T0)
    verified = verify_batch(
        batch.body,
        batch.signature,
        anchor=svc.parse_anchor(stale.anchor),
        receiver="LS",
        after_seq=0,
        prev_hash=stale.last_hash,
        now=T0,
        max_skew=timedelta(minutes=5),
        max_records=10,
    )
    with transaction(session_factory(engine)) as s:
        again = svc.apply_batch(
            s,
            me="LS",
            partner=stale,
            verified=verified,
            raw=batch.body,
            signature=batch.signature,
            now=T0,
        )
    assert again is None
    assert len(partner_crossings(engine, "ZA")) == 2 and _count(engine, MessageLogEntry) == 1


def test_evidence_verifies_offline_and_a_changed_byte_does_not(engine, other, ids) -> None:  # type: ignore[no-untyped-def]
    ls, za = ids
    trust(engine, "LS", za, T0)
    record_crossings(other, "ZA", 2)
    carry(other, za, engine, ls, now=T0)
    with session_factory(engine)() as s:
        batch_id = str(s.scalar(select(MessageLogEntry.id)))
        doc = svc.evidence(s, batch_id)
    report = svc.verify_evidence(json.loads(json.dumps(doc)))
    assert report.ok and report.records == 2, report.message
    doc["batch"] = doc["batch"].replace("MOKOENA0", "MOKOENA9")
    bad = svc.verify_evidence(doc)
    assert not bad.ok and "bad_signature" in bad.message


def test_the_message_log_keeps_batches_for_the_retention_period(engine, other, ids) -> None:  # type: ignore[no-untyped-def]
    ls, za = ids
    trust(engine, "LS", za, T0)
    record_crossings(other, "ZA", 1)
    carry(other, za, engine, ls, now=T0)
    with transaction(session_factory(engine)) as s:
        assert svc.purge_message_log(s, T0 + timedelta(days=29), 30) == 0
        assert svc.purge_message_log(s, T0 + timedelta(days=31), 30) == 1
    assert len(partner_crossings(engine, "ZA")) == 1  # the records stay; the evidence goes


def test_a_rotated_then_withdrawn_key_reaches_the_partner_through_the_feed(
    engine, other, ids
) -> None:  # type: ignore[no-untyped-def]
    ls, za = ids
    trust(engine, "LS", za, T0)
    old = za.signer(T0)
    t1 = T0 + timedelta(minutes=1)
    za.rotate(t1, overlap=timedelta(days=1))
    with transaction(session_factory(other)) as s:
        svc.announce_anchor(s, za, t1)
    assert carry(other, za, engine, ls, now=t1).anchor_updated  # type: ignore[union-attr]
    t2 = t1 + timedelta(minutes=1)
    za.withdraw(old[0], t2)
    with transaction(session_factory(other)) as s:
        svc.announce_anchor(s, za, t2)
    carry(other, za, engine, ls, now=t2)  # signed by the new key, which LS now trusts
    with session_factory(engine)() as s:
        partner = s.scalar(select(Partner))
    assert partner is not None
    anchor = svc.parse_anchor(partner.anchor)
    assert anchor.key(old[0]).withdrawn_at == t2  # type: ignore[union-attr]
    # a batch still signed with the withdrawn key (its private half kept by a thief)
    record_crossings(other, "ZA", 1)
    za.signer = lambda _now: old  # type: ignore[method-assign]
    with pytest.raises(BatchRefused) as refused:
        carry(other, za, engine, ls, now=t2 + timedelta(minutes=1))
    assert refused.value.code == "withdrawn_key"


def test_document_alerts_and_permit_keys_are_offered(engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from tsela.services.keys import KeyStore
    from tsela.services.screening import import_watchlist
    from tsela.store.watchlists import WatchlistKind

    import_watchlist(
        engine,
        list_name="Lost and stolen (LS)",
        data="issuing_state,number,status,reported_on\nLSO,RA1111111,stolen,2026-11-30\n",
        fmt="csv",
        actor="t",
        node="LS",
        kind=WatchlistKind.DOCUMENT,
    )
    KeyStore(tmp_path, "LS").ensure(T0)
    with transaction(session_factory(engine)) as s:
        assert svc.publish_credentials(s, tmp_path, "LS", T0) == 2
    with transaction(session_factory(engine)) as s:
        assert svc.publish_credentials(s, tmp_path, "LS", T0) == 0  # unchanged: not again
    with session_factory(engine)() as s:
        rows = {k: p for k, p in s.execute(select(OutboxEntry.kind, OutboxEntry.payload))}
    assert rows["document_alert"]["number"] == "RA1111111"
    assert rows["document_alert"]["status"] == "stolen"
    assert set(rows["document_alert"]) <= terms.load().kinds["document_alert"].fields
    assert rows["permit_keys"]["jwks"]["keys"][0]["kid"].startswith("LS-")
    assert rows["revocation_list"]["token"].count(".") == 2


def test_recording_a_crossing_through_the_api_offers_it(client, auth_headers, engine) -> None:  # type: ignore[no-untyped-def]
    from test_checks import passport

    officer = auth_headers("border_officer", port="MSU")
    at = (T0.now(T0.tzinfo) - timedelta(minutes=1)).isoformat()
    checked = client.post(
        "/v1/checks",
        json={"port": "MSU", "direction": "exit", "mrz": passport(), "at": at},
        headers=officer,
    )
    assert checked.status_code == 201, checked.text
    done = client.post(
        "/v1/crossings",
        json={
            "check_id": checked.json()["check_id"],
            "override_reason": "entry stamp seen by officer",
        },
        headers={**officer, "Idempotency-Key": "k-1"},
    )
    assert done.status_code == 201, done.text
    with session_factory(engine)() as s:
        entry = s.scalar(select(OutboxEntry))
    assert entry is not None and entry.kind == "crossing"
    assert entry.record_id == done.json()["crossing_id"]
    assert entry.payload["port_code"] == "MSU" and entry.payload["direction"] == "exit"
    assert entry.payload["surname"] == "MOKOENA" and entry.payload["document_number"]
    assert entry.payload["document_country"] == "LSO" and entry.payload["node"] == "LS"


def test_a_record_the_partner_table_refuses_refuses_the_whole_batch(engine, other, ids) -> None:  # type: ignore[no-untyped-def]
    ls, za = ids
    trust(engine, "LS", za, T0)
    record_crossings(other, "ZA", 2)
    with transaction(session_factory(other)) as s:
        exchange_outbox.append(s, "ZA", "crossing", "bad", {"id": "not-a-uuid", "node": "ZA"})
    with pytest.raises(BatchRefused) as refused:
        carry(other, za, engine, ls, now=T0)
    assert refused.value.code == "bad_record" and "partner crossing" in str(refused.value)
    assert partner_crossings(engine, "ZA") == [] and _count(engine, MessageLogEntry) == 0


def test_sequencers_racing_leave_no_gap_and_no_duplicate(tmp_path: Path) -> None:
    """Two processes' sequencers (here two threads with their own connections) and a writer,
    all at once, on SQLite: the feed numbers every record once, 1..N, without a gap (a
    sequencer that read before the other wrote must not number what it no longer sees)."""
    import threading

    engines = [make_engine(f"sqlite:///{tmp_path / 'race.db'}") for _ in range(3)]
    migrate(engines[0])
    done = threading.Event()

    def write() -> None:
        for i in range(150):
            with transaction(session_factory(engines[0])) as s:
                exchange_outbox.append(s, "LS", "document_alert", f"r{i}", {"id": f"r{i}"})
        done.set()

    def sequence(engine: Engine) -> None:
        # ``sequence`` itself (sequence_pending also takes a lock within one process)
        from sqlalchemy.exc import DBAPIError

        while not done.is_set():
            with session_factory(engine)() as s:
                try:
                    svc.sequence(s)
                    s.commit()
                except DBAPIError:  # the other one won: fine, as long as nothing is skipped
                    s.rollback()

    threads = [threading.Thread(target=write)] + [
        threading.Thread(target=sequence, args=(e,)) for e in engines[1:]
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    svc.sequence_pending(engines[0])
    with session_factory(engines[0])() as s:
        seqs = list(s.scalars(select(OutboxEntry.seq).order_by(OutboxEntry.seq)))
    assert seqs == list(range(1, 151))
    for e in engines:
        e.dispose()


def test_permit_status_changes_are_offered_without_the_holder(engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from test_permits_service import NOW, OFFICER, TODAY, study_application
    from tsela.services import permits
    from tsela.services.keys import KeyStore

    keys = KeyStore(tmp_path / "var", "LS")
    with transaction(session_factory(engine)) as s:
        number = study_application(s).number
        permits.submit(s, OFFICER, number, TODAY)
        permits.decide(s, OFFICER, number, "approved")
        permits.issue(s, OFFICER, number, keys.signer(NOW), TODAY, NOW)
        permits.revoke(s, OFFICER, number, "obtained with a forged institution letter")
    with session_factory(engine)() as s:
        changes = [
            p
            for p in s.scalars(
                select(OutboxEntry.payload)
                .where(OutboxEntry.kind == "permit_status")
                .order_by(OutboxEntry.created_at, OutboxEntry.id)
            )
        ]
    assert [(c["from_status"], c["status"]) for c in changes] == [
        (None, "draft"),
        ("draft", "submitted"),
        ("submitted", "approved"),
        ("approved", "issued"),
        ("issued", "revoked"),
    ]
    assert {c["number"] for c in changes} == {number}
    fields = terms.load().kinds["permit_status"].fields
    for change in changes:
        assert set(change) <= fields
        assert "forged" not in json.dumps(change) and "MOKOENA" not in json.dumps(change)


def test_the_status_route_is_for_supervisors(client, auth_headers) -> None:  # type: ignore[no-untyped-def]
    answer = client.get("/v1/exchange/status", headers=auth_headers("supervisor"))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["node"] == "LS" and body["partners"] == []
    assert body["feed"] == {"head_seq": 0, "unsequenced": 0}
    assert body["unmatched"]["lines"] == [] and set(body["unmatched"]["totals"].values()) == {0}
    officer = client.get("/v1/exchange/status", headers=auth_headers("border_officer"))
    assert officer.status_code == 403


def test_audit_checkpoints_reach_the_partner_as_they_were_and_anchor_the_log(  # type: ignore[no-untyped-def]
    engine, other, ids, tmp_path: Path
) -> None:
    from tsela.services import audit
    from tsela.services import audit_checkpoints as checkpoints
    from tsela.services.keys import KeyStore

    ls, za = ids
    trust(other, "ZA", ls, T0)
    with transaction(session_factory(engine)) as s:
        for i in range(5):
            audit.record(s, actor=f"officer{i}", action="check", node="LS", entity_id=f"p{i}")
    audit.seal_pending(engine)
    var = tmp_path / "ls-var"
    written = checkpoints.write_checkpoint(engine, var, "LS", now=T0)
    assert written is not None and written.seq == 5
    with session_factory(engine)() as s:
        offered = s.scalars(select(OutboxEntry).where(OutboxEntry.kind == "audit_checkpoint")).one()
    assert offered.payload == written.to_dict()  # every field is in the agreement
    applied = carry(engine, ls, other, za, now=T0)
    assert applied is not None and applied.records == 1
    with session_factory(other)() as s:
        kept = s.scalars(
            select(ReceivedRecord).where(ReceivedRecord.kind == "audit_checkpoint")
        ).one()
        held = checkpoints.held_for(s, "LS")
    assert kept.node == "LS" and kept.payload == written.to_dict()  # as it arrived
    assert [{k: v for k, v in h.items() if k != "received_at"} for h in held] == [written.to_dict()]

    # The newest entries deleted and the local file with them: the partner's copy shows it.
    with transaction(session_factory(engine)) as s:
        s.execute(AuditEvent.__table__.delete().where(AuditEvent.__table__.c.seq >= 4))
    checkpoints.checkpoint_path(var).unlink()
    lines = [(f"copy {n}", json.dumps(h)) for n, h in enumerate(held, 1)]
    copies = checkpoints.check_records(lines, KeyStore(var, "LS").keyset(), "LS")
    assert copies.problems == [] and copies.anchors == {5: written.hash}
    with session_factory(engine)() as s:
        alone = audit.verify(
            s,
            checkpoints.check_file(
                checkpoints.checkpoint_path(var), KeyStore(var, "LS").keyset(), "LS"
            ).anchors,
        )
        report = audit.verify(s, copies.anchors, {5: "kept by node ZA"})
    assert alone.ok  # what this node can tell by itself
    assert report.problems == [
        "the log ends at entry 3 but a signed checkpoint (kept by node ZA) names entry 5: "
        "the newest entries were deleted"
    ]
