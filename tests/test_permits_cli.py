"""``tsela permit`` and ``tsela employer`` as a counter clerk and a police officer use them.

The commands' clock stands at 08:00 on ``TODAY`` (``TSELA_CLOCK``): keys are made and permits
signed then, whatever day the tests run; ``--today`` moves the day a command acts on."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tsela.api.app import create_app
from tsela.cli.main import app
from tsela.config import Settings
from tsela.kernel.clock import FixedClock

runner = CliRunner()
TODAY = "2026-03-02"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    e = {
        "TSELA_VAR_DIR": str(tmp_path / "var"),
        "TSELA_DATABASE_URL": f"sqlite:///{tmp_path / 'var' / 'tsela.db'}",
        "TSELA_NODE": "LS",
        "TSELA_CLOCK": f"{TODAY}T08:00:00+02:00",
    }
    assert runner.invoke(app, ["init"], env=e).exit_code == 0
    return e


def run(env: dict[str, str], *args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env=env)
    return result.exit_code, result.output


def _issued_seasonal(env: dict[str, str], tmp_path: Path) -> tuple[str, str]:
    code, out = run(
        env,
        "employer", "add", "2019/123456/07",
        "--name", "Ficksburg Cherry Farms", "--sector", "agriculture",
        "--contact", "+27 51 933 0000",
    )  # fmt: skip
    assert code == 0, out
    code, out = run(
        env,
        "permit", "apply", "SEASONAL",
        "--surname", "Mokoena", "--given-names", "Lineo", "--birth-date", "1990-03-14",
        "--nationality", "LSO", "--passport", "RA1234567", "--passport-expiry", "2030-01-31",
        "--employer", "2019/123456/07", "-e", "passport=RA1234567",
        "--today", TODAY,
    )  # fmt: skip
    assert code == 0, out
    number = out.split()[1]
    code, out = run(env, "permit", "submit", number, "--today", TODAY)
    assert code == 2 and "missing evidence 'employment_contract'" in out
    assert run(env, "permit", "evidence", number, "employment_contract=contract 17")[0] == 0
    assert run(env, "permit", "submit", number, "--today", TODAY)[0] == 0
    code, out = run(env, "permit", "decide", number, "approve")
    assert code == 0 and "is now approved" in out
    qr = tmp_path / "permit.png"
    code, out = run(env, "permit", "issue", number, "--qr", str(qr), "--today", TODAY)
    assert code == 0, out
    token = out.strip().splitlines()[-1]
    assert token.count(".") == 2 and qr.exists()
    return number, token


def test_permit_life_on_the_command_line(env: dict[str, str], tmp_path: Path) -> None:
    number, token = _issued_seasonal(env, tmp_path)

    code, out = run(env, "permit", "verify", token, "--today", "2026-04-01")
    assert code == 0, out
    assert "VALID" in out and "MOKOENA, LINEO" in out and "Ficksburg Cherry Farms" in out
    code, out = run(env, "permit", "verify", str(tmp_path / "permit.png"), "--today", "2026-04-01")
    assert code == 0 and number in out

    code, out = run(env, "permit", "decide", number, "revoke")
    assert code == 2 and "a reason is required to revoke" in out
    assert run(env, "permit", "revoke", number, "--reason", "absconded")[0] == 0
    code, out = run(env, "permit", "revocations", "export")
    assert code == 0 and "1 revoked" in out
    code, out = run(env, "permit", "verify", token, "--today", "2026-04-01", "--json")
    assert code == 1
    answer = json.loads(out)
    assert answer["status"] == "revoked"
    assert answer["permit"]["number"] == number

    # Rotation: the old token still verifies against the retired public key.
    code, out = run(env, "permit", "keys", "rotate")
    assert code == 0 and "retired" in out
    code, out = run(env, "permit", "verify", token, "--today", "2026-04-01", "--json")
    assert json.loads(out)["status"] == "revoked"

    code, out = run(env, "permit", "show", number, "--today", "2026-04-01")
    assert code == 0 and "issued -> revoked" in out and "absconded" in out


def test_a_withdrawn_key_refuses_what_it_signed(env: dict[str, str], tmp_path: Path) -> None:
    _number, token = _issued_seasonal(env, tmp_path)
    kid = json.loads(run(env, "permit", "verify", token, "--today", "2026-04-01", "--json")[1])[
        "kid"
    ]
    code, out = run(env, "permit", "keys", "withdraw", kid, "--yes")
    assert code == 0 and f"{kid} withdrawn; new signing key LS-" in out
    code, out = run(env, "permit", "keys", "show")
    assert f"{kid}  withdrawn" in out and "  active" in out
    code, out = run(env, "permit", "verify", token, "--today", "2026-04-01", "--json")
    answer = json.loads(out)
    assert code == 1 and answer["status"] == "key_withdrawn" and answer["permit"] is None
    assert answer["issued_by"]["words"]["en"] == "Issued by Lesotho"
    code, out = run(env, "permit", "keys", "withdraw", kid, "--yes")
    assert code == 2 and "withdrawn already" in out


def test_expiring_list_and_csv(env: dict[str, str], tmp_path: Path) -> None:
    number, _ = _issued_seasonal(env, tmp_path)
    # A seasonal permit lasts 270 days from 2026-03-02: its last day is 2026-11-26.
    code, out = run(env, "permit", "expiring", "--within", "30", "--today", "2026-11-01")
    assert code == 0 and number in out and "(25 days)" in out
    code, out = run(env, "permit", "expiring", "--within", "30", "--today", "2026-09-01")
    assert code == 0 and number not in out
    target = tmp_path / "expiring.csv"
    code, out = run(
        env, "permit", "expiring", "--within", "60", "--employer", "2019/123456/07",
        "--csv", str(target), "--today", "2026-11-01",
    )  # fmt: skip
    assert code == 0, out
    (row,) = csv.DictReader(io.StringIO(target.read_text()))
    assert (row["number"], row["valid_to"], row["employer"]) == (
        number,
        "2026-11-26",
        "Ficksburg Cherry Farms",
    )
    code, out = run(
        env, "permit", "expiring", "--within", "90", "--by", "type", "--today", "2026-11-01"
    )
    assert "SEASONAL" in out and "<=30d: 1" in out


def test_bad_input_gets_one_clear_line(env: dict[str, str], tmp_path: Path) -> None:
    code, out = run(
        env,
        "permit", "apply", "STUDY", "--surname", "Mokoena", "--nationality", "LSO",
        "--passport", "RA1234567", "--passport-expiry", "2025-01-01", "--today", TODAY,
    )  # fmt: skip
    assert code == 2
    assert "expired on 2025-01-01" in out and "Traceback" not in out
    code, out = run(env, "permit", "decide", "LS-STUDY-NONE", "approve")
    assert code == 2 and "no permit numbered 'LS-STUDY-NONE'" in out
    code, out = run(env, "permit", "apply", "MINING", "--surname", "X", "--nationality", "LSO",
                    "--passport", "RA1234567", "--passport-expiry", "2030-01-01")  # fmt: skip
    assert code == 2 and "unknown permit type 'MINING'" in out
    code, out = run(env, "employer", "add", "#", "--name", "X", "--sector", "retail")
    assert code == 2 and "registration number '#'" in out


def test_verify_without_keys_or_with_garbage(env: dict[str, str], tmp_path: Path) -> None:
    code, out = run(env, "permit", "verify", "abc.def.ghi")
    assert code == 2 and "no key set" in out
    run(env, "permit", "keys", "export")
    code, out = run(env, "permit", "verify", "abc.def.ghi")
    assert code == 1 and "UNREADABLE" in out
    not_a_qr = tmp_path / "photo.png"
    not_a_qr.write_bytes(b"\x89PNG broken")
    code, out = run(env, "permit", "verify", str(not_a_qr))
    assert code == 2 and "not a readable image" in out
    forged_list = tmp_path / "list.jws"
    forged_list.write_text("a.b.c")
    code, out = run(env, "permit", "verify", "abc.def.ghi", "--revocations", str(forged_list))
    assert code == 2 and "revocation list" in out and "refused" in out


def test_installed_command_verifies_offline_without_a_database(
    env: dict[str, str], tmp_path: Path
) -> None:
    _number, token = _issued_seasonal(env, tmp_path)
    keys = tmp_path / "keys.json"
    assert run(env, "permit", "keys", "export", "--out", str(keys))[0] == 0
    # A police officer's laptop: no database configured that exists, only the key file.
    elsewhere = {
        **os.environ,
        "TSELA_VAR_DIR": str(tmp_path / "elsewhere"),
        "TSELA_DATABASE_URL": "sqlite:////nonexistent/dir/tsela.db",
        "TSELA_CLOCK": env["TSELA_CLOCK"],
    }
    proc = subprocess.run(
        [sys.executable, "-m", "tsela.cli.main", "permit", "verify", token,
         "--keys", str(keys), "--today", "2026-04-01"],
        capture_output=True, text=True, env=elsewhere, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "VALID" in proc.stdout and "revocation not checked" in proc.stdout
    assert not Path("/nonexistent/dir").exists()


def test_the_cli_and_the_api_give_the_same_verification(
    env: dict[str, str], tmp_path: Path
) -> None:
    """``tsela permit verify --json`` (offline) and ``POST /v1/permits/verify`` (online)
    answer with one shape, built in one place: the same fields with the same values, but
    for where the status was looked up (the register, or a revocation list)."""
    number, token = _issued_seasonal(env, tmp_path)
    settings = Settings(
        database_url=env["TSELA_DATABASE_URL"], node="LS", var_dir=Path(env["TSELA_VAR_DIR"])
    )

    def both() -> tuple[dict[str, object], dict[str, object]]:
        code, out = run(env, "permit", "verify", token, "--today", "2026-04-01", "--json")
        offline = json.loads(out)
        assert code == (0 if offline["valid"] else 1)
        # The server's clock stands on the day the offline check is given as --today.
        server_clock = FixedClock(datetime.fromisoformat("2026-04-01T10:00:00+02:00"))
        with TestClient(create_app(settings, clock=server_clock)) as client:
            answer = client.post("/v1/permits/verify", json={"token": token})
        assert answer.status_code == 200, answer.text
        return offline, answer.json()

    offline, online = both()
    assert (
        set(offline) == set(online) == {"status", "valid", "reasons", "kid", "issued_by", "permit"}
    )
    for field in ("status", "valid", "kid", "permit"):
        assert offline[field] == online[field], field
    assert offline["status"] == "valid" and offline["permit"]["number"] == number  # type: ignore[index]
    assert offline["reasons"][0] == online["reasons"][0]  # type: ignore[index]
    assert offline["reasons"][1:] == ["revocation not checked: no revocation list from node LS"]
    assert online["reasons"][1:] == ["status checked in the register of node LS"]

    assert run(env, "permit", "revoke", number, "--reason", "absconded")[0] == 0
    assert run(env, "permit", "revocations", "export")[0] == 0
    offline, online = both()
    for field in ("status", "valid", "kid", "permit"):
        assert offline[field] == online[field], field
    assert (offline["status"], offline["valid"]) == ("revoked", False)
    # Revoked, and the list exported, by the commands on their day (TODAY), before the check.
    assert offline["reasons"] == [f"permit {number} is revoked (revocation list of {TODAY})"]
    assert online["reasons"] == [f"permit {number} was revoked on {TODAY}: absconded"]
