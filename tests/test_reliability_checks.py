"""Reliability of the border check and of recording crossings (tracker issue 14), on SQLite
and PostgreSQL: one crossing per check under concurrent requests, real passports (ICAO's own
codes) and odd input answered without a 500, the first check of a new traveller at two desks
at once, and the bounds on a crossing's time.

Concurrency without timing: a "gate" (another connection holding the write lock on SQLite, a
table lock that lets reads through on PostgreSQL) holds every request at its first write
until all of them have made the read that the race is about; then it opens. The outcome is
then the same on every run, and on the old code every run showed the defect.

The server's clock is frozen (``app.state.clock``): nothing here depends on today's date.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, event, func, inspect, select, text

from factories import passport
from tsela.api.app import create_app
from tsela.config import Settings
from tsela.domain.mrz import MrzFields, generate
from tsela.domain.values import Direction
from tsela.kernel.clock import FixedClock
from tsela.services.checks import CLOCK_SKEW, OFFLINE_RETENTION, ONLINE_CHECK_AGE
from tsela.services.screening import import_watchlist
from tsela.store.checks import BorderCheck
from tsela.store.db import make_engine, migrate, session_factory
from tsela.store.models import AuditEvent, Crossing, Person, TravelDocument
from tsela.store.watchlists import WatchlistKind

# A fixed "now" for the server (inside the Lesotho-South Africa visitor rule's validity).
T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
PG_URL = os.environ.get("TSELA_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _settings(engine: Engine, tmp_path: Path) -> Settings:
    return Settings(
        database_url=engine.url.render_as_string(hide_password=False),
        node="ZA",
        var_dir=tmp_path,
    )


def _same_database(engine: Engine) -> Engine:
    """A second engine on the fixture's database (and PostgreSQL schema): another server
    process, as ``tsela serve --workers N`` runs them."""
    url = engine.url.render_as_string(hide_password=False)
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            schema = conn.execute(text("SHOW search_path")).scalar_one()
        return make_engine(url, schema=schema)
    return make_engine(url)


@contextmanager
def server(engine: Engine, tmp_path: Path, now: datetime = T0) -> Iterator[TestClient]:
    with TestClient(create_app(_settings(engine, tmp_path), engine, FixedClock(now))) as client:
        yield client


def count(engine: Engine, model: type) -> int:
    with session_factory(engine)() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


@pytest.fixture
def officer(auth_headers) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return auth_headers("border_officer", port="MSU")


# ------------------------------------------------------------------ the gate


@contextmanager
def gate(engine: Engine, table: str) -> Iterator[Callable[[], None]]:
    """Hold every write to ``table`` (on SQLite: every write) until ``open_()`` is called;
    reads go on. Opens on leaving in any case."""
    if engine.dialect.name == "sqlite":
        raw = sqlite3.connect(engine.url.database or "", isolation_level=None, timeout=30)
        raw.execute("BEGIN IMMEDIATE")  # the write lock: writers wait, WAL readers do not
        done = False

        def open_() -> None:
            nonlocal done
            if not done:
                raw.execute("ROLLBACK")
                done = True

        try:
            yield open_
        finally:
            open_()
            raw.close()
        return
    conn = engine.connect()
    conn.execute(text(f"LOCK TABLE {table} IN EXCLUSIVE MODE"))  # SELECT passes, INSERT waits
    try:
        yield conn.rollback
    finally:
        conn.rollback()
        conn.close()


def signal_after(engine: Engine, fragment: str, reached: threading.Semaphore) -> None:
    """Release ``reached`` each time a statement on ``engine`` containing ``fragment`` has
    been answered."""

    @event.listens_for(engine, "after_cursor_execute")
    def _seen(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if fragment in statement:
            reached.release()


def wait_for(reached: threading.Semaphore, n: int) -> None:
    for _ in range(n):
        assert reached.acquire(timeout=60), "a request never reached the read"


# ------------------------------------------------------------------ 1. one crossing per check


@pytest.mark.parametrize("desks", [2, 4])
def test_one_check_recorded_at_once_by_several_desks_gives_one_crossing(
    engine: Engine, officer: dict[str, str], tmp_path: Path, desks: int
) -> None:
    """Several POST /v1/crossings for one check, each with its own Idempotency-Key, all read
    "not yet recorded" before any writes: one records the crossing (201), the others get 409
    naming it. (Before: 2-4 crossings for one check.)"""
    app_engine = _same_database(engine)
    try:
        with server(app_engine, tmp_path) as client:
            r = client.post(
                "/v1/checks",
                json={"port": "MSU", "direction": "entry", "mrz": passport("RA5000001")},
                headers=officer,
            )
            assert r.status_code == 201, r.text
            check_id = r.json()["check_id"]
            reached = threading.Semaphore(0)
            # The route's "already recorded?" read is the first that looks at the check.
            signal_after(app_engine, "FROM border_check", reached)

            def record(i: int) -> Any:
                return client.post(
                    "/v1/crossings",
                    json={"check_id": check_id},
                    headers={**officer, "Idempotency-Key": f"desk-{i}"},
                )

            with gate(engine, "crossing") as open_, ThreadPoolExecutor(desks) as pool:
                answers = [pool.submit(record, i) for i in range(desks)]
                wait_for(reached, desks)
                open_()
                results = [a.result(timeout=120) for a in answers]
    finally:
        app_engine.dispose()

    statuses = sorted(r.status_code for r in results)
    assert statuses == [201] + [409] * (desks - 1), [r.text for r in results]
    won = next(r.json() for r in results if r.status_code == 201)
    for lost in (r for r in results if r.status_code == 409):
        assert f"already recorded as crossing {won['crossing_id']}" in lost.json()["detail"]
    assert count(engine, Crossing) == 1
    with session_factory(engine)() as s:
        check = s.get(BorderCheck, uuid.UUID(check_id))
        assert check is not None and str(check.crossing_id) == won["crossing_id"]


def test_a_retry_with_the_same_key_at_the_same_time_is_a_replay(
    engine: Engine, officer: dict[str, str], tmp_path: Path
) -> None:
    """The idempotent retry keeps its meaning under concurrency: same key and body at once
    give one crossing, one 201 and one 200 (replayed) with the same crossing id."""
    app_engine = _same_database(engine)
    try:
        with server(app_engine, tmp_path) as client:
            r = client.post(
                "/v1/checks",
                json={"port": "MSU", "direction": "entry", "mrz": passport("RA5000002")},
                headers=officer,
            )
            check_id = r.json()["check_id"]
            reached = threading.Semaphore(0)
            signal_after(app_engine, "FROM border_check", reached)

            def record(_: int) -> Any:
                return client.post(
                    "/v1/crossings",
                    json={"check_id": check_id},
                    headers={**officer, "Idempotency-Key": "same-key"},
                )

            with gate(engine, "crossing") as open_, ThreadPoolExecutor(2) as pool:
                answers = [pool.submit(record, i) for i in range(2)]
                wait_for(reached, 2)
                open_()
                results = [a.result(timeout=120) for a in answers]
    finally:
        app_engine.dispose()
    assert sorted(r.status_code for r in results) == [200, 201], [r.text for r in results]
    assert len({r.json()["crossing_id"] for r in results}) == 1
    assert count(engine, Crossing) == 1


def test_the_database_refuses_a_second_crossing_for_a_check(engine: Engine) -> None:
    """The rule is the database's own (unique index on crossing.check_id), not only the
    service's read."""
    from sqlalchemy.exc import IntegrityError

    from tsela.store.models import PortOfEntry

    with session_factory(engine)() as s:
        port = s.scalars(select(PortOfEntry)).first()
        assert port is not None
        person = Person(node="ZA", primary_name="X", nationality="LSO")
        s.add(person)
        s.flush()
        check_id = uuid.uuid4()

        def crossing(key: str, check: uuid.UUID | None) -> Crossing:
            return Crossing(
                node="ZA",
                person_id=person.id,
                port_id=port.id,
                direction=Direction.ENTRY,
                country="ZAF",
                crossed_at=T0,
                idempotency_key=key,
                check_id=check,
            )

        s.add_all([crossing("a", None), crossing("b", None), crossing("c", check_id)])
        s.flush()  # crossings without a check (synthetic, imported) are not limited
        s.add(crossing("d", check_id))
        with pytest.raises(IntegrityError):
            s.flush()
        s.rollback()


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty database (not migrated)."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
        yield engine
        engine.dispose()
        return
    request.getfixturevalue("pg_engine")  # skips (or fails under CI) without PostgreSQL
    schema = f"m_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(PG_URL, schema=schema)
    yield engine
    engine.dispose()
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def test_migration_0008_keeps_the_crossing_the_check_names_and_unlinks_the_others(
    fresh: Engine,
) -> None:
    """A database that already holds duplicates (the old race) still migrates: every
    crossing row stays, only the one the check names stays linked to it."""
    from tsela.services.setup import seed_ports
    from tsela.store.models import PortOfEntry

    migrate(fresh, "0007_audit_sequencer")
    seed_ports(fresh, "ZA")
    ids = [uuid.uuid4() for _ in range(3)]
    check_id = uuid.uuid4()
    with fresh.begin() as conn:
        port_id = conn.execute(select(PortOfEntry.id)).scalars().first()
        person_id = uuid.uuid4()
        conn.execute(
            Person.__table__.insert(),
            {"id": person_id, "node": "ZA", "created_at": T0, "primary_name": "X",
             "given_names": "", "sex": "X", "nationality": "LSO"},
        )  # fmt: skip
        conn.execute(
            BorderCheck.__table__.insert(),
            {"id": check_id, "node": "ZA", "created_at": T0, "port_id": port_id,
             "person_id": person_id, "direction": "entry", "country": "ZAF",
             "checked_at": T0, "decision": "CLEAR", "reasons": [], "mrz_valid": True,
             "offline": False, "crossing_id": ids[1]},
        )  # fmt: skip
        for i, crossing_id in enumerate(ids):
            conn.execute(
                Crossing.__table__.insert(),
                {"id": crossing_id, "node": "ZA", "created_at": T0 + timedelta(seconds=i),
                 "person_id": person_id, "port_id": port_id, "direction": "entry",
                 "country": "ZAF", "crossed_at": T0, "idempotency_key": f"k{i}",
                 "decision": "CLEAR", "check_id": check_id},
            )  # fmt: skip
    migrate(fresh)
    with fresh.connect() as conn:
        linked = conn.execute(
            select(Crossing.__table__.c.id).where(Crossing.__table__.c.check_id.is_not(None))
        ).scalars()
        assert list(linked) == [ids[1]]
        assert conn.execute(select(func.count()).select_from(Crossing.__table__)).scalar() == 3
    indexes = {i["name"]: i for i in inspect(fresh).get_indexes("crossing")}
    assert indexes["uq_crossing_check_id"]["unique"]


