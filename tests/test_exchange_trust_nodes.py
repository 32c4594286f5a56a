"""Mutual trust between two real nodes (issue 16, item 5): Lesotho on SQLite and South Africa
on PostgreSQL, each its own server process, exchanging over mutual TLS on loopback; everything
done through the CLI and the API as the operators and officers do it.

- A passport reported stolen in Maseru (a document list imported on the Lesotho node) is
  refused at Ficksburg (South Africa's API), and by South Africa's port client offline.
- A permit issued in Lesotho verifies in South Africa through the API, the officer's CLI
  (offline), the port client (offline, with the keys and lists of its last sync) and the
  public page in a real Chromium, each saying that Lesotho issued it, in English and Sesotho.
- Revoked in Lesotho, it is shown revoked in South Africa after the next pull.

Dates: the permit is issued on the day the test runs and verified on that day, so nothing
here depends on which day that is.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from _exchange import Node, two_nodes
from test_checks import passport
from tsela.kernel.clock import SYSTEM
from tsela.port.client import PortClient
from tsela.services import permit_trust

# Two live nodes keep the machine's time (their exchange runs on it): passports are valid for
# years from whatever day the test runs.
LIVE_EXPIRY = SYSTEM.today() + timedelta(days=8 * 365)

PASSWORD = "correct horse 1"
STOLEN = "RA5550001"
WAIT = 90.0  # a bound on the exchange catching up on a loaded machine, not a timing claim


@pytest.fixture(scope="module")
def nodes(
    tmp_path_factory: pytest.TempPathFactory, pg_engine: Engine
) -> Iterator[tuple[Node, Node, dict[str, Any]]]:
    """Both nodes set up by their operators, Lesotho's stolen passport and permit made, the
    servers running; and what the tests share (the permit, the officer's token)."""
    tmp = tmp_path_factory.mktemp("trust")
    with two_nodes(tmp) as (ls, za):
        # Maseru: the police's list of lost and stolen passports, and a permit
        stolen = tmp / "stolen.csv"
        stolen.write_text(f"issuing_state,number,status,reported_on\nLSO,{STOLEN},stolen,\n")
        ls.cli(
            "watchlist", "import", str(stolen), "--kind", "document",
            "--list", "LMPS lost and stolen passports", "--source", "LMPS",
        )  # fmt: skip
        number, token = _issue_permit(ls)
        # Ficksburg: a border officer
        za.cli(
            "user", "add", "thabo", "--role", "border_officer", "--port", "FKB",
            "--password-stdin", input=PASSWORD + "\n",
        )  # fmt: skip
        ls.start()
        za.start()
        login = httpx.post(
            f"{za.base}/v1/auth/login", json={"username": "thabo", "password": PASSWORD}
        )
        assert login.status_code == 200, login.text
        shared = {"number": number, "token": token, "officer": login.json()["access_token"]}
        _until(za, lambda: _verify(za, token)["status"] == "valid", "Lesotho's permit keys")
        yield ls, za, shared


def _issue_permit(ls: Node) -> tuple[str, str]:
    expiry = LIVE_EXPIRY.isoformat()
    out = ls.cli(
        "permit", "apply", "STUDY", "--surname", "Mokoena", "--given-names", "Lineo",
        "--birth-date", "1990-03-14", "--nationality", "LSO", "--sex", "F",
        "--passport", "RA1234567", "--passport-expiry", expiry,
        "-e", "passport=RA1234567", "-e", "institution_registration=UFS 2026/0042",
        "-e", "proof_of_funds=bank letter",
    ).stdout  # fmt: skip
    number = out.split()[1]
    ls.cli("permit", "submit", number)
    ls.cli("permit", "decide", number, "approve")
    token = ls.cli("permit", "issue", number).stdout.strip().splitlines()[-1]
    assert token.count(".") == 2
    return number, token


def _verify(node: Node, token: str) -> dict[str, Any]:
    answer = httpx.post(f"{node.base}/v1/permits/verify", json={"token": token}, timeout=20)
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def _until(node: Node, done: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if done():
            return
        time.sleep(0.3)
    status = node.cli("exchange", "status").stdout
    raise AssertionError(f"node {node.name} never got {what}; {status}")


def _check(za: Node, officer: str, **body: Any) -> httpx.Response:
    return httpx.post(
        f"{za.base}/v1/checks",
        json={"port": "FKB", "direction": "entry", **body},
        headers={"Authorization": f"Bearer {officer}"},
        timeout=20,
    )


def test_a_passport_reported_stolen_in_maseru_is_refused_at_ficksburg(nodes, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _, za, shared = nodes
    officer = shared["officer"]

    def refused() -> bool:
        answer = _check(za, officer, mrz=passport(number=STOLEN, expiry=LIVE_EXPIRY))
        assert answer.status_code == 201, answer.text
        return answer.json()["decision"] == "DENY"

    _until(za, refused, "Lesotho's stolen-passport alert")
    got = _check(za, officer, mrz=passport(number=STOLEN, expiry=LIVE_EXPIRY)).json()
    reason = next(r for r in got["reasons"] if r["code"] == "document.stolen.reported_by_ls")
    assert reason["severity"] == "deny" and "reported stolen in Lesotho" in reason["message"]
    other = _check(
        za, officer, mrz=passport(number="RA5550777", surname="NTHATI", expiry=LIVE_EXPIRY)
    ).json()
    assert not [r for r in other["reasons"] if "reported_by" in r["code"]]

    # The port at Ficksburg syncs, then loses its link: refused offline just the same.
    port = PortClient(tmp_path / "port", server=za.base, token=officer, port="FKB")
    synced = port.sync()
    port.close()
    assert synced["partner_alerts"] == 1 and "LS" in synced["permit_keys_of"]
    cut_off = PortClient(tmp_path / "port", server="http://127.0.0.1:1", token=officer, port="FKB")
    try:
        offline = cut_off.check(
            direction="entry", mrz=passport(number=STOLEN, expiry=LIVE_EXPIRY), record=False
        )
    finally:
        cut_off.close()
    assert not offline.online and offline.decision == "DENY"
    assert "document.stolen.reported_by_ls" in [r["code"] for r in offline.reasons]


def test_a_lesotho_permit_is_verified_in_south_africa_and_revoked_after_the_next_pull(  # type: ignore[no-untyped-def]
    nodes, tmp_path
) -> None:
    ls, za, shared = nodes
    token, number = shared["token"], shared["number"]

    # The API (public): valid, issued by Lesotho, in English and Sesotho.
    got = _verify(za, token)
    assert got["status"] == "valid" and got["permit"]["number"] == number
    assert got["issued_by"]["words"] == {"en": "Issued by Lesotho", "st": "E fanoe ke Lesotho"}
    # The officer's CLI on the South African node: offline, files only.
    words = za.cli("permit", "verify", token).stdout
    assert "VALID" in words and number in words
    assert "Issued by Lesotho" in words and "E fanoe ke Lesotho" in words
    # The port client, offline after its sync (no server at all).
    home = tmp_path / "port"
    port = PortClient(home, server=za.base, token=shared["officer"], port="FKB")
    port.sync()
    port.close()
    unreachable = {"TSELA_PORT_HOME": str(home), "TSELA_SERVER": "http://127.0.0.1:1"}
    offline = za.cli("port", "verify", token, "--port", "FKB", "--json", **unreachable)
    assert json.loads(offline.stdout)["status"] == "valid"
    assert json.loads(offline.stdout)["issued_by"]["node"] == "LS"

    # Revoked in Maseru: South Africa says so once it has pulled the change.
    ls.cli("permit", "revoke", number, "--reason", "obtained with a forged letter")
    _until(za, lambda: _verify(za, token)["status"] == "revoked", "the revocation")
    # The signed list follows with Lesotho's next round: the offline verifiers see it too.
    today = SYSTEM.today()  # the servers run on the machine's clock
    _until(
        za,
        lambda: (
            permit_trust.verify_offline(
                permit_trust.load_trust(za.var), token, today, "ZA"
            ).status.value
            == "revoked"
        ),
        "Lesotho's new revocation list",
    )
    cli = za.cli("permit", "verify", token, "--json", ok=False)
    assert cli.returncode == 1 and json.loads(cli.stdout)["status"] == "revoked"
    port = PortClient(home, server=za.base, token=shared["officer"], port="FKB")
    port.sync()
    port.close()
    again = za.cli("port", "verify", token, "--port", "FKB", "--json", ok=False, **unreachable)
    assert again.returncode == 1 and json.loads(again.stdout)["status"] == "revoked"


@pytest.mark.browser
def test_the_public_page_in_south_africa_verifies_a_lesotho_permit(nodes) -> None:  # type: ignore[no-untyped-def]
    """Someone in South Africa pastes a Lesotho permit into the public page, in a real
    Chromium: genuine, issued by Lesotho; in Sesotho too. (Issued afresh: the module's
    permit may be revoked by now.)"""
    ls, za, _ = nodes
    chromium = Path("/usr/bin/chromium")
    if not chromium.exists():
        missing = f"{chromium} is missing: apt-get install chromium"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(missing)
        pytest.skip(missing)
    from playwright.sync_api import expect, sync_playwright

    _, token = _issue_permit(ls)
    _until(za, lambda: _verify(za, token)["status"] == "valid", "the new permit's keys")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(chromium), args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_context(locale="en-GB").new_page()
            page.set_default_timeout(20_000)
            page.goto(f"{za.base}/verify")
            page.fill("#token", token)
            page.get_by_role("button", name="Verify").click()
            expect(page.locator(".verdict-word")).to_have_text("VALID")
            expect(page.locator("#issued-by")).to_contain_text("Issued by Lesotho")
            expect(page.locator("#issued-by")).to_contain_text("Lesotho shares with this country")
            page.goto(f"{za.base}/verify?lang=st")
            page.fill("#token", token)
            page.locator("form button[type=submit]").last.click()
            expect(page.locator("#issued-by")).to_contain_text("E fanoe ke Lesotho")
        finally:
            browser.close()
