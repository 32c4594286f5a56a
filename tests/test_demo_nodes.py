"""``tsela demo`` with both nodes (issue 16, item 7), as a person runs it, in a temporary
directory: the set-up makes each node's database, node key, TLS certificate and trust
anchor; two server processes serve; an exit from Lesotho is matched with the entry into
South Africa once each side has pulled the other's feed; a South African verifier accepts
the Lesotho permit the demo names; Ctrl-C stops both; a second set-up keeps everything.

Every wait is on a condition, with a generous bound (a loaded machine is slow), never a sleep
standing in for one.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from _server import free_port
from tsela.kernel import clock

SETUP_TIMEOUT = 900.0  # the first set-up generates two populations and starts two servers
WAIT = 180.0  # for a batch to cross: pulled every second, but a loaded machine is slow
PASSWORD = "tsela-demo-2026"

pytestmark = pytest.mark.slow


@dataclass
class Demo:
    var: Path
    proc: subprocess.Popen[bytes]
    out: Path
    ls: str
    za: str
    args: list[str]

    def text(self) -> str:
        return self.out.read_text(errors="replace")


def _wait(what: str, ok: Callable[[], Any], demo: Demo, timeout: float = WAIT) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(httpx.HTTPError):
            found = ok()
            if found:
                return found
        if demo.proc.poll() is not None:
            raise AssertionError(f"tsela demo exited ({demo.proc.returncode}):\n{demo.text()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s\n{demo.text()[-3000:]}")
        time.sleep(0.3)


@pytest.fixture
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    var = tmp_path_factory.mktemp("demo") / "var"
    ports = [free_port() for _ in range(4)]
    args = [
        "--persons", "60",
        "--port", str(ports[0]), "--za-port", str(ports[1]),
        "--exchange-port", str(ports[2]), "--za-exchange-port", str(ports[3]),
    ]  # fmt: skip
    out = var.parent / "demo.out"
    with out.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tsela.cli.main", "demo", *args],
            env={**os.environ, "TSELA_VAR_DIR": str(var), "COLUMNS": "200"},
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a signal for it alone, as from a terminal
        )
    running = Demo(
        var, proc, out, f"http://127.0.0.1:{ports[0]}", f"http://127.0.0.1:{ports[1]}", args
    )
    try:
        _wait("both nodes running", lambda: "Both nodes are running" in running.text(),
              running, SETUP_TIMEOUT)  # fmt: skip
        yield running
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)  # it stops its two servers
            try:
                proc.wait(120)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


def _token(base: str, user: str) -> dict[str, str]:
    answer = httpx.post(
        base + "/v1/auth/login", json={"username": user, "password": PASSWORD}, timeout=60
    )
    answer.raise_for_status()
    return {"Authorization": "Bearer " + answer.json()["access_token"]}


def _check_and_record(base: str, officer: dict[str, str], **body: str) -> tuple[dict, str]:  # type: ignore[type-arg]
    check = httpx.post(base + "/v1/checks", json=body, headers=officer, timeout=60)
    assert check.status_code == 201, check.text
    found = check.json()
    assert found["decision"] == "CLEAR", found["reasons"]
    recorded = httpx.post(
        base + "/v1/crossings",
        json={"check_id": found["check_id"]},
        headers={**officer, "Idempotency-Key": str(uuid.uuid4())},
        timeout=60,
    )
    assert recorded.status_code == 201, recorded.text
    return found, recorded.json()["crossing_id"]


def _report(base: str, supervisor: dict[str, str], day: str) -> dict:  # type: ignore[type-arg]
    answer = httpx.get(
        base + f"/v1/exchange/matching?port=MSU&day={day}", headers=supervisor, timeout=60
    )
    answer.raise_for_status()
    return answer.json()


def _set_up_made_both_nodes_and_their_trust(demo: Demo) -> None:
    for node in ("ls", "za"):
        code = node.upper()
        assert (demo.var / node / "tsela.db").stat().st_size > 0
        for name in ("node-keys.json", "tls.pem", "tls-key.pem"):
            assert (demo.var / node / "exchange" / code / name).exists(), (node, name)
        anchor = json.loads((demo.var / node / "anchor.json").read_text())
        assert anchor["node"] == code and anchor["endpoint"].startswith("https://127.0.0.1:")
    text = demo.text()
    assert "Lesotho trusts South Africa: trusted" in text
    assert "South Africa trusts Lesotho: trusted" in text
    for what in ("(a) An exit from Lesotho", "(b) A passport reported stolen", "(c) A Lesotho"):
        assert what in text
    for base in (demo.ls, demo.za):
        assert httpx.get(base + "/health", timeout=30).json()["status"] == "ok"


def _an_exit_from_lesotho_is_matched_with_the_entry_into_south_africa(demo: Demo) -> None:
    text = demo.text()
    live = re.search(r"Exit, document number (\w+), issuing state (\w+)", text)
    assert live is not None, text
    number, state = live.groups()
    ls_officer, za_officer = _token(demo.ls, "officer"), _token(demo.za, "officer")
    za_supervisor, ls_supervisor = _token(demo.za, "supervisor"), _token(demo.ls, "supervisor")
    left, exit_id = _check_and_record(
        demo.ls, ls_officer, port="MSU", direction="exit", document_number=number,
        issuing_state=state,
    )  # fmt: skip
    border_day = clock.border_day(datetime.fromisoformat(left["checked_at"])).isoformat()
    # South Africa pulls Lesotho's feed: the exit is there, waiting for its entry.
    pending = _wait(
        "the exit on the South African node",
        lambda: [
            i for i in _report(demo.za, za_supervisor, border_day)["items"] if i["id"] == exit_id
        ],
        demo,
    )
    assert pending[0]["outcome"] == "pending" and pending[0]["node"] == "LS"
    before = _report(demo.za, za_supervisor, border_day)["lines"][0]["matched"]
    declared = re.search(r"pre-arrival declaration (\w{4}-\w{4})", text)
    assert declared is not None, text
    entered, entry_id = _check_and_record(
        demo.za, za_officer, port="MSU", direction="entry", document_number=number,
        issuing_state=state, declaration=declared.group(1),
    )  # fmt: skip
    # The declaration made at set-up, as a traveller would, shows on the officer's result.
    assert entered["declaration"]["reference"] == declared.group(1)
    assert (entered["declaration"]["purpose"], entered["declaration"]["stay_days"]) == ("family", 5)
    other_side = entered["partner_crossing"]
    assert other_side is not None and other_side["id"] == exit_id
    assert other_side["summary"].startswith("left Lesotho at Maseru Bridge")
    after = _report(demo.za, za_supervisor, border_day)
    assert after["lines"][0]["matched"] == before + 1
    assert exit_id not in {i["id"] for i in after["items"]}
    # Lesotho pulls South Africa's feed: the same pair is matched there too.
    _wait(
        "the entry on the Lesotho node",
        lambda: (
            exit_id not in {i["id"] for i in _report(demo.ls, ls_supervisor, border_day)["items"]}
        ),
        demo,
    )
    status = httpx.get(demo.ls + "/v1/exchange/status", headers=ls_supervisor, timeout=60).json()
    (za,) = status["partners"]
    assert za["partner"] == "ZA" and za["last_error_code"] is None and za["applied"] >= 1
    assert entry_id  # recorded on the South African node


def _a_passport_reported_stolen_in_maseru_is_refused_at_ficksburg(demo: Demo) -> None:
    stolen = re.search(
        r"as (\w+) \(Ficksburg Bridge\): Entry, document number (\w+), issuing state (\w+)",
        demo.text(),
    )
    assert stolen is not None, demo.text()
    user, number, state = stolen.groups()
    body = {"port": "FKB", "direction": "entry", "document_number": number,
            "issuing_state": state}  # fmt: skip
    ficksburg = _token(demo.za, user)

    def refused() -> dict | None:  # type: ignore[type-arg]
        answer = httpx.post(demo.za + "/v1/checks", json=body, headers=ficksburg, timeout=60)
        assert answer.status_code == 201, answer.text
        found = answer.json()
        return found if found["decision"] == "DENY" else None  # Lesotho's alert has arrived

    found = _wait("Lesotho's stolen-passport report on the South African node", refused, demo)
    codes = [r["code"] for r in found["reasons"]]
    assert "document.stolen.reported_by_ls" in codes, found["reasons"]
    # In Lesotho the same passport is refused by the list itself.
    at_home = httpx.post(
        demo.ls + "/v1/checks",
        json={**body, "port": "MSU", "direction": "exit"},
        headers=_token(demo.ls, "officer"),
        timeout=60,
    )
    assert at_home.status_code == 201, at_home.text
    assert at_home.json()["decision"] == "DENY"
    assert "document.stolen" in [r["code"] for r in at_home.json()["reasons"]]


def _the_lesotho_permit_verifies_on_the_south_african_node(demo: Demo) -> None:
    permit = re.search(r"paste the text of (\S+) \(permit (\S+) \((\w+)\)", demo.text())
    assert permit is not None, demo.text()
    path, number, kind = permit.groups()
    token = Path(path).read_text().strip()

    def verified() -> dict | None:  # type: ignore[type-arg]
        answer = httpx.post(demo.za + "/v1/permits/verify", json={"token": token}, timeout=60)
        body = answer.json()
        return body if body["status"] == "valid" else None  # Lesotho's keys have arrived

    body = _wait("Lesotho's permit keys on the South African node", verified, demo)
    assert (body["permit"]["number"], body["permit"]["type"]) == (number, kind)
    assert body["kid"].startswith("LS-")  # signed by Lesotho, verified in South Africa


def _ctrl_c_stops_both_nodes_and_a_second_set_up_keeps_everything(demo: Demo) -> None:
    fingerprints = re.findall(r"fingerprint ([0-9A-F ]{79})", demo.text())
    assert len(fingerprints) == 2
    os.kill(demo.proc.pid, signal.SIGINT)  # what Ctrl-C sends
    assert demo.proc.wait(120) == 0
    assert "Both nodes stopped." in demo.text()
    for base in (demo.ls, demo.za):
        with pytest.raises(httpx.TransportError):
            httpx.get(base + "/health", timeout=5)
    again = subprocess.run(
        [sys.executable, "-m", "tsela.cli.main", "demo", "--no-serve", *demo.args],
        env={**os.environ, "TSELA_VAR_DIR": str(demo.var), "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Generating" not in again.stdout
    assert "Lesotho trusts South Africa: kept" in again.stdout
    assert "South Africa trusts Lesotho: kept" in again.stdout
    assert re.findall(r"fingerprint ([0-9A-F ]{79})", again.stdout) == fingerprints
    assert "node key and TLS certificate kept" in again.stdout


def _the_wait_pages_have_queue_history(demo: Demo) -> None:
    for base in (demo.ls, demo.za):
        history = httpx.get(base + "/v1/waits/MSU/history", timeout=60)
        assert history.status_code == 200, history.text
        assert history.json()["hours"], history.text  # four past weeks of the same weekday
        page = httpx.get(base + "/waits", timeout=60)
        assert page.status_code == 200 and "Maseru Bridge" in page.text


def test_both_nodes_in_the_demo(demo: Demo) -> None:
    """One test, in this order (each step needs the one before, and one set-up is enough)."""
    _set_up_made_both_nodes_and_their_trust(demo)
    _an_exit_from_lesotho_is_matched_with_the_entry_into_south_africa(demo)
    _a_passport_reported_stolen_in_maseru_is_refused_at_ficksburg(demo)
    _the_lesotho_permit_verifies_on_the_south_african_node(demo)
    _the_wait_pages_have_queue_history(demo)
    _ctrl_c_stops_both_nodes_and_a_second_set_up_keeps_everything(demo)
