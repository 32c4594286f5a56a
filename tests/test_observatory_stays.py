"""Stays read from the table built once per analytics copy, against a plain-Python pairing.

The reference below is the definition in words (``tsela.observatory.indicators``): an exit
from a country in the period, at a selected port, by someone who is not its national, makes a
stay when the traveller's record just before it at that country's side is an entry made no
earlier than ``STAY_LOOKBACK_DAYS`` before the period began. It is computed afresh for each
question over a synthetic copy with the awkward cases written in by hand.
"""

from __future__ import annotations

import random
import statistics
from collections import defaultdict
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from _observatory import C, d, trip, write_copy
from tsela.observatory.engine import NoDataError, Observatory, Period
from tsela.observatory.indicators import (
    STAY_LOOKBACK_DAYS,
    VISITOR_LIMIT_DAYS,
    ensure_stays,
    prepare,
    run,
    stays_source,
)

PORTS = ("MSU", "FKB", "VRG", "QNK", "TLB")
FIRST, LAST = date(2024, 1, 1), date(2025, 12, 31)

StayRow = tuple[str, str, date, date, str, int]


def _at(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _random_people(seed: int = 8, people: int = 250) -> list[C]:
    """Journeys between the two countries, with the records a real copy loses now and then."""
    rng = random.Random(seed)
    rows: list[C] = []
    for n in range(people):
        who = f"r{n:03d}"
        nationality = rng.choices(["LSO", "ZAF", "MOZ", "ZWE"], [6, 2, 1, 1])[0]
        where = "ZAF" if nationality == "ZAF" else "LSO"
        # Some hours just after midnight: still the day (and month) before in UTC.
        moment = datetime(2024, 1, 1) + timedelta(days=rng.randrange(60), hours=rng.randrange(24))
        while moment.date() <= LAST:
            other = "LSO" if where == "ZAF" else "ZAF"
            port = rng.choice(PORTS)
            out = C(who, _at(moment), port, "exit", where, nationality=nationality)
            into = C(
                who,
                _at(moment + timedelta(minutes=rng.randrange(5, 30))),
                port,
                "entry",
                other,
                nationality=nationality,
            )
            lost = rng.random()
            if lost < 0.04:
                rows.append(into)  # the exit was never recorded
            elif lost < 0.08:
                rows.append(out)  # the entry was never recorded
            else:
                rows += [out, into]
            where = other
            stay = rng.choices(
                [
                    rng.randint(0, 6),
                    rng.randint(7, 60),
                    rng.randint(61, 250),
                    rng.randint(300, 480),
                ],
                [60, 25, 10, 5],
            )[0]
            moment += timedelta(days=stay, hours=rng.randint(1, 23), minutes=rng.randrange(60))
    return rows


def _edge_cases() -> list[C]:
    rows: list[C] = []
    # Across a month boundary: 28 January to 3 February, counted in February.
    rows += trip("across", "2025-01-28 10:00", "2025-02-03 09:00")
    # An exit with no entry before it (the copy begins after the traveller arrived).
    rows += [C("no-entry", "2025-03-05 10:00", "MSU", "exit", "ZAF")]
    # An entry with no exit after it: still in South Africa.
    rows += trip("still-in", "2025-11-20 10:00", None)
    # Two entries in a row (the exit between was lost): the stay runs from the second.
    rows += [
        C("two-entries", "2025-04-01 10:00", "MSU", "entry", "ZAF"),
        C("two-entries", "2025-04-10 10:00", "FKB", "entry", "ZAF"),
        C("two-entries", "2025-04-15 10:00", "FKB", "exit", "ZAF"),
    ]
    # Two exits in a row: the second has no entry before it.
    rows += [
        C("two-exits", "2025-05-01 10:00", "MSU", "entry", "ZAF"),
        C("two-exits", "2025-05-03 10:00", "MSU", "exit", "ZAF"),
        C("two-exits", "2025-05-08 10:00", "VRG", "exit", "ZAF"),
    ]
    # Longer than the lookback: entered 10 January 2024, left 15 March 2025 (not seen).
    rows += trip("too-long", "2024-01-10 10:00", "2025-03-15 10:00")
    # 391 days, but its entry is within 365 days of the period's start (seen in March 2025).
    rows += trip("long-seen", "2024-03-05 10:00", "2025-03-30 10:00")
    # Entered 00:30 on 1 March 2024 border time (29 February in UTC): exactly 365 days
    # before March 2025 begins, so seen.
    rows += [
        C("edge-day", "2024-03-01 00:30", "MSU", "entry", "ZAF"),
        C("edge-day", "2025-03-20 10:00", "MSU", "exit", "ZAF"),
    ]
    # Leaves at 00:30 on 1 April border time (31 March in UTC): an April departure.
    rows += trip("midnight", "2025-03-25 10:00", "2025-04-01 00:30")
    # A South African back home from Lesotho between 9 and 20 June is not staying abroad;
    # the two visits to Lesotho are stays there.
    rows += trip("home", "2025-06-01 10:00", "2025-06-09 10:00", home="ZAF", nationality="ZAF")
    rows += trip("home", "2025-06-20 10:00", "2025-06-25 10:00", home="ZAF", nationality="ZAF")
    # In and out in the same second (written exit first): the entry comes first, a one-day
    # stay.
    rows += [
        C("same-second", "2025-07-01 10:00:00", "MSU", "exit", "ZAF"),
        C("same-second", "2025-07-01 10:00:00", "MSU", "entry", "ZAF"),
    ]
    # Long stays of a permit holder: one covered by the permit, one not.
    rows += trip("worker", "2025-01-05 08:00", "2025-05-20 17:00")
    rows += trip("worker", "2025-06-01 08:00", "2025-09-30 17:00")
    return rows


PERMITS: list[dict[str, Any]] = [
    {
        "who": "worker",
        "issued": "2025-01-02 10:00",
        "valid_from": d("2025-01-02"),
        "valid_to": d("2025-06-30"),
    },
    {
        "who": "r001",
        "status": "revoked",
        "valid_from": d("2024-01-01"),
        "valid_to": d("2026-01-01"),
    },
]


def _when(c: C) -> datetime:
    return datetime.fromisoformat(c.at)


def _sides(rows: list[C], country: str) -> dict[str, list[C]]:
    """Each traveller's records at one country's side, in time order (entry first on a tie)."""
    by: dict[str, list[C]] = defaultdict(list)
    for c in rows:
        if c.country == country:
            by[c.who].append(c)
    for recs in by.values():
        recs.sort(key=lambda c: (_when(c), c.direction))
    return by


def reference_stays(
    rows: list[C], period: Period, country: str, ports: tuple[str, ...] = ()
) -> list[StayRow]:
    earliest = period.start - timedelta(days=STAY_LOOKBACK_DAYS)
    out = []
    for who, recs in _sides(rows, country).items():
        for before, c in zip([None, *recs], recs, strict=False):
            day = _when(c).date()
            if c.direction != "exit" or not period.start <= day <= period.end:
                continue
            if (ports and c.port not in ports) or c.nationality == country:
                continue
            if before is None or before.direction != "entry":
                continue
            entry = _when(before).date()
            if entry >= earliest:
                out.append((who, c.nationality, entry, day, c.port, (day - entry).days + 1))
    return sorted(out)


def reference_unpaired(rows: list[C], country: str) -> list[tuple[str, date | None, date | None]]:
    """Exits without an entry just before, entries without an exit just after (no lookback)."""
    out: list[tuple[str, date | None, date | None]] = []
    for who, recs in _sides(rows, country).items():
        for before, c, after in zip([None, *recs], recs, [*recs[1:], None], strict=False):
            if c.nationality == country:
                continue
            if c.direction == "exit" and (before is None or before.direction != "entry"):
                out.append((who, None, _when(c).date()))
            if c.direction == "entry" and (after is None or after.direction != "exit"):
                out.append((who, _when(c).date(), None))
    return sorted(out, key=repr)


def _covered(who: str, country: str, entry: date, exit_: date, limit: int) -> bool:
    """A permit of the traveller, issued, valid from the limit's end to the exit day."""
    return any(
        p["who"] == who
        and p.get("country", "ZAF") == country
        and p.get("issued")
        and p["valid_from"] <= entry + timedelta(days=limit)
        and p["valid_to"] >= exit_
        for p in PERMITS
    )


@pytest.fixture(scope="module")
def people() -> list[C]:
    return _random_people() + _edge_cases()


@pytest.fixture(scope="module")
def obs(people: list[C], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Observatory]:
    copy = write_copy(tmp_path_factory.mktemp("stays") / "parquet", people, permits=PERMITS)
    with Observatory(copy) as o:
        yield o


def _months() -> list[Period]:
    out = []
    for index in range(FIRST.year * 12, LAST.year * 12 + 12):
        out.append(Period.month(f"{index // 12}-{index % 12 + 1:02d}"))
    return out


PERIODS = [
    *_months(),
    Period.parse("2025-01..2025-12"),
    Period.parse("2024-12-15..2025-02-10"),
    Period.parse("2025-03-31"),
]


def _view(obs: Observatory, period: Period, country: str, ports: tuple[str, ...]) -> list[StayRow]:
    obs.select(period, ports)
    prepare(obs, period)
    ensure_stays(obs, period, country)
    rows = obs.con.execute(
        "SELECT traveller_key, nationality, entry_day, exit_day, exit_port, days FROM stays"
    ).fetchall()
    return sorted(rows)


@pytest.mark.parametrize("country", ["ZAF", "LSO"])
@pytest.mark.parametrize("ports", [(), ("MSU", "FKB")])
def test_stays_match_a_pairing_done_by_hand(
    obs: Observatory, people: list[C], country: str, ports: tuple[str, ...]
) -> None:
    seen = 0
    for period in PERIODS:
        expected = reference_stays(people, period, country, ports)
        assert _view(obs, period, country, ports) == expected, period.label()
        seen += len(expected)
    assert seen > 500  # the comparison is not vacuous


def test_the_awkward_cases(obs: Observatory) -> None:
    def stays_of(who: str, month: str) -> list[tuple[date, date, int]]:
        rows = _view(obs, Period.month(month), "ZAF", ())
        return [(r[2], r[3], r[5]) for r in rows if r[0] == who]

    assert stays_of("across", "2025-02") == [(d("2025-01-28"), d("2025-02-03"), 7)]
    assert stays_of("across", "2025-01") == []
    assert stays_of("no-entry", "2025-03") == []
    assert stays_of("two-entries", "2025-04") == [(d("2025-04-10"), d("2025-04-15"), 6)]
    assert stays_of("two-exits", "2025-05") == [(d("2025-05-01"), d("2025-05-03"), 3)]
    assert stays_of("too-long", "2025-03") == []
    assert stays_of("long-seen", "2025-03") == [(d("2024-03-05"), d("2025-03-30"), 391)]
    assert stays_of("edge-day", "2025-03") == [(d("2024-03-01"), d("2025-03-20"), 385)]
    assert stays_of("midnight", "2025-04") == [(d("2025-03-25"), d("2025-04-01"), 8)]
    assert stays_of("same-second", "2025-07") == [(d("2025-07-01"), d("2025-07-01"), 1)]
    assert stays_of("home", "2025-06") == []
    in_lesotho = _view(obs, Period.month("2025-06"), "LSO", ())
    assert [(r[2], r[3]) for r in in_lesotho if r[0] == "home"] == [
        (d("2025-06-01"), d("2025-06-09")),
        (d("2025-06-20"), d("2025-06-25")),
    ]


@pytest.mark.parametrize("country", ["ZAF", "LSO"])
def test_unpaired_records_are_marked(obs: Observatory, people: list[C], country: str) -> None:
    rows = obs.con.execute(
        f"SELECT traveller_key, entry_day, exit_day FROM {stays_source(obs)} "
        f"WHERE country = '{country}' AND (entry_day IS NULL OR exit_day IS NULL)"
    ).fetchall()
    expected = reference_unpaired(people, country)
    assert sorted(rows, key=repr) == expected
    assert len(expected) > 20
    if country == "ZAF":
        for marked in [
            ("no-entry", None, d("2025-03-05")),
            ("still-in", d("2025-11-20"), None),
            ("two-entries", d("2025-04-01"), None),
            ("two-exits", None, d("2025-05-08")),
        ]:
            assert marked in rows


@pytest.mark.parametrize("country", ["ZAF", "LSO"])
def test_stay_indicators_match_the_reference(
    obs: Observatory, people: list[C], country: str
) -> None:
    for period in _months():
        stays = reference_stays(people, period, country)
        params = {"country": country}
        if not stays:
            with pytest.raises(NoDataError):
                run(obs, "stays.length", period, (), params)
            continue
        days = [s[5] for s in stays]
        (length,) = run(obs, "stays.length", period, (), params).rows()
        assert length["stays"] == len(stays)
        assert abs(length["average_days"] - sum(days) / len(days)) <= 0.05 + 1e-9
        assert length["median_days"] == statistics.median(days)
        over = [s for s in stays if s[5] > VISITOR_LIMIT_DAYS]
        covered = [s for s in over if _covered(s[0], country, s[2], s[3], VISITOR_LIMIT_DAYS)]
        (row,) = run(obs, "stays.overstays", period, (), params).rows()
        assert row["stays"] == len(stays)
        assert row["overstays"] == len(over) - len(covered), period.label()
        assert row["long_stays_with_permit"] == len(covered)
        rate = 100 * (len(over) - len(covered)) / len(stays)
        assert abs(row["overstay_rate_pct"] - rate) <= 0.005 + 1e-9
    may = run(obs, "stays.overstays", Period.month("2025-05"), (), {"country": "ZAF"})
    assert may.rows()[0]["long_stays_with_permit"] >= 1  # the worker's first stay


def test_the_stays_are_built_once_per_copy(tmp_path: Path) -> None:
    copy = write_copy(tmp_path / "c", trip("a", "2025-03-03 08:00", "2025-03-05 17:00"))
    march = Period.month("2025-03")
    with Observatory(copy) as o:
        assert run(o, "stays.length", march).rows()[0]["stays"] == 1
    (built,) = (copy / "rollup").glob("stays-*.parquet")
    stamp = built.stat().st_mtime_ns
    with Observatory(copy) as o:
        assert run(o, "stays.length", march).rows()[0]["stays"] == 1
    assert built.stat().st_mtime_ns == stamp  # read, not rebuilt
    more = trip("a", "2025-03-03 08:00", "2025-03-05 17:00")
    more += trip("b", "2025-03-10 08:00", "2025-03-12 17:00")
    write_copy(copy, more)
    with Observatory(copy) as o:
        assert run(o, "stays.length", march).rows()[0]["stays"] == 2
    assert [p.name for p in (copy / "rollup").glob("stays-*.parquet")] != [built.name]
    assert len(list((copy / "rollup").glob("stays-*.parquet"))) == 1


def test_a_copy_without_crossings_has_no_stays(tmp_path: Path) -> None:
    with Observatory(write_copy(tmp_path / "empty", [])) as o, pytest.raises(NoDataError):
        run(o, "stays.overstays", Period.month("2025-03"))
    assert not (tmp_path / "empty" / "rollup").exists()


def test_stays_are_kept_in_memory_when_the_copy_cannot_hold_them(tmp_path: Path) -> None:
    copy = write_copy(tmp_path / "c", trip("a", "2025-03-03 08:00", "2025-03-05 17:00"))
    (copy / "rollup").write_text("not a folder")  # as good as a read-only copy
    with Observatory(copy) as o:
        (row,) = run(o, "stays.length", Period.month("2025-03")).rows()
        assert (row["stays"], row["average_days"]) == (1, 3.0)
        assert stays_source(o) == "cached_stays"
    assert not list(copy.glob("rollup*/*")) and not list(copy.glob(".*tmp"))
