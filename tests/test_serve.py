"""Serving: admission control (a bound on requests in progress, a wait, then 503), TCP_NODELAY
on multi-worker connections, and `tsela serve --workers 2` answering as a real process."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from _loop import run_async
from _server import READY_TIMEOUT, free_port, wait_ready
from tsela.api.serve import RETRY_AFTER_S, AdmissionControl, listening_socket
from tsela.config import ConfigError, load_settings


def _slow_app() -> tuple[Any, asyncio.Event, list[int]]:
    release = asyncio.Event()
    started = [0]

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        started[0] += 1
        await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"done"})

    return app, release, started


def test_requests_past_the_bound_wait_their_turn() -> None:
    async def scenario() -> tuple[list[int], int]:
        app, release, started = _slow_app()
        admission = AdmissionControl(app, limit=3, queue_timeout=5.0)
        transport = httpx.ASGITransport(app=admission)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            calls = [asyncio.create_task(client.get("/v1/checks")) for _ in range(5)]
            while started[0] < 3:
                await asyncio.sleep(0.001)
            await asyncio.sleep(0.05)
            waiting_then = started[0]  # two must wait while three are in progress
            release.set()
            answers = await asyncio.gather(*calls)
        return [r.status_code for r in answers], waiting_then

    statuses, started_while_full = run_async(scenario())
    assert started_while_full == 3
    assert statuses == [200] * 5  # nothing refused when turns come within the wait


def test_requests_that_wait_too_long_get_503_and_never_reach_the_app() -> None:
    async def scenario() -> tuple[list[httpx.Response], httpx.Response, httpx.Response, int]:
        app, release, started = _slow_app()
        admission = AdmissionControl(app, limit=2, queue_timeout=0.1)
        transport = httpx.ASGITransport(app=admission)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            held = [asyncio.create_task(client.get("/v1/checks")) for _ in range(2)]
            while started[0] < 2:
                await asyncio.sleep(0.001)
            refused = await client.get("/v1/checks")  # waits 0.1 s, then 503
            release.set()
            served = await asyncio.gather(*held)
            after = await client.get("/v1/checks")  # room again once they finished
        assert admission.shed == 1 and admission.in_flight == 0
        return served, refused, after, started[0]

    served, refused, after, started = run_async(scenario())
    assert [r.status_code for r in served] == [200, 200]
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == str(RETRY_AFTER_S)
    assert "busy" in refused.json()["detail"]
    assert after.status_code == 200
    assert started == 3  # the refused request never reached the application


def test_the_in_flight_bound_comes_from_the_environment() -> None:
    assert load_settings({}).max_in_flight == 16
    assert load_settings({"TSELA_QUEUE_TIMEOUT_MS": "250"}).queue_timeout_ms == 250
    assert load_settings({"TSELA_MAX_IN_FLIGHT": "0"}).max_in_flight == 0
    with pytest.raises(ConfigError, match="TSELA_MAX_IN_FLIGHT must be a whole number"):
        load_settings({"TSELA_MAX_IN_FLIGHT": "lots"})


def test_connections_on_the_listening_socket_get_tcp_nodelay() -> None:
    """asyncio sets TCP_NODELAY only on sockets made with proto=IPPROTO_TCP; without it every
    keep-alive answer of a multi-worker server waits for the client's delayed ACK."""
    sock = listening_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    seen: list[int] = []

    async def scenario() -> None:
        def handle(_r: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            accepted = writer.get_extra_info("socket")
            seen.append(accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(handle, sock=sock)
        async with server:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            for _ in range(200):
                if seen:
                    break
                await asyncio.sleep(0.01)
            writer.close()

    run_async(scenario())
    assert seen and seen[0] != 0


def test_serve_with_two_workers(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "TSELA_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
        "TSELA_VAR_DIR": str(tmp_path),
    }
    subprocess.run(
        [sys.executable, "-m", "tsela.cli.main", "init"], env=env, check=True, capture_output=True
    )
    cmd = [sys.executable, "-m", "tsela.cli.main", "serve", "--port", str(port), "--workers", "2"]
    log = (tmp_path / "server.log").open("wb")
    proc = subprocess.Popen(
        cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        wait_ready(f"http://127.0.0.1:{port}", proc, log=tmp_path / "server.log")
        deadline = time.monotonic() + READY_TIMEOUT
        answers: list[int] = []
        while time.monotonic() < deadline and len(answers) < 10:
            with contextlib.suppress(httpx.HTTPError):
                # A new connection each time, so both workers get to answer.
                answers.append(
                    httpx.get(f"http://127.0.0.1:{port}/v1/ports", timeout=5).status_code
                )
            time.sleep(0.1)
        assert answers == [200] * 10
        ports = httpx.get(f"http://127.0.0.1:{port}/v1/ports", timeout=5).json()
        assert any(p["code"] == "MSU" for p in ports)
        # The second worker may still be starting on a busy machine: wait for it (bounded).
        while (
            time.monotonic() < deadline
            and (tmp_path / "server.log").read_text().count("Started server process") < 2
        ):
            time.sleep(0.2)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)
    text = (tmp_path / "server.log").read_text()
    assert "2 worker(s)" in text
    assert text.count("Started server process") == 2, text[-2000:]
    # Each worker says when it was ready, and how long after its process started.
    assert text.count("ready: screening index of 0 entries loaded, ") == 2, text[-2000:]
