"""Every batch a node must refuse, served by a real HTTPS server on loopback (a thread in the
test, mutual TLS, serving the bytes each case needs): the puller refuses it, says why in the
partner's status, and applies nothing."""

from __future__ import annotations

import http.server
import ipaddress
import json
import os
import ssl
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509.oid import NameOID
from sqlalchemy import Engine, func, select

from _exchange import settings_for
from _server import free_port
from tsela.exchange.batch import SIGNATURE_HEADER, make_batch
from tsela.exchange.chain import GENESIS, digest, link
from tsela.kernel import clock
from tsela.services import exchange as svc
from tsela.services.node_identity import NodeIdentity
from tsela.store.db import make_engine, migrate, session_factory, transaction
from tsela.store.exchange import MessageLogEntry, Partner
from tsela.store.partner_crossings import PartnerCrossing


@dataclass
class Rogue:
    """A real HTTPS server answering the feed with whatever ``answer(after)`` says."""

    port: int
    answer: Callable[[int], tuple[bytes, str]] = lambda after: (b"", "")
    requests: list[int] = field(default_factory=list)


def _serve(rogue: Rogue, cert: Path, key: Path, client_ca: str) -> http.server.HTTPServer:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            after = int(parse_qs(urlparse(self.path).query).get("after", ["0"])[0])
            rogue.requests.append(after)
            body, sig = rogue.answer(after)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header(SIGNATURE_HEADER, sig)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(cadata=client_ca)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", rogue.port), Handler)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@dataclass
class Scene:
    ls: NodeIdentity
    za: NodeIdentity
    engine: Engine
    rogue: Rogue
    settings: Any
    now: datetime


def _records(n: int, *, after: int = 0, prev: str = GENESIS, at: datetime) -> list[dict]:
    out = []
    for seq in range(after + 1, after + n + 1):
        r = {
            "seq": seq,
            "kind": "crossing",
            "id": f"00000000-0000-7000-8000-{seq:012d}",
            "node": "ZA",
            "created_at": at.isoformat(),
            "payload": {
                "id": f"00000000-0000-7000-a000-{seq:012d}",
                "node": "ZA",
                "port_code": "MSU",
                "direction": "entry",
                "country": "ZAF",
                "crossed_at": at.isoformat(),
                "document_number": f"RA{seq:07d}",
                "document_country": "LSO",
                "surname": "MOKOENA",
            },
        }
        prev = link(prev, digest(r))
        out.append({**r, "hash": prev})
    return out


def _signed(
    scene: Scene,
    records: list[dict],
    *,
    after: int,
    prev: str,
    key: tuple[str, Ed25519PrivateKey] | None = None,
    at: datetime | None = None,
) -> tuple[bytes, str]:
    kid, private = key or scene.za.signer(scene.now)
    batch = make_batch(
        batch_id=f"00000000-0000-7000-9000-{after:012d}",
        sender="ZA",
        receiver="LS",
        after_seq=after,
        prev_hash=prev,
        head_seq=records[-1]["seq"] if records else after,
        records=records,
        served_at=at or clock.now(),
        kid=kid,
        key=private,
    )
    return batch.body, batch.signature


@pytest.fixture
def scene(tmp_path: Path) -> Iterator[Scene]:
    now = clock.now()
    port = free_port()
    ls = NodeIdentity(tmp_path / "ls", "LS")
    za = NodeIdentity(tmp_path / "za", "ZA")
    ls.init(now, endpoint="https://127.0.0.1:1")
    za.init(now, endpoint=f"https://127.0.0.1:{port}")
    engine = make_engine(f"sqlite:///{tmp_path / 'ls.db'}")
    migrate(engine)
    rogue = Rogue(port)
    server = _serve(rogue, za.cert_path, za.tls_key_path, ls.certificate_pem())
    settings = settings_for(engine, "LS", tmp_path / "ls", exchange_max_bytes=200_000)
    yield Scene(ls, za, engine, rogue, settings, now)
    server.shutdown()
    engine.dispose()


