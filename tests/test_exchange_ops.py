"""Operations of the exchange (issue 16, item 6), on SQLite and PostgreSQL: the status with
the unmatched counts, the supervisors' page (partners, last batch, lag and its alert,
refusals, batches, crossings with no counterpart; paged; English and Sesotho; for supervisors
and administrators only), and ``tsela exchange status``.

Everything runs at a fixed moment: the app's clock is a ``FixedClock``, the command's
``TSELA_CLOCK``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from _exchange_ops import operations_data
from tsela.api.app import create_app
from tsela.config import Settings
from tsela.kernel.clock import FixedClock
from tsela.services import exchange_ops as ops
from tsela.services.setup import seed_ports
from tsela.store.db import make_engine, migrate, session_factory
from tsela.store.models import Role
from web_support import csrf_of, use_fast_password_hashing

NOW = datetime(2026, 12, 20, 12, 0, tzinfo=UTC)  # 14:00 at the border
PASSWORD = "correct horse 1"


@pytest.fixture
def za(tmp_path: Path) -> Iterator[Engine]:
    """South Africa's own database (SQLite), beside the Lesotho ``engine`` under test."""
    eng = make_engine(f"sqlite:///{tmp_path / 'za.db'}")
    migrate(eng)
    seed_ports(eng, "ZA")
    yield eng
    eng.dispose()


def test_the_status_counts_what_found_no_counterpart(
    engine: Engine, za: Engine, tmp_path: Path
) -> None:
    made = operations_data(engine, za, tmp_path, NOW, filler=2)
    assert made.batches == 4  # the two fillers and two entries, one a batch
    with session_factory(engine)() as s:
        found = ops.overview(s, node="LS", now=NOW, lag_alert_s=300, days=7)
        week_before = ops.unmatched(s, NOW - timedelta(days=18), days=7)
    totals = found["unmatched"]["totals"]
    assert totals == {
        "matched": 1,
        "mismatches": 0,
        "unmatched_exits": 1,
        "unmatched_entries": 1,
        "pending": 1,
        "no_counterpart_port": 0,
    }
    lines = {(line["port"], line["day"]): line for line in found["unmatched"]["lines"]}
    assert lines[("MSU", "2026-12-20")]["unmatched_exits"] == 1
    assert lines[("MSU", "2026-12-20")]["pending"] == 1
    assert lines[("FKB", "2026-12-20")]["unmatched_entries"] == 1
    assert (found["unmatched"]["first_day"], found["unmatched"]["last_day"]) == (
        "2026-12-14",
        "2026-12-20",
    )
    # the fillers, twenty days before, are counted in their own week only
    assert week_before.totals["unmatched_entries"] == 2 and week_before.totals["matched"] == 0
    (za_status,) = found["partners"]
    assert za_status["partner"] == "ZA" and za_status["lag_alert"] is True
    assert za_status["lag_s"] == 7200.0 and za_status["behind"] == 0
    assert za_status["last_error_code"] == "anchor_expired" and za_status["refusals"] == 1
    assert za_status["last_batch_id"] is not None
    with session_factory(engine)() as s:
        on_time = ops.overview(s, node="LS", now=NOW, lag_alert_s=7201, days=1)
        refused, n_refused = ops.refusals(s, limit=10)
        first, n_batches = ops.batches(s, limit=2)
        second, _ = ops.batches(s, limit=2, offset=2)
    assert on_time["partners"][0]["lag_alert"] is False
    assert n_refused == 1 and refused[0]["code"] == "anchor_expired"
    assert "expired" in refused[0]["message"]
    assert n_batches == 4 and len(first) == 2 and len(second) == 2
    assert first[0]["last_seq"] == 4 and second[-1]["last_seq"] == 1  # newest first
    with pytest.raises(ops.OpsInputError), session_factory(engine)() as s:
        ops.unmatched(s, NOW, days=0)


# --------------------------------------------------------------------------- the page


@pytest.fixture(autouse=True)
def _fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    use_fast_password_hashing(monkeypatch)


