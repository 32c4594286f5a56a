"""``tsela mrz parse`` and ``POST /v1/documents/mrz``, on ICAO Doc 9303 specimens.

TD3: Part 4 Appendix A (UTO ERIKSSON ANNA MARIA); TD1: Part 5 Appendix A; MRV-B: Part 7.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tsela.cli.main import app
from tsela.store.models import Role

TD3 = [
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
    "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
]
TD1 = [
    "I<UTOD231458907<<<<<<<<<<<<<<<",
    "7408122F1204159UTO<<<<<<<<<<<6",
    "ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
]
MRVB = ["V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<", "L8988901C4XXX4009078F9612109<<<<<<<<"]
TD3_BAD_COMPOSITE = [TD3[0], TD3[1][:-1] + "1"]

runner = CliRunner()


def run(*args: str, stdin: str | None = None):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["mrz", "parse", *args], input=stdin)


# --------------------------------------------------------------------------- CLI


def test_cli_json_of_a_valid_passport() -> None:
    result = run(*TD3, "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    expected = {
        "valid": True,
        "format": "TD3",
        "document_type": "P",
        "issuing_state": "UTO",
        "surname": "ERIKSSON",
        "given_names": "ANNA MARIA",
        "document_number": "L898902C3",
        "nationality": "UTO",
        "birth_date": "1974-08-12",
        "expiry_date": "2012-04-15",
        "sex": "F",
        "optional_data": "ZE184226B",
        "errors": [],
    }
    assert {k: out[k] for k in expected} == expected


def test_cli_accepts_td1_lines_joined_and_visas() -> None:
    split = run(*TD1, "--json")
    joined = run("".join(TD1), "--json")
    assert split.exit_code == joined.exit_code == 0
    assert json.loads(split.stdout) == json.loads(joined.stdout)
    assert json.loads(split.stdout)["format"] == "TD1"
    visa = run(*MRVB, "--json")
    assert visa.exit_code == 0
    assert json.loads(visa.stdout)["format"] == "MRVB"


def test_cli_invalid_mrz_exits_1_with_the_reason() -> None:
    result = run(*TD3_BAD_COMPOSITE, "--json")
    assert result.exit_code == 1
    out = json.loads(result.stdout)
    assert out["valid"] is False
    assert out["errors"] == ["composite check digit is 1, expected 0 (line 2 position 44)"]
    human = run(*TD3_BAD_COMPOSITE)
    assert human.exit_code == 1
    assert "INVALID" in human.stdout
    assert "error: composite check digit is 1, expected 0 (line 2 position 44)" in human.stdout
    assert "ERIKSSON" in human.stdout


def test_cli_unusable_input_exits_2_with_one_line() -> None:
    result = run(TD3[0], TD3[1][:43])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.strip() == "error: line 2 has 43 characters, TD3 needs 44"
    assert "Traceback" not in result.output
    bad_day = run(*TD3, "--today", "2025-13-01")
    assert bad_day.exit_code == 2
    assert "--today '2025-13-01' is not a date" in bad_day.stderr


def test_cli_reads_standard_input() -> None:
    result = run("-", "--json", stdin="\n".join(TD3).lower() + "\n")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["document_number"] == "L898902C3"
    assert run(stdin="").exit_code == 2


def test_cli_unspecified_sex_is_x() -> None:
    line2 = TD3[1][:20] + "<" + TD3[1][21:]
    result = run(TD3[0], line2, "--json")
    assert json.loads(result.stdout)["sex"] == "X"


def test_installed_command_exit_statuses() -> None:
    """The real ``tsela`` entry point, as a shell script would use it."""
    tsela = [sys.executable, "-m", "tsela.cli.main", "mrz", "parse"]
    cwd = Path(__file__).parent
    ok = subprocess.run([*tsela, *TD3, "--json"], capture_output=True, text=True, cwd=cwd)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["valid"] is True
    piped = subprocess.run(
        [*tsela, "--json"], input="\n".join(TD3_BAD_COMPOSITE), capture_output=True, text=True
    )
    assert piped.returncode == 1
    unusable = subprocess.run([*tsela, "P<UTO"], capture_output=True, text=True)
    assert unusable.returncode == 2
    assert "one line of 5 characters fits no MRZ format" in unusable.stderr


# --------------------------------------------------------------------------- API


def test_api_needs_a_role_that_reads_documents(client, auth_headers) -> None:  # type: ignore[no-untyped-def]
    body = {"lines": TD3}
    assert client.post("/v1/documents/mrz", json=body).status_code == 401
    analyst = client.post("/v1/documents/mrz", json=body, headers=auth_headers(Role.ANALYST))
    assert analyst.status_code == 403
    for role in (Role.BORDER_OFFICER, Role.SUPERVISOR, Role.PERMIT_OFFICER, Role.ADMIN):
        resp = client.post("/v1/documents/mrz", json=body, headers=auth_headers(role))
        assert resp.status_code == 200, (role, resp.text)


def test_api_reads_text_or_lines(client, auth_headers) -> None:  # type: ignore[no-untyped-def]
    headers = auth_headers(Role.BORDER_OFFICER)
    as_text = client.post("/v1/documents/mrz", json={"mrz": "\n".join(TD3)}, headers=headers)
    as_lines = client.post("/v1/documents/mrz", json={"lines": TD3}, headers=headers)
    assert as_text.status_code == as_lines.status_code == 200
    assert as_text.json() == as_lines.json()
    out = as_text.json()
    assert out["valid"] is True
    assert (out["surname"], out["given_names"]) == ("ERIKSSON", "ANNA MARIA")
    assert (out["birth_date"], out["expiry_date"]) == ("1974-08-12", "2012-04-15")
    assert out["errors"] == []
    card = client.post("/v1/documents/mrz", json={"mrz": "".join(TD1)}, headers=headers).json()
    assert (card["format"], card["document_number"]) == ("TD1", "D23145890")


def test_api_invalid_mrz_is_200_with_the_errors(client, auth_headers) -> None:  # type: ignore[no-untyped-def]
    resp = client.post(
        "/v1/documents/mrz",
        json={"lines": TD3_BAD_COMPOSITE},
        headers=auth_headers(Role.BORDER_OFFICER),
    )
    assert resp.status_code == 200
    assert resp.json()["valid"] is False
    assert resp.json()["errors"] == ["composite check digit is 1, expected 0 (line 2 position 44)"]


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"lines": [TD3[0], TD3[1][:43]]}, "line 2 has 43 characters, TD3 needs 44"),
        ({"mrz": ""}, "no MRZ given: the input is empty"),
        ({}, 'send either "mrz" (the whole zone as text) or "lines" (a list of its lines)'),
        ({"mrz": TD3[0], "lines": TD3}, 'send either "mrz"'),
    ],
)
def test_api_unusable_input_is_422_with_the_reason(client, auth_headers, body, detail) -> None:  # type: ignore[no-untyped-def]
    resp = client.post("/v1/documents/mrz", json=body, headers=auth_headers(Role.SUPERVISOR))
    assert resp.status_code == 422
    assert resp.json()["detail"].startswith(detail)