# ------------------------------------------------------------------ 2. real passports, odd input

ICAO_CODES = ["D", "XXA", "XXB", "XXC", "UNO", "UNA", "UNK", "EUE", "RKS"]


@pytest.mark.parametrize("code", ICAO_CODES)
def test_documents_with_icao_codes_are_checked(
    engine: Engine, officer: dict[str, str], tmp_path: Path, code: str
) -> None:
    """A German passport (D<<), a stateless person's or a refugee's travel document, a UN or
    EU laissez-passer, a Kosovo passport: a check with a decision and the country named
    (before: 500, as the watchlist look-ups took only ISO codes)."""
    import_watchlist(
        engine,
        list_name="wanted",
        data="name,birth_date\nSomebody Else,1970-01-01\n",
        fmt="csv",
        actor="test",
        node="ZA",
    )
    with server(engine, tmp_path) as client:
        r = client.post(
            "/v1/checks",
            json={
                "port": "MSU",
                "direction": "entry",
                "mrz": passport("C01X00T47", nationality=code),
            },
            headers=officer,
        )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["decision"] in ("CLEAR", "REFER")
    want = "DEU" if code == "D" else code
    assert body["document"]["issuing_state"] == want
    assert body["traveller"]["nationality"] == want
    assert body["traveller"]["nationality_name"]
    if code == "D":
        assert body["traveller"]["nationality_name"] == "Germany"
        assert body["decision"] == "CLEAR"


