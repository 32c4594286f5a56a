"""Faults with real processes: a `tsela serve` process killed with SIGKILL mid-load, its
PostgreSQL crashed and restarted mid-load, a synchronous standby promoted after the primary is
lost mid-load, the port client's disk full while it queues.

After each: every crossing the server accepted is recorded exactly once, the audit chain
verifies (`tsela audit verify`), and the server recovered by itself (nobody repaired
anything; the test only starts the process again after a kill, as a supervisor would). The
recovery time is printed, never asserted: it depends on the machine.

The database faults use clusters of their own (initdb/pg_ctl on other ports, in a temporary
directory; as the postgres account when run as root), never the shared one other tests use;
the disk-full test mounts a small tmpfs (root). Each is skipped, saying why, where the machine
does not allow it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import OperationalError

import factories
from _server import READY_TIMEOUT, ServerProcess, free_port
from tsela.services.accounts import create_user, issue_api_token
from tsela.store.db import make_engine, session_factory, transaction
from tsela.store.models import Crossing, Role

pytestmark = pytest.mark.slow

# Generous bounds, never reached on a working system (a run takes well under a minute): the
# machine may be busy with other tests, and a restarted server must first start.
READY_WITHIN_S = 180.0  # a PostgreSQL cluster answers within this long
LOAD_WITHIN_S = 240.0  # a request is answered (retries included) within this long
PG_URL = os.environ.get("TSELA_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def passport(i: int) -> str:
    return factories.passport(
        f"FT{i:07d}",
        surname="FAULT",
        given=f"TRAVELLER {chr(65 + i % 26)}{chr(65 + i // 26 % 26)}",
        birth=date(1985, 1, 1),
        expiry=date(2036, 1, 1),
        sex="M",
    )


def kill_hard(server: ServerProcess) -> None:
    """SIGKILL the server's whole process group: no shutdown, whatever was in flight is cut."""
    assert server.proc is not None
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.proc.pid, signal.SIGKILL)
    server.proc.wait(READY_TIMEOUT)
    server.proc = None


def tsela(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tsela.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=READY_TIMEOUT,
    )


def tail(server: ServerProcess) -> str:
    return server.log.read_text(errors="replace")[-3000:] if server.log.exists() else ""


def prepare(env: dict[str, str], url: str) -> str:
    """Initialise the database (`tsela init`) and make a border officer at MSU; its token."""
    done = tsela(env, "init")
    assert done.returncode == 0, done.stdout + done.stderr
    engine = make_engine(url)
    try:
        with transaction(session_factory(engine)) as s:
            officer = create_user(
                s,
                node="LS",
                username="faults",
                password="correct horse 1",
                role=Role.BORDER_OFFICER,
                port_code="MSU",
            )
            return issue_api_token(s, officer, label="faults")
    finally:
        engine.dispose()


@dataclass
class Load:
    """A border desk at work: check a traveller, record the crossing with an Idempotency-Key;
    retry on a lost connection or a 5xx (the same key for the same crossing) until answered."""

    url: str
    token: str
    accepted: dict[str, str] = field(default_factory=dict)  # Idempotency-Key -> crossing id
    retries: int = 0
    failure: str | None = None
    stop: threading.Event = field(default_factory=threading.Event)

    def _send(self, path: str, body: dict[str, object], key: str | None = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}"}
        if key:
            headers["Idempotency-Key"] = key
        deadline = time.monotonic() + LOAD_WITHIN_S
        while time.monotonic() < deadline:
            try:
                answer = httpx.post(self.url + path, json=body, headers=headers, timeout=10)
                if answer.status_code < 500:
                    return answer
            except httpx.TransportError:
                pass
            self.retries += 1
            time.sleep(0.1)
        raise TimeoutError(f"{path}: no answer within {LOAD_WITHIN_S} s")

    def run(self, travellers: int) -> None:
        try:
            for i in range(travellers):
                if self.stop.is_set():
                    return
                check = self._send(
                    "/v1/checks", {"port": "MSU", "direction": "entry", "mrz": passport(i)}
                )
                assert check.status_code == 201, check.text
                key = f"fault-{i}"
                body = {
                    "check_id": check.json()["check_id"],
                    "override_reason": "recorded by the fault test after the officer's review",
                }
                crossing = self._send("/v1/crossings", body, key)
                assert crossing.status_code in (200, 201), crossing.text
                self.accepted[key] = crossing.json()["crossing_id"]
        except Exception as exc:  # reported by the test, in the main thread
            self.failure = f"{type(exc).__name__}: {exc}"

    def until(self, count: int) -> None:
        deadline = time.monotonic() + LOAD_WITHIN_S
        while len(self.accepted) < count and self.failure is None:
            assert time.monotonic() < deadline, "the load made no progress"
            time.sleep(0.05)