def _browser(
    engine: Engine, tmp_path: Path, make_user, role: Role, *, lag_alert_s: int = 300
) -> TestClient:  # type: ignore[no-untyped-def]
    settings = Settings(
        database_url=engine.url.render_as_string(hide_password=False),
        node="LS",
        var_dir=tmp_path / "ls",
        exchange_lag_alert_s=lag_alert_s,
    )
    name = f"{role.value}-{lag_alert_s}"
    make_user(role, username=name, password=PASSWORD)
    client = TestClient(create_app(settings, engine, clock=FixedClock(NOW)))
    page = client.get("/login")
    signed = client.post(
        "/login",
        data={"username": name, "password": PASSWORD, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert signed.status_code == 303, signed.text
    return client


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_page_shows_partners_lag_alert_refusals_and_counts(  # type: ignore[no-untyped-def]
    engine: Engine, za: Engine, tmp_path: Path, make_user
) -> None:
    operations_data(engine, za, tmp_path, NOW, filler=2)
    supervisor = _browser(engine, tmp_path, make_user, Role.SUPERVISOR)
    home = supervisor.get("/review")
    assert '<a href="/exchange">Exchange</a>' in home.text  # the nav link
    page = supervisor.get("/exchange")
    assert page.status_code == 200, page.text
    text = _text(page.text)
    assert "Exchange with the partner node" in text
    assert 'role="alert" id="lag-alert-ZA"' in page.text
    assert (
        "Lag alert: the records of node ZA arrive 7200 seconds late, past the alert "
        "threshold of 300 seconds." in text
    )
    assert "The partner's trust anchor has expired" in text and "(anchor_expired," in text
    assert "Exits with no entry after the window: 1" in text
    assert "Entries with no exit after the window: 1" in text
    assert "Still within the window: 1" in text and "Matched: 1" in text
    assert "2026-12-20 MSU 1 0 0 1 0 1" in text  # no entry, no exit, mismatches, within, ...
    assert "2026-12-20 FKB 0 1 0 0 0 0" in text
    assert text.count(" ZA 1 ") == 4  # four batches of one record from ZA
    assert "Next page" not in text
    # Sesotho
    sesotho = _text(supervisor.get("/exchange?lang=st").text)
    assert "Temoso ea tieho" in sesotho and "lirekoto tsa naha ea ZA li fihla" in sesotho
    assert "Ho tsoa ho se nang ho kena ka mor'a nako e lumelloang: 1" in sesotho
    # A longer threshold: no alert; a bad number of days: said, and the week counted.
    relaxed = _browser(engine, tmp_path, make_user, Role.ADMIN, lag_alert_s=86_400)
    calm = relaxed.get("/exchange?lang=en&days=40")
    assert calm.status_code == 400
    assert 'role="alert" id="lag-alert' not in calm.text and "On time" in calm.text
    assert "The number of days must be a whole number from 1 to 31." in calm.text


def test_long_lists_are_paged(  # type: ignore[no-untyped-def]
    engine: Engine, za: Engine, tmp_path: Path, make_user, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tsela.web import exchange as page_module

    operations_data(engine, za, tmp_path, NOW, filler=3)
    monkeypatch.setattr(page_module, "PER_PAGE", 2)
    supervisor = _browser(engine, tmp_path, make_user, Role.SUPERVISOR)
    first = supervisor.get("/exchange?days=31")
    assert first.status_code == 200
    batches = first.text.split('id="batches"')[1]
    assert "Page 1 of 3" in batches and "Previous page" not in batches.split("</nav>")[0]
    link = re.search(r'href="(/exchange\?[^"]*batches=2[^"]*)" rel="next"', first.text)
    assert link is not None and "days=31" in link.group(1)
    second = supervisor.get(link.group(1).replace("&amp;", "&"))
    assert "Page 2 of 3" in second.text.split('id="batches"')[1]
    # the lines of the counts page on their own (the fillers' day and today's two posts)
    lines = second.text.split('id="unmatched"')[1].split("</table>")[0]
    assert lines.count("<tr>") == 1 + 2  # the header and two lines
    last = supervisor.get("/exchange?days=31&lines=2&batches=99")
    assert "Page 2 of 2" in last.text.split('id="unmatched"')[1]
    assert "Page 4 of 4" not in last.text and "Page 3 of 3" in last.text  # past the end: the last


def test_only_supervisors_and_administrators_see_the_page(  # type: ignore[no-untyped-def]
    engine: Engine, tmp_path: Path, make_user
) -> None:
    officer = _browser(engine, tmp_path, make_user, Role.BORDER_OFFICER)
    assert 'href="/exchange"' not in officer.get("/console").text
    assert officer.get("/exchange").status_code == 403
    analyst = _browser(engine, tmp_path, make_user, Role.ANALYST)
    assert analyst.get("/exchange").status_code == 403
    admin = _browser(engine, tmp_path, make_user, Role.ADMIN)
    empty = _text(admin.get("/exchange").text)
    assert "No partner node is trusted yet" in empty
    assert "Every crossing of this period found its counterpart." in empty
    anonymous = TestClient(admin.app)
    assert anonymous.get("/exchange", follow_redirects=False).status_code in (302, 303, 307)


def test_the_status_route_gives_the_unmatched_counts(  # type: ignore[no-untyped-def]
    engine: Engine, za: Engine, tmp_path: Path, settings: Settings, auth_headers
) -> None:
    operations_data(engine, za, tmp_path, NOW)
    client = TestClient(create_app(settings, engine, clock=FixedClock(NOW)))
    answer = client.get("/v1/exchange/status?days=2", headers=auth_headers("supervisor"))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["node"] == "LS" and body["lag_alert_s"] == 300
    assert body["as_of"] == NOW.isoformat()
    assert body["partners"][0]["lag_alert"] is True and body["partners"][0]["lag_s"] == 7200.0
    totals = body["unmatched"]["totals"]
    assert (totals["unmatched_exits"], totals["unmatched_entries"], totals["matched"]) == (1, 1, 1)
    assert (
        client.get("/v1/exchange/status?days=32", headers=auth_headers("admin")).status_code == 422
    )


# --------------------------------------------------------------------------- the CLI


def test_tsela_exchange_status_prints_the_counts_and_the_lag_alert(
    za: Engine, tmp_path: Path
) -> None:
    (tmp_path / "ls").mkdir(exist_ok=True)
    ls = make_engine(f"sqlite:///{tmp_path / 'ls' / 'tsela.db'}")
    migrate(ls)
    seed_ports(ls, "LS")
    operations_data(ls, za, tmp_path, NOW)
    ls.dispose()
    env = {
        **os.environ,
        "TSELA_CLOCK": NOW.isoformat(),  # the command's clock stands where the data were made
        "TSELA_DATABASE_URL": f"sqlite:///{tmp_path / 'ls' / 'tsela.db'}",
        "TSELA_NODE": "LS",
        "TSELA_VAR_DIR": str(tmp_path / "ls"),
        "TSELA_EXCHANGE_LAG_ALERT_S": "600",
    }

    def status(*args: str, **extra: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "tsela.cli.main", "exchange", "status", *args],
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return " ".join(done.stdout.split())

    shown = status("--days", "2")
    assert "LAG ALERT: lag 7200 s is past 600 s" in shown, shown
    assert "last error (anchor_expired)" in shown and "1 refused" in shown
    assert (
        "1 exits with no entry, 1 entries with no exit, 0 mismatches; 1 within the window" in shown
    )
    assert "2026-12-20 MSU: 1 exits with no entry, 1 within the window" in shown, shown
    assert "2026-12-20 FKB: 1 entries with no exit" in shown, shown
    calm = status("--days", "2", TSELA_EXCHANGE_LAG_ALERT_S="86400")
    assert "LAG ALERT" not in calm
    as_json = json.loads(status("--json", "--days", "2"))
    assert as_json["unmatched"]["totals"]["unmatched_entries"] == 1
    assert as_json["partners"][0]["lag_alert"] is True
    bad = subprocess.run(
        [sys.executable, "-m", "tsela.cli.main", "exchange", "status", "--days", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2 and "days must be from 1 to 31" in bad.stderr
