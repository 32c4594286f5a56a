"""Backing up and restoring a node: the database (while it is being written), the signing
keys (encrypted), the audit checkpoints; and a node whose keys were not restored refuses to
start instead of signing with a new key."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, insert, inspect, select, text

from tsela.kernel import clock
from tsela.services import audit, backup
from tsela.services import audit_checkpoints as checkpoints
from tsela.services.keys import KeyStore, KeyStoreError, require_signing_keys
from tsela.store.db import make_engine, session_factory, transaction
from tsela.store.models import Base, Crossing, Permit, Person, PortOfEntry

PASSPHRASE = "correct horse battery staple"


def db_url(engine: Engine, schema: str | None = None) -> str:
    """The engine's database as a URL for a separate process (PostgreSQL: with the schema)."""
    url = engine.url.render_as_string(hide_password=False)
    if engine.dialect.name == "postgresql":
        url += f"?options=-csearch_path%3D{schema or _schema(engine)}"
    return url


def _schema(engine: Engine) -> str | None:
    if engine.dialect.name != "postgresql":
        return None
    with engine.connect() as conn:
        return str(conn.scalar(text("SELECT current_schema()")))


@pytest.fixture
def empty(engine: Engine, tmp_path: Path) -> Iterator[Engine]:
    """A new, empty database of the same kind (PostgreSQL: its own database, with the source
    schema on its search path, as an operator would restore into)."""
    if engine.dialect.name == "sqlite":
        target = make_engine(f"sqlite:///{tmp_path / 'restored' / 'tsela.db'}")
        yield target
        target.dispose()
        return
    name = f"restore_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    base = engine.url.render_as_string(hide_password=False)
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    target = make_engine(engine.url.set(database=name), schema=_schema(engine))
    yield target
    target.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


def _person(engine: Engine) -> uuid.UUID:
    with transaction(session_factory(engine)) as s:
        person = Person(node="LS", primary_name="MOLEFE", given_names="Palesa", nationality="LSO")
        s.add(person)
        s.flush()
        return person.id


def _crossing(engine: Engine, person: uuid.UUID, port: uuid.UUID) -> uuid.UUID:
    row = {
        "id": uuid.uuid4(),
        "node": "LS",
        "created_at": clock.now(),
        "person_id": person,
        "port_id": port,
        "direction": "entry",
        "country": "ZAF",
        "crossed_at": clock.now(),
    }
    with engine.begin() as conn:
        conn.execute(insert(Crossing.__table__), row)
    return row["id"]


def _port(engine: Engine) -> uuid.UUID:
    with engine.connect() as conn:
        return conn.scalar(select(PortOfEntry.id).where(PortOfEntry.code == "MSU"))


