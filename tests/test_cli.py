"""The command line as a user runs it: real processes, exit codes, one clear line on errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def tsela(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "tsela.cli.main", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        input=input,
        timeout=120,
    )


@pytest.fixture
def here(tmp_path: Path) -> dict[str, str]:
    return {
        "TSELA_VAR_DIR": str(tmp_path / "var"),
        "TSELA_DATABASE_URL": f"sqlite:///{tmp_path / 'var' / 'tsela.db'}",
    }


def test_help_lists_the_commands() -> None:
    out = tsela("--help")
    assert out.returncode == 0
    for command in ("init", "synth", "serve", "demo", "user", "audit"):
        assert command in out.stdout


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["synth", "--persons", "-5"], {}, "--persons must be at least 1, got -5"),
        (["synth", "--start", "2025-13-01"], {}, "--start must be a date"),
        (["init"], {"TSELA_DATABASE_URL": "postgres//nope"}, "malformed database URL"),
        (["init"], {"TSELA_NODE": "BW"}, "unknown node 'BW'"),
        (
            [
                "user",
                "add",
                "x",
                "--role",
                "border_officer",
                "--port",
                "ZZZ",
                "--password-stdin",
            ],
            {},
            "unknown port 'ZZZ'",
        ),
    ],
)
def test_bad_input_gives_one_clear_line_and_writes_nothing(
    here: dict[str, str], tmp_path: Path, args: list[str], env: dict[str, str], message: str
) -> None:
    if args[0] == "user":
        assert tsela("init", env=here).returncode == 0
    out = tsela(*args, env={**here, **env}, input="long enough pw\n")
    assert out.returncode == 2, out.stderr
    assert message in out.stderr
    assert "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    if args[0] == "synth":
        assert not (tmp_path / "var" / "tsela.db").exists()


def test_init_synth_user_and_audit_verify(here: dict[str, str], tmp_path: Path) -> None:
    assert tsela("init", env=here).returncode == 0
    out = tsela(
        "synth", "--persons", "40", "--start", "2026-01-01", "--end", "2026-03-31", env=here
    )
    assert out.returncode == 0, out.stderr
    assert "40 persons" in out.stdout
    assert (tmp_path / "var" / "parquet" / "travellers.parquet").exists()
    again = tsela("synth", "--persons", "40", env=here)
    assert again.returncode == 2 and "already holds 40 persons" in again.stderr
    made = tsela(
        "user",
        "add",
        "lineo",
        "--role",
        "supervisor",
        "--password-stdin",
        env=here,
        input="a good passphrase\n",
    )
    assert made.returncode == 0, made.stderr
    dup = tsela(
        "user",
        "add",
        "Lineo",
        "--role",
        "analyst",
        "--password-stdin",
        env=here,
        input="a good passphrase\n",
    )
    assert dup.returncode == 2 and "already exists" in dup.stderr
    ok = tsela("audit", "verify", env=here)
    assert ok.returncode == 0 and "intact" in ok.stdout
    # Tamper with the log behind Tsela's back: verify must notice and say where.
    import sqlite3

    db = sqlite3.connect(tmp_path / "var" / "tsela.db")
    db.execute("UPDATE audit_event SET actor='mallory' WHERE seq=1")
    db.commit()
    db.close()
    bad = tsela("audit", "verify", env=here)
    assert bad.returncode == 1
    assert "entry 1: content does not match its hash" in bad.stdout


def test_the_one_node_demo_is_populated_and_can_run_again(here: dict[str, str]) -> None:
    first = tsela("demo", "--single", "--no-serve", "--persons", "60", env=here)
    assert first.returncode == 0, first.stderr
    assert "60 persons" in first.stdout
    assert "http://127.0.0.1:8000" in first.stdout
    assert "officer" in first.stdout and "tsela-demo-2026" in first.stdout
    # The secretariat does not start from an empty tracker.
    assert "Loaded the example governance plan (16 activities" in first.stdout
    # The demo worker is a fast-lane member, vetted as an application is.
    assert "Fast lane (LS): the demo worker is member FL-" in first.stdout
    again = tsela("demo", "--single", "--no-serve", env=here)
    assert again.returncode == 0, again.stderr
    assert "Generating" not in again.stdout  # the populated database is kept as it is
    assert "example governance plan" not in again.stdout  # loaded once
