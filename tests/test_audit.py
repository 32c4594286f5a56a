"""The audit log is append-only in effect: once the sequencer has chained (sealed) an entry,
any edit, deletion or reordering is detected."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, select, update

from tsela.services import audit
from tsela.store.db import session_factory, transaction
from tsela.store.models import AuditEvent


def _write(engine: Engine, n: int = 5, *, seal: bool = True) -> None:
    with transaction(session_factory(engine)) as s:
        for i in range(n):
            audit.record(
                s,
                actor=f"officer{i}",
                action="check",
                node="LS",
                entity="person",
                entity_id=f"p{i}",
                detail={"port": "MSU", "i": i},
                source="10.0.0.1",
            )
    if seal:
        audit.seal_pending(engine)


def _verify(engine: Engine) -> audit.ChainReport:
    with session_factory(engine)() as s:
        return audit.verify(s)


def test_untouched_log_verifies(engine: Engine) -> None:
    _write(engine)
    report = _verify(engine)
    assert report.ok and report.entries == 5 and report.problems == []


def test_edit_is_detected(engine: Engine) -> None:
    _write(engine)
    with transaction(session_factory(engine)) as s:
        s.execute(update(AuditEvent).where(AuditEvent.seq == 3).values(detail={"port": "FKB"}))
    report = _verify(engine)
    assert not report.ok
    assert report.problems == ["entry 3: content does not match its hash (edited)"]


def test_deletion_is_detected(engine: Engine) -> None:
    _write(engine)
    with transaction(session_factory(engine)) as s:
        s.execute(delete(AuditEvent).where(AuditEvent.seq == 2))
    report = _verify(engine)
    assert not report.ok
    assert any("entries 2..2 are missing" in p for p in report.problems)


def test_reordering_is_detected(engine: Engine) -> None:
    # Swap two entries' sequence numbers (a reordering): both links break.
    _write(engine)
    with transaction(session_factory(engine)) as s:
        s.execute(update(AuditEvent).where(AuditEvent.seq == 2).values(seq=-2))
        s.execute(update(AuditEvent).where(AuditEvent.seq == 3).values(seq=2))
        s.execute(update(AuditEvent).where(AuditEvent.seq == -2).values(seq=3))
    report = _verify(engine)
    assert not report.ok
    assert any("entry 2" in p for p in report.problems)


def test_new_entries_continue_the_chain(engine: Engine) -> None:
    _write(engine, 2)
    with session_factory(engine)() as s:
        first_two = list(s.scalars(select(AuditEvent).order_by(AuditEvent.seq)))
    _write(engine, 1)
    with session_factory(engine)() as s:
        third = s.scalars(select(AuditEvent).where(AuditEvent.seq == 3)).one()
    assert third.prev_hash == first_two[1].hash
    assert _verify(engine).ok


def test_entries_are_written_unsealed_and_chained_in_the_order_written(engine: Engine) -> None:
    _write(engine, 3, seal=False)
    report = _verify(engine)
    assert report.ok and report.entries == 0 and report.unsealed == 3  # not yet checked
    with session_factory(engine)() as s:
        written = list(s.scalars(select(AuditEvent).order_by(AuditEvent.at, AuditEvent.id)))
    assert [e.seq for e in written] == [None, None, None]
    assert audit.seal_pending(engine) == 3
    assert audit.seal_pending(engine) == 0  # nothing new
    with session_factory(engine)() as s:
        sealed = list(s.scalars(select(AuditEvent).order_by(AuditEvent.seq)))
    assert [e.id for e in sealed] == [e.id for e in written]
    assert [e.seq for e in sealed] == [1, 2, 3]
    assert sealed[0].prev_hash == audit.GENESIS
    assert sealed[1].prev_hash == sealed[0].hash and sealed[2].prev_hash == sealed[1].hash
    report = _verify(engine)
    assert report.ok and report.entries == 3 and report.unsealed == 0


def test_an_entry_rolled_back_with_its_change_leaves_no_gap(engine: Engine) -> None:
    """The sequence is given at sealing, to committed entries only: a transaction that
    fails takes its entry with it and the chain has no hole."""
    _write(engine, 1)
    with session_factory(engine)() as s:
        audit.record(s, actor="a", action="check", node="LS")
        s.rollback()
    _write(engine, 1)
    report = _verify(engine)
    assert report.ok and report.entries == 2


def test_one_sequencer_at_a_time_on_postgresql(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("advisory locks are PostgreSQL's")
    _write(engine, 2, seal=False)
    factory = session_factory(engine)
    with factory() as first, factory() as second:
        assert audit.seal(first) == 2  # holds the sequencer's lock until it commits
        assert audit.seal(second) == 0  # does not wait, does not seal the same entries twice
        first.commit()
    assert _verify(engine).entries == 2


def test_the_server_seals_while_it_runs_and_when_it_stops(
    engine: Engine, make_user, tmp_path: Path
) -> None:
    import time

    from fastapi.testclient import TestClient

    from tsela.api.app import create_app
    from tsela.config import Settings

    make_user("analyst", username="lerato", password="a long passphrase")
    settings = Settings(
        database_url=engine.url.render_as_string(hide_password=False),
        node="LS",
        var_dir=tmp_path,
        audit_seal_ms=50,
    )
    login = {"username": "lerato", "password": "a long passphrase"}
    with TestClient(create_app(settings, engine)) as client:
        assert client.post("/v1/auth/login", json=login).status_code == 200
        deadline = time.monotonic() + 10
        while _verify(engine).unsealed and time.monotonic() < deadline:
            time.sleep(0.05)
        report = _verify(engine)
        assert report.unsealed == 0 and report.ok and report.entries >= 2  # user.create, login
        sealed_while_running = report.entries
        never = replace(settings, audit_seal_ms=0)
    with TestClient(create_app(never, engine)) as client:
        assert client.post("/v1/auth/login", json=login).status_code == 200
        assert _verify(engine).unsealed == 1  # this server leaves sealing to another
    hourly = replace(settings, audit_seal_ms=3_600_000)
    with TestClient(create_app(hourly, engine)) as client:
        assert client.post("/v1/auth/login", json=login).status_code == 200
        assert _verify(engine).unsealed == 2  # its first round is an hour away
    report = _verify(engine)  # stopped: everything it wrote (and the other's entry) is sealed
    assert report.ok and report.unsealed == 0 and report.entries == sealed_while_running + 2


def test_recent_rounds_leave_older_entries_to_the_full_round(engine: Engine) -> None:
    """The server's frequent rounds look only at the last half minute (cheap on a table full
    of sealed entries); an entry of a transaction that ran longer waits for a full round."""
    from tsela.kernel import clock

    with transaction(session_factory(engine)) as s:
        audit.record(s, actor="a", action="import", node="LS", at=clock.now() - 2 * audit.RECENT)
        audit.record(s, actor="a", action="check", node="LS")
    assert audit.seal_pending(engine, recent_only=True) == 1
    assert _verify(engine).unsealed == 1
    assert audit.seal_pending(engine) == 1
    report = _verify(engine)
    assert report.ok and report.entries == 2 and report.unsealed == 0