def test_a_stolen_german_passport_is_found_by_its_iso_code(
    engine: Engine, officer: dict[str, str], tmp_path: Path
) -> None:
    """Document lists name Germany DEU; the MRZ says D<<: the alert still applies, and a
    typed DEU finds the document the scan registered."""
    import_watchlist(
        engine,
        list_name="SLTD",
        data="issuing_state,number,status\nDEU,C01X00T48,stolen\n",
        fmt="csv",
        actor="test",
        node="ZA",
        kind=WatchlistKind.DOCUMENT,
    )
    with server(engine, tmp_path) as client:
        scanned = client.post(
            "/v1/checks",
            json={
                "port": "MSU",
                "direction": "entry",
                "mrz": passport("C01X00T48", nationality="D"),
            },
            headers=officer,
        )
        assert scanned.status_code == 201, scanned.text
        assert scanned.json()["decision"] == "DENY"
        typed = client.post(
            "/v1/checks",
            json={
                "port": "MSU",
                "direction": "entry",
                "document_number": "C01X00T48",
                "issuing_state": "DEU",
            },
            headers=officer,
        )
    assert typed.status_code == 201, typed.text
    assert typed.json()["document"]["document_id"] == scanned.json()["document"]["document_id"]
    assert count(engine, Person) == 1


