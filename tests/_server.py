"""Real Tsela server processes for tests: started, waited for, stopped.

A server is ready when it answers; how long that takes depends on the machine (two cores
shared with other test runs can make a start-up take tens of seconds), so the wait polls
with a generous bound and fails at once, with the server's own output, if the process dies.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import httpx

READY_TIMEOUT = 120.0  # seconds: a bound for a stuck server, never a speed requirement


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tail(log: Path | None, chars: int = 4000) -> str:
    if log is None or not log.exists():
        return "(no output kept)"
    return log.read_text(errors="replace")[-chars:]


def wait_ready(
    url: str,
    proc: subprocess.Popen[bytes],
    *,
    log: Path | None = None,
    timeout: float = READY_TIMEOUT,
    ready: Callable[[int], bool] = lambda status: status == 200,
    path: str = "/health",
) -> None:
    """Poll ``url + path`` until ``ready(status)``; raise with the server's output if the
    process exits first or the bound passes."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(
                f"the Tsela server at {url} exited with {proc.returncode} before it was ready:"
                f"\n{_tail(log)}"
            )
        try:
            if ready(httpx.get(url + path, timeout=10).status_code):
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"the Tsela server at {url} was not ready within {timeout:.0f} s:\n{_tail(log)}"
            )
        time.sleep(0.2)


class ServerProcess:
    """``tsela serve`` in its own process, on a port of its own that survives restarts.

    Its output goes to ``log`` (a file, not a pipe nobody reads, which would stall a chatty
    server once the pipe is full).
    """

    def __init__(self, env: Mapping[str, str], log: Path, *, port: int | None = None) -> None:
        self.env = {**os.environ, **env}
        self.log = log
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, healthy: bool = True) -> None:
        """Start and wait until it answers: ``/health`` with 200, or (``healthy=False``, for a
        server whose database is away on purpose) with any HTTP answer at all."""
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "tsela.cli.main", "serve", "--port", str(self.port)],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            wait_ready(
                self.url,
                self.proc,
                log=self.log,
                ready=(lambda s: s == 200) if healthy else (lambda _s: True),
            )
        except RuntimeError:
            self.stop()
            raise

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        """Stop it and wait until it has gone (its port is free again for a restart)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=READY_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None
