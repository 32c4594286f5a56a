"""Helpers for the exchange tests: crossings written as the border check writes them, a
batch taken from one node's database to another's without a network, and two real nodes
(``Node``, ``two_nodes``): Lesotho on SQLite and South Africa on PostgreSQL, each its own
server process and database, exchanging over mutual TLS on loopback with keys and anchors
made by the CLI."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, create_engine, select, text

from tsela.api.schemas import FeedBatchOut
from tsela.config import Settings
from tsela.domain.values import Decision, Direction, Sex
from tsela.services import exchange as svc
from tsela.services import exchange_outbox
from tsela.services.node_identity import NodeIdentity
from tsela.store.db import make_engine, session_factory, transaction
from tsela.store.exchange import Partner
from tsela.store.models import Crossing, Person, PortOfEntry, TravelDocument

T0 = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)


def record_crossings(engine: Engine, node: str, n: int, *, start: int = 0) -> list[str]:
    """``n`` crossings at Maseru Bridge by ``n`` travellers, each offered to the partner the
    way ``services.checks.record_crossing`` offers it; their ids, in order."""
    ids = []
    with transaction(session_factory(engine)) as s:
        port = s.scalar(select(PortOfEntry).where(PortOfEntry.code == "MSU"))
        assert port is not None
        for i in range(start, start + n):
            person = Person(
                node=node,
                primary_name=f"MOKOENA{i}",
                given_names="LINEO",
                sex=Sex.FEMALE,
                birth_date=date(1990, 1, 1) + timedelta(days=i % 9000),
                nationality="LSO",
            )
            s.add(person)
            s.flush()
            doc = TravelDocument(
                node=node,
                person_id=person.id,
                document_type="P",
                issuing_state="LSO",
                number=f"{node}{i:08d}",
            )
            s.add(doc)
            s.flush()
            crossing = Crossing(
                node=node,
                person_id=person.id,
                document_id=doc.id,
                port_id=port.id,
                direction=Direction.EXIT,
                country="LSO" if node == "LS" else "ZAF",
                crossed_at=T0 + timedelta(seconds=i),
                decision=Decision.CLEAR,
            )
            s.add(crossing)
            s.flush()
            exchange_outbox.crossing(s, crossing)
            ids.append(str(crossing.id))
    return ids


def settings_for(engine: Engine, node: str, var_dir: Any, **kw: Any) -> Settings:
    return Settings(
        database_url=engine.url.render_as_string(hide_password=False),
        node=node,
        var_dir=var_dir,
        **kw,
    )


def trust(engine: Engine, me: str, other: NodeIdentity, now: datetime) -> None:
    with transaction(session_factory(engine)) as s:
        svc.add_partner(s, node=me, anchor=svc.parse_anchor(other.anchor(now)), actor="t", now=now)


def carry(
    serving: Engine,
    server: NodeIdentity,
    receiving: Engine,
    receiver: NodeIdentity,
    *,
    limit: int = 1000,
    now: datetime,
    tamper: Any = None,
) -> svc.Applied | None:
    """Serve one batch from ``serving`` and verify and apply it on ``receiving`` (raises
    BatchRefused). ``tamper(body) -> body`` alters the bytes in between."""
    from tsela.exchange.batch import verify_batch

    svc.sequence_pending(serving)
    with session_factory(receiving)() as s:
        partner = s.scalar(select(Partner).where(Partner.partner == server.node))
        assert partner is not None
        s.expunge(partner)
    with transaction(session_factory(serving)) as s:
        batch = svc.serve_batch(
            s, identity=server, partner=receiver.node, after=partner.last_seq, limit=limit, now=now
        )
    FeedBatchOut.model_validate_json(batch.body)  # the batch is as /v1/exchange/feed declares
    body = tamper(batch.body) if tamper else batch.body
    verified = verify_batch(
        body,
        batch.signature,
        anchor=svc.parse_anchor(partner.anchor),
        receiver=receiver.node,
        after_seq=partner.last_seq,
        prev_hash=partner.last_hash,
        now=now,
        max_skew=timedelta(minutes=5),
        max_records=limit,
    )
    with transaction(session_factory(receiving)) as s:
        return svc.apply_batch(
            s,
            me=receiver.node,
            partner=partner,
            verified=verified,
            raw=body,
            signature=batch.signature,
            now=now,
        )


def arrived(engine: Engine, partner: str, kind: str = "crossing") -> list[str]:
    """The ids of the ``kind`` records applied from ``partner``, in the order applied: read
    from the message log (each applied batch is kept there, in the same transaction), which
    must hold one unbroken run of sequence numbers."""
    import json

    from tsela.store.exchange import MessageLogEntry

    with session_factory(engine)() as s:
        batches = list(
            s.execute(
                select(MessageLogEntry.first_seq, MessageLogEntry.last_seq, MessageLogEntry.body)
                .where(MessageLogEntry.node == partner)
                .order_by(MessageLogEntry.first_seq)
            )
        )
    ids: list[str] = []
    expected = batches[0][0] if batches else 1
    for first, last, body in batches:
        assert first == expected, f"batch {first}..{last} after {expected - 1}: a gap or overlap"
        expected = last + 1
        ids.extend(r["payload"]["id"] for r in json.loads(body)["records"] if r["kind"] == kind)
    return ids


def partner_crossings(engine: Engine, partner: str) -> list[dict[str, Any]]:
    """Every crossing stored from ``partner`` (the matching feature's table), by id."""
    from tsela.store.partner_crossings import PartnerCrossing

    with session_factory(engine)() as s:
        rows = s.execute(
            select(PartnerCrossing.__table__).where(PartnerCrossing.node == partner)
        ).mappings()
        return [dict(r) for r in rows]


# --------------------------------------------------------------------------- two real nodes

PG_URL = os.environ.get("TSELA_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
TSELA = [sys.executable, "-m", "tsela.cli.main"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Node:
    name: str
    url: str
    var: Path
    port: int = field(default_factory=_free_port)
    exchange_port: int = field(default_factory=_free_port)
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "TSELA_DATABASE_URL": self.url,
            "TSELA_NODE": self.name,
            "TSELA_VAR_DIR": str(self.var),
            "TSELA_EXCHANGE_PORT": str(self.exchange_port),
            "TSELA_EXCHANGE_PULL_MS": "100",
            "TSELA_EXCHANGE_SEQUENCE_MS": "100",
            "TSELA_EXCHANGE_BACKOFF_MAX_S": "1",
            "TSELA_EXCHANGE_BATCH": "40",
        }

    def cli(
        self, *args: str, input: str | None = None, ok: bool = True, **env: str
    ) -> subprocess.CompletedProcess[str]:
        """Run ``tsela ARGS`` as this node's operator would (``ok``: must exit 0)."""
        done = subprocess.run(
            [*TSELA, *args],
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=60,
            input=input,
        )
        if ok:
            assert done.returncode == 0, f"tsela {' '.join(args)}: {done.stdout}{done.stderr}"
        return done

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.starts += 1
        log = (self.var / f"server-{self.starts}.log").open("wb")
        self.proc = subprocess.Popen(
            [*TSELA, "serve", "--port", str(self.port)],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 120  # a bound on start-up, not a timing assertion
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{self.port}/health", timeout=2).is_success:
                    return
            assert self.proc.poll() is None, (self.var / f"server-{self.starts}.log").read_text()
            time.sleep(0.1)
        raise AssertionError(f"node {self.name} did not start")

    def kill9(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc = None

    def engine(self) -> Engine:
        return make_engine(self.url)


@contextlib.contextmanager
def two_nodes(tmp_path: Path) -> Iterator[tuple[Node, Node]]:
    """Lesotho (SQLite) and South Africa (PostgreSQL, a schema of its own), each set up with
    ``tsela init`` and trusting the other's anchor; servers not started. Needs PostgreSQL
    (take the ``pg_engine`` fixture first: it skips, or fails under CI, without it)."""
    schema = f"x_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    ls = Node("LS", f"sqlite:///{tmp_path / 'ls' / 'tsela.db'}", tmp_path / "ls")
    za = Node("ZA", f"{PG_URL}?options=-csearch_path%3D{schema}", tmp_path / "za")
    try:
        for node in (ls, za):
            node.var.mkdir()
            node.cli("init")  # the database, and the node key and TLS certificate
            node.cli("exchange", "anchor", "export", "--out", str(node.var / "anchor.json"))
        for me, other in ((ls, za), (za, ls)):
            added = me.cli("exchange", "trust", "add", str(other.var / "anchor.json"), "--yes")
            assert "fingerprint" in added.stdout and "trusted" in added.stdout
        yield ls, za
    finally:
        ls.stop()
        za.stop()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