def _typed(number: str, **traveller: Any) -> dict[str, Any]:
    return {
        "port": "MSU",
        "direction": "entry",
        "document_number": number,
        "issuing_state": "LSO",
        "traveller": {"surname": "MOKOENA", "nationality": "LSO", **traveller},
    }


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (_typed("RA6000001", birth_date="2090-01-01"), "birth date 2090-01-01 is after the day"),
        (_typed("RA6000002", birth_date="1850-06-01"), "birth date 1850-06-01 is before 1880"),
        (_typed("RA6000003", surname="MO\u0000KOENA"), "traveller.surname contains a NUL"),
        (_typed("RA6000004", nationality="ZZZ"), "nationality 'ZZZ' is not an ICAO"),
        (_typed("RA6000005", surname="123"), "cannot be screened"),
        ({**_typed("RA6000006"), "issuing_state": "ZZZ"}, "issuing state 'ZZZ' is not an ICAO"),
    ],
    ids=["born-2090", "born-1850", "nul-in-name", "unknown-nationality", "no-letters", "state"],
)
def test_odd_traveller_details_get_a_precise_422_and_nothing_is_recorded(
    engine: Engine,
    officer: dict[str, str],
    tmp_path: Path,
    body: dict[str, Any],
    message: str,
) -> None:
    """Typed details the database or the screening cannot take: a 422 that says what is
    wrong (before: 500; a NUL byte failed on PostgreSQL only)."""
    import_watchlist(
        engine,
        list_name="wanted",
        data="name,birth_date\nSomebody Else,1970-01-01\n",
        fmt="csv",
        actor="test",
        node="ZA",
    )
    with server(engine, tmp_path) as client:
        r = client.post("/v1/checks", json=body, headers=officer)
    assert r.status_code == 422, r.text
    assert message in r.json()["detail"]
    assert count(engine, Person) == 0
    assert count(engine, BorderCheck) == 0


@pytest.mark.parametrize(
    "raw",
    [
        b'{"port": "MSU", "direction": "entry", "mrz": "\\ud800"}',
        b'{"port": "\\udfff\\udfff", "direction": "entry", "mrz": "x"}',
        b'{"port": "MSU", "direction": "entry", "document_number": "RA1", '
        b'"issuing_state": "LSO", "traveller": {"surname": "A\\ud800B", "nationality": "LSO"}}',
    ],
    ids=["mrz", "port", "surname"],
)
def test_a_lone_surrogate_in_the_body_gets_a_422_in_valid_json(
    engine: Engine, officer: dict[str, str], tmp_path: Path, raw: bytes
) -> None:
    """A JSON escape of half a UTF-16 pair is valid JSON but not text: the answer is a 422
    that is itself valid UTF-8 JSON (before: the 422 could not be encoded, a 500)."""
    with server(engine, tmp_path) as client:
        r = client.post(
            "/v1/checks", content=raw, headers={**officer, "Content-Type": "application/json"}
        )
    assert r.status_code == 422, r.text
    detail = json.loads(r.content.decode("utf-8", errors="strict"))["detail"]
    assert detail
    assert count(engine, BorderCheck) == 0


def test_a_nul_in_an_override_reason_is_refused(
    engine: Engine, officer: dict[str, str], tmp_path: Path
) -> None:
    with server(engine, tmp_path) as client:
        c = client.post(
            "/v1/checks",
            json={"port": "MSU", "direction": "exit", "mrz": passport("RA6100001")},
            headers=officer,
        )  # an exit without an entry: REFER, recording needs a reason
        assert c.json()["decision"] == "REFER"
        r = client.post(
            "/v1/crossings",
            json={"check_id": c.json()["check_id"], "override_reason": "seen by \u0000 me, ok"},
            headers={**officer, "Idempotency-Key": "k1"},
        )
    assert r.status_code == 422, r.text
    assert "override_reason contains a NUL" in r.json()["detail"]
    assert count(engine, Crossing) == 0


