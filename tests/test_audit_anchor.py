"""The audit log anchored outside the database: signed checkpoints catch what the hash chain
alone cannot (the newest entries deleted, the whole log deleted, an entry edited and the chain
recomputed), and a back-dated unsealed entry is reported, not quietly sealed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, select, text, update

from tsela.kernel import clock
from tsela.services import audit
from tsela.services import audit_checkpoints as checkpoints
from tsela.services.keys import KeyStore
from tsela.store.db import session_factory, transaction
from tsela.store.models import AuditEvent


def db_url(engine: Engine) -> str:
    """The engine's database as a URL a separate process can use (PostgreSQL: its schema)."""
    url = engine.url.render_as_string(hide_password=False)
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            schema = conn.scalar(text("SELECT current_schema()"))
        url += f"?options=-csearch_path%3D{schema}"
    return url


def tsela(engine: Engine, var: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TSELA_VAR_DIR": str(var), "TSELA_DATABASE_URL": db_url(engine)}
    return subprocess.run(
        [sys.executable, "-m", "tsela.cli.main", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def _write(engine: Engine, n: int = 5) -> None:
    with transaction(session_factory(engine)) as s:
        for i in range(n):
            audit.record(s, actor=f"officer{i}", action="check", node="LS", entity_id=f"p{i}")
    audit.seal_pending(engine)


def _anchored(engine: Engine, var: Path) -> None:
    """Five sealed entries, verified once: the verify leaves a checkpoint of entry 5."""
    _write(engine)
    ok = tsela(engine, var, "audit", "verify")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "checkpoint written: entry 5" in ok.stdout
    assert checkpoints.latest_checkpoint(var, "LS")["seq"] == 5  # type: ignore[index]


def test_deleting_the_newest_entries_is_detected(engine: Engine, tmp_path: Path) -> None:
    _anchored(engine, tmp_path)
    with transaction(session_factory(engine)) as s:
        s.execute(delete(AuditEvent).where(AuditEvent.seq >= 4))
    out = tsela(engine, tmp_path, "audit", "verify")
    assert out.returncode == 1
    assert "the log ends at entry 3 but a signed checkpoint names entry 5" in out.stdout
    assert "BROKEN" in out.stdout


def test_deleting_the_whole_log_is_detected(engine: Engine, tmp_path: Path) -> None:
    _anchored(engine, tmp_path)
    with transaction(session_factory(engine)) as s:
        s.execute(delete(AuditEvent))
    out = tsela(engine, tmp_path, "audit", "verify")
    assert out.returncode == 1
    assert "the log ends at entry 0 but a signed checkpoint names entry 5" in out.stdout


def test_an_edit_with_the_chain_recomputed_is_detected(engine: Engine, tmp_path: Path) -> None:
    _anchored(engine, tmp_path)
    with transaction(session_factory(engine)) as s:
        s.execute(update(AuditEvent).where(AuditEvent.seq == 3).values(actor="mallory"))
        s.flush()
        prev = s.scalar(select(AuditEvent.hash).where(AuditEvent.seq == 2))
        for event in s.scalars(
            select(AuditEvent).where(AuditEvent.seq >= 3).order_by(AuditEvent.seq)
        ):
            digest = audit.entry_hash(event, event.seq, prev)
            s.execute(
                update(AuditEvent)
                .where(AuditEvent.id == event.id)
                .values(prev_hash=prev, hash=digest)
            )
            prev = digest
    with session_factory(engine)() as s:
        assert audit.verify(s).ok  # the chain alone is fooled
    out = tsela(engine, tmp_path, "audit", "verify")
    assert out.returncode == 1
    assert "entry 5: differs from the signed checkpoint" in out.stdout


def test_a_back_dated_unsealed_entry_is_reported_not_sealed(engine: Engine, tmp_path: Path) -> None:
    _anchored(engine, tmp_path)
    with session_factory(engine)() as s:
        newest = s.scalar(select(AuditEvent.at).where(AuditEvent.seq == 5))
    assert newest is not None
    with transaction(session_factory(engine)) as s:
        forged = audit.record(
            s, actor="officer0", action="check", node="LS", at=newest - timedelta(days=3)
        )
    out = tsela(engine, tmp_path, "audit", "verify")
    assert out.returncode == 1
    assert f"unsealed entry {forged.id} (check by officer0)" in out.stdout
    assert "back-dated? left unsealed" in out.stdout
    assert audit.seal_pending(engine) == 0  # the server's sequencer leaves it too
    with session_factory(engine)() as s:
        assert s.scalar(select(AuditEvent.seq).where(AuditEvent.id == forged.id)) is None

    sealed = tsela(engine, tmp_path, "audit", "verify", "--seal-late")
    assert sealed.returncode == 0, sealed.stdout + sealed.stderr
    assert f"sealed back-dated entry {forged.id}" in sealed.stdout
    with session_factory(engine)() as s:
        assert s.scalar(select(AuditEvent.seq).where(AuditEvent.id == forged.id)) == 6


def test_an_entry_of_a_slow_transaction_is_still_sealed(engine: Engine) -> None:
    """Dated a little before sealed entries (its transaction ran a few minutes): sealed."""
    _write(engine, 2)
    with session_factory(engine)() as s:
        newest = s.scalar(select(AuditEvent.at).where(AuditEvent.seq == 2))
    assert newest is not None
    with transaction(session_factory(engine)) as s:
        audit.record(s, actor="a", action="import", node="LS", at=newest - timedelta(minutes=3))
    assert audit.seal_pending(engine) == 1
    with session_factory(engine)() as s:
        assert audit.verify(s).ok


def test_an_altered_checkpoint_file_is_reported(engine: Engine, tmp_path: Path) -> None:
    _write(engine, 3)
    cp = checkpoints.write_checkpoint(engine, tmp_path, "LS", now=clock.now())
    assert cp is not None and cp.seq == 3
    path = checkpoints.checkpoint_path(tmp_path)
    record = json.loads(path.read_text())
    record["seq"] = 2  # claims a different head than the one signed
    path.write_text(json.dumps(record) + "\n")
    found = checkpoints.check_file(path, KeyStore(tmp_path, "LS").keyset(), "LS")
    assert found.anchors == {}
    assert found.problems == [
        f"{path.name} line 1: its fields differ from what was signed (the record was altered)"
    ]


def test_checkpoints_are_signed_records_for_the_partner_node(
    engine: Engine, tmp_path: Path
) -> None:
    _write(engine, 2)
    now = clock.now()
    first = checkpoints.write_checkpoint(engine, tmp_path, "LS", now=now)
    assert first is not None
    # Nothing new: no second record; a server's round inside the interval writes none either.
    assert checkpoints.write_checkpoint(engine, tmp_path, "LS", now=now) is None
    _write(engine, 1)
    assert (
        checkpoints.write_checkpoint(
            engine, tmp_path, "LS", now=now + timedelta(seconds=10), min_interval_s=60
        )
        is None
    )
    second = checkpoints.write_checkpoint(
        engine, tmp_path, "LS", now=now + timedelta(seconds=61), min_interval_s=60
    )
    assert second is not None and second.seq == 3
    latest = checkpoints.latest_checkpoint(tmp_path, "LS")
    assert latest is not None
    assert set(latest) == {"type", "version", "node", "seq", "hash", "at", "kid", "token"}
    # The partner checks it with nothing but this node's published key set.
    published = KeyStore(tmp_path, "LS").keyset()
    assert checkpoints.parse(latest, published) == second


def test_the_server_writes_checkpoints_while_it_runs(
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
        audit_seal_ms=20,
        audit_checkpoint_s=1,
    )
    login = {"username": "lerato", "password": "a long passphrase"}
    with TestClient(create_app(settings, engine)) as client:
        assert client.post("/v1/auth/login", json=login).status_code == 200
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            latest = checkpoints.latest_checkpoint(tmp_path, "LS")
            if latest is not None and latest["seq"] >= 2:
                break
            time.sleep(0.05)
    latest = checkpoints.latest_checkpoint(tmp_path, "LS")
    assert latest is not None and latest["seq"] >= 2  # user.create and the login
    with session_factory(engine)() as s:
        assert audit.verify(s, {latest["seq"]: latest["hash"]}).ok


def test_checkpoint_command_prints_the_record(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "TSELA_VAR_DIR": str(tmp_path),
        "TSELA_DATABASE_URL": f"sqlite:///{tmp_path / 'tsela.db'}",
    }
    run = [sys.executable, "-m", "tsela.cli.main"]
    subprocess.run([*run, "init"], env=env, check=True, capture_output=True)
    empty = subprocess.run([*run, "audit", "checkpoint"], env=env, capture_output=True, text=True)
    assert empty.returncode == 0 and "empty" in empty.stdout
    add = [*run, "user", "add", "thabo", "--role", "analyst", "--password-stdin"]
    subprocess.run(add, env=env, check=True, capture_output=True, input=b"a long passphrase\n")
    out = subprocess.run([*run, "audit", "checkpoint"], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    record = json.loads(out.stdout.strip().splitlines()[-1])
    assert record["node"] == "LS" and record["seq"] >= 1 and record["token"].count(".") == 2


def test_the_server_warns_of_back_dated_entries(
    engine: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import logging
    import time

    from fastapi.testclient import TestClient

    from tsela.api.app import create_app
    from tsela.config import Settings

    _write(engine, 1)
    with session_factory(engine)() as s:
        newest = s.scalar(select(AuditEvent.at).where(AuditEvent.seq == 1))
    assert newest is not None
    with transaction(session_factory(engine)) as s:
        forged = audit.record(s, actor="x", action="check", node="LS", at=newest - timedelta(1))
    settings = Settings(
        database_url=engine.url.render_as_string(hide_password=False),
        node="LS",
        var_dir=tmp_path,
        audit_seal_ms=20,  # the first round is a full one
    )
    caplog.set_level(logging.WARNING, logger="tsela")
    with TestClient(create_app(settings, engine)):
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and str(forged.id) not in caplog.text:
            time.sleep(0.05)
    assert f"audit: unsealed entry {forged.id} (check by x)" in caplog.text
    with session_factory(engine)() as s:
        assert s.scalar(select(AuditEvent.seq).where(AuditEvent.id == forged.id)) is None
