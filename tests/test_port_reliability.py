"""The port client when the server is there but says no, or cannot answer: real server
processes, the real token mechanism, a real database made unavailable.

- a refused token (the 12 h token expired while crossings were queued offline) keeps the
  queue; a new token sends it;
- nothing queued is dropped without an operator's decision: refused crossings stay visible,
  go back with ``requeue``, or are dropped with ``discard --reason`` (audited here and on
  the server);
- a server that answers 5xx (its database is down) means offline, not an error.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from _server import ServerProcess, free_port
from factories import passport
from tsela.kernel import clock
from tsela.kernel.clock import FixedClock
from tsela.port.client import PortClient, PortError, ServerUnavailable
from tsela.services.accounts import create_user, issue_api_token
from tsela.services.setup import seed_ports
from tsela.store.auth import ApiToken
from tsela.store.db import make_engine, migrate, session_factory, transaction
from tsela.store.models import AuditEvent, Crossing

PASSWORD = "long password 1"
TWELVE_HOURS = timedelta(hours=12)  # what POST /v1/auth/login gives


# The server, the port client and the port commands stand at this instant: the passports,
# expiring in 2032, stay valid whatever day the tests run.
NOW = datetime(2026, 5, 12, 8, 0, tzinfo=UTC)


def mrz(n: int) -> str:
    return passport(
        f"RB{8000000 + n}",
        given=f"LINEO {chr(65 + n % 26)}",
        birth=date(1985, 1, 1) + timedelta(days=n),
        expiry=date(2032, 1, 1),
    )


class World:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.db = tmp / "server.db"
        self.engine = make_engine(f"sqlite:///{self.db}")
        migrate(self.engine)
        seed_ports(self.engine, "ZA")
        with transaction(session_factory(self.engine)) as s:
            officer = create_user(
                s,
                node="ZA",
                username="sani1",
                password=PASSWORD,
                role="border_officer",
                port_code="SNP",
            )
            self.token = issue_api_token(s, officer, label="login", ttl=TWELVE_HOURS)
        self.env = {
            "TSELA_DATABASE_URL": f"sqlite:///{self.db}",
            "TSELA_NODE": "ZA",
            "TSELA_VAR_DIR": str(tmp / "var"),
            # Every call looks its token up: an expiry is seen at once, whatever the timing.
            "TSELA_TOKEN_CACHE_MS": "0",
            "TSELA_CLOCK": NOW.isoformat(),  # the server's clock, and the port commands' below
        }
        self.server = ServerProcess(self.env, tmp / "server.log")
        self.server.start()
        self.home = tmp / "port"
        self.client = self.new_client(self.token)

    def new_client(self, token: str) -> PortClient:
        return PortClient(
            self.home,
            server=self.server.url,
            token=token,
            port="SNP",
            timeout=10,
            clock=FixedClock(NOW),
        )

    def tsela(self, *args: str, token: str | None = None) -> subprocess.CompletedProcess[str]:
        """``tsela port ...`` as an operator runs it."""
        env = {
            **os.environ,
            "TSELA_SERVER": self.server.url,
            "TSELA_PORT_TOKEN": token or self.token,
            "TSELA_PORT": "SNP",
            "TSELA_PORT_HOME": str(self.home),
            "TSELA_CLOCK": NOW.isoformat(),
        }
        return subprocess.run(
            [sys.executable, "-m", "tsela.cli.main", "port", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )

    def server_crossings(self) -> list[str]:
        with session_factory(self.engine)() as s:
            return list(s.scalars(select(Crossing.idempotency_key).order_by(Crossing.crossed_at)))

    def expire(self, token: str) -> None:
        """The 12 hours are over: the token's expiry, in the server's database, has passed."""
        from tsela.services.accounts import hash_secret

        with transaction(session_factory(self.engine)) as s:
            s.execute(
                update(ApiToken)
                .where(ApiToken.token_hash == hash_secret(token))
                .values(expires_at=clock.now() - timedelta(minutes=1))
            )

    def close(self) -> None:
        self.client.close()
        self.server.stop()
        self.engine.dispose()


@pytest.fixture
def world(tmp_path: Path):  # type: ignore[no-untyped-def]
    w = World(tmp_path)
    yield w
    w.close()


def queue_offline(world: World, count: int) -> list[str]:
    """The link is down: ``count`` travellers cross, checked on the local copy and queued."""
    world.server.stop()
    start = NOW - timedelta(hours=1)
    keys = []
    for i in range(count):
        result = world.client.check(direction="entry", mrz=mrz(i), at=start + timedelta(minutes=i))
        assert not result.online and result.queued
        keys.append(result.idempotency_key)
    assert world.client.pending() == count
    return keys


def test_an_expired_token_keeps_the_queue_and_a_new_one_sends_it(world: World) -> None:
    world.client.sync()
    keys = queue_offline(world, 3)
    world.expire(world.token)  # the 12 h token ran out while the port was offline
    world.server.start()

    up = world.tsela("upload")
    assert up.returncode != 0
    assert "refused the port token" in up.stderr and "expired" in up.stderr
    assert "tsela port login" in up.stderr  # how to get a new one
    assert "3 crossing(s) stay queued" in up.stderr
    status = json.loads(world.tsela("status").stdout)
    assert status["queued"] == 3 and status["refused"] == 0
    assert world.server_crossings() == []

    # A check now says the same, instead of quietly going offline behind the officer's back.
    check = world.tsela("check", "--direction", "entry", *mrz(50).splitlines())
    assert check.returncode != 0 and "refused the port token" in check.stderr
    assert json.loads(world.tsela("status").stdout)["queued"] == 3

    login = subprocess.run(
        [sys.executable, "-m", "tsela.cli.main", "port", "login", "--username", "sani1"],
        capture_output=True,
        text=True,
        env={**os.environ, "TSELA_SERVER": world.server.url, "TSELA_PASSWORD": PASSWORD},
        timeout=300,
    )
    assert login.returncode == 0, login.stderr
    new_token = login.stdout.strip()
    up = world.tsela("upload", token=new_token)
    assert up.returncode == 0, up.stdout + up.stderr
    assert "sent 3" in up.stdout
    assert world.server_crossings() == keys  # each once, in the order they happened


def test_refused_crossings_stay_until_an_operator_decides(world: World) -> None:
    world.client.sync()
    kept = queue_offline(world, 2)
    # A crossing the server refuses for its own content (here: queued by an older client
    # that let an officer write a longer override reason than the server takes).
    bad_key = str(uuid.uuid4())
    world.client._enqueue(
        bad_key,
        "offline",
        {
            "port": "SNP",
            "direction": "exit",
            "at": (NOW - timedelta(minutes=30)).isoformat(),
            "mrz": mrz(7),
            "document_number": None,
            "issuing_state": None,
            "local_decision": "CLEAR",
            "override_reason": "x" * 2500,
        },
    )
    world.server.start()

    up = world.tsela("upload")
    assert up.returncode != 0  # something awaits a decision
    assert "refused 1" in up.stdout and "sent 2" in up.stdout
    assert "tsela port requeue" in up.stderr and "tsela port discard" in up.stderr
    assert world.server_crossings() == kept
    status = json.loads(world.tsela("status").stdout)
    assert status["queued"] == 0 and status["refused"] == 1
    [item] = status["refused_items"]
    assert item["idempotency_key"] == bad_key and item["refused_status"] == 422
    assert item["document"] == "LSO RB8000007" and item["reason"]  # the server's words

    # A second upload sends nothing but still says it is waiting, and exits non-zero.
    again = world.tsela("upload")
    assert again.returncode != 0 and "await a decision" in again.stderr

    # Requeue: asks first; no answer, no change.
    declined = world.tsela("requeue")
    assert declined.returncode != 0 and json.loads(world.tsela("status").stdout)["refused"] == 1
    requeued = world.tsela("requeue", "--yes")
    assert requeued.returncode == 0 and "1 crossing(s) back in the queue" in requeued.stdout
    assert json.loads(world.tsela("status").stdout)["queued"] == 1
    assert world.client.upload().refused == 1  # the server still refuses it: visible again

    # Discard, with a reason, while the server is away: kept, audited here, reported later.
    world.server.stop()
    gone = world.tsela("discard", str(item["id"]), "--reason", "re-entered by hand", "--yes")
    assert gone.returncode == 0, gone.stderr
    assert "reported to the server at the next upload" in gone.stdout
    status = json.loads(world.tsela("status").stdout)
    assert status["refused"] == 0 and status["discarded"] == 1
    assert status["discards_not_reported"] == 1
    local = make_engine(f"sqlite:///{world.home / 'local.db'}")
    with session_factory(local)() as s:
        actions = list(
            s.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.entity_id == bad_key)
                .order_by(AuditEvent.seq)
            )
        )
    local.dispose()
    assert actions == ["port.crossing_requeued", "port.crossing_discarded"]

    world.server.start()
    up = world.tsela("upload")
    assert up.returncode == 0, up.stdout + up.stderr
    assert "1 discarded crossing(s) reported" in up.stdout
    assert json.loads(world.tsela("status").stdout)["discards_not_reported"] == 0
    with session_factory(world.engine)() as s:
        [event] = s.scalars(
            select(AuditEvent).where(AuditEvent.action == "port.crossing_discarded")
        )
    assert event.entity_id == bad_key and event.actor == "sani1"
    assert event.detail["reason"] == "re-entered by hand" and event.detail["port"] == "SNP"
    assert world.server_crossings() == kept
    # Reported again (an answer lost on the way): recorded once.
    world.client.queue.execute("UPDATE queue SET discard_reported_at = NULL")
    assert world.client.upload().discards_reported == 1
    with session_factory(world.engine)() as s:
        assert (
            len(s.scalars(select(AuditEvent.id).where(AuditEvent.entity_id == bad_key)).all()) == 1
        )


def test_crossings_an_older_client_marked_refused_can_be_put_back(world: World) -> None:
    """Older versions marked every queued crossing refused on a 401: requeue recovers them."""
    world.client.sync()
    keys = queue_offline(world, 2)
    world.client.queue.execute(
        "UPDATE queue SET error = 'sign in first: send a Bearer token or a session cookie'"
    )
    world.server.start()
    assert json.loads(world.tsela("status").stdout)["refused"] == 2
    assert world.tsela("requeue", "--yes").returncode == 0
    up = world.tsela("upload")
    assert up.returncode == 0 and "sent 2" in up.stdout
    assert world.server_crossings() == keys


def test_a_server_that_cannot_answer_means_offline(world: World) -> None:
    world.client.sync()
    world.server.stop()
    # The same server, its database away: every call that needs it gets a 503 (500 before
    # the server said "unavailable"; both mean the client works offline).
    dead_db = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/gone"
    broken = ServerProcess(
        {**world.env, "TSELA_DATABASE_URL": dead_db},
        world.tmp / "broken.log",
        port=world.server.port,
    )
    broken.start(healthy=False)
    try:
        at = NOW - timedelta(minutes=10)
        result = world.client.check(direction="entry", mrz=mrz(1), at=at)
        assert not result.online and result.queued and result.decision == "CLEAR"
        assert result.offline_reason and "could not answer (503" in result.offline_reason

        cli = world.tsela("check", "--direction", "entry", *mrz(2).splitlines())
        assert cli.returncode == 0, cli.stderr
        assert "OFFLINE" in cli.stdout and "working OFFLINE" in cli.stderr
        assert "could not answer (503" in cli.stderr

        report = world.client.upload()
        assert report.unavailable and report.refused == 0 and report.left == 2
        up = world.tsela("upload")
        assert up.returncode != 0 and "could not answer (503" in up.stderr
        assert "2 crossing(s) stay queued" in up.stderr

        with pytest.raises(ServerUnavailable, match="local copy"):
            world.client.sync()  # the snapshot it has is kept
    finally:
        broken.stop()

    world.server.start()  # the database is back
    report = world.client.upload()
    assert report.sent == 2 and report.left == 0
    assert len(world.server_crossings()) == 2
    # A 4xx about the request itself is the server's answer, not a reason to go offline.
    with pytest.raises(PortError, match="check refused: 422"):
        world.client.check(direction="entry", document_number="RB1", at=at)
    assert world.client.pending() == 0


def test_the_harness_reports_a_server_that_dies(tmp_path: Path) -> None:
    server = ServerProcess({"TSELA_NODE": "XX"}, tmp_path / "server.log")
    with pytest.raises(RuntimeError, match="exited with") as failed:
        server.start()
    assert "TSELA_NODE" in str(failed.value)  # the server's own words, to debug with


@pytest.mark.parametrize("status", [500, 502, 503, 504, 429, 408])
def test_answers_that_mean_the_server_cannot_answer(status: int) -> None:
    import httpx

    from tsela.port.client import ITEM_REFUSED, TOKEN_REFUSED, server_cannot_answer
    from tsela.port.client import unavailable_message as words

    assert server_cannot_answer(status)
    assert status not in ITEM_REFUSED | TOKEN_REFUSED
    busy = httpx.Response(status, headers={"Retry-After": "5"})
    assert words(busy) == f"the server could not answer ({status}, retry after 5 s)"


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422])
def test_answers_about_the_request_are_not_offline(status: int) -> None:
    from tsela.port.client import server_cannot_answer

    assert not server_cannot_answer(status)