@pytest.mark.parametrize("how", ["mrz", "typed"])
def test_first_check_of_a_new_traveller_at_two_desks_at_once(
    engine: Engine, officer: dict[str, str], tmp_path: Path, how: str
) -> None:
    """Two server processes check the same new traveller at the same moment: both found no
    document and both register. Both get the check, of one traveller with one document
    (before: the second got a 500 from the duplicate key)."""
    body: dict[str, Any] = (
        {"port": "MSU", "direction": "entry", "mrz": passport("RA7000001")}
        if how == "mrz"
        else _typed("RA7000001", given_names="LINEO", birth_date="1991-03-14")
    )
    engines = [_same_database(engine) for _ in range(2)]
    reached = threading.Semaphore(0)
    try:
        with server(engines[0], tmp_path) as one, server(engines[1], tmp_path) as two:
            for e in engines:
                # The look-up that finds no document, in each process.
                signal_after(e, "FROM travel_document JOIN person", reached)
            with gate(engine, "travel_document") as open_, ThreadPoolExecutor(2) as pool:
                answers = [
                    pool.submit(desk.post, "/v1/checks", json=body, headers=officer)
                    for desk in (one, two)
                ]
                wait_for(reached, 2)
                open_()
                results = [a.result(timeout=120) for a in answers]
    finally:
        for e in engines:
            e.dispose()
    assert [r.status_code for r in results] == [201, 201], [r.text for r in results]
    people = {r.json()["traveller"]["person_id"] for r in results}
    documents = {r.json()["document"]["document_id"] for r in results}
    assert len(people) == 1 and len(documents) == 1
    assert count(engine, Person) == 1
    assert count(engine, TravelDocument) == 1
    assert count(engine, BorderCheck) == 2
    with session_factory(engine)() as s:
        registered = s.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "person.register")
        )
    assert registered == 1


# ------------------------------------------------------------------ 3. bounds on a crossing's time


@pytest.mark.parametrize(
    ("at", "message"),
    [
        (T0 + CLOCK_SKEW + timedelta(minutes=1), "more than 5 minutes after the server's time"),
        (datetime(2099, 1, 1, tzinfo=UTC), "more than 5 minutes after the server's time"),
        (T0 - ONLINE_CHECK_AGE - timedelta(minutes=1), "more than 15 minutes before"),
        (datetime(1900, 1, 1, tzinfo=UTC), "more than 15 minutes before"),
    ],
    ids=["6-min-ahead", "2099", "16-min-old", "1900"],
)
def test_an_online_check_far_from_the_servers_time_is_refused(
    engine: Engine, officer: dict[str, str], tmp_path: Path, at: datetime, message: str
) -> None:
    with server(engine, tmp_path) as client:
        r = client.post(
            "/v1/checks",
            json={
                "port": "MSU",
                "direction": "entry",
                "mrz": passport("RA8000001"),
                "at": at.isoformat(),
            },
            headers=officer,
        )
    assert r.status_code == 422, r.text
    assert message in r.json()["detail"]
    assert T0.isoformat(timespec="seconds") in r.json()["detail"]
    assert count(engine, BorderCheck) == 0
    assert count(engine, Person) == 0


@pytest.mark.parametrize(
    "at", [T0 - ONLINE_CHECK_AGE + timedelta(minutes=1), T0 + CLOCK_SKEW - timedelta(minutes=1)]
)
def test_an_online_check_within_the_bounds_is_taken(
    engine: Engine, officer: dict[str, str], tmp_path: Path, at: datetime
) -> None:
    with server(engine, tmp_path) as client:
        r = client.post(
            "/v1/checks",
            json={
                "port": "MSU",
                "direction": "entry",
                "mrz": passport("RA8000002"),
                "at": at.isoformat(),
            },
            headers=officer,
        )
    assert r.status_code == 201, r.text
    assert r.json()["checked_at"] == at.isoformat()


def upload(client: TestClient, headers: dict[str, str], number: str, at: datetime, **kw: Any):  # type: ignore[no-untyped-def]
    body = {
        "port": "MSU",
        "direction": kw.pop("direction", "entry"),
        "mrz": passport(number),
        "at": at.isoformat(),
        "local_decision": "CLEAR",
    }
    return client.post(
        "/v1/port/crossings",
        json=body,
        headers={**headers, "Idempotency-Key": kw.pop("key", str(uuid.uuid4()))},
    )