def run_with_fault(
    server: ServerProcess, token: str, fault: Callable[[], float]
) -> tuple[Load, float]:
    """Load the server with 40 travellers, calling ``fault`` after the 10th crossing; the
    fault returns when it is over, with the moment it began (time.monotonic()). Answers
    the load and the seconds from the fault's start to the first crossing accepted after."""
    load = Load(server.url, token)
    worker = threading.Thread(target=load.run, args=(40,), daemon=True)
    worker.start()
    try:
        load.until(10)
        assert load.failure is None, load.failure
        began = fault()
        before = len(load.accepted)
        load.until(before + 1)
        recovered = time.monotonic() - began
        worker.join(LOAD_WITHIN_S * 2)
    finally:
        load.stop.set()
    assert load.failure is None, f"{load.failure}\n{tail(server)}"
    assert len(load.accepted) == 40
    return load, recovered


def assert_exactly_once(url: str, accepted: dict[str, str]) -> None:
    engine = make_engine(url)
    try:
        with session_factory(engine)() as s:
            rows = s.execute(select(Crossing.idempotency_key, Crossing.id)).all()
            total = s.scalar(select(func.count()).select_from(Crossing))
    finally:
        engine.dispose()
    recorded: dict[str, list[str]] = {}
    for key, crossing_id in rows:
        recorded.setdefault(key, []).append(str(crossing_id))
    assert {k: [v] for k, v in accepted.items()} == {k: recorded.get(k) for k in accepted}
    assert total == len(accepted)  # and nothing else (no crossing from a lost answer's retry)


def assert_audit_verifies(server: ServerProcess) -> None:
    done = tsela(server.env, "audit", "verify")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "chain verified" in done.stdout


def state(request: pytest.FixtureRequest, what: str, seconds: float, retries: int) -> None:
    """Say how long recovery took: printed, and listed at the end of the run (conftest)."""
    said = f"{what}: recovered in {seconds:.1f} s ({retries} retries by the client)"
    print(f"\n{said}")
    request.node.user_properties.append(("recovery", said))


# --- kill -9 the server mid-load (PostgreSQL) ---------------------------------------------


@pytest.fixture
def pg_database() -> Iterator[str]:
    """A database of its own on the shared PostgreSQL (a server process cannot be given a
    schema), dropped afterwards."""
    name = f"tsela_faults_{os.getpid()}_{int(time.time())}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        admin.dispose()
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}: {exc.orig}")
    try:
        yield PG_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def server_env(url: str, var: Path) -> dict[str, str]:
    return {**os.environ, "TSELA_DATABASE_URL": url, "TSELA_VAR_DIR": str(var), "TSELA_NODE": "LS"}


