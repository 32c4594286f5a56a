"""``tsela stay`` and ``POST /v1/stay/evaluate`` answer as the issue asks, and refuse bad input.

Figures come from the Swiss State Secretariat for Migration's worked examples for the EU
short-stay calculator ([SEM-n], see tests/test_stay.py for the full citations).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tsela.cli.main import app
from tsela.kernel.clock import FixedClock

runner = CliRunner()
KEYS = ["days_used", "days_remaining", "latest_exit", "overstay_days", "explanation"]
SEM_5 = ["2013-09-01:2013-09-30", "2014-02-21:2014-04-20", "2014-05-01:2014-06-09"]


def tsela(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["stay", *args])
    return result.exit_code, result.stdout, result.stderr


def stay_args(*stays: str) -> list[str]:
    return [arg for s in stays for arg in ("--stay", s)]


# --------------------------------------------------------------------------- CLI


def test_cli_json_answers_the_sem_5_return_question() -> None:
    # [SEM-5] 9 days of overstay on 09.06.2014; coming back on 30.08.2014, up to 50 days.
    code, out, _ = tsela(
        "--rule", "SCHENGEN-90-180", "--as-of", "2014-08-30", *stay_args(*SEM_5), "--json"
    )
    assert code == 0
    answer = json.loads(out)
    assert list(answer)[:5] == KEYS
    assert answer["days_remaining"] == 50
    assert answer["latest_exit"] == "2014-10-18"
    assert answer["overstay_days"] == 9
    assert answer["days_used"] == 88  # 4 Mar-20 Apr (48) + 1 May-9 Jun (40)
    assert [s["overstay_days"] for s in answer["stays"]] == [0, 0, 9]
    assert any("50 days" in line for line in answer["explanation"])


def test_cli_plain_output_lists_the_five_answers() -> None:
    # [SEM-2] still in the Schengen area on 30.11.2014: may stay until 13.12.2014.
    code, out, _ = tsela(
        "--rule",
        "schengen-90-180",
        "--as-of",
        "2014-11-30",
        *stay_args("2014-08-15:2014-09-30", "2014-11-01:"),
    )
    assert code == 0
    lines = dict(line.split(None, 1) for line in out.splitlines()[:6])
    assert lines["days_used"] == "77"
    assert lines["days_remaining"] == "13"
    assert lines["latest_exit"] == "2014-12-13"
    assert lines["overstay_days"] == "0"
    assert "explanation:" in out


def test_cli_latest_exit_is_null_when_no_stay_is_possible() -> None:
    # [SEM-2025] 90 days from 1 March to 29 May 2025: no entry on 15 June.
    code, out, _ = tsela(
        "--rule",
        "SCHENGEN-90-180",
        "--as-of",
        "2025-06-15",
        "--stay",
        "2025-03-01:2025-05-29",
        "--json",
    )
    assert code == 0
    assert json.loads(out)["latest_exit"] is None


def test_cli_as_of_defaults_to_today_at_the_border() -> None:
    # 23:30 UTC on 14 March is already 15 March at the border (the CLI's clock: TSELA_CLOCK).
    result = runner.invoke(
        app,
        ["stay", "--rule", "LSO-ZAF-VISITOR", "--json"],
        env={"TSELA_CLOCK": "2030-03-14T23:30:00+00:00"},
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["as_of"] == "2030-03-15"
    assert json.loads(result.stdout)["days_remaining"] == 30


def test_cli_permit_lets_a_lesotho_worker_stay_until_it_ends() -> None:
    code, out, _ = tsela(
        "--rule",
        "LSO-ZAF-VISITOR",
        "--as-of",
        "2026-06-01",
        "--stay",
        "2025-03-01:",
        "--permit",
        "lep:2025-01-01:2027-05-28",
        "--json",
    )
    assert code == 0
    answer = json.loads(out)
    assert answer["latest_exit"] == "2027-05-28"
    assert answer["overstay_days"] == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--rule", "MARS-1", "--as-of", "2026-04-01"],
            "unknown stay rule 'MARS-1': known rules are LSO-ZAF-VISITOR, SCHENGEN-90-180, "
            "ZAF-LSO-VISITOR",
        ),
        (
            [
                "--rule",
                "LSO-ZAF-VISITOR",
                "--as-of",
                "2026-04-01",
                *stay_args("2026-01-01:2026-01-05", "2026-03-05:2026-03-01"),
            ],
            "stay 2 (2026-03-05:2026-03-01): exit before entry",
        ),
        (
            [
                "--rule",
                "LSO-ZAF-VISITOR",
                "--as-of",
                "2026-04-01",
                *stay_args(
                    "2026-02-01:2026-02-11", "2026-03-01:2026-03-02", "2026-02-10:2026-02-10"
                ),
            ],
            "stays 1 and 3 overlap on 2026-02-10",
        ),
        (
            ["--rule", "LSO-ZAF-VISITOR", "--as-of", "2026-04-01", "--stay", "2026-02-30:"],
            "stay 1 ('2026-02-30:'): entry '2026-02-30' is not a date (YYYY-MM-DD)",
        ),
        (
            ["--rule", "LSO-ZAF-VISITOR", "--as-of", "1 April"],
            "--as-of '1 April' is not a date (YYYY-MM-DD)",
        ),
        (
            ["--rule", "SCHENGEN-90-180", "--as-of", "2012-01-01"],
            "as-of date 2012-01-01: rule SCHENGEN-90-180 has no version in force that day",
        ),
        (
            ["--rule", "LSO-ZAF-VISITOR", "--as-of", "2026-04-01", "--permit", "LEP:2026-01-01"],
            "permit 1 ('LEP:2026-01-01'): write TYPE:FROM:TO",
        ),
    ],
)
def test_cli_bad_input_is_one_line_and_exit_status_2(args: list[str], message: str) -> None:
    code, out, err = tsela(*args, "--json")
    assert code == 2
    assert out == ""
    # (Rich may wrap a long line to the terminal width.)
    assert message in " ".join(err.split())
    assert "Traceback" not in err


def test_cli_rules_file_switches_the_90_day_version_on(tmp_path: Path) -> None:
    # docs/stay-rules.md: give the 90-day version an effective date to switch it on.
    text = (
        resources.files("tsela.reference")
        .joinpath("stay_rules/lso-to-zaf.toml")
        .read_text(encoding="utf-8")
    )
    edited = tmp_path / "lso-to-zaf.toml"
    edited.write_text(
        text.replace(
            'label = "90-day visa exemption"\n',
            'label = "90-day visa exemption"\neffective_from = 2026-07-01\n',
        ),
        encoding="utf-8",
    )
    args = ["--rule", "LSO-ZAF-VISITOR", "--as-of", "2026-07-15", "--stay", "2026-07-01:", "--json"]
    shipped = json.loads(tsela(*args)[1])
    switched = json.loads(tsela(*args, "--rules-file", str(edited))[1])
    assert shipped["latest_exit"] == "2026-07-30"  # 30 days
    assert switched["latest_exit"] == "2026-09-28"  # 90 days
    assert switched["rule_version"] == "90-day visa exemption"


def test_cli_unreadable_rules_file_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("id = 'X'\n", encoding="utf-8")
    code, _, err = tsela("--rule", "X", "--rules-file", str(bad))
    assert code == 2
    assert "stay rule file" in err and "bad.toml" in err
    code, _, err = tsela("--rule", "X", "--rules-file", str(tmp_path / "missing.toml"))
    assert code == 2
    assert "cannot read it" in err


# --------------------------------------------------------------------------- API


def body(**kw: object) -> dict[str, object]:
    data: dict[str, object] = {
        "rule": "SCHENGEN-90-180",
        "as_of": "2014-06-09",
        "stays": [{"entry": s.split(":")[0], "exit": s.split(":")[1] or None} for s in SEM_5],
    }
    data.update(kw)
    return data


def test_api_answers_like_the_cli(client, auth_headers) -> None:  # type: ignore[no-untyped-def]
    # [SEM-5] on departure 09.06.2014: 9 days of overstay, beginning 1 June.
    resp = client.post("/v1/stay/evaluate", json=body(), headers=auth_headers("border_officer"))
    assert resp.status_code == 200, resp.text
    answer = resp.json()
    assert list(answer)[:5] == KEYS
    assert answer["overstay_days"] == 9
    assert answer["latest_exit"] is None
    assert answer["stays"][2]["first_overstay_day"] == "2014-06-01"
    code, out, _ = tsela(
        "--rule", "SCHENGEN-90-180", "--as-of", "2014-06-09", *stay_args(*SEM_5), "--json"
    )
    assert code == 0
    assert json.loads(out) == answer


@pytest.mark.parametrize("role", ["supervisor", "permit_officer", "analyst", "admin"])
def test_api_staff_roles_may_evaluate(client, auth_headers, role: str) -> None:  # type: ignore[no-untyped-def]
    resp = client.post(
        "/v1/stay/evaluate",
        json={"rule": "LSO-ZAF-VISITOR", "as_of": "2026-01-10", "stays": [{"entry": "2026-01-01"}]},
        headers=auth_headers(role),
    )
    assert resp.status_code == 200
    assert resp.json()["days_remaining"] == 20


def test_api_refuses_strangers_and_non_staff(client, auth_headers) -> None:  # type: ignore[no-untyped-def]
    assert client.post("/v1/stay/evaluate", json=body()).status_code == 401
    # Roles are checked before the body: a stranger learns nothing from a 422.
    assert client.post("/v1/stay/evaluate", json={}).status_code == 401
    assert (
        client.post("/v1/stay/evaluate", json=body(), headers=auth_headers("employer")).status_code
        == 403
    )


@pytest.mark.parametrize(
    ("changes", "detail"),
    [
        (
            {"rule": "MARS-1"},
            "unknown stay rule 'MARS-1': known rules are LSO-ZAF-VISITOR, SCHENGEN-90-180, "
            "ZAF-LSO-VISITOR",
        ),
        (
            {
                "stays": [
                    {"entry": "2026-02-01", "exit": "2026-02-11"},
                    {"entry": "2026-02-10", "exit": "2026-02-10"},
                ],
                "as_of": "2026-04-01",
            },
            "stays 1 and 2 overlap on 2026-02-10",
        ),
        (
            {"stays": [{"entry": "2026-03-05", "exit": "2026-03-01"}], "as_of": "2026-04-01"},
            "stay 1 (2026-03-05:2026-03-01): exit before entry",
        ),
        (
            {
                "permits": [
                    {
                        "permit_type": "RESIDENCE_PERMIT",
                        "valid_from": "2014-05-01",
                        "valid_to": "2014-01-01",
                    }
                ]
            },
            "permit 1 (RESIDENCE_PERMIT:2014-05-01:2014-01-01): valid to is before valid from",
        ),
    ],
)
def test_api_bad_input_is_422_with_the_reason(
    client, auth_headers, changes: dict[str, object], detail: str
) -> None:  # type: ignore[no-untyped-def]
    resp = client.post("/v1/stay/evaluate", json=body(**changes), headers=auth_headers("analyst"))
    assert resp.status_code == 422
    assert resp.json()["detail"] == detail


def test_api_unreadable_date_is_422_naming_the_field(client, auth_headers) -> None:  # type: ignore[no-untyped-def]
    resp = client.post(
        "/v1/stay/evaluate",
        json=body(stays=[{"entry": "2014-02-30", "exit": None}]),
        headers=auth_headers("analyst"),
    )
    assert resp.status_code == 422
    assert resp.json()["detail"][0]["loc"] == ["body", "stays", 0, "entry"]


def test_api_residence_permit_days_do_not_count(client, auth_headers) -> None:  # type: ignore[no-untyped-def]
    # Regulation (EU) 2016/399 art. 6(2): the January-June stay under a residence permit does
    # not count, so on 10 July only 1-10 July are used.
    resp = client.post(
        "/v1/stay/evaluate",
        json={
            "rule": "SCHENGEN-90-180",
            "as_of": "2026-07-10",
            "stays": [{"entry": "2026-01-01"}],
            "permits": [
                {
                    "permit_type": "residence_permit",
                    "valid_from": "2026-01-01",
                    "valid_to": "2026-06-30",
                }
            ],
        },
        headers=auth_headers("border_officer"),
    )
    assert resp.status_code == 200
    assert (resp.json()["days_used"], resp.json()["latest_exit"]) == (10, "2026-09-28")


def test_api_as_of_defaults_to_today_at_the_border(client, auth_headers) -> None:  # type: ignore[no-untyped-def]
    # The server's clock at 23:30 UTC on 14 March: 15 March at the border.
    client.app.state.clock = FixedClock(datetime(2030, 3, 14, 23, 30, tzinfo=UTC))  # type: ignore[attr-defined]
    resp = client.post(
        "/v1/stay/evaluate", json={"rule": "LSO-ZAF-VISITOR"}, headers=auth_headers("analyst")
    )
    assert resp.status_code == 200
    assert resp.json()["as_of"] == "2030-03-15"