@pytest.mark.parametrize(
    ("at", "message"),
    [
        (datetime(2099, 6, 1, tzinfo=UTC), "more than 5 minutes after the server's time"),
        (T0 + CLOCK_SKEW + timedelta(minutes=1), "more than 5 minutes after the server's time"),
        (T0 - OFFLINE_RETENTION - timedelta(hours=1), "more than 30 days before"),
        (datetime(1900, 1, 1, tzinfo=UTC), "more than 30 days before"),
    ],
    ids=["2099", "6-min-ahead", "31-days-old", "1900"],
)
def test_an_offline_upload_outside_the_window_is_refused_and_not_recorded(
    engine: Engine, officer: dict[str, str], tmp_path: Path, at: datetime, message: str
) -> None:
    """Before: any time was recorded (the check ran with now = max(now, at), so "in the
    future" could not fail)."""
    with server(engine, tmp_path) as client:
        r = upload(client, officer, "RA9000001", at)
    assert r.status_code == 422, r.text
    assert message in r.json()["detail"]
    assert count(engine, Crossing) == 0
    assert count(engine, BorderCheck) == 0


def test_an_offline_upload_inside_the_window_is_recorded(
    engine: Engine, officer: dict[str, str], tmp_path: Path
) -> None:
    at = T0 - OFFLINE_RETENTION + timedelta(hours=1)
    with server(engine, tmp_path) as client:
        r = upload(client, officer, "RA9000002", at)
    assert r.status_code == 201, r.text
    assert r.json()["crossed_at"] == at.isoformat()
    assert count(engine, Crossing) == 1


def test_a_crossing_dated_ahead_cannot_hide_the_still_inside_referral(
    engine: Engine, officer: dict[str, str], tmp_path: Path
) -> None:
    """An entry two days ago, then an exit uploaded with a date a day ahead: refused, so the
    next entry still finds the traveller inside by our records (REFER). Before, the future
    exit was recorded and the referral was gone."""
    with server(engine, tmp_path) as client:
        entry = upload(client, officer, "RA9000003", T0 - timedelta(days=2))
        assert entry.status_code == 201, entry.text
        ahead = upload(client, officer, "RA9000003", T0 + timedelta(days=1), direction="exit")
        assert ahead.status_code == 422, ahead.text
        again = client.post(
            "/v1/checks",
            json={"port": "MSU", "direction": "entry", "mrz": passport("RA9000003")},
            headers=officer,
        )
    assert again.status_code == 201, again.text
    assert again.json()["decision"] == "REFER"
    assert "history.still_inside" in [r["code"] for r in again.json()["reasons"]]
    assert count(engine, Crossing) == 1


def test_a_document_number_longer_than_the_register_keeps_is_a_422(
    engine: Engine, officer: dict[str, str], tmp_path: Path
) -> None:
    """An ID card's extended number (TD1, up to 23 characters) longer than the 20 the
    register keeps: a 422 that says so (before: a 500 on PostgreSQL, which refuses the
    value)."""
    lines = generate(
        MrzFields(
            format="TD1",
            document_type="I",
            issuing_state="LSO",
            surname="MOKOENA",
            given_names="LINEO",
            document_number="AB1234567890123456789",
            nationality="LSO",
            birth_date=date(1991, 3, 14),
            expiry_date=date(2031, 5, 1),
            sex="F",
        )
    )
    with server(engine, tmp_path) as client:
        r = client.post(
            "/v1/checks",
            json={"port": "MSU", "direction": "entry", "mrz": "\n".join(lines)},
            headers=officer,
        )
    assert r.status_code == 422, r.text
    assert "has 21 characters; at most 20 are kept" in r.json()["detail"]
    assert count(engine, Person) == 0


def test_the_port_snapshot_lists_only_documents_a_port_can_import(engine: Engine) -> None:
    """The node's own register of flagged documents goes to the ports as a document list,
    which holds ISO countries only: a lost German passport is in it, a lost refugee travel
    document (XXB, registrable now) is left out rather than spoiling the port's import."""
    from tsela.domain.values import DocumentStatus
    from tsela.services import port_sync

    with session_factory(engine).begin() as s:
        person = Person(node="ZA", primary_name="X", nationality="XXB")
        s.add(person)
        s.flush()
        for state in ("DEU", "XXB"):
            s.add(
                TravelDocument(
                    node="ZA",
                    person_id=person.id,
                    document_type="P",
                    issuing_state=state,
                    number="C01X00T49",
                    status=DocumentStatus.LOST,
                )
            )
    with session_factory(engine)() as s:
        snap = port_sync.snapshot(s, node="ZA", port="MSU")
    register = next(wl for wl in snap["lists"] if wl["name"] == port_sync.REGISTER_LIST)
    rows = list(csv.DictReader(io.StringIO(register["data"])))
    assert [(r["issuing_state"], r["number"]) for r in rows] == [("DEU", "C01X00T49")]
