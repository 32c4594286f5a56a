"""The border clock (tsela.kernel.clock): one zone, UTC+2 all year; a clock the app and the
command line take from outside, so that tests stand on a day of their choosing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tsela.api.app import create_app
from tsela.cli.main import app as cli
from tsela.config import ConfigError, Settings, load_clock, load_settings
from tsela.kernel.clock import (
    BORDER_TZ,
    SYSTEM,
    FixedClock,
    border_day,
    border_time,
    day_end,
    day_start,
)

SAST = timezone(timedelta(hours=2))


def test_the_border_keeps_utc_plus_two_all_year_in_every_year_tsela_counts() -> None:
    # Since March 1944 neither country has had daylight saving time. Every month of every
    # year from 1950 to 2100, and the hours around midnight: UTC+2, named SAST.
    for year in range(1950, 2101):
        for month in range(1, 13):
            moment = datetime(year, month, 15, 12, tzinfo=BORDER_TZ)
            assert moment.utcoffset() == timedelta(hours=2), moment
            assert moment.tzname() == "SAST"
    # Lesotho's own name for the zone agrees wherever the tz database comes from.
    maseru = ZoneInfo("Africa/Maseru")
    for day in (date(1945, 1, 1), date(1990, 7, 1), date(2026, 5, 12), date(2099, 12, 31)):
        for hour in (0, 1, 23):
            moment = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=hour)
            assert moment.astimezone(maseru).utcoffset() == border_time(moment).utcoffset()


def test_a_border_day_starts_at_midnight_utc_plus_two_not_utc() -> None:
    # 23:30 UTC on 11 May is 01:30 on 12 May at the border.
    late = datetime(2026, 5, 11, 23, 30, tzinfo=UTC)
    assert border_day(late) == date(2026, 5, 12)
    assert border_time(late).isoformat() == "2026-05-12T01:30:00+02:00"
    assert border_day(datetime(2026, 5, 11, 21, 59, 59, tzinfo=UTC)) == date(2026, 5, 11)
    assert day_start(date(2026, 5, 12)) == datetime(2026, 5, 11, 22, 0, tzinfo=UTC)
    assert day_end(date(2026, 5, 12)) == datetime(2026, 5, 12, 22, 0, tzinfo=UTC)
    # Any offset in, the same day out.
    assert border_day(datetime(2026, 5, 12, 0, 30, tzinfo=SAST)) == date(2026, 5, 12)


def test_a_time_without_a_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="has no time zone"):
        border_day(datetime(2026, 5, 12, 8, 0))
    with pytest.raises(ValueError, match="has no time zone"):
        FixedClock(datetime(2026, 5, 12, 8, 0))


def test_a_fixed_clock_stands_still_until_moved() -> None:
    clock = FixedClock(datetime(2026, 5, 11, 23, 30, tzinfo=UTC))
    assert clock.now() == clock.now() == datetime(2026, 5, 11, 23, 30, tzinfo=UTC)
    assert clock.now().tzinfo is UTC
    assert clock.today() == date(2026, 5, 12)
    clock.advance(timedelta(days=30))
    assert clock.today() == date(2026, 6, 11)
    clock.set(datetime(2030, 1, 1, 0, 0, tzinfo=SAST))
    assert clock.now() == datetime(2029, 12, 31, 22, 0, tzinfo=UTC)
    assert clock.today() == date(2030, 1, 1)


def test_the_system_clock_is_the_machines_in_utc() -> None:
    before = datetime.now(UTC)
    now = SYSTEM.now()
    assert before <= now <= datetime.now(UTC)
    assert now.utcoffset() == timedelta(0)


def test_tsela_clock_stands_the_clock_still_and_a_bad_one_is_refused() -> None:
    frozen = load_clock({"TSELA_CLOCK": "2031-06-01T08:00:00+02:00"})
    assert frozen.now() == datetime(2031, 6, 1, 6, 0, tzinfo=UTC)
    assert load_clock({}) is SYSTEM
    assert load_clock({"TSELA_CLOCK": " "}) is SYSTEM
    assert load_settings({"TSELA_CLOCK": "2031-06-01T06:00:00Z"}).clock_at == datetime(
        2031, 6, 1, 6, 0, tzinfo=UTC
    )
    for bad in ("tomorrow", "2031-06-01T08:00:00", "2031-06-01"):
        with pytest.raises(ConfigError, match="TSELA_CLOCK must be an ISO 8601 instant"):
            load_clock({"TSELA_CLOCK": bad})


def test_the_app_reads_the_clock_it_was_given(tmp_path: Path) -> None:
    """``create_app(clock=...)`` keeps the clock it is given; without one, the instant
    ``TSELA_CLOCK`` named (``Settings.clock_at``), else the machine's."""
    settings = Settings(f"sqlite:///{tmp_path / 'x.db'}", "LS", tmp_path)
    clock = FixedClock(datetime(2041, 3, 1, 21, 30, tzinfo=UTC))  # 23:30 on 1 March
    app = create_app(settings, clock=clock)
    assert app.state.clock is clock
    # From the environment, as `tsela serve` builds it: TSELA_CLOCK.
    env_app = create_app(
        Settings(f"sqlite:///{tmp_path / 'x.db'}", "LS", tmp_path, clock_at=clock.now())
    )
    assert env_app.state.clock.now() == clock.now()
    assert create_app(settings).state.clock is SYSTEM