def _trust(scene: Scene, anchor: dict | None = None) -> None:
    with transaction(session_factory(scene.engine)) as s:
        doc = anchor or scene.za.anchor(scene.now)
        svc.add_partner(s, node="LS", anchor=svc.parse_anchor(doc), actor="t", now=scene.now)


def _pull(scene: Scene) -> svc.PullResult:
    return svc.pull(scene.engine, scene.settings, scene.ls, "ZA")


def _applied(scene: Scene) -> tuple[int, int, int]:
    with session_factory(scene.engine)() as s:
        partner = s.scalar(select(Partner))
        received = s.scalar(select(func.count()).select_from(PartnerCrossing)) or 0
        logged = s.scalar(select(func.count()).select_from(MessageLogEntry)) or 0
    assert partner is not None
    return partner.last_seq, received, logged


def _refused(scene: Scene, code: str, before: tuple[int, int, int] = (0, 0, 0)) -> str:
    result = _pull(scene)
    assert result.error_code == code, result.error
    assert _applied(scene) == before  # nothing applied, nothing logged
    with session_factory(scene.engine)() as s:
        status = svc.status(s, clock.now(), 300)["partners"][0]
    assert status["last_error_code"] == code and status["last_error"]
    return str(result.error)


def test_a_good_batch_is_applied(scene: Scene) -> None:
    _trust(scene)
    records = _records(3, at=scene.now)
    scene.rogue.answer = lambda after: _signed(scene, records, after=0, prev=GENESIS)
    result = _pull(scene)
    assert result.ok and result.records == 3, result.error
    assert _applied(scene) == (3, 3, 1)


def test_one_byte_changed(scene: Scene) -> None:
    _trust(scene)
    body, sig = _signed(scene, _records(3, at=scene.now), after=0, prev=GENESIS)
    i = body.index(b"MOKOENA")
    scene.rogue.answer = lambda after: (body[:i] + b"N" + body[i + 1 :], sig)
    _refused(scene, "bad_signature")


def test_signed_by_an_unknown_key(scene: Scene) -> None:
    _trust(scene)
    stranger = ("ZA-node-unknownkey000", Ed25519PrivateKey.generate())
    scene.rogue.answer = lambda after: _signed(
        scene, _records(2, at=scene.now), after=0, prev=GENESIS, key=stranger
    )
    _refused(scene, "unknown_key")


def test_signed_by_a_withdrawn_key(scene: Scene) -> None:
    old = scene.za.signer(scene.now)  # a copy of the private key, as a thief would keep it
    later = clock.now()
    scene.za.rotate(later, overlap=timedelta(days=1))
    scene.za.withdraw(old[0], later)
    _trust(scene, scene.za.anchor(later))
    scene.rogue.answer = lambda after: _signed(
        scene, _records(2, at=scene.now), after=0, prev=GENESIS, key=old
    )
    assert "withdrawn" in _refused(scene, "withdrawn_key")


def test_an_old_batch_replayed(scene: Scene) -> None:
    _trust(scene)
    first = _signed(scene, _records(3, at=scene.now), after=0, prev=GENESIS)
    scene.rogue.answer = lambda after: first
    assert _pull(scene).ok
    _refused(scene, "replay", before=(3, 3, 1))  # asked for after=3, given 1..3 again
    assert scene.rogue.requests[-1] == 3


def test_a_batch_that_skips_a_sequence_number(scene: Scene) -> None:
    _trust(scene)
    records = _records(5, at=scene.now)
    scene.rogue.answer = lambda after: _signed(scene, records[1:], after=1, prev=records[0]["hash"])
    _refused(scene, "gap")


def test_a_partner_clock_hours_off(scene: Scene) -> None:
    _trust(scene)
    scene.rogue.answer = lambda after: _signed(
        scene, _records(1, at=scene.now), after=0, prev=GENESIS, at=clock.now() + timedelta(hours=3)
    )
    message = _refused(scene, "clock_skew")
    assert "h off" in message