def _all_rows(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    names = set(inspect(engine).get_table_names())
    with engine.connect() as conn:
        return {
            t.name: sorted(map(tuple, conn.execute(select(t))), key=repr)
            for t in Base.metadata.sorted_tables
            if t.name in names
        }


def test_a_backup_taken_while_crossings_are_written_has_every_committed_one(
    engine: Engine, empty: Engine, tmp_path: Path
) -> None:
    person, port = _person(engine), _port(engine)
    committed: list[uuid.UUID] = []
    stop = threading.Event()

    def border() -> None:
        while not stop.is_set():
            committed.append(_crossing(engine, person, port))

    writer = threading.Thread(target=border)
    writer.start()
    try:
        while len(committed) < 20:
            stop.wait(0.01)
        before = list(committed)  # committed before the backup began
        summary = backup.backup(engine, tmp_path / "var", "LS", tmp_path / "b.tar", PASSPHRASE)
    finally:
        stop.set()
        writer.join()
    backup.restore(empty, tmp_path / "restored-var", "LS", tmp_path / "b.tar", PASSPHRASE)
    with empty.connect() as conn:
        restored = set(conn.scalars(select(Crossing.id)))
    assert set(before) <= restored
    assert len(restored) == summary.rows["crossing"]  # one consistent snapshot
    assert restored <= set(committed)


def test_restore_into_an_empty_database_gives_the_same_rows_keys_and_checkpoints(
    engine: Engine, empty: Engine, make_user, tmp_path: Path
) -> None:
    var = tmp_path / "var"
    make_user("analyst", username="lerato")
    person, port = _person(engine), _port(engine)
    for _ in range(3):
        _crossing(engine, person, port)
    audit.seal_pending(engine)
    assert checkpoints.write_checkpoint(engine, var, "LS") is not None  # also makes the key
    key_files = {p.name: p.read_bytes() for p in (var / "keys" / "LS").glob("[!.]*")}

    env = {
        **os.environ,
        "TSELA_VAR_DIR": str(var),
        "TSELA_DATABASE_URL": db_url(engine),
        "TSELA_BACKUP_PASSPHRASE": PASSPHRASE,
    }
    out = subprocess.run(
        [sys.executable, "-m", "tsela.cli.main", "backup", str(tmp_path / "node.tsela")],
        env=env,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert "3 crossings" in out.stdout and "2 key file(s)" in out.stdout

    restored_var = tmp_path / "restored-var"
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "tsela.cli.main",
            "restore",
            "--passphrase-stdin",
            str(tmp_path / "node.tsela"),
        ],
        env={
            **os.environ,
            "TSELA_VAR_DIR": str(restored_var),
            "TSELA_DATABASE_URL": db_url(empty, _schema(engine)),
        },
        input=PASSPHRASE + "\n",
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert _all_rows(empty) == _all_rows(engine)
    assert {p.name: p.read_bytes() for p in (restored_var / "keys" / "LS").iterdir()} == key_files
    assert (restored_var / "audit-checkpoints.jsonl").read_bytes() == (
        var / "audit-checkpoints.jsonl"
    ).read_bytes()
    # The restored node's log verifies against its restored checkpoints.
    found = checkpoints.check_file(
        checkpoints.checkpoint_path(restored_var), KeyStore(restored_var, "LS").keyset(), "LS"
    )
    assert found.problems == [] and found.count == 1
    with session_factory(empty)() as s:
        report = audit.verify(s, found.anchors)
    assert report.ok and report.checkpoints == 1


def test_a_wrong_passphrase_restores_nothing(engine: Engine, empty: Engine, tmp_path: Path) -> None:
    person, port = _person(engine), _port(engine)
    _crossing(engine, person, port)
    KeyStore(tmp_path / "var", "LS").ensure(clock.now())
    backup.backup(engine, tmp_path / "var", "LS", tmp_path / "b.tar", PASSPHRASE)
    restored_var = tmp_path / "restored-var"
    out = subprocess.run(
        [sys.executable, "-m", "tsela.cli.main", "restore", str(tmp_path / "b.tar")],
        env={
            **os.environ,
            "TSELA_VAR_DIR": str(restored_var),
            "TSELA_DATABASE_URL": db_url(empty, _schema(engine)),
            "TSELA_BACKUP_PASSPHRASE": "not the passphrase",
        },
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2
    assert "wrong passphrase" in out.stderr and "nothing was restored" in out.stderr
    assert "Traceback" not in out.stderr
    assert inspect(empty).get_table_names() == []
    assert not (restored_var / "keys").exists()


def test_restore_refuses_a_database_that_is_not_empty(engine: Engine, tmp_path: Path) -> None:
    backup.backup(engine, tmp_path / "var", "LS", tmp_path / "b.tar", PASSPHRASE)
    with pytest.raises(backup.BackupError, match="the database is not empty"):
        backup.restore(engine, tmp_path / "var", "LS", tmp_path / "b.tar", PASSPHRASE)


def test_a_short_passphrase_is_refused(engine: Engine, tmp_path: Path) -> None:
    with pytest.raises(backup.BackupError, match="at least 12 characters"):
        backup.backup(engine, tmp_path / "var", "LS", tmp_path / "b.tar", "short")
    assert not (tmp_path / "b.tar").exists()


def _signed_permit(engine: Engine, var: Path) -> str:
    """A permit in the database signed with the key of ``var``'s key store."""
    signer = KeyStore(var, "LS").signer(datetime(2026, 3, 2, tzinfo=UTC))
    person = _person(engine)
    with transaction(session_factory(engine)) as s:
        s.add(
            Permit(
                node="LS",
                number="LS-SW-000001",
                person_id=person,
                permit_type="seasonal_work",
                status="issued",
                valid_from=date(2026, 3, 1),
                valid_to=date(2026, 9, 1),
                kid=signer.kid,
                token="x.y.z",
            )
        )
    return signer.kid


def test_missing_keys_with_signed_permits_refuse_to_start(engine: Engine, tmp_path: Path) -> None:
    kid = _signed_permit(engine, tmp_path / "old-var")
    bare = tmp_path / "var"  # restored without var/keys
    with pytest.raises(KeyStoreError, match=f"signed with key\\(s\\) {kid}"):
        require_signing_keys(engine, KeyStore(bare, "LS"))
    env = {**os.environ, "TSELA_VAR_DIR": str(bare), "TSELA_DATABASE_URL": db_url(engine)}
    for args in (
        ["serve", "--port", "1"],
        ["permit", "keys", "rotate"],
        ["permit", "keys", "export"],
        ["permit", "revocations", "export"],
    ):
        out = subprocess.run(
            [sys.executable, "-m", "tsela.cli.main", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.returncode == 2, (args, out.stdout, out.stderr)
        assert "restore the node's keys" in out.stderr
        assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr
    assert not (bare / "keys" / "LS" / "keyset.json").exists()  # no new key made

    from fastapi.testclient import TestClient

    from tsela.api.app import create_app
    from tsela.config import Settings

    settings = Settings(database_url=db_url(engine), node="LS", var_dir=bare)
    with pytest.raises(KeyStoreError), TestClient(create_app(settings, engine)):
        pass
    # With the keys back, it starts.
    require_signing_keys(engine, KeyStore(tmp_path / "old-var", "LS"))