@pytest.mark.postgres
def test_server_killed_mid_load_loses_and_duplicates_nothing(
    pg_database: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    env = server_env(pg_database, tmp_path)
    token = prepare(env, pg_database)
    server = ServerProcess(env, tmp_path / "server.log")
    server.start()
    try:

        def kill_and_restart() -> float:
            began = time.monotonic()
            kill_hard(server)
            server.start()  # as a supervisor (systemd, a container) would; waits until ready
            return began

        load, recovered = run_with_fault(server, token, kill_and_restart)
        assert_exactly_once(pg_database, load.accepted)
        assert_audit_verifies(server)
        state(request, "server killed (SIGKILL) and restarted", recovered, load.retries)
    finally:
        server.stop()


# --- PostgreSQL restarted mid-load (a cluster of the test's own) --------------------------


def _pg_bin() -> Path | None:
    for found in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (found / "initdb").exists():
            return found
    which = shutil.which("initdb")
    return Path(which).parent if which else None


class Cluster:
    """A PostgreSQL cluster of its own, on a free port, in a temporary directory."""

    def __init__(self, root: Path, name: str = "data") -> None:
        binaries = _pg_bin()
        if binaries is None:
            pytest.skip("initdb/pg_ctl not found: cannot make a PostgreSQL cluster of our own")
        self.bin = binaries
        self.root = root
        self.data = root / name
        self.name = name
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        # PostgreSQL refuses to run as root: run it as the postgres account then.
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            if shutil.which("runuser") is None:
                pytest.skip("running as root without runuser: cannot start PostgreSQL")
            self.as_user = ["runuser", "-u", "postgres", "--"]
            root.chmod(0o777)
            shutil.chown(root, "postgres")

    def run(self, *args: str) -> None:
        done = subprocess.run(
            [*self.as_user, *args], capture_output=True, text=True, timeout=READY_WITHIN_S
        )
        assert done.returncode == 0, done.stdout + done.stderr

    def init(self) -> None:
        self.run(str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres")

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=on"
        self.run(
            str(self.bin / "pg_ctl"), "-D", str(self.data),
            "-l", str(self.root / f"{self.name}.log"),
            "-o", options, "-w", "-t", str(int(READY_WITHIN_S)), "start",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self.run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def standby_of(self, primary: Cluster) -> None:
        """Become a streaming-replication standby of ``primary`` (a base backup of it)."""
        self.run(
            str(self.bin / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary.port),
            "-U", "postgres", "-D", str(self.data), "-R", "-X", "stream",
        )  # fmt: skip

    def promote(self) -> None:
        self.run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-w", "promote")

    def sql(self, statement: str) -> list[tuple[object, ...]]:
        engine = create_engine(self.url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                result = conn.execute(text(statement))
                return [tuple(r) for r in result] if result.returns_rows else []
        finally:
            engine.dispose()


@pytest.fixture
def cluster_root() -> Iterator[Path]:
    # Not under pytest's tmp_path: its parents are private to root, and the clusters may run
    # as the postgres account.
    root = Path(tempfile.mkdtemp(prefix="tsela-faults-pg-"))
    try:
        yield root
    finally:
        for data in root.glob("*/postmaster.pid"):
            with contextlib.suppress(AssertionError):
                Cluster(root, data.parent.name).stop("immediate")
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def cluster(cluster_root: Path) -> Cluster:
    own = Cluster(cluster_root)
    own.init()
    own.start()
    return own


@pytest.mark.postgres
def test_database_restarted_mid_load_loses_and_duplicates_nothing(
    cluster: Cluster, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    env = server_env(cluster.url, tmp_path)
    token = prepare(env, cluster.url)
    server = ServerProcess(env, tmp_path / "server.log")
    server.start()
    try:

        def crash_and_restart_database() -> float:
            began = time.monotonic()
            cluster.stop("immediate")  # as a crash: no checkpoint, recovery from the WAL
            time.sleep(1.0)  # the desk keeps trying meanwhile
            cluster.start()
            return began

        load, recovered = run_with_fault(server, token, crash_and_restart_database)
        assert server.running()  # never restarted
        assert_exactly_once(cluster.url, load.accepted)
        assert_audit_verifies(server)
        state(request, "PostgreSQL crashed and restarted", recovered, load.retries)
    finally:
        server.stop()


# --- the port client's disk full while it queues ------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real filesystem of 32 MiB (tmpfs), so that a write can really fail with ENOSPC."""
    where = tmp_path / "port"
    where.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=32m,mode=0755", "tmpfs", str(where)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def fill(disk: Path) -> Path:
    """Fill the filesystem to the last byte; the file that did it."""
    filler = disk / "filler"
    chunk = b"\0" * 65536
    with filler.open("wb", buffering=0) as out:
        with contextlib.suppress(OSError):
            while True:
                out.write(chunk)
        with contextlib.suppress(OSError):
            while True:
                out.write(b"\0")
    assert shutil.disk_usage(disk).free < 4096
    return filler


def test_port_client_disk_full_while_queueing_loses_nothing(
    small_disk: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    from tsela.port.client import DiskFull, PortClient

    url = f"sqlite:///{tmp_path / 'central.db'}"
    env = server_env(url, tmp_path / "var")
    token = prepare(env, url)
    server = ServerProcess(env, tmp_path / "server.log")
    server.start()
    client: PortClient | None = None
    try:
        client = PortClient(small_disk, server=server.url, token=token, port="MSU", timeout=5)
        client.sync()
        server.stop()  # the link is down: the client checks and queues locally

        reason = "recorded offline by the fault test after the officer's review"
        queued = []
        for i in range(5):
            done = client.check(direction="entry", mrz=passport(100 + i), override_reason=reason)
            assert (done.online, done.queued) == (False, True)
            queued.append(done.idempotency_key)

        filler = fill(small_disk)
        with pytest.raises(DiskFull) as refused:
            client.check(direction="entry", mrz=passport(200), override_reason=reason)
        print(f"\nport client, disk full: {refused.value}")
        assert client.pending() == 5  # what was queued before is still there
        # What the operator reads, in words, not SQLite's: what happened, that nothing queued
        # is lost, and what to do; in the operator's language.
        said = refused.value.in_language("en")
        assert said.startswith("The disk of this port computer is full")
        assert "the crossing of this traveller was NOT recorded" in said
        assert "Nothing already queued is lost (5 crossing(s) wait to be uploaded)" in said
        assert f"Free space on the disk that holds {small_disk}" in said
        assert "then check this traveller again" in said
        assert "sqlite" not in said.lower() and "sqlalchemy" not in said.lower()
        sesotho = refused.value.in_language("st")
        assert "Disk ea k'homphieutha ena ea heke ea moeli e tletse" in sesotho
        assert "ho tšela ha moeti enoa HA hoa ngoloa" in sesotho
        assert "Ha ho letho le neng le se le le moleng le lahlehileng" in sesotho
        assert f"Lokolla sebaka ho disk e nang le {small_disk}" in sesotho
        # The same through `tsela port check`, as the officer runs it (the server is down).
        command = [sys.executable, "-m", "tsela.cli.main", "port", "check", "--direction"]
        command += ["entry", "--override-reason", reason, *passport(300).split("\n")]
        for lang, words in (("en", said), ("st", sesotho)):
            cli = subprocess.run(
                command,
                capture_output=True,
                text=True,
                timeout=300,
                env={
                    **os.environ,
                    "TSELA_SERVER": server.url,
                    "TSELA_PORT_TOKEN": token,
                    "TSELA_PORT": "MSU",
                    "TSELA_PORT_HOME": str(small_disk),
                    "TSELA_PORT_LANG": lang,
                    "COLUMNS": "400",
                },
            )
            print(f"tsela port check --lang {lang}: {cli.stderr.strip()}")
            assert cli.returncode == 2, cli.stderr
            assert " ".join(cli.stderr.split()) == f"error: {words}"
            assert "Traceback" not in cli.stderr
        assert client.pending() == 5
        with session_factory(client.engine)() as s:  # the local copy kept nothing either
            assert s.scalar(select(func.count()).select_from(Crossing)) == 5

        filler.unlink()  # the officer frees space; the client goes on by itself
        began = time.monotonic()
        done = client.check(direction="entry", mrz=passport(201), override_reason=reason)
        assert (done.online, done.queued) == (False, True)
        queued.append(done.idempotency_key)

        server.start()  # the link returns
        report = client.upload()
        state(request, "port client's disk full, space freed", time.monotonic() - began, 0)
        assert (report.sent, report.refused, report.left) == (len(queued), 0, 0), report
        answers = dict(client.queue.execute("SELECT idempotency_key, answer FROM queue").fetchall())
        assert sorted(answers) == sorted(queued)  # the refused check queued nothing
        accepted = {key: json.loads(answers[key])["crossing_id"] for key in queued}
        assert_exactly_once(url, accepted)
        assert_audit_verifies(server)
    finally:
        if client is not None:
            client.close()
        server.stop()


# --- a streaming-replication standby promoted while checks run ----------------------------


@pytest.mark.postgres
def test_standby_promoted_mid_load_loses_and_duplicates_nothing(
    cluster_root: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """The primary crashes; its standby is promoted; the server, given both hosts in its
    database URL (libpq's ``target_session_attrs=read-write`` picks the one that takes
    writes), goes on by itself. Replication is synchronous: a crossing the server confirmed
    is on the standby too, so the promotion loses none (asynchronous replication can lose the
    last commits: run the replica synchronous where a crossing must never be lost)."""
    primary = Cluster(cluster_root, "primary")
    primary.init()
    primary.start()
    standby = Cluster(cluster_root, "standby")
    standby.standby_of(primary)
    standby.start()
    primary.sql("ALTER SYSTEM SET synchronous_standby_names = '*'")
    primary.sql("SELECT pg_reload_conf()")
    deadline = time.monotonic() + READY_WITHIN_S  # the reload takes effect a moment later
    while primary.sql("SELECT sync_state FROM pg_stat_replication") != [("sync",)]:
        assert time.monotonic() < deadline, "the standby never became synchronous"
        time.sleep(0.1)

    both = (
        "postgresql+psycopg://postgres@/postgres"
        f"?host=127.0.0.1:{primary.port}&host=127.0.0.1:{standby.port}"
        "&target_session_attrs=read-write"
    )
    env = server_env(both, tmp_path)
    token = prepare(env, both)
    server = ServerProcess(env, tmp_path / "server.log")
    server.start()
    try:

        def fail_over() -> float:
            began = time.monotonic()
            primary.stop("immediate")  # the primary's machine is gone
            standby.promote()  # what the operator (or a failover manager) does
            return began

        load, recovered = run_with_fault(server, token, fail_over)
        assert server.running()  # never restarted
        assert standby.sql("SELECT pg_is_in_recovery()") == [(False,)]
        assert_exactly_once(standby.url, load.accepted)
        assert_audit_verifies(server)
        state(request, "primary lost, standby promoted", recovered, load.retries)
    finally:
        server.stop()
