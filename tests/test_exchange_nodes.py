"""Two real nodes: Lesotho on SQLite, South Africa on PostgreSQL, each its own server process
and database, exchanging over mutual TLS on loopback with keys and anchors made by the CLI.

Crossings recorded on one arrive on the other exactly once and in order, with only the fields
of the agreement; the feed listener refuses clients whose certificate is not a partner's; and
killing either node with SIGKILL in the middle of batches, while crossings keep being
recorded, loses and duplicates nothing.
"""

from __future__ import annotations

import json
import random
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy import Engine, select

from _exchange import TSELA, Node, arrived, partner_crossings, record_crossings, two_nodes
from tsela.exchange import agreement as terms
from tsela.kernel import clock
from tsela.services import exchange as svc
from tsela.services.node_identity import NodeIdentity
from tsela.store.db import session_factory
from tsela.store.exchange import MessageLogEntry, OutboxEntry


@pytest.fixture(scope="module")
def nodes(
    tmp_path_factory: pytest.TempPathFactory, pg_engine: Engine
) -> Iterator[tuple[Node, Node]]:
    """The two nodes, set up once for the module (each CLI call is a Python start-up)."""
    with two_nodes(tmp_path_factory.mktemp("nodes")) as pair:
        yield pair


def _received(node: Node, partner: str) -> list[tuple[str, dict[str, Any]]]:
    """The crossings applied from ``partner``, in the order applied (from the message log),
    with what was stored of each (the partner_crossing table)."""
    engine = node.engine()
    try:  # the log first: a batch applied between the two reads is stored, not yet listed
        order = arrived(engine, partner)
        stored = {str(r["id"]): r for r in partner_crossings(engine, partner)}
    finally:
        engine.dispose()
    assert set(order) <= set(stored), "a crossing in the message log was not stored"
    return [(i, stored[i]) for i in order]


def _offered(node: Node) -> list[str]:
    engine = node.engine()
    try:
        with session_factory(engine)() as s:
            return list(
                s.scalars(
                    select(OutboxEntry.record_id)
                    .where(OutboxEntry.kind == "crossing", OutboxEntry.seq.is_not(None))
                    .order_by(OutboxEntry.seq)
                )
            )
    finally:
        engine.dispose()


def _wait_for(node: Node, partner: str, count: int, timeout: float = 40) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(_received(node, partner)) >= count:
            return
        time.sleep(0.2)
    status = node.cli("exchange", "status").stdout
    raise AssertionError(
        f"node {node.name} has {len(_received(node, partner))} of {count}; {status}"
    )


def _client(node: Node, cert: Path, key: Path, partner: Node) -> httpx.Client:
    import ssl

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_cert_chain(cert, key)
    ctx.load_verify_locations(cafile=partner.var / "exchange" / partner.name / "tls.pem")
    return httpx.Client(verify=ctx, timeout=10)


