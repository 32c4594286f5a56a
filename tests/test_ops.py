"""What an operator sees: metrics for Prometheus (one worker and several), request ids in and
out and on JSON log lines, liveness and readiness probes."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine

from _server import free_port
from factories import passport
from tsela.api.app import create_app
from tsela.api.observability import JsonFormatter
from tsela.config import Settings
from tsela.services import audit
from tsela.store.db import make_engine, migrate, session_factory, transaction

LOCAL = ("127.0.0.1", 50000)
OUTSIDE = ("203.0.113.7", 50000)


def _settings(engine: Engine, var: Path, **kw: object) -> Settings:
    return Settings(
        database_url=engine.url.render_as_string(hide_password=False),
        node="ZA",
        var_dir=var,
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture
def local(engine: Engine, tmp_path: Path) -> Iterator[TestClient]:
    """A server seen from its own host (as a Prometheus beside it)."""
    app = create_app(_settings(engine, tmp_path, audit_seal_ms=0), engine)
    with TestClient(app, client=LOCAL) as client:
        yield client


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, tuple(sorted(labels.items()))), 0.0)


def test_checks_latency_and_audit_lag_are_counted(local: TestClient, auth_headers) -> None:  # type: ignore[no-untyped-def]
    officer = auth_headers("border_officer", port="MSU")
    before = local.get("/metrics").text
    body = {"port": "msu", "direction": "entry", "mrz": passport(expiry=date(2040, 5, 1))}
    for _ in range(2):
        assert local.post("/v1/checks", json=body, headers=officer).status_code == 201
    after = local.get("/metrics")
    assert after.status_code == 200
    assert after.headers["content-type"].startswith("text/plain")
    checks = "tsela_checks_total"
    delta = value(after.text, checks, decision="CLEAR", port="MSU") - value(
        before, checks, decision="CLEAR", port="MSU"
    )
    assert delta == 2
    latency = "tsela_http_request_duration_seconds_count"
    labels = {"method": "POST", "route": "/v1/checks", "status": "201"}
    assert value(after.text, latency, **labels) - value(before, latency, **labels) == 2
    # The server here leaves sealing to another: the checks' audit entries wait, and show.
    assert value(after.text, "tsela_audit_unsealed_entries") >= 2
    assert value(after.text, "tsela_audit_oldest_unsealed_age_seconds") >= 0
    pid = str(os.getpid())
    assert value(after.text, "tsela_screening_index_loaded", pid=pid) == 1
    assert value(after.text, "tsela_screening_index_version", pid=pid) == 0  # no lists yet


def test_backdated_audit_entries_show_in_the_metrics(local: TestClient, engine: Engine) -> None:
    from datetime import timedelta

    from tsela.kernel import clock

    with transaction(session_factory(engine)) as s:
        audit.record(s, actor="a", action="check", node="ZA")
    audit.seal_pending(engine)
    with transaction(session_factory(engine)) as s:
        audit.record(s, actor="a", action="check", node="ZA", at=clock.now() - timedelta(days=1))
    text = local.get("/metrics").text
    assert value(text, "tsela_audit_backdated_entries") == 1


def test_metrics_answer_loopback_callers_or_the_token_only(engine: Engine, tmp_path: Path) -> None:
    app = create_app(_settings(engine, tmp_path), engine)
    with TestClient(app, client=OUTSIDE) as outside:
        refused = outside.get("/metrics")
        assert refused.status_code == 403
        assert "TSELA_METRICS_TOKEN" in refused.json()["detail"]
    tokened = create_app(_settings(engine, tmp_path, metrics_token="s3cret-scrape"), engine)
    with TestClient(tokened, client=OUTSIDE) as outside:
        assert outside.get("/metrics").status_code == 403
        wrong = {"Authorization": "Bearer nope"}
        assert outside.get("/metrics", headers=wrong).status_code == 403
        right = {"Authorization": "Bearer s3cret-scrape"}
        assert outside.get("/metrics", headers=right).status_code == 200
    with TestClient(tokened, client=LOCAL) as local:
        assert local.get("/metrics").status_code == 403  # with a token, loopback needs it too


def test_request_ids_in_out_and_on_every_log_line(local: TestClient) -> None:
    lines: list[dict[str, object]] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(json.loads(JsonFormatter().format(record)))

    handler = Keep()
    logger = logging.getLogger("tsela.request")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        given = local.get("/health/live", headers={"X-Request-ID": "lb-7f3a.42"})
        made = local.get("/v1/ports")
        junk = local.get("/health/live", headers={"X-Request-ID": "bad id\twith spaces"})
    finally:
        logger.removeHandler(handler)
    assert given.headers["X-Request-ID"] == "lb-7f3a.42"
    assert re.fullmatch(r"[0-9a-f]{32}", made.headers["X-Request-ID"])
    assert re.fullmatch(r"[0-9a-f]{32}", junk.headers["X-Request-ID"])
    by_id = {line["request_id"]: line for line in lines}
    first = by_id["lb-7f3a.42"]
    assert first["message"] == "request" and first["route"] == "/health/live"
    assert first["status"] == 200 and first["method"] == "GET" and "ms" in first
    assert by_id[made.headers["X-Request-ID"]]["route"] == "/v1/ports"


def test_liveness_and_readiness(local: TestClient, tmp_path: Path) -> None:
    assert local.get("/health/live").json() == {"status": "ok"}
    ready = local.get("/health/ready")
    assert ready.status_code == 200, ready.text
    assert ready.json() == {
        "status": "ready",
        "checks": {"database": "ok", "migrations": "ok", "screening_index": "ok"},
    }
    assert local.get("/health").status_code == 200  # as before


def test_not_ready_when_migrations_are_behind_or_the_database_is_empty(tmp_path: Path) -> None:
    behind = make_engine(f"sqlite:///{tmp_path / 'behind.db'}")
    migrate(behind, "0006_checks")
    app = create_app(_settings(behind, tmp_path), behind)
    with TestClient(app) as client:
        answer = client.get("/health/ready")
        assert answer.status_code == 503
        behind_by = answer.json()["checks"]["migrations"]
        assert behind_by.startswith("not applied: ") and behind_by.endswith("(tsela init)")
        assert "0006_checks" not in behind_by  # what is applied is not named
        assert client.get("/health/live").status_code == 200
    empty = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    with TestClient(create_app(_settings(empty, tmp_path), empty)) as client:
        answer = client.get("/health/ready")
        assert answer.status_code == 503
        assert answer.json()["checks"]["database"].startswith("unreachable or not initialised")


def test_requests_shed_by_admission_control_are_counted() -> None:
    from tsela.api.observability import SHED
    from tsela.api.serve import AdmissionControl

    release = asyncio.Event()

    async def slow(scope, receive, send) -> None:  # type: ignore[no-untyped-def]
        await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    gate = AdmissionControl(slow, limit=1, queue_timeout=0.01)
    statuses: list[int] = []

    async def send(message) -> None:  # type: ignore[no-untyped-def]
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    async def receive():  # type: ignore[no-untyped-def]
        return {"type": "http.request"}

    async def scenario() -> None:
        first = asyncio.create_task(gate({"type": "http"}, receive, send))
        await asyncio.sleep(0)  # the first holds the only turn until released
        await gate({"type": "http"}, receive, send)  # waits 10 ms, then 503
        release.set()
        await first

    before = SHED._value.get()
    # A loop of its own in a thread of its own: a browser test earlier in the same worker may
    # leave Playwright's loop marked as running in this thread.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, scenario()).result()
    assert statuses == [503, 200]
    assert SHED._value.get() - before == 1


def test_metrics_sum_every_worker(tmp_path: Path) -> None:
    """``tsela serve --workers 2``: whichever worker answers the scrape counts every
    worker's requests (multiprocess mode), and logs are JSON lines with request ids."""
    env = {
        **os.environ,
        "TSELA_VAR_DIR": str(tmp_path / "var"),
        "TSELA_DATABASE_URL": f"sqlite:///{tmp_path / 'var' / 'tsela.db'}",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    subprocess.run([sys.executable, "-m", "tsela.cli.main", "init"], env=env, check=True)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "tsela.cli.main", "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/health/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        else:
            pytest.fail("the server did not become ready")
        # New connections each time: the kernel spreads them over both workers.
        for _ in range(40):
            assert httpx.get(f"{base}/health/live", timeout=5).status_code == 200
        text = httpx.get(f"{base}/metrics", timeout=5).text
        count = value(
            text,
            "tsela_http_request_duration_seconds_count",
            method="GET",
            route="/health/live",
            status="200",
        )
        assert count == 40
    finally:
        server.terminate()
        _, err = server.communicate(timeout=30)
    assert (tmp_path / "var" / "metrics").is_dir()
    logged = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    requests = [line for line in logged if line.get("route") == "/health/live"]
    assert len(requests) == 40
    assert all(re.fullmatch(r"[0-9a-f]{32}", str(line["request_id"])) for line in requests)


SCRIPT = Path(__file__).parent.parent / "scripts" / "bootstrap-test.sh"


def test_bootstrap_names_what_is_missing_in_one_line(tmp_path: Path) -> None:
    """A machine without poppler-utils, where installing is not allowed: one line naming it
    (and nothing else missing is named)."""
    import shutil

    tools = tmp_path / "bin"
    tools.mkdir()
    for name in (
        "bash",
        "id",
        "ls",
        "sort",
        "tail",
        "sed",
        "seq",
        "sleep",
        "psql",
        "pg_isready",
        "pg_dump",
        "pg_restore",
        "pg_ctlcluster",
        "chromium",
    ):
        found = shutil.which(name)
        if found is None:
            pytest.skip(f"{name} not on this machine")
        (tools / name).symlink_to(found)
    out = subprocess.run(
        [str(tools / "bash"), str(SCRIPT)],
        env={"PATH": str(tools), "TSELA_BOOTSTRAP_INSTALL": "0"},
        capture_output=True,
        text=True,
    )
    assert out.returncode == 1
    assert out.stderr.strip().splitlines() == [
        "bootstrap-test: missing: poppler-utils (install them, e.g. sudo apt-get install "
        "poppler-utils; then run make test again)"
    ]


def test_bootstrap_is_quiet_when_everything_is_there() -> None:
    if os.environ.get("TSELA_TEST_PG_URL"):
        pytest.skip("the tests use another PostgreSQL")
    out = subprocess.run(
        ["bash", str(SCRIPT)],
        env={**os.environ, "TSELA_BOOTSTRAP_INSTALL": "0"},
        capture_output=True,
        text=True,
    )
    assert (out.returncode, out.stdout, out.stderr) == (0, "", "")