def test_the_stay_route_counts_to_the_servers_today(client: TestClient, auth_headers) -> None:  # type: ignore[no-untyped-def]
    """The stay route's default day is the app clock's, not the machine's (a day in 2041,
    whatever day the test runs)."""
    client.app.state.clock = FixedClock(datetime(2041, 3, 1, 22, 30, tzinfo=UTC))  # type: ignore[attr-defined]
    body = {"rule": "LSO-ZAF-VISITOR", "stays": [{"entry": "2041-02-20"}]}
    answer = client.post("/v1/stay/evaluate", json=body, headers=auth_headers("analyst"))
    assert answer.status_code == 200, answer.text
    # 00:30 on 2 March at the border: 11 days used (20 February to 2 March), not 10.
    assert answer.json()["as_of"] == "2041-03-02"
    assert answer.json()["days_used"] == 11


def test_the_command_line_reads_tsela_clock() -> None:
    runner = CliRunner()
    said = runner.invoke(
        cli,
        ["stay", "--rule", "LSO-ZAF-VISITOR", "--stay", "2041-02-20:", "--json"],
        env={"TSELA_CLOCK": "2041-03-02T00:30:00+02:00"},
    )
    assert said.exit_code == 0, said.output
    assert '"as_of": "2041-03-02"' in said.output
    refused = runner.invoke(
        cli,
        ["stay", "--rule", "LSO-ZAF-VISITOR", "--stay", "2041-02-20:"],
        env={"TSELA_CLOCK": "soon"},
    )
    assert refused.exit_code == 2
    assert "TSELA_CLOCK must be an ISO 8601 instant" in refused.output


def test_crossings_count_on_their_border_day_not_their_utc_day() -> None:
    """Crossings are stored in UTC; the stay rules count border days. An entry at 01:00 on
    12 May at the border is 23:00 UTC on 11 May, and the stay starts on the 12th."""
    from tsela.domain import decisions as dec

    entered = datetime(2026, 5, 11, 23, 0, tzinfo=UTC)
    history = [
        dec.PastCrossing("entry", entered, "MSU"),
        dec.PastCrossing("exit", datetime(2026, 5, 20, 21, 30, tzinfo=UTC), "MSU"),  # 23:30
        dec.PastCrossing("entry", datetime(2026, 6, 1, 22, 15, tzinfo=UTC), "MSU"),  # 2 June
    ]
    assert dec.stays_from_history(history) == [
        (date(2026, 5, 12), date(2026, 5, 20)),
        (date(2026, 6, 2), None),
    ]
    [still_inside] = dec.history_reasons("entry", "South Africa", history)
    assert "entered South Africa on 2026-06-02 at MSU" in still_inside.message