def test_a_garbage_answer(scene: Scene) -> None:
    _trust(scene)
    scene.rogue.answer = lambda after: (b"<html>502 Bad Gateway</html>", "")
    _refused(scene, "malformed")


def test_an_oversized_answer(scene: Scene) -> None:
    _trust(scene)
    scene.rogue.answer = lambda after: (b"[" + b"0," * 200_000 + b"0]", "")
    _refused(scene, "too_large")


def tls_certificate(
    node: str, signer_key: Any, issuer: x509.Name | None, now: datetime
) -> tuple[bytes, bytes]:
    """A TLS certificate naming ``node``; issued by ``issuer`` (with ``signer_key``) or
    self-signed."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"node {node}")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer or name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.UniformResourceIdentifier(f"urn:tsela:node:{node}"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                ]
            ),
            critical=False,
        )
        .sign(signer_key or key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return pem, key_pem


def _rogue_with(scene: Scene, tmp_path: Path, pem: bytes, key_pem: bytes) -> None:
    cert, key = tmp_path / "rogue.pem", tmp_path / "rogue-key.pem"
    cert.write_bytes(pem)
    key.write_bytes(key_pem)
    scene.rogue.port = free_port()
    _serve(scene.rogue, cert, key, scene.ls.certificate_pem())
    scene.rogue.answer = lambda after: _signed(
        scene, _records(1, at=scene.now), after=0, prev=GENESIS
    )
    anchor = scene.za.anchor(scene.now)
    scene.za.init(scene.now, endpoint=f"https://127.0.0.1:{scene.rogue.port}")
    _trust(scene, scene.za.anchor(clock.now()))
    assert anchor


def test_a_tls_certificate_not_in_the_anchor(scene: Scene, tmp_path: Path) -> None:
    pem, key_pem = tls_certificate("ZA", None, None, scene.now)  # self-signed, names ZA
    _rogue_with(scene, tmp_path, pem, key_pem)
    assert "certificate" in _refused(scene, "tls").lower()


def test_a_valid_certificate_presenting_another_node_id(scene: Scene, tmp_path: Path) -> None:
    # Issued with ZA's own TLS key (so it chains to the certificate in ZA's anchor: valid for
    # TLS), but naming node LS: the puller pins the anchor's certificate and its node id.
    za_key = serialization.load_pem_private_key(scene.za.tls_key_path.read_bytes(), None)
    za_cert = x509.load_pem_x509_certificate(scene.za.cert_path.read_bytes())
    pem, key_pem = tls_certificate("LS", za_key, za_cert.subject, scene.now)
    _rogue_with(scene, tmp_path, pem, key_pem)
    _refused(scene, "certificate")


def test_tsela_exchange_pull_reports_a_refusal_and_exits_1(scene: Scene, tmp_path: Path) -> None:
    _trust(scene)
    body, sig = _signed(scene, _records(2, at=scene.now), after=0, prev=GENESIS)
    scene.rogue.answer = lambda after: (body.replace(b"MOKOENA", b"MOKOENE", 1), sig)
    env = {
        **os.environ,
        "TSELA_DATABASE_URL": str(scene.settings.database_url),
        "TSELA_NODE": "LS",
        "TSELA_VAR_DIR": str(tmp_path / "ls"),
    }
    run = subprocess.run(
        [sys.executable, "-m", "tsela.cli.main", "exchange", "pull"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 1, run.stdout + run.stderr
    assert "bad_signature" in run.stdout
    status = subprocess.run(
        [sys.executable, "-m", "tsela.cli.main", "exchange", "status", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    partner = json.loads(status.stdout)["partners"][0]
    assert partner["last_error_code"] == "bad_signature" and partner["last_seq"] == 0
    assert _applied(scene) == (0, 0, 0)
