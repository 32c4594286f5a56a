"""The matching report through the API (supervisors and analysts only) and the command line."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine

from _matching import crossing, partner
from factories import add_traveller
from tsela.api.app import api_routes
from tsela.api.auth import declared_roles
from tsela.domain.values import Role
from tsela.store.db import make_engine, session_factory, transaction
from tsela.store.partner_crossings import apply_partner_crossings

# A day long past, so every window has closed whatever the clock says.
DAY = date(2026, 1, 10)
T = datetime(2026, 1, 10, 8, 0, tzinfo=UTC)


def _seed(engine: Engine) -> None:
    person, doc = add_traveller(engine, node="LS")
    alone, alone_doc = add_traveller(engine, "RB7654321", node="LS")
    crossing(engine, "LS", person, doc, "exit", T)
    crossing(engine, "LS", alone, alone_doc, "exit", T + timedelta(minutes=5))
    partner(
        engine,
        "ZA",
        [{"direction": "entry", "crossed_at": (T + timedelta(minutes=11)).isoformat()}],
    )


def test_only_supervisors_and_analysts_may_read_the_matching_report(client) -> None:  # type: ignore[no-untyped-def]
    (route,) = [r for r in api_routes(client.app) if r.path == "/v1/exchange/matching"]
    assert declared_roles(route) == {Role.SUPERVISOR, Role.ANALYST}


def test_the_report_per_port_and_day(client, engine: Engine, auth_headers) -> None:  # type: ignore[no-untyped-def]
    _seed(engine)
    r = client.get(
        "/v1/exchange/matching",
        params={"port": "msu", "day": DAY.isoformat()},
        headers=auth_headers("analyst"),
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["port"] == "MSU" and body["window_minutes"] == 120
    (line,) = body["lines"]
    assert (line["matched"], line["unmatched_exits"], line["unmatched_entries"]) == (1, 1, 0)
    (item,) = body["items"]
    assert (item["outcome"], item["document_number"]) == ("unmatched_exit", "RB7654321")
    assert item["port_name"] == "Maseru Bridge" and item["counterpart"] is None
    officer = client.get("/v1/exchange/matching", headers=auth_headers("border_officer"))
    assert officer.status_code == 403


def test_bad_port_or_day_is_a_clear_422(client, auth_headers) -> None:  # type: ignore[no-untyped-def]
    headers = auth_headers("supervisor")
    r = client.get("/v1/exchange/matching", params={"port": "ZZZ"}, headers=headers)
    assert r.status_code == 422 and "unknown port 'ZZZ'" in r.json()["detail"]
    r = client.get("/v1/exchange/matching", params={"day": "20-12-2026"}, headers=headers)
    assert r.status_code == 422


def _command() -> list[str]:
    if importlib.util.find_spec("tsela.cli.exchange") is not None:
        return ["exchange", "unmatched"]
    return ["matching", "unmatched"]


def _tsela(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tsela.cli.main", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=120,
    )


def test_the_command_lists_what_did_not_match(tmp_path: Path) -> None:
    env = {
        "TSELA_VAR_DIR": str(tmp_path / "var"),
        "TSELA_DATABASE_URL": f"sqlite:///{tmp_path / 'var' / 'tsela.db'}",
    }
    assert _tsela("init", env=env).returncode == 0
    engine = make_engine(env["TSELA_DATABASE_URL"])
    _seed(engine)
    with transaction(session_factory(engine)) as s:  # a flight into Lesotho: no counterpart
        apply_partner_crossings(
            s,
            "ZA",
            [
                {
                    "id": "01940000-0000-7000-8000-000000000001",
                    "node": "ZA",
                    "port_code": "MSX",
                    "direction": "exit",
                    "country": "ZAF",
                    "crossed_at": T.isoformat(),
                    "document_number": "RQ1",
                    "document_country": "LSO",
                }
            ],
        )
    engine.dispose()
    out = _tsela(
        *_command(), "--day", DAY.isoformat(), "--as-of", "2026-01-11T00:00+02:00", env=env
    )
    assert out.returncode == 0, out.stderr
    assert "unmatched_exit" in out.stdout and "LSO RB7654321 LINEO MOKOENA" in out.stdout
    assert "no_counterpart_port" in out.stdout and "MSX" in out.stdout
    out = _tsela(*_command(), "--day", DAY.isoformat(), "--port", "MSU", "--json", env=env)
    body = json.loads(out.stdout)
    assert [(line["port"], line["matched"]) for line in body["lines"]] == [("MSU", 1)]
    bad = _tsela(*_command(), "--day", "yesterday", env=env)
    assert bad.returncode == 2
    assert "--day 'yesterday' is not a date" in bad.stderr and "Traceback" not in bad.stderr