def test_two_nodes_exchange_crossings_exactly_once_in_order(nodes, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ls, za = nodes
    from tsela.services.keys import KeyStore, load_keysets, local_keysets

    permit_key = KeyStore(ls.var, "LS").ensure(clock.now())  # Lesotho signs permits
    ls.start()
    za.start()
    ls_engine, za_engine = ls.engine(), za.engine()
    sent_ls = record_crossings(ls_engine, "LS", 60)
    sent_za = record_crossings(za_engine, "ZA", 45)
    _wait_for(za, "LS", 60)
    _wait_for(ls, "ZA", 45)
    assert [r for r, _ in _received(za, "LS")] == sent_ls
    assert [r for r, _ in _received(ls, "ZA")] == sent_za
    # nothing outside the agreement arrived: diff every batch's payloads, and what was
    # stored, against it
    agreed = terms.load().kinds["crossing"].fields
    for engine in (za_engine, ls_engine):
        with session_factory(engine)() as s:
            for body in s.scalars(select(MessageLogEntry.body)):
                for record in json.loads(body)["records"]:
                    payload = record["payload"]
                    assert set(payload) <= terms.load().kinds[record["kind"]].fields, payload
                    assert "officer_id" not in payload and "person_id" not in payload
    stored_columns = set(_received(za, "LS")[0][1]) - {"received_at"}
    assert stored_columns <= agreed, stored_columns - agreed
    assert {p["node"] for _, p in _received(za, "LS")} == {"LS"}  # records keep their node
    with session_factory(ls_engine)() as s:
        za_status = svc.status(s, clock.now(), 300)["partners"][0]
    # Lesotho's permit-signing keys reached South Africa's verifiers through the feed
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not (za.var / "keys" / "LS").exists():
        time.sleep(0.2)
    assert load_keysets(local_keysets(za.var)).get(permit_key.kid) is not None
    assert za_status["partner"] == "ZA" and za_status["last_error_code"] is None
    assert za_status["behind"] == 0 and za_status["applied"] >= 45

    # The feed listener itself: only a partner's own certificate is served.
    feed = f"https://127.0.0.1:{za.exchange_port}/v1/exchange/feed?after=0&limit=5"
    ls_dir = ls.var / "exchange" / "LS"
    with _client(ls, ls_dir / "tls.pem", ls_dir / "tls-key.pem", za) as good:
        answer = good.get(feed)
        assert answer.status_code == 200 and answer.headers["Tsela-Signature"]
        assert json.loads(answer.content)["to"] == "LS"
        lying = good.get(feed, headers={"Tsela-Node": "ZA"})
        assert lying.status_code == 403
    # a certificate ZA does not have in any anchor: the TLS handshake fails
    stranger = NodeIdentity(tmp_path / "stranger", "LS")
    stranger.init(clock.now(), endpoint="https://127.0.0.1:1")
    with (
        _client(ls, stranger.cert_path, stranger.tls_key_path, za) as other,
        pytest.raises(httpx.HTTPError),
    ):
        other.get(feed)
    # a valid certificate (issued with LS's own TLS key, so it chains to LS's anchor
    # certificate) that names another node: refused by the handler
    from test_exchange_refusals import tls_certificate

    ls_key = serialization.load_pem_private_key((ls_dir / "tls-key.pem").read_bytes(), None)
    ls_cert = x509.load_pem_x509_certificate((ls_dir / "tls.pem").read_bytes())
    pem, key_pem = tls_certificate("ZA", ls_key, ls_cert.subject, clock.now())
    (tmp_path / "c.pem").write_bytes(pem + (ls_dir / "tls.pem").read_bytes())
    (tmp_path / "k.pem").write_bytes(key_pem)
    with _client(ls, tmp_path / "c.pem", tmp_path / "k.pem", za) as impostor:
        assert impostor.get(feed).status_code == 403
    ls_engine.dispose()
    za_engine.dispose()


def _ensure_running(node: Node) -> None:
    if node.proc is None or node.proc.poll() is not None:
        node.start()


@pytest.mark.slow
def test_killing_either_node_mid_batch_loses_and_duplicates_nothing(nodes) -> None:  # type: ignore[no-untyped-def]
    ls, za = nodes
    _ensure_running(ls)
    _ensure_running(za)
    before = len(_received(ls, "ZA"))
    za_engine = za.engine()
    stop = threading.Event()
    recorded: list[str] = []

    def keep_recording() -> None:  # the South African ports keep working throughout
        i = 0
        while not stop.is_set():
            recorded.extend(record_crossings(za_engine, "ZA", 15, start=10_000 + i))
            i += 15
            time.sleep(0.05)

    writer = threading.Thread(target=keep_recording)
    writer.start()
    rng = random.Random(16)
    try:
        for _ in range(2):  # each node killed twice (each restart is a Python start-up)
            time.sleep(rng.uniform(0.3, 1.0))
            ls.kill9()  # the pulling node, most likely mid-batch (batches of 40, every 0.1 s)
            ls.start()
            time.sleep(rng.uniform(0.3, 1.0))
            za.kill9()  # the serving node
            za.start()
    finally:
        stop.set()
        writer.join()
    _wait_for(ls, "ZA", before + len(recorded), timeout=45)
    everything = [r for r, _ in _received(ls, "ZA")]
    assert everything == _offered(za)  # each once, in the order of the serving node's feed
    new_ones = everything[before:]
    assert len(new_ones) == len(set(new_ones)) == len(recorded)  # each exactly once
    assert set(new_ones) == set(recorded)
    engine = ls.engine()
    assert len(partner_crossings(engine, "ZA")) == len(everything)  # stored once each
    engine.dispose()
    za_engine.dispose()


def _tsela(node: Node, *args: str) -> subprocess.CompletedProcess[str]:
    """``tsela ...`` on a node, whatever its exit status."""
    return subprocess.run([*TSELA, *args], env=node.env, capture_output=True, text=True, timeout=60)


def _held(node: Node, origin: str) -> list[dict[str, Any]]:
    from tsela.services.audit_checkpoints import held_for

    engine = node.engine()
    try:
        with session_factory(engine)() as s:
            return held_for(s, origin)
    finally:
        engine.dispose()


def test_the_partner_keeps_the_audit_checkpoints_and_shows_a_truncated_log(  # type: ignore[no-untyped-def]
    nodes, tmp_path: Path
) -> None:
    """Lesotho's audit checkpoints travel to South Africa, which keeps them as they arrived.
    Lesotho's database administrator then deletes the newest audit entries and the local
    checkpoint file: Lesotho's own checks see nothing wrong, the copies South Africa keeps
    show it (asked over the exchange, or exported by South Africa's operator)."""
    from tsela.store.models import AuditEvent

    ls, za = nodes
    _ensure_running(ls)
    _ensure_running(za)
    # Audited work on Lesotho's node: batches it serves, and batches it applies.
    before = len(_received(ls, "ZA")), len(_received(za, "LS"))
    for engine, name in ((ls.engine(), "LS"), (za.engine(), "ZA")):
        record_crossings(engine, name, 5, start=50_000)
        engine.dispose()
    _wait_for(ls, "ZA", before[0] + 5)
    _wait_for(za, "LS", before[1] + 5)
    printed = ls.cli("audit", "checkpoint").stdout  # seals, signs, offers it to the partner
    record = json.loads(printed[printed.index("{") :])
    assert record["node"] == "LS" and record["seq"] >= 3
    deadline = time.monotonic() + 40  # a bound, not a timing assertion
    while time.monotonic() < deadline:
        kept = [r for r in _held(za, "LS") if r["seq"] == record["seq"]]
        if kept:
            break
        time.sleep(0.2)
    else:
        raise AssertionError(
            f"ZA never received checkpoint {record}; {za.cli('exchange', 'status').stdout}"
        )
    # Kept as it arrived (with the node that made it), beside when it arrived.
    assert {k: v for k, v in kept[0].items() if k != "received_at"} == record
    assert set(record) == terms.load().kinds["audit_checkpoint"].fields

    intact = ls.cli("audit", "verify", "--against-partner", "ZA").stdout
    assert "kept by node ZA" in intact and "audit log intact" in intact, intact

    # The administrator of Lesotho's database covers their tracks.
    ls.stop()
    newest = record["seq"]
    engine = ls.engine()
    with engine.begin() as conn:
        conn.execute(AuditEvent.__table__.delete().where(AuditEvent.__table__.c.seq > newest - 3))
    engine.dispose()
    (ls.var / "audit-checkpoints.jsonl").unlink()

    alone = _tsela(ls, "audit", "verify")  # what the node's own checks can still say
    assert alone.returncode == 0 and "audit log intact" in alone.stdout, alone.stdout

    asked = _tsela(ls, "audit", "verify", "--against-partner", "ZA")
    assert asked.returncode == 1, asked.stdout + asked.stderr
    shown = " ".join(asked.stdout.split())
    assert (
        f"the log ends at entry {newest - 3} but a signed checkpoint (kept by node ZA) names "
        f"entry " in shown
    ), shown
    assert "the newest entries were deleted" in shown and "audit log BROKEN" in shown

    # The same from a file South Africa's operator exports and sends.
    copy = tmp_path / "za-keeps-ls.jsonl"
    exported = za.cli("exchange", "checkpoints", "--node", "LS", "--out", str(copy)).stdout
    assert "checkpoint(s) of node LS written" in exported
    from_file = _tsela(ls, "audit", "verify", "--against-partner", str(copy))
    assert from_file.returncode == 1, from_file.stdout + from_file.stderr
    shown = " ".join(from_file.stdout.split())
    assert (
        f"the log ends at entry {newest - 3} but a signed checkpoint (kept by the partner: "
        f"{copy.name}) names entry " in shown
    ), shown
    # One altered byte in the exported copy is caught too (the signature holds no more).
    lines = copy.read_text().splitlines()
    lines[-1] = lines[-1].replace(f'"seq":{json.loads(lines[-1])["seq"]}', '"seq":1', 1)
    copy.write_text("\n".join(lines) + "\n")
    altered = _tsela(ls, "audit", "verify", "--against-partner", str(copy))
    assert altered.returncode == 1
    assert "its fields differ from what was signed" in " ".join(altered.stdout.split())
