"""Observatory indicators against a tiny analytics copy whose answers can be counted by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from _observatory import C, d, trip, write_copy
from tsela.observatory.engine import (
    MissingCopyError,
    NoDataError,
    Observatory,
    ObservatoryError,
    Period,
)
from tsela.observatory.indicators import INDICATORS, run


def _people() -> list[C]:
    rows: list[C] = []
    # a: Mosotho woman (born 1990), a day trip at Maseru Bridge; one record referred.
    a = trip("a", "2025-03-03 08:00", "2025-03-03 17:00")
    a[1] = C("a", a[1].at, "MSU", "entry", "ZAF", decision="REFER")
    rows += a
    # b: Mosotho man born 1960, 42 days in South Africa (10 March to 20 April) via Ficksburg.
    rows += trip("b", "2025-03-10 09:00", "2025-04-20 10:00", port="FKB", sex="M", birth_year=1960)
    # c: South African man born 2005 visiting Lesotho for two days.
    rows += trip(
        "c",
        "2025-03-15 10:00",
        "2025-03-17 12:00",
        home="ZAF",
        nationality="ZAF",
        sex="M",
        birth_year=2005,
    )
    # d: leaves at 00:30 on 1 April border time, which is still 31 March in UTC.
    rows += trip("d", "2025-04-01 00:30", "2025-04-02 09:00", port="VRG")
    # e: into South Africa at Maseru Bridge, back through Ficksburg two days later.
    rows += [
        C("e", "2025-03-20 08:00", "MSU", "exit", "LSO"),
        C("e", "2025-03-20 08:10", "MSU", "entry", "ZAF"),
        C("e", "2025-03-22 08:00", "FKB", "exit", "ZAF"),
        C("e", "2025-03-22 08:10", "FKB", "entry", "LSO"),
    ]
    # f: four Monday day trips in May (8 entries: a frequent crosser), 07:00 to 17:00.
    for day in ("05", "12", "19", "26"):
        rows += trip("f", f"2025-05-{day} 07:00", f"2025-05-{day} 17:00")
    # g: three Tuesday day trips at 09:00 and a one-way trip at 11:00 on the 27th (7 entries).
    for day in ("06", "13", "20"):
        rows += trip("g", f"2025-05-{day} 09:00", f"2025-05-{day} 17:00")
    rows += trip("g", "2025-05-27 11:00", None)
    return rows


@pytest.fixture
def obs(tmp_path: Path) -> Observatory:
    permits = [
        {
            "type": "LEP",
            "sector": "mining",
            "issued": "2025-03-05 10:00",
            "valid_from": d("2025-03-05"),
            "valid_to": d("2026-03-04"),
        },
        {
            "type": "SEASONAL",
            "sector": "agriculture",
            "issued": "2025-01-10 10:00",
            "valid_from": d("2025-01-10"),
            "valid_to": d("2025-04-15"),
        },
        {
            "type": "STUDY",
            "status": "revoked",
            "issued": "2024-06-01 10:00",
            "valid_from": d("2024-06-01"),
            "valid_to": d("2025-03-31"),
        },
    ]
    checks = [
        {"at": "2025-03-03 08:10", "port": "MSU", "decision": "REFER", "hit": True},
        {"at": "2025-03-10 09:10", "port": "MSU"},
        {"at": "2025-03-11 09:10", "port": "MSU"},
        {"at": "2025-03-12 09:10", "port": "FKB", "decision": "DENY", "hit": True},
    ]
    copy = write_copy(tmp_path / "parquet", _people(), permits=permits, checks=checks)
    with Observatory(copy) as o:
        yield o


MARCH = Period.parse("2025-03")
APRIL = Period.parse("2025-04")
MAY = Period.parse("2025-05")


def test_monthly_flows_by_port_and_direction(obs: Observatory) -> None:
    rows = run(obs, "crossings.monthly", MARCH).rows()
    got = {(r["port"], r["country"], r["direction"]): r["crossings"] for r in rows}
    assert got == {
        # a (4 records), c (4 records) and e's way out (2 records) at Maseru Bridge
        ("MSU", "ZAF", "entry"): 3,  # a, c coming home, e
        ("MSU", "ZAF", "exit"): 2,  # a, c leaving
        ("MSU", "LSO", "entry"): 2,  # a coming home, c arriving
        ("MSU", "LSO", "exit"): 3,  # a, c leaving, e
        ("FKB", "LSO", "exit"): 1,  # b
        ("FKB", "ZAF", "entry"): 1,  # b
        ("FKB", "ZAF", "exit"): 1,  # e
        ("FKB", "LSO", "entry"): 1,  # e
    }
    assert {r["month"] for r in rows} == {"2025-03"}


def test_border_time_decides_the_day_and_month(obs: Observatory) -> None:
    # d's 00:30 departure on 1 April (22:30 UTC on 31 March) belongs to April.
    with pytest.raises(NoDataError, match="at VRG"):
        run(obs, "crossings.monthly", MARCH, ["VRG"])
    daily = run(obs, "crossings.daily", APRIL, ["vrg"]).rows()
    assert {(r["day"], r["direction"], r["country"]): r["crossings"] for r in daily} == {
        ("2025-04-01", "exit", "LSO"): 1,
        ("2025-04-01", "entry", "ZAF"): 1,
        ("2025-04-02", "exit", "ZAF"): 1,
        ("2025-04-02", "entry", "LSO"): 1,
    }


def test_net_flow(obs: Observatory) -> None:
    rows = run(obs, "flows.net", MARCH, ["FKB"]).rows()
    got = {r["country"]: (r["entries"], r["exits"], r["net"]) for r in rows}
    assert got == {"ZAF": (1, 1, 0), "LSO": (1, 1, 0)}
    rows = run(obs, "flows.net", Period.parse("2025-05")).rows()
    # g went to South Africa on the 27th and has not come back.
    got = {r["country"]: r["net"] for r in rows}
    assert got == {"ZAF": 1, "LSO": -1}


def test_distinct_travellers_count_a_person_once_across_ports(obs: Observatory) -> None:
    rows = run(obs, "travellers.distinct", MARCH).rows()
    got = {r["port"]: r["travellers"] for r in rows}
    assert got == {"MSU": 3, "FKB": 2, "ALL": 4}  # e used both ports
    assert rows[-1]["port"] == "ALL"


def test_frequent_crossers(obs: Observatory) -> None:
    (row,) = run(obs, "travellers.frequent", MAY).rows()
    assert row["travellers"] == 2
    assert row["frequent_travellers"] == 1  # f: 8 entries; g: 7
    assert row["frequent_pct"] == 50.0
    assert row["crossings_by_frequent_pct"] == pytest.approx(100 * 16 / 30, abs=0.05)
    (row,) = run(obs, "travellers.frequent", MAY, params={"min_entries": "7"}).rows()
    assert row["frequent_travellers"] == 2


def test_length_of_stay_pairs_entries_with_exits_across_months(obs: Observatory) -> None:
    (row,) = run(obs, "stays.length", APRIL).rows()
    # b: 10 March to 20 April = 42 days (entry made before the period); d: 2 days.
    assert row["stays"] == 2
    assert row["average_days"] == 22.0
    assert row["median_days"] == 22.0
    (row,) = run(obs, "stays.length", MARCH).rows()
    # a: 1 day, e: 3 days (back through another port); c is South African: not a stay abroad.
    assert (row["stays"], row["average_days"]) == (2, 2.0)


def test_stays_in_lesotho(obs: Observatory) -> None:
    (row,) = run(obs, "stays.length", MARCH, params={"country": "lso"}).rows()
    assert (row["stays"], row["average_days"]) == (1, 3.0)  # c, 15 to 17 March


def test_overstays_with_and_without_permit(obs: Observatory, tmp_path: Path) -> None:
    result = run(obs, "stays.overstays", APRIL)
    (row,) = result.rows()
    assert (row["stays"], row["overstays"], row["overstay_rate_pct"]) == (2, 1, 50.0)
    (row,) = run(obs, "stays.overstays", APRIL, params={"limit_days": "42"}).rows()
    assert row["overstays"] == 0
    # A permit covering b's days beyond the limit (from 9 April to 20 April) excuses them.
    copy = write_copy(
        tmp_path / "with-permit",
        _people(),
        permits=[
            {
                "who": "b",
                "issued": "2025-03-01 09:00",
                "valid_from": d("2025-03-01"),
                "valid_to": d("2025-12-31"),
            }
        ],
    )
    with Observatory(copy) as other:
        (row,) = run(other, "stays.overstays", APRIL).rows()
    assert (row["overstays"], row["long_stays_with_permit"]) == (0, 1)
    # A permit ending before the stay does is no excuse.
    copy = write_copy(
        tmp_path / "short-permit",
        _people(),
        permits=[
            {
                "who": "b",
                "issued": "2025-03-01 09:00",
                "valid_from": d("2025-03-01"),
                "valid_to": d("2025-04-10"),
            }
        ],
    )
    with Observatory(copy) as other:
        (row,) = run(other, "stays.overstays", APRIL).rows()
    assert row["overstays"] == 1


def test_overstays_say_when_permits_are_unknown(tmp_path: Path) -> None:
    copy = write_copy(tmp_path / "p", _people())
    with Observatory(copy) as o:
        result = run(o, "stays.overstays", APRIL)
    assert any("no permit data" in n for n in result.notes)


def test_sex_and_age_bands(obs: Observatory) -> None:
    rows = run(obs, "crossings.by_sex_age", MARCH).rows()
    got: dict[tuple[str, str], int] = {}
    for r in rows:
        got[(r["sex"], r["age_band"])] = got.get((r["sex"], r["age_band"]), 0) + r["crossings"]
    assert got == {("F", "35-44"): 8, ("M", "65+"): 2, ("M", "18-24"): 4}


def test_referrals_and_watchlist_hits_per_port(obs: Observatory) -> None:
    rows = run(obs, "screening.referrals", MARCH).rows()
    got = {r["port"]: (r["crossings"], r["referred"], r["denied"]) for r in rows}
    assert got == {"MSU": (10, 1, 0), "FKB": (4, 0, 0)}
    rows = run(obs, "screening.watchlist_hits", MARCH).rows()
    got = {r["port"]: (r["checks"], r["watchlist_hits"], r["referred"], r["denied"]) for r in rows}
    assert got == {"MSU": (3, 1, 1, 0), "FKB": (1, 1, 0, 1)}


def test_permits_issued_active_expiring(obs: Observatory) -> None:
    rows = run(obs, "permits.summary", MARCH).rows()
    got = {(r["permit_type"], r["sector"]): (r["issued"], r["active"], r["expiring"]) for r in rows}
    assert got == {("LEP", "mining"): (1, 1, 0), ("SEASONAL", "agriculture"): (0, 1, 1)}
    with pytest.raises(ObservatoryError, match="not counted by port"):
        run(obs, "permits.summary", MARCH, ["MSU"])


def test_busiest_hours_and_days(obs: Observatory) -> None:
    rows = run(obs, "busy.hours", MAY).rows()
    got = {(r["weekday_name"], r["hour"]): (r["crossings"], r["average"]) for r in rows}
    assert got[("Monday", 7)] == (8, 2.0)  # 8 crossings over May's four Mondays
    assert got[("Tuesday", 9)] == (6, 1.5)
    assert got[("Tuesday", 11)] == (2, 0.5)
    (top,) = run(obs, "busy.days", MAY, params={"top": 1}).rows()
    assert (top["port"], top["day"], top["weekday"], top["crossings"]) == (
        "MSU",
        "2025-05-05",
        "Monday",
        4,
    )


def test_seasonality_marks_easter(obs: Observatory) -> None:
    (peak,) = run(obs, "seasonality.peaks", APRIL).rows()
    # Easter 2025: Good Friday 18 April; window Tuesday 15 to Tuesday 22 April (8 days),
    # holding b's 2 crossings; the other 22 days of April hold d's 4.
    assert (peak["season"], peak["first_day"], peak["last_day"]) == (
        "Easter",
        "2025-04-15",
        "2025-04-22",
    )
    assert (peak["crossings"], peak["days_in_period"]) == (2, 8)
    assert peak["ratio"] == pytest.approx((2 / 8) / (4 / 22), abs=0.01)
    (month,) = run(obs, "seasonality.monthly", APRIL).rows()
    assert (month["crossings"], month["days"], month["season"]) == (6, 30, "Easter")


def test_a_month_without_data_is_a_clear_answer(obs: Observatory) -> None:
    with pytest.raises(NoDataError) as err:
        run(obs, "crossings.monthly", Period.parse("2025-09"))
    message = str(err.value)
    assert "2025-09" in message and "2025-03..2025-05" in message


def test_months_without_data_inside_a_period_are_noted(obs: Observatory) -> None:
    result = run(obs, "crossings.monthly", Period.parse("2025-01..2025-03"))
    assert result.notes and "2025-01, 2025-02" in result.notes[0]


def test_unknown_port_lists_the_known_ones(obs: Observatory) -> None:
    with pytest.raises(ObservatoryError) as err:
        run(obs, "crossings.monthly", MARCH, ["XYZ"])
    assert "unknown port 'XYZ'" in str(err.value) and "MSU" in str(err.value)


def test_bad_parameters_and_periods(obs: Observatory) -> None:
    with pytest.raises(ObservatoryError, match="unknown indicator 'nope'"):
        run(obs, "nope", MARCH)
    with pytest.raises(ObservatoryError, match="limit_days must be a whole number"):
        run(obs, "stays.overstays", APRIL, params={"limit_days": "thirty"})
    with pytest.raises(ObservatoryError, match="must be at least 1"):
        run(obs, "stays.overstays", APRIL, params={"limit_days": "0"})
    with pytest.raises(ObservatoryError, match="does not take colour"):
        run(obs, "flows.net", APRIL, params={"colour": "red"})
    with pytest.raises(ObservatoryError, match="country must be one of"):
        run(obs, "stays.length", APRIL, params={"country": "FRA"})
    with pytest.raises(ObservatoryError, match=r"ends .* before it starts"):
        Period.parse("2025-05..2025-03")
    with pytest.raises(ObservatoryError, match="cannot read '2025-13'"):
        Period.parse("2025-13")
    with pytest.raises(ObservatoryError, match="YYYY-MM"):
        Period.month("2025")


def test_no_analytics_copy(tmp_path: Path) -> None:
    with pytest.raises(MissingCopyError, match="tsela export parquet"):
        Observatory(tmp_path / "nothing")


def test_every_indicator_is_documented_and_runs(obs: Observatory) -> None:
    whole = Period.parse("2025-03..2025-05")
    for ind in INDICATORS:
        assert ind.title and ind.description and ind.formula and ind.unit
        assert run(obs, ind.id, whole).table.num_rows > 0, ind.id


def test_periods() -> None:
    assert Period.parse("2025") == Period(d("2025-01-01"), d("2025-12-31"))
    assert Period.parse("2024-02") == Period(d("2024-02-01"), d("2024-02-29"))
    assert Period.parse("2025-01..2025-03-15") == Period(d("2025-01-01"), d("2025-03-15"))
    march = Period.month("2025-03")
    assert march.shifted_months(-1) == Period(d("2025-02-01"), d("2025-02-28"))
    assert march.shifted_months(-12) == Period(d("2024-03-01"), d("2024-03-31"))
    assert Period.month("2025-01").shifted_months(-1).label() == "2024-12"


def test_long_stays_are_paired_beyond_the_recent_weeks(tmp_path: Path) -> None:
    rows = trip("h", "2025-01-05 08:00", "2025-04-15 10:00")  # 101 days
    rows += trip("h", "2025-04-20 08:00", "2025-04-25 10:00")  # 6 days
    rows += trip("i", "2025-04-01 08:00", "2025-04-03 10:00")  # 3 days
    with Observatory(write_copy(tmp_path / "long", rows)) as o:
        (row,) = run(o, "stays.length", APRIL).rows()
        assert (row["stays"], row["average_days"]) == (3, round((101 + 6 + 3) / 3, 1))
        (row,) = run(o, "stays.overstays", APRIL).rows()
        assert row["overstays"] == 1


def test_counts_follow_a_rewritten_copy(tmp_path: Path) -> None:
    copy = write_copy(tmp_path / "c", trip("a", "2025-03-03 08:00", "2025-03-03 17:00"))
    with Observatory(copy) as o:
        assert sum(r["crossings"] for r in run(o, "crossings.monthly", MARCH).rows()) == 4
    more = trip("a", "2025-03-03 08:00", "2025-03-03 17:00")
    more += trip("b", "2025-03-04 08:00", "2025-03-04 17:00")
    write_copy(copy, more)
    with Observatory(copy) as o:
        assert sum(r["crossings"] for r in run(o, "crossings.monthly", MARCH).rows()) == 8
    assert len(list((copy / "rollup").glob("daily-*.parquet"))) == 1
