"""The audit log is append-only in effect: any edit, deletion or reordering is detected."""

from __future__ import annotations

from sqlalchemy import Engine, delete, select, update

from tsela.services import audit
from tsela.store.db import session_factory, transaction
from tsela.store.models import AuditEvent


def _write(engine: Engine, n: int = 5) -> None:
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
