"""The offline port: a real server process is stopped and restarted in the middle of a
stream of crossings; every crossing reaches the server once, in order, none lost.

The server (``TSELA_CLOCK``) and the port client (``clock=``) stand at ``NOW``: the passports,
expiring in 2032, stay valid whatever day the test runs."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from _server import ServerProcess
from factories import add_traveller, passport
from tsela.domain.values import Direction
from tsela.kernel.clock import FixedClock
from tsela.port.client import DiskFull, PortClient, PortError
from tsela.services.accounts import create_user, issue_api_token
from tsela.services.screening import import_watchlist
from tsela.services.setup import seed_ports
from tsela.store.checks import BorderCheck
from tsela.store.db import make_engine, migrate, session_factory, transaction
from tsela.store.models import Crossing, PortOfEntry
from tsela.store.watchlists import WatchlistCategory, WatchlistKind

NOW = datetime(2026, 5, 12, 8, 0, tzinfo=UTC)


def mrz(n: int) -> str:
    return passport(
        f"RA{7000000 + n}",
        surname="MOLEFE",
        given=f"THABO {chr(65 + n % 26)}",
        birth=date(1980, 1, 1) + timedelta(days=n),
        expiry=date(2032, 1, 1),
        sex="M",
    )


def start_server(db: Path, var: Path) -> ServerProcess:
    server = ServerProcess(
        {
            "TSELA_DATABASE_URL": f"sqlite:///{db}",
            "TSELA_NODE": "ZA",
            "TSELA_VAR_DIR": str(var),
            "TSELA_CLOCK": NOW.isoformat(),
        },
        var / "server.log",
    )
    server.start()
    return server


@pytest.fixture
def world(tmp_path: Path):  # type: ignore[no-untyped-def]
    db = tmp_path / "server.db"
    engine = make_engine(f"sqlite:///{db}")
    migrate(engine)
    seed_ports(engine, "ZA")
    with transaction(session_factory(engine)) as s:
        officer = create_user(
            s,
            node="ZA",
            username="sani1",
            password="long password 1",
            role="border_officer",
            port_code="SNP",
        )
        token = issue_api_token(s, officer)
    # Passport 15 of the stream is reported stolen before the port takes its snapshot.
    import_watchlist(
        engine,
        list_name="SLTD",
        data="issuing_state,number,status\nLSO,RA7000015,stolen\n",
        fmt="csv",
        actor="test",
        node="ZA",
        kind=WatchlistKind.DOCUMENT,
        category=WatchlistCategory.OTHER,
    )
    server = start_server(db, tmp_path / "var")
    client = PortClient(
        tmp_path / "port",
        server=server.url,
        token=token,
        port="SNP",
        timeout=2,
        clock=FixedClock(NOW),
    )
    yield server, client, engine
    client.close()
    server.stop()
    engine.dispose()


def test_stream_survives_server_outage(world) -> None:  # type: ignore[no-untyped-def]
    server, client, engine = world
    assert client.sync()["lists"] == 1  # SLTD (the node's own register is empty)
    # Online checks are dated within minutes of the server's time (ONLINE_CHECK_AGE).
    start = NOW - timedelta(minutes=5)
    online = []
    for i in range(30):
        if i == 10:
            server.stop()
        if i == 20:
            server.start()
        at = start + timedelta(seconds=i)
        if i == 15:
            # Offline, the local copy still knows the passport is stolen.
            probe = client.check(direction="entry", mrz=mrz(i), at=at, record=False)
            assert not probe.online and probe.decision == "DENY"
            with pytest.raises(PortError, match="override reason"):
                client.check(direction="entry", mrz=mrz(i), at=at)
            result = client.check(
                direction="entry",
                mrz=mrz(i),
                at=at,
                override_reason="Held; police called; crossing recorded",
            )
        else:
            result = client.check(direction="entry", mrz=mrz(i), at=at)
        online.append(result.online)
    assert online[:10] == [True] * 10
    assert online[10:20] == [False] * 10
    assert online[20:] == [True] * 10  # the queue went up first, then online again
    assert client.pending() == 0

    with session_factory(engine)() as s:
        rows = s.execute(
            select(Crossing.crossed_at, Crossing.idempotency_key, Crossing.person_id).order_by(
                Crossing.crossed_at
            )
        ).all()
        offline_checks = s.scalars(select(BorderCheck).where(BorderCheck.offline)).all()
    assert len(rows) == 30
    assert len({r.idempotency_key for r in rows}) == 30
    assert [r.crossed_at for r in rows] == sorted(r.crossed_at for r in rows)
    assert rows[0].crossed_at == start.replace(microsecond=start.microsecond)
    assert len(offline_checks) == 10
    stolen = [c for c in offline_checks if c.decision.value == "DENY"]
    assert len(stolen) == 1 and "offline" in (stolen[0].override_reason or "")

    # Upload everything again as if every answer had been lost: nothing is recorded twice.
    client.queue.execute("UPDATE queue SET sent_at = NULL")
    report = client.upload()
    assert report.replayed == 10 and report.sent == 0 and report.left == 0
    with session_factory(engine)() as s:
        assert len(s.execute(select(Crossing.id)).all()) == 30


def test_a_full_queue_file_records_nothing_and_says_so(world) -> None:  # type: ignore[no-untyped-def]
    """The queue's file cannot grow (SQLite's own limit, SQLITE_FULL, as on a full disk):
    the check in hand is refused in words, the local copy keeps no crossing the queue lacks,
    and nothing queued before is lost. (tests/test_faults.py fills a real filesystem.)"""
    server, client, _engine = world
    client.sync()
    server.stop()
    reason = "Held; police called; recorded offline. " * 40  # ~1.6 kB: pages fill quickly
    start = NOW - timedelta(minutes=5)
    client.check(direction="entry", mrz=mrz(40), at=start, override_reason=reason)
    pages = client.queue.execute("PRAGMA page_count").fetchone()[0]
    client.queue.execute(f"PRAGMA max_page_count = {pages}")
    refused = None
    for i in range(41, 51):  # a few rows fill the pages there are
        try:
            client.check(
                direction="entry",
                mrz=mrz(i),
                at=start + timedelta(seconds=i),
                override_reason=reason,
            )
        except DiskFull as exc:
            refused = exc
            break
    assert refused is not None, "the queue never filled up"
    queued = client.pending()
    assert refused.queued == queued >= 1
    assert str(refused).startswith(
        "The disk of this port computer is full: the crossing of this traveller was NOT recorded."
    )
    assert f"Nothing already queued is lost ({queued} crossing(s) wait to be uploaded)" in str(
        refused
    )
    with session_factory(client.engine)() as s:
        assert len(s.scalars(select(Crossing.id)).all()) == queued  # none only in the local copy

    client.queue.execute("PRAGMA max_page_count = 1073741823")  # space freed
    again = client.check(direction="entry", mrz=mrz(i), at=start + timedelta(seconds=i))
    assert (again.online, again.queued) == (False, True)
    assert client.pending() == queued + 1


def test_offline_the_port_knows_its_travellers_stays_and_documents(world) -> None:  # type: ignore[no-untyped-def]
    """The snapshot carries the port's recent travellers (issue 21): offline, an exit closes
    the stay the server recorded (no REFER for a stay the local copy never saw), and a typed
    document number finds its traveller."""
    server, client, engine = world
    person, document = add_traveller(
        engine, "RA9990001", surname="THAMAE", given="PALESA", expiry=date(2032, 1, 1), node="ZA"
    )
    with transaction(session_factory(engine)) as s:
        port = s.scalar(select(PortOfEntry.id).where(PortOfEntry.code == "SNP"))
        s.add(
            Crossing(
                node="ZA", person_id=person.id, document_id=document.id, port_id=port,
                direction=Direction.ENTRY, country="ZAF", crossed_at=NOW - timedelta(days=10),
            )
        )  # fmt: skip
    synced = client.sync()
    assert synced["travellers"] == 1
    server.stop()
    at = NOW - timedelta(minutes=5)
    leaving = client.check(
        direction="exit",
        mrz=passport("RA9990001", surname="THAMAE", given="PALESA", expiry=date(2032, 1, 1)),
        at=at,
        record=False,
    )
    assert not leaving.online
    assert leaving.decision == "CLEAR", leaving.reasons
    assert leaving.check["stay"]["overstay_days"] == 0
    typed = client.check(
        direction="exit", document_number="RA9990001", issuing_state="LSO", at=at, record=False
    )
    assert not typed.online and typed.decision == "CLEAR", typed.reasons
    assert typed.check["traveller"]["surname"] == "THAMAE"
